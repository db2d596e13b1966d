//! Direct convolution for few output channels (1–8: Real-ESRGAN's RGB output conv, RIFE's
//! 16→4 transposed conv), where a GEMM vectorises along the short output-channel axis and an
//! im2col copy costs as much as the arithmetic. Each output pixel is a sum over *segments*
//! (contiguous runs of input channels, read in place; zero padding is simply skipped) dotted
//! with the matching runs of the transposed weights, 16 lanes at a time with AVX-512
//! (explicit intrinsics). Without AVX-512 the callers use the GEMM path instead.

/// Largest output channel count handled here.
pub(crate) const MAX_N: usize = 8;
/// Most segments one output pixel may have (`kh · kw` of the convolution).
pub(crate) const MAX_SEGMENTS: usize = 64;

/// A run of `len` input values at `src` in the input, to be dotted with weights `k_off ..
/// k_off + len` of every output channel's row of `bᵀ`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Segment {
    pub src: usize,
    pub k_off: usize,
    pub len: usize,
}

/// The segments of one output pixel.
pub(crate) struct Segments {
    items: [Segment; MAX_SEGMENTS],
    len: usize,
}

impl Segments {
    #[inline(always)]
    pub fn clear(&mut self) {
        self.len = 0;
    }
    #[inline(always)]
    pub fn push(&mut self, s: Segment) {
        self.items[self.len] = s;
        self.len += 1;
    }
}

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by tests to exercise the GEMM fallback on machines that have AVX-512.
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns the direct kernel off (process-wide) so the portable GEMM path runs instead.
pub(crate) fn set_disabled(disabled: bool) {
    DISABLED.store(disabled, Ordering::Relaxed);
}

/// Whether this CPU runs the direct kernel (and it is not disabled).
pub(crate) fn available() -> bool {
    if DISABLED.load(Ordering::Relaxed) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// For every output pixel `i` of `out` (`n` channels each): `segments(i, &mut segs)` lists its
/// input runs, and `out[i·n + j] = Σ_seg input[seg] · bt[j·k + seg.k_off ..]`.
///
/// Panics (bounds checks per segment) if a segment lies outside `input` or its weight row.
/// Must only be called when [`available`] is true.
pub(crate) fn run(
    n: usize,
    k: usize,
    input: &[f32],
    bt: &[f32],
    out: &mut [f32],
    segments: impl Fn(usize, &mut Segments),
) {
    assert!((1..=MAX_N).contains(&n) && bt.len() >= n * k);
    #[cfg(target_arch = "x86_64")]
    {
        assert!(available(), "narrow kernel needs AVX-512");
        // SAFETY: AVX-512F is present (asserted above).
        unsafe {
            match n {
                1 => avx512::run::<1>(k, input, bt, out, &segments),
                2 => avx512::run::<2>(k, input, bt, out, &segments),
                3 => avx512::run::<3>(k, input, bt, out, &segments),
                4 => avx512::run::<4>(k, input, bt, out, &segments),
                5 => avx512::run::<5>(k, input, bt, out, &segments),
                6 => avx512::run::<6>(k, input, bt, out, &segments),
                7 => avx512::run::<7>(k, input, bt, out, &segments),
                _ => avx512::run::<8>(k, input, bt, out, &segments),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (input, out, segments);
        unreachable!("narrow kernel called without AVX-512");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Segment, Segments, MAX_SEGMENTS};

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn run<const N: usize>(
        k: usize,
        input: &[f32],
        bt: &[f32],
        out: &mut [f32],
        segments: &impl Fn(usize, &mut Segments),
    ) {
        let mut segs = Segments {
            items: [Segment::default(); MAX_SEGMENTS],
            len: 0,
        };
        for (i, o) in out.chunks_exact_mut(N).enumerate() {
            segs.clear();
            segments(i, &mut segs);
            let mut acc = [_mm512_setzero_ps(); N];
            for s in &segs.items[..segs.len] {
                let x = &input[s.src..s.src + s.len];
                assert!(s.k_off + s.len <= k);
                let xp = x.as_ptr();
                let wp = bt.as_ptr().add(s.k_off);
                let full = s.len / 16 * 16;
                let mut c = 0;
                while c < full {
                    let xv = _mm512_loadu_ps(xp.add(c));
                    for (j, a) in acc.iter_mut().enumerate() {
                        // In bounds: j < N, bt.len() >= N·k, k_off + c + 16 <= k.
                        *a = _mm512_fmadd_ps(xv, _mm512_loadu_ps(wp.add(j * k + c)), *a);
                    }
                    c += 16;
                }
                if c < s.len {
                    // 1..=15 remaining lanes.
                    let mask: __mmask16 = ((1u32 << (s.len - c)) - 1) as u16;
                    let xv = _mm512_maskz_loadu_ps(mask, xp.add(c));
                    for (j, a) in acc.iter_mut().enumerate() {
                        let wv = _mm512_maskz_loadu_ps(mask, wp.add(j * k + c));
                        *a = _mm512_fmadd_ps(xv, wv, *a);
                    }
                }
            }
            for (o, a) in o.iter_mut().zip(acc) {
                *o = _mm512_reduce_add_ps(a);
            }
        }
    }
}
