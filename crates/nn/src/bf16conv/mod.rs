//! bf16 convolutions (stride 1, any kernel size and zero padding) as an implicit GEMM over a
//! rolling window of bf16 input rows: AMX tiles ([`Bf16Kernel::Amx`]), AVX-512 BF16
//! `vdpbf16ps` ([`Bf16Kernel::Avx512Bf16`]) or a portable emulation ([`Bf16Kernel::Emulated`]).
//! All accumulate in `f32`; outputs and the fused [`Epilogue`] stay `f32`.
//!
//! Where the rounding to bf16 happens, and why:
//! - **Weights** are rounded once when packed (RNE), straight from the checkpoint's `f32`.
//! - **Input activations** are rounded (RNE) when a worker copies an input row into its
//!   window (`kh` padded rows, each pixel's channels padded to 32), once per row per band, so
//!   the conversion costs one pass over the input and the tile loads read the window in L2.
//! - **Not** in the Winograd domain: F(6×6, 3×3)'s transformed inputs mix ±(1…5.25)-weighted
//!   sums of 64 values and its output transform multiplies by up to 32; bf16's 8-bit mantissa
//!   there costs orders of magnitude more error than rounding the convolution's own operands
//!   (products of two bf16 values are exact in `f32`, so here the only errors are the two
//!   operand roundings). With AMX, the direct implicit GEMM does 9× the multiply-adds of
//!   Winograd's 5× fewer but at 16× AVX-512 `f32`'s rate per instruction, so it still wins.
//! - **Outputs are not rounded**: the sums leave the tiles in `f32` and the epilogue (bias,
//!   residuals, activations) runs in `f32`. PyTorch's autocast stores bf16 activations between
//!   layers; keeping `f32` outputs costs nothing here (the fp32 output tensors are what the
//!   rest of the engine reads) and makes the error smaller than PyTorch's bf16.
//!
//! Layout: an output row is computed in blocks of pixels; for AMX a block is 32 pixels × two
//! 16-channel output tiles (four `f32` accumulator tiles, two A tiles of 16 pixels × 32 input
//! channels read straight from the window, two B tiles of packed weights).

mod amx;
mod avx512;
mod tensor;

pub use tensor::Bf16Tensor;

use std::cell::RefCell;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::precision::{amx_usable, avx512_bf16, bf16_support, bf16_to_f32, f32_to_bf16};
use crate::{Bf16Support, Epilogue, NnError, Tensor};

/// Input channels are padded to a multiple of this (one A-tile row: 32 bf16 = 64 bytes).
pub(crate) const K_BLOCK: usize = 32;
/// Output channels per B tile / accumulator tile.
pub(crate) const N_TILE: usize = 16;
/// bf16 values per packed B tile: 16 rows (input channel pairs) × 16 output channels × 2.
pub(crate) const TILE_ELEMS: usize = 16 * 32;
/// Output pixels per block of every kernel (a multiple of AMX's 32 and of the AVX-512 kernel's
/// 6, 8, 12 and 16 pixel micro-blocks).
pub(crate) const BLOCK_PX: usize = 96;

/// Convolutions with fewer input channels than this stay `f32`: padding their channels to 32
/// wastes most of each tile (Real-ESRGAN's and RIFE's 3-, 6- or 7-channel first layers), and
/// keeping the first layer exact costs little.
pub const MIN_CIN: usize = 16;

/// The bf16 kernel a call runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bf16Kernel {
    Amx,
    Avx512Bf16,
    /// bf16-rounded operands multiplied in portable `f32` (no bf16 hardware needed).
    Emulated,
}

impl Bf16Kernel {
    /// The best kernel [`bf16_support`] allows (the test switches included).
    pub fn detect() -> Self {
        match bf16_support().support {
            Bf16Support::Amx => Bf16Kernel::Amx,
            Bf16Support::Avx512Bf16 => Bf16Kernel::Avx512Bf16,
            Bf16Support::None => Bf16Kernel::Emulated,
        }
    }

    /// Whether this CPU (and OS) can run `self`, ignoring the test switches.
    pub fn is_supported(self) -> bool {
        match self {
            Bf16Kernel::Amx => amx_usable(),
            Bf16Kernel::Avx512Bf16 => avx512_bf16(),
            Bf16Kernel::Emulated => true,
        }
    }

