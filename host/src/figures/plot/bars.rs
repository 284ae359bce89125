//! Lyapunov exponents with error bars, and histograms.

use super::canvas::*;
use crate::HostError;
use crate::Param;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Lyapunov exponents against their index with ±2 standard-error bars and
/// the zero line (positive: chaotic directions).
pub fn exponents(
    path: &Path,
    title: &str,
    exponents: &[f64],
    errors: &[f64],
) -> Result<(), HostError> {
    on_file!(path, exponents_on(title, exponents, errors))
}

fn exponents_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    exponents: &[f64],
    errors: &[f64],
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let finite: Vec<(usize, f64, f64)> = exponents
        .iter()
        .zip(errors)
        .enumerate()
        .filter(|(_, (l, _))| l.is_finite())
        .map(|(j, (l, e))| (j + 1, *l, *e))
        .collect();
    let (mut y0, mut y1) = (0.0f64, 0.0f64);
    for &(_, l, e) in &finite {
        y0 = y0.min(l - 2.0 * e);
        y1 = y1.max(l + 2.0 * e);
    }
    let pad = 0.08 * (y1 - y0).max(1e-6);
    let k = exponents.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0.5..k + 0.5, (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("index j")
        .y_desc("λ_j (per step)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(
            [(0.5, 0.0), (k + 0.5, 0.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(err)?;
    chart
        .draw_series(finite.iter().map(|&(j, l, e)| {
            PathElement::new(
                vec![(j as f64, l - 2.0 * e), (j as f64, l + 2.0 * e)],
                BLUE.stroke_width(1),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(
            finite
                .iter()
                .map(|&(j, l, _)| Circle::new((j as f64, l), 3, BLUE.filled())),
        )
        .map_err(err)?
        .label("exponent ± 2 standard errors")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    area.present().map_err(err)?;
    Ok(())
}

/// A histogram: bars `(low, high, count)` on a linear axis.
pub fn histogram(
    path: &Path,
    title: &str,
    x_desc: &str,
    bins: &[(f64, f64, usize)],
) -> Result<(), HostError> {
    on_file!(path, histogram_on(title, x_desc, bins))
}

fn histogram_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    bins: &[(f64, f64, usize)],
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
        return Err(HostError::invalid(
            Param::Plot,
            ": an empty histogram".into(),
        ));
    };
    let top = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64 * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(first.0..last.1, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("count")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bins.iter().map(|&(lo, hi, c)| {
            Rectangle::new([(lo, 0.0), (hi, c as f64)], BLUE.mix(0.6).filled())
        }))
        .map_err(err)?;
    area.present().map_err(err)?;
    Ok(())
}
