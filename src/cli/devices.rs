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
}

/// Lists the devices; with `--require-gpu`, fails without a GPU.
pub fn run(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    crate::say!("--device cpu: {}", precision::kernels_line(Precision::F32))?;
    gpu(args)
}

#[cfg(not(feature = "wgpu"))]
fn gpu(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    crate::say!(
        "--device wgpu: not in this build; rebuild with `cargo build --release --features wgpu`"
    )?;
    Ok(if args.require_gpu {
        eprintln!("error: --require-gpu: this dcgan was built without GPU support");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(feature = "wgpu")]
fn gpu(args: DevicesArgs) -> anyhow::Result<ExitCode> {
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
    if args.require_gpu && !gpu {
        eprintln!(
            "error: --require-gpu: no GPU adapter, {}; install the GPU's Vulkan driver",
            if found.is_empty() {
                "no adapter at all"
            } else {
                "only a software adapter"
            }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
