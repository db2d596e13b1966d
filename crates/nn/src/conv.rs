//! 2-D convolution and transposed convolution layers (PyTorch semantics), with weights packed
//! once at construction, run as im2col + GEMM (`gemm` crate, runtime SIMD dispatch) over
//! parallel blocks of output pixels, each block finished by the fused [`Epilogue`] while hot.
//!
//! 3×3 stride-1 padding-1 convolutions go to the Winograd kernel ([`crate::winograd`]) when it
//! expects to win; [`Conv2d::forward_gemm`] forces the general path.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::bf16conv::{Bf16ConvWeights, Bf16Kernel};
use crate::{direct, narrow, Epilogue, NnError, Precision, Tensor, Workspace};

/// Output pixels per parallel work item of the direct narrow-convolution path.
const NARROW_BLOCK_PX: usize = 256;

thread_local! {
    /// Per-thread im2col / GEMM scratch, grown on demand and reused across calls and frames.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Per-thread column-major product buffer of [`matmul_narrow`].
    static NARROW: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a per-thread scratch slice of at least `len` elements (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| {
        // A nested call on the same thread (rayon work stealing inside `f`) finds the cell
        // borrowed; give it its own buffer rather than panicking.
        match cell.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() < len {
                    buf.resize(len, 0.0);
                }
                f(&mut buf[..len])
            }
            Err(_) => f(&mut vec![0.0; len]),
        }
    })
}

/// Target size of one block's im2col matrix, in `f32`s: big enough for efficient GEMMs, small
/// enough to stay in L2 next to the packed weights.
const IM2COL_BLOCK_ELEMS: usize = 96 * 1024;

/// `out[m, n] = a[m, k] · b[k, n]` for row-major contiguous matrices, single-threaded (the
/// callers parallelise over blocks).
fn matmul(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out[..m * n].fill(0.0);
        return;
    }
    // SAFETY: the asserts above guarantee every index the strides below reach is in bounds;
    // `out` does not alias `a` or `b` (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Output channel counts up to which convolutions take the narrow path.
const NARROW_MAX_N: usize = narrow::MAX_N;

/// `bᵀ` of a row-major `[k, n]` matrix when `n` is small enough for the small-n kernel.
fn transpose_for_small_n(b: &[f32], k: usize, n: usize) -> Option<Vec<f32>> {
    (n <= NARROW_MAX_N).then(|| {
        let mut t = vec![0.0; k * n];
        for kk in 0..k {
            for j in 0..n {
                t[j * k + kk] = b[kk * n + j];
            }
        }
        t
    })
}

/// `out = a · b`, through the narrow-product path when `bt` (= `bᵀ`, present for few output
/// channels) is given.
fn product(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    bt: Option<&[f32]>,
    out: &mut [f32],
) {
    match bt {
        Some(_) if k > 0 && m > 0 => matmul_narrow(m, n, k, a, b, out),
        _ => matmul(m, n, k, a, b, out),
    }
}

/// `out = a · b` for few columns `n`: GEMM into a column-major scratch (so the SIMD kernel
/// runs along the long `m` dimension instead of the short `n`), then transposed into `out`.
fn matmul_narrow(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    NARROW.with(|cell| {
        let mut tmp = cell.borrow_mut();
        if tmp.len() < m * n {
            tmp.resize(m * n, 0.0);
        }
        // SAFETY: `tmp` holds m·n elements, column-major (row stride 1, column stride m); the
        // operands are as in `matmul`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                tmp.as_mut_ptr(),
                m as isize,
                1,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for (i, o) in out[..m * n].chunks_exact_mut(n).enumerate() {
            for (j, o) in o.iter_mut().enumerate() {
                *o = tmp[j * m + i];
            }
        }
    })
}

