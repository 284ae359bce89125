//! `gatedyn long-term`: the long-term Jacobian at a random GRU's zero fixed
//! point (docs/THEORY.md §11; the paper's Appendix F) against the large-`N`
//! theory of [`gatedyn::long_term`]: the mean squared singular value
//! `m(T) = (1/N)‖J^T‖²_F` of dense products `J^T`, its `2T`-th root and the
//! limit (the spectral radius, Gelfand's formula).
//!
//! The network is a GRU with zero reset and candidate biases, so at `h = 0`
//! `r₀ = 1/2` and `φ'(0) = 1` (tanh and hard-tanh). With zero update bias,
//! `z₀ = 1/2` (constant gate: `a = 1/2`, `c = σ_h/4`); with a binary update gate the
//! update biases have scale 1e6, so `z_i = σ(b_i)` is 0 or 1 to machine
//! precision (binary gate: `c = σ_h/2`, `p` the measured fraction of ones).

use crate::io::limits::check_memory;
use crate::linalg::eigen::{eigenvalues, max_modulus};
use crate::net::{Net, Scales};
use crate::HostError;
use crate::Param;
use faer::Mat;
use gatedyn::init::{GateScale, GruScales};
use gatedyn::long_term::{
    binary_gate_limit, binary_gate_log_msv, constant_gate_limit, constant_gate_log_msv,
};
use gatedyn::Activation;
use serde::Serialize;

/// Scale of the update-gate biases that makes the gate binary.
pub const BINARY_BIAS_SCALE: f64 = 1e6;

/// Largest `T`.
pub const MAX_T: usize = 1000;

/// One run.
#[derive(Debug, Clone, Copy)]
pub struct LongTermConfig {
    /// Hidden size.
    pub n: usize,
    /// `σ_h`.
    pub sigma_h: f64,
    /// `σ_r` (irrelevant at `h = 0`, kept for the network's draw).
    pub sigma_r: f64,
    /// The update gate at `h = 0`: constant (`z₀ = 1/2`) or binary.
    pub gate: UpdateGate,
    /// Products up to `J^T`.
    pub max_t: usize,
    /// Seed of the weights.
    pub seed: u64,
}

/// One `T`.
#[derive(Debug, Clone, Serialize)]
pub struct LongTermRow {
    /// Steps.
    pub t: usize,
    /// `(1/N)‖J^T‖²_F` of the dense product.
    pub measured: f64,
    /// The theory's `m(T)`.
    pub predicted: f64,
    /// `measured/predicted − 1`.
    pub relative_error: f64,
    /// `measured^{1/(2T)}`.
    pub root_measured: f64,
    /// `predicted^{1/(2T)}`.
    pub root_predicted: f64,
}

/// The update gate of the long-term comparison at `h = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateGate {
    /// `z₀ = 1/2` everywhere (zero biases).
    Constant,
    /// `z ∈ {0, 1}` (update-gate biases of scale 1e8).
    Binary,
}

impl std::fmt::Display for UpdateGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            UpdateGate::Constant => "constant",
            UpdateGate::Binary => "binary",
        })
    }
}

/// The result, as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct LongTermReport {
    /// The update gate (written `"constant"` or `"binary"`).
    pub gate: UpdateGate,
    /// Hidden size.
    pub n: usize,
    /// `σ_h`.
    pub sigma_h: f64,
    /// `a` (constant gate: `1 − z₀`; binary: `None`).
    pub a: Option<f64>,
    /// `c`.
    pub c: f64,
    /// Fraction of units with `z = 1` (binary gate).
    pub p: Option<f64>,
    /// The theory's limit of the root (the spectral radius).
    pub limit: f64,
    /// The measured spectral radius of `J` (faer eigenvalues).
    pub radius: f64,
    /// Rows `T = 1..=max_t`.
    pub rows: Vec<LongTermRow>,
    /// Largest `|relative_error|`.
    pub max_relative_error: f64,
    /// Largest `|root_measured − root_predicted|`.
    pub max_root_error: f64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Validates a run.
