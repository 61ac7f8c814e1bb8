//! TensorBoard event files (`events.out.tfevents.*`), written record by record.
//!
//! Each record is `u64 length`, `u32 masked CRC-32C of the length`, the bytes of an `Event`
//! protocol buffer, `u32 masked CRC-32C of the bytes` (TensorFlow's TFRecord format).
//! Written by hand because the Rust crates for it (tensorboard-rs) are unmaintained and pull
//! in generated code for all of TensorFlow's protos; the format is small and stable.

pub mod proto;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use prost::Message;

use proto::{
    DT_STRING, HistogramProto, PluginData, SESSION_START, SessionLog, SummaryImage,
    SummaryMetadata, TensorProto, TensorShapeProto,
};
pub use proto::{Event, EventKind, Summary, SummaryValue, ValueKind};

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// TFRecord's masked CRC-32C.
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = CRC32C.checksum(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends events to one new event file in a run directory, flushing each record.
pub struct EventWriter {
    file: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// Creates `dir/events.out.tfevents.<time>.<host>` and writes the file-version event.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create log directory {}", dir.display()))?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut name = format!("events.out.tfevents.{}.{host}", secs.as_secs());
        // Two writers in the same second (a resumed run) must not share a file.
        let mut n = 1;
        while dir.join(&name).exists() {
            name = format!("events.out.tfevents.{}.{host}.{n}", secs.as_secs());
            n += 1;
        }
        let path = dir.join(name);
        let file = File::create(&path)
            .with_context(|| format!("cannot create event file {}", path.display()))?;
        let mut writer = EventWriter {
            file: BufWriter::new(file),
            path,
        };
        writer.write_event(Event {
            wall_time: now(),
            step: 0,
            what: Some(EventKind::FileVersion("brain.Event:2".into())),
        })?;
        Ok(writer)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs scalars at `step`.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f32)]) -> anyhow::Result<()> {
        let value = values
            .iter()
            .map(|&(tag, v)| SummaryValue {
                tag: tag.into(),
                value: Some(ValueKind::SimpleValue(v)),
                ..Default::default()
            })
            .collect();
        self.summary(step, Summary { value })
    }

    /// Logs a PNG picture of `channels` (1: grey, 3: RGB) at `step`.
    pub fn image(
        &mut self,
        step: u64,
        tag: &str,
        png: &[u8],
        size: (u32, u32),
        channels: usize,
    ) -> anyhow::Result<()> {
        let image = SummaryImage {
            width: size.0 as i32,
            height: size.1 as i32,
            colorspace: channels as i32,
            encoded_image_string: png.to_vec(),
        };
        let value = vec![SummaryValue {
            tag: tag.into(),
            value: Some(ValueKind::Image(image)),
            ..Default::default()
        }];
        self.summary(step, Summary { value })
    }

    /// Logs histograms of `values` at `step`, one per tag, each in [`HISTOGRAM_BUCKETS`]
    /// equal buckets between the smallest and the largest value.
    pub fn histograms(&mut self, step: u64, values: &[(String, Vec<f32>)]) -> anyhow::Result<()> {
        let value = values
            .iter()
            .map(|(tag, v)| SummaryValue {
                tag: tag.clone(),
                value: Some(ValueKind::Histo(histogram(v, HISTOGRAM_BUCKETS))),
                ..Default::default()
            })
            .collect();
        self.summary(step, Summary { value })
    }

    /// Logs Markdown text at `step`, shown in TensorBoard's Text tab.
    pub fn text(&mut self, step: u64, tag: &str, markdown: &str) -> anyhow::Result<()> {
        let tensor = TensorProto {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShapeProto::default()),
            string_val: vec![markdown.as_bytes().to_vec()],
        };
        let metadata = SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "text".into(),
            }),
        };
        let value = vec![SummaryValue {
            tag: tag.into(),
            metadata: Some(metadata),
            value: Some(ValueKind::Tensor(tensor)),
        }];
        self.summary(step, Summary { value })
    }

    /// Marks a resumed run: TensorBoard discards what earlier sessions logged at `step` or
    /// later, i.e. the steps a killed run did after its last checkpoint and the resumed run
    /// does again.
    pub fn session_start(&mut self, step: u64) -> anyhow::Result<()> {
        self.write_event(Event {
            wall_time: now(),
            step: step as i64,
            what: Some(EventKind::SessionLog(SessionLog {
                status: SESSION_START,
                msg: format!("resumed at step {step}"),
            })),
        })
    }

    fn summary(&mut self, step: u64, summary: Summary) -> anyhow::Result<()> {
        self.write_event(Event {
            wall_time: now(),
            step: step as i64,
            what: Some(EventKind::Summary(summary)),
        })
    }

    fn write_event(&mut self, event: Event) -> anyhow::Result<()> {
        let data = event.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        let write = |f: &mut BufWriter<File>| -> std::io::Result<()> {
            f.write_all(&len)?;
            f.write_all(&masked_crc(&len).to_le_bytes())?;
            f.write_all(&data)?;
            f.write_all(&masked_crc(&data).to_le_bytes())?;
            f.flush()
        };
        write(&mut self.file).with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// Buckets per histogram: TensorBoard re-buckets for display, so a few dozen suffice.
pub const HISTOGRAM_BUCKETS: usize = 30;

/// The histogram of `values` in `buckets` equal buckets; NaNs are left out of the buckets.
fn histogram(values: &[f32], buckets: usize) -> HistogramProto {
    let finite = values
        .iter()
        .map(|&v| f64::from(v))
        .filter(|v| v.is_finite());
    let (min, max) = finite
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if min > max {
        return HistogramProto::default();
    }
    // A constant tensor (zero biases at the start) is one bucket.
    let buckets = if max > min { buckets } else { 1 };
    let width = (max - min) / buckets as f64;
    let mut counts = vec![0.0; buckets];
    let (mut sum, mut sum_squares) = (0.0, 0.0);
    for v in finite.clone() {
        // A value on an edge belongs to the bucket on its left.
        let i = if width > 0.0 {
            ((v - min) / width).ceil() as usize
        } else {
            1
        };
        counts[i.clamp(1, buckets) - 1] += 1.0;
        sum += v;
        sum_squares += v * v;
    }
    let bucket_limit = (1..=buckets).map(|i| min + width * i as f64).collect();
    HistogramProto {
        min,
        max,
        num: finite.count() as f64,
        sum,
        sum_squares,
        bucket_limit,
        bucket: counts,
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Reads every event of a file, checking both CRCs of every record.
pub fn read_events(path: &Path) -> anyhow::Result<Vec<Event>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut events = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        if rest.len() < 12 {
            bail!("{}: truncated record header", path.display());
        }
        let (len_bytes, tail) = rest.split_at(8);
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let len_crc = u32::from_le_bytes(tail[..4].try_into().unwrap());
        if len_crc != masked_crc(len_bytes) {
            bail!("{}: bad length checksum", path.display());
        }
        let tail = &tail[4..];
        if tail.len() < len + 4 {
            bail!("{}: truncated record", path.display());
        }
        let (data, tail) = tail.split_at(len);
        if u32::from_le_bytes(tail[..4].try_into().unwrap()) != masked_crc(data) {
            bail!("{}: bad data checksum", path.display());
        }
        events.push(Event::decode(data).with_context(|| format!("{}: bad event", path.display()))?);
        rest = &tail[4..];
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // CRC-32C of "123456789" is 0xe3069283 (RFC 3720); TF's mask,
        // ((crc >> 15) | (crc << 17)) + 0xa282ead8, turns it into 0xc78ab0e5.
        let expected = 0xc78a_b0e5;
        assert_eq!(masked_crc(b"123456789"), expected);
    }

    #[test]
    fn writes_records_that_read_back_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalars(7, &[("loss_D", 1.25), ("loss_G", 0.5)]).unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let events = read_events(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].what,
            Some(EventKind::FileVersion("brain.Event:2".into()))
        );
        let Some(EventKind::Summary(s)) = &events[1].what else {
            panic!("not a summary")
        };
        assert_eq!(events[1].step, 7);
        assert_eq!(s.value[0].tag, "loss_D");
        assert_eq!(s.value[1].value, Some(ValueKind::SimpleValue(0.5)));

        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(
            read_events(&path)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
    }

    #[test]
    fn histogram_counts_every_value_once_in_its_bucket() {
        let values = [-1.0f32, -0.5, 0.0, 0.25, 1.0, f32::NAN];
        let h = histogram(&values, 4);
        assert_eq!((h.min, h.max, h.num), (-1.0, 1.0, 5.0));
        assert_eq!(h.bucket_limit, vec![-0.5, 0.0, 0.5, 1.0]);
        // (-1, -0.5] holds -1 and -0.5; (-0.5, 0] holds 0; (0, 0.5] 0.25; (0.5, 1] 1.
        assert_eq!(h.bucket, vec![2.0, 1.0, 1.0, 1.0]);
        assert!((h.sum - -0.25).abs() < 1e-12);
        assert!((h.sum_squares - 2.3125).abs() < 1e-12);

        let constant = histogram(&[0.0; 7], 30);
        assert_eq!(
            (constant.bucket_limit, constant.bucket),
            (vec![0.0], vec![7.0])
        );
    }

    #[test]
    fn text_histogram_and_session_events_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.text(0, "config", "`epochs = 1`").unwrap();
        w.histograms(3, &[("G/fc.weight".into(), vec![1.0, 2.0])])
            .unwrap();
        w.session_start(4).unwrap();
        let events = read_events(w.path()).unwrap();
        assert_eq!(events.len(), 4);
        let Some(EventKind::Summary(text)) = &events[1].what else {
            panic!("not a summary")
        };
        let Some(ValueKind::Tensor(t)) = &text.value[0].value else {
            panic!("not a tensor")
        };
        assert_eq!(t.string_val, vec![b"`epochs = 1`".to_vec()]);
        let Some(EventKind::Summary(h)) = &events[2].what else {
            panic!("not a summary")
        };
        assert!(matches!(&h.value[0].value, Some(ValueKind::Histo(h)) if h.num == 2.0));
        assert!(matches!(&events[3].what, Some(EventKind::SessionLog(s)) if s.status == 1));
        assert_eq!(events[3].step, 4);
    }
}
