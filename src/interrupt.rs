//! Ctrl-C and SIGTERM: the first asks training to stop after the current step (and save a
//! checkpoint); the second ends the process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of a process stopped by a signal, as shells report SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A flag that turns true when the user asks the program to stop.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag set by SIGINT, SIGTERM or SIGHUP. A second signal exits at once with status
    /// 130, losing the work since the last checkpoint. With `quiet`, neither says so (one
    /// of several processes of a run, whose first says it for all).
    pub fn on_signals(quiet: bool) -> anyhow::Result<Self> {
        let flag = StopFlag::default();
        let seen = flag.clone();
        ctrlc::set_handler(move || {
            if seen.0.swap(true, Ordering::SeqCst) {
                if !quiet {
                    eprintln!("\nstopped at once; the run resumes from its last checkpoint");
                }
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
            if quiet {
                return;
            }
            eprintln!(
                "\nstopping after this step to save a checkpoint (press Ctrl-C again to quit at \
                 once)"
            );
        })?;
        Ok(flag)
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
