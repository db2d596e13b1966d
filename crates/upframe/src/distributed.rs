//! One video on many machines: [`plan`] cuts a job into chunks and writes them down in a plan
//! file, [`run_chunk`] makes one chunk's segments (on any machine that reads the input and
//! shares the work directory), [`join`] checks every chunk and joins them with the input's
//! audio, subtitles and metadata into the output. Any scheduler can drive the three (the CLI's
//! `plan`, `run-chunk` and `join`; the Python package's Ray runner).
//!
//! A video job's output is a sequence of segments of `segment_frames` output frames, each
//! encoded on its own; a chunk is a contiguous range of segment indices. A chunk runs the
//! ordinary job restricted to that range: it starts at its first segment as a resumed job
//! does (a frame-exact seek; interpolation rebuilds its time grid from the global position
//! and decodes from the frame before the first pair it needs) and stops after its last
//! segment. So the joined file equals a single-machine run frame for frame. The bookkeeping
//! of the shared work directory (chunk directories, commit by exclusive create, verification)
//! is the pipeline's [`upframe_pipeline::resume::chunks`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use upframe_media::{Frame, OutputSummary};
use upframe_pipeline::jobs::interpolate::{expected_output_frames, run_interpolate_job_with};
use upframe_pipeline::jobs::timing::{Rate, Retimer};
use upframe_pipeline::resume::chunks::{self, ChunkError, ChunkMode, ChunkRange};
use upframe_pipeline::resume::default_segment_frames;
use upframe_pipeline::resume::journal::{work_dir_for, InputIdentity, JobKey, JournalError};
use upframe_pipeline::{expected_frames, run_video_job_with, FrameInterpolator, PipelineError};

use crate::jobs::{enhance_key, interpolate_key, pipeline_interpolate_job, upscale_key, video_job};
use crate::options::{EnhanceOptions, InterpolateOptions, JobOptions, UpscaleOptions, ValidJob};
use crate::{EnhanceJob, Error, Hooks, InterpolateJob, Summary, UpscaleJob};

/// The first value of a plan file's `format`.
pub const PLAN_FORMAT: &str = "upframe-plan 1";
/// Seconds of output per chunk when neither a chunk count nor a chunk length is given.
pub const DEFAULT_CHUNK_SECONDS: f64 = 60.0;

/// Which job, with its own options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobSpec {
    Upscale(UpscaleOptions),
    Interpolate(InterpolateOptions),
    Enhance(EnhanceOptions),
}

impl JobSpec {
    /// `upscale`, `interpolate` or `enhance`.
    pub fn command(&self) -> &'static str {
        match self {
            JobSpec::Upscale(_) => "upscale",
            JobSpec::Interpolate(_) => "interpolate",
            JobSpec::Enhance(_) => "enhance",
        }
    }
}

/// How to cut the job: `chunks` or `chunk_seconds` (at most one; neither: about
/// [`DEFAULT_CHUNK_SECONDS`] of output per chunk), and where the chunks go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOptions {
    pub chunks: Option<usize>,
    pub chunk_seconds: Option<f64>,
    /// The shared work directory (default: `.NAME.chunks.upframe-work` beside the output).
    pub work_dir: Option<PathBuf>,
}

/// The input file as the plan saw it: a changed input is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size: u64,
    /// Modification time in ns since the epoch (as text: it does not fit JSON numbers).
    pub mtime_ns: String,
    /// SHA-256 of the first MiB.
    pub head_sha256: String,
}

impl From<&InputIdentity> for Fingerprint {
    fn from(id: &InputIdentity) -> Self {
        Fingerprint {
            size: id.size,
            mtime_ns: id.mtime_ns.to_string(),
            head_sha256: id.head_sha256.clone(),
        }
    }
}

/// One chunk of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChunk {
    pub index: usize,
    /// Its segments: `first_segment..end_segment` (`None`: to the end of the video).
    pub first_segment: u64,
    pub end_segment: Option<u64>,
    /// Its output frames: `first_frame..end_frame` (`None`: to the end).
    pub first_frame: u64,
    pub end_frame: Option<u64>,
    /// The source frames it reads, as planned: `[first, end)`, the context frame before
    /// its first interpolated pair included (`end` `None`: to the end). The worker places
    /// the exact start from the frame timestamps itself.
    pub input_frames: (u64, Option<u64>),
}

