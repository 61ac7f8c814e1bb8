//! Conditional GANs (`--conditional cgan|acgan|projection`) with the other options
//! (`--ema`, `--spectral-norm`, `--augment`, `--d-steps`, losses, two learning rates):
//! trained on real MNIST digits and their labels, recorded in the run and the generator
//! file, repeatable, resumed exactly with all options at once, and asked for classes by
//! `sample --class` and `interpolate --class … --to-class …`.

mod util;

use std::path::Path;

use util::{dcgan, fails, mnist_dir, ok};

/// A short seeded run with `extra` flags: `epochs` epochs of 3 batches of 32 images.
fn run(home: &Path, out: &str, epochs: u32, extra: &[&str]) -> String {
    let epochs = epochs.to_string();
    let output = ok(dcgan(home)
        .args(["train", "--data-dir"])
        .arg(mnist_dir())
        .args(["--epochs", &epochs, "--limit-batches", "3"])
        .args(["--batch-size", "32", "--seed", "4", "--out", out])
        .args(extra));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(home: &Path, path: &str) -> Vec<u8> {
    std::fs::read(home.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The float32 values and shape of a `.npy` file written by `dcgan sample`.
fn npy(home: &Path, path: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = read(home, path);
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    let shape = header.split('(').nth(1).unwrap().split(')').next().unwrap();
    let shape = shape
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse().unwrap())
        .collect();
    let values = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (shape, values)
}

#[test]
fn each_kind_trains_records_itself_and_draws_the_class_asked_for() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let mut trained = Vec::new();
    for kind in ["cgan", "acgan", "projection"] {
        let stdout = run(home, kind, 1, &["--conditional", kind]);
        assert!(
            stdout.contains(&format!("conditional ({kind}, 10 classes)")),
            "{stdout}"
        );
        let config = String::from_utf8(read(home, &format!("{kind}/config.toml"))).unwrap();
        assert!(
            config.contains(&format!("conditional = \"{kind}\"")),
            "{config}"
        );
        let bytes = read(home, &format!("{kind}/generator.safetensors"));
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap();
        assert_eq!(meta["conditioning"], kind);
        assert_eq!(
            meta["classes"],
            r#"["0","1","2","3","4","5","6","7","8","9"]"#
        );
        trained.push(bytes);
    }
    assert!(trained[0] != trained[1] && trained[1] != trained[2]);

    // `--class all`: one row per class, the same noise down each column; row 3 is what
    // `--class 3` draws from the same seed, from the run or from its generator file.
    ok(dcgan(home).args([
        "sample",
        "--checkpoint",
        "acgan",
        "--class",
        "all",
        "--columns",
        "4",
        "--seed",
        "2",
        "--out",
        "all.npy",
    ]));
    let (shape, all) = npy(home, "all.npy");
    assert_eq!(shape, [40, 1, 28, 28]);
    let image = 28 * 28;
    for source in ["acgan", "acgan/generator.safetensors"] {
        ok(dcgan(home).args([
            "sample",
            "--checkpoint",
            source,
            "--class",
            "3",
            "--n",
            "4",
            "--seed",
            "2",
            "--out",
            "three.npy",
        ]));
        let (shape, three) = npy(home, "three.npy");
        assert_eq!(shape, [4, 1, 28, 28]);
        assert_eq!(three, all[12 * image..16 * image], "{source}");
    }
    // Other classes draw other images from the same noise.
    assert!(all[..4 * image] != all[12 * image..16 * image]);
    ok(dcgan(home).args([
        "sample",
        "--checkpoint",
        "acgan",
        "--class",
        "all",
        "--out",
        "all.png",
    ]));
    let grid = image::open(home.join("all.png")).unwrap();
    assert!(grid.height() > 9 * grid.width() / 10, "ten rows of ten");

    // A morph from class 3 to class 8 keeps the noise: its ends are those classes' images.
    ok(dcgan(home).args([
        "interpolate",
        "--checkpoint",
        "acgan",
        "--class",
        "3",
        "--to-class",
        "8",
        "--steps",
        "5",
        "--out",
        "morph.npy",
    ]));
    let (shape, morph) = npy(home, "morph.npy");
    assert_eq!(shape, [5, 1, 28, 28]);
    assert!(morph[..image] != morph[4 * image..]);

    // Bad classes are refused by name, before any work.
    let err = fails(dcgan(home).args([
        "sample",
        "--checkpoint",
        "acgan",
        "--class",
        "12",
        "--out",
        "x.png",
    ]));
    assert!(
        err.contains("--class 12") && err.contains("0 to 9"),
        "{err}"
    );
    run(home, "plain", 1, &[]);
    let err = fails(dcgan(home).args([
        "sample",
        "--checkpoint",
        "plain",
        "--class",
        "3",
        "--out",
        "x.png",
    ]));
    assert!(err.contains("unconditional"), "{err}");
}

#[test]
fn a_conditional_run_is_repeatable_and_resumes_exactly() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flags = [
        "--conditional",
        "acgan",
        "--loss",
        "hinge",
        "--lr-g",
        "0.0004",
        "--lr-d",
        "0.0001",
        "--d-steps",
        "2",
        "--spectral-norm",
        "--augment",
        "translation,cutout,color",
        "--ema",
        "0.99",
    ];
    run(home, "two", 2, &flags);
    // The generator file holds the average, and says so.
    let bytes = read(home, "two/generator.safetensors");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["ema_decay"], "0.99");
    // And how it was trained.
    let training: serde_json::Value = serde_json::from_str(&meta["training"]).unwrap();
    assert_eq!(training["loss"], "hinge");
    assert_eq!(training["d_steps"], 2);
    assert_eq!(training["spectral_norm"], true);
    assert_eq!(training["conditional"], "acgan");
    assert_eq!(
        training["augment"],
        serde_json::json!(["translation", "cutout", "color"])
    );
    run(home, "plain", 2, &flags[..flags.len() - 2]);
    assert!(bytes != read(home, "plain/generator.safetensors"));
    run(home, "again", 2, &flags);
    assert!(read(home, "two/generator.safetensors") == read(home, "again/generator.safetensors"));
    assert!(read(home, "two/checkpoint.dcgan") == read(home, "again/checkpoint.dcgan"));
    run(home, "half", 1, &flags);
    ok(dcgan(home)
        .args([
            "train",
            "--out",
            "half",
            "--resume",
            "--epochs",
            "2",
            "--data-dir",
        ])
        .arg(mnist_dir()));
    assert!(read(home, "two/generator.safetensors") == read(home, "half/generator.safetensors"));
    assert!(read(home, "two/checkpoint.dcgan") == read(home, "half/checkpoint.dcgan"));

    // The conditioning and the average are part of the run.
    let err = fails(dcgan(home).args([
        "train",
        "--out",
        "two",
        "--resume",
        "--epochs",
        "3",
        "--conditional",
        "cgan",
    ]));
    assert!(
        err.contains("--conditional (the run has acgan, this command asks for cgan)"),
        "{err}"
    );
    let err = fails(dcgan(home).args([
        "train", "--out", "two", "--resume", "--epochs", "3", "--ema", "0.999",
    ]));
    assert!(
        err.contains("--ema (the run has 0.99, this command asks for 0.999)"),
        "{err}"
    );
}

