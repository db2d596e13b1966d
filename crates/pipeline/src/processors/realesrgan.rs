//! The Real-ESRGAN frame processor: [`RealEsrganUpscaler`] runs an upscaling network
//! (SRVGGNetCompact or RRDBNet from `upframe-models`) with the semantics of the official
//! `RealESRGANer.enhance` (xinntao/Real-ESRGAN `realesrgan/utils.py`):
//!
//! - input in `[0, 1]` (8-bit frames are `k/255`, deeper ones `k/65535`, as `max_range` gives);
//!   gray is replicated to RGB and converted back with OpenCV's `BGR2GRAY` weights;
//! - `pre_pad` (reflect, right/bottom) and the `mod_scale` reflect pad of x2 / x1 models, both
//!   cropped from the output;
//! - `tile` / `tile_pad` exactly as `tile_process` (tile grid over the padded input, each tile
//!   read with `tile_pad` context, only its core written), or an automatic tile size from a
//!   memory budget when `tile` is 0;
//! - alpha upscaled by the network (`realesrgan`), by OpenCV `INTER_LINEAR` (the official
//!   non-`realesrgan` path) or by OpenCV `INTER_LANCZOS4`;
//! - output clamped to `[0, 1]`, quantised with round-half-even to 8 or 16 bits, and only then
//!   resized to `outscale` with `cv2.resize(INTER_LANCZOS4)` on the integer image (8-bit in
//!   OpenCV's fixed point, 16-bit in `f32`, both saturating).
//!
//! Also Real-ESRGAN's `dni` weight interpolation for `-dn` with realesr-general-x4v3
//! ([`interpolate_weights`], [`load_upscaler_with_denoise`]).

use std::path::{Path, PathBuf};

use thiserror::Error;
use upframe_gpu::PendingDownload;
use upframe_media::{Frame, SampleDepth};
use upframe_models::registry::ResolvedModel;
use upframe_models::{
    load_weights, model_from_state_dict, Architecture, ModelError, StateDict, Upscaler,
    WeightTensor,
};
use upframe_nn::ops::{pad, PadMode};
use upframe_nn::{Tensor, Workspace};

use crate::error::PipelineError;
pub use crate::processors::gpu::{Device, GpuError};
use crate::processors::gpu::{DeviceChoice, GpuRunError, GpuUpscaleRunner, MIN_GPU_TILE};
use crate::processors::precision::{
    resolve_precision, ModelFamily, PrecisionChoice, ResolvedPrecision,
};
use crate::processors::resize::{
    resize_lanczos4_opencv, resize_lanczos4_u16_opencv, resize_lanczos4_u8_opencv,
    resize_linear_opencv,
};
use crate::processors::FrameProcessor;

/// Errors building or configuring a [`RealEsrganUpscaler`].
#[derive(Debug, Error)]
pub enum RealEsrganError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("invalid Real-ESRGAN option: {0}")]
    InvalidOption(String),
    #[error("denoise strength {0} is outside [0, 1]")]
    InvalidDenoise(f64),
    #[error(
        "denoise strength {strength} needs the realesr-general-wdn-x4v3 weights next to \
         realesr-general-x4v3, but {} does not exist (run `upframe models fetch \
         realesr-general-wdn-x4v3`, or pass -dn 1 to use realesr-general-x4v3 alone)",
        .wdn.display()
    )]
    DenoiseWeightsMissing { strength: f64, wdn: PathBuf },
    #[error("cannot interpolate the two weight files: {0}")]
    WeightMismatch(String),
    /// `--device gpu` could not be honoured (no adapter, bad `gpu:N`, driver refusal).
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// How the alpha channel of an RGBA (or gray + alpha) frame is upscaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlphaUpsampler {
    /// Through the network, as three replicated channels, back to gray (official default).
    RealEsrgan,
    /// OpenCV `INTER_LINEAR` on the float alpha: what the official code does for any other
    /// `alpha_upsampler` value. Fast.
    Linear,
    /// OpenCV `INTER_LANCZOS4` on the float alpha, clamped to `[0, 1]`. Fast, sharper edges.
    Lanczos,
}

/// `RealESRGANer` settings.
#[derive(Clone, Debug)]
pub struct RealEsrganOptions {
    /// Final scale relative to the input; `None` = the network's scale.
    pub outscale: Option<f64>,
    /// Tile size in input pixels; 0 = no tiling unless the frame would not fit the memory
    /// budget, in which case the largest tile that fits is chosen.
    pub tile: usize,
    /// Context read around each tile.
    pub tile_pad: usize,
    /// Reflect padding on the right and bottom before the network.
    pub pre_pad: usize,
    pub alpha: AlphaUpsampler,
    /// Bytes the network's activations may use when `tile` is 0; `None` = half of the
    /// available memory (`MemAvailable`), 2 GiB when that cannot be read.
    pub memory_budget: Option<usize>,
    /// The arithmetic of the network's heavy convolutions (resolved per model family and CPU
    /// by [`crate::processors::precision::resolve_precision`]).
    pub precision: PrecisionChoice,
}

