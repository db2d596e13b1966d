//! Scene-cut and static-frame detection between consecutive frames.
//!
//! Cuts: like Practical-RIFE, both frames are shrunk to 32×32 thumbnails and compared by SSIM
//! (here on luma, BT.601 weights, box-averaged thumbnails, Gaussian 11×11 σ 1.5 windows,
//! valid region); a pair whose SSIM is below the threshold is a cut. Static pairs: frames
//! whose samples differ nowhere by more than half an 8-bit level are treated as identical
//! and the network is skipped.

/// Thumbnail side used for the cut test.
pub const THUMB: usize = 32;

/// Default SSIM threshold below which a pair is a scene cut (Practical-RIFE uses 0.2; see the
/// measurements in the tests and the report).
pub const DEFAULT_CUT_THRESHOLD: f64 = 0.2;

/// A 32×32 luma thumbnail of an interleaved frame (area average).
pub fn thumbnail(data: &[f32], width: usize, height: usize, channels: usize) -> Vec<f32> {
    let mut sum = vec![0f64; THUMB * THUMB];
    let mut count = vec![0u32; THUMB * THUMB];
    for y in 0..height {
        let ty = y * THUMB / height.max(1);
        let row = &data[y * width * channels..][..width * channels];
        for (x, px) in row.chunks_exact(channels).enumerate() {
            let tx = x * THUMB / width.max(1);
            let luma = if channels >= 3 {
                0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
            } else {
                px[0]
            };
            sum[ty * THUMB + tx] += f64::from(luma);
            count[ty * THUMB + tx] += 1;
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| {
            if c == 0 {
                0.0
            } else {
                (s / f64::from(c)) as f32
            }
        })
        .collect()
}

/// Mean SSIM of two 32×32 thumbnails (values in [0, 1]).
pub fn ssim(a: &[f32], b: &[f32]) -> f64 {
    const K: usize = 11;
    let sigma = 1.5f64;
    let g: Vec<f64> = (0..K)
        .map(|i| {
            let d = i as f64 - (K / 2) as f64;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let gs: f64 = g.iter().sum();
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let n = THUMB - K + 1;
    let mut total = 0.0;
    for y in 0..n {
        for x in 0..n {
            let (mut ma, mut mb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for dy in 0..K {
                for dx in 0..K {
                    let w = g[dy] * g[dx] / (gs * gs);
                    let i = (y + dy) * THUMB + x + dx;
                    let (va, vb) = (f64::from(a[i]), f64::from(b[i]));
                    ma += w * va;
                    mb += w * vb;
                    saa += w * va * va;
                    sbb += w * vb * vb;
                    sab += w * va * vb;
                }
            }
            let (va, vb, cov) = (saa - ma * ma, sbb - mb * mb, sab - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    }
    total / (n * n) as f64
}

/// Whether two frames' samples are the same to within half an 8-bit level.
pub fn is_static(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 0.5 / 255.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssim_of_identical_is_one_and_of_unrelated_is_low() {
        let a: Vec<f32> = (0..THUMB * THUMB)
            .map(|i| ((i * 37 % 101) as f32) / 100.0)
            .collect();
        let b: Vec<f32> = (0..THUMB * THUMB)
            .map(|i| ((i * 53 % 89) as f32) / 88.0)
            .collect();
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-9);
        assert!(ssim(&a, &b) < 0.2, "{}", ssim(&a, &b));
        assert!(is_static(&a, &a));
        assert!(!is_static(&a, &b));
    }

    #[test]
    fn thumbnail_averages_areas() {
        let (w, h) = (64, 64);
        let data: Vec<f32> = (0..w * h)
            .map(|i| if (i % w) < 32 { 0.0 } else { 1.0 })
            .collect();
        let t = thumbnail(&data, w, h, 1);
        assert_eq!(t[0], 0.0);
        assert_eq!(t[31], 1.0);
    }
}
