//! `dcgan report`: a run's loss curves and progress GIF, at any time; or several runs' FID
//! curves in one picture.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::report::{write_comparison, write_report};

/// Flags of `dcgan report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's directory (the --out of `dcgan train`).
    #[arg(long, value_name = "DIR", required_unless_present = "compare")]
    run: Option<PathBuf>,
    /// Draw the FID curves of these runs in one picture instead (`--out`), each labelled by
    /// its directory's name or by LABEL; runs with the same label share a colour, drawn
    /// faded under their mean.
    #[arg(long, value_name = "DIR[=LABEL]", num_args = 1.., conflicts_with = "run", requires = "out")]
    compare: Vec<String>,
    /// The picture of `--compare` (PNG).
    #[arg(long, value_name = "FILE.png", requires = "compare")]
    out: Option<PathBuf>,
}

/// Runs `dcgan report`.
pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    if let Some(run) = &args.run {
        for path in write_report(run)?.written() {
            crate::say!("wrote {}", path.display())?;
        }
        return Ok(());
    }
    // clap requires --out with --compare.
    let out = args.out.as_deref().expect("--compare comes with --out");
    let runs: Vec<(PathBuf, String)> = args.compare.iter().map(|a| labelled(a)).collect();
    write_comparison(&runs, out)?;
    crate::say!("wrote {}", out.display())?;
    Ok(())
}

/// A `--compare` argument as its directory and label: an existing directory labelled by its
/// last component, else `DIR=LABEL`.
fn labelled(arg: &str) -> (PathBuf, String) {
    if let Some((dir, label)) = arg.rsplit_once('=').filter(|_| !Path::new(arg).is_dir())
        && !label.is_empty()
        && !label.contains('/')
    {
        return (PathBuf::from(dir), label.to_string());
    }
    let dir = PathBuf::from(arg);
    let label = dir
        .file_name()
        .map_or_else(|| arg.to_string(), |n| n.to_string_lossy().into_owned());
    (dir, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_arguments_name_their_label_or_take_the_directory_s() {
        assert_eq!(
            labelled("runs/all-seed1=all"),
            (PathBuf::from("runs/all-seed1"), "all".to_string())
        );
        assert_eq!(
            labelled("runs/paper-seed2/"),
            (
                PathBuf::from("runs/paper-seed2/"),
                "paper-seed2".to_string()
            )
        );
        // An '=' inside a path is not a label, nor is one in an existing directory's name.
        assert_eq!(
            labelled("a=b/run"),
            (PathBuf::from("a=b/run"), "run".to_string())
        );
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("lr=2e-4");
        std::fs::create_dir(&run).unwrap();
        let (found, label) = labelled(run.to_str().unwrap());
        assert_eq!((found, label.as_str()), (run, "lr=2e-4"));
    }
}
