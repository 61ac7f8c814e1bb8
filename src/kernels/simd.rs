//! Run-time SIMD dispatch for dcgan's own loops (im2col, col2im, BatchNorm, activations),
//! through `pulp`, the crate the `gemm` crate dispatches with: the binary stays baseline
//! x86-64 and each loop runs compiled for AVX-512, AVX2 + FMA or SSE2, whichever the CPU
//! has. Rust never contracts or reorders floating-point arithmetic, so every level gives
//! the same bits (tests/simd_levels.rs checks it on every level the CPU has).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;

/// The widest vector instructions a loop runs with, chosen at run time: by the `gemm`
/// crate (its `x86-v4` feature) for the f32 products, by [`dispatch`] for
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

/// The highest level [`dispatch`] may use; `u8::MAX`: no limit.
static CAP: AtomicU8 = AtomicU8::new(u8::MAX);

/// The widest level this CPU offers, as `pulp` detects it, detected once.
pub fn detected() -> SimdLevel {
    static DETECTED: OnceLock<SimdLevel> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if pulp::x86::V4::try_new().is_some() {
            return SimdLevel::Avx512;
        }
        if pulp::x86::V3::try_new().is_some() {
            return SimdLevel::Avx2Fma;
        }
    }
    SimdLevel::Baseline
}

/// Limits [`dispatch`] to `level` at most in this process (to test and measure each level).
pub fn cap(level: SimdLevel) {
    CAP.store(level as u8, Ordering::Relaxed);
}

/// The level [`dispatch`] runs at: the CPU's widest (detected once), within the [`cap`].
pub fn level() -> SimdLevel {
    let cap = SimdLevel::from_u8(CAP.load(Ordering::Relaxed));
    detected().min(cap)
}

/// Runs `f` compiled for [`level`]. The body is inlined into one function per level;
/// whatever it calls that is not inlined runs at the baseline, so the loops it reaches are
/// `#[inline(always)]`.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    arch().dispatch(f)
}

/// The `pulp` architecture of [`level`].
#[inline(always)]
fn arch() -> pulp::Arch {
    #[cfg(target_arch = "x86_64")]
    {
        let arch = match level() {
            SimdLevel::Avx512 => pulp::x86::V4::try_new().map(pulp::Arch::V4),
            SimdLevel::Avx2Fma => pulp::x86::V3::try_new().map(pulp::Arch::V3),
            SimdLevel::Baseline => None,
        };
        arch.unwrap_or(pulp::Arch::Scalar)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        pulp::Arch::new()
    }
}

/// Runs `op` compiled for [`level`], as [`dispatch`] does, for loops too large for a closure
/// to be inlined into the dispatching function (LLVM leaves such a closure out of line,
/// compiled for the baseline): `op.with_simd` is generic over the level and
/// `#[inline(always)]`, so it and the `#[inline(always)]` functions it calls are compiled
/// once for each level.
#[inline(always)]
pub fn dispatch_op<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    arch().dispatch(op)
}
