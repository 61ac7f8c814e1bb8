//! What a run tells its user: TensorBoard event files, progress bars, and
//! the lines on standard output ([`say!`](crate::say)).

pub mod progress;
pub mod tensorboard;

pub use tensorboard::EventWriter;

/// `println!` for what a command prints on standard output, returning the write's error
/// instead of panicking: a pipe closed early (`dcgan devices | head -1`) then ends the command
/// quietly (`main.rs`), as ripgrep does. Prints nothing in a [`quiet`] process.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if $crate::logging::quiet() {
            Ok(())
        } else {
            writeln!(std::io::stdout(), $($arg)*)
        }
    }};
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True in a process that keeps its lines and progress bars to itself: a training rank
/// other than the first, whose lines would repeat rank 0's.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Makes this process [`quiet`].
pub fn set_quiet() {
    QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// [`say!`](crate::say) for the lines of long work (training): a closed output is ignored, so
/// that the work goes on to its end and writes its files whole; only the lines are lost.
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = $crate::say!($($arg)*);
    }};
}
