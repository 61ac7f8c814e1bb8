//! End-to-end tests of the `dcgan` binary on real MNIST data.

mod util;

use std::path::Path;

use util::{dcgan, fails, mnist_dir, ok};

/// A short real run: `epochs` epochs of 4 batches of 32 images.
fn short_run(home: &Path, out: &str, epochs: u32, seed: u32) -> std::process::Output {
    short_run_and(home, out, epochs, seed, &[])
}

/// [`short_run`]'s command with `extra` flags appended.
fn short_run_and(
    home: &Path,
    out: &str,
    epochs: u32,
    seed: u32,
    extra: &[&str],
) -> std::process::Output {
    ok(dcgan(home)
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args([
            "--epochs",
            &epochs.to_string(),
            "--limit-batches",
            "4",
            "--batch-size",
            "32",
            "--seed",
            &seed.to_string(),
            "--sample-every",
            "1",
            "--out",
            out,
        ])
        .args(extra))
}

/// Continues the run in `out` to `epochs` epochs, on the real MNIST files.
fn resume_on_mnist(home: &Path, out: &str, epochs: u32) -> std::process::Output {
    ok(dcgan(home)
        .args([
            "train",
            "--resume",
            "--epochs",
            &epochs.to_string(),
            "--out",
            out,
        ])
        .arg("--data-dir")
        .arg(mnist_dir()))
}

