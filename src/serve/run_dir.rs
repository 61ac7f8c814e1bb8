//! The run directory a server was given, read only: its per-epoch files (the timeline) and
//! its logs (`metrics.jsonl`, `eval.jsonl`), each read within the directory and within
//! bounds, however large the files grow while the run trains.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::run_dir::{
    EPOCH_GENERATORS, EVALS, EpochFiles, EvalRecord, METRICS, MetricsRecord, PICTURES,
};

/// The most loss points a curve carries: a longer log is averaged down to this many.
pub const MAX_POINTS: usize = 2000;
/// The most evaluations a curve carries (the latest).
pub const MAX_EVALS: usize = 1000;
/// The most bytes of new log lines one live update reads.
pub const MAX_READ: u64 = 1 << 20;
/// The largest picture file served.
const MAX_PICTURE: u64 = 64 << 20;

/// A run directory, resolved once (symbolic links and all), whose files are read only when
/// they resolve to a regular file inside it.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

/// What the run has saved of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpochEntry {
    /// The epoch, 0-based, as the files are named.
    pub epoch: usize,
    /// `generators/epoch_NNN.safetensors` is there: the page can draw any noise with it.
    pub generator: bool,
    /// `samples/epoch_NNN.png` is there: the run's own picture of its fixed noise.
    pub picture: bool,
}

/// One evaluation of `eval.jsonl`, as the page plots it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalPoint {
    /// Generator step.
    pub step: u64,
    /// Epoch (0-based).
    pub epoch: u64,
    /// Fréchet distance.
    pub fid: f64,
    /// Kernel distance.
    pub kid: f64,
    /// Inception-Score analogue.
    pub inception_score: f64,
    /// Improved precision.
    pub precision: f64,
    /// Improved recall.
    pub recall: f64,
    /// A conditional run's class accuracy, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_accuracy: Option<f64>,
}

/// One point of the loss curves, as the page plots it: a line of `metrics.jsonl`, or the
/// mean of several.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossPoint {
    /// D steps so far (of the last line averaged in).
    pub step: u64,
    /// D's loss.
    #[serde(rename = "loss_D")]
    pub loss_d: f64,
    /// G's loss.
    #[serde(rename = "loss_G")]
    pub loss_g: f64,
    /// Mean D(x).
    #[serde(rename = "D_x")]
    pub d_real: f64,
    /// Mean D(G(z)).
    #[serde(rename = "D_G_z")]
    pub d_fake: f64,
}

impl From<MetricsRecord> for LossPoint {
    fn from(r: MetricsRecord) -> Self {
        LossPoint {
            step: r.step,
            loss_d: r.loss_d,
            loss_g: r.loss_g,
            d_real: r.d_real,
            d_fake: r.d_fake,
        }
    }
}

/// New complete lines of a log, and where the next read starts.
#[derive(Debug, Default)]
pub struct Lines<T> {
    /// The records parsed (lines that are not one are skipped).
    pub records: Vec<T>,
    /// The byte offset after the last complete line read.
    pub offset: u64,
}

/// The run's curves, as `/api/metrics` sends them.
#[derive(Debug, Serialize)]
pub struct Curves {
    /// The losses and D's outputs, at most [`MAX_POINTS`] points (averaged in order).
    pub metrics: Vec<LossPoint>,
    /// How many logged steps the points stand for.
    pub logged_steps: u64,
    /// The latest [`MAX_EVALS`] evaluations.
    pub eval: Vec<EvalPoint>,
    /// Where `/api/events` goes on in `metrics.jsonl`.
    pub metrics_offset: u64,
    /// Where `/api/events` goes on in `eval.jsonl`.
    pub eval_offset: u64,
}

impl RunDir {
    /// The run directory of `path`: the directory itself, or a checkpoint file's folder; a
    /// generator file alone has none.
    pub fn of(path: &Path) -> Option<RunDir> {
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else if path.extension().is_some_and(|e| e == "safetensors") {
            return None;
        } else {
            path.parent()?.to_path_buf()
        };
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        Some(RunDir {
            root: dir.canonicalize().ok()?,
        })
    }

