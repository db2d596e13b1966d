//! The Winograd F(m×m, 3×3) block kernel (m = 4 or 6), generic over [`Simd`] and the tile
//! variant ([`Tile`]): input transform, the (m+2)² small GEMMs and the output transform (+ bias
//! and the in-register part of the epilogue) for one block of tiles, so that the transformed data
//! never leaves L2.
//!
//! Tiles are numbered in one flat list over (batch, tile row, tile column); a block is a run of
//! `block_tiles` consecutive tiles (a multiple of every microkernel row count used, so the GEMM microkernels never
//! see a partial row block; rows past the last tile are computed and ignored).
//!
//! F(4×4, 3×3) matrices (interpolation points 0, ±1, ±2, ∞; Lavin & Gray 2015):
//! ```text
//! Bᵀ = [4  0 -5  0 1 0]    Aᵀ = [1 1  1 1  1 0]    G = [ 1/4     0     0 ]
//!      [0 -4 -4  1 1 0]         [0 1 -1 2 -2 0]        [-1/6  -1/6  -1/6 ]
//!      [0  4 -4 -1 1 0]         [0 1  1 4  4 0]        [-1/6   1/6  -1/6 ]
//!      [0 -2 -1  2 1 0]         [0 1 -1 8 -8 1]        [1/24  1/12   1/6 ]
//!      [0  2 -1 -2 1 0]                                [1/24 -1/12   1/6 ]
//!      [0  4  0 -5 0 1]                                [   0     0     1 ]
//! ```
//! F(6×6, 3×3) matrices are at [`F6`]; `G` for both is in the parent module.

use super::simd::Simd;

/// Which Winograd algorithm a set of packed weights (and so the kernel) uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// F(4×4, 3×3): 6×6 input tiles, 36 points.
    F4,
    /// F(6×6, 3×3): 8×8 input tiles, 64 points.
    F6,
}

impl Variant {
    /// Output tile edge.
    pub(crate) fn tile_out(self) -> usize {
        match self {
            Variant::F4 => F4::OUT,
            Variant::F6 => F6::OUT,
        }
    }
    /// Input tile edge.
    pub(crate) fn tile_in(self) -> usize {
        self.tile_out() + 2
    }
    /// Transformed-domain points, i.e. small GEMMs per block.
    pub(crate) fn points(self) -> usize {
        self.tile_in() * self.tile_in()
    }
}
/// Rows of the AVX-512 microkernel for a column panel of `nv` 16-lane vectors (24 or 12
/// accumulators of the 32 registers).
pub(crate) const fn avx512_rows(nv: usize) -> usize {
    match nv {
        4 => 6,
        3 => 8,
        _ => 12,
    }
}
/// Rows of the AVX2 microkernel (6 × 2 accumulators of the 16 registers).
pub(crate) const AVX2_ROWS: usize = 6;
/// Rows of the portable microkernel.
pub(crate) const PORTABLE_ROWS: usize = 4;

/// Blocks must hold a multiple of this many tiles with AVX-512 for `cols` output columns: the
/// least common multiple of the row counts of the panels [`Isa::gemm`] splits `cols` into.
pub(crate) fn avx512_row_quantum(cols: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut q = 1;
    let mut j = 0;
    while j < cols {
        let nv = ((cols - j) / 16).clamp(1, 4);
        let r = avx512_rows(nv);
        q = q / gcd(q, r) * r;
        j += nv * 16;
    }
    q
}
/// Channel counts are padded to a multiple of this in the scratch and packed-weight layouts
/// (the widest vector), so every vector load/store there is a full one.
pub(crate) const CHANNEL_QUANTUM: usize = 16;

/// The activation done in registers right after the output transform.
#[derive(Clone, Copy)]
pub(crate) enum FastActivation {
    None,
    Relu,
    /// `x` if `x >= 0` else `slope * x` (LeakyReLU, or PReLU with one shared parameter).
    Leaky(f32),
    /// Per-channel PReLU slopes (`cout` values).
    PRelu(*const f32),
}

