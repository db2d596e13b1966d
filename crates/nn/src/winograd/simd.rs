//! The small SIMD abstraction the Winograd kernel is written against: one trait, three
//! implementations (AVX-512, AVX2+FMA, portable arrays). Kernel code is generic over [`Simd`] and
//! `#[inline(always)]`, and is instantiated inside `#[target_feature]` entry points, so each ISA
//! gets its own fully inlined copy.

/// One SIMD register type and the handful of operations the kernel needs.
///
/// # Safety
/// The methods are `unsafe` because the x86 implementations require their CPU features (callers
/// must have checked them) and because loads/stores take raw pointers that must be valid for
/// `LANES` (or `n`) `f32`s.
pub(crate) unsafe trait Simd: Copy + Send + Sync + 'static {
    /// Number of `f32` lanes in [`Simd::V`].
    const LANES: usize;
    /// The register type.
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Loads the first `n < LANES` lanes; the rest are zero.
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V;
    /// Stores the first `n < LANES` lanes.
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize);
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`.
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Hints that the cache line holding `p` will be needed soon (no-op where unsupported).
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        #[cfg(target_arch = "x86_64")]
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }
}

/// Plain-Rust fallback: 8-lane arrays that LLVM autovectorises for whatever the baseline target is.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

const PORTABLE_LANES: usize = 8;

macro_rules! lanewise {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let mut r = [0.0f32; PORTABLE_LANES];
        for i in 0..PORTABLE_LANES {
            let ($x, $y) = ($a[i], $b[i]);
            r[i] = $e;
        }
        r
    }};
}

unsafe impl Simd for Portable {
    const LANES: usize = PORTABLE_LANES;
    type V = [f32; PORTABLE_LANES];
    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; PORTABLE_LANES]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        [x; PORTABLE_LANES]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        std::ptr::read_unaligned(p as *const [f32; PORTABLE_LANES])
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        std::ptr::write_unaligned(p as *mut [f32; PORTABLE_LANES], v)
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V {
        let mut r = [0.0; PORTABLE_LANES];
        for (i, slot) in r.iter_mut().enumerate().take(n) {
            *slot = *p.add(i);
        }
        r
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize) {
        for (i, &x) in v.iter().enumerate().take(n) {
            *p.add(i) = x;
        }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        lanewise!(a, b, |x, y| x + y)
    }
    #[inline(always)]
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V {
        lanewise!(a, b, |x, y| x - y)
    }
    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        lanewise!(a, b, |x, y| x * y)
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        // Separate multiply and add: `mul_add` without hardware FMA is a slow libm call.
        let mut r = [0.0f32; PORTABLE_LANES];
        for i in 0..PORTABLE_LANES {
            r[i] = a[i] * b[i] + c[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V {
        lanewise!(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V {
        lanewise!(a, b, |x, y| if x < y { x } else { y })
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX-512F, 16 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    /// AVX2 + FMA, 8 lanes.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    unsafe impl Simd for Avx512 {
        const LANES: usize = 16;
        type V = __m512;
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn max(a: __m512, b: __m512) -> __m512 {
            _mm512_max_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn min(a: __m512, b: __m512) -> __m512 {
            _mm512_min_ps(a, b)
        }
    }

    /// Lane masks for `_mm256_maskload_ps`: entry `n` enables the first `n` lanes.
    const AVX2_MASKS: [[i32; 8]; 9] = {
        let mut m = [[0i32; 8]; 9];
        let mut n = 0;
        while n <= 8 {
            let mut i = 0;
            while i < n {
                m[n][i] = -1;
                i += 1;
            }
            n += 1;
        }
        m
    };

    unsafe impl Simd for Avx2 {
        const LANES: usize = 8;
        type V = __m256;
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m256 {
            let mask = _mm256_loadu_si256(AVX2_MASKS[n].as_ptr() as *const __m256i);
            _mm256_maskload_ps(p, mask)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store_partial(p: *mut f32, v: __m256, n: usize) {
            let mask = _mm256_loadu_si256(AVX2_MASKS[n].as_ptr() as *const __m256i);
            _mm256_maskstore_ps(p, mask, v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn max(a: __m256, b: __m256) -> __m256 {
            _mm256_max_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn min(a: __m256, b: __m256) -> __m256 {
            _mm256_min_ps(a, b)
        }
    }
}
