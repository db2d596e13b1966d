//! The processors built from validated options, usable frame by frame on in-memory images
//! ([`Upscaler`], [`Interpolator`]) and lent to file jobs: the one place that turns a model
//! name into a loaded Real-ESRGAN network, a Lanczos resizer or RIFE.

use std::path::Path;

use upframe_media::Frame;
use upframe_models::registry;
use upframe_pipeline::processors::gpu::{Device, DeviceChoice};
use upframe_pipeline::processors::realesrgan::{load_upscaler_with_denoise, RealEsrganUpscaler};
use upframe_pipeline::processors::rife::RifeInterpolator;
use upframe_pipeline::{
    FrameInterpolator, FrameProcessor, LanczosResizer, PrecisionChoice, ResolvedPrecision,
};

use crate::error::one_line;
use crate::options::{InterpolateOptions, UpscaleOptions, ValidInterpolate, ValidUpscale};
use crate::Error;

/// An upscaler: a Real-ESRGAN network with `RealESRGANer`'s semantics (tiles, pre-pad,
/// outscale, alpha, 16-bit) or a Lanczos resizer.
///
/// ```
/// use upframe::{Frame, SampleDepth, UpscaleOptions, Upscaler};
///
/// # fn main() -> Result<(), upframe::Error> {
/// let mut up = Upscaler::new(&UpscaleOptions {
///     model: "lanczos".into(),
///     scale: Some(2.0),
///     ..Default::default()
/// })?;
/// let frame = Frame::new(8, 6, 3, SampleDepth::U8);
/// let big = up.process(frame)?;
/// assert_eq!((big.width, big.height), (16, 12));
/// # Ok(())
/// # }
/// ```
pub struct Upscaler {
    processor: Box<dyn FrameProcessor>,
    /// The network's precision and why (`None` for a resizer).
    precision: Option<ResolvedPrecision>,
    /// Where the network runs when a device other than the CPU was asked for.
    device: Option<DeviceChoice>,
    /// Whether this is a network (it costs more than RIFE per pixel) or a resizer.
    network: bool,
}

impl std::fmt::Debug for Upscaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upscaler")
            .field("name", &self.processor.name())
            .finish()
    }
}

impl Upscaler {
    /// Validates `options` and loads the model.
    pub fn new(options: &UpscaleOptions) -> Result<Self, Error> {
        Self::from_valid(&options.validate()?)
    }

    /// Loads the model of already validated options.
    pub fn from_valid(valid: &ValidUpscale) -> Result<Self, Error> {
        let o = &valid.options;
        if let Some(kernel) = valid.lanczos {
            let resizer = LanczosResizer::new(kernel, o.scale.unwrap_or(2.0))
                .map_err(|e| Error::option("--scale", format!("--scale: {e}")))?;
            return Ok(Upscaler {
                processor: Box::new(resizer),
                precision: None,
                device: None,
                network: false,
            });
        }
        let model = &o.model;
        let context = |e: &dyn std::error::Error| format!("--model {model}: {}", one_line(e));
        let resolved = registry::resolve(model, o.model_dir.as_deref())
            .map_err(|e| Error::model("--model", context(&e)))?;
        let general_file = resolved.path().filter(|_| {
            resolved
                .model
                .is_some_and(|m| m.name == "realesr-general-x4v3")
        });
        let options = valid.realesrgan_options();
        let upscaler = match (o.denoise_strength, general_file) {
            (Some(dn), Some(general_file)) => {
                let dir = general_file.parent().unwrap_or(Path::new("."));
                let wdn = registry::lookup("realesr-general-wdn-x4v3")
                    .and_then(|m| {
                        registry::locate(m, &registry::model_dir(o.model_dir.as_deref()).ok()?).ok()
                    })
                    .and_then(|m| m.path().map(Path::to_path_buf))
                    .unwrap_or_else(|| dir.join("realesr-general-wdn-x4v3.pth"));
                load_upscaler_with_denoise(general_file, &wdn, dn, options)
                    .map_err(|e| Error::model("--model", one_line(&e)))?
            }
            (Some(dn), None) => {
                return Err(Error::option(
                    "--denoise-strength",
                    format!(
                    "--denoise-strength {dn} only applies to realesr-general-x4v3 (model: {model})"
                ),
                ))
            }
            (None, _) => RealEsrganUpscaler::from_resolved(&resolved, options)
                .map_err(|e| Error::model("--model", one_line(&e)))?,
        };
        let mut upscaler = upscaler;
        let device = on_device(o.device, o.precision, |d, f16| upscaler.use_device(d, f16))?;
        Ok(Upscaler {
            device,
            precision: Some(upscaler.precision().clone()),
            processor: Box::new(upscaler),
            network: true,
        })
    }

