//! Jobs on files: `upscale`, `interpolate` and `enhance` of a video, an image sequence or an
//! image, with a progress callback and a cancellation token, no printing and no exit.
//!
//! Each command is a job value ([`UpscaleJob`], [`InterpolateJob`], [`EnhanceJob`]: one
//! generic [`Job`] over the command's [`JobMode`]) built from validated options:
//! [`preflight`](Job::preflight) refuses in a moment a job that cannot work (before any model
//! loads), `load` loads the models once, and [`run`](Job::run) runs one input to one output —
//! again for every file of a batch with the same loaded models. The free functions [`upscale`], [`interpolate`] and
//! [`enhance`] do all three for one file. The resumable job's key is rendered here from the
//! validated options, never from the caller's text.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use upframe_media::{OutputSummary, ShortInput, VideoInfo};
use upframe_models::registry;
use upframe_pipeline::jobs::interpolate::{run_interpolate_job_with, InterpolateSummary};
use upframe_pipeline::jobs::timing::Rate;
use upframe_pipeline::processors::gpu::DeviceChoice;
use upframe_pipeline::resume::chunks::ChunkMode;
use upframe_pipeline::resume::journal::JobKey;
use upframe_pipeline::{
    run_video_job_with, FrameProcessor, JobReport, JobSummary, Notice, Progress, ResolvedPrecision,
    ResumeReport, SegmentOptions, VideoJob,
};

use crate::options::{
    EnhanceOptions, InterpolateOptions, JobOptions, Order, UpscaleOptions, ValidEnhance,
    ValidInterpolate, ValidJob, ValidUpscale,
};
use crate::processors::{Interpolator, Upscaler};
use crate::Error;

/// Stops a running job from another thread (or a signal handler): the job stops after the
/// frame in flight, drops the segment it was writing, keeps the complete ones for a re-run and
/// returns [`Error::Interrupted`]. Clones share one flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared flag (for a signal handler that sets it).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// What a job knows once its input is open, before the first frame.
#[derive(Debug)]
pub struct JobStart<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    /// The input's video stream.
    pub info: &'a VideoInfo,
    pub output_size: (usize, usize),
    /// Frames this run will write, when known.
    pub frames: Option<u64>,
    /// The processing in words (`realesr-animevideov3`, `rife-v4.26 (factor 2, RIFE scale 1)`).
    pub processing: &'a str,
}

/// Called once the input is open ([`JobStart`]).
pub type StartHook<'a> = Box<dyn FnMut(&JobStart<'_>) + 'a>;
/// Called periodically while frames are written.
pub type ProgressHook<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// How a job reports to its caller and how the caller stops it. All optional.
#[derive(Default)]
pub struct Hooks<'a> {
    pub cancel: CancelToken,
    /// Called once the input is open.
    pub on_start: Option<StartHook<'a>>,
    /// Called periodically while frames are written.
    pub on_progress: Option<ProgressHook<'a>>,
    /// One-line notices for the user ("resuming after 3 segments ...").
    pub notice: Notice,
}

/// Per-stage busy times of the threaded runner (time inside each stage, not waiting).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stages {
    pub decode_busy: Duration,
    pub process_busy: Duration,
    pub encode_busy: Duration,
    /// Sum of the busy times over the frame loop's wall time (above 1: stages overlapped).
    pub overlap: f64,
}

impl Stages {
    fn from_report(r: &JobReport) -> Self {
        Stages {
            decode_busy: r.decode_busy,
            process_busy: r.process_busy,
            encode_busy: r.encode_busy,
            overlap: r.overlap_factor(),
        }
    }
}

/// What an interpolation did beyond any job.
#[derive(Clone, Debug, PartialEq)]
pub struct Interpolation {
    pub rate: Rate,
    /// Output frames of the whole file, a resumed job's earlier segments included.
    pub frames_out: u64,
    /// Output frames the network made.
    pub interpolated: u64,
    /// Source indices `i` where the pair `(i, i+1)` was a scene cut, with its SSIM.
    pub cuts: Vec<(u64, f64)>,
    /// Pairs of identical frames (network skipped).
    pub static_pairs: u64,
    pub output_time_base: (i32, i32),
}

