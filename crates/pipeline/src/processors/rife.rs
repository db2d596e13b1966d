//! The RIFE frame interpolator: IFNet (any recognised v4.x layout) behind
//! [`FrameInterpolator`], with Practical-RIFE's inference semantics.
//!
//! Per pair: both frames are zero-padded right/bottom to the layout's padding multiple
//! (`max(128, 128 / scale)`, Practical-RIFE's `tmp`), the network runs in fp32 with the
//! layout's `scale_list / scale` (e.g. `[16, 8, 4, 2, 1] / scale` for v4.25/v4.26,
//! `[8, 4, 2, 1] / scale` for v4.0) at the requested timestep, optionally with `ensemble` or the
//! v4.0 refinement net, and the merged frame is cropped back and clamped to [0, 1]. Gray frames are fed as RGB (the channel replicated) and
//! averaged back; alpha is not seen by the network and is blended linearly,
//! `(1 − t)·a0 + t·a1`. Padded input tensors and the network's workspace are reused across
//! pairs, so a long job does not allocate per frame once warm.
//!
//! [`RifeInterpolator::use_device`] moves the network to a GPU (`upframe-gpu`, the same IFNet
//! code over its backend; weights uploaded once, buffers pooled across pairs). IFNet runs whole
//! frames (no tiles), so a GPU memory failure runs that pair on the CPU and says so. In a job
//! the pairs stream ([`FrameInterpolator::submit`]): pair N's IFNet runs on the GPU while pair
//! N-1's frame is read back and finished on the CPU.

use std::path::Path;

use upframe_gpu::{GpuBackend, PendingDownload};
use upframe_media::Frame;
use upframe_models::{load_model, IfNet, IfNetOptions};
use upframe_nn::{Backend, Tensor, Workspace};

use crate::error::PipelineError;
use crate::processors::gpu::{open_device, read_back, Device, DeviceChoice, GpuError, GpuRunError};
use crate::processors::precision::{
    resolve_precision, ModelFamily, PrecisionChoice, ResolvedPrecision,
};
use crate::processors::FrameInterpolator;

/// `x` rounded up to a multiple of `m` (`((x − 1) // m + 1) · m`).
fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// The RIFE `scale` values the networks run (`scale_list / scale` stays a power of two): a
/// power of two from 1/16 to 4.
pub const RIFE_SCALES: [f64; 7] = [0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0];

/// IFNet as a [`FrameInterpolator`].
pub struct RifeInterpolator {
    net: IfNet,
    scale: f64,
    options: IfNetOptions,
    name: String,
    ws: Workspace,
    precision: ResolvedPrecision,
    /// Padded input tensors free for reuse, each with the frame size (width, height) whose
    /// pixels it holds: zero outside it. Two while a pair is in flight on the GPU.
    spare: Vec<(Tensor, (usize, usize))>,
    /// Set by [`RifeInterpolator::use_device`] when the network runs on a GPU.
    gpu: Option<RifeGpu>,
    /// The pair [`FrameInterpolator::submit`] holds while IFNet runs on the GPU.
    in_flight: Option<PairRun>,
    notes: Vec<String>,
}

/// What the finished frame takes from its pair besides the network's output.
struct PairFrame {
    width: usize,
    height: usize,
    channels: usize,
    depth: upframe_media::SampleDepth,
    index: u64,
    t: f32,
    /// The pair's alpha planes (2- and 4-channel frames), blended linearly.
    alpha: Option<(Vec<f32>, Vec<f32>)>,
}

/// One interpolation between [`RifeInterpolator::start_pair`] and
/// [`RifeInterpolator::finish_pair`].
enum PairRun {
    /// Finished.
    Done(Frame),
    /// IFNet submitted to the GPU.
    InFlight(Box<InFlightPair>),
}

/// A pair whose IFNet runs on the GPU; the padded inputs are kept to run again if the
/// read-back fails.
struct InFlightPair {
    pending: PendingDownload,
    inputs: [(Tensor, (usize, usize)); 2],
    frame: PairFrame,
}

