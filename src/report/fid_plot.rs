//! `fid.png`: the FID of each evaluation of a run (`--eval-every`, `eval.jsonl`) against the
//! epochs trained, named by the network whose features it was computed on; and the same
//! curves of several runs in one picture (`dcgan report --compare`), the seeds of one label
//! drawn thin under their mean.

use anyhow::Context;
use plotters::prelude::*;

use crate::run_dir::EvalRecord;

/// Size of `fid.png` in pixels.
const SIZE: (u32, u32) = (1000, 420);

/// The colours of the labels of a comparison, in turn (a run's own curve takes the first).
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 130, 90),
    RGBColor(200, 60, 40),
    RGBColor(40, 90, 200),
    RGBColor(220, 150, 0),
    RGBColor(140, 60, 170),
    RGBColor(0, 160, 200),
    RGBColor(120, 120, 120),
    RGBColor(230, 90, 160),
];

/// One run's evaluations and the label the legend shows for it; runs with the same label
/// (the seeds of one recipe) share a colour and one legend entry, their mean drawn over them.
pub struct FidCurve<'a> {
    /// The legend's label.
    pub label: &'a str,
    /// The run's evaluations.
    pub records: &'a [EvalRecord],
}

/// Draws one run's evaluations as PNG bytes: [`draw_fid_curves`] without a legend.
pub fn draw_fid_plot(records: &[EvalRecord]) -> anyhow::Result<Vec<u8>> {
    draw_fid_curves(&[FidCurve { label: "", records }])
}

/// A run's evaluations as `(epochs trained, FID)`, those with a finite positive FID.
fn fids(records: &[EvalRecord]) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter(|r| r.fid.is_finite() && r.fid > 0.0)
        .map(|r| (r.epoch as f64 + 1.0, r.fid))
        .collect()
}

/// The mean FID of several runs at each epoch that every one of them scored (the mean rows
/// of docs/quality.md's tables), in epoch order.
fn mean_curve(runs: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let Some((first, rest)) = runs.split_first() else {
        return Vec::new();
    };
    let mut epochs = first.clone();
    epochs.sort_by(|a, b| a.0.total_cmp(&b.0));
    epochs
        .iter()
        .filter_map(|&(epoch, fid)| {
            let others: Option<Vec<f64>> = rest
                .iter()
                .map(|run| run.iter().find(|p| p.0 == epoch).map(|p| p.1))
                .collect();
            let sum = fid + others?.iter().sum::<f64>();
            Some((epoch, sum / runs.len() as f64))
        })
        .collect()
}

/// `colour` halfway to white: the seeds drawn under their mean.
fn faded(colour: RGBColor) -> RGBColor {
    let half = |c: u8| ((u16::from(c) + 255) / 2) as u8;
    RGBColor(half(colour.0), half(colour.1), half(colour.2))
}

/// One line of the picture: a run, or the mean of a label's runs.
struct Line {
    /// `(epochs trained, log10 of the FID)`.
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    /// A label's own line (a lone run, or the mean), not a seed under its mean.
    bold: bool,
    legend: Option<String>,
}

/// The lines of `curves`: each label's lone run as it is, or its runs faded under their mean;
/// the faded ones first, so that the others are drawn over them.
fn lines(curves: &[FidCurve]) -> Vec<Line> {
    let mut labels: Vec<&str> = Vec::new();
    for curve in curves {
        if !labels.contains(&curve.label) {
            labels.push(curve.label);
        }
    }
    let line = |points: &[(f64, f64)], colour, bold, legend| Line {
        points: points.iter().map(|&(x, fid)| (x, fid.log10())).collect(),
        colour,
        bold,
        legend,
    };
    let (mut seeds, mut bold) = (Vec::new(), Vec::new());
    for (index, &label) in labels.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let runs: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .filter(|c| c.label == label)
            .map(|c| fids(c.records))
            .collect();
        let mean = mean_curve(&runs);
        // A lone run, or runs that share no scored epoch (other `--eval-every`s): as they
        // are, one legend entry for them all.
        if runs.len() == 1 || mean.is_empty() {
            for (i, run) in runs.iter().enumerate() {
                let legend = (i == 0).then(|| label.to_string());
                bold.push(line(run, colour, true, legend));
            }
            continue;
        }
        seeds.extend(runs.iter().map(|run| line(run, faded(colour), false, None)));
        let legend = format!("{label} (mean of {})", runs.len());
        bold.push(line(&mean, colour, true, Some(legend)));
    }
    seeds.extend(bold);
    seeds
}

