//! CubeCL's CPU backend (burn's `cpu` feature: the CubeCL kernels that CUDA and wgpu run,
//! compiled by the LLVM that the CUDA build links, for this CPU) against the CPU backend
//! dcgan trains on: the code path of `--device cuda` tested on every CI run, not only on
//! lavapipe. Built only with `--features cubecl-cpu`.
//!
//! Only the forward passes: a training iteration stops in the backward pass of a matrix
//! product, where cubecl-cpu 0.11.3's matmul asks for more shared memory than its CPU
//! "cube" allows ("Shared memory budget exceeded: kernel requests 66560 bytes, hardware
//! allows 32768 bytes per cube"; docs/gpu.md).

#![cfg(feature = "cubecl-cpu")]

mod agreement;

#[test]
fn forward_passes_agree_with_the_cpu() {
    agreement::forward_passes_agree(burn::tensor::Device::cpu(), "cubecl-cpu");
}
