//! dcgan's own CPU kernels, plugged into burn's `flex` backend through its backend-extension
//! mechanism: TF 'SAME' convolutions and transposed convolutions ([`conv`]) over matrix
//! products in f32 or bf16 (on AMX tiles where the CPU has them: [`matmul`], [`precision`]),
//! BatchNorm fused with its activation ([`batch_norm`]), each forward and backward, on plain
//! slices, and the burn operations over them, `tanh` and the leaky ReLU among them ([`ops`]);
//! and the inference layers of the FID's Inception-v3 on one image's maps ([`conv_relu`],
//! [`pool`]). Loops are compiled for every SIMD level and chosen at run time ([`simd`],
//! [`cpu`]); output buffers are cleared chunk by chunk by the threads that fill them
//! ([`buffer`]); matrices are transposed by blocks in vector registers ([`transpose`]). See
//! `docs/performance.md` for why and how much faster.

pub mod batch_norm;
pub mod buffer;
pub mod conv;
pub mod conv_relu;
pub mod cpu;
pub mod matmul;
pub mod ops;
pub mod pool;
pub mod precision;
pub mod simd;
pub mod transpose;
