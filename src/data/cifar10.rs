//! CIFAR-10's binary version: batches of 10,000 records, each a label byte (0 to 9) and a
//! 32×32 colour image as three planes (1,024 red, 1,024 green, 1,024 blue bytes, rows top to
//! bottom), 3,073 bytes a record. `data_batch_1.bin` … `data_batch_5.bin` are the training
//! split, `test_batch.bin` the test split; the published archive `cifar-10-binary.tar.gz`
//! holds them in `cifar-10-batches-bin/`.
//!
//! [`read_batches`] checks every file like the IDX reader does (a whole number of records,
//! the expected count, labels in range) and names the file in every error; [`fetch`]
//! downloads the archive, checks its SHA-256 and extracts the batches.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::{ArchiveSpec, DataError, Dataset, DatasetKind, download};

/// Side of a CIFAR-10 image in pixels.
pub const SIDE: usize = 32;
/// Bytes of one record: the label, then 3 × 32 × 32 pixel bytes.
pub const RECORD: usize = 1 + 3 * SIDE * SIDE;
/// Records in every published batch file.
pub const RECORDS_PER_BATCH: usize = 10_000;
/// No file in the archive is larger than this; a larger entry is not CIFAR-10's.
const MAX_ENTRY: u64 = 64 << 20;

/// What to do about a bad batch file, appended to its error.
const REMEDY: &str = "delete it so that dcgan downloads it again, or get cifar-10-binary.tar.gz \
                      (the binary version) from https://www.cs.toronto.edu/~kriz/cifar.html";

/// The directory in the published archive that holds the batches.
pub const DIRECTORY: &str = "cifar-10-batches-bin";
/// The training split's batch files.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test split's batch file.
pub const TEST_FILES: [&str; 1] = ["test_batch.bin"];

/// Splits the bytes of one batch into CHW pixels and labels, checking the length (a whole
/// number of records, `records` of them when given) and every label.
pub fn parse_batch(bytes: &[u8], records: Option<usize>) -> Result<(Vec<u8>, Vec<u8>), String> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(format!(
            "is {} bytes long, not a whole number of {RECORD}-byte records (a label and \
             32×32×3 pixel bytes): truncated, or not a CIFAR-10 binary batch",
            bytes.len()
        ));
    }
    let count = bytes.len() / RECORD;
    if let Some(expected) = records
        && count != expected
    {
        return Err(format!(
            "holds {count} records, a CIFAR-10 batch holds {expected} ({} bytes)",
            expected * RECORD
        ));
    }
    let mut pixels = Vec::with_capacity(count * (RECORD - 1));
    let mut labels = Vec::with_capacity(count);
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] > 9 {
            return Err(format!(
                "record {i} has label {}, but CIFAR-10's labels are 0 to 9 (is this another \
                 data set's file?)",
                record[0]
            ));
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((pixels, labels))
}

/// Reads batch files in order into one data set (3 × 32 × 32, CIFAR-10's class names),
/// each file holding `records_per_file` records (10,000 in the published files).
pub fn read_batches(paths: &[PathBuf], records_per_file: usize) -> Result<Dataset, DataError> {
    let mut pixels = Vec::with_capacity(paths.len() * records_per_file * (RECORD - 1));
    let mut labels = Vec::with_capacity(paths.len() * records_per_file);
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        let (p, l) = parse_batch(&bytes, Some(records_per_file))
            .map_err(|problem| DataError::format(path, format!("{problem}; {REMEDY}")))?;
        pixels.extend_from_slice(&p);
        labels.extend_from_slice(&l);
    }
    Ok(Dataset {
        len: labels.len(),
        channels: 3,
        height: SIDE,
        width: SIDE,
        pixels: pixels.into(),
        labels,
        classes: DatasetKind::Cifar10
            .spec()
            .classes
            .iter()
            .map(|c| c.to_string())
            .collect(),
    })
}

/// Downloads the archive `base_url` + `archive.name` into `cache` (or takes it from there
/// when an earlier download left it whole), checks its length and SHA-256 against
/// `archive`, and extracts the batch files of both splits into
/// `cache/cifar-10-batches-bin/`, which it returns. The archive is deleted afterwards.
///
/// Every file appears only once complete, so an interrupted download or extraction leaves
/// nothing that passes for a batch.
pub fn fetch(base_url: &str, archive: &ArchiveSpec, cache: &Path) -> Result<PathBuf, DataError> {
    let tarball = cache.join(archive.name);
    let kept = tarball.is_file() && download::verify_archive(&tarball, archive).is_ok();
    if !kept {
        download::download_archive(base_url, archive, cache)?;
    }
    let dest = cache.join(DIRECTORY);
    let wanted: Vec<&str> = TRAIN_FILES.iter().chain(&TEST_FILES).copied().collect();
    extract(&tarball, DIRECTORY, &wanted, &dest)?;
    std::fs::remove_file(&tarball).map_err(|source| DataError::Io {
        path: tarball.clone(),
        source,
    })?;
    Ok(dest)
}

