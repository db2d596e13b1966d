//! The one configuration of every job: what the user asks for ([`UpscaleOptions`],
//! [`InterpolateOptions`], [`EnhanceOptions`], [`JobOptions`], each with the CLI's defaults)
//! and its validated form, checked once here (the pattern of ripgrep's `HiArgs` and rav1e's
//! `Config::validate`: parse → one validated struct → run). Every refusal is an
//! [`Error::InvalidOption`] naming the option as the user types it. The syntax of values typed
//! as text (times, bit rates, precision and device names, choice words) is read here too, so
//! the CLI and the Python package accept the same text with the same errors.
//!
//! The validated forms also render the resumable job's key ([`JobKey`]): every option that
//! changes the output, as `option.NAME=value` ("default" when not given), so a resumed job
//! with another option is refused and the refusal names the option.

use std::path::{Path, PathBuf};

use upframe_media::{DecodeErrorPolicy, DecodeOptions, EncodeOptions};
use upframe_models::IfNetOptions;
use upframe_pipeline::jobs::interpolate::OnCut;
use upframe_pipeline::jobs::scene::DEFAULT_CUT_THRESHOLD;
use upframe_pipeline::jobs::timing::{parse_fps, Rate, Retimer};
use upframe_pipeline::processors::gpu::Device;
use upframe_pipeline::processors::realesrgan::{AlphaUpsampler, RealEsrganOptions};
use upframe_pipeline::processors::rife::{RifeInterpolator, RIFE_SCALES};
use upframe_pipeline::resume::journal::JobKey;
use upframe_pipeline::{LanczosKernel, PipelineError, PrecisionChoice, DEFAULT_MAX_PIXELS};

use serde::{Deserialize, Serialize};

use crate::Error;

/// A field stored as its text (`Display`, read back with `FromStr`): precision and device
/// names as the user types them (in a plan file of a job run on many machines).
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// [`OnCut`] as its [`Choice`] words (`--on-cut`).
mod on_cut_text {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};
    use upframe_pipeline::jobs::interpolate::OnCut;

    use super::Choice;

    pub fn serialize<S: Serializer>(value: &OnCut, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.word())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OnCut, D::Error> {
        OnCut::parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// An option whose value is one of a few words (`--alpha`, `--on-cut`, `--on-decode-error`,
/// `--order`). The words live here, once: the Python package parses them with
/// [`Choice::parse`], and plan files and job keys write them with [`Choice::word`].
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// The option as the user types it (`--alpha`).
    const OPTION: &'static str;
    /// Every value, in the order an error lists them.
    const ALL: &'static [Self];

    /// The word the user types for this value.
    fn word(self) -> &'static str;

    /// What this value does, in one line for a command line's `--help` (`None`: the word says
    /// enough).
    fn help(self) -> Option<&'static str> {
        None
    }

    /// The value `text` names: case-insensitive, with `_` read as `-` (Python's snake_case
    /// spelling of `upscale-first`); otherwise an [`Error::InvalidOption`] that lists the words.
    fn parse(text: &str) -> Result<Self, Error> {
        let wanted = text.to_ascii_lowercase().replace('_', "-");
        if let Some(v) = Self::ALL.iter().find(|v| v.word() == wanted) {
            return Ok(*v);
        }
        let words: Vec<&str> = Self::ALL.iter().map(|v| v.word()).collect();
        Err(Error::option(
            Self::OPTION,
            format!(
                "{} {text}: expected one of {}",
                Self::OPTION,
                words.join(", ")
            ),
        ))
    }
}

/// `--precision` from its words (`auto`, `fp32`, `bf16`, and the aliases `f32`, `float32`,
/// `bfloat16`; case-insensitive), as the CLI reads it.
pub fn parse_precision(text: &str) -> Result<PrecisionChoice, Error> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|e| Error::option("--precision", format!("--precision {text}: {e}")))
}

/// `--device` from its words (`cpu`, `gpu`, `gpu:N`, `auto`; case-insensitive), as the CLI
/// reads it.
pub fn parse_device(text: &str) -> Result<Device, Error> {
    text.to_ascii_lowercase()
        .parse()
        .map_err(|e| Error::option("--device", format!("--device {text}: {e}")))
}

