//! An open GPU device: adapter choice, device limits, compiled kernels, error capture and the
//! allocation-failure test hook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::device::{adapters, rank, AdapterSummary, Device};
use crate::GpuError;

/// Storage type of activations and weights on the device. Sums are always f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    F32,
    /// f16 storage, f32 accumulation (needs `shader-f16`).
    F16,
}

impl Precision {
    pub(crate) fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

/// The compute pipelines and their bind-group layouts.
pub(crate) struct Kernels {
    pub conv_layout: wgpu::BindGroupLayout,
    pub conv: wgpu::ComputePipeline,
    pub move_layout: wgpu::BindGroupLayout,
    pub repeat_channels: wgpu::ComputePipeline,
    pub pixel_shuffle: wgpu::ComputePipeline,
    pub pixel_unshuffle: wgpu::ComputePipeline,
    pub upsample_nearest: wgpu::ComputePipeline,
    pub copy_channels: wgpu::ComputePipeline,
    pub scale_add: wgpu::ComputePipeline,
    pub conv_transpose: wgpu::ComputePipeline,
    pub sample_layout: wgpu::BindGroupLayout,
    pub resize: wgpu::ComputePipeline,
    pub warp: wgpu::ComputePipeline,
    pub gather: wgpu::ComputePipeline,
    pub scale_channels: wgpu::ComputePipeline,
    pub combine: wgpu::ComputePipeline,
    pub fill: wgpu::ComputePipeline,
    pub sigmoid: wgpu::ComputePipeline,
    pub blend: wgpu::ComputePipeline,
    pub refine_add: wgpu::ComputePipeline,
}

/// An open adapter with its device, queue and kernels for one [`Precision`]. Shared (`Arc`) by
/// the [`crate::GpuBackend`]s that run on it.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) kernels: Kernels,
    summary: AdapterSummary,
    precision: Precision,
    limits: wgpu::Limits,
    /// The first error the device reported since the last [`GpuContext::take_error`].
    errors: Arc<Mutex<Option<GpuError>>>,
    /// Test hook: the first allocation of at least this many bytes fails (0 = off).
    fail_allocation_at: AtomicU64,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.summary.name)
            .field("precision", &self.precision)
            .finish()
    }
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// The WGSL prelude that makes the kernels f32 or f16 storage.
fn prelude(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "alias S = f32;\nconst S_MAX: f32 = 3.4028234e38;\n",
        // Values past f16's range are clamped on store rather than becoming ±inf, which would
        // turn into NaN (black frames) in the next layer.
        Precision::F16 => "enable f16;\nalias S = f16;\nconst S_MAX: f32 = 65504.0;\n",
    }
}

impl Kernels {
    fn new(device: &wgpu::Device, precision: Precision) -> Kernels {
        let pre = prelude(precision);
        let conv_src = format!("{pre}{}", include_str!("shaders/conv.wgsl"));
        let move_src = format!("{pre}{}", include_str!("shaders/move.wgsl"));
        let conv_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("conv"),
            source: wgpu::ShaderSource::Wgsl(conv_src.into()),
        });
        let move_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("move"),
            source: wgpu::ShaderSource::Wgsl(move_src.into()),
        });
        let sample_src = format!("{pre}{}", include_str!("shaders/sample.wgsl"));
        let sample_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sample"),
            source: wgpu::ShaderSource::Wgsl(sample_src.into()),
        });
        let sample_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("sample"),
            entries: &[
                uniform(0),
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, false),
            ],
        });
        let conv_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("conv"),
            entries: &[
                uniform(0),
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, true),
                storage(5, true),
                storage(6, false),
            ],
        });
        let move_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("move"),
            entries: &[uniform(0), storage(1, true), storage(2, false)],
        });
        let pipeline = |layout: &wgpu::BindGroupLayout, module: &wgpu::ShaderModule, entry| {
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(entry),
                bind_group_layouts: &[Some(layout)],
                immediate_size: 0,
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pl),
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Kernels {
            conv: pipeline(&conv_layout, &conv_module, "conv"),
            repeat_channels: pipeline(&move_layout, &move_module, "repeat_channels"),
            pixel_shuffle: pipeline(&move_layout, &move_module, "pixel_shuffle"),
            pixel_unshuffle: pipeline(&move_layout, &move_module, "pixel_unshuffle"),
            upsample_nearest: pipeline(&move_layout, &move_module, "upsample_nearest"),
            copy_channels: pipeline(&move_layout, &move_module, "copy_channels"),
            scale_add: pipeline(&move_layout, &move_module, "scale_add"),
            conv_transpose: pipeline(&conv_layout, &conv_module, "conv_transpose"),
            resize: pipeline(&sample_layout, &sample_module, "resize"),
            warp: pipeline(&sample_layout, &sample_module, "warp"),
            gather: pipeline(&sample_layout, &sample_module, "gather"),
            scale_channels: pipeline(&sample_layout, &sample_module, "scale_channels"),
            combine: pipeline(&sample_layout, &sample_module, "combine"),
            fill: pipeline(&sample_layout, &sample_module, "fill"),
            sigmoid: pipeline(&sample_layout, &sample_module, "sigmoid_kernel"),
            blend: pipeline(&sample_layout, &sample_module, "blend"),
            refine_add: pipeline(&sample_layout, &sample_module, "refine_add"),
            sample_layout,
            conv_layout,
            move_layout,
        }
    }
}

