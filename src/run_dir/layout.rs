//! A run directory's files, by name: its configuration, its checkpoints and generators
//! (the latest, the one before, the best by FID), its logs (`metrics.jsonl`, `eval.jsonl`),
//! and its per-epoch files: `samples/epoch_NNN.png`, the picture of the run's fixed noise,
//! and `generators/epoch_NNN.safetensors`, the generator as it stood then (the timeline
//! `dcgan serve` shows). Both per-epoch files are written at the picture's cadence (the
//! first epoch, every `--sample-every`, the last), named by the 0-based epoch. The report's
//! pictures (`loss.png`, `fid.png`, `progress.gif`) are [`crate::report`]'s.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The run's effective configuration, as TOML.
pub const CONFIG: &str = "config.toml";
/// The latest checkpoint: the whole run, from which `--resume` continues.
pub const CHECKPOINT: &str = "checkpoint.dcgan";
/// The checkpoint before it, kept so that a damaged latest one costs an epoch, not the run.
pub const PREVIOUS_CHECKPOINT: &str = "checkpoint.prev.dcgan";
/// The checkpoint with the best FID of the evaluations (`--eval-every`).
pub const BEST_CHECKPOINT: &str = "checkpoint.best.dcgan";
/// The latest generator's weights, for `sample`, `eval` and `serve`.
pub const GENERATOR: &str = "generator.safetensors";
/// The best generator's weights by FID.
pub const BEST_GENERATOR: &str = "generator.best.safetensors";

/// The log of every logged step, a JSON object a line.
pub const METRICS: &str = "metrics.jsonl";
/// The log of the evaluations (`--eval-every`), a JSON object a line.
pub const EVALS: &str = "eval.jsonl";

/// The folder of the per-epoch pictures.
pub const SAMPLES: &str = "samples";
/// The folder of the per-epoch generators.
pub const GENERATORS: &str = "generators";

/// One kind of per-epoch file: its folder in the run and its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochFiles {
    /// The folder, relative to the run directory.
    pub folder: &'static str,
    /// The extension, without its dot.
    pub extension: &'static str,
}

/// `samples/epoch_NNN.png`.
pub const PICTURES: EpochFiles = EpochFiles {
    folder: SAMPLES,
    extension: "png",
};

/// `generators/epoch_NNN.safetensors`.
pub const EPOCH_GENERATORS: EpochFiles = EpochFiles {
    folder: GENERATORS,
    extension: "safetensors",
};

impl EpochFiles {
    /// The file of `epoch` (0-based) in `run`.
    pub fn path(&self, run: &Path, epoch: usize) -> PathBuf {
        run.join(self.folder)
            .join(format!("epoch_{epoch:03}.{}", self.extension))
    }

    /// The epoch a file name stands for, if it is one of these files' names.
    pub fn epoch_of(&self, name: &str) -> Option<usize> {
        let digits = name
            .strip_prefix("epoch_")?
            .strip_suffix(self.extension)?
            .strip_suffix('.')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The files of this kind in `run`, with their epochs, in epoch order; none when the
    /// folder is not there.
    pub fn list(&self, run: &Path) -> anyhow::Result<Vec<(usize, PathBuf)>> {
        let folder = run.join(self.folder);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Ok(Vec::new());
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot list {}", folder.display()))?
                .path();
            let epoch = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| self.epoch_of(n));
            if let Some(epoch) = epoch {
                files.push((epoch, path));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Removes these files from `run`: what an earlier run left, when `--force` starts a
    /// new one in its directory (the new run's epochs must not mix with the old one's).
    pub fn remove_all(&self, run: &Path) -> anyhow::Result<()> {
        for (_, path) in self.list(run)? {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_other_files_are_not_epochs() {
        let run = tempfile::tempdir().unwrap();
        let path = EPOCH_GENERATORS.path(run.path(), 7);
        assert!(path.ends_with("generators/epoch_007.safetensors"));
        assert_eq!(PICTURES.epoch_of("epoch_123.png"), Some(123));
        assert_eq!(PICTURES.epoch_of("epoch_1000.png"), Some(1000));
        for name in [
            "epoch_.png",
            "epoch_12.jpg",
            "epoch_-1.png",
            "epoch_1.png.tmp",
            "x.png",
        ] {
            assert_eq!(PICTURES.epoch_of(name), None, "{name}");
        }
        std::fs::create_dir_all(run.path().join(SAMPLES)).unwrap();
        for name in ["epoch_010.png", "epoch_002.png", "notes.txt"] {
            std::fs::write(run.path().join(SAMPLES).join(name), b"x").unwrap();
        }
        let epochs: Vec<usize> = PICTURES
            .list(run.path())
            .unwrap()
            .into_iter()
            .map(|(e, _)| e)
            .collect();
        assert_eq!(epochs, [2, 10]);
        assert!(EPOCH_GENERATORS.list(run.path()).unwrap().is_empty());
        PICTURES.remove_all(run.path()).unwrap();
        assert!(PICTURES.list(run.path()).unwrap().is_empty());
        assert!(run.path().join(SAMPLES).join("notes.txt").exists());
    }
}