/// What a finished job did.
#[derive(Clone, Debug)]
pub struct Summary {
    pub input: PathBuf,
    /// The processing in words, as in [`JobStart::processing`].
    pub processing: String,
    /// The input's video stream.
    pub input_info: VideoInfo,
    /// The file written (its `frames` count the whole file).
    pub output: OutputSummary,
    pub output_size: (usize, usize),
    /// Input frames this run read.
    pub frames_in: u64,
    /// Output frames this run made (not the resumed ones).
    pub frames_made: u64,
    /// Output frames taken from an earlier run's complete segments.
    pub frames_resumed: u64,
    /// Frames dropped as undecodable (`on_decode_error: Skip`).
    pub frames_skipped: u64,
    /// The input ended early or had a gap, accepted under `on_decode_error: Skip`.
    pub short_input: Option<ShortInput>,
    /// The whole job, from opening the input to the committed output.
    pub wall: Duration,
    pub stages: Option<Stages>,
    /// How a resumed job reached its first new frame (`None` when it was not resumed).
    pub resume: Option<ResumeReport>,
    /// Pictures the decoder produced in this run (a resumed run's seek included).
    pub frames_decoded: u64,
    /// `interpolate` and `enhance` only.
    pub interpolation: Option<Interpolation>,
    /// Each network's precision and why (`upscaler`, `rife`).
    pub precision: Vec<(&'static str, ResolvedPrecision)>,
    /// Where the upscaler ran (`interpolate`: RIFE), when a device other than the CPU was
    /// asked for.
    pub device: Option<DeviceChoice>,
}

impl Summary {
    /// This run's output frames per second of the whole job.
    pub fn fps(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.frames_made as f64 / secs
        } else {
            0.0
        }
    }

    fn from_upscale(s: JobSummary, input: &Path, processing: String) -> Self {
        let r = &s.report;
        Summary {
            input: input.to_path_buf(),
            processing,
            stages: Some(Stages::from_report(r)),
            frames_in: r.frames_in,
            frames_made: r.frames_out,
            input_info: s.input,
            output: s.output,
            output_size: (s.output_width, s.output_height),
            frames_resumed: s.frames_resumed,
            frames_skipped: s.skipped_frames,
            short_input: s.short_input,
            wall: s.wall,
            resume: s.resume,
            frames_decoded: s.frames_decoded,
            interpolation: None,
            precision: Vec::new(),
            device: None,
        }
    }

    fn from_interpolate(
        s: InterpolateSummary,
        rate: Rate,
        input: &Path,
        processing: String,
    ) -> Self {
        Summary {
            input: input.to_path_buf(),
            processing,
            input_info: s.input,
            output: s.output,
            output_size: (s.output_width, s.output_height),
            frames_in: s.frames_in,
            frames_made: s.frames_out.saturating_sub(s.frames_resumed),
            frames_resumed: s.frames_resumed,
            frames_skipped: 0,
            short_input: s.short_input,
            wall: s.wall,
            stages: Some(Stages::from_report(&s.report)),
            resume: s.resume,
            frames_decoded: s.frames_decoded,
            precision: Vec::new(),
            device: None,
            interpolation: Some(Interpolation {
                rate,
                frames_out: s.frames_out,
                interpolated: s.interpolated,
                cuts: s.cuts,
                static_pairs: s.static_pairs,
                output_time_base: s.output_time_base,
            }),
        }
    }
}

/// The pipeline's job from `input` to `output` with the validated job options and `key`.
pub(crate) fn video_job(
    job: &ValidJob,
    input: &Path,
    output: &Path,
    key: JobKey,
    hooks: &Hooks<'_>,
) -> VideoJob {
    let o = &job.options;
    let mut v = VideoJob::new(input, output);
    v.decode = job.decode.clone();
    v.encode = job.encode_options();
    v.overwrite = o.overwrite;
    v.audio = o.audio;
    v.subtitles = o.subtitles;
    v.segments = Some(SegmentOptions {
        frames: o.segment_frames,
        restart: o.restart,
        key,
        chunk: None,
    });
    v.notice = hooks.notice.clone();
    v.max_pixels = o.max_pixels;
    v.cancel = hooks.cancel.flag();
    v
}