/// IFNet on a GPU: the backend (weights cached, buffers pooled) and what was chosen.
struct RifeGpu {
    backend: GpuBackend,
    choice: DeviceChoice,
}

impl std::fmt::Debug for RifeInterpolator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RifeInterpolator")
            .field("name", &self.name)
            .field("scale", &self.scale)
            .field("options", &self.options)
            .finish()
    }
}

impl RifeInterpolator {
    /// Wraps a loaded IFNet. `scale` is RIFE's `--scale` (1.0 usually, 0.5 for 4K); it must be
    /// one of the values whose `scale_list` the network can run (a power of two from 1/16 to 4).
    pub fn new(net: IfNet, scale: f64, name: impl Into<String>) -> Result<Self, PipelineError> {
        if !scale.is_finite() || !RIFE_SCALES.contains(&scale) {
            return Err(PipelineError::InvalidScale(scale));
        }
        Ok(RifeInterpolator {
            net,
            scale,
            options: IfNetOptions::default(),
            name: name.into(),
            ws: Workspace::new(),
            precision: resolve_precision(PrecisionChoice::Fp32, ModelFamily::Rife),
            spare: Vec::new(),
            gpu: None,
            in_flight: None,
            notes: Vec::new(),
        })
    }

    /// Loads an IFNet weight file (`flownet.pkl`, `.pth` or `.safetensors`).
    pub fn load(path: &Path, scale: f64) -> Result<Self, PipelineError> {
        let model = load_model(path).map_err(|e| PipelineError::Processor {
            processor: "rife".into(),
            message: format!("{}: {e}", path.display()),
        })?;
        let name = format!("rife {}", model.info.arch_name());

        let net = model
            .into_interpolator()
            .map_err(|e| PipelineError::Processor {
                processor: "rife".into(),
                message: format!("{}: {e}", path.display()),
            })?;
        Self::new(net, scale, name)
    }

    /// Sets the official forward's switches (`ensemble`, refinement instead of fast mode);
    /// refused when the weights cannot run them.
    pub fn with_options(mut self, options: IfNetOptions) -> Result<Self, PipelineError> {
        self.net
            .check_options(options)
            .map_err(|e| PipelineError::Processor {
                processor: self.name.clone(),
                message: e.to_string(),
            })?;
        self.options = options;
        Ok(self)
    }

    /// Runs the network in the precision `choice` resolves to for RIFE on this CPU.
    pub fn with_precision(mut self, choice: PrecisionChoice) -> Self {
        self.precision = resolve_precision(choice, ModelFamily::Rife);
        self.net.set_precision(self.precision.precision);
        self
    }

    /// Runs the network on `device` from now on (`Device::Cpu` is the default). `f16`: f16
    /// storage on GPUs that support it. `Device::Auto` without a hardware GPU stays on the CPU
    /// (the returned choice says why); `Device::Gpu` without an adapter is an error.
    pub fn use_device(&mut self, device: Device, f16: bool) -> Result<DeviceChoice, GpuError> {
        let (ctx, choice) = open_device(device, f16)?;
        self.gpu = ctx.map(|ctx| RifeGpu {
            backend: GpuBackend::new(ctx),
            choice: choice.clone(),
        });
        Ok(choice)
    }

    /// Where the network runs now (`None`: the CPU, never asked for another device).
    pub fn device_choice(&self) -> Option<&DeviceChoice> {
        self.gpu.as_ref().map(|g| &g.choice)
    }

    /// Notes for the user since the last call (e.g. a pair run on the CPU after a GPU memory
    /// failure).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Test hook: the next GPU allocation of at least `bytes` fails as out of memory.
    #[doc(hidden)]
    pub fn fail_next_gpu_allocation_at_least(&self, bytes: u64) {
        if let Some(g) = &self.gpu {
            g.backend.context().fail_next_allocation_at_least(bytes);
        }
    }

