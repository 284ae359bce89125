//! The `gatedyn` command-line tool. Every subcommand takes `--json PATH`
//! (`-` for stdout); bad parameters print one line and exit with status 2.

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatedyn::mft::{GruMftParams, Mft};
use gatedyn::Activation;
use gatedyn_host::matfree::Precision;
use gatedyn_host::network::Model;
use gatedyn_host::spectrum::{self, SpectrumConfig};
use gatedyn_host::{check_sigma, HostError};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gatedyn",
    version,
    about = "Jacobian spectra of random GRUs and LSTMs against the large-N theory"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate, take the Jacobian, compute all eigenvalues and the predicted support.
    Spectrum {
        #[command(subcommand)]
        model: SpectrumModel,
    },
    /// Mean-field fixed point of a random GRU.
    Mft {
        #[command(subcommand)]
        model: MftModel,
    },
    /// The GRU phase diagram over (σ_h, σ_r) from the mean-field theory.
    #[command(allow_negative_numbers = true)]
    PhaseDiagram {
        /// Largest σ_h of the grid.
        #[arg(long, default_value_t = 3.5)]
        sigma_h_max: f64,
        /// Largest σ_r of the grid.
        #[arg(long, default_value_t = 16.0)]
        sigma_r_max: f64,
        /// Grid points per axis.
        #[arg(long, default_value_t = 200)]
        points: usize,
        /// Draw the diagram (.svg or .png).
        #[arg(long)]
        plot: Option<std::path::PathBuf>,
        #[command(flatten)]
        out: Output,
    },
    /// Spectral radius (empirical and predicted) against one gate scale.
    #[command(allow_negative_numbers = true)]
    Scaling {
        /// The gate to sweep (GRU: z, r, h; LSTM: f, i, o, c).
        #[arg(long)]
        gate: String,
        /// The values of its scale.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0])]
        values: Vec<f64>,
        #[command(flatten)]
        base: SweepArgs,
    },
    /// Eigenvalues piling up at λ = 1 as σ_z (GRU) or σ_f (LSTM) grows.
    #[command(allow_negative_numbers = true)]
    SlowModes {
        /// The values of σ_z (GRU) or σ_f (LSTM).
        #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 5.0, 20.0, 100.0])]
        values: Vec<f64>,
        #[command(flatten)]
        base: SweepArgs,
    },
    /// Fixed points of a random GRU (Levenberg–Marquardt from trajectory states).
    FixedPoints {
        #[command(subcommand)]
        model: FixedPointModel,
    },
    /// The validation battery: pass/fail table, report/ folder with figures.
    Validate {
        /// Hidden size.
        #[arg(long, default_value_t = 1000)]
        n: usize,
        /// N = 500: a fast run.
        #[arg(long)]
        quick: bool,
        /// Where the report goes.
        #[arg(long, default_value = "report")]
        report: std::path::PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// The critical reset scale σ_r*(σ_h) for √2 < σ_h < 2.
    #[command(allow_negative_numbers = true)]
    Bifurcation {
        /// σ_h.
        #[arg(long)]
        sigma_h: f64,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Subcommand)]
enum SpectrumModel {
    /// A GRU (gates z, r, h).
    #[command(allow_negative_numbers = true)]
    Gru {
        #[arg(long, default_value_t = 1.0)]
        sigma_z: f64,
        #[arg(long, default_value_t = 1.0)]
        sigma_r: f64,
        #[arg(long, default_value_t = 3.0)]
        sigma_h: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_z: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_r: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_h: f64,
        #[command(flatten)]
        common: SpectrumArgs,
    },
    /// An LSTM (gates f, i, o, c).
    #[command(allow_negative_numbers = true)]
    Lstm {
        #[arg(long, default_value_t = 1.0)]
        sigma_f: f64,
        #[arg(long, default_value_t = 1.0)]
        sigma_i: f64,
        #[arg(long, default_value_t = 1.0)]
        sigma_o: f64,
        #[arg(long, default_value_t = 3.0)]
        sigma_c: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_f: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_i: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_o: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_c: f64,
        #[command(flatten)]
        common: SpectrumArgs,
    },
}

