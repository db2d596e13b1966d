//! Property tests: every fast kernel against its plain reference implementation on random
//! shapes, strides, paddings and channel counts.

use proptest::prelude::*;
use upframe_nn::{ops, reference, Activation, Conv2d, ConvTranspose2d, Epilogue, Tensor};

/// Deterministic pseudo-random values in [-1, 1) (splitmix64), so failures reproduce from the
/// proptest seed alone.
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

/// Max |a - b| relative to `tol_per_term · sqrt(terms)` with values of magnitude ~1.
fn assert_close(a: &Tensor, b: &Tensor, tol: f32) {
    assert_eq!(a.shape(), b.shape());
    let mut worst = 0.0f32;
    for (&x, &y) in a.data().iter().zip(b.data()) {
        let d = (x - y).abs() / (1.0 + y.abs());
        worst = worst.max(d);
    }
    assert!(worst <= tol, "max relative diff {worst} > {tol}");
}

fn conv_tol(reduction: usize) -> f32 {
    1e-5 * (reduction as f32).sqrt().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn conv2d_matches_reference(
        seed in any::<u64>(),
        n in 1usize..3, h in 1usize..12, w in 1usize..20,
        cin in 1usize..20, cout in 1usize..34,
        k in prop::sample::select(vec![1usize, 2, 3, 4, 5]),
        stride in 1usize..4, padding in 0usize..3,
        bias in any::<bool>(),
    ) {
        prop_assume!(h + 2 * padding >= k && w + 2 * padding >= k);
        let x = tensor(seed, [n, h, w, cin]);
        let wt = values(seed ^ 1, cout * cin * k * k);
        let b = values(seed ^ 2, cout);
        let shape = [cout, cin, k, k];
        let bias = bias.then_some(&b[..]);
        let conv = Conv2d::new(&wt, shape, bias, stride, padding).unwrap();
        let fast = conv.forward(&x, &Epilogue::none());
        let slow = reference::conv2d_ref(&x, &wt, shape, bias, stride, padding);
        assert_close(&fast, &slow, conv_tol(cin * k * k));
    }

    #[test]
    fn conv_transpose2d_matches_reference(
        seed in any::<u64>(),
        n in 1usize..3, h in 1usize..9, w in 1usize..9,
        cin in 1usize..20, cout in 1usize..20,
        k in 1usize..6, stride in 1usize..4, padding in 0usize..3,
        bias in any::<bool>(),
    ) {
        prop_assume!(padding < k);
        prop_assume!((h - 1) * stride + k > 2 * padding && (w - 1) * stride + k > 2 * padding);
        let x = tensor(seed, [n, h, w, cin]);
        let wt = values(seed ^ 1, cin * cout * k * k);
        let b = values(seed ^ 2, cout);
        let shape = [cin, cout, k, k];
        let bias = bias.then_some(&b[..]);
        let conv = ConvTranspose2d::new(&wt, shape, bias, stride, padding).unwrap();
        let fast = conv.forward(&x, &Epilogue::none());
        let slow = reference::conv_transpose2d_ref(&x, &wt, shape, bias, stride, padding);
        assert_close(&fast, &slow, conv_tol(cin * k * k));
    }

    #[test]
    fn fused_epilogue_matches_reference(
        seed in any::<u64>(),
        h in 1usize..10, w in 1usize..10, cin in 1usize..8, cout in 1usize..12,
        use_scale in any::<bool>(), use_res in any::<bool>(), use_post in any::<bool>(),
        act in 0usize..5, post_scale in -1.0f32..1.0,
    ) {
        let x = tensor(seed, [1, h, w, cin]);
        let wt = values(seed ^ 1, cout * cin * 9);
        let b = values(seed ^ 2, cout);
        let scale = values(seed ^ 3, cout);
        let prelu = values(seed ^ 4, cout);
        let res = tensor(seed ^ 5, [1, h, w, cout]);
        let post = tensor(seed ^ 6, [1, h, w, cout]);
        let activation = match act {
            0 => Activation::None,
            1 => Activation::LeakyRelu(0.2),
            2 => Activation::PRelu(&prelu),
            3 => Activation::Sigmoid,
            _ => Activation::Relu,
        };
        let mut ep = Epilogue::act(activation);
        if use_scale { ep = ep.with_channel_scale(&scale); }
        if use_res { ep = ep.with_residual(&res); }
        if use_post { ep = ep.with_post(post_scale, &post); }
        for stride in [1, 2] {
            let conv = Conv2d::new(&wt, [cout, cin, 3, 3], Some(&b), stride, 1).unwrap();
            let plain = conv.forward(&x, &Epilogue::none());
            if plain.shape() != res.shape() { continue; }
            let fused = conv.forward(&x, &ep);
            let slow = reference::epilogue_ref(
                &plain,
                use_scale.then_some(&scale[..]),
                use_res.then_some(&res),
                &activation,
                use_post.then_some((post_scale, &post)),
            );
            assert_close(&fused, &slow, 1e-6);
        }
    }

    #[test]
    fn pixel_shuffle_matches_nchw_definition(
        seed in any::<u64>(), n in 1usize..3, h in 1usize..6, w in 1usize..6,
        c in 1usize..5, r in 1usize..4,
    ) {
        let x = tensor(seed, [n, h, w, c * r * r]);
        let shuffled = ops::pixel_shuffle(&x, r);
        prop_assert_eq!(&shuffled, &reference::pixel_shuffle_ref(&x, r));
        prop_assert_eq!(ops::pixel_unshuffle(&shuffled, r), x);
    }

    #[test]
    fn resize_bilinear_matches_reference(
        seed in any::<u64>(), h in 1usize..20, w in 1usize..20, c in 1usize..5,
        sf in prop::sample::select(vec![0.0625f64, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 0.3, 1.7]),
    ) {
        let x = tensor(seed, [1, h, w, c]);
        let (oh, ow) = ops::scaled_size(h, w, sf);
        prop_assume!(oh > 0 && ow > 0);
        let fast = ops::resize_bilinear_scale(&x, sf);
        assert_close(&fast, &reference::resize_bilinear_ref(&x, oh, ow, Some(sf)), 1e-5);
        let oh2 = (h * 3).div_ceil(2);
        let fast = ops::resize_bilinear_size(&x, oh2, w + 1);
        assert_close(&fast, &reference::resize_bilinear_ref(&x, oh2, w + 1, None), 1e-5);
    }

    #[test]
    fn warp_matches_reference(
        seed in any::<u64>(), n in 1usize..3, h in 1usize..16, w in 1usize..16, c in 1usize..11,
        mag in 0.0f32..20.0,
    ) {
        let img = tensor(seed, [n, h, w, c]);
        let flow_vals: Vec<f32> = values(seed ^ 9, n * h * w * 2).iter().map(|v| v * mag).collect();
        let flow = Tensor::from_vec([n, h, w, 2], flow_vals);
        let fast = ops::warp(&img, &flow);
        // The fast path goes through RIFE's normalised grid in f32; allow its rounding.
        assert_close(&fast, &reference::warp_ref(&img, &flow), 2e-5 * (1.0 + mag));
    }
}