pub fn check(cfg: &LongTermConfig) -> Result<(), HostError> {
    if cfg.n < 2 {
        return Err(HostError::invalid(Param::N, " must be at least 2".into()));
    }
    if !(1..=MAX_T).contains(&cfg.max_t) {
        return Err(HostError::invalid(
            Param::MaxT,
            format!(" must be in 1..={MAX_T}, got {}", cfg.max_t),
        ));
    }
    Scales::Gru(scales(cfg)).check()?;
    check_memory(Param::N, cfg.n, 8 * 8 * (cfg.n as u128).pow(2))
}

fn scales(cfg: &LongTermConfig) -> GruScales {
    let g = |sigma, bias| GateScale {
        sigma,
        bias,
        input: 0.0,
    };
    GruScales {
        z: g(
            0.0,
            match cfg.gate {
                UpdateGate::Binary => BINARY_BIAS_SCALE,
                UpdateGate::Constant => 0.0,
            },
        ),
        r: g(cfg.sigma_r, 0.0),
        h: g(cfg.sigma_h, 0.0),
    }
}

/// The update gate at `h = 0` with the parameter the theory takes.
#[derive(Clone, Copy)]
enum Gate {
    /// `z = z₀` everywhere, `a = 1 − z₀`.
    Constant { a: f64 },
    /// `z ∈ {0, 1}`, a share `p` of ones.
    Binary { p: f64 },
}

