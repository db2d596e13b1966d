//! Load-robust kernel timings: runs each kernel on a one-thread rayon pool and measures the
//! worker's own on-CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes competing
//! for the cores inflate the numbers much less than wall-clock benchmarks. Prints per-core
//! GFLOP/s (convolutions) or Melem/s.
//!
//! `cargo run --release -p upframe-nn --example cpu_time [filter]`

use std::time::Instant;

use upframe_nn::{ops, Conv2d, ConvTranspose2d, Epilogue, Tensor};

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), exact unlike `/proc/*/schedstat`.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn on_cpu_ns() -> Option<u64> {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.sec as u64 * 1_000_000_000 + ts.nsec as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn on_cpu_ns() -> Option<u64> {
    None
}

fn filled(shape: [usize; 4]) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..len)
            .map(|i| ((i * 7919 % 1000) as f32) / 1000.0 - 0.5)
            .collect(),
    )
}

/// Best of `reps` runs of `f`: (on-CPU seconds, wall seconds).
fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..reps {
        let (c0, t0) = (on_cpu_ns(), Instant::now());
        f();
        let wall = t0.elapsed().as_secs_f64();
        let cpu = match (c0, on_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
            _ => wall,
        };
        best = (best.0.min(cpu), best.1.min(wall));
    }
    best
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one-thread pool");
    pool.install(|| run(&filter));
}

fn report(name: &str, work: f64, unit: &str, (cpu, wall): (f64, f64)) {
    println!(
        "{name:<34} cpu {:8.2} ms  wall {:8.2} ms  {:7.2} {unit}/s per core",
        cpu * 1e3,
        wall * 1e3,
        work / cpu
    );
}

fn run(filter: &str) {
    let convs: &[(&str, [usize; 4], usize, usize, usize)] = &[
        ("conv 64->64 k3s1 270x480 gemm", [1, 270, 480, 64], 64, 3, 1),
        ("conv 3->64 k3s1 270x480", [1, 270, 480, 3], 64, 3, 1),
        ("conv 96->192 k3s2 272x480", [1, 272, 480, 96], 192, 3, 2),
        ("conv 23->96 k3s2 544x960", [1, 544, 960, 23], 96, 3, 2),
        ("conv 64->3 k3s1 540x960", [1, 540, 960, 64], 3, 3, 1),
        ("conv 3->16 k3s2 1088x1920", [1, 1088, 1920, 3], 16, 3, 2),
        ("conv 28->16 k3s2 1088x1920", [1, 1088, 1920, 28], 16, 3, 2),
        ("conv 16->32 k3s2 544x960", [1, 544, 960, 16], 32, 3, 2),
    ];
    for &(name, input, cout, k, s) in convs {
        if !name.contains(filter) {
            continue;
        }
        let cin = input[3];
        let w = filled([cout, cin, k, k]).into_vec();
        let conv = Conv2d::new(&w, [cout, cin, k, k], None, s, k / 2).expect("weights");
        let x = filled(input);
        let mut out = Tensor::zeros(conv.output_shape(input));
        let [_, oh, ow, _] = out.shape();
        let flops = 2.0 * (oh * ow * cout * cin * k * k) as f64;
        let ep = Epilogue::leaky_relu(0.2);
        let t = time(5, || conv.forward_gemm(&x, &ep, &mut out));
        report(name, flops * 1e-9, "GFLOP", t);
        if k == 3 && s == 1 && cin >= 16 {
            // What `forward_into` picks for this shape (the Winograd kernel).
            let t = time(5, || conv.forward_into(&x, &ep, &mut out));
            report(&format!("{name} (dispatch)"), flops * 1e-9, "GFLOP", t);
        }
    }
    for &(name, input, cout) in &[
        ("convT 192->52 17x30", [1, 17, 30, 192], 52),
        ("convT 64->52 136x240", [1, 136, 240, 64], 52),
        ("convT 16->4 544x960", [1, 544, 960, 16], 4),
    ] {
        if !name.contains(filter) {
            continue;
        }
        let cin = input[3];
        let w = filled([cin, cout, 4, 4]).into_vec();
        let conv = ConvTranspose2d::new(&w, [cin, cout, 4, 4], None, 2, 1).expect("weights");
        let x = filled(input);
        let mut out = Tensor::zeros(conv.output_shape(input));
        let flops = 2.0 * (input[1] * input[2] * cin * cout * 16) as f64;
        let t = time(5, || conv.forward_into(&x, &Epilogue::none(), &mut out));
        report(name, flops * 1e-9, "GFLOP", t);
    }
    for c in [3, 7] {
        let name = format!("warp 1088x1920x{c}");
        if !name.contains(filter) {
            continue;
        }
        let img = filled([1, 1088, 1920, c]);
        // A smooth flow field of up to ±40 px, like motion between real frames at this size.
        let flow_data = (0..1088 * 1920)
            .flat_map(|p| {
                let (y, x) = ((p / 1920) as f32, (p % 1920) as f32);
                [40.0 * (y / 50.0 + x / 70.0).sin(), 25.0 * (x / 60.0).cos()]
            })
            .collect();
        let flow = Tensor::from_vec([1, 1088, 1920, 2], flow_data);
        let mut out = Tensor::zeros(img.shape());
        let t = time(5, || ops::warp_into(&img, &flow, 0, &mut out));
        report(&name, 1088.0 * 1920.0 * 1e-6, "Mpx", t);
    }
    if "bilinear up16 68x120x13".contains(filter) {
        let tmp = filled([1, 68, 120, 13]);
        let mut up = Tensor::zeros([1, 1088, 1920, 13]);
        let t = time(5, || ops::resize_bilinear_into(&tmp, Some(16.0), &mut up));
        report("bilinear up16 68x120x13", 1088.0 * 1920.0 * 1e-6, "Mpx", t);
    }
}
