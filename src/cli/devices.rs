//! `dcgan devices`: what this machine and this build can compute on, and which adapter each
//! `--device` takes.

use std::process::ExitCode;

use clap::Args;

use crate::kernels::precision::{self, Precision};

/// Flags of `dcgan devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Exit with status 1 unless `--device wgpu` would take a GPU (not a software adapter):
    /// for scripts that must not measure lavapipe as GPU speed.
    #[arg(long)]
    require_gpu: bool,
    /// Exit with status 1 unless `--device cuda` has a GPU to run on.
    #[arg(long)]
    require_cuda: bool,
}

/// Lists the devices; with `--require-gpu` or `--require-cuda`, fails without that GPU.
pub fn run(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    crate::say!("--device cpu: {}", precision::kernels_line(Precision::F32))?;
    let cuda = cuda(args.require_cuda)?;
    let wgpu = wgpu(args.require_gpu)?;
    Ok(if cuda && wgpu {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Lists the CUDA GPUs; false when `required` and there is none.
#[cfg(not(feature = "cuda"))]
fn cuda(required: bool) -> anyhow::Result<bool> {
    crate::say!(
        "--device cuda: not in this build; rebuild with `scripts/llvm-bundle.sh && cargo \
         build --release --features cuda` (docs/gpu.md)"
    )?;
    if required {
        eprintln!("error: --require-cuda: this dcgan was built without CUDA support");
    }
    Ok(!required)
}

/// Lists the CUDA GPUs; false when `required` and there is none.
#[cfg(feature = "cuda")]
fn cuda(required: bool) -> anyhow::Result<bool> {
    let why_none = match crate::device::cuda::gpus() {
        Ok(gpus) if !gpus.is_empty() => {
            crate::say!("CUDA GPUs: {}", gpus.len())?;
            for gpu in &gpus {
                crate::say!("  {gpu}")?;
            }
            crate::say!("--device cuda takes: cuda:0")?;
            return Ok(true);
        }
        Ok(_) => "the NVIDIA driver is installed but sees no GPU".to_string(),
        Err(why) => why,
    };
    crate::say!("--device cuda: none ({why_none})")?;
    if required {
        eprintln!("error: --require-cuda: {why_none}");
    }
    Ok(!required)
}

/// Lists the wgpu adapters; false when `required` and there is no GPU among them.
#[cfg(not(feature = "wgpu"))]
fn wgpu(required: bool) -> anyhow::Result<bool> {
    crate::say!(
        "--device wgpu: not in this build; rebuild with `cargo build --release --features wgpu`"
    )?;
    if required {
        eprintln!("error: --require-gpu: this dcgan was built without wgpu support");
    }
    Ok(!required)
}

/// Lists the wgpu adapters; false when `required` and there is no GPU among them.
#[cfg(feature = "wgpu")]
fn wgpu(required: bool) -> anyhow::Result<bool> {
    use crate::device::wgpu::{adapters, choose};
    let found = adapters();
    crate::say!("wgpu adapters: {}", found.len())?;
    for (i, adapter) in found.iter().enumerate() {
        crate::say!("  {i}: {adapter}")?;
    }
    let takes = |software: bool| {
        choose(&found, software).map_or("none".to_string(), |(_, a)| a.to_string())
    };
    crate::say!("--device wgpu takes: {}", takes(false))?;
    crate::say!("--device wgpu:cpu takes: {}", takes(true))?;
    let gpu = choose(&found, false).is_some_and(|(_, a)| !a.is_software());
    if required && !gpu {
        eprintln!(
            "error: --require-gpu: no GPU adapter, {}; install the GPU's Vulkan driver",
            if found.is_empty() {
                "no adapter at all"
            } else {
                "only a software adapter"
            }
        );
        return Ok(false);
    }
    Ok(true)
}
