//! IFNet, RIFE's flow network, as in Practical-RIFE v4.25 / v4.26 (`IFNet_HDv3`): a `Head`
//! encoder gives 4 feature channels per frame, then 5 IFBlocks refine flow / mask / features
//! coarse to fine (`scale_list = [16, 8, 4, 2, 1] / scale`), and the output is the two frames
//! warped by the flow and merged by the sigmoid mask. 4.25 and 4.26 share this forward pass.
//!
//! Blocks and the encoder are generic over their sizes (inferred from the weights), so other
//! v4.x layouts (e.g. 4.6: 4 blocks, no encoder) need only their input assembly added.

use std::ops::Range;

use rayon::prelude::*;
use upframe_nn::{ops, Activation, Conv2d, ConvTranspose2d, Epilogue, Tensor, Workspace};

use crate::error::ModelError;
use crate::layers::{conv2d, conv_transpose2d, dim, vector};
use crate::state_dict::StateDict;

const LRELU: f32 = 0.2;
/// Flow channels (two 2-D flows: towards frame 0 and towards frame 1).
const FLOW: usize = 4;

/// The feature encoder (`encode`): three strided / plain 3×3 convolutions with LeakyReLU and a
/// transposed convolution back to full resolution.
#[derive(Debug)]
struct Head {
    cnn0: Conv2d,
    cnn1: Conv2d,
    cnn2: Conv2d,
    cnn3: ConvTranspose2d,
}

impl Head {
    fn load(sd: &StateDict) -> Result<(Self, usize), ModelError> {
        let c = dim(sd, "encode.cnn0.weight", 4, 0)?;
        let out = dim(sd, "encode.cnn3.weight", 4, 1)?;
        let head = Head {
            cnn0: conv2d(sd, "encode.cnn0", 3, c, 3, 2, 1)?,
            cnn1: conv2d(sd, "encode.cnn1", c, c, 3, 1, 1)?,
            cnn2: conv2d(sd, "encode.cnn2", c, c, 3, 1, 1)?,
            cnn3: conv_transpose2d(sd, "encode.cnn3", c, out, 4, 2, 1)?,
        };
        Ok((head, out))
    }

    fn forward(&self, img: &Tensor, ws: &mut Workspace) -> Tensor {
        let lrelu = Epilogue::leaky_relu(LRELU);
        let a = self.cnn0.forward_ws(img, &lrelu, ws);
        let b = self.cnn1.forward_ws(&a, &lrelu, ws);
        ws.recycle(a);
        let c = self.cnn2.forward_ws(&b, &lrelu, ws);
        ws.recycle(b);
        let out = self.cnn3.forward_ws(&c, &Epilogue::none(), ws);
        ws.recycle(c);
        out
    }
}

/// One IFBlock: two stride-2 convolutions, residual convolutions `lrelu(conv(x)·β + x)`, and a
/// transposed convolution + pixel shuffle giving flow, mask and features at 4× the feature
/// resolution.
#[derive(Debug)]
struct IfBlock {
    in_channels: usize,
    out_channels: usize,
    conv0: [Conv2d; 2],
    res: Vec<(Conv2d, Vec<f32>)>,
    lastconv: ConvTranspose2d,
}

impl IfBlock {
    fn load(sd: &StateDict, prefix: &str) -> Result<Self, ModelError> {
        let half = dim(sd, &format!("{prefix}.conv0.0.0.weight"), 4, 0)?;
        let in_channels = dim(sd, &format!("{prefix}.conv0.0.0.weight"), 4, 1)?;
        let c = dim(sd, &format!("{prefix}.conv0.1.0.weight"), 4, 0)?;
        let shuffled = dim(sd, &format!("{prefix}.lastconv.0.weight"), 4, 1)?;
        if shuffled % 4 != 0 {
            return Err(ModelError::InvalidHyperparameters(format!(
                "`{prefix}.lastconv.0` has {shuffled} outputs, not a multiple of 4 (pixel shuffle 2)"
            )));
        }
        let conv0 = [
            conv2d(
                sd,
                &format!("{prefix}.conv0.0.0"),
                in_channels,
                half,
                3,
                2,
                1,
            )?,
            conv2d(sd, &format!("{prefix}.conv0.1.0"), half, c, 3, 2, 1)?,
        ];
        let mut res = Vec::new();
        while sd.contains(&format!("{prefix}.convblock.{}.conv.weight", res.len())) {
            let p = format!("{prefix}.convblock.{}", res.len());
            let conv = conv2d(sd, &format!("{p}.conv"), c, c, 3, 1, 1)?;
            let beta = vector(sd, &format!("{p}.beta"), &[1, c, 1, 1])?;
            res.push((conv, beta));
        }
        let lastconv = conv_transpose2d(sd, &format!("{prefix}.lastconv.0"), c, shuffled, 4, 2, 1)?;
        Ok(IfBlock {
            in_channels,
            out_channels: shuffled / 4,
            conv0,
            res,
            lastconv,
        })
    }

