//! The precision of the convolution kernels' matrix products: f32 (the default), or bf16
//! operands with f32 sums on CPUs that multiply bf16 natively. Everything else (BatchNorm,
//! activations, the dense layers, the optimiser and the master weights) stays f32.
//!
//! The choice is made once per process, by `--precision`, before any work: the kernels run
//! deep inside burn's autodiff graph, where no argument of ours reaches them.

use std::sync::atomic::{AtomicU8, Ordering};

use super::cpu;
pub use super::matmul::Precision;
use super::matmul::{amx, bf16};

static PRODUCTS: AtomicU8 = AtomicU8::new(0);

/// Sets the precision of every later convolution product in this process. bf16 is refused
/// on a CPU without AVX512-BF16, where it could only be emulated, slowly.
pub fn set(precision: Precision) -> anyhow::Result<()> {
    if precision == Precision::Bf16 && !bf16::available() {
        anyhow::bail!(
            "--precision bf16: this CPU ({}) has no AVX512-BF16, so bf16 products would be \
             slower than f32; run with --precision f32 (the default)",
            cpu::model_name()
        );
    }
    PRODUCTS.store(precision as u8, Ordering::Relaxed);
    Ok(())
}

/// The precision [`set`] last chose: f32 until then.
pub fn current() -> Precision {
    match PRODUCTS.load(Ordering::Relaxed) {
        0 => Precision::F32,
        _ => Precision::Bf16,
    }
}

/// One line: the CPU and the kernels a run with `precision` uses on it.
pub fn kernels_line(precision: Precision) -> String {
    let info = cpu::info();
    let products = match precision {
        Precision::F32 => format!("f32 products ({})", info.simd),
        Precision::Bf16 if amx::in_use() => {
            "bf16 products with f32 sums (AMX tiles, AVX512-BF16 at their edges)".to_string()
        }
        Precision::Bf16 => "bf16 products with f32 sums (AVX512-BF16)".to_string(),
    };
    let amx_note = match (info.amx_bf16, precision) {
        (false, _) => "",
        (true, _) if !amx::available() => "; AMX present, not granted by the OS",
        (true, Precision::F32) => "; AMX present, for --precision bf16",
        (true, Precision::Bf16) if !amx::in_use() => "; AMX present, switched off",
        (true, Precision::Bf16) => "",
    };
    format!(
        "{}: {products}, other loops {}{amx_note}",
        info.model,
        super::simd::level(),
    )
}
