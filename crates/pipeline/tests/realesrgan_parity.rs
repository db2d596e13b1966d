//! Parity of [`RealEsrganUpscaler`] with the official `RealESRGANer.enhance` outputs in
//! `goldens/pipeline` (realesr-animevideov3; RGB, RGBA, 16-bit RGBA, gray; tile 0 / 64;
//! pre_pad 0 / 10; outscale 4 / 2 / 3.5), compared in output levels (of 255 or 65535).

mod common;

use std::path::Path;

use upframe_media::{read_image, Frame, SampleDepth};
use upframe_pipeline::processors::realesrgan::{
    AlphaUpsampler, RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::{FrameProcessor, PrecisionChoice};

struct Case {
    golden: &'static str,
    input: &'static str,
    tile: usize,
    pre_pad: usize,
    outscale: f64,
}

const fn case(
    golden: &'static str,
    input: &'static str,
    tile: usize,
    pre_pad: usize,
    outscale: f64,
) -> Case {
    Case {
        golden,
        input,
        tile,
        pre_pad,
        outscale,
    }
}

const RGB: &str = "goldens/pipeline/0030.decoded.png";
const GRAY: &str = "goldens/pipeline/wolf_gray.decoded.png";
const RGBA: &str = "media/sr/realesrgan_inputs/children-alpha.png";
const RGBA16: &str = "media/sr/realesrgan_inputs/tree_alpha_16bit.png";

fn levels(frame: &Frame) -> Vec<i64> {
    let max = match frame.depth {
        SampleDepth::U8 => 255.0,
        SampleDepth::High { .. } => 65535.0,
    };
    frame
        .data
        .iter()
        .map(|&v| (v as f64 * max).round() as i64)
        .collect()
}

/// Runs the cases and checks the criteria: at the network's scale ≥ 99.9 % of values equal and
/// none more than 2 levels off (of 255; the same fraction of 65535); after the Lanczos
/// `outscale` resize ≥ 99 % within 1 level and none more than 4 off.
fn check(cases: &[Case]) {
    let Some(model) = common::asset("models/realesr-animevideov3.pth") else {
        return;
    };
    for c in cases {
        let (Some(golden_path), Some(input_path)) = (
            common::asset(&format!("goldens/pipeline/{}", c.golden)),
            common::asset(c.input),
        ) else {
            return;
        };
        let options = RealEsrganOptions {
            outscale: Some(c.outscale),
            tile: c.tile,
            tile_pad: 10,
            pre_pad: c.pre_pad,
            alpha: AlphaUpsampler::RealEsrgan,
            memory_budget: None,
            precision: PrecisionChoice::Fp32,
        };
        let mut up = RealEsrganUpscaler::from_file(&model, options).unwrap();
        let input = read_image(&input_path).unwrap();
        let expected = read_image(Path::new(&golden_path)).unwrap();
        let start = std::time::Instant::now();
        let out = up.process(input.clone()).unwrap();
        let ms = start.elapsed().as_millis();
        assert_eq!(
            (out.width, out.height, out.channels, out.depth),
            (
                expected.width,
                expected.height,
                expected.channels,
                expected.depth
            ),
            "{}: shape",
            c.golden
        );
        assert_eq!(
            up.output_size(input.width, input.height),
            (out.width, out.height)
        );
        let (a, b) = (levels(&out), levels(&expected));
        let unit = if out.depth == SampleDepth::U8 { 1 } else { 257 };
        let n = a.len() as f64;
        let diffs: Vec<i64> = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect();
        let equal = diffs.iter().filter(|&&d| d == 0).count() as f64 / n;
        let within1 = diffs.iter().filter(|&&d| d <= unit).count() as f64 / n;
        let max = *diffs.iter().max().unwrap();
        println!(
            "{}: {}x{}x{} equal {:.5}% within 1 level {:.5}% max diff {} (of {}) [{ms} ms]",
            c.golden,
            out.width,
            out.height,
            out.channels,
            equal * 100.0,
            within1 * 100.0,
            max,
            if unit == 1 { 255 } else { 65535 }
        );
        if c.outscale == 4.0 {
            assert!(
                equal >= 0.999,
                "{}: only {:.4}% equal",
                c.golden,
                equal * 100.0
            );
            assert!(max <= 2 * unit, "{}: max diff {max}", c.golden);
        } else {
            assert!(
                within1 >= 0.99,
                "{}: only {:.4}% within 1",
                c.golden,
                within1 * 100.0
            );
            assert!(max <= 4 * unit, "{}: max diff {max}", c.golden);
        }
    }
}

#[test]
fn rgb_0030_matches_realesrganer() {
    check(&[
        case("0030__t0_pre0_out4.png", RGB, 0, 0, 4.0),
        case("0030__t0_pre10_out4.png", RGB, 0, 10, 4.0),
        case("0030__t64_pad10_pre0_out4.png", RGB, 64, 0, 4.0),
        case("0030__t0_pre0_out2.png", RGB, 0, 0, 2.0),
        case("0030__t0_pre0_out3.5.png", RGB, 0, 0, 3.5),
    ]);
}

#[test]
fn gray_wolf_matches_realesrganer() {
    check(&[
        case("wolf_gray__t0_pre0_out4.png", GRAY, 0, 0, 4.0),
        case("wolf_gray__t0_pre10_out4.png", GRAY, 0, 10, 4.0),
        case("wolf_gray__t64_pad10_pre0_out4.png", GRAY, 64, 0, 4.0),
        case("wolf_gray__t0_pre0_out2.png", GRAY, 0, 0, 2.0),
        case("wolf_gray__t0_pre0_out3.5.png", GRAY, 0, 0, 3.5),
    ]);
}

#[test]
fn rgba_children_alpha_matches_realesrganer() {
    check(&[
        case("children-alpha__t0_pre0_out4.png", RGBA, 0, 0, 4.0),
        case("children-alpha__t0_pre0_out2.png", RGBA, 0, 0, 2.0),
    ]);
}

#[test]
fn rgba_16bit_tree_matches_realesrganer() {
    check(&[case(
        "tree_alpha_16bit__t0_pre0_out2.png",
        RGBA16,
        0,
        0,
        2.0,
    )]);
}