#[test]
fn training_writes_picture_checkpoint_events_and_weights() {
    let home = tempfile::tempdir().unwrap();
    let out = short_run(home.path(), "run", 1, 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("epoch 0000"), "{stdout}");
    let run = home.path().join("run");
    let picture = image::open(run.join("samples/epoch_000.png")).unwrap();
    // Two rows of ten 56×56 tiles with 2-pixel gaps.
    assert_eq!(
        (picture.width(), picture.height()),
        (10 * 58 + 2, 2 * 58 + 2)
    );
    assert!(run.join("checkpoint.dcgan").is_file());
    assert!(run.join("generator.safetensors").is_file());
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("batch_size = 32"), "{config}");
    let events: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(events.len(), 1);
    let events = dcgan::logging::tensorboard::read_events(&events[0].path()).unwrap();
    assert!(events.len() >= 2, "file version and at least one summary");
    // 4 steps logged every 10: none; the run below logs every step.
    ok(dcgan(home.path())
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args([
            "--epochs",
            "1",
            "--limit-batches",
            "3",
            "--batch-size",
            "8",
            "--log-every",
            "1",
            "--out",
            "logged",
        ]));
    let metrics = std::fs::read_to_string(home.path().join("logged/metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["step"], 3);
    for key in [
        "loss_D",
        "loss_G",
        "D_x",
        "D_G_z",
        "lr_D",
        "lr_G",
        "images_per_sec",
    ] {
        assert!(lines[2][key].is_number(), "{key} missing from {}", lines[2]);
    }
    assert_eq!(lines[0]["lr_G"].as_f64().unwrap() as f32, 2e-4);

    // The end of training draws the loss curves and the progress GIF; `dcgan report` redraws
    // them at any time, and refuses a directory that holds no run.
    let logged = home.path().join("logged");
    for file in ["loss.png", "progress.gif"] {
        assert!(logged.join(file).is_file(), "{file} missing");
        std::fs::remove_file(logged.join(file)).unwrap();
    }
    let out = ok(dcgan(home.path()).args(["report", "--run", "logged"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loss.png"));
    assert_eq!(image::open(logged.join("loss.png")).unwrap().width(), 1000);
    assert!(image::open(logged.join("progress.gif")).is_ok());
    std::fs::create_dir(home.path().join("empty")).unwrap();
    let err = fails(dcgan(home.path()).args(["report", "--run", "empty"]));
    assert!(
        err.contains("empty") && err.contains("no metrics.jsonl"),
        "{err}"
    );

    // Sampling and interpolation from the run directory.
    ok(dcgan(home.path()).args([
        "sample",
        "--checkpoint",
        "run",
        "--n",
        "12",
        "--columns",
        "6",
        "--out",
        "s.png",
    ]));
    let s = image::open(home.path().join("s.png")).unwrap();
    assert_eq!((s.width(), s.height()), (6 * 58 + 2, 2 * 58 + 2));
    ok(dcgan(home.path()).args([
        "interpolate",
        "--checkpoint",
        "run/generator.safetensors",
        "--steps",
        "7",
        "--out",
        "i.png",
    ]));
    let i = image::open(home.path().join("i.png")).unwrap();
    assert_eq!((i.width(), i.height()), (7 * 58 + 2, 58 + 2));
}

#[test]
fn same_seed_gives_byte_identical_weights_and_resume_is_exact() {
    let home = tempfile::tempdir().unwrap();
    short_run(home.path(), "a", 2, 7);
    short_run(home.path(), "b", 2, 7);
    let weights =
        |run: &str| std::fs::read(home.path().join(run).join("generator.safetensors")).unwrap();
    assert!(
        weights("a") == weights("b"),
        "two runs with --seed 7 differ"
    );
    let checkpoint =
        |run: &str| std::fs::read(home.path().join(run).join("checkpoint.dcgan")).unwrap();
    assert!(
        checkpoint("a") == checkpoint("b"),
        "two runs with --seed 7 wrote different checkpoints"
    );

    // One epoch, then resumed for the second by the starting command with `--resume
    // --epochs 2` appended (the last --epochs wins): the same weights as two epochs in one go.
    short_run(home.path(), "c", 1, 7);
    assert!(weights("a") != weights("c"));
    short_run_and(home.path(), "c", 1, 7, &["--resume", "--epochs", "2"]);
    assert_eq!(
        weights("a"),
        weights("c"),
        "the resumed run differs from the uninterrupted one"
    );

    // A different seed gives different weights.
    short_run(home.path(), "d", 1, 8);
    assert!(weights("c") != weights("d"));
}

#[test]
fn refuses_to_overwrite_a_run_and_bad_flags() {
    let home = tempfile::tempdir().unwrap();
    short_run(home.path(), "run", 1, 3);
    let err = fails(dcgan(home.path()).args(["train", "--out", "run", "--epochs", "1"]));
    assert!(err.contains("--resume") && err.contains("--force"), "{err}");
    let err = fails(dcgan(home.path()).args(["train", "--out", "new", "--batch-size", "0"]));
    assert!(err.contains("--batch-size"), "{err}");
    let err = fails(dcgan(home.path()).args(["train", "--out", "new", "--lr", "NaN"]));
    assert!(err.contains("--lr"), "{err}");
    let too_big = (i64::MAX as u64 + 1).to_string();
    let err = fails(dcgan(home.path()).args(["train", "--out", "new", "--seed", &too_big]));
    assert!(err.contains("--seed"), "{err}");
    let err = fails(dcgan(home.path()).args(["train", "--resume", "--out", "run", "--lr", "0.1"]));
    assert!(err.contains("--lr"), "{err}");
    let err =
        fails(dcgan(home.path()).args(["sample", "--checkpoint", "nowhere", "--out", "x.png"]));
    assert!(err.contains("nowhere"), "{err}");

    // --force starts over: the old run's checkpoints, best ones included, are gone before a
    // resume could take them for the new run's.
    let run = home.path().join("run");
    let old_files = [
        "checkpoint.prev.dcgan",
        "checkpoint.best.dcgan",
        "generator.best.safetensors",
    ];
    for name in old_files {
        std::fs::write(run.join(name), b"the old run's").unwrap();
    }
    let old = std::fs::read(run.join("checkpoint.dcgan")).unwrap();
    short_run_and(home.path(), "run", 1, 4, &["--force"]);
    for name in old_files {
        assert!(!run.join(name).exists(), "{name}");
    }
    assert!(std::fs::read(run.join("checkpoint.dcgan")).unwrap() != old);
}

#[test]
fn the_fields_names_for_losses_are_accepted_and_listed() {
    let home = tempfile::tempdir().unwrap();
    for (alias, name) in [("lsgan", "least-squares"), ("wgan", "wasserstein")] {
        short_run_and(
            home.path(),
            alias,
            1,
            1,
            &["--loss", alias, "--limit-batches", "1"],
        );
        let config = std::fs::read_to_string(home.path().join(alias).join("config.toml")).unwrap();
        assert!(config.contains(&format!("loss = \"{name}\"")), "{config}");
    }
    let help = ok(dcgan(home.path()).args(["train", "--help"]));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("lsgan") && help.contains("wgan"), "{help}");
}

#[test]
fn a_closed_output_pipe_ends_a_command_quietly() {
    // The reading end closed before dcgan writes a byte, as `dcgan devices | head -0` does.
    let home = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = dcgan(home.path())
        .arg("devices")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");

    // Training goes on to the end of its run, its lines going nowhere.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = dcgan(home.path())
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args([
            "--epochs",
            "2",
            "--limit-batches",
            "2",
            "--batch-size",
            "16",
        ])
        .args(["--out", "piped"])
        .stdout(writer)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = home.path().join("piped");
    assert!(run.join("generator.safetensors").is_file());
    assert!(run.join("samples/epoch_001.png").is_file());
}

#[test]
fn corrupt_latest_checkpoint_falls_back_to_the_previous_one() {
    let home = tempfile::tempdir().unwrap();
    short_run(home.path(), "run", 2, 4);
    let latest = home.path().join("run/checkpoint.dcgan");
    let mut bytes = std::fs::read(&latest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&latest, bytes).unwrap();
    let out = ok(dcgan(home.path()).args([
        "sample",
        "--checkpoint",
        "run",
        "--n",
        "4",
        "--out",
        "x.png",
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checksum") && err.contains("checkpoint.prev.dcgan"),
        "{err}"
    );
    let err = fails(dcgan(home.path()).args([
        "sample",
        "--checkpoint",
        "run/checkpoint.dcgan",
        "--out",
        "x.png",
    ]));
    assert!(
        err.contains("checkpoint.dcgan") && err.contains("checksum"),
        "{err}"
    );
}

#[test]
fn offline_without_data_uses_the_embedded_subset_unless_a_dataset_is_named() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(dcgan(home.path()).args([
        "train",
        "--epochs",
        "1",
        "--limit-batches",
        "2",
        "--batch-size",
        "16",
        "--out",
        "run",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("embedded 10,000-image subset"), "{stdout}");
    assert!(home.path().join("run/samples/epoch_000.png").is_file());
    // Resuming a run that began on the subset stays on it.
    ok(dcgan(home.path()).args(["train", "--resume", "--epochs", "2", "--out", "run"]));
    assert!(home.path().join("run/samples/epoch_001.png").is_file());

    let err = fails(dcgan(home.path()).args(["train", "--dataset", "mnist", "--out", "run2"]));
    assert!(
        err.contains("not found") && err.contains("Places searched") && err.contains("cache"),
        "{err}"
    );
    let err = fails(dcgan(home.path()).args(["train", "--data-dir", "missing", "--out", "run3"]));
    assert!(
        err.contains("missing") && err.contains("--data-dir"),
        "{err}"
    );
}

#[test]
fn divergence_stops_training_naming_the_step_and_the_network() {
    let home = tempfile::tempdir().unwrap();
    // A learning rate of 1e30 sends the weights to infinity within a few steps.
    let err = fails(
        dcgan(home.path())
            .args(["train", "--data-dir"])
            .arg(mnist_dir())
            .args([
                "--lr",
                "1e30",
                "--epochs",
                "1",
                "--limit-batches",
                "20",
                "--batch-size",
                "16",
                "--out",
                "run",
            ]),
    );
    assert!(
        err.contains("training diverged") && err.contains("at step"),
        "{err}"
    );
    assert!(
        err.contains("discriminator") || err.contains("generator"),
        "{err}"
    );
    assert!(
        !home.path().join("run/checkpoint.dcgan").exists(),
        "no checkpoint of a diverged run"
    );
}

/// IDX images of another size than the model's are resized to it (shorter side, then the
/// centre), as a folder's are.
#[test]
fn idx_images_of_another_size_are_resized_to_the_models() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let images = dcgan::data::idx::encode_idx(&[4, 32, 32], &[0; 4 * 32 * 32]);
    std::fs::write(data.join("train-images-idx3-ubyte"), images).unwrap();
    let labels = dcgan::data::idx::encode_idx(&[4], &[1, 2, 3, 4]);
    std::fs::write(data.join("train-labels-idx1-ubyte"), labels).unwrap();
    let out = ok(dcgan(home.path()).args([
        "train",
        "--data-dir",
        "data",
        "--out",
        "run",
        "--batch-size",
        "2",
        "--epochs",
        "1",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("the seed's DCGAN, 28×28 grey"), "{stdout}");
    let err = fails(dcgan(home.path()).args(["train", "--data-dir", "data", "--out", "big"]));
    assert!(
        err.contains("--batch-size 100") && err.contains("4 images"),
        "{err}"
    );
}

/// The binary sets mimalloc's purge delay to "never" through the option's index in
/// mimalloc.h (src/main.rs); mimalloc's own statistics show whether that index is the
/// right one: asked to purge at once, a binary without the setting purges hundreds of times
/// in a run like this one.
#[test]
fn the_allocator_keeps_freed_pages() {
    let home = tempfile::tempdir().unwrap();
    let out = ok(dcgan(home.path())
        .args([
            "bench",
            "--batch-size",
            "20",
            "--iters",
            "2",
            "--warmup",
            "0",
        ])
        .env("MIMALLOC_SHOW_STATS", "1")
        .env("MIMALLOC_PURGE_DELAY", "0"));
    let stats = String::from_utf8_lossy(&out.stderr);
    let purges = stats
        .lines()
        .find_map(|line| line.trim().strip_prefix("purges"))
        .unwrap_or_else(|| panic!("no purge count in mimalloc's statistics:\n{stats}"));
    let count = purges
        .trim_start_matches([' ', ':'])
        .split_whitespace()
        .next();
    assert_eq!(count, Some("0"), "mimalloc purged: {purges}");
}

/// `--resume` goes on on the device the run was trained on, unless `--device` says otherwise.
/// This build has no GPU support, so a run recorded as trained on wgpu names wgpu when
/// resumed without `--device`, and continues on the CPU with `--device cpu`.
#[cfg(not(feature = "wgpu"))]
#[test]
fn resume_keeps_the_runs_device_unless_told() {
    use dcgan::device::DeviceKind;
    use dcgan::train::{Recipe, RunState, Schedule, TrainConfig};

    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let config = TrainConfig {
        recipe: Recipe {
            batch_size: 16,
            limit_batches: Some(2),
            ..Recipe::default()
        },
        schedule: Schedule {
            data_dir: Some(mnist_dir()),
            epochs: 1,
            device: DeviceKind::Wgpu,
            ..Schedule::default()
        },
    };
    let (state, gan) = RunState::start(config, &burn::tensor::Device::flex());
    dcgan::train::checkpoint::save(&run, &state, &gan).unwrap();

    let err = fails(dcgan(home.path()).args(["train", "--resume", "--out", "run"]));
    assert!(
        err.contains("--device wgpu") && err.contains("without wgpu support"),
        "{err}"
    );
    let out = ok(dcgan(home.path()).args(["train", "--resume", "--out", "run", "--device", "cpu"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("done: 1 epochs"), "{stdout}");
}

/// `--device cuda[:N]` in a build without the `cuda` feature: the flag and `config.toml`
/// know the device, every command says how to get it, and a bad name is named.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_is_named_and_refused_without_the_feature() {
    let home = tempfile::tempdir().unwrap();
    let listed = ok(dcgan(home.path()).arg("devices"));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("--device cuda: not in this build"),
        "{listed}"
    );
    let err = fails(dcgan(home.path()).args(["devices", "--require-cuda"]));
    assert!(err.contains("--require-cuda"), "{err}");
    for device in ["cuda", "cuda:1"] {
        let err = fails(
            dcgan(home.path()).args(["train", "--device", device, "--epochs", "1", "--out", "run"]),
        );
        assert!(
            err.contains("--device cuda:") && err.contains("--features cuda"),
            "{err}"
        );
        assert!(!home.path().join("run/checkpoint.dcgan").exists());
    }
    let err = fails(dcgan(home.path()).args([
        "sample",
        "--checkpoint",
        "run",
        "--device",
        "cuda:x",
        "--out",
        "s.png",
    ]));
    assert!(
        err.contains("unknown device `cuda:x`") && err.contains("--device"),
        "{err}"
    );
    let err = fails(dcgan(home.path()).args(["bench", "--device", "cuda", "--precision", "bf16"]));
    assert!(err.contains("--precision f32"), "{err}");
}

#[test]
fn bf16_products_train_repeatably_where_the_cpu_has_them_and_are_refused_elsewhere() {
    let home = tempfile::tempdir().unwrap();
    let train = |out: &str, precision: &str, epochs: &str| {
        let mut cmd = dcgan(home.path());
        cmd.args(["train", "--data-dir"]).arg(mnist_dir()).args([
            "--epochs",
            epochs,
            "--limit-batches",
            "3",
            "--batch-size",
            "16",
            "--seed",
            "4",
            "--precision",
            precision,
            "--out",
            out,
        ]);
        cmd
    };
    if !dcgan::kernels::matmul::bf16::available() {
        let err = fails(&mut train("a", "bf16", "1"));
        assert!(
            err.contains("AVX512-BF16") && err.contains("--precision f32"),
            "{err}"
        );
        eprintln!("SKIPPED bf16 training: this CPU has no AVX512-BF16 (its refusal was checked)");
        return;
    }
    let out = ok(&mut train("a", "bf16", "2"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bf16 products"), "{stdout}");
    ok(&mut train("b", "bf16", "2"));
    ok(&mut train("c", "f32", "2"));
    let weights =
        |run: &str| std::fs::read(home.path().join(run).join("generator.safetensors")).unwrap();
    assert!(
        weights("a") == weights("b"),
        "two bf16 runs with one seed differ"
    );
    assert!(weights("a") != weights("c"), "bf16 gave the f32 weights");
    let config = std::fs::read_to_string(home.path().join("a/config.toml")).unwrap();
    assert!(config.contains("precision = \"bf16\""), "{config}");

    // Resumed without --precision, the run keeps its bf16 products and ends as if never
    // stopped.
    ok(&mut train("d", "bf16", "1"));
    resume_on_mnist(home.path(), "d", 2);
    assert!(weights("a") == weights("d"), "the resumed bf16 run differs");

    // --no-amx multiplies on AVX512-BF16: other sums where the CPU has AMX tiles (so other
    // weights), the same products as ever where it has none.
    let out = ok(train("e", "bf16", "2").arg("--no-amx"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if dcgan::kernels::matmul::amx::available() {
        assert!(stdout.contains("AMX present, switched off"), "{stdout}");
        assert!(
            weights("a") != weights("e"),
            "--no-amx changed nothing on AMX"
        );
    } else {
        assert!(
            weights("a") == weights("e"),
            "--no-amx changed a run without AMX"
        );
        eprintln!("SKIPPED --no-amx against AMX: this CPU has no AMX tiles (equality checked)");
    }
}

/// Share of the picture's pixels brighter than mid-grey: strokes of digits.
fn bright_share(picture: &Path) -> f64 {
    let image = image::open(picture).unwrap().into_luma8();
    let bright = image.pixels().filter(|p| p.0[0] > 128).count();
    bright as f64 / (image.width() * image.height()) as f64
}

#[test]
fn the_first_picture_of_the_default_run_shows_digits() {
    // The README's main command on a fresh machine: the embedded subset, 100 steps an
    // epoch. With TF's plain moving averages (the seed's, kept by `--preset seed`) the
    // first picture is black; corrected for their start, it shows strokes.
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(dcgan(home).args(["train", "--out", "default", "--epochs", "1", "--seed", "1"]));
    let corrected = bright_share(&home.join("default/samples/epoch_000.png"));
    std::fs::write(home.join("tf.toml"), "debias_moving_averages = false\n").unwrap();
    ok(dcgan(home)
        .args(["train", "--out", "tf", "--epochs", "1", "--seed", "1"])
        .args(["--config", "tf.toml", "--data-dir"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist-subset")));
    let plain = bright_share(&home.join("tf/samples/epoch_000.png"));
    assert!(
        corrected > 0.03 && plain < 0.005,
        "bright pixels: {corrected} corrected, {plain} with TF's averages"
    );
    // Training itself is the same: only sampling reads the averages.
    let losses = |run: &str| {
        std::fs::read_to_string(home.join(run).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["loss_D"].to_string(), v["loss_G"].to_string())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(losses("default"), losses("tf"));
    let meta = |run: &str| {
        let bytes = std::fs::read(home.join(run).join("generator.safetensors")).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        meta.metadata().as_ref().unwrap()["batch_norm_moving_averages"].clone()
    };
    assert_eq!(
        (meta("default"), meta("tf")),
        ("debiased".into(), "tf".into())
    );
}

/// A resume compares every setting of the run's recipe, nested ones and those without a
/// flag included, naming each change; the schedule (here `--eval-every` from a config file
/// and `--epochs`) is the command's.
#[test]
fn resume_refuses_any_recipe_change_and_takes_the_schedule() {
    let home = tempfile::tempdir().unwrap();
    short_run_and(home.path(), "run", 1, 4, &["--beta2", "0.99"]);
    let config = std::fs::read_to_string(home.path().join("run/config.toml")).unwrap();
    assert!(config.contains("beta2 = 0.99"), "{config}");

    let resume = |extra: &[&str]| {
        dcgan(home.path())
            .args(["train", "--out", "run", "--resume", "--data-dir"])
            .arg(mnist_dir())
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = |extra: &[&str]| {
        let out = resume(extra);
        assert!(!out.status.success(), "{extra:?} was accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = refused(&["--beta2", "0.9", "--batch-size", "16"]);
    assert!(
        err.contains("--batch-size (the run has 32, this command asks for 16)")
            && err.contains("--beta2 (the run has 0.99, this command asks for 0.9)"),
        "{err}"
    );
    std::fs::write(
        home.path().join("more.toml"),
        "eval_every = 0\n[optimizer]\nepsilon = 1e-6\n",
    )
    .unwrap();
    let err = refused(&["--config", "more.toml"]);
    assert!(
        err.contains("`optimizer.epsilon` in config.toml (the run has 0.00000001")
            || err.contains("`optimizer.epsilon` in config.toml (the run has 1e-8"),
        "{err}"
    );
    // The run's own values, and a schedule from a file: accepted.
    std::fs::write(home.path().join("more.toml"), "sample_every = 2\n").unwrap();
    let out = resume(&["--beta2", "0.99", "--config", "more.toml", "--epochs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = std::fs::read_to_string(home.path().join("run/config.toml")).unwrap();
    assert!(
        config.contains("sample_every = 2") && config.contains("epochs = 2"),
        "{config}"
    );
}

/// Started as one of several processes by an MPI launcher, every command of a build
/// without the `mpi` feature refuses at once, before any work (N copies would write the
/// same files), and `train` names the feature. One process of one is fine.
#[cfg(not(feature = "mpi"))]
#[test]
fn one_of_several_launched_processes_refuses_to_start() {
    let home = tempfile::tempdir().unwrap();
    let err = fails(
        dcgan(home.path())
            .env("OMPI_COMM_WORLD_SIZE", "2")
            .args(["train", "--out", "run", "--data-dir"])
            .arg(mnist_dir()),
    );
    assert!(
        err.contains("one of 2 processes")
            && err.contains("OMPI_COMM_WORLD_SIZE=2")
            && err.contains("--features mpi"),
        "{err}"
    );
    assert!(!home.path().join("run").exists(), "nothing was written");
    let err = fails(dcgan(home.path()).env("PMI_SIZE", "3").arg("devices"));
    assert!(err.contains("PMI_SIZE=3"), "{err}");
    ok(dcgan(home.path())
        .env("OMPI_COMM_WORLD_SIZE", "1")
        .arg("devices"));
}

/// `dcgan report --compare` draws several runs' FID curves in one picture, one colour per
/// label, and names a run it cannot draw.
#[test]
fn report_compares_the_fid_curves_of_several_runs() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let scored = |name: &str, fids: &[f64], kind: &str| {
        let dir = home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let lines: Vec<String> = fids
            .iter()
            .enumerate()
            .map(|(i, fid)| {
                format!(
                    r#"{{"step":{},"epoch":{},"fid":{fid},"features":{{"kind":"{kind}","sha256":"ab"}}}}"#,
                    i * 10,
                    i * 10 + 9
                )
            })
            .collect();
        std::fs::write(dir.join("eval.jsonl"), lines.join("\n") + "\n").unwrap();
    };
    let run = |name: &str, fids: &[f64]| scored(name, fids, "inception");
    run("all-seed1", &[350.0, 250.0, 190.0]);
    run("all-seed2", &[340.0, 260.0, 180.0]);
    run("paper-seed1", &[330.0, 300.0, 310.0]);
    let out = ok(dcgan(home).args([
        "report",
        "--compare",
        "all-seed1=all",
        "all-seed2=all",
        "paper-seed1",
        "--out",
        "curves.png",
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("curves.png"));
    let picture = image::open(home.join("curves.png")).unwrap().to_rgb8();
    assert_eq!(picture.width(), 1000);
    // The two labels' colours (the report's first two), and not a third.
    let has = |c: [u8; 3]| picture.pixels().any(|p| p.0 == c);
    assert!(has([0, 130, 90]) && has([200, 60, 40]) && !has([40, 90, 200]));

    std::fs::create_dir(home.join("unscored")).unwrap();
    let err = fails(dcgan(home).args([
        "report",
        "--compare",
        "all-seed1",
        "unscored",
        "--out",
        "x.png",
    ]));
    assert!(
        err.contains("unscored") && err.contains("no evaluations"),
        "{err}"
    );
    // A classifier's FID does not compare with Inception's.
    scored("digits", &[30.0, 10.0], "classifier");
    let err = fails(dcgan(home).args([
        "report",
        "--compare",
        "all-seed1",
        "digits",
        "--out",
        "x.png",
    ]));
    assert!(
        err.contains("digits") && err.contains("different networks"),
        "{err}"
    );
    let err = fails(dcgan(home).args(["report", "--compare", "all-seed1"]));
    assert!(err.contains("--out"), "{err}");
    assert!(!home.join("x.png").exists());
}