/// Everything a block needs, shared by all blocks of one call.
#[derive(Clone, Copy)]
pub(crate) struct BlockArgs {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub cin_p: usize,
    pub cout_p: usize,
    pub tiles_w: usize,
    pub tiles_h: usize,
    pub total_tiles: usize,
    pub block_tiles: usize,
    pub variant: Variant,
    /// Elements between consecutive points' planes in the `v` scratch (`block_tiles · cin_p`
    /// plus a cache line, so the 36 planes do not all map to the same L1 sets).
    pub v_plane: usize,
    /// Same for the `m` scratch (`block_tiles · cout_p` plus a cache line).
    pub m_plane: usize,
    pub input: *const f32,
    /// Packed transformed weights `[points][cin][cout_p]`.
    pub weights: *const f32,
    /// `cout` values, or null.
    pub bias: *const f32,
    pub activation: FastActivation,
    /// Per-channel scale (`cout` values), or null.
    pub scale: *const f32,
    /// Residual tensor shaped like the output, or null.
    pub residual: *const f32,
    /// Post-activation multiplier (used with `post_add`).
    pub post_scale: f32,
    /// Post-activation addend tensor shaped like the output, or null.
    pub post_add: *const f32,
    pub output: *mut f32,
}

// SAFETY: the pointers are only read, except `output`, where each block writes a disjoint set of
// pixels.
unsafe impl Send for BlockArgs {}
unsafe impl Sync for BlockArgs {}

/// Per-ISA choice of GEMM microkernels.
pub(crate) trait Isa: Simd {
    /// `c[rows × cols] = a[rows × k] · b[k × cols]`, `rows` a multiple of the row count of every microkernel used,
    /// `cols` a multiple of [`CHANNEL_QUANTUM`]; leading dimensions in elements.
    ///
    /// # Safety
    /// The CPU must support the ISA; the pointers must cover the described matrices.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        k: usize,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        cols: usize,
    );
}

