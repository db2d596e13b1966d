//! The interpolation job: source frames in pairs → output frames on a new time grid
//! ([`crate::timing`]) → sink, streaming (two source frames held at a time).
//!
//! Optional one-in-one-out processors run before interpolation (`pre`, e.g. upscale-first
//! `enhance`) and after it (`post`, interpolate-first `enhance`). Pairs across a scene cut
//! ([`crate::scene`]) are not interpolated by default (the earlier frame is repeated); pairs
//! of identical frames skip the network. The sink's passthrough copies audio untouched: the
//! output keeps the source's timeline, so audio stays in sync (slow motion drops audio).
//! The first two frames are read before the sink is opened, so a one-frame input fails
//! without creating any output.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use upframe_media::{
    open_sink, open_source, Frame, FrameSource, InputKind, OutputSpec, OutputSummary, Passthrough,
    VideoInfo,
};

use crate::error::PipelineError;
use crate::job::{expected_frames, JobError, StartCallback, VideoJob};
use crate::processor::{
    chain_output_channels, chain_output_size, FrameInterpolator, FrameProcessor,
};
use crate::runner::Progress;
use crate::scene::{is_static, ssim, thumbnail, DEFAULT_CUT_THRESHOLD};
use crate::timing::{Rate, Retimer, Slot};

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
    pub frames_out: u64,
    /// Output frames the network made.
    pub interpolated: u64,
    /// Source indices `i` where the pair `(i, i+1)` was a cut, with its SSIM.
    pub cuts: Vec<(u64, f64)>,
    /// Pairs of identical frames (network skipped).
    pub static_pairs: u64,
    pub wall: Duration,
    pub output_width: usize,
    pub output_height: usize,
    pub output_time_base: (i32, i32),
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
    interpolated: u64,
    started: Instant,
    last_progress: Instant,
    total: Option<u64>,
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
    let vjob = &job.video;
    let mut source = open_source(&vjob.input, &vjob.decode)?;
    let info = source.info().clone();
    let mut retimer = Retimer::new(job.rate, info.time_base)
        .map_err(|e| processor_error("timing", e.to_string()))?;
    let (mid_w, mid_h) = chain_output_size(&pre, info.width, info.height);
    let (out_w, out_h) = chain_output_size(&post, mid_w, mid_h);
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
    let pts_of = |f: &Frame| f.pts.unwrap_or(f.index as i64 * tick);
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
    spec.channels = chain_output_channels(&post, chain_output_channels(&pre, info.channels));
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
    let mut sink = open_sink(&vjob.output, &spec)?;

    let now = Instant::now();
    let mut counters = Counters {
        frames_out: 0,
        interpolated: 0,
        started: now,
        last_progress: now,
        total,
    };
    let mut cuts = Vec::new();
    let mut static_pairs = 0u64;
    let mut frames_in = 2u64;
    let mut prev = apply(&mut pre, first)?;
    let mut prev_thumb = thumbnail(&prev.data, prev.width, prev.height, prev.channels);
    let mut prev_pts = pts_of(&prev);
    let mut last_interval = 1i64;
    let mut next = Some(second);
    while let Some(raw) = next.take() {
        let cur_pts = pts_of(&raw);
        let cur = apply(&mut pre, raw)?;
        let cur_thumb = thumbnail(&cur.data, cur.width, cur.height, cur.channels);
        let slots = retimer
            .interval(prev_pts, cur_pts)
            .map_err(|e| processor_error("timing", e.to_string()))?;
        let needs_middle = slots.iter().any(|s| s.timestep > 0.0);
        let mut mode = PairMode::Interpolate;
        if needs_middle {
            if is_static(&prev.data, &cur.data) {
                static_pairs += 1;
                mode = PairMode::Repeat;
            } else {
                let score = ssim(&prev_thumb, &cur_thumb);
                if score < job.cut_threshold {
                    cuts.push((prev.index, score));
                    mode = match job.on_cut {
                        OnCut::Repeat => PairMode::Repeat,
                        OnCut::Blend => PairMode::Blend,
                        OnCut::Interpolate => PairMode::Interpolate,
                    };
                }
            }
        }
        emit(
            &slots,
            &prev,
            &cur,
            mode,
            interpolator,
            &mut post,
            sink.as_mut(),
            &mut counters,
            progress,
        )?;
        last_interval = cur_pts - prev_pts;
        prev = cur;
        prev_thumb = cur_thumb;
        prev_pts = cur_pts;
        next = read(&mut source)?;
        if next.is_some() {
            frames_in += 1;
        }
    }
    let slots = retimer.last(prev_pts, last_interval);
    emit(
        &slots,
        &prev,
        &prev,
        PairMode::Repeat,
        interpolator,
        &mut post,
        sink.as_mut(),
        &mut counters,
        progress,
    )?;
    drop(source);
    let output = sink.finish()?;
    Ok(InterpolateSummary {
        input: info,
        output,
        frames_in,
        frames_out: counters.frames_out,
        interpolated: counters.interpolated,
        cuts,
        static_pairs,
        wall: counters.started.elapsed(),
        output_width: out_w,
        output_height: out_h,
        output_time_base: retimer.output_time_base(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PairMode {
    Interpolate,
    Repeat,
    Blend,
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

#[allow(clippy::too_many_arguments)]
fn emit(
    slots: &[Slot],
    a: &Frame,
    b: &Frame,
    mode: PairMode,
    interpolator: &mut dyn FrameInterpolator,
    post: &mut [Box<dyn FrameProcessor>],
    sink: &mut dyn upframe_media::FrameSink,
    counters: &mut Counters,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(), JobError> {
    for slot in slots {
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
            interpolator.interpolate(a, b, slot.timestep as f32)?
        };
        frame.pts = Some(slot.pts);
        frame.index = counters.frames_out;
        let frame = apply(post, frame)?;
        sink.write_frame(&frame)?;
        counters.frames_out += 1;
        let now = Instant::now();
        if now.duration_since(counters.last_progress) >= Duration::from_millis(200) {
            counters.last_progress = now;
            let elapsed = now.duration_since(counters.started);
            let secs = elapsed.as_secs_f64();
            let fps = if secs > 0.0 {
                counters.frames_out as f64 / secs
            } else {
                0.0
            };
            let eta = counters.total.filter(|_| fps > 0.0).map(|t| {
                Duration::from_secs_f64(t.saturating_sub(counters.frames_out) as f64 / fps)
            });
            progress(&Progress {
                frames_done: counters.frames_out,
                frames_total: counters.total,
                elapsed,
                fps,
                eta,
            });
        }
    }
    Ok(())
}
