//! The threaded job runner: decode thread → bounded queue → processing thread → bounded queue
//! → encode thread, with a cancellation flag, progress reporting and per-stage busy times.
//!
//! Every job runs here ([`run_stages`]): the processing thread drives a [`Stage`], which takes
//! decoded frames one at a time and hands on any number of frames (one each for an upscale's
//! processor chain, [`ChainStage`], where a GPU processor hands each one on a frame late so the
//! GPU computes a frame while the CPU finishes the previous one; a time grid's worth for an
//! interpolation, which keeps the previous frame). Memory stays flat whatever the input length: at most `queue_depth` frames
//! wait in each queue, plus what each stage holds.
//!
//! Errors keep the order of the stream, as if the stages ran one after another: a stage that
//! fails stops the stages before it (its input queue closes) while the stages after it finish
//! the frames it handed on, and then the most downstream error is returned (it concerns the
//! earliest frame). So a source that ends in a decode error still has every frame it gave
//! processed and written (a resumable job keeps the segments they complete) before the error
//! is returned. Cancellation stops every stage at once. On any error the caller drops its sink
//! (which removes the temporary output) instead of finishing it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use upframe_media::Frame;

use crate::error::PipelineError;
use crate::processors::FrameProcessor;

/// How a job runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Frames that may wait in each of the two queues (decode→process, process→encode).
    pub queue_depth: usize,
    /// Set it (from a signal handler or another thread) to stop the job; it then returns
    /// [`PipelineError::Cancelled`].
    pub cancel: Arc<AtomicBool>,
    /// The number of frames the source is expected to give, when known (for progress/ETA).
    pub total_frames: Option<u64>,
    /// How often the progress callback runs.
    pub progress_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            queue_depth: 4,
            cancel: Arc::new(AtomicBool::new(false)),
            total_frames: None,
            progress_interval: Duration::from_millis(200),
        }
    }
}

/// A progress snapshot: frames written so far, out of how many, and the rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_total: Option<u64>,
    pub elapsed: Duration,
    /// Frames written per second since the start.
    pub fps: f64,
    /// Estimated time left, when the total is known and at least one frame is done.
    pub eta: Option<Duration>,
}

impl Progress {
    fn new(frames_done: u64, frames_total: Option<u64>, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        let fps = if secs > 0.0 {
            frames_done as f64 / secs
        } else {
            0.0
        };
        let eta = match frames_total {
            Some(total) if frames_done > 0 && fps > 0.0 => Some(Duration::from_secs_f64(
                total.saturating_sub(frames_done) as f64 / fps,
            )),
            _ => None,
        };
        Progress {
            frames_done,
            frames_total,
            elapsed,
            fps,
            eta,
        }
    }
}

/// What a finished job did, and where its time went.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JobReport {
    pub frames_in: u64,
    pub frames_out: u64,
    pub wall: Duration,
    /// Time the decode stage spent inside the source (not waiting on a queue).
    pub decode_busy: Duration,
    /// Time the processing stage spent inside processors.
    pub process_busy: Duration,
    /// Time the encode stage spent inside the sink.
    pub encode_busy: Duration,
}

impl JobReport {
    /// Sum of the stages' busy times over wall time: above 1 means the stages overlapped.
    pub fn overlap_factor(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (self.decode_busy + self.process_busy + self.encode_busy).as_secs_f64() / wall
    }
}

/// Where a [`Stage`] hands on its frames: the queue to the encode thread. The time spent
/// waiting for room in it is not counted as the stage's busy time.
pub struct Emit<'a> {
    out: &'a Sender<Frame>,
    blocked: Duration,
    closed: bool,
}

impl Emit<'_> {
    /// Queues `frame` for the encoder. Fails when the encoder has stopped (it failed, or the
    /// job was cancelled); the stage should then return the error, which the runner drops.
    pub fn send(&mut self, frame: Frame) -> Result<(), PipelineError> {
        let t = Instant::now();
        let sent = self.out.send(frame);
        self.blocked += t.elapsed();
        if sent.is_err() {
            self.closed = true;
            return Err(PipelineError::Cancelled);
        }
        Ok(())
    }
}

/// The processing stage of a job, run on its own thread.
pub trait Stage: Send {
    /// One decoded frame in (in source order); any number of frames out through `emit`.
    fn push(&mut self, frame: Frame, emit: &mut Emit<'_>) -> Result<(), PipelineError>;

    /// The source ended cleanly: the frames still held go out. Not called after a source
    /// error or cancellation.
    fn finish(&mut self, _emit: &mut Emit<'_>) -> Result<(), PipelineError> {
        Ok(())
    }

    /// The source failed: frames held only to overlap work (not for want of later input) go
    /// out, as the frames queued before the error do. Not called after cancellation or the
    /// stage's own failure.
    fn flush(&mut self, _emit: &mut Emit<'_>) -> Result<(), PipelineError> {
        Ok(())
    }
}

/// A chain of one-in, one-out processors as a [`Stage`] (an upscale).
pub struct ChainStage<'a>(pub &'a mut [Box<dyn FrameProcessor>]);

