//! What a run tells its user: TensorBoard event files, progress bars, and
//! the lines on standard output ([`say!`](crate::say)).

pub mod progress;
pub mod tensorboard;

pub use tensorboard::EventWriter;

/// `println!` for what a command prints on standard output, returning the write's error
/// instead of panicking: a pipe closed early (`dcgan devices | head -1`) then ends the command
/// quietly (`main.rs`), as ripgrep does.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// [`say!`](crate::say) for the lines of long work (training): a closed output is ignored, so
/// that the work goes on to its end and writes its files whole; only the lines are lost.
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = $crate::say!($($arg)*);
    }};
}