/// The syntax of a time option, in its errors.
const TIME_SYNTAX: &str = "use seconds (12.5) or [HH:]MM:SS[.ms]";

/// Seconds from the time syntax of `--start` and `--duration`: `12.5`, `1:02.5` or
/// `01:01:02.5` (`[HH:]MM:SS[.ms]`: whole hours and minutes, seconds with a fraction).
/// `option` is the option being read, named in the error. Only the syntax is checked here; a
/// zero duration is refused by [`JobOptions::validate`], which also sees times given as
/// numbers.
pub fn parse_time(option: &'static str, text: &str) -> Result<f64, Error> {
    let bad = || {
        Error::option(
            option,
            format!("{option} '{text}': invalid time: {TIME_SYNTAX}"),
        )
    };
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = if last {
            p.parse().map_err(|_| bad())?
        } else {
            p.parse::<u32>().map_err(|_| bad())? as f64
        };
        total = total * 60.0 + v;
    }
    if !total.is_finite() || total < 0.0 {
        return Err(bad());
    }
    Ok(total)
}

/// Bits per second from the syntax of `--bitrate`: `8M`, `2500k`, `1500000` (suffixes k, M, G
/// in either case, powers of 1000; a fraction such as `1.5M` is allowed). Zero is refused.
pub fn parse_bitrate(text: &str) -> Result<u64, Error> {
    let t = text.trim();
    let (num, mult) = match t.chars().last() {
        Some('k') | Some('K') => (&t[..t.len() - 1], 1e3),
        Some('m') | Some('M') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok((v * mult).round() as u64),
        _ => Err(Error::option(
            "--bitrate",
            format!("--bitrate '{text}': invalid bit rate: use e.g. 8M, 2500k or 1500000"),
        )),
    }
}

/// The Real-ESRGAN model upframe uses when none is named (built into the binary).
pub const DEFAULT_UPSCALE_MODEL: &str = "realesr-animevideov3";
/// The RIFE model used when none is named.
pub const DEFAULT_RIFE_MODEL: &str = "rife-v4.26";

/// How the alpha channel is upscaled (`--alpha`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlphaMode {
    /// Through the network (Real-ESRGAN's default).
    #[default]
    Realesrgan,
    /// OpenCV bilinear (the official alternative).
    Linear,
    /// OpenCV Lanczos-4.
    Lanczos,
}

impl Choice for AlphaMode {
    const OPTION: &'static str = "--alpha";
    const ALL: &'static [Self] = &[AlphaMode::Realesrgan, AlphaMode::Linear, AlphaMode::Lanczos];

    fn word(self) -> &'static str {
        match self {
            AlphaMode::Realesrgan => "realesrgan",
            AlphaMode::Linear => "linear",
            AlphaMode::Lanczos => "lanczos",
        }
    }
}

/// What to do with undecodable frames and inputs shorter than they declare
/// (`--on-decode-error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDecodeError {
    /// Stop with an error naming the frame or where the input ends.
    #[default]
    Abort,
    /// Drop the frame, count it, go on; accept a short input with a warning.
    Skip,
}

impl Choice for OnDecodeError {
    const OPTION: &'static str = "--on-decode-error";
    const ALL: &'static [Self] = &[OnDecodeError::Abort, OnDecodeError::Skip];

    fn word(self) -> &'static str {
        match self {
            OnDecodeError::Abort => "abort",
            OnDecodeError::Skip => "skip",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            OnDecodeError::Abort => {
                "Stop with an error naming the frame (or saying where the input ends early)"
            }
            OnDecodeError::Skip => {
                "Drop the frame, count it, and go on; accept a short input with a warning"
            }
        })
    }
}

/// Which model of `enhance` runs first (`--order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Interpolate at the input size, then upscale every output frame.
    InterpolateFirst,
    /// Upscale every input frame, then interpolate at the output size.
    UpscaleFirst,
}

impl Choice for Order {
    const OPTION: &'static str = "--order";
    const ALL: &'static [Self] = &[Order::InterpolateFirst, Order::UpscaleFirst];

