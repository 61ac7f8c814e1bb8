//! TensorBoard event files (`events.out.tfevents.*`), written record by record.
//!
//! Each record is `u64 length`, `u32 masked CRC-32C of the length`, the bytes of an `Event`
//! protocol buffer, `u32 masked CRC-32C of the bytes` (TensorFlow's TFRecord format). The
//! few protobuf messages needed are declared here with `prost`'s derive, so no `protoc` or
//! generated code is involved; tags and types follow TensorFlow's `event.proto` and
//! `summary.proto`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use prost::Message;

/// `tensorflow.Event`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Training step.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What the event carries.
    #[prost(oneof = "EventKind", tags = "3, 5")]
    pub what: Option<EventKind>,
}

/// The `what` of an [`Event`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum EventKind {
    /// The first event of a file: `brain.Event:2`.
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Values logged at a step.
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    /// The name TensorBoard shows.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// The value.
    #[prost(oneof = "ValueKind", tags = "2, 4")]
    pub value: Option<ValueKind>,
}

/// The kind of a [`SummaryValue`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ValueKind {
    /// A scalar.
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    /// A picture.
    #[prost(message, tag = "4")]
    Image(SummaryImage),
}

/// `tensorflow.Summary.Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryImage {
    /// Height in pixels.
    #[prost(int32, tag = "1")]
    pub height: i32,
    /// Width in pixels.
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 1 for grey.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    /// The PNG file's bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

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
            })
            .collect();
        self.summary(step, Summary { value })
    }

    /// Logs a grey PNG picture at `step`.
    pub fn image(
        &mut self,
        step: u64,
        tag: &str,
        png: &[u8],
        size: (u32, u32),
    ) -> anyhow::Result<()> {
        let image = SummaryImage {
            width: size.0 as i32,
            height: size.1 as i32,
            colorspace: 1,
            encoded_image_string: png.to_vec(),
        };
        let value = vec![SummaryValue {
            tag: tag.into(),
            value: Some(ValueKind::Image(image)),
        }];
        self.summary(step, Summary { value })
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
}
