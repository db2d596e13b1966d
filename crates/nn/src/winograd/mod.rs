//! Fast 3×3, stride-1, padding-1 convolution on NHWC tensors: Winograd F(6×6, 3×3) (default) or
//! F(4×4, 3×3), with hand-written SIMD (AVX-512, AVX2+FMA, portable) selected at run time.
//!
//! Use: pack the weights once with [`Winograd3x3Weights::new`], then call [`conv3x3`] /
//! [`conv3x3_into`] per frame. [`is_profitable`] says when the general convolution path should be
//! used instead (e.g. three input channels).
//!
//! Each block of output tiles runs input transform → 64 (or 36) small GEMMs → output transform →
//! bias → epilogue inside one worker, with its transformed data in per-thread scratch that is
//! sized for L2 and reused across calls (no allocation in the steady state). Blocks run in
//! parallel on rayon's pool.

mod kernel;
pub mod reference;
mod simd;

use std::cell::RefCell;

use rayon::prelude::*;

use crate::epilogue::{Activation, Epilogue};
use crate::{NnError, Tensor};
pub use kernel::Variant;
use kernel::{BlockArgs, FastActivation, CHANNEL_QUANTUM};

/// The SIMD instruction set a kernel call runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLevel {
    /// AVX-512F (16 lanes).
    Avx512,
    /// AVX2 + FMA (8 lanes).
    Avx2,
    /// Plain Rust, autovectorised for the build target.
    Portable,
}

