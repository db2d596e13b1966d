//! `upframe-gpu`: the GPU backend of `upframe-nn`, on wgpu (Vulkan, Metal, DX12) with
//! hand-written WGSL compute shaders.
//!
//! - [`list_adapters`] / [`AdapterSummary`]: what `upframe devices` prints (name, vendor,
//!   backend, type, f16, limits).
//! - [`Device`]: the `cpu | gpu | gpu:N | auto` choice; [`GpuContext::open`] turns a GPU choice
//!   into an open device, or [`GpuError::NoAdapter`] which callers map to a CPU fallback
//!   (`auto`) or a one-line error (`gpu`).
//! - [`GpuBackend`]: implements [`upframe_nn::Backend`], so the networks of `upframe-models`
//!   (written once against that trait) run here unchanged. Weights are uploaded once per layer
//!   and cached; tensors come from a buffer pool reused across frames; f16 storage with f32
//!   accumulation where the adapter has `shader-f16` ([`Precision`]).
//!
//! Why wgpu + WGSL rather than CubeCL: measured here, the whole crate (wgpu with only the native
//! backends) builds in about a minute and a half on two cores and adds about 5 MB to the
//! binary, against about 5 minutes and 23 MB for CubeCL 0.11 with its convolution crate, whose
//! alpha-stage releases need exact pins. The shaders are few and small (a convolution and a
//! transposed convolution sharing one fused epilogue, data-movement kernels, and RIFE's
//! resampling/element-wise kernels in `shaders/sample.wgsl`), so a kernel DSL buys little
//! today.

mod backend;
mod context;
mod device;
mod error;

pub use backend::{GpuBackend, GpuTensor, PendingDownload};
pub use context::{GpuContext, Precision};
pub use device::{list_adapters, AdapterSummary, Device};
pub use error::GpuError;
