//! Helpers for the integration tests: the real binary in a temporary directory, the MNIST
//! files in shared/, and a tiny HTTP server on loopback.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory with the real MNIST IDX files: `$DCGAN_TEST_MNIST` or `../shared/data/mnist`.
pub fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os("DCGAN_TEST_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist"));
    assert!(
        dir.join("train-images-idx3-ubyte.gz").is_file(),
        "the MNIST files are not in {}; set DCGAN_TEST_MNIST",
        dir.display()
    );
    dir
}

/// A `dcgan` command with a clean environment: no data directory, downloads forbidden, the
/// cache inside `home`.
pub fn dcgan(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcgan"));
    cmd.env_remove("DCGAN_DATA_DIR")
        .env_remove("DCGAN_MIRROR")
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
