//! What a run tells its user: TensorBoard event files, `metrics.jsonl` and progress bars.

pub mod metrics;
pub mod progress;
pub mod tensorboard;

pub use metrics::MetricsLog;
pub use tensorboard::EventWriter;
