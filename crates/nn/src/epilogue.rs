//! Fused convolution epilogues: what happens to a convolution's raw sums before they are stored.
//!
//! # Contract for convolution kernels (general GEMM path, Winograd 3×3, later GPU)
//!
//! A kernel computes raw sums `Σ w·x` (with or without the bias, its choice) for some *whole
//! output pixels* of an NHWC output with `channels` output channels, writes them to the output
//! buffer and then — while that chunk is still hot in cache — calls
//!
//! ```text
//! epilogue.apply_row(chunk, first_pixel, channels, bias_if_not_yet_added)
//! ```
//!
//! exactly once per output element. `chunk.len()` must be a multiple of `channels`; `first_pixel`
//! is the flattened pixel index `(b * H + y) * W + x` of the chunk's first pixel in the whole
//! output tensor (the residual / post tensors are looked up at `first_pixel * channels`).
//! Kernels that tile over output channels too may call [`Epilogue::apply_block`] instead.
//! Every element must be passed through the epilogue exactly once (it is not idempotent).
//!
//! The epilogue computes, per output element at pixel `p`, channel `c`:
//!
//! ```text
//! y = act((sum + bias[c]) * channel_scale[c] + residual[p, c]) * post.0 + post.1[p, c]
//! ```
//!
//! with every term optional. This covers RIFE's `ResConv` (`lrelu(conv(x) * beta + x)`),
//! Real-ESRGAN's RDB tails (`conv(x) * 0.2 + x`) and SRVGG's PReLU, each in one pass.

use crate::Tensor;

