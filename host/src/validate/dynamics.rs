//! Experiments on the dynamics: binary gates, fixed points, the phase
//! diagram, Lyapunov exponents, the transitions, the long-term Jacobian.

use super::check::*;
use super::rows::*;
use crate::linalg::eigen;
use crate::net::{Net, Scales};
use crate::theory::long_term::UpdateGate;
use crate::{figures, HostError};
use gatedyn::init::GruScales;
use gatedyn::{Activation, Complex};

/// Group 10: Binary update gate + hard-tanh, σ_r = 0 (docs/THEORY.md §4): units with
/// `z = 0` give eigenvalues exactly at 1, saturated units with `z = 1`
/// exactly at 0, the active ones a disk of radius `r₀ σ_h √(n_active/N)`.
pub(crate) fn binary_gate(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let n = ctx.n;
    let mut net = Net::random(
        n,
        Scales::Gru(GruScales::recurrent(1e8, 0.0, 3.0)),
        Activation::HardTanh,
        70,
    )?;
    net.run(100, || {})?;
    let Net::Gru(g) = &net else {
        return Err(HostError::BadInput(
            "the binary-gate check draws a GRU".into(),
        ));
    };
    let t = &g.trace;
    let frozen = t.z.iter().filter(|&&z| z == 0.0).count();
    let saturated = (0..n)
        .filter(|&i| t.z[i] == 1.0 && t.a_h[i].abs() >= 1.0)
        .count();
    let active = (0..n)
        .filter(|&i| t.z[i] == 1.0 && t.a_h[i].abs() < 1.0)
        .count();
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    let one = Complex::new(1.0, 0.0);
    let at_one = ev.iter().filter(|z| (**z - one).abs() < 1e-9).count();
    let at_zero = ev.iter().filter(|z| z.abs() < 1e-9).count();
    let disk: Vec<&Complex> = ev
        .iter()
        .filter(|z| z.abs() >= 1e-9 && (**z - one).abs() >= 1e-9)
        .collect();
    out.checks.push(Check::absolute(
        "binary z, hard-tanh: eigenvalues at 1 = units with z=0",
        frozen as f64,
        at_one as f64,
        0.0,
    ));
    out.checks.push(Check::absolute(
        "binary z, hard-tanh: eigenvalues at 0 = saturated units",
        saturated as f64,
        at_zero as f64,
        0.0,
    ));
    let radius = 0.5 * 3.0 * (active as f64 / n as f64).sqrt();
    out.checks.push(Check::relative(
        "binary z, hard-tanh: disk radius r0 σ_h √(n_active/N)",
        radius,
        disk_radius(&disk, 0.0),
        0.05,
    ));
    let title = "GRU, binary update gate, hard-tanh, σ_r = 0";
    ctx.figure(&mut out, "gru_binary_gate_hardtanh.png", title, |p| {
        figures::disk(p, title, &ev, Complex::new(0.0, 0.0), radius)
    })?;
    Ok(out)
}

/// Group 11: Fixed points at σ_h = 3 (N ≤ 400): at least one found, all
/// unstable, each radius as predicted from its own state.
pub(crate) fn gru_fixed_points(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let cfg = crate::theory::fixed_points::FixedPointConfig {
        n: ctx.n.min(400),
        scales: GruScales::recurrent(1.0, 1.0, 3.0),
        seed: 60,
        steps: 200,
        starts: 10,
        max_iter: 60,
    };
    let fps = crate::theory::fixed_points::find(&cfg, |_| {})?;
    out.checks.push(Check::at_least(
        &format!(
            "GRU fixed points (σ_h=3, N={}): found (of {} starts, {} converged)",
            cfg.n, cfg.starts, fps.converged
        ),
        1.0,
        fps.fixed_points.len() as f64,
    ));
    out.checks.push(Check::absolute(
        "GRU fixed points: all unstable (count stable)",
        0.0,
        fps.fixed_points.iter().filter(|f| f.stable).count() as f64,
        0.0,
    ));
    for (k, f) in fps.fixed_points.iter().enumerate() {
        out.checks.push(Check::relative(
            &format!("GRU fixed point {k}: radius vs own support"),
            f.radius_predicted.unwrap_or(f64::NAN),
            f.radius_empirical,
            0.05,
        ));
    }
    Ok(out)
}

/// The phase diagram (a figure, no rows).
pub(crate) fn phase_diagram(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let phase = crate::theory::phase::compute(3.5, 16.0, 200, |_| {})?;
    ctx.figure(
        &mut out,
        "gru_phase_diagram.png",
        "GRU phase diagram (mean-field theory) with the bifurcation curve",
        |p| figures::phase_diagram(p, &phase),
    )?;
    Ok(out)
}

