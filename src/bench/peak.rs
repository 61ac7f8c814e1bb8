//! This CPU's peak arithmetic rate, measured: every thread runs a tight loop of
//! independent fused multiply-adds (AVX-512 or AVX2 with FMA), and where the CPU has
//! AVX512-BF16 a second loop of `vdpbf16ps` (bf16 pairs summed into f32, the instruction of
//! dcgan's bf16 products on AVX-512), and where it has AMX a third of `tdpbf16ps` on tiles
//! (the instruction of its bf16 products there). The fractions `dcgan bench --layers`
//! prints are against these.
//!
//! Written by hand with `std::arch` because the figure is the instructions' own rate: no
//! crate measures it, and a compiler-vectorised loop would measure the compiler.

use std::time::Instant;

use serde::Serialize;

/// Peak rates of all threads together, in GFLOP/s (a multiply-add counts two).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Peak {
    /// f32 fused multiply-adds.
    pub f32_gflops: f64,
    /// bf16 dot products into f32 (`vdpbf16ps`), where the CPU has them.
    pub bf16_gflops: Option<f64>,
    /// bf16 tile products into f32 (`tdpbf16ps`), where the CPU has AMX and the OS lets
    /// this process use it.
    pub amx_bf16_gflops: Option<f64>,
    /// The vector instructions measured, e.g. `AVX-512`.
    pub instructions: &'static str,
    /// Threads that ran the loop at once.
    pub threads: usize,
}

/// A measuring loop: runs so many iterations and returns the FLOPs it did.
type Kernel = fn(u64) -> f64;

/// Independent accumulators per thread: enough to cover the FMA latency on both ports.
const CHAINS: usize = 12;
/// Iterations of one timed round per thread (about 0.05 s on a recent core).
const ITERATIONS: u64 = 20_000_000;

/// Measures the peak on `threads` threads, best of three rounds; `None` on CPUs without
/// FMA (or not x86-64), where no fraction is printed.
pub fn measure(threads: usize) -> Option<Peak> {
    let (kernel, instructions) = kernels()?;
    let f32_gflops = best_rate(threads, kernel);
    let bf16_gflops = bf16_kernel().map(|kernel| best_rate(threads, kernel));
    let amx_bf16_gflops = amx_kernel().map(|kernel| best_rate(threads, kernel));
    Some(Peak {
        f32_gflops,
        bf16_gflops,
        amx_bf16_gflops,
        instructions,
        threads,
    })
}

/// The best of three rounds of `kernel` on `threads` threads at once, in GFLOP/s;
/// `kernel(n)` runs `n` iterations and returns the FLOPs it did.
fn best_rate(threads: usize, kernel: Kernel) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let flops: f64 = std::thread::scope(|scope| {
                let runs: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(move || kernel(ITERATIONS)))
                    .collect();
                runs.into_iter().map(|r| r.join().unwrap_or(0.0)).sum()
            });
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

#[cfg(target_arch = "x86_64")]
fn kernels() -> Option<(Kernel, &'static str)> {
    if is_x86_feature_detected!("avx512f") {
        // Safety: the CPU has AVX-512F.
        Some((|n| unsafe { x86::fma_avx512(n) }, "AVX-512"))
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // Safety: the CPU has AVX2 and FMA.
        Some((|n| unsafe { x86::fma_avx2(n) }, "AVX2"))
    } else {
        None
    }
}

