//! The building blocks of every IFNet layout: the per-frame feature encoder and the IFBlock in
//! its three styles (see [`BlockStyle`]), with their weights read by the official key names.

use upframe_nn::{ops, Activation, Backend, Conv2d, ConvTranspose2d, Fused};

use super::layout::{BlockStyle, EncoderStyle};
use crate::error::ModelError;
use crate::layers::{conv2d, conv_transpose2d, dim, grouped_conv2d, vector};
use crate::state_dict::StateDict;

pub(super) const LRELU: f32 = 0.2;
/// Flow channels (two 2-D flows: towards frame 0 and towards frame 1).
pub(super) const FLOW: usize = 4;

/// A convolution and its activation: a per-channel PReLU (v4.0 `conv()` and the refinement
/// net) or LeakyReLU(0.2).
#[derive(Debug)]
pub(super) struct ConvAct {
    pub conv: Conv2d,
    prelu: Option<Vec<f32>>,
}

impl ConvAct {
    /// `conv(cin, cout, 3, stride, 1)` at `prefix` (`{prefix}.0` the convolution, `{prefix}.1`
    /// the PReLU when `prelu`).
    pub fn load(
        sd: &StateDict,
        prefix: &str,
        cin: usize,
        cout: usize,
        stride: usize,
        prelu: bool,
    ) -> Result<Self, ModelError> {
        let conv = conv2d(sd, &format!("{prefix}.0"), cin, cout, 3, stride, 1)?;
        let prelu = if prelu {
            Some(vector(sd, &format!("{prefix}.1.weight"), &[cout])?)
        } else {
            None
        };
        Ok(ConvAct { conv, prelu })
    }

    pub fn activation(&self) -> Activation<'_> {
        match &self.prelu {
            Some(w) => Activation::PRelu(w),
            None => Activation::LeakyRelu(LRELU),
        }
    }

    pub fn forward<B: Backend>(&self, x: &B::Tensor, b: &mut B) -> B::Tensor {
        b.conv2d(&self.conv, x, &Fused::act(self.activation()))
    }
}

/// The feature encoder: convolutions (the first with stride 2), each followed by LeakyReLU
/// unless the layout has none between them, then a transposed convolution back to full
/// resolution.
#[derive(Debug)]
pub(super) struct Encoder {
    convs: Vec<Conv2d>,
    activation: bool,
    last: ConvTranspose2d,
}

impl Encoder {
    pub fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv2d)) {
        self.convs.iter_mut().for_each(f);
    }

    pub fn load(sd: &StateDict, style: EncoderStyle) -> Result<Option<Self>, ModelError> {
        let (convs, last, activation): (&[&str], &str, bool) = match style {
            EncoderStyle::None => return Ok(None),
            EncoderStyle::Pair => (&["encode.0"], "encode.1", false),
            EncoderStyle::Sequential => (&["encode.0", "encode.2", "encode.4"], "encode.6", true),
            EncoderStyle::Head => (
                &["encode.cnn0", "encode.cnn1", "encode.cnn2"],
                "encode.cnn3",
                true,
            ),
        };
        let hidden = dim(sd, &format!("{}.weight", convs[0]), 4, 0)?;
        let channels = dim(sd, &format!("{last}.weight"), 4, 1)?;
        let mut layers = Vec::with_capacity(convs.len());
        for (i, name) in convs.iter().enumerate() {
            let (cin, stride) = if i == 0 { (3, 2) } else { (hidden, 1) };
            layers.push(conv2d(sd, name, cin, hidden, 3, stride, 1)?);
        }
        Ok(Some(Encoder {
            convs: layers,
            activation,
            last: conv_transpose2d(sd, last, hidden, channels, 4, 2, 1)?,
        }))
    }

    pub fn forward<B: Backend>(&self, img: &B::Tensor, b: &mut B) -> B::Tensor {
        let epilogue = if self.activation {
            Fused::act(Activation::LeakyRelu(LRELU))
        } else {
            Fused::none()
        };
        let mut x: Option<B::Tensor> = None;
        for conv in &self.convs {
            let next = b.conv2d(conv, x.as_ref().unwrap_or(img), &epilogue);
            if let Some(prev) = x.replace(next) {
                b.recycle(prev);
            }
        }
        let hidden = x.expect("an encoder has at least one convolution");
        let out = b.conv_transpose2d(&self.last, &hidden, &Fused::none());
        b.recycle(hidden);
        out
    }
}

