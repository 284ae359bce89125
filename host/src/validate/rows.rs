//! Rows several experiments share: spectra against their predicted
//! support, the matrix-free radius, disks, slow modes.

use super::check::*;
use crate::linalg::matfree::RadiusOptions;
use crate::net::Scales;
use crate::theory::spectrum::{self, SpectrumConfig, SpectrumReport};
use crate::theory::sweep;
use crate::Precision;
use crate::{figures, HostError};
use gatedyn::init::{GruScales, LstmScales};
use gatedyn::Complex;

pub(crate) fn gru_cfg(n: usize, z: f64, r: f64, h: f64, seed: u64) -> SpectrumConfig {
    SpectrumConfig::new(n, Scales::Gru(GruScales::recurrent(z, r, h)), 300, seed)
}

pub(crate) fn lstm_cfg(n: usize, f: f64, i: f64, o: f64, c: f64, seed: u64) -> SpectrumConfig {
    SpectrumConfig::new(
        n,
        Scales::Lstm(LstmScales::recurrent(f, i, o, c)),
        300,
        seed,
    )
}

/// Radius (5 %) and inside fraction (≥ 0.97) of a spectrum run, with its
/// figure.
pub(crate) fn spectrum_rows(
    ctx: &Context,
    out: &mut Outcome,
    label: &str,
    r: &SpectrumReport,
    file: &str,
) -> Result<(), HostError> {
    out.checks.push(Check::relative(
        &format!("{label}: spectral radius"),
        r.radius_predicted,
        r.radius_empirical,
        0.05,
    ));
    out.checks.push(Check::at_least(
        &format!("{label}: fraction inside the support"),
        spectrum::INSIDE_LEVEL,
        r.fraction_inside,
    ));
    ctx.figure(out, file, label, |p| figures::spectrum(p, label, r))
}

/// The matrix-free radius (Arnoldi over `f32` weights, residual 1e-4) of
/// the same network as a dense run, against its dense radius: 1e-3.
pub(crate) fn matrix_free_row(
    out: &mut Outcome,
    label: &str,
    c: &SpectrumConfig,
    dense_radius: f64,
) -> Result<(), HostError> {
    let mf = spectrum::MatrixFreeConfig {
        precision: Precision::F32,
        radius: RadiusOptions {
            tol: 1e-4,
            max_products: 5000,
        },
    };
    let r = spectrum::run_matrix_free(c, &mf, |_, _| {})?;
    out.checks.push(Check::relative(
        &format!("{label}: matrix-free radius (Arnoldi, f32) vs dense"),
        dense_radius,
        r.radius_empirical,
        1e-3,
    ));
    Ok(())
}

/// Rows for a disk of eigenvalues predicted at `(centre, radius)`: the
/// centre (mean of `disk`, abs 0.01), the radius (90 % quantile, rel 2 %),
/// and a figure of all eigenvalues `ev` with the predicted circle.
pub(crate) fn disk_rows(
    ctx: &Context,
    out: &mut Outcome,
    label: &str,
    (centre, radius): (f64, f64),
    ev: &[Complex],
    disk: &[&Complex],
    file: &str,
) -> Result<(), HostError> {
    let measured_centre = disk.iter().map(|z| z.re).sum::<f64>() / disk.len().max(1) as f64;
    out.checks.push(Check::absolute(
        &format!("{label}: centre"),
        centre,
        measured_centre,
        0.01,
    ));
    out.checks.push(Check::relative(
        &format!("{label}: radius (90% quantile)"),
        radius,
        disk_radius(disk, measured_centre),
        0.02,
    ));
    ctx.figure(out, file, label, |p| {
        figures::disk(p, label, ev, Complex::new(centre, 0.0), radius)
    })
}

/// Slow modes: the share of eigenvalues within 0.01 of `λ = 1` grows by at
/// least `min_gain` from σ = 1 to σ = 100.
pub(crate) fn slow_rows(
    ctx: &Context,
    out: &mut Outcome,
    min_gain: f64,
    sm: &sweep::SlowModes,
    file: &str,
) -> Result<(), HostError> {
    let (lo, hi) = (sm.fraction_within(0, 0.01), sm.fraction_within(1, 0.01));
    let (first, last) = (sm.curves[0].value, sm.curves[1].value);
    out.checks.push(Check {
        name: format!(
            "{} slow modes: share within 0.01 of λ=1, σ_{} {first} → {last}",
            sm.model, sm.gate
        ),
        predicted: lo,
        measured: hi,
        tolerance: Tolerance::GrowsBy(min_gain),
        pass: hi >= lo + min_gain,
    });
    let caption = format!("{}: eigenvalues near λ = 1", sm.model);
    ctx.figure(out, file, &caption, |p| figures::slow_modes(p, sm))
}

/// The radius of a uniformly filled disk from its eigenvalues: the 90th
/// percentile of `|λ − centre|` divided by √0.9 (uniform density puts a
/// share ρ²/R² inside radius ρ). Unlike the largest modulus, it does not
/// carry the finite-N edge excess of a few per cent.
pub(crate) fn disk_radius(ev: &[&Complex], centre: f64) -> f64 {
    let mut d: Vec<f64> = ev
        .iter()
        .map(|z| (**z - Complex::new(centre, 0.0)).abs())
        .collect();
    if d.is_empty() {
        return 0.0;
    }
    d.sort_by(f64::total_cmp);
    d[((0.9 * d.len() as f64) as usize).min(d.len() - 1)] / 0.9f64.sqrt()
}
