//! Separable resampling, multithreaded over rows (rayon): Lanczos of [`Frame`]s in `f32`, and
//! the OpenCV-exact resizes Real-ESRGAN's `outscale` and alpha paths use on integer images.
//!
//! Two kernels:
//! - [`resize_lanczos3`]: Lanczos-3 (`sinc(x)·sinc(x/3)`, |x| < 3) with antialiasing on
//!   downscale (the kernel is widened by the downscale factor), pixel-centre alignment and
//!   edge taps dropped and the rest renormalised, as PIL's `Image.resize(LANCZOS)` and the
//!   `image` crate's `Lanczos3` do. This is upframe's `--model lanczos`.
//! - [`resize_lanczos4_opencv`]: OpenCV's `cv2.resize(..., INTER_LANCZOS4)` on float images:
//!   8 taps, `src = (dst + 0.5) · (1/(out/in)) − 0.5` rounded to `f32`, OpenCV's closed-form
//!   coefficients normalised in `f32`, border replication, no widening on downscale, horizontal
//!   pass then vertical pass. The same taps (`lanczos4_opencv_taps`, the one place they are
//!   computed) drive [`resize_lanczos4_u8_opencv`] (OpenCV's 8-bit fixed point) and
//!   [`resize_lanczos4_u16_opencv`] (16-bit, computed in `f32` as OpenCV does), which
//!   Real-ESRGAN's `outscale` uses on the quantised image.
//!
//! Also OpenCV `INTER_LINEAR` on one float channel ([`resize_linear_opencv`], Real-ESRGAN's
//! alpha upsampler).
//!
//! The `f32` resizes do not clamp: Lanczos rings, so results can leave `[0, 1]` slightly; the
//! [`LanczosResizer`] processor clamps because frames are defined to be in `[0, 1]`.

use rayon::prelude::*;
use upframe_media::Frame;

use crate::error::PipelineError;
use crate::processors::FrameProcessor;

/// Which Lanczos variant a [`LanczosResizer`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LanczosKernel {
    /// Lanczos-3 with antialiasing on downscale ([`resize_lanczos3`]).
    Lanczos3,
    /// OpenCV `INTER_LANCZOS4` ([`resize_lanczos4_opencv`]).
    OpenCvLanczos4,
}

/// For each output coordinate along one axis: `taps` source indices (already clamped into the
/// source) and their weights. Padding taps carry weight 0 so every coordinate has `taps` entries.
#[derive(Clone, Debug)]
struct AxisWeights {
    taps: usize,
    indices: Vec<usize>,
    weights: Vec<f32>,
}

impl AxisWeights {
    fn len(&self) -> usize {
        self.indices.len() / self.taps.max(1)
    }
}