#[derive(Subcommand)]
enum FixedPointModel {
    /// A GRU (gates z, r, h); fixed points do not depend on σ_z, their
    /// Jacobians do.
    #[command(allow_negative_numbers = true)]
    Gru {
        #[arg(long, default_value_t = 400)]
        n: usize,
        #[arg(long, default_value_t = 1.0)]
        sigma_z: f64,
        #[arg(long, default_value_t = 1.0)]
        sigma_r: f64,
        #[arg(long, default_value_t = 3.0)]
        sigma_h: f64,
        /// Starts (states along the trajectory).
        #[arg(long, default_value_t = 20)]
        starts: usize,
        /// Trajectory steps before the first start (also their spacing).
        #[arg(long, default_value_t = 200)]
        steps: usize,
        /// Levenberg–Marquardt iterations per start.
        #[arg(long, default_value_t = 60)]
        max_iter: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Subcommand)]
enum MftModel {
    /// GRU fixed-point mean-field theory.
    #[command(allow_negative_numbers = true)]
    Gru {
        #[arg(long)]
        sigma_h: f64,
        #[arg(long)]
        sigma_r: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_h: f64,
        #[arg(long, default_value_t = 0.0)]
        bias_r: f64,
        #[arg(long, value_enum, default_value_t = Act::Tanh)]
        activation: Act,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Args)]
