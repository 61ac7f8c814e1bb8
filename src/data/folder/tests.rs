//! Folders of images: formats, sizes, alpha, grey, labels, skipped files and the cache.

use std::path::Path;
use std::time::{Duration, SystemTime};

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;

const RGB8: FolderOptions = FolderOptions {
    size: 8,
    channels: 3,
    background: Background::White,
};

fn save(image: DynamicImage, path: &Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    image.save(path).unwrap();
}

fn solid(w: u32, h: u32, rgb: [u8; 3]) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb(rgb)))
}

/// A pixel of image `i` as (red, green, blue); planes are `size * size` apart.
fn pixel(set: &Dataset, i: usize, x: usize, y: usize) -> [u8; 3] {
    let plane = set.height * set.width;
    let image = set.image(i);
    let at = y * set.width + x;
    [image[at], image[plane + at], image[2 * plane + at]]
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn reads_every_format_and_size_and_skips_what_it_cannot_decode() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Wide, thirds red | green | red: the centre crop is green.
    let wide = RgbImage::from_fn(60, 20, |x, _| {
        if (20..40).contains(&x) {
            Rgb([0, 255, 0])
        } else {
            Rgb([255, 0, 0])
        }
    });
    save(DynamicImage::ImageRgb8(wide), &root.join("a_wide.png"));
    save(solid(30, 30, [0, 0, 255]), &root.join("b_blue.jpg"));
    save(solid(16, 16, [0, 255, 0]), &root.join("c_green.GIF"));
    // Tall, thirds white / black / white: the centre crop is black.
    let tall = RgbImage::from_fn(10, 30, |_, y| {
        if (10..20).contains(&y) {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    });
    save(DynamicImage::ImageRgb8(tall), &root.join("d_tall.webp"));
    save(solid(8, 8, [200, 100, 50]), &root.join("sub/e_brown.bmp"));
    // Unreadable: random bytes, a truncated PNG, an empty JPEG.
    let noise: Vec<u8> = (0..500u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(root.join("noise.png"), noise).unwrap();
    let png = std::fs::read(root.join("a_wide.png")).unwrap();
    std::fs::write(root.join("cut.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(root.join("empty.jpeg"), b"").unwrap();
    // Ignored: other extensions and hidden files.
    std::fs::write(root.join("notes.txt"), b"not an image").unwrap();
    std::fs::write(root.join(".hidden.png"), b"junk").unwrap();

    let (set, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert_eq!((set.len, set.channels, set.height, set.width), (5, 3, 8, 8));
    assert_eq!(
        (source.files, source.skipped, source.from_cache),
        (8, 3, false)
    );
    assert!(set.classes.is_empty() && set.labels == [0; 5]);
    assert!(set.pixels.is_mapped());
    // Sorted path order: a_wide, b_blue, c_green, d_tall, sub/e_brown.
    // Green-dominant everywhere, pure green in the middle (the filter blends the edges).
    for x in 0..8 {
        let [r, g, b] = pixel(&set, 0, x, 4);
        assert!(g > r && g > b, "wide image's crop at x={x}: {r} {g} {b}");
        if (2..6).contains(&x) {
            assert!(g > 230 && r < 30, "wide image's crop at x={x}: {r} {g} {b}");
        }
    }
    let [r, g, b] = pixel(&set, 1, 4, 4);
    assert!(b > 200 && r < 50 && g < 50, "JPEG: {r} {g} {b}");
    let [r, g, b] = pixel(&set, 2, 4, 4);
    assert!(g > 200 && r < 50 && b < 50, "GIF: {r} {g} {b}");
    for y in 0..8 {
        let limit = if (2..6).contains(&y) { 30 } else { 128 };
        assert!(
            pixel(&set, 3, 4, y).iter().all(|&v| v < limit),
            "tall image's crop at y={y}"
        );
    }
    assert_eq!(pixel(&set, 4, 0, 0), [200, 100, 50]);
}

#[test]
fn alpha_goes_on_the_background_and_grey_is_luma() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut img = RgbaImage::from_pixel(8, 8, Rgba([255, 0, 0, 255]));
    for x in 0..8 {
        img.put_pixel(x, 0, Rgba([255, 0, 0, 0]));
    }
    save(DynamicImage::ImageRgba8(img), &dir.path().join("red.png"));
    let white = load(dir.path(), &RGB8, Some(cache.path())).unwrap().0;
    let black_options = FolderOptions {
        background: Background::Black,
        ..RGB8
    };
    let black = load(dir.path(), &black_options, Some(cache.path()))
        .unwrap()
        .0;
    assert_eq!(pixel(&white, 0, 3, 0), [255, 255, 255]);
    assert_eq!(pixel(&black, 0, 3, 0), [0, 0, 0]);
    assert_eq!(pixel(&white, 0, 3, 5), [255, 0, 0]);
    assert_eq!(pixel(&black, 0, 3, 5), [255, 0, 0]);
    let grey_options = FolderOptions {
        channels: 1,
        ..RGB8
    };
    let (grey, _) = load(dir.path(), &grey_options, Some(cache.path())).unwrap();
    assert_eq!((grey.channels, grey.image_len()), (1, 64));
    assert_eq!(grey.image(0)[8 * 5 + 3], 76);
    assert_eq!(grey.image(0)[3], 255);
    // One cache file for each shape and background.
    assert_eq!(cache_files(cache.path()).len(), 3);

    // A grey PNG made RGB copies the grey value.
    let grey_dir = tempfile::tempdir().unwrap();
    let g = GrayImage::from_pixel(8, 8, Luma([90]));
    save(DynamicImage::ImageLuma8(g), &grey_dir.path().join("g.png"));
    let (rgb, _) = load(grey_dir.path(), &RGB8, Some(cache.path())).unwrap();
    assert_eq!(pixel(&rgb, 0, 2, 2), [90, 90, 90]);
}

#[test]
fn first_level_sub_folders_are_the_classes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    save(solid(4, 4, [1, 1, 1]), &root.join("cats/1.png"));
    save(solid(4, 4, [2, 2, 2]), &root.join("cats/deep/2.png"));
    save(solid(4, 4, [3, 3, 3]), &root.join("dogs/3.png"));
    save(solid(4, 4, [4, 4, 4]), &root.join("ants/4.png"));
    std::fs::create_dir(root.join("empty")).unwrap();
    let (set, _) = load(root, &RGB8, None).unwrap();
    assert_eq!(set.classes, ["ants", "cats", "dogs"]);
    // ants/4, cats/1, cats/deep/2, dogs/3.
    assert_eq!(set.labels, [0, 1, 1, 2]);
    assert_eq!(set.image(0)[0], 4);
    assert_eq!(set.image(2)[0], 2);

    // One image beside the sub-folders: no classes.
    save(solid(4, 4, [5, 5, 5]), &root.join("loose.png"));
    let (set, source) = load(root, &RGB8, None).unwrap();
    assert!(set.classes.is_empty());
    assert_eq!(set.labels, [0; 5]);
    assert_eq!(source.cache, None);
}

#[test]
fn empty_missing_and_hopeless_folders_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = load(&empty, &RGB8, Some(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("empty") && err.contains("no image files"),
        "{err}"
    );

    let text = dir.path().join("text");
    std::fs::create_dir(&text).unwrap();
    std::fs::write(text.join("a.txt"), b"hello").unwrap();
    let err = load(&text, &RGB8, Some(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("text") && err.contains("no image files"),
        "{err}"
    );

    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("a.png"), b"not a png").unwrap();
    let err = load(&broken, &RGB8, Some(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken") && err.contains("none of its 1"),
        "{err}"
    );
    // Nothing half-written is left in the cache.
    assert!(cache_files(cache.path()).is_empty());

    let missing = dir.path().join("missing");
    let err = load(&missing, &RGB8, Some(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing") && err.contains("no such directory"),
        "{err}"
    );
}

#[test]
fn the_cache_is_used_refreshed_when_a_file_changes_and_rebuilt_when_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (i, name) in ["x/a.png", "x/b.png", "y/c.png"].into_iter().enumerate() {
        save(solid(12, 10, [i as u8 * 50, 7, 9]), &root.join(name));
    }
    let (first, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(!source.from_cache);
    let cache_file = source.cache.clone().unwrap();
    assert!(cache_file.starts_with(cache.path()));

    let (second, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(source.from_cache, "the second load decodes nothing");
    assert_eq!(second.pixels, first.pixels);
    assert_eq!(
        (second.labels.clone(), second.classes.clone()),
        (vec![0, 0, 1], vec!["x".to_string(), "y".into()])
    );

    // A changed file (same length, new contents and time) means a new cache file; the old
    // one goes.
    let changed = root.join("x/b.png");
    save(solid(12, 10, [250, 7, 9]), &changed);
    let later = SystemTime::now() + Duration::from_secs(10);
    File::options()
        .write(true)
        .open(&changed)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (third, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(!source.from_cache);
    assert_ne!(source.cache.as_ref(), Some(&cache_file));
    assert_eq!(pixel(&third, 1, 0, 0), [250, 7, 9]);
    assert_eq!(cache_files(cache.path()), [source.cache.clone().unwrap()]);

    // A truncated or corrupted cache file is rebuilt.
    let cache_file = source.cache.unwrap();
    let good = std::fs::read(&cache_file).unwrap();
    std::fs::write(&cache_file, &good[..good.len() - 5]).unwrap();
    let (fourth, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(!source.from_cache);
    assert_eq!(fourth.pixels, third.pixels);
    assert_eq!(std::fs::read(&cache_file).unwrap(), good);
    let mut flipped = good.clone();
    flipped[100] ^= 0x40;
    std::fs::write(&cache_file, &flipped).unwrap();
    let (_, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(!source.from_cache);
    let (fifth, source) = load(root, &RGB8, Some(cache.path())).unwrap();
    assert!(source.from_cache);
    assert_eq!(fifth.pixels, third.pixels);
}

#[test]
fn two_builds_of_one_folder_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40u8 {
        let img = RgbImage::from_fn(13 + u32::from(i % 5), 9, |x, y| {
            Rgb([i.wrapping_mul(6), x as u8 * 9, y as u8 * 11])
        });
        save(
            DynamicImage::ImageRgb8(img),
            &dir.path().join(format!("{i:02}.png")),
        );
    }
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = load(dir.path(), &RGB8, Some(one.path()))
        .unwrap()
        .1
        .cache
        .unwrap();
    let b = load(dir.path(), &RGB8, Some(two.path()))
        .unwrap()
        .1
        .cache
        .unwrap();
    assert_eq!(a.file_name(), b.file_name());
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn images_are_counted_by_name_in_every_sub_folder_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::create_dir(dir.path().join(".hidden")).unwrap();
    for name in ["1.png", "2.JPG", "a/3.webp", "a/b/4.bmp", "a/b/5.gif"] {
        std::fs::write(dir.path().join(name), b"not decoded").unwrap();
    }
    for name in ["notes.txt", ".6.png", ".hidden/7.png", "a/b/8"] {
        std::fs::write(dir.path().join(name), b"left out").unwrap();
    }
    assert_eq!(count_images(dir.path(), 100).unwrap(), 5);
    assert_eq!(count_images(dir.path(), 5).unwrap(), 5);
    assert_eq!(
        count_images(dir.path(), 2).unwrap(),
        2,
        "the walk stops at the limit"
    );
    let missing = dir.path().join("missing");
    let err = count_images(&missing, 100).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}