impl SimdLevel {
    /// The best level this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // The AVX-512 path is compiled with AVX2 and FMA enabled too.
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return SimdLevel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Portable
    }

    /// Whether this CPU can run `self`.
    pub fn is_supported(self) -> bool {
        match self {
            SimdLevel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every level this CPU can run, best first.
    pub fn supported() -> Vec<SimdLevel> {
        [SimdLevel::Avx512, SimdLevel::Avx2, SimdLevel::Portable]
            .into_iter()
            .filter(|l| l.is_supported())
            .collect()
    }
}

/// 3×3 convolution weights transformed to the Winograd domain (`G g Gᵀ`, 6×6 or 8×8 per filter)
/// and laid out for the kernel's GEMMs: `[points][cin][cout rounded up to 16]`.
#[derive(Clone, Debug)]
pub struct Winograd3x3Weights {
    variant: Variant,
    cin: usize,
    cout: usize,
    cout_p: usize,
    packed: Vec<f32>,
}

/// `G` for F(4×4, 3×3), points 0, ±1, ±2, ∞.
const G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// `G` for F(6×6, 3×3), points 0, ±1, ±2, ±1/2, ∞.
const G6: [[f64; 3]; 8] = [
    [1.0, 0.0, 0.0],
    [-2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0],
    [-2.0 / 9.0, 2.0 / 9.0, -2.0 / 9.0],
    [1.0 / 90.0, 1.0 / 45.0, 2.0 / 45.0],
    [1.0 / 90.0, -1.0 / 45.0, 2.0 / 45.0],
    [32.0 / 45.0, 16.0 / 45.0, 8.0 / 45.0],
    [32.0 / 45.0, -16.0 / 45.0, 8.0 / 45.0],
    [0.0, 0.0, 1.0],
];

/// The variant [`Winograd3x3Weights::new`] picks.
pub const DEFAULT_VARIANT: Variant = Variant::F6;

impl Winograd3x3Weights {
    /// Transforms PyTorch-layout weights `[cout][cin][3][3]` (OIHW, as in a checkpoint) for
    /// [`DEFAULT_VARIANT`].
    pub fn new(weight_oihw: &[f32], cout: usize, cin: usize) -> Result<Self, NnError> {
        Self::with_variant(weight_oihw, cout, cin, DEFAULT_VARIANT)
    }

    /// Like [`Winograd3x3Weights::new`] for an explicit variant.
    pub fn with_variant(
        weight_oihw: &[f32],
        cout: usize,
        cin: usize,
        variant: Variant,
    ) -> Result<Self, NnError> {
        if cout == 0 || cin == 0 {
            return Err(NnError::Shape {
                what: "winograd 3x3 conv weight",
                shape: vec![cout, cin, 3, 3],
                reason: "channel counts must be at least 1",
            });
        }
        let expected = cout * cin * 9;
        if weight_oihw.len() != expected {
            return Err(NnError::Length {
                what: "winograd 3x3 conv weight",
                expected,
                got: weight_oihw.len(),
            });
        }
        let g: &[[f64; 3]] = match variant {
            Variant::F4 => &G4,
            Variant::F6 => &G6,
        };
        let n = variant.tile_in();
        let cout_p = cout.next_multiple_of(CHANNEL_QUANTUM);
        let mut packed = vec![0.0f32; variant.points() * cin * cout_p];
        let mut gg = vec![[0.0f64; 3]; n]; // G · w
        for o in 0..cout {
            for c in 0..cin {
                let wk = &weight_oihw[(o * cin + c) * 9..][..9];
                // Transform in f64 so packing adds no rounding beyond the final cast.
                for (i, row) in gg.iter_mut().enumerate() {
                    for (kx, slot) in row.iter_mut().enumerate() {
                        *slot = (0..3).map(|ky| g[i][ky] * wk[ky * 3 + kx] as f64).sum();
                    }
                }
                for (i, row) in gg.iter().enumerate() {
                    for (j, grow) in g.iter().enumerate() {
                        let u: f64 = (0..3).map(|kx| row[kx] * grow[kx]).sum();
                        packed[((i * n + j) * cin + c) * cout_p + o] = u as f32;
                    }
                }
            }
        }
        Ok(Winograd3x3Weights {
            variant,
            cin,
            cout,
            cout_p,
            packed,
        })
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }
    pub fn cin(&self) -> usize {
        self.cin
    }
    pub fn cout(&self) -> usize {
        self.cout
    }
}

/// Whether the Winograd kernel is expected to beat the general im2col + GEMM convolution for this
/// shape.
///
/// Measured single-thread on the AVX-512 machine (F(6,3) vs `Conv2d::forward_gemm`, which includes
/// the narrow path for ≤ 8 output channels): Winograd wins on every channel count tried, including
/// 3→64 at 270×480 (4.4 vs 33.6 ms), 64→3 and 64→8 at 135×240 (1.4 vs 2.5 / 3.4 ms) and 1→16
/// (1.0 vs 7.1 ms); it loses only on tiny images, where a block's 24 GEMM rows are mostly padding
/// (192→192 at 8×8: 0.26 vs 0.22 ms; at 10×10 it already wins, 0.27 vs 0.35 ms).
pub fn is_profitable(cin: usize, cout: usize, h: usize, w: usize) -> bool {
    cin >= 1 && cout >= 1 && h * w >= 100
}

/// `conv3x3(input, weights) + bias`, then `epilogue`; NHWC in, NHWC out, padding 1, stride 1.
///
/// Panics if `input`'s channel count, `bias`'s length or the epilogue's tensors do not match the
/// weights (programming errors; shapes from model files are checked when weights are built).
pub fn conv3x3(
    input: &Tensor,
    weights: &Winograd3x3Weights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
) -> Tensor {
    let [n, h, w, _] = input.shape();
    let mut out = Tensor::zeros([n, h, w, weights.cout]);
    conv3x3_into(input, weights, bias, epilogue, &mut out);
    out
}

/// Like [`conv3x3`], writing into `output` (shape `[n, h, w, cout]`; every element is
/// overwritten).
pub fn conv3x3_into(
    input: &Tensor,
    weights: &Winograd3x3Weights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    output: &mut Tensor,
) {
    conv3x3_into_with(SimdLevel::detect(), input, weights, bias, epilogue, output);
}

/// [`conv3x3_into`] with an explicit SIMD level (tests, benchmarks).
///
/// Panics if the CPU does not support `level`, or on the shape mismatches [`conv3x3`] lists.
pub fn conv3x3_into_with(
    level: SimdLevel,
    input: &Tensor,
    weights: &Winograd3x3Weights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    output: &mut Tensor,
) {
    conv3x3_impl(level, input, weights, bias, epilogue, output, None);
}

/// The kernel entry point; `block_tiles` overrides the block size (tuning only).
pub(crate) fn conv3x3_impl(
    level: SimdLevel,
    input: &Tensor,
    weights: &Winograd3x3Weights,
    bias: Option<&[f32]>,
    epilogue: &Epilogue,
    output: &mut Tensor,
    block_tiles: Option<usize>,
) {
    assert!(
        level.is_supported(),
        "SIMD level {level:?} not supported by this CPU"
    );
    let [n, h, w, cin] = input.shape();
    assert_eq!(cin, weights.cin, "input channels != weight input channels");
    let out_shape = [n, h, w, weights.cout];
    assert_eq!(output.shape(), out_shape, "output shape mismatch");
    if let Some(b) = bias {
        assert_eq!(b.len(), weights.cout, "bias length != output channels");
    }
    epilogue.check(out_shape);
    if n * h * w == 0 {
        return;
    }

    // The whole epilogue runs in registers right after the output transform, except a sigmoid,
    // for which the generic epilogue runs over each finished block instead (bias already added).
    let fast_activation = match epilogue.activation {
        Activation::None => Some(FastActivation::None),
        Activation::Relu => Some(FastActivation::Relu),
        Activation::LeakyRelu(a) => Some(FastActivation::Leaky(a)),
        Activation::PRelu(p) if p.len() == 1 => Some(FastActivation::Leaky(p[0])),
        Activation::PRelu(p) => Some(FastActivation::PRelu(p.as_ptr())),
        Activation::Sigmoid => None,
    };
    let fused = fast_activation.is_some();
    let null = std::ptr::null::<f32>();

    let variant = weights.variant;
    let points = variant.points();
    let tiles_h = h.div_ceil(variant.tile_out());
    let tiles_w = w.div_ceil(variant.tile_out());
    let total_tiles = n * tiles_h * tiles_w;
    let cin_p = cin.next_multiple_of(CHANNEL_QUANTUM);
    let quantum = row_quantum(level, weights.cout_p);
    let block_tiles = block_tiles
        .map(|t| t.next_multiple_of(quantum))
        .unwrap_or_else(|| choose_block_tiles(total_tiles, points, cin_p, weights.cout_p, quantum));
    let v_plane = block_tiles * cin_p + PLANE_PAD;
    let m_plane = block_tiles * weights.cout_p + PLANE_PAD;
    let args = BlockArgs {
        h,
        w,
        cin,
        cout: weights.cout,
        cin_p,
        cout_p: weights.cout_p,
        tiles_w,
        tiles_h,
        total_tiles,
        block_tiles,
        variant,
        v_plane,
        m_plane,
        input: input.data().as_ptr(),
        weights: weights.packed.as_ptr(),
        bias: bias.map_or(std::ptr::null(), |b| b.as_ptr()),
        activation: fast_activation.unwrap_or(FastActivation::None),
        scale: match epilogue.channel_scale {
            Some(sc) if fused => sc.as_ptr(),
            _ => null,
        },
        residual: match epilogue.residual {
            Some(r) if fused => r.data().as_ptr(),
            _ => null,
        },
        post_scale: epilogue.post.map_or(1.0, |(sc, _)| sc),
        post_add: match epilogue.post {
            Some((_, t)) if fused => t.data().as_ptr(),
            _ => null,
        },
        output: output.data_mut().as_mut_ptr(),
    };
    let blocks = total_tiles.div_ceil(block_tiles);
    let generic_epilogue = if fast_activation.is_none() {
        Some(epilogue)
    } else {
        None
    };
    let run = |block: usize| {
        with_scratch(points * (v_plane + m_plane), |scratch| {
            let (v, m) = scratch.split_at_mut(points * v_plane);
            // SAFETY: `level` is supported (asserted above); `args` describes live buffers of the
            // asserted shapes; scratch has the sizes `run_block` needs; blocks write disjoint
            // output pixels.
            unsafe { run_block_at(level, &args, block, v.as_mut_ptr(), m.as_mut_ptr()) };
        });
        if let Some(epi) = generic_epilogue {
            // SAFETY: as above; this block's pixels are written by this block only.
            unsafe { apply_generic_epilogue(&args, block, epi) };
        }
    };
    if blocks == 1 {
        run(0);
    } else {
        (0..blocks).into_par_iter().for_each(run);
    }
}

/// Padding between scratch planes, in floats (one cache line).
const PLANE_PAD: usize = 16;

/// Blocks hold a multiple of this many tiles, so that the GEMM microkernels that `level` uses for
/// `cout_p` columns never see a partial row block.
fn row_quantum(level: SimdLevel, cout_p: usize) -> usize {
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => kernel::avx512_row_quantum(cout_p),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => kernel::AVX2_ROWS,
        _ => kernel::PORTABLE_ROWS,
    }
}

