//! The NHWC `f32` tensor.

/// A dense 4-D tensor in NHWC order (batch, height, width, channels), `f32`, CPU memory.
///
/// NHWC keeps the channels of one pixel contiguous, which is what 1×1/3×3 convolutions as matrix
/// products want, and is the interleaved layout of decoded frames (N = 1), so frames become
/// tensors without a copy.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: [usize; 4],
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros with shape `[n, h, w, c]`.
    pub fn zeros(shape: [usize; 4]) -> Self {
        Tensor {
            shape,
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// Wraps `data` (NHWC order) without copying. Panics if the length does not match the shape:
    /// shapes here come from our own code, never straight from user input.
    pub fn from_vec(shape: [usize; 4], data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            shape.iter().product::<usize>(),
            "tensor data length does not match shape {shape:?}"
        );
        Tensor { shape, data }
    }

    /// Converts an NCHW buffer (PyTorch's layout) into an NHWC tensor.
    pub fn from_nchw(shape_nchw: [usize; 4], nchw: &[f32]) -> Self {
        let [n, c, h, w] = shape_nchw;
        assert_eq!(
            nchw.len(),
            n * c * h * w,
            "NCHW data length does not match shape"
        );
        let mut data = vec![0.0; nchw.len()];
        for b in 0..n {
            for ch in 0..c {
                let plane = &nchw[(b * c + ch) * h * w..][..h * w];
                for (i, &v) in plane.iter().enumerate() {
                    data[(b * h * w + i) * c + ch] = v;
                }
            }
        }
        Tensor {
            shape: [n, h, w, c],
            data,
        }
    }

    /// This tensor's data in NCHW order (PyTorch's layout).
    pub fn to_nchw(&self) -> Vec<f32> {
        let [n, h, w, c] = self.shape;
        let mut out = vec![0.0; self.data.len()];
        for b in 0..n {
            for i in 0..h * w {
                for ch in 0..c {
                    out[(b * c + ch) * h * w + i] = self.data[(b * h * w + i) * c + ch];
                }
            }
        }
        out
    }

    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }
    pub fn n(&self) -> usize {
        self.shape[0]
    }
    pub fn h(&self) -> usize {
        self.shape[1]
    }
    pub fn w(&self) -> usize {
        self.shape[2]
    }
    pub fn c(&self) -> usize {
        self.shape[3]
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nchw_round_trip() {
        let nchw: Vec<f32> = (0..2 * 3 * 4 * 5).map(|v| v as f32).collect();
        let t = Tensor::from_nchw([2, 3, 4, 5], &nchw);
        assert_eq!(t.shape(), [2, 4, 5, 3]);
        // element (b=1, c=2, y=3, x=4) in NCHW
        let v = nchw[((3 + 2) * 4 + 3) * 5 + 4];
        assert_eq!(t.data()[((4 + 3) * 5 + 4) * 3 + 2], v);
        assert_eq!(t.to_nchw(), nchw);
    }
}