impl Default for RealEsrganOptions {
    /// The official `inference_realesrgan.py` defaults: tile 0, tile_pad 10, pre_pad 0, alpha
    /// through the network, network scale.
    fn default() -> Self {
        RealEsrganOptions {
            outscale: None,
            tile: 0,
            tile_pad: 10,
            pre_pad: 0,
            alpha: AlphaUpsampler::RealEsrgan,
            memory_budget: None,
            precision: PrecisionChoice::Fp32,
        }
    }
}

/// A [`FrameProcessor`] running a Real-ESRGAN network with `RealESRGANer` semantics. Keeps its
/// workspace across frames so a video runs without reallocating the network's buffers.
pub struct RealEsrganUpscaler {
    name: String,
    net: Upscaler,
    scale: usize,
    /// Estimated activation bytes per network input pixel (for the automatic tile size).
    bytes_per_pixel: usize,
    options: RealEsrganOptions,
    ws: Workspace,
    precision: ResolvedPrecision,
    /// The tile chosen automatically for the last (padded) input size, `(h, w, tile)`.
    auto_tile: Option<(usize, usize, usize)>,
    /// Set by [`RealEsrganUpscaler::use_device`] when the network runs on a GPU.
    gpu: Option<GpuUpscaleRunner>,
    /// The memory failure of the last GPU run, which makes `run_padded` retry smaller.
    gpu_failure: Option<GpuError>,
    /// One-line notes for the user (GPU tile retries), drained by [`RealEsrganUpscaler::take_notes`].
    notes: Vec<String>,
    /// The frame [`FrameProcessor::submit`] holds while its network runs on the GPU.
    in_flight: Option<StartedFrame>,
}

/// A frame between [`RealEsrganUpscaler::start_frame`] and
/// [`RealEsrganUpscaler::finish_frame`]: its metadata (the samples are taken), its alpha, and
/// the network's run on its colour.
struct StartedFrame {
    frame: Frame,
    alpha: Option<Vec<f32>>,
    net: NetRun,
}

/// Where a tile's output goes: its core `(x0, y0, x1, y1)` in the padded input, and the
/// corner its input (core plus `tile_pad`) was read from.
struct TilePlace {
    core: (usize, usize, usize, usize),
    read_from: (usize, usize),
}

/// The network's run on one frame's colour.
enum NetRun {
    /// Finished: the output cropped to `h·s × w·s`, not yet clamped.
    Done(Tensor),
    /// Submitted to the GPU; `padded` (the network's input) is kept to run again if the
    /// read-back fails. `h`×`w`: the frame's size before padding.
    InFlight {
        pending: PendingDownload,
        padded: Tensor,
        h: usize,
        w: usize,
    },
}

impl RealEsrganUpscaler {
    /// Wraps a loaded network. `architecture` (from `ModelInfo`) sizes the memory estimate.
    pub fn new(
        name: impl Into<String>,
        mut net: Upscaler,
        architecture: &Architecture,
        options: RealEsrganOptions,
    ) -> Result<Self, RealEsrganError> {
        if let Some(s) = options.outscale {
            if !(s.is_finite() && s > 0.0) {
                return Err(RealEsrganError::InvalidOption(format!(
                    "outscale {s} must be a finite number greater than 0"
                )));
            }
        }
        let scale = net.scale();
        let precision = resolve_precision(options.precision, ModelFamily::of_upscaler(&net));
        net.set_precision(precision.precision);
        Ok(RealEsrganUpscaler {
            precision,
            name: name.into(),
            scale,
            bytes_per_pixel: activation_bytes_per_pixel(architecture, scale),
            net,
            options,
            ws: Workspace::new(),
            auto_tile: None,
            gpu: None,
            gpu_failure: None,
            notes: Vec::new(),
            in_flight: None,
        })
    }

    /// Runs the network on `device` from now on (`Device::Cpu` is the default). `f16`: f16
    /// storage on GPUs that support it. `Device::Auto` without a hardware GPU stays on the CPU
    /// (the returned choice says why); `Device::Gpu` without an adapter is an error.
    pub fn use_device(
        &mut self,
        device: Device,
        f16: bool,
    ) -> Result<DeviceChoice, RealEsrganError> {
        let architecture = match &self.net {
            Upscaler::Srvgg(m) => Architecture::SrvggNetCompact(m.config().clone()),
            Upscaler::Rrdb(m) => Architecture::RrdbNet(m.config().clone()),
        };
        let (runner, choice) = GpuUpscaleRunner::open(device, f16, &architecture, self.scale)?;
        self.gpu = runner;
        Ok(choice)
    }

    /// Where the network runs now (`None`: the CPU, never asked for another device).
    pub fn device_choice(&self) -> Option<&DeviceChoice> {
        self.gpu.as_ref().map(|g| &g.choice)
    }

