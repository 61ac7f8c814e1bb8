//! `OUT/metrics.jsonl`: one JSON object per logged step, for scripts and plots.
//!
//! Each line is written whole and flushed at once, so a crash loses at most the line being
//! written; a resumed run appends to the same file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Appends records to `metrics.jsonl`.
pub struct MetricsLog {
    file: File,
    path: PathBuf,
}

impl MetricsLog {
    /// Opens (or creates) `dir/metrics.jsonl` for appending.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("metrics.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(MetricsLog { file, path })
    }

    /// Appends `{"step": …, "epoch": …, name: value, …}` as one line.
    pub fn write(&mut self, step: u64, epoch: usize, values: &[(&str, f32)]) -> anyhow::Result<()> {
        let mut record = serde_json::Map::new();
        record.insert("step".into(), step.into());
        record.insert("epoch".into(), epoch.into());
        for &(name, value) in values {
            record.insert(name.into(), f64::from(value).into());
        }
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
        MetricsLog::open(dir.path())
            .unwrap()
            .write(10, 0, &[("loss_D", 0.5)])
            .unwrap();
        MetricsLog::open(dir.path())
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
}
