//! Whole-file jobs: open the source, size the sink from the processor chain, keep the source's
//! timing/colour/rotation/depth/alpha, pass audio and subtitles through, run the threaded
//! runner, and finish the sink only on success (on error or cancellation the sink is dropped,
//! which deletes its temporary file, so nothing appears under the output name).

use std::time::{Duration, Instant};

use upframe_media::{
    open_source, DecodeOptions, FrameSource, InputKind, MediaError, OutputSpec, OutputSummary,
    Passthrough, SeekReport, ShortInput, VideoInfo,
};

use crate::error::{JobError, PipelineError};
use crate::job_spec::VideoJob;
use crate::jobs::runner::{run_job, JobReport, Progress, RunOptions};
use crate::processors::{chain_job_key, chain_output_channels, chain_output_size, FrameProcessor};
use crate::resume::open_job_output;

/// Called once the source is open: its stream, the output size and the expected frame count.
pub type StartCallback<'a> = dyn FnMut(&VideoInfo, (usize, usize), Option<u64>) + 'a;

/// Refuses input or output frames above `max` pixels.
pub(crate) fn check_frame_limit(
    input: (usize, usize),
    output: (usize, usize),
    max: u64,
) -> Result<(), PipelineError> {
    for ((w, h), what) in [(input, "input"), (output, "output")] {
        if (w as u64).saturating_mul(h as u64) > max {
            return Err(PipelineError::InvalidSize {
                width: w,
                height: h,
                reason: format!(
                    "the {what} frames are larger than the limit of {max} pixels \
                     (--max-pixels)"
                ),
            });
        }
    }
    Ok(())
}

impl VideoJob {
    /// Checks what can be told before a frame is read or a model loaded, so a job that cannot
    /// work fails in a moment instead of after the AI work: the input exists, the output never
    /// overlaps it (whatever `overwrite` says), the output's format can hold the result and its
    /// folder is writable ([`upframe_media::check_job_output`]). The job entry points call it
    /// first; callers that load models call it before loading them.
    pub fn preflight(&self) -> Result<(), JobError> {
        upframe_media::check_job_output(
            &self.input,
            &self.output,
            self.overwrite,
            &self.encode,
            self.decode.start_s.is_some()
                || self.decode.duration_s.is_some()
                || self.decode.max_frames.is_some(),
        )?;
        crate::resume::check_input_outside_work_dir(&self.input, &self.output)?;
        Ok(())
    }
}

/// What a finished job did.
#[derive(Clone, Debug)]
pub struct JobSummary {
    pub input: VideoInfo,
    /// The file written; its `frames` count the whole file, a resumed job's earlier segments
    /// included.
    pub output: OutputSummary,
    /// This run's frames and stage times (`report.wall` is the frame loop only).
    pub report: JobReport,
    /// The whole job, from opening the input to the committed output (the encoder's final
    /// flush and the join of segments included).
    pub wall: Duration,
    /// Output frames taken from an earlier run's complete segments (resume), not made now.
    pub frames_resumed: u64,
    /// How a resumed job reached its first new frame (`None`: not resumed).
    pub resume: Option<ResumeReport>,
    /// Pictures the source decoded in this run ([`FrameSource::frames_decoded`]), frames
    /// only read past included.
    pub frames_decoded: u64,
    /// Frames dropped because they could not be decoded (`--on-decode-error skip`).
    pub skipped_frames: u64,
    /// The input ended early or had a gap, accepted under `--on-decode-error skip` (the
    /// output then holds the frames that exist, copied streams cut at the video's end).
    pub short_input: Option<ShortInput>,
    pub output_width: usize,
    pub output_height: usize,
}

/// How a resumed job got to the first source frame it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumeReport {
    /// The index of that frame (in the window, as a straight decode numbers it).
    pub first_frame: u64,
    /// Whether the source seeked there and what it decoded on the way.
    pub seek: SeekReport,
    /// Pictures decoded in this run before that frame: the seek's (failed attempts
    /// included), and whatever the job decoded before it (an interpolation reads the first
    /// two frames to check the input; where frame timestamps cannot be read from packets it
    /// decodes up to the frame to place the resume). A job that is not resumed decodes
    /// `first_frame` of them to get there.
    pub frames_decoded_before_first_new: u64,
}

/// The number of frames a window of `info` should hold, when it can be told in advance.
pub fn expected_frames(info: &VideoInfo, decode: &DecodeOptions) -> Option<u64> {
    let fps = info.fps();
    let mut total = info.frame_count;
    if let (Some(start), Some(t)) = (decode.start_s, total) {
        if fps > 0.0 {
            total = Some(t.saturating_sub((start * fps).round() as u64));
        }
    }
    if let Some(d) = decode.duration_s {
        if fps > 0.0 {
            let in_window = (d * fps).round() as u64;
            total = Some(total.map_or(in_window, |t| t.min(in_window)));
        }
    }
    if let Some(m) = decode.max_frames {
        total = Some(total.map_or(m, |t| t.min(m)));
    }
    total
}