/// Extracts the regular files `directory/NAME` (NAME in `wanted`) of a gzipped tar archive
/// into `dest`, each atomically; an error when one of them is not in the archive.
fn extract(tarball: &Path, directory: &str, wanted: &[&str], dest: &Path) -> Result<(), DataError> {
    let bad = |problem: String| DataError::format(tarball, problem);
    let io = |source: std::io::Error| DataError::Io {
        path: tarball.to_path_buf(),
        source,
    };
    let file = File::open(tarball).map_err(io)?;
    std::fs::create_dir_all(dest).map_err(|source| DataError::Io {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut found = vec![false; wanted.len()];
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a gzipped tar archive ({e})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("corrupt archive ({e})")))?
            .into_owned();
        let mut parts = path.components().map(|c| c.as_os_str().to_string_lossy());
        let (Some(dir), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Some(k) = wanted.iter().position(|w| *w == name) else {
            continue;
        };
        if dir != directory || !entry.header().entry_type().is_file() {
            continue;
        }
        if entry.size() > MAX_ENTRY {
            return Err(bad(format!(
                "{} is {} bytes, larger than any CIFAR-10 batch",
                path.display(),
                entry.size()
            )));
        }
        let target = dest.join(wanted[k]);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dest)
            .map_err(|source| DataError::Io {
                path: target.clone(),
                source,
            })?;
        std::io::copy(&mut (&mut entry).take(MAX_ENTRY), &mut tmp)
            .map_err(|e| bad(format!("corrupt archive at {} ({e})", path.display())))?;
        tmp.as_file().sync_all().map_err(|source| DataError::Io {
            path: target.clone(),
            source,
        })?;
        tmp.persist(&target).map_err(|e| DataError::Io {
            path: target.clone(),
            source: e.error,
        })?;
        found[k] = true;
    }
    let missing: Vec<&str> = wanted
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(w, _)| *w)
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "the archive lacks {directory}/{}",
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record: `label`, then red = `seed`, green = `seed + 1`, blue = `seed + 2`, with the
    /// first red pixel set to `seed + 100` to mark the record's start.
    fn record(label: u8, seed: u8) -> Vec<u8> {
        let plane = SIDE * SIDE;
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(seed, plane));
        r.extend(std::iter::repeat_n(seed + 1, plane));
        r.extend(std::iter::repeat_n(seed + 2, plane));
        r[1] = seed + 100;
        r
    }

    #[test]
    fn reads_records_in_file_order_as_planes() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("data_batch_1.bin");
        let b = dir.path().join("data_batch_2.bin");
        std::fs::write(&a, [record(3, 10), record(9, 20)].concat()).unwrap();
        std::fs::write(&b, [record(0, 30), record(5, 40)].concat()).unwrap();
        let set = read_batches(&[a, b], 2).unwrap();
        assert_eq!(
            (set.len, set.channels, set.height, set.width),
            (4, 3, 32, 32)
        );
        assert_eq!(set.labels, [3, 9, 0, 5]);
        assert_eq!(set.classes[3], "cat");
        assert_eq!(set.classes.len(), 10);
        for (i, seed) in [10u8, 20, 30, 40].into_iter().enumerate() {
            let image = set.image(i);
            assert_eq!(image.len(), 3072);
            assert_eq!(image[0], seed + 100);
            assert_eq!(
                (image[1], image[1024], image[2048]),
                (seed, seed + 1, seed + 2)
            );
        }
        // Grey is BT.601 luma of the planes; resizing keeps flat colours flat.
        let grey = set.clone().reshaped(1, 16);
        assert_eq!((grey.channels, grey.height, grey.image_len()), (1, 16, 256));
        assert_eq!(grey.image(1)[100], crate::data::convert::luma(20, 21, 22));
    }

    #[test]
    fn a_wrong_size_or_count_or_label_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.bin");
        let mut bytes = record(1, 1);
        bytes.pop();
        std::fs::write(&short, &bytes).unwrap();
        let err = read_batches(&[short], 1).unwrap_err().to_string();
        assert!(
            err.contains("short.bin") && err.contains("3072 bytes long"),
            "{err}"
        );
        assert!(err.contains("download"), "{err}");

        let two = dir.path().join("two.bin");
        std::fs::write(&two, [record(1, 1), record(2, 2)].concat()).unwrap();
        let err = read_batches(&[two], RECORDS_PER_BATCH)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("two.bin") && err.contains("holds 2 records"),
            "{err}"
        );

        let label = dir.path().join("label.bin");
        std::fs::write(&label, [record(1, 1), record(10, 2)].concat()).unwrap();
        let err = read_batches(&[label], 2).unwrap_err().to_string();
        assert!(
            err.contains("label.bin") && err.contains("record 1 has label 10"),
            "{err}"
        );

        let err = parse_batch(&[], None).unwrap_err();
        assert!(err.contains("0 bytes"), "{err}");
        let missing = dir.path().join("missing.bin");
        let err = read_batches(&[missing], 1).unwrap_err().to_string();
        assert!(err.contains("missing.bin"), "{err}");
    }

    #[test]
    fn extraction_takes_the_batches_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let tarball = dir.path().join("a.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            File::create(&tarball).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for (path, body) in [
            ("cifar-10-batches-bin/one.bin", &b"first"[..]),
            ("cifar-10-batches-bin/readme.html", b"ignored"),
            ("elsewhere/two.bin", b"wrong directory"),
            ("cifar-10-batches-bin/two.bin", b"second"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, body).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        let dest = dir.path().join("out");
        extract(
            &tarball,
            "cifar-10-batches-bin",
            &["one.bin", "two.bin"],
            &dest,
        )
        .unwrap();
        assert_eq!(std::fs::read(dest.join("one.bin")).unwrap(), b"first");
        assert_eq!(std::fs::read(dest.join("two.bin")).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 2);
        let err = extract(
            &tarball,
            "cifar-10-batches-bin",
            &["one.bin", "three.bin"],
            &dest,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("a.tar.gz") && err.contains("lacks") && err.contains("three.bin"),
            "{err}"
        );
        std::fs::write(&tarball, b"not gzip at all").unwrap();
        let err = extract(&tarball, "cifar-10-batches-bin", &["one.bin"], &dest)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.tar.gz"), "{err}");
    }
}
