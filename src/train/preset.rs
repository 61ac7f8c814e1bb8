//! Named recipes (`--preset`): the seed tutorial's, the DCGAN paper's, and the one dcgan
//! chooses for a small folder of the user's own images (docs/quality.md has the study
//! behind it). [`super::Recipe::apply_preset`] puts one into a recipe.

use serde::{Deserialize, Serialize};

use crate::data::DatasetKind;

/// Below this many images a folder trains with [`Preset::SmallFolder`] when the command
/// names no preset and no config file. The study (docs/quality.md) measured a folder of
/// 3,786 images; DiffAugment's paper (Zhao et al. 2020) finds its largest gains at 10 % and
/// 20 % of CIFAR-10 (5,000 and 10,000 images), hence the bound.
pub const SMALL_FOLDER_IMAGES: usize = 10_000;

/// What [`Preset::SmallFolder`] adds to the paper's recipe, for the line that announces it.
pub const SMALL_FOLDER_ADDS: &str = "DiffAugment translation,color,cutout, spectral norm on D, \
     hinge loss, EMA of G 0.999, batches of 32";

/// Named sets of the settings that make a training recipe: the optimiser, the batch size,
/// the loss, DiffAugment, spectral norm, G's moving average and how sampling reads
/// BatchNorm's averages. A run records the one it started from (`preset` in `config.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The seed tutorial exactly: TF's Adam defaults, lr 1e-3 and β1 0.9, and TF's plain
    /// BatchNorm moving averages when sampling. Measured with a faithful port, these let D
    /// win within the first epoch and G draw blank images.
    Seed,
    /// The DCGAN paper's 2016 recipe, dcgan's defaults: Adam lr 2e-4 and β1 0.5, the
    /// non-saturating loss, nothing added.
    Paper,
    /// The paper's optimiser with what keeps D from memorising a few thousand images:
    /// DiffAugment (translation, color, cutout), spectral norm on D, the hinge loss and an
    /// EMA of G (0.999), on batches of 32 for three times the steps per epoch. dcgan's
    /// choice for folders of fewer than 10,000 images.
    SmallFolder,
}

impl Preset {
    /// The name on the command line and in `config.toml`.
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }

    /// The preset dcgan chooses for a new run on `dataset` holding `images` images when
    /// nothing names one: [`Preset::SmallFolder`] for a folder of at least one and fewer
    /// than [`SMALL_FOLDER_IMAGES`] images, else none (the defaults, the paper's recipe).
    pub fn chosen_for(dataset: DatasetKind, images: usize) -> Option<Preset> {
        (dataset == DatasetKind::Folder && (1..SMALL_FOLDER_IMAGES).contains(&images))
            .then_some(Preset::SmallFolder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_folders_get_the_small_folder_preset() {
        let folder = DatasetKind::Folder;
        assert_eq!(Preset::chosen_for(folder, 587), Some(Preset::SmallFolder));
        assert_eq!(
            Preset::chosen_for(folder, SMALL_FOLDER_IMAGES - 1),
            Some(Preset::SmallFolder)
        );
        assert_eq!(Preset::chosen_for(folder, SMALL_FOLDER_IMAGES), None);
        // An empty folder is an error when it loads, not a small folder.
        assert_eq!(Preset::chosen_for(folder, 0), None);
        assert_eq!(Preset::chosen_for(DatasetKind::Mnist, 100), None);
        assert_eq!(Preset::chosen_for(DatasetKind::Cifar10, 100), None);
    }

    #[test]
    fn names_are_the_command_line_s_and_the_file_s() {
        assert_eq!(Preset::SmallFolder.name(), "small-folder");
        let toml = toml::to_string(&std::collections::BTreeMap::from([(
            "preset",
            Preset::SmallFolder,
        )]))
        .unwrap();
        assert_eq!(toml.trim(), "preset = \"small-folder\"");
    }
}
