//! Adapter discovery and the device choice (`cpu | gpu | gpu:N | auto`).

use std::fmt;
use std::str::FromStr;

/// Where the networks run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// This machine's CPU (upframe-nn's kernels).
    #[default]
    Cpu,
    /// A GPU: `None` picks the best adapter (discrete, then integrated, then any other,
    /// software adapters such as lavapipe included); `Some(i)` is entry `i` of
    /// [`list_adapters`].
    Gpu(Option<usize>),
    /// A discrete or integrated GPU when there is one, never a software adapter; else the CPU.
    Auto,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Gpu(None) => f.write_str("gpu"),
            Device::Gpu(Some(i)) => write!(f, "gpu:{i}"),
            Device::Auto => f.write_str("auto"),
        }
    }
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu(None)),
            "auto" => Ok(Device::Auto),
            _ => match s.strip_prefix("gpu:").map(str::parse::<usize>) {
                Some(Ok(i)) => Ok(Device::Gpu(Some(i))),
                _ => Err(format!(
                    "invalid device {s:?}: expected auto, cpu, gpu or gpu:N (N from `upframe devices`)"
                )),
            },
        }
    }
}

/// One adapter as `upframe devices` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    /// Position in [`list_adapters`], the `N` of `gpu:N`.
    pub index: usize,
    pub name: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa software).
    pub vendor: u32,
    /// `vulkan`, `metal`, `dx12`.
    pub backend: String,
    /// `discrete`, `integrated`, `virtual`, `cpu` (software), `other`.
    pub device_type: String,
    pub driver: String,
    /// Whether f16 storage and arithmetic (`shader-f16`) are available.
    pub f16: bool,
    pub max_buffer_size: u64,
    pub max_storage_binding: u64,
    pub max_workgroups_per_dimension: u32,
}

impl AdapterSummary {
    /// A software rasteriser (lavapipe, WARP, SwiftShader): never chosen by `auto`.
    pub fn is_software(&self) -> bool {
        self.device_type == "cpu"
    }

    /// The vendor's name, from the PCI id.
    pub fn vendor_name(&self) -> &'static str {
        match self.vendor {
            0x10de => "NVIDIA",
            0x1002 | 0x1022 => "AMD",
            0x8086 => "Intel",
            0x106b => "Apple",
            0x13b5 => "ARM",
            0x5143 => "Qualcomm",
            0x10005 => "Mesa",
            _ => "unknown",
        }
    }
}

impl fmt::Display for AdapterSummary {
    /// `gpu:0  NVIDIA GeForce RTX 4090 (NVIDIA, vulkan, discrete, f16; buffer 2048 MiB, binding 2048 MiB)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gpu:{}  {} ({}, {}, {}{}; max buffer {} MiB, max binding {} MiB; driver {})",
            self.index,
            self.name,
            self.vendor_name(),
            self.backend,
            self.device_type,
            if self.f16 { ", f16" } else { "" },
            self.max_buffer_size >> 20,
            self.max_storage_binding >> 20,
            if self.driver.is_empty() {
                "unknown"
            } else {
                &self.driver
            },
        )
    }
}

pub(crate) fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// The instance every adapter comes from: native backends only (no GL: its compute support
/// is too uneven to rely on).
pub(crate) fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    wgpu::Instance::new(desc)
}

/// The adapters in a stable order (the order the drivers report), each with its summary.
pub(crate) fn adapters() -> Vec<(wgpu::Adapter, AdapterSummary)> {
    let inst = instance();
    let list = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
    list.into_iter()
        .enumerate()
        .map(|(index, a)| {
            let info = a.get_info();
            let limits = a.limits();
            let summary = AdapterSummary {
                index,
                name: info.name.clone(),
                vendor: info.vendor,
                backend: info.backend.to_string(),
                device_type: device_type_name(info.device_type).to_string(),
                driver: [info.driver.as_str(), info.driver_info.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
                f16: a.features().contains(wgpu::Features::SHADER_F16),
                max_buffer_size: limits.max_buffer_size,
                max_storage_binding: limits.max_storage_buffer_binding_size,
                max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            };
            (a, summary)
        })
        .collect()
}

/// Every adapter the GPU APIs of this machine offer (for `upframe devices`). Empty when there
/// is no driver; never fails.
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters().into_iter().map(|(_, s)| s).collect()
}

/// Preference of an adapter type for `gpu` / `auto` (lower is better; `None`: not for `auto`).
pub(crate) fn rank(summary: &AdapterSummary, auto: bool) -> Option<u8> {
    match summary.device_type.as_str() {
        "discrete" => Some(0),
        "integrated" => Some(1),
        "virtual" | "other" if !auto => Some(2),
        "cpu" if !auto => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_round_trip() {
        for d in [
            Device::Cpu,
            Device::Auto,
            Device::Gpu(None),
            Device::Gpu(Some(0)),
            Device::Gpu(Some(3)),
        ] {
            assert_eq!(d.to_string().parse::<Device>(), Ok(d));
        }
        for bad in ["", "GPU", "gpu:", "gpu:-1", "gpu:1x", "cuda"] {
            assert!(bad.parse::<Device>().is_err(), "{bad:?} parsed");
        }
    }

    fn summary(device_type: &str) -> AdapterSummary {
        AdapterSummary {
            index: 0,
            name: "x".into(),
            vendor: 0,
            backend: "vulkan".into(),
            device_type: device_type.into(),
            driver: String::new(),
            f16: false,
            max_buffer_size: 0,
            max_storage_binding: 0,
            max_workgroups_per_dimension: 0,
        }
    }

    #[test]
    fn auto_never_ranks_software_adapters_and_gpu_prefers_discrete() {
        assert_eq!(rank(&summary("cpu"), true), None);
        assert_eq!(rank(&summary("virtual"), true), None);
        assert!(rank(&summary("cpu"), false).is_some());
        assert!(rank(&summary("discrete"), true) < rank(&summary("integrated"), true));
        assert!(rank(&summary("integrated"), false) < rank(&summary("cpu"), false));
    }
}