impl Stage for ChainStage<'_> {
    fn push(&mut self, frame: Frame, emit: &mut Emit<'_>) -> Result<(), PipelineError> {
        feed_chain(self.0, 0, frame, emit)
    }

    fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), PipelineError> {
        drain_chain(self.0, emit)
    }

    fn flush(&mut self, emit: &mut Emit<'_>) -> Result<(), PipelineError> {
        drain_chain(self.0, emit)
    }
}

/// `frame` into `chain[first]` and whatever comes out on through the rest of the chain to
/// `emit` (processors may hold frames: [`FrameProcessor::submit`]).
pub(crate) fn feed_chain(
    chain: &mut [Box<dyn FrameProcessor>],
    first: usize,
    mut frame: Frame,
    emit: &mut Emit<'_>,
) -> Result<(), PipelineError> {
    for p in chain[first..].iter_mut() {
        match p.submit(frame)? {
            Some(out) => frame = out,
            None => return Ok(()),
        }
    }
    emit.send(frame)
}

/// The frames `chain`'s processors still hold, in chain order, each one's through the ones
/// after it, to `emit`.
pub(crate) fn drain_chain(
    chain: &mut [Box<dyn FrameProcessor>],
    emit: &mut Emit<'_>,
) -> Result<(), PipelineError> {
    for i in 0..chain.len() {
        while let Some(frame) = chain[i].drain()? {
            feed_chain(chain, i + 1, frame, emit)?;
        }
    }
    Ok(())
}

/// Each stage's own error, and the hard stop (cancellation).
struct Control {
    cancel: Arc<AtomicBool>,
    decode_error: Mutex<Option<PipelineError>>,
    process_error: Mutex<Option<PipelineError>>,
    encode_error: Mutex<Option<PipelineError>>,
}

