//! File jobs from Python: `upframe.upscale/interpolate/enhance(input, output, **options,
//! progress=...)` on the facade's jobs, with the GIL released, Ctrl-C and exceptions raised by
//! the progress callback stopping the job cleanly (segments kept for a resume), and the
//! facade's errors raised as `upframe.errors` exceptions.
//!
//! The job runs on a worker thread; the calling thread waits for its progress reports and, at
//! least every [`SIGNAL_POLL`], takes the GIL to run Python's signal handlers
//! (`PyErr_CheckSignals`, which only acts on the main thread) and the progress callback. An
//! exception from either cancels the job through its [`CancelToken`]; the job then stops after
//! the frame in flight and keeps its complete segments, and the exception is raised once it
//! has returned — a `KeyboardInterrupt` as `upframe.Interrupted` (also a `KeyboardInterrupt`)
//! with the job's "interrupted; N segments kept ..." message.
//!
//! Keyword options are the CLI's long option names in snake_case; each is converted to the
//! facade's option structs and validated there, once. What has a syntax of its own is read by
//! the facade's parsers too: times (`start="1:02.5"`) and bit rates (`bitrate="8M"`) given as
//! strings, and the choice words (`on_cut="blend"`, through [`Choice::parse`]).

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use upframe::options::{parse_bitrate, parse_device, parse_precision, parse_time};
use upframe::{
    AlphaMode, CancelToken, Choice, EnhanceOptions, Hooks, InterpolateOptions, JobOptions, OnCut,
    OnDecodeError, Order, PrecisionChoice, Summary, UpscaleOptions,
};

use crate::errors::{error, kind_of, option_error, Kind};

/// How often the waiting thread checks for Ctrl-C when no progress arrives.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

pub fn raise(py: Python<'_>, e: &upframe::Error) -> PyErr {
    error(py, kind_of(e), e.to_string())
}

/// Takes options out of the keyword dict by name, converting each to the facade's type; what
/// is left at the end is an unknown option.
struct Kwargs<'py> {
    dict: Bound<'py, PyDict>,
    command: &'static str,
}

