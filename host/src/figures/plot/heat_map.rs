//! A heat map over a grid of two parameters.

use crate::HostError;
use crate::Param;

use super::canvas::*;
use crate::theory::phase::region_name;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A heat map over a grid of two parameters (`gatedyn train-sweep`).
pub struct HeatMap<'a> {
    /// Title.
    pub title: &'a str,
    /// Column parameter (x) name and values.
    pub x_desc: &'a str,
    /// Column values, increasing.
    pub xs: &'a [f64],
    /// Row parameter (y) name.
    pub y_desc: &'a str,
    /// Row values, increasing upwards.
    pub ys: &'a [f64],
    /// `values[i][j]` at `(xs[j], ys[i])`, with its text; `None` is drawn
    /// grey with the text given.
    pub values: Vec<Vec<(Option<f64>, String)>>,
    /// The colour bar's meaning.
    pub value_desc: &'a str,
    /// A vertical line at this column value, with its legend (σ_h = 2).
    pub line_at: Option<(f64, &'a str)>,
    /// Per column, the phase-diagram region's name (one of
    /// [`crate::theory::phase::REGION_ORDER`]) for the band under the map.
    pub regions: Vec<gatedyn::mft::GruRegion>,
}

/// Draws a [`HeatMap`].
pub fn heat_map(path: &Path, map: &HeatMap<'_>) -> Result<(), HostError> {
    on_file!(path, heat_map_on(map))
}

/// A viridis-like colour for `t ∈ [0, 1]`.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * 4.0;
    let k = (x.floor() as usize).min(3);
    let f = x - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |p: f64, q: f64| (p + f * (q - p)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn heat_map_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &HeatMap<'_>,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let (nx, ny) = (map.xs.len(), map.ys.len());
    if nx == 0 || ny == 0 {
        return Err(HostError::invalid(Param::Plot, ": an empty grid".into()));
    }
    let finite: Vec<f64> = map
        .values
        .iter()
        .flatten()
        .filter_map(|(v, _)| *v)
        .filter(|v| v.is_finite())
        .collect();
    let lo = finite.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    // index coordinates: column j at x = j, row i at y = i; the region band
    // at y = -1, labels left of x = -0.5 and under y = -1.5; the colour bar
    // right of x = nx - 0.5
    let (x0, x1) = (-1.4, nx as f64 + 0.9);
    // room under the labels for the legend
    let (y0, y1) = (-2.4 - 0.45 * ny.max(4) as f64, ny as f64 - 0.5);
    let mut chart = ChartBuilder::on(area)
        .caption(map.title, ("sans-serif", 22))
        .margin(12)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let centred = |size: u32| {
        TextStyle::from(("sans-serif", size).into_font()).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        )
    };
    for (i, row) in map.values.iter().enumerate() {
        for (j, (v, label)) in row.iter().enumerate() {
            let (x, y) = (j as f64, i as f64);
            let (fill, ink) = match v {
                Some(v) if v.is_finite() => {
                    let t = (v - lo) / span;
                    (viridis(t), if t > 0.6 { BLACK } else { WHITE })
                }
                _ => (RGBColor(200, 200, 200), BLACK),
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    fill.filled(),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x, y),
                    centred(15).color(&ink),
                )))
                .map_err(err)?;
        }
    }
    // the phase-diagram band under the map
    for (k, region) in crate::theory::phase::REGION_ORDER.iter().enumerate() {
        let colour = REGION_COLOURS[k];
        let cells: Vec<Rectangle<(f64, f64)>> = map
            .regions
            .iter()
            .enumerate()
            .filter(|(_, r)| *r == region)
            .map(|(j, _)| {
                let x = j as f64;
                Rectangle::new([(x - 0.5, -1.35), (x + 0.5, -0.65)], colour.filled())
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        chart
            .draw_series(cells)
            .map_err(err)?
            .label(format!("phase diagram: {}", region_name(*region)))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    // axis labels
    for (j, x) in map.xs.iter().enumerate() {
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{x}"),
                (j as f64, -1.75),
                centred(15),
            )))
            .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(Text::new(
            map.x_desc.to_string(),
            ((nx as f64 - 1.0) / 2.0, -2.15),
            centred(17),
        )))
        .map_err(err)?;
    for (i, y) in map.ys.iter().enumerate() {
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{y}"),
                (-0.85, i as f64),
                centred(15),
            )))
            .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(Text::new(
            map.y_desc.to_string(),
            (-0.85, ny as f64 - 0.5 + 0.0),
            centred(17),
        )))
        .map_err(err)?;
    // colour bar with its ends
    let bar_x = nx as f64 - 0.2;
    for k in 0..40 {
        let (a, b) = (k as f64 / 40.0, (k + 1) as f64 / 40.0);
        let y = |t: f64| -0.5 + t * (ny as f64);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(bar_x, y(a)), (bar_x + 0.3, y(b))],
                viridis((a + b) / 2.0).filled(),
            )))
            .map_err(err)?;
    }
    let fmt = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "–".into()
        }
    };
    for (t, v) in [(0.0, lo), (1.0, hi)] {
        chart
            .draw_series(std::iter::once(Text::new(
                fmt(v),
                (
                    bar_x + 0.15,
                    -0.5 + t * ny as f64 + if t == 0.0 { -0.2 } else { 0.2 },
                ),
                centred(13),
            )))
            .map_err(err)?;
    }
    chart
        .draw_series(std::iter::once(Text::new(
            map.value_desc.to_string(),
            (bar_x + 0.55, (ny as f64 - 1.0) / 2.0),
            centred(13).transform(FontTransform::Rotate270),
        )))
        .map_err(err)?;
    if let Some((at, label)) = map.line_at {
        // the column coordinate of `at`, interpolated between grid values
        let pos = map.xs.windows(2).enumerate().find_map(|(j, w)| {
            (w[0] <= at && at <= w[1] && w[1] > w[0])
                .then(|| j as f64 + (at - w[0]) / (w[1] - w[0]))
        });
        if let Some(x) = pos {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, -1.4), (x, ny as f64 - 0.5)],
                    RED.mix(0.8).stroke_width(2),
                )))
                .map_err(err)?
                .label(label.to_string())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    area.present().map_err(err)?;
    Ok(())
}
