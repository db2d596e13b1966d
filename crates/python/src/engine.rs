//! The one place the bindings reach the processing crates: builds upscalers and interpolators
//! from the Python keyword options and classifies their errors into `upframe.errors` kinds.
//!
//! Interim: until the facade crate (`upframe`) is merged this builds the pipeline's processors
//! directly; the Python classes only see [`UpscaleArgs`], [`InterpolateArgs`], [`Engine`].

use std::path::PathBuf;

use upframe_media::Frame;
use upframe_models::registry;
use upframe_models::IfNetOptions;
use upframe_pipeline::realesrgan::{
    interpolate_weights, AlphaUpsampler, RealEsrganError, RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::rife::RifeInterpolator;
use upframe_pipeline::{FrameInterpolator, FrameProcessor, PipelineError};

use crate::errors::Kind;

/// An error with its Python class.
#[derive(Debug)]
pub struct EngineError {
    pub kind: Kind,
    pub message: String,
}

impl EngineError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// `upframe.Upscaler(...)` / `RealESRGANer(...)` options.
#[derive(Clone, Debug)]
pub struct UpscaleArgs {
    pub model: String,
    pub scale: Option<f64>,
    pub tile: usize,
    pub tile_pad: usize,
    pub pre_pad: usize,
    pub alpha: String,
    pub model_dir: Option<PathBuf>,
    /// Real-ESRGAN's `dni`: a second weight file and the first file's weight `w` (the
    /// network is `w·a + (1 − w)·b`).
    pub dni: Option<(String, f64)>,
}

/// `upframe.Interpolator(...)` / RIFE `Model` options.
#[derive(Clone, Debug)]
pub struct InterpolateArgs {
    pub model: String,
    pub rife_scale: f64,
    pub ensemble: bool,
    pub refine: bool,
    pub model_dir: Option<PathBuf>,
}

fn pipeline_error(e: PipelineError) -> EngineError {
    let kind = match &e {
        PipelineError::InvalidSize { .. } => Kind::Input,
        PipelineError::InvalidScale(_) => Kind::Option,
        PipelineError::Cancelled => Kind::Interrupted,
        _ => Kind::Other,
    };
    EngineError::new(kind, e.to_string())
}

/// A Real-ESRGAN upscaler.
pub struct Upscaler {
    inner: RealEsrganUpscaler,
}

impl Upscaler {
    pub fn new(args: &UpscaleArgs) -> Result<Self> {
        let alpha = match args.alpha.as_str() {
            "realesrgan" => AlphaUpsampler::RealEsrgan,
            "linear" => AlphaUpsampler::Linear,
            "lanczos" => AlphaUpsampler::Lanczos,
            other => {
                return Err(EngineError::new(
                    Kind::Option,
                    format!("--alpha {other}: expected realesrgan, linear or lanczos"),
                ))
            }
        };
        let resolved = registry::resolve(&args.model, args.model_dir.as_deref())
            .map_err(|e| EngineError::new(Kind::Model, format!("--model {}: {e}", args.model)))?;
        let options = RealEsrganOptions {
            outscale: args.scale,
            tile: args.tile,
            tile_pad: args.tile_pad,
            pre_pad: args.pre_pad,
            alpha,
            memory_budget: None,
        };
        let classify = |e: RealEsrganError| {
            let kind = match e {
                RealEsrganError::Model(_) | RealEsrganError::WeightMismatch(_) => Kind::Model,
                _ => Kind::Option,
            };
            EngineError::new(kind, e.to_string())
        };
        let inner = match &args.dni {
            None => RealEsrganUpscaler::from_resolved(&resolved, options).map_err(classify)?,
            Some((second, weight)) => {
                let other = registry::resolve(second, args.model_dir.as_deref())
                    .map_err(|e| EngineError::new(Kind::Model, format!("--model {second}: {e}")))?;
                let load = |m: &registry::ResolvedModel| {
                    m.load_weights().map_err(|e| {
                        EngineError::new(Kind::Model, format!("{}: {e}", m.describe()))
                    })
                };
                let sd = interpolate_weights(&load(&resolved)?, &load(&other)?, *weight)
                    .map_err(classify)?;
                let name = format!(
                    "{} × {weight} + {} × {}",
                    resolved.display_name(),
                    other.display_name(),
                    1.0 - weight
                );
                RealEsrganUpscaler::from_state_dict(name, &sd, options).map_err(classify)?
            }
        };
        Ok(Upscaler { inner })
    }

    /// The network's own scale.
    pub fn network_scale(&self) -> usize {
        self.inner.network_scale()
    }

    pub fn name(&self) -> &str {
        self.inner.name()
    }

    pub fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        self.inner.output_size(width, height)
    }

    pub fn process(&mut self, frame: Frame) -> Result<Frame> {
        self.inner.process(frame).map_err(pipeline_error)
    }
}

/// A RIFE interpolator.
pub struct Interpolator {
    inner: RifeInterpolator,
}

impl Interpolator {
    pub fn new(args: &InterpolateArgs) -> Result<Self> {
        let resolved = registry::resolve(&args.model, args.model_dir.as_deref())
            .map_err(|e| EngineError::new(Kind::Model, format!("--model {}: {e}", args.model)))?;
        let path = resolved.path().ok_or_else(|| {
            EngineError::new(
                Kind::Model,
                format!("--model {}: no weight file", args.model),
            )
        })?;
        let inner = RifeInterpolator::load(path, args.rife_scale).map_err(|e| match e {
            PipelineError::InvalidScale(_) => EngineError::new(Kind::Option, e.to_string()),
            _ => EngineError::new(Kind::Model, e.to_string()),
        })?;
        let inner = inner
            .with_options(IfNetOptions {
                ensemble: args.ensemble,
                refine: args.refine,
            })
            .map_err(|e| EngineError::new(Kind::Option, e.to_string()))?;
        Ok(Interpolator { inner })
    }

    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The layout's version as Practical-RIFE spells it (`v4.25/v4.26` → 4.25).
    pub fn version(&self) -> String {
        self.inner.network().config().version.clone()
    }

    pub fn interpolate(&mut self, a: &Frame, b: &Frame, t: f32) -> Result<Frame> {
        self.inner.interpolate(a, b, t).map_err(pipeline_error)
    }
}
