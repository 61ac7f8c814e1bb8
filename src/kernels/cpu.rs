//! What this CPU offers dcgan's kernels, and which kernels they dispatch to: the figures of
//! `dcgan bench` mean little without them.

use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

use super::matmul::bf16;
use super::precision::Precision;

/// The widest vector instructions a loop runs with, chosen at run time: by the `gemm`
/// crate (its `x86-v4` feature) for the f32 products, by [`super::simd::dispatch`] for
/// dcgan's own loops. Ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum SimdLevel {
    /// SSE2, every x86-64, or another architecture's baseline.
    Baseline = 0,
    /// x86-64-v3: AVX2 and FMA, 8 f32 lanes.
    Avx2Fma = 1,
    /// x86-64-v4: AVX-512 F, BW, DQ, VL and CD, 16 f32 lanes.
    Avx512 = 2,
}

impl SimdLevel {
    /// The level stored as `value`; anything higher than the widest is the widest.
    pub fn from_u8(value: u8) -> SimdLevel {
        match value {
            0 => SimdLevel::Baseline,
            1 => SimdLevel::Avx2Fma,
            _ => SimdLevel::Avx512,
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SimdLevel::Avx512 => "AVX-512",
            SimdLevel::Avx2Fma => "AVX2+FMA",
            SimdLevel::Baseline => "baseline",
        })
    }
}

/// This CPU as the kernels see it.
#[derive(Debug, Clone, Serialize)]
pub struct CpuInfo {
    /// The processor's brand string, e.g. "AMD EPYC 9B45".
    pub model: String,
    /// The widest vector instructions the CPU offers (the f32 products use them).
    pub simd: SimdLevel,
    /// AVX512-BF16: `--precision bf16` runs here.
    pub avx512_bf16: bool,
    /// AMX with bf16 tiles (reported; dcgan's bf16 products use AVX512-BF16).
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

/// One line: the CPU and the kernels a run with `precision` uses on it.
pub fn kernels_line(precision: Precision) -> String {
    let info = info();
    let products = match precision {
        Precision::F32 => format!("f32 products ({})", info.simd),
        Precision::Bf16 => "bf16 products with f32 sums (AVX512-BF16)".to_string(),
    };
    format!(
        "{}: {products}, other loops {}{}",
        info.model,
        super::simd::level(),
        if info.amx_bf16 {
            "; AMX present, unused"
        } else {
            ""
        }
    )
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuInfo {
    let cpuid = raw_cpuid::CpuId::new();
    let model = cpuid
        .get_processor_brand_string()
        .map(|brand| brand.as_str().trim().to_string())
        .filter(|brand| !brand.is_empty())
        .unwrap_or_else(|| "an unknown x86-64 CPU".to_string());
    let simd = super::simd::detected();
    let amx_bf16 = cpuid
        .get_extended_feature_info()
        .is_some_and(|features| features.has_amx_bf16() && features.has_amx_tile());
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