    fn word(self) -> &'static str {
        match self {
            Order::InterpolateFirst => "interpolate-first",
            Order::UpscaleFirst => "upscale-first",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Order::InterpolateFirst => {
                "Interpolate at the input size, then upscale every output frame"
            }
            Order::UpscaleFirst => "Upscale every input frame, then interpolate at the output size",
        })
    }
}

impl Choice for OnCut {
    const OPTION: &'static str = "--on-cut";
    const ALL: &'static [Self] = &[OnCut::Repeat, OnCut::Blend, OnCut::Interpolate];

    fn word(self) -> &'static str {
        match self {
            OnCut::Repeat => "repeat",
            OnCut::Blend => "blend",
            OnCut::Interpolate => "interpolate",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            OnCut::Repeat => "Repeat the earlier frame (default: no frame mixes two shots)",
            OnCut::Blend => "Cross-fade linearly",
            OnCut::Interpolate => "Interpolate anyway",
        })
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Order::InterpolateFirst => "interpolate first",
            Order::UpscaleFirst => "upscale first",
        })
    }
}

/// What `upscale` (and the upscaling half of `enhance`) runs: a Real-ESRGAN model or a
/// Lanczos resizer, with `inference_realesrgan.py`'s settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpscaleOptions {
    /// A registry name (`realesr-animevideov3`, `RealESRGAN_x4plus`, ...), a weight file, or
    /// `lanczos` / `lanczos4-opencv`.
    pub model: String,
    /// Output scale (`outscale`); `None`: the model's own scale (Lanczos: 2).
    pub scale: Option<f64>,
    /// Tile size in input pixels; 0: whole frames unless they do not fit in memory.
    pub tile: usize,
    /// Context pixels read around each tile.
    pub tile_pad: usize,
    /// Reflect padding on the right/bottom before the network.
    pub pre_pad: usize,
    pub alpha: AlphaMode,
    /// realesr-general-x4v3's denoise strength in [0, 1] (`-dn`).
    pub denoise_strength: Option<f64>,
    /// Where registry models live (default: `UPFRAME_MODEL_DIR`, then the user cache).
    pub model_dir: Option<PathBuf>,
    /// The network's arithmetic: fp32 (default: the reference results), bf16, or auto (bf16
    /// where this CPU multiplies bf16 natively and the model family's measurements say it is
    /// faster within the quality bar).
    #[serde(with = "as_text")]
    pub precision: PrecisionChoice,
    /// Where the network runs: `Cpu` (default), `Gpu(None)` (the best adapter, software ones
    /// included), `Gpu(Some(n))` (entry n of `upframe devices`), or `Auto` (a discrete or
    /// integrated GPU when there is one, else the CPU). On a GPU, f16 storage is used where the
    /// adapter supports it unless the precision is fp32.
    #[serde(with = "as_text")]
    pub device: Device,
}

impl Default for UpscaleOptions {
    fn default() -> Self {
        UpscaleOptions {
            model: DEFAULT_UPSCALE_MODEL.to_string(),
            scale: None,
            tile: 0,
            tile_pad: 10,
            pre_pad: 0,
            alpha: AlphaMode::Realesrgan,
            denoise_strength: None,
            model_dir: None,
            precision: PrecisionChoice::Fp32,
            device: Device::Cpu,
        }
    }
}

/// How many frames interpolation makes: `factor`, `fps` or `slowmo` (at most one; none means
/// factor 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterpolateOptions {
    /// A RIFE registry name (`rife-v4.26`) or weight file.
    pub model: String,
    /// N−1 new frames between each pair (N ≥ 2).
    pub factor: Option<u32>,
    /// A target frame rate: `60`, `59.94`, `60000/1001`.
    pub fps: Option<String>,
    /// N−1 new frames per pair and time stretched by N.
    pub slowmo: Option<u32>,
    /// RIFE's `scale` (1.0; 0.5 for 4K).
    pub rife_scale: f64,
    /// RIFE's `ensemble` (flow on the reversed pair too).
    pub ensemble: bool,
    /// RIFE v4.0's refinement net.
    pub refine: bool,
    /// SSIM below which a pair is a scene cut.
    pub scene_threshold: f64,
    #[serde(with = "on_cut_text")]
    pub on_cut: OnCut,
    pub model_dir: Option<PathBuf>,
    /// RIFE's arithmetic (as [`UpscaleOptions::precision`]).
    #[serde(with = "as_text")]
    pub precision: PrecisionChoice,
    /// Where RIFE runs (as [`UpscaleOptions::device`]; f16 storage on a GPU unless the
    /// precision is fp32).
    #[serde(with = "as_text")]
    pub device: Device,
}