#[test]
fn zero_flow_warp_is_identity_and_integer_flow_shifts() {
    let img = tensor(7, [1, 9, 13, 3]);
    let zero = Tensor::zeros([1, 9, 13, 2]);
    assert_close(&ops::warp(&img, &zero), &img, 1e-6);
    // Flow (+2, -1): output (y, x) = img(y - 1, x + 2) where inside.
    let mut f = Tensor::zeros([1, 9, 13, 2]);
    for px in f.data_mut().chunks_exact_mut(2) {
        px[0] = 2.0;
        px[1] = -1.0;
    }
    let out = ops::warp(&img, &f);
    let at = |t: &Tensor, y: usize, x: usize, c: usize| t.data()[(y * 13 + x) * 3 + c];
    for y in 1..9 {
        for x in 0..11 {
            for c in 0..3 {
                assert!((at(&out, y, x, c) - at(&img, y - 1, x + 2, c)).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn bilinear_scale_factor_uses_inverse_scale_not_size_ratio() {
    // 10 → floor(10 · 0.3) = 3 outputs. PyTorch's coordinate ratio is 1/0.3 = 3.333…, not
    // 10/3 (identical here) — use 0.35: floor(3.5) = 3 outputs, ratio 2.857 vs 3.333.
    let x = Tensor::from_vec([1, 10, 10, 1], (0..100).map(|v| (v % 10) as f32).collect());
    let out = ops::resize_bilinear_scale(&x, 0.35);
    assert_eq!(out.shape(), [1, 3, 3, 1]);
    // Output 1: src = (1.5 / 0.35) - 0.5 = 3.7857 on a ramp → 3.7857.
    assert!(
        (out.data()[1] - 3.785_714_4).abs() < 1e-5,
        "{:?}",
        out.data()
    );
    let sized = ops::resize_bilinear_size(&x, 3, 3);
    // Size form: ratio 10/3, src = 1.5 · 3.333 - 0.5 = 4.5.
    assert!((sized.data()[1] - 4.5).abs() < 1e-5, "{:?}", sized.data());
}

#[test]
fn pad_modes_match_pytorch_definitions() {
    let x = Tensor::from_vec([1, 1, 4, 1], vec![1.0, 2.0, 3.0, 4.0]);
    let p = |m| ops::pad(&x, [0, 0, 2, 2], m).into_vec();
    assert_eq!(p(ops::PadMode::Zero), [0., 0., 1., 2., 3., 4., 0., 0.]);
    assert_eq!(p(ops::PadMode::Reflect), [3., 2., 1., 2., 3., 4., 3., 2.]);
    assert_eq!(p(ops::PadMode::Replicate), [1., 1., 1., 2., 3., 4., 4., 4.]);
    let padded = ops::pad(
        &tensor(3, [2, 5, 6, 3]),
        [1, 2, 3, 0],
        ops::PadMode::Reflect,
    );
    assert_eq!(ops::crop(&padded, 1, 3, 5, 6), tensor(3, [2, 5, 6, 3]));
}

#[test]
fn concat_and_slice_round_trip() {
    let a = tensor(1, [2, 3, 4, 3]);
    let b = tensor(2, [2, 3, 4, 5]);
    let cat = ops::concat_channels(&[&a, &b]);
    assert_eq!(cat.shape(), [2, 3, 4, 8]);
    assert_eq!(ops::slice_channels(&cat, 0..3), a);
    assert_eq!(ops::slice_channels(&cat, 3..8), b);
}

#[test]
fn bad_weight_shapes_are_errors_not_panics() {
    assert!(Conv2d::new(&[0.0; 10], [2, 1, 3, 3], None, 1, 1).is_err());
    assert!(Conv2d::new(&[0.0; 18], [2, 1, 3, 3], Some(&[0.0; 3]), 1, 1).is_err());
    assert!(Conv2d::new(&[], [0, 1, 3, 3], None, 1, 1).is_err());
    assert!(Conv2d::new(&[0.0; 18], [2, 1, 3, 3], None, 0, 1).is_err());
    assert!(ConvTranspose2d::new(&[0.0; 10], [1, 2, 4, 4], None, 2, 1).is_err());
    assert!(ConvTranspose2d::new(&[0.0; 32], [1, 2, 4, 4], None, 2, 4).is_err());
}

#[test]
fn elementwise_ops_match_their_formulas_small_and_parallel() {
    // 3·5·7 is below the parallel threshold, 1·130·131·7 above it (and not a chunk multiple).
    for shape in [[1, 3, 5, 7], [1, 130, 131, 7]] {
        let a = tensor(11, shape);
        let b = tensor(12, shape);
        let m1 = tensor(13, [shape[0], shape[1], shape[2], 1]);
        let len = a.len();
        let (ad, bd) = (a.data(), b.data());
        let check = |t: &Tensor, f: &dyn Fn(usize) -> f32| {
            assert_eq!(t.shape(), shape);
            for i in 0..len {
                assert_eq!(t.data()[i], f(i), "element {i}");
            }
        };
        check(&ops::add(&a, &b), &|i| ad[i] + bd[i]);
        check(&ops::mul(&a, &b), &|i| ad[i] * bd[i]);
        check(&ops::scale(&a, 0.3), &|i| ad[i] * 0.3);
        let mut t = a.clone();
        ops::scale_add_inplace(&mut t, 0.2, &b);
        check(&t, &|i| ad[i] * 0.2 + bd[i]);
        let mut t = a.clone();
        ops::add_inplace(&mut t, &b);
        check(&t, &|i| ad[i] + bd[i]);
        let mut t = a.clone();
        ops::mul_inplace(&mut t, &b);
        check(&t, &|i| ad[i] * bd[i]);
        let c = shape[3];
        check(&ops::blend(&a, &b, &m1), &|i| {
            let m = m1.data()[i / c];
            ad[i] * m + bd[i] * (1.0 - m)
        });
        check(&ops::blend(&a, &b, &b), &|i| {
            ad[i] * bd[i] + bd[i] * (1.0 - bd[i])
        });
        let slopes: Vec<f32> = (0..c).map(|ch| ch as f32 / 10.0).collect();
        check(&ops::prelu(&a, &slopes), &|i| {
            if ad[i] >= 0.0 {
                ad[i]
            } else {
                ad[i] * slopes[i % c]
            }
        });
        let sliced = ops::slice_channels(&a, 2..5);
        for (p, px) in sliced.data().chunks_exact(3).enumerate() {
            assert_eq!(px, &ad[p * c + 2..p * c + 5]);
        }
    }
}
