//! Figures with plotters: SVG or PNG by the file extension. Text uses the
//! DejaVu Sans font bundled in `host/assets` (licence beside it), so no
//! system font is needed.

#[macro_use]
mod canvas;
mod bars;
mod cube;
mod heat_map;
mod lines;
mod spectrum;

pub use bars::{exponents, histogram};
pub use cube::{cube, Cloud, Segment};
pub use heat_map::{heat_map, HeatMap};
pub use lines::{lines, log_x_lines, Labels, Series};
pub use spectrum::{phase_diagram, spectra_compared, spectrum};

pub use canvas::{format_of, SIZE};
