//! [`GpuBackend`]: `upframe_nn::Backend` on a [`GpuContext`].
//!
//! Work is recorded into one command encoder and submitted when a result is read back
//! ([`GpuBackend::download`]) or the parameter ring is full. Tensors come from a pool of
//! buffers that outlives frames, so steady-state frames allocate nothing on the device.
//! Layer weights are uploaded on first use and cached for the backend's lifetime (key: the
//! layer's weight address, length and sampled values, so a backend must not outlive the
//! network it runs — keep one per loaded network).
//!
//! Failures (out of memory, device lost, the test hook) are sticky: once one happens the ops
//! stop recording and return placeholders, and the next [`GpuBackend::download`] returns the
//! error and frees the pool, so the caller can retry with a smaller tile.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::ops::Range;
use std::sync::Arc;

use half::f16;

use upframe_nn::{ops, Activation, Backend, Conv2d, ConvTranspose2d, Fused, Tensor};

use crate::context::{GpuContext, Precision};
use crate::GpuError;

/// Invocations per workgroup of every kernel (`@workgroup_size(64)`).
const WORKGROUP: u64 = 64;
/// What one invocation of `conv` (shaders/conv.wgsl) computes: (BX, BG) = 4 adjacent output
/// pixels along x × 2 vec4 groups (8 output channels).
const CONV_BLOCK: (usize, usize) = (4, 2);
/// Bytes per parameter slot (a multiple of every adapter's uniform offset alignment).
const PARAM_SLOT: u64 = 256;
/// Parameter slots per submission.
const PARAM_SLOTS: u64 = 2048;

/// An NHWC tensor in device memory.
#[derive(Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    shape: [usize; 4],
    /// Whether the buffer returns to the pool when recycled (placeholders after a failure
    /// do not).
    pooled: bool,
}

impl GpuTensor {
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }
    fn len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A download submitted by [`GpuBackend::begin_download`], finished by
/// [`GpuBackend::finish_download`].
#[derive(Debug)]
pub struct PendingDownload {
    staging: wgpu::Buffer,
    bytes: u64,
    shape: [usize; 4],
    submission: wgpu::SubmissionIndex,
    mapped: std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
    /// [`GpuBackend`]'s reset count when it began.
    resets: u64,
}

impl PendingDownload {
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }
}

/// Identity of a CPU-side parameter slice: address, length and a few sampled values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SliceKey(usize, usize, [u32; 4]);

impl SliceKey {
    fn of(s: &[f32]) -> SliceKey {
        let n = s.len();
        let pick = |i: usize| {
            if n == 0 {
                0
            } else {
                s[i * (n - 1) / 3].to_bits()
            }
        };
        SliceKey(s.as_ptr() as usize, n, [pick(0), pick(1), pick(2), pick(3)])
    }
    fn of_opt(s: Option<&[f32]>) -> Option<SliceKey> {
        s.map(SliceKey::of)
    }
}

/// The per-channel vectors of one convolution call: bias, channel scale, PReLU slopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct VectorsKey {
    weight: SliceKey,
    scale: Option<SliceKey>,
    slopes: Option<SliceKey>,
}

/// `upframe_nn::Backend` on a GPU. See the module docs.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    precision: Precision,
    /// Free device buffers, reused by size.
    pool: Vec<wgpu::Buffer>,
    weights: HashMap<SliceKey, wgpu::Buffer>,
    vectors: HashMap<VectorsKey, wgpu::Buffer>,
    encoder: Option<wgpu::CommandEncoder>,
    params: wgpu::Buffer,
    next_slot: u64,
    /// Bound where a kernel's optional input is absent.
    placeholder: wgpu::Buffer,
    /// Free read-back buffers; a download in flight holds its own until it finishes.
    staging: Vec<wgpu::Buffer>,
    /// Failures reset so far: a download begun before a reset is discarded, since the work it
    /// reads may belong to the failed submission.
    resets: u64,
    /// CPU-side conversion scratch (f16 uploads and downloads).
    scratch: Vec<u8>,
    failure: Option<GpuError>,
    /// Device buffers created so far (steady state: constant).
    allocations: usize,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("ctx", &self.ctx)
            .field("pooled", &self.pool.len())
            .field("weights", &self.weights.len())
            .finish()
    }
}

