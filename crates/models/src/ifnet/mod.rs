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

use upframe_nn::{Backend, Cpu, Tensor, Workspace};

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
/// `T`: the backend's tensor ([`Tensor`] on the CPU).
#[derive(Debug)]
pub struct Interpolation<T = Tensor> {
    /// `warped_img0 · mask + warped_img1 · (1 − mask)`, not clamped; with the refinement net,
    /// `clamp(that + res, 0, 1)` as the official code returns it.
    pub frame: T,
    /// The last block's flow: channels `(x0, y0, x1, y1)` in pixels.
    pub flow: T,
    /// The merge mask after the sigmoid, in [0, 1].
    pub mask: T,
    /// The mask logit before the sigmoid (what the official 4.2x `IFNet.forward` returns as
    /// `mask_list[-1]`, and what the 4.25/4.26 goldens hold as `mask`).
    pub mask_logits: T,
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

/// What the blocks carry from one to the next.
struct State<T> {
    flow: T,
    mask: T,
    feat: Option<T>,
}

/// What the coarse-to-fine loop ends with: the state and both frames (with features) warped
/// by the final flow.
type Settled<T> = (State<T>, [T; 2]);

/// Inputs every block reads.
struct Inputs<'a, T> {
    /// Each frame with its encoder features: what `warp` samples.
    src: [&'a T; 2],
    time: &'a T,
    /// `1 − timestep`, for `ensemble`.
    time_rev: Option<&'a T>,
    enc: usize,
}

/// `ensemble`: `f = (f + cat(f_[:, 2:4], f_[:, :2])) / 2` and `m = (m + (-m_)) / 2` for the
/// flow and mask channels of a block output `out`, given the reversed pair's output `rev`.
fn average_reversed<B: Backend>(b: &mut B, out: &mut B::Tensor, rev: &B::Tensor) {
    b.combine_channels_inplace(out, 0, 1.0, rev, 2..4, 1.0, 0.5);
    b.combine_channels_inplace(out, 2, 1.0, rev, 0..2, 1.0, 0.5);
    b.combine_channels_inplace(out, FLOW, 1.0, rev, FLOW..FLOW + 1, -1.0, 0.5);
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
        self.forward_on(img0, img1, timestep, scale, options, &mut Cpu::new(ws))
    }

