//! `gatedyn spectrum gru|lstm`: all eigenvalues of the Jacobian at a state
//! reached by simulation against the predicted support, or the spectral
//! radius alone, matrix-free (`--solver arnoldi`).

use super::args::{
    count, finite, ActivationArg, GruScalesArgs, LstmScalesArgs, OutputArgs, PrecisionArg, Progress,
};
use clap::{Args, Subcommand, ValueEnum};

use gatedyn_host::io::limits::{MAX_PRODUCTS, MAX_STEPS};
use gatedyn_host::io::output::{self, Target};
use gatedyn_host::linalg::matfree::RadiusOptions;
use gatedyn_host::net::Scales;
use gatedyn_host::theory::spectrum::{self, MatrixFreeConfig, SpectrumConfig};
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum SpectrumCmd {
    /// A GRU (gates z, r, h).
    Gru {
        #[command(flatten)]
        scales: GruScalesArgs,
        #[command(flatten)]
        common: SpectrumArgs,
    },
    /// An LSTM (gates f, i, o, c).
    Lstm {
        #[command(flatten)]
        scales: LstmScalesArgs,
        #[command(flatten)]
        common: SpectrumArgs,
    },
    /// A trained model (`--model`, ONNX, PyTorch safetensors or Keras): the
    /// spectrum at the state reached after `--steps` steps of zero input
    /// (or after `--inputs`), with the prediction from its empirical
    /// scales where the theory applies.
    Model(ModelSpectrumArgs),
}

/// The flags of `spectrum model`.
#[derive(Args, Debug)]
pub struct ModelSpectrumArgs {
    #[command(flatten)]
    model: super::args::ModelArgs,
    /// Steps of zero input from the model's initial state (without
    /// `--inputs`).
    #[arg(long, default_value_t = 200, value_parser = count(0, MAX_STEPS), conflicts_with = "inputs")]
    steps: usize,
    /// Drive the model with these inputs (`T×I`, `.npy` or `.csv`) instead;
    /// the Jacobian is that of the last step.
    #[arg(long, value_name = "PATH")]
    inputs: Option<PathBuf>,
    /// Draw eigenvalues and the predicted support (.svg or .png).
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    /// Write the eigenvalues as CSV to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    eigenvalues: Option<Target>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Which spectral computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Solver {
    /// All eigenvalues (faer).
    Dense,
    /// The spectral radius only, matrix-free (no N×N Jacobian).
    Arnoldi,
}

/// The flags of both cells.
#[derive(Args, Debug)]
pub struct SpectrumArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 1000, value_parser = count(1, usize::MAX))]
    pub n: usize,
    /// Steps simulated from h, c ~ N(0, 1) before the Jacobian is taken.
    #[arg(long, default_value_t = 200, value_parser = count(0, MAX_STEPS))]
    pub steps: usize,
    /// Seed of weights and initial state.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// φ.
    #[arg(long, value_enum, default_value_t = ActivationArg::Tanh)]
    pub activation: ActivationArg,
    /// Write the eigenvalues as CSV (re,im) to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub eigenvalues: Option<Target>,
    /// Draw eigenvalues, predicted support and unit circle (.svg or .png).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// `dense`: all eigenvalues. `arnoldi`: the spectral radius only,
    /// matrix-free (for N beyond the dense solve).
    #[arg(long, value_enum, default_value_t = Solver::Dense)]
    pub solver: Solver,
    /// Weight precision of the matrix-free products [default: f32]
    /// (`--solver arnoldi` only).
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// Relative residual at which Arnoldi stops, in (0, 1) [default: 1e-3]
    /// (`--solver arnoldi` only).
    #[arg(long, value_parser = finite, allow_hyphen_values = true)]
    pub tol: Option<f64>,
    /// Budget of Jacobian-vector products [default: 5000] (`--solver
    /// arnoldi` only).
    #[arg(long, value_parser = count(1, MAX_PRODUCTS))]
    pub max_products: Option<usize>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `gatedyn spectrum`.
pub fn run(cmd: SpectrumCmd) -> Result<(), HostError> {
    let (scales, common) = match cmd {
        SpectrumCmd::Gru { scales, common } => (Scales::Gru(scales.scales()), common),
        SpectrumCmd::Lstm { scales, common } => (Scales::Lstm(scales.scales()), common),
        SpectrumCmd::Model(a) => return model_spectrum(a),
    };
    let cfg = SpectrumConfig {
        n: common.n,
        scales,
        activation: common.activation.into(),
        steps: common.steps,
        seed: common.seed,
    };
    match common.solver {
        Solver::Dense => dense(&cfg, &common),
        Solver::Arnoldi => matrix_free(&cfg, &common),
    }
}

