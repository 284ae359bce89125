//! Curves against a linear or logarithmic x axis.

use super::canvas::*;
use crate::HostError;
use crate::Param;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One labelled curve of a line plot.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points `(x, y)`; `x > 0` for a log axis.
    pub points: Vec<(f64, f64)>,
    /// Dashed-looking thin line instead of a solid one with markers.
    pub thin: bool,
}

/// The words of a line plot: its title and its axes.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// The title above the plot.
    pub title: &'a str,
    /// The x axis.
    pub x: &'a str,
    /// The y axis (empty for none).
    pub y: &'a str,
}

/// Curves against a logarithmic x axis (scaling laws, cumulative counts).
pub fn log_x_lines(path: &Path, labels: &Labels<'_>, series: &[Series]) -> Result<(), HostError> {
    on_file!(path, lines_on(labels, series, true))
}

/// Curves against a linear x axis (quantities along time).
pub fn lines(path: &Path, labels: &Labels<'_>, series: &[Series]) -> Result<(), HostError> {
    on_file!(path, lines_on(labels, series, false))
}

fn lines_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels<'_>,
    series: &[Series],
    log_x: bool,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    let Labels {
        title,
        x: x_desc,
        y: y_desc,
    } = *labels;
    area.fill(&WHITE).map_err(err)?;
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if log_x && !(x0 > 0.0 && x1.is_finite()) {
        return Err(HostError::invalid(
            Param::Plot,
            ": the log axis needs positive values".into(),
        ));
    }
    if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
        return Err(HostError::invalid(
            Param::Plot,
            ": nothing finite to draw".into(),
        ));
    }
    if x1 == x0 {
        // one value: a decade (log) or a unit (linear) on either side
        (x0, x1) = if log_x {
            (x0 / 10.0, x1 * 10.0)
        } else {
            (x0 - 1.0, x1 + 1.0)
        };
    }
    let pad = 0.05 * (y1 - y0).max(1e-9);
    if log_x {
        let chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((x0..x1).log_scale(), (y0 - pad)..(y1 + pad))
            .map_err(err)?;
        draw_lines(chart, x_desc, y_desc, series)?;
    } else {
        let chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(err)?;
        draw_lines(chart, x_desc, y_desc, series)?;
    }
    area.present().map_err(err)?;
    Ok(())
}

/// The mesh, the series and the legend of [`lines_on`], on either x axis.
fn draw_lines<'a, DB, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<(), HostError>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    for (k, s) in series.iter().enumerate() {
        let colour = Palette99::pick(k).to_rgba();
        let width = if s.thin { 1 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                colour.stroke_width(width),
            ))
            .map_err(err)?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        if !s.thin {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
                )
                .map_err(err)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}
