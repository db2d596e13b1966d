//! The threaded job runner on in-memory frames: order, counts, timing, overlap, errors,
//! cancellation and bounded memory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use upframe_media::{Frame, SampleDepth};
use upframe_pipeline::{
    run_job, FrameProcessor, LanczosKernel, LanczosResizer, PipelineError, Progress, RunOptions,
};

fn numbered_frame(i: u64) -> Frame {
    let mut f = Frame::new(8, 6, 3, SampleDepth::U8);
    f.data.iter_mut().for_each(|s| *s = (i % 10) as f32 / 10.0);
    f.index = i;
    // Irregular (VFR-like) timestamps.
    f.pts = Some((i * i * 7 + i * 3) as i64);
    f
}

/// Sleeps a fixed time per frame: stands in for CPU work so stage overlap is measurable
/// without depending on how busy the machine's cores are.
struct Sleeper(Duration);
impl FrameProcessor for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }
    fn output_size(&self, w: usize, h: usize) -> (usize, usize) {
        (w, h)
    }
    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError> {
        std::thread::sleep(self.0);
        Ok(frame)
    }
}

struct FailAt(u64);
impl FrameProcessor for FailAt {
    fn name(&self) -> &str {
        "fail-at"
    }
    fn output_size(&self, w: usize, h: usize) -> (usize, usize) {
        (w, h)
    }
    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError> {
        if frame.index == self.0 {
            return Err(PipelineError::Processor {
                processor: "fail-at".into(),
                message: format!("frame {}", frame.index),
            });
        }
        Ok(frame)
    }
}

/// Holds one frame back, as a processor that overlaps consecutive frames does (Real-ESRGAN on
/// a GPU): the runner's streaming contract without needing a GPU.
#[derive(Default)]
struct HoldOne(Option<Frame>);
impl FrameProcessor for HoldOne {
    fn name(&self) -> &str {
        "hold-one"
    }
    fn output_size(&self, w: usize, h: usize) -> (usize, usize) {
        (w, h)
    }
    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError> {
        Ok(frame)
    }
    fn submit(&mut self, frame: Frame) -> Result<Option<Frame>, PipelineError> {
        Ok(self.0.replace(frame))
    }
    fn drain(&mut self) -> Result<Option<Frame>, PipelineError> {
        Ok(self.0.take())
    }
}

/// Processors that hold frames (streaming) lose none: at the source's end the chain drains in
/// order, and after a decode error the frames decoded before it still come out.
#[test]
fn frames_held_by_streaming_processors_all_come_out_in_order() {
    for fail_at in [None, Some(5u64)] {
        let mut i = 0u64;
        let mut read = || {
            i += 1;
            match fail_at {
                Some(n) if i == n + 1 => {
                    Err(PipelineError::Source(format!("bad frame {n}").into()))
                }
                _ if i > 20 => Ok(None),
                _ => Ok(Some(numbered_frame(i - 1))),
            }
        };
        let mut written = Vec::new();
        let mut write = |f: &Frame| {
            written.push(f.index);
            Ok(())
        };
        let mut chain: Vec<Box<dyn FrameProcessor>> = vec![
            Box::new(HoldOne::default()),
            Box::new(Sleeper(Duration::ZERO)),
            Box::new(HoldOne::default()),
        ];
        let r = run_job(
            &mut read,
            &mut chain,
            &mut write,
            &RunOptions::default(),
            &mut |_| {},
        );
        let n = fail_at.unwrap_or(20);
        assert_eq!(written, (0..n).collect::<Vec<_>>(), "fail_at {fail_at:?}");
        match fail_at {
            None => assert_eq!(r.unwrap().frames_out, 20),
            Some(n) => assert_eq!(r.unwrap_err().to_string(), format!("bad frame {n}")),
        }
    }
}

#[test]
fn frames_arrive_in_order_resized_with_pts_kept() {
    let n = 37u64;
    let mut next = 0u64;
    let mut read = || {
        if next == n {
            return Ok(None);
        }
        next += 1;
        Ok(Some(numbered_frame(next - 1)))
    };
    let mut written: Vec<(u64, Option<i64>, usize, usize)> = Vec::new();
    let mut write = |f: &Frame| {
        written.push((f.index, f.pts, f.width, f.height));
        Ok(())
    };
    let mut procs: Vec<Box<dyn FrameProcessor>> = vec![Box::new(
        LanczosResizer::new(LanczosKernel::Lanczos3, 2.0).unwrap(),
    )];
    let mut last: Option<Progress> = None;
    let opts = RunOptions {
        total_frames: Some(n),
        ..RunOptions::default()
    };
    let report = run_job(&mut read, &mut procs, &mut write, &opts, &mut |p| {
        last = Some(*p)
    })
    .unwrap();
    assert_eq!((report.frames_in, report.frames_out), (n, n));
    assert_eq!(written.len(), n as usize);
    for (i, w) in written.iter().enumerate() {
        let src = numbered_frame(i as u64);
        assert_eq!(*w, (i as u64, src.pts, 16, 12));
    }
    let last = last.unwrap();
    assert_eq!(last.frames_done, n);
    assert_eq!(last.frames_total, Some(n));
}

