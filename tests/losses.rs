//! Training with the field's losses and two learning rates (`--loss`, `--lr-g`, `--lr-d`)
//! on real MNIST digits: recorded in the run, repeatable, resumed exactly, and refused as a
//! change on resume.

mod util;

use std::path::Path;

use util::{dcgan, fails, mnist_dir, ok};

/// A short seeded run with `extra` flags: `epochs` epochs of 3 batches of 32 images.
fn run(home: &Path, out: &str, epochs: u32, extra: &[&str]) -> String {
    let epochs = epochs.to_string();
    let output = ok(dcgan(home)
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args([
            "--epochs",
            &epochs,
            "--limit-batches",
            "3",
            "--batch-size",
            "32",
        ])
        .args(["--seed", "11", "--out", out])
        .args(extra));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn weights(home: &Path, out: &str) -> Vec<u8> {
    std::fs::read(home.join(out).join("generator.safetensors")).unwrap()
}

#[test]
fn each_loss_trains_its_own_way_and_resumes_exactly() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let mut trained = Vec::new();
    for loss in [
        "non-saturating",
        "minimax",
        "least-squares",
        "hinge",
        "wasserstein",
    ] {
        let stdout = run(home, loss, 1, &["--loss", loss]);
        assert!(stdout.contains(&format!("{loss} loss")), "{stdout}");
        let config = std::fs::read_to_string(home.join(loss).join("config.toml")).unwrap();
        assert!(config.contains(&format!("loss = \"{loss}\"")), "{config}");
        // Every loss is finite in every logged step.
        let metrics = std::fs::read_to_string(home.join(loss).join("metrics.jsonl")).unwrap();
        for line in metrics.lines() {
            let values: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in ["loss_D", "loss_G"] {
                assert!(
                    values[key].as_f64().is_some_and(f64::is_finite),
                    "{loss}: {line}"
                );
            }
        }
        trained.push(weights(home, loss));
    }
    for (i, a) in trained.iter().enumerate() {
        for b in &trained[i + 1..] {
            assert!(a != b, "two losses trained the same weights");
        }
    }
    // The default is the seed's loss.
    run(home, "default", 1, &[]);
    assert!(weights(home, "default") == trained[0]);

    // Hinge with two learning rates: repeatable, and one epoch plus a resume equals two.
    let flags = ["--loss", "hinge", "--lr-g", "0.0004", "--lr-d", "0.0001"];
    let stdout = run(home, "two", 2, &flags);
    assert!(stdout.contains("lr G 0.0004 D 0.0001"), "{stdout}");
    run(home, "again", 2, &flags);
    assert!(weights(home, "two") == weights(home, "again"));
    run(home, "half", 1, &flags);
    let mut resume = dcgan(home);
    resume.args([
        "train",
        "--out",
        "half",
        "--resume",
        "--epochs",
        "2",
        "--data-dir",
    ]);
    ok(resume.arg(mnist_dir()));
    assert!(weights(home, "two") == weights(home, "half"));

    // A resumed run keeps its loss and rates; a change is named.
    for (flag, value, shown) in [
        (
            "--loss",
            "least-squares",
            "--loss (the run has hinge, this command asks for least-squares)",
        ),
        (
            "--lr-d",
            "0.0002",
            "--lr-d (the run has 0.0001, this command asks for 0.0002)",
        ),
    ] {
        let err = fails(dcgan(home).args([
            "train", "--out", "two", "--resume", "--epochs", "3", flag, value,
        ]));
        assert!(err.contains(shown), "{err}");
    }
    let err = fails(dcgan(home).args(["train", "--out", "bad", "--lr-g", "-1"]));
    assert!(err.contains("--lr-g"), "{err}");
}

/// `--d-steps 3`: G steps once per three D steps, so over six iterations G's weights move
/// twice; the run says so and records it.
#[test]
fn d_steps_train_the_critic_more_often_than_g() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flags = [
        "--loss",
        "wasserstein",
        "--d-steps",
        "3",
        "--weight-clip",
        "0.02",
    ];
    let stdout = run(home, "critic", 2, &flags);
    assert!(
        stdout.contains("3 D steps per G step") && stdout.contains("clipped to ±0.02"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(home.join("critic/config.toml")).unwrap();
    assert!(config.contains("d_steps = 3") && config.contains("weight_clip = 0.02"));
    // The same run with one D step per G step trains other weights.
    run(
        home,
        "every",
        2,
        &["--loss", "wasserstein", "--weight-clip", "0.02"],
    );
    assert!(weights(home, "critic") != weights(home, "every"));
    let err = fails(dcgan(home).args(["train", "--out", "bad", "--d-steps", "0"]));
    assert!(err.contains("--d-steps"), "{err}");
}
