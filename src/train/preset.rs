//! Named recipes (`--preset`): the seed tutorial's, the DCGAN paper's, and the one dcgan
//! chooses for a small folder of the user's own images (docs/quality.md has the study
//! behind it).

use serde::{Deserialize, Serialize};

use super::augment::Augmentation;
use super::config::Recipe;
use super::loss::Loss;
use crate::data::DatasetKind;
use crate::optim::AdamSettings;

/// Below this many images a folder trains with [`Preset::SmallFolder`] unless the command
/// or its config file names a preset. The study measured folders of 907 and 3,786 images;
/// DiffAugment's paper (Zhao et al. 2020) finds its largest gains at 10 % and 20 % of
/// CIFAR-10 (5,000 and 10,000 images), hence the bound.
pub const SMALL_FOLDER_IMAGES: usize = 10_000;

/// Named sets of the settings that make a training recipe: the optimiser, the loss,
/// DiffAugment, spectral norm, G's moving average and how sampling reads BatchNorm's
/// averages. The run records which one it started from (`preset` in `config.toml`).
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
    /// EMA of G (0.999). dcgan's choice for folders of fewer than 10,000 images.
    SmallFolder,
}

impl Preset {
    /// The name on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Seed => "seed",
            Preset::Paper => "paper",
            Preset::SmallFolder => "small-folder",
        }
    }

    /// The preset dcgan chooses for a new run on `dataset` holding `images` images when
    /// nothing names one: [`Preset::SmallFolder`] for a folder below
    /// [`SMALL_FOLDER_IMAGES`], else none (the defaults, the paper's recipe).
    pub fn chosen_for(dataset: DatasetKind, images: usize) -> Option<Preset> {
        (dataset == DatasetKind::Folder && images < SMALL_FOLDER_IMAGES)
            .then_some(Preset::SmallFolder)
    }

    /// Puts the preset's settings into `recipe` and records it there.
    pub fn apply(self, recipe: &mut Recipe) {
        recipe.preset = Some(self);
        recipe.optimizer = match self {
            Preset::Seed => AdamSettings {
                lr: 1e-3,
                beta1: 0.9,
                ..AdamSettings::default()
            },
            Preset::Paper | Preset::SmallFolder => AdamSettings::default(),
        };
        recipe.debias_moving_averages = self != Preset::Seed;
        let small = self == Preset::SmallFolder;
        // The seed and the paper train with the non-saturating cross-entropy.
        recipe.loss = match small {
            true => Loss::Hinge,
            false => Loss::NonSaturating,
        };
        recipe.augment = match small {
            true => vec![
                Augmentation::Translation,
                Augmentation::Color,
                Augmentation::Cutout,
            ],
            false => Vec::new(),
        };
        recipe.spectral_norm = small;
        recipe.ema = small.then_some(0.999);
    }

    /// What the preset adds to the paper's recipe, for the line that announces it.
    pub fn describe(self) -> &'static str {
        match self {
            Preset::Seed => "the seed tutorial's Adam (lr 1e-3, β1 0.9) and TF's plain averages",
            Preset::Paper => "the DCGAN paper's 2016 recipe",
            Preset::SmallFolder => {
                "DiffAugment translation,color,cutout, spectral norm on D, hinge loss, EMA of G \
                 0.999"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_preset_sets_the_whole_training_recipe() {
        let mut r = Recipe::default();
        Preset::SmallFolder.apply(&mut r);
        assert_eq!(r.preset, Some(Preset::SmallFolder));
        assert_eq!(
            (r.loss, r.spectral_norm, r.ema),
            (Loss::Hinge, true, Some(0.999))
        );
        assert_eq!(r.augment.len(), 3);
        // Another preset over it takes every part back, not only the optimiser.
        Preset::Paper.apply(&mut r);
        let paper = Recipe {
            preset: Some(Preset::Paper),
            ..Recipe::default()
        };
        assert_eq!(r, paper);
        Preset::Seed.apply(&mut r);
        assert_eq!((r.optimizer.lr, r.optimizer.beta1), (1e-3, 0.9));
        assert!(!r.debias_moving_averages);
    }

    #[test]
    fn only_small_folders_get_the_small_folder_preset() {
        let folder = DatasetKind::Folder;
        assert_eq!(Preset::chosen_for(folder, 907), Some(Preset::SmallFolder));
        assert_eq!(
            Preset::chosen_for(folder, SMALL_FOLDER_IMAGES - 1),
            Some(Preset::SmallFolder)
        );
        assert_eq!(Preset::chosen_for(folder, SMALL_FOLDER_IMAGES), None);
        assert_eq!(Preset::chosen_for(DatasetKind::Mnist, 100), None);
        assert_eq!(Preset::chosen_for(DatasetKind::Cifar10, 100), None);
    }
}
