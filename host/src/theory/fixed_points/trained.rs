//! Fixed points of a trained network at a constant input, as a researcher
//! opens a trained network (Sussillo & Barak 2013; FixedPointFinder, Golub
//! & Sussillo 2018): many starts from the states the network visits on its
//! task (plus Gaussian noise), Levenberg–Marquardt on `q = ½‖Φ(x) − x‖²`
//! with the core's exact Jacobian, in parallel over the starts with a
//! deterministic order, the end points deduplicated and classified by the
//! eigenvalues of the Jacobian there (docs/THEORY.md §15). A GRU's state is
//! `h`; an LSTM's is the joint `[h; c]`.
//!
//! * A **fixed point**: `‖F(x)‖/√d` below the tolerance.
//! * A **slow point**: the solver stalled (no damped step lowers `q`) at a
//!   local minimum of `q` above the tolerance but with `‖F(x)‖/√d` below
//!   the slow tolerance, Sussillo & Barak's slow points.
//! * The rest (the budget ran out, or a minimum of `q` far from zero) are
//!   counted as failed.

use super::solver::{rms_distance, solve_from, Solution, Stop};
use crate::io::arrays::Table;
use crate::linalg::eigen::{eigenvalues, jacobian};
use crate::net::Net;
use crate::HostError;
use crate::Param;
use faer::linalg::solvers::Solve;
use faer::Mat;
use gatedyn::init::Normal;
use gatedyn::rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How the search runs and what it calls what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchSettings {
    /// Levenberg–Marquardt iterations per start.
    pub max_iter: usize,
    /// A fixed point: `‖F(x)‖/√d` below this.
    pub tolerance: f64,
    /// A slow point: stalled with `‖F(x)‖/√d` below this.
    pub slow_tolerance: f64,
    /// Two end points closer than this (root-mean-square distance over the
    /// state) are one point.
    pub distinct: f64,
    /// Marginal: the largest `|λ|` within this of 1 (as `analyze`'s slow
    /// modes).
    pub slow_epsilon: f64,
    /// Eigenvalues reported per point, largest modulus first.
    pub leading: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            max_iter: 100,
            tolerance: 1e-10,
            slow_tolerance: 1e-4,
            distinct: 1e-5,
            slow_epsilon: 0.01,
            leading: 6,
        }
    }
}

impl SearchSettings {
    /// Every setting in its domain; the error names the setting.
    pub fn check(&self) -> Result<(), HostError> {
        let bad = |param: Param, what: &str, v: f64| {
            Err(HostError::invalid(
                param,
                format!(" must be {what}, got {v}"),
            ))
        };
        if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
            return bad(Param::Tol, "in (0, 1)", self.tolerance);
        }
        if !(self.slow_tolerance >= self.tolerance && self.slow_tolerance < 1.0) {
            return bad(Param::SlowTol, "in [the tolerance, 1)", self.slow_tolerance);
        }
        if !(self.distinct > 0.0 && self.distinct.is_finite()) {
            return bad(Param::Distinct, "positive and finite", self.distinct);
        }
        if !(self.slow_epsilon > 0.0 && self.slow_epsilon < 1.0) {
            return bad(Param::SlowEpsilon, "in (0, 1)", self.slow_epsilon);
        }
        if self.max_iter == 0 {
            return bad(Param::MaxIter, "at least 1", 0.0);
        }
        Ok(())
    }
}

/// Where a point sits by the largest `|λ|` of its Jacobian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stability {
    /// Every `|λ| < 1 − ε`.
    Stable,
    /// The largest `|λ|` within `ε` of 1: a slow mode (a saturated update
    /// gate, the paper's marginal stability).
    Marginal,
    /// Some `|λ| > 1 + ε`: a saddle (or a source).
    Unstable,
}

/// One point found.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// `h` there.
    pub state: Vec<f64>,
    /// `c` there (an LSTM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<Vec<f64>>,
    /// `‖Φ(x) − x‖/√d`.
    pub residual: f64,
    /// `‖∇q‖/√d` (slow points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient: Option<f64>,
    /// Largest `|λ|` of the Jacobian.
    pub radius: f64,
    /// Stable, marginal or unstable.
    pub class: Stability,
    /// Eigenvalues with `|λ| > 1 + ε`: the saddle index.
    pub unstable_dims: usize,
    /// The leading eigenvalues, `[re, im]`, largest modulus first.
    pub eigenvalues: Vec<[f64; 2]>,
    /// Starts that ended here.
    pub basin: usize,
    /// The real eigenvector of the leading unstable eigenvalue (unit
    /// length, the state's coordinates), when that eigenvalue is real: the
    /// saddle's way out.
    #[serde(skip)]
    pub unstable_direction: Option<Vec<f64>>,
    /// The whole state (`h`, or `[h; c]`).
    #[serde(skip)]
    pub full_state: Vec<f64>,
}

