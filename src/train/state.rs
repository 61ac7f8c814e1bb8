//! What a training run consists of: the two networks with their optimisers, and the
//! bookkeeping that makes a run resumable.

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use burn::module::Module;

use super::config::{Recipe, TrainConfig};
use crate::model::Architecture;

use crate::model::spectral_norm::SpectralNorm;
use crate::model::{Discriminator, Generator};
use crate::optim::adam;
use crate::picture::{Noise, moving_noise, uniform_noise};

/// Images in each row of the sample pictures, as in the seed.
pub const SAMPLE_COLUMNS: usize = 10;

/// Both networks and one Adam optimiser each (each optimiser keeps its own step count).
#[derive(Clone)]
pub struct Gan {
    /// The generator.
    pub generator: Generator,
    /// The discriminator.
    pub discriminator: Discriminator,
    /// The generator's Adam.
    pub optim_g: ModuleOptimizer,
    /// The discriminator's Adam.
    pub optim_d: ModuleOptimizer,
    /// The moving average of G's weights (`--ema`), without autodiff; `None` when the run
    /// keeps none.
    pub ema: Option<Generator>,
    /// The power iteration's vectors of D's spectral normalisation (`--spectral-norm`).
    pub spectral_norm: Option<SpectralNorm>,
}

/// Everything about a run besides the networks: what a checkpoint needs to continue exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The run's configuration.
    pub config: TrainConfig,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Batches of the current epoch finished: 0 at an epoch's end, more when a run was
    /// stopped in the middle of one.
    pub batches_done: usize,
    /// The random generator as it stood when the current epoch began, before its shuffle;
    /// replaying the shuffle from it restores the epoch's order when a run resumes mid-epoch.
    pub epoch_rng: ChaCha8Rng,
    /// D's and G's losses summed over the finished batches of the current epoch.
    pub epoch_loss_sums: (f64, f64),
    /// Discriminator updates so far (the seed's `D_global_step`).
    pub d_step: u64,
    /// Generator updates so far (the seed's `G_global_step`).
    pub g_step: u64,
    /// The run's random generator, as it stands after the finished batches.
    pub rng: ChaCha8Rng,
    /// Noise of the sample pictures' first row, fixed for the whole run.
    pub fixed_samples: Noise,
    /// Noise of the sample pictures' second row (an interpolation), fixed for the run.
    pub fixed_path: Noise,
    /// The run trains on the embedded MNIST subset because the full set was not found.
    #[serde(default)]
    pub embedded_data: bool,
    /// What the run's images are, for a folder: its cache key (the folder, the options and
    /// every file's name, length and modification time), so a resumed run can tell that the
    /// folder changed. `None` for the other data sets and for runs from before it existed.
    #[serde(default)]
    pub data_identity: Option<String>,
    /// The best FID of the evaluations so far (`--eval-every`); its checkpoint is
    /// `checkpoint.best.dcgan`.
    #[serde(default)]
    pub best_fid: Option<f64>,
}

impl Gan {
    /// Fresh networks of `arch` and optimisers as `recipe` asks; the weights are drawn
    /// from `rng`.
    pub fn new(
        recipe: &Recipe,
        arch: &Architecture,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let generator = arch.generator(rng, device);
        let discriminator = arch.discriminator(rng, device);
        Gan {
            ema: recipe.ema.map(|_| generator.valid()),
            spectral_norm: recipe
                .spectral_norm
                .then(|| SpectralNorm::new(&discriminator, rng, device)),
            generator,
            discriminator,
            optim_g: adam(&recipe.optimizer),
            optim_d: adam(&recipe.optimizer),
        }
    }
}

impl RunState {
    /// The run's generator as sampling, evaluation and `generator.safetensors` use it: the
    /// moving average of G's weights when the run keeps one (`--ema`), else G; in inference
    /// mode, with its BatchNorm moving averages corrected for their start unless the run
    /// keeps TensorFlow's (`debias_moving_averages`).
    pub fn inference_generator(&self, gan: &Gan) -> Generator {
        let g = gan.ema.as_ref().unwrap_or(&gan.generator).valid();
        if self.config.recipe.debias_moving_averages {
            // G runs in every iteration, D-only ones too (`--d-steps`).
            g.with_debiased_moving_averages(g.moving_average_updates_per_step() * self.d_step)
        } else {
            g
        }
    }

    /// The state of a new run, and its networks: the seed determines both.
    ///
    /// # Panics
    /// If the configuration's sizes are invalid ([`TrainConfig::validate`] says why) or a
    /// conditional run's classes are not filled in.
    pub fn start(config: TrainConfig, device: &Device) -> (Self, Gan) {
        let recipe = &config.recipe;
        let arch = recipe.architecture().expect("a validated configuration");
        let mut rng = ChaCha8Rng::seed_from_u64(recipe.seed);
        let gan = Gan::new(recipe, &arch, &mut rng, device);
        let fixed_samples = uniform_noise(SAMPLE_COLUMNS, recipe.noise_dim, &mut rng);
        let fixed_path = moving_noise(SAMPLE_COLUMNS, recipe.noise_dim, &mut rng);
        let state = RunState {
            config,
            epochs_done: 0,
            batches_done: 0,
            epoch_rng: rng.clone(),
            epoch_loss_sums: (0.0, 0.0),
            d_step: 0,
            g_step: 0,
            rng,
            fixed_samples,
            fixed_path,
            embedded_data: false,
            data_identity: None,
            best_fid: None,
        };
        (state, gan)
    }
}