impl PlanChunk {
    fn range(&self) -> ChunkRange {
        ChunkRange {
            index: self.index,
            first_segment: self.first_segment,
            end_segment: self.end_segment,
        }
    }
}

/// A plan file: everything a worker needs to run one chunk and the joiner to check them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    /// SHA-256 of the plan's content: chunks of another plan are told apart by it.
    pub plan_id: String,
    pub job: JobSpec,
    pub job_options: JobOptions,
    /// Absolute paths: every worker must see them under the same names.
    pub input: PathBuf,
    pub output: PathBuf,
    pub work_dir: PathBuf,
    pub input_fingerprint: Fingerprint,
    /// The job's key from its options and models (each chunk's key extends it).
    pub job_key: Vec<(String, String)>,
    pub segment_frames: u64,
    /// Output frames expected (when the input says how many frames it holds).
    pub output_frames: Option<u64>,
    pub output_fps: f64,
    pub chunks: Vec<PlanChunk>,
}

impl Plan {
    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<Plan, Error> {
        let bad = |reason: String| Error::Plan {
            message: format!("{}: {reason}", path.display()),
        };
        let text = fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let plan: Plan =
            serde_json::from_str(&text).map_err(|e| bad(format!("not an upframe plan ({e})")))?;
        if plan.format != PLAN_FORMAT {
            return Err(bad(format!(
                "plan format {:?}, this upframe reads {PLAN_FORMAT:?}",
                plan.format
            )));
        }
        Ok(plan)
    }

    /// Writes the plan to `path` atomically (a temporary file renamed).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let bad = |reason: String| Error::Plan {
            message: format!("{}: {reason}", path.display()),
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| bad(e.to_string()))?;
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let mut f = fs::File::create(&tmp).map_err(|e| bad(format!("cannot create: {e}")))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(|e| bad(format!("cannot write: {e}")))?;
        fs::rename(&tmp, path).map_err(|e| bad(format!("cannot write: {e}")))?;
        Ok(())
    }

    /// The chunk `index`, or an error naming the valid range.
    pub fn chunk(&self, index: usize) -> Result<&PlanChunk, Error> {
        self.chunks.get(index).ok_or_else(|| {
            Error::option(
                "--chunk",
                format!(
                    "--chunk {index}: the plan has chunks 0 to {}",
                    self.chunks.len().saturating_sub(1)
                ),
            )
        })
    }

    fn key(&self) -> JobKey {
        JobKey {
            entries: self.job_key.clone(),
        }
    }

    fn ranges(&self) -> Vec<ChunkRange> {
        self.chunks.iter().map(PlanChunk::range).collect()
    }

    /// The job options every chunk runs with: the plan's segment length, never a restart.
    fn valid_job(&self) -> Result<ValidJob, Error> {
        JobOptions {
            segment_frames: Some(self.segment_frames),
            restart: false,
            ..self.job_options.clone()
        }
        .validate()
    }

    /// Refuses an input that is not the file the plan was made for.
    fn check_input(&self) -> Result<(), Error> {
        let now = InputIdentity::of(&self.input).map_err(Error::WorkDir)?;
        if Fingerprint::from(&now) != self.input_fingerprint {
            return Err(Error::Plan {
                message: format!(
                    "{}: the input changed since the plan was made (size, modification time or \
                     first MiB); make a new plan",
                    self.input.display()
                ),
            });
        }
        Ok(())
    }
}

/// An absolute path without resolving links (the parent must exist for an output).
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Plan {
        message: format!("{}: {e}", path.display()),
    })
}

