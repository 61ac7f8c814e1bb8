//! The data sets dcgan knows: their files, checksums, public mirrors and class names.

use serde::{Deserialize, Serialize};

use super::cifar10;

/// A data set dcgan can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits (LeCun et al.), the seed's data set: 28×28 grey, ten classes.
    Mnist,
    /// Zalando's article images, a drop-in replacement for MNIST.
    FashionMnist,
    /// Every image under `--data-dir`, recursively (PNG, JPEG, GIF, WebP, BMP); classes
    /// from the first-level sub-folders when every image lies in one.
    Folder,
    /// CIFAR-10 (Krizhevsky): 32×32 colour images in ten classes, the binary version.
    Cifar10,
    /// Random images of the run's size, for benchmarks and smoke tests.
    Fake,
}

/// One file of a data set under its published name.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// The published file name (gzipped).
    pub name: &'static str,
    /// SHA-256 of the decompressed bytes, lower-case hex.
    pub sha256: &'static str,
}

/// A compressed archive that holds a data set's files, checked as downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveSpec {
    /// The published file name.
    pub name: &'static str,
    /// Its length in bytes.
    pub size: u64,
    /// SHA-256 of the archive's bytes as published (not of its contents), lower-case hex.
    pub sha256: &'static str,
}

/// The training or the test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60,000 images in MNIST and Fashion-MNIST, 50,000 in CIFAR-10.
    Train,
    /// 10,000 images.
    Test,
}

/// Where a data set's images come from and how they are stored.
#[derive(Debug, Clone, Copy)]
pub enum Storage {
    /// IDX files (images and labels) per split, each served by the mirrors under its name.
    Idx {
        /// Training images and labels.
        train: [FileSpec; 2],
        /// Test images and labels.
        test: [FileSpec; 2],
    },
    /// CIFAR-10's binary batches, served by the mirrors in one archive.
    CifarBatches {
        /// The archive.
        archive: ArchiveSpec,
        /// The directory in the archive (and often on disk) that holds the batches.
        directory: &'static str,
        /// The training batches.
        train: &'static [&'static str],
        /// The test batches.
        test: &'static [&'static str],
    },
    /// The images of a folder on this machine (`--data-dir`).
    Folder,
    /// Made up on the spot.
    Generated,
}

/// Everything needed to find, download and verify a data set.
#[derive(Debug, Clone, Copy)]
pub struct DatasetSpec {
    /// The name used on the command line and in directories.
    pub name: &'static str,
    /// The files and their format.
    pub storage: Storage,
    /// Base addresses that serve the files under their published names.
    pub mirrors: &'static [&'static str],
    /// Class names by label; empty where the data decides (a folder's sub-folders).
    pub classes: &'static [&'static str],
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

