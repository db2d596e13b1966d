//! Property tests: every bf16 convolution kernel this machine can run (AMX, AVX-512 BF16, the
//! portable emulation) against the plain bf16 reference (operands rounded to bf16, products
//! summed in `f64`) on random shapes, paddings and channel counts; `Conv2d` switched to bf16 and
//! back; and the AMX kernel's presence where the CPU advertises AMX.

use proptest::prelude::*;
use upframe_nn::bf16conv::{self, Bf16ConvWeights, Bf16Kernel, Bf16Tensor};
use upframe_nn::{reference, Activation, Conv2d, Epilogue, Precision, Tensor};

/// Deterministic pseudo-random values in [-1, 1) (splitmix64).
fn values(seed: u64, len: usize) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn tensor(seed: u64, shape: [usize; 4]) -> Tensor {
    Tensor::from_vec(shape, values(seed, shape.iter().product()))
}

/// Both sides multiply identical bf16 operands (exact products), so they differ only by the
/// order of `f32` accumulation: the fp32 kernels' tolerance applies.
fn assert_close(a: &Tensor, b: &Tensor, reduction: usize, what: &str) {
    assert_eq!(a.shape(), b.shape());
    let tol = 1e-5 * (reduction as f32).sqrt().max(1.0);
    let mut worst = 0.0f32;
    for (&x, &y) in a.data().iter().zip(b.data()) {
        worst = worst.max((x - y).abs() / (1.0 + y.abs()));
    }
    assert!(worst <= tol, "{what}: max relative diff {worst} > {tol}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_bf16_kernel_matches_reference(
        seed in any::<u64>(),
        n in 1usize..3, h in 1usize..9, w in 1usize..120,
        cin in 16usize..72, cout in 1usize..72,
        k in prop::sample::select(vec![1usize, 2, 3, 5]),
        padding in 0usize..3,
        bias in any::<bool>(),
    ) {
        prop_assume!(h + 2 * padding >= k && w + 2 * padding >= k);
        let x = tensor(seed, [n, h, w, cin]);
        let wt = values(seed ^ 1, cout * cin * k * k);
        let b = values(seed ^ 2, cout);
        let shape = [cout, cin, k, k];
        let bias = bias.then_some(&b[..]);
        let slow = reference::conv2d_bf16_ref(&x, &wt, shape, bias, 1, padding);
        let packed = Bf16ConvWeights::new(&wt, shape).unwrap();
        for kernel in Bf16Kernel::supported() {
            let mut fast = Tensor::zeros(slow.shape());
            bf16conv::conv_into(kernel, &x, &packed, padding, bias, &Epilogue::none(), &mut fast);
            assert_close(&fast, &slow, cin * k * k, &format!("{kernel:?}"));
        }
    }

    #[test]
    fn bf16_conv2d_with_epilogue_matches_reference(
        seed in any::<u64>(),
        h in 1usize..12, w in 1usize..40, cin in 16usize..40, cout in 1usize..40,
        act in 0usize..4, use_res in any::<bool>(), use_post in any::<bool>(),
    ) {
        let x = tensor(seed, [1, h, w, cin]);
        let wt = values(seed ^ 1, cout * cin * 9);
        let b = values(seed ^ 2, cout);
        let prelu = values(seed ^ 3, cout);
        let res = tensor(seed ^ 4, [1, h, w, cout]);
        let post = tensor(seed ^ 5, [1, h, w, cout]);
        let activation = match act {
            0 => Activation::None,
            1 => Activation::LeakyRelu(0.2),
            2 => Activation::PRelu(&prelu),
            _ => Activation::Sigmoid,
        };
        let mut ep = Epilogue::act(activation);
        if use_res { ep = ep.with_residual(&res); }
        if use_post { ep = ep.with_post(0.2, &post); }
        let conv = Conv2d::new(&wt, [cout, cin, 3, 3], Some(&b), 1, 1)
            .unwrap()
            .with_precision(Precision::Bf16);
        prop_assert!(conv.runs_bf16());
        let fast = conv.forward(&x, &ep);
        let plain = reference::conv2d_bf16_ref(&x, &wt, [cout, cin, 3, 3], Some(&b), 1, 1);
        let slow = reference::epilogue_ref(
            &plain,
            None,
            use_res.then_some(&res),
            &activation,
            use_post.then_some((0.2, &post)),
        );
        assert_close(&fast, &slow, cin * 9, "Conv2d bf16");
    }
}

/// Channels `c0 .. c0 + c` of `t`.
fn channels(t: &Tensor, c0: usize, c: usize) -> Tensor {
    let [n, h, w, ct] = t.shape();
    let data = t
        .data()
        .chunks_exact(ct)
        .flat_map(|px| px[c0..c0 + c].iter().copied())
        .collect();
    Tensor::from_vec([n, h, w, c], data)
}

