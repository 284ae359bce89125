//! `gatedyn lyapunov`: the largest Lyapunov exponents of a random network's
//! trajectory (docs/THEORY.md §8) by the core's QR method
//! ([`gatedyn::lyapunov`]), the tangent vectors advanced in parallel.

use crate::io::limits::{check_memory, MAX_STEPS};
use crate::linalg::block_arnoldi::BlockOperator;
use crate::linalg::matfree::{HostJacobian, SERIAL_BELOW};
use crate::net::Factors;
use crate::net::{weight_bytes, Cell, Net, Scales};
use crate::theory::spectrum::by_gate;
use crate::HostError;
use crate::Param;
use crate::Precision;
use faer::{MatMut, MatRef};
use gatedyn::lyapunov::{
    kaplan_yorke_dimension, lyapunov_spectrum, LyapunovOptions, TangentDynamics, ANNIHILATED,
};
use gatedyn::{Activation, Error};
use serde::Serialize;
use std::collections::BTreeMap;

/// One run: the network (as `gatedyn spectrum` draws it: the same flags and
/// seed give the same network and initial state) and the method's settings.
#[derive(Debug, Clone)]
pub struct LyapunovConfig {
    /// Hidden size.
    pub n: usize,
    /// The gate scales (and so the cell).
    pub scales: Scales,
    /// `φ`.
    pub activation: Activation,
    /// Seed of weights and initial state.
    pub seed: u64,
    /// Exponents wanted (1 ≤ k ≤ state dimension).
    pub k: usize,
    /// Transient, measured steps, batches and the tangent vectors' seed.
    pub options: LyapunovOptions,
}

