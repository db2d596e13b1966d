//! Matrix product for few output columns (`n ≤ 8`: convolutions with 1–8 output channels,
//! e.g. Real-ESRGAN's RGB output conv, RIFE's 16→4 transposed conv), where a general GEMM
//! wastes most of each vector. Each row of `a` is dotted with the `n` rows of `bᵀ` using 16
//! independent lanes, compiled for AVX-512 / AVX2 and selected at run time.

/// Largest `n` this kernel handles.
pub(crate) const MAX_N: usize = 8;

/// `out[i, j] = Σ_k a[i, k] · bt[j, k]` for `i < m`, `j < n ≤ MAX_N`; row-major contiguous.
pub(crate) fn matmul_small_n(m: usize, n: usize, k: usize, a: &[f32], bt: &[f32], out: &mut [f32]) {
    assert!((1..=MAX_N).contains(&n));
    assert!(a.len() >= m * k && bt.len() >= n * k && out.len() >= m * n);
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the enabled features (checked just above).
            return unsafe { kernel_avx512(m, n, k, a, bt, out) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { kernel_avx2(m, n, k, a, bt, out) };
        }
    }
    dispatch_n(m, n, k, a, bt, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn kernel_avx512(m: usize, n: usize, k: usize, a: &[f32], bt: &[f32], out: &mut [f32]) {
    dispatch_n(m, n, k, a, bt, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_avx2(m: usize, n: usize, k: usize, a: &[f32], bt: &[f32], out: &mut [f32]) {
    dispatch_n(m, n, k, a, bt, out)
}

#[inline(always)]
fn dispatch_n(m: usize, n: usize, k: usize, a: &[f32], bt: &[f32], out: &mut [f32]) {
    match n {
        1 => rows::<1>(m, k, a, bt, out),
        2 => rows::<2>(m, k, a, bt, out),
        3 => rows::<3>(m, k, a, bt, out),
        4 => rows::<4>(m, k, a, bt, out),
        5 => rows::<5>(m, k, a, bt, out),
        6 => rows::<6>(m, k, a, bt, out),
        7 => rows::<7>(m, k, a, bt, out),
        _ => rows::<8>(m, k, a, bt, out),
    }
}

const LANES: usize = 16;

#[inline(always)]
fn rows<const N: usize>(m: usize, k: usize, a: &[f32], bt: &[f32], out: &mut [f32]) {
    let full = k / LANES * LANES;
    for i in 0..m {
        let row = &a[i * k..][..k];
        let mut acc = [[0.0f32; LANES]; N];
        let mut c = 0;
        while c < full {
            let av: &[f32; LANES] = row[c..c + LANES].try_into().unwrap_or(&[0.0; LANES]);
            for (j, accj) in acc.iter_mut().enumerate() {
                let bv: &[f32; LANES] =
                    bt[j * k + c..][..LANES].try_into().unwrap_or(&[0.0; LANES]);
                for l in 0..LANES {
                    accj[l] += av[l] * bv[l];
                }
            }
            c += LANES;
        }
        let o = &mut out[i * N..][..N];
        for (j, accj) in acc.iter().enumerate() {
            let mut s: f32 = accj.iter().sum();
            for kk in full..k {
                s += row[kk] * bt[j * k + kk];
            }
            o[j] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product() {
        for (m, n, k) in [(1, 1, 1), (5, 3, 27), (7, 4, 64), (3, 8, 577), (9, 2, 15)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0)
                .collect();
            let bt: Vec<f32> = (0..n * k)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let mut out = vec![0.0; m * n];
            matmul_small_n(m, n, k, &a, &bt, &mut out);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|kk| a[i * k + kk] as f64 * bt[j * k + kk] as f64)
                        .sum();
                    assert!((out[i * n + j] as f64 - want).abs() < 1e-4 * (k as f64).sqrt());
                }
            }
        }
    }
}