    /// Notes for the user since the last call (e.g. "GPU out of memory; retrying with tile 128").
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// GPU buffers created so far (`None` on the CPU): constant once frames of one size
    /// stream, which the tests check.
    #[doc(hidden)]
    pub fn gpu_buffers_created(&self) -> Option<usize> {
        self.gpu.as_ref().map(GpuUpscaleRunner::buffers_created)
    }

    /// Test hook: the next GPU allocation of at least `bytes` fails as out of memory.
    #[doc(hidden)]
    pub fn fail_next_gpu_allocation_at_least(&self, bytes: u64) {
        if let Some(g) = &self.gpu {
            g.fail_next_allocation_at_least(bytes);
        }
    }

    /// Loads a weight file (`.pth` / safetensors) and wraps it.
    pub fn from_file(path: &Path, options: RealEsrganOptions) -> Result<Self, RealEsrganError> {
        let sd = load_weights(path)?;
        Self::from_state_dict(display_name(path), &sd, options).map_err(|e| match e {
            RealEsrganError::Model(m) => RealEsrganError::Model(m.in_file(path)),
            other => other,
        })
    }

    /// Loads a model the registry resolved: its file, or the copy built into the binary.
    pub fn from_resolved(
        model: &ResolvedModel,
        options: RealEsrganOptions,
    ) -> Result<Self, RealEsrganError> {
        if let Some(path) = model.path() {
            return Self::from_file(path, options);
        }
        let sd = model.load_weights()?;
        Self::from_state_dict(model.display_name(), &sd, options).map_err(|e| match e {
            RealEsrganError::Model(m) => RealEsrganError::Model(m.in_file(model.describe())),
            other => other,
        })
    }

    /// Builds the network from weights already in memory (e.g. [`interpolate_weights`]).
    pub fn from_state_dict(
        name: impl Into<String>,
        sd: &StateDict,
        options: RealEsrganOptions,
    ) -> Result<Self, RealEsrganError> {
        let model = model_from_state_dict(sd)?;
        let architecture = model.info.architecture.clone();
        let net = model.into_upscaler()?;
        Self::new(name, net, &architecture, options)
    }

    /// The network's own scale.
    pub fn network_scale(&self) -> usize {
        self.scale
    }

    /// The precision the network runs in and why.
    pub fn precision(&self) -> &ResolvedPrecision {
        &self.precision
    }

    pub fn options(&self) -> &RealEsrganOptions {
        &self.options
    }

    /// Whether the final output is resized from the network's scale.
    fn resizes(&self) -> bool {
        matches!(self.options.outscale, Some(s) if s != self.scale as f64)
    }

    /// `RealESRGANer.pre_process`: the `pre_pad` and then the `mod_scale` reflect pads.
    fn pre_process(&mut self, img: Tensor) -> Result<Tensor, PipelineError> {
        let [_, h, w, _] = img.shape();
        let pre = self.options.pre_pad;
        // Reflect padding needs a pad smaller than the dimension (as F.pad does).
        let padded = if pre > 0 {
            if pre >= h || pre >= w {
                return Err(self.size_error(
                    w,
                    h,
                    format!("pre_pad {pre} needs a frame larger than {pre}×{pre}"),
                ));
            }
            let p = pad(&img, [0, pre, 0, pre], PadMode::Reflect);
            self.ws.recycle(img);
            p
        } else {
            img
        };
        // RealESRGANer pads to a multiple of 2 (x2 models) or 4 (x1 models).
        let mod_scale = match self.scale {
            2 => 2,
            1 => 4,
            _ => 1,
        };
        let [_, ph, pw, _] = padded.shape();
        let (mod_h, mod_w) = (
            (mod_scale - ph % mod_scale) % mod_scale,
            (mod_scale - pw % mod_scale) % mod_scale,
        );
        if mod_h == 0 && mod_w == 0 {
            return Ok(padded);
        }
        if mod_h >= ph || mod_w >= pw {
            return Err(self.size_error(w, h, "too small for the model's reflect padding".into()));
        }
        let p = pad(&padded, [0, mod_h, 0, mod_w], PadMode::Reflect);
        self.ws.recycle(padded);
        Ok(p)
    }

    /// The network on a padded input, whole or in tiles, retrying with smaller GPU tiles
    /// after a GPU memory failure.
    fn run_padded(&mut self, padded: &Tensor) -> Result<Tensor, PipelineError> {
        let [_, ph, pw, _] = padded.shape();
        loop {
            let tile = self.tile_for(ph, pw);
            let run = if tile == 0 || (tile >= ph && tile >= pw) {
                self.run_network(padded)
            } else {
                self.tile_process(padded, tile)
            };
            match run {
                Ok(out) => return Ok(out),
                Err(e) if self.retry_smaller(ph, pw) => drop(e),
                Err(e) => return Err(e),
            }
        }
    }