impl Default for InterpolateOptions {
    fn default() -> Self {
        InterpolateOptions {
            model: DEFAULT_RIFE_MODEL.to_string(),
            factor: None,
            fps: None,
            slowmo: None,
            rife_scale: 1.0,
            ensemble: false,
            refine: false,
            scene_threshold: DEFAULT_CUT_THRESHOLD,
            on_cut: OnCut::Repeat,
            model_dir: None,
            precision: PrecisionChoice::Fp32,
            device: Device::Cpu,
        }
    }
}

/// `enhance`: an upscaler and RIFE in one pass. The RIFE model is `interpolate.model` (the
/// CLI's `--interp-model`); `upscale.model_dir` is not used (`interpolate.model_dir` serves
/// both, as the CLI's one `--model-dir`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnhanceOptions {
    pub upscale: UpscaleOptions,
    pub interpolate: InterpolateOptions,
    /// Which runs first; `None`: the cheaper by the cost model.
    pub order: Option<Order>,
}

/// Encoder, time window, passthrough, output and resume settings of every file job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobOptions {
    /// FFmpeg encoder name; `None`: from the output extension.
    pub codec: Option<String>,
    pub crf: Option<f32>,
    /// Bits per second instead of CRF.
    pub bitrate: Option<u64>,
    pub preset: Option<String>,
    pub pix_fmt: Option<String>,
    /// Start time in seconds.
    pub start: Option<f64>,
    /// Length in seconds.
    pub duration: Option<f64>,
    /// At most this many frames.
    pub frames: Option<u64>,
    /// Copy the input's audio streams.
    pub audio: bool,
    /// Copy the input's subtitle streams.
    pub subtitles: bool,
    /// Replace an existing output (never the input).
    pub overwrite: bool,
    pub on_decode_error: OnDecodeError,
    /// Output frames per resumable segment; `Some(0)`: write directly, no resume.
    pub segment_frames: Option<u64>,
    /// Discard an interrupted run's segments and start over.
    pub restart: bool,
    /// Frame rate of an image-sequence input (`30`, `29.97`, `30000/1001`; default 25).
    pub framerate: Option<String>,
    /// Refuse frames of more pixels than this.
    pub max_pixels: u64,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            codec: None,
            crf: None,
            bitrate: None,
            preset: None,
            pix_fmt: None,
            start: None,
            duration: None,
            frames: None,
            audio: true,
            subtitles: true,
            overwrite: false,
            on_decode_error: OnDecodeError::Abort,
            segment_frames: None,
            restart: false,
            framerate: None,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Whether `model` names one of the Lanczos resizers rather than a network, and which.
pub fn lanczos_kernel(model: &str) -> Option<LanczosKernel> {
    match model.to_ascii_lowercase().as_str() {
        "lanczos" | "lanczos3" => Some(LanczosKernel::Lanczos3),
        "lanczos4-opencv" | "lanczos4" => Some(LanczosKernel::OpenCvLanczos4),
        _ => None,
    }
}

/// [`UpscaleOptions`], checked.
#[derive(Clone, Debug)]
pub struct ValidUpscale {
    pub(crate) options: UpscaleOptions,
    /// `Some` for a Lanczos resizer; `None` for a network.
    pub(crate) lanczos: Option<LanczosKernel>,
}

impl UpscaleOptions {
    /// Checks every value; the model itself is found when it loads.
    pub fn validate(&self) -> Result<ValidUpscale, Error> {
        if let Some(s) = self.scale {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::option(
                    "--scale",
                    format!("--scale {s}: must be a finite number greater than 0"),
                ));
            }
        }
        if let Some(dn) = self.denoise_strength {
            if !(0.0..=1.0).contains(&dn) {
                return Err(Error::option(
                    "--denoise-strength",
                    format!("--denoise-strength {dn}: must be between 0 and 1"),
                ));
            }
        }
        let lanczos = lanczos_kernel(&self.model);
        if lanczos.is_some() && self.denoise_strength.is_some() {
            return Err(Error::option(
                "--denoise-strength",
                format!(
                    "--denoise-strength only applies to realesr-general-x4v3 (model: {})",
                    self.model
                ),
            ));
        }
        Ok(ValidUpscale {
            options: self.clone(),
            lanczos,
        })
    }
}

