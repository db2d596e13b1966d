//! AVX-512 BF16 pieces: the `f32` → bf16 row conversion all hardware kernels use
//! (`vcvtne2ps2bf16`, 32 channels per instruction), and the `vdpbf16ps` block kernel for CPUs
//! without AMX: `P` pixels × `NV` 16-channel output vectors of accumulators, each step
//! broadcasting one input channel pair of a pixel against one packed weight row (the AMX B-tile
//! row is exactly a `vdpbf16ps` operand).

use super::{RowArgs, BLOCK_PX, N_TILE, TILE_ELEMS};

/// Converts `src` (pixels × `cin` `f32`) into `dst` (pixels × `cin_p` bf16, channels past `cin`
/// zero), rounding to nearest even.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512 BF16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn convert_pixels(src: &[f32], cin: usize, cin_p: usize, dst: &mut [u16]) {
    use std::arch::x86_64::*;
    let pixels = dst.len() / cin_p;
    assert!(src.len() >= pixels * cin);
    let lane_mask = |from: usize| -> __mmask16 {
        if from >= cin {
            0
        } else if cin - from >= 16 {
            0xFFFF
        } else {
            ((1u32 << (cin - from)) - 1) as u16
        }
    };
    for p in 0..pixels {
        let s = src.as_ptr().add(p * cin);
        let d = dst.as_mut_ptr().add(p * cin_p);
        let mut c = 0;
        while c < cin_p {
            let (m0, m1) = (lane_mask(c), lane_mask(c + 16));
            let lo = _mm512_maskz_loadu_ps(m0, s.add(c));
            let hi = _mm512_maskz_loadu_ps(m1, s.add(c + 16));
            let v: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
            _mm512_storeu_si512(d.add(c) as *mut _, v);
            c += 32;
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn convert_pixels(_: &[f32], _: usize, _: usize, _: &mut [u16]) {
    unreachable!("AVX-512 BF16 on a non-x86 CPU");
}

/// Computes pixels `x0 .. x0 + BLOCK_PX` of the row into `a.cbuf` (`cout_p` floats per pixel).
///
/// # Safety
/// AVX-512F and AVX-512 BF16 present; the window rows hold at least `x0 + BLOCK_PX + kw − 1`
/// pixels; `cbuf` holds `BLOCK_PX · cout_p` floats.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn block(a: &RowArgs, x0: usize) {
    let n_tiles = a.weights.n_tiles;
    let mut nt = 0;
    while nt < n_tiles {
        match n_tiles - nt {
            1 => micro_blocks::<1, 16>(a, x0, nt),
            2 => micro_blocks::<2, 12>(a, x0, nt),
            3 => micro_blocks::<3, 8>(a, x0, nt),
            _ => micro_blocks::<4, 6>(a, x0, nt),
        }
        nt += 4;
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn block(_: &RowArgs, _: usize) {
    unreachable!("AVX-512 BF16 on a non-x86 CPU");
}

/// Output tiles `nt0 .. nt0 + NV` of the block's pixels, `P` pixels at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn micro_blocks<const NV: usize, const P: usize>(a: &RowArgs, x0: usize, nt0: usize) {
    use std::arch::x86_64::*;
    const { assert!(BLOCK_PX.is_multiple_of(P)) };
    let w = a.weights;
    let (a_stride, kw, taps, kbs) = (a.a_stride, w.kw, w.taps(), w.k_blocks());
    let cout_p = w.n_tiles * N_TILE;
    let tiles = w.tiles.as_ptr();
    for sub in (0..BLOCK_PX).step_by(P) {
        let xs = x0 + sub;
        let mut acc = [[_mm512_setzero_ps(); NV]; P];
        for (ky, &row) in a.rows.iter().enumerate() {
            for kx in 0..kw {
                let t = ky * kw + kx;
                let xp = row.add((xs + kx) * a_stride) as *const u32;
                for kb in 0..kbs {
                    let mut wt = [std::ptr::null::<u16>(); NV];
                    for (v, p) in wt.iter_mut().enumerate() {
                        *p = tiles.add((((nt0 + v) * taps + t) * kbs + kb) * TILE_ELEMS);
                    }
                    for r in 0..16 {
                        let mut wv = [_mm512_setzero_si512(); NV];
                        for v in 0..NV {
                            wv[v] = _mm512_loadu_si512(wt[v].add(r * 32) as *const _);
                        }
                        // Channel pair (kb·32 + 2r, +1) of each pixel: one 32-bit word.
                        let pair = kb * 16 + r;
                        for (p, acc) in acc.iter_mut().enumerate() {
                            let xv = _mm512_set1_epi32(*xp.add(p * a_stride / 2 + pair) as i32);
                            for v in 0..NV {
                                acc[v] = _mm512_dpbf16_ps(
                                    acc[v],
                                    std::mem::transmute::<__m512i, __m512bh>(xv),
                                    std::mem::transmute::<__m512i, __m512bh>(wv[v]),
                                );
                            }
                        }
                    }
                }
            }
        }
        for (p, acc) in acc.iter().enumerate() {
            let c = a.cbuf.add((sub + p) * cout_p + nt0 * N_TILE);
            for (v, &acc) in acc.iter().enumerate() {
                _mm512_storeu_ps(c.add(v * 16), acc);
            }
        }
    }
}

/// Stores `px` pixels of raw sums (`cout_p` apart in `sums`) into `out` (`cout` apart) through
/// the epilogue, 16 channels per vector: bias, channel scale, residual, activation, post
/// scale-and-add, as `Epilogue::apply_row` defines them, in one pass while the sums are in L1.
/// Returns `false` (touching nothing) for a sigmoid, which the caller applies generically.
///
/// # Safety
/// AVX-512F/BW/VL and BF16 present; `sums` holds `px · cout_p` floats; the epilogue was checked
/// against the output shape and `first_pixel + px` pixels exist in its tensors; `bias` has
/// `cout` values.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn finish_block(
    sums: *const f32,
    cout_p: usize,
    out: &mut [f32],
    first_pixel: usize,
    cout: usize,
    bias: Option<&[f32]>,
    ep: &crate::Epilogue,
) -> bool {
    let px = out.len() / cout;
    finish::<false>(
        sums,
        cout_p,
        out.as_mut_ptr(),
        std::ptr::null_mut(),
        cout,
        px,
        first_pixel,
        cout,
        bias,
        ep,
    )
}

/// Like [`finish_block`], rounding the results to bf16 into `dst` (pixel `p` channel `j` at
/// `dst[p · stride + j]`).
///
/// # Safety
/// As [`finish_block`]; `dst` has `px` pixels of `stride ≥ cout` values.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn finish_block_bf16(
    sums: *const f32,
    cout_p: usize,
    dst: *mut u16,
    stride: usize,
    px: usize,
    first_pixel: usize,
    cout: usize,
    bias: Option<&[f32]>,
    ep: &crate::Epilogue,
) -> bool {
    finish::<true>(
        sums,
        cout_p,
        std::ptr::null_mut(),
        dst,
        stride,
        px,
        first_pixel,
        cout,
        bias,
        ep,
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn finish<const BF16: bool>(
    sums: *const f32,
    cout_p: usize,
    out: *mut f32,
    out_bf16: *mut u16,
    stride: usize,
    px: usize,
    first_pixel: usize,
    cout: usize,
    bias: Option<&[f32]>,
    ep: &crate::Epilogue,
) -> bool {
    use crate::Activation;
    use std::arch::x86_64::*;
    // (negative slope per channel or shared, or plain ReLU)
    let (slope_vec, slope_one, relu): (*const f32, f32, bool) = match ep.activation {
        Activation::None => (std::ptr::null(), 1.0, false),
        Activation::Relu => (std::ptr::null(), 0.0, true),
        Activation::LeakyRelu(a) => (std::ptr::null(), a, false),
        Activation::PRelu(w) if w.len() == 1 => (std::ptr::null(), w[0], false),
        Activation::PRelu(w) => (w.as_ptr(), 0.0, false),
        Activation::Sigmoid => return false,
    };
    let has_act = !matches!(ep.activation, Activation::None);
    let bias = bias.map(<[f32]>::as_ptr);
    let scale = ep.channel_scale.map(<[f32]>::as_ptr);
    let residual = ep.residual.map(|r| r.data()[first_pixel * cout..].as_ptr());
    let (post_scale, post_add) = match ep.post {
        Some((s, t)) => (s, Some(t.data()[first_pixel * cout..].as_ptr())),
        None => (1.0, None),
    };
    let zero = _mm512_setzero_ps();
    let one_slope = _mm512_set1_ps(slope_one);
    let ps = _mm512_set1_ps(post_scale);
    for p in 0..px {
        let mut c = 0;
        while c < cout {
            let m: __mmask16 = if cout - c >= 16 {
                0xFFFF
            } else {
                ((1u32 << (cout - c)) - 1) as u16
            };
            let mut v = _mm512_loadu_ps(sums.add(p * cout_p + c));
            if let Some(b) = bias {
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b.add(c)));
            }
            if let Some(s) = scale {
                v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, s.add(c)));
            }
            if let Some(r) = residual {
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, r.add(p * cout + c)));
            }
            if has_act {
                if relu {
                    v = _mm512_max_ps(v, zero);
                } else {
                    let slope = if slope_vec.is_null() {
                        one_slope
                    } else {
                        _mm512_maskz_loadu_ps(m, slope_vec.add(c))
                    };
                    let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, zero);
                    v = _mm512_mask_mul_ps(v, neg, v, slope);
                }
            }
            if let Some(t) = post_add {
                v = _mm512_fmadd_ps(v, ps, _mm512_maskz_loadu_ps(m, t.add(p * cout + c)));
            }
            if BF16 {
                let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
                _mm256_mask_storeu_epi16(out_bf16.add(p * stride + c) as *mut i16, m, h);
            } else {
                _mm512_mask_storeu_ps(out.add(p * stride + c), m, v);
            }
            c += 16;
        }
    }
    true
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) unsafe fn finish_block(
    _: *const f32,
    _: usize,
    _: &mut [f32],
    _: usize,
    _: usize,
    _: Option<&[f32]>,
    _: &crate::Epilogue,
) -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn finish_block_bf16(
    _: *const f32,
    _: usize,
    _: *mut u16,
    _: usize,
    _: usize,
    _: usize,
    _: usize,
    _: Option<&[f32]>,
    _: &crate::Epilogue,
) -> bool {
    false
}
