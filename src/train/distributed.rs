//! One run on several processes (`mpirun -np N dcgan train …`, a build with `--features
//! mpi`), data-parallel: every process draws the whole batch's random numbers from the run's
//! seed, as one process does, and trains on its slice of each batch; gradients are averaged
//! over the processes before each Adam step, so every process holds the same weights. On
//! one process each function here returns its input. docs/distributed.md has the whole
//! design.

use std::ops::Range;

use anyhow::bail;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use super::TrainConfig;
use super::state::Gan;
use crate::device::DeviceKind;
use crate::processes::world;

/// Steps between two comparisons of the processes' weights.
pub const COMPARE_EVERY: u64 = 200;

/// Refuses what a run on several processes cannot do: a device other than the CPU (the
/// BatchNorm statistics are shared by dcgan's CPU kernels), or a batch that does not split
/// evenly.
pub fn check(config: &TrainConfig) -> anyhow::Result<()> {
    let n = world().size();
    if n == 1 {
        return Ok(());
    }
    let device = config.schedule.device;
    if device != DeviceKind::Cpu {
        bail!(
            "--device {device}: a run on {n} processes trains on the CPU only (each process \
             uses all of its machine's cores); drop --device or pass --device cpu"
        );
    }
    let batch = config.recipe.batch_size;
    if !batch.is_multiple_of(n) {
        bail!(
            "--batch-size {batch} does not split evenly over {n} processes: pass a multiple \
             of {n} (--batch-size is the whole batch, which the processes share)"
        );
    }
    Ok(())
}

/// The rows of each batch this process trains on: its slice of the whole batch.
pub fn rows(batch: usize) -> Range<usize> {
    let world = world();
    let each = batch / world.size();
    world.rank() * each..(world.rank() + 1) * each
}

/// This process's rows of `tensor`, a whole batch (the first dimension).
pub fn slice<const D: usize>(tensor: Tensor<D>) -> Tensor<D> {
    let world = world();
    if world.size() == 1 {
        return tensor;
    }
    let rows = rows(tensor.dims()[0]);
    tensor.narrow(0, rows.start, rows.len())
}

/// `gradients` of `module`'s parameters averaged over the processes, added in rank order.
pub fn average_gradients<M: Module>(gradients: GradientsParams, module: &M) -> GradientsParams {
    let world = world();
    if world.size() == 1 {
        return gradients;
    }
    let mut gather = Gather {
        gradients: &gradients,
        values: Vec::new(),
    };
    module.visit(&mut gather);
    let mut values = gather.values;
    world.sum_f32(&mut values);
    let share = 1.0 / world.size() as f32;
    values.iter_mut().for_each(|v| *v *= share);
    let mut scatter = Scatter {
        gradients,
        values: &values,
        at: 0,
    };
    module.visit(&mut scatter);
    scatter.gradients
}

/// Collects every gradient of a module, in the module's order.
struct Gather<'a> {
    gradients: &'a GradientsParams,
    values: Vec<f32>,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.gradients.get::<D>(param.id) {
            let data = gradient.into_data().convert::<f32>();
            self.values
                .extend_from_slice(data.as_slice::<f32>().expect("f32 gradients"));
        }
    }
}

/// Puts averaged gradients back, in the order [`Gather`] took them.
struct Scatter<'a> {
    gradients: GradientsParams,
    values: &'a [f32],
    at: usize,
}

impl ModuleVisitor for Scatter<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(gradient) = self.gradients.get::<D>(param.id) {
            let shape = gradient.shape();
            let len = shape.num_elements();
            let data = TensorData::new(self.values[self.at..self.at + len].to_vec(), shape);
            self.at += len;
            let averaged = Tensor::<D>::from_data(data, &gradient.device());
            self.gradients.register(param.id, averaged);
        }
    }
}

/// The average over the processes of each of `figures` (losses and D's mean outputs, each a
/// mean over a process's slice; slices of one size make the average the whole batch's).
pub fn average_figures(figures: &mut [f32]) {
    let world = world();
    if world.size() > 1 {
        world.sum_f32(figures);
        let share = 1.0 / world.size() as f32;
        figures.iter_mut().for_each(|v| *v *= share);
    }
}

/// Fails, naming the step and the processes, when the processes' networks are not the
/// same, bit for bit: they must be after every step, and a difference means the run is no
/// longer one run.
pub fn compare_weights(gan: &Gan, step: u64) -> anyhow::Result<()> {
    let world = world();
    if world.size() == 1 {
        return Ok(());
    }
    let mut sum = Checksum(CRC.digest());
    gan.generator.visit(&mut sum);
    gan.discriminator.visit(&mut sum);
    let mine = sum.0.finalize();
    let all = world.gather(mine);
    if all.iter().any(|&c| c != all[0]) {
        let differ: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != all[0])
            .map(|(rank, _)| rank.to_string())
            .collect();
        bail!(
            "the processes' weights differ after step {step}: ranks {} are not rank 0's. \
             The processes must run the same dcgan on the same data; the last checkpoint is \
             untouched",
            differ.join(", ")
        );
    }
    Ok(())
}

static CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_ECMA_182);

/// A CRC-64 of every float parameter's bits.
struct Checksum(crc::Digest<'static, u64>);

impl ModuleVisitor for Checksum {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data().convert::<f32>();
        for value in data.as_slice::<f32>().expect("f32 parameters") {
            self.0.update(&value.to_bits().to_le_bytes());
        }
    }
}