    /// `RealESRGANer.post_process`: crops the mod pad, then the pre pad (both right/bottom),
    /// i.e. keeps the top-left `h·s × w·s` of the network's output for an `h`×`w` input.
    fn post_process(&mut self, out: Tensor, h: usize, w: usize) -> Tensor {
        let (out_h, out_w) = (h * self.scale, w * self.scale);
        if out.h() == out_h && out.w() == out_w {
            return out;
        }
        let c = out.c();
        let mut cropped = self.ws.tensor([1, out_h, out_w, c]);
        let src_row = out.w() * c;
        for (y, row) in cropped.data_mut().chunks_exact_mut(out_w * c).enumerate() {
            row.copy_from_slice(&out.data()[y * src_row..y * src_row + out_w * c]);
        }
        self.ws.recycle(out);
        cropped
    }

    /// Starts the network on RGB planes in `[0, 1]` (`rgb`: `h·w·3` interleaved). On a GPU,
    /// when the frame runs whole, the run is submitted and left in flight; anything else (the
    /// CPU, tiles, a failed submission) runs to the end here.
    fn start_rgb(&mut self, rgb: Vec<f32>, w: usize, h: usize) -> Result<NetRun, PipelineError> {
        let padded = self.pre_process(Tensor::from_vec([1, h, w, 3], rgb))?;
        let [_, ph, pw, _] = padded.shape();
        let whole = match self.tile_for(ph, pw) {
            0 => true,
            t => t >= ph && t >= pw,
        };
        if let (true, Some(gpu)) = (whole, &mut self.gpu) {
            match gpu.start(&self.net, &padded) {
                Ok(pending) => {
                    return Ok(NetRun::InFlight {
                        pending,
                        padded,
                        h,
                        w,
                    })
                }
                Err(e) => self.retry_after(e, ph, pw)?,
            }
        }
        let out = self.run_padded(&padded)?;
        self.ws.recycle(padded);
        Ok(NetRun::Done(self.post_process(out, h, w)))
    }

    /// The clamped network output of a [`RealEsrganUpscaler::start_rgb`]. A GPU run that
    /// failed (out of memory, or discarded by another frame's failure) runs again here with
    /// the tile the failure left.
    fn finish_rgb(&mut self, run: NetRun) -> Result<Tensor, PipelineError> {
        let mut out = match run {
            NetRun::Done(out) => out,
            NetRun::InFlight {
                pending,
                padded,
                h,
                w,
            } => {
                let gpu = self.gpu.as_mut().expect("a GPU run has a GPU");
                let out = match gpu.finish(pending, &mut self.ws) {
                    Ok(out) => out,
                    Err(GpuRunError::Gpu(GpuError::Discarded)) => {
                        tracing::info!(
                            "{}: a GPU failure discarded the frame in flight; running it again",
                            self.name
                        );
                        self.run_padded(&padded)?
                    }
                    Err(e) => {
                        let [_, ph, pw, _] = padded.shape();
                        self.retry_after(e, ph, pw)?;
                        self.run_padded(&padded)?
                    }
                };
                self.ws.recycle(padded);
                self.post_process(out, h, w)
            }
        };
        for v in out.data_mut() {
            *v = v.clamp(0.0, 1.0);
        }
        Ok(out)
    }

    /// After a failed GPU run on a padded `ph`×`pw` input: `Ok` when it was a memory failure
    /// and the tile was halved (the caller runs the frame again), else the processor's error.
    fn retry_after(&mut self, e: GpuRunError, ph: usize, pw: usize) -> Result<(), PipelineError> {
        let error = self.gpu_error(e);
        if self.retry_smaller(ph, pw) {
            return Ok(());
        }
        Err(error)
    }

    fn processor_error(&self, message: String) -> PipelineError {
        PipelineError::Processor {
            processor: self.name.clone(),
            message,
        }
    }

    fn run_network(&mut self, x: &Tensor) -> Result<Tensor, PipelineError> {
        let Some(gpu) = &mut self.gpu else {
            return self
                .net
                .forward(x, &mut self.ws)
                .map_err(|e| self.processor_error(e.to_string()));
        };
        gpu.run(&self.net, x, &mut self.ws)
            .map_err(|e| self.gpu_error(e))
    }

    /// The processor's error for a failed GPU run; a memory failure is also kept for
    /// [`RealEsrganUpscaler::retry_smaller`].
    fn gpu_error(&mut self, e: GpuRunError) -> PipelineError {
        match e {
            GpuRunError::Model(e) => self.processor_error(e.to_string()),
            GpuRunError::Gpu(e) => {
                let message = e.to_string();
                if e.is_memory() {
                    self.gpu_failure = Some(e);
                }
                self.processor_error(message)
            }
        }
    }

