//! `gatedyn fixed-points gru`: fixed points of a random GRU by
//! Levenberg–Marquardt from trajectory states, each against the support
//! predicted from its own state (docs/THEORY.md §4).

use super::spectrum::GruScalesArgs;
use super::{count, OutputArgs, Progress};
use clap::{Args, Subcommand};
use gatedyn_host::fixed_points::{self, FixedPointConfig};
use gatedyn_host::limits::{MAX_LM_ITERATIONS, MAX_STARTS, MAX_STEPS};
use gatedyn_host::HostError;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum FixedPointCmd {
    /// A GRU (gates z, r, h); fixed points do not depend on σ_z, their
    /// Jacobians do.
    Gru(FixedPointArgs),
}

/// The flags of `fixed-points gru`.
#[derive(Args, Debug)]
pub struct FixedPointArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 400, value_parser = count(2, usize::MAX))]
    n: usize,
    #[command(flatten)]
    scales: GruScalesArgs,
    /// Starts (states along the trajectory).
    #[arg(long, default_value_t = 20, value_parser = count(1, MAX_STARTS))]
    starts: usize,
    /// Trajectory steps before the first start (also their spacing).
    #[arg(long, default_value_t = 200, value_parser = count(0, MAX_STEPS))]
    steps: usize,
    /// Levenberg–Marquardt iterations per start.
    #[arg(long, default_value_t = 60, value_parser = count(1, MAX_LM_ITERATIONS))]
    max_iter: usize,
    /// Seed of weights and initial state.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn fixed-points`.
pub fn run(cmd: FixedPointCmd) -> Result<(), HostError> {
    let FixedPointCmd::Gru(a) = cmd;
    let cfg = FixedPointConfig {
        n: a.n,
        scales: a.scales.scales(),
        seed: a.seed,
        steps: a.steps,
        starts: a.starts,
        max_iter: a.max_iter,
    };
    // the search checks its settings first thing
    a.out.check(None, &[])?;
    let bar = Progress::new(a.out.quiet, a.starts as u64);
    let r = fixed_points::find(&cfg, |k| bar.at(k))?;
    drop(bar);
    let summary = format!(
        "{} of {} starts converged ({} to h = 0); {} distinct non-zero fixed points, {} unstable; radius vs own support: max relative error {:.3}",
        r.converged,
        r.starts,
        r.zero_hits,
        r.fixed_points.len(),
        r.fixed_points.iter().filter(|f| !f.stable).count(),
        r.fixed_points.iter().map(|f| f.relative_error).fold(0.0, f64::max)
    );
    a.out.emit(&r, &summary)
}
