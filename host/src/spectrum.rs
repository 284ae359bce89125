//! `gatedyn spectrum`: simulate a random network, take the exact Jacobian at
//! the state reached, compute all eigenvalues and hold them against the
//! support predicted from that state (THEORY.md §4).

use crate::eigen::{eigenvalues, jacobian, spectral_radius};
use crate::matfree::{self, HostJacobian, Method, Precision};
use crate::network::{bytes_needed, Model, Net};
use crate::{check_sigma, HostError};
use gatedyn::init::GateScale;
use gatedyn::spectral_curve::{
    boundary_radius, outer_bound, predicted_radius, CurveOptions, GruSigmas, GruSupport,
    LstmSigmas, LstmSupport, Support,
};
use gatedyn::{Activation, Complex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Level above which an eigenvalue counts as inside the predicted support
/// (THEORY.md §6: a small tolerance on `ρ(K)` for the finite-N edge).
pub const INSIDE_LEVEL: f64 = 0.97;

/// One spectrum experiment.
#[derive(Debug, Clone)]
pub struct SpectrumConfig {
    /// GRU or LSTM.
    pub model: Model,
    /// Hidden size.
    pub n: usize,
    /// Recurrent scales in model order (GRU z, r, h; LSTM f, i, o, c).
    pub sigmas: Vec<f64>,
    /// Bias scales in the same order.
    pub bias_sigmas: Vec<f64>,
    /// `φ`.
    pub activation: Activation,
    /// Steps simulated before the Jacobian is taken.
    pub steps: usize,
    /// Seed of weights and initial state.
    pub seed: u64,
}

/// Seconds spent per phase.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// Simulation.
    pub simulate: f64,
    /// Dense Jacobian.
    pub jacobian: f64,
    /// All eigenvalues.
    pub eigensolve: f64,
    /// Predicted curve and the inside test.
    pub curve: f64,
}

/// The result, as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SpectrumReport {
    /// `"gru"` or `"lstm"`.
    pub model: Model,
    /// Hidden size.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Steps simulated.
    pub steps: usize,
    /// `"tanh"` or `"hardtanh"`.
    pub activation: &'static str,
    /// Gate scales by gate name.
    pub sigmas: BTreeMap<String, f64>,
    /// Bias scales by gate name.
    pub bias_sigmas: BTreeMap<String, f64>,
    /// Largest |λ| of the Jacobian.
    pub radius_empirical: f64,
    /// Largest |λ| of the predicted support.
    pub radius_predicted: f64,
    /// `|predicted − empirical| / empirical`.
    pub relative_error: f64,
    /// Share of the non-zero eigenvalues with level ≥ 0.97.
    pub fraction_inside: f64,
    /// `⟨h²⟩` at the state reached.
    pub mean_square_activity: f64,
    /// Seconds per phase.
    pub timings_s: Timings,
    /// The eigenvalues (not serialised; see `--eigenvalues`).
    #[serde(skip)]
    pub eigenvalues: Vec<Complex>,
    /// Points on the predicted support boundary (for the plot).
    #[serde(skip)]
    pub curve: Vec<Complex>,
}

fn map(model: Model, v: &[f64]) -> BTreeMap<String, f64> {
    model
        .gate_names()
        .iter()
        .map(|s| s.to_string())
        .zip(v.iter().copied())
        .collect()
}

/// Validates the configuration: sizes, scales, memory.
pub fn check(cfg: &SpectrumConfig) -> Result<(), HostError> {
    check_scales(cfg)?;
    check_memory(cfg.n, bytes_needed(cfg.model, cfg.n))
}

fn check_scales(cfg: &SpectrumConfig) -> Result<(), HostError> {
    if cfg.n == 0 {
        return Err(HostError::Param("--n must be at least 1".into()));
    }
    for (name, v) in cfg.model.gate_names().iter().zip(&cfg.sigmas) {
        check_sigma(&format!("--sigma-{name}"), *v)?;
    }
    for (name, v) in cfg.model.gate_names().iter().zip(&cfg.bias_sigmas) {
        check_sigma(&format!("--bias-{name}"), *v)?;
    }
    Ok(())
}

