//! `gatedyn analyze`: where a trained network sits relative to the
//! random-network theory (docs/THEORY.md §9).
//!
//! Along the trajectory driven by the user's inputs, every `every` steps,
//! the Jacobian of the step taken there (`∂h_{t+1}/∂h_t`, or `∂(h, c)` for
//! an LSTM) gives the spectral radius, the slow modes (`|λ| > 1 − ε`) and
//! the slowest timescales `τ = −1/ln|λ|`; the gates give the statistics
//! behind the paper's mechanisms (saturated update/forget gates, mean
//! reset/input/output gate). The weights give empirical gate scales
//! (`σ = std(U)·√N`, docs/THEORY.md §1), which place a paper-form GRU on
//! the mean-field phase diagram (§5), and the predicted support from the
//! last sampled state (§4, paper-form GRU and LSTM) is compared with the
//! actual eigenvalues.

use crate::formats::{Model, ModelInfo};
use crate::io::arrays::Table;
use crate::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use crate::linalg::matfree::{self, HostJacobian, RadiusOptions};
use crate::net::mean;
use crate::net::{GateName, GateWeights, Net, Scales};
use crate::theory::phase::optional_region_name;
use crate::theory::spectrum::{fraction_inside, predicted_radius, support_boundary};
use crate::HostError;
use crate::Param;
use crate::Precision;
use gatedyn::mft::GruRegion;
use gatedyn::mft::Mft;
use gatedyn::{Activation, Complex};
use serde::Serialize;

/// Above this state dimension the radius is computed matrix-free and the
/// slow modes and timescales (which need every eigenvalue) are left out.
pub const MAX_DENSE: usize = 2000;

/// What to compute.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeConfig {
    /// Sample the Jacobian every this many steps (≥ 1).
    pub every: usize,
    /// A slow mode has `|λ| > 1 − slow_epsilon`.
    pub slow_epsilon: f64,
    /// A gate is saturated below `saturation` or above `1 − saturation`.
    pub saturation: f64,
    /// Slowest timescales listed per sample.
    pub timescales: usize,
    /// Sample only the last step (`gatedyn spectrum model`).
    pub only_last: bool,
    /// Above this state dimension, the radius only, matrix-free
    /// ([`MAX_DENSE`] by default).
    pub max_dense: usize,
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        AnalyzeConfig {
            every: 1,
            slow_epsilon: 0.01,
            saturation: 0.05,
            timescales: 5,
            only_last: false,
            max_dense: MAX_DENSE,
        }
    }
}

impl AnalyzeConfig {
    /// Checks the settings (errors name the flags).
    pub fn check(&self) -> Result<(), HostError> {
        if self.every == 0 {
            return Err(HostError::invalid(
                Param::Every,
                " must be at least 1".into(),
            ));
        }
        if !(self.slow_epsilon > 0.0 && self.slow_epsilon < 1.0) {
            return Err(HostError::invalid(
                Param::SlowEpsilon,
                format!(" must be in (0, 1), got {}", self.slow_epsilon),
            ));
        }
        if !(self.saturation > 0.0 && self.saturation < 0.5) {
            return Err(HostError::invalid(
                Param::Saturation,
                format!(" must be in (0, 0.5), got {}", self.saturation),
            ));
        }
        Ok(())
    }
}

/// Gate statistics at one step (fractions of units).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "cell", rename_all = "lowercase")]
pub enum GateStats {
    /// GRU, in the paper's convention (`z → 0` keeps the state).
    Gru {
        /// Units whose update gate keeps the old state (`z < s`; PyTorch's
        /// `z > 1 − s`): the slow-mode mechanism (docs/THEORY.md §4).
        update_keeping: f64,
        /// Units whose update gate takes the candidate (`z > 1 − s`).
        update_replacing: f64,
        /// Mean update gate `z`.
        update_mean: f64,
        /// Mean reset gate `r`.
        reset_mean: f64,
    },
    /// LSTM.
    Lstm {
        /// Units whose forget gate keeps the cell (`f > 1 − s`).
        forget_keeping: f64,
        /// Units whose forget gate erases it (`f < s`).
        forget_erasing: f64,
        /// Mean forget gate.
        forget_mean: f64,
        /// Mean input gate.
        input_mean: f64,
        /// Mean output gate.
        output_mean: f64,
    },
}