/// Register-blocked `R × (NV·LANES)` microkernel: `c = a · b` over the full depth `k`.
/// Rows of `a` are broadcast one scalar at a time; `b` rows are loaded as `NV` vectors.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn micro<S: Simd, const R: usize, const NV: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
) {
    let mut acc = [[S::zero(); NV]; R];
    for p in 0..k {
        let brow = b.add(p * ldb);
        let mut bv = [S::zero(); NV];
        for (v, slot) in bv.iter_mut().enumerate() {
            *slot = S::load(brow.add(v * S::LANES));
        }
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let av = S::splat(*a.add(r * lda + p));
            for (slot, &bvv) in acc_row.iter_mut().zip(bv.iter()) {
                *slot = S::fmadd(av, bvv, *slot);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        for (v, &x) in acc_row.iter().enumerate() {
            S::store(c.add(r * ldc + v * S::LANES), x);
        }
    }
}

/// Runs microkernel `micro::<S, R, NV>` over all row blocks of one column panel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel<S: Simd, const R: usize, const NV: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    k: usize,
    c: *mut f32,
    ldc: usize,
    rows: usize,
) {
    let mut r = 0;
    while r < rows {
        micro::<S, R, NV>(a.add(r * lda), lda, b, ldb, k, c.add(r * ldc), ldc);
        r += R;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_isa {
    use super::*;
    use crate::winograd::simd::{Avx2, Avx512};

    impl Isa for Avx512 {
        #[inline]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn gemm(
            a: *const f32,
            lda: usize,
            b: *const f32,
            ldb: usize,
            k: usize,
            c: *mut f32,
            ldc: usize,
            rows: usize,
            cols: usize,
        ) {
            // Column panels of up to 4 vectors (64 channels); 24 accumulators where possible.
            let mut j = 0;
            while j < cols {
                let nv = ((cols - j) / 16).clamp(1, 4);
                let (bj, cj) = (b.add(j), c.add(j));
                match nv {
                    4 => panel::<Avx512, { avx512_rows(4) }, 4>(a, lda, bj, ldb, k, cj, ldc, rows),
                    3 => panel::<Avx512, { avx512_rows(3) }, 3>(a, lda, bj, ldb, k, cj, ldc, rows),
                    2 => panel::<Avx512, { avx512_rows(2) }, 2>(a, lda, bj, ldb, k, cj, ldc, rows),
                    _ => panel::<Avx512, { avx512_rows(1) }, 1>(a, lda, bj, ldb, k, cj, ldc, rows),
                }
                j += nv * 16;
            }
        }
    }

    impl Isa for Avx2 {
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn gemm(
            a: *const f32,
            lda: usize,
            b: *const f32,
            ldb: usize,
            k: usize,
            c: *mut f32,
            ldc: usize,
            rows: usize,
            cols: usize,
        ) {
            // 16 ymm registers: 6 × 2 accumulators + 2 B vectors + 1 broadcast.
            let mut j = 0;
            while j < cols {
                panel::<Avx2, AVX2_ROWS, 2>(a, lda, b.add(j), ldb, k, c.add(j), ldc, rows);
                j += 16;
            }
        }
    }
}

impl Isa for super::simd::Portable {
    #[inline]
    unsafe fn gemm(
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        k: usize,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        cols: usize,
    ) {
        let mut j = 0;
        while j < cols {
            panel::<Self, PORTABLE_ROWS, 2>(a, lda, b.add(j), ldb, k, c.add(j), ldc, rows);
            j += 16;
        }
    }
}

/// One Winograd variant F(m×m, 3×3): tile sizes and the 1-D transforms. Transform arrays are
/// fixed at 8 vectors; variants with smaller tiles use the first `IN` (or `OUT`) entries, and the
/// unused ones vanish after inlining.
pub(crate) trait Tile {
    /// Output tile edge `m`.
    const OUT: usize;
    /// Input tile edge `m + 2`.
    const IN: usize;
    /// 1-D input transform `Bᵀ d`.
    unsafe fn input_1d<S: Simd>(d: &[S::V; 8]) -> [S::V; 8];
    /// 1-D output transform `Aᵀ m`.
    unsafe fn output_1d<S: Simd>(m: &[S::V; 8]) -> [S::V; 8];
}

/// F(4×4, 3×3): points 0, ±1, ±2, ∞ (matrices in the module docs).
pub(crate) struct F4;

/// F(6×6, 3×3): points 0, ±1, ±2, ±1/2, ∞.
/// ```text
/// Bᵀ = [1    0 -21/4     0  21/4     0 -1 0]   Aᵀ = [1 1  1  1   1    1     1   0]
///      [0    1     1 -17/4 -17/4     1  1 0]        [0 1 -1  2  -2  1/2  -1/2   0]
///      [0   -1     1  17/4 -17/4    -1  1 0]        [0 1  1  4   4  1/4   1/4   0]
///      [0  1/2   1/4  -5/2  -5/4     2  1 0]        [0 1 -1  8  -8  1/8  -1/8   0]
///      [0 -1/2   1/4   5/2  -5/4    -2  1 0]        [0 1  1 16  16 1/16  1/16   0]
///      [0    2     4  -5/2    -5   1/2  1 0]        [0 1 -1 32 -32 1/32 -1/32   1]
///      [0   -2     4   5/2    -5  -1/2  1 0]
///      [0   -1     0  21/4     0 -21/4  0 1]
/// ```
pub(crate) struct F6;

impl Tile for F4 {
    const OUT: usize = 4;
    const IN: usize = 6;
    #[inline(always)]
    unsafe fn input_1d<S: Simd>(d: &[S::V; 8]) -> [S::V; 8] {
        let (c4, c5, c2) = (S::splat(4.0), S::splat(-5.0), S::splat(2.0));
        let (m4, m2) = (S::splat(-4.0), S::splat(-2.0));
        let d12 = S::add(d[1], d[2]);
        let d34 = S::add(d[3], d[4]);
        let e12 = S::sub(d[1], d[2]);
        let e43 = S::sub(d[4], d[3]);
        let e42 = S::sub(d[4], d[2]);
        let e31 = S::sub(d[3], d[1]);
        let z = S::zero();
        [
            S::fmadd(c4, d[0], S::fmadd(c5, d[2], d[4])),
            S::fmadd(m4, d12, d34),
            S::fmadd(c4, e12, e43),
            S::fmadd(c2, e31, e42),
            S::fmadd(m2, e31, e42),
            S::fmadd(c4, d[1], S::fmadd(c5, d[3], d[5])),
            z,
            z,
        ]
    }
    #[inline(always)]
    unsafe fn output_1d<S: Simd>(m: &[S::V; 8]) -> [S::V; 8] {
        let a = S::add(m[1], m[2]);
        let b = S::sub(m[1], m[2]);
        let c = S::add(m[3], m[4]);
        let d = S::sub(m[3], m[4]);
        let z = S::zero();
        [
            S::add(S::add(m[0], a), c),
            S::fmadd(S::splat(2.0), d, b),
            S::fmadd(S::splat(4.0), c, a),
            S::add(S::fmadd(S::splat(8.0), d, b), m[5]),
            z,
            z,
            z,
            z,
        ]
    }
}

impl Tile for F6 {
    const OUT: usize = 6;
    const IN: usize = 8;
    #[inline(always)]
    unsafe fn input_1d<S: Simd>(d: &[S::V; 8]) -> [S::V; 8] {
        let k = |x: f32| S::splat(x);
        let r0 = S::fmadd(k(5.25), S::sub(d[4], d[2]), S::sub(d[0], d[6]));
        let r7 = S::fmadd(k(5.25), S::sub(d[3], d[5]), S::sub(d[7], d[1]));
        let t1 = S::fmadd(k(-4.25), d[4], S::add(d[2], d[6]));
        let t2 = S::fmadd(k(-4.25), d[3], S::add(d[1], d[5]));
        let (r1, r2) = (S::add(t1, t2), S::sub(t1, t2));
        let t1 = S::fmadd(k(0.25), d[2], S::fmadd(k(-1.25), d[4], d[6]));
        let t2 = S::fmadd(k(0.5), d[1], S::fmadd(k(-2.5), d[3], S::add(d[5], d[5])));
        let (r3, r4) = (S::add(t1, t2), S::sub(t1, t2));
        let t1 = S::fmadd(k(4.0), d[2], S::fmadd(k(-5.0), d[4], d[6]));
        let t2 = S::fmadd(k(2.0), d[1], S::fmadd(k(-2.5), d[3], S::mul(k(0.5), d[5])));
        let (r5, r6) = (S::add(t1, t2), S::sub(t1, t2));
        [r0, r1, r2, r3, r4, r5, r6, r7]
    }
    #[inline(always)]
    unsafe fn output_1d<S: Simd>(m: &[S::V; 8]) -> [S::V; 8] {
        let k = |x: f32| S::splat(x);
        let (a1, b1) = (S::add(m[1], m[2]), S::sub(m[1], m[2]));
        let (a2, b2) = (S::add(m[3], m[4]), S::sub(m[3], m[4]));
        let (a3, b3) = (S::add(m[5], m[6]), S::sub(m[5], m[6]));
        let z = S::zero();
        [
            S::add(S::add(m[0], a1), S::add(a2, a3)),
            S::fmadd(k(2.0), b2, S::fmadd(k(0.5), b3, b1)),
            S::fmadd(k(4.0), a2, S::fmadd(k(0.25), a3, a1)),
            S::fmadd(k(8.0), b2, S::fmadd(k(0.125), b3, b1)),
            S::fmadd(k(16.0), a2, S::fmadd(k(0.0625), a3, a1)),
            S::add(S::fmadd(k(32.0), b2, S::fmadd(k(0.03125), b3, b1)), m[7]),
            z,
            z,
        ]
    }
}

/// (batch, tile row, tile column) of flat tile index `t`.
#[inline(always)]
pub(crate) fn tile_coords(args: &BlockArgs, t: usize) -> (usize, usize, usize) {
    let per_image = args.tiles_h * args.tiles_w;
    let b = t / per_image;
    let r = t % per_image;
    (b, r / args.tiles_w, r % args.tiles_w)
}

/// How many tiles ahead the input transform prefetches: the image is far larger than L2, and the
/// transform's strided loads across six rows defeat the hardware prefetchers.
const PREFETCH_TILES: usize = 4;

/// Prefetches the input pixels of tile `t` that the tile before it did not read: its last `OUT`
/// columns in each of its `IN` rows.
#[inline(always)]
unsafe fn prefetch_input_tile<S: Simd, T: Tile>(args: &BlockArgs, t: usize) {
    let (b, ty, tx) = tile_coords(args, t);
    let x_start = tx * T::OUT + T::IN - T::OUT - 1;
    if x_start >= args.w {
        return;
    }
    let x_end = (x_start + T::OUT).min(args.w);
    let y0 = (ty * T::OUT) as isize - 1;
    let floats = (x_end - x_start) * args.cin;
    for i in 0..T::IN as isize {
        let y = y0 + i;
        if y < 0 || y >= args.h as isize {
            continue;
        }
        let row = args
            .input
            .add(((b * args.h + y as usize) * args.w + x_start) * args.cin);
        let mut off = 0;
        while off < floats {
            S::prefetch(row.add(off));
            off += 16;
        }
        // The last line may start past the last 64-byte step.
        S::prefetch(row.add(floats - 1));
    }
}

/// Prefetches the output pixels of tile `t`, and the residual / post-add pixels the epilogue will
/// read (the stores would otherwise each wait for their line
/// to be read from memory).
#[inline(always)]
unsafe fn prefetch_output_tile<S: Simd, T: Tile>(args: &BlockArgs, t: usize) {
    let (b, ty, tx) = tile_coords(args, t);
    let x0 = tx * T::OUT;
    let floats = ((x0 + T::OUT).min(args.w) - x0) * args.cout;
    // The output, and the epilogue's tensors shaped like it.
    for base in [args.output as *const f32, args.residual, args.post_add] {
        if base.is_null() {
            continue;
        }
        for y in ty * T::OUT..((ty + 1) * T::OUT).min(args.h) {
            let row = base.add(((b * args.h + y) * args.w + x0) * args.cout);
            let mut off = 0;
            while off < floats {
                S::prefetch(row.add(off));
                off += 16;
            }
            S::prefetch(row.add(floats - 1));
        }
    }
}

/// Row pass of the input transform for one channel chunk of a tile that touches the image border
/// or has a partial chunk: rows and columns outside the image read as zero (the padding).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn input_rows_checked<S: Simd, T: Tile>(
    args: &BlockArgs,
    image: *const f32,
    y0: isize,
    x0: isize,
    c0: usize,
    lanes: usize,
    rows_ptr: *mut [S::V; 8],
) {
    let (h, w, cin) = (args.h as isize, args.w as isize, args.cin);
    for i in 0..T::IN {
        let y = y0 + i as isize;
        if y < 0 || y >= h {
            rows_ptr.add(i).write([S::zero(); 8]);
            continue;
        }
        let row = image.add((y as usize * args.w) * cin + c0);
        let mut d = [S::zero(); 8];
        for (j, dj) in d.iter_mut().enumerate().take(T::IN) {
            let x = x0 + j as isize;
            if x >= 0 && x < w {
                let p = row.add(x as usize * cin);
                *dj = if lanes == S::LANES {
                    S::load(p)
                } else {
                    S::load_partial(p, lanes)
                };
            }
        }
        rows_ptr.add(i).write(T::input_1d::<S>(&d));
    }
}

