//! numpy ↔ [`Frame`] conversion: HWC (or HW gray) arrays of `uint8`, `uint16` or `float32` with
//! 1–4 channels to upframe's HWC `f32` frames in `[0, 1]` and back, optionally swapping the
//! first and third channel (BGR/BGRA arrays, OpenCV's order, against RGB frames).
//!
//! The sample scale is explicit (`max_range`): `uint8` arrays are `k / 255`, `uint16` arrays
//! `k / 65535` (the native API), or whatever `RealESRGANer.enhance` decided from the image's
//! maximum (the compat API). Back to integers is `(v · max_range)` rounded half to even and
//! saturated, as numpy's `round().astype()` on values already in range.

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use upframe_media::{Frame, SampleDepth};

use crate::errors::input_error;

/// A numpy sample type upframe reads and writes.
pub trait Sample: numpy::Element + Copy + Send + Sync {
    fn to_f32(self) -> f32;
    /// `v · max_range`, rounded half to even, saturated to the type (no rounding for floats).
    fn from_scaled(v: f32, max_range: f32) -> Self;
}

impl Sample for u8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn from_scaled(v: f32, max_range: f32) -> Self {
        (v * max_range).round_ties_even().clamp(0.0, 255.0) as u8
    }
}

impl Sample for u16 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn from_scaled(v: f32, max_range: f32) -> Self {
        (v * max_range).round_ties_even().clamp(0.0, 65535.0) as u16
    }
}

impl Sample for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn from_scaled(v: f32, max_range: f32) -> Self {
        v * max_range
    }
}

/// An image array as the extension receives it: one of the three sample types.
pub enum ImageArray<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    F32(PyReadonlyArrayDyn<'py, f32>),
}