/// `a` (rounded to bf16 when stored) against the exact `b`: one bf16 rounding (2⁻⁸ relative)
/// on top of the accumulation-order tolerance.
fn assert_close_rounded(a: &Tensor, b: &Tensor, reduction: usize, what: &str) {
    assert_eq!(a.shape(), b.shape());
    let tol = 1e-5 * (reduction as f32).sqrt().max(1.0);
    for (&x, &y) in a.data().iter().zip(b.data()) {
        let d = (x - y).abs();
        assert!(
            d <= y.abs() / 256.0 + tol * (1.0 + y.abs()),
            "{what}: {x} vs {y}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// bf16 activations read in place: to `f32`, to another bf16 tensor, and a dense-block step
    /// writing channels of its own input buffer.
    #[test]
    fn bf16_tensor_paths_match_reference(
        seed in any::<u64>(),
        n in 1usize..3, h in 1usize..8, w in 1usize..110,
        cin_blocks in 1usize..4, extra in 0usize..20, cout in 1usize..50,
        k in prop::sample::select(vec![1usize, 3]),
    ) {
        let pad = k / 2;
        let cin = 32 * cin_blocks;
        let x = tensor(seed, [n, h, w, cin + extra]);
        let wt = values(seed ^ 1, cout * cin * k * k);
        let b = values(seed ^ 2, cout);
        let shape = [cout, cin, k, k];
        let packed = Bf16ConvWeights::new(&wt, shape).unwrap();
        let mut xb = Bf16Tensor::zeros([n, h, w, cin + extra], pad);
        xb.write_channels(&x, 0);
        let rounded = xb.to_tensor();
        let slow = reference::conv2d_bf16_ref(&channels(&rounded, 0, cin), &wt, shape, Some(&b), 1, pad);
        let ep = Epilogue::leaky_relu(0.2);
        let slow_act = reference::epilogue_ref(&slow, None, None, &Activation::LeakyRelu(0.2), None);
        for kernel in Bf16Kernel::supported() {
            let what = format!("{kernel:?}");
            let mut out = Tensor::zeros([n, h, w, cout]);
            bf16conv::conv_from_bf16(kernel, &xb, &packed, Some(&b), &ep, &mut out);
            assert_close(&out, &slow_act, cin * k * k, &what);

            let mut dst = Bf16Tensor::zeros([n, h, w, cout + 3], pad);
            bf16conv::conv_bf16_to_bf16(kernel, &xb, &packed, Some(&b), &ep, &mut dst, 3);
            assert_close_rounded(&channels(&dst.to_tensor(), 3, cout), &slow_act, cin * k * k, &what);

            let mut buf = Bf16Tensor::zeros([n, h, w, cin + cout], pad);
            buf.write_channels(&channels(&x, 0, cin), 0);
            bf16conv::conv_bf16_in_place(kernel, &mut buf, &packed, Some(&b), &ep, cin);
            let all = buf.to_tensor();
            prop_assert_eq!(channels(&all, 0, cin), channels(&rounded, 0, cin));
            assert_close_rounded(&channels(&all, cin, cout), &slow_act, cin * k * k, &what);
        }
    }
}

#[test]
fn switching_back_to_fp32_is_bit_identical_and_small_layers_stay_fp32() {
    let x = tensor(7, [1, 13, 17, 32]);
    let wt = values(8, 24 * 32 * 9);
    let b = values(9, 24);
    let fp32 = Conv2d::new(&wt, [24, 32, 3, 3], Some(&b), 1, 1).unwrap();
    let mut conv = fp32.clone().with_precision(Precision::Bf16);
    assert!(conv.runs_bf16());
    let bf16 = conv.forward(&x, &Epilogue::none());
    conv.set_precision(Precision::Fp32);
    assert!(!conv.runs_bf16());
    assert_eq!(
        conv.forward(&x, &Epilogue::none()),
        fp32.forward(&x, &Epilogue::none())
    );
    assert_ne!(
        bf16,
        fp32.forward(&x, &Epilogue::none()),
        "bf16 rounding changed nothing"
    );

    // Three input channels (first layers) and stride 2 are not covered: they stay fp32.
    let first = Conv2d::new(&values(1, 64 * 27), [64, 3, 3, 3], None, 1, 1)
        .unwrap()
        .with_precision(Precision::Bf16);
    assert!(!first.runs_bf16());
    let strided = Conv2d::new(&values(2, 32 * 32 * 9), [32, 32, 3, 3], None, 2, 1)
        .unwrap()
        .with_precision(Precision::Bf16);
    assert!(!strided.runs_bf16());
}

/// Whether /proc/cpuinfo lists the AMX flags the kernel needs.
fn cpu_advertises_amx() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.contains(" amx_bf16") && s.contains(" amx_tile") && s.contains(" avx512_bf16"))
        .unwrap_or(false)
}

#[test]
fn amx_kernel_runs_where_the_cpu_has_amx() {
    let cap = upframe_nn::bf16_support();
    if !Bf16Kernel::Amx.is_supported() {
        assert!(
            !(std::env::var_os("CI").is_some() && cpu_advertises_amx()),
            "CI's CPU advertises AMX but the AMX kernel is unusable: {}",
            cap.reason
        );
        eprintln!("skipping the AMX check: {}", cap.reason);
        return;
    }
    // A 64→64 layer at a size with full and partial pixel blocks, against the reference.
    let (cin, cout) = (64, 64);
    let x = tensor(3, [1, 5, 131, cin]);
    let wt = values(4, cout * cin * 9);
    let packed = Bf16ConvWeights::new(&wt, [cout, cin, 3, 3]).unwrap();
    let mut fast = Tensor::zeros([1, 5, 131, cout]);
    bf16conv::conv_into(
        Bf16Kernel::Amx,
        &x,
        &packed,
        1,
        None,
        &Epilogue::none(),
        &mut fast,
    );
    let slow = reference::conv2d_bf16_ref(&x, &wt, [cout, cin, 3, 3], None, 1, 1);
    assert_close(&fast, &slow, cin * 9, "AMX");
}
