//! `resize_lanczos4_opencv` against real OpenCV output: `cv2.resize(..., INTER_LANCZOS4)` on a
//! float32 image, made by `tests/data/make_opencv_fixture.py` (OpenCV 5.0.0).

use upframe_media::{Frame, SampleDepth};
use upframe_pipeline::resize_lanczos4_opencv;

fn read_f32(name: &str) -> Vec<f32> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn matches_opencv_float_inter_lanczos4_up_and_down() {
    let mut frame = Frame::new(23, 17, 3, SampleDepth::U8);
    frame.data = read_f32("opencv_in_23x17x3.f32");
    assert_eq!(frame.data.len(), 23 * 17 * 3);
    for &(w, h) in &[(50usize, 37usize), (9, 7)] {
        let reference = read_f32(&format!("opencv_lanczos4_{w}x{h}x3.f32"));
        let ours = resize_lanczos4_opencv(&frame, w, h).unwrap();
        assert_eq!(ours.data.len(), reference.len());
        let max = ours
            .data
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("23x17 -> {w}x{h}: max |ours - OpenCV| = {max:.2e}");
        // Same formula, same f32 coefficients and pass order: only summation rounding differs.
        assert!(max < 2e-6, "{w}x{h}: {max}");
    }
}
