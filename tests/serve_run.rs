//! `dcgan serve --run DIR`: the run's timeline (every saved epoch's generator drawing the
//! same noise), its curves, and their live updates as Server-Sent Events while files
//! arrive; and a `--force` run that starts over leaves no epoch of the old one behind.

mod util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use util::serve::{Server, agent, get, png_size, post};
use util::{dcgan, mnist_dir, ok};

/// A run of `epochs` epochs of 3 batches each, logging every step, a picture (and a saved
/// generator) after every epoch.
fn train(home: &Path, out: &str, epochs: u32, extra: &[&str]) {
    ok(dcgan(home)
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args(["--epochs", &epochs.to_string(), "--limit-batches", "3"])
        .args([
            "--batch-size",
            "32",
            "--log-every",
            "1",
            "--sample-every",
            "1",
        ])
        .args(["--seed", "4", "--out", out])
        .args(extra));
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(body));
    })
}

#[test]
fn the_timeline_draws_each_saved_epoch_and_the_curves_are_the_logs() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", 2, &[]);
    let run = home.join("run");
    for epoch in ["000", "001"] {
        assert!(
            run.join(format!("generators/epoch_{epoch}.safetensors"))
                .is_file()
        );
    }
    let server = Server::start(home, &["--run", "run"]);
    let (status, _, info) = get(&server.url("/api/info"));
    assert_eq!(
        (status, &json(&info)["run"]),
        (200, &serde_json::json!(true))
    );

    let (status, _, body) = get(&server.url("/api/timeline"));
    assert_eq!(status, 200);
    let epochs = json(&body)["epochs"].clone();
    assert_eq!(
        epochs,
        serde_json::json!([
            {"epoch": 0, "generator": true, "picture": true},
            {"epoch": 1, "generator": true, "picture": true},
        ])
    );

    // The same three vectors through each epoch's generator: the last epoch's is the
    // served generator, so its row is /api/render's picture, byte for byte; the first
    // epoch's differs.
    let (_, _, noise) = get(&server.url("/api/noise?seed=9&n=3"));
    let vectors = json(&noise)["vectors"].clone();
    let row = |epoch: usize| {
        let body = serde_json::json!({ "epoch": epoch, "vectors": vectors }).to_string();
        let (status, kind, png) = post(&server.url("/api/timeline"), &body);
        assert_eq!((status, kind.as_str()), (200, "image/png"), "epoch {epoch}");
        png
    };
    let (first, last) = (row(0), row(1));
    assert_eq!(png_size(&last), (3 * 58 + 2, 58 + 2));
    let body = serde_json::json!({ "vectors": vectors }).to_string();
    let (_, _, rendered) = post(&server.url("/api/render"), &body);
    assert_eq!(last, rendered, "the last epoch's generator is the run's");
    assert!(first != last, "epoch 0's generator draws other images");
    assert_eq!(row(0), first, "drawn again from the cache, the same bytes");

    // The run's own pictures, as they are on disk.
    let (status, kind, picture) = get(&server.url("/api/timeline/picture?epoch=1"));
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(
        picture,
        std::fs::read(run.join("samples/epoch_001.png")).unwrap()
    );

    // The curves: every logged step, and offsets at the logs' ends.
    let (status, _, body) = get(&server.url("/api/metrics"));
    assert_eq!(status, 200);
    let curves = json(&body);
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(curves["logged_steps"], log.lines().count());
    assert_eq!(curves["metrics"].as_array().unwrap().len(), 6);
    let first_line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(curves["metrics"][0]["loss_D"], first_line["loss_D"]);
    assert_eq!(curves["metrics_offset"], log.len());
    assert_eq!(curves["eval"], serde_json::json!([]));

    // Bad requests name what is wrong.
    let v = serde_json::json!(vec![0.5f32; 100]);
    for (path, body, want, says) in [
        (
            "/api/timeline",
            Some(serde_json::json!({"epoch": 7, "vectors": [v]})),
            400,
            "epoch 7 has no saved generator; the run has them for epochs [0, 1]",
        ),
        (
            "/api/timeline",
            Some(serde_json::json!({"epoch": 0, "vectors": vec![v.clone(); 17]})),
            400,
            "1 to 16 vectors",
        ),
        (
            "/api/timeline",
            Some(serde_json::json!({"vectors": [v]})),
            400,
            "missing field `epoch`",
        ),
        (
            "/api/timeline",
            Some(serde_json::json!({"epoch": 0, "vectors": [[1, 2]]})),
            400,
            "has 2 numbers",
        ),
        (
            "/api/timeline/picture?epoch=7",
            None,
            404,
            "no picture of epoch 7",
        ),
        ("/api/timeline/picture?epoch=-1", None, 400, "epoch must be"),
        ("/api/timeline/picture", None, 400, "epoch is required"),
        (
            "/api/events?from=12",
            None,
            400,
            "from must be two byte offsets",
        ),
    ] {
        let (status, kind, answer) = match &body {
            Some(body) => post(&server.url(path), &body.to_string()),
            None => get(&server.url(path)),
        };
        let message = json(&answer)["error"].as_str().unwrap().to_string();
        assert_eq!(
            (status, kind.as_str()),
            (want, "application/json"),
            "{path}: {message}"
        );
        assert!(message.contains(says), "{path}: {message}");
    }
    server.stop();

    // A generator file alone has no run: its server says so.
    let server = Server::start(home, &["--checkpoint", "run/generator.safetensors"]);
    for path in ["/api/timeline", "/api/metrics", "/api/events"] {
        let (status, _, answer) = get(&server.url(path));
        assert_eq!(status, 400, "{path}");
        let message = json(&answer)["error"].as_str().unwrap().to_string();
        assert!(message.contains("no run directory"), "{message}");
    }
    server.stop();
}

