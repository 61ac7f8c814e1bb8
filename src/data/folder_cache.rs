//! The cache file of a folder's decoded images, written once and memory-mapped after.
//!
//! Layout, little-endian:
//!
//! | bytes | contents |
//! |---|---|
//! | 0..8 | magic `DCGANIMG` |
//! | 8..12 | format version (1) |
//! | 12..16, 16..20, 20..24 | channels, height, width |
//! | 24..32 | images (`count`) |
//! | 32..40 | length of the class-name block |
//! | 40..48, 48..56 | image files found, files skipped as unreadable |
//! | 56..60 | CRC-32C of everything after the header |
//! | 60..64 | CRC-32C of bytes 0..60 |
//! | 64.. | pixels (`count` CHW images), labels (`count` bytes), class names (a JSON array) |
//!
//! A file that is short, long, or fails either CRC is refused with the reason, and the caller
//! rebuilds it.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::sync::Arc;

use crc::{CRC_32_ISCSI, Crc, Digest, Table};
use memmap2::Mmap;

use super::Pixels;

const MAGIC: &[u8; 8] = b"DCGANIMG";
const VERSION: u32 = 1;
const HEADER: usize = 64;
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// The shape of every image in a cache file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Shape {
    fn image_len(self) -> usize {
        self.channels * self.height * self.width
    }
}

/// What a cache file holds.
#[derive(Debug)]
pub(crate) struct Contents {
    pub shape: Shape,
    pub len: usize,
    pub pixels: Pixels,
    pub labels: Vec<u8>,
    pub classes: Vec<String>,
    pub files: usize,
    pub skipped: usize,
}

/// Appends images to a new cache file, then writes the header.
pub(crate) struct Writer {
    out: BufWriter<File>,
    crc: Digest<'static, u32, Table<16>>,
    shape: Shape,
    labels: Vec<u8>,
}

impl Writer {
    /// Starts a cache file in `file` (empty, opened for writing and reading).
    pub fn new(file: File, shape: Shape) -> std::io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&[0; HEADER])?;
        Ok(Writer {
            out,
            crc: CRC32C.digest(),
            shape,
            labels: Vec::new(),
        })
    }

    /// Appends one image (`channels * height * width` bytes, CHW) and its label.
    pub fn push(&mut self, pixels: &[u8], label: u8) -> std::io::Result<()> {
        debug_assert_eq!(pixels.len(), self.shape.image_len());
        self.crc.update(pixels);
        self.labels.push(label);
        self.out.write_all(pixels)
    }

    /// Images appended so far.
    pub fn count(&self) -> usize {
        self.labels.len()
    }

    /// Writes labels, class names and header, syncs, and returns the file.
    pub fn finish(
        mut self,
        classes: &[String],
        files: usize,
        skipped: usize,
    ) -> std::io::Result<File> {
        let names = serde_json::to_vec(classes).map_err(std::io::Error::other)?;
        self.crc.update(&self.labels);
        self.crc.update(&names);
        self.out.write_all(&self.labels)?;
        self.out.write_all(&names)?;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        for (k, v) in [self.shape.channels, self.shape.height, self.shape.width]
            .into_iter()
            .enumerate()
        {
            header[12 + 4 * k..16 + 4 * k].copy_from_slice(&(v as u32).to_le_bytes());
        }
        for (k, v) in [self.labels.len(), names.len(), files, skipped]
            .into_iter()
            .enumerate()
        {
            header[24 + 8 * k..32 + 8 * k].copy_from_slice(&(v as u64).to_le_bytes());
        }
        header[56..60].copy_from_slice(&self.crc.finalize().to_le_bytes());
        let head_crc = CRC32C.checksum(&header[..60]);
        header[60..64].copy_from_slice(&head_crc.to_le_bytes());
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
        file.sync_all()?;
        Ok(file)
    }
}