    /// After a GPU memory failure on a `h`×`w` input: halves the GPU tile cap and says so;
    /// false (give up) when there was no such failure or the tile is already minimal.
    fn retry_smaller(&mut self, h: usize, w: usize) -> bool {
        let Some(failure) = self.gpu_failure.take() else {
            return false;
        };
        // The tile that failed (0: the whole frame).
        let current = match self.tile_for(h, w) {
            0 => h.max(w),
            t => t.min(h.max(w)),
        };
        let Some(gpu) = &mut self.gpu else {
            return false;
        };
        if current <= MIN_GPU_TILE {
            return false;
        }
        gpu.tile_cap = (current / 2).max(MIN_GPU_TILE);
        let note = format!(
            "{}: {failure}; retrying the frame with GPU tile {}",
            self.name, gpu.tile_cap
        );
        tracing::warn!("{note}");
        self.notes.push(note);
        true
    }

    /// `RealESRGANer.tile_process`.
    ///
    /// On a GPU the tiles stream: tile k+1 is submitted before tile k is read back and
    /// stitched, so the GPU computes while the CPU copies.
    fn tile_process(&mut self, img: &Tensor, tile: usize) -> Result<Tensor, PipelineError> {
        let [_, height, width, c] = img.shape();
        let s = self.scale;
        let align = self.net.alignment();
        // x2 / x1 RRDBNet unshuffle their input: keep every tile edge on the alignment grid
        // (the padded image already is a multiple of it).
        let tile = tile.div_ceil(align) * align;
        let tile_pad = self.options.tile_pad.div_ceil(align) * align;
        let mut output = self.ws.tensor([1, height * s, width * s, c]);
        let mut in_flight: Option<(PendingDownload, TilePlace)> = None;
        for ty in 0..height.div_ceil(tile) {
            for tx in 0..width.div_ceil(tile) {
                let (x0, y0) = (tx * tile, ty * tile);
                let (x1, y1) = ((x0 + tile).min(width), (y0 + tile).min(height));
                let (x0p, y0p) = (x0.saturating_sub(tile_pad), y0.saturating_sub(tile_pad));
                let (x1p, y1p) = ((x1 + tile_pad).min(width), (y1 + tile_pad).min(height));
                let place = TilePlace {
                    core: (x0, y0, x1, y1),
                    read_from: (x0p, y0p),
                };
                let (tw, th) = (x1p - x0p, y1p - y0p);
                let mut input = self.ws.tensor([1, th, tw, c]);
                for (y, row) in input.data_mut().chunks_exact_mut(tw * c).enumerate() {
                    let start = ((y0p + y) * width + x0p) * c;
                    row.copy_from_slice(&img.data()[start..start + tw * c]);
                }
                let Some(gpu) = &mut self.gpu else {
                    let out_tile = self.run_network(&input)?;
                    self.ws.recycle(input);
                    self.stitch(&mut output, out_tile, &place);
                    continue;
                };
                let started = gpu.start(&self.net, &input);
                self.ws.recycle(input);
                let pending = started.map_err(|e| self.gpu_error(e))?;
                if let Some((previous, place)) = in_flight.replace((pending, place)) {
                    self.finish_tile(&mut output, previous, &place)?;
                }
            }
        }
        if let Some((last, place)) = in_flight {
            self.finish_tile(&mut output, last, &place)?;
        }
        Ok(output)
    }

    /// Reads back a streamed tile and stitches it.
    fn finish_tile(
        &mut self,
        output: &mut Tensor,
        pending: PendingDownload,
        place: &TilePlace,
    ) -> Result<(), PipelineError> {
        let gpu = self.gpu.as_mut().expect("a streamed tile has a GPU");
        let out_tile = gpu
            .finish(pending, &mut self.ws)
            .map_err(|e| self.gpu_error(e))?;
        self.stitch(output, out_tile, place);
        Ok(())
    }

    /// Copies the core of a tile's output into `output` (`tile_process`'s `output[...] =
    /// output_tile[...]`).
    fn stitch(&mut self, output: &mut Tensor, out_tile: Tensor, place: &TilePlace) {
        let s = self.scale;
        let c = output.c();
        let out_row = output.w() * c;
        let (x0, y0, x1, y1) = place.core;
        let (x0p, y0p) = place.read_from;
        let tile_row = out_tile.w() * c;
        let (ox, oy) = ((x0 - x0p) * s, (y0 - y0p) * s);
        let (core_w, core_h) = ((x1 - x0) * s, (y1 - y0) * s);
        for y in 0..core_h {
            let src = (oy + y) * tile_row + ox * c;
            let dst = (y0 * s + y) * out_row + x0 * s * c;
            output.data_mut()[dst..dst + core_w * c]
                .copy_from_slice(&out_tile.data()[src..src + core_w * c]);
        }
        self.ws.recycle(out_tile);
    }

    /// The tile size for a padded input of `h`×`w`: the configured one, or (0) none when the
    /// whole frame fits the memory budget, else the largest tile that does.
    fn tile_for(&mut self, h: usize, w: usize) -> usize {
        let t = self.cpu_tile_for(h, w);
        match &self.gpu {
            // The GPU's cap (adapter limits, halved by failures) bounds any tile.
            Some(g) if (t == 0 && g.tile_cap < h.max(w)) || t > g.tile_cap => g.tile_cap,
            _ => t,
        }
    }

