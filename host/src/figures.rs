//! One function per figure, used by the subcommand that draws it and by
//! `gatedyn validate` alike (so the two cannot drift apart). Each writes
//! SVG or PNG by the extension of `path`, atomically.

use crate::phase::PhaseDiagram;
use crate::plot::{self, Series};
use crate::spectrum::{MatrixFreeReport, SpectrumReport};
use crate::sweep::{Scaling, SlowModes};
use crate::HostError;
use gatedyn::Complex;
use std::path::Path;

/// Eigenvalues of a [`SpectrumReport`] with the predicted support and the
/// unit circle; `label` heads the title.
pub fn spectrum(path: &Path, label: &str, r: &SpectrumReport) -> Result<(), HostError> {
    let title = format!(
        "{label}, N={}: radius {:.3} (predicted {:.3})",
        r.n, r.radius_empirical, r.radius_predicted
    );
    plot::spectrum(path, &r.eigenvalues, &r.curve, &title)
}

/// The title of a spectrum figure drawn by `gatedyn spectrum`: the cell and
/// its scales.
pub fn spectrum_label(r: &SpectrumReport) -> String {
    let sigmas: Vec<String> = r.sigmas.iter().map(|(g, v)| format!("σ_{g}={v}")).collect();
    format!("{} {}", r.model, sigmas.join(" "))
}

/// Eigenvalues against a predicted disk `|λ − centre| ≤ radius` (zero fixed
/// points, binary gates: docs/THEORY.md §4).
pub fn disk(
    path: &Path,
    title: &str,
    ev: &[Complex],
    centre: Complex,
    radius: f64,
) -> Result<(), HostError> {
    let circle: Vec<Complex> = (0..360)
        .map(|k| centre + Complex::from_polar(radius, (k as f64).to_radians()))
        .collect();
    plot::spectrum(path, ev, &circle, title)
}

/// Whether a scaling sweep can be drawn on its log axis: at least one
/// positive value. Checked before the sweep runs.
pub fn check_log_axis(values: &[f64]) -> Result<(), HostError> {
    if values.iter().any(|v| *v > 0.0) {
        Ok(())
    } else {
        Err(HostError::Param(
            "--plot needs a positive value in --values (the σ axis is logarithmic)".into(),
        ))
    }
}

/// Radius against the swept scale: empirical, predicted, and the law of
/// docs/THEORY.md where it gives one (`1/2 + c σ^p`, fitted through the last
/// point). Points at `σ = 0` are left off the log axis.
pub fn scaling(path: &Path, s: &Scaling) -> Result<(), HostError> {
    let positive = || s.points.iter().filter(|q| q.value > 0.0);
    let mut series = vec![
        Series {
            label: "empirical (max |λ|)".into(),
            points: positive().map(|q| (q.value, q.radius_empirical)).collect(),
            thin: false,
        },
        Series {
            label: "predicted (support)".into(),
            points: positive().map(|q| (q.value, q.radius_predicted)).collect(),
            thin: false,
        },
    ];
    if let (Some(p), Some(last)) = (s.law_exponent, positive().next_back()) {
        let c = (last.radius_predicted - 0.5) / last.value.powf(p);
        series.push(Series {
            label: format!("1/2 + c σ^{p}"),
            points: positive()
                .map(|q| (q.value, 0.5 + c * q.value.powf(p)))
                .collect(),
            thin: true,
        });
    }
    plot::log_x_lines(
        path,
        &format!("{} N={}: radius against σ_{}", s.model, s.n, s.gate),
        &format!("σ_{}", s.gate),
        "spectral radius",
        &series,
    )
}

/// The share of eigenvalues within `δ` of `λ = 1`, one curve per swept
/// `σ_z` (GRU) or `σ_f` (LSTM).
pub fn slow_modes(path: &Path, s: &SlowModes) -> Result<(), HostError> {
    let series: Vec<Series> = s
        .curves
        .iter()
        .map(|c| Series {
            label: format!("σ_{} = {}", s.gate, c.value),
            points: s
                .delta
                .iter()
                .copied()
                .zip(c.fraction_within.iter().copied())
                .collect(),
            thin: false,
        })
        .collect();
    plot::log_x_lines(
        path,
        &format!("{} N={}: eigenvalues near λ = 1", s.model, s.n),
        "δ",
        "fraction with |λ − 1| ≤ δ",
        &series,
    )
}

/// The GRU phase diagram with the bifurcation curve.
pub fn phase_diagram(path: &Path, d: &PhaseDiagram) -> Result<(), HostError> {
    plot::phase_diagram(path, d)
}

/// The one-line summary of a dense spectrum run (the CLI prints it).
pub fn spectrum_summary(r: &SpectrumReport) -> String {
    format!(
        "{} N={}: radius empirical {:.4}, predicted {:.4} (relative error {:.3}), {:.1}% of eigenvalues inside; eigensolve {:.2} s",
        r.model,
        r.n,
        r.radius_empirical,
        r.radius_predicted,
        r.relative_error,
        100.0 * r.fraction_inside,
        r.timings_s.eigensolve
    )
}

/// The one-line summary of a matrix-free run.
pub fn matrix_free_summary(r: &MatrixFreeReport) -> String {
    format!(
        "{} N={}: radius (Arnoldi, {} products, residual {:.1e}) {:.4}, predicted {:.4} (relative error {:.3}); Arnoldi {:.2} s",
        r.model,
        r.n,
        r.products,
        r.residual,
        r.radius_empirical,
        r.radius_predicted,
        r.relative_error,
        r.timings_s.arnoldi
    )
}
