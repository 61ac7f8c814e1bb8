//! dcgan's own CPU kernels, plugged into burn's `flex` backend through its backend-extension
//! mechanism: TF 'SAME' convolutions and transposed convolutions with their backward passes
//! (see `docs/performance.md` for why and how much faster).

pub mod batch_norm;
pub mod conv;
pub mod ops;
