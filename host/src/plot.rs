//! Figures with plotters: SVG or PNG by the file extension. Text uses the
//! DejaVu Sans font bundled in `host/assets` (licence beside it), so no
//! system font is needed.

use crate::HostError;
use gatedyn::Complex;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled file is a valid TrueType font; a failure here would be
        // a build defect, reported by the first text drawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Pixel size of the figures.
pub const SIZE: (u32, u32) = (900, 860);

/// A drawing error, as text (the file is named by [`on_file`]).
fn err<E: std::fmt::Display>(e: E) -> HostError {
    HostError::Io(e.to_string())
}

/// Runs `$draw(&area, args…)` on an SVG or PNG drawing area chosen by the
/// extension of `$path` (both backends, one call site). The figure is
/// drawn into a temporary sibling and renamed over `$path` only when
/// complete ([`crate::output::produce_atomic`]); an I/O or drawing error
/// names the file.
macro_rules! on_file {
    ($path:expr, $draw:ident($($arg:expr),*)) => {{
        register_font();
        let path: &Path = $path;
        let format = format_of(path)?;
        crate::output::produce_atomic(path, |tmp| {
            let r = match format {
                "svg" => $draw(&SVGBackend::new(tmp, SIZE).into_drawing_area(), $($arg),*),
                _ => $draw(&BitMapBackend::new(tmp, SIZE).into_drawing_area(), $($arg),*),
            };
            r.map_err(|e| match e {
                HostError::Io(m) => HostError::Io(format!("cannot draw {}: {m}", path.display())),
                other => other,
            })
        })
    }};
}

/// Draws the legend box (shared style of every figure).
fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 15))
        .position(position)
        .draw()
        .map_err(err)
}

/// Which file format a plot path asks for.
pub fn format_of(path: &Path) -> Result<&'static str, HostError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
    {
        Some(e) if e == "svg" => Ok("svg"),
        Some(e) if e == "png" => Ok("png"),
        _ => Err(HostError::Param(format!(
            "--plot {} must end in .svg or .png",
            path.display()
        ))),
    }
}

/// Eigenvalues, the predicted support boundary and the unit circle, in the
/// style of the paper's Figure 1.
pub fn spectrum(
    path: &Path,
    ev: &[Complex],
    curve: &[Complex],
    title: &str,
) -> Result<(), HostError> {
    on_file!(path, spectrum_on(ev, curve, title))
}

fn spectrum_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ev: &[Complex],
    curve: &[Complex],
    title: &str,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    let extent = ev
        .iter()
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
    chart
        .draw_series(
            ev.iter()
                .map(|z| Circle::new((z.re, z.im), 2, BLUE.mix(0.6).filled())),
        )
        .map_err(err)?
        .label(format!("eigenvalues ({})", ev.len()))
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
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
pub fn phase_diagram(path: &Path, d: &crate::phase::PhaseDiagram) -> Result<(), HostError> {
    on_file!(path, phase_on(d))
}

/// Colours of the regions, in the order of [`crate::phase::REGION_ORDER`].
const REGION_COLOURS: [RGBColor; 5] = [
    RGBColor(198, 219, 239),
    RGBColor(253, 208, 162),
    RGBColor(199, 233, 192),
    RGBColor(161, 217, 155),
    RGBColor(239, 138, 98),
];

fn phase_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    d: &crate::phase::PhaseDiagram,
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
    for (k, name) in crate::phase::REGION_ORDER.iter().enumerate() {
        let colour = REGION_COLOURS[k];
        let cells = (0..nr)
            .flat_map(|i| (0..nh).map(move |j| (i, j)))
            .filter(|&(i, j)| d.regions[i][j] == *name)
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
            .label(*name)
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

/// One labelled curve of a line plot.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points `(x, y)`; `x > 0` for a log axis.
    pub points: Vec<(f64, f64)>,
    /// Dashed-looking thin line instead of a solid one with markers.
    pub thin: bool,
}

/// Curves against a logarithmic x axis (scaling laws, cumulative counts).
pub fn log_x_lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<(), HostError> {
    on_file!(path, lines_on(title, x_desc, y_desc, series, true))
}

/// Curves against a linear x axis (quantities along time).
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<(), HostError> {
    on_file!(path, lines_on(title, x_desc, y_desc, series, false))
}

fn lines_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_x: bool,
) -> Result<(), HostError>
where
    DB::ErrorType: 'static,
{
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
        return Err(HostError::Param(
            "--plot: the log axis needs positive values".into(),
        ));
    }
    if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
        return Err(HostError::Param("--plot: nothing finite to draw".into()));
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
        return Err(HostError::Param("--plot: an empty histogram".into()));
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
    /// [`crate::phase::REGION_ORDER`]) for the band under the map.
    pub regions: Vec<&'static str>,
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
        return Err(HostError::Param("--plot: an empty grid".into()));
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
    for (k, name) in crate::phase::REGION_ORDER.iter().enumerate() {
        let colour = REGION_COLOURS[k];
        let cells: Vec<Rectangle<(f64, f64)>> = map
            .regions
            .iter()
            .enumerate()
            .filter(|(_, r)| *r == name)
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
            .label(format!("phase diagram: {name}"))
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
