//! IFNet, RIFE's flow network, for every v4.x layout of Practical-RIFE's `IFNet_HDv3`.
//!
//! The layout is recognised from the weights' keys and shapes ([`layout::detect`], one table
//! of per-variant facts in [`layout::VARIANTS`]). The forward pass follows the official code of
//! each layout in its order of operations: an optional per-frame encoder, then IFBlocks refining
//! flow (and mask, and from v4.21 features) coarse to fine over the variant's `scale_list`, and
//! the two frames warped by the flow and merged by the sigmoid mask. v4.0/v4.1 also have the
//! flow-magnitude re-run (block 1's residual above 32 px doubles the scale list and runs blocks 0
//! and 1 again); layouts without block features have `ensemble` (each block also run on the
//! reversed pair, the results averaged); v4.0's file carries the refinement net (`Contextnet` +
//! `Unet`), run when not in fast mode.

mod block;
pub mod layout;
mod refine;

use std::ops::Range;

use rayon::prelude::*;
use upframe_nn::{ops, Activation, Tensor, Workspace};

use crate::error::ModelError;
use crate::state_dict::StateDict;
use block::{Encoder, IfBlock, FLOW};
pub use layout::{IfNetVariant, MaskUpdate, Tested, VARIANTS};
use refine::Refinement;

/// IFNet hyperparameters, inferred from the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct IfNetConfig {
    /// The layout's versions, e.g. "v4.25/v4.26" (from [`layout::VARIANTS`]).
    pub version: String,
    /// Channels `c` of each IFBlock, coarse to fine.
    pub block_channels: Vec<usize>,
    /// Body convolutions per block.
    pub res_convs: usize,
    /// Feature channels the encoder gives per frame (0: no encoder).
    pub encoder_channels: usize,
    /// Feature channels each block passes to the next.
    pub block_feat_channels: usize,
    /// The file carries v4.0's refinement net (`contextnet`, `unet`).
    pub refinement: bool,
}

/// The official forward's switches. The default is what the official inference scripts run
/// (`fastmode=True`, `ensemble=False`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfNetOptions {
    /// Also run each block on the reversed pair and average (`ensemble=True`).
    pub ensemble: bool,
    /// Run the refinement net (`fastmode=False`); needs weights that have it.
    pub refine: bool,
}

/// The result of one interpolation, NHWC at the input size.
#[derive(Debug)]
pub struct Interpolation {
    /// `warped_img0 · mask + warped_img1 · (1 − mask)`, not clamped; with the refinement net,
    /// `clamp(that + res, 0, 1)` as the official code returns it.
    pub frame: Tensor,
    /// The last block's flow: channels `(x0, y0, x1, y1)` in pixels.
    pub flow: Tensor,
    /// The merge mask after the sigmoid, in [0, 1].
    pub mask: Tensor,
    /// The mask logit before the sigmoid (what the official 4.2x `IFNet.forward` returns as
    /// `mask_list[-1]`, and what the 4.25/4.26 goldens hold as `mask`).
    pub mask_logits: Tensor,
}

