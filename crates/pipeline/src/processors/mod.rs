//! Processors: what runs between decode and encode, on frames in memory. This module holds the
//! traits every processor implements and the chain helpers; its children are the processors
//! themselves — [`realesrgan`] (Real-ESRGAN upscaling with tiling and outscale), [`rife`] (RIFE
//! interpolation), [`resize`] (the Lanczos resizers, one OpenCV Lanczos-4) — and the run-time
//! choices they share: [`precision`] (fp32/bf16) and [`gpu`] (CPU or GPU device).
//!
//! [`FrameProcessor`]: one frame in, one frame out (upscalers, resizers, enhancers).
//! [`FrameInterpolator`]: two frames and a time `t` in (0, 1) in, one in-between frame out
//! (RIFE). Both are object-safe and `Send` so a job can own a `Vec<Box<dyn ...>>` and run it on
//! its processing thread.

pub mod gpu;
pub mod precision;
pub mod realesrgan;
pub mod resize;
pub mod rife;

use upframe_media::Frame;

use crate::error::PipelineError;

/// A one-in, one-out frame transform.
pub trait FrameProcessor: Send {
    /// A short name for messages and reports (e.g. `lanczos`, a model name).
    fn name(&self) -> &str;

    /// The output size for an input of `width`×`height`.
    fn output_size(&self, width: usize, height: usize) -> (usize, usize);

    /// The number of channels out for `channels` in (most processors keep it).
    fn output_channels(&self, channels: usize) -> usize {
        channels
    }

    /// Transforms one frame. Implementations keep `pts`, `index` and `depth` of the input.
    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError>;

    /// Starts one frame and returns the oldest finished frame, if any, in input order: the
    /// streaming form of [`FrameProcessor::process`]. A processor that overlaps consecutive
    /// frames (Real-ESRGAN on a GPU: frame N computes while N-1 is read back and finished on
    /// the CPU) holds frames and returns `None` meanwhile; the default processes the frame at
    /// once. A caller that submits calls [`FrameProcessor::drain`] at the end and does not
    /// mix in `process` calls.
    fn submit(&mut self, frame: Frame) -> Result<Option<Frame>, PipelineError> {
        self.process(frame).map(Some)
    }

    /// One frame [`FrameProcessor::submit`] still holds (the oldest), `None` when none is left.
    fn drain(&mut self) -> Result<Option<Frame>, PipelineError> {
        Ok(None)
    }

    /// Decisions this processor takes from its surroundings (e.g. a tile size from the free
    /// memory) for `width`×`height` input frames, fixed now for the whole job and recorded in
    /// a resumable job's key, so a resumed run that would decide differently is refused
    /// instead of producing different frames.
    fn job_key(&mut self, _width: usize, _height: usize) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// The [`FrameProcessor::job_key`] entries of a chain fed `width`×`height` frames.
pub fn chain_job_key(
    processors: &mut [Box<dyn FrameProcessor>],
    width: usize,
    height: usize,
) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let (mut w, mut h) = (width, height);
    for (i, p) in processors.iter_mut().enumerate() {
        for (k, v) in p.job_key(w, h) {
            entries.push((format!("processor{i}.{k}"), v));
        }
        (w, h) = p.output_size(w, h);
    }
    entries
}

/// Synthesises a frame between two frames.
pub trait FrameInterpolator: Send {
    /// A short name for messages and reports.
    fn name(&self) -> &str;

    /// The frame at time `t` in (0, 1) between `first` (t = 0) and `second` (t = 1). Both inputs
    /// have the same size and channel count; the output has it too. The runner sets the
    /// output's `pts` and `index`.
    fn interpolate(
        &mut self,
        first: &Frame,
        second: &Frame,
        t: f32,
    ) -> Result<Frame, PipelineError>;

    /// Starts the frame at `t` between `first` and `second` and returns the oldest finished
    /// one, if any, in the order started: the streaming form of
    /// [`FrameInterpolator::interpolate`]. An interpolator that overlaps pairs (RIFE on a GPU)
    /// holds one and returns `None` meanwhile; the default interpolates at once. A caller that
    /// submits calls [`FrameInterpolator::drain`] at the end and does not mix in
    /// `interpolate` calls.
    fn submit(
        &mut self,
        first: &Frame,
        second: &Frame,
        t: f32,
    ) -> Result<Option<Frame>, PipelineError> {
        self.interpolate(first, second, t).map(Some)
    }

    /// One frame [`FrameInterpolator::submit`] still holds (the oldest), `None` when none is
    /// left.
    fn drain(&mut self) -> Result<Option<Frame>, PipelineError> {
        Ok(None)
    }

    /// Settings that change the synthesised frames beyond the job's options (e.g. the
    /// precision), recorded in a resumable job's key like [`FrameProcessor::job_key`].
    fn job_key(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// The size a chain of processors produces from `width`×`height`.
pub fn chain_output_size(
    processors: &[Box<dyn FrameProcessor>],
    width: usize,
    height: usize,
) -> (usize, usize) {
    processors
        .iter()
        .fold((width, height), |(w, h), p| p.output_size(w, h))
}

/// The channel count a chain of processors produces from `channels`.
pub fn chain_output_channels(processors: &[Box<dyn FrameProcessor>], channels: usize) -> usize {
    processors
        .iter()
        .fold(channels, |c, p| p.output_channels(c))
}