struct SpectrumArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Steps simulated from h, c ~ N(0, 1) before the Jacobian is taken.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Seed of weights and initial state.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Act::Tanh)]
    activation: Act,
    /// Write the eigenvalues as CSV (re,im).
    #[arg(long)]
    eigenvalues: Option<String>,
    /// Draw eigenvalues, predicted support and unit circle (.svg or .png).
    #[arg(long)]
    plot: Option<std::path::PathBuf>,
    /// `dense`: all eigenvalues (faer). `arnoldi`: the spectral radius
    /// only, matrix-free (no N×N Jacobian; for N beyond the dense solve).
    #[arg(long, value_enum, default_value_t = Solver::Dense)]
    solver: Solver,
    /// Weight precision of the matrix-free products (`--solver arnoldi`).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// Relative residual at which the Arnoldi estimate stops.
    #[arg(long, default_value_t = 1e-3)]
    tol: f64,
    /// Budget of Jacobian-vector products for `--solver arnoldi`.
    #[arg(long, default_value_t = 5000)]
    max_products: usize,
    #[command(flatten)]
    out: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Solver {
    Dense,
    Arnoldi,
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    F32,
    F64,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelArg {
    Gru,
    Lstm,
}

#[derive(Args)]
struct SweepArgs {
    /// GRU or LSTM.
    #[arg(long, value_enum, default_value_t = ModelArg::Gru)]
    model: ModelArg,
    /// Gate scales in model order (GRU z,r,h; LSTM f,i,o,c); default
    /// GRU 0,1,3 (no update-gate variance: THEORY's √σ_r law), LSTM 1,1,1,3.
    #[arg(long, value_delimiter = ',')]
    sigmas: Option<Vec<f64>>,
    /// Hidden size.
    #[arg(long, default_value_t = 400)]
    n: usize,
    #[arg(long, default_value_t = 200)]
    steps: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw the sweep (.svg or .png).
    #[arg(long)]
    plot: Option<std::path::PathBuf>,
    #[command(flatten)]
    out: Output,
}

impl SweepArgs {
    fn config(&self) -> Result<SpectrumConfig, HostError> {
        let model = match self.model {
            ModelArg::Gru => Model::Gru,
            ModelArg::Lstm => Model::Lstm,
        };
        let sigmas = match (&self.sigmas, model) {
            (Some(v), _) => v.clone(),
            (None, Model::Gru) => vec![0.0, 1.0, 3.0],
            (None, Model::Lstm) => vec![1.0, 1.0, 1.0, 3.0],
        };
        if sigmas.len() != model.gates() {
            return Err(HostError::Param(format!(
                "--sigmas needs {} values for this model",
                model.gates()
            )));
        }
        let cfg = SpectrumConfig {
            model,
            n: self.n,
            bias_sigmas: vec![0.0; sigmas.len()],
            sigmas,
            activation: Activation::Tanh,
            steps: self.steps,
            seed: self.seed,
        };
        spectrum::check(&cfg)?;
        if let Some(p) = &self.plot {
            gatedyn_host::plot::format_of(p)?;
        }
        Ok(cfg)
    }
}

#[derive(Args)]
struct Output {
    /// Write the result as JSON to PATH (`-` for stdout).
    #[arg(long)]
    json: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Act {
    Tanh,
    Hardtanh,
}

impl From<Act> for Activation {
    fn from(a: Act) -> Self {
        match a {
            Act::Tanh => Activation::Tanh,
            Act::Hardtanh => Activation::HardTanh,
        }
    }
}

fn write_out(path: &str, text: &str) -> Result<(), HostError> {
    if path == "-" {
        println!("{text}");
        Ok(())
    } else {
        std::fs::write(path, text).map_err(|e| HostError::Io(format!("cannot write {path}: {e}")))
    }
}

fn emit<T: Serialize>(out: &Output, value: &T, summary: &str) -> Result<(), HostError> {
    match &out.json {
        Some(p) => {
            let text =
                serde_json::to_string_pretty(value).map_err(|e| HostError::Io(e.to_string()))?;
            write_out(p, &text)?;
            if p != "-" {
                println!("{summary}");
            }
        }
        None => println!("{summary}"),
    }
    Ok(())
}

fn spectrum_cmd(model: SpectrumModel) -> Result<(), HostError> {
    let (cfg, common) = match model {
        SpectrumModel::Gru {
            sigma_z,
            sigma_r,
            sigma_h,
            bias_z,
            bias_r,
            bias_h,
            common,
        } => (
            SpectrumConfig {
                model: Model::Gru,
                n: common.n,
                sigmas: vec![sigma_z, sigma_r, sigma_h],
                bias_sigmas: vec![bias_z, bias_r, bias_h],
                activation: common.activation.into(),
                steps: common.steps,
                seed: common.seed,
            },
            common,
        ),
        SpectrumModel::Lstm {
            sigma_f,
            sigma_i,
            sigma_o,
            sigma_c,
            bias_f,
            bias_i,
            bias_o,
            bias_c,
            common,
        } => (
            SpectrumConfig {
                model: Model::Lstm,
                n: common.n,
                sigmas: vec![sigma_f, sigma_i, sigma_o, sigma_c],
                bias_sigmas: vec![bias_f, bias_i, bias_o, bias_c],
                activation: common.activation.into(),
                steps: common.steps,
                seed: common.seed,
            },
            common,
        ),
    };
    if common.solver == Solver::Arnoldi {
        return matrix_free_cmd(&cfg, &common);
    }
    spectrum::check(&cfg)?;
    if let Some(p) = &common.plot {
        gatedyn_host::plot::format_of(p)?;
    }
    let bar = progress_bar(common.out.quiet);
    let report = spectrum::run(&cfg, |f, phase| {
        bar.set_position((1000.0 * f) as u64);
        bar.set_message(phase.to_string());
    })?;
    bar.finish_and_clear();
    if let Some(p) = &common.eigenvalues {
        write_out(p, &spectrum::eigenvalues_csv(&report.eigenvalues))?;
    }
    if let Some(p) = &common.plot {
        let title = format!(
            "{} N={} σ={:?}: radius {:.3} (predicted {:.3})",
            match report.model {
                Model::Gru => "GRU",
                Model::Lstm => "LSTM",
            },
            report.n,
            cfg.sigmas,
            report.radius_empirical,
            report.radius_predicted
        );
        gatedyn_host::plot::spectrum(p, &report.eigenvalues, &report.curve, &title)?;
    }
    let summary = format!(
        "{:?} N={}: radius empirical {:.4}, predicted {:.4} (relative error {:.3}), {:.1}% of eigenvalues inside; eigensolve {:.2} s",
        report.model,
        report.n,
        report.radius_empirical,
        report.radius_predicted,
        report.relative_error,
        100.0 * report.fraction_inside,
        report.timings_s.eigensolve
    );
    emit(&common.out, &report, &summary)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1000)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {msg}")
            .expect("static template"),
    );
    bar
}

