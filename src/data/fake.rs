//! `--dataset fake`: random images of the run's size and channels, for benchmarks and smoke
//! tests (as torchvision's `FakeData`). Always the same images: the generator is seeded with
//! a fixed number per split.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Split};

/// Images in the training split.
pub const TRAIN_LEN: usize = 1_000;
/// Images in the test split.
pub const TEST_LEN: usize = 200;
/// Classes of the labels, named "0" to "9".
pub const CLASSES: usize = 10;

/// The fake split: uniformly random bytes and labels, the same on every call.
pub fn generate(split: Split, channels: usize, size: usize) -> Dataset {
    let (len, seed) = match split {
        Split::Train => (TRAIN_LEN, 0x00fa_ce00_0001),
        Split::Test => (TEST_LEN, 0x00fa_ce00_0002),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = vec![0u8; len * channels * size * size];
    rng.fill_bytes(&mut pixels);
    let labels = (0..len)
        .map(|_| rng.random_range(0..CLASSES as u8))
        .collect();
    Dataset {
        len,
        channels,
        height: size,
        width: size,
        pixels: pixels.into(),
        labels,
        classes: (0..CLASSES).map(|c| c.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_request_and_every_call_gives_the_same_images() {
        let train = generate(Split::Train, 3, 8);
        assert_eq!(
            (train.len, train.channels, train.height, train.width),
            (1000, 3, 8, 8)
        );
        assert_eq!(train.pixels.len(), 1000 * 3 * 64);
        assert_eq!(train.image(999).len(), 192);
        assert_eq!(train.labels.len(), 1000);
        assert_eq!(train.classes.len(), 10);
        assert!(train.labels.iter().all(|&l| l < 10));
        for class in 0..10 {
            assert!(train.labels.contains(&class), "class {class} never drawn");
        }
        let again = generate(Split::Train, 3, 8);
        assert_eq!(
            (&again.pixels, &again.labels),
            (&train.pixels, &train.labels)
        );
        let test = generate(Split::Test, 1, 16);
        assert_eq!(
            (test.len, test.channels, test.pixels.len()),
            (200, 1, 200 * 256)
        );
        assert_ne!(test.pixels[..64], train.pixels[..64]);
        // Not constant: bytes spread over the whole range.
        let mean =
            train.pixels.iter().map(|&p| f64::from(p)).sum::<f64>() / train.pixels.len() as f64;
        assert!((120.0..135.0).contains(&mean), "{mean}");
    }
}
