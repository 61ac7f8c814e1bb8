//! `fid.png`: the FID of each evaluation of a run (`--eval-every`, `eval.jsonl`) against the
//! epoch, named by the network whose features it was computed on.

use anyhow::Context;
use plotters::prelude::*;

use crate::run_dir::EvalRecord;

/// Size of `fid.png` in pixels.
const SIZE: (u32, u32) = (1000, 420);

/// Draws the evaluations' FIDs against the epoch as PNG bytes, a curve through dots on a
/// log scale (early FIDs run to hundreds, late ones near ten).
pub fn draw_fid_plot(records: &[EvalRecord]) -> anyhow::Result<Vec<u8>> {
    super::register_font();
    let points: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.fid.is_finite() && r.fid > 0.0)
        .map(|r| (r.epoch as f64, r.fid))
        .collect();
    let label = records.last().map_or("FID", EvalRecord::fid_label);
    let (w, h) = SIZE;
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        let draw_error =
            |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("cannot draw the FID plot: {e}");
        let first = points.first().map_or(0.0, |p| p.0);
        let last = points.last().map_or(1.0, |p| p.0).max(first + 1.0);
        let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let high = points.iter().map(|p| p.1).fold(0.0, f64::max);
        let (low, high) = if points.is_empty() {
            (1.0, 10.0)
        } else {
            (low, high)
        };
        let color = RGBColor(0, 130, 90);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{label} after each evaluated epoch (lower is better)"),
                ("sans-serif", 22),
            )
            .margin(12)
            .margin_right(28)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(
                first - 0.5..last + 0.5,
                (low * 0.8..high * 1.25).log_scale(),
            )
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(draw_error)?;
        let dots = points.iter().map(|&p| Circle::new(p, 4, color.filled()));
        chart.draw_series(dots).map_err(draw_error)?;
        root.present().context("cannot draw the FID plot")?;
    }
    super::png(pixels, SIZE, "the FID plot")
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
}
