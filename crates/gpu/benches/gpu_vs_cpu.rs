//! One forward pass per model on the CPU engine and on the GPU backend (f32 and f16 storage),
//! same small input, same run: `cargo bench -p upframe-gpu --bench gpu_vs_cpu`. On a machine
//! without a GPU the adapter is Mesa's lavapipe (software Vulkan, ~1 GFLOP/s), so its figures
//! are for the record only. Skips with a printed reason without an adapter or weights.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use upframe_gpu::{Device, GpuBackend, GpuContext};
use upframe_models::load_upscaler;
use upframe_nn::{Backend, Tensor, Workspace};

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
fn input(shape: [usize; 4]) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..len).map(|i| (i as f32 * 0.618_034).fract()).collect(),
    )
}

fn bench_upscaler(c: &mut Criterion, name: &str, file: &str, hw: [usize; 2]) {
    let path = models_dir().join(file);
    if !path.exists() {
        eprintln!("skipping {name}: {} not found", path.display());
        return;
    }
    let net = load_upscaler(&path).expect("weights load");
    let x = input([1, hw[0], hw[1], 3]);
    let mut group = c.benchmark_group(format!("{name}_{}x{}", hw[1], hw[0]));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let mut ws = Workspace::new();
    group.bench_function("cpu_f32", |b| {
        b.iter(|| {
            let y = net.forward(black_box(&x), &mut ws).unwrap();
            ws.recycle(y);
        })
    });
    for f16 in [false, true] {
        let ctx = match GpuContext::open(Device::Gpu(None), f16) {
            Ok(ctx) => Arc::new(ctx),
            Err(e) => {
                eprintln!("skipping the GPU: {e}");
                return;
            }
        };
        if f16 && ctx.precision() != upframe_gpu::Precision::F16 {
            eprintln!("skipping f16: {} has no shader-f16", ctx.adapter().name);
            continue;
        }
        eprintln!("GPU: {}", ctx.adapter());
        let mut gpu = GpuBackend::new(ctx);
        let mut out = Tensor::zeros([1, hw[0] * net.scale(), hw[1] * net.scale(), 3]);
        let label = if f16 { "gpu_f16" } else { "gpu_f32" };
        // Upload, forward, read back: a frame's whole round trip.
        group.bench_function(label, |b| {
            b.iter(|| {
                let xg = gpu.upload(black_box(&x));
                let yg = net.forward_on(&xg, &mut gpu).unwrap();
                gpu.download_into(&yg, &mut out).unwrap();
                gpu.recycle(xg);
                gpu.recycle(yg);
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_upscaler(
        c,
        "realesr-animevideov3",
        "realesr-animevideov3.pth",
        [24, 24],
    );
    bench_upscaler(
        c,
        "RealESRGAN_x4plus_anime_6B",
        "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
        [8, 8],
    );
}

criterion_group!(gpu_vs_cpu, benches);
criterion_main!(gpu_vs_cpu);
