//! The checkpoint timeline: the same noise drawn by the generator of every saved epoch
//! (`generators/epoch_NNN.safetensors`), loaded on demand and kept in a cache of bounded
//! size.

use std::sync::{Arc, Mutex};

use burn::tensor::Device;

use super::run_dir::{FileStamp, RunDir};
use crate::model::Generator;
use crate::picture::{ImageGrid, Noise, images_from_tensor};

/// Bytes of generator files kept loaded at once (the least recently drawn go first).
const CACHE_BYTES: u64 = 256 << 20;

/// A run's epoch generators, drawn on request.
pub struct Timeline {
    /// The run directory.
    pub run: RunDir,
    device: Device,
    /// What every epoch's generator must take: the served generator's noise length and
    /// number of classes.
    expects: (usize, usize),
    cache: Mutex<Vec<Cached>>,
}

/// A loaded epoch generator, and the file it came from.
struct Cached {
    epoch: usize,
    stamp: FileStamp,
    generator: Arc<Generator>,
}

impl Timeline {
    /// The timeline of `run`, for generators of `noise_dim` and `classes` classes.
    pub fn new(run: RunDir, device: Device, noise_dim: usize, classes: usize) -> Self {
        Timeline {
            run,
            device,
            expects: (noise_dim, classes),
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The images of `noise` (of `labels` for a conditional run) drawn by the generator of
    /// `epoch`, `columns` to a row; an error says why there are none.
    pub fn draw(
        &self,
        epoch: usize,
        noise: &Noise,
        labels: Option<&[usize]>,
        columns: usize,
    ) -> Result<ImageGrid, String> {
        let g = self.generator(epoch)?;
        let images = super::explorer::images_of(&g, noise, labels, &self.device);
        Ok(images_from_tensor(images, columns))
    }

    /// The generator of `epoch`, from the cache while its file is unchanged.
    fn generator(&self, epoch: usize) -> Result<Arc<Generator>, String> {
        let (path, stamp) = self.run.epoch_generator(epoch).ok_or_else(|| {
            let saved: Vec<String> = self
                .run
                .epochs()
                .iter()
                .filter(|e| e.generator)
                .map(|e| e.epoch.to_string())
                .collect();
            format!(
                "epoch {epoch} has no saved generator; the run has them for epochs [{}]",
                saved.join(", ")
            )
        })?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = cache
            .iter()
            .position(|c| c.epoch == epoch && c.stamp == stamp)
        {
            // Most recently used last.
            let hit = cache.remove(i);
            let generator = Arc::clone(&hit.generator);
            cache.push(hit);
            return Ok(generator);
        }
        let loaded = crate::train::checkpoint::load_generator(&path, &self.device)
            .map_err(|e| format!("epoch {epoch}'s generator: {e:#}"))?;
        let g = &loaded.generator;
        let (noise_dim, classes) = self.expects;
        if g.noise_dim() != noise_dim || loaded.classes.len() != classes {
            return Err(format!(
                "{} takes noise {} and {} classes, not the served generator's {noise_dim} and \
                 {classes}: it is not from this run",
                path.display(),
                g.noise_dim(),
                loaded.classes.len()
            ));
        }
        let generator = Arc::new(loaded.generator);
        cache.retain(|c| c.epoch != epoch);
        cache.push(Cached {
            epoch,
            stamp,
            generator: Arc::clone(&generator),
        });
        // Hand-written rather than an LRU crate's: the bound is in bytes, not entries, and
        // the cache holds a few dozen entries at most.
        while cache.iter().map(|c| c.stamp.len).sum::<u64>() > CACHE_BYTES && cache.len() > 1 {
            cache.remove(0);
        }
        Ok(generator)
    }
}
