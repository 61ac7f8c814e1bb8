//! One process per run directory: an exclusive lock held by `dcgan train` for the run's life.
//!
//! The lock is the operating system's advisory file lock (`flock` on Unix, `LockFileEx` on
//! Windows) on `OUT/.dcgan.lock`, through the standard library's `File::try_lock`. The
//! kernel drops it when the process ends in any way, a kill -9 included, so a stale lock
//! never blocks the next `--resume`. The file also holds the owner's process id, for the
//! message a second process gets.
//!
//! Readers (`sample`, `eval`, `report`) take no lock: every file they read is replaced
//! atomically ([`crate::atomic_file`]) or appended line by line.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The lock file's name in a run directory.
pub const LOCK_FILE: &str = ".dcgan.lock";

/// An exclusive hold on a run directory, released when dropped or when the process ends.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `dir` (created if needed), or fails at once, naming the process
    /// that holds it.
    pub fn acquire(dir: &Path) -> anyhow::Result<RunLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the run's lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = match owner.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".to_string(),
                };
                bail!(
                    "{} is in use by {owner}, another dcgan training this run. Wait for it to \
                     end, stop it (Ctrl-C saves a checkpoint; then continue with --resume), or \
                     train into another --out",
                    dir.display()
                );
            }
            Err(TryLockError::Error(err)) => {
                return Err(err)
                    .with_context(|| format!("cannot lock the run directory {}", dir.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write the run's lock file {}", path.display()))?;
        Ok(RunLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first says so explicitly.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_fails_naming_the_owner_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = RunLock::acquire(&run).unwrap();
        let owner = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(owner.trim(), std::process::id().to_string());
        // A second open file description conflicts with the first, as another process would.
        let err = RunLock::acquire(&run).unwrap_err().to_string();
        assert!(
            err.contains(&format!("process {}", std::process::id())) && err.contains("--out"),
            "{err}"
        );
        drop(first);
        let again = RunLock::acquire(&run).unwrap();
        assert_eq!(
            std::fs::read_to_string(again.path()).unwrap().trim(),
            std::process::id().to_string()
        );
    }
}