    fn cpu_tile_for(&mut self, h: usize, w: usize) -> usize {
        if self.options.tile > 0 {
            return self.options.tile;
        }
        if let Some((ch, cw, t)) = self.auto_tile {
            if (ch, cw) == (h, w) {
                return t;
            }
        }
        let budget = self
            .options
            .memory_budget
            .unwrap_or_else(default_memory_budget);
        let t = auto_tile_size(h, w, self.bytes_per_pixel, self.options.tile_pad, budget);
        if t > 0 {
            tracing::info!(
                "{}: a {w}x{h} frame needs about {} MiB of activations, more than the {} MiB \
                 budget; tiling with tile {t}, tile_pad {}",
                self.name,
                (h * w * self.bytes_per_pixel) >> 20,
                budget >> 20,
                self.options.tile_pad
            );
        } else {
            tracing::debug!(
                "{}: a {w}x{h} frame needs about {} MiB of activations; no tiling",
                self.name,
                (h * w * self.bytes_per_pixel) >> 20
            );
        }
        self.auto_tile = Some((h, w, t));
        t
    }

    fn size_error(&self, width: usize, height: usize, reason: String) -> PipelineError {
        PipelineError::InvalidSize {
            width,
            height,
            reason: format!("{}: {reason}", self.name),
        }
    }

    /// The network output for RGB planes in `[0, 1]` (`rgb`: `h·w·3` interleaved), clamped.
    fn upscale_rgb(&mut self, rgb: Vec<f32>, w: usize, h: usize) -> Result<Tensor, PipelineError> {
        let run = self.start_rgb(rgb, w, h)?;
        self.finish_rgb(run)
    }

    /// The first half of [`FrameProcessor::process`]: checks the frame, splits off alpha and
    /// starts the network on the colour (see [`RealEsrganUpscaler::start_rgb`]).
    fn start_frame(&mut self, mut frame: Frame) -> Result<StartedFrame, PipelineError> {
        let (w, h, ch) = (frame.width, frame.height, frame.channels);
        if !(1..=4).contains(&ch) || frame.data.len() != w * h * ch || w == 0 || h == 0 {
            return Err(self.size_error(
                w,
                h,
                format!("{ch} channels with {} samples", frame.data.len()),
            ));
        }
        let colour_channels = if ch <= 2 { 1 } else { 3 };
        let has_alpha = frame.has_alpha();
        // RGB (gray replicated) in, as RealESRGANer feeds the network.
        let alpha: Option<Vec<f32>> =
            has_alpha.then(|| frame.data.chunks_exact(ch).map(|px| px[ch - 1]).collect());
        let rgb = if ch == 3 {
            std::mem::take(&mut frame.data)
        } else {
            let mut rgb = Vec::with_capacity(w * h * 3);
            for px in frame.data.chunks_exact(ch) {
                if colour_channels == 1 {
                    rgb.extend_from_slice(&[px[0]; 3]);
                } else {
                    rgb.extend_from_slice(&px[..3]);
                }
            }
            rgb
        };
        frame.data = Vec::new();
        let net = self.start_rgb(rgb, w, h)?;
        Ok(StartedFrame { frame, alpha, net })
    }

    /// The second half of [`FrameProcessor::process`]: collects the network's output and
    /// finishes the frame (alpha, quantisation, `outscale`).
    fn finish_frame(&mut self, started: StartedFrame) -> Result<Frame, PipelineError> {
        let StartedFrame { frame, alpha, net } = started;
        let (w, h, ch) = (frame.width, frame.height, frame.channels);
        let s = self.scale;
        let (ow, oh) = (w * s, h * s);
        let colour_channels = if ch <= 2 { 1 } else { 3 };
        let out_rgb = self.finish_rgb(net)?;
        let alpha_out: Option<Vec<f32>> = if let Some(alpha) = alpha {
            Some(match self.options.alpha {
                AlphaUpsampler::RealEsrgan => {
                    let rgb: Vec<f32> = alpha.iter().flat_map(|&a| [a; 3]).collect();
                    let out = self.upscale_rgb(rgb, w, h)?;
                    let gray = out
                        .data()
                        .chunks_exact(3)
                        .map(|p| opencv_gray(p[0], p[1], p[2]))
                        .collect();
                    self.ws.recycle(out);
                    gray
                }
                AlphaUpsampler::Linear => resize_linear_opencv(&alpha, w, h, ow, oh),
                AlphaUpsampler::Lanczos => {
                    let mut a = Frame::new(w, h, 1, frame.depth);
                    a.data = alpha;
                    resize_lanczos4_opencv(&a, ow, oh)?
                        .data
                        .into_iter()
                        .map(|v| v.clamp(0.0, 1.0))
                        .collect()
                }
            })
        } else {
            None
        };
        // Assemble the output channels (RGB or gray, then alpha), quantised as RealESRGANer
        // does: `(x * max_range).round()`.
        let max_range = match frame.depth {
            SampleDepth::U8 => 255.0f32,
            SampleDepth::High { .. } => 65535.0f32,
        };
        let quantise = |v: f32| (v * max_range).round_ties_even() as u16;
        let mut q = Vec::with_capacity(ow * oh * ch);
        for (i, p) in out_rgb.data().chunks_exact(3).enumerate() {
            if colour_channels == 1 {
                q.push(quantise(opencv_gray(p[0], p[1], p[2])));
            } else {
                q.extend(p.iter().map(|&v| quantise(v)));
            }
            if let Some(a) = &alpha_out {
                q.push(quantise(a[i]));
            }
        }
        self.ws.recycle(out_rgb);
        let ((fw, fh), q) = match self.options.outscale {
            Some(o) if self.resizes() => {
                let (tw, th) = outscale_size(w, h, o);
                if tw == 0 || th == 0 {
                    return Err(self.size_error(
                        w,
                        h,
                        format!("outscale {o} gives an empty image"),
                    ));
                }
                let resized = match frame.depth {
                    SampleDepth::U8 => resize_lanczos4_u8_opencv(&q, ow, oh, ch, tw, th),
                    SampleDepth::High { .. } => resize_lanczos4_u16_opencv(&q, ow, oh, ch, tw, th),
                };
                ((tw, th), resized)
            }
            _ => ((ow, oh), q),
        };
        let data = q.into_iter().map(|v| v as f32 / max_range).collect();
        Ok(Frame {
            width: fw,
            height: fh,
            channels: ch,
            depth: frame.depth,
            data,
            pts: frame.pts,
            index: frame.index,
        })
    }
}

