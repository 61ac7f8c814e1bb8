//! `loss.png`: D's and G's losses, and D's mean outputs, against the training step.

use anyhow::Context;
use plotters::prelude::*;

use crate::run_dir::MetricsRecord;

/// Size of `loss.png` in pixels.
const SIZE: (u32, u32) = (1000, 700);

/// Exponential moving average with TensorBoard's default weight, 0.6 (debiased like
/// TensorBoard's, so the first points are not pulled towards zero).
fn smooth(values: &[f64]) -> Vec<f64> {
    const WEIGHT: f64 = 0.6;
    let mut last = 0.0;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            last = last * WEIGHT + (1.0 - WEIGHT) * v;
            last / (1.0 - WEIGHT.powi(i as i32 + 1))
        })
        .collect()
}

/// Draws the two panels as PNG bytes: the losses above, D(x) and D(G(z)) below; each series
/// raw and faint, smoothed and solid.
pub fn draw_loss_plot(records: &[MetricsRecord]) -> anyhow::Result<Vec<u8>> {
    super::register_font();
    let (w, h) = SIZE;
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        let (top, bottom) = root.split_vertically(h * 3 / 5);
        let steps = |f: fn(&MetricsRecord) -> f64| -> Vec<(f64, f64)> {
            records.iter().map(|r| (r.step as f64, f(r))).collect()
        };
        let first = records.first().map_or(0, |r| r.step) as f64;
        let last = records.last().map_or(1, |r| r.step) as f64;
        let x_range = first..last.max(first + 1.0);
        let losses = [
            ("loss_D", steps(|r| r.loss_d), RED),
            ("loss_G", steps(|r| r.loss_g), BLUE),
        ];
        let max_loss = losses
            .iter()
            .flat_map(|(_, s, _)| s.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        panel(
            &top,
            "Losses",
            x_range.clone(),
            0.0..max_loss * 1.05 + 1e-6,
            &losses,
        )?;
        let outputs = [
            ("D(x)", steps(|r| r.d_real), RGBColor(0, 150, 0)),
            ("D(G(z))", steps(|r| r.d_fake), MAGENTA),
        ];
        panel(
            &bottom,
            "Discriminator's mean outputs",
            x_range,
            0.0..1.0,
            &outputs,
        )?;
        root.present().context("cannot draw the loss plot")?;
    }
    super::png(pixels, SIZE, "the loss plot")
}

type Series<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

fn panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    series: &[Series],
) -> anyhow::Result<()> {
    let draw_error = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("cannot draw the loss plot: {e}");
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .margin_right(28)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_error)?;
    for (name, points, color) in series {
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.mix(0.25)))
            .map_err(draw_error)?;
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let smoothed = points.iter().zip(smooth(&values)).map(|(p, s)| (p.0, s));
        let color = *color;
        chart
            .draw_series(LineSeries::new(smoothed, color.stroke_width(2)))
            .map_err(draw_error)?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(draw_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: u64, loss_d: f64) -> MetricsRecord {
        MetricsRecord {
            step,
            loss_d,
            loss_g: 2.0 - loss_d,
            d_real: 0.7,
            d_fake: 0.3,
            ..MetricsRecord::default()
        }
    }

    #[test]
    fn smoothing_is_debiased_and_follows_a_constant() {
        assert_eq!(smooth(&[2.0]), vec![2.0]);
        assert!(smooth(&[3.0; 10]).iter().all(|v| (v - 3.0).abs() < 1e-12));
        let s = smooth(&[0.0, 10.0]);
        assert!(s[1] > 0.0 && s[1] < 10.0, "{s:?}");
    }

    #[test]
    fn reads_metrics_skipping_only_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let line =
            r#"{"step":10,"epoch":0,"loss_D":1.0,"loss_G":0.5,"D_x":0.6,"D_G_z":0.4,"lr_D":0.1}"#;
        std::fs::write(&path, format!("{line}\n{{\"step\":20,\"lo")).unwrap();
        let records = crate::run_dir::read_jsonl::<MetricsRecord>(&path).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].step, records[0].loss_g), (10, 0.5));

        std::fs::write(&path, format!("garbage\n{line}\n")).unwrap();
        let err = crate::run_dir::read_jsonl::<MetricsRecord>(&path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.jsonl line 1"), "{err}");
    }

    #[test]
    fn draws_a_png_with_both_curves() {
        let records: Vec<_> = (1..=50)
            .map(|i| record(i * 10, 1.0 + (i as f64).sin() / 4.0))
            .collect();
        let png = draw_loss_plot(&records).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), SIZE);
        // The smoothed curves are drawn in pure red (loss_D) and pure blue (loss_G).
        let has = |c: [u8; 3]| image.pixels().any(|p| p.0 == c);
        assert!(has([255, 0, 0]) && has([0, 0, 255]), "curves missing");
        // One record still gives a plot (a point, not a panic).
        assert!(draw_loss_plot(&records[..1]).is_ok());
    }
}
