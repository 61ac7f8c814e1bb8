//! Run-time SIMD dispatch for dcgan's own loops (im2col, col2im, BatchNorm, activations),
//! through `pulp`, the crate the `gemm` crate dispatches with: the binary stays baseline
//! x86-64 and each loop runs compiled for AVX-512, AVX2 + FMA or SSE2, whichever the CPU
//! has. Rust never contracts or reorders floating-point arithmetic, so every level gives
//! the same bits.

/// Runs `f` compiled for the widest vector instructions this CPU has. The body is inlined
/// into one function per level; whatever it calls that is not inlined runs at the
/// baseline, so the loops it reaches are `#[inline(always)]`.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
