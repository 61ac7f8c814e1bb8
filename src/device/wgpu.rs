//! The wgpu adapter: found, chosen on purpose and named.
//!
//! cubecl-wgpu left to itself takes whatever adapter wgpu ranks first, and wgpu ranks a CPU
//! (software) adapter last but still accepts it: a GPU machine without its Vulkan driver
//! would train on Mesa's lavapipe, slower even than the CPU path, and never say so. So dcgan lists
//! the adapters of its graphics API itself, takes a discrete GPU, else an integrated one,
//! else a virtual one, and a software adapter only when asked (`--device wgpu:cpu`) or with
//! a warning, then names the one it took.

use std::fmt;
use std::sync::OnceLock;

use anyhow::bail;
use burn::tensor::wgpu::{WgpuBackend, wgpu};
use burn::tensor::{Device, DeviceKind};

/// An adapter, as `dcgan devices` and a run's first line name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The device's name ("NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub name: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub kind: wgpu::DeviceType,
    /// The graphics API.
    pub backend: wgpu::Backend,
    /// The driver's name and version, as the driver gives them.
    pub driver: String,
}

impl Adapter {
    fn of(info: wgpu::AdapterInfo) -> Adapter {
        let driver = match (info.driver.is_empty(), info.driver_info.is_empty()) {
            (false, false) => format!("{} {}", info.driver, info.driver_info),
            (false, true) => info.driver,
            (true, _) => info.driver_info,
        };
        Adapter {
            name: info.name,
            kind: info.device_type,
            backend: info.backend,
            driver,
        }
    }

    /// True for a software adapter, which runs on the CPU.
    pub fn is_software(&self) -> bool {
        self.kind == wgpu::DeviceType::Cpu
    }

    /// The adapter's kind in words.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software adapter on the CPU",
            wgpu::DeviceType::Other => "other adapter",
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {:?}, driver {})",
            self.name,
            self.kind_name(),
            self.backend,
            if self.driver.is_empty() {
                "unnamed"
            } else {
                &self.driver
            }
        )
    }
}

/// The graphics API dcgan asks wgpu for: Metal on macOS, Vulkan elsewhere (the API of
/// NVIDIA's, AMD's and Intel's drivers on Linux and Windows, and of Mesa's lavapipe).
fn graphics_api() -> (WgpuBackend, wgpu::Backends) {
    if cfg!(target_os = "macos") {
        (WgpuBackend::Metal, wgpu::Backends::METAL)
    } else {
        (WgpuBackend::Vulkan, wgpu::Backends::VULKAN)
    }
}

/// Every adapter of dcgan's graphics API on this machine, in wgpu's order.
pub fn adapters() -> Vec<Adapter> {
    let (_, backends) = graphics_api();
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = backends;
    let instance = wgpu::Instance::new(descriptor);
    // Hand-rolled `block_on` rather than an executor crate: on native targets this future is
    // ready at its first poll (wgpu enumerates synchronously), so one poll loop suffices.
    let mut future = std::pin::pin!(instance.enumerate_adapters(backends));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let found = loop {
        if let std::task::Poll::Ready(found) = future.as_mut().poll(&mut context) {
            break found;
        }
        std::thread::yield_now();
    };
    found
        .into_iter()
        .map(|a| Adapter::of(a.get_info()))
        .collect()
}

/// Which adapter `--device wgpu` (or `wgpu:cpu` when `software`) takes from `adapters`,
/// as burn names it by kind and index among that kind; `None` when there is none to take.
pub fn choose(adapters: &[Adapter], software: bool) -> Option<(DeviceKind, &Adapter)> {
    use wgpu::DeviceType as T;
    let preference: &[T] = if software {
        &[T::Cpu]
    } else {
        &[
            T::DiscreteGpu,
            T::IntegratedGpu,
            T::VirtualGpu,
            T::Other,
            T::Cpu,
        ]
    };
    preference.iter().find_map(|&kind| {
        let adapter = adapters.iter().find(|a| a.kind == kind)?;
        let burn_kind = match kind {
            T::DiscreteGpu => DeviceKind::DiscreteGpu(0),
            T::IntegratedGpu => DeviceKind::IntegratedGpu(0),
            T::VirtualGpu => DeviceKind::VirtualGpu(0),
            // burn's selector has no "other" kind; the default is wgpu's own first choice.
            T::Other => DeviceKind::DefaultDevice,
            T::Cpu => DeviceKind::Cpu,
        };
        Some((burn_kind, adapter))
    })
}