fn matrix_free_cmd(cfg: &SpectrumConfig, common: &SpectrumArgs) -> Result<(), HostError> {
    if common.eigenvalues.is_some() || common.plot.is_some() {
        return Err(HostError::Param(
            "--eigenvalues and --plot need all eigenvalues: use them with --solver dense".into(),
        ));
    }
    let mf = spectrum::MatrixFreeConfig {
        precision: match common.precision {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        },
        tol: common.tol,
        max_products: common.max_products,
    };
    spectrum::check_matrix_free(cfg, &mf)?;
    let bar = progress_bar(common.out.quiet);
    let report = spectrum::run_matrix_free(cfg, &mf, |f, phase| {
        bar.set_position((1000.0 * f) as u64);
        bar.set_message(phase.to_string());
    })?;
    bar.finish_and_clear();
    let summary = format!(
        "{:?} N={}: radius (Arnoldi, {} products, residual {:.1e}) {:.4}, predicted {:.4} (relative error {:.3}); Arnoldi {:.2} s",
        report.model,
        report.n,
        report.products,
        report.residual,
        report.radius_empirical,
        report.radius_predicted,
        report.relative_error,
        report.timings_s.arnoldi
    );
    emit(&common.out, &report, &summary)
}

#[derive(Serialize)]
struct MftReport {
    sigma_h: f64,
    sigma_r: f64,
    bias_h: f64,
    bias_r: f64,
    c_h: f64,
    q_r: f64,
    mean_dphi_sq: f64,
    mean_dsig_r_sq: f64,
    shaping_sq: f64,
    fixed_point_stable: Option<bool>,
    zero_fixed_point_stable: Option<bool>,
    region: String,
}

fn mft_cmd(model: MftModel) -> Result<(), HostError> {
    let MftModel::Gru {
        sigma_h,
        sigma_r,
        bias_h,
        bias_r,
        activation,
        out,
    } = model;
    for (n, v) in [
        ("--sigma-h", sigma_h),
        ("--sigma-r", sigma_r),
        ("--bias-h", bias_h),
        ("--bias-r", bias_r),
    ] {
        check_sigma(n, v)?;
    }
    let p = GruMftParams {
        sigma_h,
        sigma_r,
        bias_h,
        bias_r,
        activation: activation.into(),
    };
    let mft = Mft::new();
    let fp = mft.fixed_point(&p)?;
    let zero = if bias_h > 0.0 {
        None
    } else {
        Some(mft.gru_zero_stable(&p)?)
    };
    let region = mft.classify(&p)?;
    // with no non-zero solution, report the (zero) fixed point's averages
    let at = fp.unwrap_or_else(|| mft.averages(&p, 0.0));
    let report = MftReport {
        sigma_h,
        sigma_r,
        bias_h,
        bias_r,
        c_h: at.c_h,
        q_r: at.q_r,
        mean_dphi_sq: at.mean_dphi_sq,
        mean_dsig_r_sq: at.mean_dsig_r_sq,
        shaping_sq: at.shaping_sq,
        fixed_point_stable: fp.map(|f| f.stable()),
        zero_fixed_point_stable: zero,
        region: format!("{region:?}"),
    };
    let summary = format!(
        "GRU MFT σ_h={sigma_h} σ_r={sigma_r}: C_h={:.6} Q_r={:.6} ρ_s²={:.6} region {:?}",
        report.c_h, report.q_r, report.shaping_sq, region
    );
    emit(&out, &report, &summary)
}

