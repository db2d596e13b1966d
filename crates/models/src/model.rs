//! Architecture detection and the loaded-model types: [`load_model`] reads any supported weight
//! file, recognises SRVGGNetCompact / RRDBNet / IFNet from its keys, and builds the network;
//! [`ModelInfo`] describes it.

use std::fmt;
use std::path::Path;

use upframe_nn::{Backend, Tensor, Workspace};

use crate::error::ModelError;
use crate::ifnet::{IfNet, IfNetConfig, Interpolation};
use crate::rrdb::{RrdbConfig, RrdbNet};
use crate::safetensors_io::load_weights;
use crate::srvgg::{SrvggConfig, SrvggNet};
use crate::state_dict::StateDict;

/// What a model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Single-image super-resolution.
    Upscaler,
    /// Frame interpolation.
    Interpolator,
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Upscaler => "an upscaler",
            ModelKind::Interpolator => "a frame interpolator",
        })
    }
}

/// The detected architecture and its hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Architecture {
    SrvggNetCompact(SrvggConfig),
    RrdbNet(RrdbConfig),
    IfNet(IfNetConfig),
}

/// A description of a loaded model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub architecture: Architecture,
    pub kind: ModelKind,
    /// Upscaling factor (1 for interpolators).
    pub scale: usize,
    /// Parameters the network uses (training-only tensors excluded).
    pub parameters: usize,
    /// Tensors in the file that the network does not use (e.g. RIFE's `teacher.*`).
    pub unused_tensors: usize,
}

impl ModelInfo {
    pub fn arch_name(&self) -> &'static str {
        match self.architecture {
            Architecture::SrvggNetCompact(_) => "SRVGGNetCompact",
            Architecture::RrdbNet(_) => "RRDBNet",
            Architecture::IfNet(_) => "IFNet",
        }
    }
}

impl fmt::Display for ModelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "architecture: {}", self.arch_name())?;
        writeln!(
            f,
            "kind: {}",
            match self.kind {
                ModelKind::Upscaler => "upscaler",
                ModelKind::Interpolator => "interpolator",
            }
        )?;
        match &self.architecture {
            Architecture::SrvggNetCompact(c) => {
                writeln!(f, "scale: {}", c.upscale)?;
                writeln!(f, "num_in_ch: {}", c.num_in_ch)?;
                writeln!(f, "num_out_ch: {}", c.num_out_ch)?;
                writeln!(f, "num_feat: {}", c.num_feat)?;
                writeln!(f, "num_conv: {}", c.num_conv)?;
                writeln!(f, "activation: {}", c.activation)?;
            }
            Architecture::RrdbNet(c) => {
                writeln!(f, "scale: {}", c.scale)?;
                writeln!(f, "num_in_ch: {}", c.num_in_ch)?;
                writeln!(f, "num_out_ch: {}", c.num_out_ch)?;
                writeln!(f, "num_feat: {}", c.num_feat)?;
                writeln!(f, "num_block: {}", c.num_block)?;
                writeln!(f, "num_grow_ch: {}", c.num_grow_ch)?;
            }
            Architecture::IfNet(c) => {
                writeln!(f, "version: {}", c.version)?;
                writeln!(f, "blocks: {}", c.block_channels.len())?;
                writeln!(
                    f,
                    "block_channels: {}",
                    upframe_nn::shape_text(&c.block_channels)
                )?;
                writeln!(f, "res_convs_per_block: {}", c.res_convs)?;
                writeln!(f, "encoder_channels: {}", c.encoder_channels)?;
                writeln!(f, "block_feat_channels: {}", c.block_feat_channels)?;
                writeln!(
                    f,
                    "refinement_net: {}",
                    if c.refinement {
                        "yes (contextnet + unet)"
                    } else {
                        "no"
                    }
                )?;
            }
        }
        writeln!(f, "parameters: {}", self.parameters)?;
        write!(f, "unused_tensors: {}", self.unused_tensors)
    }
}