/// Transforms the `IN×IN×cin` input patch of tile `t` into `v[k][slot][..cin]`.
#[inline(always)]
unsafe fn input_tile<S: Simd, T: Tile>(args: &BlockArgs, t: usize, v: *mut f32, slot: usize) {
    let (b, ty, tx) = tile_coords(args, t);
    let (h, w, cin) = (args.h as isize, args.w as isize, args.cin);
    let y0 = (ty * T::OUT) as isize - 1;
    let x0 = (tx * T::OUT) as isize - 1;
    let kstride = args.v_plane;
    let dst = v.add(slot * args.cin_p);
    let image = args.input.add(b * args.h * args.w * cin);
    let interior = y0 >= 0 && y0 + T::IN as isize <= h && x0 >= 0 && x0 + T::IN as isize <= w;
    // Only the first `cin` columns of a `v` row are read by the GEMM; the padding is left alone.
    let mut c0 = 0;
    while c0 < cin {
        let lanes = (cin - c0).min(S::LANES);
        // Uninitialised rather than zero-filled: zeroing an 8×8 array of vectors is a 4 KiB
        // memset per tile and channel chunk. Rows `0..IN` are all written below and only those
        // are read.
        let mut rows_mem = std::mem::MaybeUninit::<[[S::V; 8]; 8]>::uninit();
        let rows_ptr = rows_mem.as_mut_ptr() as *mut [S::V; 8];
        if interior && lanes == S::LANES {
            // Fast path (most tiles): no bounds checks, full vectors.
            let first = image.add((y0 as usize * args.w + x0 as usize) * cin + c0);
            for i in 0..T::IN {
                let row = first.add(i * args.w * cin);
                let mut d = [S::zero(); 8];
                for (j, dj) in d.iter_mut().enumerate().take(T::IN) {
                    *dj = S::load(row.add(j * cin));
                }
                rows_ptr.add(i).write(T::input_1d::<S>(&d));
            }
        } else {
            input_rows_checked::<S, T>(args, image, y0, x0, c0, lanes, rows_ptr);
        }
        // Column pass: `j` indexes the inner dimension of every row (a transpose).
        #[allow(clippy::needless_range_loop)]
        for j in 0..T::IN {
            let mut col = [S::zero(); 8];
            for i in 0..T::IN {
                col[i] = (*rows_ptr.add(i))[j];
            }
            let tc = T::input_1d::<S>(&col);
            for (i, &x) in tc.iter().enumerate().take(T::IN) {
                S::store(dst.add((i * T::IN + j) * kstride + c0), x);
            }
        }
        c0 += S::LANES;
    }
}

