//! `upframe._upframe`: the compiled core of the `upframe` Python package (the pure-Python part
//! lives in `python/upframe/`). It holds the frame processors behind Python classes, converts
//! numpy arrays to frames and back, and runs everything heavy with the GIL released.
//!
//! Python-facing names, docstrings and argument handling live in the Python package; this
//! module's classes are its private building blocks (`_upframe.Upscaler`, ...).

mod compat;
mod convert;
mod engine;
mod errors;
mod jobs;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use upframe_media::SampleDepth;

use crate::convert::{Dtype, ImageArray, OutputImage};
use crate::engine::{EngineError, UpscaleArgs};
use crate::errors::{error, input_error, option_error};

fn raise(py: Python<'_>, e: EngineError) -> PyErr {
    error(py, e.kind, e.message)
}

/// Locks a processor; a panic inside an earlier call leaves it usable (its buffers are
/// rebuilt per frame size), so a poisoned lock is taken over rather than propagated.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A device choice as a dict with the keys of the CLI's `--json` `device` object (`device`,
/// `adapter`, `precision`, `fallback`); `None` on the CPU by default, as there.
pub(crate) fn device_dict<'py>(
    py: Python<'py>,
    choice: Option<&upframe::DeviceChoice>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(c) = choice else { return Ok(None) };
    let d = PyDict::new(py);
    d.set_item("device", &c.device)?;
    d.set_item("adapter", &c.adapter)?;
    d.set_item("precision", &c.precision)?;
    d.set_item("fallback", &c.fallback)?;
    Ok(Some(d))
}

/// A Real-ESRGAN upscaler (network, tiling and padding options fixed at construction).
#[pyclass(module = "upframe._upframe", frozen)]
struct Upscaler {
    inner: Mutex<engine::Upscaler>,
    name: String,
    /// What `device` settled on (fixed at construction).
    device: Option<upframe::DeviceChoice>,
}

#[pymethods]
impl Upscaler {
    #[new]
    #[pyo3(signature = (model, scale, tile, tile_pad, pre_pad, alpha, denoise_strength, model_dir, dni=None, precision=None, device=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: String,
        scale: Option<f64>,
        tile: usize,
        tile_pad: usize,
        pre_pad: usize,
        alpha: String,
        denoise_strength: Option<f64>,
        model_dir: Option<PathBuf>,
        dni: Option<(String, f64)>,
        precision: Option<String>,
        device: Option<String>,
    ) -> PyResult<Self> {
        let args = UpscaleArgs {
            model,
            scale,
            tile,
            tile_pad,
            pre_pad,
            alpha,
            denoise_strength,
            model_dir,
            dni,
            precision,
            device,
        };
        let up = py
            .detach(|| engine::Upscaler::new(&args))
            .map_err(|e| raise(py, e))?;
        Ok(Upscaler {
            name: up.name().to_string(),
            device: up.device().cloned(),
            inner: Mutex::new(up),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Where the network runs (see [`device_dict`]).
    #[getter]
    fn device<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        device_dict(py, self.device.as_ref())
    }

    fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        lock(&self.inner).output_size(width, height)
    }

    /// One HWC/HW image of uint8, uint16 or float32 (1 is 255, 65535 or 1.0) → the upscaled
    /// image of the same dtype and channels.
    fn process<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        bgr: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let array = ImageArray::extract(image, "image")?;
        let dtype = array.dtype();
        let squeeze = array.shape().len() == 2;
        let frame = array.to_frame(py, "image", dtype.max_range(), bgr, dtype.depth())?;
        drop(array);
        let out = py
            .detach(|| {
                let frame = lock(&self.inner).process(frame)?;
                Ok(OutputImage::from_frame(
                    &frame,
                    dtype,
                    dtype.max_range(),
                    bgr,
                    squeeze,
                ))
            })
            .map_err(|e| raise(py, e))?;
        Ok(out.into_py(py))
    }

    /// `RealESRGANer.enhance` on a BGR/BGRA/gray image whose samples are divided by
    /// `max_range` (255 or 65535, decided by the caller as the official code does); returns
    /// the uint8 (255) or uint16 (65535) output in the same layout.
    fn enhance_compat<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        max_range: f32,
        alpha_through_network: bool,
        outscale: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (depth, dtype) = if max_range == 255.0 {
            (SampleDepth::U8, Dtype::U8)
        } else if max_range == 65535.0 {
            (SampleDepth::High { bits: 16 }, Dtype::U16)
        } else {
            return Err(option_error(
                py,
                format!("max_range {max_range}: expected 255 or 65535"),
            ));
        };
        let array = ImageArray::extract(image, "img")?;
        let shape = array.shape();
        if !matches!(shape.as_slice(), [_, _] | [_, _, 3] | [_, _, 4]) {
            return Err(input_error(
                py,
                format!(
                    "img must be a gray (H, W), BGR (H, W, 3) or BGRA (H, W, 4) image, not shape {shape:?}"
                ),
            ));
        }
        let squeeze = shape.len() == 2;
        let frame = array.to_frame(py, "img", max_range, true, depth)?;
        drop(array);
        let out = py
            .detach(|| {
                let mut up = lock(&self.inner);
                let frame =
                    compat::enhance(&mut up, frame, alpha_through_network, outscale, max_range)?;
                Ok(OutputImage::from_frame(
                    &frame, dtype, max_range, true, squeeze,
                ))
            })
            .map_err(|e| raise(py, e))?;
        Ok(out.into_py(py))
    }
}