/// `sinc(x)·sinc(x/3)` for |x| < 3, else 0.
fn lanczos3_kernel(x: f64) -> f64 {
    let ax = x.abs();
    if ax < 1e-12 {
        return 1.0;
    }
    if ax >= 3.0 {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
}

/// Lanczos-3 weights, PIL/`image`-style: centre `(o + 0.5)·in/out`, support widened by
/// `max(1, in/out)`, taps outside the source dropped, the rest normalised to sum 1.
fn lanczos3_axis(in_len: usize, out_len: usize) -> AxisWeights {
    let ratio = in_len as f64 / out_len as f64;
    let filter_scale = ratio.max(1.0);
    let support = 3.0 * filter_scale;
    let taps = (support.ceil() as usize) * 2 + 1;
    let mut indices = Vec::with_capacity(out_len * taps);
    let mut weights = Vec::with_capacity(out_len * taps);
    let mut row = Vec::with_capacity(taps);
    for o in 0..out_len {
        let centre = (o as f64 + 0.5) * ratio;
        let first = ((centre - support).floor() as i64).max(0) as usize;
        let end = (((centre + support).ceil() as i64).max(0) as usize).min(in_len);
        row.clear();
        let mut sum = 0.0;
        for i in first..end {
            let w = lanczos3_kernel((i as f64 + 0.5 - centre) / filter_scale);
            if w != 0.0 {
                row.push((i, w));
                sum += w;
            }
        }
        if row.is_empty() || sum == 0.0 {
            // Only possible for degenerate sizes; fall back to the nearest source sample.
            let nearest = (centre.floor() as usize).min(in_len - 1);
            row.clear();
            row.push((nearest, 1.0));
            sum = 1.0;
        }
        debug_assert!(row.len() <= taps);
        for &(i, w) in &row {
            indices.push(i);
            weights.push((w / sum) as f32);
        }
        let pad_index = row.last().map_or(0, |&(i, _)| i);
        for _ in row.len()..taps {
            indices.push(pad_index);
            weights.push(0.0);
        }
    }
    AxisWeights {
        taps,
        indices,
        weights,
    }
}

/// OpenCV's `interpolateLanczos4` for a fractional offset `x` in `[0, 1)`: eight coefficients
/// for source taps `floor(src) − 3 ..= floor(src) + 4`, normalised in `f32`.
pub fn opencv_lanczos4_coefficients(x: f32) -> [f32; 8] {
    const S45: f64 = std::f64::consts::FRAC_1_SQRT_2;
    // sin/cos of −(x + 3 − i)·π/4 from those of −(x + 3)·π/4, as OpenCV does it.
    const CS: [[f64; 2]; 8] = [
        [1.0, 0.0],
        [-S45, -S45],
        [0.0, 1.0],
        [S45, -S45],
        [-1.0, 0.0],
        [S45, S45],
        [0.0, -1.0],
        [-S45, S45],
    ];
    let mut coeffs = [0f32; 8];
    let y0 = -(x as f64 + 3.0) * std::f64::consts::PI * 0.25;
    let (s0, c0) = (y0.sin(), y0.cos());
    let mut sum = 0f32;
    for (i, c) in coeffs.iter_mut().enumerate() {
        let offset = x + 3.0 - i as f32;
        *c = if offset.abs() >= 1e-6 {
            let y = -(offset as f64) * std::f64::consts::PI * 0.25;
            ((CS[i][0] * s0 + CS[i][1] * c0) / (y * y)) as f32
        } else {
            // The tap sits exactly on a source sample: it takes (almost) all the weight.
            1e30
        };
        sum += *c;
    }
    let inv = 1.0 / sum;
    for c in &mut coeffs {
        *c *= inv;
    }
    coeffs
}

/// OpenCV `INTER_LANCZOS4` taps along one axis, the one computation behind every Lanczos-4
/// resize here (`f32`, 8-bit fixed point, 16-bit): for each output position, the 8 source
/// indices `floor(src) − 3 ..= floor(src) + 4` clamped into the source (border replication)
/// and their `f32` coefficients, for `src = (float)((dst + 0.5)·scale − 0.5)` with
/// `scale = 1 / (out/in)`, as `cv::resize` computes it. No widening on downscale.
pub(crate) fn lanczos4_opencv_taps(in_len: usize, out_len: usize) -> Vec<([usize; 8], [f32; 8])> {
    let scale = 1.0 / (out_len as f64 / in_len as f64);
    let last = in_len as i64 - 1;
    (0..out_len)
        .map(|o| {
            let f = ((o as f64 + 0.5) * scale - 0.5) as f32;
            let base = f.floor();
            let coeffs = opencv_lanczos4_coefficients(f - base);
            let base = base as i64;
            let mut indices = [0usize; 8];
            for (k, slot) in indices.iter_mut().enumerate() {
                *slot = (base - 3 + k as i64).clamp(0, last) as usize;
            }
            (indices, coeffs)
        })
        .collect()
}

/// [`lanczos4_opencv_taps`] as [`AxisWeights`] for the `f32` passes.
fn lanczos4_opencv_axis(in_len: usize, out_len: usize) -> AxisWeights {
    let taps = lanczos4_opencv_taps(in_len, out_len);
    AxisWeights {
        taps: 8,
        indices: taps.iter().flat_map(|(i, _)| *i).collect(),
        weights: taps.iter().flat_map(|(_, c)| *c).collect(),
    }
}

/// Horizontal pass: `src` is `height` rows of `in_w·ch` samples; returns `height` rows of
/// `out_w·ch` samples.
fn resample_rows(src: &[f32], height: usize, in_w: usize, ch: usize, ax: &AxisWeights) -> Vec<f32> {
    let out_w = ax.len();
    let mut dst = vec![0f32; height * out_w * ch];
    if dst.is_empty() {
        return dst;
    }
    let taps = ax.taps;
    dst.par_chunks_mut(out_w * ch)
        .zip(src.par_chunks(in_w * ch))
        .for_each(|(out_row, in_row)| {
            for (x, out_px) in out_row.chunks_exact_mut(ch).enumerate() {
                let idx = &ax.indices[x * taps..(x + 1) * taps];
                let w = &ax.weights[x * taps..(x + 1) * taps];
                for (c, out) in out_px.iter_mut().enumerate() {
                    let mut acc = 0f32;
                    for (&i, &wk) in idx.iter().zip(w) {
                        acc += in_row[i * ch + c] * wk;
                    }
                    *out = acc;
                }
            }
        });
    dst
}

/// Vertical pass: `src` is `in_h` rows of `row_len` samples; returns `out_h` rows.
fn resample_columns(src: &[f32], row_len: usize, ax: &AxisWeights) -> Vec<f32> {
    let out_h = ax.len();
    let mut dst = vec![0f32; out_h * row_len];
    if dst.is_empty() {
        return dst;
    }
    let taps = ax.taps;
    dst.par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(y, out_row)| {
            let idx = &ax.indices[y * taps..(y + 1) * taps];
            let w = &ax.weights[y * taps..(y + 1) * taps];
            for (&i, &wk) in idx.iter().zip(w) {
                if wk == 0.0 {
                    continue;
                }
                let in_row = &src[i * row_len..(i + 1) * row_len];
                // Contiguous multiply-add over the whole row: vectorises.
                for (o, &s) in out_row.iter_mut().zip(in_row) {
                    *o += s * wk;
                }
            }
        });
    dst
}