#[cfg(target_arch = "x86_64")]
fn bf16_kernel() -> Option<Kernel> {
    (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16"))
        // Safety: the CPU has AVX-512F and AVX512-BF16.
        .then_some(|n| unsafe { x86::dot_bf16(n) })
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn amx_kernel() -> Option<Kernel> {
    // Safety: AMX is available: the CPU has it and the OS granted it to this process.
    crate::kernels::matmul::amx::available().then_some(|n| unsafe { x86::tiles_bf16(n) })
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn amx_kernel() -> Option<Kernel> {
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn kernels() -> Option<(Kernel, &'static str)> {
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn bf16_kernel() -> Option<Kernel> {
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    use super::CHAINS;

    /// `n` rounds of [`CHAINS`] independent 16-lane FMAs; returns the FLOPs done.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn fma_avx512(n: u64) -> f64 {
        // The values settle towards 1: no overflow, no subnormals.
        let (a, b) = (_mm512_set1_ps(0.999_99), _mm512_set1_ps(1e-5));
        let mut acc = [_mm512_set1_ps(black_box(0.5)); CHAINS];
        for _ in 0..n {
            for x in &mut acc {
                *x = _mm512_fmadd_ps(*x, a, b);
            }
        }
        black_box(acc);
        (n * CHAINS as u64 * 16 * 2) as f64
    }

    /// `n` rounds of [`CHAINS`] independent 8-lane FMAs; returns the FLOPs done.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma_avx2(n: u64) -> f64 {
        let (a, b) = (_mm256_set1_ps(0.999_99), _mm256_set1_ps(1e-5));
        let mut acc = [_mm256_set1_ps(black_box(0.5)); CHAINS];
        for _ in 0..n {
            for x in &mut acc {
                *x = _mm256_fmadd_ps(*x, a, b);
            }
        }
        black_box(acc);
        (n * CHAINS as u64 * 8 * 2) as f64
    }

    /// `n` rounds of [`CHAINS`] independent `vdpbf16ps` (16 lanes, two products each);
    /// returns the FLOPs done.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn dot_bf16(n: u64) -> f64 {
        let pairs = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3), _mm512_set1_ps(-1e-3));
        let mut acc = [_mm512_set1_ps(black_box(0.5)); CHAINS];
        for _ in 0..n {
            for x in &mut acc {
                *x = _mm512_dpbf16_ps(*x, pairs, pairs);
            }
        }
        black_box(acc);
        (n * CHAINS as u64 * 16 * 4) as f64
    }

    /// `n / 32` rounds of four independent `tdpbf16ps` (each 16 × 16 sums of 32 products)
    /// on AMX tiles; returns the FLOPs done. One round does 512 times the work of a
    /// `vdpbf16ps`, hence fewer of them.
    ///
    /// # Safety
    /// AMX must be available ([`crate::kernels::matmul::amx::available`]).
    #[cfg(target_os = "linux")]
    pub(super) unsafe fn tiles_bf16(n: u64) -> f64 {
        use crate::kernels::matmul::amx::x86::Tiles;
        use std::arch::asm;
        let rounds = n / 32;
        // Small values (pairs of ±1e-3): the sums stay far from overflow.
        let values = vec![0x3A83_BA83u32; 16 * 16];
        // Safety: AMX is available (the caller's promise); each load reads 16 rows of 64
        // bytes from `values`, 64 bytes apart.
        unsafe {
            let _tiles = Tiles::configure();
            asm!(
                "tileloadd tmm4, [{v} + {s}*1]",
                "tileloadd tmm5, [{v} + {s}*1]",
                "tileloadd tmm6, [{v} + {s}*1]",
                "tileloadd tmm7, [{v} + {s}*1]",
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                v = in(reg) values.as_ptr(), s = in(reg) 64usize,
                options(nostack, readonly, preserves_flags)
            );
            for _ in 0..rounds {
                asm!(
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    options(nostack, nomem, preserves_flags)
                );
            }
        }
        (rounds * 4 * 16 * 16 * 32 * 2) as f64
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    #[test]
    fn the_peak_is_a_plausible_rate_of_the_instructions_the_cpu_has() {
        let vectors = is_x86_feature_detected!("avx512f")
            || (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"));
        let peak = super::measure(1);
        assert_eq!(peak.is_some(), vectors);
        let Some(peak) = peak else { return };
        // One core does at least a few GFLOP/s with vectors, and far below a TFLOP/s.
        assert!((2.0..1000.0).contains(&peak.f32_gflops), "{peak:?}");
        assert_eq!(
            peak.bf16_gflops.is_some(),
            is_x86_feature_detected!("avx512bf16")
        );
        if let Some(bf16) = peak.bf16_gflops {
            // vdpbf16ps does twice the work of an FMA in the same slot on AMD's Zen 4 and 5,
            // half of one's on Intel's Sapphire Rapids (measured there: 103 against 209
            // GFLOP/s on one core): a loop that counts or runs wrong leaves this range.
            let ratio = bf16 / peak.f32_gflops;
            assert!((0.3..3.0).contains(&ratio), "{peak:?}");
        }
        assert_eq!(
            peak.amx_bf16_gflops.is_some(),
            crate::kernels::matmul::amx::available()
        );
        if let (Some(amx), Some(bf16)) = (peak.amx_bf16_gflops, peak.bf16_gflops) {
            // A tile product does 16 times the work of a vdpbf16ps in 16 cycles.
            assert!(amx > bf16 * 2.0, "{peak:?}");
        }
    }
}
