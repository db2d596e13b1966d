//! The execution backend the networks' forward passes are written against, so each model is
//! written once and runs on the CPU kernels of this crate ([`Cpu`]) or on another device (the
//! `upframe-gpu` crate implements [`Backend`] with wgpu compute shaders).
//!
//! The op set is the one the networks need, each with the semantics of the CPU function named in
//! its doc. Tensors are the backend's own handles ([`Backend::Tensor`]); layers ([`Conv2d`]) and
//! per-channel vectors stay CPU objects that a device backend uploads once and caches.
//!
//! Ops are infallible here: a device backend records the first failure (out of memory, device
//! lost) and reports it when its results are read back, as GPU APIs themselves do. The CPU
//! backend cannot fail.

use std::ops::Range;

use crate::{ops, Activation, Conv2d, ConvTranspose2d, Epilogue, Tensor, Workspace};

/// [`Epilogue`] over a backend's tensors: per output element at pixel `p`, channel `c`,
/// `y = act((sum + bias[c]) * channel_scale[c] + residual[p, c]) * post.0 + post.1[p, c]`.
#[derive(Clone, Copy, Debug)]
pub struct Fused<'a, T> {
    pub channel_scale: Option<&'a [f32]>,
    pub residual: Option<&'a T>,
    pub activation: Activation<'a>,
    pub post: Option<(f32, &'a T)>,
}

impl<'a, T> Fused<'a, T> {
    /// Bias only.
    pub fn none() -> Self {
        Fused {
            channel_scale: None,
            residual: None,
            activation: Activation::None,
            post: None,
        }
    }
    /// Bias, then `activation`.
    pub fn act(activation: Activation<'a>) -> Self {
        Fused {
            activation,
            ..Self::none()
        }
    }
    pub fn with_channel_scale(mut self, scale: &'a [f32]) -> Self {
        self.channel_scale = Some(scale);
        self
    }
    pub fn with_residual(mut self, residual: &'a T) -> Self {
        self.residual = Some(residual);
        self
    }
    /// After the activation: `y = y * scale + add`.
    pub fn with_post(mut self, scale: f32, add: &'a T) -> Self {
        self.post = Some((scale, add));
        self
    }
}

impl<'a> Fused<'a, Tensor> {
    /// The CPU [`Epilogue`] with the same terms.
    pub fn to_epilogue(&self) -> Epilogue<'a> {
        Epilogue {
            channel_scale: self.channel_scale,
            residual: self.residual,
            activation: self.activation,
            post: self.post,
        }
    }
}

/// The ops a network's forward pass runs. Every returned tensor is the backend's to reuse once
/// given back with [`Backend::recycle`].
pub trait Backend {
    /// An NHWC tensor living on this backend.
    type Tensor;

    /// `[n, h, w, c]`.
    fn shape(&self, t: &Self::Tensor) -> [usize; 4];
    /// [`Conv2d::forward_ws`] with the epilogue `ep`.
    fn conv2d(
        &mut self,
        conv: &Conv2d,
        x: &Self::Tensor,
        ep: &Fused<'_, Self::Tensor>,
    ) -> Self::Tensor;
    /// Each input channel `ch` repeated `times` times: output channel `ch·times + k` is input
    /// channel `ch` (nearest upsampling laid out as a pixel-shuffle input).
    fn repeat_channels(&mut self, x: &Self::Tensor, times: usize) -> Self::Tensor;
    /// [`ops::pixel_shuffle`].
    fn pixel_shuffle(&mut self, x: &Self::Tensor, r: usize) -> Self::Tensor;
    /// [`ops::pixel_unshuffle`].
    fn pixel_unshuffle(&mut self, x: &Self::Tensor, r: usize) -> Self::Tensor;
    /// [`ops::upsample_nearest`] by an integer factor.
    fn upsample_nearest(&mut self, x: &Self::Tensor, r: usize) -> Self::Tensor;
    /// [`ops::concat_channels`].
    fn concat_channels(&mut self, parts: &[&Self::Tensor]) -> Self::Tensor;
    /// `a = a * s + b` ([`ops::scale_add_inplace`]).
    fn scale_add_inplace(&mut self, a: &mut Self::Tensor, s: f32, b: &Self::Tensor);
    /// A copy of `x`.
    fn copy(&mut self, x: &Self::Tensor) -> Self::Tensor;