/// OpenCV's `BGR2GRAY` on float pixels given as RGB.
#[inline]
fn opencv_gray(r: f32, g: f32, b: f32) -> f32 {
    b * 0.114 + g * 0.587 + r * 0.299
}

impl FrameProcessor for RealEsrganUpscaler {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        match self.options.outscale {
            Some(o) if self.resizes() => outscale_size(width, height, o),
            _ => (width * self.scale, height * self.scale),
        }
    }

    fn job_key(&mut self, width: usize, height: usize) -> Vec<(String, String)> {
        // The size the network sees: pre_pad, then RealESRGANer's multiple of 2 or 4.
        let m = match self.scale {
            2 => 2,
            1 => 4,
            _ => 1,
        };
        let pre = self.options.pre_pad;
        let (ph, pw) = (
            (height + pre).div_ceil(m) * m,
            (width + pre).div_ceil(m) * m,
        );
        let tile = self.tile_for(ph, pw);
        let mut key = vec![
            ("tile".into(), tile.to_string()),
            // bf16 and fp32 frames differ slightly: a resume never mixes them.
            (
                "precision".into(),
                self.precision.precision.name().to_string(),
            ),
        ];
        if let Some(c) = self.device_choice() {
            key.push(("device".into(), format!("{} {}", c.device, c.precision)));
        }
        key
    }

    fn process(&mut self, frame: Frame) -> Result<Frame, PipelineError> {
        debug_assert!(
            self.in_flight.is_none(),
            "process() after submit() without drain()"
        );
        let started = self.start_frame(frame)?;
        self.finish_frame(started)
    }

    /// On a GPU, frame N's network runs while frame N-1 is read back and finished here on the
    /// CPU (quantised, resized): one frame is held in flight.
    fn submit(&mut self, frame: Frame) -> Result<Option<Frame>, PipelineError> {
        let started = self.start_frame(frame)?;
        let in_flight = matches!(started.net, NetRun::InFlight { .. });
        match self.in_flight.replace(started) {
            Some(previous) => self.finish_frame(previous).map(Some),
            None if in_flight => Ok(None),
            None => {
                let started = self.in_flight.take().expect("just stored");
                self.finish_frame(started).map(Some)
            }
        }
    }

    fn drain(&mut self) -> Result<Option<Frame>, PipelineError> {
        match self.in_flight.take() {
            Some(started) => self.finish_frame(started).map(Some),
            None => Ok(None),
        }
    }
}

/// `(int(w·outscale), int(h·outscale))`, as RealESRGANer sizes its final resize.
pub fn outscale_size(width: usize, height: usize, outscale: f64) -> (usize, usize) {
    (
        (width as f64 * outscale) as usize,
        (height as f64 * outscale) as usize,
    )
}