/// The outcome of a search.
#[derive(Debug, Clone, Serialize)]
pub struct PointSearch {
    /// Hidden units.
    pub n: usize,
    /// The state dimension (`N`, or `2N` for an LSTM).
    pub dim: usize,
    /// Starts tried.
    pub starts: usize,
    /// Starts that ended at a fixed point.
    pub converged: usize,
    /// Starts that ended at a slow point.
    pub slow: usize,
    /// Starts that ended at neither.
    pub failed: usize,
    /// The settings.
    pub tolerance: f64,
    /// See [`SearchSettings::slow_tolerance`].
    pub slow_tolerance: f64,
    /// See [`SearchSettings::distinct`].
    pub distinct: f64,
    /// See [`SearchSettings::slow_epsilon`].
    pub slow_epsilon: f64,
    /// The distinct fixed points, in the order their first start came.
    pub fixed_points: Vec<Point>,
    /// The distinct slow points, likewise.
    pub slow_points: Vec<Point>,
    /// Seconds spent.
    pub seconds: f64,
}

impl PointSearch {
    /// Starts that ended at one of the fixed points (the basins' total).
    pub fn basins_total(&self) -> usize {
        self.fixed_points.iter().map(|p| p.basin).sum()
    }
    /// Fixed points of `class`.
    pub fn count(&self, class: Stability) -> usize {
        self.fixed_points
            .iter()
            .filter(|p| p.class == class)
            .count()
    }
}

/// The states `net` visits along `inputs` (`T×I`) from its current state,
/// one per step (`h`, or `[h; c]`).
pub fn visited_states(net: &Net, inputs: &Table) -> Result<Vec<Vec<f64>>, HostError> {
    crate::net::drive::check_inputs(net, inputs)?;
    let mut net = net.clone();
    let mut out = Vec::with_capacity(inputs.rows);
    for t in 0..inputs.rows {
        net.x_mut().copy_from_slice(inputs.row(t));
        net.trace_step()?;
        net.advance();
        out.push(net.state());
    }
    Ok(out)
}

/// `count` starts drawn uniformly (with replacement) from `states`, each
/// with independent `N(0, noise²)` added to every coordinate, from `seed`
/// (FixedPointFinder's `noise_scale`).
pub fn sample_starts(
    states: &[Vec<f64>],
    count: usize,
    noise: f64,
    seed: u64,
) -> Result<Vec<Vec<f64>>, HostError> {
    if states.is_empty() {
        return Err(HostError::BadInput("no states to start from".into()));
    }
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let mut normal = Normal::new();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let k = (rng.next_u64() % states.len() as u64) as usize;
        let mut x = states[k].clone();
        if noise > 0.0 {
            for v in x.iter_mut() {
                *v += noise * normal.sample(&mut rng)?;
            }
        }
        out.push(x);
    }
    Ok(out)
}

