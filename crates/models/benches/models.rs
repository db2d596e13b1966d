//! Criterion benchmarks of one forward pass per model, on small shapes so that a run is quick
//! (`cargo bench -p upframe-models --bench models`); `upframe bench` times the full-size shapes
//! against PyTorch. Weights come from `$UPFRAME_ASSETS/models` (default `../shared/models`); a
//! model whose file is missing is skipped with a printed reason.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use upframe_models::{load_interpolator, load_upscaler};
use upframe_nn::{Tensor, Workspace};

fn models_dir() -> PathBuf {
    match std::env::var_os("UPFRAME_ASSETS") {
        Some(dir) => PathBuf::from(dir).join("models"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/models"
        )),
    }
}

/// Deterministic values in [0, 1) (a Weyl sequence), so runs are comparable.
fn input(shape: [usize; 4], seed: f32) -> Tensor {
    let len = shape.iter().product();
    let data = (0..len)
        .map(|i| (i as f32 * 0.618_034 + seed).fract())
        .collect();
    Tensor::from_vec(shape, data)
}

fn bench_upscaler(c: &mut Criterion, name: &str, file: &str, hw: [usize; 2]) {
    let path = models_dir().join(file);
    if !path.exists() {
        eprintln!("skipping {name}: {} not found", path.display());
        return;
    }
    let net = match load_upscaler(&path) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("skipping {name}: {e}");
            return;
        }
    };
    let x = input([1, hw[0], hw[1], 3], 0.1);
    let mut ws = Workspace::new();
    c.bench_function(&format!("{name} {}x{}", hw[0], hw[1]), |b| {
        b.iter(|| match net.forward(black_box(&x), &mut ws) {
            Ok(y) => ws.recycle(y),
            Err(e) => panic!("{name} forward failed: {e}"),
        })
    });
}

fn bench_rife(c: &mut Criterion) {
    let path = models_dir().join("rife-v4.25-or-v4.26/flownet.pkl");
    if !path.exists() {
        eprintln!("skipping rife: {} not found", path.display());
        return;
    }
    let net = match load_interpolator(&path) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("skipping rife: {e}");
            return;
        }
    };
    let img0 = input([1, 128, 128, 3], 0.1);
    let img1 = input([1, 128, 128, 3], 0.3);
    let mut ws = Workspace::new();
    c.bench_function("rife-v4.25 128x128 t=0.5", |b| {
        b.iter(
            || match net.forward(black_box(&img0), black_box(&img1), 0.5, 1.0, &mut ws) {
                Ok(out) => {
                    for t in [out.frame, out.flow, out.mask, out.mask_logits] {
                        ws.recycle(t);
                    }
                }
                Err(e) => panic!("rife forward failed: {e}"),
            },
        )
    });
}

fn models(c: &mut Criterion) {
    bench_upscaler(c, "animevideov3", "realesr-animevideov3.pth", [64, 64]);
    bench_upscaler(
        c,
        "anime_6B",
        "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
        [32, 32],
    );
    bench_rife(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = models
}
criterion_main!(benches);
