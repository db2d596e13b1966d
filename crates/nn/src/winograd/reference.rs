//! Plain reference for the Winograd kernel: a direct 3×3, stride-1, padding-1 NHWC convolution
//! accumulated in `f64`, followed by the same epilogue. Slow and obviously correct; tests and the
//! error measurements compare the fast kernel against it.

use crate::epilogue::Epilogue;
use crate::Tensor;

/// Direct `conv3x3(input, weight_oihw) + bias`, then `epilogue`. Weights are PyTorch OIHW
/// `[cout][cin][3][3]`. Panics on inconsistent lengths (test helper).
pub fn conv3x3_direct(
    input: &Tensor,
    weight_oihw: &[f32],
    cout: usize,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
) -> Tensor {
    let [n, h, w, cin] = input.shape();
    assert_eq!(weight_oihw.len(), cout * cin * 9, "weight length");
    let x = input.data();
    let mut out = Tensor::zeros([n, h, w, cout]);
    let mut acc = vec![0.0f64; cout];
    {
        let o = out.data_mut();
        for b in 0..n {
            for y in 0..h {
                for xo in 0..w {
                    for (co, a) in acc.iter_mut().enumerate() {
                        *a = bias.map_or(0.0, |bv| bv[co] as f64);
                    }
                    for ky in 0..3 {
                        let yi = y as isize + ky as isize - 1;
                        if yi < 0 || yi >= h as isize {
                            continue;
                        }
                        for kx in 0..3 {
                            let xi = xo as isize + kx as isize - 1;
                            if xi < 0 || xi >= w as isize {
                                continue;
                            }
                            let px = &x[((b * h + yi as usize) * w + xi as usize) * cin..][..cin];
                            for (co, a) in acc.iter_mut().enumerate() {
                                let wrow = &weight_oihw[co * cin * 9 + ky * 3 + kx..];
                                let mut s = 0.0f64;
                                for (ci, &v) in px.iter().enumerate() {
                                    s += v as f64 * wrow[ci * 9] as f64;
                                }
                                *a += s;
                            }
                        }
                    }
                    let dst = &mut o[((b * h + y) * w + xo) * cout..][..cout];
                    for (d, &a) in dst.iter_mut().zip(&acc) {
                        *d = a as f32;
                    }
                }
            }
        }
    }
    let shape = out.shape();
    epilogue.check(shape);
    // Pixel by pixel: the simplest use of the epilogue contract.
    for (p, px) in out.data_mut().chunks_exact_mut(cout).enumerate() {
        epilogue.apply_row(px, p, cout, None);
    }
    out
}