/// Searches from every start (in parallel; the result does not depend on
/// the thread count), `progress(done)` as starts finish.
pub fn search_from(
    net: &Net,
    starts: &[Vec<f64>],
    settings: &SearchSettings,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<PointSearch, HostError> {
    settings.check()?;
    let t0 = std::time::Instant::now();
    let d = net.dim();
    if let Some(k) = starts.iter().position(|s| s.len() != d) {
        return Err(HostError::BadInput(format!(
            "start {k} has {} entries; the state has {d}",
            starts[k].len()
        )));
    }
    if let Some(k) = starts.iter().position(|s| s.iter().any(|v| !v.is_finite())) {
        return Err(HostError::BadInput(format!(
            "start {k} holds a value that is not finite"
        )));
    }
    let done = AtomicUsize::new(0);
    let ends: Vec<Solution> = starts
        .par_iter()
        .map_init(
            || net.clone(),
            |local, x0| {
                let s = solve_from(local, x0, settings.max_iter, settings.tolerance);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                s
            },
        )
        .collect::<Result<_, _>>()?;
    // each distinct end point with the number of starts that ended there
    let mut fixed: Vec<(Solution, usize)> = vec![];
    let mut slow: Vec<(Solution, usize)> = vec![];
    let mut failed = 0;
    let (mut converged, mut stalled) = (0, 0);
    for end in ends {
        let list = match end.stop {
            Stop::Converged => {
                converged += 1;
                &mut fixed
            }
            Stop::Stalled if end.residual < settings.slow_tolerance => {
                stalled += 1;
                &mut slow
            }
            _ => {
                failed += 1;
                continue;
            }
        };
        match list
            .iter_mut()
            .find(|(p, _)| rms_distance(&p.state, &end.state) < settings.distinct)
        {
            Some((_, basin)) => *basin += 1,
            None => list.push((end, 1)),
        }
    }
    let mut probe = net.clone();
    let classify =
        |probe: &mut Net, list: Vec<(Solution, usize)>| -> Result<Vec<Point>, HostError> {
            list.into_iter()
                .map(|(s, basin)| point(probe, s, basin, settings))
                .collect()
        };
    let fixed_points = classify(&mut probe, fixed)?;
    let slow_points = classify(&mut probe, slow)?;
    Ok(PointSearch {
        n: net.n(),
        dim: d,
        starts: starts.len(),
        converged,
        slow: stalled,
        failed,
        tolerance: settings.tolerance,
        slow_tolerance: settings.slow_tolerance,
        distinct: settings.distinct,
        slow_epsilon: settings.slow_epsilon,
        fixed_points,
        slow_points,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The Jacobian's spectrum at an end point, and the point's report.
fn point(
    net: &mut Net,
    s: Solution,
    basin: usize,
    settings: &SearchSettings,
) -> Result<Point, HostError> {
    net.set_state(&s.state);
    net.trace_step()?;
    let j = jacobian(net)?;
    let mut ev = eigenvalues(&j)?;
    ev.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
    let radius = ev.first().map_or(0.0, |z| z.abs());
    let eps = settings.slow_epsilon;
    let unstable_dims = ev.iter().filter(|z| z.abs() > 1.0 + eps).count();
    let class = if radius > 1.0 + eps {
        Stability::Unstable
    } else if radius >= 1.0 - eps {
        Stability::Marginal
    } else {
        Stability::Stable
    };
    let unstable_direction = match ev.first() {
        Some(z) if class == Stability::Unstable && z.im == 0.0 => Some(eigenvector(&j, z.re)?),
        _ => None,
    };
    let n = net.n();
    let (state, cell) = if s.state.len() == n {
        (s.state.clone(), None)
    } else {
        (s.state[..n].to_vec(), Some(s.state[n..].to_vec()))
    };
    Ok(Point {
        state,
        cell,
        residual: s.residual,
        gradient: s.gradient,
        radius,
        class,
        unstable_dims,
        eigenvalues: ev
            .iter()
            .take(settings.leading)
            .map(|z| [z.re, z.im])
            .collect(),
        basin,
        unstable_direction,
        full_state: s.state,
    })
}

/// The unit eigenvector of the real eigenvalue `lambda` of `j` by inverse
/// iteration (a shift a hair off `lambda`, three solves).
fn eigenvector(j: &Mat<f64>, lambda: f64) -> Result<Vec<f64>, HostError> {
    let d = j.nrows();
    let shift = lambda * (1.0 + 1e-10) + 1e-12;
    let m = Mat::from_fn(d, d, |r, c| j[(r, c)] - if r == c { shift } else { 0.0 });
    let lu = m.partial_piv_lu();
    let mut v = Mat::from_fn(d, 1, |r, _| 1.0 / (1.0 + r as f64));
    for _ in 0..3 {
        let w = lu.solve(&v);
        let norm = (0..d).map(|r| w[(r, 0)] * w[(r, 0)]).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(HostError::Eigen(format!(
                "no eigenvector for the eigenvalue {lambda}"
            )));
        }
        v = Mat::from_fn(d, 1, |r, _| w[(r, 0)] / norm);
    }
    Ok((0..d).map(|r| v[(r, 0)]).collect())
}

/// The top three principal axes of `states` (each of length `d`): their
/// mean and three orthonormal directions of largest variance (fewer when
/// `d < 3`), for the picture of the fixed points among the trajectories.
pub fn principal_axes(states: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>), HostError> {
    let Some(d) = states.first().map(Vec::len) else {
        return Err(HostError::BadInput(
            "no states for the principal axes".into(),
        ));
    };
    let k = states.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|i| states.iter().map(|s| s[i]).sum::<f64>() / k)
        .collect();
    let cov = Mat::from_fn(d, d, |a, b| {
        states
            .iter()
            .map(|s| (s[a] - mean[a]) * (s[b] - mean[b]))
            .sum::<f64>()
            / k
    });
    let eig = cov
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| HostError::Eigen(format!("principal axes: {e:?}")))?;
    let (values, vectors) = (eig.S(), eig.U());
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let axes = order
        .into_iter()
        .take(3)
        .map(|c| (0..d).map(|r| vectors[(r, c)]).collect())
        .collect();
    Ok((mean, axes))
}