/// The refusals that need no model: input missing, output over the input, taken output,
/// unwritable folder, a format that cannot hold the result.
fn preflight(job: &ValidJob, input: &Path, output: &Path) -> Result<(), Error> {
    let v = video_job(job, input, output, JobKey::new(), &Hooks::default());
    v.preflight().map_err(|e| Error::from_job(e, input, output))
}

/// `model.ID.sha256` of a model name that resolves to weights (by content: replaced weights
/// refuse to resume). Lanczos and unresolvable names have none.
fn push_model_hash(key: &mut JobKey, id: &str, name: &str, model_dir: Option<&Path>) {
    if let Ok(resolved) = registry::resolve(name, model_dir) {
        // The embedded copy hashes like the official file it is.
        let hash = resolved
            .sha256()
            .map(|(h, _)| h)
            .unwrap_or_else(|e| format!("unreadable ({})", e.to_string().replace('\n', " ")));
        key.push(format!("model.{id}.sha256"), hash);
    }
}

pub(crate) fn upscale_key(command: &str, up: &ValidUpscale, job: &ValidJob) -> JobKey {
    let mut key = JobKey::new();
    key.push("command", command);
    job.push_key(&mut key);
    up.push_key(&mut key);
    let dir = up.options.model_dir.as_deref();
    push_model_hash(&mut key, "model", &up.options.model, dir);
    if up.options.denoise_strength.is_some() {
        // The denoise mix reads the companion weights too.
        push_model_hash(
            &mut key,
            "denoise_strength",
            "realesr-general-wdn-x4v3",
            dir,
        );
    }
    key
}

pub(crate) fn interpolate_key(interp: &ValidInterpolate, job: &ValidJob) -> JobKey {
    let mut key = JobKey::new();
    key.push("command", "interpolate");
    job.push_key(&mut key);
    interp.push_key(&mut key, "model");
    push_model_hash(
        &mut key,
        "model",
        &interp.options.model,
        interp.options.model_dir.as_deref(),
    );
    key
}

pub(crate) fn enhance_key(e: &ValidEnhance, job: &ValidJob) -> JobKey {
    let mut key = upscale_key("enhance", &e.upscale, job);
    e.interpolate.push_key(&mut key, "interp_model");
    push_model_hash(
        &mut key,
        "interp_model",
        &e.interpolate.options.model,
        e.interpolate.options.model_dir.as_deref(),
    );
    key.push(
        "option.order",
        match e.order {
            None => "default",
            Some(Order::InterpolateFirst) => "interpolate-first",
            Some(Order::UpscaleFirst) => "upscale-first",
        },
    );
    key
}

mod sealed {
    /// Only this crate's three modes are [`super::JobMode`]s.
    pub trait Sealed {}
}

/// What one command adds to a [`Job`]: its options, the models it loads, its resumable key
/// and how it runs one file with them ([`UpscaleMode`], [`InterpolateMode`],
/// [`EnhanceMode`]). Everything else (validation of the job options, loading once,
/// preflight, the chunk of a job run on many machines) is [`Job`]'s, once for all three.
pub trait JobMode: sealed::Sealed + Sized {
    /// What the caller asks for ([`UpscaleOptions`], ...).
    type Options;
    /// Those options, checked ([`ValidUpscale`], ...).
    type Valid;
    /// The loaded models.
    type Models;