/// The result, as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct LyapunovReport {
    /// `"gru"` or `"lstm"`.
    pub model: Cell,
    /// Hidden size.
    pub n: usize,
    /// State dimension (`n` or `2n`).
    pub dim: usize,
    /// Seed of weights and initial state.
    pub seed: u64,
    /// Gate scales by gate name.
    pub sigmas: BTreeMap<String, f64>,
    /// Bias scales by gate name.
    pub bias_sigmas: BTreeMap<String, f64>,
    /// Transient steps (not measured).
    pub transient: usize,
    /// Measured steps.
    pub steps: usize,
    /// Batches of the error estimate.
    pub batches: usize,
    /// The `k` largest exponents, descending (per step, natural log);
    /// `null` for `−∞` (a direction the map annihilates).
    pub exponents: Vec<Option<f64>>,
    /// Their standard errors (batch means).
    pub errors: Vec<f64>,
    /// The largest exponent (`> 0`: chaotic).
    pub largest: f64,
    /// Its standard error.
    pub largest_error: f64,
    /// Kaplan–Yorke dimension of the `k` exponents (a lower bound when
    /// their sum is still `≥ 0`).
    pub kaplan_yorke_dimension: f64,
    /// Sum of the positive exponents (an upper bound of the entropy rate).
    pub sum_positive: f64,
    /// Tangent vectors the map annihilated and that were replaced.
    pub replaced: usize,
    /// `⟨h²⟩` at the end of the run.
    pub mean_square_activity: f64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Validates a run: sizes, scales, settings, memory (weights and `k`
/// tangent vectors).
pub fn check(cfg: &LyapunovConfig) -> Result<(), HostError> {
    if cfg.n == 0 {
        return Err(HostError::invalid(Param::N, " must be at least 1".into()));
    }
    cfg.scales.check()?;
    check_method(Param::N, cfg.scales.cell(), cfg.n, cfg.k, &cfg.options)
}

/// The checks every run shares: `k` against the state dimension, the
/// method's settings, and the memory (the weights, their copy for the
/// blocked products, and the tangent vectors with the block's work copies,
/// three of them), named after `param`.
fn check_method(
    param: Param,
    cell: Cell,
    n: usize,
    k: usize,
    options: &LyapunovOptions,
) -> Result<(), HostError> {
    let d = cell.state_dim(n);
    if !(1..=d).contains(&k) {
        return Err(HostError::invalid(
            Param::K,
            format!(" must be in 1..={d} (the state dimension), got {k}"),
        ));
    }
    check_options(options)?;
    let blocked = if k >= BLOCKED_FROM_K { 3 } else { 1 };
    check_memory(
        param,
        n,
        2 * weight_bytes(cell, n) + 8 * (blocked * k as u128 + 4) * d as u128,
    )
}

/// From this many exponents on, the tangent vectors are advanced as one
/// block (`J Q` by matrix products of the weights, [`HostJacobian`]) and
/// re-orthonormalised by faer's blocked Householder QR instead of the
/// core's column-by-column products and Gram–Schmidt.
pub const BLOCKED_FROM_K: usize = 16;

/// `steps` too few for `batches` batches of at least one step each.
pub fn steps_below_batches(steps: usize, batches: usize) -> HostError {
    HostError::Conflict {
        param: Param::Steps,
        with: Param::Batches,
        message: format!(
            "{steps} steps cannot fill {batches} batches (each batch needs at least one step); give more steps or fewer batches"
        ),
    }
}

/// Checks the method's settings (batches, steps, transient).
fn check_options(o: &LyapunovOptions) -> Result<(), HostError> {
    if o.batches < 2 {
        return Err(HostError::invalid(
            Param::Batches,
            format!(" must be at least 2, got {}", o.batches),
        ));
    }
    if o.steps > MAX_STEPS {
        return Err(HostError::invalid(
            Param::Steps,
            format!(" must be at most {MAX_STEPS}, got {}", o.steps),
        ));
    }
    if o.steps < o.batches {
        return Err(steps_below_batches(o.steps, o.batches));
    }
    if o.transient > MAX_STEPS {
        return Err(HostError::invalid(
            Param::Transient,
            format!(" must be at most {MAX_STEPS}, got {}", o.transient),
        ));
    }
    Ok(())
}

/// A network's trajectory for the core's method: one step, then `J v` at
/// the state before it, the columns in parallel (or, with `block`, as one
/// matrix product and a blocked QR).
struct HostTrajectory {
    net: Net,
    prev_h: Vec<f64>,
    prev_c: Vec<f64>,
    block: Option<HostJacobian>,
    /// A one-thread pool for the small blocked QRs.
    serial: Option<rayon::ThreadPool>,
}

impl TangentDynamics<f64> for HostTrajectory {
    fn dim(&self) -> usize {
        self.net.dim()
    }
    fn orthonormalize(&mut self, columns: &mut [f64], growth: &mut [f64]) -> Result<bool, Error> {
        if self.block.is_none() {
            return Ok(false);
        }
        // faer's QR runs on all threads of the pool it is called from;
        // below SERIAL_BELOW multiply-adds the hand-offs cost more than
        // they save (N = k = 64: 5.1 s on 2 threads, 2.0 s on one)
        let (d, k) = (self.net.dim(), growth.len());
        if d * k * k < SERIAL_BELOW {
            let pool = match self.serial.take() {
                Some(pool) => pool,
                None => rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .map_err(|_| Error::Infeasible {
                        what: "Lyapunov QR: a one-thread pool could not be started",
                    })?,
            };
            let r = pool.install(|| blocked_qr(d, columns, growth));
            self.serial = Some(pool);
            r?;
        } else {
            blocked_qr(d, columns, growth)?;
        }
        Ok(true)
    }
    fn advance(&mut self) -> Result<(), Error> {
        match &mut self.net {
            Net::Gru(g) => {
                self.prev_h.copy_from_slice(&g.h);
                let view = g.weights.view(g.n, g.inputs, &g.form, g.activation)?;
                view.step(&self.prev_h, &g.x, g.trace.view_mut())?;
                g.h.copy_from_slice(&g.trace.next);
            }
            Net::Lstm(l) => {
                self.prev_h.copy_from_slice(&l.h);
                self.prev_c.copy_from_slice(&l.c);
                let view = l.weights.view(l.n, l.inputs, l.activation)?;
                view.step(&self.prev_h, &self.prev_c, &l.x, l.trace.view_mut())?;
                l.h.copy_from_slice(&l.trace.h_next);
                l.c.copy_from_slice(&l.trace.c_next);
            }
        }
        Ok(())
    }
    fn tangent(&mut self, v: &[f64], out: &mut [f64]) -> Result<(), Error> {
        match &self.net {
            Net::Gru(g) => {
                let mut scratch = vec![0.0; g.n];
                g.view()?
                    .jvp(&self.prev_h, g.trace.view(), v, out, &mut scratch)
            }
            Net::Lstm(l) => l
                .view()?
                .jvp(&self.prev_h, &self.prev_c, l.trace.view(), v, out),
        }
    }
    fn tangent_columns(&mut self, columns: &mut [f64], _scratch: &mut [f64]) -> Result<(), Error> {
        use rayon::prelude::*;
        let d = self.dim();
        if let Some(op) = &mut self.block {
            op.set_factors(match &self.net {
                Net::Gru(g) => Factors::Gru(g.factors_from(&self.prev_h)?),
                Net::Lstm(l) => Factors::Lstm(l.factors_from(&self.prev_h, &self.prev_c)?),
            });
            let k = columns.len() / d;
            let x = MatRef::from_column_major_slice(columns, d, k).to_owned();
            return op.apply_block(
                x.as_ref(),
                MatMut::from_column_major_slice_mut(columns, d, k),
            );
        }
        let (prev_h, prev_c) = (&self.prev_h, &self.prev_c);
        match &self.net {
            Net::Gru(g) => {
                let view = g.view()?;
                let trace = g.trace.view();
                columns.par_chunks_mut(d).try_for_each_init(
                    || (vec![0.0; d], vec![0.0; g.n]),
                    |(out, scratch), col| {
                        view.jvp(prev_h, trace, col, out, scratch)?;
                        col.copy_from_slice(out);
                        Ok(())
                    },
                )
            }
            Net::Lstm(l) => {
                let view = l.view()?;
                let trace = l.trace.view();
                columns.par_chunks_mut(d).try_for_each_init(
                    || vec![0.0; d],
                    |out, col| {
                        view.jvp(prev_h, prev_c, trace, col, out)?;
                        col.copy_from_slice(out);
                        Ok(())
                    },
                )
            }
        }
    }
}

/// docs/THEORY.md §8 with a blocked QR of the `k = growth.len()` columns
/// of length `d`: `Q` from faer's Householder factorisation,
/// `growth[j] = |R_jj|` (0 below [`ANNIHILATED`] of the column's length).
fn blocked_qr(d: usize, columns: &mut [f64], growth: &mut [f64]) -> Result<(), Error> {
    let k = growth.len();
    let a = MatRef::from_column_major_slice(columns, d, k);
    let lengths: Vec<f64> = (0..k).map(|j| a.col(j).norm_l2()).collect();
    let qr = a.qr();
    let r = qr.thin_R();
    for j in 0..k {
        let g = r[(j, j)].abs();
        growth[j] = if !g.is_finite() || !lengths[j].is_finite() {
            f64::INFINITY
        } else if g <= ANNIHILATED * lengths[j] {
            0.0
        } else {
            g
        };
    }
    let q = qr.compute_thin_Q();
    MatMut::from_column_major_slice_mut(columns, d, k).copy_from(&q);
    Ok(())
}

/// Runs the method; `progress(done, total)` after each batch.
pub fn run(
    cfg: &LyapunovConfig,
    progress: impl FnMut(usize, usize),
) -> Result<LyapunovReport, HostError> {
    check(cfg)?;
    let net = Net::random(cfg.n, cfg.scales, cfg.activation, cfg.seed)?;
    run_from(net, cfg.seed, cfg.k, &cfg.options, progress)
}

/// Runs the method on a loaded (trained) network from its current state
/// and input, after the checks of [`check`] that apply to it (`k` against
/// the state dimension, steps, batches, memory).
pub fn run_model(
    net: Net,
    k: usize,
    options: &LyapunovOptions,
    progress: impl FnMut(usize, usize),
) -> Result<LyapunovReport, HostError> {
    check_method(Param::Model, net.cell(), net.n(), k, options)?;
    run_from(net, 0, k, options, progress)
}

/// Runs the method from the current state of `net` (`seed`: the seed it
/// was drawn with, for the report).
pub fn run_from(
    net: Net,
    seed: u64,
    k: usize,
    options: &LyapunovOptions,
    progress: impl FnMut(usize, usize),
) -> Result<LyapunovReport, HostError> {
    let t0 = std::time::Instant::now();
    let (n, d, scales) = (net.n(), net.dim(), net.scales());
    let block = if k >= BLOCKED_FROM_K {
        Some(HostJacobian::new(&net, Precision::F64)?)
    } else {
        None
    };
    let mut sys = HostTrajectory {
        net,
        prev_h: vec![0.0; n],
        prev_c: vec![0.0; n],
        block,
        serial: None,
    };
    let (mut q, mut scratch, mut batch) = (vec![0.0; k * d], vec![0.0; d], vec![0.0; k]);
    let (mut exponents, mut errors) = (vec![0.0; k], vec![0.0; k]);
    let r = lyapunov_spectrum(
        &mut sys,
        options,
        &mut q,
        &mut scratch,
        &mut batch,
        &mut exponents,
        &mut errors,
        progress,
    )
    .map_err(HostError::numerical("Lyapunov exponents"))?;
    Ok(LyapunovReport {
        model: scales.cell(),
        n,
        dim: d,
        seed,
        sigmas: by_gate(&scales.sigmas()),
        bias_sigmas: by_gate(&scales.bias_sigmas()),
        transient: options.transient,
        steps: r.steps,
        batches: options.batches,
        exponents: exponents
            .iter()
            .map(|&l| l.is_finite().then_some(l))
            .collect(),
        errors: errors.clone(),
        largest: exponents[0],
        largest_error: errors[0],
        kaplan_yorke_dimension: kaplan_yorke_dimension(&sorted_descending(&exponents)),
        sum_positive: exponents.iter().filter(|l| **l > 0.0).sum(),
        replaced: r.replaced,
        mean_square_activity: sys.net.mean_square_activity(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// A copy sorted in descending order (`−∞` last).
fn sorted_descending(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}