    /// `x`: the block input at full resolution, the current flow (if any) in its last 4
    /// channels. Returns flow (already multiplied by `scale`), mask and features at full
    /// resolution, or `None` if the sizes do not round-trip (input not aligned).
    fn forward(
        &self,
        x: &Tensor,
        has_flow: bool,
        scale: f64,
        ws: &mut Workspace,
    ) -> Option<Tensor> {
        let [n, h, w, c] = x.shape();
        let lrelu = Epilogue::leaky_relu(LRELU);
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
            let mut d = ws.tensor([n, dh, dw, c]);
            ops::resize_bilinear_into(x, Some(sf), &mut d);
            if has_flow {
                let s = scale as f32;
                d.data_mut().par_chunks_mut(c).for_each(|px| {
                    for v in &mut px[c - FLOW..] {
                        *v /= s;
                    }
                });
            }
            Some(d)
        };
        let input = down.as_ref().unwrap_or(x);
        let a = self.conv0[0].forward_ws(input, &lrelu, ws);
        if let Some(d) = down {
            ws.recycle(d);
        }
        let mut feat = self.conv0[1].forward_ws(&a, &lrelu, ws);
        ws.recycle(a);
        for (conv, beta) in &self.res {
            let epilogue = Epilogue::act(Activation::LeakyRelu(LRELU))
                .with_channel_scale(beta)
                .with_residual(&feat);
            let next = conv.forward_ws(&feat, &epilogue, ws);
            ws.recycle(std::mem::replace(&mut feat, next));
        }
        let t = self.lastconv.forward_ws(&feat, &Epilogue::none(), ws);
        ws.recycle(feat);
        let [_, th, tw, tc] = t.shape();
        let mut tmp = ws.tensor([n, th * 2, tw * 2, tc / 4]);
        ops::pixel_shuffle_into(&t, 2, &mut tmp);
        ws.recycle(t);
        // F.interpolate(tmp, scale_factor=scale, mode="bilinear"); flow = tmp[:, :4] * scale.
        let mut up = if scale == 1.0 {
            tmp
        } else {
            let (uh, uw) = ops::scaled_size(tmp.h(), tmp.w(), scale);
            if (uh, uw) != (h, w) {
                ws.recycle(tmp);
                return None;
            }
            let mut u = ws.tensor([n, uh, uw, self.out_channels]);
            ops::resize_bilinear_into(&tmp, Some(scale), &mut u);
            ws.recycle(tmp);
            u
        };
        if up.shape()[1..3] != [h, w] {
            ws.recycle(up);
            return None;
        }
        let s = scale as f32;
        let oc = self.out_channels;
        up.data_mut().par_chunks_mut(oc).for_each(|px| {
            for v in &mut px[..FLOW] {
                *v *= s;
            }
        });
        Some(up)
    }
}

/// IFNet hyperparameters, inferred from the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct IfNetConfig {
    /// Human-readable family, e.g. "v4.25/v4.26".
    pub version: String,
    /// Channels `c` of each IFBlock, coarse to fine.
    pub block_channels: Vec<usize>,
    /// Residual convolutions per block.
    pub res_convs: usize,
    /// Feature channels the encoder gives per frame.
    pub encoder_channels: usize,
    /// Feature channels each block passes to the next.
    pub block_feat_channels: usize,
}

/// The result of one interpolation, NHWC at the input size.
#[derive(Debug)]
pub struct Interpolation {
    /// `warped_img0 · mask + warped_img1 · (1 − mask)`, not clamped.
    pub frame: Tensor,
    /// The last block's flow: channels `(x0, y0, x1, y1)` in pixels.
    pub flow: Tensor,
    /// The merge mask after the sigmoid, in [0, 1].
    pub mask: Tensor,
    /// The last block's raw mask logit, before the sigmoid (what the official `IFNet.forward`
    /// returns as `mask_list[4]`, and what the goldens hold as `mask`).
    pub mask_logits: Tensor,
}

