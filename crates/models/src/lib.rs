//! `upframe-models`: weight loading and the model architectures.
//!
//! A `.pth` reader that never executes pickle code, safetensors, SRVGGNetCompact, RRDBNet and
//! IFNet v4.2x written on top of `upframe-nn`, and the registry of known models.
pub mod registry;
