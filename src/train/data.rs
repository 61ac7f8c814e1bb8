//! A run's training images: found at its networks' size and colours, named for the
//! console, their classes for a conditional run, and checked to be the same images when a
//! run resumes.

use anyhow::bail;

use super::state::RunState;
use crate::data::{DataSource, Dataset, LocateOptions, Split, locate};
use crate::model::{Architecture, Conditioning};

/// A run's data set, where it came from, and for a folder its identity (the cache key).
pub struct RunData {
    /// The images.
    pub dataset: Dataset,
    /// Where they came from.
    pub source: DataSource,
    /// A folder's cache key; `None` for the other data sets.
    pub identity: Option<String>,
}

impl RunData {
    /// Finds the run's data set at the size and channels of `arch` (its networks without
    /// conditioning); `explicit` when the user named the data set, so that the embedded
    /// MNIST subset must not stand in. [`RunData::check_shape`] then checks what was found.
    pub fn load(
        config: &super::TrainConfig,
        arch: &Architecture,
        explicit: bool,
    ) -> anyhow::Result<Self> {
        let options = LocateOptions {
            data_dir: config.schedule.data_dir.clone(),
            explicit,
            image_size: Some(arch.image_size),
            channels: Some(arch.channels),
            background: config.recipe.background,
        };
        let (dataset, source) = locate(config.recipe.dataset, Split::Train, &options)?;
        let identity = match &source {
            // The cache file's name is the folder's identity; without a cache directory,
            // the number of images is the best there is.
            DataSource::Folder(folder) => Some(match &folder.cache {
                Some(cache) => cache
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
                None => format!("{} images", dataset.len),
            }),
            _ => None,
        };
        Ok(RunData {
            dataset,
            source,
            identity,
        })
    }

    /// Refuses images of another size or colour than the networks `arch` take.
    pub fn check_shape(&self, arch: &Architecture) -> anyhow::Result<()> {
        let d = &self.dataset;
        if (d.channels, d.height, d.width) != (arch.channels, arch.image_size, arch.image_size) {
            bail!(
                "the model needs {side}×{side} images with {} channel(s), the data set has \
                 {}×{} with {}",
                arch.channels,
                d.height,
                d.width,
                d.channels,
                side = arch.image_size
            );
        }
        Ok(())
    }

    /// What the console says of the data: where it came from, and what was left out.
    pub fn lines(&self) -> Vec<String> {
        let len = self.dataset.len;
        let mut lines = vec![match &self.source {
            DataSource::Embedded => "note: the full MNIST set was not found, so this run uses \
                 the embedded 10,000-image subset. For all 60,000 images pass --data-dir DIR (a \
                 directory with the IDX files), or run once with internet access to download \
                 them."
                .to_string(),
            DataSource::Directory(dir) => format!("data: {len} images from {}", dir.display()),
            DataSource::Folder(folder) => format!(
                "data: {len} images from {}{}",
                folder.dir.display(),
                match (&folder.cache, folder.from_cache) {
                    (Some(cache), true) => format!(" (cached in {})", cache.display()),
                    _ => String::new(),
                }
            ),
            DataSource::Generated => format!("data: {len} random images (--dataset fake)"),
        }];
        if let DataSource::Folder(folder) = &self.source
            && folder.skipped > 0
        {
            lines.push(format!(
                "note: {} of the folder's {} image files could not be read and are left out",
                folder.skipped, folder.files
            ));
        }
        lines
    }

    /// The class names a conditional run learns: the data set's, which must have at least
    /// two.
    pub fn classes_to_condition_on(
        &self,
        conditioning: Conditioning,
    ) -> anyhow::Result<Vec<String>> {
        let classes = &self.dataset.classes;
        if classes.len() < 2 {
            let place = match &self.source {
                DataSource::Folder(folder) => format!(
                    "the folder {} has no class sub-folders (put each class's images in a \
                     sub-folder of its own, named after the class)",
                    folder.dir.display()
                ),
                _ => "this data set has no class labels".to_string(),
            };
            bail!(
                "--conditional {} trains on the images' classes, but {place}; or drop \
                 --conditional",
                conditioning.name()
            );
        }
        Ok(classes.clone())
    }

    /// Refuses to resume on other data than the run began with: a changed folder, or other
    /// classes for a conditional run.
    pub fn check_same_as(&self, state: &RunState) -> anyhow::Result<()> {
        if let (Some(recorded), Some(now), DataSource::Folder(folder)) =
            (&state.data_identity, &self.identity, &self.source)
            && recorded != now
        {
            bail!(
                "the folder {} changed since this run began (files added, removed or \
                 modified, or other options): resuming would train on other images. Restore \
                 it, or start a new run (--force or another --out)",
                folder.dir.display()
            );
        }
        let recipe = &state.config.recipe;
        if recipe.conditional.is_some() && self.dataset.classes != recipe.classes {
            bail!(
                "the data set's classes ({}) are not the run's ({}): resuming would teach \
                 other classes. Restore the data, or start a new run (--force or another --out)",
                self.dataset.classes.join(", "),
                recipe.classes.join(", ")
            );
        }
        Ok(())
    }
}