fn check_sizes(frame: &Frame, out_w: usize, out_h: usize) -> Result<(), PipelineError> {
    if out_w == 0 || out_h == 0 || frame.width == 0 || frame.height == 0 {
        return Err(PipelineError::InvalidSize {
            width: out_w,
            height: out_h,
            reason: format!(
                "cannot resize {}x{} to {}x{}: sizes must be positive",
                frame.width, frame.height, out_w, out_h
            ),
        });
    }
    if frame.data.len() != frame.width * frame.height * frame.channels {
        return Err(PipelineError::InvalidSize {
            width: frame.width,
            height: frame.height,
            reason: format!(
                "frame has {} samples, expected {}x{}x{}",
                frame.data.len(),
                frame.width,
                frame.height,
                frame.channels
            ),
        });
    }
    Ok(())
}

fn resize_with(
    frame: &Frame,
    out_w: usize,
    out_h: usize,
    h: &AxisWeights,
    v: &AxisWeights,
) -> Frame {
    let ch = frame.channels;
    let rows = resample_rows(&frame.data, frame.height, frame.width, ch, h);
    let data = resample_columns(&rows, out_w * ch, v);
    Frame {
        width: out_w,
        height: out_h,
        channels: ch,
        depth: frame.depth,
        data,
        pts: frame.pts,
        index: frame.index,
    }
}

/// Lanczos-3 resize (antialiased on downscale) of all channels, alpha included. Keeps the
/// frame's depth, pts and index. Does not clamp.
pub fn resize_lanczos3(frame: &Frame, out_w: usize, out_h: usize) -> Result<Frame, PipelineError> {
    check_sizes(frame, out_w, out_h)?;
    let h = lanczos3_axis(frame.width, out_w);
    let v = lanczos3_axis(frame.height, out_h);
    Ok(resize_with(frame, out_w, out_h, &h, &v))
}

