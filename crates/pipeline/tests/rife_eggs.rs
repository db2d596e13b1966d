//! RIFE parity on the real Vimeo-90K triplet "eggs": im1 + im3 → middle frame, against the
//! true middle frame im2 (PSNR as ffmpeg's psnr filter on rgb24) and against the official
//! PyTorch output `goldens/pipeline/eggs_mid_pytorch.png` (Practical-RIFE semantics).

mod common;

use upframe_media::read_image;
use upframe_pipeline::rife::RifeInterpolator;
use upframe_pipeline::FrameInterpolator;

fn to_u8(v: f32) -> i32 {
    (v * 255.0).clamp(0.0, 255.0).round() as i32
}

#[test]
fn eggs_middle_frame_matches_pytorch_and_ground_truth() {
    let (Some(dir), Some(golden), Some(weights)) = (
        common::asset("media/interp/vimeo90k_triplet_eggs"),
        common::asset("goldens/pipeline/eggs_mid_pytorch.png"),
        common::asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    let im1 = read_image(&dir.join("im1.png")).unwrap();
    let im2 = read_image(&dir.join("im2.png")).unwrap();
    let im3 = read_image(&dir.join("im3.png")).unwrap();
    let golden = read_image(&golden).unwrap();
    let mut rife = RifeInterpolator::load(&weights, 1.0).unwrap();
    assert_eq!(rife.padded_size(448, 256), (256, 512));
    let mid = rife.interpolate(&im1, &im3, 0.5).unwrap();
    assert_eq!((mid.width, mid.height, mid.channels), (448, 256, 3));

    // PSNR against the true middle frame, on 8-bit values over all channels.
    let mse: f64 = mid
        .data
        .iter()
        .zip(&im2.data)
        .map(|(&a, &b)| f64::from((to_u8(a) - to_u8(b)).pow(2)))
        .sum::<f64>()
        / mid.data.len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
    eprintln!("eggs: PSNR vs im2 = {psnr:.3} dB (PyTorch reference: 31.657 dB)");
    assert!(psnr >= 31.6, "PSNR {psnr:.3} dB < 31.6 dB");

    // Parity with PyTorch: within one level on ≥ 99.9 % of values.
    let mut off = 0usize;
    let mut max_diff = 0;
    for (&a, &b) in mid.data.iter().zip(&golden.data) {
        let d = (to_u8(a) - to_u8(b)).abs();
        max_diff = max_diff.max(d);
        if d > 1 {
            off += 1;
        }
    }
    let within = 1.0 - off as f64 / mid.data.len() as f64;
    eprintln!(
        "eggs: {:.4} % of values within 1 level of PyTorch, max diff {max_diff}",
        within * 100.0
    );
    assert!(
        within >= 0.999,
        "only {:.4} % within 1 level",
        within * 100.0
    );

    // Buffers are reused: a second pair gives the identical result.
    let again = rife.interpolate(&im1, &im3, 0.5).unwrap();
    assert_eq!(again.data, mid.data);
}