impl GpuContext {
    /// Opens the adapter `device` names. `f16`: use f16 storage when the adapter supports it
    /// (see [`GpuContext::precision`] for what was granted).
    ///
    /// Errors: [`GpuError::NoAdapter`] when there is none (for [`Device::Auto`]: no hardware
    /// one), [`GpuError::NoSuchAdapter`] for a bad `gpu:N`, [`GpuError::Open`] when the driver
    /// refuses.
    pub fn open(device: Device, f16: bool) -> Result<GpuContext, GpuError> {
        let auto = match device {
            Device::Cpu => {
                return Err(GpuError::NoAdapter(" (the CPU was chosen)".into()));
            }
            Device::Auto => true,
            Device::Gpu(_) => false,
        };
        let mut list = adapters();
        let count = list.len();
        let chosen = match device {
            Device::Gpu(Some(index)) => {
                if index >= count {
                    return Err(GpuError::NoSuchAdapter { index, count });
                }
                list.swap_remove(index)
            }
            _ => {
                let best = list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, s))| rank(s, auto).map(|r| (r, i)))
                    .min()
                    .map(|(_, i)| i);
                match best {
                    Some(i) => list.swap_remove(i),
                    None if count == 0 => {
                        return Err(GpuError::NoAdapter(
                            " (no Vulkan, Metal or DX12 driver answered)".into(),
                        ))
                    }
                    None => {
                        return Err(GpuError::NoAdapter(format!(
                            " other than software ones ({} found; `--device gpu` uses them)",
                            count
                        )))
                    }
                }
            }
        };
        let (adapter, summary) = chosen;
        let precision = if f16 && summary.f16 {
            Precision::F16
        } else {
            Precision::F32
        };
        let mut required_features = wgpu::Features::empty();
        if precision == Precision::F16 {
            required_features |= wgpu::Features::SHADER_F16;
        }
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("upframe"),
            required_features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Open {
            name: summary.name.clone(),
            message: e.to_string(),
        })?;
        let errors: Arc<Mutex<Option<GpuError>>> = Arc::default();
        let slot = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let err = match &e {
                wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
                _ => GpuError::Backend(e.to_string()),
            };
            if let Ok(mut s) = slot.lock() {
                s.get_or_insert(err);
            }
        }));
        let slot = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                if let Ok(mut s) = slot.lock() {
                    s.get_or_insert(GpuError::DeviceLost(message));
                }
            }
        });
        let kernels = Kernels::new(&device, precision);
        let ctx = GpuContext {
            device,
            queue,
            kernels,
            summary,
            precision,
            limits,
            errors,
            fail_allocation_at: AtomicU64::new(0),
        };
        // Shader compilation problems surface here rather than on the first frame.
        ctx.take_error().map_or(Ok(ctx), Err)
    }

    /// The adapter this context runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The storage precision granted (f16 only where asked for and supported).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The largest single buffer a kernel can bind, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// The largest tile (in input pixels, a square side) whose biggest tensor fits one binding
    /// and whose activations fit `budget_bytes` in all, for a network needing
    /// `largest_f32_bytes_per_px` for its biggest tensor and `total_f32_bytes_per_px` for all
    /// live ones (both counted in f32 per input pixel; halved for f16 storage).
    pub fn max_tile_side(
        &self,
        largest_f32_bytes_per_px: u64,
        total_f32_bytes_per_px: u64,
        budget_bytes: u64,
    ) -> usize {
        let per = |b: u64| (b * self.precision.bytes() / 4).max(1);
        let px = (self.max_binding_bytes() / per(largest_f32_bytes_per_px))
            .min(budget_bytes / per(total_f32_bytes_per_px));
        ((px as f64).sqrt() as usize).max(16)
    }

    pub(crate) fn max_workgroups_per_dimension(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    /// Takes the first error the device reported since the last call.
    pub fn take_error(&self) -> Option<GpuError> {
        self.errors.lock().ok().and_then(|mut e| e.take())
    }

    /// Test hook: makes the next allocation of at least `bytes` fail as if the device were out
    /// of memory (once). `0` switches it off.
    #[doc(hidden)]
    pub fn fail_next_allocation_at_least(&self, bytes: u64) {
        self.fail_allocation_at.store(bytes, Ordering::SeqCst);
    }

    /// Whether an allocation of `bytes` must fail through the test hook (consumes the hook).
    pub(crate) fn forced_allocation_failure(&self, bytes: u64) -> bool {
        let at = self.fail_allocation_at.load(Ordering::SeqCst);
        at > 0
            && bytes >= at
            && self
                .fail_allocation_at
                .compare_exchange(at, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }
}
