//! Reader for the IDX format of MNIST-like data sets, raw or gzipped.
//!
//! An IDX file is a 4-byte magic number (two zero bytes, a type code, the rank), one
//! big-endian `u32` per dimension, then the values. MNIST and Fashion-MNIST use unsigned
//! bytes (type `0x08`): rank 3 for images (magic 2051) and rank 1 for labels (magic 2049).
//! The reader checks every part of the header against the file's length, so a truncated or
//! foreign file is reported with its name instead of producing garbage.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::DataError;

/// Type code of unsigned bytes, the only element type MNIST-like files use.
const UNSIGNED_BYTE: u8 = 0x08;
/// Refuse to inflate more than this, so a corrupt or hostile gzip cannot exhaust memory.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// The contents of one IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The values in row-major order; `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes with the given rank, gunzipping it if needed.
///
/// Gzip is recognised by its magic bytes, not by the file name.
pub fn read_idx(path: &Path, rank: usize) -> Result<IdxArray, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(&raw).map_err(|problem| DataError::format(path, problem))?
    } else {
        raw
    };
    parse_idx(&bytes, rank).map_err(|problem| DataError::format(path, problem))
}

/// Decompresses a whole gzip stream, reporting truncation and corruption in words.
pub(crate) fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(raw)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|err| format!("corrupt or truncated gzip data ({err})"))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(format!(
            "gzip data inflates to more than {MAX_DECOMPRESSED} bytes"
        ));
    }
    Ok(out)
}

/// Parses IDX bytes, checking magic number, rank, dimensions and length.
///
/// Returns a description of the first problem found.
pub fn parse_idx(bytes: &[u8], rank: usize) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "file is {} bytes long, too short for an IDX header",
            bytes.len()
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let expected_magic = (u32::from(UNSIGNED_BYTE) << 8) | rank as u32;
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file (magic number {magic:#010x}, expected {expected_magic} = {expected_magic:#010x})"
        ));
    }
    if bytes[2] != UNSIGNED_BYTE {
        return Err(format!(
            "IDX element type {:#04x} is not supported (only unsigned bytes, 0x08)",
            bytes[2]
        ));
    }
    if usize::from(bytes[3]) != rank {
        return Err(format!(
            "IDX rank is {} (magic number {magic}), expected {rank} (magic number {expected_magic})",
            bytes[3]
        ));
    }
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(format!(
            "file is {} bytes long, too short for a rank-{rank} IDX header of {header_len} bytes",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected_len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("IDX dimensions {dims:?} overflow"))?;
    let body = &bytes[header_len..];
    if body.len() != expected_len {
        return Err(format!(
            "IDX dimensions {dims:?} need {expected_len} bytes of data but the file has {} ({})",
            body.len(),
            if body.len() < expected_len {
                "truncated"
            } else {
                "trailing bytes"
            }
        ));
    }
    Ok(IdxArray {
        dims,
        data: body.to_vec(),
    })
}

/// Encodes unsigned bytes as IDX; the inverse of [`parse_idx`], used by tests and tools.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, UNSIGNED_BYTE, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn parses_images_and_labels() {
        let images = encode_idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&images[..4], &2051u32.to_be_bytes());
        let parsed = parse_idx(&images, 3).unwrap();
        assert_eq!(parsed.dims, vec![2, 2, 3]);
        assert_eq!(parsed.data[11], 12);
        let labels = encode_idx(&[3], &[7, 0, 9]);
        assert_eq!(&labels[..4], &2049u32.to_be_bytes());
        assert_eq!(parse_idx(&labels, 1).unwrap().data, vec![7, 0, 9]);
    }

    #[test]
    fn rejects_wrong_magic_rank_and_type() {
        let labels = encode_idx(&[3], &[1, 2, 3]);
        assert!(parse_idx(&labels, 3).unwrap_err().contains("expected 3"));
        let mut bad = labels.clone();
        bad[0] = 0x50;
        assert!(parse_idx(&bad, 1).unwrap_err().contains("not an IDX file"));
        let mut float = labels;
        float[2] = 0x0d;
        assert!(parse_idx(&float, 1).unwrap_err().contains("not supported"));
        assert!(parse_idx(&[0, 0], 1).unwrap_err().contains("too short"));
        assert!(
            parse_idx(&[0, 0, 8, 3, 0], 3)
                .unwrap_err()
                .contains("header")
        );
    }

    #[test]
    fn rejects_length_that_disagrees_with_dimensions() {
        let images = encode_idx(&[2, 2, 2], &[0; 8]);
        let truncated = &images[..images.len() - 1];
        assert!(parse_idx(truncated, 3).unwrap_err().contains("truncated"));
        let mut long = images.clone();
        long.push(0);
        assert!(parse_idx(&long, 3).unwrap_err().contains("trailing"));
        let huge = encode_idx(&[u32::MAX as usize, u32::MAX as usize, 2], &[]);
        assert!(parse_idx(&huge, 3).is_err());
    }

    #[test]
    fn reads_gzip_and_reports_broken_gzip_with_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = gzip(&encode_idx(&[4], &[1, 2, 3, 4]));
        let good = dir.path().join("labels.gz");
        std::fs::write(&good, &bytes).unwrap();
        assert_eq!(read_idx(&good, 1).unwrap().data, vec![1, 2, 3, 4]);

        let truncated = dir.path().join("truncated.gz");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_idx(&truncated, 1).unwrap_err().to_string();
        assert!(
            err.contains("truncated.gz") && err.contains("gzip"),
            "{err}"
        );

        let mut corrupt_bytes = bytes.clone();
        let mid = corrupt_bytes.len() / 2;
        corrupt_bytes[mid] ^= 0xff;
        corrupt_bytes[mid + 1] ^= 0xff;
        let corrupt = dir.path().join("corrupt.gz");
        std::fs::write(&corrupt, &corrupt_bytes).unwrap();
        assert!(read_idx(&corrupt, 1).is_err());

        let missing = dir.path().join("missing.gz");
        let err = read_idx(&missing, 1).unwrap_err().to_string();
        assert!(err.contains("missing.gz"), "{err}");
    }
}
