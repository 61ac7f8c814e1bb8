//! `dcgan report`: a run's loss curves and progress GIF, at any time.

use std::path::PathBuf;

use clap::Args;

use crate::report::write_report;

/// Flags of `dcgan report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's directory (the --out of `dcgan train`).
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
}

/// Runs `dcgan report`.
pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    for path in write_report(&args.run)?.written() {
        crate::say!("wrote {}", path.display())?;
    }
    Ok(())
}
