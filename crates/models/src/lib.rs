//! `upframe-models`: weight loading and the model architectures.
//!
//! A `.pth` reader that never executes pickle code, safetensors, SRVGGNetCompact, RRDBNet and
//! IFNet v4.2x written on top of `upframe-nn`, and the registry of known models.
pub mod error;
pub mod ifnet;
mod layers;
pub mod model;
pub mod pickle;
pub mod pth;
pub mod registry;
pub mod rrdb;
pub mod safetensors_io;
pub mod srvgg;
pub mod state_dict;

pub use error::ModelError;
pub use ifnet::{IfNet, IfNetConfig, IfNetOptions, IfNetVariant, Interpolation};
pub use model::{
    load_interpolator, load_model, load_upscaler, model_from_state_dict, Architecture, Model,
    ModelInfo, ModelKind, Network, Upscaler,
};
pub use pth::{load_pth, parse_pth_bytes};
pub use rrdb::{RrdbConfig, RrdbNet};
pub use safetensors_io::{
    load_safetensors, load_weights, parse_weights_bytes, write_safetensors, TensorFile,
};
pub use srvgg::{SrvggActivation, SrvggConfig, SrvggNet};
pub use state_dict::{StateDict, WeightTensor};
