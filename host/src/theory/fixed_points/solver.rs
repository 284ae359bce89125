//! The solver: Levenberg–Marquardt on `q(x) = ½‖F(x)‖²` with
//! `F(x) = Φ(x) − x`, `Φ` one step of the network at its held input and `x`
//! its state (`h`, or `[h; c]` for an LSTM), with the exact Jacobian of the
//! core (Sussillo & Barak 2013; docs/THEORY.md §15).

use crate::linalg::eigen::jacobian;
use crate::net::Net;
use crate::HostError;
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

const TOL: f64 = 1e-10;

/// Two fixed points closer than this (rms distance) are the same one; a
/// point this close to zero is `h = 0`.
pub(crate) const DISTINCT: f64 = 1e-6;

/// `√⟨x²⟩`.
pub(crate) fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// `√⟨(a − b)²⟩`.
pub(crate) fn rms_distance(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64).sqrt()
}

/// `Φ(h) − h` and `½‖Φ(h) − h‖²`; leaves `net` traced at `h`.
pub(crate) fn residual(net: &mut Net, h: &[f64]) -> Result<(Vec<f64>, f64), HostError> {
    net.set_state(h);
    net.trace_step()?;
    let r: Vec<f64> = net.next_state().iter().zip(h).map(|(a, b)| a - b).collect();
    let cost = 0.5 * r.iter().map(|x| x * x).sum::<f64>();
    Ok((r, cost))
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `‖F(x)‖/√d` fell below the tolerance: a fixed point.
    Converged,
    /// No damping of the step lowers `q`: a local minimum of `q` (a slow
    /// point when `q` is small, Sussillo & Barak 2013), or a saddle of `q`.
    Stalled,
    /// The iteration budget ran out.
    Budget,
}

/// Where the solver ended from one start.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The final state.
    pub state: Vec<f64>,
    /// `‖F(x)‖/√d` there.
    pub residual: f64,
    /// `‖∇q‖/√d = ‖(J − I)ᵀ F‖/√d` there (`None` when converged: not needed).
    pub gradient: Option<f64>,
    /// Iterations taken.
    pub iterations: usize,
    /// Why it stopped.
    pub stop: Stop,
}

/// Levenberg–Marquardt from `x0` (at most `max_iter` iterations, a fixed
/// point when `‖F(x)‖/√d < tol`), leaving `net` traced at some state.
pub fn solve_from(
    net: &mut Net,
    x0: &[f64],
    max_iter: usize,
    tol: f64,
) -> Result<Solution, HostError> {
    let n = x0.len();
    let mut h = x0.to_vec();
    let mut mu = 1e-3;
    let (mut r, mut cost) = residual(net, &h)?;
    let scaled = |cost: f64| (2.0 * cost).sqrt() / (n as f64).sqrt();
    for it in 0..max_iter {
        if scaled(cost) < tol {
            return Ok(Solution {
                state: h,
                residual: scaled(cost),
                gradient: None,
                iterations: it,
                stop: Stop::Converged,
            });
        }
        let mut a = jacobian(net)?; // at the state set by `residual`
        for i in 0..n {
            a[(i, i)] -= 1.0;
        }
        let rm = Mat::from_fn(n, 1, |i, _| r[i]);
        let g = a.transpose() * &rm;
        let m = a.transpose() * &a;
        let mut improved = false;
        for _ in 0..12 {
            let mut damped = m.clone();
            for i in 0..n {
                damped[(i, i)] += mu * m[(i, i)].max(1e-12);
            }
            let Ok(llt) = damped.llt(Side::Lower) else {
                mu *= 4.0;
                continue;
            };
            let delta = llt.solve(&g);
            let trial: Vec<f64> = (0..n).map(|i| h[i] - delta[(i, 0)]).collect();
            let (r_t, cost_t) = residual(net, &trial)?;
            if cost_t < cost {
                h = trial;
                r = r_t;
                cost = cost_t;
                mu = (mu / 3.0).max(1e-12);
                improved = true;
                break;
            }
            mu *= 4.0;
        }
        if !improved {
            let gradient = (0..n).map(|i| g[(i, 0)] * g[(i, 0)]).sum::<f64>().sqrt();
            return Ok(Solution {
                state: h,
                residual: scaled(cost),
                gradient: Some(gradient / (n as f64).sqrt()),
                iterations: it,
                stop: Stop::Stalled,
            });
        }
        // the accepted trial was the last state evaluated: the network is
        // already at `h` for the next Jacobian
    }
    let (stop, gradient) = if scaled(cost) < tol {
        (Stop::Converged, None)
    } else {
        let mut a = jacobian(net)?;
        for i in 0..n {
            a[(i, i)] -= 1.0;
        }
        let g = a.transpose() * Mat::from_fn(n, 1, |i, _| r[i]);
        let norm = (0..n).map(|i| g[(i, 0)] * g[(i, 0)]).sum::<f64>().sqrt();
        (Stop::Budget, Some(norm / (n as f64).sqrt()))
    };
    Ok(Solution {
        state: h,
        residual: scaled(cost),
        gradient,
        iterations: max_iter,
        stop,
    })
}

/// Levenberg–Marquardt from `h0`; `Some((h, iterations))` on convergence
/// (tolerance 1e-10).
pub(crate) fn solve(
    net: &mut Net,
    h0: &[f64],
    max_iter: usize,
) -> Result<Option<(Vec<f64>, usize)>, HostError> {
    let s = solve_from(net, h0, max_iter, TOL)?;
    Ok((s.stop == Stop::Converged).then_some((s.state, s.iterations)))
}
