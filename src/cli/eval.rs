//! `dcgan eval`: how good a generator is, in figures.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;

use super::compute::ComputeArgs;
use crate::data::{DataSource, Dataset, DatasetKind, LocateOptions, Split, locate};
use crate::eval::{
    Compared, EvalOptions, Evaluator, FeatureChoice, FeatureKind, MAX_EVAL_IMAGES, Scores,
};
use crate::train::checkpoint;

/// Flags of `dcgan eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run directory, a checkpoint file or a generator .safetensors file.
    #[arg(long, value_name = "PATH", required_unless_present = "real_vs_real")]
    checkpoint: Option<PathBuf>,
    /// Instead of a generator, score real training images against the test split: the
    /// best any generator can do.
    #[arg(long, conflicts_with = "checkpoint")]
    real_vs_real: bool,
    /// The network whose features are compared [default: inception, except for 28×28
    /// grey MNIST and Fashion-MNIST generators, whose data sets have classifiers of their own].
    #[arg(long)]
    features: Option<FeatureKind>,
    /// The evaluation classifier's file [default: the data set's classifier built into dcgan].
    #[arg(long, value_name = "FILE")]
    classifier: Option<PathBuf>,
    /// The Inception weights [default: $DCGAN_INCEPTION, else those in dcgan's cache; see
    /// `dcgan inception fetch`].
    #[arg(long, value_name = "FILE")]
    inception: Option<PathBuf>,
    /// Images to generate (and real test images to compare with, at most the split's size).
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    /// Seed of the noise and of KID's subsets.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write every figure to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Data set [default: the run's; mnist for a .safetensors file].
    #[arg(long)]
    dataset: Option<DatasetKind>,
    /// Directory with the data set's IDX files [default: the run's, else the usual search].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    compute: ComputeArgs,
}

/// Runs `dcgan eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.n < 20 {
        bail!("--n must be at least 20 (10 splits of the Inception Score need 2 images each)");
    }
    if args.n > MAX_EVAL_IMAGES {
        bail!(
            "--n {} is more than the {MAX_EVAL_IMAGES} images an evaluation scores at most \
             (FID-50k, the field's largest usual set); their features alone would take {:.1} GB. \
             Pass --n {MAX_EVAL_IMAGES} or fewer",
            args.n,
            args.n as f64 * 1.2e-6
        );
    }
    let device = args.compute.start()?;
    let loaded = match &args.checkpoint {
        Some(path) => Some(checkpoint::load_generator(path, &device)?),
        None => None,
    };
    let run_config = loaded.as_ref().and_then(|l| l.config.clone());
    let dataset = args
        .dataset
        .or(run_config.as_ref().map(|c| c.recipe.dataset))
        .unwrap_or(DatasetKind::Mnist);
    // The real images at the generator's size and colours (a folder's as its run saw them).
    let (image_size, channels) = match &loaded {
        Some(loaded) => (loaded.generator.image_size(), loaded.generator.channels()),
        None => (dataset.default_image_size(), dataset.default_channels()),
    };
    let choice = FeatureChoice {
        kind: args.features,
        classifier: args.classifier.clone(),
        inception: args.inception.clone(),
    };
    let net = choice.load(dataset, image_size, channels, &device)?;
    // Without a data set named on the command line, MNIST's embedded slice stands in for a
    // missing test split (and says so), so a fresh machine can evaluate offline.
    let options = LocateOptions {
        data_dir: args
            .data_dir
            .clone()
            .or(run_config.and_then(|c| c.schedule.data_dir)),
        explicit: args.dataset.is_some(),
        image_size: Some(image_size),
        channels: Some(channels),
        ..LocateOptions::default()
    };
    let (test, source) = locate(dataset, Split::Test, &options)?;
    if source == DataSource::Embedded {
        crate::say!(
            "note: MNIST's test split was not found, so the scores compare with the {} test \
             images built into dcgan; pass --data-dir DIR (the IDX files) for all 10,000",
            test.len
        )?;
    }
    let evaluator = Evaluator::new(net, &test, args.n, &device)?;
    let eval_options = EvalOptions {
        seed: args.seed,
        ..EvalOptions::default()
    };
    let scores = match loaded {
        Some(loaded) => evaluator.score_generator(&loaded.generator, args.n, &eval_options)?,
        None => {
            let (train, _) = locate(dataset, Split::Train, &options)?;
            real_vs_real(&evaluator, &train, args.n, &eval_options)?
        }
    };
    crate::say!("{scores}")?;
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&scores)?;
        crate::atomic_file::write(path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?;
        crate::say!("wrote {}", path.display())?;
    }
    Ok(())
}

/// `n` random training images scored as if generated: the floor of every metric.
fn real_vs_real(
    evaluator: &Evaluator,
    train: &Dataset,
    n: usize,
    options: &EvalOptions,
) -> anyhow::Result<Scores> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let ids = sample(&mut rng, train.len, n.min(train.len)).into_vec();
    let features = evaluator.features_of(train, &ids)?;
    Ok(Scores {
        compared: Compared::RealTraining,
        ..evaluator.evaluate(&features, options)
    })
}
