//! The LSTM's experiments.

use super::check::*;
use super::rows::*;
use crate::linalg::eigen;
use crate::net::{Net, Scales};
use crate::theory::spectrum::{self};
use crate::theory::sweep;
use crate::HostError;
use gatedyn::init::LstmScales;
use gatedyn::{Activation, Complex};

/// Group 7: LSTM zero fixed point: N eigenvalues at 0, the rest a disk of centre
/// `f₀ = 1/2` and radius `i₀ o₀ σ_c = σ_c/4`.
pub(crate) fn lstm_zero_fixed_point(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let mut net = Net::random(
        ctx.n,
        Scales::Lstm(LstmScales::recurrent(1.0, 1.0, 1.0, 1.6)),
        Activation::Tanh,
        2,
    )?;
    net.at_zero()?;
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    let zeros = ev.iter().filter(|z| z.abs() < 1e-8).count();
    let rest: Vec<&Complex> = ev.iter().filter(|z| z.abs() >= 1e-8).collect();
    out.checks.push(Check::absolute(
        "LSTM zero FP: eigenvalues at 0 (count)",
        ctx.n as f64,
        zeros as f64,
        0.0,
    ));
    disk_rows(
        ctx,
        &mut out,
        "LSTM zero FP (σ_c=1.6): disk centre f0 / radius i0 o0 σ_c",
        (0.5, 0.4),
        &ev,
        &rest,
        "lstm_zero_fixed_point.png",
    )?;
    Ok(out)
}

/// Group 8: Forget-gate slow modes.
pub(crate) fn lstm_slow_modes(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let sm = sweep::slow_modes(
        &lstm_cfg(ctx.n / 2, 1.0, 1.0, 1.0, 3.0, 40),
        &[1.0, 100.0],
        |_| {},
    )?;
    slow_rows(ctx, &mut out, 0.1, &sm, "lstm_slow_modes.png")?;
    Ok(out)
}

/// Group 9: Input and output gates grow the radius; matrix-free radius on the
/// larger.
pub(crate) fn lstm_input_output(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let lo = spectrum::run(&lstm_cfg(ctx.n, 1.0, 1.0, 1.0, 3.0, 50), |_, _| {})?;
    let hi_cfg = lstm_cfg(ctx.n, 1.0, 10.0, 10.0, 3.0, 51);
    let hi = spectrum::run(&hi_cfg, |_, _| {})?;
    spectrum_rows(ctx, &mut out, "LSTM σ_i=σ_o=1", &lo, "lstm_io_1.png")?;
    spectrum_rows(ctx, &mut out, "LSTM σ_i=σ_o=10", &hi, "lstm_io_10.png")?;
    matrix_free_row(&mut out, "LSTM σ_i=σ_o=10", &hi_cfg, hi.radius_empirical)?;
    out.checks.push(Check::increasing(
        "LSTM radius grows with σ_i, σ_o (1 → 10), empirical",
        lo.radius_empirical,
        hi.radius_empirical,
        hi.radius_empirical > lo.radius_empirical && hi.radius_predicted > lo.radius_predicted,
    ));
    Ok(out)
}
