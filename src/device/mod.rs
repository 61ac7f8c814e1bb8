//! Choosing where tensors live: burn 0.22 dispatches on the device at run time.
//!
//! The CPU is burn's `flex` backend with dcgan's own kernels (`src/kernels`). A GPU is
//! burn's `wgpu` backend (Vulkan; Metal on macOS) in a build with `--features wgpu`; there
//! the model uses burn's operations, and dcgan picks the adapter itself ([`wgpu`]) so that a
//! machine without a GPU driver never trains on a software adapter unawares.

#[cfg(feature = "wgpu")]
pub mod wgpu;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::kernels::precision::{self, Precision};

/// What every command does once, before any work: sets `precision` for dcgan's kernels (a
/// setting of the whole process, which they read deep inside burn's graph) and makes the
/// device of `kind`.
pub fn start(kind: DeviceKind, precision: Precision) -> anyhow::Result<Device> {
    precision::set(precision)?;
    kind.device()
}

/// The compute device a command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// burn's `flex` CPU backend, multi-threaded with SIMD kernels.
    Cpu,
    /// A GPU through burn's `wgpu` backend: a discrete GPU, else an integrated one, else
    /// (with a warning) a software adapter. Needs a build with `--features wgpu`.
    Wgpu,
    /// wgpu's software (CPU) adapter, such as Mesa's lavapipe: for testing the GPU path on
    /// a machine without a GPU.
    #[value(name = "wgpu:cpu")]
    #[serde(rename = "wgpu:cpu")]
    WgpuCpu,
}

impl DeviceKind {
    /// The name `--device` takes.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::WgpuCpu => "wgpu:cpu",
        }
    }

    /// The burn device, without autodiff. A wgpu device is chosen once per process, and
    /// its adapter named on stderr then.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            DeviceKind::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu | DeviceKind::WgpuCpu => {
                wgpu::device(self == DeviceKind::WgpuCpu).map(|chosen| chosen.device.clone())
            }
            #[cfg(not(feature = "wgpu"))]
            DeviceKind::Wgpu | DeviceKind::WgpuCpu => anyhow::bail!(
                "--device {}: this dcgan was built without GPU support; rebuild it with \
                 `cargo build --release --features wgpu`",
                self.name()
            ),
        }
    }
}

/// Quiets the Vulkan driver stack of a headless machine, before any thread starts: Mesa's
/// device-selection layer looks for a Wayland display when `XDG_RUNTIME_DIR` is not set,
/// and prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." each time
/// (a dozen times a run) though nothing is wrong for a compute run. dcgan chooses the
/// adapter itself, so it turns that layer off (`NODEVICE_SELECT=1`) unless the user set it.
pub fn quiet_headless_vulkan() {
    #[cfg(feature = "wgpu")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // SAFETY: called first thing in `main`, before any other thread exists, so nothing
        // reads the environment meanwhile.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}