/// A RIFE interpolator.
#[pyclass(module = "upframe._upframe", frozen)]
struct Interpolator {
    inner: Mutex<engine::Interpolator>,
    name: String,
    version: String,
    /// What `device` settled on (fixed at construction).
    device: Option<upframe::DeviceChoice>,
}

#[pymethods]
impl Interpolator {
    #[new]
    #[pyo3(signature = (model, rife_scale, ensemble, refine, model_dir, precision=None, device=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: String,
        rife_scale: f64,
        ensemble: bool,
        refine: bool,
        model_dir: Option<PathBuf>,
        precision: Option<String>,
        device: Option<String>,
    ) -> PyResult<Self> {
        let mut options = upframe::InterpolateOptions {
            model,
            rife_scale,
            ensemble,
            refine,
            model_dir,
            ..Default::default()
        };
        if let Some(p) = &precision {
            options.precision = engine::precision_choice(p).map_err(|e| raise(py, e))?;
        }
        if let Some(d) = &device {
            options.device = engine::device(d).map_err(|e| raise(py, e))?;
        }
        let rife = py
            .detach(|| engine::Interpolator::new(&options))
            .map_err(|e| raise(py, e))?;
        Ok(Interpolator {
            name: rife.name().to_string(),
            version: rife.version(),
            device: rife.device().cloned(),
            inner: Mutex::new(rife),
        })
    }

    /// Where RIFE runs (see [`device_dict`]).
    #[getter]
    fn device<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        device_dict(py, self.device.as_ref())
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The network layout's version (`v4.25/v4.26`, `v4.0/v4.1`, ...).
    #[getter]
    fn version(&self) -> &str {
        &self.version
    }

    /// The frame at `t` in (0, 1) between two HWC/HW images of the same shape and dtype.
    fn interpolate<'py>(
        &self,
        py: Python<'py>,
        first: &Bound<'py, PyAny>,
        second: &Bound<'py, PyAny>,
        t: f32,
        bgr: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = ImageArray::extract(first, "img0")?;
        let b = ImageArray::extract(second, "img1")?;
        if a.dtype() != b.dtype() || a.shape() != b.shape() {
            return Err(input_error(
                py,
                format!(
                    "the two images differ: {:?} {:?} and {:?} {:?}",
                    a.shape(),
                    a.dtype(),
                    b.shape(),
                    b.dtype()
                ),
            ));
        }
        let dtype = a.dtype();
        let squeeze = a.shape().len() == 2;
        let fa = a.to_frame(py, "img0", dtype.max_range(), bgr, dtype.depth())?;
        let fb = b.to_frame(py, "img1", dtype.max_range(), bgr, dtype.depth())?;
        drop((a, b));
        let out = py
            .detach(|| {
                let frame = lock(&self.inner).interpolate(&fa, &fb, t)?;
                Ok(OutputImage::from_frame(
                    &frame,
                    dtype,
                    dtype.max_range(),
                    bgr,
                    squeeze,
                ))
            })
            .map_err(|e| raise(py, e))?;
        Ok(out.into_py(py))
    }
}

/// Reads an image file (png/jpg/webp/tif/bmp) as an HWC (HW for gray) array: uint8 for 8-bit
/// files, uint16 for deeper ones.
#[pyfunction]
fn read_image<'py>(py: Python<'py>, path: PathBuf, bgr: bool) -> PyResult<Bound<'py, PyAny>> {
    let out = py
        .detach(|| {
            let frame = upframe_media::read_image(&path)?;
            let dtype = match frame.depth {
                SampleDepth::U8 => Dtype::U8,
                SampleDepth::High { .. } => Dtype::U16,
            };
            Ok(OutputImage::from_frame(
                &frame,
                dtype,
                dtype.max_range(),
                bgr,
                true,
            ))
        })
        .map_err(|e: upframe_media::MediaError| input_error(py, e.to_string()))?;
    Ok(out.into_py(py))
}

/// Writes an HWC/HW array as an image file (the extension picks the format; uint16 and float32
/// arrays are written with 16 bits where the format has them).
#[pyfunction]
fn write_image(
    py: Python<'_>,
    path: PathBuf,
    image: &Bound<'_, PyAny>,
    bgr: bool,
    overwrite: bool,
) -> PyResult<()> {
    let array = ImageArray::extract(image, "image")?;
    let dtype = array.dtype();
    let frame = array.to_frame(py, "image", dtype.max_range(), bgr, dtype.depth())?;
    drop(array);
    py.detach(|| upframe_media::write_image(&path, &frame, overwrite))
        .map_err(|e| error(py, errors::Kind::Output, e.to_string()))
}

#[pymodule]
fn _upframe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(read_image, m)?)?;
    m.add_function(wrap_pyfunction!(write_image, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::run_job, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::plan, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::run_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::join, m)?)?;
    m.add_class::<Upscaler>()?;
    m.add_class::<Interpolator>()?;
    Ok(())
}