    /// Upscales one frame (HWC `f32` in [0, 1], 1–4 channels); keeps its `pts`, `index` and
    /// depth.
    pub fn process(&mut self, frame: Frame) -> Result<Frame, Error> {
        check_frame(&frame)?;
        self.processor
            .process(frame)
            .map_err(|e| Error::Processing {
                input: "frame".into(),
                message: one_line(&e),
                hint: None,
            })
    }

    /// The output size for a `width`×`height` input.
    pub fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        self.processor.output_size(width, height)
    }

    /// A short name for messages (the model or resizer).
    pub fn name(&self) -> &str {
        self.processor.name()
    }

    /// The network's precision and the reason for it (`None` for a resizer).
    pub fn precision(&self) -> Option<&ResolvedPrecision> {
        self.precision.as_ref()
    }

    /// Where the network runs and why, when a device other than the CPU was asked for.
    pub fn device(&self) -> Option<&DeviceChoice> {
        self.device.as_ref()
    }

    /// Whether this runs a network rather than a resizer.
    pub fn is_network(&self) -> bool {
        self.network
    }

    pub(crate) fn processor_mut(&mut self) -> &mut Box<dyn FrameProcessor> {
        &mut self.processor
    }
}

/// RIFE: the frame at a time between two frames.
///
/// ```
/// use upframe::{Frame, InterpolateOptions, Interpolator, SampleDepth};
///
/// # fn main() -> Result<(), upframe::Error> {
/// # let Some(rife) = ["UPFRAME_ASSETS"].iter().filter_map(|v| std::env::var_os(v)).map(std::path::PathBuf::from)
/// #     .chain([std::path::PathBuf::from("../../../shared")])
/// #     .map(|d| d.join("models/rife-v4.25-or-v4.26/flownet.pkl")).find(|p| p.is_file())
/// # else { return Ok(()) }; // the RIFE weights are an asset (see the README)
/// let mut rife = Interpolator::new(&InterpolateOptions {
///     model: rife.display().to_string(),
///     ..Default::default()
/// })?;
/// let black = Frame::new(64, 48, 3, SampleDepth::U8);
/// let mut white = black.clone();
/// white.data.fill(1.0);
/// let mid = rife.interpolate(&black, &white, 0.5)?;
/// assert_eq!((mid.width, mid.height, mid.channels), (64, 48, 3));
/// # Ok(())
/// # }
/// ```
pub struct Interpolator {
    rife: RifeInterpolator,
    /// Where the network runs when a device other than the CPU was asked for.
    device: Option<DeviceChoice>,
}

impl std::fmt::Debug for Interpolator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rife.fmt(f)
    }
}

impl Interpolator {
    /// Validates `options` and loads the RIFE model (`options.model`).
    pub fn new(options: &InterpolateOptions) -> Result<Self, Error> {
        Self::from_valid(&options.validate()?)
    }

