//! One run on several processes (`mpirun -np N dcgan train`, `--features mpi`), against
//! the same command in one process: equivalence, repeatability, resume on any number of
//! processes, and faults. Open MPI on loopback only (shared memory between the ranks, its
//! out-of-band channel on `lo`), one rayon thread per rank. `.ci/run` installs Open MPI
//! and runs this file.

#![cfg(feature = "mpi")]

mod util;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use burn::tensor::Device;
use util::{dcgan, mnist_dir, ok};

/// `dcgan` under `mpirun -np n`, on loopback only, one thread per rank.
fn mpirun(home: &Path, n: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-np", &n.to_string()])
        .arg(env!("CARGO_BIN_EXE_dcgan"))
        .env_remove("DCGAN_DATA_DIR")
        .env_remove("DCGAN_MIRROR")
        .env("DCGAN_OFFLINE", "1")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("RAYON_NUM_THREADS", "1")
        .env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_oob_tcp_if_include", "lo")
        .env("OMPI_MCA_mpi_yield_when_idle", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .current_dir(home);
    cmd
}

/// The flags of a short seeded run of the seed model into `out`.
fn seed_run(out: &str, epochs: usize) -> Vec<String> {
    let mnist = mnist_dir().display().to_string();
    let epochs = epochs.to_string();
    [
        "train",
        "--data-dir",
        &mnist,
        "--epochs",
        &epochs,
        "--limit-batches",
        "20",
        "--batch-size",
        "16",
        "--seed",
        "3",
        "--log-every",
        "1",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec()
}

/// The weights Adam trains in a run's generator, flattened (not BatchNorm's moving
/// statistics, which follow the batches rather than Adam).
fn weights(run: &Path) -> Vec<f32> {
    let (g, _) =
        dcgan::weights::load_generator(&run.join("generator.safetensors"), &Device::flex())
            .unwrap();
    dcgan::weights::generator_tensors(&g)
        .into_iter()
        .filter(|(name, _, _)| !name.contains("running"))
        .flat_map(|(_, _, v)| v)
        .collect()
}

/// The losses of each logged step of a run.
fn losses(run: &Path) -> Vec<[f64; 4]> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            ["loss_D", "loss_G", "D_x", "D_G_z"].map(|k| v[k].as_f64().unwrap())
        })
        .collect()
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// This recipe's Adam: learning rate (D's and G's), β1 and β2.
const LR: f32 = 2e-4;
const BETA1: f64 = 0.5;
const BETA2: f64 = 0.999;

/// How far apart two runs' weights can be after `steps` Adam steps from the same start,
/// whatever their gradients: twice the most Adam can move one weight. Adam's step t is lr ·
/// m̂/(√v̂ + ε), and by Cauchy–Schwarz over the two moving averages
/// |m̂| / √v̂ ≤ (1 − β1) / √((1 − β2)(1 − β1²/β2)) · √(1 − β2ᵗ) / (1 − β1ᵗ): 1 at the
/// first step, about 2.6 by the 20th for β1 = 0.5, β2 = 0.999. Runs that add in other orders
/// (one process, two) do drift apart: a weight whose gradient is near zero moves one way in
/// one and the other way in the other, and the game between D and G carries such
/// differences into every later gradient (measured after 20 steps: at most about 8e-3,
/// against a bound of 0.0146, and a mean of 1.6e-4).
fn adam_drift_bound(steps: u32) -> f32 {
    let most = (1.0 - BETA1) / ((1.0 - BETA2) * (1.0 - BETA1 * BETA1 / BETA2)).sqrt();
    let moves: f64 = (1..=steps as i32)
        .map(|t| most * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t)))
        .sum();
    2.0 * LR * moves as f32
}

