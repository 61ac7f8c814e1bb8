//! CIFAR-10's download against a local HTTP server: the published checksum refuses other
//! bytes, a truncated transfer leaves nothing, and a good archive (the published layout,
//! made up here, with its own checksum) is extracted into the cache, where the next search
//! finds it without a download.
//!
//! One test, because it sets environment variables (the cache's location, the mirror) that
//! every search reads.

mod util;

use std::collections::HashMap;
use std::path::Path;

use dcgan::data::cifar10::{RECORD, RECORDS_PER_BATCH, fetch};
use dcgan::data::download::sha256_hex;
use dcgan::data::{ArchiveSpec, DataSource, DatasetKind, LocateOptions, Split, locate};
use util::{Reply, serve};

const BATCHES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// Batch `file`'s record `i`: label `i % 10`; the first red byte `file`, the first green
/// byte `i % 256`, the rest 0.
fn batch(file: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; RECORDS_PER_BATCH * RECORD];
    for (i, record) in bytes.chunks_exact_mut(RECORD).enumerate() {
        record[0] = (i % 10) as u8;
        record[1] = file;
        record[1 + 1024] = (i % 256) as u8;
    }
    bytes
}

/// A `cifar-10-binary.tar.gz` with the published layout (and a file that is not a batch).
fn archive() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut add = |path: &str, body: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, body).unwrap();
    };
    add("cifar-10-batches-bin/readme.html", b"<html></html>");
    for (k, name) in BATCHES.iter().enumerate() {
        add(&format!("cifar-10-batches-bin/{name}"), &batch(k as u8 + 1));
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn cifar10_download_is_checked_extracted_and_found_in_the_cache() {
    let body = archive();
    let whole = Reply {
        body: body.clone(),
        announced_len: body.len(),
    };
    let cut = Reply {
        body: body[..body.len() / 3].to_vec(),
        announced_len: body.len(),
    };
    let base = serve(HashMap::from([
        ("/good/cifar-10-binary.tar.gz".to_string(), whole),
        ("/cut/cifar-10-binary.tar.gz".to_string(), cut),
    ]));
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache/dcgan/cifar10");
    // SAFETY: the only test in this binary, so no other thread reads the environment.
    unsafe {
        std::env::set_var("XDG_CACHE_HOME", home.path().join("cache"));
        std::env::set_var("DCGAN_MIRROR", format!("{base}good/"));
        std::env::remove_var("DCGAN_DATA_DIR");
        std::env::remove_var("DCGAN_OFFLINE");
    }
    let options = LocateOptions {
        explicit: true,
        ..LocateOptions::default()
    };

    // The published checksum refuses the made-up archive; nothing is kept.
    let err = locate(DatasetKind::Cifar10, Split::Train, &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum mismatch")
            && err.contains("cifar-10-binary.tar.gz")
            && err.contains("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
        "{err}"
    );
    assert!(err.contains(&format!("got {} bytes", body.len())), "{err}");
    assert_eq!(entries(&cache), Vec::<String>::new());

    // The archive's own checksum, given to the fetch directly.
    let spec = ArchiveSpec {
        name: "cifar-10-binary.tar.gz",
        size: body.len() as u64,
        sha256: Box::leak(sha256_hex(&body).into_boxed_str()),
    };
    let err = fetch(&format!("{base}cut/"), &spec, &cache)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("truncated") || err.contains("interrupted"),
        "{err}"
    );
    assert_eq!(entries(&cache), Vec::<String>::new());
    let wrong = ArchiveSpec {
        sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        ..spec
    };
    let err = fetch(&format!("{base}good/"), &wrong, &cache)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    assert_eq!(entries(&cache), Vec::<String>::new());

    let dir = fetch(&format!("{base}good/"), &spec, &cache).unwrap();
    assert_eq!(dir, cache.join("cifar-10-batches-bin"));
    // The batches, and neither the archive nor a temporary file nor the readme.
    assert_eq!(entries(&cache), ["cifar-10-batches-bin"]);
    let mut expected: Vec<String> = BATCHES.iter().map(|b| b.to_string()).collect();
    expected.sort();
    assert_eq!(entries(&dir), expected);

    // Found in the cache now, without a download.
    unsafe {
        std::env::set_var("DCGAN_OFFLINE", "1");
    }
    let (train, source) = locate(DatasetKind::Cifar10, Split::Train, &options).unwrap();
    assert_eq!(source, DataSource::Directory(dir.clone()));
    assert_eq!(
        (train.len, train.channels, train.height, train.width),
        (50_000, 3, 32, 32)
    );
    assert_eq!(train.classes[0], "airplane");
    for (i, file) in [(0, 1), (9_999, 1), (10_000, 2), (49_999, 5)] {
        let image = train.image(i);
        let k = i % RECORDS_PER_BATCH;
        assert_eq!(
            (train.labels[i], image[0], image[1024]),
            ((k % 10) as u8, file, (k % 256) as u8),
            "image {i}"
        );
    }
    let grey = LocateOptions {
        image_size: Some(16),
        channels: Some(1),
        ..options.clone()
    };
    let (test, _) = locate(DatasetKind::Cifar10, Split::Test, &grey).unwrap();
    assert_eq!((test.len, test.channels, test.height), (10_000, 1, 16));
    assert_eq!(test.labels[..3], [0, 1, 2]);
}