/// Output transform of tile `t` from `m[k][slot][..cout_p]`, plus bias and the fast activation,
/// stored into the output image (pixels outside the image are dropped).
#[inline(always)]
unsafe fn output_tile<S: Simd, T: Tile>(args: &BlockArgs, t: usize, m: *const f32, slot: usize) {
    let (b, ty, tx) = tile_coords(args, t);
    let cout = args.cout;
    let kstride = args.m_plane;
    let src = m.add(slot * args.cout_p);
    let rows_valid = (args.h - ty * T::OUT).min(T::OUT);
    let cols_valid = (args.w - tx * T::OUT).min(T::OUT);
    let out_base = args
        .output
        .add(((b * args.h + ty * T::OUT) * args.w + tx * T::OUT) * cout);
    let mut c0 = 0;
    while c0 < cout {
        let lanes = (cout - c0).min(S::LANES);
        let load = |p: *const f32| {
            if lanes == S::LANES {
                S::load(p)
            } else {
                S::load_partial(p, lanes)
            }
        };
        // Uninitialised, not zero-filled (see `input_tile`); rows `0..IN` are written and read.
        let mut s_mem = std::mem::MaybeUninit::<[[S::V; 8]; 8]>::uninit();
        let s_ptr = s_mem.as_mut_ptr() as *mut [S::V; 8];
        for i in 0..T::IN {
            let mut row = [S::zero(); 8];
            for (j, rj) in row.iter_mut().enumerate().take(T::IN) {
                *rj = S::load(src.add((i * T::IN + j) * kstride + c0));
            }
            s_ptr.add(i).write(T::output_1d::<S>(&row));
        }
        let bias = if args.bias.is_null() {
            S::zero()
        } else {
            load(args.bias.add(c0))
        };
        let zero = S::zero();
        let (slope, act) = match args.activation {
            FastActivation::None => (zero, 0u8),
            FastActivation::Relu => (zero, 1),
            FastActivation::Leaky(a) => (S::splat(a), 2),
            FastActivation::PRelu(p) => (load(p.add(c0)), 2),
        };
        let out_chunk = out_base.add(c0);
        // Element offset of this chunk's first pixel, for the tensors shaped like the output.
        let offset = out_chunk.offset_from(args.output) as usize;
        let epi = ColumnEpilogue::<S> {
            bias,
            scale: (!args.scale.is_null()).then(|| load(args.scale.add(c0))),
            residual: if args.residual.is_null() {
                std::ptr::null()
            } else {
                args.residual.add(offset)
            },
            slope,
            act,
            post_scale: S::splat(args.post_scale),
            post_add: if args.post_add.is_null() {
                std::ptr::null()
            } else {
                args.post_add.add(offset)
            },
            row_stride: args.w * cout,
        };
        if rows_valid == T::OUT && cols_valid == T::OUT && lanes == S::LANES {
            // Interior tile, full vectors: constant trip counts, no masks.
            for j in 0..T::OUT {
                output_column::<S, T>(s_ptr, j, T::OUT, S::LANES, &epi, out_chunk, j * cout);
            }
        } else {
            for j in 0..cols_valid {
                output_column::<S, T>(s_ptr, j, rows_valid, lanes, &epi, out_chunk, j * cout);
            }
        }
        c0 += S::LANES;
    }
}