    /// The merged frame (padded size) for the padded pair, on the GPU when one is in use (the
    /// CPU after a GPU memory failure).
    fn merged(&mut self, p0: &Tensor, p1: &Tensor, t: f32) -> Result<Tensor, PipelineError> {
        if let Some(gpu) = &mut self.gpu {
            let run = start_gpu(&self.net, gpu, p0, p1, t, self.scale, self.options).and_then(
                |pending| {
                    read_back(&mut gpu.backend, pending, &mut self.ws).map_err(GpuRunError::Gpu)
                },
            );
            match run {
                Ok(merged) => return Ok(merged),
                Err(e) => self.gpu_failed(e, p0)?,
            }
        }
        self.cpu_merged(p0, p1, t)
    }

    /// The precision the network runs in and why.
    pub fn precision(&self) -> &ResolvedPrecision {
        &self.precision
    }

    /// RIFE's scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The network (its layout, configuration).
    pub fn network(&self) -> &IfNet {
        &self.net
    }

    /// The padded size (height, width) the network runs at for a `width`×`height` frame.
    pub fn padded_size(&self, width: usize, height: usize) -> (usize, usize) {
        let m = self.net.padding_multiple(self.scale);
        (round_up(height, m), round_up(width, m))
    }

    /// Checks a pair and `t`; what the finished frame needs from them.
    fn check_pair(
        &self,
        first: &Frame,
        second: &Frame,
        t: f32,
    ) -> Result<PairFrame, PipelineError> {
        if first.width != second.width
            || first.height != second.height
            || first.channels != second.channels
        {
            return Err(PipelineError::InvalidSize {
                width: second.width,
                height: second.height,
                reason: format!(
                    "frames to interpolate differ: {}x{}x{} and {}x{}x{}",
                    first.width,
                    first.height,
                    first.channels,
                    second.width,
                    second.height,
                    second.channels
                ),
            });
        }
        if !(t > 0.0 && t < 1.0) {
            return Err(PipelineError::Processor {
                processor: self.name.clone(),
                message: format!("timestep {t} is outside (0, 1)"),
            });
        }
        let (w, h, c) = (first.width, first.height, first.channels);
        if w == 0 || h == 0 || !(1..=4).contains(&c) {
            return Err(PipelineError::InvalidSize {
                width: w,
                height: h,
                reason: format!("cannot interpolate frames with {c} channels"),
            });
        }
        let alpha_of = |f: &Frame| f.data.chunks_exact(c).map(|px| px[c - 1]).collect();
        Ok(PairFrame {
            width: w,
            height: h,
            channels: c,
            depth: first.depth,
            index: first.index,
            t,
            alpha: (c == 2 || c == 4).then(|| (alpha_of(first), alpha_of(second))),
        })
    }

    /// `frame`'s colour zero-padded to the network's size, in a reused tensor. Only the frame
    /// region is rewritten while the size holds, so the zero padding stays zero; a tensor that
    /// held a frame of another size with the same padded size (the library and Python take any
    /// size per pair) is cleared first, or that frame's pixels would be read as padding.
    fn padded(&mut self, frame: &Frame) -> (Tensor, (usize, usize)) {
        let size = (frame.width, frame.height);
        let (ph, pw) = self.padded_size(frame.width, frame.height);
        let shape = [1, ph, pw, 3];
        let mut t = match self.spare.iter().position(|(t, _)| t.shape() == shape) {
            Some(i) => {
                let (mut t, held) = self.spare.swap_remove(i);
                if held != size {
                    t.data_mut().fill(0.0);
                }
                t
            }
            None => Tensor::zeros(shape),
        };
        fill_padded(frame, &mut t);
        (t, size)
    }

    /// Starts IFNet on a checked pair: on the GPU it is submitted and left in flight; on the
    /// CPU (or after a GPU failure at submission) it runs to the end here.
    fn start_pair(
        &mut self,
        first: &Frame,
        second: &Frame,
        frame: PairFrame,
    ) -> Result<PairRun, PipelineError> {
        let inputs = [self.padded(first), self.padded(second)];
        if let Some(gpu) = &mut self.gpu {
            let started = start_gpu(
                &self.net,
                gpu,
                &inputs[0].0,
                &inputs[1].0,
                frame.t,
                self.scale,
                self.options,
            );
            match started {
                Ok(pending) => {
                    return Ok(PairRun::InFlight(Box::new(InFlightPair {
                        pending,
                        inputs,
                        frame,
                    })))
                }
                Err(e) => self.gpu_failed(e, &inputs[0].0)?,
            }
        }
        let merged = self.cpu_merged(&inputs[0].0, &inputs[1].0, frame.t);
        self.spare.extend(inputs);
        Ok(PairRun::Done(self.assemble(&merged?, frame)))
    }

