//! Stopping a run: Ctrl-C saves a checkpoint mid-epoch, and kill -9 at random moments loses
//! only work since the last checkpoint. Either way the resumed run ends with exactly the
//! weights of an uninterrupted one.

mod util;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use util::{dcgan, ok};

/// A quick run on the embedded subset: 3 epochs of 8 batches of 16 images.
const FLAGS: [&str; 12] = [
    "--epochs",
    "3",
    "--limit-batches",
    "8",
    "--batch-size",
    "16",
    "--seed",
    "11",
    "--sample-every",
    "3",
    "--log-every",
    "1",
];

fn train(home: &Path, out: &str) -> Command {
    let mut cmd = dcgan(home);
    cmd.args(["train", "--out", out]);
    if home.join(out).join("checkpoint.dcgan").exists()
        || home.join(out).join("checkpoint.prev.dcgan").exists()
    {
        cmd.arg("--resume");
    } else {
        cmd.args(FLAGS);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn weights(home: &Path, run: &str) -> Vec<u8> {
    std::fs::read(home.join(run).join("generator.safetensors")).unwrap()
}

fn reference(home: &Path) -> Vec<u8> {
    ok(dcgan(home)
        .args(["train", "--out", "reference"])
        .args(FLAGS));
    weights(home, "reference")
}

/// Waits for the child to train a little: its event file has at least one scalar record.
fn wait_for_progress(child: &mut Child, run: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended too soon"
        );
        let logged = std::fs::read_dir(run)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name().to_string_lossy().starts_with("events.")
                    && e.metadata().map(|m| m.len() > 200).unwrap_or(false)
            });
        if logged {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no progress within a minute");
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_resume_is_exact() {
    let home = tempfile::tempdir().unwrap();
    let expected = reference(home.path());

    let mut child = train(home.path(), "run").spawn().unwrap();
    wait_for_progress(&mut child, &home.path().join("run"));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        stdout.contains("--resume") && stdout.contains("checkpoint saved"),
        "{stdout}"
    );

    let out = train(home.path(), "run").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        weights(home.path(), "run") == expected,
        "resumed after Ctrl-C, the weights differ"
    );
}

/// Lines of the run's `metrics.jsonl` (one per step with `--log-every 1`), 0 if none.
fn logged_lines(run: &Path) -> usize {
    std::fs::read(run.join("metrics.jsonl"))
        .map(|text| text.iter().filter(|&&b| b == b'\n').count())
        .unwrap_or(0)
}

/// Waits until the child has trained `steps` steps, and returns how long the last of them
/// took; `None` if it exited first. Every rise of the line count of `metrics.jsonl` is a
/// step of this child: resuming only shortens the file (it drops the steps it repeats).
fn wait_for_steps(child: &mut Child, run: &Path, steps: usize) -> Option<Duration> {
    let (mut lines, mut done) = (logged_lines(run), 0);
    let mut last_rise = Instant::now();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        let now = logged_lines(run);
        if now > lines {
            done += now - lines;
            let last_step = last_rise.elapsed() / (now - lines) as u32;
            last_rise = Instant::now();
            if done >= steps {
                return Some(last_step);
            }
        }
        lines = now;
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("{steps} steps not done within a minute");
}

#[test]
fn kill_9_at_random_moments_loses_nothing_that_was_saved() {
    let home = tempfile::tempdir().unwrap();
    let expected = reference(home.path());
    let run = home.path().join("run");
    let seed: u64 = rand::rng().random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Kill moments follow the child's own progress, not the clock, so they land however fast
    // this machine trains: 2 to 6 steps after it starts (a checkpoint leaves at least 8 to
    // do), then somewhere within the next step, which after an epoch's last step is while
    // the checkpoint is written.
    let mut kills = 0;
    for _ in 0..20 {
        let mut child = train(home.path(), "run").spawn().unwrap();
        if kills < 6 {
            let steps = rng.random_range(2..=6);
            if let Some(step) = wait_for_steps(&mut child, &run, steps) {
                std::thread::sleep(step.mul_f64(rng.random()));
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    kills += 1;
                    continue;
                }
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kill seed {seed}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.contains("done: 3 epochs") || stdout.contains("has finished its 3 epochs") {
            break;
        }
    }
    assert_eq!(
        kills, 6,
        "kill seed {seed}: only {kills} kills landed while training ran"
    );
    assert!(
        weights(home.path(), "run") == expected,
        "kill seed {seed}: after {kills} kills the weights differ from an uninterrupted run"
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let home = tempfile::tempdir().unwrap();
    // Steps of 100 images take about a second here, so both signals land within one step.
    let mut child = dcgan(home.path())
        .args([
            "train",
            "--out",
            "run",
            "--batch-size",
            "100",
            "--log-every",
            "1",
            "--epochs",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_progress(&mut child, &home.path().join("run"));
    let pid = child.id().to_string();
    // Two signals sent back to back can merge into one; the pause lets the first be handled.
    let both = format!("kill -INT {pid}; sleep 0.2; kill -INT {pid}");
    assert!(
        Command::new("sh")
            .args(["-c", &both])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped at once"), "{stderr}");
}

#[test]
fn kill_9_between_two_checkpoints_within_an_epoch_loses_only_the_steps_since_the_last() {
    let home = tempfile::tempdir().unwrap();
    let flags = [
        "--epochs",
        "1",
        "--limit-batches",
        "16",
        "--batch-size",
        "16",
        "--seed",
        "12",
        "--log-every",
        "1",
        "--checkpoint-every",
        "4",
    ];
    ok(dcgan(home.path())
        .args(["train", "--out", "reference"])
        .args(flags));
    let run = home.path().join("run");
    let mut child = dcgan(home.path())
        .args(["train", "--out", "run"])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Past the checkpoints after steps 4 and 8, before the epoch's end.
    wait_for_steps(&mut child, &run, 10).expect("still training at step 10");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = ok(dcgan(home.path()).args(["train", "--out", "run", "--resume"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let batch: usize = stdout
        .split("after batch ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not resumed within the epoch:\n{stdout}"));
    assert!(
        (8..16).contains(&batch) && batch.is_multiple_of(4),
        "resumed after batch {batch}"
    );
    assert!(
        weights(home.path(), "run") == weights(home.path(), "reference"),
        "resumed from a checkpoint within the epoch, the weights differ"
    );
}
