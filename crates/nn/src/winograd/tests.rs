//! Tests: Winograd kernel (every supported SIMD level) against the direct f64 reference.

use super::reference::conv3x3_direct;
use super::*;
use proptest::prelude::*;

/// Deterministic pseudo-random values in [-1, 1) (xorshift; tests need no extra dependency).
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

/// Max |a - b| relative to max(1, max |b|).
fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.data().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.data()
        .iter()
        .zip(b.data())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

struct Case {
    input: Tensor,
    weight: Vec<f32>,
    bias: Vec<f32>,
    cout: usize,
}

fn case(n: usize, h: usize, w: usize, cin: usize, cout: usize, seed: u64) -> Case {
    // Weights scaled like a trained/Kaiming-initialised layer so outputs stay O(1).
    let std = (2.0 / (9.0 * cin as f32)).sqrt();
    Case {
        input: Tensor::from_vec([n, h, w, cin], noise(n * h * w * cin, seed)),
        weight: noise(cout * cin * 9, seed + 1)
            .into_iter()
            .map(|v| v * std * 1.7)
            .collect(),
        bias: noise(cout, seed + 2),
        cout,
    }
}

const VARIANTS: [Variant; 2] = [Variant::F4, Variant::F6];

/// Relative tolerance vs the f64 reference on O(1) data (F(6,3)'s larger transform constants
/// cost about one more decimal digit).
fn tolerance(variant: Variant) -> f32 {
    match variant {
        Variant::F4 => 2e-5,
        Variant::F6 => 2e-4,
    }
}

fn run_fast(level: SimdLevel, variant: Variant, c: &Case, epi: &Epilogue) -> Tensor {
    let wts = Winograd3x3Weights::with_variant(&c.weight, c.cout, c.input.c(), variant).unwrap();
    let [n, h, w, _] = c.input.shape();
    let mut out = Tensor::from_vec([n, h, w, c.cout], vec![f32::NAN; n * h * w * c.cout]);
    conv3x3_into_with(level, &c.input, &wts, Some(&c.bias), epi, &mut out);
    out
}

/// Aᵀ[(G g) ⊙ (Bᵀ d)] must equal the correlation of `d` with `g`, for each variant's matrices
/// (the kernel's hand-factored transforms are checked against these by the other tests).
fn check_identity(g_mat: &[[f64; 3]], bt: &[&[f64]], at: &[&[f64]]) {
    let n = bt.len();
    let d: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let g = [0.3f64, -1.1, 0.7];
    let m: Vec<f64> = (0..n)
        .map(|i| {
            let u: f64 = (0..3).map(|k| g_mat[i][k] * g[k]).sum();
            let v: f64 = (0..n).map(|k| bt[i][k] * d[k]).sum();
            u * v
        })
        .collect();
    for (o, row) in at.iter().enumerate() {
        let y: f64 = (0..n).map(|k| row[k] * m[k]).sum();
        let expect: f64 = (0..3).map(|k| d[o + k] * g[k]).sum();
        assert!(
            (y - expect).abs() < 1e-12,
            "n={n} output {o}: {y} vs {expect}"
        );
    }
}

