//! Everything training says on the console: how the run starts, a progress bar per epoch,
//! a line per epoch and per evaluation, warnings, and how it ended. The files a run writes
//! are [`super::log`]'s.

use std::path::Path;
use std::time::Instant;

use indicatif::ProgressBar;

use super::TrainConfig;
use super::loss::Loss;
use super::state::RunState;
use crate::device::DeviceKind;
use crate::eval::Scores;
use crate::kernels::precision;
use crate::logging::progress;
use crate::optim::AdamSettings;

/// The console of one run: the current epoch's bar and clock, and the watch on D's loss.
#[derive(Default)]
pub struct Reporter {
    epoch: Option<(ProgressBar, Instant)>,
    /// Only a cross-entropy D loss falls to 0 when D wins; set when the run opens.
    d_wins: Option<DWinsWatch>,
}

impl Reporter {
    /// The line that opens a new run (its length, batch, loss, optimiser, whatever else it
    /// adds to the paper's recipe, seed and directory), and the CPU kernels it uses.
    pub fn new_run(&mut self, config: &TrainConfig, out: &Path) {
        let r = &config.recipe;
        let steps = r.step_settings();
        let lr = if steps.lr_g == steps.lr_d {
            format!("lr {}", steps.lr_g)
        } else {
            format!("lr G {} D {}", steps.lr_g, steps.lr_d)
        };
        let mut extras = String::new();
        if r.d_steps > 1 {
            extras += &format!(", {} D steps per G step", r.d_steps);
        }
        if r.loss == Loss::Wasserstein {
            extras += &format!(", D's weights clipped to ±{}", r.weight_clip);
        }
        if r.spectral_norm {
            extras += ", spectral norm in D";
        }
        if !r.augment.is_empty() {
            let kinds: Vec<&str> = r.augment.iter().map(|k| k.name()).collect();
            extras += &format!(", DiffAugment {}", kinds.join(","));
        }
        if let Some(decay) = r.ema {
            extras += &format!(", EMA of G {decay}");
        }
        let beta2 = r.optimizer.beta2;
        let beta2 = match beta2 == AdamSettings::default().beta2 {
            true => String::new(),
            false => format!(" β2 {beta2}"),
        };
        crate::tell!(
            "training {} epochs, batch {}, {} loss, Adam {lr} β1 {}{beta2}{extras}, seed {} -> {}",
            config.schedule.epochs,
            r.batch_size,
            r.loss.name(),
            r.optimizer.beta1,
            r.seed,
            out.display()
        );
        self.kernels(config);
    }

    /// Where a resumed run goes on, and the CPU kernels it uses.
    pub fn resuming(&mut self, state: &RunState, out: &Path) {
        match state.batches_done {
            0 => crate::tell!(
                "resuming {} after epoch {}",
                out.display(),
                state.epochs_done
            ),
            batches => crate::tell!(
                "resuming {} in epoch {} after batch {batches} (step {})",
                out.display(),
                state.epochs_done,
                state.g_step
            ),
        }
        self.kernels(&state.config);
    }

    /// The CPU kernels, and the watch on D's loss that the run's loss calls for.
    fn kernels(&mut self, config: &TrainConfig) {
        self.d_wins = config
            .recipe
            .loss
            .is_cross_entropy()
            .then(DWinsWatch::default);
        if config.schedule.device == DeviceKind::Cpu {
            crate::tell!("{}", precision::kernels_line(config.schedule.precision));
        }
        let processes = crate::processes::world().size();
        if processes > 1 {
            let batch = config.recipe.batch_size;
            let statistics = match config.recipe.local_batch_norm {
                true => "its own slice's",
                false => "the whole batch's",
            };
            crate::tell!(
                "{processes} processes (MPI): each trains on {} of each batch's {batch} \
                 images, BatchNorm on {statistics} statistics, gradients averaged; rank 0 \
                 writes",
                batch / processes
            );
        }
    }

    /// A line of its own: what the data or the model is, or a note.
    pub fn line(&self, line: &str) {
        match &self.epoch {
            Some((bar, _)) => bar.println(line),
            None => crate::tell!("{line}"),
        }
    }

    /// A warning on stderr, above the bar (none in a [`quiet`](crate::logging::quiet)
    /// process: rank 0 gives the same).
    pub fn warn(&self, warning: &str) {
        if crate::logging::quiet() {
            return;
        }
        match &self.epoch {
            Some((bar, _)) => bar.suspend(|| eprintln!("warning: {warning}")),
            None => eprintln!("warning: {warning}"),
        }
    }

    /// Starts `epoch`'s bar over `images`, `done` of them already trained (a resumed epoch).
    pub fn begin_epoch(&mut self, epoch: usize, epochs: usize, images: usize, done: usize) {
        let bar = progress::epoch_bar(images as u64, epoch, epochs);
        bar.inc(done as u64);
        self.epoch = Some((bar, Instant::now()));
    }