/// A super-resolution network.
#[derive(Debug)]
pub enum Upscaler {
    Srvgg(SrvggNet),
    Rrdb(Box<RrdbNet>),
}

impl Upscaler {
    pub fn scale(&self) -> usize {
        match self {
            Upscaler::Srvgg(m) => m.scale(),
            Upscaler::Rrdb(m) => m.scale(),
        }
    }

    /// Switches the network's heavy convolutions to `precision` (see `upframe_nn::Precision`).
    pub fn set_precision(&mut self, precision: upframe_nn::Precision) {
        match self {
            Upscaler::Srvgg(m) => m.set_precision(precision),
            Upscaler::Rrdb(m) => m.set_precision(precision),
        }
    }

    /// Height and width must be multiples of this (RRDBNet x2 / x1 unshuffle their input).
    pub fn alignment(&self) -> usize {
        match self {
            Upscaler::Srvgg(_) => 1,
            Upscaler::Rrdb(m) => 4 / m.scale(),
        }
    }

    /// `x`: NHWC RGB in [0, 1]; returns the raw (unclamped) upscaled output, drawn from `ws`
    /// (give it back with `ws.recycle` to run allocation-free across frames).
    pub fn forward(&self, x: &Tensor, ws: &mut Workspace) -> Result<Tensor, ModelError> {
        match self {
            Upscaler::Srvgg(m) => m.forward(x, ws),
            Upscaler::Rrdb(m) => m.forward(x, ws),
        }
    }

    /// [`Upscaler::forward`] on any [`Backend`] (e.g. a GPU).
    pub fn forward_on<B: Backend>(
        &self,
        x: &B::Tensor,
        b: &mut B,
    ) -> Result<B::Tensor, ModelError> {
        match self {
            Upscaler::Srvgg(m) => m.forward_on(x, b),
            Upscaler::Rrdb(m) => m.forward_on(x, b),
        }
    }
}

/// A loaded network of either kind, with its description.
#[derive(Debug)]
pub struct Model {
    pub info: ModelInfo,
    pub network: Network,
}

/// The network inside a [`Model`].
#[derive(Debug)]
pub enum Network {
    Upscaler(Upscaler),
    Interpolator(Box<IfNet>),
}

impl Model {
    pub fn kind(&self) -> ModelKind {
        self.info.kind
    }

    /// Switches the network's heavy convolutions to `precision`.
    pub fn set_precision(&mut self, precision: upframe_nn::Precision) {
        match &mut self.network {
            Network::Upscaler(u) => u.set_precision(precision),
            Network::Interpolator(i) => i.set_precision(precision),
        }
    }

    /// The upscaler, or a wrong-kind error.
    pub fn into_upscaler(self) -> Result<Upscaler, ModelError> {
        match self.network {
            Network::Upscaler(u) => Ok(u),
            Network::Interpolator(_) => Err(wrong_kind(ModelKind::Upscaler, &self.info)),
        }
    }

    /// The interpolator, or a wrong-kind error.
    pub fn into_interpolator(self) -> Result<IfNet, ModelError> {
        match self.network {
            Network::Interpolator(i) => Ok(*i),
            Network::Upscaler(_) => Err(wrong_kind(ModelKind::Interpolator, &self.info)),
        }
    }

    /// Runs an interpolator (errors for upscalers).
    pub fn interpolate(
        &self,
        img0: &Tensor,
        img1: &Tensor,
        timestep: f32,
        scale: f64,
        ws: &mut Workspace,
    ) -> Result<Interpolation, ModelError> {
        match &self.network {
            Network::Interpolator(net) => net.forward(img0, img1, timestep, scale, ws),
            Network::Upscaler(_) => Err(wrong_kind(ModelKind::Interpolator, &self.info)),
        }
    }