/// The epilogue as done in registers by [`output_column`]:
/// `y = act((x + bias) · scale + residual) · post_scale + post_add`, each term optional.
struct ColumnEpilogue<S: Simd> {
    bias: S::V,
    scale: Option<S::V>,
    /// This chunk's first element in the residual tensor, or null.
    residual: *const f32,
    slope: S::V,
    /// 0: none, 1: ReLU, 2: leaky/PReLU with `slope`.
    act: u8,
    post_scale: S::V,
    /// This chunk's first element in the post-add tensor, or null.
    post_add: *const f32,
    /// Elements between vertically adjacent output pixels.
    row_stride: usize,
}

/// Column pass of the output transform for column `j` of a tile, then the epilogue, stored to the
/// first `rows` pixels going down from `out + col_offset` (`lanes` channels each).
#[inline(always)]
unsafe fn output_column<S: Simd, T: Tile>(
    s_ptr: *const [S::V; 8],
    j: usize,
    rows: usize,
    lanes: usize,
    epi: &ColumnEpilogue<S>,
    out: *mut f32,
    col_offset: usize,
) {
    let mut col = [S::zero(); 8];
    for (i, c) in col.iter_mut().enumerate().take(T::IN) {
        *c = (*s_ptr.add(i))[j];
    }
    let o = T::output_1d::<S>(&col);
    let zero = S::zero();
    let load = |p: *const f32| {
        if lanes == S::LANES {
            S::load(p)
        } else {
            S::load_partial(p, lanes)
        }
    };
    for (i, &oi) in o.iter().enumerate().take(rows) {
        let at = col_offset + i * epi.row_stride;
        let mut x = S::add(oi, epi.bias);
        if let Some(scale) = epi.scale {
            x = S::mul(x, scale);
        }
        if !epi.residual.is_null() {
            x = S::add(x, load(epi.residual.add(at)));
        }
        x = match epi.act {
            0 => x,
            1 => S::max(x, zero),
            // x >= 0 ? x : a·x  ==  max(x, 0) + a·min(x, 0), exactly.
            _ => S::fmadd(epi.slope, S::min(x, zero), S::max(x, zero)),
        };
        if !epi.post_add.is_null() {
            x = S::fmadd(x, epi.post_scale, load(epi.post_add.add(at)));
        }
        let p = out.add(at);
        if lanes == S::LANES {
            S::store(p, x);
        } else {
            S::store_partial(p, x, lanes);
        }
    }
}

