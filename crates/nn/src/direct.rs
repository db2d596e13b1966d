//! Direct convolution for 9–32 output channels (one or two 16-lane vectors per pixel), AVX-512:
//! each input value is broadcast and multiplied into the output channels' weight vector,
//! reading the input in place. For these widths im2col + GEMM is bound by copying (each copied
//! input value feeds only 16–32 multiply-adds), e.g. RIFE's full-resolution 28→16 and 3→16
//! stride-2 convolutions. Four neighbouring output pixels share each weight load.

/// Output channel range handled here.
pub(crate) const MIN_N: usize = 9;
pub(crate) const MAX_N: usize = 32;

/// The convolution's geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

/// Whether this CPU runs the direct kernel (and the narrow kernels are not disabled).
pub(crate) fn available() -> bool {
    crate::narrow::available()
}

/// Computes raw sums (no bias) of the whole output pixels in `out`, the first being flat output
/// pixel `p0`. `packed` is `[kh][kw][cin] × [cout]` row-major. Call only if [`available`].
pub(crate) fn conv_block(g: &Geometry, input: &[f32], packed: &[f32], p0: usize, out: &mut [f32]) {
    assert!((MIN_N..=MAX_N).contains(&g.cout));
    assert_eq!(packed.len(), g.kh * g.kw * g.cin * g.cout);
    assert_eq!(input.len() % (g.h * g.w * g.cin), 0);
    #[cfg(target_arch = "x86_64")]
    {
        assert!(available(), "direct kernel needs AVX-512");
        // SAFETY: AVX-512F present (asserted); all memory accesses are bounds-checked below.
        unsafe {
            if g.cout <= 16 {
                avx512::conv_block::<1>(g, input, packed, p0, out)
            } else {
                avx512::conv_block::<2>(g, input, packed, p0, out)
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (input, packed, p0, out);
        unreachable!("direct kernel called without AVX-512");
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::Geometry;

    /// Lanes of the last weight vector that hold real output channels.
    fn tail_mask(cout: usize, nv: usize) -> __mmask16 {
        let rem = cout - (nv - 1) * 16;
        if rem >= 16 {
            0xFFFF
        } else {
            ((1u32 << rem) - 1) as u16
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn conv_block<const NV: usize>(
        g: &Geometry,
        input: &[f32],
        packed: &[f32],
        p0: usize,
        out: &mut [f32],
    ) {
        let cout = g.cout;
        let mask = tail_mask(cout, NV);
        let pixels = out.len() / cout;
        let per_image = g.oh * g.ow;
        let mut i = 0;
        while i < pixels {
            let p = p0 + i;
            let (b, rem) = (p / per_image, p % per_image);
            let (oy, ox) = (rem / g.ow, rem % g.ow);
            let x0 = (ox * g.stride) as isize - g.pad as isize;
            // Four pixels of one row whose taps are all inside horizontally.
            let block4 = i + 4 <= pixels
                && ox + 4 <= g.ow
                && x0 >= 0
                && x0 as usize + 3 * g.stride + g.kw <= g.w;
            let np = if block4 { 4 } else { 1 };
            let mut acc = [[_mm512_setzero_ps(); NV]; 4];
            for ky in 0..g.kh {
                let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                if iy < 0 || iy >= g.h as isize {
                    continue; // zero padding
                }
                let line = &input[(b * g.h + iy as usize) * g.w * g.cin..][..g.w * g.cin];
                for kx in 0..g.kw {
                    let wrow = &packed[(ky * g.kw + kx) * g.cin * cout..][..g.cin * cout];
                    if block4 {
                        let base = (x0 as usize + kx) * g.cin;
                        let step = g.stride * g.cin;
                        let xs = &line[base..base + 3 * step + g.cin];
                        tap::<NV, 4>(&mut acc, xs, step, wrow, g.cin, cout, mask);
                    } else {
                        let ix = x0 + kx as isize;
                        if ix < 0 || ix >= g.w as isize {
                            continue;
                        }
                        let xs = &line[ix as usize * g.cin..][..g.cin];
                        tap::<NV, 1>(&mut acc, xs, 0, wrow, g.cin, cout, mask);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate().take(np) {
                let o = &mut out[(i + r) * cout..][..cout];
                for (v, &a) in a.iter().enumerate() {
                    let m = if v + 1 == NV { mask } else { 0xFFFF };
                    _mm512_mask_storeu_ps(o.as_mut_ptr().add(v * 16), m, a);
                }
            }
            i += np;
        }
    }

    /// `acc[r] += Σ_ci xs[r·step + ci] · wrow[ci·cout ..]` for `P` pixels.
    #[inline(always)]
    unsafe fn tap<const NV: usize, const P: usize>(
        acc: &mut [[__m512; NV]; 4],
        xs: &[f32],
        step: usize,
        wrow: &[f32],
        cin: usize,
        cout: usize,
        mask: __mmask16,
    ) {
        debug_assert!(xs.len() > (P - 1) * step + cin - 1 && wrow.len() >= cin * cout);
        let xp = xs.as_ptr();
        let wp = wrow.as_ptr();
        for ci in 0..cin {
            let mut wv = [_mm512_setzero_ps(); NV];
            for (v, wv) in wv.iter_mut().enumerate() {
                let m = if v + 1 == NV { mask } else { 0xFFFF };
                *wv = _mm512_maskz_loadu_ps(m, wp.add(ci * cout + v * 16));
            }
            for (r, acc) in acc.iter_mut().enumerate().take(P) {
                let x = _mm512_set1_ps(*xp.add(r * step + ci));
                for v in 0..NV {
                    acc[v] = _mm512_fmadd_ps(x, wv[v], acc[v]);
                }
            }
        }
    }
}
