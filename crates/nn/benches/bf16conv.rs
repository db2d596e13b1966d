//! The bf16 convolution kernels (AMX, AVX-512 BF16) against the fp32 Winograd kernel on the
//! 3×3 layer shapes of SRVGGNetCompact, RRDBNet and RIFE, with RIFE's PReLU epilogue.
//! Throughput is direct-convolution FLOP/s (2·9·cin·cout per output pixel).
//!
//! `cargo bench -p upframe-nn --bench bf16conv [-- FILTER]`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use upframe_nn::bf16conv::{self, Bf16ConvWeights, Bf16Kernel};
use upframe_nn::winograd::{conv3x3_into_with, SimdLevel, Winograd3x3Weights};
use upframe_nn::{Activation, Epilogue, Tensor};

/// Deterministic values in [-1, 1).
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// (name, h, w, cin, cout)
const SHAPES: &[(&str, usize, usize, usize, usize)] = &[
    ("srvgg_body", 270, 480, 64, 64),
    ("srvgg_tail", 270, 480, 64, 48),
    ("rrdb_dense", 270, 480, 64, 32),
    ("rrdb_dense", 270, 480, 192, 64),
    ("rrdb_hr", 1080, 1920, 64, 64),
    ("rife_1/8", 80, 120, 128, 128),
    ("rife_1/4", 160, 240, 96, 96),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("bf16conv");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(3));
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for &(name, h, w, cin, cout) in SHAPES {
        let id = format!("{name}_{cin}to{cout}_{h}x{w}");
        if filter.as_ref().is_some_and(|f| !id.contains(f.as_str())) {
            continue;
        }
        let input = Tensor::from_vec([1, h, w, cin], noise(h * w * cin, 1));
        let wt = noise(cout * cin * 9, 2);
        let bias = noise(cout, 3);
        let slopes = noise(cout, 4);
        let epilogue = Epilogue::act(Activation::PRelu(&slopes));
        let mut out = Tensor::zeros([1, h, w, cout]);
        group.throughput(Throughput::Elements((2 * 9 * cin * cout * h * w) as u64));
        let wino = Winograd3x3Weights::new(&wt, cout, cin).expect("weights");
        let level = SimdLevel::detect();
        group.bench_function(
            BenchmarkId::new(&id, format!("fp32_winograd_{level:?}")),
            |b| {
                b.iter(|| conv3x3_into_with(level, &input, &wino, Some(&bias), &epilogue, &mut out))
            },
        );
        let packed = Bf16ConvWeights::new(&wt, [cout, cin, 3, 3]).expect("weights");
        for kernel in Bf16Kernel::supported() {
            if kernel == Bf16Kernel::Emulated {
                continue;
            }
            group.bench_function(BenchmarkId::new(&id, format!("bf16_{kernel:?}")), |b| {
                b.iter(|| {
                    bf16conv::conv_into(
                        kernel,
                        &input,
                        &packed,
                        1,
                        Some(&bias),
                        &epilogue,
                        &mut out,
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