impl<'py> Kwargs<'py> {
    fn py(&self) -> Python<'py> {
        self.dict.py()
    }

    fn take(&self, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let value = self.dict.get_item(name)?;
        if value.is_some() {
            self.dict.del_item(name)?;
        }
        Ok(value.filter(|v| !v.is_none()))
    }

    fn convert<T>(
        &self,
        name: &str,
        what: &str,
        f: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<T>,
    ) -> PyResult<Option<T>> {
        match self.take(name)? {
            None => Ok(None),
            Some(v) => f(&v).map(Some).map_err(|_| {
                let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
                option_error(
                    self.py(),
                    format!("--{}: expected {what}, got {shown}", name.replace('_', "-")),
                )
            }),
        }
    }

    fn bool(&self, name: &str) -> PyResult<Option<bool>> {
        self.convert(name, "True or False", |v| v.extract::<bool>())
    }

    fn count(&self, name: &str) -> PyResult<Option<u64>> {
        self.convert(name, "a whole number of 0 or more", |v| v.extract::<u64>())
    }

    fn size(&self, name: &str) -> PyResult<Option<usize>> {
        self.convert(name, "a whole number of 0 or more", |v| {
            v.extract::<usize>()
        })
    }

    fn float(&self, name: &str) -> PyResult<Option<f64>> {
        self.convert(name, "a number", |v| v.extract::<f64>())
    }

    fn string(&self, name: &str) -> PyResult<Option<String>> {
        self.convert(name, "a string", |v| Ok(v.str()?.to_string()))
    }

    fn path(&self, name: &str) -> PyResult<Option<PathBuf>> {
        self.convert(name, "a path", |v| v.extract::<PathBuf>())
    }

    /// A string or a number, as text (`fps=60`, `fps="30000/1001"`).
    fn text(&self, name: &str) -> PyResult<Option<String>> {
        self.convert(name, "a number or a string", |v| {
            if v.is_instance_of::<PyString>() {
                Ok(v.str()?.to_string())
            } else {
                Ok(v.extract::<f64>()?.to_string())
            }
        })
    }

    /// One of the facade's words for a [`Choice`] option (case-insensitive, `_` for `-`).
    fn choice<T: Choice>(&self, name: &str) -> PyResult<Option<T>> {
        self.string(name)?
            .map(|text| T::parse(&text).map_err(|e| raise(self.py(), &e)))
            .transpose()
    }

    /// A number, or a string in the facade's syntax for this option (`parse`: a time, a bit
    /// rate), whose error names the option and the syntax; `what` says what a number must be.
    fn number_or_text<T>(
        &self,
        name: &str,
        what: &str,
        number: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<T>,
        parse: impl FnOnce(&str) -> Result<T, upframe::Error>,
    ) -> PyResult<Option<T>> {
        match self.take(name)? {
            Some(v) if v.is_instance_of::<PyString>() => parse(&v.str()?.to_string())
                .map(Some)
                .map_err(|e| raise(self.py(), &e)),
            Some(v) => number(&v).map(Some).map_err(|_| {
                let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
                option_error(
                    self.py(),
                    format!("--{}: expected {what}, got {shown}", name.replace('_', "-")),
                )
            }),
            None => Ok(None),
        }
    }

    /// Seconds, as a number (`12.5`) or a string (`"1:02.5"`, `"[HH:]MM:SS[.ms]"`).
    fn time(&self, name: &str, option: &'static str) -> PyResult<Option<f64>> {
        self.number_or_text(
            name,
            "seconds (a number) or a string \"[HH:]MM:SS[.ms]\"",
            |v| v.extract::<f64>(),
            |text| parse_time(option, text),
        )
    }

    /// Bits per second, as a whole number or a string (`"8M"`, `"2500k"`).
    fn bitrate(&self, name: &str) -> PyResult<Option<u64>> {
        self.number_or_text(
            name,
            "bits per second (a whole number) or a string such as \"8M\" or \"2500k\"",
            |v| v.extract::<u64>(),
            parse_bitrate,
        )
    }

    /// Refuses what no conversion took.
    fn finish(self) -> PyResult<()> {
        if let Some((key, _)) = self.dict.iter().next() {
            return Err(option_error(
                self.dict.py(),
                format!(
                    "{}() got an unknown option {} (options are the CLI's long option names in snake_case)",
                    self.command,
                    key.repr()?
                ),
            ));
        }
        Ok(())
    }
}

fn upscale_options(k: &Kwargs<'_>, model_key: &str) -> PyResult<UpscaleOptions> {
    let mut o = UpscaleOptions::default();
    if let Some(v) = k.string(model_key)? {
        o.model = v;
    }
    o.scale = k.float("scale")?;
    if let Some(v) = k.size("tile")? {
        o.tile = v;
    }
    if let Some(v) = k.size("tile_pad")? {
        o.tile_pad = v;
    }
    if let Some(v) = k.size("pre_pad")? {
        o.pre_pad = v;
    }
    if let Some(v) = k.choice::<AlphaMode>("alpha")? {
        o.alpha = v;
    }
    o.denoise_strength = k.float("denoise_strength")?;
    Ok(o)
}

fn interpolate_options(k: &Kwargs<'_>, model_key: &str) -> PyResult<InterpolateOptions> {
    let mut o = InterpolateOptions::default();
    if let Some(v) = k.string(model_key)? {
        o.model = v;
    }
    o.factor = k
        .count("factor")?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    o.fps = k.text("fps")?;
    o.slowmo = k
        .count("slowmo")?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    if let Some(v) = k.float("rife_scale")? {
        o.rife_scale = v;
    }
    if let Some(v) = k.bool("rife_ensemble")? {
        o.ensemble = v;
    }
    if let Some(v) = k.bool("rife_refine")? {
        o.refine = v;
    }
    if let Some(v) = k.float("scene_threshold")? {
        o.scene_threshold = v;
    }
    if let Some(v) = k.choice::<OnCut>("on_cut")? {
        o.on_cut = v;
    }
    Ok(o)
}

