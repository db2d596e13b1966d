//! Helpers shared by the GPU backend's tests: the adapter `--device gpu` would pick (skip with a
//! printed reason without one, fail under `CI`), the shared assets, a deterministic random
//! stream, and the comparisons (largest difference, 8-bit PSNR).

use std::path::PathBuf;
use std::sync::Arc;

use upframe_gpu::{Device, GpuContext};
use upframe_models::WeightTensor;
use upframe_nn::Tensor;

pub fn context(f16: bool) -> Option<Arc<GpuContext>> {
    match GpuContext::open(Device::Gpu(None), f16) {
        Ok(ctx) => {
            println!(
                "adapter: {} (precision {:?})",
                ctx.adapter(),
                ctx.precision()
            );
            Some(Arc::new(ctx))
        }
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but no GPU adapter opened: {e} (scripts/setup.sh installs lavapipe)")
        }
        Err(e) => {
            eprintln!("SKIP: {e} (install mesa-vulkan-drivers for Mesa's lavapipe)");
            None
        }
    }
}

pub fn assets_dir() -> PathBuf {
    match std::env::var_os("UPFRAME_ASSETS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
    }
}

pub fn asset(relative: &str) -> Option<PathBuf> {
    let path = assets_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("asset {} is missing (CI is set)", path.display());
    }
    eprintln!("SKIP: asset {} is missing", path.display());
    None
}

/// A deterministic pseudo-random stream in [-1, 1).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
    /// A tensor of `shape` with values in [-scale, scale).
    pub fn tensor(&mut self, shape: [usize; 4], scale: f32) -> Tensor {
        let v = self.vec(shape.iter().product());
        Tensor::from_vec(shape, v.into_iter().map(|x| x * scale).collect())
    }
}

pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| {
            assert!(x.is_finite() && y.is_finite(), "non-finite value");
            (x - y).abs()
        })
        .fold(0.0, f32::max)
}

/// PSNR of two images in [0, 1] after clamping and 8-bit quantisation (as frames are written).
pub fn psnr_8bit(a: &Tensor, b: &Tensor) -> f64 {
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as f64;
    let mse = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| (q(x) - q(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

pub fn nhwc(t: &WeightTensor) -> Tensor {
    let [n, c, h, w] = <[usize; 4]>::try_from(t.shape.as_slice()).expect("4-D");
    Tensor::from_nchw([n, c, h, w], &t.data)
}
