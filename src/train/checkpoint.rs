//! Checkpoints: a whole run in one file, written atomically after every epoch.
//!
//! Layout: [`crate::sections`] with magic `b"DCGANCKP"` and the sections `state` (JSON
//! [`RunState`]), `generator` and `discriminator` (burn records), `optim_g` and `optim_d`
//! (burn optimiser records); for ACGAN and projection runs `discriminator_head` (the
//! record of D's class head), and for runs with `--ema` `generator_ema` (the average's
//! record, named as G's), and for runs with `--spectral-norm` `spectral_norm` (the power
//! iteration's vectors, JSON).
//!
//! A run directory keeps the latest checkpoint and the one before it, so a checkpoint
//! damaged on disk costs one epoch, not the run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::{Bytes, Device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Gan, RunState, TrainConfig};
use crate::model::conditioning::ClassHead;
use crate::model::spectral_norm::SpectralNorm;
use crate::model::{Discriminator, DiscriminatorNet, Generator, GeneratorNet};
use crate::optim::adam;
use crate::run_dir::{CHECKPOINT, PREVIOUS_CHECKPOINT};
use crate::{atomic_file, sections};

/// Version of the file layout; bumped when it changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"DCGANCKP";
const SECTIONS: [&str; 5] = ["state", "generator", "discriminator", "optim_g", "optim_d"];
/// The section of D's class head, in conditional runs that have one.
const HEAD_SECTION: &str = "discriminator_head";
/// The section of the moving average of G's weights, in runs that keep one.
const EMA_SECTION: &str = "generator_ema";
/// The section of the spectral normalisation's vectors (JSON), in runs that have it.
const SPECTRAL_SECTION: &str = "spectral_norm";

/// Writes the run to `dir/checkpoint.dcgan`, keeping the old one as `checkpoint.prev.dcgan`.
///
/// The new checkpoint is complete on disk (written and synced under a temporary name)
/// before the old ones move, so a failed write — a full disk, a read-only directory —
/// leaves both previous checkpoints as they were.
pub fn save(dir: &Path, state: &RunState, gan: &Gan) -> anyhow::Result<PathBuf> {
    let bytes = encode(state, gan)?;
    let latest = dir.join(CHECKPOINT);
    let incoming = dir.join(format!("{CHECKPOINT}.new"));
    atomic_file::write(&incoming, &bytes)
        .with_context(|| format!("cannot write checkpoint {}", incoming.display()))?;
    if latest.exists() {
        std::fs::rename(&latest, dir.join(PREVIOUS_CHECKPOINT))
            .with_context(|| format!("cannot keep the previous checkpoint {}", latest.display()))?;
    }
    std::fs::rename(&incoming, &latest)
        .with_context(|| format!("cannot write checkpoint {}", latest.display()))?;
    Ok(latest)
}

/// Loads a checkpoint file, or a run directory's latest one; if that cannot be read
/// (missing, truncated, its checksum wrong), the previous one, with a warning on stderr.
pub fn load(path: &Path, device: &Device) -> anyhow::Result<(RunState, Gan)> {
    read(path)?.build(device)
}

/// A checkpoint read from disk and checked (its checksum, its run state), its networks not
/// yet built: what a resume needs to choose the device to build them on, from one read.
pub struct Checkpoint {
    path: PathBuf,
    state: RunState,
    sections: sections::Sections,
}

/// Reads a checkpoint file, or a run directory's latest one; if that cannot be read
/// (missing, truncated, its checksum wrong), the previous one, with a warning on stderr.
pub fn read(path: &Path) -> anyhow::Result<Checkpoint> {
    read_run(path, read_file)
}

/// Reads one checkpoint file.
fn read_file(path: &Path) -> anyhow::Result<Checkpoint> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read checkpoint {} (is this a dcgan run directory or checkpoint file?)",
            path.display()
        )
    })?;
    let parse = || -> anyhow::Result<Checkpoint> {
        let mut sections = sections::decode(&bytes, MAGIC, FORMAT_VERSION, "checkpoint")?;
        let state = state_of(&mut sections)?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            state,
            sections,
        })
    };
    parse().with_context(|| format!("checkpoint {} is unusable", path.display()))
}

impl Checkpoint {
    /// The run's settings and progress.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The run with its networks and optimisers built on `device`.
    pub fn build(self, device: &Device) -> anyhow::Result<(RunState, Gan)> {
        let Checkpoint {
            path,
            state,
            sections,
        } = self;
        let gan = networks(&state, sections, device)
            .with_context(|| format!("checkpoint {} is unusable", path.display()))?;
        Ok((state, gan))
    }
}

/// `read` of a checkpoint file, or of a run directory's latest checkpoint and, if that
/// fails and a previous one exists, of the previous one (with a warning).
fn read_run<T>(path: &Path, read: impl Fn(&Path) -> anyhow::Result<T>) -> anyhow::Result<T> {
    if !path.is_dir() {
        return read(path);
    }
    let previous = path.join(PREVIOUS_CHECKPOINT);
    match read(&path.join(CHECKPOINT)) {
        Ok(loaded) => Ok(loaded),
        Err(err) if previous.exists() => {
            eprintln!(
                "warning: {err:#}\nwarning: using the previous checkpoint {}",
                previous.display()
            );
            read(&previous)
        }
        Err(err) => Err(err),
    }
}