impl<'py> ImageArray<'py> {
    /// Accepts a numpy array of `uint8`, `uint16` or `float32`; anything else is an
    /// `upframe.InputError` naming the dtype.
    pub fn extract(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u8>>() {
            return Ok(ImageArray::U8(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u16>>() {
            return Ok(ImageArray::U16(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, f32>>() {
            return Ok(ImageArray::F32(a));
        }
        let described = obj
            .getattr("dtype")
            .and_then(|d| d.str())
            .map(|s| format!("an array of {s}"))
            .unwrap_or_else(|_| format!("a {}", type_name(obj)));
        Err(input_error(
            obj.py(),
            format!("{what} must be a numpy array of uint8, uint16 or float32, not {described}"),
        ))
    }

    pub fn dtype(&self) -> Dtype {
        match self {
            ImageArray::U8(_) => Dtype::U8,
            ImageArray::U16(_) => Dtype::U16,
            ImageArray::F32(_) => Dtype::F32,
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        match self {
            ImageArray::U8(a) => a.shape().to_vec(),
            ImageArray::U16(a) => a.shape().to_vec(),
            ImageArray::F32(a) => a.shape().to_vec(),
        }
    }

    /// The frame for this HWC / HW array: samples divided by `max_range`, channels 0 and 2
    /// swapped when `bgr` (3 or 4 channels), tagged with `depth`.
    pub fn to_frame(
        &self,
        py: Python<'_>,
        what: &str,
        max_range: f32,
        bgr: bool,
        depth: SampleDepth,
    ) -> PyResult<Frame> {
        let (h, w, c) = hwc(py, &self.shape(), what)?;
        let data = match self {
            ImageArray::U8(a) => samples(a, max_range, c, bgr),
            ImageArray::U16(a) => samples(a, max_range, c, bgr),
            ImageArray::F32(a) => samples(a, max_range, c, bgr),
        };
        Ok(Frame {
            width: w,
            height: h,
            channels: c,
            depth,
            data,
            pts: None,
            index: 0,
        })
    }
}

/// The three sample types, for building outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    U8,
    U16,
    F32,
}

impl Dtype {
    /// The native API's sample scale: what `1.0` in a frame is in this dtype.
    pub fn max_range(self) -> f32 {
        match self {
            Dtype::U8 => 255.0,
            Dtype::U16 => 65535.0,
            Dtype::F32 => 1.0,
        }
    }

    /// The depth a frame from this dtype is tagged with (and quantised to by processors that
    /// quantise, like RealESRGANer): float arrays keep 16 bits.
    pub fn depth(self) -> SampleDepth {
        match self {
            Dtype::U8 => SampleDepth::U8,
            Dtype::U16 | Dtype::F32 => SampleDepth::High { bits: 16 },
        }
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// `(height, width, channels)` of an HW or HWC array with 1–4 channels and no empty side.
pub fn hwc(py: Python<'_>, shape: &[usize], what: &str) -> PyResult<(usize, usize, usize)> {
    let (h, w, c) = match *shape {
        [h, w] => (h, w, 1),
        [h, w, c] => (h, w, c),
        _ => {
            return Err(input_error(
                py,
                format!(
                    "{what} must be an (H, W) or (H, W, C) array, not {} dimensions {:?}",
                    shape.len(),
                    shape
                ),
            ))
        }
    };
    if !(1..=4).contains(&c) {
        return Err(input_error(
            py,
            format!("{what} has {c} channels; 1 (gray), 2 (gray + alpha), 3 or 4 are supported"),
        ));
    }
    if h == 0 || w == 0 {
        return Err(input_error(py, format!("{what} is empty ({h}×{w})")));
    }
    Ok((h, w, c))
}

fn samples<T: Sample>(
    a: &PyReadonlyArrayDyn<'_, T>,
    max_range: f32,
    channels: usize,
    bgr: bool,
) -> Vec<f32> {
    let inv = 1.0 / max_range;
    let scale = |v: T| {
        if max_range == 1.0 {
            v.to_f32()
        } else {
            v.to_f32() * inv
        }
    };
    let view = a.as_array();
    let mut data: Vec<f32> = match view.as_slice() {
        Some(s) => s.iter().map(|&v| scale(v)).collect(),
        // Not C-contiguous (a slice, a transposed view): logical order.
        None => view.iter().map(|&v| scale(v)).collect(),
    };
    if bgr && channels >= 3 {
        for px in data.chunks_exact_mut(channels) {
            px.swap(0, 2);
        }
    }
    data
}

/// An owned output image (samples already converted), built without the GIL and turned into a
/// numpy array with it.
pub enum OutputImage {
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    F32(ArrayD<f32>),
}

impl OutputImage {
    /// `frame` as a `dtype` array (HW when `squeeze_gray` and it has one channel, else HWC),
    /// samples multiplied by `max_range`, channels 0 and 2 swapped when `bgr`.
    pub fn from_frame(
        frame: &Frame,
        dtype: Dtype,
        max_range: f32,
        bgr: bool,
        squeeze_gray: bool,
    ) -> Self {
        let (h, w, c) = (frame.height, frame.width, frame.channels);
        let shape = if squeeze_gray && c == 1 {
            IxDyn(&[h, w])
        } else {
            IxDyn(&[h, w, c])
        };
        fn build<T: Sample>(frame: &Frame, max_range: f32, bgr: bool, shape: IxDyn) -> ArrayD<T> {
            let c = frame.channels;
            let mut out: Vec<T> = frame
                .data
                .iter()
                .map(|&v| T::from_scaled(v, max_range))
                .collect();
            if bgr && c >= 3 {
                for px in out.chunks_exact_mut(c) {
                    px.swap(0, 2);
                }
            }
            ArrayD::from_shape_vec(shape, out).expect("frame data matches its size")
        }
        match dtype {
            Dtype::U8 => OutputImage::U8(build(frame, max_range, bgr, shape)),
            Dtype::U16 => OutputImage::U16(build(frame, max_range, bgr, shape)),
            Dtype::F32 => OutputImage::F32(build(frame, max_range, bgr, shape)),
        }
    }

    pub fn into_py(self, py: Python<'_>) -> Bound<'_, PyAny> {
        match self {
            OutputImage::U8(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
            OutputImage::U16(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
            OutputImage::F32(a) => PyArrayDyn::from_owned_array(py, a).into_any(),
        }
    }
}