/// A 2-D convolution layer (`torch.nn.Conv2d`, groups = 1, dilation = 1, zero padding).
#[derive(Clone, Debug)]
pub struct Conv2d {
    cout: usize,
    cin: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
    bias: Option<Vec<f32>>,
    /// `[kh][kw][cin] × [cout]`, row-major: the im2col GEMM's right-hand side.
    packed: Vec<f32>,
    /// `packed` transposed, for few output channels.
    packed_t: Option<Vec<f32>>,
    /// Winograd-domain weights for 3×3 stride-1 padding-1 convolutions.
    winograd: Option<crate::winograd::Winograd3x3Weights>,
    /// The OIHW weights, kept to pack bf16 weights when the precision changes.
    weight_oihw: Vec<f32>,
    precision: Precision,
    /// bf16 weights, present when the precision is bf16 and the layer qualifies
    /// ([`Conv2d::runs_bf16`]).
    bf16: Option<Bf16ConvWeights>,
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), NnError> {
    if expected != got {
        return Err(NnError::Length {
            what,
            expected,
            got,
        });
    }
    Ok(())
}

impl Conv2d {
    /// `weight` in PyTorch's OIHW layout with `shape = [cout, cin, kh, kw]`; optional `bias` of
    /// length `cout`; symmetric zero `padding`.
    pub fn new(
        weight: &[f32],
        shape: [usize; 4],
        bias: Option<&[f32]>,
        stride: usize,
        padding: usize,
    ) -> Result<Self, NnError> {
        let [cout, cin, kh, kw] = shape;
        if shape.contains(&0) {
            return Err(NnError::Shape {
                what: "conv2d weight",
                shape: shape.to_vec(),
                reason: "every dimension must be at least 1",
            });
        }
        if stride == 0 {
            return Err(NnError::Invalid("conv2d stride must be at least 1".into()));
        }
        check_len("conv2d weight", cout * cin * kh * kw, weight.len())?;
        if let Some(b) = bias {
            check_len("conv2d bias", cout, b.len())?;
        }
        let mut packed = vec![0.0; weight.len()];
        for o in 0..cout {
            for i in 0..cin {
                for y in 0..kh {
                    for x in 0..kw {
                        packed[((y * kw + x) * cin + i) * cout + o] =
                            weight[((o * cin + i) * kh + y) * kw + x];
                    }
                }
            }
        }
        let winograd = if kh == 3 && kw == 3 && stride == 1 && padding == 1 {
            Some(crate::winograd::Winograd3x3Weights::new(weight, cout, cin)?)
        } else {
            None
        };
        let packed_t = transpose_for_small_n(&packed, kh * kw * cin, cout);
        Ok(Conv2d {
            cout,
            cin,
            kh,
            kw,
            stride,
            padding,
            bias: bias.map(<[f32]>::to_vec),
            packed,
            packed_t,
            winograd,
            weight_oihw: weight.to_vec(),
            precision: Precision::Fp32,
            bf16: None,
        })
    }

    /// Switches the layer's arithmetic (packing bf16 weights on the first switch to bf16).
    /// Layers the bf16 kernels do not cover ([`Conv2d::qualifies_for_bf16`]) keep running `f32`.
    pub fn set_precision(&mut self, precision: Precision) {
        self.precision = precision;
        self.bf16 = match precision {
            Precision::Bf16 if self.qualifies_for_bf16() => self.bf16.take().or_else(|| {
                Bf16ConvWeights::new(&self.weight_oihw, [self.cout, self.cin, self.kh, self.kw])
                    .ok()
            }),
            _ => None,
        };
    }