#[derive(Serialize)]
struct BifurcationReport {
    sigma_h: f64,
    sigma_r_critical: f64,
}

fn bifurcation_cmd(sigma_h: f64, out: Output) -> Result<(), HostError> {
    if !(sigma_h > std::f64::consts::SQRT_2 && sigma_h < 2.0) {
        return Err(HostError::Param(format!(
            "--sigma-h must lie in (√2, 2) = (1.41421, 2) for a bifurcation, got {sigma_h}"
        )));
    }
    let sr = Mft::new().bifurcation_sigma_r(sigma_h)?;
    let report = BifurcationReport {
        sigma_h,
        sigma_r_critical: sr,
    };
    emit(&out, &report, &format!("σ_r*({sigma_h}) = {sr:.6}"))
}

fn phase_cmd(
    hmax: f64,
    rmax: f64,
    points: usize,
    plot: Option<std::path::PathBuf>,
    out: Output,
) -> Result<(), HostError> {
    if let Some(p) = &plot {
        gatedyn_host::plot::format_of(p)?;
    }
    let bar = if out.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((points * points) as u64)
    };
    let d = gatedyn_host::phase::compute(hmax, rmax, points, |k| bar.inc(k as u64))?;
    bar.finish_and_clear();
    if let Some(p) = &plot {
        gatedyn_host::plot::phase_diagram(p, &d)?;
    }
    let summary = format!(
        "phase diagram {points}×{points} over σ_h ≤ {hmax}, σ_r ≤ {rmax} in {:.2} s ({} bifurcation points)",
        d.seconds,
        d.bifurcation.len()
    );
    emit(&out, &d, &summary)
}

fn check_values(values: &[f64]) -> Result<(), HostError> {
    for &v in values {
        check_sigma("--values", v)?;
    }
    Ok(())
}

fn scaling_cmd(gate: &str, values: &[f64], base: SweepArgs) -> Result<(), HostError> {
    let cfg = base.config()?;
    check_values(values)?;
    gatedyn_host::sweep::gate_index(cfg.model, gate)?;
    let bar = if base.out.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(values.len() as u64)
    };
    let s = gatedyn_host::sweep::scaling(&cfg, gate, values, |k| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    if let Some(p) = &base.plot {
        use gatedyn_host::plot::Series;
        let pick = |f: fn(&gatedyn_host::sweep::ScalingPoint) -> f64| {
            s.points
                .iter()
                .filter(|q| q.value > 0.0)
                .map(|q| (q.value, f(q)))
                .collect::<Vec<_>>()
        };
        let mut series = vec![
            Series {
                label: "empirical (max |λ|)".into(),
                points: pick(|q| q.radius_empirical),
                thin: false,
            },
            Series {
                label: "predicted (support)".into(),
                points: pick(|q| q.radius_predicted),
                thin: false,
            },
        ];
        if let (Some(p), Some(last)) = (s.law_exponent, s.points.last()) {
            let c = (last.radius_predicted - 0.5) / last.value.powf(p);
            series.push(Series {
                label: format!("1/2 + c σ^{p}"),
                points: s
                    .points
                    .iter()
                    .filter(|q| q.value > 0.0)
                    .map(|q| (q.value, 0.5 + c * q.value.powf(p)))
                    .collect(),
                thin: true,
            });
        }
        gatedyn_host::plot::log_x_lines(
            p,
            &format!("{:?} N={}: radius against σ_{gate}", s.model, s.n),
            &format!("σ_{gate}"),
            "spectral radius",
            &series,
        )?;
    }
    let summary = format!(
        "{:?} σ_{gate} sweep, N={}: fitted exponent empirical {:?}, predicted {:?} (law {:?})",
        s.model, s.n, s.fitted_exponent_empirical, s.fitted_exponent_predicted, s.law_exponent
    );
    emit(&base.out, &s, &summary)
}