    /// [`IfNet::forward_with`] on any [`Backend`] (the one definition of the network). The
    /// returned tensors are the backend's to recycle.
    pub fn forward_on<B: Backend>(
        &self,
        img0: &B::Tensor,
        img1: &B::Tensor,
        timestep: f32,
        scale: f64,
        options: IfNetOptions,
        b: &mut B,
    ) -> Result<Interpolation<B::Tensor>, ModelError> {
        let [n, h, w, c] = b.shape(img0);
        if b.shape(img1) != b.shape(img0) || c != 3 || n == 0 {
            return Err(ModelError::InvalidInput(format!(
                "IFNet expects two NHWC frames of the same shape with 3 channels, got {} and {}",
                upframe_nn::shape_text(&b.shape(img0)),
                upframe_nn::shape_text(&b.shape(img1))
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
        let (src0, src1) = match &self.encoder {
            Some(encoder) => {
                let f0 = encoder.forward(img0, b);
                let f1 = encoder.forward(img1, b);
                if b.shape(&f0)[1..3] != [h, w] {
                    b.recycle(f0);
                    b.recycle(f1);
                    return Err(misaligned());
                }
                let src0 = b.concat_channels(&[img0, &f0]);
                let src1 = b.concat_channels(&[img1, &f1]);
                b.recycle(f0);
                b.recycle(f1);
                (src0, src1)
            }
            None => (b.copy(img0), b.copy(img1)),
        };
        let time = b.full([n, h, w, 1], timestep);
        let time_rev = options
            .ensemble
            .then(|| b.full([n, h, w, 1], 1.0 - timestep));
        let inputs = Inputs {
            src: [&src0, &src1],
            time: &time,
            time_rev: time_rev.as_ref(),
            enc,
        };
        let result = self.run_blocks(&inputs, scale, options, b);
        let (state, warped) = match result {
            Ok(r) => r,
            Err(()) => {
                for t in [src0, src1, time].into_iter().chain(time_rev) {
                    b.recycle(t);
                }
                return Err(misaligned());
            }
        };
        let State {
            flow,
            mask: mask_logits,
            feat,
        } = state;
        let mask = b.sigmoid(&mask_logits);
        let img_w0 = b.gather_channels(&[(&warped[0], 0..3)]);
        let img_w1 = b.gather_channels(&[(&warped[1], 0..3)]);
        let mut frame = b.blend(&img_w0, &img_w1, &mask);
        if options.refine {
            let refinement = self.refinement.as_ref().expect("checked by check_options");
            let tmp = refinement.forward(img0, img1, &img_w0, &img_w1, &mask_logits, &flow, b);
            // res = tmp[:, :3] * 2 - 1; merged = clamp(merged + res, 0, 1)
            b.add_refinement_inplace(&mut frame, &tmp);
            b.recycle(tmp);
        }
        let [w0, w1] = warped;
        for t in [w0, w1, src0, src1, time, img_w0, img_w1]
            .into_iter()
            .chain(time_rev)
            .chain(feat)
        {
            b.recycle(t);
        }
        Ok(Interpolation {
            frame,
            flow,
            mask,
            mask_logits,
        })
    }

    /// Block `i`'s output for the block input `x` (`Err` when the sizes do not round-trip).
    fn block<B: Backend>(
        &self,
        i: usize,
        x: &B::Tensor,
        scale: f64,
        b: &mut B,
    ) -> Result<B::Tensor, ()> {
        self.blocks[i].forward(x, i > 0, scale, b).ok_or(())
    }

    /// Block 0 on `cat(img0, img1, f0, f1, timestep)` (and, with ensemble, the reversed pair).
    fn first_block<B: Backend>(
        &self,
        inputs: &Inputs<B::Tensor>,
        scale: f64,
        ensemble: bool,
        b: &mut B,
    ) -> Result<B::Tensor, ()> {
        let [s0, s1] = inputs.src;
        let enc = inputs.enc;
        let x = b.gather_channels(&[
            (s0, 0..3),
            (s1, 0..3),
            (s0, 3..3 + enc),
            (s1, 3..3 + enc),
            (inputs.time, 0..1),
        ]);
        let out = self.block(0, &x, scale, b);
        b.recycle(x);
        match (out, ensemble, inputs.time_rev) {
            (Ok(mut out), true, Some(time_rev)) => {
                let x = b.gather_channels(&[
                    (s1, 0..3),
                    (s0, 0..3),
                    (s1, 3..3 + enc),
                    (s0, 3..3 + enc),
                    (time_rev, 0..1),
                ]);
                let rev = self.block(0, &x, scale, b);
                b.recycle(x);
                match rev {
                    Ok(rev) => {
                        average_reversed(b, &mut out, &rev);
                        b.recycle(rev);
                        Ok(out)
                    }
                    Err(()) => {
                        b.recycle(out);
                        Err(())
                    }
                }
            }
            (out, _, _) => out,
        }
    }

    /// Block `i > 0` on `cat(warped_img0, warped_img1, wf0, wf1, timestep, mask, feat)` plus the
    /// flow; `reversed`: the ensemble's swapped input (`1 − t`, `−mask`, swapped flows).
    fn later_input<B: Backend>(
        &self,
        inputs: &Inputs<B::Tensor>,
        warped: &[B::Tensor; 2],
        state: &State<B::Tensor>,
        reversed: Option<&B::Tensor>,
        b: &mut B,
    ) -> B::Tensor {
        let enc = inputs.enc;
        let feat = state.feat.as_ref();
        let mut parts: Vec<(&B::Tensor, Range<usize>)> = Vec::with_capacity(9);
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
                    parts.push((f, 0..self.config.block_feat_channels));
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
        b.gather_channels(&parts)
    }

    /// Splits block 0's output into the carried state.
    fn initial_state<B: Backend>(&self, out: &B::Tensor, b: &mut B) -> State<B::Tensor> {
        let flow = b.gather_channels(&[(out, 0..FLOW)]);
        let mask = b.gather_channels(&[(out, FLOW..FLOW + 1)]);
        let feat = self.features(out, b);
        State { flow, mask, feat }
    }

    /// The features a block passes on (`tmp[:, 5:]`).
    fn features<B: Backend>(&self, out: &B::Tensor, b: &mut B) -> Option<B::Tensor> {
        let fc = self.config.block_feat_channels;
        (fc > 0).then(|| b.gather_channels(&[(out, FLOW + 1..FLOW + 1 + fc)]))
    }

    /// Both frames (with their features) warped by `flow`, replacing `warped`.
    fn warp_both<B: Backend>(
        inputs: &Inputs<B::Tensor>,
        flow: &B::Tensor,
        warped: &mut [B::Tensor; 2],
        b: &mut B,
    ) {
        let w0 = b.warp(inputs.src[0], flow, 0);
        let w1 = b.warp(inputs.src[1], flow, 2);
        b.recycle(std::mem::replace(&mut warped[0], w0));
        b.recycle(std::mem::replace(&mut warped[1], w1));
    }

    /// The coarse-to-fine loop: returns the final state and the frames (with features) warped
    /// by the final flow.
    fn run_blocks<B: Backend>(
        &self,
        inputs: &Inputs<B::Tensor>,
        scale: f64,
        options: IfNetOptions,
        b: &mut B,
    ) -> Result<Settled<B::Tensor>, ()> {
        let mut scales = self.scale_list(scale);
        let out = self.first_block(inputs, scales[0], options.ensemble, b)?;
        let mut state = self.initial_state(&out, b);
        b.recycle(out);
        let mut warped = [
            b.warp(inputs.src[0], &state.flow, 0),
            b.warp(inputs.src[1], &state.flow, 2),
        ];
        let give_back = |b: &mut B, state: State<B::Tensor>, warped: [B::Tensor; 2]| {
            for t in [state.flow, state.mask]
                .into_iter()
                .chain(state.feat)
                .chain(warped)
            {
                b.recycle(t);
            }
        };
        for i in 1..self.blocks.len() {
            let x = self.later_input(inputs, &warped, &state, None, b);
            let out = self.block(i, &x, scales[i], b);
            b.recycle(x);
            let Ok(mut out) = out else {
                give_back(b, state, warped);
                return Err(());
            };
            // v4.0/v4.1: a block-1 residual beyond the threshold in both flows means the coarse
            // estimate missed; the whole scale list doubles and blocks 0 and 1 run again (block 0
            // without ensemble, as in the official code).
            if let Some(limit) = self.variant.rerun_flow_above {
                if i == 1
                    && b.max_abs_channels(&out, 0..2) > limit
                    && b.max_abs_channels(&out, 2..4) > limit
                {
                    b.recycle(out);
                    for s in &mut scales {
                        *s *= 2.0;
                    }
                    let first = self.first_block(inputs, scales[0], false, b);
                    let Ok(first) = first else {
                        give_back(b, state, warped);
                        return Err(());
                    };
                    let fresh = self.initial_state(&first, b);
                    b.recycle(first);
                    for t in [state.flow, state.mask].into_iter().chain(state.feat) {
                        b.recycle(t);
                    }
                    state = fresh;
                    Self::warp_both(inputs, &state.flow, &mut warped, b);
                    let x = self.later_input(inputs, &warped, &state, None, b);
                    let again = self.block(i, &x, scales[i], b);
                    b.recycle(x);
                    match again {
                        Ok(o) => out = o,
                        Err(()) => {
                            give_back(b, state, warped);
                            return Err(());
                        }
                    }
                }
            }
            if options.ensemble {
                let mut neg_mask = b.copy(&state.mask);
                b.scale_channels_inplace(&mut neg_mask, 0..1, -1.0, 1.0);
                let x = self.later_input(inputs, &warped, &state, Some(&neg_mask), b);
                b.recycle(neg_mask);
                let rev = self.block(i, &x, scales[i], b);
                b.recycle(x);
                match rev {
                    Ok(rev) => {
                        average_reversed(b, &mut out, &rev);
                        b.recycle(rev);
                    }
                    Err(()) => {
                        b.recycle(out);
                        give_back(b, state, warped);
                        return Err(());
                    }
                }
            }
            // flow = flow + fd; mask = mask + m0 (v4.0–v4.6) or m0.
            b.combine_channels_inplace(&mut state.flow, 0, 1.0, &out, 0..FLOW, 1.0, 1.0);
            let keep = match self.variant.mask_update {
                MaskUpdate::Add => 1.0,
                _ => 0.0,
            };
            b.combine_channels_inplace(&mut state.mask, 0, keep, &out, FLOW..FLOW + 1, 1.0, 1.0);
            if let Some(old) = state.feat.take() {
                b.recycle(old);
            }
            state.feat = self.features(&out, b);
            b.recycle(out);
            Self::warp_both(inputs, &state.flow, &mut warped, b);
        }
        Ok((state, warped))
    }
}
