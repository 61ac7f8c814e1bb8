//! Training on a folder of real colour images (the npm package emoji-datasource-twitter's
//! 3,786 emoji, installed by `scripts/emoji-data.sh` outside the clone) in the DCGAN paper's
//! family at 32×32: pictures, repeatable seeded runs, exact resume, and the outputs of
//! `dcgan sample` for colour images.

mod util;

use std::path::Path;

use util::{dcgan, emoji_or_skip, fails, ok};

/// A short seeded run on the emoji at 32×32 RGB with narrow networks.
fn emoji_run(home: &Path, emoji: &Path, out: &str, epochs: u32) -> String {
    let epochs = epochs.to_string();
    let emoji = emoji.to_str().unwrap();
    let args = [
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        emoji,
        "--image-size",
        "32",
        "--channels",
        "3",
        "--g-width",
        "16",
        "--d-width",
        "16",
        "--batch-size",
        "16",
        "--limit-batches",
        "3",
        "--epochs",
        &epochs,
        "--seed",
        "4",
        "--out",
        out,
    ];
    let output = ok(dcgan(home).args(args));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(home: &Path, path: &str) -> Vec<u8> {
    std::fs::read(home.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn trains_on_a_folder_of_colour_images_repeatably_and_resumes_exactly() {
    let Some(emoji) = emoji_or_skip("trains_on_a_folder_of_colour_images") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let first = emoji_run(home, &emoji, "a", 2);
    assert!(first.contains("3786 images"), "{first}");
    assert!(first.contains("DCGAN paper's family, 32×32 RGB"), "{first}");
    let config = String::from_utf8(read(home, "a/config.toml")).unwrap();
    assert!(
        config.contains("image_size = 32") && config.contains("g_width = 16"),
        "{config}"
    );

    // The per-epoch picture: two rows of ten 32×32 colour tiles, drawn twice as large.
    let picture = image::open(home.join("a/samples/epoch_000.png")).unwrap();
    assert!(matches!(picture, image::DynamicImage::ImageRgb8(_)));
    assert_eq!(
        (picture.width(), picture.height()),
        (10 * 66 + 2, 2 * 66 + 2)
    );

    // The same seed again: read from the cache, byte-identical results.
    let second = emoji_run(home, &emoji, "b", 2);
    assert!(second.contains("cached"), "{second}");
    assert!(read(home, "a/generator.safetensors") == read(home, "b/generator.safetensors"));
    assert!(read(home, "a/checkpoint.dcgan") == read(home, "b/checkpoint.dcgan"));

    // One epoch, then resumed with no flags: the same as two in one go.
    emoji_run(home, &emoji, "c", 1);
    assert!(read(home, "a/generator.safetensors") != read(home, "c/generator.safetensors"));
    ok(dcgan(home).args(["train", "--out", "c", "--resume", "--epochs", "2"]));
    assert!(read(home, "a/generator.safetensors") == read(home, "c/generator.safetensors"));
    assert!(read(home, "a/checkpoint.dcgan") == read(home, "c/checkpoint.dcgan"));

    // Another size is another network: refused on resume, naming the flag.
    let err = fails(dcgan(home).args([
        "train",
        "--out",
        "c",
        "--resume",
        "--epochs",
        "3",
        "--image-size",
        "64",
    ]));
    assert!(err.contains("--image-size (the run has 32"), "{err}");
}

#[test]
fn samples_colour_images_as_a_grid_a_directory_and_a_float_array() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(dcgan(home).args([
        "train",
        "--dataset",
        "fake",
        "--image-size",
        "16",
        "--channels",
        "3",
        "--g-width",
        "8",
        "--d-width",
        "8",
        "--batch-size",
        "8",
        "--limit-batches",
        "2",
        "--epochs",
        "1",
        "--seed",
        "1",
        "--out",
        "run",
    ]));
    // From the run directory and from the generator file alone: the same images.
    for (checkpoint, out) in [("run", "a.npy"), ("run/generator.safetensors", "b.npy")] {
        ok(dcgan(home).args([
            "sample",
            "--checkpoint",
            checkpoint,
            "--n",
            "5",
            "--out",
            out,
        ]));
    }
    let npy = read(home, "a.npy");
    assert!(
        npy == read(home, "b.npy"),
        "the generator file samples as the run does"
    );
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'<f4'") && header.contains("(5, 3, 16, 16)"),
        "{header}"
    );
    let values: Vec<f32> = npy[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(values.len(), 5 * 3 * 16 * 16);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));

    ok(dcgan(home).args(["sample", "--checkpoint", "run", "--n", "3", "--out", "dir/"]));
    let tile = image::open(home.join("dir/000002.png")).unwrap();
    assert!(matches!(tile, image::DynamicImage::ImageRgb8(_)));
    assert_eq!(
        (tile.width(), tile.height()),
        (32, 32),
        "drawn twice as large"
    );
    ok(dcgan(home).args([
        "interpolate",
        "--checkpoint",
        "run",
        "--steps",
        "4",
        "--out",
        "i.png",
    ]));

    // Colour images are scored by Inception, whose weights this empty cache lacks: the
    // error says how to get them. No classifier exists for 16×16 RGB.
    let err = fails(dcgan(home).env_remove("DCGAN_INCEPTION").args([
        "eval",
        "--checkpoint",
        "run",
        "--n",
        "20",
    ]));
    assert!(err.contains("no Inception weights found"), "{err}");
    assert!(err.contains("scripts/inception-weights.sh"), "{err}");
    let err = fails(dcgan(home).args([
        "eval",
        "--checkpoint",
        "run",
        "--n",
        "20",
        "--features",
        "classifier",
    ]));
    assert!(err.contains("16×16 RGB"), "{err}");
}