fn job_options(k: &Kwargs<'_>) -> PyResult<JobOptions> {
    let mut o = JobOptions {
        codec: k.string("codec")?,
        crf: k.float("crf")?.map(|v| v as f32),
        bitrate: k.bitrate("bitrate")?,
        preset: k.string("preset")?,
        pix_fmt: k.string("pix_fmt")?,
        start: k.time("start", "--start")?,
        duration: k.time("duration", "--duration")?,
        frames: k.count("frames")?,
        segment_frames: k.count("segment_frames")?,
        framerate: k.text("framerate")?,
        ..JobOptions::default()
    };
    if let Some(v) = k.bool("no_audio")? {
        o.audio = !v;
    }
    if let Some(v) = k.bool("no_subtitles")? {
        o.subtitles = !v;
    }
    if let Some(v) = k.bool("overwrite")? {
        o.overwrite = v;
    }
    if let Some(v) = k.bool("restart")? {
        o.restart = v;
    }
    if let Some(v) = k.choice::<OnDecodeError>("on_decode_error")? {
        o.on_decode_error = v;
    }
    if let Some(v) = k.count("max_pixels")? {
        o.max_pixels = v;
    }
    Ok(o)
}

/// The command and its options, converted.
pub(crate) enum Command {
    Upscale(UpscaleOptions),
    Interpolate(InterpolateOptions),
    Enhance(EnhanceOptions),
}

/// What the worker thread reports.
enum Event {
    Progress(u64, Option<u64>),
    Done(Box<Result<Summary, upframe::Error>>),
}

/// The command name and keyword options, converted to the facade's options (validated
/// there, once).
fn parse_job<'py>(
    py: Python<'py>,
    command: &str,
    options: &Bound<'py, PyDict>,
) -> PyResult<(Command, JobOptions)> {
    let (name, command_name): (&'static str, _) = match command {
        "upscale" => ("upscale", 0),
        "interpolate" => ("interpolate", 1),
        "enhance" => ("enhance", 2),
        other => {
            return Err(option_error(py, format!("unknown command {other:?}")));
        }
    };
    let k = Kwargs {
        dict: options.copy()?,
        command: name,
    };
    // One --precision for every network of the job, as on the command line.
    let precision = match k.string("precision")? {
        Some(text) => parse_precision(&text).map_err(|e| raise(py, &e))?,
        None => PrecisionChoice::default(),
    };
    // inference_realesrgan.py's switch: the same as precision="fp32".
    let precision = match k.bool("fp32")? {
        Some(true) => PrecisionChoice::Fp32,
        _ => precision,
    };
    // Where the networks run (the upscaler's and RIFE's), as on the command line.
    let device = match k.string("device")? {
        Some(text) => Some(parse_device(&text).map_err(|e| raise(py, &e))?),
        None => None,
    };
    let command = match command_name {
        0 => {
            let mut up = upscale_options(&k, "model")?;
            up.precision = precision;
            if let Some(d) = device {
                up.device = d;
            }
            up.model_dir = k.path("model_dir")?;
            Command::Upscale(up)
        }
        1 => {
            let mut interp = interpolate_options(&k, "model")?;
            interp.precision = precision;
            if let Some(d) = device {
                interp.device = d;
            }
            interp.model_dir = k.path("model_dir")?;
            Command::Interpolate(interp)
        }
        _ => {
            let mut upscale = upscale_options(&k, "model")?;
            upscale.precision = precision;
            if let Some(d) = device {
                upscale.device = d;
            }
            let mut interpolate = interpolate_options(&k, "interp_model")?;
            interpolate.precision = precision;
            if let Some(d) = device {
                interpolate.device = d;
            }
            interpolate.model_dir = k.path("model_dir")?;
            let order = k.choice::<Order>("order")?;
            Command::Enhance(EnhanceOptions {
                upscale,
                interpolate,
                order,
            })
        }
    };
    let job = job_options(&k)?;
    k.finish()?;
    Ok((command, job))
}