    /// The frame of a [`RifeInterpolator::start_pair`]. A GPU run whose read-back failed (out
    /// of memory, or discarded by another pair's failure) runs again here.
    fn finish_pair(&mut self, run: PairRun) -> Result<Frame, PipelineError> {
        let InFlightPair {
            pending,
            inputs,
            frame,
        } = match run {
            PairRun::Done(frame) => return Ok(frame),
            PairRun::InFlight(pair) => *pair,
        };
        let gpu = self.gpu.as_mut().expect("a pair in flight has a GPU");
        let merged = match read_back(&mut gpu.backend, pending, &mut self.ws) {
            Ok(merged) => Ok(merged),
            Err(e) => {
                if e == GpuError::Discarded {
                    tracing::info!(
                        "{}: a GPU failure discarded the pair in flight; running it again",
                        self.name
                    );
                } else {
                    self.gpu_failed(GpuRunError::Gpu(e), &inputs[0].0)?;
                }
                self.merged(&inputs[0].0, &inputs[1].0, frame.t)
            }
        };
        self.spare.extend(inputs);
        let merged = merged?;
        let out = self.assemble(&merged, frame);
        self.ws.recycle(merged);
        Ok(out)
    }

    /// `Ok` after a GPU memory failure on the padded pair `p0` (noted: the pair runs on the
    /// CPU), else the processor's error.
    fn gpu_failed(&mut self, e: GpuRunError, p0: &Tensor) -> Result<(), PipelineError> {
        match e {
            GpuRunError::Model(e) => Err(PipelineError::Processor {
                processor: self.name.clone(),
                message: e.to_string(),
            }),
            GpuRunError::Gpu(e) if e.is_memory() => {
                let note = format!(
                    "{}: {e}; this pair ran on the CPU ({}x{} padded)",
                    self.name,
                    p0.w(),
                    p0.h()
                );
                tracing::warn!("{note}");
                self.notes.push(note);
                Ok(())
            }
            GpuRunError::Gpu(e) => Err(PipelineError::Processor {
                processor: self.name.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// IFNet on the CPU engine: the merged frame at the padded size.
    fn cpu_merged(&mut self, p0: &Tensor, p1: &Tensor, t: f32) -> Result<Tensor, PipelineError> {
        let out = self
            .net
            .forward_with(p0, p1, t, self.scale, self.options, &mut self.ws)
            .map_err(|e| PipelineError::Processor {
                processor: self.name.clone(),
                message: e.to_string(),
            })?;
        for x in [out.flow, out.mask, out.mask_logits] {
            self.ws.recycle(x);
        }
        Ok(out.frame)
    }

    /// The output frame from the network's merged frame (padded size): cropped and clamped,
    /// gray averaged back, alpha blended linearly.
    fn assemble(&self, merged: &Tensor, meta: PairFrame) -> Frame {
        let (w, h, c, t) = (meta.width, meta.height, meta.channels, meta.t);
        let pw = merged.w();
        let mut frame = Frame {
            width: w,
            height: h,
            channels: c,
            depth: meta.depth,
            data: vec![0.0; w * h * c],
            pts: None,
            index: meta.index,
        };
        let merged = merged.data();
        let colour = if c >= 3 { 3 } else { 1 };
        for y in 0..h {
            let src = &merged[y * pw * 3..][..w * 3];
            let dst = &mut frame.data[y * w * c..][..w * c];
            for (x, (d, s)) in dst.chunks_exact_mut(c).zip(src.chunks_exact(3)).enumerate() {
                if colour == 3 {
                    for k in 0..3 {
                        d[k] = s[k].clamp(0.0, 1.0);
                    }
                } else {
                    d[0] = ((s[0] + s[1] + s[2]) / 3.0).clamp(0.0, 1.0);
                }
                if let Some((a0, a1)) = &meta.alpha {
                    let i = y * w + x;
                    d[c - 1] = (1.0 - t) * a0[i] + t * a1[i];
                }
            }
        }
        frame
    }
}

/// IFNet on the GPU for the padded pair, submitted with the merged frame's read-back (see
/// [`GpuBackend::begin_download`]).
fn start_gpu(
    net: &IfNet,
    gpu: &mut RifeGpu,
    p0: &Tensor,
    p1: &Tensor,
    t: f32,
    scale: f64,
    options: IfNetOptions,
) -> Result<PendingDownload, GpuRunError> {
    let b = &mut gpu.backend;
    let g0 = b.upload(p0);
    let g1 = b.upload(p1);
    let out = net.forward_on(&g0, &g1, t, scale, options, b);
    b.recycle(g0);
    b.recycle(g1);
    let out = out.map_err(GpuRunError::Model)?;
    // Work recorded later runs after this read-back on the same queue: the buffers go back
    // to the pool at once.
    let pending = b.begin_download(&out.frame);
    for x in [out.frame, out.flow, out.mask, out.mask_logits] {
        b.recycle(x);
    }
    pending.map_err(GpuRunError::Gpu)
}

/// Writes `frame`'s colour into the top-left of `out` (NHWC, 3 channels, already zeroed
/// outside the frame): RGB as is, gray replicated.
fn fill_padded(frame: &Frame, out: &mut Tensor) {
    let pw = out.w();
    let colour = if frame.channels >= 3 { 3 } else { 1 };
    let data = out.data_mut();
    for y in 0..frame.height {
        let src = &frame.data[y * frame.width * frame.channels..][..frame.width * frame.channels];
        let dst = &mut data[y * pw * 3..][..frame.width * 3];
        for (d, s) in dst
            .chunks_exact_mut(3)
            .zip(src.chunks_exact(frame.channels))
        {
            if colour == 3 {
                d.copy_from_slice(&s[..3]);
            } else {
                d.fill(s[0]);
            }
        }
    }
}

impl FrameInterpolator for RifeInterpolator {
    fn name(&self) -> &str {
        &self.name
    }

    fn job_key(&self) -> Vec<(String, String)> {
        let mut key = vec![(
            "precision".into(),
            self.precision.precision.name().to_string(),
        )];
        if let Some(c) = self.device_choice() {
            key.push(("device".into(), format!("{} {}", c.device, c.precision)));
        }
        key
    }

    fn interpolate(
        &mut self,
        first: &Frame,
        second: &Frame,
        t: f32,
    ) -> Result<Frame, PipelineError> {
        debug_assert!(
            self.in_flight.is_none(),
            "interpolate() after submit() without drain()"
        );
        let frame = self.check_pair(first, second, t)?;
        let run = self.start_pair(first, second, frame)?;
        self.finish_pair(run)
    }

    /// On a GPU, pair N's IFNet runs while pair N-1's frame is read back and finished here:
    /// one pair is held in flight.
    fn submit(
        &mut self,
        first: &Frame,
        second: &Frame,
        t: f32,
    ) -> Result<Option<Frame>, PipelineError> {
        let frame = self.check_pair(first, second, t)?;
        let started = self.start_pair(first, second, frame)?;
        let in_flight = matches!(started, PairRun::InFlight(_));
        match self.in_flight.replace(started) {
            Some(previous) => self.finish_pair(previous).map(Some),
            None if in_flight => Ok(None),
            None => {
                let started = self.in_flight.take().expect("just stored");
                self.finish_pair(started).map(Some)
            }
        }
    }

    fn drain(&mut self) -> Result<Option<Frame>, PipelineError> {
        match self.in_flight.take() {
            Some(run) => self.finish_pair(run).map(Some),
            None => Ok(None),
        }
    }
}