#[test]
fn bad_architecture_flags_name_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    for (args, flag) in [
        (
            vec!["--dataset", "fake", "--image-size", "48"],
            "--image-size",
        ),
        (vec!["--dataset", "fake", "--channels", "2"], "--channels"),
        (vec!["--g-width", "64"], "--g-width"),
        (vec!["--dataset", "fake", "--d-width", "0"], "--d-width"),
    ] {
        let mut cmd = dcgan(home);
        cmd.args(["train", "--out", "run"]).args(&args);
        let err = fails(&mut cmd);
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!home.join("run/checkpoint.dcgan").exists());
    }
}

/// A folder that changes between a run and its resume would train the rest on other
/// images: refused, naming the folder.
#[test]
fn a_folder_changed_since_the_run_began_is_refused_on_resume() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let folder = home.join("pictures");
    std::fs::create_dir(&folder).unwrap();
    let write = |name: &str, shade: u8| {
        let image =
            image::RgbImage::from_fn(20, 24, |x, y| image::Rgb([shade, x as u8 * 9, y as u8 * 9]));
        image.save(folder.join(name)).unwrap();
    };
    for i in 0..8u8 {
        write(&format!("{i}.png"), i * 30);
    }
    let train = |epochs: &str, resume: bool| {
        let mut cmd = dcgan(home);
        cmd.args([
            "train",
            "--dataset",
            "folder",
            "--data-dir",
            "pictures",
            "--image-size",
            "16",
        ]);
        cmd.args([
            "--g-width",
            "4",
            "--d-width",
            "4",
            "--batch-size",
            "4",
            "--seed",
            "2",
        ]);
        cmd.args(["--epochs", epochs, "--out", "run"]);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    ok(&mut train("1", false));
    // Unchanged, the run continues.
    ok(&mut train("2", true));
    write("8.png", 250);
    let err = fails(&mut train("3", true));
    assert!(
        err.contains("pictures") && err.contains("changed since this run began"),
        "{err}"
    );
}

/// Six small colour pictures in `home/pictures`, and the flags of a one-epoch run on them
/// with tiny networks on batches of 3.
fn tiny_folder(home: &Path) -> Vec<&'static str> {
    let mut flags = folder_of(home, 6);
    flags.extend(["--batch-size", "3"]);
    flags
}

/// Writes `count` (at most 240) distinct 16×16 colour images into `home/pictures` and
/// returns the flags of a one-epoch seeded run on them with tiny networks and no batch size.
fn folder_of(home: &Path, count: u8) -> Vec<&'static str> {
    let folder = home.join("pictures");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..count {
        let image = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([i * (240 / count), x as u8 * 15, 255 - y as u8 * 15])
        });
        image.save(folder.join(format!("{i}.png"))).unwrap();
    }
    vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        "pictures",
        "--image-size",
        "16",
        "--g-width",
        "4",
        "--d-width",
        "4",
        "--epochs",
        "1",
        "--seed",
        "1",
    ]
}

fn config(home: &Path, run: &str) -> toml::Table {
    let text = String::from_utf8(read(home, &format!("{run}/config.toml"))).unwrap();
    toml::from_str(&text).unwrap()
}