/// Maps a cache file and checks it whole: magic, version, the expected shape, the length and
/// both CRCs. The reason when it is not a good cache file.
pub(crate) fn map(file: &File, expected: Shape) -> Result<Contents, String> {
    // SAFETY: cache files are only ever replaced by renaming a new file over them, never
    // changed in place, so the mapped bytes stay as they are while mapped.
    let map = unsafe { Mmap::map(file) }.map_err(|e| format!("cannot map it ({e})"))?;
    let bytes = &map[..];
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a dcgan image cache (no header)".into());
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if CRC32C.checksum(&bytes[..60]) != u32_at(60) {
        return Err("its header is corrupt".into());
    }
    let version = u32_at(8);
    if version != VERSION {
        return Err(format!(
            "format version {version}, this dcgan reads {VERSION}"
        ));
    }
    let shape = Shape {
        channels: u32_at(12) as usize,
        height: u32_at(16) as usize,
        width: u32_at(20) as usize,
    };
    if shape != expected {
        return Err(format!("holds {shape:?} images, {expected:?} wanted"));
    }
    let count = usize::try_from(u64_at(24)).map_err(|_| "image count overflows")?;
    let names_len = usize::try_from(u64_at(32)).map_err(|_| "class block overflows")?;
    let expected_len = count
        .checked_mul(shape.image_len() + 1)
        .and_then(|n| n.checked_add(HEADER + names_len))
        .ok_or("its sizes overflow")?;
    if bytes.len() != expected_len {
        return Err(format!(
            "is {} bytes long, its header says {expected_len} ({})",
            bytes.len(),
            if bytes.len() < expected_len {
                "truncated"
            } else {
                "trailing bytes"
            }
        ));
    }
    if CRC32C.checksum(&bytes[HEADER..]) != u32_at(56) {
        return Err("its contents are corrupt (CRC mismatch)".into());
    }
    let pixels_len = count * shape.image_len();
    let labels_at = HEADER + pixels_len;
    let labels = bytes[labels_at..labels_at + count].to_vec();
    let classes: Vec<String> = serde_json::from_slice(&bytes[labels_at + count..])
        .map_err(|e| format!("its class names are corrupt ({e})"))?;
    let classes_len = classes.len().max(1);
    if labels.iter().any(|&l| usize::from(l) >= classes_len) {
        return Err("a label is out of range".into());
    }
    let (files, skipped) = (u64_at(40) as usize, u64_at(48) as usize);
    Ok(Contents {
        shape,
        len: count,
        pixels: Pixels::mapped(Arc::new(map), HEADER, pixels_len),
        labels,
        classes,
        files,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        channels: 3,
        height: 2,
        width: 2,
    };

    fn write(path: &std::path::Path) {
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut w = Writer::new(file, SHAPE).unwrap();
        w.push(&[1; 12], 0).unwrap();
        w.push(&[2; 12], 1).unwrap();
        assert_eq!(w.count(), 2);
        w.finish(&["a".into(), "b".into()], 3, 1).unwrap();
    }

    #[test]
    fn writes_and_maps_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        write(&path);
        let c = map(&File::open(&path).unwrap(), SHAPE).unwrap();
        assert_eq!((c.len, c.files, c.skipped), (2, 3, 1));
        assert_eq!(&c.pixels[..], &[[1u8; 12], [2; 12]].concat()[..]);
        assert!(c.pixels.is_mapped());
        assert_eq!(c.labels, [0, 1]);
        assert_eq!(c.classes, ["a", "b"]);
    }

    #[test]
    fn damage_of_any_kind_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        write(&path);
        let good = std::fs::read(&path).unwrap();
        let check = |bytes: &[u8], shape: Shape| {
            std::fs::write(&path, bytes).unwrap();
            map(&File::open(&path).unwrap(), shape).unwrap_err()
        };
        assert!(check(&good[..good.len() - 1], SHAPE).contains("truncated"));
        assert!(check(&[&good[..], &[0]].concat(), SHAPE).contains("trailing"));
        assert!(check(&good[..10], SHAPE).contains("no header"));
        let mut flipped = good.clone();
        flipped[HEADER + 3] ^= 1;
        assert!(check(&flipped, SHAPE).contains("corrupt"));
        let mut head = good.clone();
        head[25] ^= 1;
        assert!(check(&head, SHAPE).contains("header is corrupt"));
        let other = Shape {
            channels: 1,
            ..SHAPE
        };
        assert!(check(&good, other).contains("wanted"));
    }
}
