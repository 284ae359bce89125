//! Fixed points of a random autonomous GRU by Levenberg–Marquardt on
//! `½‖Φ(h) − h‖²` ([`super::solver`]), started from states on a trajectory
//! and deduplicated, each compared with the fixed-point support computed
//! from its own state (docs/THEORY.md §4).

use super::solver::{residual, rms, rms_distance, solve, DISTINCT};
use crate::io::limits::{check_memory, MAX_LM_ITERATIONS, MAX_STARTS, MAX_STEPS};
use crate::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use crate::net::{Net, Scales};
use crate::theory::spectrum::{predicted_radius, relative_error};
use crate::HostError;
use crate::Param;
use gatedyn::init::GruScales;
use gatedyn::Activation;
use serde::Serialize;

/// A search.
#[derive(Debug, Clone)]
pub struct FixedPointConfig {
    /// Hidden size.
    pub n: usize,
    /// The gate scales.
    pub scales: GruScales,
    /// Seed of the weights and the initial state.
    pub seed: u64,
    /// Transient steps before the first start.
    pub steps: usize,
    /// Number of starts (trajectory states `steps/starts` apart).
    pub starts: usize,
    /// Levenberg–Marquardt iterations per start.
    pub max_iter: usize,
}

/// One fixed point found.
#[derive(Debug, Clone, Serialize)]
pub struct FixedPoint {
    /// `√⟨h²⟩`.
    pub rms: f64,
    /// `‖Φ(h) − h‖ / √N` at the end.
    pub residual: f64,
    /// Largest |λ| of the Jacobian there.
    pub radius_empirical: f64,
    /// Largest |λ| of the support predicted from its own state (`None`
    /// for a reset-after GRU, which the theory does not cover).
    pub radius_predicted: Option<f64>,
    /// `|predicted − empirical| / empirical`.
    pub relative_error: Option<f64>,
    /// Stable iff every |λ| < 1.
    pub stable: bool,
    /// Iterations the search took.
    pub iterations: usize,
    #[serde(skip)]
    state: Vec<f64>,
}

/// The outcome of a search.
#[derive(Debug, Clone, Serialize)]
pub struct FixedPointSearch {
    /// Hidden size.
    pub n: usize,
    /// `σ_z, σ_r, σ_h`.
    pub sigmas: std::collections::BTreeMap<String, f64>,
    /// Starts tried.
    pub starts: usize,
    /// Starts that converged (to any fixed point, zero included).
    pub converged: usize,
    /// Starts that converged to `h = 0`.
    pub zero_hits: usize,
    /// The distinct non-zero fixed points.
    pub fixed_points: Vec<FixedPoint>,
    /// Seconds spent.
    pub seconds: f64,
}

/// Validates a search: sizes, budgets, scales, and the memory of the
/// Levenberg–Marquardt matrices (about eight `N×N` matrices).
pub fn check(cfg: &FixedPointConfig) -> Result<(), HostError> {
    if cfg.n < 2 {
        return Err(HostError::invalid(Param::N, " must be at least 2".into()));
    }
    if !(1..=MAX_STARTS).contains(&cfg.starts) {
        return Err(HostError::invalid(
            Param::Starts,
            format!(" must be in 1..={MAX_STARTS}, got {}", cfg.starts),
        ));
    }
    if cfg.steps > MAX_STEPS {
        return Err(HostError::invalid(
            Param::Steps,
            format!(" must be at most {MAX_STEPS}, got {}", cfg.steps),
        ));
    }
    if cfg.max_iter > MAX_LM_ITERATIONS {
        return Err(HostError::invalid(
            Param::MaxIter,
            format!(" must be at most {MAX_LM_ITERATIONS}, got {}", cfg.max_iter),
        ));
    }
    Scales::Gru(cfg.scales).check()?;
    let n = cfg.n as u128;
    check_memory(
        Param::N,
        cfg.n,
        8 * (3 + 8) * n * n + 8 * cfg.starts as u128 * n,
    )
}

/// Runs the search on a random GRU (`progress(done)` after each start).
pub fn find(
    cfg: &FixedPointConfig,
    progress: impl FnMut(usize),
) -> Result<FixedPointSearch, HostError> {
    check(cfg)?;
    let net = Net::random(cfg.n, Scales::Gru(cfg.scales), Activation::Tanh, cfg.seed)?;
    search(net, cfg.steps, cfg.starts, cfg.max_iter, progress)
}

/// The search on a given GRU (random or loaded from a trained model) from
/// its current state, with its current input held fixed (a trained
/// network's fixed points at constant input): `steps` transient steps,
/// `starts` starts `steps/starts` apart, `max_iter` Levenberg–Marquardt
/// iterations each.
pub fn search(
    mut net: Net,
    steps: usize,
    starts_wanted: usize,
    max_iter: usize,
    mut progress: impl FnMut(usize),
) -> Result<FixedPointSearch, HostError> {
    let t0 = std::time::Instant::now();
    let Some(gru) = net.as_gru() else {
        return Err(HostError::BadInput(
            "fixed points are searched for GRUs (an LSTM's state includes its cell)".into(),
        ));
    };
    let reset_after = gru.form.is_reset_after();
    let n_units = net.n();
    net.run(steps, || {})?;
    let gap = (steps / starts_wanted).max(1);
    let mut starts = vec![];
    for _ in 0..starts_wanted {
        starts.push(net.h().to_vec());
        net.run(gap, || {})?;
    }
    let (mut converged, mut zero_hits) = (0, 0);
    let mut found: Vec<FixedPoint> = vec![];
    for (k, s) in starts.iter().enumerate() {
        if let Some((h, iterations)) = solve(&mut net, s, max_iter)? {
            converged += 1;
            let rms = rms(&h);
            if rms < DISTINCT {
                zero_hits += 1;
            } else if !found.iter().any(|f| rms_distance(&f.state, &h) < DISTINCT) {
                let (res_r, _) = residual(&mut net, &h)?;
                let residual_rms = self::rms(&res_r);
                let ev = eigenvalues(&jacobian(&net)?)?;
                let radius_empirical = max_modulus(&ev);
                let radius_predicted = if reset_after {
                    None
                } else {
                    Some(predicted_radius(&net)?)
                };
                found.push(FixedPoint {
                    rms,
                    residual: residual_rms,
                    radius_empirical,
                    radius_predicted,
                    relative_error: radius_predicted.map(|p| relative_error(p, radius_empirical)),
                    stable: radius_empirical < 1.0,
                    iterations,
                    state: h,
                });
            }
        }
        progress(k + 1);
    }
    Ok(FixedPointSearch {
        n: n_units,
        sigmas: crate::theory::spectrum::by_gate(&net.scales().sigmas()),
        starts: starts_wanted,
        converged,
        zero_hits,
        fixed_points: found,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