    /// `path`, resolved, if it is a regular file inside the run.
    fn file(&self, path: &Path) -> Option<PathBuf> {
        let resolved = path.canonicalize().ok()?;
        (resolved.starts_with(&self.root) && resolved.is_file()).then_some(resolved)
    }

    /// The epochs with a saved generator or picture, in order.
    pub fn epochs(&self) -> Vec<EpochEntry> {
        let list = |files: EpochFiles| -> Vec<usize> {
            files
                .list(&self.root)
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, path)| self.file(path).is_some())
                .map(|(epoch, _)| epoch)
                .collect()
        };
        let generators = list(EPOCH_GENERATORS);
        let pictures = list(PICTURES);
        let mut epochs: Vec<usize> = generators.iter().chain(&pictures).copied().collect();
        epochs.sort_unstable();
        epochs.dedup();
        epochs
            .into_iter()
            .map(|epoch| EpochEntry {
                epoch,
                generator: generators.contains(&epoch),
                picture: pictures.contains(&epoch),
            })
            .collect()
    }

    /// The generator file of `epoch`, with its length and modification time (what tells a
    /// rewritten file from the one already loaded).
    pub fn epoch_generator(&self, epoch: usize) -> Option<(PathBuf, FileStamp)> {
        let path = self.file(&EPOCH_GENERATORS.path(&self.root, epoch))?;
        let stamp = FileStamp::of(&path)?;
        Some((path, stamp))
    }

    /// The bytes of the run's own picture of `epoch`.
    pub fn epoch_picture(&self, epoch: usize) -> Option<Vec<u8>> {
        let path = self.file(&PICTURES.path(&self.root, epoch))?;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .ok()?
            .take(MAX_PICTURE)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(bytes)
    }

    /// The length of log `name`, 0 when it is not there.
    pub fn log_len(&self, name: &str) -> u64 {
        self.file(&self.root.join(name))
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// True when byte `offset - 1` of log `name` is a newline: `offset` is where a line
    /// starts, as an offset this server gave out is unless the log was rewritten since.
    pub fn ends_line_at(&self, name: &str, offset: u64) -> bool {
        let Some(path) = self.file(&self.root.join(name)) else {
            return false;
        };
        let mut byte = [0u8];
        std::fs::File::open(path)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(offset.saturating_sub(1)))?;
                f.read_exact(&mut byte)
            })
            .is_ok_and(|()| byte[0] == b'\n')
    }

    /// The whole curves, read a line at a time so that memory stays bounded.
    pub fn curves(&self) -> Curves {
        let mut points = Downsampled::default();
        let metrics_offset = self.each_line(METRICS, 0, u64::MAX, |line| {
            if let Ok(record) = serde_json::from_str::<MetricsRecord>(line).map(LossPoint::from) {
                points.push(record);
            }
        });
        let mut evals = VecDeque::new();
        let eval_offset = self.each_line(EVALS, 0, u64::MAX, |line| {
            if let Some(point) = eval_point(line) {
                if evals.len() == MAX_EVALS {
                    evals.pop_front();
                }
                evals.push_back(point);
            }
        });
        Curves {
            logged_steps: points.seen,
            metrics: points.finish(),
            eval: evals.into(),
            metrics_offset,
            eval_offset,
        }
    }

    /// The metrics logged after byte `offset`, at most [`MAX_READ`] bytes of them.
    pub fn new_metrics(&self, offset: u64) -> Lines<LossPoint> {
        let mut records = Vec::new();
        let offset = self.each_line(METRICS, offset, MAX_READ, |line| {
            records.extend(
                serde_json::from_str::<MetricsRecord>(line)
                    .ok()
                    .map(LossPoint::from),
            );
        });
        Lines { records, offset }
    }

    /// The evaluations logged after byte `offset`, at most [`MAX_READ`] bytes of them.
    pub fn new_evals(&self, offset: u64) -> Lines<EvalPoint> {
        let mut records = Vec::new();
        let offset = self.each_line(EVALS, offset, MAX_READ, |line| {
            records.extend(eval_point(line));
        });
        Lines { records, offset }
    }

    /// Calls `each` on the complete lines of log `name` from byte `from`, up to `most` bytes;
    /// returns the offset after the last complete line (a line still being written is left
    /// for the next read). A line longer than [`MAX_READ`] is skipped unread.
    fn each_line(&self, name: &str, from: u64, most: u64, mut each: impl FnMut(&str)) -> u64 {
        let Some(path) = self.file(&self.root.join(name)) else {
            return from;
        };
        let Ok(mut file) = std::fs::File::open(path) else {
            return from;
        };
        if file.seek(SeekFrom::Start(from)).is_err() {
            return from;
        }
        let mut reader = BufReader::new(file.take(most));
        let mut offset = from;
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_READ)
                .read_until(b'\n', &mut line)
                .unwrap_or(0);
            if read == 0 || line.last() != Some(&b'\n') {
                if read as u64 == MAX_READ {
                    // Not a log line: step over it and go on.
                    offset += read as u64;
                    continue;
                }
                return offset;
            }
            offset += read as u64;
            if let Ok(text) = std::str::from_utf8(&line) {
                each(text.trim_end());
            }
        }
    }
}

