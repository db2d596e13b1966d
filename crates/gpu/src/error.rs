//! The crate's error type.

use thiserror::Error;

/// What can go wrong opening or running the GPU backend.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GpuError {
    /// No usable adapter (no Vulkan/Metal/DX12 driver, or `auto` found only software ones).
    /// Callers fall back to the CPU for `--device auto` and fail for `--device gpu`.
    #[error("no GPU adapter found{0}")]
    NoAdapter(String),
    /// `gpu:N` with N past the end of the adapter list.
    #[error("GPU adapter {index} does not exist ({count} adapters; see `upframe devices`)")]
    NoSuchAdapter { index: usize, count: usize },
    /// The adapter refused to open a device.
    #[error("cannot open GPU adapter {name}: {message}")]
    Open { name: String, message: String },
    /// A buffer did not fit the device's memory or limits: retry with a smaller tile.
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
    /// The device was lost (driver reset, hang): reopen, or retry with a smaller tile.
    #[error("GPU device lost: {0}")]
    DeviceLost(String),
    /// Work in flight was dropped because an earlier failure reset the device's state; its
    /// result is unknown and the work must run again (the failure itself was reported).
    #[error("GPU work discarded after an earlier failure")]
    Discarded,
    /// Any other failure the GPU API reported (a bug here, or a driver bug).
    #[error("GPU error: {0}")]
    Backend(String),
}

impl GpuError {
    /// Whether retrying the same work with smaller tiles may succeed.
    pub fn is_memory(&self) -> bool {
        matches!(self, GpuError::OutOfMemory(_) | GpuError::DeviceLost(_))
    }
}