/// A loaded IFNet (v4.25 / v4.26 layout).
#[derive(Debug)]
pub struct IfNet {
    config: IfNetConfig,
    head: Head,
    blocks: Vec<IfBlock>,
}

/// Copies channel ranges of several same-sized tensors into `out`, in order (`torch.cat` of
/// slices without the intermediate copies).
fn gather_channels(parts: &[(&Tensor, Range<usize>)], out: &mut Tensor) {
    let c = out.c();
    let w = out.w();
    debug_assert_eq!(parts.iter().map(|(_, r)| r.len()).sum::<usize>(), c);
    out.data_mut()
        .par_chunks_mut(w * c)
        .enumerate()
        .for_each(|(row, o)| {
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

impl IfNet {
    pub fn from_state_dict(sd: &StateDict) -> Result<Self, ModelError> {
        // Training-only parts (`teacher.*`, `caltime.*`) are simply never read.
        let (head, enc) = Head::load(sd)?;
        let mut blocks = Vec::new();
        while sd.contains(&format!("block{}.conv0.0.0.weight", blocks.len())) {
            blocks.push(IfBlock::load(sd, &format!("block{}", blocks.len()))?);
        }
        if blocks.len() < 2 {
            return Err(ModelError::InvalidHyperparameters(format!(
                "IFNet needs at least 2 blocks, found {}",
                blocks.len()
            )));
        }
        let out = blocks[0].out_channels;
        if out < FLOW + 1 {
            return Err(ModelError::InvalidHyperparameters(format!(
                "IFBlock output of {out} channels cannot hold flow and mask"
            )));
        }
        let feat = out - FLOW - 1;
        // block0: img0, img1, f0, f1, timestep; later: warped imgs and features, timestep,
        // mask, feat, flow.
        let first_in = 3 + 3 + 2 * enc + 1;
        let later_in = 3 + 3 + 2 * enc + 1 + 1 + feat + FLOW;
        for (i, b) in blocks.iter().enumerate() {
            let expected = if i == 0 { first_in } else { later_in };
            if b.in_channels != expected || b.out_channels != out {
                return Err(ModelError::InvalidHyperparameters(format!(
                    "block{i} takes {} channels and gives {}; this IFNet layout needs {expected} and {out}",
                    b.in_channels, b.out_channels
                )));
            }
        }
        let res_convs = blocks[0].res.len();
        let version = if blocks.len() == 5 && enc == 4 && feat == 8 {
            "v4.25/v4.26".to_string()
        } else {
            format!(
                "v4.x ({} blocks, encoder {enc}, features {feat})",
                blocks.len()
            )
        };
        Ok(IfNet {
            config: IfNetConfig {
                version,
                block_channels: blocks.iter().map(|b| b.conv0[1].out_channels()).collect(),
                res_convs,
                encoder_channels: enc,
                block_feat_channels: feat,
            },
            head,
            blocks,
        })
    }

    pub fn config(&self) -> &IfNetConfig {
        &self.config
    }

    /// Practical-RIFE's `scale_list`: `[2^(n-1), …, 2, 1] / scale` for `n` blocks.
    pub fn scale_list(&self, scale: f64) -> Vec<f64> {
        let n = self.blocks.len();
        (0..n)
            .map(|i| f64::from(1u32 << (n - 1 - i)) / scale)
            .collect()
    }

    /// The multiple that input height and width must be (Practical-RIFE pads to
    /// `max(128, 128 / scale)`; `64 / scale` is the least that works).
    pub fn alignment(&self, scale: f64) -> usize {
        let coarsest = self.scale_list(scale)[0];
        ((4.0 * coarsest).ceil() as usize).max(4)
    }

    /// Interpolates between `img0` and `img1` (NHWC, 3 channels, values in [0, 1]) at
    /// `timestep` in (0, 1), with RIFE's `scale` (1.0 as usual, 0.5 for 4K-like inputs).
    pub fn forward(
        &self,
        img0: &Tensor,
        img1: &Tensor,
        timestep: f32,
        scale: f64,
        ws: &mut Workspace,
    ) -> Result<Interpolation, ModelError> {
        let [n, h, w, c] = img0.shape();
        if img1.shape() != img0.shape() || c != 3 || n == 0 {
            return Err(ModelError::InvalidInput(format!(
                "IFNet expects two NHWC frames of the same shape with 3 channels, got {} and {}",
                upframe_nn::shape_text(&img0.shape()),
                upframe_nn::shape_text(&img1.shape())
            )));
        }
        if !(scale.is_finite() && scale > 0.0 && timestep.is_finite()) {
            return Err(ModelError::InvalidInput(format!(
                "invalid scale {scale} or timestep {timestep}"
            )));
        }
        let align = self.alignment(scale);
        let misaligned = || {
            ModelError::InvalidInput(format!(
                "IFNet at scale {scale} needs height and width divisible by {align}, got {h}x{w}; pad the frames"
            ))
        };
        if h % align != 0 || w % align != 0 {
            return Err(misaligned());
        }
        let enc = self.config.encoder_channels;
        let feat_ch = self.config.block_feat_channels;
        let f0 = self.head.forward(img0, ws);
        let f1 = self.head.forward(img1, ws);
        if f0.shape()[1..3] != [h, w] {
            return Err(misaligned());
        }
        // Frame and features warped together: bilinear weights are per pixel, so warping the
        // 7-channel concatenation equals warping each part.
        let mut src0 = ws.tensor([n, h, w, 3 + enc]);
        ops::concat_channels_into(&[img0, &f0], &mut src0);
        let mut src1 = ws.tensor([n, h, w, 3 + enc]);
        ops::concat_channels_into(&[img1, &f1], &mut src1);
        let mut time = ws.tensor([n, h, w, 1]);
        time.data_mut().fill(timestep);

        let scales = self.scale_list(scale);
        let mut x = ws.tensor([n, h, w, self.blocks[0].in_channels]);
        ops::concat_channels_into(&[img0, img1, &f0, &f1, &time], &mut x);
        ws.recycle(f0);
        ws.recycle(f1);
        let mut state = self.blocks[0]
            .forward(&x, false, scales[0], ws)
            .ok_or_else(misaligned)?;
        ws.recycle(x);
        // `state` holds flow (0..4), mask (4) and features (5..) of the latest block.
        let out_ch = self.blocks[0].out_channels;
        let mut flow = ws.tensor([n, h, w, FLOW]);
        ops::slice_channels_into(&state, 0..FLOW, &mut flow);
        let mut warped0 = ws.tensor(src0.shape());
        let mut warped1 = ws.tensor(src1.shape());
        ops::warp_into(&src0, &flow, 0, &mut warped0);
        ops::warp_into(&src1, &flow, 2, &mut warped1);
        for (block, &s) in self.blocks.iter().zip(&scales).skip(1) {
            let mut x = ws.tensor([n, h, w, block.in_channels]);
            gather_channels(
                &[
                    (&warped0, 0..3),
                    (&warped1, 0..3),
                    (&warped0, 3..3 + enc),
                    (&warped1, 3..3 + enc),
                    (&time, 0..1),
                    (&state, FLOW..out_ch),
                    (&flow, 0..FLOW),
                ],
                &mut x,
            );
            debug_assert_eq!(1 + feat_ch, out_ch - FLOW);
            let next = block.forward(&x, true, s, ws).ok_or_else(misaligned)?;
            ws.recycle(x);
            ws.recycle(std::mem::replace(&mut state, next));
            // flow = flow + fd
            flow.data_mut()
                .par_chunks_mut(FLOW)
                .zip(state.data().par_chunks(out_ch))
                .for_each(|(f, d)| {
                    for (f, d) in f.iter_mut().zip(d) {
                        *f += d;
                    }
                });
            ops::warp_into(&src0, &flow, 0, &mut warped0);
            ops::warp_into(&src1, &flow, 2, &mut warped1);
        }
        let mut mask_logits = ws.tensor([n, h, w, 1]);
        ops::slice_channels_into(&state, FLOW..FLOW + 1, &mut mask_logits);
        let mut mask = ws.copy_of(&mask_logits);
        ops::activate_inplace(&mut mask, Activation::Sigmoid);
        let mut img_w0 = ws.tensor([n, h, w, 3]);
        ops::slice_channels_into(&warped0, 0..3, &mut img_w0);
        let mut img_w1 = ws.tensor([n, h, w, 3]);
        ops::slice_channels_into(&warped1, 0..3, &mut img_w1);
        let mut frame = ws.tensor([n, h, w, 3]);
        ops::blend_into(&img_w0, &img_w1, &mask, &mut frame);
        for t in [state, warped0, warped1, src0, src1, time, img_w0, img_w1] {
            ws.recycle(t);
        }
        Ok(Interpolation {
            frame,
            flow,
            mask,
            mask_logits,
        })
    }
}
