//! The AMX block kernel: 32 output pixels × all output channels of one row, as 16×16 `f32`
//! accumulator tiles fed by `tdpbf16ps` (16 pixels × 32 input channels) · (32 input channels ×
//! 16 output channels) per instruction. Tile instructions are not stable Rust intrinsics, so
//! they are written as inline assembly; the compiler never allocates tile registers itself, so
//! tmm0–tmm7 are ours between `ldtilecfg` and `tilerelease`.
//!
//! Register plan: tmm0–tmm3 accumulate (2 pixel tiles × 2 channel tiles), tmm4/tmm5 hold the
//! two pixel tiles (A, loaded straight from the bf16 window with the pixel stride), tmm6/tmm7
//! the two weight tiles (B). Each step loads 4 tiles and runs 4 `tdpbf16ps` (the usual 2×2
//! blocking: the 8 tile registers allow no larger one).

use super::{RowArgs, BLOCK_PX, K_BLOCK, N_TILE, TILE_ELEMS};

/// Output pixels per AMX micro-block (two A tiles).
const AMX_PX: usize = 32;
const _: () = assert!(BLOCK_PX.is_multiple_of(AMX_PX));

/// Palette 1, eight tiles of 16 rows × 64 bytes.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

fn tile_config() -> TileConfig {
    let mut c = [0u8; 64];
    c[0] = 1; // palette
    for t in 0..8 {
        c[16 + 2 * t..18 + 2 * t].copy_from_slice(&64u16.to_le_bytes()); // bytes per row
        c[48 + t] = 16; // rows
    }
    TileConfig(c)
}

/// Tile registers configured on this thread for the session's lifetime (released on drop, so
/// the thread's later context switches save no tile data).
pub(super) struct TileSession(());

impl TileSession {
    /// Call only when AMX is usable (`Bf16Kernel::Amx.is_supported()`).
    pub(super) fn start() -> Self {
        let cfg = tile_config();
        // SAFETY: the process holds the tile-state permission (the caller checked AMX is
        // usable); `cfg` is a valid 64-byte palette-1 configuration.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
        }
        let _ = cfg;
        TileSession(())
    }
}

impl Drop for TileSession {
    fn drop(&mut self) {
        // SAFETY: tiles were configured by `start` on this thread.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("tilerelease", options(nostack, nomem));
        }
    }
}