    /// Every kernel this machine can run, best first.
    pub fn supported() -> Vec<Self> {
        [
            Bf16Kernel::Amx,
            Bf16Kernel::Avx512Bf16,
            Bf16Kernel::Emulated,
        ]
        .into_iter()
        .filter(|k| k.is_supported())
        .collect()
    }
}

/// Convolution weights rounded to bf16 and packed as AMX B tiles, which are also the
/// `vdpbf16ps` operand layout: tile `(n_tile, tap, k_block)` holds row `r` = input channels
/// `32·k_block + 2r, +1` and, in it, output channel `16·n_tile + j` at elements `2j, 2j + 1`.
#[derive(Clone, Debug)]
pub struct Bf16ConvWeights {
    cout: usize,
    cin: usize,
    kh: usize,
    kw: usize,
    cin_p: usize,
    n_tiles: usize,
    tiles: Vec<u16>,
    /// `[tap][cin][cout_p]` bf16-rounded values as `f32`, built on first use of the emulation.
    emulated: OnceLock<Vec<f32>>,
}

impl Bf16ConvWeights {
    /// Packs PyTorch-layout weights `[cout][cin][kh][kw]` (OIHW).
    pub fn new(weight_oihw: &[f32], shape: [usize; 4]) -> Result<Self, NnError> {
        let [cout, cin, kh, kw] = shape;
        if shape.contains(&0) {
            return Err(NnError::Shape {
                what: "bf16 conv weight",
                shape: shape.to_vec(),
                reason: "every dimension must be at least 1",
            });
        }
        if weight_oihw.len() != cout * cin * kh * kw {
            return Err(NnError::Length {
                what: "bf16 conv weight",
                expected: cout * cin * kh * kw,
                got: weight_oihw.len(),
            });
        }
        let cin_p = cin.next_multiple_of(K_BLOCK);
        let k_blocks = cin_p / K_BLOCK;
        let n_tiles = cout.div_ceil(N_TILE);
        let taps = kh * kw;
        let mut tiles = vec![0u16; n_tiles * taps * k_blocks * TILE_ELEMS];
        for nt in 0..n_tiles {
            for t in 0..taps {
                for kb in 0..k_blocks {
                    let tile =
                        &mut tiles[((nt * taps + t) * k_blocks + kb) * TILE_ELEMS..][..TILE_ELEMS];
                    for r in 0..16 {
                        for j in 0..N_TILE {
                            for e in 0..2 {
                                let (o, i) = (nt * N_TILE + j, kb * K_BLOCK + 2 * r + e);
                                if o < cout && i < cin {
                                    tile[r * 32 + 2 * j + e] =
                                        f32_to_bf16(weight_oihw[(o * cin + i) * taps + t]);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(Bf16ConvWeights {
            cout,
            cin,
            kh,
            kw,
            cin_p,
            n_tiles,
            tiles,
            emulated: OnceLock::new(),
        })
    }

    pub fn cout(&self) -> usize {
        self.cout
    }
    pub fn cin(&self) -> usize {
        self.cin
    }

    fn taps(&self) -> usize {
        self.kh * self.kw
    }
    fn k_blocks(&self) -> usize {
        self.cin_p / K_BLOCK
    }
    fn cout_p(&self) -> usize {
        self.n_tiles * N_TILE
    }

    /// The weights for the emulation, unpacked from the tiles (so both see identical values).
    fn emulated(&self) -> &[f32] {
        self.emulated.get_or_init(|| {
            let (taps, cout_p, kbs) = (self.taps(), self.cout_p(), self.k_blocks());
            let mut w = vec![0.0f32; taps * self.cin * cout_p];
            for t in 0..taps {
                for i in 0..self.cin {
                    let (kb, r, e) = (i / K_BLOCK, (i % K_BLOCK) / 2, i % 2);
                    for o in 0..self.cout {
                        let (nt, j) = (o / N_TILE, o % N_TILE);
                        let tile = ((nt * taps + t) * kbs + kb) * TILE_ELEMS;
                        w[(t * self.cin + i) * cout_p + o] =
                            bf16_to_f32(self.tiles[tile + r * 32 + 2 * j + e]);
                    }
                }
            }
            w
        })
    }
}

/// The output shape of a stride-1 convolution with zero `padding` (panics on a mismatch, as
/// `Conv2d::output_shape` does).
fn output_shape(w: &Bf16ConvWeights, input: [usize; 4], padding: usize) -> [usize; 4] {
    let [n, h, wd, c] = input;
    assert_eq!(c, w.cin, "bf16 conv input channels");
    let (hp, wp) = (h + 2 * padding, wd + 2 * padding);
    assert!(
        hp >= w.kh && wp >= w.kw,
        "bf16 conv input smaller than kernel"
    );
    [n, hp - w.kh + 1, wp - w.kw + 1, w.cout]
}

/// What one output row needs: the window rows (`kh` pointers to padded bf16 rows of `wp`
/// pixels × `cin_p` channels), the weights and the row's place in the output.
pub(crate) struct RowArgs<'a> {
    pub rows: &'a [*const u16],
    /// bf16 values between neighbouring pixels of a row (≥ the weights' `cin_p`).
    pub a_stride: usize,
    /// The source row the next output row adds (prefetched while this one computes), or null.
    pub next_row: *const u16,
    pub weights: &'a Bf16ConvWeights,
    pub ow: usize,
    /// `cout_p` floats per pixel, [`BLOCK_PX`] pixels.
    pub cbuf: *mut f32,
}

/// `stride-1 conv(x) + bias`, then `epilogue`, with `kernel`; `out` must have the output shape
/// (`[n, h + 2p − kh + 1, w + 2p − kw + 1, cout]`); every element is overwritten.
///
/// Panics if `kernel` is not supported here or on shape mismatches (programming errors).
pub fn conv_into(
    kernel: Bf16Kernel,
    x: &Tensor,
    weights: &Bf16ConvWeights,
    padding: usize,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    out: &mut Tensor,
) {
    assert!(
        kernel.is_supported(),
        "bf16 kernel {kernel:?} not supported"
    );
    let out_shape = output_shape(weights, x.shape(), padding);
    assert_eq!(out.shape(), out_shape, "bf16 conv output tensor shape");
    if let Some(b) = bias {
        assert_eq!(b.len(), weights.cout, "bf16 conv bias length");
    }
    epilogue.check(out_shape);
    let [n, h, w, _] = x.shape();
    let [_, oh, ow, cout] = out_shape;
    if n * oh * ow == 0 {
        return;
    }
    let kh = weights.kh;
    assert!(kh <= MAX_KH, "bf16 conv kernel height {kh} > {MAX_KH}");
    // Window rows hold every input pixel an output block can reach, plus one spare block.
    let wp = ow + BLOCK_PX + weights.kw - 1;
    let row_elems = wp * weights.cin_p;
    let cbuf_len = BLOCK_PX * weights.cout_p();
    // Bands of output rows per work item: enough items to balance the workers, as few as that
    // allows (each band converts `kh - 1` extra input rows).
    let workers = rayon::current_num_threads().max(1);
    let band = oh.div_ceil(4 * workers).max(1);
    let input = x.data();
    let geo = Geometry {
        h,
        w,
        cin: weights.cin,
        cin_p: weights.cin_p,
        pad: padding,
        wp,
    };
    out.data_mut()
        .par_chunks_mut(oh * ow * cout)
        .enumerate()
        .for_each(|(b, out_img)| {
            let image = &input[b * h * w * geo.cin..][..h * w * geo.cin];
            out_img
                .par_chunks_mut(band * ow * cout)
                .enumerate()
                .for_each(|(bi, out_band)| {
                    let y0 = bi * band;
                    let rows_here = out_band.len() / (ow * cout);
                    with_scratch(kh * row_elems, cbuf_len, |window, cbuf| {
                        let slot = |py: usize| (py % kh) * row_elems;
                        // Prime the window with the first kh - 1 padded rows.
                        for py in y0..y0 + kh - 1 {
                            let s = slot(py);
                            convert_row(kernel, &geo, image, py, &mut window[s..s + row_elems]);
                        }
                        let _tiles = (kernel == Bf16Kernel::Amx).then(amx::TileSession::start);
                        for r in 0..rows_here {
                            let y = y0 + r;
                            let py = y + kh - 1;
                            let s = slot(py);
                            convert_row(kernel, &geo, image, py, &mut window[s..s + row_elems]);
                            let mut rows = [std::ptr::null::<u16>(); MAX_KH];
                            for (ky, p) in rows.iter_mut().enumerate().take(kh) {
                                *p = window[slot(y + ky)..].as_ptr();
                            }
                            let out_row = &mut out_band[r * ow * cout..][..ow * cout];
                            let args = RowArgs {
                                rows: &rows[..kh],
                                a_stride: weights.cin_p,
                                // The window's next row is converted just before it is used.
                                next_row: std::ptr::null(),
                                weights,
                                ow,
                                cbuf: cbuf.as_mut_ptr(),
                            };
                            let first_pixel = (b * oh + y) * ow;
                            compute_row(
                                kernel,
                                &args,
                                RowOut::F32(out_row),
                                first_pixel,
                                bias,
                                epilogue,
                            );
                        }
                    });
                });
        });
}

/// A raw pointer the band workers share; they touch disjoint rows or channels through it.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
// SAFETY: only used for buffers whose parallel users write disjoint elements (see callers).
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}

/// Where [`run_from_bf16`] writes.
#[derive(Clone, Copy)]
enum Sink {
    /// An `f32` NHWC tensor with `oh · ow · cout` floats per image.
    F32(SyncPtr<f32>),
    /// A [`Bf16Tensor`]'s interior, from channel `c_off`.
    Bf16 {
        ptr: SyncPtr<u16>,
        image_elems: usize,
        row_px: usize,
        c_p: usize,
        pad: usize,
        c_off: usize,
    },
}

/// Checks a bf16 source against the weights and returns the output shape.
fn from_bf16_shape(weights: &Bf16ConvWeights, x: &Bf16Tensor) -> [usize; 4] {
    let [n, h, w, c] = x.shape;
    assert!(
        c >= weights.cin,
        "bf16 conv: input has {c} channels < {}",
        weights.cin
    );
    assert!(weights.cin_p <= x.c_p, "bf16 conv input channel stride");
    let p = x.pad;
    assert!(
        h + 2 * p >= weights.kh && w + 2 * p >= weights.kw,
        "bf16 conv input too small"
    );
    assert!(weights.kh <= MAX_KH, "bf16 conv kernel height > {MAX_KH}");
    [
        n,
        h + 2 * p - weights.kh + 1,
        w + 2 * p - weights.kw + 1,
        weights.cout,
    ]
}

/// `conv(x) + bias`, then `epilogue`, reading bf16 activations in place (no conversion pass):
/// zero padding = `x.pad()`, stride 1; the convolution reads `x`'s first `cin` channels.
/// `out` has the output shape `[n, h + 2p − kh + 1, w + 2p − kw + 1, cout]`.
pub fn conv_from_bf16(
    kernel: Bf16Kernel,
    x: &Bf16Tensor,
    weights: &Bf16ConvWeights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    out: &mut Tensor,
) {
    let out_shape = from_bf16_shape(weights, x);
    assert_eq!(out.shape(), out_shape, "bf16 conv output tensor shape");
    let sink = Sink::F32(SyncPtr(out.data_mut().as_mut_ptr()));
    // SAFETY: `x` is only read; `out` is exclusively borrowed and has the output shape.
    unsafe {
        run_from_bf16(
            kernel,
            x,
            x.data.as_ptr(),
            weights,
            bias,
            epilogue,
            out_shape,
            sink,
        )
    };
}

/// Like [`conv_from_bf16`], rounding the results to bf16 into channels `c_off .. c_off + cout`
/// of `dst` (whose `n, h, w` are the output's).
pub fn conv_bf16_to_bf16(
    kernel: Bf16Kernel,
    x: &Bf16Tensor,
    weights: &Bf16ConvWeights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    dst: &mut Bf16Tensor,
    c_off: usize,
) {
    let out_shape = from_bf16_shape(weights, x);
    let [n, oh, ow, cout] = out_shape;
    assert_eq!(dst.shape[..3], [n, oh, ow], "bf16 conv destination size");
    assert!(
        c_off + cout <= dst.shape[3],
        "bf16 conv destination channels"
    );
    let sink = bf16_sink(dst, c_off);
    // SAFETY: `x` is only read; `dst` is exclusively borrowed, distinct from `x`.
    unsafe {
        run_from_bf16(
            kernel,
            x,
            x.data.as_ptr(),
            weights,
            bias,
            epilogue,
            out_shape,
            sink,
        )
    };
}

/// A dense-block step: reads channels `0 .. cin` of `buf` and writes the rounded results to its
/// channels `c_off .. c_off + cout` (`c_off` at or past the padded input channels, so no element
/// is both read and written). The convolution must keep the size (`2p = kh − 1 = kw − 1`).
pub fn conv_bf16_in_place(
    kernel: Bf16Kernel,
    buf: &mut Bf16Tensor,
    weights: &Bf16ConvWeights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    c_off: usize,
) {
    let out_shape = from_bf16_shape(weights, buf);
    assert_eq!(
        out_shape[..3],
        buf.shape[..3],
        "in-place bf16 conv must keep the size"
    );
    assert!(
        c_off >= weights.cin_p,
        "in-place bf16 conv would overwrite its input"
    );
    assert!(
        c_off + weights.cout <= buf.shape[3],
        "bf16 conv destination channels"
    );
    let sink = bf16_sink(buf, c_off);
    let src = buf.data.as_ptr();
    // SAFETY: reads touch channels < cin_p ≤ c_off, writes channels ≥ c_off: disjoint
    // elements of the same buffer, both through raw pointers from one exclusive borrow.
    unsafe { run_from_bf16(kernel, buf, src, weights, bias, epilogue, out_shape, sink) };
}

fn bf16_sink(dst: &mut Bf16Tensor, c_off: usize) -> Sink {
    Sink::Bf16 {
        image_elems: dst.image_elems(),
        row_px: dst.row_px,
        c_p: dst.c_p,
        pad: dst.pad,
        c_off,
        ptr: SyncPtr(dst.data.as_mut_ptr()),
    }
}

/// The band-parallel driver for bf16 sources.
///
/// # Safety
/// `src` points at `x`'s data (valid for reads of the channels the weights read while this
/// runs); `sink` is valid for writes of the output shape and no element it writes is read
/// through `src`.
#[allow(clippy::too_many_arguments)]
unsafe fn run_from_bf16(
    kernel: Bf16Kernel,
    x: &Bf16Tensor,
    src: *const u16,
    weights: &Bf16ConvWeights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    out_shape: [usize; 4],
    sink: Sink,
) {
    assert!(
        kernel.is_supported(),
        "bf16 kernel {kernel:?} not supported"
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), weights.cout, "bf16 conv bias length");
    }
    epilogue.check(out_shape);
    let [n, oh, ow, cout] = out_shape;
    if n * oh * ow == 0 {
        return;
    }
    let kh = weights.kh;
    let workers = rayon::current_num_threads().max(1);
    let band = oh.div_ceil(4 * workers).max(1);
    let bands = oh.div_ceil(band);
    let (img_elems, row_elems, c_p) = (x.image_elems(), x.row_px * x.c_p, x.c_p);
    let src = SyncPtr(src as *mut u16);
    let cbuf_len = BLOCK_PX * weights.cout_p();
    (0..n * bands).into_par_iter().for_each(|item| {
        let (b, bi) = (item / bands, item % bands);
        let y0 = bi * band;
        let y1 = (y0 + band).min(oh);
        // Whole-value captures (not the raw-pointer fields, which are not Send).
        let (src, sink) = (src, sink);
        with_scratch(0, cbuf_len, |_, cbuf| {
            let _tiles = (kernel == Bf16Kernel::Amx).then(amx::TileSession::start);
            for y in y0..y1 {
                let mut rows = [std::ptr::null::<u16>(); MAX_KH];
                for (ky, r) in rows.iter_mut().enumerate().take(kh) {
                    *r = src.0.add(b * img_elems + (y + ky) * row_elems);
                }
                let args = RowArgs {
                    rows: &rows[..kh],
                    a_stride: c_p,
                    next_row: if y + 1 < y1 {
                        src.0.add(b * img_elems + (y + kh) * row_elems)
                    } else {
                        std::ptr::null()
                    },
                    weights,
                    ow,
                    cbuf: cbuf.as_mut_ptr(),
                };
                let first_pixel = (b * oh + y) * ow;
                let out = match sink {
                    Sink::F32(p) => RowOut::F32(std::slice::from_raw_parts_mut(
                        p.0.add(first_pixel * cout),
                        ow * cout,
                    )),
                    Sink::Bf16 {
                        ptr,
                        image_elems,
                        row_px,
                        c_p,
                        pad,
                        c_off,
                    } => RowOut::Bf16 {
                        ptr: ptr
                            .0
                            .add(b * image_elems + ((y + pad) * row_px + pad) * c_p + c_off),
                        stride: c_p,
                    },
                };
                compute_row(kernel, &args, out, first_pixel, bias, epilogue);
            }
        });
    });
}

/// Largest kernel height the window supports.
pub const MAX_KH: usize = 16;

/// Where a padded window row comes from.
pub(crate) struct Geometry {
    h: usize,
    w: usize,
    cin: usize,
    cin_p: usize,
    pad: usize,
    wp: usize,
}

/// Fills `dst` (`wp` pixels × `cin_p` bf16) with padded input row `py` (input row `py − pad`):
/// zeros outside the image and in the padding channels.
fn convert_row(kernel: Bf16Kernel, g: &Geometry, image: &[f32], py: usize, dst: &mut [u16]) {
    debug_assert_eq!(dst.len(), g.wp * g.cin_p);
    let iy = py as isize - g.pad as isize;
    if iy < 0 || iy >= g.h as isize {
        dst.fill(0);
        return;
    }
    let src = &image[iy as usize * g.w * g.cin..][..g.w * g.cin];
    dst[..g.pad * g.cin_p].fill(0);
    dst[(g.pad + g.w) * g.cin_p..].fill(0);
    let body = &mut dst[g.pad * g.cin_p..(g.pad + g.w) * g.cin_p];
    if kernel != Bf16Kernel::Emulated {
        // SAFETY: both hardware kernels imply AVX-512 BF16 (see `Bf16Kernel::is_supported`).
        unsafe { avx512::convert_pixels(src, g.cin, g.cin_p, body) };
        return;
    }
    for (d, s) in body.chunks_exact_mut(g.cin_p).zip(src.chunks_exact(g.cin)) {
        for (d, &s) in d.iter_mut().zip(s) {
            *d = f32_to_bf16(s);
        }
        d[g.cin..].fill(0);
    }
}

/// Where a row's finished outputs go.
enum RowOut<'a> {
    /// `ow · cout` floats.
    F32(&'a mut [f32]),
    /// Pixel `x` channel `j` at `ptr[x · stride + j]` (bf16, rounded to nearest even).
    Bf16 { ptr: *mut u16, stride: usize },
}

/// Computes one output row block by block, each block finished through the epilogue while its
/// sums are in L1: with AVX-512 in the same pass that stores them (the hardware kernels), else
/// copied and then `Epilogue::apply_row` (emulation, sigmoid).
#[allow(clippy::too_many_arguments)]
fn compute_row(
    kernel: Bf16Kernel,
    a: &RowArgs,
    mut out: RowOut,
    first_pixel: usize,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
) {
    let cout = a.weights.cout;
    let cout_p = a.weights.cout_p();
    let mut x0 = 0;
    while x0 < a.ow {
        let px = BLOCK_PX.min(a.ow - x0);
        match kernel {
            // SAFETY: supported (asserted by the callers); the source rows have `≥ ow +
            // BLOCK_PX + kw − 1` pixels, so every block reads in bounds; `cbuf` holds
            // BLOCK_PX · cout_p floats.
            Bf16Kernel::Amx => unsafe { amx::block(a, x0) },
            Bf16Kernel::Avx512Bf16 => unsafe { avx512::block(a, x0) },
            Bf16Kernel::Emulated => emulated_block(a, x0, px),
        }
        let hw = kernel != Bf16Kernel::Emulated;
        match &mut out {
            RowOut::F32(row) => {
                let block = &mut row[x0 * cout..(x0 + px) * cout];
                // SAFETY: the hardware kernels imply AVX-512F; `cbuf` holds the block's sums;
                // the epilogue was checked against the output shape by the callers.
                let fused = hw
                    && unsafe {
                        avx512::finish_block(
                            a.cbuf,
                            cout_p,
                            block,
                            first_pixel + x0,
                            cout,
                            bias,
                            epilogue,
                        )
                    };
                if !fused {
                    copy_sums(a.cbuf, cout_p, block, cout);
                    epilogue.apply_row(block, first_pixel + x0, cout, bias);
                }
            }
            RowOut::Bf16 { ptr, stride } => {
                // SAFETY: the callers give a destination with `ow` pixels of `stride` values
                // whose channels `0 .. cout` from `ptr` nobody else touches.
                let dst = unsafe { ptr.add(x0 * *stride) };
                let fused = hw
                    && unsafe {
                        avx512::finish_block_bf16(
                            a.cbuf,
                            cout_p,
                            dst,
                            *stride,
                            px,
                            first_pixel + x0,
                            cout,
                            bias,
                            epilogue,
                        )
                    };
                if !fused {
                    let mut block = vec![0.0f32; px * cout];
                    copy_sums(a.cbuf, cout_p, &mut block, cout);
                    epilogue.apply_row(&mut block, first_pixel + x0, cout, bias);
                    for (p, v) in block.chunks_exact(cout).enumerate() {
                        for (j, &v) in v.iter().enumerate() {
                            // SAFETY: as above.
                            unsafe { *dst.add(p * *stride + j) = f32_to_bf16(v) };
                        }
                    }
                }
            }
        }
        x0 += BLOCK_PX;
    }
}

/// Copies a block's raw sums (`cout_p` apart) into `block` (`cout` apart).
fn copy_sums(cbuf: *const f32, cout_p: usize, block: &mut [f32], cout: usize) {
    // SAFETY: the kernels wrote `BLOCK_PX · cout_p` floats to `cbuf`.
    let sums = unsafe { std::slice::from_raw_parts(cbuf, BLOCK_PX * cout_p) };
    for (o, s) in block.chunks_exact_mut(cout).zip(sums.chunks_exact(cout_p)) {
        o.copy_from_slice(&s[..cout]);
    }
}

/// The portable kernel: per pixel, `Σ_tap Σ_c x · w` over bf16-rounded operands in `f32`.
fn emulated_block(a: &RowArgs, x0: usize, px: usize) {
    let w = a.weights;
    let (cin, cout_p) = (w.cin, w.cout_p());
    let wts = w.emulated();
    // SAFETY: `cbuf` holds BLOCK_PX · cout_p floats (RowArgs contract).
    let cbuf = unsafe { std::slice::from_raw_parts_mut(a.cbuf, BLOCK_PX * cout_p) };
    for (p, acc) in cbuf.chunks_exact_mut(cout_p).enumerate().take(px) {
        acc.fill(0.0);
        for ky in 0..w.kh {
            for kx in 0..w.kw {
                let t = ky * w.kw + kx;
                // SAFETY: the window row has `wp ≥ ow + kw − 1` pixels of `cin_p` values.
                let xs = unsafe {
                    std::slice::from_raw_parts(a.rows[ky].add((x0 + p + kx) * a.a_stride), cin)
                };
                for (c, &xv) in xs.iter().enumerate() {
                    let xv = bf16_to_f32(xv);
                    if xv == 0.0 {
                        continue;
                    }
                    let wrow = &wts[(t * cin + c) * cout_p..][..cout_p];
                    for (acc, &wv) in acc.iter_mut().zip(wrow) {
                        *acc += xv * wv;
                    }
                }
            }
        }
    }
}

thread_local! {
    /// Per-thread window and accumulator scratch, grown on demand and reused.
    static SCRATCH: RefCell<(Vec<u16>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with 64-byte-aligned per-thread scratch: `window_len` bf16 values and `cbuf_len`
/// floats.
fn with_scratch(window_len: usize, cbuf_len: usize, f: impl FnOnce(&mut [u16], &mut [f32])) {
    fn aligned<T: Default + Clone>(v: &mut Vec<T>, len: usize) -> &mut [T] {
        let pad = 64 / std::mem::size_of::<T>();
        if v.len() < len + pad {
            *v = vec![T::default(); len + pad];
        }
        let off = v.as_ptr().align_offset(64).min(pad);
        &mut v[off..off + len]
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let (w, c) = &mut *s;
            f(aligned(w, window_len), aligned(c, cbuf_len))
        }
        // A nested call on this thread (work stealing): give it its own buffers.
        Err(_) => {
            let (mut w, mut c) = (Vec::new(), Vec::new());
            f(aligned(&mut w, window_len), aligned(&mut c, cbuf_len))
        }
    })
}
