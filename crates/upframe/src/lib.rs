//! `upframe` as a library: Real-ESRGAN upscaling and RIFE frame interpolation of videos,
//! image sequences, images and in-memory frames — what the `upframe` program does, for
//! programs (the CLI, the Python package and the many-machines runner are thin shells over
//! this crate).
//!
//! - **Options, validated once** ([`options`]): [`UpscaleOptions`], [`InterpolateOptions`],
//!   [`EnhanceOptions`], [`JobOptions`], with the CLI's defaults; `validate()` gives the
//!   checked form or an [`Error::InvalidOption`] naming the option as the user types it.
//!   Values typed as text are read there too, for the CLI and the Python package alike:
//!   times and bit rates ([`options::parse_time`], [`options::parse_bitrate`]), precision and
//!   device names, and the words of choice options ([`Choice`]).
//! - **Processors on frames** ([`Upscaler`], [`Interpolator`]): HWC `f32` frames
//!   ([`Frame`]) in, frames out.
//! - **Jobs on files** ([`upscale`], [`interpolate`], [`enhance`], or [`UpscaleJob`] & co. to
//!   run many files on one loaded model): progress and start callbacks and a [`CancelToken`]
//!   in [`Hooks`]; no printing, no process exit; resumable video output (a cancelled or
//!   killed job resumes after its last complete segment when run again).
//! - **Batches** ([`batch`]): which inputs make one job or a batch and where each output goes.
//! - **One video on many machines** ([`distributed`]): a plan of chunks, one chunk per
//!   worker, a join.
//!
//! ```
//! use upframe::{Frame, Interpolator, InterpolateOptions, SampleDepth, UpscaleOptions, Upscaler};
//!
//! # fn main() -> Result<(), upframe::Error> {
//! // A resizer needs no weights; a model name (the default realesr-animevideov3 is built in)
//! // loads a network the same way.
//! let mut up = Upscaler::new(&UpscaleOptions { model: "lanczos".into(), scale: Some(1.5), ..Default::default() })?;
//! let out = up.process(Frame::new(40, 20, 3, SampleDepth::U8))?;
//! assert_eq!((out.width, out.height), (60, 30));
//!
//! // Options are checked before anything loads.
//! let err = Interpolator::new(&InterpolateOptions { factor: Some(1), ..Default::default() }).unwrap_err();
//! assert!(err.to_string().starts_with("--factor"));
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod distributed;
mod error;
mod jobs;
pub mod options;
mod processors;

pub use error::{one_line, Error, ErrorKind};
pub use jobs::{
    cheaper_order, enhance, interpolate, upscale, CancelToken, EnhanceJob, EnhanceMode, Hooks,
    InterpolateJob, InterpolateMode, Interpolation, Job, JobMode, JobStart, Stages, Summary,
    UpscaleJob, UpscaleMode, UPSCALER_TO_RIFE_COST,
};
pub use options::{
    AlphaMode, Choice, EnhanceOptions, InterpolateOptions, JobOptions, OnDecodeError, Order,
    UpscaleOptions, ValidEnhance, ValidInterpolate, ValidJob, ValidUpscale,
};
pub use processors::{Interpolator, Upscaler};
pub use upframe_media::{Frame, OutputSummary, SampleDepth, ShortInput, VideoInfo};
pub use upframe_pipeline::jobs::interpolate::OnCut;
pub use upframe_pipeline::jobs::timing::Rate;
pub use upframe_pipeline::processors::gpu::{Device, DeviceChoice};
pub use upframe_pipeline::{
    Notice, PrecisionChoice, Progress, ResolvedPrecision, ResumeReport, DEFAULT_MAX_PIXELS,
};
