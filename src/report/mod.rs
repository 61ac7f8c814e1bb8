//! Pictures of a whole run: `OUT/loss.png` (the curves of `metrics.jsonl`), `OUT/fid.png`
//! (the FID of each evaluation in `eval.jsonl`, with `--eval-every`) and `OUT/progress.gif`
//! (the sample pictures of all epochs in order). Written at the end of training and by
//! `dcgan report --run DIR` at any time.

mod fid_plot;
mod loss_plot;
mod progress_gif;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::run_dir::{EvalRecord, MetricsRecord, read_jsonl};

pub use fid_plot::{FidCurve, draw_fid_curves, draw_fid_plot};
pub use loss_plot::draw_loss_plot;
pub use progress_gif::draw_progress_gif;

/// What [`write_report`] wrote.
#[derive(Debug)]
pub struct Report {
    /// `loss.png`, unless the run has logged no step yet.
    pub loss_plot: Option<PathBuf>,
    /// `fid.png`, unless the run has no evaluation yet.
    pub fid_plot: Option<PathBuf>,
    /// `progress.gif`, unless the run has saved no picture yet.
    pub progress_gif: Option<PathBuf>,
}

impl Report {
    /// The files written.
    pub fn written(&self) -> impl Iterator<Item = &Path> {
        [&self.loss_plot, &self.fid_plot, &self.progress_gif]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
    }
}

/// Writes `run/loss.png`, `run/fid.png` and `run/progress.gif` from the run's
/// `metrics.jsonl`, `eval.jsonl` and `samples/epoch_*.png`, each atomically; what a run does
/// not have yet is skipped.
pub fn write_report(run: &Path) -> anyhow::Result<Report> {
    if !run.is_dir() {
        bail!(
            "{} is not a directory; pass the --out of a training run",
            run.display()
        );
    }
    let metrics = run.join(crate::run_dir::METRICS);
    let pictures = crate::run_dir::PICTURES.list(run)?;
    if !metrics.exists() && pictures.is_empty() {
        bail!(
            "{} holds no metrics.jsonl and no samples/epoch_*.png; is it the --out of a training run?",
            run.display()
        );
    }
    let records = if metrics.exists() {
        read_jsonl::<MetricsRecord>(&metrics)?
    } else {
        Vec::new()
    };
    let loss_plot = (!records.is_empty())
        .then(|| write_file(run, "loss.png", draw_loss_plot(&records)?))
        .transpose()?;
    let evals = evaluations(run)?;
    let fid_plot = (!evals.is_empty())
        .then(|| write_file(run, "fid.png", draw_fid_plot(&evals)?))
        .transpose()?;
    let progress_gif = (!pictures.is_empty())
        .then(|| write_file(run, "progress.gif", draw_progress_gif(&pictures)?))
        .transpose()?;
    Ok(Report {
        loss_plot,
        fid_plot,
        progress_gif,
    })
}

/// Draws the FID curves of several runs (`dir` and its legend label each; runs with one
/// label share a colour, under their mean) into the PNG `out`, atomically. A run without
/// evaluations is an error naming it.
pub fn write_comparison(runs: &[(PathBuf, String)], out: &Path) -> anyhow::Result<()> {
    let mut scored = Vec::with_capacity(runs.len());
    for (dir, _) in runs {
        if !dir.is_dir() {
            bail!(
                "{} is not a directory; --compare takes the --out of training runs",
                dir.display()
            );
        }
        let records = evaluations(dir)?;
        if records.is_empty() {
            bail!(
                "{} holds no evaluations; train it with --eval-every N (colour runs score \
                 themselves when the Inception weights are installed) or drop it",
                dir.display()
            );
        }
        scored.push(records);
    }
    // FIDs on different networks (Inception, a classifier, other weights) do not compare.
    let network = |records: &[EvalRecord]| records.last().and_then(|r| r.features.clone());
    let first = network(&scored[0]);
    if let Some(other) = scored.iter().position(|e| network(e) != first) {
        bail!(
            "{} and {} were scored on different networks ({} and {}); compare runs scored \
             alike",
            runs[0].0.display(),
            runs[other].0.display(),
            scored[0].last().map_or("FID", EvalRecord::fid_label),
            scored[other].last().map_or("FID", EvalRecord::fid_label)
        );
    }
    let curves: Vec<FidCurve> = runs
        .iter()
        .zip(&scored)
        .map(|((_, label), records)| FidCurve { label, records })
        .collect();
    let png = draw_fid_curves(&curves)?;
    crate::atomic_file::write(out, &png).with_context(|| format!("cannot write {}", out.display()))
}

/// The evaluations a run has logged in `eval.jsonl`, none when it has no such file.
fn evaluations(run: &Path) -> anyhow::Result<Vec<EvalRecord>> {
    let path = run.join(crate::run_dir::EVALS);
    match path.exists() {
        true => read_jsonl(&path),
        false => Ok(Vec::new()),
    }
}

/// An RGB picture of `size` as PNG bytes; `what` names it in an error.
fn png(pixels: Vec<u8>, (w, h): (u32, u32), what: &str) -> anyhow::Result<Vec<u8>> {
    let image = image::RgbImage::from_raw(w, h, pixels).expect("buffer of the plot's size");
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .with_context(|| format!("cannot encode {what}"))?;
    Ok(png)
}

/// Writes `bytes` to `run/name` atomically; returns the path.
fn write_file(run: &Path, name: &str, bytes: Vec<u8>) -> anyhow::Result<PathBuf> {
    let path = run.join(name);
    crate::atomic_file::write(&path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The embedded font of the plots' text (DejaVu Sans cut to ASCII by
/// `scripts/subset_font.sh`; licence in `assets/fonts/LICENSE`), registered once.
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let bytes = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
        plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
            .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType font"));
    });
}