/// Cuts the job `spec` from `input` to `output` into chunks (see [`PlanOptions`]); nothing
/// is decoded or computed and no model is loaded (a model's weights are hashed).
pub fn plan(
    input: &Path,
    output: &Path,
    spec: &JobSpec,
    job: &JobOptions,
    how: &PlanOptions,
) -> Result<Plan, Error> {
    if job.segment_frames == Some(0) {
        return Err(Error::option(
            "--segment-frames",
            "--segment-frames 0 writes no segments: a job on many machines needs them",
        ));
    }
    match (how.chunks, how.chunk_seconds) {
        (Some(_), Some(_)) => {
            return Err(Error::option(
                "--chunks",
                "--chunks and --chunk-seconds cannot be used together",
            ))
        }
        (Some(0), _) => return Err(Error::option("--chunks", "--chunks must be at least 1")),
        (_, Some(s)) if !(s.is_finite() && s > 0.0) => {
            return Err(Error::option(
                "--chunk-seconds",
                "--chunk-seconds must be greater than 0",
            ))
        }
        _ => {}
    }
    let valid = job.validate()?;
    // The job's own refusals (missing input, taken output, ...), before anything is written.
    match spec {
        JobSpec::Upscale(o) => UpscaleJob::new(o, job)?.preflight(input, output)?,
        JobSpec::Interpolate(o) => InterpolateJob::new(o, job)?.preflight(input, output)?,
        JobSpec::Enhance(o) => EnhanceJob::new(o, job)?.preflight(input, output)?,
    }
    let (key, rate) = match spec {
        JobSpec::Upscale(o) => (upscale_key("upscale", &o.validate()?, &valid), None),
        JobSpec::Interpolate(o) => {
            let v = o.validate()?;
            (interpolate_key(&v, &valid), Some(v.rate()))
        }
        JobSpec::Enhance(o) => {
            let v = o.validate()?;
            let rate = v.interpolate().rate();
            (enhance_key(&v, &valid), Some(rate))
        }
    };
    let input = absolute(input)?;
    let output = absolute(output)?;
    let media =
        upframe_media::probe(&input).map_err(|source| Error::Media { source, hint: None })?;
    let info = match (&media.video, media.kind) {
        (Some(v), upframe_media::InputKind::Video) => v.clone(),
        _ => {
            return Err(Error::Plan {
                message: format!(
                    "{}: only a video file can be run on many machines",
                    input.display()
                ),
            })
        }
    };
    let fps = info.fps();
    let input_frames = expected_frames(&info, &valid.decode);
    let (output_frames, output_fps) = match rate {
        None => (input_frames, fps),
        Some(rate) => {
            let retimer = Retimer::new(rate, info.time_base).map_err(|e| Error::Plan {
                message: format!("{}: {e}", input.display()),
            })?;
            let (n, d) = retimer.output_frame_rate(info.avg_frame_rate);
            let out_fps = if n > 0 && d > 0 {
                f64::from(n) / f64::from(d)
            } else {
                fps
            };
            (
                input_frames.and_then(|f| expected_output_frames(rate, f, fps)),
                out_fps,
            )
        }
    };
    let segment_frames = job
        .segment_frames
        .unwrap_or_else(|| default_segment_frames(output_fps));
    let per_chunk = match (output_frames, how.chunks) {
        (Some(total), Some(n)) => total.div_ceil(segment_frames).div_ceil(n as u64).max(1),
        (_, _) => {
            let seconds = how.chunk_seconds.unwrap_or(DEFAULT_CHUNK_SECONDS);
            let frames = if output_fps > 0.0 {
                seconds * output_fps
            } else {
                seconds * 25.0
            };
            ((frames / segment_frames as f64).round() as u64).max(1)
        }
    };
    let segments = output_frames.map(|t| t.div_ceil(segment_frames).max(1));
    let count = match segments {
        Some(s) => s.div_ceil(per_chunk) as usize,
        // The length is unknown: one chunk to the end.
        None => 1,
    };
    let mut plan_chunks = Vec::with_capacity(count);
    for index in 0..count {
        let first_segment = index as u64 * per_chunk;
        let end_segment = (index + 1 < count).then_some(first_segment + per_chunk);
        let first_frame = first_segment * segment_frames;
        let end_frame = end_segment.map(|e| e * segment_frames);
        plan_chunks.push(PlanChunk {
            index,
            first_segment,
            end_segment,
            first_frame,
            end_frame,
            input_frames: input_span(rate, first_frame, end_frame, input_frames, output_frames),
        });
    }
    let work_dir = match &how.work_dir {
        Some(d) => absolute(d)?,
        None => {
            let mut name = output.file_name().unwrap_or_default().to_os_string();
            name.push(".chunks");
            work_dir_for(&output.with_file_name(name))
        }
    };
    let identity = InputIdentity::of(&input).map_err(Error::WorkDir)?;
    let job_options = JobOptions {
        segment_frames: Some(segment_frames),
        restart: false,
        ..job.clone()
    };
    let mut plan = Plan {
        format: PLAN_FORMAT.into(),
        plan_id: String::new(),
        job: spec.clone(),
        job_options,
        input,
        output,
        work_dir,
        input_fingerprint: Fingerprint::from(&identity),
        job_key: key.entries,
        segment_frames,
        output_frames,
        output_fps,
        chunks: plan_chunks,
    };
    let text = serde_json::to_string(&plan).map_err(|e| Error::Plan {
        message: e.to_string(),
    })?;
    plan.plan_id = hex(&Sha256::digest(text.as_bytes()));
    Ok(plan)
}

