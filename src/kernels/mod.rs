//! dcgan's own CPU kernels, plugged into burn's `flex` backend through its backend-extension
//! mechanism: TF 'SAME' convolutions and transposed convolutions ([`conv`]), BatchNorm fused
//! with its activation ([`batch_norm`]), each forward and backward, on plain slices, and
//! the burn operations over them ([`ops`]). See `docs/performance.md` for why and how much
//! faster.

pub mod batch_norm;
pub mod conv;
pub mod ops;
