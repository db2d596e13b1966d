//! Tiled vs whole-frame Real-ESRGAN on real photos (Set14), the alpha upsamplers, and the
//! `dni` weight interpolation behind `-dn` on the real realesr-animevideov3 weights.

mod common;

use upframe_media::{read_image, Frame};
use upframe_models::{load_weights, WeightTensor};
use upframe_pipeline::processors::realesrgan::{
    interpolate_weights, load_upscaler_with_denoise, AlphaUpsampler, RealEsrganError,
    RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::FrameProcessor;

/// realesr-animevideov3 stacks 18 3×3 convolutions: an output pixel sees 18 input pixels
/// each way, so a tile_pad of at least that makes tiles exact up to float noise.
const RECEPTIVE_PAD: usize = 20;

fn options(tile: usize) -> RealEsrganOptions {
    RealEsrganOptions {
        tile,
        tile_pad: RECEPTIVE_PAD,
        // Whole frames when tile is 0, whatever the machine's free memory.
        memory_budget: Some(usize::MAX),
        ..RealEsrganOptions::default()
    }
}

fn max_level_diff(a: &Frame, b: &Frame) -> i64 {
    assert_eq!(
        (a.width, a.height, a.channels),
        (b.width, b.height, b.channels)
    );
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| ((x * 255.0).round() as i64 - (y * 255.0).round() as i64).abs())
        .max()
        .unwrap_or(0)
}

fn equal_fraction(a: &Frame, b: &Frame) -> f64 {
    a.data
        .iter()
        .zip(&b.data)
        .filter(|(x, y)| (*x * 255.0).round() == (*y * 255.0).round())
        .count() as f64
        / a.data.len() as f64
}

#[test]
fn tiles_covering_the_receptive_field_match_whole_frames_on_set14() {
    let Some(model) = common::asset("models/realesr-animevideov3.pth") else {
        return;
    };
    for name in ["comic", "zebra"] {
        let Some(path) = common::asset(&format!("media/sr/Set14/{name}.png")) else {
            return;
        };
        let img = read_image(&path).unwrap();
        let whole = RealEsrganUpscaler::from_file(&model, options(0))
            .unwrap()
            .process(img.clone())
            .unwrap();
        let tiled = RealEsrganUpscaler::from_file(&model, options(64))
            .unwrap()
            .process(img.clone())
            .unwrap();
        let max = max_level_diff(&whole, &tiled);
        println!(
            "{name} {}x{}: tile 64 / pad {RECEPTIVE_PAD} vs whole frame: max diff {max} level(s), {:.4}% equal",
            img.width,
            img.height,
            equal_fraction(&whole, &tiled) * 100.0
        );
        assert!(max <= 1, "{name}: tiled differs by {max} levels");
        // The official default pad (10) is short of the receptive field: seams differ by a
        // few levels, as they do in RealESRGANer itself (see the golden comparison below).
        let mut short = options(64);
        short.tile_pad = 10;
        let tiled10 = RealEsrganUpscaler::from_file(&model, short)
            .unwrap()
            .process(img.clone())
            .unwrap();
        let max10 = max_level_diff(&whole, &tiled10);
        let equal10 = equal_fraction(&whole, &tiled10);
        println!(
            "{name}: tile 64 / pad 10 vs whole frame: max diff {max10} level(s), {:.4}% equal",
            equal10 * 100.0
        );
        assert!(
            equal10 > 0.95 && max10 <= 32,
            "{name}: pad-10 tiles too far off"
        );
        assert_eq!((whole.width, whole.height), (img.width * 4, img.height * 4));
    }
}

#[test]
fn official_tiles_with_pad_10_differ_from_whole_frames_too() {
    for name in ["0030", "wolf_gray"] {
        let (Some(whole), Some(tiled)) = (
            common::asset(&format!("goldens/pipeline/{name}__t0_pre0_out4.png")),
            common::asset(&format!("goldens/pipeline/{name}__t64_pad10_pre0_out4.png")),
        ) else {
            return;
        };
        let (whole, tiled) = (read_image(&whole).unwrap(), read_image(&tiled).unwrap());
        let max = max_level_diff(&whole, &tiled);
        println!(
            "RealESRGANer {name}: tile 64 / pad 10 vs whole frame: max diff {max}, {:.4}% equal",
            equal_fraction(&whole, &tiled) * 100.0
        );
        assert!(max > 1, "{name}: expected visible seams at pad 10");
    }
}

#[test]
fn automatic_tiling_under_a_small_budget_matches_whole_frames() {
    let (Some(model), Some(path)) = (
        common::asset("models/realesr-animevideov3.pth"),
        common::asset("goldens/pipeline/0030.decoded.png"),
    ) else {
        return;
    };
    let img = read_image(&path).unwrap();
    let whole = RealEsrganUpscaler::from_file(&model, options(0))
        .unwrap()
        .process(img.clone())
        .unwrap();
    // ~100×100 input pixels' worth of activations: forces tiles on a 220×220 image.
    let mut small = options(0);
    small.memory_budget = Some(100 * 100 * 1600);
    let tiled = RealEsrganUpscaler::from_file(&model, small)
        .unwrap()
        .process(img)
        .unwrap();
    let max = max_level_diff(&whole, &tiled);
    println!("auto tile under a small budget vs whole frame: max diff {max}");
    assert!(max <= 1);
}