fn round_up(v: u64, m: u64) -> u64 {
    v.div_ceil(m) * m
}

impl GpuBackend {
    pub fn new(ctx: Arc<GpuContext>) -> GpuBackend {
        let device = &ctx.device;
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: PARAM_SLOT * PARAM_SLOTS,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let placeholder = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("placeholder"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        GpuBackend {
            precision: ctx.precision(),
            ctx,
            pool: Vec::new(),
            weights: HashMap::new(),
            vectors: HashMap::new(),
            encoder: None,
            params,
            next_slot: 0,
            placeholder,
            staging: Vec::new(),
            resets: 0,
            scratch: Vec::new(),
            failure: None,
            allocations: 0,
        }
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Device buffers (tensors, weights, staging) created so far; constant in steady state.
    pub fn allocations(&self) -> usize {
        self.allocations
    }

    fn elem_bytes(&self) -> u64 {
        self.precision.bytes()
    }

    fn fail(&mut self, e: GpuError) {
        self.failure.get_or_insert(e);
    }

    fn placeholder_tensor(&self, shape: [usize; 4]) -> GpuTensor {
        GpuTensor {
            buffer: self.placeholder.clone(),
            shape,
            pooled: false,
        }
    }

    /// A fresh device buffer, or a recorded failure.
    fn create_buffer(
        &mut self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Option<wgpu::Buffer> {
        if self.failure.is_some() {
            return None;
        }
        let size = round_up(size.max(16), 16);
        if self.ctx.forced_allocation_failure(size) {
            self.fail(GpuError::OutOfMemory(format!(
                "allocating {size} bytes failed (forced by the test hook)"
            )));
            return None;
        }
        if usage.contains(wgpu::BufferUsages::STORAGE) && size > self.ctx.max_binding_bytes() {
            self.fail(GpuError::OutOfMemory(format!(
                "{label}: {size} bytes exceed the adapter's largest binding of {} bytes",
                self.ctx.max_binding_bytes()
            )));
            return None;
        }
        let buf = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        self.allocations += 1;
        if let Some(e) = self.ctx.take_error() {
            self.fail(e);
            return None;
        }
        Some(buf)
    }

    /// A pooled tensor of `shape` (contents unspecified), or a placeholder after a failure.
    fn tensor(&mut self, shape: [usize; 4]) -> GpuTensor {
        let bytes = round_up(
            (shape.iter().product::<usize>() as u64 * self.elem_bytes()).max(16),
            16,
        );
        let best = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.size() >= bytes)
            .min_by_key(|(_, b)| b.size())
            .map(|(i, _)| i);
        if let Some(i) = best {
            return GpuTensor {
                buffer: self.pool.swap_remove(i),
                shape,
                pooled: true,
            };
        }
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        match self.create_buffer("tensor", bytes, usage) {
            Some(buffer) => GpuTensor {
                buffer,
                shape,
                pooled: true,
            },
            None => self.placeholder_tensor(shape),
        }
    }

    /// `values` in the storage precision, as bytes (a multiple of 4 long).
    fn storage_bytes(&mut self, values: &[f32]) -> Vec<u8> {
        let mut bytes = match self.precision {
            Precision::F32 => bytemuck::cast_slice(values).to_vec(),
            Precision::F16 => {
                let h: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
                bytemuck::cast_slice(&h).to_vec()
            }
        };
        bytes.resize(round_up(bytes.len() as u64, 4) as usize, 0);
        bytes
    }

    /// Copies a CPU tensor to the device.
    pub fn upload(&mut self, t: &Tensor) -> GpuTensor {
        let g = self.tensor(t.shape());
        if self.failure.is_none() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            match self.precision {
                Precision::F32 => scratch.extend_from_slice(bytemuck::cast_slice(t.data())),
                Precision::F16 => scratch.extend(
                    t.data()
                        .iter()
                        .flat_map(|&v| f16::from_f32(v).to_le_bytes()),
                ),
            }
            scratch.resize(round_up(scratch.len() as u64, 4) as usize, 0);
            self.ctx.queue.write_buffer(&g.buffer, 0, &scratch);
            self.scratch = scratch;
        }
        g
    }

    /// Runs everything recorded so far and copies `t` into `out` (same shape): a
    /// [`GpuBackend::begin_download`] at once finished. Returns the first failure since the
    /// last download instead, after freeing the tensor pool (so a retry with smaller tiles
    /// starts from an empty device).
    pub fn download_into(&mut self, t: &GpuTensor, out: &mut Tensor) -> Result<(), GpuError> {
        let pending = self.begin_download(t)?;
        self.finish_download(pending, out)
    }

    /// Submits everything recorded so far with a copy of `t` into a read-back buffer, and
    /// returns without waiting. The caller records and submits more work (the next frame)
    /// and then calls [`GpuBackend::finish_download`]: the GPU computes while the CPU reads
    /// back and converts the previous result — how frames stream without the CPU and the GPU
    /// waiting on each other. Read-back buffers are reused (two in steady state).
    pub fn begin_download(&mut self, t: &GpuTensor) -> Result<PendingDownload, GpuError> {
        let bytes = round_up(t.len() as u64 * self.elem_bytes(), 4);
        let free = self
            .staging
            .iter()
            .enumerate()
            .filter(|(_, b)| b.size() >= bytes)
            .min_by_key(|(_, b)| b.size())
            .map(|(i, _)| i);
        let staging = match free {
            Some(i) => Some(self.staging.swap_remove(i)),
            None => self.create_buffer(
                "staging",
                bytes,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        };
        if let Some(e) = self.failure.take() {
            if let Some(b) = staging {
                self.staging.push(b);
            }
            return Err(self.reset(e));
        }
        let staging = staging.expect("a staging buffer when no failure is recorded");
        let mut enc = self.take_encoder();
        enc.copy_buffer_to_buffer(&t.buffer, 0, &staging, 0, bytes);
        let submission = self.ctx.queue.submit([enc.finish()]);
        self.next_slot = 0;
        let (tx, rx) = std::sync::mpsc::channel();
        staging
            .slice(0..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        Ok(PendingDownload {
            staging,
            bytes,
            shape: t.shape,
            submission,
            mapped: rx,
            resets: self.resets,
        })
    }

    /// Waits for `pending`'s submission (not for work submitted after it) and copies the
    /// result into `out` (same shape). [`GpuError::Discarded`] when a failure was reset since
    /// `pending` began: the caller runs that work again.
    pub fn finish_download(
        &mut self,
        pending: PendingDownload,
        out: &mut Tensor,
    ) -> Result<(), GpuError> {
        assert_eq!(pending.shape, out.shape(), "download shape");
        let PendingDownload {
            staging,
            bytes,
            submission,
            mapped,
            resets,
            ..
        } = pending;
        let polled = self.ctx.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        });
        if let Some(e) = self.ctx.take_error() {
            return Err(self.reset(e));
        }
        if let Err(e) = polled {
            return Err(self.reset(GpuError::DeviceLost(e.to_string())));
        }
        match mapped.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(self.reset(GpuError::Backend(e.to_string()))),
            Err(_) => {
                return Err(self.reset(GpuError::Backend("the read-back never completed".into())))
            }
        }
        if resets != self.resets {
            staging.unmap();
            self.staging.push(staging);
            return Err(GpuError::Discarded);
        }
        {
            let slice = staging.slice(0..bytes);
            let view = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Backend(e.to_string()))?;
            let n = out.len();
            match self.precision {
                Precision::F32 => out
                    .data_mut()
                    .copy_from_slice(&bytemuck::cast_slice::<u8, f32>(&view)[..n]),
                Precision::F16 => {
                    for (o, h) in out.data_mut().iter_mut().zip(view[..2 * n].chunks_exact(2)) {
                        *o = f16::from_le_bytes([h[0], h[1]]).to_f32();
                    }
                }
            }
        }
        staging.unmap();
        self.staging.push(staging);
        // Two read-backs in flight at most in steady state: keep the two largest buffers.
        if self.staging.len() > 2 {
            self.staging.sort_by_key(|b| std::cmp::Reverse(b.size()));
            self.staging.truncate(2);
        }
        Ok(())
    }

    /// [`GpuBackend::download_into`] a new tensor.
    pub fn download(&mut self, t: &GpuTensor) -> Result<Tensor, GpuError> {
        let mut out = Tensor::zeros(t.shape);
        self.download_into(t, &mut out)?;
        Ok(out)
    }

    /// Drops recorded work and pooled tensors after a failure; returns the error.
    fn reset(&mut self, e: GpuError) -> GpuError {
        self.encoder = None;
        self.next_slot = 0;
        self.pool.clear();
        self.staging.clear();
        self.failure = None;
        self.resets += 1;
        // The device may have queued more errors caused by the first one.
        let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
        let _ = self.ctx.take_error();
        e
    }

    fn take_encoder(&mut self) -> wgpu::CommandEncoder {
        self.encoder.take().unwrap_or_else(|| {
            self.ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    /// Records one dispatch of `total` invocations with `params` and `buffers` bound at 1, 2, …
    fn dispatch(
        &mut self,
        kernel: fn(&crate::context::Kernels) -> (&wgpu::ComputePipeline, &wgpu::BindGroupLayout),
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        total: u64,
    ) {
        if self.failure.is_some() || total == 0 {
            return;
        }
        if self.next_slot == PARAM_SLOTS {
            // Parameter writes land before the next submission: flush what uses the ring.
            let enc = self.take_encoder();
            self.ctx.queue.submit([enc.finish()]);
            self.next_slot = 0;
        }
        let offset = self.next_slot * PARAM_SLOT;
        self.next_slot += 1;
        let ctx = self.ctx.clone();
        ctx.queue.write_buffer(&self.params, offset, params);
        let (pipeline, layout) = kernel(&ctx.kernels);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.params,
                offset,
                size: NonZeroU64::new(params.len() as u64),
            }),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        });
        let groups = total.div_ceil(WORKGROUP);
        let max = u64::from(ctx.max_workgroups_per_dimension());
        let gx = groups.min(max);
        let gy = groups.div_ceil(gx);
        if gy > max {
            self.fail(GpuError::OutOfMemory(format!(
                "{total} invocations exceed one dispatch: use smaller tiles"
            )));
            return;
        }
        let mut enc = self.take_encoder();
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx as u32, gy as u32, 1);
        }
        self.encoder = Some(enc);
    }

    /// Conv weights given as `[kh][kw][cin][cout]` (`hwio`), uploaded once as
    /// `[kh][kw][cin][cout4·4]` in storage precision.
    fn conv_weights(&mut self, hwio: &[f32], cout: usize) -> Option<wgpu::Buffer> {
        let key = SliceKey::of(hwio);
        if let Some(b) = self.weights.get(&key) {
            return Some(b.clone());
        }
        let cout4 = cout.div_ceil(4) * 4;
        let rows = hwio.len() / cout;
        let mut padded = vec![0.0f32; rows * cout4];
        for (dst, src) in padded.chunks_exact_mut(cout4).zip(hwio.chunks_exact(cout)) {
            dst[..cout].copy_from_slice(src);
        }
        let bytes = self.storage_bytes(&padded);
        let buf = self.create_buffer(
            "weights",
            bytes.len() as u64,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        )?;
        self.ctx.queue.write_buffer(&buf, 0, &bytes);
        self.weights.insert(key, buf.clone());
        Some(buf)
    }

    /// `[bias | scale | slopes]` (f32) for one conv (weights `hwio`) + epilogue, uploaded once.
    fn conv_vectors(
        &mut self,
        hwio: &[f32],
        bias: Option<&[f32]>,
        cout: usize,
        scale: Option<&[f32]>,
        slopes: Option<&[f32]>,
    ) -> Option<wgpu::Buffer> {
        let key = VectorsKey {
            weight: SliceKey::of(hwio),
            scale: SliceKey::of_opt(scale),
            slopes: SliceKey::of_opt(slopes),
        };
        if let Some(b) = self.vectors.get(&key) {
            return Some(b.clone());
        }
        let mut v = Vec::with_capacity(2 * cout + slopes.map_or(0, <[f32]>::len));
        match bias {
            Some(b) => v.extend_from_slice(b),
            None => v.resize(cout, 0.0),
        }
        match scale {
            Some(s) => v.extend_from_slice(s),
            None => v.resize(2 * cout, 1.0),
        }
        if let Some(s) = slopes {
            v.extend_from_slice(s);
        }
        let buf = self.create_buffer(
            "vectors",
            (v.len() * 4) as u64,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        )?;
        self.ctx
            .queue
            .write_buffer(&buf, 0, bytemuck::cast_slice(&v));
        self.vectors.insert(key, buf.clone());
        Some(buf)
    }

    /// A convolution or transposed convolution (`kernel`) of `x` into a new tensor of
    /// `out_shape`, with the fused epilogue. One invocation computes `block` = (output pixels
    /// along x, vec4 groups of output channels).
    #[allow(clippy::too_many_arguments)]
    fn conv_like(
        &mut self,
        kernel: fn(&crate::context::Kernels) -> (&wgpu::ComputePipeline, &wgpu::BindGroupLayout),
        block: (usize, usize),
        hwio: &[f32],
        bias: Option<&[f32]>,
        geometry: (usize, usize, usize, usize),
        x: &GpuTensor,
        out_shape: [usize; 4],
        ep: &Fused<'_, GpuTensor>,
    ) -> GpuTensor {
        let out = self.tensor(out_shape);
        let [n, h, w, cin] = x.shape;
        let [_, oh, ow, cout] = out_shape;
        let (act, slope, slopes) = match ep.activation {
            Activation::None => (0u32, 0.0f32, None),
            Activation::Relu => (1, 0.0, None),
            Activation::LeakyRelu(s) => (2, s, None),
            Activation::PRelu(w) => (3, 0.0, Some(w)),
            Activation::Sigmoid => (4, 0.0, None),
        };
        let (Some(weights), Some(vectors)) = (
            self.conv_weights(hwio, cout),
            self.conv_vectors(hwio, bias, cout, ep.channel_scale, slopes),
        ) else {
            return out;
        };
        let (kh, kw, stride, pad) = geometry;
        let cout4 = cout.div_ceil(4);
        let total = n * oh * ow.div_ceil(block.0) * cout4.div_ceil(block.1);
        let mut flags = 0u32;
        if ep.channel_scale.is_some() {
            flags |= 1;
        }
        if let Some(r) = ep.residual {
            assert_eq!(r.shape, out_shape, "epilogue residual shape");
            flags |= 2;
        }
        if let Some((_, t)) = ep.post {
            assert_eq!(t.shape, out_shape, "epilogue post shape");
            flags |= 4;
        }
        let u = [n, h, w, cin, oh, ow, cout, cout4, kh, kw, stride, pad].map(|v| v as u32);
        let mut params: Vec<u8> = bytemuck::cast_slice(&u).to_vec();
        params.extend_from_slice(&flags.to_le_bytes());
        params.extend_from_slice(&act.to_le_bytes());
        params.extend_from_slice(&slope.to_le_bytes());
        params.extend_from_slice(&ep.post.map_or(0.0f32, |p| p.0).to_le_bytes());
        let tail = [cout, 2 * cout, slopes.map_or(0, <[f32]>::len), total].map(|v| v as u32);
        params.extend_from_slice(bytemuck::cast_slice(&tail));
        let placeholder = self.placeholder.clone();
        let res = ep.residual.map_or(&placeholder, |t| &t.buffer);
        let post = ep.post.map_or(&placeholder, |p| &p.1.buffer);
        self.dispatch(
            kernel,
            &params,
            &[&x.buffer, &weights, &vectors, res, post, &out.buffer],
            total as u64,
        );
        out
    }

    /// One kernel of `shaders/sample.wgsl`: `inputs` at bindings 1–3 (the placeholder where
    /// absent), `out` at 4.
    fn sample(
        &mut self,
        kernel: fn(&crate::context::Kernels) -> (&wgpu::ComputePipeline, &wgpu::BindGroupLayout),
        p: &SampleParams,
        inputs: [Option<&GpuTensor>; 3],
        out: &GpuTensor,
    ) {
        let placeholder = self.placeholder.clone();
        let ph = &placeholder;
        let [a, b, c] = inputs.map(|t| t.map_or(ph, |t| &t.buffer));
        self.dispatch(kernel, &p.bytes(), &[a, b, c, &out.buffer], p.total as u64);
    }

    /// One data-movement kernel from `a` into a new tensor of `out_shape`.
    fn movement(
        &mut self,
        kernel: fn(&crate::context::Kernels) -> (&wgpu::ComputePipeline, &wgpu::BindGroupLayout),
        a: &GpuTensor,
        r: usize,
        out_shape: [usize; 4],
    ) -> GpuTensor {
        let out = self.tensor(out_shape);
        let [n, h, w, c] = a.shape;
        let total = out_shape.iter().product::<usize>();
        let params = move_params(n, h, w, c, r, 0, 0, total, 0.0);
        self.dispatch(kernel, &params, &[&a.buffer, &out.buffer], total as u64);
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn move_params(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    r: usize,
    c_out: usize,
    offset: usize,
    total: usize,
    s: f32,
) -> Vec<u8> {
    let u = [n, h, w, c, r, c_out, offset, total].map(|v| v as u32);
    let mut p: Vec<u8> = bytemuck::cast_slice(&u).to_vec();
    p.extend_from_slice(&s.to_le_bytes());
    p.extend_from_slice(&[0u8; 12]);
    p
}

/// The uniform of `shaders/sample.wgsl` (see its `Params`).
#[derive(Clone, Copy, Debug, Default)]
struct SampleParams {
    /// `a`'s shape.
    a: [usize; 4],
    /// The output's height, width, channels.
    out: [usize; 3],
    total: usize,
    c0: usize,
    c1: usize,
    len: usize,
    extra: usize,
    f: [f32; 4],
}

impl SampleParams {
    fn bytes(&self) -> Vec<u8> {
        let [n, h, w, c] = self.a;
        let [oh, ow, oc] = self.out;
        let u = [
            n, h, w, c, oh, ow, oc, self.total, self.c0, self.c1, self.len, self.extra,
        ]
        .map(|v| v as u32);
        let mut p: Vec<u8> = bytemuck::cast_slice(&u).to_vec();
        p.extend_from_slice(bytemuck::cast_slice(&self.f));
        p
    }
}

macro_rules! kernel {
    ($name:ident, $layout:ident) => {
        |k: &crate::context::Kernels| (&k.$name, &k.$layout)
    };
}

impl Backend for GpuBackend {
    type Tensor = GpuTensor;

    fn shape(&self, t: &GpuTensor) -> [usize; 4] {
        t.shape
    }

    fn conv2d(&mut self, conv: &Conv2d, x: &GpuTensor, ep: &Fused<'_, GpuTensor>) -> GpuTensor {
        let out_shape = conv.output_shape(x.shape);
        self.conv_like(
            kernel!(conv, conv_layout),
            CONV_BLOCK,
            conv.weight_hwio(),
            conv.bias(),
            conv.geometry(),
            x,
            out_shape,
            ep,
        )
    }

    fn repeat_channels(&mut self, x: &GpuTensor, times: usize) -> GpuTensor {
        let [n, h, w, c] = x.shape;
        self.movement(
            kernel!(repeat_channels, move_layout),
            x,
            times,
            [n, h, w, c * times],
        )
    }

    fn pixel_shuffle(&mut self, x: &GpuTensor, r: usize) -> GpuTensor {
        let [n, h, w, c] = x.shape;
        assert!(r > 0 && c % (r * r) == 0, "pixel_shuffle channels");
        self.movement(
            kernel!(pixel_shuffle, move_layout),
            x,
            r,
            [n, h * r, w * r, c / (r * r)],
        )
    }

    fn pixel_unshuffle(&mut self, x: &GpuTensor, r: usize) -> GpuTensor {
        let [n, h, w, c] = x.shape;
        assert!(r > 0 && h % r == 0 && w % r == 0, "pixel_unshuffle size");
        self.movement(
            kernel!(pixel_unshuffle, move_layout),
            x,
            r,
            [n, h / r, w / r, c * r * r],
        )
    }

    fn upsample_nearest(&mut self, x: &GpuTensor, r: usize) -> GpuTensor {
        let [n, h, w, c] = x.shape;
        self.movement(
            kernel!(upsample_nearest, move_layout),
            x,
            r,
            [n, h * r, w * r, c],
        )
    }

    fn concat_channels(&mut self, parts: &[&GpuTensor]) -> GpuTensor {
        let [n, h, w, _] = parts[0].shape;
        let c_out = parts.iter().map(|t| t.shape[3]).sum();
        let out = self.tensor([n, h, w, c_out]);
        let mut offset = 0;
        for part in parts {
            let [pn, ph, pw, c] = part.shape;
            assert_eq!([pn, ph, pw], [n, h, w], "concat_channels shapes");
            let total = n * h * w * c;
            let params = move_params(n, h, w, c, 1, c_out, offset, total, 0.0);
            self.dispatch(
                kernel!(copy_channels, move_layout),
                &params,
                &[&part.buffer, &out.buffer],
                total as u64,
            );
            offset += c;
        }
        out
    }

    fn scale_add_inplace(&mut self, a: &mut GpuTensor, s: f32, b: &GpuTensor) {
        assert_eq!(a.shape, b.shape, "scale_add_inplace shapes");
        let [n, h, w, c] = a.shape;
        let total = n * h * w * c;
        let params = move_params(n, h, w, c, 1, c, 0, total, s);
        self.dispatch(
            kernel!(scale_add, move_layout),
            &params,
            &[&b.buffer, &a.buffer],
            total as u64,
        );
    }

    fn copy(&mut self, x: &GpuTensor) -> GpuTensor {
        let out = self.tensor(x.shape);
        if self.failure.is_none() {
            let bytes = round_up(x.len() as u64 * self.elem_bytes(), 4);
            let mut enc = self.take_encoder();
            enc.copy_buffer_to_buffer(&x.buffer, 0, &out.buffer, 0, bytes);
            self.encoder = Some(enc);
        }
        out
    }

    fn conv_transpose2d(
        &mut self,
        conv: &ConvTranspose2d,
        x: &GpuTensor,
        ep: &Fused<'_, GpuTensor>,
    ) -> GpuTensor {
        let out_shape = conv.output_shape(x.shape);
        self.conv_like(
            kernel!(conv_transpose, conv_layout),
            (1, 1),
            conv.weight_hwio(),
            conv.bias(),
            conv.geometry(),
            x,
            out_shape,
            ep,
        )
    }

    fn resize_bilinear(&mut self, x: &GpuTensor, sf: f64) -> GpuTensor {
        let [n, h, w, c] = x.shape;
        let (oh, ow) = ops::scaled_size(h, w, sf);
        assert!(oh > 0 && ow > 0, "resize to an empty tensor");
        let out = self.tensor([n, oh, ow, c]);
        let total = n * oh * ow * c;
        let p = SampleParams {
            a: x.shape,
            out: [oh, ow, c],
            total,
            // PyTorch's coordinate ratio for a given scale factor, as the CPU computes it.
            f: [(1.0 / sf) as f32, 0.0, 0.0, 0.0],
            ..Default::default()
        };
        self.sample(
            kernel!(resize, sample_layout),
            &p,
            [Some(x), None, None],
            &out,
        );
        out
    }

    fn warp(&mut self, img: &GpuTensor, flow: &GpuTensor, flow_c0: usize) -> GpuTensor {
        let [n, h, w, c] = img.shape;
        assert_eq!(flow.shape[..3], [n, h, w], "warp flow spatial shape");
        assert!(flow_c0 + 2 <= flow.shape[3], "warp flow channels");
        let out = self.tensor(img.shape);
        let p = SampleParams {
            a: img.shape,
            out: [h, w, c],
            total: n * h * w * c,
            c0: flow_c0,
            extra: flow.shape[3],
            // RIFE divides by (W - 1) / 2 computed in double, applied to an f32 tensor.
            f: [
                ((w as f64 - 1.0) / 2.0) as f32,
                ((h as f64 - 1.0) / 2.0) as f32,
                0.0,
                0.0,
            ],
            ..Default::default()
        };
        self.sample(
            kernel!(warp, sample_layout),
            &p,
            [Some(img), Some(flow), None],
            &out,
        );
        out
    }

    fn gather_channels(&mut self, parts: &[(&GpuTensor, Range<usize>)]) -> GpuTensor {
        let [n, h, w, _] = parts[0].0.shape;
        let oc = parts.iter().map(|(_, r)| r.len()).sum();
        let out = self.tensor([n, h, w, oc]);
        let mut c1 = 0;
        for (t, range) in parts {
            assert_eq!(t.shape[..3], [n, h, w], "gather input spatial shape");
            assert!(range.end <= t.shape[3], "gather channel range");
            let p = SampleParams {
                a: t.shape,
                out: [h, w, oc],
                total: n * h * w * range.len(),
                c0: range.start,
                c1,
                len: range.len(),
                ..Default::default()
            };
            self.sample(
                kernel!(gather, sample_layout),
                &p,
                [Some(t), None, None],
                &out,
            );
            c1 += range.len();
        }
        out
    }

    fn scale_channels_inplace(
        &mut self,
        x: &mut GpuTensor,
        range: Range<usize>,
        mul: f32,
        div: f32,
    ) {
        let [n, h, w, c] = x.shape;
        assert!(range.end <= c, "scaled channel range");
        let p = SampleParams {
            a: x.shape,
            out: [h, w, c],
            total: n * h * w * range.len(),
            c1: range.start,
            len: range.len(),
            f: [mul, div, 0.0, 0.0],
            ..Default::default()
        };
        self.sample(
            kernel!(scale_channels, sample_layout),
            &p,
            [None, None, None],
            x,
        );
    }

    fn combine_channels_inplace(
        &mut self,
        a: &mut GpuTensor,
        a_c0: usize,
        sa: f32,
        b: &GpuTensor,
        b_range: Range<usize>,
        sb: f32,
        s_out: f32,
    ) {
        let [n, h, w, ac] = a.shape;
        assert_eq!(b.shape[..3], [n, h, w], "combine spatial shapes");
        assert!(
            a_c0 + b_range.len() <= ac && b_range.end <= b.shape[3],
            "combine channel ranges"
        );
        let p = SampleParams {
            a: b.shape,
            out: [h, w, ac],
            total: n * h * w * b_range.len(),
            c0: b_range.start,
            c1: a_c0,
            len: b_range.len(),
            f: [sa, sb, s_out, 0.0],
            ..Default::default()
        };
        self.sample(
            kernel!(combine, sample_layout),
            &p,
            [Some(b), None, None],
            a,
        );
    }

    fn full(&mut self, shape: [usize; 4], value: f32) -> GpuTensor {
        let out = self.tensor(shape);
        let [_, h, w, c] = shape;
        let p = SampleParams {
            a: shape,
            out: [h, w, c],
            total: shape.iter().product(),
            f: [value, 0.0, 0.0, 0.0],
            ..Default::default()
        };
        self.sample(kernel!(fill, sample_layout), &p, [None, None, None], &out);
        out
    }

    fn sigmoid(&mut self, x: &GpuTensor) -> GpuTensor {
        let out = self.tensor(x.shape);
        let [_, h, w, c] = x.shape;
        let p = SampleParams {
            a: x.shape,
            out: [h, w, c],
            total: x.len(),
            ..Default::default()
        };
        self.sample(
            kernel!(sigmoid, sample_layout),
            &p,
            [Some(x), None, None],
            &out,
        );
        out
    }

    fn blend(&mut self, a: &GpuTensor, b: &GpuTensor, mask: &GpuTensor) -> GpuTensor {
        assert_eq!(a.shape, b.shape, "blend image shapes");
        let [n, h, w, c] = a.shape;
        assert_eq!(mask.shape[..3], [n, h, w], "blend mask shape");
        let mc = mask.shape[3];
        assert!(mc == 1 || mc == c, "blend mask channels");
        let out = self.tensor(a.shape);
        let p = SampleParams {
            a: a.shape,
            out: [h, w, c],
            total: a.len(),
            extra: mc,
            ..Default::default()
        };
        self.sample(
            kernel!(blend, sample_layout),
            &p,
            [Some(a), Some(b), Some(mask)],
            &out,
        );
        out
    }

    fn add_refinement_inplace(&mut self, frame: &mut GpuTensor, res: &GpuTensor) {
        assert_eq!(frame.shape, res.shape, "refinement shapes");
        let [_, h, w, c] = frame.shape;
        let p = SampleParams {
            a: res.shape,
            out: [h, w, c],
            total: res.len(),
            ..Default::default()
        };
        self.sample(
            kernel!(refine_add, sample_layout),
            &p,
            [Some(res), None, None],
            frame,
        );
    }

    fn max_abs_channels(&mut self, x: &GpuTensor, range: Range<usize>) -> f32 {
        let slice = self.gather_channels(&[(x, range)]);
        let read = self.download(&slice);
        self.recycle(slice);
        match read {
            Ok(t) => ops::max_abs_channels(&t, 0..t.c()),
            Err(e) => {
                // The download freed the pool; keep the failure for the caller's next read.
                self.fail(e);
                0.0
            }
        }
    }

    fn recycle(&mut self, t: GpuTensor) {
        if t.pooled && self.failure.is_none() {
            self.pool.push(t.buffer);
        }
    }
}