/// OpenCV `cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_LANCZOS4)` on a float image.
/// Keeps the frame's depth, pts and index. Does not clamp.
pub fn resize_lanczos4_opencv(
    frame: &Frame,
    out_w: usize,
    out_h: usize,
) -> Result<Frame, PipelineError> {
    check_sizes(frame, out_w, out_h)?;
    let h = lanczos4_opencv_axis(frame.width, out_w);
    let v = lanczos4_opencv_axis(frame.height, out_h);
    Ok(resize_with(frame, out_w, out_h, &h, &v))
}

/// `cv2.resize` with `INTER_LANCZOS4` on an 8-bit interleaved image (`in_w × in_h × ch`
/// values in `q`), in OpenCV's fixed point: coefficients × 2048 rounded to `i16`, integer
/// horizontal sums, vertical sums rounded by `(v + 2²¹) >> 22`, saturated to `[0, 255]`.
pub fn resize_lanczos4_u8_opencv(
    q: &[u16],
    in_w: usize,
    in_h: usize,
    ch: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<u16> {
    let fixed = |(i, c): ([usize; 8], [f32; 8])| {
        (
            i,
            c.map(|v| (v * 2048.0).round_ties_even().clamp(-32768.0, 32767.0) as i32),
        )
    };
    let xs: Vec<([usize; 8], [i32; 8])> = lanczos4_opencv_taps(in_w, out_w)
        .into_iter()
        .map(fixed)
        .collect();
    let ys: Vec<([usize; 8], [i32; 8])> = lanczos4_opencv_taps(in_h, out_h)
        .into_iter()
        .map(fixed)
        .collect();
    let row_len = out_w * ch;
    let mut horizontal = vec![0i32; in_h * row_len];
    horizontal
        .par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(y, row)| {
            let src = &q[y * in_w * ch..][..in_w * ch];
            for (x, (idx, c)) in xs.iter().enumerate() {
                for k in 0..ch {
                    let mut v = 0i32;
                    for t in 0..8 {
                        v += src[idx[t] * ch + k] as i32 * c[t];
                    }
                    row[x * ch + k] = v;
                }
            }
        });
    let mut out = vec![0u16; out_h * row_len];
    out.par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(y, row)| {
            let (idx, c) = &ys[y];
            for (i, d) in row.iter_mut().enumerate() {
                let mut v = 0i64;
                for t in 0..8 {
                    v += horizontal[idx[t] * row_len + i] as i64 * c[t] as i64;
                }
                *d = ((v + (1 << 21)) >> 22).clamp(0, 255) as u16;
            }
        });
    out
}