/// The Jacobian at one sampled step.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// The step (0-based): the Jacobian of `h_t → h_{t+1}` with input `x_t`.
    pub t: usize,
    /// Spectral radius.
    pub radius: f64,
    /// Eigenvalues with `|λ| > 1 − ε` (dense only).
    pub slow_modes: Option<usize>,
    /// Eigenvalues with `|λ| ≥ 1` (dense only).
    pub unstable_modes: Option<usize>,
    /// The slowest finite timescales `−1/ln|λ|` (steps), longest first, for
    /// `|λ| < 1` (dense only; a real pair or complex pair counts once per
    /// eigenvalue).
    pub slowest_timescales: Vec<f64>,
    /// The gates at that step.
    pub gates: GateStats,
}

/// The empirical scales of one gate's weights.
#[derive(Debug, Clone, Serialize)]
pub struct EmpiricalScale {
    /// The gate (this crate's letters, docs/THEORY.md §2).
    pub gate: GateName,
    /// `std(U)·√N`: the `σ` a random network would have.
    pub sigma: f64,
    /// `mean(U)·√N` (zero for the theory's random weights).
    pub mean: f64,
    /// `std(b)`.
    pub bias_sigma: f64,
    /// `mean(b)`.
    pub bias_mean: f64,
    /// `std(W)·√I`.
    pub input_sigma: f64,
}

/// How the random-network theory sees this network.
#[derive(Debug, Clone, Serialize)]
pub struct TheoryComparison {
    /// Whether docs/THEORY.md §4–§5 describe this cell (paper-form GRU or
    /// LSTM); the reset-after GRU is outside them.
    pub applies: bool,
    /// In words: what applies and what does not.
    pub note: String,
    /// The mean-field phase of a random paper-form GRU with these
    /// empirical scales (autonomous theory, docs/THEORY.md §5).
    #[serde(serialize_with = "optional_region_name")]
    pub phase_region: Option<GruRegion>,
    /// The predicted spectral radius from the last sampled state.
    pub radius_predicted: Option<f64>,
    /// The measured radius there.
    pub radius_measured: f64,
    /// Share of the eigenvalues inside the predicted support.
    pub fraction_inside: Option<f64>,
}

/// The report of `gatedyn analyze`.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeReport {
    /// The model.
    pub model: ModelInfo,
    /// Steps run (rows of the inputs).
    pub steps: usize,
    /// Sampling interval.
    pub every: usize,
    /// `ε` of the slow-mode count.
    pub slow_epsilon: f64,
    /// `s` of the gate saturation.
    pub saturation: f64,
    /// `"dense"` (every eigenvalue) or `"arnoldi"` (radius only).
    pub method: &'static str,
    /// The samples along time.
    pub samples: Vec<Sample>,
    /// Mean and largest radius over the samples.
    pub radius_mean: f64,
    /// Largest radius.
    pub radius_max: f64,
    /// Mean number of slow modes (dense only).
    pub slow_modes_mean: Option<f64>,
    /// Empirical gate scales.
    pub scales: Vec<EmpiricalScale>,
    /// Against the theory.
    pub theory: TheoryComparison,
    /// Eigenvalues at the last sample (dense only), `[re, im]`.
    pub eigenvalues: Vec<[f64; 2]>,
    /// The predicted support's boundary there (when the theory applies).
    #[serde(skip)]
    pub curve: Vec<Complex>,
    /// All timescales `−1/ln|λ|` of all samples (for the histogram).
    #[serde(skip)]
    pub all_timescales: Vec<f64>,
    /// Wall time.
    pub seconds: f64,
}