/// The body between `conv0` and the last layer.
#[derive(Debug)]
enum Body {
    /// Plain convolutions; `residual`: `convblock(feat) + feat` (v4.0/v4.1).
    Plain { convs: Vec<ConvAct>, residual: bool },
    /// `ResConv`s: `lrelu(conv(x)·β + x)`.
    Res(Vec<(Conv2d, Vec<f32>)>),
}

/// The last layer and how its output reaches full resolution.
#[derive(Debug)]
enum Tail {
    /// `ConvTranspose2d(c, 5)` at half the block resolution, upsampled by `2·scale`.
    Direct(ConvTranspose2d),
    /// `ConvTranspose2d(c, 4·k)` + `PixelShuffle(2)`, upsampled by `scale`.
    Shuffle(ConvTranspose2d),
}

/// One IFBlock: input downsampled by `1/scale` (the flow, last in the input, divided by
/// `scale`), two stride-2 convolutions, the body, and the last layer upsampled back to the input
/// size, its first 4 channels (flow) multiplied back.
#[derive(Debug)]
pub(super) struct IfBlock {
    pub in_channels: usize,
    /// Channels of the full-resolution output: flow (4), mask (1), then features.
    pub out_channels: usize,
    pub width: usize,
    conv0: [ConvAct; 2],
    body: Body,
    tail: Tail,
}

impl IfBlock {
    pub fn load(sd: &StateDict, prefix: &str, style: BlockStyle) -> Result<Self, ModelError> {
        let half = dim(sd, &format!("{prefix}.conv0.0.0.weight"), 4, 0)?;
        let in_channels = dim(sd, &format!("{prefix}.conv0.0.0.weight"), 4, 1)?;
        let c = dim(sd, &format!("{prefix}.conv0.1.0.weight"), 4, 0)?;
        let prelu = style == BlockStyle::PreluPlain;
        let conv0 = [
            ConvAct::load(
                sd,
                &format!("{prefix}.conv0.0"),
                in_channels,
                half,
                2,
                prelu,
            )?,
            ConvAct::load(sd, &format!("{prefix}.conv0.1"), half, c, 2, prelu)?,
        ];
        let body = match style {
            BlockStyle::PreluPlain | BlockStyle::LeakyPlain => {
                let mut convs = Vec::new();
                while sd.contains(&format!("{prefix}.convblock.{}.0.weight", convs.len())) {
                    let p = format!("{prefix}.convblock.{}", convs.len());
                    convs.push(ConvAct::load(sd, &p, c, c, 1, prelu)?);
                }
                Body::Plain {
                    convs,
                    residual: prelu,
                }
            }
            BlockStyle::ResConv { groups } => {
                let mut res = Vec::new();
                while sd.contains(&format!("{prefix}.convblock.{}.conv.weight", res.len())) {
                    let p = format!("{prefix}.convblock.{}", res.len());
                    let conv = grouped_conv2d(sd, &format!("{p}.conv"), c, c, 3, 1, 1, groups)?;
                    let beta = vector(sd, &format!("{p}.beta"), &[1, c, 1, 1])?;
                    res.push((conv, beta));
                }
                Body::Res(res)
            }
        };
        let (tail, out_channels) = match style {
            BlockStyle::ResConv { .. } => {
                let key = format!("{prefix}.lastconv.0");
                let shuffled = dim(sd, &format!("{key}.weight"), 4, 1)?;
                if shuffled % 4 != 0 {
                    return Err(ModelError::InvalidHyperparameters(format!(
                        "`{key}` has {shuffled} outputs, not a multiple of 4 (pixel shuffle 2)"
                    )));
                }
                let conv = conv_transpose2d(sd, &key, c, shuffled, 4, 2, 1)?;
                (Tail::Shuffle(conv), shuffled / 4)
            }
            _ => {
                let key = format!("{prefix}.lastconv");
                let out = dim(sd, &format!("{key}.weight"), 4, 1)?;
                (
                    Tail::Direct(conv_transpose2d(sd, &key, c, out, 4, 2, 1)?),
                    out,
                )
            }
        };
        if out_channels < FLOW + 1 {
            return Err(ModelError::InvalidHyperparameters(format!(
                "`{prefix}` gives {out_channels} channels, too few for flow and mask"
            )));
        }
        Ok(IfBlock {
            in_channels,
            out_channels,
            width: c,
            conv0,
            body,
            tail,
        })
    }