fn display_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Peak activation bytes per input pixel of a forward pass (an estimate from the
/// architecture: live feature maps, the upsampled output and the convolution scratch).
fn activation_bytes_per_pixel(architecture: &Architecture, scale: usize) -> usize {
    let floats = match architecture {
        Architecture::SrvggNetCompact(c) => {
            let r2 = c.upscale * c.upscale;
            // Two feature maps in flight, ~2.25× one for the Winograd transforms, the
            // nearest-upsampled base, the conv output and the shuffled output.
            5 * c.num_feat + 3 * c.num_out_ch * r2 + c.num_in_ch
        }
        Architecture::RrdbNet(c) => {
            // RRDBNet works at 1/(4/scale)² of the input's pixels after unshuffle for x2/x1,
            // then upsamples ×4 from there: trunk, body and the dense block's growing concat
            // at low resolution, two feature maps plus scratch at ×2 and ×4.
            let unshuffle = (4 / scale.max(1)).max(1);
            let low = (4 * c.num_feat + 5 * c.num_grow_ch) / (unshuffle * unshuffle);
            let up2 = 4 * 3 * c.num_feat / (unshuffle * unshuffle);
            let up4 = 16 * 3 * c.num_feat / (unshuffle * unshuffle);
            low + up2 + up4 + 3 * c.num_out_ch * scale * scale
        }
        // Interpolators never reach here (into_upscaler rejects them).
        Architecture::IfNet(_) => 64,
    };
    floats * std::mem::size_of::<f32>()
}

/// Half of `MemAvailable`, or 2 GiB when it cannot be read.
fn default_memory_budget() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map(|kb| kb * 1024 / 2)
        .unwrap_or(2 << 30)
}

/// 0 when an `h`×`w` input fits `budget` bytes at `bytes_per_pixel`; else the largest tile
/// (multiple of 8, at least 16) whose padded input (`tile + 2·tile_pad` square) fits.
pub fn auto_tile_size(
    h: usize,
    w: usize,
    bytes_per_pixel: usize,
    tile_pad: usize,
    budget: usize,
) -> usize {
    if h * w * bytes_per_pixel <= budget {
        return 0;
    }
    let side = ((budget / bytes_per_pixel.max(1)) as f64).sqrt() as usize;
    let tile = side.saturating_sub(2 * tile_pad) / 8 * 8;
    tile.max(16)
}

/// Real-ESRGAN's `dni`: `weight_a·a + (1 − weight_a)·b` for every tensor (the official
/// `-dn` uses `a` = realesr-general-x4v3, `b` = realesr-general-wdn-x4v3, `weight_a` = the
/// denoise strength). Both files must hold the same tensor names and shapes.
pub fn interpolate_weights(
    a: &StateDict,
    b: &StateDict,
    weight_a: f64,
) -> Result<StateDict, RealEsrganError> {
    let (wa, wb) = (weight_a as f32, (1.0 - weight_a) as f32);
    let mut out = StateDict::new();
    for (key, ta) in a.iter() {
        let tb = b.get(key).ok_or_else(|| {
            RealEsrganError::WeightMismatch(format!("the second file has no '{key}'"))
        })?;
        if ta.shape != tb.shape {
            return Err(RealEsrganError::WeightMismatch(format!(
                "'{key}' is {} in one file and {} in the other",
                upframe_nn::shape_text(&ta.shape),
                upframe_nn::shape_text(&tb.shape)
            )));
        }
        let data = ta
            .data
            .iter()
            .zip(&tb.data)
            .map(|(&x, &y)| wa * x + wb * y)
            .collect();
        out.insert(key, WeightTensor::new(ta.shape.clone(), data)?);
    }
    if let Some(extra) = b.keys().find(|k| !a.contains(k)) {
        return Err(RealEsrganError::WeightMismatch(format!(
            "the first file has no '{extra}'"
        )));
    }
    Ok(out)
}

/// Loads realesr-general-x4v3 (`model`) with denoise strength `strength` in `[0, 1]`: 1 is the
/// model as is; anything else interpolates with `wdn_model` (realesr-general-wdn-x4v3), which
/// must exist.
pub fn load_upscaler_with_denoise(
    model: &Path,
    wdn_model: &Path,
    strength: f64,
    options: RealEsrganOptions,
) -> Result<RealEsrganUpscaler, RealEsrganError> {
    if !(0.0..=1.0).contains(&strength) {
        return Err(RealEsrganError::InvalidDenoise(strength));
    }
    if strength == 1.0 {
        return RealEsrganUpscaler::from_file(model, options);
    }
    if !wdn_model.is_file() {
        return Err(RealEsrganError::DenoiseWeightsMissing {
            strength,
            wdn: wdn_model.to_path_buf(),
        });
    }
    let a = load_weights(model)?;
    let b = load_weights(wdn_model)?;
    let sd = interpolate_weights(&a, &b, strength)?;
    let name = format!("{} (denoise {strength})", display_name(model));
    RealEsrganUpscaler::from_state_dict(name, &sd, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_tile_is_none_when_the_frame_fits_and_shrinks_with_the_budget() {
        assert_eq!(auto_tile_size(100, 100, 1000, 10, 100 * 100 * 1000), 0);
        let t = auto_tile_size(1000, 1000, 1000, 10, 200 * 200 * 1000);
        assert_eq!(
            t, 176,
            "200 px side minus 2×10 pad, down to a multiple of 8"
        );
        assert_eq!(auto_tile_size(1000, 1000, 1000, 10, 1000), 16);
    }
}