fn gate_stats(net: &Net, s: f64) -> GateStats {
    let frac = |v: &[f64], f: &dyn Fn(f64) -> bool| {
        v.iter().filter(|&&x| f(x)).count() as f64 / v.len().max(1) as f64
    };
    match net {
        Net::Gru(g) => GateStats::Gru {
            update_keeping: frac(&g.trace.z, &|z| z < s),
            update_replacing: frac(&g.trace.z, &|z| z > 1.0 - s),
            update_mean: mean(&g.trace.z),
            reset_mean: mean(&g.trace.r),
        },
        Net::Lstm(l) => GateStats::Lstm {
            forget_keeping: frac(&l.trace.f, &|f| f > 1.0 - s),
            forget_erasing: frac(&l.trace.f, &|f| f < s),
            forget_mean: mean(&l.trace.f),
            input_mean: mean(&l.trace.i),
            output_mean: mean(&l.trace.o),
        },
    }
}

fn empirical(gate: GateName, w: &GateWeights, n: usize, inputs: usize) -> EmpiricalScale {
    let s = crate::net::empirical_scale(w, n, inputs);
    EmpiricalScale {
        gate,
        sigma: s.sigma,
        mean: mean(&w.u) * (n as f64).sqrt(),
        bias_sigma: s.bias,
        bias_mean: mean(&w.b),
        input_sigma: s.input,
    }
}

/// The empirical scales of every gate, in fill order.
pub fn empirical_scales(net: &Net) -> Vec<EmpiricalScale> {
    let (n, i) = (net.n(), net.inputs());
    match net {
        Net::Gru(g) => vec![
            empirical(GateName::Z, &g.weights.z, n, i),
            empirical(GateName::R, &g.weights.r, n, i),
            empirical(GateName::H, &g.weights.h, n, i),
        ],
        Net::Lstm(l) => vec![
            empirical(GateName::F, &l.weights.f, n, i),
            empirical(GateName::I, &l.weights.i, n, i),
            empirical(GateName::O, &l.weights.o, n, i),
            empirical(GateName::C, &l.weights.c, n, i),
        ],
    }
}

/// `−1/ln|λ|` for `0 < |λ| < 1`.
fn timescale(z: &Complex) -> Option<f64> {
    let m = z.abs();
    (m > 0.0 && m < 1.0).then(|| -1.0 / m.ln())
}

