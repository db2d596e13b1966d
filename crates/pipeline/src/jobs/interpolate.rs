//! The interpolation job: source frames in pairs → output frames on a new time grid
//! ([`crate::jobs::timing`]) → sink, streaming (two source frames held at a time).
//!
//! Optional one-in-one-out processors run before interpolation (`pre`, e.g. upscale-first
//! `enhance`) and after it (`post`, interpolate-first `enhance`). Pairs across a scene cut
//! ([`crate::jobs::scene`]) are not interpolated by default (the earlier frame is repeated); pairs
//! of identical frames skip the network. The sink's passthrough copies audio untouched: the
//! output keeps the source's timeline, so audio stays in sync (slow motion drops audio).
//! The first two frames are read before the sink is opened, so a one-frame input fails
//! without creating any output.
//!
//! The frames run on the threaded runner ([`crate::jobs::runner::run_stages`]): decoding, the
//! processing ([`PairStage`]: `pre`, scene-cut checks, the interpolator, `post`) and encoding
//! each on their own thread, with bounded queues between them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use upframe_media::{
    open_source, Frame, FrameSource, FrameTimes, InputKind, OutputSpec, OutputSummary, Passthrough,
    SeekReport, ShortInput, VideoInfo,
};

use crate::error::{JobError, PipelineError};
use crate::job_spec::VideoJob;
use crate::jobs::job::{expected_frames, unwrap_media, ResumeReport, StartCallback};
use crate::jobs::runner::{
    drain_chain, feed_chain, run_stages, Emit, JobReport, Progress, RunOptions, Stage,
};
use crate::jobs::scene::{is_static, ssim, thumbnail, DEFAULT_CUT_THRESHOLD};
use crate::jobs::timing::{Rate, Retimer, Slot};
use crate::processors::{
    chain_job_key, chain_output_channels, chain_output_size, FrameInterpolator, FrameProcessor,
};
use crate::resume::open_job_output;

/// What to put between two frames across a scene cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnCut {
    /// Repeat the earlier frame (no frame mixes the two shots).
    #[default]
    Repeat,
    /// A linear cross-fade (no motion estimation).
    Blend,
    /// Interpolate anyway.
    Interpolate,
}

/// An interpolation job.
#[derive(Clone, Debug)]
pub struct InterpolateJob {
    pub video: VideoJob,
    pub rate: Rate,
    pub on_cut: OnCut,
    /// SSIM of 32×32 luma thumbnails below which a pair is a cut.
    pub cut_threshold: f64,
}

impl InterpolateJob {
    pub fn new(video: VideoJob, rate: Rate) -> Self {
        InterpolateJob {
            video,
            rate,
            on_cut: OnCut::Repeat,
            cut_threshold: DEFAULT_CUT_THRESHOLD,
        }
    }
}

/// What a finished interpolation job did.
#[derive(Clone, Debug)]
pub struct InterpolateSummary {
    pub input: VideoInfo,
    pub output: OutputSummary,
    pub frames_in: u64,
    /// Output frames of the whole file, a resumed job's earlier segments included.
    pub frames_out: u64,
    /// Output frames taken from an earlier run's complete segments (resume), not made now.
    pub frames_resumed: u64,
    /// How a resumed job reached the first source frame it needs (`None`: not resumed).
    pub resume: Option<ResumeReport>,
    /// Pictures the source decoded in this run ([`FrameSource::frames_decoded`]).
    pub frames_decoded: u64,
    /// Output frames the network made.
    pub interpolated: u64,
    /// Source indices `i` where the pair `(i, i+1)` was a cut, with its SSIM.
    pub cuts: Vec<(u64, f64)>,
    /// Pairs of identical frames (network skipped).
    pub static_pairs: u64,
    /// The whole job, from opening the input to the committed output (the encoder's final
    /// flush and the join of segments included).
    pub wall: Duration,
    /// This run's frame loop on the threaded runner: `frames_in` as above, `frames_out` the
    /// frames written in this run, each stage's busy time, and `wall` the loop only (the
    /// first two frames, read before the output opens, and a resume's seek come before it).
    pub report: JobReport,
    pub output_width: usize,
    pub output_height: usize,
    pub output_time_base: (i32, i32),
    /// The input ended early or had a gap, accepted under `--on-decode-error skip`.
    pub short_input: Option<ShortInput>,
}

