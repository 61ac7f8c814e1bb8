//! `dcgan fid`: the FID of two folders of images or statistics files, as
//! `python -m pytorch_fid A B` computes it; `--save-stats` writes a folder's statistics.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::compute::ComputeArgs;
use crate::eval::frechet::{Gaussian, frechet_distance};
use crate::eval::inception::{self, InceptionExtractor, statistics};

/// Flags of `dcgan fid`.
#[derive(Debug, Args)]
pub struct FidArgs {
    /// Two folders of images, or pytorch-fid's `.npz` statistics files (`mu`, `sigma`), in
    /// any mix. With --save-stats: a folder, and the `.npz` file to write.
    #[arg(num_args = 2, value_names = ["A", "B"], required = true)]
    paths: Vec<PathBuf>,
    /// Write the statistics of the folder A to the file B (pytorch-fid's `--save-stats`).
    #[arg(long)]
    save_stats: bool,
    /// The Inception weights [default: $DCGAN_INCEPTION, else those in dcgan's cache].
    #[arg(long, value_name = "FILE")]
    inception: Option<PathBuf>,
    #[command(flatten)]
    compute: ComputeArgs,
}

/// Runs `dcgan fid`.
pub fn run(args: FidArgs) -> anyhow::Result<()> {
    let [a, b] = [&args.paths[0], &args.paths[1]];
    if args.save_stats && (is_npz(a) || b.extension().is_none_or(|e| e != "npz")) {
        bail!(
            "--save-stats takes a folder of images and the .npz file to write, not {} and {}",
            a.display(),
            b.display()
        );
    }
    let needs_network = args.save_stats || !is_npz(a) || !is_npz(b);
    let extractor = if needs_network {
        let device = args.compute.start()?;
        let (network, id) = inception::load(args.inception.as_deref(), false, &device)?;
        Some(InceptionExtractor::new(network, id, &device))
    } else {
        None
    };
    if args.save_stats {
        let gaussian = statistics_of(a, extractor.as_ref())?;
        statistics::write_npz(b, &gaussian)
            .with_context(|| format!("cannot write {}", b.display()))?;
        crate::say!("wrote {}", b.display())?;
        return Ok(());
    }
    let (ga, gb) = (
        statistics_of(a, extractor.as_ref())?,
        statistics_of(b, extractor.as_ref())?,
    );
    if ga.mean.len() != gb.mean.len() {
        bail!(
            "{} holds {}-dimensional statistics and {} {}-dimensional ones: they do not compare",
            a.display(),
            ga.mean.len(),
            b.display(),
            gb.mean.len()
        );
    }
    crate::say!("FID: {}", frechet_distance(&ga, &gb))?;
    Ok(())
}

/// True for a path that names a statistics file rather than a folder.
fn is_npz(path: &Path) -> bool {
    path.is_file() || path.extension().is_some_and(|e| e == "npz")
}

/// The statistics of `path`: read from an `.npz`, or computed from a folder's images.
fn statistics_of(path: &Path, extractor: Option<&InceptionExtractor>) -> anyhow::Result<Gaussian> {
    if is_npz(path) {
        return statistics::read_npz(path);
    }
    if !path.is_dir() {
        bail!(
            "{} is neither a folder of images nor an .npz statistics file",
            path.display()
        );
    }
    let extractor = extractor.expect("the network is loaded for folders");
    Ok(statistics::folder_moments(path, extractor)?.gaussian())
}
