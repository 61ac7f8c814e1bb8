//! JSON-lines logs (`OUT/metrics.jsonl`, `OUT/eval.jsonl`): one JSON object per logged step,
//! for scripts and plots.
//!
//! Each line is written whole and flushed at once, so a crash loses at most the line being
//! written. A resumed run appends to the same file, after dropping the lines of steps it
//! will log again; a new run (`--force`) starts it empty.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Appends records to a JSON-lines file.
pub struct MetricsLog {
    file: File,
    path: PathBuf,
}

impl MetricsLog {
    /// Opens (or creates) `dir/name` for appending.
    pub fn open(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(MetricsLog { file, path })
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

    /// Appends `{"step": …, "epoch": …, name: value, …}` as one line.
    pub fn write(&mut self, step: u64, epoch: usize, values: &[(&str, f32)]) -> anyhow::Result<()> {
        let mut record = serde_json::Map::new();
        for &(name, value) in values {
            record.insert(name.into(), f64::from(value).into());
        }
        self.write_record(step, epoch, record)
    }

    /// Appends `{"step": …, "epoch": …, …the fields of value}` as one line; `value` must
    /// serialise to a JSON object.
    pub fn write_json(
        &mut self,
        step: u64,
        epoch: usize,
        value: &impl serde::Serialize,
    ) -> anyhow::Result<()> {
        let serde_json::Value::Object(fields) = serde_json::to_value(value)? else {
            anyhow::bail!("a log record must be a JSON object");
        };
        self.write_record(step, epoch, fields)
    }

    fn write_record(
        &mut self,
        step: u64,
        epoch: usize,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<()> {
        let mut record = serde_json::Map::new();
        record.insert("step".into(), step.into());
        record.insert("epoch".into(), epoch.into());
        record.extend(fields);
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_one_json_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        MetricsLog::open(dir.path(), "metrics.jsonl")
            .unwrap()
            .write(10, 0, &[("loss_D", 0.5)])
            .unwrap();
        MetricsLog::open(dir.path(), "metrics.jsonl")
            .unwrap()
            .write(20, 1, &[("loss_D", 0.25)])
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
        let mut log = MetricsLog::resume(dir.path(), "metrics.jsonl", 20).unwrap();
        log.write(30, 1, &[("loss_D", 1.0)]).unwrap();
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
