//! Sweeps over one gate scale: `gatedyn scaling` (spectral radius against a
//! gate scale, with the asymptotic law where docs/THEORY.md gives one) and
//! `gatedyn slow-modes` (eigenvalues piling up at λ = 1 as the update or
//! forget gate scale grows).

use crate::net::{Cell, GateName};
use crate::theory::spectrum::{self, SpectrumConfig};
use crate::HostError;
use crate::Param;
use serde::Serialize;

/// One point of a scaling sweep.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingPoint {
    /// The gate scale.
    pub value: f64,
    /// Largest |λ| of the Jacobian.
    pub radius_empirical: f64,
    /// Largest |λ| of the predicted support.
    pub radius_predicted: f64,
    /// Share of eigenvalues inside the predicted support.
    pub fraction_inside: f64,
}

/// The result of `gatedyn scaling`.
#[derive(Debug, Clone, Serialize)]
pub struct Scaling {
    /// `"gru"` or `"lstm"`.
    pub model: Cell,
    /// The swept gate.
    pub gate: GateName,
    /// Hidden size.
    pub n: usize,
    /// The points.
    pub points: Vec<ScalingPoint>,
    /// Where docs/THEORY.md gives a law: its exponent (`radius − 1/2 ∝ σ^p`).
    pub law_exponent: Option<f64>,
    /// Exponent fitted on the upper half of the values (log-log slope of
    /// `radius − 1/2`), empirical and predicted radii.
    pub fitted_exponent_empirical: Option<f64>,
    /// The same fit on the predicted radii.
    pub fitted_exponent_predicted: Option<f64>,
}

/// Least-squares slope of `ln(y − 1/2)` against `ln x` over the upper half
/// of the points (at least two, all with `y > 1/2` and `x > 0`).
pub fn loglog_slope(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let k0 = xs.len() / 2;
    let pts: Vec<(f64, f64)> = xs[k0..]
        .iter()
        .zip(&ys[k0..])
        .filter(|(x, y)| **x > 0.0 && **y > 0.5)
        .map(|(x, y)| (x.ln(), (y - 0.5).ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Checks the swept values: at least one, each a valid scale for `gate`.
pub fn check_values(
    base: &SpectrumConfig,
    gate: GateName,
    values: &[f64],
) -> Result<(), HostError> {
    if values.is_empty() || values.len() > crate::io::limits::MAX_VALUES {
        return Err(HostError::invalid(
            Param::Values,
            format!(
                " needs 1 to {} values, got {}",
                crate::io::limits::MAX_VALUES,
                values.len()
            ),
        ));
    }
    for &v in values {
        base.scales.with_sigma(gate, v)?.check().map_err(|_| {
            HostError::invalid(Param::Values, format!(" must be finite and >= 0, got {v}"))
        })?;
    }
    spectrum::check(base)
}

/// Runs the scaling sweep: `base` gives every scale, `gate` the one swept.
pub fn scaling(
    base: &SpectrumConfig,
    gate: GateName,
    values: &[f64],
    mut tick: impl FnMut(usize),
) -> Result<Scaling, HostError> {
    check_values(base, gate, values)?;
    let mut points = vec![];
    for (k, &v) in values.iter().enumerate() {
        let cfg = SpectrumConfig {
            scales: base.scales.with_sigma(gate, v)?,
            ..base.clone()
        };
        let r = spectrum::run(&cfg, |_, _| {})?;
        points.push(ScalingPoint {
            value: v,
            radius_empirical: r.radius_empirical,
            radius_predicted: r.radius_predicted,
            fraction_inside: r.fraction_inside,
        });
        tick(k + 1);
    }
    let xs: Vec<f64> = points.iter().map(|p| p.value).collect();
    let emp: Vec<f64> = points.iter().map(|p| p.radius_empirical).collect();
    let pred: Vec<f64> = points.iter().map(|p| p.radius_predicted).collect();
    Ok(Scaling {
        model: base.cell(),
        gate,
        n: base.n,
        law_exponent: (gate == GateName::R).then_some(0.5),
        fitted_exponent_empirical: loglog_slope(&xs, &emp),
        fitted_exponent_predicted: loglog_slope(&xs, &pred),
        points,
    })
}

/// The result of `gatedyn slow-modes`.
#[derive(Debug, Clone, Serialize)]
pub struct SlowModes {
    /// `"gru"` (σ_z swept) or `"lstm"` (σ_f swept).
    pub model: Cell,
    /// The swept gate: `z` or `f`.
    pub gate: GateName,
    /// Hidden size.
    pub n: usize,
    /// Distances δ from λ = 1 (log-spaced, 1e-4 to 1).
    pub delta: Vec<f64>,
    /// One curve per swept value.
    pub curves: Vec<SlowModeCurve>,
}

/// The cumulative count of eigenvalues near `λ = 1` at one gate scale.
#[derive(Debug, Clone, Serialize)]
pub struct SlowModeCurve {
    /// The swept scale `σ_z` or `σ_f`.
    pub value: f64,
    /// For each `δ` of [`SlowModes::delta`]: the share of eigenvalues with
    /// `|λ − 1| ≤ δ`.
    pub fraction_within: Vec<f64>,
}

impl SlowModes {
    /// The share within `δ` of `λ = 1` on curve `k`, at the first grid
    /// value `≥ delta`.
    pub fn fraction_within(&self, k: usize, delta: f64) -> f64 {
        let at = self
            .delta
            .iter()
            .position(|d| *d >= delta)
            .unwrap_or(self.delta.len() - 1);
        self.curves[k].fraction_within[at]
    }
}

/// Runs the slow-mode sweep over σ_z (GRU) or σ_f (LSTM).
pub fn slow_modes(
    base: &SpectrumConfig,
    values: &[f64],
    mut tick: impl FnMut(usize),
) -> Result<SlowModes, HostError> {
    let gate = base.cell().slow_gate();
    check_values(base, gate, values)?;
    let delta: Vec<f64> = (0..=40)
        .map(|k| 10f64.powf(-4.0 + 4.0 * k as f64 / 40.0))
        .collect();
    let mut curves = vec![];
    for (k, &v) in values.iter().enumerate() {
        let cfg = SpectrumConfig {
            scales: base.scales.with_sigma(gate, v)?,
            ..base.clone()
        };
        let r = spectrum::run(&cfg, |_, _| {})?;
        let mut dist: Vec<f64> = r
            .eigenvalues
            .iter()
            .map(|z| (*z - gatedyn::Complex::new(1.0, 0.0)).abs())
            .collect();
        dist.sort_by(f64::total_cmp);
        let m = dist.len() as f64;
        let cdf = delta
            .iter()
            .map(|d| dist.partition_point(|x| x <= d) as f64 / m)
            .collect();
        curves.push(SlowModeCurve {
            value: v,
            fraction_within: cdf,
        });
        tick(k + 1);
    }
    Ok(SlowModes {
        model: base.cell(),
        gate,
        n: base.n,
        delta,
        curves,
    })
}

#[cfg(test)]
mod tests {
    use super::loglog_slope;

    #[test]
    fn slope_of_a_square_root_law() {
        let xs: Vec<f64> = (1..=8).map(|k| (k * k) as f64).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 0.5 + 0.3 * x.sqrt()).collect();
        assert!((loglog_slope(&xs, &ys).unwrap() - 0.5).abs() < 1e-12);
        assert!(loglog_slope(&[1.0], &[2.0]).is_none());
    }
}