impl ValidUpscale {
    pub fn options(&self) -> &UpscaleOptions {
        &self.options
    }

    /// Whether this is a Lanczos resizer (no network).
    pub fn is_lanczos(&self) -> bool {
        self.lanczos.is_some()
    }

    /// The Real-ESRGAN processor settings (also what a caller mixing two weight files gives
    /// the processor it builds).
    pub fn realesrgan_options(&self) -> RealEsrganOptions {
        let o = &self.options;
        RealEsrganOptions {
            outscale: o.scale,
            tile: o.tile,
            tile_pad: o.tile_pad,
            pre_pad: o.pre_pad,
            alpha: match o.alpha {
                AlphaMode::Realesrgan => AlphaUpsampler::RealEsrgan,
                AlphaMode::Linear => AlphaUpsampler::Linear,
                AlphaMode::Lanczos => AlphaUpsampler::Lanczos,
            },
            memory_budget: None,
            precision: o.precision,
        }
    }

    /// The options in the job key; `model_option` is the key's name for the model
    /// (`model` for `upscale`, also `model` for `enhance`).
    pub(crate) fn push_key(&self, key: &mut JobKey) {
        let o = &self.options;
        key.push("option.model", &o.model);
        key.push("option.scale", opt(o.scale));
        key.push("option.tile", o.tile.to_string());
        key.push("option.tile_pad", o.tile_pad.to_string());
        key.push("option.pre_pad", o.pre_pad.to_string());
        key.push("option.alpha", o.alpha.word());
        key.push("option.denoise_strength", opt(o.denoise_strength));
        // The resolved precision is in the processor's own key entries too: a resume never
        // mixes precisions.
        key.push("option.precision", o.precision.name());
        key.push("option.device", o.device.to_string());
    }
}

/// [`InterpolateOptions`], checked.
#[derive(Clone, Debug)]
pub struct ValidInterpolate {
    pub(crate) options: InterpolateOptions,
    pub(crate) rate: Rate,
}

impl InterpolateOptions {
    pub fn validate(&self) -> Result<ValidInterpolate, Error> {
        let given = [
            (self.factor.is_some(), "--factor"),
            (self.fps.is_some(), "--fps"),
            (self.slowmo.is_some(), "--slowmo"),
        ];
        let named: Vec<&str> = given.iter().filter(|g| g.0).map(|g| g.1).collect();
        if named.len() > 1 {
            return Err(Error::option(
                "--factor",
                format!("{} cannot be used together: give one", named.join(" and ")),
            ));
        }
        let rate = match (self.factor, &self.fps, self.slowmo) {
            (Some(k), _, _) => Rate::Factor(k),
            (_, Some(f), _) => {
                let (num, den) =
                    parse_fps(f).map_err(|e| Error::option("--fps", format!("--fps: {e}")))?;
                Rate::Fps { num, den }
            }
            (_, _, Some(k)) => Rate::Slowmo(k),
            _ => Rate::Factor(2),
        };
        // The timing rule's own check (a factor of at least 2, a positive rate), run now so a
        // bad value is refused before any model loads.
        Retimer::new(rate, (1, 25)).map_err(|e| {
            let name = match rate {
                Rate::Factor(_) => "--factor",
                Rate::Fps { .. } => "--fps",
                Rate::Slowmo(_) => "--slowmo",
            };
            Error::option(name, format!("{name}: {e}"))
        })?;
        if !RIFE_SCALES.contains(&self.rife_scale) {
            return Err(Error::option(
                "--rife-scale",
                format!(
                    "--rife-scale {}: must be a power of two from 1/16 to 4 (0.0625, 0.125, 0.25, 0.5, 1, 2, 4)",
                    self.rife_scale
                ),
            ));
        }
        if !self.scene_threshold.is_finite() {
            return Err(Error::option(
                "--scene-threshold",
                "--scene-threshold must be a number",
            ));
        }
        Ok(ValidInterpolate {
            options: self.clone(),
            rate,
        })
    }
}