    /// Convolutions in the body (8 in every official layout).
    pub fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv2d)) {
        for c in &mut self.conv0 {
            f(&mut c.conv);
        }
        match &mut self.body {
            Body::Plain { convs, .. } => convs.iter_mut().for_each(|c| f(&mut c.conv)),
            Body::Res(convs) => convs.iter_mut().for_each(|(c, _)| f(c)),
        }
    }

    pub fn body_len(&self) -> usize {
        match &self.body {
            Body::Plain { convs, .. } => convs.len(),
            Body::Res(res) => res.len(),
        }
    }

    /// `x`: the block input at full resolution, the current flow (if any) in its last 4
    /// channels. Returns flow (already multiplied back), mask and features at full resolution,
    /// or `None` if the sizes do not round-trip (input not aligned).
    pub fn forward<B: Backend>(
        &self,
        x: &B::Tensor,
        has_flow: bool,
        scale: f64,
        b: &mut B,
    ) -> Option<B::Tensor> {
        let [_, h, w, c] = b.shape(x);
        // F.interpolate(x, scale_factor=1/scale, mode="bilinear"); the flow is then divided by
        // `scale` (resizing is per channel, so resizing the concatenation is the same).
        let down = if scale == 1.0 {
            None
        } else {
            let sf = 1.0 / scale;
            let (dh, dw) = ops::scaled_size(h, w, sf);
            if dh == 0 || dw == 0 {
                return None;
            }
            let mut d = b.resize_bilinear(x, sf);
            if has_flow {
                b.scale_channels_inplace(&mut d, c - FLOW..c, 1.0, scale as f32);
            }
            Some(d)
        };
        let input = down.as_ref().unwrap_or(x);
        let a = self.conv0[0].forward(input, b);
        if let Some(d) = down {
            b.recycle(d);
        }
        let mut feat = self.conv0[1].forward(&a, b);
        b.recycle(a);
        match &self.body {
            Body::Res(res) => {
                for (conv, beta) in res {
                    let next = b.conv2d(
                        conv,
                        &feat,
                        &Fused::act(Activation::LeakyRelu(LRELU))
                            .with_channel_scale(beta)
                            .with_residual(&feat),
                    );
                    b.recycle(std::mem::replace(&mut feat, next));
                }
            }
            Body::Plain { convs, residual } => {
                // `convblock(feat) + feat`: the residual is added after the last activation.
                let mut cur: Option<B::Tensor> = None;
                for (i, layer) in convs.iter().enumerate() {
                    let src = cur.as_ref().unwrap_or(&feat);
                    let mut epilogue = Fused::act(layer.activation());
                    if *residual && i + 1 == convs.len() {
                        epilogue = epilogue.with_post(1.0, &feat);
                    }
                    let next = b.conv2d(&layer.conv, src, &epilogue);
                    if let Some(prev) = cur.replace(next) {
                        b.recycle(prev);
                    }
                }
                if let Some(out) = cur {
                    b.recycle(std::mem::replace(&mut feat, out));
                }
            }
        }
        let (mut tmp, up_factor, flow_factor) = match &self.tail {
            Tail::Shuffle(conv) => {
                let t = b.conv_transpose2d(conv, &feat, &Fused::none());
                let shuffled = b.pixel_shuffle(&t, 2);
                b.recycle(t);
                (shuffled, scale, None)
            }
            // `F.interpolate(tmp, scale_factor=scale * 2)`, `flow = tmp[:, :4] * scale * 2`.
            Tail::Direct(conv) => (
                b.conv_transpose2d(conv, &feat, &Fused::none()),
                scale * 2.0,
                Some(2.0f32),
            ),
        };
        b.recycle(feat);
        if up_factor != 1.0 {
            let [_, th, tw, _] = b.shape(&tmp);
            let (uh, uw) = ops::scaled_size(th, tw, up_factor);
            if (uh, uw) != (h, w) {
                b.recycle(tmp);
                return None;
            }
            let u = b.resize_bilinear(&tmp, up_factor);
            b.recycle(std::mem::replace(&mut tmp, u));
        }
        if b.shape(&tmp)[1..3] != [h, w] {
            b.recycle(tmp);
            return None;
        }
        b.scale_channels_inplace(&mut tmp, 0..FLOW, scale as f32, 1.0);
        if let Some(f) = flow_factor {
            b.scale_channels_inplace(&mut tmp, 0..FLOW, f, 1.0);
        }
        Some(tmp)
    }
}
