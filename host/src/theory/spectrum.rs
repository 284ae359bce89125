//! `gatedyn spectrum`: simulate a random network, take the exact Jacobian at
//! the state reached, compute all eigenvalues (or only the spectral radius,
//! matrix-free) and hold them against the support predicted from that state
//! (docs/THEORY.md §4).

use crate::io::limits::check_memory;
use crate::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use crate::linalg::matfree::{self, HostJacobian, Method, RadiusOptions};
use crate::net::{bytes_needed, weight_bytes, Cell, Factors, GateName, Net, Scales};
use crate::HostError;
use crate::Param;
use crate::Precision;
use gatedyn::spectral_curve::{boundary_radius, outer_bound, CurveOptions, Support};
use gatedyn::{Activation, Complex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Level above which an eigenvalue counts as inside the predicted support
/// (docs/THEORY.md §6: a small tolerance on `ρ(K)` for the finite-N edge).
pub const INSIDE_LEVEL: f64 = 0.97;

/// Eigenvalues of modulus below this are left out of the inside fraction
/// (exact zeros of the LSTM Jacobian, docs/THEORY.md §4).
pub const ZERO_MODULUS: f64 = 1e-9;

/// One spectrum experiment: which network, and where its Jacobian is taken.
#[derive(Debug, Clone)]
pub struct SpectrumConfig {
    /// Hidden size.
    pub n: usize,
    /// The gate scales (and so the cell).
    pub scales: Scales,
    /// `φ`.
    pub activation: Activation,
    /// Steps simulated before the Jacobian is taken.
    pub steps: usize,
    /// Seed of weights and initial state.
    pub seed: u64,
}

impl SpectrumConfig {
    /// A tanh network from `scales`.
    pub fn new(n: usize, scales: Scales, steps: usize, seed: u64) -> Self {
        SpectrumConfig {
            n,
            scales,
            activation: Activation::Tanh,
            steps,
            seed,
        }
    }
    /// GRU or LSTM.
    pub fn cell(&self) -> Cell {
        self.scales.cell()
    }
    /// Validates sizes and scales (the memory is checked by each path).
    pub fn check(&self) -> Result<(), HostError> {
        if self.n == 0 {
            return Err(HostError::invalid(Param::N, " must be at least 1".into()));
        }
        self.scales.check()
    }
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
    pub model: Cell,
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
    /// Share of the non-zero eigenvalues inside the predicted support
    /// (level ≥ [`INSIDE_LEVEL`]).
    pub fraction_inside: f64,
    /// `⟨h²⟩` at the state reached.
    pub mean_square_activity: f64,
    /// Seconds per phase.
    pub timings_s: Timings,
    /// The eigenvalues (not serialised; see `Param::Eigenvalues`).
    #[serde(skip)]
    pub eigenvalues: Vec<Complex>,
    /// Points on the predicted support boundary (for the plot).
    #[serde(skip)]
    pub curve: Vec<Complex>,
}

/// `{gate: value}` for reports.
pub fn by_gate(pairs: &[(GateName, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(g, v)| (g.to_string(), *v)).collect()
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Tanh => "tanh",
        Activation::HardTanh => "hardtanh",
    }
}

/// Validates a dense run: sizes, scales, and the memory of the dense
/// Jacobian with the eigen-solver's workspace.
pub fn check(cfg: &SpectrumConfig) -> Result<(), HostError> {
    cfg.check()?;
    check_memory(Param::N, cfg.n, bytes_needed(cfg.cell(), cfg.n))
}

/// Draws the network and runs `cfg.steps` steps (progress up to `upto`).
pub fn simulate(
    cfg: &SpectrumConfig,
    upto: f64,
    progress: &mut impl FnMut(f64, &str),
) -> Result<(Net, f64), HostError> {
    let t0 = Instant::now();
    let mut net = Net::random(cfg.n, cfg.scales, cfg.activation, cfg.seed)?;
    let mut done = 0usize;
    net.run(cfg.steps, || {
        done += 1;
        if done.is_multiple_of(16) {
            progress(upto * done as f64 / cfg.steps.max(1) as f64, "simulate");
        }
    })?;
    Ok((net, t0.elapsed().as_secs_f64()))
}

/// The largest `|λ|` of the predicted support at the traced state: the
/// core's curve search, or the largest atom when every recurrent scale is
/// zero (the support is then a set of points, see `atoms_only`).
pub fn predicted_radius(net: &Net) -> Result<f64, HostError> {
    let largest = |a: Vec<f64>| a.iter().map(|x| x.abs()).fold(0.0, f64::max);
    if atoms_only(net) {
        return Ok(largest(diagonal_atoms(net)?));
    }
    let sp = net.support()?;
    match gatedyn::spectral_curve::predicted_radius(&sp, &CurveOptions::default()) {
        Ok((r, _)) => Ok(r),
        // every gate saturated (σ'·σ = 0 on every unit): the random bulk
        // has no area and the spectrum is the diagonal part's atoms
        Err(gatedyn::Error::Infeasible {
            what: "empty support",
        }) => Ok(largest(diagonal_atoms(net)?)),
        Err(e) => Err(HostError::numerical("predicted support")(e)),
    }
}

/// The diagonal part of the Jacobian's spectrum: `1 − z` (GRU), `f` and 0
/// (LSTM).
fn diagonal_atoms(net: &Net) -> Result<Vec<f64>, HostError> {
    Ok(match net.factors()? {
        Factors::Gru(f) => f.keep,
        Factors::Lstm(f) => {
            let mut a = f.forget;
            a.push(0.0);
            a
        }
    })
}

/// Share of the non-zero eigenvalues inside the predicted support: level
/// ≥ [`INSIDE_LEVEL`], or within `1e-9` of one of the diagonal part's atoms
/// (`1 − z`, `f`), where the spectrum of saturated or zero-variance units
/// sits exactly.
pub fn fraction_inside(net: &Net, ev: &[Complex]) -> Result<f64, HostError> {
    let nz: Vec<&Complex> = ev.iter().filter(|z| z.abs() > ZERO_MODULUS).collect();
    if nz.is_empty() {
        return Ok(1.0);
    }
    let mut atoms = diagonal_atoms(net)?;
    atoms.sort_by(f64::total_cmp);
    let at_atom = |z: &Complex| {
        z.im.abs() <= 1e-9 && {
            let k = atoms.partition_point(|a| *a < z.re - 1e-9);
            k < atoms.len() && (atoms[k] - z.re).abs() <= 1e-9
        }
    };
    let sp = if atoms_only(net) {
        None
    } else {
        Some(net.support()?)
    };
    let inside = nz
        .iter()
        .filter(|z| at_atom(z) || sp.as_ref().is_some_and(|s| s.level(***z) >= INSIDE_LEVEL))
        .count();
    Ok(inside as f64 / nz.len() as f64)
}

/// Whether every recurrent scale is zero: the Jacobian is then diagonal
/// (GRU: `1 − z`) or block-triangular (LSTM: `f` and zeros), so the support
/// collapses to these atoms (docs/THEORY.md §4 with `σ = 0`).
fn atoms_only(net: &Net) -> bool {
    net.scales().sigmas().iter().all(|(_, s)| *s == 0.0)
}

/// Runs the experiment; `progress(fraction, phase)` is called along the way.
pub fn run(
    cfg: &SpectrumConfig,
    mut progress: impl FnMut(f64, &str),
) -> Result<SpectrumReport, HostError> {
    check(cfg)?;
    let (net, simulate) = simulate(cfg, 0.3, &mut progress)?;
    progress(0.3, "jacobian");
    let t0 = Instant::now();
    let j = jacobian(&net)?;
    let jac_t = t0.elapsed().as_secs_f64();
    progress(0.4, "eigensolve");
    let t0 = Instant::now();
    let ev = eigenvalues(&j)?;
    drop(j);
    let eig_t = t0.elapsed().as_secs_f64();
    progress(0.9, "curve");
    let t0 = Instant::now();
    let radius_predicted = predicted_radius(&net)?;
    let fraction_inside = fraction_inside(&net, &ev)?;
    let curve_pts = support_boundary(&net, &ev)?;
    let curve = t0.elapsed().as_secs_f64();
    progress(1.0, "done");
    let radius_empirical = max_modulus(&ev);
    Ok(SpectrumReport {
        model: cfg.cell(),
        n: cfg.n,
        seed: cfg.seed,
        steps: cfg.steps,
        activation: activation_name(cfg.activation),
        sigmas: by_gate(&cfg.scales.sigmas()),
        bias_sigmas: by_gate(&cfg.scales.bias_sigmas()),
        radius_empirical,
        radius_predicted,
        relative_error: relative_error(radius_predicted, radius_empirical),
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

/// The boundary of the predicted support at `net`'s traced state, for a
/// figure: 720 rays from the mean of the eigenvalues `ev` (empty when the
/// support is only the diagonal part's atoms, `atoms_only`).
pub fn support_boundary(net: &Net, ev: &[Complex]) -> Result<Vec<Complex>, HostError> {
    if atoms_only(net) || ev.is_empty() {
        return Ok(vec![]);
    }
    let centre = Complex::new(ev.iter().map(|z| z.re).sum::<f64>() / ev.len() as f64, 0.0);
    curve_points(&net.support()?, centre, 720)
}

/// `|predicted − measured| / |measured|` (0 when both are 0).
pub fn relative_error(predicted: f64, measured: f64) -> f64 {
    if predicted == measured {
        0.0
    } else {
        (predicted - measured).abs() / measured.abs()
    }
}

/// Settings of the matrix-free path ([`run_matrix_free`]).
#[derive(Debug, Clone, Copy)]
pub struct MatrixFreeConfig {
    /// Storage precision of the weights in the products.
    pub precision: Precision,
    /// Tolerance and budget of the Arnoldi method.
    pub radius: RadiusOptions,
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
    pub model: Cell,
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
    cfg.check()?;
    let tol = mf.radius.tol;
    if !(tol > 0.0 && tol < 1.0) {
        return Err(HostError::invalid(
            Param::Tol,
            format!(" must be in (0, 1), got {tol}"),
        ));
    }
    if mf.radius.max_products < crate::linalg::matfree::MIN_PRODUCTS {
        return Err(HostError::invalid(
            Param::MaxProducts,
            format!(
                " must be at least {} (a few passes of the method), got {}",
                crate::linalg::matfree::MIN_PRODUCTS,
                mf.radius.max_products
            ),
        ));
    }
    let need = weight_bytes(cfg.cell(), cfg.n)
        + HostJacobian::bytes_needed(cfg.cell(), cfg.n, mf.precision);
    check_memory(Param::N, cfg.n, need)
}

/// The spectral radius without the dense solve: simulate, then Arnoldi over
/// the host's matrix-free Jacobian ([`crate::linalg::matfree`]), and the predicted
/// radius from the same state.
pub fn run_matrix_free(
    cfg: &SpectrumConfig,
    mf: &MatrixFreeConfig,
    mut progress: impl FnMut(f64, &str),
) -> Result<MatrixFreeReport, HostError> {
    check_matrix_free(cfg, mf)?;
    let (net, simulate) = simulate(cfg, 0.3, &mut progress)?;
    progress(0.3, "operator");
    let t0 = Instant::now();
    let mut op = HostJacobian::new(&net, mf.precision)?;
    let operator = t0.elapsed().as_secs_f64();
    progress(0.35, "arnoldi");
    let t0 = Instant::now();
    let (r, method) = matfree::spectral_radius(&mut op, &mf.radius)?;
    let arnoldi = t0.elapsed().as_secs_f64();
    progress(0.95, "curve");
    let t0 = Instant::now();
    let radius_predicted = predicted_radius(&net)?;
    let curve = t0.elapsed().as_secs_f64();
    progress(1.0, "done");
    Ok(MatrixFreeReport {
        model: cfg.cell(),
        n: cfg.n,
        seed: cfg.seed,
        steps: cfg.steps,
        solver: "arnoldi",
        precision: mf.precision,
        sigmas: by_gate(&cfg.scales.sigmas()),
        bias_sigmas: by_gate(&cfg.scales.bias_sigmas()),
        method,
        radius_empirical: r.radius,
        eigenvalue: [r.eigenvalue.re, r.eigenvalue.im],
        residual: r.residual,
        products: r.products,
        passes: r.passes,
        restarts: r.restarts,
        radius_predicted,
        relative_error: relative_error(radius_predicted, r.radius),
        mean_square_activity: net.mean_square_activity(),
        timings_s: MatrixFreeTimings {
            simulate,
            operator,
            arnoldi,
            curve,
        },
    })
}

/// The outer boundary of the support seen from `center` along `rays`
/// equally spaced rays (rays that miss the support are skipped).
pub fn curve_points<S: Support>(
    sp: &S,
    center: Complex,
    rays: usize,
) -> Result<Vec<Complex>, HostError> {
    let r_max = outer_bound(sp).map_err(HostError::numerical("predicted support"))? + center.abs();
    let opts = CurveOptions::default();
    Ok((0..rays)
        .filter_map(|k| {
            let th = 2.0 * std::f64::consts::PI * k as f64 / rays as f64;
            boundary_radius(sp, center, th, r_max, &opts)
                .map(|r| center + Complex::from_polar(r, th))
        })
        .collect())
}

/// The eigenvalues as CSV (`re,im` with a header).
pub fn eigenvalues_csv(ev: &[Complex]) -> String {
    let mut s = String::from("re,im\n");
    for z in ev {
        s.push_str(&format!("{:.17e},{:.17e}\n", z.re, z.im));
    }
    s
}
