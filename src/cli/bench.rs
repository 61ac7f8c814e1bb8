//! `dcgan bench`: training and sampling speed on random data.

use clap::Args;

use super::compute::ComputeArgs;
use crate::bench::layers::PartTiming;
use crate::bench::{BenchConfig, GENERATED, kernels_line, layers, peak, run};
use crate::device::DeviceKind;
use crate::kernels::matmul::amx;
use crate::kernels::precision::Precision;

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
    /// Under mpirun (a build with --features mpi): time the average of this model's
    /// gradients over the processes, which every training step waits for, instead.
    #[arg(long)]
    pub all_reduce: bool,
}

/// Runs `dcgan bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    args.compute.amx.apply();
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
        return print_layers(&config, args.json);
    }
    if args.all_reduce {
        return print_all_reduce(&config, args.json);
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

/// Joins the processes, times the gradients' average and prints it (rank 0).
fn print_all_reduce(config: &BenchConfig, json: bool) -> anyhow::Result<()> {
    let _processes = crate::processes::join("bench")?;
    let report = crate::bench::all_reduce::run(config)?;
    if !crate::processes::world().writes() {
        return Ok(());
    }
    if json {
        crate::say!("{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    crate::say!(
        "average of the gradients over {} processes: G's {} values median {:.2} ms (min \
         {:.2}), D's {} values median {:.2} ms (min {:.2}), 128 values median {:.3} ms; {:.1} \
         MB sent per step by each",
        report.processes,
        report.values.0,
        report.generator.median_ms,
        report.generator.min_ms,
        report.values.1,
        report.discriminator.median_ms,
        report.discriminator.min_ms,
        report.small.median_ms,
        report.bytes_sent_per_step / 1e6
    )?;
    Ok(())
}

/// Runs and prints the per-layer profile, each layer's arithmetic rate beside this CPU's
/// measured peak.
fn print_layers(config: &BenchConfig, json: bool) -> anyhow::Result<()> {
    let device = crate::device::start(config.device, config.precision)?.autodiff();
    let threads = rayon::current_num_threads();
    let peak = (config.device == DeviceKind::Cpu)
        .then(|| peak::measure(threads))
        .flatten();
    // The products run in bf16 where the run asks for it (and the CPU has it).
    let peak_gflops = peak.map(|p| match config.precision {
        Precision::Bf16 if amx::in_use() => p.amx_bf16_gflops.unwrap_or(p.f32_gflops),
        Precision::Bf16 => p.bf16_gflops.unwrap_or(p.f32_gflops),
        Precision::F32 => p.f32_gflops,
    });
    let parts = layers::profile(config.recipe(), config.iters, config.warmup, &device)?;
    if json {
        let report = serde_json::json!({ "peak": peak, "parts": parts });
        crate::say!("{report}")?;
        return Ok(());
    }
    crate::say!("{}", kernels_line(config))?;
    match peak {
        Some(p) => crate::say!(
            "peak, measured on {} threads: f32 {:.0} GFLOP/s ({} FMA){}{}",
            p.threads,
            p.f32_gflops,
            p.instructions,
            p.bf16_gflops.map_or(String::new(), |b| format!(
                ", bf16 {b:.0} GFLOP/s (vdpbf16ps)"
            )),
            p.amx_bf16_gflops.map_or(String::new(), |b| format!(
                ", bf16 on AMX {b:.0} GFLOP/s (tdpbf16ps)"
            ))
        )?,
        None => crate::say!("peak: not measured on this device or CPU")?,
    }
    print_parts(&parts, config.batch_size, peak_gflops)
}

/// The profile's table: each part's medians, its share, and for the layers their rate
/// over both passes and its fraction of `peak` (GFLOP/s).
fn print_parts(parts: &[PartTiming], batch: usize, peak: Option<f64>) -> anyhow::Result<()> {
    let total: f64 = parts.iter().map(|p| p.ms_per_iteration()).sum();
    let title = format!("part (batch {batch})");
    crate::say!(
        "{title:<44} {:>9} {:>9} {:>6} {:>8} {:>6} {:>8} {:>7}",
        "forward",
        "backward",
        "×/iter",
        "ms/iter",
        "share",
        "GFLOP/s",
        "of peak"
    )?;
    for part in parts {
        let backward_ms = part.backward.as_ref().map_or(0.0, |t| t.median_ms);
        let backward = part
            .backward
            .as_ref()
            .map_or("-".to_string(), |t| format!("{:.2}", t.median_ms));
        let rate = part
            .flops
            .map(|(f, b)| (f + b) / (part.forward.median_ms + backward_ms) / 1e6);
        let rate_text = rate.map_or("-".to_string(), |r| format!("{r:.0}"));
        let fraction = match (rate, peak) {
            (Some(r), Some(p)) => format!("{:.0}%", 100.0 * r / p),
            _ => "-".to_string(),
        };
        crate::say!(
            "{:<44} {:>9.2} {:>9} {:>6} {:>8.1} {:>5.1}% {:>8} {:>7}",
            part.name,
            part.forward.median_ms,
            backward,
            part.per_iteration,
            part.ms_per_iteration(),
            100.0 * part.ms_per_iteration() / total,
            rate_text,
            fraction
        )?;
    }
    crate::say!("{:<44} {:>9} {:>9} {:>6} {:>8.1}", "sum", "", "", "", total)?;
    crate::say!(
        "(medians in ms; GFLOP/s counts the products, 2 per multiply-add, of both passes; a \
         training iteration also pays for the losses and the autodiff tape)"
    )?;
    Ok(())
}
