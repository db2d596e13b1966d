//! Plain, obviously-correct reference implementations (straight loops over the definitions) that
//! the fast kernels are tested against. Slow; not for production paths.

use crate::{Activation, Tensor};

/// `F.conv2d(x, weight, bias, stride, padding)` by definition. `weight` is OIHW with
/// `shape = [cout, cin, kh, kw]`; accumulates in `f64`.
pub fn conv2d_ref(
    x: &Tensor,
    weight: &[f32],
    shape: [usize; 4],
    bias: Option<&[f32]>,
    stride: usize,
    padding: usize,
) -> Tensor {
    let [cout, cin, kh, kw] = shape;
    let [n, h, w, c] = x.shape();
    assert_eq!(c, cin);
    let oh = (h + 2 * padding - kh) / stride + 1;
    let ow = (w + 2 * padding - kw) / stride + 1;
    let mut out = Tensor::zeros([n, oh, ow, cout]);
    let xd = x.data();
    let od = out.data_mut();
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..cout {
                    let mut acc = bias.map_or(0.0, |b| b[o] as f64);
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * stride + ky) as isize - padding as isize;
                            let ix = (ox * stride + kx) as isize - padding as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            for i in 0..cin {
                                let v = xd[((b * h + iy as usize) * w + ix as usize) * cin + i];
                                let wt = weight[((o * cin + i) * kh + ky) * kw + kx];
                                acc += v as f64 * wt as f64;
                            }
                        }
                    }
                    od[((b * oh + oy) * ow + ox) * cout + o] = acc as f32;
                }
            }
        }
    }
    out
}

/// The bf16 convolution by definition: input and weights rounded to bfloat16 (nearest even, as
/// [`crate::round_bf16`]), products summed in `f64`, bias added in full precision.
pub fn conv2d_bf16_ref(
    x: &Tensor,
    weight: &[f32],
    shape: [usize; 4],
    bias: Option<&[f32]>,
    stride: usize,
    padding: usize,
) -> Tensor {
    let xr = Tensor::from_vec(
        x.shape(),
        x.data().iter().map(|&v| crate::round_bf16(v)).collect(),
    );
    let wr: Vec<f32> = weight.iter().map(|&v| crate::round_bf16(v)).collect();
    conv2d_ref(&xr, &wr, shape, bias, stride, padding)
}

