//! `gatedyn fixed-points gru|model`: fixed points of a random GRU, or of
//! a trained one at constant input, by Levenberg–Marquardt from trajectory
//! states, each against the support predicted from its own state
//! (docs/THEORY.md §4; not for the reset-after form).

use super::args::GruScalesArgs;
use super::args::{count, OutputArgs, Progress};
use clap::{Args, Subcommand};
use gatedyn_host::io::limits::check_memory;
use gatedyn_host::io::limits::{MAX_LM_ITERATIONS, MAX_STARTS, MAX_STEPS};
use gatedyn_host::theory::fixed_points::{self, FixedPointConfig};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use std::path::PathBuf;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum FixedPointCmd {
    /// A GRU (gates z, r, h); fixed points do not depend on σ_z, their
    /// Jacobians do.
    Gru(FixedPointArgs),
    /// A trained GRU (`--model`, ONNX or PyTorch safetensors) with its
    /// input held at a constant (zero unless `--input`).
    Model(ModelFixedPointArgs),
}

/// The search's budget, for random and trained networks alike.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Starts (states along the trajectory from the initial state).
    #[arg(long, default_value_t = 20, value_parser = count(1, MAX_STARTS))]
    starts: usize,
    /// Trajectory steps before the first start (also their spacing).
    #[arg(long, default_value_t = 200, value_parser = count(0, MAX_STEPS))]
    steps: usize,
    /// Levenberg–Marquardt iterations per start.
    #[arg(long, default_value_t = 60, value_parser = count(1, MAX_LM_ITERATIONS))]
    max_iter: usize,
}

/// The flags of `fixed-points model`.
#[derive(Args, Debug)]
pub struct ModelFixedPointArgs {
    #[command(flatten)]
    model: super::args::ModelArgs,
    /// The constant input, `I` entries (`.npy` or `.csv`); default zero.
    #[arg(long, value_name = "PATH")]
    input: Option<PathBuf>,
    #[command(flatten)]
    search: SearchArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// The flags of `fixed-points gru`.
#[derive(Args, Debug)]
pub struct FixedPointArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 400, value_parser = count(2, usize::MAX))]
    n: usize,
    #[command(flatten)]
    scales: GruScalesArgs,
    #[command(flatten)]
    search: SearchArgs,
    /// Seed of weights and initial state.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn fixed-points`.
pub fn run(cmd: FixedPointCmd) -> Result<(), HostError> {
    let a = match cmd {
        FixedPointCmd::Gru(a) => a,
        FixedPointCmd::Model(m) => return run_model(m),
    };
    let cfg = FixedPointConfig {
        n: a.n,
        scales: a.scales.scales(),
        seed: a.seed,
        steps: a.search.steps,
        starts: a.search.starts,
        max_iter: a.search.max_iter,
    };
    // the search checks its settings first thing
    a.out.check(None, &[])?;
    let bar = Progress::new(a.out.quiet, a.search.starts as u64);
    let r = fixed_points::find(&cfg, |k| bar.at(k))?;
    drop(bar);
    a.out.emit(&r, &summary(&r))
}

fn run_model(a: ModelFixedPointArgs) -> Result<(), HostError> {
    a.out.check(None, &[])?;
    let mut m = a.model.load()?;
    super::args::hold_input(&mut m, a.input.as_ref())?;
    if m.net.as_gru().is_none() {
        return Err(HostError::BadInput(format!(
            "--model {}: an LSTM; fixed-points searches GRUs",
            a.model.model.display()
        )));
    }
    check_memory(Param::Model, m.info.n, 8 * 11 * (m.info.n as u128).pow(2))?;
    let bar = Progress::new(a.out.quiet, a.search.starts as u64);
    let r = fixed_points::search(
        m.net,
        a.search.steps,
        a.search.starts,
        a.search.max_iter,
        |k| bar.at(k),
    )?;
    drop(bar);
    a.out.emit(
        &r,
        &format!("{}, {}: {}", m.info.path, m.info.describe(), summary(&r)),
    )
}

fn summary(r: &fixed_points::FixedPointSearch) -> String {
    let errors: Vec<f64> = r
        .fixed_points
        .iter()
        .filter_map(|f| f.relative_error)
        .collect();
    let vs_support = if errors.is_empty() && !r.fixed_points.is_empty() {
        "no support prediction for this form".to_string()
    } else {
        format!(
            "radius vs own support: max relative error {:.3}",
            errors.iter().copied().fold(0.0, f64::max)
        )
    };
    format!(
        "{} of {} starts converged ({} to h = 0); {} distinct non-zero fixed points, {} unstable; {vs_support}",
        r.converged,
        r.starts,
        r.zero_hits,
        r.fixed_points.len(),
        r.fixed_points.iter().filter(|f| !f.stable).count(),
    )
}
