//! `dcgan serve` over real HTTP on loopback for the integration tests: a server on a free
//! port, requests and their answers, and a short trained run to serve.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use super::{dcgan, mnist_dir, ok};

/// A short trained run in `home/out`: 3 batches of real digits, conditional when asked.
pub fn train(home: &Path, out: &str, extra: &[&str]) {
    ok(dcgan(home)
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args([
            "--epochs",
            "1",
            "--limit-batches",
            "3",
            "--batch-size",
            "32",
        ])
        .args(["--seed", "2", "--out", out])
        .args(extra));
}

/// A running server and its address.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `dcgan serve` on a free loopback port and waits for its URL.
    pub fn start(home: &Path, source: &[&str]) -> Server {
        let mut child = dcgan(home)
            .arg("serve")
            .args(source)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dcgan serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines.next().expect("a first line").unwrap();
        let base = line
            .split("on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's resident memory in kB, from /proc.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Stops the server as Ctrl-C would, and checks that it exits cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "dcgan serve exited with {status}");
    }
}

impl Drop for Server {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status line and body of a POST that announces `announced` body bytes but sends only
/// the first few: the server must refuse it from the header alone.
pub fn post_announcing(base: &str, path: &str, announced: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {announced}\r\nConnection: close\r\n\r\n{{\"vectors\": ["
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).to_string();
    let status = reply
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// An HTTP client whose timeout only guards against a server that hangs: the first
/// `/api/neighbours` reads the classifier's features of all 60,000 MNIST images, which took
/// 65 s on a 2-vCPU Xeon busy with two niced training runs, so a minute was too tight.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build(),
    )
}

/// Status, content type and body of a GET.
pub fn get(url: &str) -> (u16, String, Vec<u8>) {
    answer(agent().get(url).call().unwrap())
}

/// Status, content type and body of a POST of `json`.
pub fn post(url: &str, json: &str) -> (u16, String, Vec<u8>) {
    let response = agent()
        .post(url)
        .content_type("application/json")
        .send(json.as_bytes())
        .unwrap();
    answer(response)
}

pub fn answer(mut response: ureq::http::Response<ureq::Body>) -> (u16, String, Vec<u8>) {
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    (response.status().as_u16(), kind, body)
}

pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).expect("a PNG");
    (image.width(), image.height())
}

/// Every file of `dir` with its length and modification time.
pub fn listing(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                let name = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .display()
                    .to_string();
                out.insert(name, (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}
