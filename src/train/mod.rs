//! Training: the configuration, one iteration's two steps, and the loop over epochs.

pub mod augment;
pub mod checkpoint;
mod checkpoint_every;
pub mod clip;
mod config;
pub mod ema;
mod evaluation;
pub mod inspect;
mod log;
pub mod loss;
mod run;
mod state;
pub mod step;

pub use checkpoint_every::CheckpointEvery;
pub use config::{Preset, TrainConfig};
pub use evaluation::{BEST_CHECKPOINT, BEST_GENERATOR};
pub use loss::Loss;
pub use run::{Outcome, Start, train};
pub use state::{Gan, RunState, SAMPLE_COLUMNS};
