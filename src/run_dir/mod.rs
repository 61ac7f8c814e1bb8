//! The run directory's contract: what a training run writes into its `--out` and how each
//! file reads back. Training writes it; `report`, `serve`, `sample` and `eval` read it.
//!
//! - [`layout`]: every file and folder by name (`config.toml`, the checkpoints, the
//!   generators, `samples/` and `generators/` per epoch, the logs);
//! - [`lock`]: one training process per directory;
//! - [`records`]: the typed lines of `metrics.jsonl` and `eval.jsonl`;
//! - [`jsonl`]: appending such lines (a resumed run drops the ones it will log again) and
//!   reading them back.

pub mod jsonl;
pub mod layout;
pub mod lock;
pub mod records;

pub use jsonl::{JsonLines, read_jsonl};
pub use layout::{
    BEST_CHECKPOINT, BEST_GENERATOR, CHECKPOINT, CONFIG, EPOCH_GENERATORS, EVALS, EpochFiles,
    GENERATOR, GENERATORS, METRICS, PICTURES, PREVIOUS_CHECKPOINT, SAMPLES,
};
pub use lock::RunLock;
pub use records::{EvalEntry, EvalRecord, MetricsRecord};
