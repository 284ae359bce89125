//! `gatedyn lyapunov gru|lstm`: the largest Lyapunov exponents of a random
//! network's trajectory (docs/THEORY.md §8), with errors, the Kaplan–Yorke
//! dimension and a plot of the spectrum.

use super::args::{count, ActivationArg, OutputArgs, Progress};
use super::args::{GruScalesArgs, LstmScalesArgs};
use clap::{Args, Subcommand};
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn_host::io::limits::MAX_STEPS;
use gatedyn_host::net::Scales;
use gatedyn_host::theory::lyapunov::{self, LyapunovConfig};

use gatedyn_host::figures::plot;
use gatedyn_host::HostError;
use std::path::PathBuf;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum LyapunovCmd {
    /// A GRU (gates z, r, h).
    Gru {
        #[command(flatten)]
        scales: GruScalesArgs,
        #[command(flatten)]
        common: LyapunovArgs,
    },
    /// An LSTM (gates f, i, o, c).
    Lstm {
        #[command(flatten)]
        scales: LstmScalesArgs,
        #[command(flatten)]
        common: LyapunovArgs,
    },
    /// A trained GRU or LSTM (`--model`, ONNX, PyTorch safetensors or Keras),
    /// autonomous with its input held constant (zero unless `--input`).
    Model {
        #[command(flatten)]
        model: super::args::ModelArgs,
        /// The constant input, `I` entries (`.npy` or `.csv`); default zero.
        #[arg(long, value_name = "PATH")]
        input: Option<PathBuf>,
        #[command(flatten)]
        method: MethodArgs,
    },
}

/// The flags of both random cells.
#[derive(Args, Debug)]
pub struct LyapunovArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 200, value_parser = count(1, usize::MAX))]
    n: usize,
    /// Seed of weights and initial state (as `gatedyn spectrum`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// φ.
    #[arg(long, value_enum, default_value_t = ActivationArg::Tanh)]
    activation: ActivationArg,
    #[command(flatten)]
    method: MethodArgs,
}

/// The method's flags, for random and trained networks alike.
#[derive(Args, Debug)]
pub struct MethodArgs {
    /// Exponents wanted, largest first (at most the state dimension).
    #[arg(long, default_value_t = 1, value_parser = count(1, usize::MAX))]
    k: usize,
    /// Steps run before measuring (onto the attractor, tangent vectors
    /// aligned).
    #[arg(long, default_value_t = 1000, value_parser = count(0, MAX_STEPS))]
    transient: usize,
    /// Steps measured.
    #[arg(long, default_value_t = 20_000, value_parser = count(2, MAX_STEPS))]
    steps: usize,
    /// Batches of the error estimate (standard error of batch means).
    #[arg(long, default_value_t = 20, value_parser = count(2, 10_000))]
    batches: usize,
    /// Seed of the initial tangent vectors.
    #[arg(long, default_value_t = 0x1234_5678)]
    tangent_seed: u32,
    /// Draw the exponents with their error bars (.svg or .png).
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

impl MethodArgs {
    fn options(&self) -> LyapunovOptions {
        LyapunovOptions {
            transient: self.transient,
            steps: self.steps,
            batches: self.batches,
            seed: self.tangent_seed,
        }
    }
}

/// Runs `gatedyn lyapunov`.
pub fn run(cmd: LyapunovCmd) -> Result<(), HostError> {
    let (scales, a) = match cmd {
        LyapunovCmd::Gru { scales, common } => (Scales::Gru(scales.scales()), common),
        LyapunovCmd::Lstm { scales, common } => (Scales::Lstm(scales.scales()), common),
        LyapunovCmd::Model {
            model,
            input,
            method,
        } => return run_model(model, input, method),
    };
    let m = a.method;
    let cfg = LyapunovConfig {
        n: a.n,
        scales,
        activation: a.activation.into(),
        seed: a.seed,
        k: m.k,
        options: m.options(),
    };
    m.out.check(m.plot.as_ref(), &[])?;
    let bar = Progress::new(m.out.quiet, m.batches as u64);
    bar.message("batches");
    let r = lyapunov::run(&cfg, |done, _| bar.at(done))?;
    drop(bar);
    finish(&m, &r, &format!("{} N={}", r.model, r.n))
}

fn run_model(
    model: super::args::ModelArgs,
    input: Option<PathBuf>,
    m: MethodArgs,
) -> Result<(), HostError> {
    m.out.check(m.plot.as_ref(), &[])?;
    let mut loaded = model.load()?;
    super::args::hold_input(&mut loaded, input.as_ref())?;
    let name = format!("{}, {}", loaded.info.path, loaded.info.describe());
    let r = lyapunov::run_model(loaded.net, m.k, &m.options(), {
        let bar = Progress::new(m.out.quiet, m.batches as u64);
        bar.message("batches");
        move |done, _| bar.at(done)
    })?;
    finish(&m, &r, &name)
}

fn finish(m: &MethodArgs, r: &lyapunov::LyapunovReport, name: &str) -> Result<(), HostError> {
    if let Some(p) = &m.plot {
        let values: Vec<f64> = r
            .exponents
            .iter()
            .map(|l| l.unwrap_or(f64::NEG_INFINITY))
            .collect();
        let title = format!(
            "{name}: Lyapunov exponents (λ₁ = {:.4} ± {:.4})",
            r.largest, r.largest_error
        );
        plot::exponents(p, &title, &values, &r.errors)?;
    }
    let summary = format!(
        "{name}: λ₁ = {:.5} ± {:.5} per step ({}), {} of {} exponents positive, Kaplan–Yorke dimension {:.2}; {} steps in {:.1} s",
        r.largest,
        r.largest_error,
        if r.largest - 2.0 * r.largest_error > 0.0 {
            "chaotic"
        } else if r.largest + 2.0 * r.largest_error < 0.0 {
            "stable"
        } else {
            "marginal within 2 standard errors"
        },
        r.exponents.iter().filter(|l| l.is_some_and(|l| l > 0.0)).count(),
        r.exponents.len(),
        r.kaplan_yorke_dimension,
        r.steps,
        r.seconds
    );
    m.out.emit(r, &summary)
}