/// A loaded IFNet of any recognised v4.x layout.
#[derive(Debug)]
pub struct IfNet {
    config: IfNetConfig,
    variant: &'static IfNetVariant,
    encoder: Option<Encoder>,
    blocks: Vec<IfBlock>,
    refinement: Option<Refinement>,
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

/// `max |x[:, range]|` over the whole batch.
fn max_abs(x: &Tensor, range: Range<usize>) -> f32 {
    x.data()
        .par_chunks(x.c())
        .map(|px| px[range.clone()].iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .reduce(|| 0.0, f32::max)
}

/// `ensemble`: `f = (f + cat(f_[:, 2:4], f_[:, :2])) / 2` and `m = (m + (-m_)) / 2` for the
/// flow and mask channels of a block output `out`, given the reversed pair's output `rev`.
fn average_reversed(out: &mut Tensor, rev: &Tensor) {
    let (oc, rc) = (out.c(), rev.c());
    out.data_mut()
        .par_chunks_mut(oc)
        .zip(rev.data().par_chunks(rc))
        .for_each(|(o, r)| {
            for (k, swapped) in [2, 3, 0, 1].into_iter().enumerate() {
                o[k] = (o[k] + r[swapped]) / 2.0;
            }
            o[FLOW] = (o[FLOW] + (-r[FLOW])) / 2.0;
        });
}

/// What the blocks carry from one to the next.
struct State {
    flow: Tensor,
    mask: Tensor,
    feat: Option<Tensor>,
}

/// Inputs every block reads.
struct Inputs<'a> {
    /// Each frame with its encoder features: what `warp` samples.
    src: [&'a Tensor; 2],
    time: &'a Tensor,
    /// `1 − timestep`, for `ensemble`.
    time_rev: Option<&'a Tensor>,
    enc: usize,
}

impl IfNet {
    pub fn from_state_dict(sd: &StateDict) -> Result<Self, ModelError> {
        let (variant, found) = layout::detect(sd)?;
        // Training-only parts (`teacher.*`, `caltime.*`, `block_tea.*`) are never read.
        let encoder = Encoder::load(sd, variant.encoder)?;
        let blocks = (0..found.block_channels.len())
            .map(|i| IfBlock::load(sd, &format!("block{i}"), variant.block_style))
            .collect::<Result<Vec<_>, _>>()?;
        let enc = variant.encoder_channels;
        let feat = variant.block_features;
        let first_in = 3 + 3 + 2 * enc + 1;
        let later_in = 3 + 3 + 2 * enc + 1 + 1 + feat + FLOW;
        let out = blocks[0].out_channels;
        for (i, b) in blocks.iter().enumerate() {
            let expected = if i == 0 { first_in } else { later_in };
            if b.in_channels != expected || b.out_channels != out || out < FLOW + 1 + feat {
                return Err(ModelError::InvalidHyperparameters(format!(
                    "block{i} takes {} channels and gives {}; IFNet {} needs {expected} and {out}",
                    b.in_channels, b.out_channels, variant.name
                )));
            }
        }
        let refinement = Refinement::load(sd)?;
        Ok(IfNet {
            config: IfNetConfig {
                version: variant.name.to_string(),
                block_channels: blocks.iter().map(|b| b.width).collect(),
                res_convs: blocks[0].body_len(),
                encoder_channels: enc,
                block_feat_channels: feat,
                refinement: refinement.is_some(),
            },
            variant,
            encoder,
            blocks,
            refinement,
        })
    }

    /// Switches the stride-1 convolutions with enough channels (the blocks' bodies, the
    /// refinement U-Net's) to `precision`; stride-2 and transposed convolutions stay `f32`.
    pub fn set_precision(&mut self, precision: upframe_nn::Precision) {
        let mut set = |c: &mut upframe_nn::Conv2d| c.set_precision(precision);
        if let Some(e) = &mut self.encoder {
            e.for_each_conv(&mut set);
        }
        for b in &mut self.blocks {
            b.for_each_conv(&mut set);
        }
        if let Some(r) = &mut self.refinement {
            r.for_each_conv(&mut set);
        }
    }

    pub fn config(&self) -> &IfNetConfig {
        &self.config
    }

    /// The recognised layout and its per-variant facts.
    pub fn variant(&self) -> &'static IfNetVariant {
        self.variant
    }

    /// The official `scale_list` for RIFE's `scale` (e.g. `[16, 8, 4, 2, 1] / scale`).
    pub fn scale_list(&self, scale: f64) -> Vec<f64> {
        self.variant.scale_list_for(scale)
    }

    /// The multiple that input height and width must be: every block's resize must round-trip,
    /// and the refinement net halves 4 times. v4.0's flow re-run doubles the scales and then
    /// needs twice this ([`IfNet::padding_multiple`] covers it; the official code fails there
    /// too).
    pub fn alignment(&self, scale: f64) -> usize {
        let coarsest = self.scale_list(scale).into_iter().fold(0.0, f64::max);
        let refine = if self.refinement.is_some() { 16 } else { 1 };
        ((4.0 * coarsest).ceil() as usize).max(4).max(refine)
    }

    /// The multiple that also holds after v4.0's flow re-run.
    fn rerun_alignment(&self, scale: f64) -> usize {
        match self.variant.rerun_flow_above {
            Some(_) => self.alignment(scale / 2.0),
            None => self.alignment(scale),
        }
    }

    /// The multiple the inference script pads frames to at `scale` (`max(128, 128 / scale)`
    /// for every v4 layout), never less than what the network needs.
    pub fn padding_multiple(&self, scale: f64) -> usize {
        self.variant
            .padding_multiple_for(scale)
            .max(self.rerun_alignment(scale))
    }

    /// Whether `options` can run on these weights; the error says why not.
    pub fn check_options(&self, options: IfNetOptions) -> Result<(), ModelError> {
        if options.ensemble && !self.variant.ensemble {
            return Err(ModelError::InvalidInput(format!(
                "IFNet {} has no ensemble mode (its blocks pass features; Practical-RIFE dropped ensemble in v4.21)",
                self.variant.name
            )));
        }
        if options.refine && self.refinement.is_none() {
            return Err(ModelError::InvalidInput(format!(
                "these IFNet {} weights have no refinement net (contextnet/unet); only the fast mode runs",
                self.variant.name
            )));
        }
        Ok(())
    }

    /// Interpolates between `img0` and `img1` (NHWC, 3 channels, values in [0, 1]) at
    /// `timestep` in (0, 1), with RIFE's `scale` (1.0 as usual, 0.5 for 4K-like inputs), in the
    /// official default mode (fast, no ensemble).
    pub fn forward(
        &self,
        img0: &Tensor,
        img1: &Tensor,
        timestep: f32,
        scale: f64,
        ws: &mut Workspace,
    ) -> Result<Interpolation, ModelError> {
        self.forward_with(img0, img1, timestep, scale, IfNetOptions::default(), ws)
    }

    /// [`IfNet::forward`] with the official forward's `ensemble` / `fastmode` switches.
    pub fn forward_with(
        &self,
        img0: &Tensor,
        img1: &Tensor,
        timestep: f32,
        scale: f64,
        options: IfNetOptions,
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
        self.check_options(options)?;
        let align = self.alignment(scale);
        let rerun_align = self.rerun_alignment(scale);
        let misaligned = || {
            let rerun = if rerun_align > align {
                format!(" ({rerun_align} when the flow re-run doubles the scales)")
            } else {
                String::new()
            };
            ModelError::InvalidInput(format!(
                "IFNet at scale {scale} needs height and width divisible by {align}{rerun}, got {h}x{w}; pad the frames"
            ))
        };
        if h % align != 0 || w % align != 0 {
            return Err(misaligned());
        }
        let enc = self.config.encoder_channels;
        // Frame and features warped together: bilinear weights are per pixel, so warping the
        // concatenation equals warping each part.
        let mut src0 = ws.tensor([n, h, w, 3 + enc]);
        let mut src1 = ws.tensor([n, h, w, 3 + enc]);
        match &self.encoder {
            Some(encoder) => {
                let f0 = encoder.forward(img0, ws);
                let f1 = encoder.forward(img1, ws);
                if f0.shape()[1..3] != [h, w] {
                    return Err(misaligned());
                }
                ops::concat_channels_into(&[img0, &f0], &mut src0);
                ops::concat_channels_into(&[img1, &f1], &mut src1);
                ws.recycle(f0);
                ws.recycle(f1);
            }
            None => {
                src0.data_mut().copy_from_slice(img0.data());
                src1.data_mut().copy_from_slice(img1.data());
            }
        }
        let mut time = ws.tensor([n, h, w, 1]);
        time.data_mut().fill(timestep);
        let time_rev = options.ensemble.then(|| {
            let mut t = ws.tensor([n, h, w, 1]);
            t.data_mut().fill(1.0 - timestep);
            t
        });
        let inputs = Inputs {
            src: [&src0, &src1],
            time: &time,
            time_rev: time_rev.as_ref(),
            enc,
        };
        let result = self.run_blocks(&inputs, scale, options, ws);
        let (state, warped) = match result {
            Ok(r) => r,
            Err(()) => {
                for t in [src0, src1, time].into_iter().chain(time_rev) {
                    ws.recycle(t);
                }
                return Err(misaligned());
            }
        };
        let State {
            flow,
            mask: mask_logits,
            feat,
        } = state;
        let mut mask = ws.copy_of(&mask_logits);
        ops::activate_inplace(&mut mask, Activation::Sigmoid);
        let mut img_w0 = ws.tensor([n, h, w, 3]);
        ops::slice_channels_into(&warped[0], 0..3, &mut img_w0);
        let mut img_w1 = ws.tensor([n, h, w, 3]);
        ops::slice_channels_into(&warped[1], 0..3, &mut img_w1);
        let mut frame = ws.tensor([n, h, w, 3]);
        ops::blend_into(&img_w0, &img_w1, &mask, &mut frame);
        if options.refine {
            let refinement = self.refinement.as_ref().expect("checked by check_options");
            let tmp = refinement.forward(img0, img1, &img_w0, &img_w1, &mask_logits, &flow, ws);
            // res = tmp[:, :3] * 2 - 1; merged = clamp(merged + res, 0, 1)
            frame
                .data_mut()
                .par_chunks_mut(1 << 14)
                .zip(tmp.data().par_chunks(1 << 14))
                .for_each(|(m, t)| {
                    for (m, &t) in m.iter_mut().zip(t) {
                        *m = (*m + (t * 2.0 - 1.0)).clamp(0.0, 1.0);
                    }
                });
            ws.recycle(tmp);
        }
        let [w0, w1] = warped;
        for t in [w0, w1, src0, src1, time, img_w0, img_w1]
            .into_iter()
            .chain(time_rev)
            .chain(feat)
        {
            ws.recycle(t);
        }
        Ok(Interpolation {
            frame,
            flow,
            mask,
            mask_logits,
        })
    }

    /// Block `i`'s output for the block input `x` (`Err` when the sizes do not round-trip).
    fn block(&self, i: usize, x: &Tensor, scale: f64, ws: &mut Workspace) -> Result<Tensor, ()> {
        self.blocks[i].forward(x, i > 0, scale, ws).ok_or(())
    }

    /// Block 0 on `cat(img0, img1, f0, f1, timestep)` (and, with ensemble, the reversed pair).
    fn first_block(
        &self,
        inputs: &Inputs,
        scale: f64,
        ensemble: bool,
        ws: &mut Workspace,
    ) -> Result<Tensor, ()> {
        let [s0, s1] = inputs.src;
        let enc = inputs.enc;
        let [n, h, w, _] = s0.shape();
        let mut x = ws.tensor([n, h, w, self.blocks[0].in_channels]);
        gather_channels(
            &[
                (s0, 0..3),
                (s1, 0..3),
                (s0, 3..3 + enc),
                (s1, 3..3 + enc),
                (inputs.time, 0..1),
            ],
            &mut x,
        );
        let out = self.block(0, &x, scale, ws);
        let out = match (out, ensemble, inputs.time_rev) {
            (Ok(mut out), true, Some(time_rev)) => {
                gather_channels(
                    &[
                        (s1, 0..3),
                        (s0, 0..3),
                        (s1, 3..3 + enc),
                        (s0, 3..3 + enc),
                        (time_rev, 0..1),
                    ],
                    &mut x,
                );
                let rev = self.block(0, &x, scale, ws);
                if let Ok(rev) = &rev {
                    average_reversed(&mut out, rev);
                }
                rev.map(|r| {
                    ws.recycle(r);
                    out
                })
            }
            (out, _, _) => out,
        };
        ws.recycle(x);
        out
    }

    /// Block `i > 0` on `cat(warped_img0, warped_img1, wf0, wf1, timestep, mask, feat)` plus the
    /// flow; `reversed`: the ensemble's swapped input (`1 − t`, `−mask`, swapped flows).
    fn later_input(
        &self,
        i: usize,
        inputs: &Inputs,
        warped: &[Tensor; 2],
        state: &State,
        reversed: Option<&Tensor>,
        ws: &mut Workspace,
    ) -> Tensor {
        let enc = inputs.enc;
        let [n, h, w, _] = warped[0].shape();
        let mut x = ws.tensor([n, h, w, self.blocks[i].in_channels]);
        let feat = state.feat.as_ref();
        let feat_range = 0..feat.map_or(0, Tensor::c);
        let mut parts: Vec<(&Tensor, Range<usize>)> = Vec::with_capacity(9);
        match reversed {
            None => {
                parts.extend([
                    (&warped[0], 0..3),
                    (&warped[1], 0..3),
                    (&warped[0], 3..3 + enc),
                    (&warped[1], 3..3 + enc),
                    (inputs.time, 0..1),
                    (&state.mask, 0..1),
                ]);
                if let Some(f) = feat {
                    parts.push((f, feat_range));
                }
                parts.push((&state.flow, 0..FLOW));
            }
            Some(neg_mask) => {
                let time_rev = inputs.time_rev.expect("ensemble has 1 - t");
                parts.extend([
                    (&warped[1], 0..3),
                    (&warped[0], 0..3),
                    (&warped[1], 3..3 + enc),
                    (&warped[0], 3..3 + enc),
                    (time_rev, 0..1),
                    (neg_mask, 0..1),
                    (&state.flow, 2..4),
                    (&state.flow, 0..2),
                ]);
            }
        }
        gather_channels(&parts, &mut x);
        x
    }

    /// Splits block 0's output into the carried state.
    fn initial_state(&self, out: &Tensor, ws: &mut Workspace) -> State {
        let [n, h, w, _] = out.shape();
        let mut flow = ws.tensor([n, h, w, FLOW]);
        ops::slice_channels_into(out, 0..FLOW, &mut flow);
        let mut mask = ws.tensor([n, h, w, 1]);
        ops::slice_channels_into(out, FLOW..FLOW + 1, &mut mask);
        let feat = self.features(out, None, ws);
        State { flow, mask, feat }
    }

    /// The features a block passes on (`tmp[:, 5:]`), reusing `old`'s buffer.
    fn features(&self, out: &Tensor, old: Option<Tensor>, ws: &mut Workspace) -> Option<Tensor> {
        let fc = self.config.block_feat_channels;
        if fc == 0 {
            return None;
        }
        let [n, h, w, _] = out.shape();
        let mut feat = old.unwrap_or_else(|| ws.tensor([n, h, w, fc]));
        ops::slice_channels_into(out, FLOW + 1..FLOW + 1 + fc, &mut feat);
        Some(feat)
    }

    fn warp_both(inputs: &Inputs, flow: &Tensor, warped: &mut [Tensor; 2]) {
        ops::warp_into(inputs.src[0], flow, 0, &mut warped[0]);
        ops::warp_into(inputs.src[1], flow, 2, &mut warped[1]);
    }

    /// The coarse-to-fine loop: returns the final state and the frames (with features) warped
    /// by the final flow.
    fn run_blocks(
        &self,
        inputs: &Inputs,
        scale: f64,
        options: IfNetOptions,
        ws: &mut Workspace,
    ) -> Result<(State, [Tensor; 2]), ()> {
        let mut scales = self.scale_list(scale);
        let out = self.first_block(inputs, scales[0], options.ensemble, ws)?;
        let mut state = self.initial_state(&out, ws);
        ws.recycle(out);
        let mut warped = [
            ws.tensor(inputs.src[0].shape()),
            ws.tensor(inputs.src[1].shape()),
        ];
        Self::warp_both(inputs, &state.flow, &mut warped);
        let give_back = |ws: &mut Workspace, state: State, warped: [Tensor; 2]| {
            for t in [state.flow, state.mask]
                .into_iter()
                .chain(state.feat)
                .chain(warped)
            {
                ws.recycle(t);
            }
        };
        for i in 1..self.blocks.len() {
            let x = self.later_input(i, inputs, &warped, &state, None, ws);
            let out = self.block(i, &x, scales[i], ws);
            ws.recycle(x);
            let Ok(mut out) = out else {
                give_back(ws, state, warped);
                return Err(());
            };
            // v4.0/v4.1: a block-1 residual beyond the threshold in both flows means the coarse
            // estimate missed; the whole scale list doubles and blocks 0 and 1 run again (block 0
            // without ensemble, as in the official code).
            if let Some(limit) = self.variant.rerun_flow_above {
                if i == 1 && max_abs(&out, 0..2) > limit && max_abs(&out, 2..4) > limit {
                    ws.recycle(out);
                    for s in &mut scales {
                        *s *= 2.0;
                    }
                    let first = self.first_block(inputs, scales[0], false, ws);
                    let Ok(first) = first else {
                        give_back(ws, state, warped);
                        return Err(());
                    };
                    let fresh = self.initial_state(&first, ws);
                    ws.recycle(first);
                    for t in [state.flow, state.mask].into_iter().chain(state.feat) {
                        ws.recycle(t);
                    }
                    state = fresh;
                    Self::warp_both(inputs, &state.flow, &mut warped);
                    let x = self.later_input(i, inputs, &warped, &state, None, ws);
                    let again = self.block(i, &x, scales[i], ws);
                    ws.recycle(x);
                    match again {
                        Ok(o) => out = o,
                        Err(()) => {
                            give_back(ws, state, warped);
                            return Err(());
                        }
                    }
                }
            }
            if options.ensemble {
                let mut neg_mask = ws.copy_of(&state.mask);
                ops::scale_inplace(&mut neg_mask, -1.0);
                let x = self.later_input(i, inputs, &warped, &state, Some(&neg_mask), ws);
                ws.recycle(neg_mask);
                let rev = self.block(i, &x, scales[i], ws);
                ws.recycle(x);
                match rev {
                    Ok(rev) => {
                        average_reversed(&mut out, &rev);
                        ws.recycle(rev);
                    }
                    Err(()) => {
                        ws.recycle(out);
                        give_back(ws, state, warped);
                        return Err(());
                    }
                }
            }
            let add_mask = self.variant.mask_update == MaskUpdate::Add;
            let oc = out.c();
            // flow = flow + fd; mask = mask + m0 (v4.0–v4.6) or m0.
            state
                .flow
                .data_mut()
                .par_chunks_mut(FLOW)
                .zip(state.mask.data_mut().par_iter_mut())
                .zip(out.data().par_chunks(oc))
                .for_each(|((f, m), d)| {
                    for (f, d) in f.iter_mut().zip(d) {
                        *f += d;
                    }
                    *m = if add_mask { *m + d[FLOW] } else { d[FLOW] };
                });
            state.feat = self.features(&out, state.feat.take(), ws);
            ws.recycle(out);
            Self::warp_both(inputs, &state.flow, &mut warped);
        }
        Ok((state, warped))
    }
}
