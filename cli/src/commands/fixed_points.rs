//! `gatedyn fixed-points gru|model`: fixed points of a random GRU against
//! the support predicted from each one's own state (docs/THEORY.md §4), or
//! the fixed and slow points of a trained GRU or LSTM at a constant input
//! from the states of its task (docs/THEORY.md §15), classified by their
//! Jacobian's eigenvalues, with the picture of them among the trajectories.

use super::args::GruScalesArgs;
use super::args::{count, finite, FigureFormat, OutputArgs, Progress};
use super::train::{TaskArg, TaskArgs};
use clap::{Args, Subcommand};
use gatedyn_host::figures;
use gatedyn_host::io::arrays::{self, ArrayFormat};
use gatedyn_host::io::limits::check_memory;
use gatedyn_host::io::limits::{MAX_LM_ITERATIONS, MAX_STARTS, MAX_STEPS};
use gatedyn_host::io::output::Target;
use gatedyn_host::theory::fixed_points::trained::{
    sample_starts, search_from, visited_states, SearchSettings, Stability,
};
use gatedyn_host::theory::fixed_points::{self, FixedPointConfig};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_train::mnist::Split;
use std::path::PathBuf;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum FixedPointCmd {
    /// A GRU (gates z, r, h); fixed points do not depend on σ_z, their
    /// Jacobians do.
    Gru(FixedPointArgs),
    /// A trained GRU or LSTM (`--model`, ONNX, PyTorch safetensors or Keras) with
    /// its input held at a constant (zero unless `--input`), from the
    /// states of `--states` or of a run along `--inputs` (else from its
    /// trajectory at that input).
    Model(ModelFixedPointArgs),
}

