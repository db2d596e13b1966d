//! CPU time (summed over this process's threads, from /proc/self/task/*/schedstat) per call of
//! the fp32 Winograd and bf16 convolution kernels: unlike wall time, it hardly changes when
//! other processes load the machine.
//!
//! `cargo run --release -p upframe-nn --example conv_cputime [-- h w cin cout iters]`

use upframe_nn::bf16conv::{self, Bf16ConvWeights, Bf16Kernel};
use upframe_nn::winograd::{conv3x3_into_with, SimdLevel, Winograd3x3Weights};
use upframe_nn::{Activation, Epilogue, Tensor};

fn cpu_ns() -> u64 {
    let mut total = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for t in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                total += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

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

fn time(iters: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (c0, t0) = (cpu_ns(), std::time::Instant::now());
    for _ in 0..iters {
        f();
    }
    let cpu = (cpu_ns() - c0) as f64 / 1e6 / iters as f64;
    (cpu, t0.elapsed().as_secs_f64() * 1e3 / iters as f64)
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let (h, w, cin, cout, iters) = match a[..] {
        [h, w, cin, cout, it] => (h, w, cin, cout, it),
        _ => (270, 480, 64, 64, 10),
    };
    let input = Tensor::from_vec([1, h, w, cin], noise(h * w * cin, 1));
    let wt = noise(cout * cin * 9, 2);
    let bias = noise(cout, 3);
    let slopes = noise(cout, 4);
    let ep = Epilogue::act(Activation::PRelu(&slopes));
    let mut out = Tensor::zeros([1, h, w, cout]);
    let gflop = (2 * 9 * cin * cout * h * w) as f64 / 1e9;
    // `CONV_ONLY=Amx` (a kernel's name) times that kernel only.
    let only = std::env::var("CONV_ONLY").ok();
    let wino = Winograd3x3Weights::new(&wt, cout, cin).unwrap();
    let level = SimdLevel::detect();
    if only.is_none() {
        let (cpu, wall) = time(iters, || {
            conv3x3_into_with(level, &input, &wino, Some(&bias), &ep, &mut out)
        });
        println!("{h}x{w} {cin}->{cout} fp32 winograd {level:?}: cpu {cpu:.2} ms/call (wall {wall:.2}), {:.0} GFLOP/s per cpu-s", gflop / cpu * 1e3);
    }
    let packed = Bf16ConvWeights::new(&wt, [cout, cin, 3, 3]).unwrap();
    for k in Bf16Kernel::supported() {
        if (k == Bf16Kernel::Emulated && h * w > 300 * 300)
            || only.as_ref().is_some_and(|o| *o != format!("{k:?}"))
        {
            continue;
        }
        let (cpu, wall) = time(iters, || {
            bf16conv::conv_into(k, &input, &packed, 1, Some(&bias), &ep, &mut out)
        });
        println!("{h}x{w} {cin}->{cout} bf16 {k:?}: cpu {cpu:.2} ms/call (wall {wall:.2}), {:.0} GFLOP/s per cpu-s", gflop / cpu * 1e3);
    }
}
