//! The data sets dcgan knows: their files, checksums and public mirrors.

use serde::{Deserialize, Serialize};

/// A data set of 28×28 grey images in ten classes, in the IDX format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits (LeCun et al.), the seed's data set.
    Mnist,
    /// Zalando's article images, a drop-in replacement for MNIST.
    FashionMnist,
}

/// One file of a data set under its published name.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// The published file name (gzipped).
    pub name: &'static str,
    /// SHA-256 of the decompressed bytes, lower-case hex.
    pub sha256: &'static str,
}

/// The training or the test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60,000 images in MNIST and Fashion-MNIST.
    Train,
    /// 10,000 images.
    Test,
}

/// Everything needed to find, download and verify a data set.
#[derive(Debug, Clone, Copy)]
pub struct DatasetSpec {
    /// The name used on the command line and in directories.
    pub name: &'static str,
    /// Training images and labels.
    pub train: [FileSpec; 2],
    /// Test images and labels.
    pub test: [FileSpec; 2],
    /// Base addresses that serve the files under their published names.
    pub mirrors: &'static [&'static str],
}

const MNIST: DatasetSpec = DatasetSpec {
    name: "mnist",
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
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
};

const FASHION_MNIST: DatasetSpec = DatasetSpec {
    name: "fashion-mnist",
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
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
};

impl DatasetKind {
    /// The files, checksums and mirrors of this data set.
    pub fn spec(self) -> &'static DatasetSpec {
        match self {
            DatasetKind::Mnist => &MNIST,
            DatasetKind::FashionMnist => &FASHION_MNIST,
        }
    }
}

impl DatasetSpec {
    /// The images file and the labels file of a split.
    pub fn files(&self, split: Split) -> &[FileSpec; 2] {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }
}