    /// Builder form of [`Conv2d::set_precision`].
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.set_precision(precision);
        self
    }

    /// The precision last asked for.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether the bf16 kernels cover this layer: stride 1, at least
    /// [`crate::bf16conv::MIN_CIN`] input channels, kernel height ≤ [`crate::bf16conv::MAX_KH`].
    pub fn qualifies_for_bf16(&self) -> bool {
        self.stride == 1
            && self.cin >= crate::bf16conv::MIN_CIN
            && self.kh <= crate::bf16conv::MAX_KH
    }

    /// Whether forward passes run in bf16 (precision bf16 and the layer qualifies).
    pub fn runs_bf16(&self) -> bool {
        self.bf16.is_some()
    }

    pub fn in_channels(&self) -> usize {
        self.cin
    }
    pub fn out_channels(&self) -> usize {
        self.cout
    }
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }
    /// `(kh, kw, stride, padding)`.
    pub fn geometry(&self) -> (usize, usize, usize, usize) {
        (self.kh, self.kw, self.stride, self.padding)
    }
    /// The weights as `[kh][kw][cin][cout]` (HWIO, row-major): what other backends (GPU)
    /// upload once. Stable for the layer's lifetime.
    pub fn weight_hwio(&self) -> &[f32] {
        &self.packed
    }

    /// The output shape for an input of shape `[n, h, w, cin]` (PyTorch's formula).
    /// Panics if the input has the wrong channel count or is smaller than the kernel.
    pub fn output_shape(&self, input: [usize; 4]) -> [usize; 4] {
        let [n, h, w, c] = input;
        assert_eq!(c, self.cin, "conv2d input channels");
        let (hp, wp) = (h + 2 * self.padding, w + 2 * self.padding);
        assert!(
            hp >= self.kh && wp >= self.kw,
            "conv2d input {h}x{w} smaller than kernel"
        );
        [
            n,
            (hp - self.kh) / self.stride + 1,
            (wp - self.kw) / self.stride + 1,
            self.cout,
        ]
    }

    /// Allocating convenience form of [`Conv2d::forward_into`].
    pub fn forward(&self, x: &Tensor, epilogue: &Epilogue) -> Tensor {
        let mut out = Tensor::zeros(self.output_shape(x.shape()));
        self.forward_into(x, epilogue, &mut out);
        out
    }

    /// Like [`Conv2d::forward`], taking the output tensor from `ws` (return it with
    /// [`Workspace::recycle`] when done, so that steady-state frames allocate nothing).
    pub fn forward_ws(&self, x: &Tensor, epilogue: &Epilogue, ws: &mut Workspace) -> Tensor {
        let mut out = ws.tensor(self.output_shape(x.shape()));
        self.forward_into(x, epilogue, &mut out);
        out
    }

    /// Convolves `x` into `out` (which must have [`Conv2d::output_shape`]; every element is
    /// overwritten), applying bias and `epilogue`.
    pub fn forward_into(&self, x: &Tensor, epilogue: &Epilogue, out: &mut Tensor) {
        if let Some(weights) = &self.bf16 {
            assert_eq!(
                out.shape(),
                self.output_shape(x.shape()),
                "conv2d output tensor shape"
            );
            crate::bf16conv::conv_into(
                Bf16Kernel::detect(),
                x,
                weights,
                self.padding,
                self.bias(),
                epilogue,
                out,
            );
            return;
        }
        let [_, h, w, _] = x.shape();
        if let Some(wino) = &self.winograd {
            if crate::winograd::is_profitable(self.cin, self.cout, h, w) {
                crate::winograd::conv3x3_into(x, wino, self.bias(), epilogue, out);
                return;
            }
        }
        self.forward_gemm(x, epilogue, out);
    }

    /// Like [`Conv2d::forward_into`] from bf16 activations (no conversion pass); reads the
    /// first `cin` channels of `x`, whose padding must be this layer's.
    ///
    /// Panics unless [`Conv2d::runs_bf16`].
    pub fn forward_bf16_into(
        &self,
        x: &crate::bf16conv::Bf16Tensor,
        epilogue: &Epilogue,
        out: &mut Tensor,
    ) {
        let weights = self.bf16_weights(x);
        crate::bf16conv::conv_from_bf16(
            Bf16Kernel::detect(),
            x,
            weights,
            self.bias(),
            epilogue,
            out,
        );
    }

    /// Like [`Conv2d::forward_bf16_into`], rounding the outputs to bf16 into channels
    /// `c_off ..` of `dst`.
    pub fn forward_bf16_to_bf16(
        &self,
        x: &crate::bf16conv::Bf16Tensor,
        epilogue: &Epilogue,
        dst: &mut crate::bf16conv::Bf16Tensor,
        c_off: usize,
    ) {
        let weights = self.bf16_weights(x);
        crate::bf16conv::conv_bf16_to_bf16(
            Bf16Kernel::detect(),
            x,
            weights,
            self.bias(),
            epilogue,
            dst,
            c_off,
        );
    }

    /// A dense-block step on one bf16 buffer: reads its channels `0 .. cin`, writes the rounded
    /// outputs to its channels `c_off ..` (see [`crate::bf16conv::conv_bf16_in_place`]).
    pub fn forward_bf16_in_place(
        &self,
        buf: &mut crate::bf16conv::Bf16Tensor,
        epilogue: &Epilogue,
        c_off: usize,
    ) {
        let weights = self.bf16_weights(buf);
        crate::bf16conv::conv_bf16_in_place(
            Bf16Kernel::detect(),
            buf,
            weights,
            self.bias(),
            epilogue,
            c_off,
        );
    }

    fn bf16_weights(&self, x: &crate::bf16conv::Bf16Tensor) -> &Bf16ConvWeights {
        assert_eq!(x.pad(), self.padding, "bf16 tensor padding != conv padding");
        match &self.bf16 {
            Some(w) => w,
            None => panic!("conv2d bf16 input on a layer that does not run bf16"),
        }
    }

    /// The general im2col + GEMM path (any kernel size, stride and padding).
    pub fn forward_gemm(&self, x: &Tensor, epilogue: &Epilogue, out: &mut Tensor) {
        let out_shape = self.output_shape(x.shape());
        assert_eq!(out.shape(), out_shape, "conv2d output tensor shape");
        epilogue.check(out_shape);
        let [_, h, w, cin] = x.shape();
        let [_, oh, ow, cout] = out_shape;
        let k = self.kh * self.kw * cin;
        let pixels_per_image = oh * ow;
        let block_px = (IM2COL_BLOCK_ELEMS / k).clamp(16, 1024);
        let direct = self.kh == 1 && self.kw == 1 && self.stride == 1 && self.padding == 0;
        let input = x.data();
        let bias = self.bias();
        if (direct::MIN_N..=direct::MAX_N).contains(&cout) && direct::available() {
            let geo = direct::Geometry {
                h,
                w,
                cin,
                cout,
                kh: self.kh,
                kw: self.kw,
                stride: self.stride,
                pad: self.padding,
                oh,
                ow,
            };
            out.data_mut()
                .par_chunks_mut(NARROW_BLOCK_PX * cout)
                .enumerate()
                .for_each(|(blk, out_blk)| {
                    let p0 = blk * NARROW_BLOCK_PX;
                    direct::conv_block(&geo, input, &self.packed, p0, out_blk);
                    epilogue.apply_row(out_blk, p0, cout, bias);
                });
            return;
        }
        if let Some(bt) = self.packed_t.as_deref() {
            if narrow::available() && self.kh * self.kw <= narrow::MAX_SEGMENTS {
                let (kh, kw, s, pad) = (self.kh, self.kw, self.stride, self.padding as isize);
                out.data_mut()
                    .par_chunks_mut(NARROW_BLOCK_PX * cout)
                    .enumerate()
                    .for_each(|(blk, out_blk)| {
                        let p0 = blk * NARROW_BLOCK_PX;
                        narrow::run(cout, k, input, bt, out_blk, |i, segs| {
                            let p = p0 + i;
                            let (b, rem) = (p / pixels_per_image, p % pixels_per_image);
                            let (oy, ox) = (rem / ow, rem % ow);
                            let x0 = (ox * s) as isize - pad;
                            for ky in 0..kh {
                                let iy = (oy * s + ky) as isize - pad;
                                if iy < 0 || iy >= h as isize {
                                    continue; // zero padding contributes nothing
                                }
                                let row = (b * h + iy as usize) * w;
                                if x0 >= 0 && x0 as usize + kw <= w {
                                    segs.push(narrow::Segment {
                                        src: (row + x0 as usize) * cin,
                                        k_off: ky * kw * cin,
                                        len: kw * cin,
                                    });
                                    continue;
                                }
                                for kx in 0..kw {
                                    let ix = x0 + kx as isize;
                                    if ix >= 0 && ix < w as isize {
                                        segs.push(narrow::Segment {
                                            src: (row + ix as usize) * cin,
                                            k_off: (ky * kw + kx) * cin,
                                            len: cin,
                                        });
                                    }
                                }
                            }
                        });
                        epilogue.apply_row(out_blk, p0, cout, bias);
                    });
                return;
            }
        }
        out.data_mut()
            .par_chunks_mut(block_px * cout)
            .enumerate()
            .for_each(|(blk, out_blk)| {
                let p0 = blk * block_px;
                let np = out_blk.len() / cout;
                if direct {
                    product(
                        np,
                        cout,
                        k,
                        &input[p0 * cin..],
                        &self.packed,
                        self.packed_t.as_deref(),
                        out_blk,
                    );
                } else {
                    with_scratch(np * k, |cols| {
                        for (i, row) in cols.chunks_exact_mut(k).enumerate() {
                            let p = p0 + i;
                            let (b, rem) = (p / pixels_per_image, p % pixels_per_image);
                            let (oy, ox) = (rem / ow, rem % ow);
                            self.im2col_row(input, b, h, w, oy, ox, row);
                        }
                        product(
                            np,
                            cout,
                            k,
                            cols,
                            &self.packed,
                            self.packed_t.as_deref(),
                            out_blk,
                        );
                    });
                }
                epilogue.apply_row(out_blk, p0, cout, bias);
            });
    }

    /// Gathers the `kh·kw·cin` inputs of output pixel `(oy, ox)` of image `b` (zero outside).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn im2col_row(
        &self,
        input: &[f32],
        b: usize,
        h: usize,
        w: usize,
        oy: usize,
        ox: usize,
        row: &mut [f32],
    ) {
        let cin = self.cin;
        let x0 = (ox * self.stride) as isize - self.padding as isize;
        for ky in 0..self.kh {
            let dst = &mut row[ky * self.kw * cin..][..self.kw * cin];
            let iy = (oy * self.stride + ky) as isize - self.padding as isize;
            if iy < 0 || iy >= h as isize {
                dst.fill(0.0);
                continue;
            }
            let line = &input[(b * h + iy as usize) * w * cin..][..w * cin];
            if x0 >= 0 && x0 as usize + self.kw <= w {
                // The whole kernel row is inside: one contiguous copy.
                dst.copy_from_slice(&line[x0 as usize * cin..][..self.kw * cin]);
                continue;
            }
            for kx in 0..self.kw {
                let ix = x0 + kx as isize;
                let d = &mut dst[kx * cin..][..cin];
                if ix < 0 || ix >= w as isize {
                    d.fill(0.0);
                } else {
                    d.copy_from_slice(&line[ix as usize * cin..][..cin]);
                }
            }
        }
    }
}