#[test]
fn two_processes_compute_what_one_computes_and_repeat_exactly() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(dcgan(home)
        .args(seed_run("one", 1))
        .env("RAYON_NUM_THREADS", "1"));
    let two = ok(mpirun(home, 2).args(seed_run("two", 1)));
    ok(mpirun(home, 2).args(seed_run("again", 1)));

    // Rank 0 alone speaks and writes.
    let stdout = String::from_utf8_lossy(&two.stdout);
    assert_eq!(stdout.matches("done: 1 epochs").count(), 1, "{stdout}");
    assert!(stdout.contains("2 processes"), "{stdout}");

    // The first step: the same losses and D outputs to float rounding.
    let (one, two) = (losses(&home.join("one")), losses(&home.join("two")));
    assert_eq!(one.len(), 20);
    assert_eq!(two.len(), 20);
    let first = one[0]
        .iter()
        .zip(&two[0])
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("first step, 2 processes against 1: {first:e}");
    assert!(first <= 1e-5, "{:?} against {:?}", two[0], one[0]);

    // After 20 steps, every weight within Adam's drift, and most far closer.
    let (w1, w2) = (weights(&home.join("one")), weights(&home.join("two")));
    let apart = largest_difference(&w1, &w2);
    let bound = adam_drift_bound(20);
    let mean = w1.iter().zip(&w2).map(|(a, b)| (a - b).abs()).sum::<f32>() / w1.len() as f32;
    eprintln!("after 20 steps: largest difference {apart:e} (bound {bound:e}), mean {mean:e}");
    assert!(apart <= bound, "{apart:e}");
    assert!(mean <= 2.0 * LR, "mean difference {mean:e}");

    // The same two-process command twice: the same bytes.
    let file = |run: &str| std::fs::read(home.join(run).join("generator.safetensors")).unwrap();
    assert!(
        file("two") == file("again"),
        "2 processes repeat byte for byte"
    );
    assert!(
        file("one") != file("two"),
        "the two runs really differ in rounding"
    );
}

#[test]
fn a_run_resumes_on_any_number_of_processes() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let file = |run: &str| std::fs::read(home.join(run).join("generator.safetensors")).unwrap();
    ok(mpirun(home, 2).args(seed_run("whole2", 2)));
    ok(dcgan(home)
        .args(seed_run("whole1", 2))
        .env("RAYON_NUM_THREADS", "1"));
    // Two processes, stopped after the first epoch, resumed on two and on one.
    ok(mpirun(home, 2).args(seed_run("part2", 1)));
    copy_run(home, "part2", "part2on1");
    ok(mpirun(home, 2).args(["train", "--out", "part2", "--resume", "--epochs", "2"]));
    assert!(file("part2") == file("whole2"), "2 → 2: byte for byte");
    ok(dcgan(home)
        .args(["train", "--out", "part2on1", "--resume", "--epochs", "2"])
        .env("RAYON_NUM_THREADS", "1"));
    // One process, resumed on two.
    ok(dcgan(home)
        .args(seed_run("part1", 1))
        .env("RAYON_NUM_THREADS", "1"));
    ok(mpirun(home, 2).args(["train", "--out", "part1", "--resume", "--epochs", "2"]));
    let bound = adam_drift_bound(40);
    for (run, whole) in [("part2on1", "whole2"), ("part1", "whole1")] {
        let apart = largest_difference(&weights(&home.join(run)), &weights(&home.join(whole)));
        eprintln!("{run} against {whole}: {apart:e} (bound {bound:e})");
        assert!(apart <= bound, "{run}: {apart:e}");
        assert!(
            file(run) != file(whole),
            "{run}: another process count rounds otherwise"
        );
    }
}

/// Waits, a minute at most, until the run in `out` has written its first checkpoint.
fn first_checkpoint(out: &Path) {
    let started = Instant::now();
    while !out.join("checkpoint.dcgan").exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Copies a run's checkpoint and configuration into a new run directory.
fn copy_run(home: &Path, from: &str, to: &str) {
    std::fs::create_dir(home.join(to)).unwrap();
    for name in ["checkpoint.dcgan", "config.toml"] {
        std::fs::copy(home.join(from).join(name), home.join(to).join(name)).unwrap();
    }
}

#[test]
fn what_cannot_run_distributed_is_refused_and_a_second_launch_too() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let refused = |args: &[&str], expected: &str| {
        let out = mpirun(home, 2).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    };
    let mut odd = seed_run("odd", 1);
    odd.extend(["--batch-size".into(), "15".into()]);
    refused(
        &odd.iter().map(String::as_str).collect::<Vec<_>>(),
        "--batch-size 15",
    );
    refused(&["devices"], "only `dcgan train` runs on several processes");
    // A second launch into a run that is training is refused by its lock.
    let first = mpirun(home, 2)
        .args(seed_run("busy", 1000))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    first_checkpoint(&home.join("busy"));
    let out = mpirun(home, 2).args(seed_run("busy", 1)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("is in use by"), "{err}");

    // SIGTERM to the launcher: every process stops after the same step, rank 0 saves it.
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = first.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("stopped in {:?}", signalled.elapsed());
    assert!(signalled.elapsed() < Duration::from_secs(20));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("stopped after step "))
        .unwrap_or_else(|| panic!("no stop line: {stdout}"));
    let step: u64 = line["stopped after step ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        stdout.contains("mpirun -np 2 dcgan train --out busy --resume"),
        "{stdout}"
    );
    let checkpoint = dcgan::train::checkpoint::read(&home.join("busy")).unwrap();
    assert_eq!(checkpoint.state().d_step, step, "{line}");
}