#[test]
fn alpha_upsamplers_keep_alpha_and_agree_roughly() {
    let (Some(model), Some(path)) = (
        common::asset("models/realesr-animevideov3.pth"),
        common::asset("media/sr/realesrgan_inputs/children-alpha.png"),
    ) else {
        return;
    };
    let img = read_image(&path).unwrap();
    let mut outs = Vec::new();
    for alpha in [
        AlphaUpsampler::RealEsrgan,
        AlphaUpsampler::Linear,
        AlphaUpsampler::Lanczos,
    ] {
        let mut o = options(0);
        o.alpha = alpha;
        let out = RealEsrganUpscaler::from_file(&model, o)
            .unwrap()
            .process(img.clone())
            .unwrap();
        assert_eq!(out.channels, 4);
        outs.push(out);
    }
    // Colour is identical whatever the alpha path; alpha differs but stays close on average.
    for other in &outs[1..] {
        let mut colour_same = true;
        let mut alpha_abs = 0.0f64;
        for (p, q) in outs[0].data.chunks_exact(4).zip(other.data.chunks_exact(4)) {
            colour_same &= p[..3] == q[..3];
            alpha_abs += (p[3] - q[3]).abs() as f64;
        }
        let mean = alpha_abs / (other.width * other.height) as f64 * 255.0;
        println!("alpha vs realesrgan path: mean |diff| {mean:.3} levels");
        assert!(colour_same);
        assert!(mean < 3.0, "mean alpha difference {mean}");
    }
}

#[test]
fn dni_interpolates_every_tensor_and_checks_the_pair() {
    let Some(model) = common::asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let a = load_weights(&model).unwrap();
    // A perturbed copy stands in for the -wdn weights (same keys and shapes).
    let mut b = a.clone();
    let keys: Vec<String> = a.keys().map(str::to_string).collect();
    for (i, key) in keys.iter().enumerate() {
        let t = a.get(key).unwrap();
        let data = t
            .data
            .iter()
            .enumerate()
            .map(|(j, v)| v * 0.9 + ((i * 31 + j) % 7) as f32 * 1e-3)
            .collect();
        b.insert(
            key.clone(),
            WeightTensor::new(t.shape.clone(), data).unwrap(),
        );
    }
    let dn = 0.3;
    let mixed = interpolate_weights(&a, &b, dn).unwrap();
    assert_eq!(mixed.len(), a.len());
    for key in &keys {
        let (ta, tb, tm) = (
            a.get(key).unwrap(),
            b.get(key).unwrap(),
            mixed.get(key).unwrap(),
        );
        assert_eq!(tm.shape, ta.shape);
        for ((x, y), m) in ta.data.iter().zip(&tb.data).zip(&tm.data) {
            let want = 0.3f32 * x + 0.7f32 * y;
            assert_eq!(*m, want, "{key}");
        }
    }
    // dn = 1 and dn = 0 give back each file.
    assert_eq!(interpolate_weights(&a, &b, 1.0).unwrap(), a);
    assert_eq!(interpolate_weights(&a, &b, 0.0).unwrap(), b);
    // The interpolated weights build and run a network; with a = b the output is a's.
    let same = interpolate_weights(&a, &a, 0.5).unwrap();
    let frame = read_image(&common::asset("goldens/pipeline/0030.decoded.png").unwrap()).unwrap();
    let mut plain = RealEsrganUpscaler::from_state_dict("a", &a, options(0)).unwrap();
    let mut blended = RealEsrganUpscaler::from_state_dict("a+a", &same, options(0)).unwrap();
    let (p, q) = (
        plain.process(frame.clone()).unwrap(),
        blended.process(frame).unwrap(),
    );
    assert!(max_level_diff(&p, &q) <= 1);
    // A key missing from one side is an error, not a silent partial model.
    let mut short = b.clone();
    short.remove(&keys[0]);
    assert!(matches!(
        interpolate_weights(&a, &short, dn),
        Err(RealEsrganError::WeightMismatch(_))
    ));
    assert!(matches!(
        interpolate_weights(&short, &a, dn),
        Err(RealEsrganError::WeightMismatch(_))
    ));
    // -dn without the wdn file: a clear error naming it; out of range strengths are refused.
    let missing = std::env::temp_dir().join("no-such-realesr-general-wdn-x4v3.pth");
    let err = load_upscaler_with_denoise(&model, &missing, 0.5, options(0))
        .err()
        .unwrap();
    assert!(matches!(err, RealEsrganError::DenoiseWeightsMissing { .. }));
    assert!(
        err.to_string().contains("realesr-general-wdn-x4v3"),
        "{err}"
    );
    assert!(matches!(
        load_upscaler_with_denoise(&model, &missing, 1.5, options(0)),
        Err(RealEsrganError::InvalidDenoise(_))
    ));
    assert!(load_upscaler_with_denoise(&model, &missing, 1.0, options(0)).is_ok());
}