/// The number of output frames for `frames_in` source frames, when it can be told in advance
/// (factor and slow motion: `frames_in · k`; a fixed rate: `ceil(duration · fps)`).
pub fn expected_output_frames(rate: Rate, frames_in: u64, source_fps: f64) -> Option<u64> {
    match rate {
        Rate::Factor(k) | Rate::Slowmo(k) => Some(frames_in * u64::from(k)),
        Rate::Fps { num, den } if source_fps > 0.0 => {
            Some((frames_in as f64 / source_fps * num as f64 / den as f64 - 1e-9).ceil() as u64)
        }
        Rate::Fps { .. } => None,
    }
}

struct Counters {
    frames_out: u64,
    /// Output frames already in complete segments (a resumed job): counted, not made.
    skip: u64,
    /// The output frame a chunk stops before (`None`: the end of the input).
    stop: Option<u64>,
    interpolated: u64,
}

/// A source frame's timestamp, or `index · tick` for a frame without one.
fn frame_pts(f: &Frame, tick: i64) -> i64 {
    f.pts.unwrap_or(f.index as i64 * tick)
}

/// Runs the interpolation job: `pre` on each source frame, `interpolator` between pairs,
/// `post` on each output frame.
pub fn run_interpolate_job(
    job: &InterpolateJob,
    interpolator: &mut dyn FrameInterpolator,
    mut pre: Vec<Box<dyn FrameProcessor>>,
    mut post: Vec<Box<dyn FrameProcessor>>,
    on_start: &mut StartCallback<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<InterpolateSummary, JobError> {
    run_interpolate_job_with(job, interpolator, &mut pre, &mut post, on_start, progress)
}

/// [`run_interpolate_job`] with borrowed processors, so loaded models serve many jobs (a
/// batch of inputs).
pub fn run_interpolate_job_with(
    job: &InterpolateJob,
    interpolator: &mut dyn FrameInterpolator,
    pre: &mut [Box<dyn FrameProcessor>],
    post: &mut [Box<dyn FrameProcessor>],
    on_start: &mut StartCallback<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<InterpolateSummary, JobError> {
    let started = Instant::now();
    let vjob = &job.video;
    vjob.preflight()?;
    let mut source = open_source(&vjob.input, &vjob.decode_options())?;
    let info = source.info().clone();
    let retimer = Retimer::new(job.rate, info.time_base)
        .map_err(|e| processor_error("timing", e.to_string()))?;
    let fresh_retimer = retimer.clone();
    let (mid_w, mid_h) = chain_output_size(pre, info.width, info.height);
    let (out_w, out_h) = chain_output_size(post, mid_w, mid_h);
    crate::jobs::job::check_frame_limit(
        (info.width, info.height),
        (mid_w, mid_h),
        vjob.max_pixels,
    )?;
    crate::jobs::job::check_frame_limit((mid_w, mid_h), (out_w, out_h), vjob.max_pixels)?;
    let frames_in_expected = expected_frames(&info, &vjob.decode);
    let total = frames_in_expected.and_then(|n| expected_output_frames(job.rate, n, info.fps()));
    // Source ticks per frame, for frames without timestamps.
    let fps = info.fps();
    let tick = if fps > 0.0 {
        ((f64::from(info.time_base.1) / f64::from(info.time_base.0)) / fps)
            .round()
            .max(1.0) as i64
    } else {
        1
    };
    let pts_of = |f: &Frame| frame_pts(f, tick);
    let cancelled = || vjob.cancel.load(Ordering::Relaxed);
    let read = |source: &mut Box<dyn FrameSource>| -> Result<Option<Frame>, JobError> {
        if cancelled() {
            return Err(PipelineError::Cancelled.into());
        }
        Ok(source.next_frame()?)
    };

    let Some(first) = read(&mut source)? else {
        return Err(processor_error("interpolate", "the input has no video frames".into()).into());
    };
    let Some(second) = read(&mut source)? else {
        return Err(processor_error(
            "interpolate",
            "the input has a single frame; interpolation needs at least two".into(),
        )
        .into());
    };
    on_start(&info, (out_w, out_h), total);

    let mut spec = OutputSpec::like_source(&info);
    spec.width = out_w;
    spec.height = out_h;
    spec.channels = chain_output_channels(post, chain_output_channels(pre, info.channels));
    spec.time_base = retimer.output_time_base();
    spec.frame_rate = retimer.output_frame_rate(info.avg_frame_rate);
    spec.encode = vjob.encode.clone();
    spec.overwrite = vjob.overwrite;
    spec.source_path = Some(vjob.input.clone());
    let slowmo = matches!(job.rate, Rate::Slowmo(_));
    let is_video_file = upframe_media::probe(&vjob.input)
        .map(|m| m.kind == InputKind::Video)
        .unwrap_or(false);
    if is_video_file {
        let duration_s = vjob.decode.duration_s.or_else(|| {
            vjob.decode
                .max_frames
                .filter(|_| fps > 0.0)
                .map(|n| n as f64 / fps)
        });
        spec.passthrough = Some(Passthrough {
            input: vjob.input.clone(),
            // Slow motion stretches time: copied audio/subtitles would no longer fit.
            audio: vjob.audio && !slowmo,
            subtitles: vjob.subtitles && !slowmo,
            start_s: vjob.decode.start_s,
            duration_s,
            metadata: true,
        });
    }
    if let Rate::Slowmo(k) = job.rate {
        // The window's start is stretched too; it stays output time 0.
        spec.start_s = vjob.decode.start_s.map(|s| s * f64::from(k));
    }
    let out_fps = if spec.frame_rate.0 > 0 && spec.frame_rate.1 > 0 {
        f64::from(spec.frame_rate.0) / f64::from(spec.frame_rate.1)
    } else {
        fps
    };
    let mut processor_key = chain_job_key(pre, info.width, info.height);
    for (k, v) in interpolator.job_key() {
        processor_key.push((format!("interpolator.{k}"), v));
    }
    for (k, v) in chain_job_key(post, mid_w, mid_h) {
        processor_key.push((format!("post.{k}"), v));
    }
    let mut output = open_job_output(vjob, &spec, out_fps, &processor_key)?;

    let frames_resumed = output.skip_frames;
    // A chunk stops at its end (the join of chunks, and a complete chunk, at once): the stage
    // raises `chunk_done` after the chunk's last output frame and the decoder stops reading.
    let nothing_to_make = output.nothing_to_make();
    let chunk_done = AtomicBool::new(false);
    // Source frames read before the runner starts, `next` not counted (it goes through the
    // runner's decode stage).
    let mut frames_before = 1u64;
    // Frames go through `pre` (and get a thumbnail) only when a pair they belong to has an
    // output frame to make: a resumed job skips the pairs of its complete segments entirely.
    let mut stage = PairStage {
        retimer,
        prev: Staged::new(first),
        last_interval: 1,
        pre,
        post,
        interpolator,
        on_cut: job.on_cut,
        cut_threshold: job.cut_threshold,
        tick,
        counters: Counters {
            frames_out: 0,
            skip: frames_resumed,
            stop: output.stop_frames,
            interpolated: 0,
        },
        cuts: Vec::new(),
        static_pairs: 0,
        chunk_done: &chunk_done,
        queue: VecDeque::new(),
    };
    let mut next = Some(second).filter(|_| !nothing_to_make);
    let mut resume = None;
    if frames_resumed > 0 && !nothing_to_make {
        // The pair that makes the first new output frame, from the frames' timestamps; the
        // source seeks to its first frame, the context the new frames are made from.
        let mut plan = resume_plan(
            source.frame_times()?,
            vjob,
            &fresh_retimer,
            frames_resumed,
            &pts_of,
            &cancelled,
        )?;
        let mut seek = SeekReport::default();
        let mut decoded = source.frames_decoded() + plan.frames_decoded;
        if plan.first_frame >= 2 {
            let frame = loop {
                seek = source.seek_to_frame(plan.first_frame, &vjob.cancel)?;
                decoded += seek.frames_decoded;
                match read(&mut source)? {
                    Some(f) if pts_of(&f) == plan.pts => break f,
                    _ if plan.from_packets => {
                        // The packet timestamps disagreed with the decoder before the seek
                        // point: place the resume from decoded timestamps instead.
                        plan = resume_plan(
                            None,
                            vjob,
                            &fresh_retimer,
                            frames_resumed,
                            &pts_of,
                            &cancelled,
                        )?;
                        decoded += plan.frames_decoded;
                    }
                    _ => {
                        return Err(processor_error(
                            "interpolate",
                            format!("frame {} to resume from cannot be read", plan.first_frame),
                        )
                        .into())
                    }
                }
            };
            stage.prev = Staged::new(frame);
            next = read(&mut source)?;
            frames_before = plan.first_frame + 1;
            stage.counters.frames_out = plan.frames_out;
            stage.retimer = plan.retimer;
            stage.last_interval = plan.last_interval;
        }
        resume = Some(ResumeReport {
            first_frame: plan.first_frame,
            seek,
            frames_decoded_before_first_new: decoded,
        });
    }

    let options = RunOptions {
        queue_depth: vjob.queue_depth,
        cancel: vjob.cancel.clone(),
        total_frames: total.map(|t| t.saturating_sub(frames_resumed)),
        progress_interval: vjob.progress_interval,
    };
    let report = {
        // `next` first (`None`: the source has already ended), then the rest of the source.
        let mut pending = Some(next);
        let source_ref = &mut source;
        let chunk_done = &chunk_done;
        let mut read = || match pending.take() {
            Some(frame) => Ok(frame),
            None if chunk_done.load(Ordering::Relaxed) => Ok(None),
            None => source_ref
                .next_frame()
                .map_err(|e| PipelineError::Source(Box::new(e))),
        };
        let sink = &mut output.sink;
        let mut write = |f: &Frame| {
            sink.write_frame(f)
                .map_err(|e| PipelineError::Sink(Box::new(e)))
        };
        // The runner counts the frames made in this run; the progress counts the whole file.
        let mut progress = |p: &Progress| {
            progress(&Progress {
                frames_done: p.frames_done + frames_resumed,
                frames_total: p.frames_total.map(|t| t + frames_resumed),
                ..*p
            })
        };
        run_stages(&mut read, &mut stage, &mut write, &options, &mut progress)
    };
    // On error the sink is dropped here: complete segments are kept, the rest deleted.
    let mut report = report.map_err(unwrap_media)?;
    let frames_in = frames_before + report.frames_in;
    report.frames_in = frames_in;
    let short_input = source.short_input().cloned();
    let frames_decoded = source.frames_decoded();
    drop(source);
    crate::jobs::job::end_passthrough_early(&mut output.sink, short_input.as_ref());
    let output = output.finish(&vjob.notice)?;
    Ok(InterpolateSummary {
        input: info,
        output,
        frames_in,
        frames_out: stage.counters.frames_out,
        frames_resumed,
        resume,
        frames_decoded,
        interpolated: stage.counters.interpolated,
        cuts: stage.cuts,
        static_pairs: stage.static_pairs,
        wall: started.elapsed(),
        report,
        output_width: out_w,
        output_height: out_h,
        output_time_base: stage.retimer.output_time_base(),
        short_input,
    })
}

/// The processing stage of an interpolation: holds the previous source frame, and for each
/// new one retimes the pair, runs `pre` on the frames a new output frame needs, checks for a
/// scene cut or a static pair, and hands on the pair's output frames (interpolated, repeated
/// or blended) through `post`.
struct PairStage<'a> {
    retimer: Retimer,
    prev: Staged,
    /// The interval of the last pair (the last frame is held that long).
    last_interval: i64,
    pre: &'a mut [Box<dyn FrameProcessor>],
    post: &'a mut [Box<dyn FrameProcessor>],
    interpolator: &'a mut dyn FrameInterpolator,
    on_cut: OnCut,
    cut_threshold: f64,
    /// Source ticks per frame, for frames without timestamps.
    tick: i64,
    counters: Counters,
    cuts: Vec<(u64, f64)>,
    static_pairs: u64,
    /// Raised once a chunk's last output frame is made, so the decoder stops reading.
    chunk_done: &'a AtomicBool,
    /// Output frames made or being made, in output order: repeated and blended frames wait
    /// here behind interpolated ones still in flight on a GPU.
    queue: VecDeque<Queued>,
}

/// An output frame of [`PairStage`] on its way to `post`.
enum Queued {
    Ready(Frame),
    /// Started by the interpolator's `submit`; `pts` and `index` go on the frame it returns.
    Interpolating {
        pts: i64,
        index: u64,
    },
}

/// Puts a frame the interpolator finished in the oldest [`Queued::Interpolating`] place
/// (interpolators return frames in the order they were started).
fn place_interpolated(queue: &mut VecDeque<Queued>, mut frame: Frame) -> Result<(), PipelineError> {
    let slot = queue
        .iter_mut()
        .find(|q| matches!(q, Queued::Interpolating { .. }))
        .ok_or_else(|| {
            processor_error(
                "interpolate",
                "an interpolator returned a frame it was not asked for".into(),
            )
        })?;
    if let Queued::Interpolating { pts, index } = *slot {
        frame.pts = Some(pts);
        frame.index = index;
    }
    *slot = Queued::Ready(frame);
    Ok(())
}

/// Hands the ready frames at the front of `queue` on through `post`.
fn release(
    queue: &mut VecDeque<Queued>,
    post: &mut [Box<dyn FrameProcessor>],
    out: &mut Emit<'_>,
) -> Result<(), PipelineError> {
    while let Some(Queued::Ready(_)) = queue.front() {
        if let Some(Queued::Ready(frame)) = queue.pop_front() {
            feed_chain(post, 0, frame, out)?;
        }
    }
    Ok(())
}

impl Stage for PairStage<'_> {
    fn push(&mut self, raw: Frame, out: &mut Emit<'_>) -> Result<(), PipelineError> {
        if self.counters.stopped() {
            self.chunk_done.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let tick = self.tick;
        let pts_of = move |f: &Frame| frame_pts(f, tick);
        let mut cur = Staged::new(raw);
        let slots = self
            .retimer
            .interval(self.prev.pts(&pts_of), cur.pts(&pts_of))
            .map_err(|e| processor_error("timing", e.to_string()))?;
        if self.counters.skips(slots.len()) {
            self.counters.frames_out += slots.len() as u64;
        } else {
            let needs_middle = slots.iter().any(|s| s.timestep > 0.0);
            let mut mode = PairMode::Interpolate;
            if needs_middle {
                let (a, a_thumb) = self.prev.ready(self.pre)?;
                let (b, b_thumb) = cur.ready(self.pre)?;
                if is_static(&a.data, &b.data) {
                    self.static_pairs += 1;
                    mode = PairMode::Repeat;
                } else {
                    let score = ssim(a_thumb, b_thumb);
                    if score < self.cut_threshold {
                        self.cuts.push((a.index, score));
                        mode = match self.on_cut {
                            OnCut::Repeat => PairMode::Repeat,
                            OnCut::Blend => PairMode::Blend,
                            OnCut::Interpolate => PairMode::Interpolate,
                        };
                    }
                }
            }
            self.prev.ready(self.pre)?;
            cur.ready(self.pre)?;
            emit(
                &slots,
                self.prev.frame(),
                cur.frame(),
                mode,
                self.interpolator,
                self.post,
                &mut self.counters,
                &mut self.queue,
                out,
            )?;
        }
        self.last_interval = cur.pts(&pts_of) - self.prev.pts(&pts_of);
        self.prev = cur;
        Ok(())
    }

    fn finish(&mut self, out: &mut Emit<'_>) -> Result<(), PipelineError> {
        let tick = self.tick;
        let pts_of = move |f: &Frame| frame_pts(f, tick);
        let slots = self
            .retimer
            .last(self.prev.pts(&pts_of), self.last_interval);
        if self.counters.skips(slots.len()) {
            self.counters.frames_out += slots.len() as u64;
        } else {
            self.prev.ready(self.pre)?;
            emit(
                &slots,
                self.prev.frame(),
                self.prev.frame(),
                PairMode::Repeat,
                self.interpolator,
                self.post,
                &mut self.counters,
                &mut self.queue,
                out,
            )?;
        }
        self.flush(out)
    }

    /// The frames held by the interpolator (a GPU pair in flight) and by `post` (a GPU
    /// upscaler's frame in flight) were made before the source's end or error: they go out.
    fn flush(&mut self, out: &mut Emit<'_>) -> Result<(), PipelineError> {
        while let Some(frame) = self.interpolator.drain()? {
            place_interpolated(&mut self.queue, frame)?;
        }
        release(&mut self.queue, self.post, out)?;
        drain_chain(self.post, out)
    }
}

/// A source frame, before or after the `pre` chain (with its scene thumbnail).
struct Staged {
    raw: Option<Frame>,
    done: Option<(Frame, Vec<f32>)>,
}

impl Staged {
    fn new(raw: Frame) -> Self {
        Staged {
            raw: Some(raw),
            done: None,
        }
    }

    /// The source timestamp (`pre` keeps it).
    fn pts(&self, pts_of: &impl Fn(&Frame) -> i64) -> i64 {
        match (&self.done, &self.raw) {
            (Some((f, _)), _) | (None, Some(f)) => pts_of(f),
            (None, None) => 0,
        }
    }

    /// Runs `pre` once and makes the thumbnail; returns both.
    fn ready(
        &mut self,
        pre: &mut [Box<dyn FrameProcessor>],
    ) -> Result<(&Frame, &[f32]), PipelineError> {
        if self.done.is_none() {
            let raw = self.raw.take().ok_or_else(|| {
                processor_error("interpolate", "a frame was consumed twice".into())
            })?;
            if raw.is_header_only() {
                // The resume pre-pass said this frame's pairs were all done.
                return Err(processor_error(
                    "interpolate",
                    format!("frame {} was skipped but is needed to resume", raw.index),
                ));
            }
            let frame = apply(pre, raw)?;
            let thumb = thumbnail(&frame.data, frame.width, frame.height, frame.channels);
            self.done = Some((frame, thumb));
        }
        match &self.done {
            Some((f, t)) => Ok((f, t)),
            None => Err(processor_error("interpolate", "frame not ready".into())),
        }
    }

    /// The processed frame (after [`Staged::ready`]).
    fn frame(&self) -> &Frame {
        match (&self.done, &self.raw) {
            (Some((f, _)), _) | (None, Some(f)) => f,
            (None, None) => unreachable!("a staged frame always holds a frame"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PairMode {
    Interpolate,
    Repeat,
    Blend,
}

/// Where a resumed interpolation starts: the pair whose output frames reach past the `skip`
/// frames already in complete segments, and the state the job is in before that pair.
struct ResumePlan {
    /// The pair's first source frame: its pixels are needed (context for the new frames).
    first_frame: u64,
    /// Its timestamp.
    pts: i64,
    /// The retimer as it is before the pair (fixed-rate output carries its next time).
    retimer: Retimer,
    /// Output frames of the pairs before it.
    frames_out: u64,
    /// The interval of the pair before it (the last frame is held that long).
    last_interval: i64,
    /// The timestamps came from packets, not from decoding.
    from_packets: bool,
    /// Pictures decoded to place it (none when the timestamps came from packets).
    frames_decoded: u64,
}

/// Runs the job's retimer over the input's frame timestamps (from `times`, told without
/// decoding; `None`, or times that cannot be told that way: from a pass that decodes without
/// converting) until the output frames of a pair reach past `skip`. When every output frame
/// is done, the plan is the last frame's (its held copies are then all skipped).
fn resume_plan(
    times: Option<FrameTimes>,
    vjob: &VideoJob,
    fresh: &Retimer,
    skip: u64,
    pts_of: &impl Fn(&Frame) -> i64,
    cancelled: &impl Fn() -> bool,
) -> Result<ResumePlan, JobError> {
    if let Some(mut times) = times {
        let mut next = || times.next_pts().map_err(JobError::from);
        match plan_over(&mut next, fresh, skip, cancelled) {
            Ok(plan) => return Ok(plan),
            Err(JobError::Media(e)) => {
                tracing::debug!("resume from decoded timestamps: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    let mut source = open_source(&vjob.input, &vjob.decode_options())?;
    let mut next =
        || -> Result<Option<i64>, JobError> { Ok(source.skip_frame()?.map(|f| pts_of(&f))) };
    let mut plan = plan_over(&mut next, fresh, skip, cancelled)?;
    plan.from_packets = false;
    plan.frames_decoded = source.frames_decoded();
    Ok(plan)
}

/// [`resume_plan`] over the timestamps `next` gives, frame 0 first.
fn plan_over(
    next: &mut dyn FnMut() -> Result<Option<i64>, JobError>,
    fresh: &Retimer,
    skip: u64,
    cancelled: &impl Fn() -> bool,
) -> Result<ResumePlan, JobError> {
    let mut retimer = fresh.clone();
    let Some(mut prev) = next()? else {
        return Err(processor_error("interpolate", "the input has no video frames".into()).into());
    };
    let mut index = 0u64;
    let mut frames_out = 0u64;
    let mut last_interval = 1i64;
    while let Some(cur) = next()? {
        if cancelled() {
            return Err(PipelineError::Cancelled.into());
        }
        let before = retimer.clone();
        let slots = retimer
            .interval(prev, cur)
            .map_err(|e| processor_error("timing", e.to_string()))?;
        if frames_out + slots.len() as u64 > skip {
            return Ok(ResumePlan {
                first_frame: index,
                pts: prev,
                retimer: before,
                frames_out,
                last_interval,
                from_packets: true,
                frames_decoded: 0,
            });
        }
        frames_out += slots.len() as u64;
        last_interval = cur - prev;
        prev = cur;
        index += 1;
    }
    Ok(ResumePlan {
        first_frame: index,
        pts: prev,
        retimer,
        frames_out,
        last_interval,
        from_packets: true,
        frames_decoded: 0,
    })
}

impl Counters {
    /// Whether all of the next `n` output frames are in complete segments (or past a
    /// chunk's end).
    fn skips(&self, n: usize) -> bool {
        self.frames_out + n as u64 <= self.skip || self.stopped()
    }

    /// Whether a chunk's last output frame is written.
    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| self.frames_out >= s)
    }
}

fn processor_error(processor: &str, message: String) -> PipelineError {
    PipelineError::Processor {
        processor: processor.into(),
        message,
    }
}

fn apply(chain: &mut [Box<dyn FrameProcessor>], mut frame: Frame) -> Result<Frame, PipelineError> {
    for p in chain.iter_mut() {
        frame = p.process(frame)?;
    }
    Ok(frame)
}

/// Makes the output frames of `slots` between `a` and `b` and hands them on (the ones in
/// complete segments of a resumed job are only counted).
#[allow(clippy::too_many_arguments)]
fn emit(
    slots: &[Slot],
    a: &Frame,
    b: &Frame,
    mode: PairMode,
    interpolator: &mut dyn FrameInterpolator,
    post: &mut [Box<dyn FrameProcessor>],
    counters: &mut Counters,
    queue: &mut VecDeque<Queued>,
    out: &mut Emit<'_>,
) -> Result<(), PipelineError> {
    for slot in slots {
        if counters.stopped() {
            break;
        }
        if counters.frames_out < counters.skip {
            counters.frames_out += 1;
            continue;
        }
        // Counted when made: an interpolator or a `post` processor that streams hands it on
        // with a later one.
        let (pts, index) = (slot.pts, counters.frames_out);
        counters.frames_out += 1;
        let mut frame = if slot.timestep <= 0.0 || mode == PairMode::Repeat {
            a.clone()
        } else if mode == PairMode::Blend {
            let t = slot.timestep as f32;
            let mut f = a.clone();
            for (o, &s) in f.data.iter_mut().zip(&b.data) {
                *o = (1.0 - t) * *o + t * s;
            }
            f
        } else {
            counters.interpolated += 1;
            queue.push_back(Queued::Interpolating { pts, index });
            if let Some(done) = interpolator.submit(a, b, slot.timestep as f32)? {
                place_interpolated(queue, done)?;
            }
            release(queue, post, out)?;
            continue;
        };
        frame.pts = Some(pts);
        frame.index = index;
        queue.push_back(Queued::Ready(frame));
        release(queue, post, out)?;
    }
    Ok(())
}