#[test]
fn stages_overlap() {
    // Each stage takes ~20 ms per frame; run serially that is 60 ms/frame, pipelined ~20 ms.
    let n = 30u64;
    let stage = Duration::from_millis(20);
    let mut next = 0u64;
    let mut read = || {
        if next == n {
            return Ok(None);
        }
        std::thread::sleep(stage);
        next += 1;
        Ok(Some(numbered_frame(next - 1)))
    };
    let mut write = |_: &Frame| {
        std::thread::sleep(stage);
        Ok(())
    };
    let mut procs: Vec<Box<dyn FrameProcessor>> = vec![Box::new(Sleeper(stage))];
    let report = run_job(
        &mut read,
        &mut procs,
        &mut write,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let serial = stage * 3 * n as u32;
    assert!(
        report.wall < serial * 6 / 10,
        "wall {:?} vs serial {:?}",
        report.wall,
        serial
    );
    assert!(report.overlap_factor() > 1.8, "{report:?}");
}

#[test]
fn processor_error_stops_everything_and_is_returned() {
    let reads = Arc::new(AtomicUsize::new(0));
    let r2 = reads.clone();
    // An endless source: the job must stop because of the error, not because input ran out.
    let mut i = 0u64;
    let mut read = move || {
        r2.fetch_add(1, Ordering::SeqCst);
        i += 1;
        Ok(Some(numbered_frame(i - 1)))
    };
    let mut written = 0u64;
    let mut write = |_: &Frame| {
        written += 1;
        Ok(())
    };
    let mut procs: Vec<Box<dyn FrameProcessor>> = vec![Box::new(FailAt(10))];
    let err = run_job(
        &mut read,
        &mut procs,
        &mut write,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, PipelineError::Processor { .. }), "{err}");
    assert!(written <= 10);
    // Bounded queues: the decoder cannot run far ahead of the failed processor.
    assert!(reads.load(Ordering::SeqCst) < 10 + 2 * 4 + 4);
}

#[test]
fn source_and_sink_errors_are_returned() {
    let mut i = 0u64;
    let mut read = || {
        i += 1;
        if i == 5 {
            return Err(PipelineError::Source("decode failed at frame 4".into()));
        }
        Ok(Some(numbered_frame(i - 1)))
    };
    let mut write = |_: &Frame| Ok(());
    let err = run_job(
        &mut read,
        &mut [],
        &mut write,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "decode failed at frame 4");

    let mut j = 0u64;
    let mut read = || {
        j += 1;
        Ok(Some(numbered_frame(j - 1)))
    };
    let mut k = 0;
    let mut write = |_: &Frame| {
        k += 1;
        if k == 3 {
            Err(PipelineError::Sink("disk full".into()))
        } else {
            Ok(())
        }
    };
    let err = run_job(
        &mut read,
        &mut [],
        &mut write,
        &RunOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "disk full");
}

#[test]
fn cancellation_stops_an_endless_job_promptly() {
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = RunOptions {
        cancel: cancel.clone(),
        progress_interval: Duration::from_millis(10),
        ..RunOptions::default()
    };
    let mut i = 0u64;
    let mut read = || {
        i += 1;
        std::thread::sleep(Duration::from_millis(2));
        Ok(Some(numbered_frame(i)))
    };
    let mut write = |_: &Frame| Ok(());
    let started = Instant::now();
    let flag = cancel.clone();
    let err = run_job(&mut read, &mut [], &mut write, &opts, &mut |p| {
        if p.frames_done >= 20 {
            flag.store(true, Ordering::SeqCst);
        }
    })
    .unwrap_err();
    assert!(matches!(err, PipelineError::Cancelled));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn progress_reports_fps_and_eta() {
    let n = 20u64;
    let mut next = 0u64;
    let mut read = || {
        if next == n {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
        next += 1;
        Ok(Some(numbered_frame(next)))
    };
    let mut write = |_: &Frame| Ok(());
    let opts = RunOptions {
        total_frames: Some(n),
        progress_interval: Duration::from_millis(30),
        ..RunOptions::default()
    };
    let mut seen = Vec::new();
    run_job(&mut read, &mut [], &mut write, &opts, &mut |p| {
        seen.push(*p)
    })
    .unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    let mid = seen.iter().find(|p| p.frames_done > 0 && p.frames_done < n);
    if let Some(mid) = mid {
        assert!(mid.fps > 10.0 && mid.fps < 200.0, "{mid:?}");
        assert!(mid.eta.is_some());
    }
    assert!(seen
        .windows(2)
        .all(|w| w[0].frames_done <= w[1].frames_done));
    assert_eq!(seen.last().unwrap().frames_done, n);
}