/// The element-wise activation applied inside an [`Epilogue`] (and by `ops`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation<'a> {
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x >= 0` else `slope * x` (PyTorch `LeakyReLU(negative_slope)`).
    LeakyRelu(f32),
    /// Per-channel PReLU: `x` if `x >= 0` else `weight[c] * x` (PyTorch `PReLU(num_parameters=C)`).
    /// A single-element slice means one shared parameter, as PyTorch's default `PReLU()`.
    PRelu(&'a [f32]),
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
}

impl Activation<'_> {
    /// Applies the activation in place to channels `c0 .. c0 + span` of pixels laid out
    /// `stride` elements apart in `data` (`data[0]` is channel `c0` of the first pixel).
    /// `c0` only matters for per-channel PReLU.
    pub(crate) fn apply_span(&self, data: &mut [f32], c0: usize, span: usize, stride: usize) {
        match *self {
            Activation::None => {}
            Activation::Relu => {
                for_all_spans(data, span, stride, |s| {
                    for v in s {
                        *v = v.max(0.0);
                    }
                });
            }
            Activation::LeakyRelu(slope) => {
                for_all_spans(data, span, stride, |s| {
                    for v in s {
                        *v = if *v >= 0.0 { *v } else { *v * slope };
                    }
                });
            }
            Activation::PRelu(weight) => {
                if weight.len() == 1 {
                    let a = weight[0];
                    for_all_spans(data, span, stride, |s| {
                        for v in s {
                            *v = if *v >= 0.0 { *v } else { *v * a };
                        }
                    });
                } else {
                    let w = &weight[c0..c0 + span];
                    for_each_span(data, span, stride, |s| {
                        for (v, &a) in s.iter_mut().zip(w) {
                            *v = if *v >= 0.0 { *v } else { *v * a };
                        }
                    });
                }
            }
            Activation::Sigmoid => {
                for_all_spans(data, span, stride, |s| {
                    for v in s {
                        *v = sigmoid(*v);
                    }
                });
            }
        }
    }

    /// Applies the activation to every element of `data`, whose pixels have `channels` channels.
    pub fn apply(&self, data: &mut [f32], channels: usize) {
        self.apply_span(data, 0, channels, channels);
    }
}

/// The logistic function, written so that large `|x|` neither overflows nor loses precision.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Calls `f` on the `span` elements at every multiple of `stride` in `data` (one call per
/// pixel, so `f` may zip with per-channel vectors).
#[inline(always)]
fn for_each_span(data: &mut [f32], span: usize, stride: usize, mut f: impl FnMut(&mut [f32])) {
    for px in data.chunks_mut(stride) {
        f(&mut px[..span]);
    }
}

/// Like [`for_each_span`] for element-wise `f`: one call on all of `data` when the spans are
/// contiguous.
#[inline(always)]
fn for_all_spans(data: &mut [f32], span: usize, stride: usize, mut f: impl FnMut(&mut [f32])) {
    if span == stride {
        f(data);
    } else {
        for_each_span(data, span, stride, f);
    }
}

/// What a convolution does to its raw sums before storing them; see the module docs for the
/// formula and the kernel contract. `Epilogue::default()` is "bias only".
///
/// Tensors referenced here must have exactly the convolution's output shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// Per-output-channel multiplier applied after the bias (RIFE `ResConv.beta`).
    pub channel_scale: Option<&'a [f32]>,
    /// Added after the channel scale, before the activation (residual connection).
    pub residual: Option<&'a Tensor>,
    pub activation: Activation<'a>,
    /// `(s, t)`: after the activation, `y = y * s + t` (Real-ESRGAN `x * 0.2 + residual`).
    pub post: Option<(f32, &'a Tensor)>,
}

impl<'a> Epilogue<'a> {
    /// Bias only.
    pub fn none() -> Self {
        Epilogue::default()
    }
    /// Bias, then `activation`.
    pub fn act(activation: Activation<'a>) -> Self {
        Epilogue {
            activation,
            ..Epilogue::default()
        }
    }
    /// Bias, then LeakyReLU with the given negative slope.
    pub fn leaky_relu(slope: f32) -> Self {
        Self::act(Activation::LeakyRelu(slope))
    }
    pub fn with_activation(mut self, activation: Activation<'a>) -> Self {
        self.activation = activation;
        self
    }
    pub fn with_channel_scale(mut self, scale: &'a [f32]) -> Self {
        self.channel_scale = Some(scale);
        self
    }
    pub fn with_residual(mut self, residual: &'a Tensor) -> Self {
        self.residual = Some(residual);
        self
    }
    /// After the activation: `y = y * scale + add`.
    pub fn with_post(mut self, scale: f32, add: &'a Tensor) -> Self {
        self.post = Some((scale, add));
        self
    }

    /// Checks the referenced tensors and per-channel vectors against the output shape.
    /// Called once per convolution call, not per chunk; a mismatch is a programming error.
    pub(crate) fn check(&self, out_shape: [usize; 4]) {
        let c = out_shape[3];
        if let Some(s) = self.channel_scale {
            assert_eq!(
                s.len(),
                c,
                "epilogue channel_scale length != output channels"
            );
        }
        if let Some(r) = self.residual {
            assert_eq!(
                r.shape(),
                out_shape,
                "epilogue residual shape != output shape"
            );
        }
        if let Some((_, t)) = self.post {
            assert_eq!(
                t.shape(),
                out_shape,
                "epilogue post-add shape != output shape"
            );
        }
        if let Activation::PRelu(w) = self.activation {
            assert!(
                w.len() == c || w.len() == 1,
                "PReLU has {} parameters for {} channels",
                w.len(),
                c
            );
        }
    }

    /// True when applying this epilogue without a bias would change nothing.
    pub fn is_identity(&self) -> bool {
        self.channel_scale.is_none()
            && self.residual.is_none()
            && matches!(self.activation, Activation::None)
            && self.post.is_none()
    }

    /// Applies the epilogue to whole output pixels (see the module docs for the contract).
    ///
    /// `out`: `k * channels` raw sums for pixels `first_pixel .. first_pixel + k`.
    /// `bias`: added first, if the kernel did not add it itself.
    pub fn apply_row(
        &self,
        out: &mut [f32],
        first_pixel: usize,
        channels: usize,
        bias: Option<&[f32]>,
    ) {
        debug_assert_eq!(out.len() % channels.max(1), 0);
        self.apply_block(out, channels, first_pixel, channels, 0, channels, bias);
    }

    /// Applies the epilogue to a block of channels `c0 .. c0 + span` of consecutive output
    /// pixels, for kernels that tile over output channels.
    ///
    /// `out` holds the block's pixels at a stride of `stride` elements (pixel `i`'s channel
    /// `c0 + j` is `out[i * stride + j]`); its length must be a multiple of `stride`, or end
    /// right after the last pixel's span. `channels` is the full output channel count, used to
    /// index the residual / post tensors and per-channel vectors. `bias` is the full bias
    /// vector (indexed from `c0`), if the kernel did not add it.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_block(
        &self,
        out: &mut [f32],
        stride: usize,
        first_pixel: usize,
        channels: usize,
        c0: usize,
        span: usize,
        bias: Option<&[f32]>,
    ) {
        if span == 0 || out.is_empty() {
            return;
        }
        let pixels = out.len().div_ceil(stride);
        match (bias, self.channel_scale) {
            (Some(b), Some(s)) => {
                let (b, s) = (&b[c0..c0 + span], &s[c0..c0 + span]);
                for_each_span(out, span, stride, |px| {
                    for ((v, &b), &s) in px.iter_mut().zip(b).zip(s) {
                        *v = (*v + b) * s;
                    }
                });
            }
            (Some(b), None) => {
                let b = &b[c0..c0 + span];
                for_each_span(out, span, stride, |px| {
                    for (v, &b) in px.iter_mut().zip(b) {
                        *v += b;
                    }
                });
            }
            (None, Some(s)) => {
                let s = &s[c0..c0 + span];
                for_each_span(out, span, stride, |px| {
                    for (v, &s) in px.iter_mut().zip(s) {
                        *v *= s;
                    }
                });
            }
            (None, None) => {}
        }
        if let Some(r) = self.residual {
            add_block(
                out,
                r.data(),
                stride,
                first_pixel,
                pixels,
                channels,
                c0,
                span,
            );
        }
        self.activation.apply_span(out, c0, span, stride);
        if let Some((scale, t)) = self.post {
            if scale != 1.0 {
                for_all_spans(out, span, stride, |px| {
                    for v in px {
                        *v *= scale;
                    }
                });
            }
            add_block(
                out,
                t.data(),
                stride,
                first_pixel,
                pixels,
                channels,
                c0,
                span,
            );
        }
    }
}

/// `out[i*stride + j] += src[(first_pixel + i) * channels + c0 + j]`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn add_block(
    out: &mut [f32],
    src: &[f32],
    stride: usize,
    first_pixel: usize,
    pixels: usize,
    channels: usize,
    c0: usize,
    span: usize,
) {
    if span == stride && span == channels {
        let src = &src[first_pixel * channels..][..out.len()];
        for (v, &r) in out.iter_mut().zip(src) {
            *v += r;
        }
        return;
    }
    for i in 0..pixels {
        let o = &mut out[i * stride..][..span];
        let s = &src[(first_pixel + i) * channels + c0..][..span];
        for (v, &r) in o.iter_mut().zip(s) {
            *v += r;
        }
    }
}