/// A file's length and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes.
    pub len: u64,
    /// Last written.
    pub modified: std::time::SystemTime,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok()?,
        })
    }
}

/// One line of `eval.jsonl`, as the page plots it (figures a line lacks are NaN).
fn eval_point(line: &str) -> Option<EvalPoint> {
    let record: EvalRecord = serde_json::from_str(line).ok()?;
    Some(EvalPoint {
        step: record.step,
        epoch: record.epoch,
        fid: record.fid,
        kid: record.kid.map_or(f64::NAN, |k| k.mean),
        inception_score: record.inception_score.map_or(f64::NAN, |is| is.mean),
        precision: record.precision_recall.map_or(f64::NAN, |pr| pr.precision),
        recall: record.precision_recall.map_or(f64::NAN, |pr| pr.recall),
        class_accuracy: record.class_accuracy.map(|a| a.overall),
    })
}

/// A curve of any length kept to at most `2 × MAX_POINTS` points as it is read: when full,
/// neighbouring points are averaged in pairs (and each new point then stands for twice as
/// many steps), so memory stays bounded whatever the log's length.
#[derive(Debug, Default)]
struct Downsampled {
    points: Vec<LossPoint>,
    /// Logged steps each kept point stands for.
    span: u64,
    /// Steps gathered into the point being built.
    partial: Option<(LossPoint, u64)>,
    seen: u64,
}

impl Downsampled {
    fn push(&mut self, record: LossPoint) {
        self.seen += 1;
        let span = self.span.max(1);
        let (sum, count) = match self.partial.take() {
            Some((sum, count)) => (add(sum, &record), count + 1),
            None => (record, 1),
        };
        if count < span {
            self.partial = Some((sum, count));
            return;
        }
        self.points.push(mean(sum, count));
        if self.points.len() == 2 * MAX_POINTS {
            self.points = self
                .points
                .chunks(2)
                .map(|pair| mean(add(pair[0].clone(), &pair[1]), 2))
                .collect();
            self.span = span * 2;
        }
    }

    fn finish(mut self) -> Vec<LossPoint> {
        if let Some((sum, count)) = self.partial.take() {
            self.points.push(mean(sum, count));
        }
        self.points
    }
}

/// `sum` plus `record`, figure by figure; the step is the latest.
fn add(mut sum: LossPoint, record: &LossPoint) -> LossPoint {
    sum.step = record.step;
    sum.loss_d += record.loss_d;
    sum.loss_g += record.loss_g;
    sum.d_real += record.d_real;
    sum.d_fake += record.d_fake;
    sum
}