/// A generator loaded for inference, with what its file says of it.
pub struct LoadedGenerator {
    /// The generator, BatchNorm on its moving averages.
    pub generator: Generator,
    /// A conditional generator's class names, by label; empty for an unconditional one.
    pub classes: Vec<String>,
    /// The run's configuration, when the file holds one (a checkpoint, not a
    /// `generator.safetensors`).
    pub config: Option<TrainConfig>,
}

/// Loads a generator for inference from a run directory, a checkpoint file or a
/// `generator.safetensors`.
pub fn load_generator(path: &Path, device: &Device) -> anyhow::Result<LoadedGenerator> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        let (generator, classes) = crate::weights::load_generator(path, device)?;
        Ok(LoadedGenerator {
            generator: generator.valid(),
            classes,
            config: None,
        })
    } else {
        let (state, gan) = load(path, device)?;
        Ok(LoadedGenerator::of_run(state, &gan))
    }
}

impl LoadedGenerator {
    /// The generator of a loaded run, as sampling uses it, with the run's classes and
    /// configuration.
    pub fn of_run(state: RunState, gan: &Gan) -> Self {
        LoadedGenerator {
            generator: state.inference_generator(gan),
            classes: state.config.recipe.classes.clone(),
            config: Some(state.config),
        }
    }
}

fn encode(state: &RunState, gan: &Gan) -> anyhow::Result<Vec<u8>> {
    gan.generator.sync_batch_norms();
    gan.discriminator.sync_batch_norms();
    let module = |m: ModuleRecord| canonical(m.into_bytes().map_err(anyhow::Error::msg)?);
    let optim = |o: &ModuleOptimizer| canonical(o.into_bytes().map_err(anyhow::Error::msg)?);
    let sections: [Vec<u8>; 5] = [
        serde_json::to_vec(state)?,
        module(generator_record(&gan.generator))?,
        module(discriminator_record(&gan.discriminator))?,
        optim(&gan.optim_g)?,
        optim(&gan.optim_d)?,
    ];
    let head = match &gan.discriminator.head {
        Some(head) => Some(module(head.clone().into_record())?),
        None => None,
    };
    let ema = match &gan.ema {
        Some(ema) => Some(module(generator_record(ema))?),
        None => None,
    };
    let mut named: Vec<(&str, &[u8])> = SECTIONS
        .iter()
        .zip(&sections)
        .map(|(name, body)| (*name, body.as_slice()))
        .collect();
    if let Some(head) = &head {
        named.push((HEAD_SECTION, head));
    }
    if let Some(ema) = &ema {
        named.push((EMA_SECTION, ema));
    }
    let spectral = match &gan.spectral_norm {
        Some(norm) => Some(serde_json::to_vec(&norm.to_values())?),
        None => None,
    };
    if let Some(spectral) = &spectral {
        named.push((SPECTRAL_SECTION, spectral));
    }
    Ok(sections::encode(MAGIC, FORMAT_VERSION, &named))
}

/// The generator's record: the inner network's, whatever its family, so its names
/// (`fc.weight`, …) are those checkpoints had before there were families.
fn generator_record(g: &Generator) -> ModuleRecord {
    match g.net.clone() {
        GeneratorNet::Seed(g) => g.into_record(),
        GeneratorNet::Paper(g) => g.into_record(),
    }
}

/// The discriminator network's record, as [`generator_record`] (its class head has a
/// section of its own).
fn discriminator_record(d: &Discriminator) -> ModuleRecord {
    match d.net.clone() {
        DiscriminatorNet::Seed(d) => d.into_record(),
        DiscriminatorNet::Paper(d) => d.into_record(),
    }
}

/// `g` with the values of `record`, written by [`generator_record`].
fn load_generator_record(mut g: Generator, record: ModuleRecord) -> Result<Generator, RecordError> {
    g.net = match g.net {
        GeneratorNet::Seed(g) => GeneratorNet::Seed(g.try_load_record(record)?),
        GeneratorNet::Paper(g) => GeneratorNet::Paper(g.try_load_record(record)?),
    };
    Ok(g)
}

/// `d`'s network with the values of `record`, written by [`discriminator_record`].
fn load_discriminator_record(
    mut d: Discriminator,
    record: ModuleRecord,
) -> Result<Discriminator, RecordError> {
    d.net = match d.net {
        DiscriminatorNet::Seed(d) => DiscriminatorNet::Seed(d.try_load_record(record)?),
        DiscriminatorNet::Paper(d) => DiscriminatorNet::Paper(d.try_load_record(record)?),
    };
    Ok(d)
}

/// The `state` section.
fn state_of(sections: &mut sections::Sections) -> anyhow::Result<RunState> {
    serde_json::from_slice(&sections.take("state")?).context("section state is not valid")
}

