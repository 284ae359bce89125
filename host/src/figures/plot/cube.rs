//! Points in three dimensions (the fixed points of a trained network among
//! its trajectories, on their top three principal components).

use super::canvas::*;
use crate::HostError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A group of points drawn alike.
pub struct Cloud {
    /// The legend's words (empty: no entry).
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64, f64)>,
    /// Their colour.
    pub colour: RGBColor,
    /// Marker radius in pixels.
    pub size: u32,
}

/// A short segment through a point (a saddle's unstable direction).
pub struct Segment {
    /// One end.
    pub from: (f64, f64, f64),
    /// The other end.
    pub to: (f64, f64, f64),
    /// Its colour.
    pub colour: RGBColor,
}

/// Clouds and segments in a box seen from above one corner.
pub fn cube(
    path: &Path,
    title: &str,
    clouds: &[Cloud],
    segments: &[Segment],
) -> Result<(), HostError> {
    on_file!(path, cube_on(title, clouds, segments))
}

fn cube_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    clouds: &[Cloud],
    segments: &[Segment],
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let all = clouds
        .iter()
        .flat_map(|c| c.points.iter().copied())
        .chain(segments.iter().flat_map(|s| [s.from, s.to]));
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in all {
        for (k, v) in [p.0, p.1, p.2].into_iter().enumerate() {
            if v.is_finite() {
                lo[k] = lo[k].min(v);
                hi[k] = hi[k].max(v);
            }
        }
    }
    if !lo
        .iter()
        .zip(&hi)
        .all(|(a, b)| a.is_finite() && b.is_finite())
    {
        return Err(HostError::BadInput("nothing finite to draw".into()));
    }
    let range = |k: usize| {
        let pad = 0.05 * (hi[k] - lo[k]).max(1e-9);
        (lo[k] - pad)..(hi[k] + pad)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .build_cartesian_3d(range(0), range(2), range(1))
        .map_err(err)?;
    chart.with_projection(|mut pb| {
        pb.yaw = 0.7;
        pb.pitch = 0.35;
        pb.scale = 0.8;
        pb.into_matrix()
    });
    chart
        .configure_axes()
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for c in clouds {
        let colour = c.colour;
        let size = c.size;
        let series = chart
            .draw_series(
                c.points
                    .iter()
                    .map(|&(x, y, z)| Circle::new((x, z, y), size, colour.filled())),
            )
            .map_err(err)?;
        if !c.label.is_empty() {
            series
                .label(c.label.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
    }
    for s in segments {
        chart
            .draw_series(LineSeries::new(
                [s.from, s.to].map(|(x, y, z)| (x, z, y)),
                s.colour.stroke_width(2),
            ))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    Ok(())
}