impl ValidInterpolate {
    pub fn options(&self) -> &InterpolateOptions {
        &self.options
    }

    /// The output frame rate rule.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// The official forward's switches.
    pub fn ifnet_options(&self) -> IfNetOptions {
        IfNetOptions {
            ensemble: self.options.ensemble,
            refine: self.options.refine,
        }
    }

    /// Sets `--rife-ensemble` and `--rife-refine` on `rife`, loaded from `weights`: the one
    /// check of these switches, which needs the weights (a layout without ensemble mode or
    /// without its refinement net refuses them), as a one-line error naming the file. The
    /// scale is checked in [`InterpolateOptions::validate`], before anything loads.
    pub(crate) fn apply_switches(
        &self,
        rife: RifeInterpolator,
        weights: &Path,
    ) -> Result<RifeInterpolator, Error> {
        rife.with_options(self.ifnet_options()).map_err(|e| {
            // The processor's message is the network's own refusal; the file names it here.
            let why = match e {
                PipelineError::Processor { message, .. } => message,
                other => crate::one_line(&other),
            };
            Error::model("--model", format!("{}: {why}", weights.display()))
        })
    }

    /// The options in the job key; `model_key` names the RIFE model's entry (`model` for
    /// `interpolate`, `interp_model` for `enhance`, as their options are called).
    pub(crate) fn push_key(&self, key: &mut JobKey, model_key: &str) {
        let o = &self.options;
        key.push(format!("option.{model_key}"), &o.model);
        key.push("option.factor", opt(o.factor));
        key.push(
            "option.fps",
            o.fps.clone().unwrap_or_else(|| "default".into()),
        );
        key.push("option.slowmo", opt(o.slowmo));
        key.push("option.rife_scale", o.rife_scale.to_string());
        key.push("option.rife_ensemble", o.ensemble.to_string());
        key.push("option.rife_refine", o.refine.to_string());
        key.push(format!("option.{model_key}_precision"), o.precision.name());
        key.push("option.scene_threshold", o.scene_threshold.to_string());
        key.push("option.on_cut", o.on_cut.word());
    }
}

/// [`EnhanceOptions`], checked.
#[derive(Clone, Debug)]
pub struct ValidEnhance {
    pub(crate) upscale: ValidUpscale,
    pub(crate) interpolate: ValidInterpolate,
    pub(crate) order: Option<Order>,
}

impl EnhanceOptions {
    pub fn validate(&self) -> Result<ValidEnhance, Error> {
        let mut upscale = self.upscale.validate()?;
        // One model folder serves both models (the CLI's one --model-dir).
        upscale.options.model_dir = self.interpolate.model_dir.clone();
        Ok(ValidEnhance {
            upscale,
            interpolate: self.interpolate.validate()?,
            order: self.order,
        })
    }
}

impl ValidEnhance {
    pub fn upscale(&self) -> &ValidUpscale {
        &self.upscale
    }

    pub fn interpolate(&self) -> &ValidInterpolate {
        &self.interpolate
    }
}

/// [`JobOptions`], checked.
#[derive(Clone, Debug)]
pub struct ValidJob {
    pub(crate) options: JobOptions,
    pub(crate) decode: DecodeOptions,
}