/// Rewrites a burnpack record with its tensors sorted by name.
///
/// burn's optimiser lists its states in hash-map order, which changes from process to
/// process; sorted, the same state always gives the same bytes, so two runs with the same
/// seed write identical checkpoints.
fn canonical(record: Bytes) -> anyhow::Result<Vec<u8>> {
    let reader = burn_pack::Reader::from_bytes(record)?;
    let metadata = reader.metadata().clone();
    let scalars = reader.scalars().clone();
    let mut tensors = reader.into_tensors()?;
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let mut writer = burn_pack::Writer::new(tensors);
    for (key, value) in &metadata {
        writer = writer.with_metadata(key, value);
    }
    for (key, value) in scalars {
        writer = writer.with_scalar(&key, value);
    }
    Ok(writer.into_bytes()?.to_vec())
}

/// The networks, optimisers and their companions of the run `state`, from the other
/// sections.
fn networks(
    state: &RunState,
    mut sections: sections::Sections,
    device: &Device,
) -> anyhow::Result<Gan> {
    let mut section = |name: &str| sections.take(name);
    let record = |bytes: Vec<u8>, name: &str| {
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| anyhow::anyhow!("section {name}: {e}"))
    };
    // Fresh modules only give the structure; the records replace every value.
    let arch = state
        .config
        .recipe
        .architecture()
        .context("section state describes no network dcgan can build")?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let generator = load_generator_record(
        arch.generator(&mut rng, device),
        record(section("generator")?, "generator")?,
    )
    .map_err(|e| anyhow::anyhow!("section generator: {e}"))?;
    let mut discriminator = load_discriminator_record(
        arch.discriminator(&mut rng, device),
        record(section("discriminator")?, "discriminator")?,
    )
    .map_err(|e| anyhow::anyhow!("section discriminator: {e}"))?;
    if let Some(head) = discriminator.head.take() {
        let loaded: ClassHead = head
            .try_load_record(record(section(HEAD_SECTION)?, HEAD_SECTION)?)
            .map_err(|e| anyhow::anyhow!("section {HEAD_SECTION}: {e}"))?;
        discriminator.head = Some(loaded);
    }
    let ema = match state.config.recipe.ema {
        Some(_) => Some(
            load_generator_record(
                arch.generator(&mut rng, device),
                record(section(EMA_SECTION)?, EMA_SECTION)?,
            )
            .map_err(|e| anyhow::anyhow!("section {EMA_SECTION}: {e}"))?
            .valid(),
        ),
        None => None,
    };
    let spectral_norm = if state.config.recipe.spectral_norm {
        let values = serde_json::from_slice(&section(SPECTRAL_SECTION)?)
            .with_context(|| format!("section {SPECTRAL_SECTION} is not valid"))?;
        Some(
            SpectralNorm::from_values(&discriminator, values, device)
                .with_context(|| format!("section {SPECTRAL_SECTION}"))?,
        )
    } else {
        None
    };
    let optim = |name: &str, bytes: Vec<u8>| {
        adam(&state.config.recipe.optimizer)
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| anyhow::anyhow!("section {name}: {e}"))
    };
    let optim_g = optim("optim_g", section("optim_g")?)?;
    let optim_d = optim("optim_d", section("optim_d")?)?;
    let gan = Gan {
        generator,
        discriminator,
        optim_g,
        optim_d,
        ema,
        spectral_norm,
    };
    Ok(gan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_checkpoints_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let (mut state, gan) = RunState::start(TrainConfig::default(), &device);
        save(dir.path(), &state, &gan).unwrap();
        state.epochs_done = 1;
        save(dir.path(), &state, &gan).unwrap();
        let latest = std::fs::read(dir.path().join(CHECKPOINT)).unwrap();
        let previous = std::fs::read(dir.path().join(PREVIOUS_CHECKPOINT)).unwrap();

        // A directory where the new checkpoint must go makes the write fail, as a full disk
        // or a read-only directory would.
        let blocker = dir.path().join(format!("{CHECKPOINT}.new"));
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("x"), b"x").unwrap();
        state.epochs_done = 2;
        let err = format!("{:#}", save(dir.path(), &state, &gan).unwrap_err());
        assert!(err.contains("cannot write checkpoint"), "{err}");
        assert!(std::fs::read(dir.path().join(CHECKPOINT)).unwrap() == latest);
        assert!(std::fs::read(dir.path().join(PREVIOUS_CHECKPOINT)).unwrap() == previous);
        let (loaded, _) = load(dir.path(), &device).unwrap();
        assert_eq!(loaded.epochs_done, 1);
    }

    #[test]
    fn a_missing_latest_checkpoint_falls_back_to_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let (state, gan) = RunState::start(TrainConfig::default(), &device);
        save(dir.path(), &state, &gan).unwrap();
        std::fs::rename(
            dir.path().join(CHECKPOINT),
            dir.path().join(PREVIOUS_CHECKPOINT),
        )
        .unwrap();
        // As after a kill between the two renames of `save`.
        assert!(load(dir.path(), &device).is_ok());
    }
}
