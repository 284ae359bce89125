//! The GRU's experiments: the zero fixed point, chaos, the reset gate's
//! scaling, slow modes.

use super::check::*;
use super::rows::*;
use crate::linalg::eigen;
use crate::net::{Net, Scales};
use crate::theory::phase::TabulatedAverages;
use crate::theory::spectrum::{self};
use crate::theory::sweep;
use crate::{figures, HostError};
use gatedyn::init::GruScales;
use gatedyn::mft::{GruMftParams, Mft};
use gatedyn::Activation;

/// Group 1: GRU zero fixed point, σ_h = 1.5: disk centre `1 − z₀ = 1/2`, radius
/// `z₀ r₀ σ_h = 0.375`.
pub(crate) fn gru_zero_fixed_point(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let mut net = Net::random(
        ctx.n,
        Scales::Gru(GruScales::recurrent(1.0, 1.0, 1.5)),
        Activation::Tanh,
        1,
    )?;
    net.at_zero()?;
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    disk_rows(
        ctx,
        &mut out,
        "GRU zero FP (σ_h=1.5): disk centre 1-z0 / radius z0 r0 σ_h",
        (0.5, 0.375),
        &ev,
        &ev.iter().collect::<Vec<_>>(),
        "gru_zero_fixed_point.png",
    )?;
    Ok(out)
}

/// Group 2-4: Chaotic states with the reset gate only, the update gate only,
/// both; the matrix-free radius on the last.
pub(crate) fn gru_chaotic(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let cases = [
        (
            "GRU chaotic, reset gate only (σ_r=3)",
            (0.0, 3.0),
            "gru_reset_only.png",
        ),
        (
            "GRU chaotic, update gate only (σ_z=3)",
            (3.0, 0.0),
            "gru_update_only.png",
        ),
        (
            "GRU chaotic, both gates (σ_z=σ_r=3)",
            (3.0, 3.0),
            "gru_both_gates.png",
        ),
    ];
    for (k, (label, (z, r), file)) in cases.into_iter().enumerate() {
        let c = gru_cfg(ctx.n, z, r, 3.0, 10 + k as u64);
        let rep = spectrum::run(&c, |_, _| {})?;
        spectrum_rows(ctx, &mut out, label, &rep, file)?;
        if k == 2 {
            matrix_free_row(&mut out, "GRU both gates", &c, rep.radius_empirical)?;
        }
    }
    Ok(out)
}

/// The σ_r values of the per-point radius checks: up to 8, because beyond
/// it the finite-N edge lags the prediction by 5-8 % at N = 1000 (the
/// steep reset gate, see tests/).
pub(crate) const RESET_SWEEP: [f64; 4] = [1.0, 2.0, 4.0, 8.0];

/// Group 5: `√σ_r` growth (σ_z = 0): `ρ_s² ∝ σ_r` at the MFT fixed point for
/// large σ_r (docs/THEORY.md §5), and the radius against σ_r.
pub(crate) fn gru_reset_scaling(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let mft = Mft::with_averages(TabulatedAverages::new());
    let rho2 = |sr: f64| -> Result<f64, HostError> {
        let fp = mft
            .fixed_point(&GruMftParams::new(3.0, sr))
            .map_err(HostError::numerical("mean-field theory"))?
            .ok_or_else(|| HostError::BadInput("no MFT fixed point".into()))?;
        Ok(fp.shaping_sq)
    };
    let slope = (rho2(4000.0)? / rho2(1000.0)?).ln() / 4f64.ln();
    out.checks.push(Check::absolute(
        "GRU √σ_r law: d ln ρ_s² / d ln σ_r (MFT, σ_r 1e3-4e3)",
        1.0,
        slope,
        0.05,
    ));
    let sc = sweep::scaling(
        &gru_cfg(ctx.n.min(500), 0.0, 1.0, 3.0, 20),
        crate::net::GateName::R,
        &RESET_SWEEP,
        |_| {},
    )?;
    let grows = sc
        .points
        .windows(2)
        .all(|w| w[1].radius_predicted > w[0].radius_predicted);
    let (first, last) = (&sc.points[0], &sc.points[sc.points.len() - 1]);
    out.checks.push(Check::increasing(
        &format!(
            "GRU radius grows with σ_r (predicted, σ_r {}-{})",
            first.value, last.value
        ),
        first.radius_predicted,
        last.radius_predicted,
        grows,
    ));
    for p in &sc.points {
        out.checks.push(Check::relative(
            &format!("GRU σ_r={} radius (σ_z=0)", p.value),
            p.radius_predicted,
            p.radius_empirical,
            0.05,
        ));
    }
    ctx.figure(
        &mut out,
        "gru_reset_scaling.png",
        "GRU radius against σ_r (σ_z = 0, σ_h = 3)",
        |p| figures::scaling(p, &sc),
    )?;
    Ok(out)
}

/// Group 6: Slow modes with σ_z.
pub(crate) fn gru_slow_modes(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let sm = sweep::slow_modes(&gru_cfg(ctx.n, 1.0, 1.0, 3.0, 30), &[1.0, 100.0], |_| {})?;
    slow_rows(ctx, &mut out, 0.2, &sm, "gru_slow_modes.png")?;
    Ok(out)
}
