//! Running the networks on a GPU (`upframe-gpu`): the device choice with its CPU fallback
//! (`open_device`, shared with RIFE in `crate::processors::rife`), and for Real-ESRGAN the tile size the
//! adapter allows and the smaller-tile retry after an allocation failure or a lost device.

use std::sync::Arc;

use upframe_gpu::{GpuBackend, GpuContext, PendingDownload};
use upframe_models::{Architecture, ModelError, Upscaler};
use upframe_nn::{Backend, Tensor, Workspace};

pub use upframe_gpu::{list_adapters, AdapterSummary, Device, GpuError};

/// Bytes of device memory the activations of one tile may use in all. wgpu does not report
/// free device memory; a failure past it halves the tile and retries.
const GPU_BUDGET_BYTES: u64 = 2 << 30;
/// Tiles are never made smaller than this by the retry (a failure there is an error).
pub const MIN_GPU_TILE: usize = 32;

/// What [`crate::processors::realesrgan::RealEsrganUpscaler::use_device`] settled on, for `--json` and
/// the resume key.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceChoice {
    /// `cpu` or `gpu:N`.
    pub device: String,
    /// The adapter's name on a GPU.
    pub adapter: Option<String>,
    /// `f32` or `f16` storage on a GPU; `cpu` engine precision otherwise.
    pub precision: String,
    /// Why `auto` runs on the CPU (no hardware adapter), if it does.
    pub fallback: Option<String>,
}

/// Why a GPU run failed: the network refused the input, or the device failed.
#[derive(Debug)]
pub(crate) enum GpuRunError {
    Model(ModelError),
    Gpu(GpuError),
}

/// A network's runner on one GPU: the backend (weights cached, buffers pooled) and the tile cap.
pub(crate) struct GpuUpscaleRunner {
    backend: GpuBackend,
    /// The largest tile side allowed now: from the adapter's limits, halved by each failure.
    pub tile_cap: usize,
    pub choice: DeviceChoice,
}

/// `(largest tensor, all live tensors)` in f32 bytes per input pixel of a forward pass on the
/// GPU backend (no Winograd scratch there).
fn gpu_bytes_per_pixel(architecture: &Architecture, scale: usize) -> (u64, u64) {
    let floats = match architecture {
        Architecture::SrvggNetCompact(c) => {
            let last = c.num_out_ch * c.upscale * c.upscale;
            (
                c.num_feat.max(last),
                2 * c.num_feat + 3 * last + c.num_in_ch,
            )
        }
        Architecture::RrdbNet(c) => {
            let u2 = (4 / scale.max(1)).max(1).pow(2);
            let up4 = 16 * c.num_feat / u2;
            let low = (4 * c.num_feat + 8 * c.num_grow_ch) / u2;
            (
                up4.max(low),
                low + 2 * up4 + 3 * c.num_out_ch * scale * scale,
            )
        }
        Architecture::IfNet(_) => (64, 256),
    };
    (4 * floats.0 as u64, 4 * floats.1 as u64)
}

/// Waits for a [`GpuBackend::begin_download`] and reads the result into a tensor from `ws`
/// (returned to `ws` on failure).
pub(crate) fn read_back(
    backend: &mut GpuBackend,
    pending: PendingDownload,
    ws: &mut Workspace,
) -> Result<Tensor, GpuError> {
    let mut out = ws.tensor(pending.shape());
    match backend.finish_download(pending, &mut out) {
        Ok(()) => Ok(out),
        Err(e) => {
            ws.recycle(out);
            Err(e)
        }
    }
}