/// Tiles per block: the transformed input and output of one block (points × tiles × channels)
/// should fit in about half of a 1 MiB L2; small images are split into enough blocks to keep
/// every worker busy.
fn choose_block_tiles(
    total_tiles: usize,
    points: usize,
    cin_p: usize,
    cout_p: usize,
    quantum: usize,
) -> usize {
    const SCRATCH_BUDGET_BYTES: usize = 512 * 1024;
    // Below this, the per-block fixed costs (one pass over all packed weights) dominate.
    const MIN_BLOCK_TILES: usize = 12;
    let per_tile = points * (cin_p + cout_p) * std::mem::size_of::<f32>();
    let by_cache = (SCRATCH_BUDGET_BYTES / per_tile).max(MIN_BLOCK_TILES);
    let workers = rayon::current_num_threads().max(1);
    let by_parallelism = total_tiles.div_ceil(4 * workers).max(MIN_BLOCK_TILES);
    by_cache.min(by_parallelism).next_multiple_of(quantum)
}

/// # Safety
/// `level` must be supported; see [`kernel::run_block`].
unsafe fn run_block_at(level: SimdLevel, args: &BlockArgs, block: usize, v: *mut f32, m: *mut f32) {
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => block_avx512(args, block, v, m),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => block_avx2(args, block, v, m),
        _ => kernel::run_block::<simd::Portable>(args, block, v, m),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn block_avx512(args: &BlockArgs, block: usize, v: *mut f32, m: *mut f32) {
    kernel::run_block::<simd::Avx512>(args, block, v, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(args: &BlockArgs, block: usize, v: *mut f32, m: *mut f32) {
    kernel::run_block::<simd::Avx2>(args, block, v, m)
}

/// Runs the full epilogue over the output pixels of `block`, one contiguous output row segment at
/// a time (the bias was already added by the kernel).
///
/// # Safety
/// `args.output` must be the live output buffer; no other thread may touch this block's pixels.
unsafe fn apply_generic_epilogue(args: &BlockArgs, block: usize, epilogue: &Epilogue) {
    let first = block * args.block_tiles;
    let end = (first + args.block_tiles).min(args.total_tiles);
    let mut t = first;
    while t < end {
        let (b, ty, tx) = kernel::tile_coords(args, t);
        // Tiles of this tile row inside the block.
        let run = (args.tiles_w - tx).min(end - t);
        let tile_out = args.variant.tile_out();
        let x0 = tx * tile_out;
        let x1 = ((tx + run) * tile_out).min(args.w);
        for y in ty * tile_out..((ty + 1) * tile_out).min(args.h) {
            let first_pixel = (b * args.h + y) * args.w + x0;
            let chunk = std::slice::from_raw_parts_mut(
                args.output.add(first_pixel * args.cout),
                (x1 - x0) * args.cout,
            );
            epilogue.apply_row(chunk, first_pixel, args.cout, None);
        }
        t += run;
    }
}

thread_local! {
    /// Per-thread kernel scratch, grown to the largest size needed and then reused.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with `len` floats of this thread's scratch, 64-byte aligned.
fn with_scratch(len: usize, f: impl FnOnce(&mut [f32])) {
    const ALIGN_FLOATS: usize = 16;
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len + ALIGN_FLOATS {
            *buf = vec![0.0; len + ALIGN_FLOATS];
        }
        let offset = buf.as_ptr().align_offset(64).min(ALIGN_FLOATS);
        f(&mut buf[offset..offset + len]);
    });
}

#[cfg(test)]
mod tests;
