//! The processors behind the Python classes: the facade's [`upframe::Upscaler`] and
//! [`upframe::Interpolator`], built from the Python arguments (options are validated by the
//! facade, once), and their errors classified into `upframe.errors` kinds.
//!
//! One thing the facade does not offer is kept here: `RealESRGANer`'s `dni` of two arbitrary
//! weight files (`model_path=[a, b], dni_weight=[w, 1 − w]`), built with the pipeline's
//! `interpolate_weights` as the facade builds its denoise-strength mix.

use std::path::PathBuf;

use upframe::{AlphaMode, Frame, InterpolateOptions, UpscaleOptions, ValidUpscale};
use upframe_models::registry;
use upframe_pipeline::processors::realesrgan::{interpolate_weights, RealEsrganUpscaler};
use upframe_pipeline::FrameProcessor;

use crate::errors::{kind_of, Kind};

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

impl From<upframe::Error> for EngineError {
    fn from(e: upframe::Error) -> Self {
        EngineError::new(kind_of(&e), e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// `upframe.Upscaler(...)` / `RealESRGANer(...)` arguments.
#[derive(Clone, Debug)]
pub struct UpscaleArgs {
    pub model: String,
    pub scale: Option<f64>,
    pub tile: usize,
    pub tile_pad: usize,
    pub pre_pad: usize,
    pub alpha: String,
    pub denoise_strength: Option<f64>,
    pub model_dir: Option<PathBuf>,
    /// `auto`, `fp32` or `bf16` (`None`: the facade's default).
    pub precision: Option<String>,
    /// `cpu`, `gpu`, `gpu:N` or `auto` (`None`: the facade's default).
    pub device: Option<String>,
    /// Real-ESRGAN's `dni`: a second weight file and the first file's weight `w` (the
    /// network is `w·a + (1 − w)·b`).
    pub dni: Option<(String, f64)>,
}

/// `--precision` by the CLI's value names (the library's one parser).
pub fn precision_choice(value: &str) -> Result<upframe::PrecisionChoice> {
    Ok(upframe::options::parse_precision(value)?)
}

/// `--device` by the CLI's value names (the library's one parser).
pub fn device(value: &str) -> Result<upframe::Device> {
    Ok(upframe::options::parse_device(value)?)
}

/// `--alpha` by the CLI's value names (the library's one parser).
pub fn alpha_mode(value: &str) -> Result<AlphaMode> {
    Ok(<AlphaMode as upframe::options::Choice>::parse(value)?)
}

enum UpscalerImpl {
    Facade(upframe::Upscaler),
    Dni(Box<RealEsrganUpscaler>),
}

/// An upscaler: the facade's, or a `dni` mix of two weight files.
pub struct Upscaler {
    inner: UpscalerImpl,
}

impl Upscaler {
    pub fn new(args: &UpscaleArgs) -> Result<Self> {
        let options = UpscaleOptions {
            model: args.model.clone(),
            scale: args.scale,
            tile: args.tile,
            tile_pad: args.tile_pad,
            pre_pad: args.pre_pad,
            alpha: alpha_mode(&args.alpha)?,
            denoise_strength: args.denoise_strength,
            model_dir: args.model_dir.clone(),
            ..Default::default()
        };
        let mut options = options;
        if let Some(p) = &args.precision {
            options.precision = precision_choice(p)?;
        }
        if let Some(d) = &args.device {
            options.device = device(d)?;
        }
        let inner = match &args.dni {
            None => UpscalerImpl::Facade(upframe::Upscaler::new(&options)?),
            Some((second, weight)) => {
                // The facade checks the options; the network is the mix.
                let valid = options.validate()?;
                UpscalerImpl::Dni(Box::new(dni_upscaler(&valid, second, *weight)?))
            }
        };
        Ok(Upscaler { inner })
    }

    pub fn name(&self) -> &str {
        match &self.inner {
            UpscalerImpl::Facade(u) => u.name(),
            UpscalerImpl::Dni(u) => u.name(),
        }
    }

    /// Where the network runs and why, when a device other than the CPU was asked for (the
    /// facade's choice; a `dni` mix runs on the CPU).
    pub fn device(&self) -> Option<&upframe::DeviceChoice> {
        match &self.inner {
            UpscalerImpl::Facade(u) => u.device(),
            UpscalerImpl::Dni(_) => None,
        }
    }

    pub fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        match &self.inner {
            UpscalerImpl::Facade(u) => u.output_size(width, height),
            UpscalerImpl::Dni(u) => u.output_size(width, height),
        }
    }

    pub fn process(&mut self, frame: Frame) -> Result<Frame> {
        match &mut self.inner {
            UpscalerImpl::Facade(u) => Ok(u.process(frame)?),
            UpscalerImpl::Dni(u) => u
                .process(frame)
                .map_err(|e| EngineError::new(Kind::Input, upframe::one_line(&e))),
        }
    }
}

/// `w·a + (1 − w)·b` of the weight files `options.model` (a) and `second` (b).
fn dni_upscaler(valid: &ValidUpscale, second: &str, weight: f64) -> Result<RealEsrganUpscaler> {
    let options = valid.options();
    let load = |name: &str| {
        let model_error = |e: &dyn std::error::Error| {
            EngineError::new(
                Kind::Model,
                format!("--model {name}: {}", upframe::one_line(e)),
            )
        };
        let resolved =
            registry::resolve(name, options.model_dir.as_deref()).map_err(|e| model_error(&e))?;
        let weights = resolved.load_weights().map_err(|e| model_error(&e))?;
        Ok::<_, EngineError>((resolved.display_name(), weights))
    };
    let (name_a, a) = load(&options.model)?;
    let (name_b, b) = load(second)?;
    let mixed = interpolate_weights(&a, &b, weight)
        .map_err(|e| EngineError::new(Kind::Model, upframe::one_line(&e)))?;
    // The same settings the facade gives a single model.
    let settings = valid.realesrgan_options();
    let name = format!("{name_a} × {weight} + {name_b} × {}", 1.0 - weight);
    RealEsrganUpscaler::from_state_dict(name, &mixed, settings)
        .map_err(|e| EngineError::new(Kind::Model, upframe::one_line(&e)))
}

/// A RIFE interpolator (the facade's).
pub struct Interpolator {
    inner: upframe::Interpolator,
}

impl Interpolator {
    pub fn new(options: &InterpolateOptions) -> Result<Self> {
        Ok(Interpolator {
            inner: upframe::Interpolator::new(options)?,
        })
    }

    pub fn name(&self) -> &str {
        self.inner.name()
    }

    pub fn version(&self) -> String {
        self.inner.version().to_string()
    }

    /// Where RIFE runs and why, when a device other than the CPU was asked for.
    pub fn device(&self) -> Option<&upframe::DeviceChoice> {
        self.inner.device()
    }

    pub fn interpolate(&mut self, a: &Frame, b: &Frame, t: f32) -> Result<Frame> {
        Ok(self.inner.interpolate(a, b, t)?)
    }
}