    /// Loads the RIFE model of already validated options.
    pub fn from_valid(valid: &ValidInterpolate) -> Result<Self, Error> {
        let o = &valid.options;
        let model = &o.model;
        let resolved = registry::resolve(model, o.model_dir.as_deref())
            .map_err(|e| Error::model("--model", format!("--model {model}: {}", one_line(&e))))?;
        // Only Real-ESRGAN weights are built in; RIFE always comes from a file.
        let Some(path) = resolved.path() else {
            return Err(Error::model(
                "--model",
                format!(
                    "--model {model}: {} is not a RIFE model",
                    resolved.describe()
                ),
            ));
        };
        let rife = RifeInterpolator::load(path, o.rife_scale)
            .map_err(|e| Error::model("--model", one_line(&e)))?;
        // Before any job starts: a switch the weights cannot run is a one-line error.
        let mut rife = valid
            .apply_switches(rife, path)?
            .with_precision(o.precision);
        let device = on_device(o.device, o.precision, |d, f16| rife.use_device(d, f16))?;
        Ok(Interpolator { rife, device })
    }

    /// The frame at `t` in (0, 1) between `first` (t = 0) and `second` (t = 1), which have the
    /// same size and channels.
    pub fn interpolate(&mut self, first: &Frame, second: &Frame, t: f32) -> Result<Frame, Error> {
        check_frame(first)?;
        check_frame(second)?;
        if (first.width, first.height, first.channels)
            != (second.width, second.height, second.channels)
        {
            return Err(Error::option(
                "frames",
                format!(
                    "the two frames differ in size or channels ({}x{}x{} and {}x{}x{})",
                    first.width,
                    first.height,
                    first.channels,
                    second.width,
                    second.height,
                    second.channels
                ),
            ));
        }
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::option(
                "timestep",
                format!("timestep {t}: must be between 0 and 1"),
            ));
        }
        self.rife
            .interpolate(first, second, t)
            .map_err(|e| Error::Processing {
                input: "frames".into(),
                message: one_line(&e),
                hint: None,
            })
    }

    /// A short name for messages (`rife IFNet v4.25/v4.26`).
    pub fn name(&self) -> &str {
        self.rife.name()
    }

    /// The network layout's version (`v4.25/v4.26`, `v4.0/v4.1`, ...).
    pub fn version(&self) -> &str {
        &self.rife.network().config().version
    }

    /// RIFE's precision and the reason for it.
    pub fn precision(&self) -> &ResolvedPrecision {
        self.rife.precision()
    }

    /// Where the network runs and why, when a device other than the CPU was asked for.
    pub fn device(&self) -> Option<&DeviceChoice> {
        self.device.as_ref()
    }

    pub(crate) fn rife_mut(&mut self) -> &mut RifeInterpolator {
        &mut self.rife
    }
}

/// Moves a network to `device` with `use_device` unless that is the CPU (the default, where
/// it already is): f16 storage unless `precision` is fp32. Returns where it runs and why.
fn on_device<E: std::error::Error>(
    device: Device,
    precision: PrecisionChoice,
    use_device: impl FnOnce(Device, bool) -> Result<DeviceChoice, E>,
) -> Result<Option<DeviceChoice>, Error> {
    if device == Device::Cpu {
        return Ok(None);
    }
    let f16 = precision != PrecisionChoice::Fp32;
    use_device(device, f16)
        .map(Some)
        .map_err(|e| Error::option("--device", format!("--device {device}: {}", one_line(&e))))
}

/// Refuses a frame whose samples do not match its size, before a processor indexes it.
fn check_frame(frame: &Frame) -> Result<(), Error> {
    let expected = frame
        .width
        .checked_mul(frame.height)
        .and_then(|p| p.checked_mul(frame.channels));
    if !(1..=4).contains(&frame.channels)
        || expected != Some(frame.data.len())
        || expected == Some(0)
    {
        return Err(Error::option(
            "frame",
            format!(
                "a frame of {}x{} with {} channels needs {} samples, it has {}",
                frame.width,
                frame.height,
                frame.channels,
                expected.map_or("too many".to_string(), |n| n.to_string()),
                frame.data.len()
            ),
        ));
    }
    Ok(())
}