/// Draws each curve's FIDs against the epochs trained as PNG bytes, curves through dots on
/// a log scale (early FIDs run to hundreds, late ones near ten), with a legend of the
/// labels when there are several. Where several curves share a label, they are drawn thin
/// and faded, and their mean at the epochs they all scored thick, as "LABEL (mean of N)".
pub fn draw_fid_curves(curves: &[FidCurve]) -> anyhow::Result<Vec<u8>> {
    super::register_font();
    let lines = lines(curves);
    let all = lines.iter().flat_map(|l| &l.points);
    let first = all.clone().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let last = all.clone().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let low = all.clone().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = all.map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (first, last, low, high) = match first.is_finite() {
        true => (first, last.max(first + 1.0), low, high),
        false => (0.0, 1.0, 0.0, 1.0),
    };
    let name = curves
        .iter()
        .find_map(|c| c.records.last())
        .map_or("FID", EvalRecord::fid_label);
    let (w, h) = SIZE;
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        let draw_error =
            |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("cannot draw the FID plot: {e}");
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{name} after each evaluated epoch (lower is better)"),
                ("sans-serif", 22),
            )
            .margin(12)
            .margin_right(28)
            .x_label_area_size(36)
            .y_label_area_size(64)
            // log10 of the FID on a linear axis, labelled with the FIDs themselves: plotters'
            // log scale labels only powers of ten, none of which may fall in the range.
            .build_cartesian_2d(first - 0.5..last + 0.5, low - 0.1..high + 0.1)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("epochs trained")
            .y_desc(name)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| significant(10f64.powf(*y)))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_error)?;
        for line in &lines {
            let c = line.colour;
            let (width, radius) = if line.bold { (2, 4) } else { (1, 2) };
            let points = line.points.iter().copied();
            let drawn = chart
                .draw_series(LineSeries::new(points, c.stroke_width(width)))
                .map_err(draw_error)?;
            if let Some(legend) = &line.legend {
                drawn.label(legend).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                });
            }
            let dots = line
                .points
                .iter()
                .map(|&p| Circle::new(p, radius, c.filled()));
            chart.draw_series(dots).map_err(draw_error)?;
        }
        if lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(draw_error)?;
        }
        root.present().context("cannot draw the FID plot")?;
    }
    super::png(pixels, SIZE, "the FID plot")
}