const MNIST: DatasetSpec = DatasetSpec {
    name: "mnist",
    storage: Storage::Idx {
        train: [
            FileSpec {
                name: "train-images-idx3-ubyte.gz",
                sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            },
            FileSpec {
                name: "train-labels-idx1-ubyte.gz",
                sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            },
        ],
        test: [
            FileSpec {
                name: "t10k-images-idx3-ubyte.gz",
                sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            },
            FileSpec {
                name: "t10k-labels-idx1-ubyte.gz",
                sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
        ],
    },
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    classes: &DIGITS,
};

const FASHION_MNIST: DatasetSpec = DatasetSpec {
    name: "fashion-mnist",
    storage: Storage::Idx {
        train: [
            FileSpec {
                name: "train-images-idx3-ubyte.gz",
                sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            },
            FileSpec {
                name: "train-labels-idx1-ubyte.gz",
                sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            },
        ],
        test: [
            FileSpec {
                name: "t10k-images-idx3-ubyte.gz",
                sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            },
            FileSpec {
                name: "t10k-labels-idx1-ubyte.gz",
                sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
        ],
    },
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    classes: &[
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
};

/// CIFAR-10's binary version. Size and SHA-256 of the archive as listed by TensorFlow
/// Datasets (`tensorflow_datasets/url_checksums/cifar10.txt`); its published MD5 is
/// c32a1d4ab5d03f1284b67883e8d87530.
const CIFAR10: DatasetSpec = DatasetSpec {
    name: "cifar10",
    storage: Storage::CifarBatches {
        archive: ArchiveSpec {
            name: "cifar-10-binary.tar.gz",
            size: 170_052_171,
            sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        },
        directory: cifar10::DIRECTORY,
        train: &cifar10::TRAIN_FILES,
        test: &cifar10::TEST_FILES,
    },
    mirrors: &["https://www.cs.toronto.edu/~kriz/"],
    classes: &[
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
};

const FOLDER: DatasetSpec = DatasetSpec {
    name: "folder",
    storage: Storage::Folder,
    mirrors: &[],
    classes: &[],
};

const FAKE: DatasetSpec = DatasetSpec {
    name: "fake",
    storage: Storage::Generated,
    mirrors: &[],
    classes: &DIGITS,
};

impl DatasetKind {
    /// The files, checksums, mirrors and classes of this data set.
    pub fn spec(self) -> &'static DatasetSpec {
        match self {
            DatasetKind::Mnist => &MNIST,
            DatasetKind::FashionMnist => &FASHION_MNIST,
            DatasetKind::Folder => &FOLDER,
            DatasetKind::Cifar10 => &CIFAR10,
            DatasetKind::Fake => &FAKE,
        }
    }

    /// The name used on the command line, in configuration files and in directories.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The image size (height and width) a run uses unless told otherwise: the data set's
    /// own for MNIST, Fashion-MNIST (28) and CIFAR-10 (32), DCGAN's 64 for the others.
    pub fn default_image_size(self) -> usize {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => 28,
            DatasetKind::Cifar10 => 32,
            DatasetKind::Folder | DatasetKind::Fake => 64,
        }
    }

    /// The channels a run uses unless told otherwise: 1 (grey) for MNIST and
    /// Fashion-MNIST, 3 (RGB) for the others.
    pub fn default_channels(self) -> usize {
        match self {
            DatasetKind::Mnist | DatasetKind::FashionMnist => 1,
            DatasetKind::Folder | DatasetKind::Cifar10 | DatasetKind::Fake => 3,
        }
    }

    /// True when every image of the data set has a class label; a folder has labels only
    /// when its images are sorted into first-level sub-folders.
    pub fn has_labels_always(self) -> bool {
        self != DatasetKind::Folder
    }
}

impl DatasetSpec {
    /// The images file and the labels file of a split, for a data set of IDX files.
    pub fn idx_files(&self, split: Split) -> Option<&[FileSpec; 2]> {
        match (&self.storage, split) {
            (Storage::Idx { train, .. }, Split::Train) => Some(train),
            (Storage::Idx { test, .. }, Split::Test) => Some(test),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    const ALL: [DatasetKind; 5] = [
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Folder,
        DatasetKind::Cifar10,
        DatasetKind::Fake,
    ];

    #[test]
    fn names_agree_on_the_command_line_in_toml_and_in_directories() {
        for kind in ALL {
            let clap_name = kind.to_possible_value().unwrap().get_name().to_string();
            let serde_name = serde_json::to_string(&kind).unwrap();
            assert_eq!(clap_name, kind.name());
            assert_eq!(serde_name, format!("\"{}\"", kind.name()));
            let back: DatasetKind = serde_json::from_str(&serde_name).unwrap();
            assert_eq!(back, kind);
        }
        let names: Vec<&str> = ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["mnist", "fashion-mnist", "folder", "cifar10", "fake"]
        );
    }

    #[test]
    fn defaults_follow_the_data_sets() {
        let sizes: Vec<_> = ALL.iter().map(|k| k.default_image_size()).collect();
        assert_eq!(sizes, [28, 28, 64, 32, 64]);
        let channels: Vec<_> = ALL.iter().map(|k| k.default_channels()).collect();
        assert_eq!(channels, [1, 1, 3, 3, 3]);
        for kind in ALL {
            let classes = kind.spec().classes.len();
            assert_eq!(classes == 10, kind.has_labels_always(), "{kind:?}");
        }
    }
}