/// One output phase of a transposed convolution: the output pixels `(s·m + ry, s·n + rx)` are an
/// ordinary correlation of the input with the taps listed here.
#[derive(Clone, Debug)]
struct Phase {
    /// `(input row offset dy, kernel row ky)`: output row `s·m + ry` reads input row `m + dy`.
    taps_y: Vec<(isize, usize)>,
    taps_x: Vec<(isize, usize)>,
    /// `[taps_y][taps_x][cin] × [cout]`, row-major.
    packed: Vec<f32>,
    /// `packed` transposed, for few output channels.
    packed_t: Option<Vec<f32>>,
}

/// A transposed 2-D convolution layer (`torch.nn.ConvTranspose2d`, groups = 1, dilation = 1,
/// no output padding), computed as `stride²` sub-pixel correlations (no scatter, no col2im).
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    cin: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: usize,
    bias: Option<Vec<f32>>,
    /// Indexed `ry * stride + rx`.
    phases: Vec<Phase>,
    /// The weights as `[kh][kw][cin][cout]`: what other backends (GPU) upload once.
    hwio: Vec<f32>,
}

/// For output residue `r`, the kernel taps `k` with `(r + p - k) % s == 0` and their input offset
/// `(r + p - k) / s`.
fn phase_taps(r: usize, k: usize, s: usize, p: usize) -> Vec<(isize, usize)> {
    (0..k)
        .filter_map(|kk| {
            let d = r as isize + p as isize - kk as isize;
            (d.rem_euclid(s as isize) == 0).then_some((d.div_euclid(s as isize), kk))
        })
        .collect()
}

