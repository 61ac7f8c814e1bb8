//! NVIDIA GPUs through burn's CUDA backend: listed from the driver, checked, named.
//!
//! burn's CUDA backend (cubecl-cuda) loads the driver library, `libcuda.so.1`, when a device
//! is first used and panics there when it is missing or the index has no GPU. So dcgan asks
//! the driver itself first, through cudarc (the crate cubecl-cuda loads it with): whether the
//! library is there, whether the driver starts, how many GPUs it sees and what each is. A
//! missing driver or GPU is then an error naming what is missing, before any work starts.
//! Kernels are compiled to PTX by the LLVM inside dcgan (cubecl's default CUDA compiler), so
//! the driver is the only NVIDIA library a run needs (docs/gpu.md).

use std::fmt;
use std::sync::OnceLock;

use anyhow::bail;
use burn::tensor::Device;
use cudarc::driver::result as driver;
use cudarc::driver::sys::CUdevice_attribute;

/// A CUDA GPU as the driver describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpu {
    /// Its index in the driver's order: `--device cuda:INDEX`.
    pub index: u16,
    /// The device's name ("NVIDIA H200").
    pub name: String,
    /// Its memory in bytes.
    pub memory: usize,
    /// Its compute capability, major and minor (9.0 for Hopper).
    pub compute_capability: (i32, i32),
}

impl fmt::Display for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, minor) = self.compute_capability;
        write!(
            f,
            "cuda:{} {} ({:.1} GiB, compute capability {major}.{minor})",
            self.index,
            self.name,
            self.memory as f64 / (1u64 << 30) as f64
        )
    }
}

/// The CUDA GPUs of this machine, or why the driver cannot tell: no driver library, or a
/// driver that does not start (too old for the GPU, the kernel module not loaded). No GPU
/// at all is an empty list.
pub fn gpus() -> Result<Vec<Gpu>, String> {
    // SAFETY: only tries to load each of the driver library's usual names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(
            "no NVIDIA driver: the CUDA driver library (libcuda.so.1) is not \
                    installed, or not on the library path"
                .into(),
        );
    }
    driver::init().map_err(|e| format!("the NVIDIA driver did not start: {e}"))?;
    let count = driver::device::get_count()
        .map_err(|e| format!("the NVIDIA driver cannot count its GPUs: {e}"))?;
    (0..count)
        .map(|ordinal| describe(ordinal).map_err(|e| format!("GPU {ordinal}: {e}")))
        .collect()
}

fn describe(ordinal: i32) -> Result<Gpu, cudarc::driver::DriverError> {
    let device = driver::device::get(ordinal)?;
    // SAFETY: `device` is a handle the driver just gave out; the calls only read its
    // properties.
    let (memory, major, minor) = unsafe {
        (
            driver::device::total_mem(device)?,
            driver::device::get_attribute(
                device,
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
            )?,
            driver::device::get_attribute(
                device,
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
            )?,
        )
    };
    Ok(Gpu {
        index: ordinal as u16,
        name: driver::device::get_name(device)?,
        memory,
        compute_capability: (major, minor),
    })
}

/// The device of `--device cuda:index`, checked against the driver's list first and named
/// on stderr once per process.
pub fn device(index: u16) -> anyhow::Result<Device> {
    static NAMED: OnceLock<()> = OnceLock::new();
    let flag = format!("--device cuda:{index}");
    let gpus = match gpus() {
        Ok(gpus) => gpus,
        Err(why) => bail!(
            "{flag}: {why}. Install NVIDIA's driver for the GPU, or run on --device cpu; \
             `dcgan devices` lists what is found"
        ),
    };
    let Some(gpu) = gpus.iter().find(|gpu| gpu.index == index) else {
        if gpus.is_empty() {
            bail!("{flag}: the NVIDIA driver is installed but sees no GPU; run on --device cpu");
        }
        bail!(
            "{flag}: this machine has {} CUDA GPU{} (cuda:0{}); `dcgan devices` lists them",
            gpus.len(),
            if gpus.len() == 1 { "" } else { "s" },
            if gpus.len() == 1 {
                String::new()
            } else {
                format!(" to cuda:{}", gpus.len() - 1)
            }
        );
    };
    NAMED.get_or_init(|| eprintln!("device: {gpu}"));
    Ok(Device::cuda(index as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_is_named_with_its_index_memory_and_capability() {
        let gpu = Gpu {
            index: 1,
            name: "NVIDIA H200".into(),
            memory: 150_754_820_096,
            compute_capability: (9, 0),
        };
        assert_eq!(
            gpu.to_string(),
            "cuda:1 NVIDIA H200 (140.4 GiB, compute capability 9.0)"
        );
    }
}
