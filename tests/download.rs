//! Downloads against a local HTTP server: a good file, a wrong checksum, a truncated transfer,
//! and the whole search order ending in a download into the cache.

mod util;

use std::collections::HashMap;
use std::io::Write;

use dcgan::data::FileSpec;
use dcgan::data::download::{download_file, sha256_hex};
use util::{Reply, dcgan, full_mnist_or_skip, ok, serve};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn good_file_wrong_checksum_and_truncated_transfer() {
    let data = b"some decompressed bytes".repeat(1000);
    let body = gzip(&data);
    let full = Reply {
        body: body.clone(),
        announced_len: body.len(),
    };
    let truncated = Reply {
        body: body[..body.len() / 2].to_vec(),
        announced_len: body.len(),
    };
    let base = serve(HashMap::from([
        ("/good.gz".to_string(), full.clone()),
        ("/bad.gz".to_string(), full),
        ("/cut.gz".to_string(), truncated),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let sha = sha256_hex(&data);
    // `FileSpec` wants 'static strings; leaking two short strings in a test is fine.
    let sha: &'static str = Box::leak(sha.into_boxed_str());

    let good = FileSpec {
        name: "good.gz",
        sha256: sha,
    };
    let path = download_file(&base, &good, dir.path()).unwrap();
    assert!(std::fs::read(&path).unwrap() == body);

    let bad = FileSpec {
        name: "bad.gz",
        sha256: "00",
    };
    let err = download_file(&base, &bad, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum mismatch") && err.contains("bad.gz"),
        "{err}"
    );
    assert!(
        !dir.path().join("bad.gz").exists(),
        "a bad file must not be kept"
    );

    let cut = FileSpec {
        name: "cut.gz",
        sha256: sha,
    };
    let err = download_file(&base, &cut, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cut.gz"), "{err}");
    assert!(
        !dir.path().join("cut.gz").exists(),
        "a partial file must not be kept"
    );

    let missing = FileSpec {
        name: "missing.gz",
        sha256: sha,
    };
    let err = download_file(&base, &missing, dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("404"), "{err}");
    // Only the good file and no temporary files are left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn training_downloads_mnist_into_the_cache_when_it_is_nowhere_else() {
    // The download checks the published checksums, which only the full files have.
    let Some(mnist) = full_mnist_or_skip("training_downloads_mnist_into_the_cache") else {
        return;
    };
    let replies = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
        .into_iter()
        .map(|name| {
            let body = std::fs::read(mnist.join(name)).unwrap();
            (
                format!("/mnist/{name}"),
                Reply {
                    announced_len: body.len(),
                    body,
                },
            )
        })
        .collect();
    let base = serve(replies);
    let home = tempfile::tempdir().unwrap();
    let out = ok(dcgan(home.path())
        .env_remove("DCGAN_OFFLINE")
        .env("DCGAN_MIRROR", format!("{base}mnist/"))
        .args([
            "train",
            "--dataset",
            "mnist",
            "--epochs",
            "1",
            "--limit-batches",
            "1",
            "--batch-size",
            "8",
            "--out",
            "run",
        ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("60000 images"), "{stdout}");
    let cached = home
        .path()
        .join("cache/dcgan/mnist/train-images-idx3-ubyte.gz");
    assert_eq!(
        std::fs::read(cached).unwrap(),
        std::fs::read(mnist.join("train-images-idx3-ubyte.gz")).unwrap()
    );
}
