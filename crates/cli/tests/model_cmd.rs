//! `upframe model run|info` through the real binary: goldens round-trip through the command
//! line (parity with PyTorch), `info` reports the detected hyperparameters, and bad weight
//! files give a one-line error and exit status 1.

mod common;

use upframe_models::{load_safetensors, WeightTensor};

use common::{asset, upframe};

fn max_abs_diff(ours: &WeightTensor, golden: &WeightTensor) -> (f32, f64) {
    assert_eq!(ours.shape, golden.shape);
    let mut max = 0.0f32;
    let mut sum = 0.0f64;
    for (a, b) in ours.data.iter().zip(&golden.data) {
        let d = (a - b).abs();
        assert!(d.is_finite());
        max = max.max(d);
        sum += f64::from(d);
    }
    (max, sum / ours.data.len() as f64)
}

fn run_golden(weights: &str, golden: &str, extra: &[&str], checks: &[(&str, f32)]) {
    let (Some(weights), Some(golden)) = (asset(weights), asset(golden)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let status = upframe()
        .args(["model", "run", "--model"])
        .arg(&weights)
        .arg("--input")
        .arg(&golden)
        .arg("--output")
        .arg(&out)
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success(), "upframe model run failed: {status}");
    let ours = load_safetensors(&out).unwrap();
    let expected = load_safetensors(&golden).unwrap();
    for &(name, tol) in checks {
        let (max, mean) = max_abs_diff(
            ours.tensors.get(name).unwrap(),
            expected.tensors.get(name).unwrap(),
        );
        println!(
            "{} {name}: max |Δ| = {max:.3e}, mean |Δ| = {mean:.3e}",
            golden.display()
        );
        assert!(max <= tol, "{name}: max |Δ| {max:e} > {tol:e}");
    }
}

#[test]
fn run_animevideov3_golden_through_the_binary() {
    run_golden(
        "models/realesr-animevideov3.pth",
        "goldens/realesr-animevideov3_37x53.safetensors",
        &[],
        &[("output", 1e-3)],
    );
}

#[test]
fn run_rife_golden_through_the_binary() {
    run_golden(
        "models/rife-v4.25-or-v4.26/flownet.pkl",
        "goldens/rife-v4.25-or-v4.26_t0.25_s1.0.safetensors",
        &["--timestep", "0.25", "--scale", "1.0"],
        &[("output", 1e-3), ("flow", 1e-2), ("mask", 1e-3)],
    );
}

#[test]
fn info_reports_hyperparameters() {
    let Some(weights) =
        asset("models/derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth")
    else {
        return;
    };
    let out = upframe()
        .args(["model", "info"])
        .arg(&weights)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    print!("{text}");
    for line in [
        "architecture: RRDBNet",
        "scale: 4",
        "num_block: 6",
        "num_feat: 64",
        "num_grow_ch: 32",
        "parameters: 4467779",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
    let Some(rife) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let out = upframe()
        .args(["model", "info"])
        .arg(&rife)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    print!("{text}");
    for line in [
        "architecture: IFNet",
        "version: v4.25/v4.26",
        "block_channels: [192, 128, 96, 64, 32]",
        "parameters: 5664776",
        "unused_tensors: 40",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
}

#[test]
fn bad_weights_give_one_line_and_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.pth");
    std::fs::write(&bad, b"PK\x03\x04 this is not really a zip").unwrap();
    let out = upframe()
        .args(["model", "info"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    println!("{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(err.contains("garbage.pth") && err.contains("zip"), "{err}");
}

/// `model info` of the built-in model, with no model directory at all: names it as embedded and
/// prints its hyperparameters in words (no Rust debug text).
#[test]
fn info_on_the_embedded_model() {
    let home = tempfile::tempdir().unwrap();
    let out = upframe()
        .args(["model", "info", "realesr-animevideov3"])
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path())
        .env_remove("UPFRAME_MODEL_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "file: realesr-animevideov3.pth (embedded in upframe)",
        "registry name: realesr-animevideov3",
        "architecture: SRVGGNetCompact",
        "scale: 4",
        "num_conv: 16",
        "activation: prelu",
        "parameters: 621424",
    ] {
        assert!(text.contains(line), "missing {line:?} in {text}");
    }
}