/// A wgpu device dcgan chose, and its adapter.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The burn device.
    pub device: Device,
    /// Its adapter, as wgpu reports it once the device is made.
    pub adapter: Adapter,
}

/// The device of `--device wgpu` (`wgpu:cpu` when `software`): chosen and made once per
/// process, the adapter named on stderr then. A software adapter taken for `wgpu` (there
/// was no GPU) is named with a warning.
pub fn device(software: bool) -> anyhow::Result<&'static Chosen> {
    static GPU: OnceLock<Result<Chosen, String>> = OnceLock::new();
    static SOFTWARE: OnceLock<Result<Chosen, String>> = OnceLock::new();
    let cell = if software { &SOFTWARE } else { &GPU };
    let chosen = cell.get_or_init(|| make(software).map_err(|e| format!("{e:#}")));
    chosen.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

fn make(software: bool) -> anyhow::Result<Chosen> {
    let flag = if software { "wgpu:cpu" } else { "wgpu" };
    let found = adapters();
    let Some((kind, listed)) = choose(&found, software) else {
        let (_, backends) = graphics_api();
        if found.is_empty() {
            bail!(
                "--device {flag}: no {backends:?} adapter on this machine. Install the GPU's \
                 Vulkan driver (NVIDIA: the driver's Vulkan ICD, e.g. Debian's \
                 nvidia-vulkan-icd; AMD and Intel: mesa-vulkan-drivers), or for the software \
                 adapter mesa-vulkan-drivers with --device wgpu:cpu; `dcgan devices` lists \
                 what is found"
            );
        }
        bail!(
            "--device {flag}: no software adapter among this machine's {} adapters (install \
             mesa-vulkan-drivers for lavapipe); `dcgan devices` lists them",
            found.len()
        );
    };
    let (api, _) = graphics_api();
    let (device, setup) = Device::wgpu_options()
        .device_kind(kind)
        .graphics_api(api)
        .init_with_setup()
        .map_err(|e| anyhow::anyhow!("--device {flag}: cannot start {listed}: {e}"))?;
    let adapter = Adapter::of(setup.adapter.get_info());
    if adapter.is_software() && !software {
        eprintln!(
            "warning: --device wgpu found no GPU, only a software adapter, which runs on the \
             CPU and is far slower than --device cpu: {adapter}. Install the GPU's Vulkan \
             driver, or pass --device wgpu:cpu to use it on purpose"
        );
    } else {
        eprintln!("device: {adapter}");
    }
    Ok(Chosen { device, adapter })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, kind: wgpu::DeviceType) -> Adapter {
        Adapter {
            name: name.into(),
            kind,
            backend: wgpu::Backend::Vulkan,
            driver: String::new(),
        }
    }

    #[test]
    fn a_gpu_is_preferred_and_software_only_when_asked_or_alone() {
        use wgpu::DeviceType as T;
        let all = [
            adapter("llvmpipe", T::Cpu),
            adapter("iGPU", T::IntegratedGpu),
            adapter("dGPU", T::DiscreteGpu),
        ];
        let name = |c: Option<(DeviceKind, &Adapter)>| c.map(|(_, a)| a.name.clone());
        assert_eq!(name(choose(&all, false)), Some("dGPU".into()));
        assert_eq!(name(choose(&all[..2], false)), Some("iGPU".into()));
        assert_eq!(name(choose(&all, true)), Some("llvmpipe".into()));
        let (kind, _) = choose(&all[..1], false).unwrap();
        assert_eq!(
            kind,
            DeviceKind::Cpu,
            "alone, the software adapter (with a warning)"
        );
        assert!(
            choose(&all[1..], true).is_none(),
            "wgpu:cpu needs a software adapter"
        );
        assert!(choose(&[], false).is_none());
        let shown = adapter("llvmpipe", T::Cpu).to_string();
        assert_eq!(
            shown,
            "llvmpipe (software adapter on the CPU, Vulkan, driver unnamed)"
        );
    }
}