impl JobOptions {
    pub fn validate(&self) -> Result<ValidJob, Error> {
        if let Some(0) = self.frames {
            return Err(Error::option("--frames", "--frames must be at least 1"));
        }
        if let Some(d) = self.duration {
            if !(d.is_finite() && d > 0.0) {
                return Err(Error::option(
                    "--duration",
                    "--duration must be greater than 0",
                ));
            }
        }
        if let Some(s) = self.start {
            if !(s.is_finite() && s >= 0.0) {
                return Err(Error::option(
                    "--start",
                    format!("--start {s}: must be 0 or more seconds"),
                ));
            }
        }
        // A bit rate typed as text is refused at 0 by `parse_bitrate`; this is for one given
        // as a number (the Python package, a plan file, a library caller).
        if let Some(0) = self.bitrate {
            return Err(Error::option(
                "--bitrate",
                "--bitrate must be greater than 0",
            ));
        }
        if let Some(crf) = self.crf {
            if !crf.is_finite() {
                return Err(Error::option("--crf", "--crf must be a number"));
            }
        }
        let sequence_frame_rate = match &self.framerate {
            None => DecodeOptions::default().sequence_frame_rate,
            Some(text) => {
                let (num, den) = parse_fps(text)
                    .map_err(|e| Error::option("--framerate", format!("--framerate: {e}")))?;
                let g = gcd(num, den).max(1);
                let (num, den) = (num / g, den / g);
                match (i32::try_from(num), i32::try_from(den)) {
                    (Ok(n), Ok(d)) if n > 0 && d > 0 => (n, d),
                    _ => {
                        return Err(Error::option(
                            "--framerate",
                            format!("--framerate {text}: out of range"),
                        ))
                    }
                }
            }
        };
        let decode = DecodeOptions {
            start_s: self.start,
            duration_s: self.duration,
            max_frames: self.frames,
            on_decode_error: match self.on_decode_error {
                OnDecodeError::Abort => DecodeErrorPolicy::Abort,
                OnDecodeError::Skip => DecodeErrorPolicy::Skip,
            },
            sequence_frame_rate,
            max_pixels: self.max_pixels,
        };
        Ok(ValidJob {
            options: self.clone(),
            decode,
        })
    }
}

impl ValidJob {
    pub fn options(&self) -> &JobOptions {
        &self.options
    }

    pub(crate) fn encode_options(&self) -> EncodeOptions {
        let o = &self.options;
        EncodeOptions {
            codec: o.codec.clone(),
            crf: o.crf,
            bitrate: o.bitrate,
            preset: o.preset.clone(),
            pix_fmt: o.pix_fmt.clone(),
            options: Vec::new(),
        }
    }

    /// The options that change the output. Not in the key: where it goes, how it is
    /// reported, whether to resume, the decode-error policy (a short input finishes with
    /// `skip` on the same segments), the segment length (the journal checks it itself) and
    /// the frame-size limit.
    pub(crate) fn push_key(&self, key: &mut JobKey) {
        let o = &self.options;
        key.push(
            "option.codec",
            o.codec.clone().unwrap_or_else(|| "default".into()),
        );
        key.push("option.crf", opt(o.crf));
        key.push("option.bitrate", opt(o.bitrate));
        key.push(
            "option.preset",
            o.preset.clone().unwrap_or_else(|| "default".into()),
        );
        key.push(
            "option.pix_fmt",
            o.pix_fmt.clone().unwrap_or_else(|| "default".into()),
        );
        key.push("option.start", opt(o.start));
        key.push("option.duration", opt(o.duration));
        key.push("option.frames", opt(o.frames));
        key.push("option.no_audio", (!o.audio).to_string());
        key.push("option.no_subtitles", (!o.subtitles).to_string());
        key.push(
            "option.framerate",
            o.framerate.clone().unwrap_or_else(|| "default".into()),
        );
    }
}

