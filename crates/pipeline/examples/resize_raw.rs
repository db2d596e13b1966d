//! Resizes a raw little-endian `f32` HWC image with one of the pipeline's Lanczos kernels, for
//! parity checks against other implementations (e.g. OpenCV's `cv2.resize`).
//!
//! `cargo run -p upframe-pipeline --example resize_raw -- lanczos4-opencv|lanczos3 IN.f32 W H C OUT_W OUT_H OUT.f32`

use std::process::ExitCode;

use upframe_media::{Frame, SampleDepth};
use upframe_pipeline::{resize_lanczos3, resize_lanczos4_opencv};

fn run(args: &[String]) -> Result<(), String> {
    let [kernel, input, w, h, c, ow, oh, output] = args else {
        return Err("usage: resize_raw KERNEL IN.f32 W H C OUT_W OUT_H OUT.f32".into());
    };
    let num = |s: &String| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let (w, h, c, ow, oh) = (num(w)?, num(h)?, num(c)?, num(ow)?, num(oh)?);
    let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    if bytes.len() != w * h * c * 4 {
        return Err(format!(
            "{input}: {} bytes, expected {}",
            bytes.len(),
            w * h * c * 4
        ));
    }
    let mut frame = Frame::new(w, h, c, SampleDepth::U8);
    for (d, b) in frame.data.iter_mut().zip(bytes.chunks_exact(4)) {
        *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    let out = match kernel.as_str() {
        "lanczos4-opencv" => resize_lanczos4_opencv(&frame, ow, oh),
        "lanczos3" => resize_lanczos3(&frame, ow, oh),
        k => return Err(format!("unknown kernel {k}")),
    }
    .map_err(|e| e.to_string())?;
    let raw: Vec<u8> = out.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(output, raw).map_err(|e| format!("{output}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resize_raw: {e}");
            ExitCode::from(1)
        }
    }
}