    // RIFE (IFNet) ops.

    /// [`ConvTranspose2d::forward_ws`] with the epilogue `ep`.
    fn conv_transpose2d(
        &mut self,
        conv: &ConvTranspose2d,
        x: &Self::Tensor,
        ep: &Fused<'_, Self::Tensor>,
    ) -> Self::Tensor;
    /// `F.interpolate(x, scale_factor=sf, mode="bilinear", align_corners=False)`
    /// ([`ops::resize_bilinear_scale`]: output `floor(h·sf) × floor(w·sf)`, which must not be
    /// empty).
    fn resize_bilinear(&mut self, x: &Self::Tensor, sf: f64) -> Self::Tensor;
    /// RIFE's backward warp of `img` by the flow in channels `flow_c0, flow_c0 + 1` of `flow`
    /// ([`ops::warp_into`]).
    fn warp(&mut self, img: &Self::Tensor, flow: &Self::Tensor, flow_c0: usize) -> Self::Tensor;
    /// Channel ranges of same-sized tensors concatenated ([`ops::gather_channels_into`]).
    fn gather_channels(&mut self, parts: &[(&Self::Tensor, Range<usize>)]) -> Self::Tensor;
    /// `x[:, range] = x[:, range] * mul / div` ([`ops::scale_channels_inplace`]).
    fn scale_channels_inplace(
        &mut self,
        x: &mut Self::Tensor,
        range: Range<usize>,
        mul: f32,
        div: f32,
    );
    /// `a[:, a_c0..] = (a · sa + b[:, b_range] · sb) · s_out`
    /// ([`ops::combine_channels_inplace`]).
    #[allow(clippy::too_many_arguments)]
    fn combine_channels_inplace(
        &mut self,
        a: &mut Self::Tensor,
        a_c0: usize,
        sa: f32,
        b: &Self::Tensor,
        b_range: Range<usize>,
        sb: f32,
        s_out: f32,
    );
    /// A tensor of `shape` filled with `value` ([`ops::full`]).
    fn full(&mut self, shape: [usize; 4], value: f32) -> Self::Tensor;
    /// `torch.sigmoid(x)`.
    fn sigmoid(&mut self, x: &Self::Tensor) -> Self::Tensor;
    /// `a · mask + b · (1 − mask)` ([`ops::blend_into`]).
    fn blend(&mut self, a: &Self::Tensor, b: &Self::Tensor, mask: &Self::Tensor) -> Self::Tensor;
    /// `frame = clamp(frame + res · 2 − 1, 0, 1)` ([`ops::add_refinement_inplace`]).
    fn add_refinement_inplace(&mut self, frame: &mut Self::Tensor, res: &Self::Tensor);
    /// `max |x[:, range]|` ([`ops::max_abs_channels`]). A device backend waits for the work
    /// recorded so far; after a failure it returns 0 and keeps the failure for the next read.
    fn max_abs_channels(&mut self, x: &Self::Tensor, range: Range<usize>) -> f32;

    /// Gives a tensor's memory back for reuse.
    fn recycle(&mut self, t: Self::Tensor);
}

/// The CPU backend: this crate's kernels drawing their buffers from a [`Workspace`], exactly
/// what the networks ran before backends existed.
#[derive(Debug)]
pub struct Cpu<'w> {
    pub ws: &'w mut Workspace,
}

impl<'w> Cpu<'w> {
    pub fn new(ws: &'w mut Workspace) -> Self {
        Cpu { ws }
    }
}

