//! Choosing where tensors live: burn 0.22 dispatches on the device at run time.
//!
//! The CPU is burn's `flex` backend with dcgan's own kernels (`src/kernels`). A GPU is
//! burn's `wgpu` backend (Vulkan; Metal on macOS) in a build with `--features wgpu`, or
//! burn's CUDA backend on an NVIDIA GPU in a build with `--features cuda`; there the model
//! uses burn's operations. dcgan picks the wgpu adapter itself ([`wgpu`]) so that a machine
//! without a GPU driver never trains on a software adapter unawares, and checks a CUDA
//! device against the driver's list before burn starts it (`cuda`), so that a missing
//! driver or GPU is an error that says so rather than a panic deep inside the backend.

#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(feature = "wgpu")]
pub mod wgpu;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::kernels::precision::{self, Precision};

/// What every command does once, before any work: sets `precision` for dcgan's kernels (a
/// setting of the whole process, which they read deep inside burn's graph) and makes the
/// device of `kind`.
pub fn start(kind: DeviceKind, precision: Precision) -> anyhow::Result<Device> {
    if precision == Precision::Bf16 && kind != DeviceKind::Cpu {
        anyhow::bail!(
            "--precision bf16 is a setting of dcgan's CPU kernels; on --device {kind} burn \
             computes in f32: pass --precision f32 (the default)"
        );
    }
    precision::set(precision)?;
    kind.device()
}

/// The compute device a command runs on, as `--device` and `config.toml` name it: `cpu`,
/// `wgpu`, `wgpu:cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceKind {
    /// burn's `flex` CPU backend, multi-threaded with SIMD kernels.
    Cpu,
    /// A GPU through burn's `wgpu` backend: a discrete GPU, else an integrated one, else
    /// (with a warning) a software adapter. Needs a build with `--features wgpu`.
    Wgpu,
    /// wgpu's software (CPU) adapter, such as Mesa's lavapipe: for testing the GPU path on
    /// a machine without a GPU.
    WgpuCpu,
    /// The NVIDIA GPU of this index (in the CUDA driver's order, as `dcgan devices` lists
    /// them) through burn's CUDA backend. Needs a build with `--features cuda`.
    Cuda(u16),
}

impl DeviceKind {
    /// The name `--device` takes.
    pub fn name(self) -> String {
        match self {
            DeviceKind::Cpu => "cpu".into(),
            DeviceKind::Wgpu => "wgpu".into(),
            DeviceKind::WgpuCpu => "wgpu:cpu".into(),
            DeviceKind::Cuda(index) => format!("cuda:{index}"),
        }
    }

    /// The burn device, without autodiff. A wgpu device is chosen once per process, and
    /// its adapter named on stderr then; a CUDA device is checked against the driver's list
    /// first, and named on stderr too.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            DeviceKind::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu | DeviceKind::WgpuCpu => {
                wgpu::device(self == DeviceKind::WgpuCpu).map(|chosen| chosen.device.clone())
            }
            #[cfg(not(feature = "wgpu"))]
            DeviceKind::Wgpu | DeviceKind::WgpuCpu => anyhow::bail!(
                "--device {}: this dcgan was built without wgpu support; rebuild it with \
                 `cargo build --release --features wgpu`",
                self.name()
            ),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda(index) => cuda::device(index),
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda(_) => anyhow::bail!(
                "--device {}: this dcgan was built without CUDA support; rebuild it with \
                 `scripts/llvm-bundle.sh && cargo build --release --features cuda` \
                 (docs/gpu.md)",
                self.name()
            ),
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for DeviceKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "cpu" => Ok(DeviceKind::Cpu),
            "wgpu" => Ok(DeviceKind::Wgpu),
            "wgpu:cpu" => Ok(DeviceKind::WgpuCpu),
            "cuda" => Ok(DeviceKind::Cuda(0)),
            _ => match name.strip_prefix("cuda:").map(str::parse::<u16>) {
                Some(Ok(index)) => Ok(DeviceKind::Cuda(index)),
                _ => Err(format!(
                    "unknown device `{name}`: expected cpu, wgpu, wgpu:cpu, cuda or cuda:N \
                     (N a GPU's index, as `dcgan devices` lists them)"
                )),
            },
        }
    }
}

impl TryFrom<String> for DeviceKind {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

impl From<DeviceKind> for String {
    fn from(kind: DeviceKind) -> String {
        kind.name()
    }
}

/// Settles the environment burn's backends read, first thing in `main`, before any thread
/// starts.
///
/// - burn puts an optimiser state read from a checkpoint on its *default* device and moves
///   it to its parameter's device at the next step. The default is the first backend
///   compiled in (CUDA in a `cuda` build, then wgpu), which in a GPU build on a machine
///   without that GPU panics; dcgan names every device itself (`--device`), so it makes the
///   CPU the default (`BURN_DEVICE=flex`).
/// - Mesa's Vulkan device-selection layer looks for a Wayland display when
///   `XDG_RUNTIME_DIR` is not set, and prints "error: XDG_RUNTIME_DIR is invalid or not set
///   in the environment." each time (a dozen times a run) though nothing is wrong for a
///   compute run. dcgan chooses the adapter itself, so it turns that layer off
///   (`NODEVICE_SELECT=1`) unless the user set it.
pub fn prepare_process() {
    // SAFETY (both): called first thing in `main`, before any other thread exists, so
    // nothing reads the environment meanwhile.
    unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    #[cfg(feature = "wgpu")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_and_parsed_as_flags_and_config_files_write_them() {
        for (name, kind) in [
            ("cpu", DeviceKind::Cpu),
            ("wgpu", DeviceKind::Wgpu),
            ("wgpu:cpu", DeviceKind::WgpuCpu),
            ("cuda:0", DeviceKind::Cuda(0)),
            ("cuda:3", DeviceKind::Cuda(3)),
        ] {
            assert_eq!(name.parse::<DeviceKind>(), Ok(kind));
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            let read: DeviceKind = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(read, kind);
        }
        assert_eq!("cuda".parse::<DeviceKind>(), Ok(DeviceKind::Cuda(0)));
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:70000", "CPU"] {
            let err = bad.parse::<DeviceKind>().unwrap_err();
            assert!(err.contains(bad) && err.contains("cuda:N"), "{err}");
        }
        let err = serde_json::from_str::<DeviceKind>("\"tpu\"").unwrap_err();
        assert!(err.to_string().contains("unknown device `tpu`"), "{err}");
    }

    #[test]
    fn bf16_is_refused_off_the_cpu() {
        let err = start(DeviceKind::Cuda(0), Precision::Bf16).unwrap_err();
        assert!(err.to_string().contains("--precision f32"), "{err}");
    }
}
