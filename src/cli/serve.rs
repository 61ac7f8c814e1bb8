//! `dcgan serve`: flags to [`crate::serve::ServeOptions`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::compute::ComputeArgs;
use crate::serve::{self, ServeOptions};

/// Flags of `dcgan serve`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true))]
pub struct ServeArgs {
    /// A checkpoint file or a generator .safetensors file to explore.
    #[arg(long, value_name = "PATH", group = "source")]
    checkpoint: Option<PathBuf>,
    /// A run directory: its latest generator.
    #[arg(long, value_name = "DIR", group = "source")]
    run: Option<PathBuf>,
    /// Address to listen on; loopback unless you say otherwise (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    #[command(flatten)]
    compute: ComputeArgs,
}

/// Runs `dcgan serve` until Ctrl-C.
pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let checkpoint = args.checkpoint.or(args.run).expect("clap requires one");
    serve::run(ServeOptions {
        checkpoint,
        addr: args.addr,
        device: args.compute.device,
        precision: args.compute.precision,
    })
}