/// Runs the comparison; `progress(t)` after each product.
pub fn run(
    cfg: &LongTermConfig,
    mut progress: impl FnMut(usize),
) -> Result<LongTermReport, HostError> {
    check(cfg)?;
    let t0 = std::time::Instant::now();
    let n = cfg.n;
    let mut net = Net::random(n, Scales::Gru(scales(cfg)), Activation::Tanh, cfg.seed)?;
    net.at_zero()?;
    let Net::Gru(g) = &net else {
        return Err(HostError::BadInput(
            "the long-term Jacobian is derived for a GRU".into(),
        ));
    };
    let z = &g.trace.z;
    // the theory's parameters from the network's own gate values: the
    // share p of z = 1 (binary gate) or a = 1 − ⟨z⟩ (constant gate)
    let (gate, c) = if cfg.gate == UpdateGate::Binary {
        let p = z.iter().filter(|&&zi| zi > 0.5).count() as f64 / n as f64;
        (Gate::Binary { p }, cfg.sigma_h / 2.0)
    } else {
        let z0 = z.iter().sum::<f64>() / n as f64;
        (Gate::Constant { a: 1.0 - z0 }, z0 * 0.5 * cfg.sigma_h)
    };
    let j = crate::linalg::eigen::jacobian(&net)?;
    let radius = max_modulus(&eigenvalues(&j)?);
    let numerical = HostError::numerical("long-term Jacobian theory");
    let (limit, log_m): (f64, &dyn Fn(u32) -> Result<f64, gatedyn::Error>) = match gate {
        Gate::Constant { a } => (constant_gate_limit(a, c), &move |t| {
            constant_gate_log_msv(a, c, t)
        }),
        Gate::Binary { p } => (binary_gate_limit(p, c), &move |t| {
            binary_gate_log_msv(p, c, t)
        }),
    };
    let mut product = Mat::<f64>::identity(n, n);
    let mut rows = vec![];
    for t in 1..=cfg.max_t {
        product = &j * &product;
        let measured = product.squared_norm_l2() / n as f64;
        if !measured.is_finite() {
            return Err(HostError::invalid(
                Param::MaxT,
                format!(
                    " {}: ‖J^T‖ overflows at T = {t}; use a smaller horizon",
                    cfg.max_t
                ),
            ));
        }
        let log_pred = log_m(t as u32).map_err(&numerical)?;
        let predicted = log_pred.exp();
        rows.push(LongTermRow {
            t,
            measured,
            predicted,
            relative_error: measured / predicted - 1.0,
            root_measured: measured.powf(0.5 / t as f64),
            root_predicted: (log_pred * 0.5 / t as f64).exp(),
        });
        progress(t);
    }
    Ok(LongTermReport {
        gate: cfg.gate,
        n,
        sigma_h: cfg.sigma_h,
        a: match gate {
            Gate::Constant { a } => Some(a),
            Gate::Binary { .. } => None,
        },
        c,
        p: match gate {
            Gate::Binary { p } => Some(p),
            Gate::Constant { .. } => None,
        },
        limit,
        radius,
        max_relative_error: rows
            .iter()
            .map(|r| r.relative_error.abs())
            .fold(0.0, f64::max),
        max_root_error: rows
            .iter()
            .map(|r| (r.root_measured - r.root_predicted).abs())
            .fold(0.0, f64::max),
        rows,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The network's gate values give the theory's parameters exactly
    /// (`z₀ = r₀ = 1/2`), and at N = 300 the dense products follow `m(T)`:
    /// `T = 1` exactly in expectation (`a² + c²`, here within 2 %) and the
    /// root within 1 % up to T = 10.
    #[test]
    fn constant_gate_products_follow_the_theory() {
        let cfg = LongTermConfig {
            n: 300,
            sigma_h: 1.8,
            sigma_r: 1.0,
            gate: UpdateGate::Constant,
            max_t: 10,
            seed: 4,
        };
        let r = run(&cfg, |_| {}).unwrap();
        assert_eq!(r.a, Some(0.5));
        assert_eq!(r.c, 0.45);
        assert!((r.rows[0].predicted - (0.25 + 0.2025)).abs() < 1e-15);
        assert!(r.rows[0].relative_error.abs() < 0.02, "{:?}", r.rows[0]);
        for row in &r.rows {
            assert!(
                (row.root_measured / row.root_predicted - 1.0).abs() < 0.01,
                "{row:?}"
            );
        }
        assert!((r.limit - 0.95).abs() < 1e-15);
        assert!((r.radius / r.limit - 1.0).abs() < 0.05);
    }

    /// Binary gate: `p` is the measured share of `z = 1` (near 1/2), the
    /// radius is exactly 1 when `c √p < 1` (the identity rows), and the
    /// products follow `m(T)` within 5 % (2.9 % measured at N = 300, 0.3 % at
    /// N = 1000).
    #[test]
    fn binary_gate_products_follow_the_theory() {
        let cfg = LongTermConfig {
            n: 300,
            sigma_h: 1.8,
            sigma_r: 1.0,
            gate: UpdateGate::Binary,
            max_t: 10,
            seed: 4,
        };
        let r = run(&cfg, |_| {}).unwrap();
        let p = r.p.unwrap();
        assert!((p - 0.5).abs() < 0.1, "{p}");
        assert_eq!(r.c, 0.9);
        assert_eq!(r.limit, 1.0);
        assert!((r.radius - 1.0).abs() < 1e-9, "{}", r.radius);
        assert!(r.max_relative_error < 0.05, "{}", r.max_relative_error);
    }

    #[test]
    fn bad_settings_name_their_flag() {
        let base = LongTermConfig {
            n: 10,
            sigma_h: 1.8,
            sigma_r: 1.0,
            gate: UpdateGate::Constant,
            max_t: 10,
            seed: 4,
        };
        for (c, flag) in [
            (LongTermConfig { n: 1, ..base }, Param::N),
            (LongTermConfig { max_t: 0, ..base }, Param::MaxT),
            (
                LongTermConfig {
                    max_t: MAX_T + 1,
                    ..base
                },
                Param::MaxT,
            ),
        ] {
            match check(&c) {
                Err(HostError::Invalid { param, .. }) => assert_eq!(param, flag),
                other => panic!("{other:?}"),
            }
        }
    }
}
