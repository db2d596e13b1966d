//! Benchmarks of the Winograd 3×3 convolution on the layer shapes of SRVGGNetCompact,
//! RRDBNet and RIFE. Throughput is reported as *effective* FLOP/s: the FLOPs a direct
//! convolution would do (2·9·cin·cout per output pixel) divided by the time.
//!
//! `cargo bench -p upframe-nn --bench conv3x3 [-- FILTER]`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use upframe_nn::winograd::{
    conv3x3_into_with, SimdLevel, Variant, Winograd3x3Weights, DEFAULT_VARIANT,
};
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
    ("rrdb_dense", 128, 128, 64, 32),
    ("rrdb_dense", 128, 128, 128, 32),
    ("rrdb_dense", 128, 128, 192, 32),
    ("rrdb_trunk", 128, 128, 64, 64),
    ("rife_1/16", 40, 60, 192, 192),
    ("rife_1/8", 80, 120, 128, 128),
    ("rife_1/4", 160, 240, 96, 96),
    ("rife_1/2", 320, 480, 32, 32),
    ("rife_1/2", 320, 480, 16, 16),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv3x3");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(3));
    for &(name, h, w, cin, cout) in SHAPES {
        let input = Tensor::from_vec([1, h, w, cin], noise(h * w * cin, 1));
        let bias = noise(cout, 3);
        let slopes = noise(cout, 4);
        let epilogue = Epilogue::act(Activation::PRelu(&slopes));
        let mut out = Tensor::zeros([1, h, w, cout]);
        group.throughput(Throughput::Elements((2 * 9 * cin * cout * h * w) as u64));
        // Both variants on the main SRVGG shape, the default one elsewhere.
        let variants: &[Variant] = if name == "srvgg_body" {
            &[Variant::F6, Variant::F4]
        } else {
            &[DEFAULT_VARIANT]
        };
        for &variant in variants {
            let weights = match Winograd3x3Weights::with_variant(
                &noise(cout * cin * 9, 2),
                cout,
                cin,
                variant,
            ) {
                Ok(w) => w,
                Err(e) => panic!("weights: {e}"),
            };
            for level in SimdLevel::supported() {
                let id = BenchmarkId::new(
                    format!("{name}_{cin}to{cout}_{h}x{w}"),
                    format!("{variant:?}_{level:?}"),
                );
                group.bench_function(id, |b| {
                    b.iter(|| {
                        conv3x3_into_with(level, &input, &weights, Some(&bias), &epilogue, &mut out)
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
