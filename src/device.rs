//! Choosing where tensors live: burn 0.22 dispatches on the device at run time.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// The compute device a command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// burn's `flex` CPU backend, multi-threaded with SIMD kernels.
    Cpu,
    /// burn's `wgpu` GPU backend (Vulkan); needs a build with `--features wgpu`.
    Wgpu,
}

impl DeviceKind {
    /// The burn device, without autodiff.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            DeviceKind::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            DeviceKind::Wgpu => anyhow::bail!(
                "--device wgpu: this dcgan was built without GPU support; rebuild it with \
                 `cargo build --release --features wgpu`"
            ),
        }
    }
}