fn slow_modes_cmd(values: &[f64], base: SweepArgs) -> Result<(), HostError> {
    let cfg = base.config()?;
    check_values(values)?;
    let bar = if base.out.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(values.len() as u64)
    };
    let s = gatedyn_host::sweep::slow_modes(&cfg, values, |k| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    let gate = if s.model == Model::Gru { "z" } else { "f" };
    if let Some(p) = &base.plot {
        use gatedyn_host::plot::Series;
        let series: Vec<Series> = s
            .curves
            .iter()
            .map(|(v, cdf)| Series {
                label: format!("σ_{gate} = {v}"),
                points: s.delta.iter().copied().zip(cdf.iter().copied()).collect(),
                thin: false,
            })
            .collect();
        gatedyn_host::plot::log_x_lines(
            p,
            &format!("{:?} N={}: eigenvalues near λ = 1", s.model, s.n),
            "δ",
            "fraction with |λ − 1| ≤ δ",
            &series,
        )?;
    }
    let at = s.delta.iter().position(|d| *d >= 0.01).unwrap_or(0);
    let summary = s
        .curves
        .iter()
        .map(|(v, cdf)| format!("σ_{gate}={v}: {:.1}% within 0.01 of λ=1", 100.0 * cdf[at]))
        .collect::<Vec<_>>()
        .join("; ");
    emit(&base.out, &s, &summary)
}

fn fixed_points_cmd(model: FixedPointModel) -> Result<(), HostError> {
    let FixedPointModel::Gru {
        n,
        sigma_z,
        sigma_r,
        sigma_h,
        starts,
        steps,
        max_iter,
        seed,
        out,
    } = model;
    let cfg = gatedyn_host::fixed_points::FixedPointConfig {
        n,
        sigmas: [sigma_z, sigma_r, sigma_h],
        seed,
        steps,
        starts,
        max_iter,
    };
    let bar = if out.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(starts as u64)
    };
    let r = gatedyn_host::fixed_points::find(&cfg, |k| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    let summary = format!(
        "{} of {} starts converged ({} to h = 0); {} distinct non-zero fixed points, {} unstable; radius vs own support: max relative error {:.3}",
        r.converged,
        r.starts,
        r.zero_hits,
        r.fixed_points.len(),
        r.fixed_points.iter().filter(|f| !f.stable).count(),
        r.fixed_points.iter().map(|f| f.relative_error).fold(0.0, f64::max)
    );
    emit(&out, &r, &summary)
}

fn validate_cmd(n: usize, report: &std::path::Path, out: Output) -> Result<(), HostError> {
    let bar = if out.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(10)
    };
    let v = gatedyn_host::validate::run(n, report, |k, _| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    print!("{}", v.table());
    let summary = format!(
        "{} of {} checks passed in {:.1} s; report in {}",
        v.checks.iter().filter(|c| c.pass).count(),
        v.checks.len(),
        v.seconds,
        report.display()
    );
    emit(&out, &v, &summary)?;
    match v.checks.iter().filter(|c| !c.pass).count() {
        0 => Ok(()),
        k => Err(HostError::ChecksFailed(k)),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse(); // usage errors: clap prints them and exits with 2
    let r = match cli.cmd {
        Cmd::Spectrum { model } => spectrum_cmd(model),
        Cmd::Mft { model } => mft_cmd(model),
        Cmd::Bifurcation { sigma_h, out } => bifurcation_cmd(sigma_h, out),
        Cmd::FixedPoints { model } => fixed_points_cmd(model),
        Cmd::Validate {
            n,
            quick,
            report,
            out,
        } => validate_cmd(if quick { 500 } else { n }, &report, out),
        Cmd::Scaling { gate, values, base } => scaling_cmd(&gate, &values, base),
        Cmd::SlowModes { values, base } => slow_modes_cmd(&values, base),
        Cmd::PhaseDiagram {
            sigma_h_max,
            sigma_r_max,
            points,
            plot,
            out,
        } => phase_cmd(sigma_h_max, sigma_r_max, points, plot, out),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                HostError::ChecksFailed(_) => ExitCode::FAILURE,
                _ => ExitCode::from(2),
            }
        }
    }
}
