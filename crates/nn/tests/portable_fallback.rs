//! The portable fallback for few-output-channel convolutions (GEMM into a column-major buffer),
//! which machines without AVX-512 run, checked against the reference implementation. Its own
//! test binary, because the switch that forces the fallback is process-wide.

use upframe_nn::{reference, Conv2d, ConvTranspose2d, Epilogue, Tensor};

fn ramp(shape: [usize; 4], salt: usize) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..len)
            .map(|i| (((i * 31 + salt * 7) % 23) as f32 - 11.0) / 13.0)
            .collect(),
    )
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f32::max)
}

#[test]
fn narrow_convolutions_without_simd_kernel_match_reference() {
    upframe_nn::disable_narrow_simd_kernels_for_testing(true);
    for (cin, cout, k, s, p) in [
        (64, 3, 3, 1, 1),
        (7, 1, 3, 2, 1),
        (16, 8, 1, 1, 0),
        (28, 16, 3, 2, 1),
        (3, 32, 3, 1, 1),
        (5, 4, 5, 1, 2),
    ] {
        let x = ramp([2, 11, 13, cin], 1);
        let w = ramp([cout, cin, k, k], 2).into_vec();
        let b = ramp([1, 1, 1, cout], 3).into_vec();
        let conv = Conv2d::new(&w, [cout, cin, k, k], Some(&b), s, p).unwrap();
        let got = conv.forward(&x, &Epilogue::none());
        let want = reference::conv2d_ref(&x, &w, [cout, cin, k, k], Some(&b), s, p);
        let d = max_rel_diff(&got, &want);
        assert!(
            d < 1e-5 * ((cin * k * k) as f32).sqrt(),
            "conv {cin}->{cout} k{k}: {d}"
        );
    }
    for (cin, cout) in [(16, 4), (3, 1)] {
        let x = ramp([1, 9, 10, cin], 4);
        let w = ramp([cin, cout, 4, 4], 5).into_vec();
        let conv = ConvTranspose2d::new(&w, [cin, cout, 4, 4], None, 2, 1).unwrap();
        let got = conv.forward(&x, &Epilogue::none());
        let want = reference::conv_transpose2d_ref(&x, &w, [cin, cout, 4, 4], None, 2, 1);
        let d = max_rel_diff(&got, &want);
        assert!(
            d < 1e-5 * ((cin * 16) as f32).sqrt(),
            "convT {cin}->{cout}: {d}"
        );
    }
}
