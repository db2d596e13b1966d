//! `RealESRGANer.enhance` around an upscaler that runs the network at its own scale: what the
//! official class does per call (`alpha_upsampler`, `outscale`) on top of what it fixes at
//! construction (tile, tile_pad, pre_pad, which the upscaler holds).
//!
//! Official order (xinntao/Real-ESRGAN `realesrgan/utils.py`): the colour (and, with
//! `alpha_upsampler='realesrgan'`, the alpha) through the network, clamped; any other
//! `alpha_upsampler` resizes the float alpha with `cv2.INTER_LINEAR` to the network's scale;
//! then the whole image is quantised (`(x · max_range).round()`), and only then resized to
//! `outscale` with `cv2.INTER_LANCZOS4` on the integers. The upscaler does the network part and
//! the quantisation; this module splits and merges alpha and does the final resize with the
//! pipeline's OpenCV-exact resamplers.

use upframe::Frame;
use upframe_pipeline::processors::realesrgan::outscale_size;
use upframe_pipeline::processors::resize::{
    resize_lanczos4_u16_opencv, resize_lanczos4_u8_opencv, resize_linear_opencv,
};

use crate::engine::{EngineError, Result, Upscaler};
use crate::errors::Kind;

/// `enhance(img, outscale, alpha_upsampler)` on `frame` (RGB, RGBA or gray, samples divided
/// by `max_range`, depth set to match). Returns the output frame with the same channels,
/// samples `k / max_range` for integers `k`.
pub fn enhance(
    up: &mut Upscaler,
    frame: Frame,
    alpha_through_network: bool,
    outscale: Option<f64>,
    max_range: f32,
) -> Result<Frame> {
    let (w, h, c) = (frame.width, frame.height, frame.channels);
    // Built without an outscale: one pixel becomes the network's scale.
    let s = up.output_size(1, 1).0;
    let out = if c == 4 && !alpha_through_network {
        // Colour through the network, alpha by INTER_LINEAR on the float values.
        let mut rgb = Vec::with_capacity(w * h * 3);
        let mut alpha = Vec::with_capacity(w * h);
        for px in frame.data.chunks_exact(4) {
            rgb.extend_from_slice(&px[..3]);
            alpha.push(px[3]);
        }
        let colour = up.process(Frame {
            channels: 3,
            data: rgb,
            ..frame
        })?;
        let alpha_out = resize_linear_opencv(&alpha, w, h, w * s, h * s);
        let mut data = Vec::with_capacity(colour.data.len() / 3 * 4);
        for (px, a) in colour.data.chunks_exact(3).zip(alpha_out) {
            data.extend_from_slice(px);
            data.push((a * max_range).round_ties_even() / max_range);
        }
        Frame {
            channels: 4,
            data,
            ..colour
        }
    } else {
        up.process(frame)?
    };
    match outscale {
        Some(o) if o != s as f64 => {
            if !(o.is_finite() && o > 0.0) {
                return Err(EngineError::new(
                    Kind::Option,
                    format!("outscale {o} must be a finite number greater than 0"),
                ));
            }
            let (tw, th) = outscale_size(w, h, o);
            if tw == 0 || th == 0 {
                return Err(EngineError::new(
                    Kind::Input,
                    format!("outscale {o} gives an empty image from {w}x{h}"),
                ));
            }
            let q: Vec<u16> = out
                .data
                .iter()
                .map(|&v| (v * max_range).round_ties_even() as u16)
                .collect();
            let (ow, oh) = (out.width, out.height);
            let resized = if max_range == 255.0 {
                resize_lanczos4_u8_opencv(&q, ow, oh, c, tw, th)
            } else {
                resize_lanczos4_u16_opencv(&q, ow, oh, c, tw, th)
            };
            Ok(Frame {
                width: tw,
                height: th,
                data: resized
                    .into_iter()
                    .map(|v| f32::from(v) / max_range)
                    .collect(),
                ..out
            })
        }
        _ => Ok(out),
    }
}