#[test]
fn a_folder_without_class_sub_folders_is_refused_for_conditional_training() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flat = home.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    for i in 0..4u8 {
        image::RgbImage::from_pixel(16, 16, image::Rgb([i * 60, 90, 200]))
            .save(flat.join(format!("{i}.png")))
            .unwrap();
    }
    let err = fails(
        dcgan(home)
            .args(["train", "--dataset", "folder", "--data-dir"])
            .arg(&flat)
            .args([
                "--image-size",
                "16",
                "--conditional",
                "cgan",
                "--out",
                "run",
            ]),
    );
    assert!(
        err.contains("--conditional cgan") && err.contains("no class sub-folders"),
        "{err}"
    );
    assert!(!home.join("run/checkpoint.dcgan").exists());

    // With a sub-folder per class, the classes are the sub-folders, by name.
    let labelled = home.join("labelled");
    for (class, colour) in [("red", [220, 20, 20]), ("blue", [20, 20, 220])] {
        std::fs::create_dir_all(labelled.join(class)).unwrap();
        for i in 0..8u8 {
            image::RgbImage::from_pixel(16, 16, image::Rgb([colour[0], i * 20, colour[2]]))
                .save(labelled.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    ok(dcgan(home)
        .args(["train", "--dataset", "folder", "--data-dir"])
        .arg(&labelled)
        .args([
            "--image-size",
            "16",
            "--conditional",
            "projection",
            "--epochs",
            "1",
        ])
        .args(["--batch-size", "8", "--seed", "1", "--out", "folder"]));
    let config = String::from_utf8(read(home, "folder/config.toml")).unwrap();
    let config: toml::Value = toml::from_str(&config).unwrap();
    assert_eq!(config["classes"], toml::Value::from(vec!["blue", "red"]));
    ok(dcgan(home).args([
        "sample",
        "--checkpoint",
        "folder",
        "--class",
        "red",
        "--n",
        "2",
        "--out",
        "red.png",
    ]));
}