impl ConvTranspose2d {
    /// `weight` in PyTorch's ConvTranspose2d layout `[cin, cout, kh, kw]` (IOHW), `shape` that
    /// shape; optional `bias` of length `cout`.
    pub fn new(
        weight: &[f32],
        shape: [usize; 4],
        bias: Option<&[f32]>,
        stride: usize,
        padding: usize,
    ) -> Result<Self, NnError> {
        let [cin, cout, kh, kw] = shape;
        if shape.contains(&0) {
            return Err(NnError::Shape {
                what: "conv_transpose2d weight",
                shape: shape.to_vec(),
                reason: "every dimension must be at least 1",
            });
        }
        if stride == 0 {
            return Err(NnError::Invalid(
                "conv_transpose2d stride must be at least 1".into(),
            ));
        }
        if padding >= kh.min(kw) {
            // PyTorch allows it, but then the output loses whole kernel footprints; none of our
            // models do this and it keeps the output-size arithmetic simple.
            return Err(NnError::Invalid(format!(
                "conv_transpose2d padding {padding} must be smaller than the kernel {kh}x{kw}"
            )));
        }
        check_len(
            "conv_transpose2d weight",
            cin * cout * kh * kw,
            weight.len(),
        )?;
        if let Some(b) = bias {
            check_len("conv_transpose2d bias", cout, b.len())?;
        }
        let mut phases = Vec::with_capacity(stride * stride);
        for ry in 0..stride {
            for rx in 0..stride {
                let taps_y = phase_taps(ry, kh, stride, padding);
                let taps_x = phase_taps(rx, kw, stride, padding);
                let k = taps_y.len() * taps_x.len() * cin;
                let mut packed = vec![0.0; k * cout];
                for (ty, &(_, ky)) in taps_y.iter().enumerate() {
                    for (tx, &(_, kx)) in taps_x.iter().enumerate() {
                        for i in 0..cin {
                            let row = ((ty * taps_x.len() + tx) * cin + i) * cout;
                            for o in 0..cout {
                                packed[row + o] = weight[((i * cout + o) * kh + ky) * kw + kx];
                            }
                        }
                    }
                }
                let packed_t = transpose_for_small_n(&packed, k, cout);
                phases.push(Phase {
                    taps_y,
                    taps_x,
                    packed,
                    packed_t,
                });
            }
        }
        let mut hwio = vec![0.0; weight.len()];
        for i in 0..cin {
            for o in 0..cout {
                for y in 0..kh {
                    for x in 0..kw {
                        hwio[((y * kw + x) * cin + i) * cout + o] =
                            weight[((i * cout + o) * kh + y) * kw + x];
                    }
                }
            }
        }
        Ok(ConvTranspose2d {
            cin,
            cout,
            kh,
            kw,
            stride,
            padding,
            bias: bias.map(<[f32]>::to_vec),
            phases,
            hwio,
        })
    }

