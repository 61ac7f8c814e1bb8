//! JSON-lines logs (`OUT/metrics.jsonl`, `OUT/eval.jsonl`): one JSON object per logged step,
//! for scripts and plots ([`super::records`] types them).
//!
//! Each line is written whole and flushed at once, so a crash loses at most the line being
//! written. A resumed run appends to the same file, after dropping the lines of steps it
//! will log again; a new run (`--force`) starts it empty.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Appends records to a JSON-lines file.
pub struct JsonLines {
    file: File,
    path: PathBuf,
}

impl JsonLines {
    /// Opens (or creates) `dir/name` for appending.
    pub fn open(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(JsonLines { file, path })
    }

    /// Creates `dir/name` empty, for a new run (a run started over with `--force` must not
    /// append to the old one's lines).
    pub fn create(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let path = dir.join(name);
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Self::open(dir, name)
    }

    /// Opens `dir/name` to continue a run resumed at `step`: lines of later steps, logged
    /// by a killed run after its last checkpoint, are dropped (the resumed run logs those
    /// steps again), as is a last line cut short by the crash.
    pub fn resume(dir: &Path, name: &str, step: u64) -> anyhow::Result<Self> {
        let path = dir.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let keep: String = text
                .lines()
                .filter(|line| {
                    serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|record| record["step"].as_u64())
                        .is_some_and(|s| s <= step)
                })
                .flat_map(|line| [line, "\n"])
                .collect();
            if keep.len() != text.len() {
                crate::atomic_file::write(&path, keep.as_bytes())
                    .with_context(|| format!("cannot rewrite {}", path.display()))?;
            }
        }
        Self::open(dir, name)
    }

    /// Appends `record` as one line, its keys in alphabetical order (as the logs have
    /// always had them); `record` must serialise to a JSON object with a `step`.
    pub fn append(&mut self, record: &impl serde::Serialize) -> anyhow::Result<()> {
        let value = serde_json::to_value(record)?;
        if value.get("step").is_none_or(|step| !step.is_u64()) {
            bail!("a log record must be a JSON object with a step");
        }
        let mut line = serde_json::to_vec(&value)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// Reads a log of one JSON object a line. A torn last line (a crash while it was written) is
/// skipped; a bad line elsewhere is an error naming the file and line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => bail!("{} line {}: {e}", path.display(), i + 1),
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::MetricsRecord;

    #[test]
    fn appends_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let record = |step, loss_d| MetricsRecord {
            step,
            loss_d,
            ..MetricsRecord::default()
        };
        JsonLines::open(dir.path(), "metrics.jsonl")
            .unwrap()
            .append(&record(10, 0.5))
            .unwrap();
        JsonLines::open(dir.path(), "metrics.jsonl")
            .unwrap()
            .append(&record(20, 0.25))
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["step"], 20);
        assert_eq!(lines[1]["loss_D"], 0.25);
    }

    #[test]
    fn resume_drops_the_lines_after_the_checkpoint_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(
            &path,
            "{\"step\":10,\"epoch\":0}\n{\"step\":20,\"epoch\":0}\n{\"step\":30,\"ep",
        )
        .unwrap();
        let mut log = JsonLines::resume(dir.path(), "metrics.jsonl", 20).unwrap();
        log.append(&MetricsRecord {
            step: 30,
            ..MetricsRecord::default()
        })
        .unwrap();
        assert!(log.append(&"not an object").is_err());
        let steps: Vec<u64> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(steps, vec![10, 20, 30]);
    }
}