/// Runs `command` on `input` → `output` with the keyword `options` and the `progress`
/// callback; returns the summary as a dict.
#[pyfunction]
#[pyo3(signature = (command, input, output, options, progress=None))]
pub fn run_job<'py>(
    py: Python<'py>,
    command: &str,
    input: PathBuf,
    output: PathBuf,
    options: &Bound<'py, PyDict>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (command, job) = parse_job(py, command, options)?;
    if let Some(p) = &progress {
        if !p.is_callable() {
            return Err(option_error(
                py,
                "progress must be a callable taking (done, total)",
            ));
        }
    }
    let progress = progress.map(Bound::unbind);

    let cancel = CancelToken::new();
    // The first Python exception (from the callback or a signal handler) stops the job.
    let mut pending: Option<PyErr> = None;
    let result = py.detach(|| {
        let (tx, rx) = mpsc::channel::<Event>();
        std::thread::scope(|scope| {
            let worker_cancel = cancel.clone();
            let worker = scope.spawn(move || {
                let progress_tx = tx.clone();
                let mut hooks = Hooks {
                    cancel: worker_cancel,
                    on_progress: Some(Box::new(move |p: &upframe::Progress| {
                        let _ = progress_tx.send(Event::Progress(p.frames_done, p.frames_total));
                    })),
                    ..Hooks::default()
                };
                let result = match &command {
                    Command::Upscale(o) => upframe::upscale(&input, &output, o, &job, &mut hooks),
                    Command::Interpolate(o) => {
                        upframe::interpolate(&input, &output, o, &job, &mut hooks)
                    }
                    Command::Enhance(o) => upframe::enhance(&input, &output, o, &job, &mut hooks),
                };
                let _ = tx.send(Event::Done(Box::new(result)));
            });
            let stop = |e: PyErr, pending: &mut Option<PyErr>| {
                if pending.is_none() {
                    *pending = Some(e);
                }
                cancel.cancel();
            };
            let outcome = loop {
                match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(Event::Done(result)) => break Some(*result),
                    Ok(Event::Progress(done, total)) => Python::attach(|py| {
                        if let Err(e) = py.check_signals() {
                            stop(e, &mut pending);
                        }
                        if pending.is_none() {
                            if let Some(cb) = &progress {
                                if let Err(e) = cb.bind(py).call1((done, total)) {
                                    stop(e, &mut pending);
                                }
                            }
                        }
                    }),
                    Err(mpsc::RecvTimeoutError::Timeout) => Python::attach(|py| {
                        if let Err(e) = py.check_signals() {
                            stop(e, &mut pending);
                        }
                    }),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                }
            };
            // A panic in the job is re-raised here (PyO3 turns it into PanicException).
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
            outcome
        })
    });
    let result = result.ok_or_else(|| {
        error(
            py,
            Kind::Other,
            "internal error: the job ended without a result",
        )
    })?;
    match (pending, result) {
        (Some(e), Err(job_error)) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {
            let interrupted = error(py, Kind::Interrupted, job_error.to_string());
            interrupted.set_cause(py, Some(e));
            Err(interrupted)
        }
        (Some(e), _) => Err(e),
        (None, Err(job_error)) => Err(raise(py, &job_error)),
        (None, Ok(summary)) => summary_dict(py, &summary),
    }
}

fn summary_dict<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("input", &s.input)?;
    d.set_item("output", &s.output.path)?;
    d.set_item("processing", &s.processing)?;
    d.set_item("input_size", (s.input_info.width, s.input_info.height))?;
    d.set_item("output_size", s.output_size)?;
    d.set_item("frames_in", s.frames_in)?;
    d.set_item("frames_decoded", s.frames_decoded)?;
    d.set_item("frames_made", s.frames_made)?;
    d.set_item("frames_resumed", s.frames_resumed)?;
    d.set_item("frames_skipped", s.frames_skipped)?;
    d.set_item("frames_out", s.output.frames)?;
    d.set_item("seconds", s.wall.as_secs_f64())?;
    d.set_item("fps", s.fps())?;
    d.set_item("device", crate::device_dict(py, s.device.as_ref())?)?;
    if let Some(i) = &s.interpolation {
        d.set_item("interpolated", i.interpolated)?;
        d.set_item("scene_cuts", i.cuts.len())?;
    }
    Ok(d)
}

