//! Forward-pass timings at working resolutions (ignored by default; run in release):
//! `cargo test --release -p upframe-models --test perf -- --ignored --nocapture --test-threads 1`.
//! Inputs are a smooth deterministic pattern (timing does not depend on content); the workspace
//! is reused across runs as in a video pipeline. Prints min / median ms and peak RSS.

mod common;

use std::time::Instant;

use common::asset;
use upframe_models::load_model;
use upframe_nn::{Tensor, Workspace};

fn pattern(h: usize, w: usize, shift: f32) -> Tensor {
    let mut data = Vec::with_capacity(h * w * 3);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let v =
                    ((x as f32 + shift) * 0.031 + y as f32 * 0.017 + c as f32).sin() * 0.5 + 0.5;
                data.push(v);
            }
        }
    }
    Tensor::from_vec([1, h, w, 3], data)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn report(name: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    println!(
        "{name}: min {:.1} ms, median {:.1} ms over {} runs, peak RSS {:.0} MiB, {} threads",
        times[0],
        times[times.len() / 2],
        times.len(),
        peak_rss_mib(),
        rayon::current_num_threads()
    );
}

fn time_upscaler(weights: &str, name: &str, runs: usize) {
    let Some(path) = asset(weights) else { return };
    let model = load_model(&path).unwrap();
    let x = pattern(270, 480, 0.0);
    let mut ws = Workspace::new();
    let mut times = Vec::new();
    for i in 0..runs + 1 {
        let t = Instant::now();
        let y = model.upscale(&x, &mut ws).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if i > 0 {
            times.push(ms);
        }
        ws.recycle(y);
    }
    report(name, times);
}

#[test]
#[ignore]
fn animevideov3_270x480() {
    time_upscaler(
        "models/realesr-animevideov3.pth",
        "animevideov3 1x3x270x480",
        5,
    );
}

#[test]
#[ignore]
fn anime_6b_270x480() {
    time_upscaler(
        "models/derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
        "anime_6B 1x3x270x480",
        2,
    );
}

#[test]
#[ignore]
fn rife_640x960() {
    let Some(path) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let model = load_model(&path).unwrap();
    let (a, b) = (pattern(640, 960, 0.0), pattern(640, 960, 6.0));
    let mut ws = Workspace::new();
    let mut times = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        let r = model.interpolate(&a, &b, 0.5, 1.0, &mut ws).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if i > 0 {
            times.push(ms);
        }
        for t in [r.frame, r.flow, r.mask, r.mask_logits] {
            ws.recycle(t);
        }
    }
    report("RIFE 4.25 1x3x640x960 pair, scale 1", times);
}