/// docs/THEORY.md §8: at the zero fixed point the map is linear, so the
/// full Lyapunov spectrum (`k = N = 64`, 6000 steps after 2000) is the
/// log-moduli of the Jacobian's eigenvalues (the disk's nearly equal
/// moduli converge slowly: 1.6e-3 after 2000 steps).
pub(crate) fn lyapunov_zero_fixed_point(_: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let n = 64;
    let mut net = Net::random(
        n,
        Scales::Gru(GruScales::recurrent(1.0, 1.0, 1.8)),
        Activation::Tanh,
        70,
    )?;
    net.at_zero()?;
    let mut logs: Vec<f64> = eigen::eigenvalues(&eigen::jacobian(&net)?)?
        .iter()
        .map(|z| z.abs().ln())
        .collect();
    logs.sort_by(|a, b| b.total_cmp(a));
    let options = gatedyn::lyapunov::LyapunovOptions {
        transient: 2000,
        steps: 6000,
        batches: 10,
        ..Default::default()
    };
    let r = crate::theory::lyapunov::run_from(net, 70, n, &options, |_, _| {})?;
    let worst = r
        .exponents
        .iter()
        .zip(&logs)
        .map(|(l, m)| (l.unwrap_or(f64::NEG_INFINITY) - m).abs())
        .fold(0.0, f64::max);
    out.checks.push(Check::absolute(
        "Lyapunov spectrum at h=0 (k=N=64): max |λ_j − ln|μ_j||",
        0.0,
        worst,
        1e-3,
    ));
    Ok(out)
}

/// The size of the Lyapunov runs of the transition rows: chaos from large
/// states needs N ≥ 500 at these scales (docs/THEORY.md §10).
pub(crate) fn transition_n(ctx: &Context) -> usize {
    ctx.n.max(500)
}

/// The transition rows' sweep settings: one σ_h and σ_r list, Lyapunov
/// runs of 200 + 500 steps from `N(0, 0.01²)` and `N(0, 1)` states.
pub(crate) fn transition_config(
    sigma_h: Vec<f64>,
    sigma_r: Vec<f64>,
    n: usize,
    networks: usize,
    seed: u64,
    search: Option<crate::theory::complexity::SearchBudget>,
) -> crate::theory::complexity::ComplexityConfig {
    crate::theory::complexity::ComplexityConfig {
        sigma_h,
        sigma_r,
        sigma_z: 1.0,
        sizes: vec![n],
        networks,
        seed,
        search,
        lyapunov: gatedyn::lyapunov::LyapunovOptions {
            transient: 200,
            steps: 500,
            batches: 10,
            ..Default::default()
        },
        small_start: Some(0.01),
        large_start: 1.0,
    }
}

/// docs/THEORY.md §10 at σ_h = 1.8 (σ_r* = 8.157): below (σ_r = 4) one
/// stable fixed point and λ_max < 0 from large states; above, more fixed
/// points (N = 64, three networks, 200 starts each) and, from large
/// states, chaos coexisting with the stable zero. The row above uses
/// σ_r = 48: at these sizes chaos sets in well above σ_r* (measured onset
/// 48 at N = 250, 25 at N = 500, 18 at N = 1000).
pub(crate) fn complexity_transition(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::theory::complexity::{measure, GridPoint, SearchBudget};
    let mut out = Outcome::default();
    let n = transition_n(ctx);
    let mut cfg = transition_config(
        vec![1.8],
        vec![4.0, 32.0],
        64,
        3,
        80,
        Some(SearchBudget {
            starts: 200,
            max_iter: 60,
        }),
    );
    let counts = crate::theory::complexity::run(&cfg, &|_, _| {})?;
    let below = counts.summary[0].fixed_points_mean.unwrap_or(f64::NAN);
    let above = counts.summary[1].fixed_points_mean.unwrap_or(f64::NAN);
    out.checks.push(Check::increasing(
        "complexity (σ_h=1.8, N=64): mean fixed points found, σ_r=4 → 32",
        below,
        above,
        above > below,
    ));
    cfg.search = None;
    let (below, above) = rayon::join(
        || {
            measure(
                &cfg,
                &GridPoint {
                    sigma_h: 1.8,
                    sigma_r: 4.0,
                    n,
                    seed: 81,
                },
            )
        },
        || {
            measure(
                &cfg,
                &GridPoint {
                    sigma_h: 1.8,
                    sigma_r: 48.0,
                    n,
                    seed: 81,
                },
            )
        },
    );
    let (below, above) = (below?, above?);
    out.checks.push(Check::below(
        &format!("complexity (σ_h=1.8, N={n}): λ_max from a large state, σ_r=4 < σ_r*"),
        0.0,
        below.large_start.lambda_max,
    ));
    out.checks.push(Check::at_least(
        &format!("complexity (σ_h=1.8, N={n}): λ_max from a large state, σ_r=48 > σ_r*"),
        0.0,
        above.large_start.lambda_max,
    ));
    out.checks.push(Check::below(
        &format!(
            "complexity (σ_h=1.8, N={n}): λ_max from a small state, σ_r=48 (zero stays stable)"
        ),
        0.0,
        above.lambda_small(),
    ));
    Ok(out)
}

