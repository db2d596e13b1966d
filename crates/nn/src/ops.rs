//! Element-wise, layout and resampling ops on NHWC tensors, each matching its PyTorch
//! counterpart (named in the docs). Every op has an allocating form and an `_into` form that
//! writes into a caller-provided tensor (e.g. from a [`crate::Workspace`]) and overwrites every
//! element. Shape mismatches are programming errors and panic.

use std::cell::RefCell;
use std::ops::Range;

use rayon::prelude::*;

use crate::{Activation, Tensor};

/// Below this many output elements an op runs on the calling thread (rayon overhead dominates).
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Splits `data` into chunks of `row` elements and runs `f(row_index, chunk)`, in parallel
/// when the whole is large enough.
fn for_rows(data: &mut [f32], row: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if row == 0 || data.is_empty() {
        return;
    }
    if data.len() >= PAR_MIN_ELEMS {
        data.par_chunks_mut(row)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(row).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Element-wise chunk length for parallel element-wise ops (a multiple of every channel count
/// up to 8 and of 16 lanes).
const ELEMWISE_CHUNK: usize = 1 << 14;

/// `f(a_chunk, b_chunk)` over matching chunks of two equally long buffers, in parallel when
/// large.
fn zip_chunks(a: &mut [f32], b: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync + Send) {
    assert_eq!(a.len(), b.len(), "element-wise op lengths");
    if a.len() >= PAR_MIN_ELEMS {
        a.par_chunks_mut(ELEMWISE_CHUNK)
            .zip(b.par_chunks(ELEMWISE_CHUNK))
            .for_each(|(x, y)| f(x, y));
    } else {
        f(a, b);
    }
}

/// `f(chunk, first_element_index)` over chunks of whole pixels, in parallel when large.
fn pixel_chunks(a: &mut [f32], c: usize, f: impl Fn(&mut [f32], usize) + Sync + Send) {
    let chunk = (ELEMWISE_CHUNK / c.max(1)).max(1) * c.max(1);
    if a.len() >= PAR_MIN_ELEMS {
        a.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, x)| f(x, i * chunk));
    } else {
        f(a, 0);
    }
}

thread_local! {
    /// Per-thread coordinate tables of the resampling ops, reused across calls.
    static TAPS: RefCell<(Vec<LinearTap>, Vec<LinearTap>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    static GRID: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` on this thread's pair of reusable vectors (fresh ones if a caller further up this
/// thread's stack holds them, e.g. under rayon work stealing).
fn with_reused<T: Default + 'static>(
    key: &'static std::thread::LocalKey<RefCell<T>>,
    f: impl FnOnce(&mut T),
) {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => f(&mut v),
        Err(_) => f(&mut T::default()),
    })
}

// ---------------------------------------------------------------------------------------------
// Element-wise
// ---------------------------------------------------------------------------------------------

/// `activation(x)` element-wise (see [`Activation`] for the PyTorch modules it matches).
pub fn activate(x: &Tensor, activation: Activation) -> Tensor {
    let mut out = x.clone();
    activate_inplace(&mut out, activation);
    out
}

pub fn activate_inplace(x: &mut Tensor, activation: Activation) {
    let c = x.c();
    if let Activation::PRelu(w) = activation {
        assert!(w.len() == c || w.len() == 1, "PReLU parameter count");
    }
    pixel_chunks(x.data_mut(), c, |chunk, _| activation.apply(chunk, c));
}

/// `F.leaky_relu(x, slope)`.
pub fn leaky_relu(x: &Tensor, slope: f32) -> Tensor {
    activate(x, Activation::LeakyRelu(slope))
}
/// `F.prelu(x, weight)` with one weight per channel (or one shared).
pub fn prelu(x: &Tensor, weight: &[f32]) -> Tensor {
    activate(x, Activation::PRelu(weight))
}
/// `torch.sigmoid(x)`.
pub fn sigmoid(x: &Tensor) -> Tensor {
    activate(x, Activation::Sigmoid)
}

fn zip_map(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Tensor {
    assert_eq!(a.shape(), b.shape(), "element-wise op shapes");
    let mut out = a.clone();
    zip_chunks(out.data_mut(), b.data(), |x, y| {
        for (x, &y) in x.iter_mut().zip(y) {
            *x = f(*x, y);
        }
    });
    out
}

/// `a + b` (same shapes).
pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x + y)
}
/// `a * b` (same shapes).
pub fn mul(a: &Tensor, b: &Tensor) -> Tensor {
    zip_map(a, b, |x, y| x * y)
}
/// `a * s`.
pub fn scale(a: &Tensor, s: f32) -> Tensor {
    let mut out = a.clone();
    scale_inplace(&mut out, s);
    out
}
/// `a += b`.
pub fn add_inplace(a: &mut Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "add_inplace shapes");
    zip_chunks(a.data_mut(), b.data(), |a, b| {
        for (x, &y) in a.iter_mut().zip(b) {
            *x += y;
        }
    });
}
/// `a *= b`.
pub fn mul_inplace(a: &mut Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "mul_inplace shapes");
    zip_chunks(a.data_mut(), b.data(), |a, b| {
        for (x, &y) in a.iter_mut().zip(b) {
            *x *= y;
        }
    });
}
/// `a *= s`.
pub fn scale_inplace(a: &mut Tensor, s: f32) {
    pixel_chunks(a.data_mut(), 1, |a, _| {
        for x in a {
            *x *= s;
        }
    });
}
/// `a = a * s + b` (Real-ESRGAN's `x * 0.2 + residual` outside a convolution).
pub fn scale_add_inplace(a: &mut Tensor, s: f32, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "scale_add_inplace shapes");
    zip_chunks(a.data_mut(), b.data(), |a, b| {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = *x * s + y;
        }
    });
}

/// `a * mask + b * (1 - mask)`, RIFE's final merge; `mask` has one channel (broadcast over the
/// channels of `a`/`b`) or as many as `a`.
pub fn blend(a: &Tensor, b: &Tensor, mask: &Tensor) -> Tensor {
    let mut out = Tensor::zeros(a.shape());
    blend_into(a, b, mask, &mut out);
    out
}

pub fn blend_into(a: &Tensor, b: &Tensor, mask: &Tensor, out: &mut Tensor) {
    assert_eq!(a.shape(), b.shape(), "blend image shapes");
    assert_eq!(out.shape(), a.shape(), "blend output shape");
    let [n, h, w, c] = a.shape();
    assert_eq!(mask.shape()[..3], [n, h, w], "blend mask shape");
    let mc = mask.c();
    assert!(mc == 1 || mc == c, "blend mask channels");
    let (ad, bd, md) = (a.data(), b.data(), mask.data());
    pixel_chunks(out.data_mut(), c, |chunk, e0| {
        for (i, o) in chunk.chunks_exact_mut(c).enumerate() {
            let p = e0 / c + i;
            for (ch, o) in o.iter_mut().enumerate() {
                let m = if mc == 1 { md[p] } else { md[p * c + ch] };
                *o = ad[p * c + ch] * m + bd[p * c + ch] * (1.0 - m);
            }
        }
    });
}

/// A tensor of `shape` filled with `value` (`torch.full`; RIFE's timestep channel).
pub fn full(shape: [usize; 4], value: f32) -> Tensor {
    Tensor::from_vec(shape, vec![value; shape.iter().product()])
}

// ---------------------------------------------------------------------------------------------
// Channel layout
// ---------------------------------------------------------------------------------------------

/// `torch.cat(tensors, dim=1)`: concatenation along channels; all inputs share `n, h, w`.
pub fn concat_channels(tensors: &[&Tensor]) -> Tensor {
    assert!(!tensors.is_empty(), "concat of no tensors");
    let [n, h, w, _] = tensors[0].shape();
    let c = tensors.iter().map(|t| t.c()).sum();
    let mut out = Tensor::zeros([n, h, w, c]);
    concat_channels_into(tensors, &mut out);
    out
}

pub fn concat_channels_into(tensors: &[&Tensor], out: &mut Tensor) {
    let [n, h, w, c] = out.shape();
    for t in tensors {
        assert_eq!(t.shape()[..3], [n, h, w], "concat input spatial shape");
    }
    assert_eq!(
        tensors.iter().map(|t| t.c()).sum::<usize>(),
        c,
        "concat output channels"
    );
    for_rows(out.data_mut(), w * c, |row, o| {
        let mut c0 = 0;
        for t in tensors {
            let tc = t.c();
            let src = &t.data()[row * w * tc..][..w * tc];
            for (o, s) in o.chunks_exact_mut(c).zip(src.chunks_exact(tc)) {
                o[c0..c0 + tc].copy_from_slice(s);
            }
            c0 += tc;
        }
    });
}

/// `x[:, range]`: a copy of a range of channels.
pub fn slice_channels(x: &Tensor, range: Range<usize>) -> Tensor {
    let [n, h, w, _] = x.shape();
    let mut out = Tensor::zeros([n, h, w, range.len()]);
    slice_channels_into(x, range, &mut out);
    out
}

pub fn slice_channels_into(x: &Tensor, range: Range<usize>, out: &mut Tensor) {
    let [n, h, w, c] = x.shape();
    assert!(
        range.start <= range.end && range.end <= c,
        "channel slice out of range"
    );
    assert_eq!(out.shape(), [n, h, w, range.len()], "slice output shape");
    let oc = range.len();
    if oc == 0 {
        return;
    }
    let src = x.data();
    for_rows(out.data_mut(), w * oc, |row, o| {
        let line = &src[row * w * c..][..w * c];
        for (o, s) in o.chunks_exact_mut(oc).zip(line.chunks_exact(c)) {
            o.copy_from_slice(&s[range.clone()]);
        }
    });
}

/// Channel ranges of several same-sized tensors copied into `out`, in order (`torch.cat` of
/// slices without the intermediate copies).
pub fn gather_channels_into(parts: &[(&Tensor, Range<usize>)], out: &mut Tensor) {
    let [n, h, w, c] = out.shape();
    for (t, range) in parts {
        assert_eq!(t.shape()[..3], [n, h, w], "gather input spatial shape");
        assert!(range.end <= t.c(), "gather channel range");
    }
    assert_eq!(
        parts.iter().map(|(_, r)| r.len()).sum::<usize>(),
        c,
        "gather output channels"
    );
    for_rows(out.data_mut(), w * c, |row, o| {
        let mut c0 = 0;
        for (t, range) in parts {
            let tc = t.c();
            let src = &t.data()[row * w * tc..][..w * tc];
            for (o, s) in o.chunks_exact_mut(c).zip(src.chunks_exact(tc)) {
                o[c0..c0 + range.len()].copy_from_slice(&s[range.clone()]);
            }
            c0 += range.len();
        }
    });
}

/// `x[:, range] = x[:, range] * mul / div` (two roundings, in that order: RIFE's flow scaling
/// `flow * scale` and `flow / scale` each stay exact with the other term 1).
pub fn scale_channels_inplace(x: &mut Tensor, range: Range<usize>, mul: f32, div: f32) {
    let c = x.c();
    assert!(range.end <= c, "scaled channel range");
    pixel_chunks(x.data_mut(), c, |chunk, _| {
        for px in chunk.chunks_exact_mut(c) {
            for v in &mut px[range.clone()] {
                *v = *v * mul / div;
            }
        }
    });
}

/// `a[:, a_c0 + k] = (a[:, a_c0 + k] · sa + b[:, b_range.start + k] · sb) · s_out` for `k` in
/// `0..b_range.len()`; with `sa == 0` the old value is not read (`b · sb · s_out`, so an
/// infinite or NaN `a` does not leak). RIFE's flow/mask updates and ensemble averages.
pub fn combine_channels_inplace(
    a: &mut Tensor,
    a_c0: usize,
    sa: f32,
    b: &Tensor,
    b_range: Range<usize>,
    sb: f32,
    s_out: f32,
) {
    let (ac, bc) = (a.c(), b.c());
    assert_eq!(a.shape()[..3], b.shape()[..3], "combine spatial shapes");
    assert!(
        a_c0 + b_range.len() <= ac && b_range.end <= bc,
        "combine channel ranges"
    );
    let len = b_range.len();
    let (b0, bd) = (b_range.start, b.data());
    pixel_chunks(a.data_mut(), ac, |chunk, e0| {
        let p0 = e0 / ac;
        for (i, px) in chunk.chunks_exact_mut(ac).enumerate() {
            let src = &bd[(p0 + i) * bc + b0..][..len];
            for (v, &y) in px[a_c0..a_c0 + len].iter_mut().zip(src) {
                *v = if sa == 0.0 {
                    y * sb * s_out
                } else {
                    (*v * sa + y * sb) * s_out
                };
            }
        }
    });
}

/// `clamp(frame + (res · 2 − 1), 0, 1)`: RIFE v4.0's refinement residual added to the merged
/// frame.
pub fn add_refinement_inplace(frame: &mut Tensor, res: &Tensor) {
    assert_eq!(frame.shape(), res.shape(), "refinement shapes");
    zip_chunks(frame.data_mut(), res.data(), |m, t| {
        for (m, &t) in m.iter_mut().zip(t) {
            *m = (*m + (t * 2.0 - 1.0)).clamp(0.0, 1.0);
        }
    });
}

/// `max |x[:, range]|` over the whole tensor (0 for an empty range).
pub fn max_abs_channels(x: &Tensor, range: Range<usize>) -> f32 {
    let c = x.c();
    assert!(range.end <= c, "max_abs channel range");
    x.data()
        .par_chunks(c.max(1))
        .map(|px| px[range.clone()].iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .reduce(|| 0.0, f32::max)
}

/// `F.pixel_shuffle(x, r)`: `[n, h, w, c·r²] → [n, h·r, w·r, c]` with PyTorch's channel order
/// (`out[c, y·r+i, x·r+j] = in[c·r² + i·r + j, y, x]`).
pub fn pixel_shuffle(x: &Tensor, r: usize) -> Tensor {
    let [n, h, w, c] = x.shape();
    assert!(r > 0 && c % (r * r) == 0, "pixel_shuffle channels");
    let mut out = Tensor::zeros([n, h * r, w * r, c / (r * r)]);
    pixel_shuffle_into(x, r, &mut out);
    out
}

pub fn pixel_shuffle_into(x: &Tensor, r: usize, out: &mut Tensor) {
    let [n, h, w, c] = x.shape();
    assert!(r > 0 && c % (r * r) == 0, "pixel_shuffle channels");
    let oc = c / (r * r);
    assert_eq!(
        out.shape(),
        [n, h * r, w * r, oc],
        "pixel_shuffle output shape"
    );
    let (ow, src) = (w * r, x.data());
    for_rows(out.data_mut(), ow * oc, |orow, o| {
        let (b, oy) = (orow / (h * r), orow % (h * r));
        let (y, i) = (oy / r, oy % r);
        for ox in 0..ow {
            let (xx, j) = (ox / r, ox % r);
            let s = &src[((b * h + y) * w + xx) * c..][..c];
            let d = &mut o[ox * oc..][..oc];
            for (ch, d) in d.iter_mut().enumerate() {
                *d = s[ch * r * r + i * r + j];
            }
        }
    });
}

/// `F.pixel_unshuffle(x, r)`: the inverse of [`pixel_shuffle`].
pub fn pixel_unshuffle(x: &Tensor, r: usize) -> Tensor {
    let [n, h, w, c] = x.shape();
    assert!(r > 0 && h % r == 0 && w % r == 0, "pixel_unshuffle size");
    let mut out = Tensor::zeros([n, h / r, w / r, c * r * r]);
    pixel_unshuffle_into(x, r, &mut out);
    out
}

pub fn pixel_unshuffle_into(x: &Tensor, r: usize, out: &mut Tensor) {
    let [n, h, w, c] = x.shape();
    assert!(r > 0 && h % r == 0 && w % r == 0, "pixel_unshuffle size");
    let (oh, ow, oc) = (h / r, w / r, c * r * r);
    assert_eq!(out.shape(), [n, oh, ow, oc], "pixel_unshuffle output shape");
    let src = x.data();
    for_rows(out.data_mut(), ow * oc, |orow, o| {
        let (b, y) = (orow / oh, orow % oh);
        for xx in 0..ow {
            let d = &mut o[xx * oc..][..oc];
            for ch in 0..c {
                for i in 0..r {
                    for j in 0..r {
                        d[ch * r * r + i * r + j] =
                            src[((b * h + y * r + i) * w + xx * r + j) * c + ch];
                    }
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------

/// `F.interpolate(x, scale_factor=r, mode="nearest")` for an integer factor `r`.
pub fn upsample_nearest(x: &Tensor, r: usize) -> Tensor {
    let [n, h, w, c] = x.shape();
    assert!(r > 0, "upsample factor");
    let mut out = Tensor::zeros([n, h * r, w * r, c]);
    upsample_nearest_into(x, r, &mut out);
    out
}

pub fn upsample_nearest_into(x: &Tensor, r: usize, out: &mut Tensor) {
    let [n, h, w, c] = x.shape();
    assert!(r > 0, "upsample factor");
    assert_eq!(out.shape(), [n, h * r, w * r, c], "upsample output shape");
    let src = x.data();
    for_rows(out.data_mut(), w * r * c, |orow, o| {
        let (b, oy) = (orow / (h * r), orow % (h * r));
        let line = &src[(b * h + oy / r) * w * c..][..w * c];
        for (ox, d) in o.chunks_exact_mut(c).enumerate() {
            d.copy_from_slice(&line[(ox / r) * c..][..c]);
        }
    });
}

/// Per output coordinate along one axis: the two source indices and their weights, computed
/// exactly as PyTorch's `compute_indices_weights_linear` (align_corners = False) in `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LinearTap {
    pub i0: usize,
    pub i1: usize,
    pub l0: f32,
    pub l1: f32,
}

/// Fills `taps` with the taps of every output coordinate. `scale`: PyTorch's `scale_factor`
/// for this axis if one was given (then the coordinate ratio is `1 / scale_factor`, not
/// `in / out`), else `None` (size form: `in / out`).
pub(crate) fn fill_linear_taps(
    taps: &mut Vec<LinearTap>,
    input: usize,
    output: usize,
    scale: Option<f64>,
) {
    let ratio: f32 = match scale {
        Some(s) if s > 0.0 => (1.0 / s) as f32,
        _ => input as f32 / output as f32,
    };
    taps.clear();
    taps.extend((0..output).map(|o| {
        if input == output {
            return LinearTap {
                i0: o,
                i1: o,
                l0: 1.0,
                l1: 0.0,
            };
        }
        let real = (ratio * (o as f32 + 0.5) - 0.5).max(0.0);
        let i0 = (real.floor() as usize).min(input - 1);
        let l1 = (real - i0 as f32).clamp(0.0, 1.0);
        let i1 = i0 + usize::from(i0 < input - 1);
        LinearTap {
            i0,
            i1,
            l0: 1.0 - l1,
            l1,
        }
    }));
}

/// `F.interpolate(x, scale_factor=sf, mode="bilinear", align_corners=False)` (recompute_scale_factor
/// unset): output size `floor(h·sf) × floor(w·sf)`, source coordinates scaled by `1/sf`.
pub fn resize_bilinear_scale(x: &Tensor, sf: f64) -> Tensor {
    let [n, h, w, c] = x.shape();
    let (oh, ow) = scaled_size(h, w, sf);
    let mut out = Tensor::zeros([n, oh, ow, c]);
    resize_bilinear_into(x, Some(sf), &mut out);
    out
}

/// The output size of [`resize_bilinear_scale`]: `floor(size · sf)` computed in `f64`.
pub fn scaled_size(h: usize, w: usize, sf: f64) -> (usize, usize) {
    assert!(sf > 0.0 && sf.is_finite(), "resize scale factor");
    (
        (h as f64 * sf).floor() as usize,
        (w as f64 * sf).floor() as usize,
    )
}

/// `F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)`.
pub fn resize_bilinear_size(x: &Tensor, oh: usize, ow: usize) -> Tensor {
    let [n, _, _, c] = x.shape();
    let mut out = Tensor::zeros([n, oh, ow, c]);
    resize_bilinear_into(x, None, &mut out);
    out
}

/// Bilinear resize of `x` to `out`'s spatial size; `scale_factor` as passed to
/// `F.interpolate` (`None` = size form).
pub fn resize_bilinear_into(x: &Tensor, scale_factor: Option<f64>, out: &mut Tensor) {
    let [n, h, w, c] = x.shape();
    let [on, oh, ow, oc] = out.shape();
    assert!(on == n && oc == c, "resize output batch/channels");
    assert!(h > 0 && w > 0, "resize of an empty tensor");
    with_reused(&TAPS, |(ty, tx)| {
        fill_linear_taps(ty, h, oh, scale_factor);
        fill_linear_taps(tx, w, ow, scale_factor);
        resize_rows(x, ty, tx, out);
    });
}

fn resize_rows(x: &Tensor, ty: &[LinearTap], tx: &[LinearTap], out: &mut Tensor) {
    let [_, h, w, c] = x.shape();
    let [_, oh, ow, _] = out.shape();
    let src = x.data();
    for_rows(out.data_mut(), ow * c, |orow, o| {
        let (b, oy) = (orow / oh.max(1), orow % oh.max(1));
        let t = ty[oy];
        let r0 = &src[(b * h + t.i0) * w * c..][..w * c];
        let r1 = &src[(b * h + t.i1) * w * c..][..w * c];
        for (d, tx) in o.chunks_exact_mut(c).zip(tx) {
            let (a0, a1) = (&r0[tx.i0 * c..][..c], &r0[tx.i1 * c..][..c]);
            let (b0, b1) = (&r1[tx.i0 * c..][..c], &r1[tx.i1 * c..][..c]);
            for ch in 0..c {
                // PyTorch's order: interpolate along x in each row, then along y.
                let top = a0[ch] * tx.l0 + a1[ch] * tx.l1;
                let bottom = b0[ch] * tx.l0 + b1[ch] * tx.l1;
                d[ch] = top * t.l0 + bottom * t.l1;
            }
        }
    });
}

/// `torch.linspace(-1, 1, steps)` in `f32`, computed as PyTorch's CPU kernel does: from both
/// ends towards the middle, each value a single fused multiply-add (checked bit-exact).
pub(crate) fn fill_linspace_pm1(v: &mut Vec<f32>, steps: usize) {
    v.clear();
    if steps == 1 {
        v.push(-1.0);
        return;
    }
    let step = 2.0f32 / (steps - 1) as f32;
    let half = steps / 2;
    v.extend((0..steps).map(|i| {
        if i < half {
            step.mul_add(i as f32, -1.0)
        } else {
            (-step).mul_add((steps - i - 1) as f32, 1.0)
        }
    }));
}

/// RIFE's backward warp: samples `img` at `pixel + flow` with
/// `F.grid_sample(mode="bilinear", padding_mode="border", align_corners=True)`, the grid built
/// as RIFE does (a `linspace(-1, 1)` base grid plus flow divided by `(W-1)/2`, `(H-1)/2`).
/// `flow` has two channels `(x, y)` in pixels.
pub fn warp(img: &Tensor, flow: &Tensor) -> Tensor {
    assert_eq!(
        flow.c(),
        2,
        "warp flow must have 2 channels (use warp_into for a slice)"
    );
    let mut out = Tensor::zeros(img.shape());
    warp_into(img, flow, 0, &mut out);
    out
}

/// [`warp`] reading the flow from channels `flow_c0, flow_c0 + 1` of `flow` (RIFE's
/// `flow[:, 2:4]` without a copy), into `out` (shape of `img`).
pub fn warp_into(img: &Tensor, flow: &Tensor, flow_c0: usize, out: &mut Tensor) {
    let [n, h, w, _] = img.shape();
    assert_eq!(flow.shape()[..3], [n, h, w], "warp flow spatial shape");
    assert!(flow_c0 + 2 <= flow.c(), "warp flow channels");
    assert_eq!(out.shape(), img.shape(), "warp output shape");
    with_reused(&GRID, |(gx, gy)| {
        fill_linspace_pm1(gx, w);
        fill_linspace_pm1(gy, h);
        warp_rows(img, flow, flow_c0, gx, gy, out);
    });
}

fn warp_rows(
    img: &Tensor,
    flow: &Tensor,
    flow_c0: usize,
    gx: &[f32],
    gy: &[f32],
    out: &mut Tensor,
) {
    let [_, h, w, c] = img.shape();
    // RIFE divides by (W - 1) / 2 computed in double, applied to an f32 tensor.
    let (nx, ny) = (
        ((w as f64 - 1.0) / 2.0) as f32,
        ((h as f64 - 1.0) / 2.0) as f32,
    );
    let fc = flow.c();
    let (src, fl) = (img.data(), flow.data());
    let geo = WarpGeometry {
        h,
        w,
        nx,
        ny,
        fc,
        flow_c0,
    };
    for_rows(out.data_mut(), w * c, |row, o| {
        // Fixed channel counts let the compiler unroll the per-pixel channel loop.
        match c {
            1 => warp_row::<1>(&geo, src, fl, gx, gy, row, o),
            2 => warp_row::<2>(&geo, src, fl, gx, gy, row, o),
            3 => warp_row::<3>(&geo, src, fl, gx, gy, row, o),
            4 => warp_row::<4>(&geo, src, fl, gx, gy, row, o),
            5 => warp_row::<5>(&geo, src, fl, gx, gy, row, o),
            6 => warp_row::<6>(&geo, src, fl, gx, gy, row, o),
            7 => warp_row::<7>(&geo, src, fl, gx, gy, row, o),
            8 => warp_row::<8>(&geo, src, fl, gx, gy, row, o),
            _ => warp_row_dyn(&geo, c, src, fl, gx, gy, row, o),
        }
    });
}

/// Hints the CPU to load the cache line holding `data[index]` (no-op where unsupported or
/// out of range).
#[inline(always)]
fn prefetch(data: &[f32], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = data.get(index) {
        // SAFETY: prefetching is only a hint and the pointer is to a live element.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                (v as *const f32).cast::<i8>(),
                std::arch::x86_64::_MM_HINT_T0,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, index);
}

struct WarpGeometry {
    h: usize,
    w: usize,
    nx: f32,
    ny: f32,
    fc: usize,
    flow_c0: usize,
}

/// Source position `(sx, sy)` of output pixel `(x, y)` in image `b`.
#[inline(always)]
fn warp_source(
    g: &WarpGeometry,
    fl: &[f32],
    gx: &[f32],
    gy: &[f32],
    b: usize,
    y: usize,
    x: usize,
) -> (f32, f32) {
    let f = &fl[((b * g.h + y) * g.w + x) * g.fc + g.flow_c0..][..2];
    (
        grid_to_pixel(gx[x] + f[0] / g.nx, g.w),
        grid_to_pixel(gy[y] + f[1] / g.ny, g.h),
    )
}

/// How many pixels ahead [`warp_row`] prefetches the source pixels it will gather.
const WARP_PREFETCH_AHEAD: usize = 64;

/// Where and how one output pixel of a warp samples its source.
#[derive(Clone, Copy, Default)]
struct WarpTap {
    /// Flat pixel index of the top-left neighbour.
    o00: usize,
    /// Offsets to the right and lower neighbours (0 at the image edge, whose weight is 0).
    dx: usize,
    dy: usize,
    /// `[nw, ne, sw, se]`.
    weights: [f32; 4],
}

thread_local! {
    static WARP_TAPS: RefCell<Vec<WarpTap>> = const { RefCell::new(Vec::new()) };
}

#[inline(always)]
fn warp_row<const C: usize>(
    g: &WarpGeometry,
    src: &[f32],
    fl: &[f32],
    gx: &[f32],
    gy: &[f32],
    row: usize,
    o: &mut [f32],
) {
    with_reused(&WARP_TAPS, |taps| {
        warp_row_with::<C>(g, src, fl, gx, gy, row, o, taps)
    });
}

/// First the taps of the whole row in one branch-free pass (coordinates exactly as
/// grid_to_pixel / BilinearTaps), then the gathers, prefetching ahead: flows reach tens of rows
/// away, beyond L2 and the hardware prefetchers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn warp_row_with<const C: usize>(
    g: &WarpGeometry,
    src: &[f32],
    fl: &[f32],
    gx: &[f32],
    gy: &[f32],
    row: usize,
    o: &mut [f32],
    taps: &mut Vec<WarpTap>,
) {
    let (b, y) = (row / g.h, row % g.h);
    let (w, h) = (g.w, g.h);
    let (wmax, hmax) = ((w - 1) as f32, (h - 1) as f32);
    let (half_w, half_h) = (wmax / 2.0, hmax / 2.0);
    let base = b * h * w;
    let flow_row = &fl[(b * h + y) * w * g.fc..][..w * g.fc];
    let gyy = gy[y];
    taps.clear();
    taps.extend((0..w).map(|x| {
        let f = &flow_row[x * g.fc + g.flow_c0..][..2];
        let sx = if w == 1 {
            0.0
        } else {
            ((gx[x] + f[0] / g.nx + 1.0) * half_w).max(0.0).min(wmax)
        };
        let sy = if h == 1 {
            0.0
        } else {
            ((gyy + f[1] / g.ny + 1.0) * half_h).max(0.0).min(hmax)
        };
        // sx, sy >= 0, so truncation is floor (and no libm call on baseline x86-64).
        let (x0, y0) = ((sx as usize).min(w - 1), (sy as usize).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let (ex, ey) = (1.0 - fx, 1.0 - fy);
        let x_in = x0 + 1 < w;
        let y_in = y0 + 1 < h;
        let ne = if x_in { ey * fx } else { 0.0 };
        let sw = if y_in { fy * ex } else { 0.0 };
        let se = if x_in && y_in { fy * fx } else { 0.0 };
        WarpTap {
            o00: base + y0 * w + x0,
            dx: usize::from(x_in),
            dy: if y_in { w } else { 0 },
            weights: [ey * ex, ne, sw, se],
        }
    }));
    for (x, d) in o.chunks_exact_mut(C).enumerate() {
        if let Some(ahead) = taps.get(x + WARP_PREFETCH_AHEAD) {
            prefetch(src, ahead.o00 * C);
            prefetch(src, (ahead.o00 + ahead.dy) * C);
        }
        let t = taps[x];
        let p = t.o00;
        let [nw, ne, sw, se] = t.weights;
        let p00: &[f32; C] = src[p * C..][..C].try_into().unwrap_or(&[0.0; C]);
        let p01: &[f32; C] = src[(p + t.dx) * C..][..C].try_into().unwrap_or(&[0.0; C]);
        let p10: &[f32; C] = src[(p + t.dy) * C..][..C].try_into().unwrap_or(&[0.0; C]);
        let p11: &[f32; C] = src[(p + t.dy + t.dx) * C..][..C]
            .try_into()
            .unwrap_or(&[0.0; C]);
        for ch in 0..C {
            d[ch] = p00[ch] * nw + p01[ch] * ne + p10[ch] * sw + p11[ch] * se;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn warp_row_dyn(
    g: &WarpGeometry,
    c: usize,
    src: &[f32],
    fl: &[f32],
    gx: &[f32],
    gy: &[f32],
    row: usize,
    o: &mut [f32],
) {
    let (b, y) = (row / g.h, row % g.h);
    for (x, d) in o.chunks_exact_mut(c).enumerate() {
        let (sx, sy) = warp_source(g, fl, gx, gy, b, y, x);
        let t = BilinearTaps::new(g.h, g.w, sx, sy);
        let base = b * g.h * g.w;
        let p00 = &src[(base + t.o00) * c..][..c];
        let p01 = &src[(base + t.o01) * c..][..c];
        let p10 = &src[(base + t.o10) * c..][..c];
        let p11 = &src[(base + t.o11) * c..][..c];
        for ch in 0..c {
            d[ch] = p00[ch] * t.nw + p01[ch] * t.ne + p10[ch] * t.sw + p11[ch] * t.se;
        }
    }
}

/// grid_sample's `align_corners=True` unnormalisation and border clipping.
#[inline]
fn grid_to_pixel(g: f32, size: usize) -> f32 {
    if size == 1 {
        return 0.0;
    }
    let half = (size - 1) as f32 / 2.0;
    let p = (g + 1.0) * half;
    // `max` then `min` as PyTorch's clip_coordinates; NaN (from a NaN flow) maps to 0 like
    // PyTorch's vectorised clamp would not, but a NaN flow is already garbage.
    p.max(0.0).min((size - 1) as f32)
}

/// The four neighbours (pixel offsets within the image) and weights of a bilinear sample at
/// `(sx, sy)`, already clipped into the image. Neighbours past the right/bottom edge get weight
/// zero, as grid_sample's bounds mask gives them, and a clamped (valid) offset so the channel
/// loop has no branches. The weights are grid_sample's (`nw = (1-fy)(1-fx)`, …).
struct BilinearTaps {
    o00: usize,
    o01: usize,
    o10: usize,
    o11: usize,
    nw: f32,
    ne: f32,
    sw: f32,
    se: f32,
}

impl BilinearTaps {
    #[inline(always)]
    fn new(h: usize, w: usize, sx: f32, sy: f32) -> Self {
        // sx, sy >= 0 (clipped), so truncation is floor — and not a libm call on baseline x86-64.
        let (x0, y0) = ((sx as usize).min(w - 1), (sy as usize).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let (ex, ey) = (1.0 - fx, 1.0 - fy);
        let (nw, mut ne, mut sw, mut se) = (ey * ex, ey * fx, fy * ex, fy * fx);
        let x1 = if x0 + 1 < w {
            x0 + 1
        } else {
            ne = 0.0;
            se = 0.0;
            x0
        };
        let y1 = if y0 + 1 < h {
            y0 + 1
        } else {
            sw = 0.0;
            se = 0.0;
            y0
        };
        BilinearTaps {
            o00: y0 * w + x0,
            o01: y0 * w + x1,
            o10: y1 * w + x0,
            o11: y1 * w + x1,
            nw,
            ne,
            sw,
            se,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Padding and cropping
// ---------------------------------------------------------------------------------------------

/// How [`pad`] fills the border (`F.pad` modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// `mode="constant", value=0`.
    Zero,
    /// `mode="reflect"`: mirror without repeating the edge; each pad must be smaller than the
    /// dimension.
    Reflect,
    /// `mode="replicate"`: repeat the edge.
    Replicate,
}

/// Maps a padded coordinate to a source coordinate, `None` for zero padding outside.
#[inline]
fn pad_index(i: isize, size: usize, mode: PadMode) -> Option<usize> {
    let n = size as isize;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PadMode::Zero => None,
        PadMode::Replicate => Some(i.clamp(0, n - 1) as usize),
        PadMode::Reflect => {
            let r = if i < 0 { -i } else { 2 * (n - 1) - i };
            Some(r.clamp(0, n - 1) as usize)
        }
    }
}

/// `F.pad(x, (left, right, top, bottom), mode)`; `pads` is `[top, bottom, left, right]`.
pub fn pad(x: &Tensor, pads: [usize; 4], mode: PadMode) -> Tensor {
    let [n, h, w, c] = x.shape();
    let [top, bottom, left, right] = pads;
    let mut out = Tensor::zeros([n, h + top + bottom, w + left + right, c]);
    pad_into(x, pads, mode, &mut out);
    out
}

pub fn pad_into(
    x: &Tensor,
    [top, bottom, left, right]: [usize; 4],
    mode: PadMode,
    out: &mut Tensor,
) {
    let [n, h, w, c] = x.shape();
    if mode == PadMode::Reflect {
        assert!(
            top < h && bottom < h && left < w && right < w,
            "reflect padding must be smaller than the input"
        );
    }
    if mode == PadMode::Replicate {
        assert!(h > 0 && w > 0, "replicate padding of an empty tensor");
    }
    let (oh, ow) = (h + top + bottom, w + left + right);
    assert_eq!(out.shape(), [n, oh, ow, c], "pad output shape");
    let src = x.data();
    for_rows(out.data_mut(), ow * c, |orow, o| {
        let (b, oy) = (orow / oh, orow % oh);
        let Some(sy) = pad_index(oy as isize - top as isize, h, mode) else {
            o.fill(0.0);
            return;
        };
        let line = &src[(b * h + sy) * w * c..][..w * c];
        // The interior is one contiguous copy; only the borders go pixel by pixel.
        o[left * c..(left + w) * c].copy_from_slice(line);
        for ox in (0..left).chain(left + w..ow) {
            let d = &mut o[ox * c..][..c];
            match pad_index(ox as isize - left as isize, w, mode) {
                Some(sx) => d.copy_from_slice(&line[sx * c..][..c]),
                None => d.fill(0.0),
            }
        }
    });
}

/// `x[:, :, y..y+h, x..x+w]`.
pub fn crop(x: &Tensor, y: usize, x0: usize, h: usize, w: usize) -> Tensor {
    let mut out = Tensor::zeros([x.n(), h, w, x.c()]);
    crop_into(x, y, x0, &mut out);
    out
}

/// Copies the window of `out`'s size at `(y, x0)` of `x` into `out`.
pub fn crop_into(x: &Tensor, y: usize, x0: usize, out: &mut Tensor) {
    let [n, ih, iw, c] = x.shape();
    let [on, h, w, oc] = out.shape();
    assert!(on == n && oc == c, "crop output batch/channels");
    assert!(y + h <= ih && x0 + w <= iw, "crop outside the tensor");
    let src = x.data();
    for_rows(out.data_mut(), w * c, |orow, o| {
        let (b, oy) = (orow / h, orow % h);
        o.copy_from_slice(&src[((b * ih + y + oy) * iw + x0) * c..][..w * c]);
    });
}
