//! `upframe-nn`: a small inference engine for image convnets.
//!
//! Tensors are NHWC `f32` ([`Tensor`]). The op set is the fixed, small one that Real-ESRGAN
//! (SRVGGNetCompact, RRDBNet) and RIFE (IFNet v4.2x) need, each with PyTorch's exact semantics.
//! Every fast kernel has a plain reference implementation beside it (`reference`), and property
//! tests compare the two. Model code only sees this crate's public API, so a GPU backend can later
//! sit behind the same interface.

pub mod epilogue;
mod error;
mod tensor;
pub mod winograd;

pub use epilogue::{Activation, Epilogue};
pub use error::NnError;
pub use tensor::Tensor;