/// Opens the GPU `device` names. `Ok((None, choice))`: the CPU runs (`cpu`, or `auto` without
/// a hardware adapter; `choice.fallback` then says why). `f16`: f16 storage where supported.
pub(crate) fn open_device(
    device: Device,
    f16: bool,
) -> Result<(Option<Arc<GpuContext>>, DeviceChoice), GpuError> {
    let cpu = |fallback: Option<String>| DeviceChoice {
        device: "cpu".into(),
        adapter: None,
        precision: "cpu".into(),
        fallback,
    };
    if device == Device::Cpu {
        return Ok((None, cpu(None)));
    }
    let ctx = match GpuContext::open(device, f16) {
        Ok(ctx) => Arc::new(ctx),
        Err(e @ GpuError::NoAdapter(_)) if device == Device::Auto => {
            tracing::info!("--device auto: {e}; running on the CPU");
            return Ok((None, cpu(Some(e.to_string()))));
        }
        Err(e) => return Err(e),
    };
    let choice = DeviceChoice {
        device: format!("gpu:{}", ctx.adapter().index),
        adapter: Some(ctx.adapter().name.clone()),
        precision: match ctx.precision() {
            upframe_gpu::Precision::F32 => "f32".into(),
            upframe_gpu::Precision::F16 => "f16".into(),
        },
        fallback: None,
    };
    tracing::info!(
        "running on {} ({} storage)",
        ctx.adapter(),
        choice.precision
    );
    Ok((Some(ctx), choice))
}

impl GpuUpscaleRunner {
    /// Opens `device` for a network of `architecture`. `Ok(None)`: the CPU runs (`cpu`, or
    /// `auto` without a hardware adapter; `fallback` then says why).
    pub fn open(
        device: Device,
        f16: bool,
        architecture: &Architecture,
        scale: usize,
    ) -> Result<(Option<GpuUpscaleRunner>, DeviceChoice), GpuError> {
        let (ctx, choice) = open_device(device, f16)?;
        let Some(ctx) = ctx else {
            return Ok((None, choice));
        };
        let (largest, total) = gpu_bytes_per_pixel(architecture, scale);
        let tile_cap = ctx.max_tile_side(largest, total, GPU_BUDGET_BYTES);
        tracing::info!("GPU tiles up to {tile_cap} px");
        let runner = GpuUpscaleRunner {
            backend: GpuBackend::new(ctx),
            tile_cap,
            choice: choice.clone(),
        };
        Ok((Some(runner), choice))
    }

    /// `net(x)` on the GPU, read back into a tensor from `ws`.
    pub fn run(
        &mut self,
        net: &Upscaler,
        x: &Tensor,
        ws: &mut Workspace,
    ) -> Result<Tensor, GpuRunError> {
        let pending = self.start(net, x)?;
        self.finish(pending, ws)
    }

    /// Uploads `x`, records `net(x)` and submits it with its read-back, without waiting:
    /// [`GpuUpscaleRunner::finish`] collects the result after the caller has started more work.
    pub fn start(&mut self, net: &Upscaler, x: &Tensor) -> Result<PendingDownload, GpuRunError> {
        let b = &mut self.backend;
        let xg = b.upload(x);
        let yg = match net.forward_on(&xg, b) {
            Ok(yg) => yg,
            Err(e) => {
                b.recycle(xg);
                return Err(GpuRunError::Model(e));
            }
        };
        b.recycle(xg);
        // The output's buffer goes back to the pool at once: work recorded later runs after
        // this read-back on the same queue.
        let pending = b.begin_download(&yg);
        b.recycle(yg);
        pending.map_err(GpuRunError::Gpu)
    }

    /// Waits for a [`GpuUpscaleRunner::start`]ed network run; its output in a tensor from `ws`.
    pub fn finish(
        &mut self,
        pending: PendingDownload,
        ws: &mut Workspace,
    ) -> Result<Tensor, GpuRunError> {
        read_back(&mut self.backend, pending, ws).map_err(GpuRunError::Gpu)
    }

    /// Device buffers created so far (constant in steady state).
    pub fn buffers_created(&self) -> usize {
        self.backend.allocations()
    }

    /// The test hook of [`GpuContext::fail_next_allocation_at_least`].
    pub fn fail_next_allocation_at_least(&self, bytes: u64) {
        self.backend.context().fail_next_allocation_at_least(bytes);
    }
}