    /// Runs an upscaler (errors for interpolators).
    pub fn upscale(&self, x: &Tensor, ws: &mut Workspace) -> Result<Tensor, ModelError> {
        match &self.network {
            Network::Upscaler(net) => net.forward(x, ws),
            Network::Interpolator(_) => Err(wrong_kind(ModelKind::Upscaler, &self.info)),
        }
    }
}

fn wrong_kind(expected: ModelKind, info: &ModelInfo) -> ModelError {
    ModelError::WrongKind {
        expected: expected.to_string(),
        found: format!("{} ({})", info.kind, info.arch_name()),
    }
}

/// The architecture family the keys belong to.
fn detect(sd: &StateDict) -> Result<&'static str, ModelError> {
    if sd.contains("conv_first.weight") && sd.contains("body.0.rdb1.conv1.weight") {
        Ok("rrdb")
    } else if sd.contains("block0.conv0.0.0.weight") {
        Ok("ifnet")
    } else if sd.contains("body.0.weight") && !sd.contains("conv_first.weight") {
        Ok("srvgg")
    } else {
        let sample: Vec<String> = sd.keys().take(4).map(|k| format!("`{k}`")).collect();
        Err(ModelError::UnknownArchitecture(format!(
            "keys {}… match none of SRVGGNetCompact, RRDBNet, IFNet (RIFE v4.x)",
            sample.join(", ")
        )))
    }
}

/// Builds the network the state dict describes.
pub fn model_from_state_dict(sd: &StateDict) -> Result<Model, ModelError> {
    let (network, architecture) = match detect(sd)? {
        "rrdb" => {
            let net = RrdbNet::from_state_dict(sd)?;
            let arch = Architecture::RrdbNet(net.config().clone());
            (Network::Upscaler(Upscaler::Rrdb(Box::new(net))), arch)
        }
        "srvgg" => {
            let net = SrvggNet::from_state_dict(sd)?;
            let arch = Architecture::SrvggNetCompact(net.config().clone());
            (Network::Upscaler(Upscaler::Srvgg(net)), arch)
        }
        _ => {
            let net = IfNet::from_state_dict(sd)?;
            let arch = Architecture::IfNet(net.config().clone());
            (Network::Interpolator(Box::new(net)), arch)
        }
    };
    // RIFE checkpoints carry training-only parts the network never reads.
    let unused = |k: &str| {
        matches!(architecture, Architecture::IfNet(_))
            && (k.starts_with("teacher.")
                || k.starts_with("caltime.")
                || k.starts_with("block_tea."))
    };
    let parameters = sd
        .iter()
        .filter(|(k, _)| !unused(k))
        .map(|(_, t)| t.numel())
        .sum();
    let unused_tensors = sd.keys().filter(|k| unused(k)).count();
    let (kind, scale) = match &network {
        Network::Upscaler(u) => (ModelKind::Upscaler, u.scale()),
        Network::Interpolator(_) => (ModelKind::Interpolator, 1),
    };
    let info = ModelInfo {
        architecture,
        kind,
        scale,
        parameters,
        unused_tensors,
    };
    Ok(Model { info, network })
}

/// Loads a `.pth` or safetensors weight file and builds its network. Errors name the file.
pub fn load_model(path: &Path) -> Result<Model, ModelError> {
    let sd = load_weights(path)?;
    model_from_state_dict(&sd).map_err(|e| e.in_file(path))
}

/// [`load_model`], requiring an upscaler.
pub fn load_upscaler(path: &Path) -> Result<Upscaler, ModelError> {
    load_model(path)?
        .into_upscaler()
        .map_err(|e| e.in_file(path))
}

/// [`load_model`], requiring a frame interpolator.
pub fn load_interpolator(path: &Path) -> Result<IfNet, ModelError> {
    load_model(path)?
        .into_interpolator()
        .map_err(|e| e.in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pipelines move models into worker threads and share them read-only.
    #[test]
    fn models_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Model>();
        assert_send_sync::<Upscaler>();
        assert_send_sync::<IfNet>();
    }
}