/// The source frames output frames `first..end` are made from (see [`PlanChunk`]).
fn input_span(
    rate: Option<Rate>,
    first: u64,
    end: Option<u64>,
    frames_in: Option<u64>,
    frames_out: Option<u64>,
) -> (u64, Option<u64>) {
    let clip = |e: u64| frames_in.map_or(e, |n| e.min(n));
    match rate {
        None => (first, end.map(clip)),
        Some(Rate::Factor(k) | Rate::Slowmo(k)) => {
            let k = u64::from(k.max(1));
            // Output frame j comes from the pair (j / k, j / k + 1).
            (first / k, end.map(|e| clip((e.max(1) - 1) / k + 2)))
        }
        Some(Rate::Fps { .. }) => match (frames_in, frames_out) {
            (Some(n_in), Some(n_out)) if n_out > 0 => {
                let r = n_in as f64 / n_out as f64;
                (
                    ((first as f64 * r).floor() as u64).saturating_sub(1),
                    end.map(|e| clip((e as f64 * r).ceil() as u64 + 1)),
                )
            }
            _ => (0, None),
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`run_chunk`] did.
#[derive(Debug)]
pub enum ChunkOutcome {
    /// The chunk's segments were made (or its partial run finished) and it is committed.
    Done(Box<Summary>),
    /// The chunk was already committed (by an earlier or another run): nothing was done.
    AlreadyComplete,
}

/// Makes chunk `index` of `plan` and commits it; a committed chunk is skipped, a partial one
/// finished (its complete segments kept when its setup is the same), and of two runs of one
/// chunk at a time one is refused ([`Error::WorkDir`]: busy).
pub fn run_chunk(plan: &Plan, index: usize, hooks: &mut Hooks<'_>) -> Result<ChunkOutcome, Error> {
    let chunk = plan.chunk(index)?;
    plan.check_input()?;
    match chunks::read_manifest(&plan.work_dir, &chunk.range(), &plan.plan_id) {
        Ok(Some(_)) => return Ok(ChunkOutcome::AlreadyComplete),
        Ok(None) => {}
        Err(e) => {
            // A damaged or foreign manifest commits nothing of this plan: redo the chunk.
            hooks.notice.say(&format!("{e}; making it again"));
            let _ = fs::remove_file(chunks::manifest_path(&plan.work_dir, index));
        }
    }
    let mode = ChunkMode::Run {
        work_dir: plan.work_dir.clone(),
        chunk: chunk.range(),
        plan_id: plan.plan_id.clone(),
    };
    let job = JobOptions {
        segment_frames: Some(plan.segment_frames),
        restart: false,
        ..plan.job_options.clone()
    };
    let (input, output) = (plan.input.as_path(), plan.output.as_path());
    let result = match &plan.job {
        JobSpec::Upscale(o) => {
            let mut j = UpscaleJob::new(o, &job)?;
            j.chunk = Some(mode);
            j.preflight(input, output)?;
            j.run(input, output, hooks)
        }
        JobSpec::Interpolate(o) => {
            let mut j = InterpolateJob::new(o, &job)?;
            j.chunk = Some(mode);
            j.preflight(input, output)?;
            j.run(input, output, hooks)
        }
        JobSpec::Enhance(o) => {
            let mut j = EnhanceJob::new(o, &job)?;
            j.chunk = Some(mode);
            j.preflight(input, output)?;
            j.run(input, output, hooks)
        }
    };
    match result {
        Ok(summary) => Ok(ChunkOutcome::Done(Box::new(summary))),
        Err(Error::WorkDir(JournalError::ChunkCommitted { .. })) => {
            Ok(ChunkOutcome::AlreadyComplete)
        }
        Err(e) => Err(e),
    }
}

/// Which chunks of `plan` are committed (checked as [`join`] checks them, one by one).
pub fn chunk_status(plan: &Plan) -> Vec<Result<bool, Error>> {
    plan.chunks
        .iter()
        .map(|c| {
            chunks::read_manifest(&plan.work_dir, &c.range(), &plan.plan_id)
                .map(|m| m.is_some())
                .map_err(Error::Chunk)
        })
        .collect()
}

/// What [`join`] wrote.
#[derive(Clone, Debug)]
pub struct JoinSummary {
    pub output: OutputSummary,
    pub chunks: usize,
    pub wall: Duration,
}

/// Stands in for RIFE in a join, which makes no frame (every output frame is in a chunk).
struct NoInterpolation;

impl FrameInterpolator for NoInterpolation {
    fn name(&self) -> &str {
        "join"
    }

    fn interpolate(&mut self, _: &Frame, _: &Frame, _: f32) -> Result<Frame, PipelineError> {
        Err(PipelineError::Processor {
            processor: "join".into(),
            message: "a join makes no frames; a chunk is incomplete".into(),
        })
    }
}

/// Checks that every chunk of `plan` is committed and that together they are one job's
/// output (a missing, foreign or damaged chunk is an [`Error::Chunk`] naming it, and nothing
/// is written), then joins them with the input's audio, subtitles and metadata into the
/// output (a temporary file renamed at the end) and removes the chunks.
pub fn join(plan: &Plan, hooks: &mut Hooks<'_>) -> Result<JoinSummary, Error> {
    let started = Instant::now();
    plan.check_input()?;
    let committed = chunks::verify(
        &plan.work_dir,
        &plan.ranges(),
        &plan.plan_id,
        plan.segment_frames,
    )?;
    let key = plan.key();
    for c in &committed {
        for (k, v) in &key.entries {
            if c.key.get(k) != Some(v.as_str()) {
                return Err(Error::Chunk(ChunkError::Foreign {
                    index: c.range.index,
                    path: chunks::manifest_path(&plan.work_dir, c.range.index),
                    what: format!("its {k} is not the plan's"),
                }));
            }
        }
    }
    let valid = plan.valid_job()?;
    let (input, output) = (plan.input.as_path(), plan.output.as_path());
    let mut video = video_job(&valid, input, output, key, hooks);
    if let Some(s) = video.segments.as_mut() {
        s.chunk = Some(ChunkMode::Join {
            work_dir: plan.work_dir.clone(),
            chunks: committed,
        });
    }
    let mut on_start = |_: &upframe_media::VideoInfo, _: (usize, usize), _: Option<u64>| {};
    let mut progress = |_: &upframe_pipeline::Progress| {};
    let summary = match &plan.job {
        JobSpec::Upscale(_) => {
            run_video_job_with(&video, &mut [], &mut on_start, &mut progress).map(|s| s.output)
        }
        JobSpec::Interpolate(o) => {
            let pjob = pipeline_interpolate_job(video, &o.validate()?);
            run_interpolate_job_with(
                &pjob,
                &mut NoInterpolation,
                &mut [],
                &mut [],
                &mut on_start,
                &mut progress,
            )
            .map(|s| s.output)
        }
        JobSpec::Enhance(o) => {
            let v = o.validate()?;
            let pjob = pipeline_interpolate_job(video, v.interpolate());
            run_interpolate_job_with(
                &pjob,
                &mut NoInterpolation,
                &mut [],
                &mut [],
                &mut on_start,
                &mut progress,
            )
            .map(|s| s.output)
        }
    };
    let output_summary = summary.map_err(|e| Error::from_job(e, input, output))?;
    Ok(JoinSummary {
        output: output_summary,
        chunks: plan.chunks.len(),
        wall: started.elapsed(),
    })
}
