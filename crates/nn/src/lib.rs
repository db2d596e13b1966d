//! `upframe-nn`: a small inference engine for image convnets.
//!
//! Tensors are NHWC `f32` ([`Tensor`]). The op set is the fixed, small one that Real-ESRGAN
//! (SRVGGNetCompact, RRDBNet) and RIFE (IFNet v4.2x) need, each with PyTorch's exact semantics.
//! Every fast kernel has a plain reference implementation beside it ([`reference`]), and property
//! tests compare the two. Model code only sees this crate's public API, so a GPU backend can later
//! sit behind the same interface.
//!
//! - [`Conv2d`], [`ConvTranspose2d`]: layers built from PyTorch-layout weights (OIHW / IOHW;
//!   bad lengths are [`NnError`]s), packed once; a fused [`Epilogue`] applies bias, per-channel
//!   scale, residual, activation and a post scale-and-add while the output is hot in cache.
//!   Dispatch: 3×3 stride-1 padding-1 → Winograd ([`winograd`]); ≤ 8 output channels → a
//!   direct AVX-512 kernel; everything else → im2col + `gemm` (runtime SIMD dispatch).
//!   All run in parallel on rayon's global pool.
//! - [`Precision`]: `Conv2d::set_precision(Precision::Bf16)` runs a layer (stride 1, ≥ 16 input
//!   channels) through [`bf16conv`]: AMX tiles, AVX-512 BF16 or a portable emulation, picked by
//!   [`bf16_support`] (which says why); [`bf16conv::Bf16Tensor`] carries bf16 activations
//!   between such layers.
//! - [`ops`]: activations, arithmetic, blend, concat/slice, pixel (un)shuffle, nearest and
//!   bilinear resize (both `F.interpolate` forms), RIFE's warp, pad/crop — each with an
//!   allocating form and an `_into` form.
//! - [`Workspace`]: a buffer pool; `forward_ws` / `ws.tensor(shape)` + `*_into` + `ws.recycle`
//!   make steady-state frames allocation-free (convolution scratch is per-thread and reused).
//!
//! ```
//! use upframe_nn::{ops, Activation, Conv2d, Epilogue, Tensor, Workspace};
//!
//! # fn main() -> Result<(), upframe_nn::NnError> {
//! let (cin, cout) = (4, 4);
//! let weight = vec![0.01f32; cout * cin * 3 * 3]; // OIHW, as in the checkpoint
//! let bias = vec![0.0f32; cout];
//! let conv = Conv2d::new(&weight, [cout, cin, 3, 3], Some(&bias), 1, 1)?;
//! let beta = vec![1.0f32; cout];
//!
//! let mut ws = Workspace::new();
//! let x = Tensor::zeros([1, 16, 16, cin]);
//! // RIFE's ResConv: lrelu(conv(x) * beta + x), one pass over the output.
//! let ep = Epilogue::act(Activation::LeakyRelu(0.2)).with_channel_scale(&beta).with_residual(&x);
//! let y = conv.forward_ws(&x, &ep, &mut ws);
//! let mut half = ws.tensor([1, 8, 8, cout]);
//! ops::resize_bilinear_into(&y, Some(0.5), &mut half); // F.interpolate(scale_factor=0.5)
//! ws.recycle(y);
//! ws.recycle(half);
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod bf16conv;
mod conv;
mod direct;
pub mod epilogue;
mod error;
mod narrow;
pub mod ops;
mod precision;
pub mod reference;
mod tensor;
pub mod winograd;
mod workspace;

pub use backend::{Backend, Cpu, Fused};
pub use conv::{Conv2d, ConvTranspose2d};
pub use epilogue::{Activation, Epilogue};
pub use error::{shape_text, NnError};
pub use precision::{
    bf16_support, bf16_to_f32, f32_to_bf16, round_bf16, Bf16Capability, Bf16Support, Precision,
};
pub use tensor::Tensor;
pub use workspace::Workspace;

/// Switches off this crate's hand-written AVX-512 kernels for few-output-channel convolutions
/// (process-wide), so tests can exercise the portable fallback on any machine. Not for
/// production use.
#[doc(hidden)]
pub fn disable_narrow_simd_kernels_for_testing(disabled: bool) {
    narrow::set_disabled(disabled);
}

/// Makes [`bf16_support`] report no bf16 arithmetic (process-wide), so tests can exercise the
/// fp32 choice of `auto` precision and the bf16 emulation on any machine. Not for production use.
#[doc(hidden)]
pub fn disable_bf16_kernels_for_testing(disabled: bool) {
    precision::set_disabled(disabled);
}

/// Hides AMX only (process-wide): bf16 layers then run the AVX-512 BF16 kernel where present.
/// Not for production use.
#[doc(hidden)]
pub fn disable_amx_for_testing(disabled: bool) {
    precision::set_amx_disabled(disabled);
}