/// docs/THEORY.md §10: across σ_h = 2 at σ_r = 1. Below (σ_h = 1.6) the zero
/// fixed point is stable: λ_max from a small state is `ln ρ(J(0))` of this
/// network (eigenvalues; 0.005) and near the theory's `ln(1/2 + σ_h/4)`
/// (0.03: the finite-N edge of the disk moves by a few per cent); above
/// (σ_h = 3) a small state leaves it and the dynamics is chaotic. σ_h = 3
/// rather than just above 2: at N = 500, σ_h = 2.4 still settles on an
/// orbit with λ_max ≈ 0.
pub(crate) fn sigma_h_transition(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::theory::complexity::{measure, GridPoint};
    let mut out = Outcome::default();
    let n = transition_n(ctx);
    let cfg = transition_config(vec![1.6, 3.0], vec![1.0], n, 1, 90, None);
    let (below, above) = rayon::join(
        || {
            measure(
                &cfg,
                &GridPoint {
                    sigma_h: 1.6,
                    sigma_r: 1.0,
                    n,
                    seed: 90,
                },
            )
        },
        || {
            measure(
                &cfg,
                &GridPoint {
                    sigma_h: 3.0,
                    sigma_r: 1.0,
                    n,
                    seed: 90,
                },
            )
        },
    );
    let (below, above) = (below?, above?);
    let mut zero = Net::random(
        n,
        Scales::Gru(GruScales::recurrent(1.0, 1.0, 1.6)),
        Activation::Tanh,
        90,
    )?;
    zero.at_zero()?;
    let radius = eigen::max_modulus(&eigen::eigenvalues(&eigen::jacobian(&zero)?)?);
    out.checks.push(Check::absolute(
        &format!("σ_h=1.6 (N={n}): λ_max from a small state vs ln ρ(J(0)) (eigenvalues)"),
        radius.ln(),
        below.lambda_small(),
        0.005,
    ));
    out.checks.push(Check::absolute(
        &format!("σ_h=1.6 (N={n}): λ_max from a small state vs ln(1/2 + σ_h/4)"),
        (0.5f64 + 0.4).ln(),
        below.lambda_small(),
        0.03,
    ));
    out.checks.push(Check::at_least(
        &format!("σ_h=3 (N={n}): λ_max from a small state (zero unstable, chaos)"),
        0.0,
        above.lambda_small(),
    ));
    Ok(out)
}

/// docs/THEORY.md §11: `m(T)^{1/(2T)}` of dense `J^T` at the zero fixed
/// point against the theory at T = 20 (1 %), constant and binary update
/// gate, and the limit against the measured radius (Gelfand).
pub(crate) fn long_term_jacobian(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::theory::long_term::{run, LongTermConfig};
    let mut out = Outcome::default();
    let mut cfg = LongTermConfig {
        n: ctx.n,
        sigma_h: 1.8,
        sigma_r: 1.0,
        gate: UpdateGate::Constant,
        max_t: 20,
        seed: 100,
    };
    let constant = run(&cfg, |_| {})?;
    cfg.gate = UpdateGate::Binary;
    let binary = run(&cfg, |_| {})?;
    for r in [&constant, &binary] {
        let Some(last) = r.rows.last() else {
            return Err(HostError::BadInput(
                "the long-term Jacobian gave no rows".into(),
            ));
        };
        out.checks.push(Check::relative(
            &format!(
                "long-term Jacobian, {} update gate (σ_h=1.8): m(T)^(1/2T) at T=20",
                r.gate
            ),
            last.root_predicted,
            last.root_measured,
            0.01,
        ));
    }
    out.checks.push(Check::relative(
        "long-term Jacobian, constant gate: limit a + c vs measured radius (Gelfand)",
        constant.limit,
        constant.radius,
        0.03,
    ));
    ctx.figure(
        &mut out,
        "long_term_jacobian.png",
        "Long-term Jacobian at the zero fixed point: m(T)^(1/2T) of dense products against the theory and its limit",
        |p| figures::long_term(p, &constant),
    )?;
    Ok(out)
}
