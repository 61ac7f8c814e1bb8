//! What a run tells its user: TensorBoard event files and progress bars.

pub mod progress;
pub mod tensorboard;

pub use tensorboard::EventWriter;
