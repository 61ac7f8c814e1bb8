//! Run-time SIMD dispatch for dcgan's own loops (im2col, col2im, BatchNorm, activations):
//! the binary stays baseline x86-64 and each loop runs compiled for AVX-512, AVX2 + FMA or
//! SSE2, whichever the CPU has ([`multiversion`]), as detected by `pulp`, the crate the
//! `gemm` crate dispatches with.
//! Rust never contracts or reorders floating-point arithmetic, so every level gives
//! the same bits (tests/simd_levels.rs checks it on every level the CPU has).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;

/// The widest vector instructions a loop runs with, chosen at run time: by the `gemm`
/// crate (its `x86-v4` feature) for the f32 products, by [`multiversion`] for dcgan's own
/// loops. Ordered from narrowest to widest.
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

/// The highest level [`multiversion`]'s functions may use; `u8::MAX`: no limit.
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

/// Limits [`multiversion`]'s functions to `level` at most in this process (to test and
/// measure each level).
pub fn cap(level: SimdLevel) {
    CAP.store(level as u8, Ordering::Relaxed);
}

/// The level [`multiversion`]'s functions run at: the CPU's widest (detected once),
/// within the [`cap`].
pub fn level() -> SimdLevel {
    let cap = SimdLevel::from_u8(CAP.load(Ordering::Relaxed));
    detected().min(cap)
}

/// Defines a function whose whole body is compiled once for each [`SimdLevel`] and run at
/// [`level`]:
///
/// ```ignore
/// simd::multiversion! {
///     /// Docs.
///     pub fn scaled[F: Fn(f32) -> f32 + Sync](x: &[f32], f: F) -> Vec<f32> {
///         x.par_iter().map(|&v| f(v)).collect()
///     }
/// }
/// ```
///
/// (generic parameters, if any, in square brackets; each argument a plain name). The body
/// is written out inside one `#[target_feature]` function per level, so that the closures
/// it defines (the loops rayon hands to its threads, the callbacks of a matrix product)
/// are compiled for that level too: a closure inherits the target features of the function
/// it is written in. A closure handed to a dispatching function from outside would be
/// compiled for the baseline, and LLVM inlines only small ones: that is how dcgan's
/// convolution and BatchNorm loops ran SSE2 code on AVX-512 CPUs until this macro.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $([$($generics:tt)*])? ($($arg:ident: $ty:ty),* $(,)?)
            $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name<$($($generics)*)?>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(
                    enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,bmi1,bmi2,fma,lzcnt",
                    enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
                )]
                fn v4<$($($generics)*)?>($($arg: $ty),*) $(-> $ret)? $body
                #[target_feature(
                    enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,bmi1,bmi2,fma,lzcnt"
                )]
                fn v3<$($($generics)*)?>($($arg: $ty),*) $(-> $ret)? $body
                match $crate::kernels::simd::level() {
                    // Safety: `level` is never above the level `pulp` detected, which
                    // checked these features (its `V4` and `V3`).
                    $crate::kernels::simd::SimdLevel::Avx512 => return unsafe { v4($($arg),*) },
                    $crate::kernels::simd::SimdLevel::Avx2Fma => return unsafe { v3($($arg),*) },
                    $crate::kernels::simd::SimdLevel::Baseline => {}
                }
            }
            $body
        }
    };
}
pub(crate) use multiversion;