/// `sum` divided by `count`, figure by figure (not the step).
fn mean(mut sum: LossPoint, count: u64) -> LossPoint {
    let n = count as f64;
    sum.loss_d /= n;
    sum.loss_g /= n;
    sum.d_real /= n;
    sum.d_fake /= n;
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(step: u64, loss: f64) -> String {
        format!(
            "{{\"step\":{step},\"epoch\":0,\"loss_D\":{loss},\"loss_G\":{},\"D_x\":0.5,\"D_G_z\":0.5}}\n",
            2.0 * loss
        )
    }

    #[test]
    fn long_logs_average_down_to_a_bounded_curve_that_keeps_its_mean() {
        let run = tempfile::tempdir().unwrap();
        let n = 10 * MAX_POINTS as u64 + 7;
        let text: String = (1..=n).map(|s| line(s, s as f64)).collect();
        std::fs::write(run.path().join(METRICS), &text).unwrap();
        let curves = RunDir::of(run.path()).unwrap().curves();
        assert_eq!(curves.logged_steps, n);
        assert!(
            curves.metrics.len() <= 2 * MAX_POINTS + 1,
            "{}",
            curves.metrics.len()
        );
        assert!(
            curves.metrics.len() >= MAX_POINTS,
            "{}",
            curves.metrics.len()
        );
        assert_eq!(curves.metrics_offset, text.len() as u64);
        // The points go up in step, the last one ends at the last step, and each is the
        // mean of the losses it stands for (here the step numbers themselves).
        assert!(curves.metrics.windows(2).all(|w| w[0].step < w[1].step));
        assert_eq!(curves.metrics.last().unwrap().step, n);
        let first = &curves.metrics[0];
        let span = first.step as f64;
        assert_eq!(first.loss_d, (1.0 + span) / 2.0);
        assert_eq!(first.loss_g, 2.0 * first.loss_d);
    }

    #[test]
    fn live_reads_take_complete_lines_only_and_go_on_from_their_offset() {
        let run = tempfile::tempdir().unwrap();
        let path = run.path().join(METRICS);
        let dir = RunDir::of(run.path()).unwrap();
        assert_eq!(dir.new_metrics(0).offset, 0, "no log yet");
        let first = line(1, 1.0);
        std::fs::write(&path, format!("{first}{{\"step\":2,\"ep")).unwrap();
        let read = dir.new_metrics(0);
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.offset, first.len() as u64, "the torn line waits");
        let rest = "och\":0,\"loss_D\":3,\"loss_G\":4,\"D_x\":0.5,\"D_G_z\":0.5}\nnot json\n";
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, rest.as_bytes()).unwrap();
        let more = dir.new_metrics(read.offset);
        assert_eq!(more.records.len(), 1, "the junk line is skipped");
        assert_eq!(more.records[0].loss_d, 3.0);
        assert_eq!(more.offset, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn eval_lines_become_points_and_files_outside_the_run_are_not_read() {
        let run = tempfile::tempdir().unwrap();
        let line = r#"{"step":40,"epoch":1,"fid":12.5,"kid":{"mean":0.01,"std":0.0},"inception_score":{"mean":8.0,"std":0.1},"precision_recall":{"precision":0.7,"recall":0.6},"class_accuracy":{"overall":0.97}}"#;
        std::fs::write(run.path().join(EVALS), format!("{line}\n")).unwrap();
        let dir = RunDir::of(run.path()).unwrap();
        let evals = dir.new_evals(0).records;
        assert_eq!(evals.len(), 1);
        assert_eq!((evals[0].fid, evals[0].class_accuracy), (12.5, Some(0.97)));
        assert_eq!((evals[0].precision, evals[0].recall), (0.7, 0.6));

        // A symbolic link out of the run is not followed.
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(run.path().join("samples")).unwrap();
        let secret = outside.path().join("secret.png");
        std::fs::write(&secret, b"secret").unwrap();
        std::os::unix::fs::symlink(&secret, PICTURES.path(run.path(), 3)).unwrap();
        assert_eq!(dir.epoch_picture(3), None);
        assert!(dir.epochs().is_empty());
        std::fs::write(PICTURES.path(run.path(), 1), b"png").unwrap();
        assert_eq!(dir.epoch_picture(1).as_deref(), Some(&b"png"[..]));
        let entry = EpochEntry {
            epoch: 1,
            generator: false,
            picture: true,
        };
        assert_eq!(dir.epochs(), [entry]);
    }
}