#[test]
fn one_dimensional_identity() {
    check_identity(
        &G4,
        &[
            &[4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
            &[0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
            &[0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
            &[0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
            &[0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
            &[0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
        ],
        &[
            &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
            &[0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
            &[0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
            &[0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
        ],
    );
    check_identity(
        &G6,
        &[
            &[1.0, 0.0, -5.25, 0.0, 5.25, 0.0, -1.0, 0.0],
            &[0.0, 1.0, 1.0, -4.25, -4.25, 1.0, 1.0, 0.0],
            &[0.0, -1.0, 1.0, 4.25, -4.25, -1.0, 1.0, 0.0],
            &[0.0, 0.5, 0.25, -2.5, -1.25, 2.0, 1.0, 0.0],
            &[0.0, -0.5, 0.25, 2.5, -1.25, -2.0, 1.0, 0.0],
            &[0.0, 2.0, 4.0, -2.5, -5.0, 0.5, 1.0, 0.0],
            &[0.0, -2.0, 4.0, 2.5, -5.0, -0.5, 1.0, 0.0],
            &[0.0, -1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0],
        ],
        &[
            &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
            &[0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0],
            &[0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0],
            &[0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 0.0],
            &[0.0, 1.0, 1.0, 16.0, 16.0, 0.0625, 0.0625, 0.0],
            &[0.0, 1.0, -1.0, 32.0, -32.0, 0.03125, -0.03125, 1.0],
        ],
    );
}

#[test]
fn weight_length_is_checked() {
    assert!(matches!(
        Winograd3x3Weights::new(&[0.0; 10], 2, 1),
        Err(NnError::Length { .. })
    ));
    assert!(Winograd3x3Weights::new(&[], 0, 4).is_err());
}

#[test]
fn matches_reference_on_layer_shapes() {
    // SRVGG body, SRVGG tail, RRDB dense layer, RIFE-like, odd everything.
    let shapes = [
        (1, 27, 48, 64, 64),
        (1, 13, 17, 64, 48),
        (1, 9, 11, 96, 32),
        (2, 7, 9, 192, 16),
        (1, 5, 6, 3, 64),
        (1, 1, 1, 70, 70),
    ];
    for (i, &(n, h, w, cin, cout)) in shapes.iter().enumerate() {
        let c = case(n, h, w, cin, cout, 10 + i as u64);
        let reference = conv3x3_direct(&c.input, &c.weight, cout, Some(&c.bias), &Epilogue::none());
        for level in SimdLevel::supported() {
            for variant in VARIANTS {
                let fast = run_fast(level, variant, &c, &Epilogue::none());
                let d = max_rel_diff(&fast, &reference);
                println!(
                    "{level:?} {variant:?} {:?}->{cout}: rel diff {d:e}",
                    c.input.shape()
                );
                assert!(
                    d < tolerance(variant),
                    "{level:?} {variant:?} {:?}->{cout}: rel diff {d}",
                    c.input.shape()
                );
            }
        }
    }
}

#[test]
fn fused_epilogues_match_reference() {
    let c = case(1, 10, 14, 32, 40, 77);
    let slopes = noise(40, 5);
    let scale = noise(40, 6);
    let residual = Tensor::from_vec([1, 10, 14, 40], noise(10 * 14 * 40, 7));
    let post = Tensor::from_vec([1, 10, 14, 40], noise(10 * 14 * 40, 8));
    let shared = [0.25f32];
    let epilogues = [
        Epilogue::act(Activation::PRelu(&slopes)),
        Epilogue::act(Activation::PRelu(&shared)),
        Epilogue::act(Activation::Relu),
        Epilogue::leaky_relu(0.2),
        Epilogue::act(Activation::Sigmoid),
        Epilogue::leaky_relu(0.1)
            .with_channel_scale(&scale)
            .with_residual(&residual),
        Epilogue::none().with_post(0.2, &post),
    ];
    for (i, epi) in epilogues.iter().enumerate() {
        let reference = conv3x3_direct(&c.input, &c.weight, c.cout, Some(&c.bias), epi);
        for level in SimdLevel::supported() {
            for variant in VARIANTS {
                let fast = run_fast(level, variant, &c, epi);
                let d = max_rel_diff(&fast, &reference);
                assert!(
                    d < tolerance(variant),
                    "{level:?} {variant:?} epilogue #{i}: rel diff {d}"
                );
            }
        }
    }
}

#[test]
fn without_bias() {
    let c = case(1, 6, 7, 16, 16, 3);
    let wts = Winograd3x3Weights::new(&c.weight, 16, 16).unwrap();
    let fast = conv3x3(&c.input, &wts, None, &Epilogue::none());
    let reference = conv3x3_direct(&c.input, &c.weight, 16, None, &Epilogue::none());
    assert!(max_rel_diff(&fast, &reference) < 2e-5);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_shapes_match_reference(
        n in 1usize..3, h in 1usize..40, w in 1usize..40,
        cin in 1usize..70, cout in 1usize..70, seed in 0u64..1000, kind in 0usize..3,
    ) {
        let c = case(n, h, w, cin, cout, seed);
        let slopes = noise(cout, seed + 9);
        let scale = noise(cout, seed + 10);
        let other = Tensor::from_vec([n, h, w, cout], noise(n * h * w * cout, seed + 11));
        // SRVGG's PReLU, RIFE's ResConv, Real-ESRGAN's RDB tail.
        let epi = match kind {
            0 => Epilogue::act(Activation::PRelu(&slopes)),
            1 => Epilogue::leaky_relu(0.2).with_channel_scale(&scale).with_residual(&other),
            _ => Epilogue::none().with_post(0.2, &other),
        };
        let reference = conv3x3_direct(&c.input, &c.weight, cout, Some(&c.bias), &epi);
        for level in SimdLevel::supported() {
            for variant in VARIANTS {
                let fast = run_fast(level, variant, &c, &epi);
                let d = max_rel_diff(&fast, &reference);
                prop_assert!(
                    d < 1.5 * tolerance(variant),
                    "{:?} {:?} {:?}->{}: rel diff {}", level, variant, c.input.shape(), cout, d
                );
            }
        }
    }
}

/// This thread's CPU time in ns: robust to other processes competing for the cores, which
/// wall-clock time on this shared machine is not.
fn thread_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: plain libc call with a valid out pointer.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

/// Tuning aid, not a check: single-thread CPU ms per call for block sizes and levels.
/// `WINO_TUNE="h,w,cin,cout" WINO_BLOCKS=24,48 cargo test -p upframe-nn --release --lib tune -- --ignored --nocapture`
#[test]
#[ignore]
fn tune_block_tiles() {
    let spec = std::env::var("WINO_TUNE").unwrap_or_else(|_| "270,480,64,64".into());
    let v: Vec<usize> = spec
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let (h, w, cin, cout) = (v[0], v[1], v[2], v[3]);
    let c = case(1, h, w, cin, cout, 1);
    let variant = match std::env::var("WINO_VARIANT").as_deref() {
        Ok("F4") => Variant::F4,
        Ok("F6") => Variant::F6,
        _ => DEFAULT_VARIANT,
    };
    let wts = Winograd3x3Weights::with_variant(&c.weight, cout, cin, variant).unwrap();
    let slopes = noise(cout, 4);
    let residual = Tensor::from_vec([1, h, w, cout], noise(h * w * cout, 6));
    let scale = noise(cout, 7);
    // WINO_EPI=res: RIFE ResConv's `lrelu(conv * beta + x)` instead of SRVGG's PReLU.
    let epi = if std::env::var("WINO_EPI").as_deref() == Ok("res") {
        Epilogue::leaky_relu(0.2)
            .with_channel_scale(&scale)
            .with_residual(&residual)
    } else {
        Epilogue::act(Activation::PRelu(&slopes))
    };
    let mut out = Tensor::zeros([1, h, w, cout]);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let flops = (2 * 9 * cin * cout * h * w) as f64;
    let blocks: Vec<Option<usize>> = match std::env::var("WINO_BLOCKS") {
        Ok(b) => b.split(',').map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![None],
    };
    if std::env::var("WINO_GEMM").is_ok() {
        // The general im2col + GEMM path on the same shape, for the `is_profitable` decision.
        let conv = crate::Conv2d::new(&c.weight, [cout, cin, 3, 3], Some(&c.bias), 1, 1).unwrap();
        let ms = pool.install(|| {
            let mut best = u64::MAX;
            for _ in 0..5 {
                let t0 = thread_cpu_ns();
                conv.forward_gemm(&c.input, &epi, &mut out);
                best = best.min(thread_cpu_ns() - t0);
            }
            best as f64 / 1e6
        });
        println!(
            "im2col+GEMM: {ms:.2} ms single-thread CPU, {:.1} GFLOP/s",
            flops / ms / 1e6
        );
    }
    let only = std::env::var("WINO_LEVEL").ok();
    let reps: usize = std::env::var("WINO_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    for level in SimdLevel::supported() {
        if only.as_ref().is_some_and(|l| *l != format!("{level:?}")) {
            continue;
        }
        for &bt in &blocks {
            let ms = pool.install(|| {
                let mut best = u64::MAX;
                for _ in 0..reps {
                    let t0 = thread_cpu_ns();
                    conv3x3_impl(level, &c.input, &wts, Some(&c.bias), &epi, &mut out, bt);
                    best = best.min(thread_cpu_ns() - t0);
                }
                best as f64 / 1e6
            });
            println!(
                "{level:?} block_tiles {bt:?}: {ms:.2} ms single-thread CPU, {:.1} GFLOP/s effective",
                flops / ms / 1e6
            );
        }
    }
}

/// Reads a raw little-endian `f32` file.
fn read_f32(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// SRVGGNetCompact (realesr-animevideov3) forward with every conv through `conv`, NHWC.
fn srvgg_forward(
    dir: &std::path::Path,
    input_nhwc: &Tensor,
    mut conv: impl FnMut(&Tensor, &[f32], usize, &[f32], &Epilogue) -> Tensor,
) -> Tensor {
    let [_, h, w, _] = input_nhwc.shape();
    let mut x = input_nhwc.clone();
    for layer in 0..18 {
        let wt = read_f32(&dir.join(format!("conv{layer}_w.bin")));
        let b = read_f32(&dir.join(format!("conv{layer}_b.bin")));
        let cout = b.len();
        x = if layer < 17 {
            let slopes = read_f32(&dir.join(format!("conv{layer}_prelu.bin")));
            conv(
                &x,
                &wt,
                cout,
                &b,
                &Epilogue::act(Activation::PRelu(&slopes)),
            )
        } else {
            conv(&x, &wt, cout, &b, &Epilogue::none())
        };
    }
    // pixel_shuffle(4) + nearest ×4 upsampled input.
    let mut out = Tensor::zeros([1, 4 * h, 4 * w, 3]);
    let (src, inp) = (x.data(), input_nhwc.data());
    let o = out.data_mut();
    for y in 0..4 * h {
        for xo in 0..4 * w {
            for c in 0..3 {
                let (sy, sx) = (y / 4, xo / 4);
                let sc = c * 16 + (y % 4) * 4 + (xo % 4);
                o[(y * 4 * w + xo) * 3 + c] =
                    src[(sy * w + sx) * 48 + sc] + inp[(sy * w + sx) * 3 + c];
            }
        }
    }
    out
}

/// Measurement, not a CI check (needs weights exported from the .pth, which this crate cannot
/// read): the whole SRVGG network with every conv through Winograd vs the official PyTorch output.
/// `WINO_SRVGG_DIR=/dir cargo test -p upframe-nn --release --lib srvgg -- --ignored --nocapture`,
/// with `/dir` holding `conv{0..17}_{w,b,prelu}.bin` (raw f32, OIHW) and `golden_{input,output}.bin`
/// from `goldens/realesr-animevideov3_48x64.safetensors`.
#[test]
#[ignore]
fn srvgg_real_weights_parity() {
    let Ok(dir) = std::env::var("WINO_SRVGG_DIR") else {
        println!("WINO_SRVGG_DIR not set; skipping");
        return;
    };
    let dir = std::path::Path::new(&dir);
    let (h, w) = (48, 64);
    let input = Tensor::from_nchw([1, 3, h, w], &read_f32(&dir.join("golden_input.bin")));
    let golden = Tensor::from_nchw(
        [1, 3, 4 * h, 4 * w],
        &read_f32(&dir.join("golden_output.bin")),
    );
    let max_abs = |a: &Tensor, b: &Tensor| {
        a.data()
            .iter()
            .zip(b.data())
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
    };
    let direct = srvgg_forward(dir, &input, |x, wt, cout, b, epi| {
        conv3x3_direct(x, wt, cout, Some(b), epi)
    });
    println!(
        "direct f64 reference vs PyTorch: max |Δ| = {:e}",
        max_abs(&direct, &golden)
    );
    for (level, variant) in SimdLevel::supported()
        .into_iter()
        .flat_map(|l| VARIANTS.map(|v| (l, v)))
    {
        let fast = srvgg_forward(dir, &input, |x, wt, cout, b, epi| {
            let wts = Winograd3x3Weights::with_variant(wt, cout, x.c(), variant).unwrap();
            let [n, hh, ww, _] = x.shape();
            let mut out = Tensor::zeros([n, hh, ww, cout]);
            conv3x3_into_with(level, x, &wts, Some(b), epi, &mut out);
            out
        });
        println!(
            "{level:?} {variant:?} Winograd vs PyTorch: max |Δ| = {:e}; vs f64 direct: {:e}",
            max_abs(&fast, &golden),
            max_abs(&fast, &direct)
        );
        assert!(max_abs(&fast, &golden) < 1e-3);
    }

    // Timing of the 18 convs at 270×480 (the target shape), weights packed once.
    let (h, w) = (270, 480);
    let frame = Tensor::from_vec(
        [1, h, w, 3],
        noise(h * w * 3, 5).iter().map(|v| v * 0.5 + 0.5).collect(),
    );
    let mut layers = Vec::new();
    for layer in 0..18 {
        let wt = read_f32(&dir.join(format!("conv{layer}_w.bin")));
        let b = read_f32(&dir.join(format!("conv{layer}_b.bin")));
        let cin = wt.len() / 9 / b.len();
        let slopes = if layer < 17 {
            read_f32(&dir.join(format!("conv{layer}_prelu.bin")))
        } else {
            Vec::new()
        };
        let variant = match std::env::var("WINO_VARIANT").as_deref() {
            Ok("F4") => Variant::F4,
            Ok("F6") => Variant::F6,
            _ => DEFAULT_VARIANT,
        };
        let wts = Winograd3x3Weights::with_variant(&wt, b.len(), cin, variant).unwrap();
        let out = Tensor::zeros([1, h, w, b.len()]);
        layers.push((wts, b, slopes, out));
    }
    for rep in 0..5 {
        let (t0, c0) = (std::time::Instant::now(), process_cpu_ns());
        let mut x = &frame;
        for (wts, b, slopes, out) in layers.iter_mut() {
            let epi = if slopes.is_empty() {
                Epilogue::none()
            } else {
                Epilogue::act(Activation::PRelu(slopes))
            };
            conv3x3_into(x, wts, Some(b), &epi, out);
            x = &*out;
        }
        println!(
            "rep {rep}: 18 convs at 270x480: {:.1} ms wall, {:.1} ms process CPU ({} threads)",
            t0.elapsed().as_secs_f64() * 1e3,
            (process_cpu_ns() - c0) as f64 / 1e6,
            rayon::current_num_threads()
        );
    }
}

/// This process's CPU time in ns (all threads).
fn process_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: plain libc call with a valid out pointer.
    unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}