/// A small folder trains with the small-folder preset unless the command names a preset;
/// the choice is announced, recorded in config.toml, and single flags still override it.
#[test]
fn a_small_folder_gets_the_small_folder_recipe_unless_told_otherwise() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flags = tiny_folder(home);

    let out = ok(dcgan(home).args(&flags).args(["--out", "chosen"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("recipe: small-folder") && stdout.contains("folder of 6 images"),
        "{stdout}"
    );
    let c = config(home, "chosen");
    assert_eq!(c["preset"].as_str(), Some("small-folder"));
    assert_eq!(c["loss"].as_str(), Some("hinge"));
    assert_eq!(c["spectral_norm"].as_bool(), Some(true));
    assert_eq!(c["ema"].as_float(), Some(0.999));
    assert_eq!(c["augment"].as_array().map(Vec::len), Some(3));
    // The preset's batches of 32 give way to the command's --batch-size.
    assert_eq!(c["batch_size"].as_integer(), Some(3));

    // --preset paper: the 2016 recipe, and no announcement.
    let out = ok(dcgan(home)
        .args(&flags)
        .args(["--preset", "paper", "--out", "paper"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("recipe: small-folder"), "{stdout}");
    let c = config(home, "paper");
    assert_eq!(c["preset"].as_str(), Some("paper"));
    assert_eq!(c["loss"].as_str(), Some("non-saturating"));
    assert_eq!(c["spectral_norm"].as_bool(), Some(false));
    assert!(!c.contains_key("ema"));
    assert_eq!(c["augment"].as_array().map(Vec::len), Some(0));

    // A flag overrides one setting of the chosen preset and keeps the others; each of its
    // additions can be turned off.
    ok(dcgan(home)
        .args(&flags)
        .args(["--loss", "non-saturating", "--out", "flag"]));
    let c = config(home, "flag");
    assert_eq!(c["preset"].as_str(), Some("small-folder"));
    assert_eq!(c["loss"].as_str(), Some("non-saturating"));
    assert_eq!(c["spectral_norm"].as_bool(), Some(true));
    ok(dcgan(home).args(&flags).args([
        "--spectral-norm",
        "false",
        "--ema",
        "none",
        "--augment",
        "none",
        "--out",
        "off",
    ]));
    let c = config(home, "off");
    assert_eq!(c["spectral_norm"].as_bool(), Some(false));
    assert!(!c.contains_key("ema"));
    assert_eq!(c["augment"].as_array().map(Vec::len), Some(0));

    // A config file is a whole recipe: dcgan chooses nothing, and a preset it names is
    // where its other keys start from.
    std::fs::write(home.join("seed.toml"), "preset = \"seed\"\n").unwrap();
    ok(dcgan(home)
        .args(&flags)
        .args(["--config", "seed.toml", "--out", "file"]));
    let c = config(home, "file");
    assert_eq!(c["preset"].as_str(), Some("seed"));
    assert_eq!(c["optimizer"]["lr"].as_float(), Some(1e-3));
    assert_eq!(c["loss"].as_str(), Some("non-saturating"));
    std::fs::write(home.join("plain.toml"), "batch_size = 2\n").unwrap();
    let out = ok(dcgan(home)
        .args(&flags)
        .args(["--config", "plain.toml", "--out", "plain"]));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("recipe: small-folder"));
    let c = config(home, "plain");
    assert_eq!(c["preset"].as_str(), Some("paper"));
    assert_eq!(c["spectral_norm"].as_bool(), Some(false));

    // The chosen recipe is the run's own on resume.
    ok(dcgan(home)
        .args(&flags)
        .args(["--epochs", "2", "--out", "chosen", "--resume"]));
    assert_eq!(
        config(home, "chosen")["preset"].as_str(),
        Some("small-folder")
    );
}

/// The small-folder preset trains on batches of 32 where the command names no batch size,
/// and a folder smaller than that is an error naming the flag.
#[test]
fn the_small_folder_preset_trains_on_batches_of_32() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flags = folder_of(home, 40);
    let out = ok(dcgan(home).args(&flags).args(["--out", "chosen"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("batches of 32"), "{stdout}");
    assert_eq!(config(home, "chosen")["batch_size"].as_integer(), Some(32));
    // --preset paper keeps the paper's batches of 100, too many for 40 images.
    let err = fails(
        dcgan(home)
            .args(&flags)
            .args(["--preset", "paper", "--out", "paper"]),
    );
    assert!(
        err.contains("--batch-size 100 is larger than the data set (40 images)"),
        "{err}"
    );
}

/// A colour run scores itself by Inception FID with each picture when the weights are
/// installed (so report and serve draw its FID curve); without them it says so and trains
/// unscored; --eval-every 0 turns the scoring off.
#[test]
fn a_colour_run_is_scored_by_inception_when_the_weights_are_there() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let flags = tiny_folder(home);

    let out = ok(dcgan(home).args(&flags).args(["--out", "bare"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("not scored as it trains") && stdout.contains("dcgan inception fetch"),
        "{stdout}"
    );
    assert_eq!(config(home, "bare")["eval_every"].as_integer(), Some(0));
    let evaluations = |run: &str| {
        std::fs::read_to_string(home.join(run).join("eval.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(evaluations("bare"), 0);

    let Some(weights) = util::inception_weights_or_skip("a_colour_run_is_scored_by_inception")
    else {
        return;
    };
    let cache = home.join("cache/dcgan/inception");
    std::fs::create_dir_all(&cache).unwrap();
    std::os::unix::fs::symlink(&weights, cache.join(weights.file_name().unwrap())).unwrap();
    let out = ok(dcgan(home).args(&flags).args([
        "--sample-every",
        "2",
        "--eval-n",
        "20",
        "--out",
        "scored",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("scoring: Inception FID of 20 images every 2 epochs"),
        "{stdout}"
    );
    let c = config(home, "scored");
    assert_eq!(
        (c["eval_every"].as_integer(), c["eval_n"].as_integer()),
        (Some(2), Some(20))
    );
    // One epoch: scored after the last.
    assert_eq!(evaluations("scored"), 1);
    assert!(home.join("scored/fid.png").exists());

    // --eval-every 0 asks for none.
    ok(dcgan(home)
        .args(&flags)
        .args(["--eval-every", "0", "--out", "off"]));
    assert_eq!(config(home, "off")["eval_every"].as_integer(), Some(0));
    assert_eq!(evaluations("off"), 0);
}
