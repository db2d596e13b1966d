//! `upframe-nn`: a small inference engine for image convnets.
//!
//! Tensors are NHWC `f32` ([`Tensor`]). The op set is the fixed, small one that Real-ESRGAN
//! (SRVGGNetCompact, RRDBNet) and RIFE (IFNet v4.2x) need, each with PyTorch's exact semantics.
//! Every fast kernel has a plain reference implementation beside it ([`reference`]), and property
//! tests compare the two. Model code only sees this crate's public API, so a GPU backend can later
//! sit behind the same interface.
//!
//! - [`Conv2d`], [`ConvTranspose2d`]: layers with weights packed at construction, fused
//!   [`Epilogue`] (bias, channel scale, residual, activation, post scale-and-add).
//! - [`ops`]: activations, arithmetic, concat/slice, pixel (un)shuffle, nearest/bilinear resize,
//!   RIFE's warp, pad/crop.
//! - [`Workspace`]: a buffer pool so that steady-state frames allocate nothing.

mod conv;
pub mod epilogue;
mod error;
mod narrow;
pub mod ops;
pub mod reference;
mod tensor;
pub mod winograd;
mod workspace;

pub use conv::{Conv2d, ConvTranspose2d};
pub use epilogue::{Activation, Epilogue};
pub use error::NnError;
pub use tensor::Tensor;
pub use workspace::Workspace;

/// Switches off this crate's hand-written AVX-512 kernels for few-output-channel convolutions
/// (process-wide), so tests can exercise the portable fallback on any machine. Not for
/// production use.
#[doc(hidden)]
pub fn disable_narrow_simd_kernels_for_testing(disabled: bool) {
    narrow::set_disabled(disabled);
}