fn check_memory(n: usize, need: u128) -> Result<(), HostError> {
    if let Some(avail) = available_memory() {
        if need > avail as u128 {
            return Err(HostError::Param(format!(
                "--n {} needs about {:.1} GiB, more than the {:.1} GiB available",
                n,
                need as f64 / (1u64 << 30) as f64,
                avail as f64 / (1u64 << 30) as f64
            )));
        }
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, in bytes (Linux).
pub fn available_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn scales(cfg: &SpectrumConfig) -> Vec<GateScale> {
    cfg.sigmas
        .iter()
        .zip(&cfg.bias_sigmas)
        .map(|(&s, &b)| GateScale {
            sigma: s,
            bias: b,
            input: 0.0,
        })
        .collect()
}

/// Draws the network and runs `cfg.steps` steps (progress up to 0.3).
fn simulate(
    cfg: &SpectrumConfig,
    progress: &mut impl FnMut(f64, &str),
) -> Result<(Net, f64), HostError> {
    let t0 = Instant::now();
    let mut net = Net::random(cfg.model, cfg.n, &scales(cfg), cfg.activation, cfg.seed)?;
    let mut done = 0usize;
    net.run(cfg.steps, || {
        done += 1;
        if done.is_multiple_of(16) {
            progress(0.3 * done as f64 / cfg.steps.max(1) as f64, "simulate");
        }
    })?;
    Ok((net, t0.elapsed().as_secs_f64()))
}

/// Runs the experiment; `progress(fraction, phase)` is called along the way.
pub fn run(
    cfg: &SpectrumConfig,
    mut progress: impl FnMut(f64, &str),
) -> Result<SpectrumReport, HostError> {
    check(cfg)?;
    let (net, simulate) = simulate(cfg, &mut progress)?;
    progress(0.3, "jacobian");
    let t0 = Instant::now();
    let j = jacobian(&net)?;
    let jac_t = t0.elapsed().as_secs_f64();
    progress(0.4, "eigensolve");
    let t0 = Instant::now();
    let ev = eigenvalues(&j)?;
    let eig_t = t0.elapsed().as_secs_f64();
    progress(0.9, "curve");
    let t0 = Instant::now();
    let opts = CurveOptions::default();
    let center = Complex::new(ev.iter().map(|z| z.re).sum::<f64>() / ev.len() as f64, 0.0);
    let sp = NetSupport::new(cfg, &net)?;
    let radius_predicted = predicted_radius(&sp, &opts)?.0;
    let fraction_inside = inside_fraction(&sp, &ev);
    let curve_pts = curve_points(&sp, center, 720)?;
    let curve = t0.elapsed().as_secs_f64();
    progress(1.0, "done");
    let radius_empirical = spectral_radius(&ev);
    Ok(SpectrumReport {
        model: cfg.model,
        n: cfg.n,
        seed: cfg.seed,
        steps: cfg.steps,
        activation: match cfg.activation {
            Activation::Tanh => "tanh",
            Activation::HardTanh => "hardtanh",
        },
        sigmas: map(cfg.model, &cfg.sigmas),
        bias_sigmas: map(cfg.model, &cfg.bias_sigmas),
        radius_empirical,
        radius_predicted,
        relative_error: (radius_predicted - radius_empirical).abs() / radius_empirical,
        fraction_inside,
        mean_square_activity: net.mean_square_activity(),
        timings_s: Timings {
            simulate,
            jacobian: jac_t,
            eigensolve: eig_t,
            curve,
        },
        eigenvalues: ev,
        curve: curve_pts,
    })
}

/// Settings of the matrix-free path ([`run_matrix_free`]).
#[derive(Debug, Clone, Copy)]
pub struct MatrixFreeConfig {
    /// Storage precision of the weights in the products.
    pub precision: Precision,
    /// Relative residual at which the Arnoldi estimate stops.
    pub tol: f64,
    /// Budget of products `J v`.
    pub max_products: usize,
}

/// Seconds per phase of the matrix-free path.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixFreeTimings {
    /// Simulation.
    pub simulate: f64,
    /// Diagonal factors and weight copies of the operator.
    pub operator: f64,
    /// The Arnoldi iteration.
    pub arnoldi: f64,
    /// Predicted radius.
    pub curve: f64,
}

/// The result of the matrix-free path, as written to JSON: the spectral
/// radius only (no eigenvalue list, so no `fraction_inside`).
#[derive(Debug, Clone, Serialize)]
pub struct MatrixFreeReport {
    /// `"gru"` or `"lstm"`.
    pub model: Model,
    /// Hidden size.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Steps simulated.
    pub steps: usize,
    /// `"arnoldi"`.
    pub solver: &'static str,
    /// Weight precision of the products.
    pub precision: Precision,
    /// `"block"` (state dimension ≥ 2000) or `"single"`-vector Arnoldi.
    pub method: Method,
    /// Gate scales by gate name.
    pub sigmas: BTreeMap<String, f64>,
    /// Bias scales by gate name.
    pub bias_sigmas: BTreeMap<String, f64>,
    /// `|θ|` of the dominant Ritz value.
    pub radius_empirical: f64,
    /// The dominant Ritz value `[re, im]`.
    pub eigenvalue: [f64; 2],
    /// Relative residual `‖J x − θ x‖ / |θ|` reached.
    pub residual: f64,
    /// Products `J v` spent.
    pub products: usize,
    /// Passes over the weights (equal to `products` for single-vector
    /// Arnoldi; a block pass applies `J` to 8 vectors).
    pub passes: usize,
    /// Restarts of the Arnoldi cycle.
    pub restarts: usize,
    /// Largest |λ| of the predicted support.
    pub radius_predicted: f64,
    /// `|predicted − empirical| / empirical`.
    pub relative_error: f64,
    /// `⟨h²⟩` at the state reached.
    pub mean_square_activity: f64,
    /// Seconds per phase.
    pub timings_s: MatrixFreeTimings,
}

/// Validates a matrix-free run: sizes, scales, tolerance, memory (weights
/// plus the operator's copies; no dense matrix).
pub fn check_matrix_free(cfg: &SpectrumConfig, mf: &MatrixFreeConfig) -> Result<(), HostError> {
    check_scales(cfg)?;
    if !(mf.tol > 0.0 && mf.tol < 1.0) {
        return Err(HostError::Param(format!(
            "--tol must be in (0, 1), got {}",
            mf.tol
        )));
    }
    let need = 8 * (cfg.model.gates() as u128) * (cfg.n as u128).pow(2)
        + HostJacobian::bytes_needed(cfg.model, cfg.n, mf.precision);
    check_memory(cfg.n, need)
}

/// The spectral radius without the dense solve: simulate, then the core's
/// Arnoldi over the host's matrix-free Jacobian ([`crate::matfree`]), and
/// the predicted radius from the same state.
pub fn run_matrix_free(
    cfg: &SpectrumConfig,
    mf: &MatrixFreeConfig,
    mut progress: impl FnMut(f64, &str),
) -> Result<MatrixFreeReport, HostError> {
    check_matrix_free(cfg, mf)?;
    let (net, simulate) = simulate(cfg, &mut progress)?;
    progress(0.3, "operator");
    let t0 = Instant::now();
    let mut op = HostJacobian::new(&net, mf.precision)?;
    let operator = t0.elapsed().as_secs_f64();
    progress(0.35, "arnoldi");
    let t0 = Instant::now();
    let r = matfree::radius(&mut op, mf.tol, mf.max_products)?;
    let arnoldi = t0.elapsed().as_secs_f64();
    progress(0.95, "curve");
    let t0 = Instant::now();
    let sp = NetSupport::new(cfg, &net)?;
    let radius_predicted = predicted_radius(&sp, &CurveOptions::default())?.0;
    let curve = t0.elapsed().as_secs_f64();
    progress(1.0, "done");
    Ok(MatrixFreeReport {
        model: cfg.model,
        n: cfg.n,
        seed: cfg.seed,
        steps: cfg.steps,
        solver: "arnoldi",
        precision: mf.precision,
        sigmas: map(cfg.model, &cfg.sigmas),
        bias_sigmas: map(cfg.model, &cfg.bias_sigmas),
        method: r.method,
        radius_empirical: r.radius,
        eigenvalue: [r.eigenvalue.re, r.eigenvalue.im],
        residual: r.residual,
        products: r.products,
        passes: r.passes,
        restarts: r.restarts,
        radius_predicted,
        relative_error: (radius_predicted - r.radius).abs() / r.radius,
        mean_square_activity: net.mean_square_activity(),
        timings_s: MatrixFreeTimings {
            simulate,
            operator,
            arnoldi,
            curve,
        },
    })
}

/// The predicted support of the network's Jacobian at its traced state
/// (THEORY.md §4), for either model.
pub enum NetSupport<'a> {
    /// GRU.
    Gru(GruSupport<'a, f64>),
    /// LSTM.
    Lstm(LstmSupport<'a, f64>),
}

impl<'a> NetSupport<'a> {
    /// The support with the scales of `cfg` at the state of `net`.
    pub fn new(cfg: &SpectrumConfig, net: &'a Net) -> Result<Self, HostError> {
        let s = &cfg.sigmas;
        Ok(match cfg.model {
            Model::Gru => NetSupport::Gru(GruSupport::new(
                GruSigmas {
                    z: s[0],
                    r: s[1],
                    h: s[2],
                },
                net.act,
                &net.h,
                net.gru_trace(),
            )?),
            Model::Lstm => NetSupport::Lstm(LstmSupport::new(
                LstmSigmas {
                    f: s[0],
                    i: s[1],
                    o: s[2],
                    c: s[3],
                },
                net.act,
                &net.c,
                net.lstm_trace(),
            )?),
        })
    }
}

impl Support for NetSupport<'_> {
    fn level(&self, lambda: Complex) -> f64 {
        match self {
            NetSupport::Gru(s) => s.level(lambda),
            NetSupport::Lstm(s) => s.level(lambda),
        }
    }
}

/// The outer boundary of the support seen from `center` along `rays`
/// equally spaced rays (rays that miss the support are skipped).
pub fn curve_points<S: Support>(
    sp: &S,
    center: Complex,
    rays: usize,
) -> Result<Vec<Complex>, HostError> {
    let r_max = outer_bound(sp)? + center.abs();
    let opts = CurveOptions::default();
    Ok((0..rays)
        .filter_map(|k| {
            let th = 2.0 * std::f64::consts::PI * k as f64 / rays as f64;
            boundary_radius(sp, center, th, r_max, &opts)
                .map(|r| center + Complex::from_polar(r, th))
        })
        .collect())
}

/// Share of the non-zero eigenvalues (|λ| > 1e-9) with level ≥ 0.97.
pub fn inside_fraction<S: Support>(sp: &S, ev: &[Complex]) -> f64 {
    let nz: Vec<&Complex> = ev.iter().filter(|z| z.abs() > 1e-9).collect();
    if nz.is_empty() {
        return 1.0;
    }
    nz.iter().filter(|z| sp.level(***z) >= INSIDE_LEVEL).count() as f64 / nz.len() as f64
}

/// The eigenvalues as CSV (`re,im` with a header).
pub fn eigenvalues_csv(ev: &[Complex]) -> String {
    let mut s = String::from("re,im\n");
    for z in ev {
        s.push_str(&format!("{:.17e},{:.17e}\n", z.re, z.im));
    }
    s
}
