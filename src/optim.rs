//! Adam, the optimiser of both networks of a GAN and of the evaluation classifiers: its
//! settings and the burn optimiser they make.

use burn::optim::{AdamConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};

/// Adam's settings, as `config.toml` keeps them. The defaults are the DCGAN paper's (the
/// seed's preset sets its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamSettings {
    /// Learning rate of both networks, unless one of their own is set.
    pub lr: f64,
    /// G's own learning rate (`--lr-g`).
    pub lr_g: Option<f64>,
    /// D's own learning rate (`--lr-d`).
    pub lr_d: Option<f64>,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment; TF's default, 1e-8.
    pub epsilon: f64,
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            lr: 2e-4,
            lr_g: None,
            lr_d: None,
            beta1: 0.5,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }
}

/// A fresh Adam with `settings`' moment decays and ε (the learning rate is given at each
/// step).
pub fn adam(settings: &AdamSettings) -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(settings.beta1 as f32)
        .with_beta_2(settings.beta2 as f32)
        .with_epsilon(settings.epsilon as f32)
        .init()
}
