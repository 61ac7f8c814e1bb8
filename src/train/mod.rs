//! Training: the configuration, one iteration's two steps, and the loop over epochs.

pub mod augment;
pub mod checkpoint;
mod checkpoint_every;
pub mod choices;
pub mod clip;
mod config;
mod data;
pub mod distributed;
pub mod ema;
mod evaluation;
pub mod inspect;
mod log;
pub mod loss;
mod preset;
mod reporter;
mod run;
mod state;
pub mod step;
mod trainer;

pub use checkpoint_every::CheckpointEvery;
pub use config::{Difference, Recipe, Schedule, TrainConfig};
pub use loss::Loss;
pub use preset::{Preset, SMALL_FOLDER_ADDS, SMALL_FOLDER_IMAGES};
pub use run::{Outcome, Start, train};
pub use state::{Gan, RunState, SAMPLE_COLUMNS};