/// Computes pixels `x0 .. x0 + BLOCK_PX` of the row into `a.cbuf` (`cout_p` floats per pixel).
///
/// # Safety
/// A [`TileSession`] is active on this thread; the window rows hold at least `x0 + BLOCK_PX +
/// kw − 1` pixels; `cbuf` holds `BLOCK_PX · cout_p` floats.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn block(a: &RowArgs, x0: usize) {
    use std::arch::asm;
    let w = a.weights;
    let (kw, taps, kbs, n_tiles) = (w.kw, w.taps(), w.k_blocks(), w.n_tiles);
    let cout_p = n_tiles * N_TILE;
    let a_stride = a.a_stride * 2; // bytes between pixels
    let c_stride = cout_p * 4; // bytes between accumulator rows (pixels)
    let b_stride = 64usize;
    let tiles = w.tiles.as_ptr();
    let tile_at =
        |nt: usize, t: usize, kb: usize| tiles.add(((nt * taps + t) * kbs + kb) * TILE_ELEMS);
    for sub in (0..BLOCK_PX).step_by(AMX_PX) {
        let xs = x0 + sub;
        if !a.next_row.is_null() {
            // The next output row's new source row, from memory into L2 while this computes
            // (the kernel reads bf16 activations in place, first touch of each row misses).
            let p = a.next_row.add(xs * a.a_stride) as *const i8;
            let bytes = AMX_PX * a.a_stride * 2;
            for line in (0..bytes).step_by(64) {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(p.add(line));
            }
        }
        let mut nt = 0;
        while nt < n_tiles {
            let pair = nt + 1 < n_tiles;
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
            for (ky, &row) in a.rows.iter().enumerate() {
                for kx in 0..kw {
                    let t = ky * kw + kx;
                    let a0 = row.add((xs + kx) * a.a_stride);
                    let a1 = a0.add(16 * a.a_stride);
                    for kb in 0..kbs {
                        let b0 = tile_at(nt, t, kb);
                        // Tile loads do not overlap with the products that read the tile
                        // registers they overwrite (no renaming), so an L2 miss stalls the
                        // whole step: fetch the next step's weight tiles (the next `kb`, or
                        // the next tap's first; 1 KiB each) into L1 while this one computes.
                        let next = if kb + 1 < kbs {
                            (t, kb + 1)
                        } else {
                            ((t + 1) % taps, 0)
                        };
                        prefetch_tile(tile_at(nt, next.0, next.1));
                        if pair {
                            prefetch_tile(tile_at(nt + 1, next.0, next.1));
                            let b1 = tile_at(nt + 1, t, kb);
                            asm!(
                                "tileloadd tmm4, [{a0} + {sa}*1]",
                                "tileloadd tmm6, [{b0} + {sb}*1]",
                                "tdpbf16ps tmm0, tmm4, tmm6",
                                "tileloadd tmm7, [{b1} + {sb}*1]",
                                "tdpbf16ps tmm1, tmm4, tmm7",
                                "tileloadd tmm5, [{a1} + {sa}*1]",
                                "tdpbf16ps tmm2, tmm5, tmm6",
                                "tdpbf16ps tmm3, tmm5, tmm7",
                                a0 = in(reg) a0.add(kb * K_BLOCK),
                                a1 = in(reg) a1.add(kb * K_BLOCK),
                                b0 = in(reg) b0,
                                b1 = in(reg) b1,
                                sa = in(reg) a_stride,
                                sb = in(reg) b_stride,
                                options(nostack, readonly)
                            );
                        } else {
                            asm!(
                                "tileloadd tmm4, [{a0} + {sa}*1]",
                                "tileloadd tmm6, [{b0} + {sb}*1]",
                                "tdpbf16ps tmm0, tmm4, tmm6",
                                "tileloadd tmm5, [{a1} + {sa}*1]",
                                "tdpbf16ps tmm2, tmm5, tmm6",
                                a0 = in(reg) a0.add(kb * K_BLOCK),
                                a1 = in(reg) a1.add(kb * K_BLOCK),
                                b0 = in(reg) b0,
                                sa = in(reg) a_stride,
                                sb = in(reg) b_stride,
                                options(nostack, readonly)
                            );
                        }
                    }
                }
            }
            let c0 = a.cbuf.add(sub * cout_p + nt * N_TILE);
            let c1 = c0.add(16 * cout_p);
            if pair {
                asm!(
                    "tilestored [{c0} + {sc}*1], tmm0",
                    "tilestored [{c0} + {sc}*1 + 64], tmm1",
                    "tilestored [{c1} + {sc}*1], tmm2",
                    "tilestored [{c1} + {sc}*1 + 64], tmm3",
                    c0 = in(reg) c0,
                    c1 = in(reg) c1,
                    sc = in(reg) c_stride,
                    options(nostack)
                );
            } else {
                asm!(
                    "tilestored [{c0} + {sc}*1], tmm0",
                    "tilestored [{c1} + {sc}*1], tmm2",
                    c0 = in(reg) c0,
                    c1 = in(reg) c1,
                    sc = in(reg) c_stride,
                    options(nostack)
                );
            }
            nt += 2;
        }
    }
}

/// Prefetches one packed 1 KiB tile into L1.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch_tile(tile: *const u16) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    let p = tile as *const i8;
    for line in 0..16 {
        _mm_prefetch::<_MM_HINT_T0>(p.add(line * 64));
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn block(_a: &RowArgs, _x0: usize) {
    unreachable!("AMX kernel on a non-x86 CPU");
}
