//! Property tests over arbitrary and damaged bytes: the IDX reader and the checkpoint loader
//! never panic, and every error names the file.

use std::io::Write;

use burn::tensor::Device;
use dcgan::data::idx::{encode_idx, parse_idx, read_idx};
use dcgan::train::checkpoint;
use dcgan::train::{RunState, TrainConfig};
use proptest::prelude::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A small valid images file: 3 images of 4×5.
fn valid_images() -> Vec<u8> {
    encode_idx(&[3, 4, 5], &(0..60).collect::<Vec<u8>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn idx_parser_accepts_only_consistent_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200), rank in 1usize..4) {
        if let Ok(array) = parse_idx(&bytes, rank) {
            prop_assert_eq!(array.dims.len(), rank);
            prop_assert_eq!(array.data.len(), array.dims.iter().product::<usize>());
        }
    }

    #[test]
    fn damaged_idx_files_give_errors_naming_the_file(
        cut in 0usize..76,
        flip in 0usize..76,
        bits in 1u8..=255,
        zipped in any::<bool>(),
    ) {
        let mut bytes = valid_images();
        let flip = flip % bytes.len();
        bytes[flip] ^= bits;
        bytes.truncate(cut.max(1));
        let bytes = if zipped { gzip(&bytes) } else { bytes };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.idx");
        std::fs::write(&path, &bytes).unwrap();
        match read_idx(&path, 3) {
            Ok(array) => prop_assert_eq!(array.data.len(), array.dims.iter().product::<usize>()),
            Err(err) => prop_assert!(err.to_string().contains("images.idx"), "{}", err),
        }
    }

    #[test]
    fn arbitrary_gzip_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut stream = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
        stream.extend(bytes);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.gz");
        std::fs::write(&path, &stream).unwrap();
        if let Err(err) = read_idx(&path, 1) {
            prop_assert!(err.to_string().contains("labels.gz"));
        }
    }
}

/// A real checkpoint of an untrained run, made once.
fn checkpoint_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (state, gan) = RunState::start(TrainConfig::default(), &Device::flex());
        let path = checkpoint::save(dir.path(), &state, &gan).unwrap();
        std::fs::read(path).unwrap()
    })
}

/// Recomputes the trailing SHA-256, so damage inside the file reaches the section parser.
fn reseal(bytes: &mut Vec<u8>) {
    use sha2::{Digest, Sha256};
    let body_len = bytes.len().saturating_sub(32);
    let digest = Sha256::digest(&bytes[..body_len]);
    bytes.truncate(body_len);
    bytes.extend(digest);
}

fn load(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.dcgan");
    std::fs::write(&path, bytes).unwrap();
    checkpoint::load(&path, &Device::flex())
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn the_real_checkpoint_loads() {
    load(checkpoint_bytes()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn truncated_or_flipped_checkpoints_are_reported(cut in 0.0f64..1.0, flip in 0.0f64..1.0, bits in 1u8..=255) {
        let mut bytes = checkpoint_bytes().to_vec();
        let at = (flip * bytes.len() as f64) as usize % bytes.len();
        bytes[at] ^= bits;
        let err = load(&bytes).unwrap_err();
        prop_assert!(err.contains("damaged.dcgan") && err.contains("checksum"), "{}", err);
        let keep = (cut * bytes.len() as f64) as usize;
        let err = load(&checkpoint_bytes()[..keep]).unwrap_err();
        prop_assert!(err.contains("damaged.dcgan"), "{}", err);
    }

    #[test]
    fn damage_behind_a_valid_checksum_never_panics(flip in 0.0f64..1.0, bits in 1u8..=255, header in any::<bool>()) {
        let mut bytes = checkpoint_bytes().to_vec();
        // Half the cases hit the first 200 bytes: magic, version and section table.
        let span = if header { 200 } else { bytes.len() - 32 };
        let at = (flip * span as f64) as usize;
        bytes[at] ^= bits;
        reseal(&mut bytes);
        if let Err(err) = load(&bytes) {
            prop_assert!(err.contains("damaged.dcgan"), "{}", err);
        }
    }
}