/// `upframe.distributed` building blocks: the plan of `command` on `input` → `output` with the
/// keyword `options`, written to `plan_path`; returns a summary dict (`chunks`, `plan_id`,
/// `work_dir`, `segment_frames`, `output_frames`).
#[pyfunction]
#[pyo3(signature = (command, input, output, options, plan_path, chunks=None, chunk_seconds=None, work_dir=None))]
#[allow(clippy::too_many_arguments)]
pub fn plan<'py>(
    py: Python<'py>,
    command: &str,
    input: PathBuf,
    output: PathBuf,
    options: &Bound<'py, PyDict>,
    plan_path: PathBuf,
    chunks: Option<usize>,
    chunk_seconds: Option<f64>,
    work_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    use upframe::distributed::{self, JobSpec, PlanOptions};
    let (command, job) = parse_job(py, command, options)?;
    let spec = match command {
        Command::Upscale(o) => JobSpec::Upscale(o),
        Command::Interpolate(o) => JobSpec::Interpolate(o),
        Command::Enhance(o) => JobSpec::Enhance(o),
    };
    let how = PlanOptions {
        chunks,
        chunk_seconds,
        work_dir,
    };
    let plan = py
        .detach(|| {
            let plan = distributed::plan(&input, &output, &spec, &job, &how)?;
            plan.write(&plan_path)?;
            Ok::<_, upframe::Error>(plan)
        })
        .map_err(|e| raise(py, &e))?;
    let d = PyDict::new(py);
    d.set_item("plan", &plan_path)?;
    d.set_item("plan_id", &plan.plan_id)?;
    d.set_item("chunks", plan.chunks.len())?;
    d.set_item("work_dir", &plan.work_dir)?;
    d.set_item("segment_frames", plan.segment_frames)?;
    d.set_item("output_frames", plan.output_frames)?;
    d.set_item("output", &plan.output)?;
    Ok(d)
}

/// Makes chunk `chunk` of the plan at `plan_path` (the GIL released); returns a dict
/// (`chunk`, `already_complete`, `frames`, `frames_made`, `seconds`).
#[pyfunction]
pub fn run_chunk<'py>(
    py: Python<'py>,
    plan_path: PathBuf,
    chunk: usize,
) -> PyResult<Bound<'py, PyDict>> {
    use upframe::distributed::{self, ChunkOutcome, Plan};
    let outcome = py
        .detach(|| {
            let plan = Plan::read(&plan_path)?;
            distributed::run_chunk(&plan, chunk, &mut Hooks::default())
        })
        .map_err(|e| raise(py, &e))?;
    let d = PyDict::new(py);
    d.set_item("chunk", chunk)?;
    match outcome {
        ChunkOutcome::Done(s) => {
            d.set_item("already_complete", false)?;
            d.set_item("frames", s.output.frames)?;
            d.set_item("frames_made", s.frames_made)?;
            d.set_item("seconds", s.wall.as_secs_f64())?;
        }
        ChunkOutcome::AlreadyComplete => {
            d.set_item("already_complete", true)?;
            d.set_item("frames", 0)?;
            d.set_item("frames_made", 0)?;
            d.set_item("seconds", 0.0)?;
        }
    }
    Ok(d)
}

/// Checks every chunk of the plan at `plan_path` and joins them into its output; returns a
/// dict (`output`, `frames`, `chunks`, `seconds`).
#[pyfunction]
pub fn join<'py>(py: Python<'py>, plan_path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    use upframe::distributed::{self, Plan};
    let summary = py
        .detach(|| {
            let plan = Plan::read(&plan_path)?;
            distributed::join(&plan, &mut Hooks::default())
        })
        .map_err(|e| raise(py, &e))?;
    let d = PyDict::new(py);
    d.set_item("output", &summary.output.path)?;
    d.set_item("frames", summary.output.frames)?;
    d.set_item("chunks", summary.chunks)?;
    d.set_item("bytes", summary.output.bytes)?;
    d.set_item("seconds", summary.wall.as_secs_f64())?;
    Ok(d)
}
