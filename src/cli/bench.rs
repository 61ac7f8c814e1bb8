//! `dcgan bench`: training and sampling speed on random data.

use clap::Args;

use crate::bench::{BenchConfig, GENERATED, run};
use crate::device::DeviceKind;

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
    /// Where to compute.
    #[arg(long, default_value = "cpu")]
    device: DeviceKind,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `dcgan bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        batch_size: args.batch_size,
        iters: args.iters,
        warmup: args.warmup,
        device: args.device,
    };
    let report = run(&config)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "training iteration, batch {}: median {:.1} ms, min {:.1} ms ({:.0} images/s)",
        report.batch_size,
        report.train_iteration.median_ms,
        report.train_iteration.min_ms,
        report.train_images_per_sec
    );
    println!(
        "generating {GENERATED} images:    median {:.1} ms, min {:.1} ms ({:.0} images/s)",
        report.generate_1000.median_ms, report.generate_1000.min_ms, report.generate_images_per_sec
    );
    if let Some(mib) = report.peak_memory_mib {
        println!("peak memory: {mib:.0} MiB");
    }
    Ok(())
}