    /// One iteration's losses on the bar, `images` more trained, and the warning when D
    /// has won.
    pub fn step(&mut self, loss_d: f32, loss_g: f32, images: usize) {
        let Some((bar, _)) = &self.epoch else { return };
        if let Some(warning) = self.d_wins.as_mut().and_then(|w| w.observe(loss_d)) {
            bar.println(warning);
        }
        bar.set_message(format!("D {loss_d:.4}  G {loss_g:.4}"));
        bar.inc(images as u64);
    }

    /// Takes the bar down when training ends within an epoch (a stop or an error).
    pub fn abandon(&mut self) {
        if let Some((bar, _)) = self.epoch.take() {
            bar.abandon();
        }
    }

    /// The epoch's line: its mean losses, time, and images a second over the `images`
    /// this session trained.
    pub fn end_epoch(&mut self, epoch: usize, mean_losses: (f64, f64), images: usize) {
        let Some((bar, started)) = self.epoch.take() else {
            return;
        };
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        crate::tell!(
            "epoch {epoch:04}  D loss {:.4}  G loss {:.4}  {secs:.1} s  {:.0} img/s",
            mean_losses.0,
            mean_losses.1,
            images as f64 / secs
        );
    }

    /// An evaluation's line.
    pub fn eval(&self, scores: &Scores, new_best: bool) {
        let accuracy = scores.class_accuracy.as_ref().map_or(String::new(), |a| {
            format!("  class accuracy {:.2} %", a.overall * 100.0)
        });
        let is = scores
            .inception_score
            .as_ref()
            .map_or(String::new(), |is| format!("  IS {:.3}", is.mean));
        let classes = scores.modes.as_ref().map_or(String::new(), |m| {
            format!("  classes {}", m.classes_present)
        });
        crate::tell!(
            "  eval: FID {:.3}  KID {:.5}{is}  precision {:.3}  recall {:.3}{classes}{accuracy}{}",
            scores.fid,
            scores.kid.mean,
            scores.precision_recall.precision,
            scores.precision_recall.recall,
            if new_best { "  (best so far)" } else { "" }
        );
    }

    /// Where a stopped run stands and how to continue it.
    pub fn stopped(&mut self, state: &RunState, out: &Path) {
        self.abandon();
        // A run on several processes goes on on any number of them; name the one it had.
        let processes = crate::processes::world().size();
        let launcher = match processes {
            1 => String::new(),
            n => format!("mpirun -np {n} "),
        };
        crate::tell!(
            "stopped after step {} (epoch {}, batch {}); checkpoint saved. Continue with:\n  {launcher}dcgan train --out {} --resume",
            state.d_step,
            state.epochs_done,
            state.batches_done,
            out.display()
        );
    }
}

/// Notices when the discriminator has won: its loss near zero for many steps in a row.
#[derive(Default)]
struct DWinsWatch {
    steps: usize,
    warned: bool,
}

impl DWinsWatch {
    /// D's loss below this ...
    const LOSS: f32 = 0.01;
    /// ... for this many steps in a row means D has won.
    const STEPS: usize = 100;

    /// Records D's loss; returns the warning, once, when D has won.
    fn observe(&mut self, loss_d: f32) -> Option<String> {
        self.steps = if loss_d < Self::LOSS {
            self.steps + 1
        } else {
            0
        };
        if self.steps < Self::STEPS || self.warned {
            return None;
        }
        self.warned = true;
        Some(format!(
            "warning: D's loss has stayed below {} for {} steps: the discriminator wins and G \
             gets almost no gradient, so samples will stay blank. Likely cause: a learning rate \
             or β1 too high for D (the seed's lr 1e-3, β1 0.9). Try --lr 0.0002 --beta1 0.5 \
             (the defaults).",
            Self::LOSS,
            Self::STEPS
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a cross-entropy D loss falls to 0 when D wins: a Wasserstein critic's is
    /// negative, and a hinge D's rests at 0, so neither is watched.
    #[test]
    fn only_cross_entropy_runs_are_watched_for_d_winning() {
        for (loss, watched) in [
            (Loss::NonSaturating, true),
            (Loss::Wasserstein, false),
            (Loss::Hinge, false),
        ] {
            let mut config = TrainConfig::default();
            config.recipe.loss = loss;
            let mut report = Reporter::default();
            report.new_run(&config, Path::new("run"));
            assert_eq!(report.d_wins.is_some(), watched, "{loss:?}");
        }
    }

    #[test]
    fn warns_once_after_a_long_run_of_tiny_d_losses() {
        let mut watch = DWinsWatch::default();
        for _ in 0..99 {
            assert!(watch.observe(0.001).is_none());
        }
        // A normal loss resets the count.
        assert!(watch.observe(0.5).is_none());
        for _ in 0..99 {
            assert!(watch.observe(0.001).is_none());
        }
        let warning = watch.observe(0.001).expect("warns at the 100th step");
        assert!(warning.contains("--lr 0.0002 --beta1 0.5"));
        assert!((0..500).all(|_| watch.observe(0.0).is_none()), "only once");
    }
}
