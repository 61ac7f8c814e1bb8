//! Data: reading MNIST-like IDX files, CIFAR-10's batches and folders of images, finding
//! or downloading them, and batching images.
//!
//! [`locate`] decides where a data set comes from (a directory, the cache, a system
//! package, a download, the embedded subset, a folder of images, or random numbers) and
//! brings it to the run's size and channels ([`convert`]), [`Dataset`] holds the images and
//! labels, and [`Batcher`] shuffles them into `[-1, 1]` tensors.

mod batcher;
pub mod cifar10;
pub mod convert;
pub mod download;
pub mod fake;
pub mod folder;
mod folder_cache;
pub mod idx;
mod locate;
mod pixels;
mod spec;

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};

pub use batcher::Batcher;
pub use convert::Background;
pub use folder::FolderSource;
pub use locate::{
    DATA_DIR_VAR, DataSource, LocateOptions, MIRROR_VAR, OFFLINE_VAR, cache_dir, locate,
};
pub use pixels::Pixels;
pub use spec::{ArchiveSpec, DatasetKind, DatasetSpec, FileSpec, Split, Storage};

/// A problem with the data: a missing, unreadable or malformed file, or a failed download.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file was read but its contents are not what they must be.
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A download failed or delivered the wrong bytes.
    #[error("download of {url} failed: {problem}")]
    Download {
        /// The address tried.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The data set was found nowhere.
    #[error(
        "the {dataset} data set was not found. Places searched:\n{}\nPut the files ({files}) in one of them, or pass --data-dir DIR",
        searched.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    NotFound {
        /// The data set's name.
        dataset: String,
        /// The files it consists of.
        files: String,
        /// Every place looked at, with what was wrong there.
        searched: Vec<String>,
    },
    /// An option asks for something no data set can give (a channel count other than 1 or
    /// 3, an image size of 0, a folder without `--data-dir`).
    #[error("{0}")]
    Options(String),
}

impl DataError {
    pub(crate) fn format(path: &Path, problem: impl Into<String>) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// Images and labels of one split: unsigned bytes, each image channel by channel (CHW),
/// each channel row by row.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Number of images.
    pub len: usize,
    /// Channels of every image: 1 (grey) or 3 (red, green, blue).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// `len * channels * height * width` pixel values, 0 to 255 (MNIST: 0 is the
    /// background).
    pub pixels: Pixels,
    /// One class label per image: an index into `classes`, or 0 when there are none.
    pub labels: Vec<u8>,
    /// The class names by label: MNIST's digits, Fashion-MNIST's articles, CIFAR-10's
    /// classes, a folder's sub-folders; empty when the images have no classes.
    pub classes: Vec<String>,
}

impl Dataset {
    /// Reads a split from an images file and a labels file, checking that they agree.
    pub fn read(images_path: &Path, labels_path: &Path) -> Result<Self, DataError> {
        let images = idx::read_idx(images_path, 3)?;
        let labels = idx::read_idx(labels_path, 1)?;
        Self::from_idx(images, labels, images_path, labels_path)
    }

    /// Builds a split from parsed IDX arrays; the paths name them in errors.
    pub fn from_idx(
        images: idx::IdxArray,
        labels: idx::IdxArray,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self, DataError> {
        let (len, height, width) = (images.dims[0], images.dims[1], images.dims[2]);
        if len == 0 {
            return Err(DataError::format(images_path, "holds no images"));
        }
        if labels.dims[0] != len {
            return Err(DataError::format(
                labels_path,
                format!(
                    "holds {} labels but {} holds {len} images",
                    labels.dims[0],
                    images_path.display()
                ),
            ));
        }
        if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
            return Err(DataError::format(
                labels_path,
                format!("label {bad} is out of range (classes are 0 to 9)"),
            ));
        }
        Ok(Dataset {
            len,
            channels: 1,
            height,
            width,
            pixels: images.data.into(),
            labels: labels.data,
            classes: Vec::new(),
        })
    }

    /// The same images with these class names.
    pub fn with_classes(mut self, classes: &[&str]) -> Dataset {
        self.classes = classes.iter().map(|c| c.to_string()).collect();
        self
    }

    /// The images `ids` as a tensor.
    ///
    /// # Shapes
    /// - output: `[ids.len(), channels, height, width]`, values in `[-1, 1]`
    pub fn images(&self, ids: &[usize], device: &Device) -> Tensor<4> {
        let pixels: Vec<f32> = ids
            .iter()
            .flat_map(|&i| self.image(i).iter().map(|&p| scale_pixel(p)))
            .collect();
        let shape = [ids.len(), self.channels, self.height, self.width];
        Tensor::from_data(TensorData::new(pixels, shape), device)
    }

    /// The class labels of the images `ids`.
    pub fn label_tensor(&self, ids: &[usize], device: &Device) -> Tensor<1, Int> {
        let labels: Vec<i64> = ids.iter().map(|&i| i64::from(self.labels[i])).collect();
        Tensor::from_data(TensorData::new(labels, [ids.len()]), device)
    }

    /// The first `n` images (all when there are fewer).
    pub fn first(mut self, n: usize) -> Dataset {
        let n = n.min(self.len);
        self.pixels.truncate(n * self.image_len());
        self.labels.truncate(n);
        self.len = n;
        self
    }

    /// The pixels of image `index`, `channels * height * width` bytes (CHW).
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_len();
        &self.pixels[index * size..(index + 1) * size]
    }

    /// Bytes an image: `channels * height * width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// Maps a stored pixel (0 to 255) to the generator's output range, `[-1, 1]`.
pub fn scale_pixel(value: u8) -> f32 {
    f32::from(value) / 127.5 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use idx::IdxArray;

    fn images(count: usize) -> IdxArray {
        IdxArray {
            dims: vec![count, 2, 2],
            data: vec![0; count * 4],
        }
    }

    fn labels(values: &[u8]) -> IdxArray {
        IdxArray {
            dims: vec![values.len()],
            data: values.to_vec(),
        }
    }

    #[test]
    fn labels_must_match_images_in_count_and_range() {
        let (i, l) = (Path::new("imgs.idx"), Path::new("lbls.idx"));
        let ok = Dataset::from_idx(images(3), labels(&[0, 9, 4]), i, l).unwrap();
        assert_eq!((ok.len, ok.image(2).len()), (3, 4));
        let err = Dataset::from_idx(images(3), labels(&[0, 1]), i, l)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lbls.idx") && err.contains("2 labels") && err.contains("3 images"),
            "{err}"
        );
        let err = Dataset::from_idx(images(2), labels(&[0, 10]), i, l)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lbls.idx") && err.contains("label 10"),
            "{err}"
        );
        let err = Dataset::from_idx(images(0), labels(&[]), i, l)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("imgs.idx") && err.contains("no images"),
            "{err}"
        );
    }

    #[test]
    fn pixels_scale_to_the_generators_range() {
        assert_eq!(scale_pixel(0), -1.0);
        assert_eq!(scale_pixel(255), 1.0);
        assert!(scale_pixel(128).abs() < 0.01);
    }
}
