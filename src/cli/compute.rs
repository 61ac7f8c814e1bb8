//! `--device`, `--precision` and `--no-amx`, the flags of every command that computes, made
//! into a device once by [`ComputeArgs::start`].

use burn::tensor::Device;
use clap::Args;

use crate::device::{self, DeviceKind};
use crate::kernels::matmul::amx;
use crate::kernels::precision::Precision;

/// Where and in what number format a command computes.
#[derive(Debug, Clone, Copy, Args)]
pub struct ComputeArgs {
    /// Where to compute: cpu, wgpu (a GPU through Vulkan or Metal), wgpu:cpu (wgpu's
    /// software adapter), cuda or cuda:N (an NVIDIA GPU); `dcgan devices` lists them.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: DeviceKind,
    /// Number format of the convolutions' matrix products: f32, or bf16 with f32 sums
    /// (CPUs with AVX512-BF16).
    #[arg(long, default_value = "f32")]
    pub precision: Precision,
    #[command(flatten)]
    pub amx: AmxArgs,
}

impl ComputeArgs {
    /// The device, the precision set for the kernels ([`device::start`]), AMX switched off
    /// where `--no-amx` asks.
    pub fn start(&self) -> anyhow::Result<Device> {
        self.amx.apply();
        device::start(self.device, self.precision)
    }
}

/// `--no-amx`: a setting of this process's kernels, not of a run (`dcgan train` takes it
/// too, and does not record it).
#[derive(Debug, Clone, Copy, Args)]
pub struct AmxArgs {
    /// Multiply in bf16 on AVX512-BF16 even where the CPU has AMX tiles (which `--precision
    /// bf16` uses by default there): to compare the two engines' speed or results.
    #[arg(long)]
    pub no_amx: bool,
}

impl AmxArgs {
    /// Switches AMX off for this process where `--no-amx` asks ([`amx::enable`]).
    pub fn apply(&self) {
        amx::enable(!self.no_amx);
    }
}