/// Computes block `block` completely. `v` and `m` are scratch of `points · v_plane` and
/// `points · m_plane` floats.
#[inline(always)]
pub(crate) unsafe fn run_block<S: Isa>(args: &BlockArgs, block: usize, v: *mut f32, m: *mut f32) {
    match args.variant {
        Variant::F4 => run_block_tiles::<S, F4>(args, block, v, m),
        Variant::F6 => run_block_tiles::<S, F6>(args, block, v, m),
    }
}

#[inline(always)]
unsafe fn run_block_tiles<S: Isa, T: Tile>(
    args: &BlockArgs,
    block: usize,
    v: *mut f32,
    m: *mut f32,
) {
    let first = block * args.block_tiles;
    let count = (args.total_tiles - first).min(args.block_tiles);
    for slot in 0..count {
        if slot + PREFETCH_TILES < count {
            prefetch_input_tile::<S, T>(args, first + slot + PREFETCH_TILES);
        }
        input_tile::<S, T>(args, first + slot, v, slot);
    }
    for k in 0..T::IN * T::IN {
        S::gemm(
            v.add(k * args.v_plane),
            args.cin_p,
            args.weights.add(k * args.cin * args.cout_p),
            args.cout_p,
            args.cin,
            m.add(k * args.m_plane),
            args.cout_p,
            args.block_tiles,
            args.cout_p,
        );
    }
    for slot in 0..count {
        if slot + PREFETCH_TILES < count {
            prefetch_output_tile::<S, T>(args, first + slot + PREFETCH_TILES);
        }
        output_tile::<S, T>(args, first + slot, m, slot);
    }
}
