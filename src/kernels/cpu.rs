//! What this CPU offers dcgan's kernels, and which kernels they dispatch to: the figures of
//! `dcgan bench` mean little without them.

use std::sync::OnceLock;

use serde::Serialize;

use super::matmul::{amx, bf16};
use super::simd::{self, SimdLevel};

/// This CPU as the kernels see it.
#[derive(Debug, Clone, Serialize)]
pub struct CpuInfo {
    /// The processor's brand string, e.g. "AMD EPYC 9B45".
    pub model: String,
    /// The widest vector instructions the CPU offers (the f32 products use them).
    pub simd: SimdLevel,
    /// AVX512-BF16: `--precision bf16` runs here.
    pub avx512_bf16: bool,
    /// AMX with bf16 tiles: `--precision bf16` multiplies on them where the OS lets it
    /// (`matmul::amx`).
    pub amx_bf16: bool,
}

/// This CPU, detected once.
pub fn info() -> &'static CpuInfo {
    static INFO: OnceLock<CpuInfo> = OnceLock::new();
    INFO.get_or_init(detect)
}

/// The processor's brand string, or "an unknown … CPU" where it has none.
pub fn model_name() -> &'static str {
    &info().model
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuInfo {
    let cpuid = raw_cpuid::CpuId::new();
    let model = cpuid
        .get_processor_brand_string()
        .map(|brand| brand.as_str().trim().to_string())
        .filter(|brand| !brand.is_empty())
        .unwrap_or_else(|| "an unknown x86-64 CPU".to_string());
    let simd = simd::detected();
    let amx_bf16 = amx::cpu_has_tiles();
    CpuInfo {
        model,
        simd,
        avx512_bf16: bf16::available(),
        amx_bf16,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> CpuInfo {
    CpuInfo {
        model: format!("an unknown {} CPU", std::env::consts::ARCH),
        simd: SimdLevel::Baseline,
        avx512_bf16: false,
        amx_bf16: false,
    }
}