/// The events of an SSE stream, `(event, data)`, as they arrive, read on a thread.
fn events(url: &str) -> mpsc::Receiver<(String, String)> {
    let response = agent().get(url).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(kind, "text/event-stream");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(response.into_body().into_reader());
        let (mut event, mut data) = (String::new(), String::new());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
            } else if let Some(text) = line.strip_prefix("data: ") {
                data += text;
            } else if line.is_empty() && !event.is_empty() {
                let whole = (std::mem::take(&mut event), std::mem::take(&mut data));
                if send.send(whole).is_err() {
                    return;
                }
            }
        }
    });
    receive
}

/// The next event named `name`, skipping others, within 20 s.
fn next(events: &mpsc::Receiver<(String, String)>, name: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let (event, data) = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {name} event within 20 s"));
        if event == name {
            return serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data));
        }
    }
}

#[test]
fn live_updates_arrive_as_the_run_writes_and_end_when_the_server_stops() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", 1, &[]);
    let run = home.join("run");
    let server = Server::start(home, &["--run", "run"]);
    let (_, _, body) = get(&server.url("/api/metrics"));
    let curves = json(&body);
    let from = format!("{}:{}", curves["metrics_offset"], curves["eval_offset"]);
    let stream = events(&server.url(&format!("/api/events?from={from}")));
    // The first look tells the epochs there are.
    let epochs = next(&stream, "epochs");
    assert_eq!(epochs["epochs"].as_array().unwrap().len(), 1);

    // As a training run would: a new log line (first torn, then whole), a new evaluation
    // and a new epoch's generator.
    let append = |name: &str, text: &str| {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(run.join(name))
            .unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    };
    append("metrics.jsonl", r#"{"step":99,"epoch":1,"loss_D":1.25,"#);
    std::thread::sleep(Duration::from_millis(1500));
    append(
        "metrics.jsonl",
        "\"loss_G\":0.5,\"D_x\":0.5,\"D_G_z\":0.4}\n",
    );
    let metrics = next(&stream, "metrics");
    assert_eq!(
        metrics["records"],
        serde_json::json!([{"step": 99, "loss_D": 1.25, "loss_G": 0.5, "D_x": 0.5, "D_G_z": 0.4}])
    );
    append(
        "eval.jsonl",
        "{\"step\":99,\"epoch\":1,\"fid\":42.5,\"kid\":{\"mean\":0.1}}\n",
    );
    assert_eq!(next(&stream, "eval")["records"][0]["fid"], 42.5);
    std::fs::copy(
        run.join("generators/epoch_000.safetensors"),
        run.join("generators/epoch_001.safetensors"),
    )
    .unwrap();
    let epochs = next(&stream, "epochs");
    assert_eq!(epochs["epochs"][1]["epoch"], 1);
    assert_eq!(epochs["epochs"][1]["generator"], true);
    assert_eq!(epochs["epochs"][1]["picture"], false);

    // A rewritten (shorter) log resets the stream.
    std::fs::write(run.join("metrics.jsonl"), "").unwrap();
    assert!(next(&stream, "reset").is_string());

    // 16 streams at most: the 17th is refused while they are open.
    let open: Vec<_> = (0..16)
        .map(|_| events(&server.url("/api/events")))
        .collect();
    let (status, _, answer) = get(&server.url("/api/events"));
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&answer));
    // The server stops at Ctrl-C with its streams open; they end.
    let started = std::time::Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped promptly"
    );
    drop(open);
}

#[test]
fn a_run_started_over_keeps_no_epoch_or_log_line_of_the_old_one() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    train(home, "run", 2, &[]);
    let run = home.join("run");
    let files = |folder: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(run.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        files("generators"),
        ["epoch_000.safetensors", "epoch_001.safetensors"]
    );
    train(home, "run", 1, &["--force"]);
    assert_eq!(files("generators"), ["epoch_000.safetensors"]);
    assert_eq!(files("samples"), ["epoch_000.png"]);
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3, "one epoch's steps only:\n{log}");
    // An epoch's generator is a generator file that sample reads.
    let out = ok(dcgan(home).args([
        "sample",
        "--checkpoint",
        "run/generators/epoch_000.safetensors",
        "--out",
        "e0.png",
    ]));
    assert!(out.status.success());
    assert!(home.join("e0.png").is_file());
}