    #[doc(hidden)]
    fn validate(options: &Self::Options) -> Result<Self::Valid, Error>;
    #[doc(hidden)]
    fn load(valid: &Self::Valid) -> Result<Self::Models, Error>;
    #[doc(hidden)]
    fn key(valid: &Self::Valid, job: &ValidJob) -> JobKey;
    /// Runs one file; `job`'s models are loaded.
    #[doc(hidden)]
    fn run(
        job: &mut Job<Self>,
        input: &Path,
        output: &Path,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, Error>;
}

/// `upscale`: one Real-ESRGAN model or a Lanczos resizer ([`UpscaleJob`]).
#[derive(Debug)]
pub enum UpscaleMode {}
/// `interpolate`: one RIFE model ([`InterpolateJob`]).
#[derive(Debug)]
pub enum InterpolateMode {}
/// `enhance`: an upscaler and RIFE in one streaming pass ([`EnhanceJob`]).
#[derive(Debug)]
pub enum EnhanceMode {}

impl sealed::Sealed for UpscaleMode {}
impl sealed::Sealed for InterpolateMode {}
impl sealed::Sealed for EnhanceMode {}

/// A command's job on files with its models loaded once: built from options (checked at
/// once), [`preflight`](Job::preflight) refuses in a moment what cannot work, the first
/// [`run`](Job::run) loads the models and every run after reuses them.
///
/// ```
/// use upframe::{Hooks, JobOptions, UpscaleJob, UpscaleOptions};
///
/// # fn main() -> Result<(), upframe::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let out = |name: &str| dir.path().join(name);
/// let sample = std::path::Path::new("../../samples/sample.mp4");
/// let options = UpscaleOptions { model: "lanczos".into(), scale: Some(2.0), ..Default::default() };
/// let frames = JobOptions { frames: Some(3), ..Default::default() };
/// let mut job = UpscaleJob::new(&options, &frames)?;
/// for output in [out("a.mp4"), out("b.mkv")] {
///     job.preflight(sample, &output)?; // before any model loads
///     let summary = job.run(sample, &output, &mut Hooks::default())?;
///     assert_eq!(summary.output.frames, 3);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Job<M: JobMode> {
    options: M::Valid,
    job: ValidJob,
    /// Rendered when the models load (it hashes the weights).
    key: Option<JobKey>,
    models: Option<M::Models>,
    /// One chunk of a job run on many machines ([`crate::distributed`]).
    pub(crate) chunk: Option<ChunkMode>,
}

/// Upscaling files with one loaded model.
pub type UpscaleJob = Job<UpscaleMode>;
/// Interpolating files with one loaded RIFE model.
pub type InterpolateJob = Job<InterpolateMode>;
/// Upscaling and interpolation in one streaming pass, the models loaded once.
pub type EnhanceJob = Job<EnhanceMode>;

impl<M: JobMode> Job<M> {
    /// Validates the options; loads nothing yet.
    pub fn new(options: &M::Options, job: &JobOptions) -> Result<Self, Error> {
        Ok(Job {
            options: M::validate(options)?,
            job: job.validate()?,
            key: None,
            models: None,
            chunk: None,
        })
    }

    pub fn options(&self) -> &M::Valid {
        &self.options
    }

    pub fn job_options(&self) -> &ValidJob {
        &self.job
    }

    /// Refuses in a moment what cannot work, before any model loads.
    pub fn preflight(&self, input: &Path, output: &Path) -> Result<(), Error> {
        preflight(&self.job, input, output)
    }