/// Runs the analysis of `model` on `inputs` (rows: steps), calling
/// `progress(steps done)`.
pub fn analyze(
    model: Model,
    inputs: &Table,
    cfg: &AnalyzeConfig,
    mut progress: impl FnMut(usize),
) -> Result<AnalyzeReport, HostError> {
    cfg.check()?;
    let t0 = std::time::Instant::now();
    let Model { mut net, info, .. } = model;
    crate::net::drive::check_inputs(&net, inputs)?;
    if inputs.rows == 0 {
        return Err(HostError::invalid(
            Param::Inputs,
            " has no rows (steps)".into(),
        ));
    }
    let dense = net.dim() <= cfg.max_dense;
    crate::io::limits::check_memory(
        Param::Model,
        net.n(),
        if dense {
            crate::net::bytes_needed(net.cell(), net.n())
        } else {
            crate::net::weight_bytes(net.cell(), net.n())
                + HostJacobian::bytes_needed(net.cell(), net.n(), Precision::F32)
        },
    )?;
    let mut samples = Vec::new();
    let mut all_timescales = Vec::new();
    let mut last_ev: Vec<Complex> = Vec::new();
    // the matrix-free operator's weight copies are made once; each sample
    // takes only the factors at its state
    let mut operator: Option<HostJacobian> = None;
    for t in 0..inputs.rows {
        if t > 0 {
            net.advance(); // the state after the previous step
        }
        net.x_mut().copy_from_slice(inputs.row(t));
        net.trace_step()?;
        if (!cfg.only_last && t % cfg.every == 0) || t + 1 == inputs.rows {
            let gates = gate_stats(&net, cfg.saturation);
            let sample = if dense {
                let ev = eigenvalues(&jacobian(&net)?)?;
                let mut taus: Vec<f64> = ev.iter().filter_map(timescale).collect();
                taus.sort_by(|a, b| b.total_cmp(a));
                all_timescales.extend_from_slice(&taus);
                let s = Sample {
                    t,
                    radius: max_modulus(&ev),
                    slow_modes: Some(
                        ev.iter()
                            .filter(|z| z.abs() > 1.0 - cfg.slow_epsilon)
                            .count(),
                    ),
                    unstable_modes: Some(ev.iter().filter(|z| z.abs() >= 1.0).count()),
                    slowest_timescales: taus.into_iter().take(cfg.timescales).collect(),
                    gates,
                };
                last_ev = ev;
                s
            } else {
                let op = match &mut operator {
                    Some(op) => {
                        op.retrace(&net)?;
                        op
                    }
                    None => operator.insert(HostJacobian::new(&net, Precision::F32)?),
                };
                let (r, _) = matfree::spectral_radius(
                    op,
                    &RadiusOptions {
                        tol: 1e-3,
                        max_products: 5000,
                    },
                )?;
                Sample {
                    t,
                    radius: r.radius,
                    slow_modes: None,
                    unstable_modes: None,
                    slowest_timescales: vec![],
                    gates,
                }
            };
            samples.push(sample);
        }
        progress(t + 1);
    }
    // `net` is traced at the last step, which is always sampled
    let last = net;
    let radius_last = samples.last().map_or(0.0, |s| s.radius);
    let theory = compare_with_theory(&last, &info, &last_ev, radius_last)?;
    let curve = if theory.radius_predicted.is_some() {
        support_boundary(&last, &last_ev).unwrap_or_default()
    } else {
        vec![]
    };
    let radii: Vec<f64> = samples.iter().map(|s| s.radius).collect();
    let slow: Vec<f64> = samples
        .iter()
        .filter_map(|s| s.slow_modes.map(|k| k as f64))
        .collect();
    Ok(AnalyzeReport {
        model: info,
        steps: inputs.rows,
        every: cfg.every,
        slow_epsilon: cfg.slow_epsilon,
        saturation: cfg.saturation,
        method: if dense { "dense" } else { "arnoldi" },
        radius_mean: mean(&radii),
        radius_max: radii.iter().copied().fold(0.0, f64::max),
        slow_modes_mean: (!slow.is_empty()).then(|| mean(&slow)),
        scales: empirical_scales(&last),
        samples,
        theory,
        eigenvalues: last_ev.iter().map(|z| [z.re, z.im]).collect(),
        curve,
        all_timescales,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The theory's view of the network at its last sampled state.
fn compare_with_theory(
    net: &Net,
    info: &ModelInfo,
    ev: &[Complex],
    radius_measured: f64,
) -> Result<TheoryComparison, HostError> {
    let reset_after = info.form.is_some_and(|f| f.is_reset_after());
    if reset_after {
        return Ok(TheoryComparison {
            applies: false,
            note: "reset-after GRU (PyTorch form): the support (docs/THEORY.md §4) and the phase diagram (§5) are derived for the paper's reset-before GRU, so no prediction is made; the empirical scales, gates and spectra above are exact".into(),
            phase_region: None,
            radius_predicted: None,
            radius_measured,
            fraction_inside: None,
        });
    }
    let radius_predicted = Some(predicted_radius(net)?);
    let fraction_inside = if ev.is_empty() {
        None
    } else {
        Some(fraction_inside(net, ev)?)
    };
    let (phase_region, note) = match net.scales() {
        Scales::Gru(s) => {
            let region = Mft::new()
                .classify(&s.mft(Activation::Tanh))
                .map_err(HostError::numerical("mean-field phase"))?;
            (
                Some(region),
                "paper-form GRU: the support is predicted from the last sampled state with the empirical scales (the theory assumes i.i.d. zero-mean weights; trained weights are not, so the gap measures how far training moved the network from a random one); the phase is that of an autonomous random GRU with these scales (inputs shift the operating point)".to_string(),
            )
        }
        Scales::Lstm(_) => (
            None,
            "LSTM: the support is predicted from the last sampled state with the empirical scales (the theory assumes i.i.d. zero-mean weights); the mean-field phase diagram is the GRU's only".to_string(),
        ),
    };
    Ok(TheoryComparison {
        applies: true,
        note,
        phase_region,
        radius_predicted,
        radius_measured,
        fraction_inside,
    })
}
