//! The command line: `dcgan train`, `dcgan sample`, `dcgan interpolate`, `dcgan report`,
//! `dcgan eval`, `dcgan fid`, `dcgan inception`, `dcgan classifier`, `dcgan bench`, `dcgan serve`, `dcgan devices`.
//!
//! Each subcommand has a file that turns its flags into library calls.

mod bench;
mod classifier;
mod compute;
mod devices;
mod eval;
mod fid;
mod inception;
mod report;
mod sample;
mod serve;
mod train;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Train, sample and explore deep convolutional GANs (the seed DCGAN on MNIST).
#[derive(Debug, Parser)]
#[command(name = "dcgan", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once per process")]
enum Command {
    /// Train a DCGAN, writing checkpoints, pictures and TensorBoard logs to --out.
    Train(train::TrainArgs),
    /// Draw a grid of generated images.
    Sample(sample::SampleArgs),
    /// Draw the seed's "moving noise": images along a straight line in noise space.
    Interpolate(sample::InterpolateArgs),
    /// Draw a run's loss curves (OUT/loss.png) and progress GIF (OUT/progress.gif).
    Report(report::ReportArgs),
    /// Score a generator: FID, KID, Inception Score, precision/recall, mode coverage.
    Eval(eval::EvalArgs),
    /// The FID of two folders of images or statistics files, as pytorch-fid computes it.
    Fid(fid::FidArgs),
    /// The FID Inception's weights: download or check them.
    #[command(subcommand)]
    Inception(inception::InceptionCommand),
    /// The classifier behind `dcgan eval`.
    #[command(subcommand)]
    Classifier(classifier::ClassifierCommand),
    /// Measure training and sampling speed on random data.
    Bench(bench::BenchArgs),
    /// Explore a generator in the browser: a local web server and its JSON/PNG API.
    Serve(serve::ServeArgs),
    /// List the devices this machine and build can compute on, and which each --device takes.
    Devices(devices::DevicesArgs),
}

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<ExitCode> {
    let matches = last_wins(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    // Only training, and the benchmark of its exchange, run on several processes (they join
    // them themselves).
    let several = match &cli.command {
        Command::Train(_) => true,
        Command::Bench(args) => args.all_reduce,
        _ => false,
    };
    if !several {
        crate::processes::refuse_several(matches.subcommand_name().unwrap_or("dcgan"))?;
    }
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Sample(args) => sample::sample(args).map(|()| ExitCode::SUCCESS),
        Command::Interpolate(args) => sample::interpolate(args).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => report::report(args).map(|()| ExitCode::SUCCESS),
        Command::Eval(args) => eval::run(args).map(|()| ExitCode::SUCCESS),
        Command::Fid(args) => fid::run(args).map(|()| ExitCode::SUCCESS),
        Command::Inception(command) => inception::run(command).map(|()| ExitCode::SUCCESS),
        Command::Classifier(command) => classifier::run(command).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::bench(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Devices(args) => devices::run(args),
    }
}

/// `command` and its subcommands with each flag's last occurrence winning, as in most
/// command-line tools: a run's starting command with `--resume --epochs 30` appended
/// continues it for 30 epochs.
fn last_wins(command: clap::Command) -> clap::Command {
    command.args_override_self(true).mut_subcommands(last_wins)
}
