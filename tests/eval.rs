//! End-to-end tests of `dcgan eval` (with the built-in classifier and with one trained by
//! `dcgan classifier train`) and `dcgan train --eval-every`, on real MNIST digits.

mod util;

use std::path::Path;

use util::{dcgan, fails, mnist_dir, ok};

fn scores(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn eval(home: &Path, what: &[&str], json: &str) -> serde_json::Value {
    let out = ok(dcgan(home)
        .arg("eval")
        .args(what)
        .args(["--n", "500", "--json", json, "--data-dir"])
        .arg(mnist_dir()));
    let table = String::from_utf8_lossy(&out.stdout);
    for row in [
        "FID",
        "KID",
        "IS",
        "precision",
        "recall",
        "classes",
        "histogram",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    let (header, compared) = if what.contains(&"--real-vs-real") {
        ("500 real training vs 500 real test images", "real-training")
    } else {
        ("500 generated vs 500 real images", "generated")
    };
    assert!(table.contains(header), "{header} missing from\n{table}");
    let scores = scores(&home.join(json));
    assert_eq!(scores["compared"], compared);
    // Without --classifier, the built-in one, named with its checksum in table and JSON.
    let builtin =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/classifiers/mnist.dcgan"))
            .unwrap();
    let sha256 = sha256_hex(&builtin);
    assert_eq!(scores["features"]["kind"], "classifier");
    assert_eq!(scores["features"]["name"], "built-in mnist");
    assert_eq!(scores["features"]["sha256"], sha256.as_str());
    assert!(
        table.contains(&format!("built-in mnist (sha256 {})", &sha256[..12])),
        "{table}"
    );
    scores
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn training_improves_every_score_and_eval_every_keeps_the_best_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    // A classifier of one's own: trained quickly, named by its file in the scores.
    let out = ok(dcgan(home)
        .args([
            "classifier",
            "train",
            "--epochs",
            "1",
            "--train-images",
            "2000",
        ])
        .args(["--out", "c.dcgan", "--data-dir"])
        .arg(mnist_dir()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("test accuracy"), "{text}");
    let out = ok(dcgan(home)
        .args([
            "eval",
            "--real-vs-real",
            "--classifier",
            "c.dcgan",
            "--n",
            "100",
        ])
        .args(["--json", "own.json", "--data-dir"])
        .arg(mnist_dir()));
    let own = scores(&home.join("own.json"));
    assert_eq!(own["features"]["name"], "c.dcgan");
    let sha256 = sha256_hex(&std::fs::read(home.join("c.dcgan")).unwrap());
    assert_eq!(own["features"]["sha256"], sha256.as_str());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("c.dcgan (sha256 {})", &sha256[..12]))
    );
    let err = fails(dcgan(home).args(["eval", "--real-vs-real", "--classifier", "missing.dcgan"]));
    assert!(err.contains("missing.dcgan"), "{err}");

    let train = |out: &str, batches: &str, extra: &[&str]| {
        ok(dcgan(home)
            .args([
                "train",
                "--epochs",
                "2",
                "--batch-size",
                "25",
                "--seed",
                "1",
            ])
            .args(["--limit-batches", batches, "--out", out, "--data-dir"])
            .arg(mnist_dir())
            .args(extra))
    };
    // Two steps: a generator that has learnt nothing yet. The trained one gets 200 steps, so
    // its scores are far better but far from a real run's.
    train("untrained", "1", &[]);
    let out = train("trained", "100", &["--eval-every", "1", "--eval-n", "300"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("eval: FID"), "{text}");

    let floor = eval(home, &["--real-vs-real"], "floor.json");
    let before = eval(home, &["--checkpoint", "untrained"], "before.json");
    let after = eval(home, &["--checkpoint", "trained"], "after.json");
    let fid = |s: &serde_json::Value| s["fid"].as_f64().unwrap();
    assert!(
        fid(&floor) < fid(&after) && fid(&after) < 0.7 * fid(&before),
        "FID: real {} trained {} untrained {}",
        fid(&floor),
        fid(&after),
        fid(&before)
    );
    let kid = |s: &serde_json::Value| s["kid"]["mean"].as_f64().unwrap();
    assert!(
        kid(&after) < kid(&before),
        "KID {} vs {}",
        kid(&after),
        kid(&before)
    );
    assert!(
        kid(&floor).abs() < 0.1 * kid(&after),
        "KID floor {}",
        kid(&floor)
    );
    let recall = |s: &serde_json::Value| s["precision_recall"]["recall"].as_f64().unwrap();
    assert!(recall(&floor) > 0.8, "real recall {}", recall(&floor));
    assert_eq!(floor["modes"]["classes_present"], 10);
    assert_eq!(floor["n_generated"], 500);

    // --eval-every: the scores in TensorBoard and eval.jsonl, the best checkpoint kept.
    let run = home.join("trained");
    let evals: Vec<serde_json::Value> = std::fs::read_to_string(run.join("eval.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evals.len(), 2);
    assert_eq!(
        (evals[0]["step"].as_u64(), evals[1]["epoch"].as_u64()),
        (Some(100), Some(1))
    );
    assert!(run.join("checkpoint.best.dcgan").is_file());
    assert!(run.join("generator.best.safetensors").is_file());
    // The report's FID curve, drawn when training ended.
    let plot = image::open(run.join("fid.png")).unwrap();
    assert_eq!((plot.width(), plot.height()), (1000, 420));
    // The best checkpoint is the one written after the epoch with the lower FID.
    let best_epoch = if fid(&evals[1]) < fid(&evals[0]) {
        "checkpoint.dcgan"
    } else {
        "checkpoint.prev.dcgan"
    };
    assert!(
        std::fs::read(run.join("checkpoint.best.dcgan")).unwrap()
            == std::fs::read(run.join(best_epoch)).unwrap(),
        "checkpoint.best.dcgan is not {best_epoch}"
    );
}
