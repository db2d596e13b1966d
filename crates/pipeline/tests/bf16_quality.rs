//! bf16 against fp32 on real photos and the real models, 8-bit PSNR, against issue #13's bars:
//! never more than 0.5 dB below PyTorch's own bf16 (autocast) on the same crop — figures from
//! `scripts/torch_ref/bf16_psnr.py`, recorded below — and at least 52 dB for the RRDBNet models.
//! The 60 dB for realesr-animevideov3 came from PyTorch on Set5 (62.2–62.7 dB); on these
//! detailed Set14 crops PyTorch's bf16 reaches only 55.5–56.6 dB and upframe's 58.9–59.1 dB
//! (whole Set14 images: 57.2–61.5 dB), so the floor here is 58.5 dB. RIFE on the eggs triplet
//! stays within 0.1 dB of fp32's PSNR to the true middle frame. Each runs with every bf16 kernel this machine has (AMX,
//! AVX-512 BF16, the portable emulation — which is what CI without bf16 hardware runs), chosen
//! with the process-wide test switches: hence one test function, run sequentially.

mod common;

use upframe_media::{read_image, Frame};
use upframe_nn::bf16conv::Bf16Kernel;
use upframe_nn::Precision;
use upframe_pipeline::processors::realesrgan::{RealEsrganOptions, RealEsrganUpscaler};
use upframe_pipeline::processors::rife::RifeInterpolator;
use upframe_pipeline::{FrameInterpolator, FrameProcessor, PrecisionChoice};

fn to_u8(v: f32) -> i32 {
    (v * 255.0).clamp(0.0, 255.0).round() as i32
}

/// PSNR of `a` against `b` on 8-bit values over all channels (∞ when identical).
fn psnr(a: &Frame, b: &Frame) -> f64 {
    assert_eq!(
        (a.width, a.height, a.channels),
        (b.width, b.height, b.channels)
    );
    let mse: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| f64::from((to_u8(x) - to_u8(y)).pow(2)))
        .sum::<f64>()
        / a.data.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// The `w`×`h` region of `f` at `(x0, y0)`.
fn crop(f: &Frame, x0: usize, y0: usize, w: usize, h: usize) -> Frame {
    let mut out = Frame::new(w, h, f.channels, f.depth);
    for y in 0..h {
        let src = &f.data[((y0 + y) * f.width + x0) * f.channels..][..w * f.channels];
        out.data[y * w * f.channels..][..w * f.channels].copy_from_slice(src);
    }
    out
}

/// Runs `body` once per bf16 kernel this machine can run, with the switches set so that the
/// layers pick that kernel; restores the switches afterwards.
fn for_each_kernel(mut body: impl FnMut(Bf16Kernel)) {
    for kernel in Bf16Kernel::supported() {
        upframe_nn::disable_amx_for_testing(kernel != Bf16Kernel::Amx);
        upframe_nn::disable_bf16_kernels_for_testing(kernel == Bf16Kernel::Emulated);
        assert_eq!(Bf16Kernel::detect(), kernel);
        body(kernel);
    }
    upframe_nn::disable_amx_for_testing(false);
    upframe_nn::disable_bf16_kernels_for_testing(false);
}

fn upscaler(model: &std::path::Path, precision: PrecisionChoice) -> RealEsrganUpscaler {
    let options = RealEsrganOptions {
        precision,
        memory_budget: Some(usize::MAX),
        ..RealEsrganOptions::default()
    };
    RealEsrganUpscaler::from_file(model, options).unwrap()
}

#[test]
fn bf16_stays_within_the_quality_bars_on_every_kernel() {
    let (Some(models), Some(set14), Some(eggs)) = (
        common::asset("models"),
        common::asset("media/sr/Set14"),
        common::asset("media/interp/vimeo90k_triplet_eggs"),
    ) else {
        return;
    };
    // (model file, crop edge, absolute floor in dB, PyTorch bf16 vs fp32 dB on comic, baboon).
    // Small crops keep the emulation fast in CI.
    let cases = [
        ("realesr-animevideov3.pth", 64, 58.5, [55.47, 56.64]),
        (
            "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
            40,
            52.0,
            [49.61, 54.31],
        ),
        (
            "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
            32,
            52.0,
            [51.02, 53.25],
        ),
    ];
    let photos = ["comic.png", "baboon.png"];
    // Every figure is printed before any bar is checked, so one run shows the whole table.
    let mut failures = Vec::new();
    for (file, edge, floor, torch_db) in cases {
        let path = models.join(file);
        let mut fp32 = upscaler(&path, PrecisionChoice::Fp32);
        let inputs: Vec<Frame> = photos
            .iter()
            .map(|p| {
                let img = read_image(&set14.join(p)).unwrap();
                crop(&img, img.width / 3, img.height / 3, edge, edge)
            })
            .collect();
        let references: Vec<Frame> = inputs
            .iter()
            .map(|i| fp32.process(i.clone()).unwrap())
            .collect();
        for_each_kernel(|kernel| {
            let mut bf16 = upscaler(&path, PrecisionChoice::Bf16);
            assert_eq!(bf16.precision().precision, Precision::Bf16);
            for (((input, reference), photo), torch_db) in
                inputs.iter().zip(&references).zip(photos).zip(torch_db)
            {
                let bar = f64::max(floor, torch_db - 0.5);
                let out = bf16.process(input.clone()).unwrap();
                let db = psnr(&out, reference);
                eprintln!(
                    "{file} {photo} {edge}x{edge} {kernel:?}: bf16 vs fp32 {db:.2} dB (PyTorch {torch_db} dB; bar {bar})"
                );
                if db < bar {
                    failures.push(format!("{file} {photo} {kernel:?}: {db:.2} dB < {bar} dB"));
                }
            }
        });
    }

    assert!(failures.is_empty(), "{failures:#?}");

    // RIFE in bf16 on the eggs triplet: PSNR to the true middle frame within 0.1 dB of fp32's.
    let Some(weights) = common::asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let im1 = read_image(&eggs.join("im1.png")).unwrap();
    let im2 = read_image(&eggs.join("im2.png")).unwrap();
    let im3 = read_image(&eggs.join("im3.png")).unwrap();
    let mut fp32 = RifeInterpolator::load(&weights, 1.0).unwrap();
    let fp32_db = psnr(&fp32.interpolate(&im1, &im3, 0.5).unwrap(), &im2);
    for_each_kernel(|kernel| {
        let mut bf16 = RifeInterpolator::load(&weights, 1.0)
            .unwrap()
            .with_precision(PrecisionChoice::Bf16);
        assert_eq!(bf16.job_key(), vec![("precision".into(), "bf16".into())]);
        let db = psnr(&bf16.interpolate(&im1, &im3, 0.5).unwrap(), &im2);
        eprintln!("eggs RIFE {kernel:?}: bf16 {db:.3} dB, fp32 {fp32_db:.3} dB vs im2");
        assert!((db - fp32_db).abs() <= 0.1, "{db} vs {fp32_db}");
    });
}

#[test]
fn precision_is_in_the_job_key() {
    let Some(model) = common::asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let mut fp32 = upscaler(&model, PrecisionChoice::Fp32);
    let key = fp32.job_key(64, 48);
    assert!(
        key.contains(&("precision".into(), "fp32".into())),
        "{key:?}"
    );
    // Explicit bf16 is honoured on every machine (emulated without bf16 hardware).
    let mut bf16 = upscaler(&model, PrecisionChoice::Bf16);
    let key = bf16.job_key(64, 48);
    assert!(
        key.contains(&("precision".into(), "bf16".into())),
        "{key:?}"
    );
}
