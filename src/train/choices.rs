//! What dcgan chooses for a new run that its command leaves open: a seed, the preset of a
//! small folder of the user's own images, and the scoring of a colour run. Every process
//! of a run on several ([`crate::processes`]) makes the same choice.

use anyhow::bail;

use super::config::TrainConfig;
use super::preset::{Preset, SMALL_FOLDER_IMAGES};
use crate::data::DatasetKind;
use crate::processes::world;

/// Images each evaluation of a colour run generates when dcgan turns the scoring on: the
/// Inception features of 1,000 images take about 72 s on two Zen 4 cores and their Fréchet
/// distance about 12 s more (docs/performance.md).
pub const SCORED_IMAGES: usize = 1000;

/// A random seed for a run that names none: rank 0's on every process.
pub fn drawn_seed() -> u64 {
    use rand::Rng;
    let own = rand::rng().random_range(0..1_000_000);
    world().gather(own)[0]
}

/// The preset for a new run on a folder, with the folder's number of images:
/// [`Preset::chosen_for`], the images counted up to [`SMALL_FOLDER_IMAGES`] (a big folder is
/// not listed to its end twice). A folder that cannot be listed gets none here (loading it
/// names the problem); processes that see different numbers of images (below that bound)
/// are refused.
pub fn folder_preset(config: &TrainConfig) -> anyhow::Result<Option<(Preset, usize)>> {
    let (dataset, dir) = (config.recipe.dataset, &config.schedule.data_dir);
    let Some(dir) = dir.as_deref().filter(|_| dataset == DatasetKind::Folder) else {
        return Ok(None);
    };
    let images =
        crate::data::folder::count_images(dir, SMALL_FOLDER_IMAGES).map_or(u64::MAX, |n| n as u64);
    let seen = world().gather(images);
    if let Some(rank) = seen.iter().position(|&n| n != seen[0]) {
        bail!(
            "the processes see different folders at {}: rank 0 {} images, rank {rank} {}; \
             give every process the same images",
            dir.display(),
            seen[0],
            seen[rank]
        );
    }
    if images == u64::MAX {
        return Ok(None);
    }
    let images = images as usize;
    Ok(Preset::chosen_for(dataset, images).map(|preset| (preset, images)))
}

/// Turns on a new colour run's scoring by Inception FID with every picture (each
/// `--sample-every` epochs; on [`SCORED_IMAGES`] images unless `eval_n_given`), so that
/// `dcgan report` and `dcgan serve --run` draw its FID curve. Returns the line that
/// announces it, or says how to install the weights when they are missing (the run then
/// trains unscored); `None` for a grey run or random images.
pub fn colour_scoring(
    config: &mut TrainConfig,
    eval_n_given: bool,
) -> anyhow::Result<Option<String>> {
    let colour = config.recipe.unconditional_architecture()?.channels == 3;
    if !colour || config.recipe.dataset == DatasetKind::Fake {
        return Ok(None);
    }
    if !crate::eval::inception::installed() {
        return Ok(Some(
            "note: this colour run is not scored as it trains: no Inception weights are \
             installed (`dcgan inception fetch` installs them; then `dcgan report` and \
             `dcgan serve --run` draw a run's FID every few epochs)"
                .to_string(),
        ));
    }
    let s = &mut config.schedule;
    s.eval_every = s.sample_every;
    if !eval_n_given {
        s.eval_n = SCORED_IMAGES;
    }
    Ok(Some(format!(
        "scoring: Inception FID of {} images every {} epochs (--eval-every 0 for none)",
        s.eval_n, s.eval_every
    )))
}
