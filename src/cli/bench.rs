//! `dcgan bench`: training and sampling speed on random data.

use clap::Args;

use super::compute::ComputeArgs;
use crate::bench::{BenchConfig, GENERATED, kernels_line, layers, run};

/// Flags of `dcgan bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Images per training batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Untimed repetitions first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[command(flatten)]
    compute: ComputeArgs,
    /// Side of the images: 28 times the seed's model, a power of two from 16 to 256 the
    /// DCGAN paper's family.
    #[arg(long, default_value_t = 28)]
    image_size: usize,
    /// Channels of the images: 1 or 3.
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// The paper family's generator width (ngf) [default: 64].
    #[arg(long)]
    g_width: Option<usize>,
    /// The paper family's discriminator width (ndf) [default: 64].
    #[arg(long)]
    d_width: Option<usize>,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
    /// Time each layer's forward and backward pass, the optimiser steps and the data
    /// pipeline instead: where an iteration spends its time.
    #[arg(long)]
    layers: bool,
}

/// Runs `dcgan bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        batch_size: args.batch_size,
        iters: args.iters,
        warmup: args.warmup,
        device: args.compute.device,
        precision: args.compute.precision,
        image_size: args.image_size,
        channels: args.channels,
        widths: (args.g_width, args.d_width),
    };
    if args.layers {
        anyhow::ensure!(
            args.image_size == 28,
            "--layers profiles the seed's model; drop --image-size"
        );
        return print_layers(&config, args.json);
    }
    let report = run(&config)?;
    if args.json {
        crate::say!("{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    crate::say!("{}", report.kernels)?;
    crate::say!(
        "model: {}; parameters G {}, D {}",
        report.architecture.describe(),
        report.parameters.0,
        report.parameters.1
    )?;
    crate::say!(
        "training iteration, batch {}: median {:.1} ms, min {:.1} ms ({:.0} images/s)",
        report.batch_size,
        report.train_iteration.median_ms,
        report.train_iteration.min_ms,
        report.train_images_per_sec
    )?;
    crate::say!(
        "generating {GENERATED} images:    median {:.1} ms, min {:.1} ms ({:.0} images/s)",
        report.generate_1000.median_ms,
        report.generate_1000.min_ms,
        report.generate_images_per_sec
    )?;
    if let Some(mib) = report.peak_memory_mib {
        crate::say!("peak memory: {mib:.0} MiB")?;
    }
    Ok(())
}

/// Runs and prints the per-layer profile.
fn print_layers(config: &BenchConfig, json: bool) -> anyhow::Result<()> {
    let device = crate::device::start(config.device, config.precision)?.autodiff();
    if !json {
        crate::say!("{}", kernels_line(config))?;
    }
    let parts = layers::profile(config.batch_size, config.iters, config.warmup, &device)?;
    if json {
        crate::say!("{}", serde_json::to_string(&parts)?)?;
        return Ok(());
    }
    let total: f64 = parts.iter().map(|p| p.ms_per_iteration()).sum();
    let title = format!("part (batch {})", config.batch_size);
    crate::say!(
        "{title:<44} {:>10} {:>10} {:>6} {:>12} {:>6}",
        "forward",
        "backward",
        "×/iter",
        "ms/iteration",
        "share"
    )?;
    for part in &parts {
        let backward = part
            .backward
            .as_ref()
            .map_or("-".to_string(), |t| format!("{:.2}", t.median_ms));
        crate::say!(
            "{:<44} {:>10.2} {:>10} {:>6} {:>12.1} {:>5.1}%",
            part.name,
            part.forward.median_ms,
            backward,
            part.per_iteration,
            part.ms_per_iteration(),
            100.0 * part.ms_per_iteration() / total
        )?;
    }
    crate::say!(
        "{:<44} {:>10} {:>10} {:>6} {:>12.1}",
        "sum",
        "",
        "",
        "",
        total
    )?;
    crate::say!(
        "(medians in ms; a training iteration also pays for the losses and the autodiff tape)"
    )?;
    Ok(())
}
