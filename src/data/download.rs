//! Downloading a data set file from a mirror: a progress bar, a checksum, an atomic write.
//!
//! The published `.gz` files are kept as they are. What is verified is the SHA-256 of the
//! decompressed bytes, because re-gzipped copies (with another mtime in the header) are
//! common and hold the same data. An archive ([`download_archive`], CIFAR-10's tarball) is
//! verified by its own length and SHA-256, as its publishers list them, and streamed to disk
//! rather than held in memory.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{ArchiveSpec, DataError, FileSpec, idx};
use crate::atomic_file;
use crate::logging::progress;

/// Hex SHA-256 of the file at `path`, read a block at a time.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
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
    let response = agent().get(&url).call().map_err(|e| fail(e.to_string()))?;
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

/// The HTTP client of every download: a patient one, for slow mirrors and large files.
fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_body(Some(Duration::from_secs(1800)))
            .build(),
    )
}

/// Downloads `base_url` + `archive.name` into `dest_dir`, verifying its length and SHA-256.
///
/// The bytes stream through a temporary file in `dest_dir`, which takes the real name only
/// once complete and verified: a wrong or interrupted download leaves nothing behind.
pub fn download_archive(
    base_url: &str,
    archive: &ArchiveSpec,
    dest_dir: &Path,
) -> Result<PathBuf, DataError> {
    stream_verified(
        base_url,
        archive.name,
        archive.size,
        dest_dir,
        |len, sha256| check_archive(len, sha256, archive),
    )
}

/// Downloads `base_url` + `name` into `dest_dir`, verifying its SHA-256, for a file whose
/// length is not published: at most `max_len` bytes are accepted. Streamed and renamed
/// into place as [`download_archive`] does.
pub fn download_checked(
    base_url: &str,
    name: &str,
    sha256: &str,
    max_len: u64,
    dest_dir: &Path,
) -> Result<PathBuf, DataError> {
    stream_verified(base_url, name, max_len, dest_dir, |len, got| {
        if got == sha256 {
            Ok(())
        } else {
            Err(format!(
                "checksum mismatch: got {len} bytes with SHA-256 {got}, expected SHA-256 {sha256}"
            ))
        }
    })
}

/// Streams `base_url/name` to a temporary file in `dest_dir`, stopping past `max_len`
/// bytes, and gives it the real name once `check(length, sha256)` accepts it.
fn stream_verified(
    base_url: &str,
    name: &str,
    max_len: u64,
    dest_dir: &Path,
    check: impl Fn(u64, &str) -> Result<(), String>,
) -> Result<PathBuf, DataError> {
    let url = format!("{}/{}", base_url.trim_end_matches('/'), name);
    let fail = |problem: String| DataError::Download {
        url: url.clone(),
        problem,
    };
    let path = dest_dir.join(name);
    let io = |source: std::io::Error| DataError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dest_dir).map_err(io)?;
    let response = agent().get(&url).call().map_err(|e| fail(e.to_string()))?;
    let expected_len = response.body().content_length();
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dest_dir)
        .map_err(io)?;
    let bar = progress::bytes_bar(expected_len, &format!("downloading {name}"));
    let mut reader = response.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| fail(format!("transfer interrupted after {received} bytes ({e})")))?;
        if n == 0 {
            break;
        }
        received += n as u64;
        // A server sending more than the file can be is not sending it: stop before it
        // fills the disk.
        if received > max_len {
            return Err(fail(format!(
                "received more than the file's {max_len} bytes; wrong address?"
            )));
        }
        hasher.update(&chunk[..n]);
        tmp.write_all(&chunk[..n]).map_err(io)?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(expected) = expected_len
        && expected != received
    {
        return Err(fail(format!(
            "received {received} of {expected} bytes (truncated transfer)"
        )));
    }
    check(received, &hex(&hasher.finalize())).map_err(fail)?;
    tmp.as_file().sync_all().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(&path).map_err(|e| io(e.error))?;
    Ok(path)
}

/// Checks an archive on disk against its length and SHA-256.
pub fn verify_archive(path: &Path, archive: &ArchiveSpec) -> Result<(), DataError> {
    let io = |source: std::io::Error| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let len = std::io::copy(&mut file, &mut hasher).map_err(io)?;
    check_archive(len, &hex(&hasher.finalize()), archive)
        .map_err(|problem| DataError::format(path, problem))
}

fn check_archive(len: u64, sha256: &str, archive: &ArchiveSpec) -> Result<(), String> {
    if len == archive.size && sha256 == archive.sha256 {
        return Ok(());
    }
    Err(format!(
        "checksum mismatch: got {len} bytes with SHA-256 {sha256}, expected {} bytes with \
         SHA-256 {}",
        archive.size, archive.sha256
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