impl Control {
    fn should_stop(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn fail(slot: &Mutex<Option<PipelineError>>, err: PipelineError) {
        if let Ok(mut slot) = slot.lock() {
            if slot.is_none() {
                *slot = Some(err);
            }
        }
    }

    fn take(slot: &Mutex<Option<PipelineError>>) -> Option<PipelineError> {
        slot.lock().ok().and_then(|mut e| e.take())
    }
}

/// Runs `read` → `processors` (in order) → `write` on three threads until the source ends,
/// a stage fails or `options.cancel` is set: [`run_stages`] with a [`ChainStage`].
pub fn run_job<R, W>(
    read: &mut R,
    processors: &mut [Box<dyn FrameProcessor>],
    write: &mut W,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<JobReport, PipelineError>
where
    R: FnMut() -> Result<Option<Frame>, PipelineError> + Send,
    W: FnMut(&Frame) -> Result<(), PipelineError> + Send,
{
    run_stages(read, &mut ChainStage(processors), write, options, progress)
}

/// Runs `read` → `stage` → `write` on three threads until the source ends, a stage fails or
/// `options.cancel` is set. `progress` runs on the calling thread every
/// `options.progress_interval` and once at the end.
///
/// `read` returns `Ok(None)` at the end of the source. On success the caller finishes its
/// sink; on error (including [`PipelineError::Cancelled`]) it should drop it. Which error is
/// returned when several stages fail: see the module's documentation.
pub fn run_stages<R, W>(
    read: &mut R,
    stage: &mut dyn Stage,
    write: &mut W,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<JobReport, PipelineError>
where
    R: FnMut() -> Result<Option<Frame>, PipelineError> + Send,
    W: FnMut(&Frame) -> Result<(), PipelineError> + Send,
{
    let depth = options.queue_depth.max(1);
    let control = Control {
        cancel: options.cancel.clone(),
        decode_error: Mutex::new(None),
        process_error: Mutex::new(None),
        encode_error: Mutex::new(None),
    };
    let frames_in = AtomicU64::new(0);
    let frames_out = AtomicU64::new(0);
    // Set by the decode stage when the source ended without an error.
    let source_ended = AtomicBool::new(false);
    let start = Instant::now();
    let (decoded_tx, decoded_rx) = bounded::<Frame>(depth);
    let (processed_tx, processed_rx) = bounded::<Frame>(depth);
    let (done_tx, done_rx) = bounded::<()>(1);

    let (decode_busy, process_busy, encode_busy) = std::thread::scope(|scope| {
        let control = &control;
        let frames_in = &frames_in;
        let frames_out = &frames_out;
        let source_ended = &source_ended;
        let decode = std::thread::Builder::new()
            .name("upframe-decode".into())
            .spawn_scoped(scope, move || {
                decode_stage(read, decoded_tx, control, frames_in, source_ended)
            });
        let process = std::thread::Builder::new()
            .name("upframe-process".into())
            .spawn_scoped(scope, move || {
                process_stage(stage, decoded_rx, processed_tx, control, source_ended)
            });
        let encode = std::thread::Builder::new()
            .name("upframe-encode".into())
            .spawn_scoped(scope, move || {
                let busy = encode_stage(write, processed_rx, control, frames_out);
                drop(done_tx);
                busy
            });

        // Poll progress on this thread until the encode stage is done.
        let mut last = Instant::now();
        while let Err(RecvTimeoutError::Timeout) = done_rx.recv_timeout(Duration::from_millis(50)) {
            if last.elapsed() >= options.progress_interval {
                last = Instant::now();
                progress(&Progress::new(
                    frames_out.load(Ordering::SeqCst),
                    options.total_frames,
                    start.elapsed(),
                ));
            }
        }
        let join = |h: std::io::Result<std::thread::ScopedJoinHandle<'_, Duration>>,
                    name: &'static str,
                    slot: &Mutex<Option<PipelineError>>| match h {
            Ok(h) => h.join().unwrap_or_else(|_| {
                Control::fail(slot, PipelineError::StagePanicked(name));
                Duration::ZERO
            }),
            Err(e) => {
                Control::fail(slot, PipelineError::Sink(Box::new(e)));
                Duration::ZERO
            }
        };
        (
            join(decode, "decode", &control.decode_error),
            join(process, "process", &control.process_error),
            join(encode, "encode", &control.encode_error),
        )
    });

    let report = JobReport {
        frames_in: frames_in.load(Ordering::SeqCst),
        frames_out: frames_out.load(Ordering::SeqCst),
        wall: start.elapsed(),
        decode_busy,
        process_busy,
        encode_busy,
    };
    // The most downstream error concerns the earliest frame.
    let error = Control::take(&control.encode_error)
        .or_else(|| Control::take(&control.process_error))
        .or_else(|| Control::take(&control.decode_error));
    if let Some(err) = error {
        return Err(err);
    }
    if options.cancel.load(Ordering::SeqCst) {
        return Err(PipelineError::Cancelled);
    }
    progress(&Progress::new(
        report.frames_out,
        options.total_frames.or(Some(report.frames_out)),
        report.wall,
    ));
    Ok(report)
}

fn decode_stage<R>(
    read: &mut R,
    out: Sender<Frame>,
    control: &Control,
    frames_in: &AtomicU64,
    source_ended: &AtomicBool,
) -> Duration
where
    R: FnMut() -> Result<Option<Frame>, PipelineError>,
{
    let mut busy = Duration::ZERO;
    while !control.should_stop() {
        let t = Instant::now();
        let next = read();
        busy += t.elapsed();
        match next {
            Ok(Some(frame)) => {
                frames_in.fetch_add(1, Ordering::SeqCst);
                if out.send(frame).is_err() {
                    break; // downstream stopped
                }
            }
            Ok(None) => {
                source_ended.store(true, Ordering::SeqCst);
                break;
            }
            Err(e) => {
                // The frames already queued still go through (see the module's docs).
                Control::fail(&control.decode_error, e);
                break;
            }
        }
    }
    busy
}

fn process_stage(
    stage: &mut dyn Stage,
    input: Receiver<Frame>,
    out: Sender<Frame>,
    control: &Control,
    source_ended: &AtomicBool,
) -> Duration {
    let mut emit = Emit {
        out: &out,
        blocked: Duration::ZERO,
        closed: false,
    };
    let mut busy = Duration::ZERO;
    let mut failed = false;
    for frame in input.iter() {
        if control.should_stop() {
            break;
        }
        let t = Instant::now();
        let blocked = emit.blocked;
        let r = stage.push(frame, &mut emit);
        busy += t.elapsed().saturating_sub(emit.blocked - blocked);
        if let Err(e) = r {
            failed = true;
            if !emit.closed {
                Control::fail(&control.process_error, e);
            }
            break;
        }
    }
    // The decode stage has finished when the loop ran out of frames (its sender is gone):
    // at the source's end, or after its error.
    if !failed && !control.should_stop() {
        let t = Instant::now();
        let blocked = emit.blocked;
        let r = if source_ended.load(Ordering::SeqCst) {
            stage.finish(&mut emit)
        } else {
            stage.flush(&mut emit)
        };
        busy += t.elapsed().saturating_sub(emit.blocked - blocked);
        if let Err(e) = r {
            if !emit.closed {
                Control::fail(&control.process_error, e);
            }
        }
    }
    busy
}

fn encode_stage<W>(
    write: &mut W,
    input: Receiver<Frame>,
    control: &Control,
    frames_out: &AtomicU64,
) -> Duration
where
    W: FnMut(&Frame) -> Result<(), PipelineError>,
{
    let mut busy = Duration::ZERO;
    for frame in input.iter() {
        if control.should_stop() {
            break;
        }
        let t = Instant::now();
        let r = write(&frame);
        busy += t.elapsed();
        if let Err(e) = r {
            Control::fail(&control.encode_error, e);
            break;
        }
        frames_out.fetch_add(1, Ordering::SeqCst);
    }
    busy
}