    /// `(kh, kw, stride, padding)`.
    pub fn geometry(&self) -> (usize, usize, usize, usize) {
        (self.kh, self.kw, self.stride, self.padding)
    }

    /// The weights as `[kh][kw][cin][cout]` (tap `(ky, kx)` adds `x[iy, ix]·w` to output
    /// `(iy·s − p + ky, ix·s − p + kx)`): what other backends (GPU) upload once. Stable for the
    /// layer's lifetime.
    pub fn weight_hwio(&self) -> &[f32] {
        &self.hwio
    }

    pub fn in_channels(&self) -> usize {
        self.cin
    }
    pub fn out_channels(&self) -> usize {
        self.cout
    }
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }

    /// `[n, (h-1)·s - 2p + kh, (w-1)·s - 2p + kw, cout]`.
    pub fn output_shape(&self, input: [usize; 4]) -> [usize; 4] {
        let [n, h, w, c] = input;
        assert_eq!(c, self.cin, "conv_transpose2d input channels");
        assert!(h > 0 && w > 0, "conv_transpose2d input is empty");
        let oh = (h - 1) * self.stride + self.kh - 2 * self.padding;
        let ow = (w - 1) * self.stride + self.kw - 2 * self.padding;
        [n, oh, ow, self.cout]
    }

    pub fn forward(&self, x: &Tensor, epilogue: &Epilogue) -> Tensor {
        let mut out = Tensor::zeros(self.output_shape(x.shape()));
        self.forward_into(x, epilogue, &mut out);
        out
    }

    pub fn forward_ws(&self, x: &Tensor, epilogue: &Epilogue, ws: &mut Workspace) -> Tensor {
        let mut out = ws.tensor(self.output_shape(x.shape()));
        self.forward_into(x, epilogue, &mut out);
        out
    }

    /// Transposed convolution of `x` into `out` (shape [`ConvTranspose2d::output_shape`]),
    /// then bias and `epilogue`.
    pub fn forward_into(&self, x: &Tensor, epilogue: &Epilogue, out: &mut Tensor) {
        let out_shape = self.output_shape(x.shape());
        assert_eq!(
            out.shape(),
            out_shape,
            "conv_transpose2d output tensor shape"
        );
        epilogue.check(out_shape);
        let [_, h, w, cin] = x.shape();
        let [_, oh, ow, cout] = out_shape;
        let s = self.stride;
        let input = x.data();
        let bias = self.bias();
        // Work unit: one band of `s` output rows (= one input row's worth of every phase).
        let band = s * ow * cout;
        out.data_mut()
            .par_chunks_mut(oh * ow * cout)
            .enumerate()
            .for_each(|(b, out_img)| {
                out_img
                    .par_chunks_mut(band)
                    .enumerate()
                    .for_each(|(m, out_band)| {
                        self.band(input, [h, w, cin], b, m, ow, out_band);
                        epilogue.apply_row(out_band, (b * oh + m * s) * ow, cout, bias);
                    });
            });
    }

    /// Computes output rows `s·m .. s·m + s` (fewer at the bottom edge) of image `b`.
    fn band(
        &self,
        input: &[f32],
        [h, w, cin]: [usize; 3],
        b: usize,
        m: usize,
        ow: usize,
        out_band: &mut [f32],
    ) {
        let s = self.stride;
        let cout = self.cout;
        let rows = out_band.len() / (ow * cout);
        for ry in 0..rows {
            for rx in 0..s.min(ow) {
                let phase = &self.phases[ry * s + rx];
                let ncols = (ow - rx).div_ceil(s);
                let k = phase.taps_y.len() * phase.taps_x.len() * cin;
                if k == 0 {
                    for j in 0..ncols {
                        out_band[(ry * ow + rx + j * s) * cout..][..cout].fill(0.0);
                    }
                    continue;
                }
                let narrow_ok = narrow::available()
                    && phase.taps_y.len() * phase.taps_x.len() <= narrow::MAX_SEGMENTS;
                if let (Some(bt), true) = (phase.packed_t.as_deref(), narrow_ok) {
                    with_scratch(ncols * cout, |res| {
                        narrow::run(cout, k, input, bt, res, |j, segs| {
                            let mut t = 0;
                            for &(dy, _) in &phase.taps_y {
                                let iy = m as isize + dy;
                                for &(dx, _) in &phase.taps_x {
                                    let ix = j as isize + dx;
                                    if iy >= 0 && iy < h as isize && ix >= 0 && ix < w as isize {
                                        segs.push(narrow::Segment {
                                            src: ((b * h + iy as usize) * w + ix as usize) * cin,
                                            k_off: t * cin,
                                            len: cin,
                                        });
                                    }
                                    t += 1;
                                }
                            }
                        });
                        for j in 0..ncols {
                            out_band[(ry * ow + rx + j * s) * cout..][..cout]
                                .copy_from_slice(&res[j * cout..][..cout]);
                        }
                    });
                    continue;
                }
                with_scratch(ncols * k + ncols * cout, |scratch| {
                    let (cols, res) = scratch.split_at_mut(ncols * k);
                    for (j, row) in cols.chunks_exact_mut(k).enumerate() {
                        let mut off = 0;
                        for &(dy, _) in &phase.taps_y {
                            let iy = m as isize + dy;
                            for &(dx, _) in &phase.taps_x {
                                let ix = j as isize + dx;
                                let d = &mut row[off..off + cin];
                                off += cin;
                                if iy < 0 || iy >= h as isize || ix < 0 || ix >= w as isize {
                                    d.fill(0.0);
                                } else {
                                    let src = ((b * h + iy as usize) * w + ix as usize) * cin;
                                    d.copy_from_slice(&input[src..src + cin]);
                                }
                            }
                        }
                    }
                    product(
                        ncols,
                        cout,
                        k,
                        cols,
                        &phase.packed,
                        phase.packed_t.as_deref(),
                        res,
                    );
                    for j in 0..ncols {
                        out_band[(ry * ow + rx + j * s) * cout..][..cout]
                            .copy_from_slice(&res[j * cout..][..cout]);
                    }
                });
            }
        }
    }
}
