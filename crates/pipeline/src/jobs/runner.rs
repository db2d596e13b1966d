//! The threaded job runner: decode thread → bounded queue → processing thread → bounded queue
//! → encode thread, with a cancellation flag, progress reporting and per-stage busy times.
//!
//! Memory stays flat whatever the input length: at most `queue_depth` frames wait in each
//! queue, plus one frame in flight per stage. The first error any stage hits stops every stage
//! and is returned; the caller then drops its sink (which removes the temporary output) instead
//! of finishing it.

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

/// Shared stop state: the first error wins; every stage polls `stop` between frames.
struct Control {
    stop: AtomicBool,
    first_error: Mutex<Option<PipelineError>>,
    cancel: Arc<AtomicBool>,
}

impl Control {
    fn fail(&self, err: PipelineError) {
        if let Ok(mut slot) = self.first_error.lock() {
            if slot.is_none() {
                *slot = Some(err);
            }
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.cancel.load(Ordering::SeqCst)
    }
}

/// Runs `read` → `processors` (in order) → `write` on three threads until the source ends,
/// a stage fails or `options.cancel` is set. `progress` runs on the calling thread every
/// `options.progress_interval` and once at the end.
///
/// `read` returns `Ok(None)` at the end of the source. On success the caller finishes its
/// sink; on error (including [`PipelineError::Cancelled`]) it should drop it.
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
    let depth = options.queue_depth.max(1);
    let control = Control {
        stop: AtomicBool::new(false),
        first_error: Mutex::new(None),
        cancel: options.cancel.clone(),
    };
    let frames_in = AtomicU64::new(0);
    let frames_out = AtomicU64::new(0);
    let start = Instant::now();
    let (decoded_tx, decoded_rx) = bounded::<Frame>(depth);
    let (processed_tx, processed_rx) = bounded::<Frame>(depth);
    let (done_tx, done_rx) = bounded::<()>(1);

    let (decode_busy, process_busy, encode_busy) = std::thread::scope(|scope| {
        let control = &control;
        let frames_in = &frames_in;
        let frames_out = &frames_out;
        let decode = std::thread::Builder::new()
            .name("upframe-decode".into())
            .spawn_scoped(scope, move || {
                decode_stage(read, decoded_tx, control, frames_in)
            });
        let process = std::thread::Builder::new()
            .name("upframe-process".into())
            .spawn_scoped(scope, move || {
                process_stage(processors, decoded_rx, processed_tx, control)
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
            if options.cancel.load(Ordering::SeqCst) {
                control.stop.store(true, Ordering::SeqCst);
            }
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
                    name: &'static str| match h {
            Ok(h) => h.join().unwrap_or_else(|_| {
                control.fail(PipelineError::StagePanicked(name));
                Duration::ZERO
            }),
            Err(e) => {
                control.fail(PipelineError::Sink(Box::new(e)));
                Duration::ZERO
            }
        };
        (
            join(decode, "decode"),
            join(process, "process"),
            join(encode, "encode"),
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
    if let Some(err) = control.first_error.lock().ok().and_then(|mut e| e.take()) {
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
            Ok(None) => break,
            Err(e) => {
                control.fail(e);
                break;
            }
        }
    }
    busy
}

fn process_stage(
    processors: &mut [Box<dyn FrameProcessor>],
    input: Receiver<Frame>,
    out: Sender<Frame>,
    control: &Control,
) -> Duration {
    let mut busy = Duration::ZERO;
    'frames: for mut frame in input.iter() {
        if control.should_stop() {
            break;
        }
        let t = Instant::now();
        for p in processors.iter_mut() {
            match p.process(frame) {
                Ok(f) => frame = f,
                Err(e) => {
                    control.fail(e);
                    break 'frames;
                }
            }
        }
        busy += t.elapsed();
        if out.send(frame).is_err() {
            break;
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
            control.fail(e);
            break;
        }
        frames_out.fetch_add(1, Ordering::SeqCst);
    }
    busy
}
