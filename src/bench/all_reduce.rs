//! `dcgan bench --all-reduce` under `mpirun`: how long a training step waits for its
//! gradients' average over the processes (`World::sum_f32`, as `train` calls it), for the
//! model the flags describe.

use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use super::{BenchConfig, Timing, trainable_parameters};
use crate::processes::world;
use crate::train::{RunState, TrainConfig};

/// The time of one average of each network's gradients.
#[derive(Debug, Clone, Serialize)]
pub struct AllReduceReport {
    /// Processes taking part.
    pub processes: usize,
    /// Values averaged in G's step (G's parameters) and D's (D's).
    pub values: (usize, usize),
    /// G's gradients.
    pub generator: Timing,
    /// D's gradients.
    pub discriminator: Timing,
    /// 128 values, as synchronised BatchNorm sums a layer's per-channel figures (about 30
    /// times a step for the seed's model): the exchange's latency.
    pub small: Timing,
    /// Bytes each process sends per step (both averages): twice the gradients, less one
    /// N-th, as a reduce-scatter then an all-gather do.
    pub bytes_sent_per_step: f64,
}

/// Times `config.iters` averages of each network's gradients, after `config.warmup`.
pub fn run(config: &BenchConfig) -> anyhow::Result<AllReduceReport> {
    let world = world();
    anyhow::ensure!(
        world.size() > 1,
        "--all-reduce times the processes' exchange: start it under mpirun -np N (N > 1) in \
         a build with --features mpi"
    );
    let train_config = TrainConfig {
        recipe: config.recipe(),
        ..TrainConfig::default()
    };
    let (_, gan) = RunState::start(train_config, &Device::flex().autodiff());
    let values = (
        trainable_parameters(&gan.generator),
        trainable_parameters(&gan.discriminator),
    );
    let time = |count: usize| {
        let mut gradients = vec![1e-3f32; count];
        let mut ms = Vec::new();
        for i in 0..config.warmup + config.iters {
            let start = Instant::now();
            world.sum_f32(&mut gradients);
            if i >= config.warmup {
                ms.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        Timing::of(ms)
    };
    let n = world.size() as f64;
    Ok(AllReduceReport {
        processes: world.size(),
        values,
        generator: time(values.0),
        discriminator: time(values.1),
        small: time(128),
        bytes_sent_per_step: 2.0 * (values.0 + values.1) as f64 * 4.0 * (n - 1.0) / n,
    })
}