/// `cv2.resize` with `INTER_LANCZOS4` on a 16-bit interleaved image (`in_w × in_h × ch`
/// values in `q`): OpenCV computes 16-bit data in `f32`, exactly as the float resize does
/// (sums in tap order, horizontal pass then vertical), then `saturate_cast<ushort>` (round
/// half to even, clamp).
pub fn resize_lanczos4_u16_opencv(
    q: &[u16],
    in_w: usize,
    in_h: usize,
    ch: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<u16> {
    let src: Vec<f32> = q.iter().map(|&v| v as f32).collect();
    let h = lanczos4_opencv_axis(in_w, out_w);
    let v = lanczos4_opencv_axis(in_h, out_h);
    let rows = resample_rows(&src, in_h, in_w, ch, &h);
    resample_columns(&rows, out_w * ch, &v)
        .into_iter()
        .map(|s| s.round_ties_even().clamp(0.0, 65535.0) as u16)
        .collect()
}

/// OpenCV `cv2.resize(src, (out_w, out_h), INTER_LINEAR)` on one float channel.
pub fn resize_linear_opencv(
    src: &[f32],
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<f32> {
    let axis = |in_len: usize, out_len: usize| -> Vec<(usize, usize, f32)> {
        let scale = 1.0 / (out_len as f64 / in_len as f64);
        (0..out_len)
            .map(|d| {
                let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
                let mut i = f.floor() as isize;
                let mut frac = f - i as f32;
                if i < 0 {
                    i = 0;
                    frac = 0.0;
                }
                if i as usize >= in_len - 1 {
                    i = in_len as isize - 1;
                    frac = 0.0;
                }
                let i = i as usize;
                (i, (i + 1).min(in_len - 1), frac)
            })
            .collect()
    };
    let xs = axis(in_w, out_w);
    let ys = axis(in_h, out_h);
    let mut out = vec![0f32; out_w * out_h];
    out.par_chunks_mut(out_w).enumerate().for_each(|(y, row)| {
        let (y0, y1, fy) = ys[y];
        let (r0, r1) = (&src[y0 * in_w..][..in_w], &src[y1 * in_w..][..in_w]);
        for (d, &(x0, x1, fx)) in row.iter_mut().zip(&xs) {
            let a = r0[x0] * (1.0 - fx) + r0[x1] * fx;
            let b = r1[x0] * (1.0 - fx) + r1[x1] * fx;
            *d = a * (1.0 - fy) + b * fy;
        }
    });
    out
}

/// The output size for a scale factor: `round(w·scale)`, at least 1.
pub fn scaled_size(width: usize, height: usize, scale: f64) -> (usize, usize) {
    let s = |v: usize| ((v as f64 * scale).round() as usize).max(1);
    (s(width), s(height))
}

/// A [`FrameProcessor`] that resizes every frame by a fixed factor with a Lanczos kernel and
/// clamps the result to `[0, 1]`. Axis weights are cached for the last input size.
pub struct LanczosResizer {
    kernel: LanczosKernel,
    scale: f64,
    cache: Option<((usize, usize), AxisWeights, AxisWeights)>,
}

impl LanczosResizer {
    /// `scale` must be finite and positive.
    pub fn new(kernel: LanczosKernel, scale: f64) -> Result<Self, PipelineError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(PipelineError::InvalidScale(scale));
        }
        Ok(LanczosResizer {
            kernel,
            scale,
            cache: None,
        })
    }
}

impl FrameProcessor for LanczosResizer {
    fn name(&self) -> &str {
        match self.kernel {
            LanczosKernel::Lanczos3 => "lanczos",
            LanczosKernel::OpenCvLanczos4 => "lanczos4-opencv",
        }
    }

    fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        scaled_size(width, height, self.scale)
    }

    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError> {
        let (out_w, out_h) = self.output_size(frame.width, frame.height);
        check_sizes(&frame, out_w, out_h)?;
        let key = (frame.width, frame.height);
        let fresh = !matches!(&self.cache, Some((k, _, _)) if *k == key);
        if fresh {
            let (h, v) = match self.kernel {
                LanczosKernel::Lanczos3 => (
                    lanczos3_axis(frame.width, out_w),
                    lanczos3_axis(frame.height, out_h),
                ),
                LanczosKernel::OpenCvLanczos4 => (
                    lanczos4_opencv_axis(frame.width, out_w),
                    lanczos4_opencv_axis(frame.height, out_h),
                ),
            };
            self.cache = Some((key, h, v));
        }
        let Some((_, h, v)) = &self.cache else {
            unreachable!("cache filled above")
        };
        let mut out = resize_with(&frame, out_w, out_h, h, v);
        out.data.par_chunks_mut(1 << 16).for_each(|chunk| {
            for s in chunk {
                *s = s.clamp(0.0, 1.0);
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upframe_media::SampleDepth;

    fn frame_from(width: usize, height: usize, channels: usize, f: impl Fn(usize) -> f32) -> Frame {
        let mut fr = Frame::new(width, height, channels, SampleDepth::U8);
        for (i, s) in fr.data.iter_mut().enumerate() {
            *s = f(i);
        }
        fr
    }

    /// A deterministic, non-smooth test pattern in [0, 1].
    fn pattern(i: usize) -> f32 {
        ((i.wrapping_mul(2654435761) >> 7) % 1000) as f32 / 999.0
    }

    /// Straightforward 2-D Lanczos-3 (no separability, no tables, f64) for one output sample.
    fn reference_lanczos3(src: &Frame, ow: usize, oh: usize, x: usize, y: usize, c: usize) -> f64 {
        let axis = |o: usize, in_len: usize, out_len: usize| -> Vec<(usize, f64)> {
            let ratio = in_len as f64 / out_len as f64;
            let fs = ratio.max(1.0);
            let centre = (o as f64 + 0.5) * ratio;
            let mut w: Vec<(usize, f64)> = (0..in_len)
                .map(|i| (i, lanczos3_kernel((i as f64 + 0.5 - centre) / fs)))
                .filter(|&(_, w)| w != 0.0)
                .collect();
            let sum: f64 = w.iter().map(|p| p.1).sum();
            for p in &mut w {
                p.1 /= sum;
            }
            w
        };
        let wx = axis(x, src.width, ow);
        let wy = axis(y, src.height, oh);
        let mut acc = 0.0;
        for &(sy, wyv) in &wy {
            for &(sx, wxv) in &wx {
                acc += wyv * wxv * src.data[(sy * src.width + sx) * src.channels + c] as f64;
            }
        }
        acc
    }

    #[test]
    fn lanczos3_matches_direct_2d_reference_up_and_down() {
        for &(w, h, ch, ow, oh) in &[
            (13, 9, 3, 26, 18),
            (13, 9, 4, 40, 7),
            (31, 17, 1, 10, 6),
            (8, 8, 2, 8, 8),
            (20, 11, 3, 7, 33),
        ] {
            let src = frame_from(w, h, ch, pattern);
            let out = resize_lanczos3(&src, ow, oh).unwrap();
            assert_eq!((out.width, out.height, out.channels), (ow, oh, ch));
            let mut max_err = 0f64;
            for y in 0..oh {
                for x in 0..ow {
                    for c in 0..ch {
                        let r = reference_lanczos3(&src, ow, oh, x, y, c);
                        let got = out.data[(y * ow + x) * ch + c] as f64;
                        max_err = max_err.max((r - got).abs());
                    }
                }
            }
            assert!(
                max_err < 2e-6,
                "{w}x{h}x{ch} -> {ow}x{oh}: max err {max_err}"
            );
        }
    }

    #[test]
    fn lanczos3_identity_size_is_identity_and_constants_stay_constant() {
        let src = frame_from(17, 5, 3, pattern);
        let out = resize_lanczos3(&src, 17, 5).unwrap();
        for (a, b) in src.data.iter().zip(&out.data) {
            assert!((a - b).abs() < 1e-6);
        }
        let flat = frame_from(9, 7, 4, |_| 0.375);
        for &(ow, oh) in &[(18, 14), (4, 3), (23, 5)] {
            let out = resize_lanczos3(&flat, ow, oh).unwrap();
            assert!(out.data.iter().all(|&v| (v - 0.375).abs() < 1e-6));
        }
    }

    #[test]
    fn opencv_lanczos4_coefficients_hand_computed() {
        // x = 0.5: taps at offsets 3.5, 2.5, 1.5, 0.5, -0.5, ... ; OpenCV's value for tap i is
        // sin(pi*d)*sin(pi*d/4)/(pi^2*d^2/4) up to the common normalisation, d = x + 3 - i.
        let c = opencv_lanczos4_coefficients(0.5);
        let raw: Vec<f64> = (0..8)
            .map(|i| {
                let d = 0.5 + 3.0 - i as f64;
                let p = std::f64::consts::PI;
                (p * d).sin() * (p * d / 4.0).sin() / (p * p * d * d / 4.0)
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        for i in 0..8 {
            assert!(
                (c[i] as f64 - raw[i] / sum).abs() < 1e-6,
                "tap {i}: {} vs {}",
                c[i],
                raw[i] / sum
            );
        }
        // By hand: d = 0.5 -> sin(pi/2) sin(pi/8) / (pi^2/16) = 0.3826834 * 16 / pi^2 = 0.6203830;
        // normalised over the 8 taps (python, f64) the coefficients at x = 0.5 are:
        assert!((raw[3] - 0.620_383_0).abs() < 1e-6);
        let hand = [
            -0.0126302, 0.0597641, -0.1660114, 0.6188774, 0.6188774, -0.1660114, 0.0597641,
            -0.0126302,
        ];
        for i in 0..8 {
            assert!((c[i] - hand[i]).abs() < 1e-6, "tap {i}");
        }
        for i in 0..4 {
            assert!((c[i] - c[7 - i]).abs() < 1e-7);
        }
        // x = 0: the centre tap takes all the weight.
        let c0 = opencv_lanczos4_coefficients(0.0);
        assert!((c0[3] - 1.0).abs() < 1e-6);
        assert!(c0
            .iter()
            .enumerate()
            .all(|(i, &v)| i == 3 || v.abs() < 1e-6));
        // Sums to 1.
        for &x in &[0.1f32, 0.25, 0.75, 0.999] {
            let s: f32 = opencv_lanczos4_coefficients(x).iter().sum();
            assert!((s - 1.0).abs() < 1e-6);
        }
    }

    /// Straightforward OpenCV-semantics resize: per output pixel, 8x8 taps with replicated
    /// borders, coefficients from the closed-form sinc expression in f64.
    fn reference_lanczos4(src: &Frame, ow: usize, oh: usize, x: usize, y: usize, c: usize) -> f64 {
        let taps = |o: usize, in_len: usize, out_len: usize| -> Vec<(usize, f64)> {
            let s = ((o as f64 + 0.5) * (in_len as f64 / out_len as f64) - 0.5) as f32 as f64;
            let b = s.floor();
            let fx = s - b;
            let p = std::f64::consts::PI;
            let raw: Vec<f64> = (0..8)
                .map(|i| {
                    let d = fx + 3.0 - i as f64;
                    if d.abs() < 1e-9 {
                        1.0
                    } else {
                        (p * d).sin() * (p * d / 4.0).sin() / (p * p * d * d / 4.0)
                    }
                })
                .collect();
            let sum: f64 = raw.iter().sum();
            (0..8)
                .map(|i| {
                    let idx = (b as i64 - 3 + i as i64).clamp(0, in_len as i64 - 1) as usize;
                    (idx, raw[i] / sum)
                })
                .collect()
        };
        let wx = taps(x, src.width, ow);
        let wy = taps(y, src.height, oh);
        let mut acc = 0.0;
        for &(sy, wyv) in &wy {
            for &(sx, wxv) in &wx {
                acc += wyv * wxv * src.data[(sy * src.width + sx) * src.channels + c] as f64;
            }
        }
        acc
    }

    #[test]
    fn lanczos4_opencv_matches_direct_reference() {
        for &(w, h, ch, ow, oh) in &[
            (11, 7, 3, 22, 14),
            (11, 7, 4, 38, 25),
            (20, 16, 1, 7, 5),
            (5, 3, 2, 17, 4),
        ] {
            let src = frame_from(w, h, ch, pattern);
            let out = resize_lanczos4_opencv(&src, ow, oh).unwrap();
            let mut max_err = 0f64;
            for y in 0..oh {
                for x in 0..ow {
                    for c in 0..ch {
                        let r = reference_lanczos4(&src, ow, oh, x, y, c);
                        max_err = max_err.max((r - out.data[(y * ow + x) * ch + c] as f64).abs());
                    }
                }
            }
            assert!(
                max_err < 5e-6,
                "{w}x{h}x{ch} -> {ow}x{oh}: max err {max_err}"
            );
        }
    }

    #[test]
    fn lanczos4_opencv_2x_hand_computed_positions() {
        // For 2x, dst x maps to src (x + 0.5)/2 - 0.5: x=0 -> -0.25 (floor -1, frac 0.75),
        // x=1 -> 0.25 (floor 0, frac 0.25). A 1-row ramp with replicated borders checks both
        // the positions and the border replication.
        let src = frame_from(6, 1, 1, |i| i as f32 / 5.0);
        let out = resize_lanczos4_opencv(&src, 12, 1).unwrap();
        let expect = |base: i64, frac: f32| -> f32 {
            let c = opencv_lanczos4_coefficients(frac);
            (0..8)
                .map(|k| {
                    let i = (base - 3 + k as i64).clamp(0, 5) as usize;
                    c[k] * src.data[i]
                })
                .sum()
        };
        assert!((out.data[0] - expect(-1, 0.75)).abs() < 1e-6);
        assert!((out.data[1] - expect(0, 0.25)).abs() < 1e-6);
        assert!((out.data[5] - expect(2, 0.25)).abs() < 1e-6);
        // Interior of a linear ramp far from the borders is reproduced almost exactly.
        let ramp = frame_from(40, 1, 1, |i| i as f32 / 39.0);
        let up = resize_lanczos4_opencv(&ramp, 80, 1).unwrap();
        for x in 16..64 {
            let s = (x as f32 + 0.5) / 2.0 - 0.5;
            assert!((up.data[x] - s / 39.0).abs() < 2e-3, "x={x}");
        }
    }

    #[test]
    fn resizer_processor_clamps_and_keeps_metadata() {
        let mut src = frame_from(16, 16, 4, |i| if (i / 4 / 3) % 2 == 0 { 0.0 } else { 1.0 });
        src.pts = Some(1234);
        src.index = 7;
        let mut p = LanczosResizer::new(LanczosKernel::Lanczos3, 2.0).unwrap();
        assert_eq!(p.output_size(16, 16), (32, 32));
        let out = p.process(src.clone()).unwrap();
        assert_eq!(
            (out.width, out.height, out.pts, out.index),
            (32, 32, Some(1234), 7)
        );
        assert!(out.data.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let raw = resize_lanczos3(&src, 32, 32).unwrap();
        assert!(
            raw.data.iter().any(|&v| !(0.0..=1.0).contains(&v)),
            "pattern rings"
        );
        assert!(LanczosResizer::new(LanczosKernel::Lanczos3, 0.0).is_err());
        assert!(LanczosResizer::new(LanczosKernel::Lanczos3, f64::NAN).is_err());
        assert!(resize_lanczos3(&src, 0, 3).is_err());
    }

    #[test]
    fn non_integer_scales_give_rounded_sizes() {
        assert_eq!(scaled_size(220, 220, 3.5), (770, 770));
        assert_eq!(scaled_size(768, 576, 0.5), (384, 288));
        assert_eq!(scaled_size(3, 3, 0.01), (1, 1));
        let src = frame_from(10, 6, 3, pattern);
        let out = LanczosResizer::new(LanczosKernel::OpenCvLanczos4, 1.5)
            .unwrap()
            .process(src)
            .unwrap();
        assert_eq!((out.width, out.height), (15, 9));
    }

    #[test]
    fn linear_resize_matches_opencv_on_a_ramp() {
        // cv2.resize(np.float32([[0, 1]]), (4, 1), interpolation=cv2.INTER_LINEAR)
        // = [0, 0.25, 0.75, 1].
        let out = resize_linear_opencv(&[0.0, 1.0], 2, 1, 4, 1);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn lanczos_u8_keeps_a_flat_image_flat_and_saturates() {
        let flat = vec![200u16; 10 * 7 * 3];
        let out = resize_lanczos4_u8_opencv(&flat, 10, 7, 3, 23, 5);
        assert!(out.iter().all(|&v| v == 200), "{out:?}");
        // A hard edge rings above 255 on upscale; the result saturates.
        let edge: Vec<u16> = (0..16).map(|x| if x < 8 { 0 } else { 255 }).collect();
        let out = resize_lanczos4_u8_opencv(&edge, 16, 1, 1, 64, 1);
        assert!(out.contains(&255) && out.contains(&0));
        let out16 = resize_lanczos4_u16_opencv(&flat, 10, 7, 3, 4, 9);
        assert!(out16.iter().all(|&v| v == 200));
    }
}