fn dense(cfg: &SpectrumConfig, a: &SpectrumArgs) -> Result<(), HostError> {
    let arnoldi_only: Vec<&str> = [
        ("--precision", a.precision.is_some()),
        ("--tol", a.tol.is_some()),
        ("--max-products", a.max_products.is_some()),
    ]
    .iter()
    .filter(|(_, given)| *given)
    .map(|(f, _)| *f)
    .collect();
    if !arnoldi_only.is_empty() {
        return Err(HostError::BadInput(format!(
            "{} appl{} to --solver arnoldi only",
            arnoldi_only.join(", "),
            if arnoldi_only.len() == 1 { "ies" } else { "y" }
        )));
    }
    a.out.check(
        a.plot.as_ref(),
        &[("--eigenvalues", a.eigenvalues.as_ref())],
    )?;
    let bar = Progress::fraction(a.out.quiet);
    let report = spectrum::run(cfg, |f, phase| bar.at_fraction(f, phase))?;
    drop(bar);
    if let Some(t) = &a.eigenvalues {
        output::write_target(t, spectrum::eigenvalues_csv(&report.eigenvalues).trim_end())?;
    }
    if let Some(p) = &a.plot {
        figures::spectrum(p, &figures::spectrum_label(&report), &report)?;
    }
    let csv_on_stdout = a.eigenvalues.as_ref().is_some_and(Target::is_stdout);
    a.out
        .emit_beside(&report, &figures::spectrum_summary(&report), csv_on_stdout)
}

fn matrix_free(cfg: &SpectrumConfig, a: &SpectrumArgs) -> Result<(), HostError> {
    if a.eigenvalues.is_some() || a.plot.is_some() {
        return Err(HostError::BadInput(
            "--eigenvalues and --plot need all eigenvalues: use them with --solver dense".into(),
        ));
    }
    let mf = MatrixFreeConfig {
        precision: a.precision.unwrap_or(PrecisionArg::F32).into(),
        radius: RadiusOptions {
            tol: a.tol.unwrap_or(1e-3),
            max_products: a.max_products.unwrap_or(5000),
        },
    };
    a.out.check(None, &[])?;
    let bar = Progress::fraction(a.out.quiet);
    let report = spectrum::run_matrix_free(cfg, &mf, |f, phase| bar.at_fraction(f, phase))?;
    drop(bar);
    a.out.emit(&report, &figures::matrix_free_summary(&report))
}

fn model_spectrum(a: ModelSpectrumArgs) -> Result<(), HostError> {
    use gatedyn_host::io::arrays::Table;
    use gatedyn_host::theory::analyze::{analyze, AnalyzeConfig};
    a.out.check(
        a.plot.as_ref(),
        &[("--eigenvalues", a.eigenvalues.as_ref())],
    )?;
    let (model, inputs) = match &a.inputs {
        Some(x) => a.model.load_with_inputs(x)?,
        None => {
            let m = a.model.load()?;
            // `steps` steps, then the traced step: all of zero input
            let rows = a.steps + 1;
            let zeros = Table {
                rows,
                cols: m.info.inputs,
                data: vec![0.0; rows * m.info.inputs],
            };
            (m, zeros)
        }
    };
    let cfg = AnalyzeConfig {
        only_last: true,
        ..AnalyzeConfig::default()
    };
    let bar = Progress::new(a.out.quiet, inputs.rows as u64);
    let r = analyze(model, &inputs, &cfg, |t| bar.at(t))?;
    drop(bar);
    let ev: Vec<gatedyn::Complex> = r
        .eigenvalues
        .iter()
        .map(|&[re, im]| gatedyn::Complex::new(re, im))
        .collect();
    if let Some(t) = &a.eigenvalues {
        output::write_target(t, spectrum::eigenvalues_csv(&ev).trim_end())?;
    }
    let th = &r.theory;
    let prediction = match (th.radius_predicted, th.fraction_inside) {
        (Some(p), Some(f)) => format!(
            "predicted from the empirical scales {p:.4} (relative error {:.3}), {:.1}% of eigenvalues inside the predicted support",
            spectrum::relative_error(p, th.radius_measured),
            100.0 * f
        ),
        _ => "no prediction: the theory is for the paper-form GRU and the LSTM".into(),
    };
    if let Some(p) = &a.plot {
        let title = format!(
            "{}: radius {:.3}{}",
            r.model.describe(),
            th.radius_measured,
            th.radius_predicted
                .map(|p| format!(" (predicted {p:.3})"))
                .unwrap_or_default()
        );
        gatedyn_host::figures::plot::spectrum(p, &ev, &r.curve, &title)?;
    }
    let summary = format!(
        "{}, {}: spectral radius {:.4} after {} steps; {prediction}",
        r.model.path,
        r.model.describe(),
        th.radius_measured,
        r.steps - 1
    );
    let csv_on_stdout = a.eigenvalues.as_ref().is_some_and(Target::is_stdout);
    a.out.emit_beside(&r, &summary, csv_on_stdout)
}