/// `F.conv_transpose2d(x, weight, bias, stride, padding)` by definition (scatter form):
/// input pixel `(iy, ix)` adds `x · w[i, o, ky, kx]` to output `(iy·s − p + ky, ix·s − p + kx)`.
/// `weight` is IOHW with `shape = [cin, cout, kh, kw]`; accumulates in `f64`.
pub fn conv_transpose2d_ref(
    x: &Tensor,
    weight: &[f32],
    shape: [usize; 4],
    bias: Option<&[f32]>,
    stride: usize,
    padding: usize,
) -> Tensor {
    let [cin, cout, kh, kw] = shape;
    let [n, h, w, c] = x.shape();
    assert_eq!(c, cin);
    let oh = (h - 1) * stride + kh - 2 * padding;
    let ow = (w - 1) * stride + kw - 2 * padding;
    let mut acc = vec![0.0f64; n * oh * ow * cout];
    let xd = x.data();
    for b in 0..n {
        for iy in 0..h {
            for ix in 0..w {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let oy = (iy * stride + ky) as isize - padding as isize;
                        let ox = (ix * stride + kx) as isize - padding as isize;
                        if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                            continue;
                        }
                        let obase = ((b * oh + oy as usize) * ow + ox as usize) * cout;
                        for i in 0..cin {
                            let v = xd[((b * h + iy) * w + ix) * cin + i] as f64;
                            for o in 0..cout {
                                acc[obase + o] +=
                                    v * weight[((i * cout + o) * kh + ky) * kw + kx] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    let data = acc
        .chunks_exact(cout)
        .flat_map(|px| {
            px.iter()
                .enumerate()
                .map(|(o, &v)| (v + bias.map_or(0.0, |b| b[o] as f64)) as f32)
        })
        .collect();
    Tensor::from_vec([n, oh, ow, cout], data)
}

/// One activation by definition.
pub fn activation_ref(a: &Activation, v: f32, channel: usize) -> f32 {
    match *a {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::LeakyRelu(s) => {
            if v >= 0.0 {
                v
            } else {
                v * s
            }
        }
        Activation::PRelu(w) => {
            let a = if w.len() == 1 { w[0] } else { w[channel] };
            if v >= 0.0 {
                v
            } else {
                v * a
            }
        }
        Activation::Sigmoid => 1.0 / (1.0 + (-v as f64).exp() as f32),
    }
}

/// The epilogue formula element by element on an already-biased convolution output:
/// `act(y * scale[c] + residual) * post.0 + post.1`.
pub fn epilogue_ref(
    y: &Tensor,
    channel_scale: Option<&[f32]>,
    residual: Option<&Tensor>,
    activation: &Activation,
    post: Option<(f32, &Tensor)>,
) -> Tensor {
    let c = y.c();
    let data = y
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            let mut v = v;
            if let Some(s) = channel_scale {
                v *= s[ch];
            }
            if let Some(r) = residual {
                v += r.data()[i];
            }
            v = activation_ref(activation, v, ch);
            if let Some((s, t)) = post {
                v = v * s + t.data()[i];
            }
            v
        })
        .collect();
    Tensor::from_vec(y.shape(), data)
}

/// `F.pixel_shuffle` by its NCHW definition `out[c, y·r+i, x·r+j] = in[c·r² + i·r + j, y, x]`,
/// computed on NCHW buffers.
pub fn pixel_shuffle_ref(x: &Tensor, r: usize) -> Tensor {
    let [n, h, w, c] = x.shape();
    let oc = c / (r * r);
    let nchw = x.to_nchw();
    let mut out = vec![0.0; nchw.len()];
    for b in 0..n {
        for ch in 0..oc {
            for y in 0..h {
                for xx in 0..w {
                    for i in 0..r {
                        for j in 0..r {
                            let src = ((b * c + ch * r * r + i * r + j) * h + y) * w + xx;
                            let dst = ((b * oc + ch) * h * r + y * r + i) * w * r + xx * r + j;
                            out[dst] = nchw[src];
                        }
                    }
                }
            }
        }
    }
    Tensor::from_nchw([n, oc, h * r, w * r], &out)
}

/// Bilinear resize (align_corners = False) straight from the definition in `f64`: source
/// coordinate `(dst + 0.5) · ratio − 0.5` clamped at 0, `ratio = 1/sf` or `in/out`.
pub fn resize_bilinear_ref(x: &Tensor, oh: usize, ow: usize, sf: Option<f64>) -> Tensor {
    let [n, h, w, c] = x.shape();
    let axis = |input: usize, output: usize, o: usize| -> (usize, usize, f64) {
        if input == output {
            return (o, o, 0.0);
        }
        let ratio = sf.map_or(input as f64 / output as f64, |s| 1.0 / s);
        let real = ((o as f64 + 0.5) * ratio - 0.5).max(0.0);
        let i0 = (real.floor() as usize).min(input - 1);
        let i1 = (i0 + 1).min(input - 1);
        (i0, i1, (real - i0 as f64).clamp(0.0, 1.0))
    };
    let mut out = Tensor::zeros([n, oh, ow, c]);
    let xd = x.data();
    let od = out.data_mut();
    for b in 0..n {
        for oy in 0..oh {
            let (y0, y1, ly) = axis(h, oh, oy);
            for ox in 0..ow {
                let (x0, x1, lx) = axis(w, ow, ox);
                for ch in 0..c {
                    let v = |yy: usize, xx: usize| xd[((b * h + yy) * w + xx) * c + ch] as f64;
                    let top = v(y0, x0) * (1.0 - lx) + v(y0, x1) * lx;
                    let bot = v(y1, x0) * (1.0 - lx) + v(y1, x1) * lx;
                    od[((b * oh + oy) * ow + ox) * c + ch] = (top * (1.0 - ly) + bot * ly) as f32;
                }
            }
        }
    }
    out
}

/// Backward warp by definition in `f64`: sample `img` at `(x + fx, y + fy)` clamped to the
/// image (border padding), bilinear.
pub fn warp_ref(img: &Tensor, flow: &Tensor) -> Tensor {
    let [n, h, w, c] = img.shape();
    let mut out = Tensor::zeros(img.shape());
    let (xd, fd) = (img.data(), flow.data());
    let od = out.data_mut();
    for b in 0..n {
        for y in 0..h {
            for x in 0..w {
                let f = &fd[((b * h + y) * w + x) * flow.c()..];
                let sx = (x as f64 + f[0] as f64).clamp(0.0, (w - 1) as f64);
                let sy = (y as f64 + f[1] as f64).clamp(0.0, (h - 1) as f64);
                let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let (lx, ly) = (sx - x0 as f64, sy - y0 as f64);
                for ch in 0..c {
                    let v = |yy: usize, xx: usize| xd[((b * h + yy) * w + xx) * c + ch] as f64;
                    let top = v(y0, x0) * (1.0 - lx) + v(y0, x1) * lx;
                    let bot = v(y1, x0) * (1.0 - lx) + v(y1, x1) * lx;
                    od[((b * h + y) * w + x) * c + ch] = (top * (1.0 - ly) + bot * ly) as f32;
                }
            }
        }
    }
    out
}
