//! [`Bf16Tensor`]: activations kept in bf16 between bf16 convolutions, in exactly the layout the
//! kernels read (zero border of the convolution's padding, channels padded to 32, spare pixels at
//! the end of each row for the last pixel block), so a chain of bf16 layers neither converts its
//! inputs nor writes `f32` outputs: half the memory traffic of `f32` activations, which is what
//! bounds these layers once AMX does the arithmetic. RRDBNet's dense blocks keep their growing
//! concatenation in one such tensor, each convolution writing its channels in place.

use super::{BLOCK_PX, K_BLOCK};
use crate::precision::{bf16_to_f32, f32_to_bf16};
use crate::Tensor;

/// NHWC bf16 activations with a zero border (see the module docs).
#[derive(Clone, Debug)]
pub struct Bf16Tensor {
    pub(crate) shape: [usize; 4],
    /// Channel stride (channels rounded up to 32).
    pub(crate) c_p: usize,
    pub(crate) pad: usize,
    /// Pixels per stored row: `pad + w + pad` plus [`BLOCK_PX`] spare.
    pub(crate) row_px: usize,
    pub(crate) data: Vec<u16>,
}

impl Bf16Tensor {
    /// Zeros of logical shape `[n, h, w, c]` for convolutions with zero padding `pad`.
    pub fn zeros(shape: [usize; 4], pad: usize) -> Self {
        let [_, _, w, c] = shape;
        Bf16Tensor {
            shape,
            c_p: c.next_multiple_of(K_BLOCK),
            pad,
            row_px: w + 2 * pad + BLOCK_PX,
            data: vec![0; Self::len_for(shape, pad)],
        }
    }

    /// Stored values of a tensor of logical `shape` and padding `pad`.
    pub(crate) fn len_for(shape: [usize; 4], pad: usize) -> usize {
        let [n, h, w, c] = shape;
        n * (h + 2 * pad) * (w + 2 * pad + BLOCK_PX) * c.next_multiple_of(K_BLOCK)
    }

    /// Reuses `buf`'s memory for a tensor like [`Bf16Tensor::zeros`] (borders zeroed, interior
    /// unspecified: callers write every interior channel they read).
    pub(crate) fn reuse(mut buf: Vec<u16>, shape: [usize; 4], pad: usize) -> Self {
        let [_, _, w, c] = shape;
        let c_p = c.next_multiple_of(K_BLOCK);
        let row_px = w + 2 * pad + BLOCK_PX;
        buf.resize(Self::len_for(shape, pad), 0);
        let mut t = Bf16Tensor {
            shape,
            c_p,
            pad,
            row_px,
            data: buf,
        };
        t.zero_border();
        t
    }

    fn zero_border(&mut self) {
        let [n, h, w, _] = self.shape;
        let row = self.row_px * self.c_p;
        let rows = h + 2 * self.pad;
        for b in 0..n {
            let img = &mut self.data[b * rows * row..][..rows * row];
            img[..self.pad * row].fill(0);
            img[(self.pad + h) * row..].fill(0);
            for y in self.pad..self.pad + h {
                let r = &mut img[y * row..][..row];
                r[..self.pad * self.c_p].fill(0);
                r[(self.pad + w) * self.c_p..].fill(0);
            }
        }
    }

    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }
    pub fn pad(&self) -> usize {
        self.pad
    }

    pub(crate) fn into_buffer(self) -> Vec<u16> {
        self.data
    }

    /// Elements per image (padded rows included).
    pub(crate) fn image_elems(&self) -> usize {
        (self.shape[1] + 2 * self.pad) * self.row_px * self.c_p
    }

    /// Index of channel 0 of interior pixel `(b, y, x)`.
    pub(crate) fn index(&self, b: usize, y: usize, x: usize) -> usize {
        b * self.image_elems() + ((y + self.pad) * self.row_px + x + self.pad) * self.c_p
    }

    /// Rounds `src` (same n, h, w) to bf16 into channels `c0 .. c0 + src.c()`; channels past the
    /// tensor's last up to the padded stride are zeroed when this write reaches the last.
    pub fn write_channels(&mut self, src: &Tensor, c0: usize) {
        let [n, h, w, c] = src.shape();
        assert_eq!([n, h, w], [self.shape[0], self.shape[1], self.shape[2]]);
        assert!(c0 + c <= self.shape[3], "bf16 tensor channels");
        let end = if c0 + c == self.shape[3] {
            self.c_p
        } else {
            c0 + c
        };
        let fast = crate::precision::avx512_bf16();
        for b in 0..n {
            for y in 0..h {
                let s = &src.data()[((b * h + y) * w) * c..][..w * c];
                let i = self.index(b, y, 0);
                let c_p = self.c_p;
                let d = &mut self.data[i..i + w * c_p];
                for (dp, sp) in d.chunks_exact_mut(c_p).zip(s.chunks_exact(c)) {
                    let dp = &mut dp[c0..end];
                    if fast && c == end - c0 && c % 32 == 0 {
                        // SAFETY: AVX-512 BF16 present; lengths match (c values, c % 32 == 0).
                        unsafe { super::avx512::convert_pixels(sp, c, c, dp) };
                    } else {
                        for (d, &s) in dp.iter_mut().zip(sp) {
                            *d = f32_to_bf16(s);
                        }
                        dp[c..].fill(0);
                    }
                }
            }
        }
    }

    /// The values as an `f32` tensor (tests, debugging).
    pub fn to_tensor(&self) -> Tensor {
        let [n, h, w, c] = self.shape;
        let mut out = Tensor::zeros(self.shape);
        for b in 0..n {
            for y in 0..h {
                for x in 0..w {
                    let i = self.index(b, y, x);
                    let o = ((b * h + y) * w + x) * c;
                    for ch in 0..c {
                        out.data_mut()[o + ch] = bf16_to_f32(self.data[i + ch]);
                    }
                }
            }
        }
        out
    }
}
