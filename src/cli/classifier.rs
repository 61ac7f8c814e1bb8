//! `dcgan classifier train`: the classifier behind `dcgan eval`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};

use super::compute::ComputeArgs;
use crate::data::{DatasetKind, LocateOptions, Split, locate};
use crate::eval::classifier::{self, ClassifierInfo};
use crate::eval::{ClassifierConfig, ClassifierTraining, train_classifier};

/// `dcgan classifier …`.
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train the evaluation classifier on a data set and save it.
    Train(ClassifierTrainArgs),
}

/// Flags of `dcgan classifier train`.
#[derive(Debug, Args)]
pub struct ClassifierTrainArgs {
    /// Data set to learn.
    #[arg(long, default_value = "mnist")]
    dataset: DatasetKind,
    /// Directory holding the IDX files of both splits (searched alone).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where to save it; `dcgan eval --classifier FILE` then uses it in place of the
    /// built-in one.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Passes over the training split.
    #[arg(long, default_value_t = ClassifierTraining::default().epochs)]
    epochs: usize,
    /// Use only the first N training images, for quick checks.
    #[arg(long, value_name = "N")]
    train_images: Option<usize>,
    /// Seed of the weights and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    compute: ComputeArgs,
}

/// The test accuracy a classifier should reach on each data set to be trusted; `None` for
/// the data sets an evaluation classifier is not made for (its 28×28 grey input).
fn target_accuracy(dataset: DatasetKind) -> Option<f64> {
    match dataset {
        DatasetKind::Mnist => Some(0.99),
        DatasetKind::FashionMnist => Some(0.90),
        DatasetKind::Folder | DatasetKind::Cifar10 | DatasetKind::Fake => None,
    }
}

/// Runs `dcgan classifier …`.
pub fn run(command: ClassifierCommand) -> anyhow::Result<()> {
    let ClassifierCommand::Train(args) = command;
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let Some(target) = target_accuracy(args.dataset) else {
        bail!(
            "--dataset {}: evaluation classifiers take 28×28 grey images; train one on mnist or \
             fashion-mnist",
            args.dataset.name()
        );
    };
    let options = LocateOptions {
        data_dir: args.data_dir.clone(),
        explicit: true,
        ..LocateOptions::default()
    };
    let (mut train, _) = locate(args.dataset, Split::Train, &options)?;
    if let Some(n) = args.train_images {
        if n < 100 {
            bail!("--train-images must be at least 100 (one batch)");
        }
        train = train.first(n);
    }
    let (test, _) = locate(args.dataset, Split::Test, &options)?;
    crate::say!(
        "training the {} classifier: {} training and {} test images",
        args.dataset.spec().name,
        train.len,
        test.len
    )?;
    let device = args.compute.start()?;
    let settings = ClassifierTraining {
        epochs: args.epochs,
        seed: args.seed,
        ..ClassifierTraining::default()
    };
    let (model, accuracy) = train_classifier(&train, &test, &settings, &device);
    let config = ClassifierConfig::new();
    let info = ClassifierInfo {
        dataset: args.dataset,
        test_accuracy: accuracy,
        epochs: args.epochs,
        seed: args.seed,
        features: config.features,
        classes: config.classes,
    };
    let out = args.out;
    classifier::save(&out, &model, &info)?;
    crate::say!(
        "test accuracy {:.2} %; saved {}",
        accuracy * 100.0,
        out.display()
    )?;
    if accuracy < target {
        eprintln!(
            "warning: below the {:.0} % this classifier should reach on {}; its scores will be \
             less trustworthy. Train longer with --epochs.",
            target * 100.0,
            args.dataset.spec().name
        );
    }
    Ok(())
}
