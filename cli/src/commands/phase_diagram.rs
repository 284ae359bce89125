//! `gatedyn phase-diagram`: the GRU phase diagram over `(σ_h, σ_r)` from the
//! mean-field theory (docs/THEORY.md §5).

use super::args::{count, finite, OutputArgs, Progress};
use clap::Args;

use gatedyn_host::theory::phase;
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// The flags of `phase-diagram`.
#[derive(Args, Debug)]
pub struct PhaseDiagramArgs {
    /// Largest σ_h of the grid.
    #[arg(long, default_value_t = 3.5, value_parser = finite, allow_hyphen_values = true)]
    sigma_h_max: f64,
    /// Largest σ_r of the grid.
    #[arg(long, default_value_t = 16.0, value_parser = finite, allow_hyphen_values = true)]
    sigma_r_max: f64,
    /// Grid points per axis.
    #[arg(long, default_value_t = 200, value_parser = count(2, 2000))]
    points: usize,
    /// Draw the diagram (.svg or .png).
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn phase-diagram`.
pub fn run(a: PhaseDiagramArgs) -> Result<(), HostError> {
    a.out.check(a.plot.as_ref(), &[])?;
    let bar = Progress::new(a.out.quiet, (a.points * a.points) as u64);
    let d = phase::compute(a.sigma_h_max, a.sigma_r_max, a.points, |k| bar.inc(k))?;
    drop(bar);
    if let Some(p) = &a.plot {
        figures::phase_diagram(p, &d)?;
    }
    let summary = format!(
        "phase diagram {}×{} over σ_h ≤ {}, σ_r ≤ {} in {:.2} s ({} bifurcation points)",
        a.points,
        a.points,
        a.sigma_h_max,
        a.sigma_r_max,
        d.seconds,
        d.bifurcation.len()
    );
    a.out.emit(&d, &summary)
}