#[test]
fn a_killed_process_ends_the_run_and_it_resumes_exactly() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let mut run = mpirun(home, 2)
        .args(seed_run("crash", 1000))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    first_checkpoint(&home.join("crash"));
    // kill -9 of one rank, mid-epoch: the launcher ends the other.
    let ranks = Command::new("pgrep")
        .args(["-P", &run.id().to_string(), "dcgan"])
        .output()
        .unwrap();
    let ranks = String::from_utf8_lossy(&ranks.stdout).into_owned();
    let victim = ranks
        .lines()
        .last()
        .expect("the ranks are the launcher's children");
    let killed = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-KILL", victim])
            .status()
            .unwrap()
            .success()
    );
    let status = run.wait().unwrap();
    eprintln!("all ended {:?} after the kill", killed.elapsed());
    assert!(!status.success());
    assert!(killed.elapsed() < Duration::from_secs(10));
    // Every rank is gone (or a zombie) once the launcher is: at once, or within moments of
    // it on a loaded machine (the launcher may exit while its SIGKILL is being delivered).
    let gone = |pid: &str| {
        !Path::new("/proc").join(pid).exists()
            || std::fs::read_to_string(Path::new("/proc").join(pid).join("stat"))
                .is_ok_and(|stat| stat.contains(") Z "))
    };
    let launcher_done = Instant::now();
    for pid in ranks.lines() {
        while !gone(pid) && launcher_done.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(gone(pid), "rank {pid} outlived the launcher by 5 s");
    }
    // Resumed on two processes, it goes on exactly as a run never stopped.
    let epochs = dcgan::train::checkpoint::read(&home.join("crash"))
        .unwrap()
        .state()
        .epochs_done
        + 1;
    let epochs = epochs.to_string();
    ok(mpirun(home, 2).args(["train", "--out", "crash", "--resume", "--epochs", &epochs]));
    let mut whole = seed_run("whole", 1);
    let at = whole.iter().position(|a| a == "--epochs").unwrap();
    whole[at + 1].clone_from(&epochs);
    ok(mpirun(home, 2).args(&whole));
    let file = |run: &str| std::fs::read(home.join(run).join("generator.safetensors")).unwrap();
    assert!(
        file("crash") == file("whole"),
        "resumed after the kill: byte for byte"
    );
}

/// The flags of a short seeded run of the DCGAN paper's family at 64×64 on the emoji: a
/// small folder, so dcgan's small-folder preset (DiffAugment, spectral norm, hinge, EMA).
fn folder_run(emoji: &Path, out: &str, local_batch_norm: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        emoji.to_str().unwrap(),
        "--image-size",
        "64",
        "--epochs",
        "1",
        "--limit-batches",
        "3",
        "--batch-size",
        "8",
        "--seed",
        "5",
        "--log-every",
        "1",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec();
    if local_batch_norm {
        args.push("--local-batch-norm".into());
    }
    args
}

#[test]
fn the_paper_family_on_a_folder_too_and_local_batch_norm_repeats() {
    let Some(emoji) = util::emoji_or_skip("the_paper_family_on_a_folder_too") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(dcgan(home)
        .args(folder_run(&emoji, "one", false))
        .env("RAYON_NUM_THREADS", "1"));
    ok(mpirun(home, 2).args(folder_run(&emoji, "two", false)));
    let (one, two) = (losses(&home.join("one")), losses(&home.join("two")));
    let first = one[0]
        .iter()
        .zip(&two[0])
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("64×64 paper family, first step, 2 processes against 1: {first:e}");
    assert!(first <= 1e-5, "{:?} against {:?}", two[0], one[0]);
    let apart = largest_difference(&weights(&home.join("one")), &weights(&home.join("two")));
    eprintln!("after 3 steps: {apart:e} (bound {:e})", adam_drift_bound(3));
    assert!(apart <= adam_drift_bound(3), "{apart:e}");

    // Each process's own statistics: another computation, repeated byte for byte.
    ok(mpirun(home, 2).args(folder_run(&emoji, "local", true)));
    ok(mpirun(home, 2).args(folder_run(&emoji, "local2", true)));
    let file = |run: &str| std::fs::read(home.join(run).join("generator.safetensors")).unwrap();
    assert!(
        file("local") == file("local2"),
        "--local-batch-norm repeats"
    );
    let local = losses(&home.join("local"));
    assert!(
        (local[0][0] - two[0][0]).abs() > 1e-4,
        "each process's own BatchNorm statistics change the losses: {:?} against {:?}",
        local[0],
        two[0]
    );
}