impl Backend for Cpu<'_> {
    type Tensor = Tensor;

    fn shape(&self, t: &Tensor) -> [usize; 4] {
        t.shape()
    }

    fn conv2d(&mut self, conv: &Conv2d, x: &Tensor, ep: &Fused<'_, Tensor>) -> Tensor {
        conv.forward_ws(x, &ep.to_epilogue(), self.ws)
    }

    fn repeat_channels(&mut self, x: &Tensor, times: usize) -> Tensor {
        let [n, h, w, c] = x.shape();
        let mut out = self.ws.tensor([n, h, w, c * times]);
        for (o, px) in out
            .data_mut()
            .chunks_exact_mut(c * times)
            .zip(x.data().chunks_exact(c))
        {
            for (ch, &v) in px.iter().enumerate() {
                o[ch * times..(ch + 1) * times].fill(v);
            }
        }
        out
    }

    fn pixel_shuffle(&mut self, x: &Tensor, r: usize) -> Tensor {
        let [n, h, w, c] = x.shape();
        let mut out = self.ws.tensor([n, h * r, w * r, c / (r * r)]);
        ops::pixel_shuffle_into(x, r, &mut out);
        out
    }

    fn pixel_unshuffle(&mut self, x: &Tensor, r: usize) -> Tensor {
        let [n, h, w, c] = x.shape();
        let mut out = self.ws.tensor([n, h / r, w / r, c * r * r]);
        ops::pixel_unshuffle_into(x, r, &mut out);
        out
    }

    fn upsample_nearest(&mut self, x: &Tensor, r: usize) -> Tensor {
        let [n, h, w, c] = x.shape();
        let mut out = self.ws.tensor([n, h * r, w * r, c]);
        ops::upsample_nearest_into(x, r, &mut out);
        out
    }

    fn concat_channels(&mut self, parts: &[&Tensor]) -> Tensor {
        let [n, h, w, _] = parts[0].shape();
        let c = parts.iter().map(|t| t.c()).sum();
        let mut out = self.ws.tensor([n, h, w, c]);
        ops::concat_channels_into(parts, &mut out);
        out
    }

    fn scale_add_inplace(&mut self, a: &mut Tensor, s: f32, b: &Tensor) {
        ops::scale_add_inplace(a, s, b);
    }

    fn copy(&mut self, x: &Tensor) -> Tensor {
        self.ws.copy_of(x)
    }

    fn conv_transpose2d(
        &mut self,
        conv: &ConvTranspose2d,
        x: &Tensor,
        ep: &Fused<'_, Tensor>,
    ) -> Tensor {
        conv.forward_ws(x, &ep.to_epilogue(), self.ws)
    }

    fn resize_bilinear(&mut self, x: &Tensor, sf: f64) -> Tensor {
        let [n, h, w, c] = x.shape();
        let (oh, ow) = ops::scaled_size(h, w, sf);
        let mut out = self.ws.tensor([n, oh, ow, c]);
        ops::resize_bilinear_into(x, Some(sf), &mut out);
        out
    }

    fn warp(&mut self, img: &Tensor, flow: &Tensor, flow_c0: usize) -> Tensor {
        let mut out = self.ws.tensor(img.shape());
        ops::warp_into(img, flow, flow_c0, &mut out);
        out
    }

    fn gather_channels(&mut self, parts: &[(&Tensor, Range<usize>)]) -> Tensor {
        let [n, h, w, _] = parts[0].0.shape();
        let c = parts.iter().map(|(_, r)| r.len()).sum();
        let mut out = self.ws.tensor([n, h, w, c]);
        ops::gather_channels_into(parts, &mut out);
        out
    }

    fn scale_channels_inplace(&mut self, x: &mut Tensor, range: Range<usize>, mul: f32, div: f32) {
        ops::scale_channels_inplace(x, range, mul, div);
    }

    fn combine_channels_inplace(
        &mut self,
        a: &mut Tensor,
        a_c0: usize,
        sa: f32,
        b: &Tensor,
        b_range: Range<usize>,
        sb: f32,
        s_out: f32,
    ) {
        ops::combine_channels_inplace(a, a_c0, sa, b, b_range, sb, s_out);
    }

    fn full(&mut self, shape: [usize; 4], value: f32) -> Tensor {
        let mut out = self.ws.tensor(shape);
        out.data_mut().fill(value);
        out
    }

    fn sigmoid(&mut self, x: &Tensor) -> Tensor {
        let mut out = self.ws.copy_of(x);
        ops::activate_inplace(&mut out, Activation::Sigmoid);
        out
    }

    fn blend(&mut self, a: &Tensor, b: &Tensor, mask: &Tensor) -> Tensor {
        let mut out = self.ws.tensor(a.shape());
        ops::blend_into(a, b, mask, &mut out);
        out
    }

    fn add_refinement_inplace(&mut self, frame: &mut Tensor, res: &Tensor) {
        ops::add_refinement_inplace(frame, res);
    }

    fn max_abs_channels(&mut self, x: &Tensor, range: Range<usize>) -> f32 {
        ops::max_abs_channels(x, range)
    }

    fn recycle(&mut self, t: Tensor) {
        self.ws.recycle(t);
    }
}
