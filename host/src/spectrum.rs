//! `gatedyn spectrum`: simulate a random network, take the exact Jacobian at
//! the state reached, compute all eigenvalues and hold them against the
//! support predicted from that state (THEORY.md §4).

use crate::eigen::{eigenvalues, jacobian, spectral_radius};
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
    if cfg.n == 0 {
        return Err(HostError::Param("--n must be at least 1".into()));
    }
    for (name, v) in cfg.model.gate_names().iter().zip(&cfg.sigmas) {
        check_sigma(&format!("--sigma-{name}"), *v)?;
    }
    for (name, v) in cfg.model.gate_names().iter().zip(&cfg.bias_sigmas) {
        check_sigma(&format!("--bias-{name}"), *v)?;
    }
    let need = bytes_needed(cfg.model, cfg.n);
    if let Some(avail) = available_memory() {
        if need > avail as u128 {
            return Err(HostError::Param(format!(
                "--n {} needs about {:.1} GiB, more than the {:.1} GiB available",
                cfg.n,
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

/// Runs the experiment; `progress(fraction, phase)` is called along the way.
pub fn run(
    cfg: &SpectrumConfig,
    mut progress: impl FnMut(f64, &str),
) -> Result<SpectrumReport, HostError> {
    check(cfg)?;
    let scales: Vec<GateScale> = cfg
        .sigmas
        .iter()
        .zip(&cfg.bias_sigmas)
        .map(|(&s, &b)| GateScale {
            sigma: s,
            bias: b,
            input: 0.0,
        })
        .collect();
    let t0 = Instant::now();
    let mut net = Net::random(cfg.model, cfg.n, &scales, cfg.activation, cfg.seed)?;
    let mut done = 0usize;
    net.run(cfg.steps, || {
        done += 1;
        if done.is_multiple_of(16) {
            progress(0.3 * done as f64 / cfg.steps.max(1) as f64, "simulate");
        }
    })?;
    let simulate = t0.elapsed().as_secs_f64();
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
    let s = &cfg.sigmas;
    let center = Complex::new(ev.iter().map(|z| z.re).sum::<f64>() / ev.len() as f64, 0.0);
    let (radius_predicted, fraction_inside, curve_pts) = match cfg.model {
        Model::Gru => {
            let sp = GruSupport::new(
                GruSigmas {
                    z: s[0],
                    r: s[1],
                    h: s[2],
                },
                net.act,
                &net.h,
                net.gru_trace(),
            )?;
            (
                predicted_radius(&sp, &opts)?.0,
                inside_fraction(&sp, &ev),
                curve_points(&sp, center, 720)?,
            )
        }
        Model::Lstm => {
            let sp = LstmSupport::new(
                LstmSigmas {
                    f: s[0],
                    i: s[1],
                    o: s[2],
                    c: s[3],
                },
                net.act,
                &net.c,
                net.lstm_trace(),
            )?;
            (
                predicted_radius(&sp, &opts)?.0,
                inside_fraction(&sp, &ev),
                curve_points(&sp, center, 720)?,
            )
        }
    };
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