/// The search's budget, for random and trained networks alike.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Starts: drawn from the states of `--states`, `--inputs` or `--task`
    /// (model), else states along the trajectory from the initial state.
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
    /// The constant input at which fixed points are sought, `I` entries
    /// (`.npy` or `.csv`); default zero.
    #[arg(long, value_name = "PATH")]
    input: Option<PathBuf>,
    /// States to start from, one per row (`.npy` or `.csv`): `N` columns
    /// (`2N` for an LSTM: `h` then `c`), e.g. saved hidden states of the task.
    #[arg(long, value_name = "PATH", conflicts_with = "inputs")]
    states: Option<PathBuf>,
    /// Inputs to drive the model along (`T×I`, `.npy` or `.csv`, or a
    /// batch of `K×T×I` in `.npy`, each sequence from the initial state);
    /// the states it visits are the starts' pool.
    #[arg(long, value_name = "PATH", conflicts_with = "task")]
    inputs: Option<PathBuf>,
    /// Drive the model along sequences of this training task, as `train`
    /// makes them (each from the model's initial state), and start from the
    /// states it visits.
    #[arg(long, value_enum, conflicts_with = "states")]
    task: Option<TaskArg>,
    /// With `--task`: how many sequences.
    #[arg(long, default_value_t = 100, value_parser = count(1, 100_000))]
    sequences: usize,
    /// With `--task`: steps per sequence (default: the task's).
    #[arg(long, value_parser = count(2, 1_000_000))]
    length: Option<usize>,
    /// With `--task flipflop`: channels.
    #[arg(long, default_value_t = 3, value_parser = count(1, 64))]
    bits: usize,
    /// Gaussian noise added to every coordinate of every start
    /// (FixedPointFinder's noise_scale).
    #[arg(long, default_value_t = 0.0, value_parser = finite)]
    noise: f64,
    /// Seed of the starts' draw and their noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A fixed point: ‖Φ(x) − x‖/√d below this.
    #[arg(long, default_value_t = 1e-10, value_parser = finite)]
    tol: f64,
    /// A slow point: a local minimum of q with ‖Φ(x) − x‖/√d below this.
    #[arg(long, default_value_t = 1e-4, value_parser = finite)]
    slow_tol: f64,
    /// Two points closer than this (rms over the state) are one.
    #[arg(long, default_value_t = 1e-5, value_parser = finite)]
    distinct: f64,
    /// Marginal: the largest |λ| within this of 1.
    #[arg(long, default_value_t = 0.01, value_parser = finite)]
    slow_epsilon: f64,
    /// Write the fixed points' states here (`.npy` or `.csv`, one per row).
    #[arg(long, value_name = "PATH")]
    save_states: Option<PathBuf>,
    /// Draw the fixed points among the trajectories on their top three
    /// principal components into this folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Figure format of `--plot`.
    #[arg(long, value_enum, default_value_t = FigureFormat::Svg)]
    format: FigureFormat,
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
    let settings = SearchSettings {
        max_iter: a.search.max_iter,
        tolerance: a.tol,
        slow_tolerance: a.slow_tol,
        distinct: a.distinct,
        slow_epsilon: a.slow_epsilon,
        ..SearchSettings::default()
    };
    settings.check()?;
    if a.noise < 0.0 {
        return Err(HostError::BadInput(format!(
            "--noise must be >= 0, got {}",
            a.noise
        )));
    }
    let states_target = a.save_states.clone().map(Target::File);
    a.out
        .check(None, &[("--save-states", states_target.as_ref())])?;
    let states_format = a
        .save_states
        .as_ref()
        .map(|p| arrays::format_of(Param::SaveStates, p, &[ArrayFormat::Npy, ArrayFormat::Csv]))
        .transpose()?;
    if let Some(dir) = &a.plot {
        if !dir.is_dir() {
            return Err(HostError::BadInput(format!(
                "--plot {}: not a folder",
                dir.display()
            )));
        }
    }
    let mut m = a.model.load()?;
    super::args::hold_input(&mut m, a.input.as_ref())?;
    let d = m.net.dim();
    check_memory(Param::Model, d, 8 * 11 * (d as u128).pow(2))?;
    // the pool of states to start from, and the trajectories to draw
    let (pool, source) = match (&a.states, &a.inputs) {
        _ if a.task.is_some() => (task_states(&a, &m)?, "task"),
        (Some(p), _) => {
            let t = arrays::read(Param::States, p)?;
            if t.cols != d {
                return Err(HostError::BadInput(format!(
                    "--states {}: {} columns, but the model's state has {d} ({})",
                    p.display(),
                    t.cols,
                    if m.net.as_lstm().is_some() {
                        "h then c"
                    } else {
                        "h"
                    }
                )));
            }
            if t.rows == 0 {
                return Err(HostError::BadInput(format!(
                    "--states {}: no rows",
                    p.display()
                )));
            }
            (
                (0..t.rows).map(|k| t.row(k).to_vec()).collect::<Vec<_>>(),
                "states",
            )
        }
        (None, Some(p)) => {
            let sequences = arrays::read_sequences(Param::Inputs, p)?;
            let mut pool = vec![];
            for x in &sequences {
                if x.cols != m.info.inputs || x.rows == 0 {
                    return Err(HostError::BadInput(format!(
                        "--inputs {}: {}×{}, but the model takes {} inputs per step (and a step at least)",
                        p.display(),
                        x.rows,
                        x.cols,
                        m.info.inputs
                    )));
                }
                pool.extend(visited_states(&m.net, x)?);
            }
            (pool, "inputs")
        }
        (None, None) => {
            let mut net = m.net.clone();
            net.run(a.search.steps, || {})?;
            let gap = (a.search.steps / a.search.starts).max(1);
            let mut pool = vec![];
            for _ in 0..a.search.starts {
                pool.push(net.state());
                net.run(gap, || {})?;
            }
            (pool, "trajectory")
        }
    };
    let starts = if source == "trajectory" && a.noise == 0.0 {
        pool.clone()
    } else {
        sample_starts(&pool, a.search.starts, a.noise, a.seed)?
    };
    let bar = Progress::new(a.out.quiet, starts.len() as u64);
    let r = search_from(&m.net, &starts, &settings, &|k| bar.at(k))?;
    drop(bar);
    if let (Some(p), Some(format)) = (&a.save_states, states_format) {
        let table = arrays::Table {
            rows: r.fixed_points.len(),
            cols: d,
            data: r
                .fixed_points
                .iter()
                .flat_map(|f| f.full_state.iter().copied())
                .collect(),
        };
        arrays::write(p, format, &table, gatedyn_host::Precision::F64)?;
    }
    if let Some(dir) = &a.plot {
        let ext = a.format.extension();
        let path = dir.join(format!("fixed_points.{ext}"));
        figures::fixed_points(&path, &pool, &r, &m.info.describe())?;
    }
    let summary = format!(
        "{}, {}: {} starts from the {source}: {} fixed points ({} stable, {} marginal, {} unstable), {} slow points; {} starts converged, {} slow, {} failed",
        m.info.path,
        m.info.describe(),
        r.starts,
        r.fixed_points.len(),
        r.count(Stability::Stable),
        r.count(Stability::Marginal),
        r.count(Stability::Unstable),
        r.slow_points.len(),
        r.converged,
        r.slow,
        r.failed,
    );
    a.out.emit(&r, &summary)
}

/// The states the model visits along `--sequences` sequences of `--task`
/// (test split, seed `--seed`), each from the model's initial state.
fn task_states(
    a: &ModelFixedPointArgs,
    m: &gatedyn_host::formats::Model,
) -> Result<Vec<Vec<f64>>, HostError> {
    let Some(kind) = a.task else {
        return Ok(vec![]);
    };
    if kind == TaskArg::Smnist {
        return Err(HostError::BadInput(
            "--task smnist: give the digits as --inputs (or --states) instead".into(),
        ));
    }
    let task = TaskArgs {
        task: kind,
        length: a.length,
        symbols: 5,
        alphabet: 8,
        mnist: None,
        pixels_per_step: None,
        permute: None,
        bits: a.bits,
        pulse_probability: 0.5,
    }
    .task()?;
    if task.inputs() != m.info.inputs {
        return Err(HostError::BadInput(format!(
            "--task {}: {} inputs per step, but the model takes {}",
            task.name(),
            task.inputs(),
            m.info.inputs
        )));
    }
    let examples = task.examples(Split::Test, a.sequences, a.seed, Param::Sequences)?;
    let mut pool = vec![];
    for ex in &examples {
        let x = arrays::Table {
            rows: ex.inputs.len() / task.inputs(),
            cols: task.inputs(),
            data: ex.inputs.clone(),
        };
        pool.extend(visited_states(&m.net, &x)?);
    }
    Ok(pool)
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