/// Runs `processors` over every frame of `job.input` and writes `job.output`.
///
/// `on_start` is called once the source is open and the output size is known (before the first
/// frame), `progress` periodically while frames are written.
pub fn run_video_job(
    job: &VideoJob,
    mut processors: Vec<Box<dyn FrameProcessor>>,
    on_start: &mut StartCallback<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<JobSummary, JobError> {
    run_video_job_with(job, &mut processors, on_start, progress)
}

/// [`run_video_job`] with borrowed processors, so one loaded model serves many jobs (a batch of
/// files). Each job sizes its output from the processors for its own input size, so files of
/// different sizes can share one chain.
pub fn run_video_job_with(
    job: &VideoJob,
    processors: &mut [Box<dyn FrameProcessor>],
    on_start: &mut StartCallback<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<JobSummary, JobError> {
    let started = Instant::now();
    job.preflight()?;
    let mut source = open_source(&job.input, &job.decode_options())?;
    let info = source.info().clone();
    let (out_w, out_h) = chain_output_size(processors, info.width, info.height);
    check_frame_limit((info.width, info.height), (out_w, out_h), job.max_pixels)?;
    let total = expected_frames(&info, &job.decode);
    on_start(&info, (out_w, out_h), total);

    let mut spec = OutputSpec::like_source(&info);
    spec.width = out_w;
    spec.height = out_h;
    spec.channels = chain_output_channels(processors, info.channels);
    spec.encode = job.encode.clone();
    spec.overwrite = job.overwrite;
    spec.source_path = Some(job.input.clone());
    let is_video_file = upframe_media::probe(&job.input)
        .map(|m| m.kind == InputKind::Video)
        .unwrap_or(false);
    if is_video_file {
        // A frame-count window has no duration of its own: give the audio the same span.
        let duration_s = job.decode.duration_s.or_else(|| {
            let fps = info.fps();
            job.decode
                .max_frames
                .filter(|_| fps > 0.0)
                .map(|n| n as f64 / fps)
        });
        spec.passthrough = Some(Passthrough {
            input: job.input.clone(),
            audio: job.audio,
            subtitles: job.subtitles,
            start_s: job.decode.start_s,
            duration_s,
            metadata: true,
        });
    }
    let processor_key = chain_job_key(processors, info.width, info.height);
    let mut output = open_job_output(job, &spec, info.fps(), &processor_key)?;
    let frames_resumed = output.skip_frames;
    // A chunk stops at its end (the join of chunks, and a complete chunk, at once).
    let stop = output.stop_frames;
    let nothing_to_make = output.nothing_to_make();
    // Output frame i is source frame i: a resumed job starts at the first frame no complete
    // segment holds, seeking there instead of decoding the frames before it.
    let resume = if frames_resumed > 0 && !nothing_to_make {
        let decoded = source.frames_decoded();
        let seek = source.seek_to_frame(frames_resumed, &job.cancel)?;
        Some(ResumeReport {
            first_frame: frames_resumed,
            frames_decoded_before_first_new: decoded + seek.frames_decoded,
            seek,
        })
    } else {
        None
    };

    let options = RunOptions {
        queue_depth: job.queue_depth,
        cancel: job.cancel.clone(),
        total_frames: total
            .map(|t| stop.map_or(t, |s| t.min(s)))
            .map(|t| t.saturating_sub(frames_resumed)),
        progress_interval: job.progress_interval,
    };
    let report = {
        let source_ref: &mut Box<dyn FrameSource> = &mut source;
        let mut left = stop.map(|s| s.saturating_sub(frames_resumed));
        let mut read = || {
            if let Some(n) = left.as_mut() {
                if *n == 0 {
                    return Ok(None);
                }
                *n -= 1;
            }
            source_ref
                .next_frame()
                .map_err(|e| PipelineError::Source(Box::new(e)))
        };
        let sink_ref = &mut output.sink;
        let mut write = |f: &upframe_media::Frame| {
            sink_ref
                .write_frame(f)
                .map_err(|e| PipelineError::Sink(Box::new(e)))
        };
        run_job(&mut read, processors, &mut write, &options, progress)
    };
    // On error the sink is dropped here, deleting its temporary file.
    let report = report.map_err(unwrap_media)?;
    let skipped_frames = source.skipped_frames();
    let short_input = source.short_input().cloned();
    let frames_decoded = source.frames_decoded();
    drop(source);
    end_passthrough_early(&mut output.sink, short_input.as_ref());
    let output = output.finish(&job.notice)?;
    Ok(JobSummary {
        input: info,
        output,
        report,
        wall: started.elapsed(),
        frames_resumed,
        resume,
        frames_decoded,
        skipped_frames,
        short_input,
        output_width: out_w,
        output_height: out_h,
    })
}

/// Cuts the copied audio and subtitles at the video's real end when the input ended early.
pub(crate) fn end_passthrough_early(
    sink: &mut Box<dyn upframe_media::FrameSink>,
    short: Option<&ShortInput>,
) {
    if let Some(ShortInput::EndsEarly { end_s, .. }) = short {
        sink.end_passthrough_at(*end_s);
    }
}

/// Gives a media error that travelled through the runner back its own type.
pub(crate) fn unwrap_media(e: PipelineError) -> JobError {
    match e {
        PipelineError::Source(inner) | PipelineError::Sink(inner) => {
            match inner.downcast::<MediaError>() {
                Ok(m) => JobError::Media(*m),
                Err(other) => JobError::Pipeline(PipelineError::Source(other)),
            }
        }
        other => JobError::Pipeline(other),
    }
}
