//! Downloading a data set file from a mirror: a progress bar, a checksum, an atomic write.
//!
//! The published `.gz` files are kept as they are. What is verified is the SHA-256 of the
//! decompressed bytes, because re-gzipped copies (with another mtime in the header) are
//! common and hold the same data.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{DataError, FileSpec, idx};
use crate::atomic_file;
use crate::logging::progress;

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads `base_url` + `file.name` into `dest_dir`, verifying the decompressed SHA-256.
///
/// The file appears in `dest_dir` only once it is complete and verified (written to a
/// temporary file in the same directory, then renamed), so an interrupted download never
/// leaves a partial file under the real name.
pub fn download_file(
    base_url: &str,
    file: &FileSpec,
    dest_dir: &Path,
) -> Result<PathBuf, DataError> {
    let url = format!("{}/{}", base_url.trim_end_matches('/'), file.name);
    let fail = |problem: String| DataError::Download {
        url: url.clone(),
        problem,
    };
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_body(Some(Duration::from_secs(600)))
            .build(),
    );
    let response = agent.get(&url).call().map_err(|e| fail(e.to_string()))?;
    let expected_len = response.body().content_length();
    let bar = progress::bytes_bar(expected_len, &format!("downloading {}", file.name));
    let mut bytes = Vec::with_capacity(expected_len.unwrap_or(0) as usize);
    let mut reader = response.into_body().into_reader();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut chunk).map_err(|e| {
            fail(format!(
                "transfer interrupted after {} bytes ({e})",
                bytes.len()
            ))
        })?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(expected) = expected_len
        && expected != bytes.len() as u64
    {
        return Err(fail(format!(
            "received {} of {expected} bytes (truncated transfer)",
            bytes.len()
        )));
    }
    let got = if bytes.starts_with(&[0x1f, 0x8b]) {
        sha256_hex(&idx::gunzip(&bytes).map_err(fail)?)
    } else {
        sha256_hex(&bytes)
    };
    if got != file.sha256 {
        return Err(fail(format!(
            "checksum mismatch: SHA-256 of the decompressed data is {got}, expected {}",
            file.sha256
        )));
    }
    let path = dest_dir.join(file.name);
    atomic_file::write(&path, &bytes).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