/// `value`, or `default` when not given.
fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "default".to_string(), |v| v.to_string())
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_option() {
        assert!(UpscaleOptions::default().validate().is_ok());
        assert!(InterpolateOptions::default().validate().is_ok());
        assert!(JobOptions::default().validate().is_ok());
        let bad = |e: Error| match e {
            Error::InvalidOption { option, message } => (option, message),
            other => panic!("not an option error: {other}"),
        };
        let (o, m) = bad(UpscaleOptions {
            scale: Some(0.0),
            ..Default::default()
        }
        .validate()
        .unwrap_err());
        assert_eq!(o, "--scale");
        assert!(m.contains("--scale 0"), "{m}");
        let (o, _) = bad(JobOptions {
            frames: Some(0),
            ..Default::default()
        }
        .validate()
        .unwrap_err());
        assert_eq!(o, "--frames");
        let (o, m) = bad(InterpolateOptions {
            factor: Some(2),
            fps: Some("60".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err());
        assert_eq!(o, "--factor");
        assert!(m.contains("--factor and --fps"), "{m}");
        let (o, _) = bad(JobOptions {
            framerate: Some("0".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err());
        assert_eq!(o, "--framerate");
        let (o, m) = bad(InterpolateOptions {
            rife_scale: 0.3,
            ..Default::default()
        }
        .validate()
        .unwrap_err());
        assert_eq!(o, "--rife-scale");
        assert!(
            m.starts_with("--rife-scale 0.3: must be a power of two"),
            "{m}"
        );
        assert!(InterpolateOptions {
            rife_scale: 0.5,
            ..Default::default()
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("--start", "12.5").unwrap(), 12.5);
        assert_eq!(parse_time("--start", "1:02.5").unwrap(), 62.5);
        assert_eq!(parse_time("--start", "01:01:02").unwrap(), 3662.0);
        assert!(parse_time("--start", "").is_err());
        assert!(parse_time("--start", "-3").is_err());
        assert!(parse_time("--start", "1::2").is_err());
        assert!(parse_time("--start", "abc").is_err());
        match parse_time("--duration", "1:xx") {
            Err(Error::InvalidOption { option, message }) => {
                assert_eq!(option, "--duration");
                assert_eq!(
                    message,
                    "--duration '1:xx': invalid time: use seconds (12.5) or [HH:]MM:SS[.ms]"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bitrates_parse() {
        assert_eq!(parse_bitrate("8M").unwrap(), 8_000_000);
        assert_eq!(parse_bitrate("2500k").unwrap(), 2_500_000);
        assert_eq!(parse_bitrate("1500000").unwrap(), 1_500_000);
        assert!(parse_bitrate("0").is_err());
        match parse_bitrate("fast") {
            Err(Error::InvalidOption { option, message }) => {
                assert_eq!(option, "--bitrate");
                assert!(
                    message.contains("'fast'") && message.contains("8M, 2500k"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A bit rate given as a number is checked by validate.
        let e = JobOptions {
            bitrate: Some(0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidOption {
                    option: "--bitrate",
                    ..
                }
            ),
            "{e}"
        );
    }

    /// Every value reads back from its word (in Python's spelling too), and an unknown word
    /// names the option and the words.
    fn words_read_back<T: Choice + std::fmt::Debug>() {
        for &v in T::ALL {
            assert_eq!(T::parse(v.word()).unwrap(), v);
            assert_eq!(
                T::parse(&v.word().to_ascii_uppercase().replace('-', "_")).unwrap(),
                v
            );
        }
        match T::parse("nope") {
            Err(Error::InvalidOption { option, message }) => {
                assert_eq!(option, T::OPTION);
                let words: Vec<&str> = T::ALL.iter().map(|v| v.word()).collect();
                assert_eq!(
                    message,
                    format!("{} nope: expected one of {}", T::OPTION, words.join(", "))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precisions_and_devices_parse() {
        assert_eq!(parse_precision("BF16").unwrap(), PrecisionChoice::Bf16);
        assert_eq!(parse_precision("float32").unwrap(), PrecisionChoice::Fp32);
        assert!(matches!(
            parse_precision("fp16"),
            Err(Error::InvalidOption { option: "--precision", message }) if message.starts_with("--precision fp16: ")
        ));
        assert_eq!(parse_device("GPU:1").unwrap(), Device::Gpu(Some(1)));
        assert_eq!(parse_device("auto").unwrap(), Device::Auto);
        assert!(matches!(
            parse_device("tpu"),
            Err(Error::InvalidOption { option: "--device", message }) if message.starts_with("--device tpu: ")
        ));
    }

    #[test]
    fn choices_read_back() {
        words_read_back::<AlphaMode>();
        words_read_back::<OnDecodeError>();
        words_read_back::<Order>();
        words_read_back::<OnCut>();
        // The serde names of the plan file are the same words.
        for &v in AlphaMode::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.word());
        }
        for &v in OnDecodeError::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.word());
        }
        for &v in Order::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.word());
        }
    }

    #[test]
    fn framerate_reduces() {
        let v = JobOptions {
            framerate: Some("60000/2002".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(v.decode.sequence_frame_rate, (30000, 1001));
    }
}
