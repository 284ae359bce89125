//! What every figure shares: the bundled font, the size, the file format
//! by extension, drawing into a file atomically ([`on_file`]), the legend
//! and the regions' colours.

use crate::HostError;
use crate::Param;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

static REGISTER: Once = Once::new();

pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The bundled file is a valid TrueType font; a failure here would be
        // a build defect, reported by the first text drawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Pixel size of the figures.
pub const SIZE: (u32, u32) = (900, 860);

/// A drawing error, as text (the file is named by [`on_file`]).
pub(crate) fn err<E: std::fmt::Display>(e: E) -> HostError {
    HostError::Io(e.to_string())
}

/// Runs `$draw(&area, args…)` on an SVG or PNG drawing area chosen by the
/// extension of `$path` (both backends, one call site). The figure is
/// drawn into a temporary sibling and renamed over `$path` only when
/// complete ([`crate::io::output::produce_atomic`]); an I/O or drawing error
/// names the file.
macro_rules! on_file {
    ($path:expr, $draw:ident($($arg:expr),*)) => {{
        register_font();
        let path: &Path = $path;
        let format = format_of(path)?;
        crate::io::output::produce_atomic(path, |tmp| {
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
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
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
        _ => Err(HostError::invalid(
            Param::Plot,
            format!(" {} must end in .svg or .png", path.display()),
        )),
    }
}

/// Colours of the regions, in the order of [`crate::theory::phase::REGION_ORDER`].
pub(crate) const REGION_COLOURS: [RGBColor; 5] = [
    RGBColor(198, 219, 239),
    RGBColor(253, 208, 162),
    RGBColor(199, 233, 192),
    RGBColor(161, 217, 155),
    RGBColor(239, 138, 98),
];