    /// Runs `input` → `output` (loading the models first if needed).
    pub fn run(
        &mut self,
        input: &Path,
        output: &Path,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, Error> {
        self.loaded()?;
        M::run(self, input, output, hooks)
    }

    /// The models, loaded (once) with the key.
    fn loaded(&mut self) -> Result<&mut M::Models, Error> {
        if self.models.is_none() {
            self.models = Some(M::load(&self.options)?);
            self.key = Some(M::key(&self.options, &self.job));
        }
        Ok(self.models.as_mut().expect("loaded above"))
    }

    /// The pipeline's job for one file: this job's options, key and chunk.
    fn video_job(&self, input: &Path, output: &Path, hooks: &Hooks<'_>) -> VideoJob {
        let key = self.key.clone().unwrap_or_default();
        let mut v = video_job(&self.job, input, output, key, hooks);
        if let (Some(segments), Some(chunk)) = (v.segments.as_mut(), &self.chunk) {
            segments.chunk = Some(chunk.clone());
        }
        v
    }
}

/// The pipeline's start callback.
type OnStart<'a> = dyn FnMut(&VideoInfo, (usize, usize), Option<u64>) + 'a;

/// Runs `f` with the pipeline's start and progress callbacks, which pass them on to `hooks`
/// with the file's names and `processing`.
fn with_hooks<T>(
    hooks: &mut Hooks<'_>,
    input: &Path,
    output: &Path,
    processing: &str,
    f: impl FnOnce(&mut OnStart<'_>, &mut dyn FnMut(&Progress)) -> T,
) -> T {
    let Hooks {
        on_start,
        on_progress,
        ..
    } = hooks;
    let mut start = |info: &VideoInfo, size, frames| {
        if let Some(f) = on_start.as_mut() {
            f(&JobStart {
                input,
                output,
                info,
                output_size: size,
                frames,
                processing,
            })
        }
    };
    let mut progress = |p: &Progress| {
        if let Some(f) = on_progress.as_mut() {
            f(p)
        }
    };
    f(&mut start, &mut progress)
}

impl JobMode for UpscaleMode {
    type Options = UpscaleOptions;
    type Valid = ValidUpscale;
    type Models = Upscaler;

    fn validate(options: &UpscaleOptions) -> Result<ValidUpscale, Error> {
        options.validate()
    }

    fn load(valid: &ValidUpscale) -> Result<Upscaler, Error> {
        Upscaler::from_valid(valid)
    }

    fn key(valid: &ValidUpscale, job: &ValidJob) -> JobKey {
        upscale_key("upscale", valid, job)
    }

    fn run(
        job: &mut UpscaleJob,
        input: &Path,
        output: &Path,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, Error> {
        let video = job.video_job(input, output, hooks);
        let processing = job.processing();
        let upscaler = job.models.as_mut().expect("loaded by Job::run");
        let processors = std::slice::from_mut(upscaler.processor_mut());
        let result = with_hooks(hooks, input, output, &processing, |start, progress| {
            run_video_job_with(&video, processors, start, progress)
        });
        let s = result.map_err(|e| Error::from_job(e, input, output))?;
        let mut summary = Summary::from_upscale(s, input, processing);
        summary.precision = upscaler
            .precision()
            .map(|p| ("upscaler", p.clone()))
            .into_iter()
            .collect();
        summary.device = upscaler.device().cloned();
        Ok(summary)
    }
}

impl UpscaleJob {
    /// Loads the model (once).
    pub fn load(&mut self) -> Result<&mut Upscaler, Error> {
        self.loaded()
    }

    /// The processing in words (the model name).
    pub fn processing(&self) -> String {
        self.options.options.model.clone()
    }
}

/// Upscales one file: a video, an image sequence (a folder or `frames/%06d.png`) or an image.
///
/// ```
/// use upframe::{Hooks, JobOptions, UpscaleOptions};
///
/// # fn main() -> Result<(), upframe::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// let (input, output) = ("../../samples/sample.mp4".as_ref(), dir.path().join("out.mp4"));
/// // The built-in realesr-animevideov3 at ×2, two frames, CRF 20.
/// let options = UpscaleOptions { scale: Some(2.0), ..Default::default() };
/// let job = JobOptions { crf: Some(20.0), frames: Some(2), ..Default::default() };
/// let mut done = 0;
/// let mut hooks = Hooks { on_progress: Some(Box::new(|p| done = p.frames_done)), ..Default::default() };
/// let summary = upframe::upscale(input, &output, &options, &job, &mut hooks)?;
/// drop(hooks);
/// assert_eq!(summary.output_size, (summary.input_info.width * 2, summary.input_info.height * 2));
/// assert_eq!(summary.output.frames, 2);
/// # Ok(())
/// # }
/// ```
pub fn upscale(
    input: &Path,
    output: &Path,
    options: &UpscaleOptions,
    job: &JobOptions,
    hooks: &mut Hooks<'_>,
) -> Result<Summary, Error> {
    run_one::<UpscaleMode>(input, output, options, job, hooks)
}

/// A new job's preflight and run of one file (the free functions).
fn run_one<M: JobMode>(
    input: &Path,
    output: &Path,
    options: &M::Options,
    job: &JobOptions,
    hooks: &mut Hooks<'_>,
) -> Result<Summary, Error> {
    let mut j = Job::<M>::new(options, job)?;
    j.preflight(input, output)?;
    j.run(input, output, hooks)
}

/// The interpolation settings of the pipeline's job.
pub(crate) fn pipeline_interpolate_job(
    video: VideoJob,
    interp: &ValidInterpolate,
) -> upframe_pipeline::jobs::interpolate::InterpolateJob {
    let mut job = upframe_pipeline::jobs::interpolate::InterpolateJob::new(video, interp.rate);
    job.cut_threshold = interp.options.scene_threshold;
    job.on_cut = interp.options.on_cut;
    job
}

/// Runs one interpolation (with optional upscaling before or after) and sums it up.
#[allow(clippy::too_many_arguments)]
fn run_interpolation(
    video: VideoJob,
    interp: &ValidInterpolate,
    rife: &mut Interpolator,
    pre: &mut [Box<dyn FrameProcessor>],
    post: &mut [Box<dyn FrameProcessor>],
    processing: String,
    input: &Path,
    output: &Path,
    hooks: &mut Hooks<'_>,
) -> Result<Summary, Error> {
    let pjob = pipeline_interpolate_job(video, interp);
    let result = with_hooks(hooks, input, output, &processing, |start, progress| {
        run_interpolate_job_with(&pjob, rife.rife_mut(), pre, post, start, progress)
    });
    let s = result.map_err(|e| Error::from_job(e, input, output))?;
    let mut summary = Summary::from_interpolate(s, interp.rate, input, processing);
    summary.precision = vec![("rife", rife.precision().clone())];
    summary.device = rife.device().cloned();
    Ok(summary)
}

impl JobMode for InterpolateMode {
    type Options = InterpolateOptions;
    type Valid = ValidInterpolate;
    type Models = Interpolator;

    fn validate(options: &InterpolateOptions) -> Result<ValidInterpolate, Error> {
        options.validate()
    }

    fn load(valid: &ValidInterpolate) -> Result<Interpolator, Error> {
        Interpolator::from_valid(valid)
    }

    fn key(valid: &ValidInterpolate, job: &ValidJob) -> JobKey {
        interpolate_key(valid, job)
    }

    fn run(
        job: &mut InterpolateJob,
        input: &Path,
        output: &Path,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, Error> {
        let processing = job.processing();
        let video = job.video_job(input, output, hooks);
        let rife = job.models.as_mut().expect("loaded by Job::run");
        run_interpolation(
            video,
            &job.options,
            rife,
            &mut [],
            &mut [],
            processing,
            input,
            output,
            hooks,
        )
    }
}

impl InterpolateJob {
    /// Loads the RIFE model (once).
    pub fn load(&mut self) -> Result<(), Error> {
        self.loaded().map(|_| ())
    }

    /// `rife-v4.26 (factor 2, RIFE scale 1)`.
    pub fn processing(&self) -> String {
        let o = &self.options.options;
        format!(
            "{} ({}, RIFE scale {})",
            o.model, self.options.rate, o.rife_scale
        )
    }
}

/// Interpolates one file (a video or an image sequence).
///
/// ```
/// use upframe::{Hooks, InterpolateOptions, JobOptions};
///
/// # fn main() -> Result<(), upframe::Error> {
/// # let Some(rife) = ["UPFRAME_ASSETS"].iter().filter_map(|v| std::env::var_os(v)).map(std::path::PathBuf::from)
/// #     .chain([std::path::PathBuf::from("../../../shared")])
/// #     .map(|d| d.join("models/rife-v4.25-or-v4.26/flownet.pkl")).find(|p| p.is_file())
/// # else { return Ok(()) }; // the RIFE weights are an asset (see the README)
/// # let dir = tempfile::tempdir().unwrap();
/// let (input, output) = ("../../samples/sample.mp4".as_ref(), dir.path().join("out50.mp4"));
/// let options = InterpolateOptions {
///     model: rife.display().to_string(), // or a registry name: rife-v4.26
///     factor: Some(2),
///     ..Default::default()
/// };
/// let job = JobOptions { frames: Some(3), ..Default::default() };
/// let s = upframe::interpolate(input, &output, &options, &job, &mut Hooks::default())?;
/// assert_eq!(s.interpolation.map(|i| i.frames_out), Some(6));
/// # Ok(())
/// # }
/// ```
pub fn interpolate(
    input: &Path,
    output: &Path,
    options: &InterpolateOptions,
    job: &JobOptions,
    hooks: &mut Hooks<'_>,
) -> Result<Summary, Error> {
    run_one::<InterpolateMode>(input, output, options, job, hooks)
}

/// Real-ESRGAN cost per input pixel relative to RIFE's cost per pixel (estimate:
/// SRVGG-compact ≈ 1.2 MFLOP per input pixel; IFNet v4.26 ≈ 0.3 MFLOP per pixel).
pub const UPSCALER_TO_RIFE_COST: f64 = 4.0;

/// The cheaper order for `ratio` output frames per input frame and `area_scale` output pixels
/// per input pixel, given the upscaler's cost per pixel relative to RIFE's.
///
/// With `n_in` input frames, `n_out` output frames, `p_lo`/`p_hi` pixels per frame before and
/// after upscaling: interpolate-first costs `c_up·p_lo·n_out + c_rife·p_lo·(n_out − n_in)`,
/// upscale-first `c_up·p_lo·n_in + c_rife·p_hi·(n_out − n_in)`.
pub fn cheaper_order(upscaler_cost: f64, ratio: f64, area_scale: f64) -> Order {
    let new = (ratio - 1.0).max(0.0);
    let interpolate_first = upscaler_cost * ratio + new;
    let upscale_first = upscaler_cost + area_scale * new;
    if interpolate_first <= upscale_first {
        Order::InterpolateFirst
    } else {
        Order::UpscaleFirst
    }
}

/// `--order`, or the cheaper order for `input` by the cost model with the loaded upscaler.
fn enhance_order(options: &ValidEnhance, up: &Upscaler, input: &Path) -> Order {
    if let Some(order) = options.order {
        return order;
    }
    let (w, h) = up.output_size(1000, 1000);
    let area_scale = (w * h) as f64 / 1e6;
    let ratio = match options.interpolate.rate {
        Rate::Factor(k) | Rate::Slowmo(k) => f64::from(k),
        Rate::Fps { num, den } => {
            let target = num as f64 / den as f64;
            let source = upframe_media::probe(input)
                .ok()
                .and_then(|m| m.video.map(|v| v.fps()))
                .filter(|f| *f > 0.0)
                .unwrap_or(target);
            target / source
        }
    };
    let cost = if up.is_network() {
        UPSCALER_TO_RIFE_COST
    } else {
        0.0
    };
    cheaper_order(cost, ratio, area_scale)
}

impl JobMode for EnhanceMode {
    type Options = EnhanceOptions;
    type Valid = ValidEnhance;
    type Models = (Upscaler, Interpolator);

    fn validate(options: &EnhanceOptions) -> Result<ValidEnhance, Error> {
        options.validate()
    }

    fn load(valid: &ValidEnhance) -> Result<(Upscaler, Interpolator), Error> {
        let up = Upscaler::from_valid(&valid.upscale)?;
        let rife = Interpolator::from_valid(&valid.interpolate)?;
        Ok((up, rife))
    }

    fn key(valid: &ValidEnhance, job: &ValidJob) -> JobKey {
        enhance_key(valid, job)
    }

    fn run(
        job: &mut EnhanceJob,
        input: &Path,
        output: &Path,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, Error> {
        let order = job.order_for(input)?;
        let processing = job.processing(order);
        let video = job.video_job(input, output, hooks);
        let (up, rife) = job.models.as_mut().expect("loaded by Job::run");
        let up_precision = up.precision().cloned();
        let up_device = up.device().cloned();
        let up = std::slice::from_mut(up.processor_mut());
        let none: &mut [Box<dyn FrameProcessor>] = &mut [];
        let (pre, post) = match order {
            Order::UpscaleFirst => (up, none),
            Order::InterpolateFirst => (none, up),
        };
        let mut summary = run_interpolation(
            video,
            &job.options.interpolate,
            rife,
            pre,
            post,
            processing,
            input,
            output,
            hooks,
        )?;
        if let Some(p) = up_precision {
            summary.precision.insert(0, ("upscaler", p));
        }
        // The upscaler's device when one was chosen (it does most of the work), else RIFE's.
        if up_device.is_some() {
            summary.device = up_device;
        }
        Ok(summary)
    }
}

impl EnhanceJob {
    /// Loads both models (once).
    pub fn load(&mut self) -> Result<(), Error> {
        self.loaded().map(|_| ())
    }

    /// `--order`, or the cheaper order for `input` by the cost model (needs the models).
    pub fn order_for(&mut self, input: &Path) -> Result<Order, Error> {
        if let Some(order) = self.options.order {
            return Ok(order);
        }
        self.loaded()?;
        let (up, _) = self.models.as_ref().expect("loaded above");
        Ok(enhance_order(&self.options, up, input))
    }

    /// `model + interp_model (rate, order)`.
    pub fn processing(&self, order: Order) -> String {
        format!(
            "{} + {} ({}, {order})",
            self.options.upscale.options.model,
            self.options.interpolate.options.model,
            self.options.interpolate.rate
        )
    }
}

/// Upscales and interpolates one file in one pass.
///
/// ```
/// use upframe::{EnhanceOptions, Hooks, InterpolateOptions, JobOptions, UpscaleOptions};
///
/// # fn main() -> Result<(), upframe::Error> {
/// # let Some(rife) = ["UPFRAME_ASSETS"].iter().filter_map(|v| std::env::var_os(v)).map(std::path::PathBuf::from)
/// #     .chain([std::path::PathBuf::from("../../../shared")])
/// #     .map(|d| d.join("models/rife-v4.25-or-v4.26/flownet.pkl")).find(|p| p.is_file())
/// # else { return Ok(()) }; // the RIFE weights are an asset (see the README)
/// # let dir = tempfile::tempdir().unwrap();
/// let (input, output) = ("../../samples/sample.mp4".as_ref(), dir.path().join("hd50.mp4"));
/// let options = EnhanceOptions {
///     upscale: UpscaleOptions { model: "lanczos".into(), scale: Some(2.0), ..Default::default() },
///     interpolate: InterpolateOptions { model: rife.display().to_string(), factor: Some(2), ..Default::default() },
///     order: None, // the cheaper order by the cost model
/// };
/// let job = JobOptions { frames: Some(2), ..Default::default() };
/// let s = upframe::enhance(input, &output, &options, &job, &mut Hooks::default())?;
/// assert_eq!(s.output.frames, 4);
/// # Ok(())
/// # }
/// ```
pub fn enhance(
    input: &Path,
    output: &Path,
    options: &EnhanceOptions,
    job: &JobOptions,
    hooks: &mut Hooks<'_>,
) -> Result<Summary, Error> {
    run_one::<EnhanceMode>(input, output, options, job, hooks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_the_cost_model() {
        // Lanczos costs nothing: interpolate at low resolution.
        assert_eq!(cheaper_order(0.0, 2.0, 4.0), Order::InterpolateFirst);
        // Real-ESRGAN ×2, factor 2: 4·2 + 1 = 9 vs 4 + 4 = 8 → upscale first.
        assert_eq!(cheaper_order(4.0, 2.0, 4.0), Order::UpscaleFirst);
        // ×4 upscale: 4·2 + 1 = 9 vs 4 + 16 = 20 → interpolate first.
        assert_eq!(cheaper_order(4.0, 2.0, 16.0), Order::InterpolateFirst);
    }

    #[test]
    fn cancel_tokens_share_their_flag() {
        let t = CancelToken::new();
        let u = t.clone();
        assert!(!u.is_cancelled());
        t.cancel();
        assert!(u.is_cancelled() && t.flag().load(Ordering::SeqCst));
    }
}