/// `value` with three significant digits at most, for the FID axis (`312`, `45.2`, `7.81`).
fn significant(value: f64) -> String {
    let decimals = match value {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_evaluation_log_and_draws_its_curve() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eval.jsonl");
        let lines = [
            r#"{"step":10,"epoch":0,"fid":312.5,"features":{"kind":"inception","sha256":"ab"}}"#,
            r#"{"step":20,"epoch":1,"fid":140.0,"features":{"kind":"inception","sha256":"ab"}}"#,
            r#"{"step":30,"epoch":2,"fid":20.25,"features":{"kind":"inception","sha256":"ab"}}"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let records: Vec<EvalRecord> = crate::run_dir::read_jsonl(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!((records[2].epoch, records[2].fid), (2, 20.25));
        assert_eq!(records[0].fid_label(), "Inception FID");
        let png = draw_fid_plot(&records).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), SIZE);
        // The curve's colour is drawn.
        assert!(image.pixels().any(|p| p.0 == [0, 130, 90]));
        // An old log without `features`, and one evaluation: still a plot.
        let old: EvalRecord = serde_json::from_str(r#"{"step":5,"epoch":0,"fid":7.5}"#).unwrap();
        assert_eq!(old.fid_label(), "FID");
        assert!(draw_fid_plot(&[old]).is_ok());
    }

    #[test]
    fn the_mean_is_taken_at_the_epochs_every_run_scored() {
        let a = vec![(10.0, 300.0), (20.0, 200.0), (30.0, 100.0)];
        let b = vec![(10.0, 310.0), (20.0, 190.0)];
        let c = vec![(20.0, 210.0), (30.0, 90.0), (10.0, 320.0)];
        assert_eq!(mean_curve(&[a.clone(), b]), [(10.0, 305.0), (20.0, 195.0)]);
        assert_eq!(
            mean_curve(&[a, c]),
            [(10.0, 310.0), (20.0, 205.0), (30.0, 95.0)]
        );
        assert!(mean_curve(&[]).is_empty());
        assert_eq!(faded(RGBColor(0, 130, 90)), RGBColor(127, 192, 172));
    }

    #[test]
    fn several_runs_share_a_colour_per_label() {
        let run = |fids: &[f64]| -> Vec<EvalRecord> {
            fids.iter()
                .enumerate()
                .map(|(i, fid)| {
                    serde_json::from_value(serde_json::json!({
                        "step": i * 10, "epoch": i * 10 + 9, "fid": fid
                    }))
                    .unwrap()
                })
                .collect()
        };
        let (a1, a2, b) = (
            run(&[300.0, 200.0]),
            run(&[310.0, 190.0]),
            run(&[280.0, 250.0]),
        );
        let curves = [
            FidCurve {
                label: "all",
                records: &a1,
            },
            FidCurve {
                label: "all",
                records: &a2,
            },
            FidCurve {
                label: "paper",
                records: &b,
            },
        ];
        let png = draw_fid_curves(&curves).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        let has = |c: RGBColor| image.pixels().any(|p| p.0 == [c.0, c.1, c.2]);
        // Two labels, two colours; the third stays unused.
        assert!(has(COLOURS[0]) && has(COLOURS[1]));
        assert!(!has(COLOURS[2]));
        // The two runs of `all` faded under their mean, `paper`'s lone run as it is.
        let drawn: Vec<(RGBColor, bool, Option<String>)> = lines(&curves)
            .into_iter()
            .map(|l| (l.colour, l.bold, l.legend))
            .collect();
        let (all, paper) = (COLOURS[0], COLOURS[1]);
        assert_eq!(
            drawn,
            [
                (faded(all), false, None),
                (faded(all), false, None),
                (all, true, Some("all (mean of 2)".into())),
                (paper, true, Some("paper".into())),
            ]
        );
        let mean = &lines(&curves)[2].points;
        assert_eq!(mean, &[(10.0, 305f64.log10()), (20.0, 195f64.log10())]);
        // Runs of one label that share no scored epoch are drawn as they are.
        let late: Vec<EvalRecord> = vec![
            serde_json::from_value(serde_json::json!({"step": 5, "epoch": 99, "fid": 250.0}))
                .unwrap(),
        ];
        let apart = [
            FidCurve {
                label: "x",
                records: &a1,
            },
            FidCurve {
                label: "x",
                records: &late,
            },
        ];
        let drawn: Vec<(bool, Option<String>)> = lines(&apart)
            .into_iter()
            .map(|l| (l.bold, l.legend))
            .collect();
        assert_eq!(drawn, [(true, Some("x".into())), (true, None)]);
        assert_eq!(
            [significant(312.4), significant(45.25), significant(7.812)],
            ["312", "45.2", "7.81"]
        );
        // No evaluation at all: still a picture.
        assert!(
            draw_fid_curves(&[FidCurve {
                label: "x",
                records: &[]
            }])
            .is_ok()
        );
    }
}
