//! Eigenvalues against the predicted support, and the GRU phase diagram.

use super::canvas::*;
use crate::theory::phase::region_name;
use crate::HostError;
use gatedyn::Complex;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Eigenvalues, the predicted support boundary and the unit circle, in the
/// style of the paper's Figure 1.
pub fn spectrum(
    path: &Path,
    ev: &[Complex],
    curve: &[Complex],
    title: &str,
) -> Result<(), HostError> {
    let label = format!("eigenvalues ({})", ev.len());
    on_file!(path, spectrum_on(&[(label, ev, BLUE)], curve, title))
}

/// Two sets of eigenvalues over the unit circle (a float network's in
/// blue, its quantized twin's in red), each labelled.
pub fn spectra_compared(
    path: &Path,
    first: (&str, &[Complex]),
    second: (&str, &[Complex]),
    title: &str,
) -> Result<(), HostError> {
    let sets = [
        (format!("{} ({})", first.0, first.1.len()), first.1, BLUE),
        (format!("{} ({})", second.0, second.1.len()), second.1, RED),
    ];
    on_file!(path, spectrum_on(&sets, &[], title))
}

fn spectrum_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    sets: &[(String, &[Complex], RGBColor)],
    curve: &[Complex],
    title: &str,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let extent = sets
        .iter()
        .flat_map(|s| s.1.iter())
        .chain(curve)
        .map(|z| z.re.abs().max(z.im.abs()))
        .fold(1.05f64, f64::max)
        * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(-extent..extent, -extent..extent)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("Re λ")
        .y_desc("Im λ")
        .label_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let circle: Vec<(f64, f64)> = (0..=360)
        .map(|k| (k as f64).to_radians())
        .map(|t| (t.cos(), t.sin()))
        .collect();
    chart
        .draw_series(LineSeries::new(circle, BLACK.mix(0.5).stroke_width(1)))
        .map_err(err)?
        .label("unit circle")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for (label, ev, color) in sets {
        let color = *color;
        chart
            .draw_series(
                ev.iter()
                    .map(|z| Circle::new((z.re, z.im), 2, color.mix(0.6).filled())),
            )
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
    }
    if !curve.is_empty() {
        let mut pts: Vec<(f64, f64)> = curve.iter().map(|z| (z.re, z.im)).collect();
        pts.push(pts[0]);
        chart
            .draw_series(LineSeries::new(pts, RED.stroke_width(2)))
            .map_err(err)?
            .label("predicted support")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    area.present().map_err(err)?;
    Ok(())
}

/// The GRU phase diagram: regions as coloured cells, the bifurcation curve
/// in black.
pub fn phase_diagram(path: &Path, d: &crate::theory::phase::PhaseDiagram) -> Result<(), HostError> {
    on_file!(path, phase_on(d))
}

fn phase_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &crate::theory::phase::PhaseDiagram,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let (nh, nr) = (d.sigma_h.len(), d.sigma_r.len());
    let dh = d.sigma_h[1] - d.sigma_h[0];
    let dr = d.sigma_r[1] - d.sigma_r[0];
    let (hmax, rmax) = (d.sigma_h[nh - 1] + dh / 2.0, d.sigma_r[nr - 1] + dr / 2.0);
    let mut chart = ChartBuilder::on(area)
        .caption("GRU phase diagram (mean-field theory)", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..hmax, 0.0..rmax)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("σ_h")
        .y_desc("σ_r")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    for (k, region) in crate::theory::phase::REGION_ORDER.iter().enumerate() {
        let colour = REGION_COLOURS[k];
        let cells = (0..nr)
            .flat_map(|i| (0..nh).map(move |j| (i, j)))
            .filter(|&(i, j)| d.regions[i][j] == *region)
            .map(|(i, j)| {
                let (h, r) = (d.sigma_h[j], d.sigma_r[i]);
                Rectangle::new(
                    [(h - dh / 2.0, r - dr / 2.0), (h + dh / 2.0, r + dr / 2.0)],
                    colour.filled(),
                )
            });
        chart
            .draw_series(cells)
            .map_err(err)?
            .label(region_name(*region))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    if !d.bifurcation.is_empty() {
        chart
            .draw_series(LineSeries::new(
                d.bifurcation.iter().copied(),
                BLACK.stroke_width(2),
            ))
            .map_err(err)?
            .label("bifurcation σ_r*(σ_h)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    area.present().map_err(err)?;
    Ok(())
}
