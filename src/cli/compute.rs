//! `--device` and `--precision`, the flags of every command that computes, made into a
//! device once by [`ComputeArgs::start`].

use burn::tensor::Device;
use clap::Args;

use crate::device::{self, DeviceKind};
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
}

impl ComputeArgs {
    /// The device, the precision set for the kernels ([`device::start`]).
    pub fn start(&self) -> anyhow::Result<Device> {
        device::start(self.device, self.precision)
    }
}
