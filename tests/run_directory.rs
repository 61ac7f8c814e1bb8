//! A run directory belongs to one process, a resumed run accepts its own command line, and
//! generation keeps its memory whatever the number of images asked for. All on the
//! embedded MNIST subset, so no data files are needed.

mod util;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use util::{dcgan, fails, ok};

/// The settings of a quick run; `extra` adds to them or replaces them.
fn train_args(out: &str, extra: &[&str]) -> Vec<String> {
    let base = [
        ("--epochs", "1"),
        ("--batch-size", "16"),
        ("--seed", "5"),
        ("--log-every", "1"),
    ];
    let mut args = vec!["train".to_string(), "--out".into(), out.into()];
    for (flag, value) in base {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Waits until the run has written a checkpoint, so the child holds the directory and a
/// resume would have something to continue.
fn wait_until_training(child: &mut Child, run: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        assert!(child.try_wait().unwrap().is_none(), "training ended early");
        if run.join("checkpoint.dcgan").exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no step within a minute");
}

#[test]
fn a_second_training_of_the_same_directory_fails_at_once_naming_the_first() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let run = home.join("run");
    // Long enough to still run while the others try: 625 batches of 16.
    let mut first = dcgan(home)
        .args(train_args("run", &["--checkpoint-every", "3"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_training(&mut first, &run);
    let pid = first.id().to_string();
    let metrics_before = std::fs::read(run.join("metrics.jsonl")).unwrap();

    for extra in [&["--force"][..], &["--seed", "6", "--force"][..]] {
        let started = Instant::now();
        let err = fails(dcgan(home).args(train_args("run", extra)));
        assert!(
            err.contains("run") && err.contains(&format!("process {pid}")) && err.contains("--out"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "not at once");
    }
    // A resume of the same run is refused too.
    let err = fails(dcgan(home).args(["train", "--out", "run", "--resume"]));
    assert!(err.contains(&format!("process {pid}")), "{err}");
    // The first run's log only grew: nobody else wrote into it.
    let metrics_after = std::fs::read(run.join("metrics.jsonl")).unwrap();
    assert!(metrics_after.starts_with(&metrics_before));
    assert_eq!(
        std::fs::read_dir(&run)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("events.")
            })
            .count(),
        1,
        "a second event file was written"
    );

    // A kill -9 leaves no stale lock: the next training takes the directory.
    first.kill().unwrap();
    first.wait().unwrap();
    let out = ok(dcgan(home).args(train_args(
        "run",
        &["--force", "--limit-batches", "2", "--epochs", "1"],
    )));
    assert!(out.status.success());
}

#[test]
fn resume_accepts_the_runs_own_flags_and_names_a_change() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let first = train_args("run", &["--limit-batches", "2", "--lr", "0.0003"]);
    ok(dcgan(home).args(&first));
    // The same command line with --resume and a longer --epochs continues the run.
    let mut again = train_args(
        "run",
        &["--limit-batches", "2", "--lr", "0.0003", "--epochs", "2"],
    );
    again.push("--resume".into());
    let out = ok(dcgan(home).args(&again));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("resuming") && stdout.contains("done: 2 epochs"),
        "{stdout}"
    );

    let err = fails(dcgan(home).args([
        "train", "--out", "run", "--resume", "--epochs", "3", "--lr", "0.001", "--seed", "5",
    ]));
    assert!(
        err.contains("--lr (the run has 0.0003, this command asks for 0.001)")
            && !err.contains("--seed"),
        "{err}"
    );
    let err = fails(dcgan(home).args([
        "train", "--out", "run", "--resume", "--epochs", "3", "--preset", "seed",
    ]));
    assert!(err.contains("--lr") && err.contains("--beta1"), "{err}");
}

/// Runs the command and returns its peak resident memory in bytes, read from
/// /proc/PID/status (VmHWM) until it exits.
#[cfg(target_os = "linux")]
fn peak_rss(cmd: &mut std::process::Command) -> u64 {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            peak = peak.max(kib * 1024);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "{cmd:?} failed: {err}");
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn generation_memory_does_not_grow_with_the_number_of_images() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(dcgan(home).args(train_args("run", &["--limit-batches", "2"])));
    let sample = |n: &str, out: &str| {
        peak_rss(dcgan(home).args(["sample", "--checkpoint", "run", "--n", n, "--out", out]))
    };
    let small = sample("1000", "small.npy");
    // 40,000 images are 125 MB as f32: kept whole before writing, they would show.
    let large = sample("40000", "large.npy");
    assert_eq!(
        std::fs::metadata(home.join("large.npy")).unwrap().len(),
        128 + 40_000 * 784 * 4
    );
    assert!(
        large < small + 24 * 1024 * 1024,
        "peak memory {} MiB for 40,000 images against {} MiB for 1,000",
        large >> 20,
        small >> 20
    );
    let interpolate = peak_rss(dcgan(home).args([
        "interpolate",
        "--checkpoint",
        "run",
        "--steps",
        "20000",
        "--rows",
        "2",
        "--out",
        "p/",
    ]));
    assert!(
        interpolate < small + 24 * 1024 * 1024,
        "peak memory {} MiB for an interpolation of 40,000 images",
        interpolate >> 20
    );
    assert_eq!(std::fs::read_dir(home.join("p")).unwrap().count(), 40_000);

    // What cannot be drawn or scored is refused before any work, with what to do instead.
    let started = Instant::now();
    let err = fails(dcgan(home).args([
        "sample",
        "--checkpoint",
        "run",
        "--n",
        "100000000",
        "--out",
        "big.png",
    ]));
    assert!(err.contains("--out DIR/") && err.contains(".npy"), "{err}");
    let err = fails(dcgan(home).args([
        "interpolate",
        "--checkpoint",
        "run",
        "--steps",
        "10000000",
        "--out",
        "big.png",
    ]));
    assert!(err.contains("megapixels"), "{err}");
    let err = fails(dcgan(home).args(["eval", "--checkpoint", "run", "--n", "100000000"]));
    assert!(err.contains("--n 50000 or fewer"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refusals took long"
    );
}
