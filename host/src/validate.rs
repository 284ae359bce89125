//! `gatedyn validate`: the battery of checks of the theory against
//! numerics (docs/THEORY.md §6), a pass/fail table and a report folder with
//! a Markdown summary and every figure.
//!
//! The battery is a list of [`Experiment`]s; each runs its networks, draws
//! its figures and returns its checks and the figures it drew, so the
//! report lists exactly the figures that exist. The report is written into
//! a temporary folder beside the target and moved into place only when
//! complete: an interrupted run leaves the previous report as it was.
//!
//! The binary-gate/hard-tanh rows use a trajectory state rather than a fixed
//! point: with a binary update gate, `σ'(a_z) = 0` and the Jacobian has the
//! structure of docs/THEORY.md §4 at any state.

use crate::matfree::{Precision, RadiusOptions};
use crate::network::{Net, Scales};
use crate::phase::TabulatedAverages;
use crate::spectrum::{self, SpectrumConfig, SpectrumReport};
use crate::{eigen, figures, sweep, HostError};
use gatedyn::init::{GruScales, LstmScales};
use gatedyn::mft::{GruMftParams, Mft};
use gatedyn::{Activation, Complex};
use serde::Serialize;
use std::path::Path;

/// One row of the battery.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The predicted value.
    pub predicted: f64,
    /// The measured value.
    pub measured: f64,
    /// The tolerance, in words (`"rel 5%"`, `"abs 0.01"`, `">= 0.97"`).
    pub tolerance: String,
    /// Whether it passed.
    pub pass: bool,
}

impl Check {
    /// `|predicted − measured| / |predicted| ≤ tol`.
    pub fn relative(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
        let e = (predicted - measured).abs() / predicted.abs().max(1e-300);
        Check {
            name: name.into(),
            predicted,
            measured,
            tolerance: if tol >= 0.01 {
                format!("rel {:.0}%", 100.0 * tol)
            } else {
                format!("rel {tol:.0e}")
            },
            pass: e <= tol,
        }
    }
    /// `|predicted − measured| ≤ tol`.
    pub fn absolute(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
        Check {
            name: name.into(),
            predicted,
            measured,
            tolerance: format!("abs {tol}"),
            pass: (predicted - measured).abs() <= tol,
        }
    }
    /// `measured ≥ bound`.
    pub fn at_least(name: &str, bound: f64, measured: f64) -> Check {
        Check {
            name: name.into(),
            predicted: bound,
            measured,
            tolerance: format!(">= {bound}"),
            pass: measured >= bound,
        }
    }
    /// `measured < bound` (a quantity that must stay below, e.g. a
    /// negative Lyapunov exponent).
    pub fn below(name: &str, bound: f64, measured: f64) -> Check {
        Check {
            name: name.into(),
            predicted: bound,
            measured,
            tolerance: format!("< {bound}"),
            pass: measured < bound,
        }
    }
    /// `measured > first` (a quantity that must grow).
    pub fn increasing(name: &str, first: f64, last: f64, pass: bool) -> Check {
        Check {
            name: name.into(),
            predicted: first,
            measured: last,
            tolerance: "increasing".into(),
            pass,
        }
    }
}

/// A figure an experiment drew into the report folder.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// File name inside the report folder.
    pub file: String,
    /// What it shows.
    pub caption: String,
}

/// What one experiment returns.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Its rows of the table.
    pub checks: Vec<Check>,
    /// The figures it drew.
    pub figures: Vec<Figure>,
}

/// Where an experiment runs: the hidden size and the folder for figures.
pub struct Context<'a> {
    /// Hidden size.
    pub n: usize,
    /// The (temporary) report folder.
    pub dir: &'a Path,
}

impl Context<'_> {
    /// Draws a figure with `draw(path)` and records it.
    fn figure(
        &self,
        out: &mut Outcome,
        file: &str,
        caption: &str,
        draw: impl FnOnce(&Path) -> Result<(), HostError>,
    ) -> Result<(), HostError> {
        draw(&self.dir.join(file))?;
        out.figures.push(Figure {
            file: file.into(),
            caption: caption.into(),
        });
        Ok(())
    }
}

/// One experiment of the battery.
pub struct Experiment {
    /// Short name (progress messages).
    pub name: &'static str,
    /// Runs it.
    pub run: fn(&Context) -> Result<Outcome, HostError>,
}

/// The battery, in table order.
pub const EXPERIMENTS: [Experiment; 14] = [
    Experiment {
        name: "GRU zero fixed point",
        run: gru_zero_fixed_point,
    },
    Experiment {
        name: "GRU chaotic states",
        run: gru_chaotic,
    },
    Experiment {
        name: "GRU reset-gate scaling",
        run: gru_reset_scaling,
    },
    Experiment {
        name: "GRU slow modes",
        run: gru_slow_modes,
    },
    Experiment {
        name: "LSTM zero fixed point",
        run: lstm_zero_fixed_point,
    },
    Experiment {
        name: "LSTM slow modes",
        run: lstm_slow_modes,
    },
    Experiment {
        name: "LSTM input and output gates",
        run: lstm_input_output,
    },
    Experiment {
        name: "binary update gate, hard-tanh",
        run: binary_gate,
    },
    Experiment {
        name: "GRU fixed points",
        run: gru_fixed_points,
    },
    Experiment {
        name: "phase diagram",
        run: phase_diagram,
    },
    Experiment {
        name: "Lyapunov spectrum at the zero fixed point",
        run: lyapunov_zero_fixed_point,
    },
    Experiment {
        name: "complexity transition at σ_r*",
        run: complexity_transition,
    },
    Experiment {
        name: "σ_h = 2 transition",
        run: sigma_h_transition,
    },
    Experiment {
        name: "long-term Jacobian",
        run: long_term_jacobian,
    },
];

fn gru_cfg(n: usize, z: f64, r: f64, h: f64, seed: u64) -> SpectrumConfig {
    SpectrumConfig::new(n, Scales::Gru(GruScales::recurrent(z, r, h)), 300, seed)
}

fn lstm_cfg(n: usize, f: f64, i: f64, o: f64, c: f64, seed: u64) -> SpectrumConfig {
    SpectrumConfig::new(
        n,
        Scales::Lstm(LstmScales::recurrent(f, i, o, c)),
        300,
        seed,
    )
}

/// Radius (5 %) and inside fraction (≥ 0.97) of a spectrum run, with its
/// figure.
fn spectrum_rows(
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
fn matrix_free_row(
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
fn disk_rows(
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

/// Group 1: GRU zero fixed point, σ_h = 1.5: disk centre `1 − z₀ = 1/2`, radius
/// `z₀ r₀ σ_h = 0.375`.
fn gru_zero_fixed_point(ctx: &Context) -> Result<Outcome, HostError> {
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
fn gru_chaotic(ctx: &Context) -> Result<Outcome, HostError> {
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
const RESET_SWEEP: [f64; 4] = [1.0, 2.0, 4.0, 8.0];

/// Group 5: `√σ_r` growth (σ_z = 0): `ρ_s² ∝ σ_r` at the MFT fixed point for
/// large σ_r (docs/THEORY.md §5), and the radius against σ_r.
fn gru_reset_scaling(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let mft = Mft::with_averages(TabulatedAverages::new());
    let rho2 = |sr: f64| -> Result<f64, HostError> {
        let fp = mft
            .fixed_point(&GruMftParams::new(3.0, sr))
            .map_err(HostError::numerical("mean-field theory"))?
            .ok_or_else(|| HostError::Param("no MFT fixed point".into()))?;
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
        crate::network::GateName::R,
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

/// Slow modes: the share of eigenvalues within 0.01 of `λ = 1` grows by at
/// least `min_gain` from σ = 1 to σ = 100.
fn slow_rows(
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
        tolerance: format!("grows ≥ {min_gain}"),
        pass: hi >= lo + min_gain,
    });
    let caption = format!("{}: eigenvalues near λ = 1", sm.model);
    ctx.figure(out, file, &caption, |p| figures::slow_modes(p, sm))
}

/// Group 6: Slow modes with σ_z.
fn gru_slow_modes(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let sm = sweep::slow_modes(&gru_cfg(ctx.n, 1.0, 1.0, 3.0, 30), &[1.0, 100.0], |_| {})?;
    slow_rows(ctx, &mut out, 0.2, &sm, "gru_slow_modes.png")?;
    Ok(out)
}

/// Group 7: LSTM zero fixed point: N eigenvalues at 0, the rest a disk of centre
/// `f₀ = 1/2` and radius `i₀ o₀ σ_c = σ_c/4`.
fn lstm_zero_fixed_point(ctx: &Context) -> Result<Outcome, HostError> {
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
fn lstm_slow_modes(ctx: &Context) -> Result<Outcome, HostError> {
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
fn lstm_input_output(ctx: &Context) -> Result<Outcome, HostError> {
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

/// Group 10: Binary update gate + hard-tanh, σ_r = 0 (docs/THEORY.md §4): units with
/// `z = 0` give eigenvalues exactly at 1, saturated units with `z = 1`
/// exactly at 0, the active ones a disk of radius `r₀ σ_h √(n_active/N)`.
fn binary_gate(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let n = ctx.n;
    let mut net = Net::random(
        n,
        Scales::Gru(GruScales::recurrent(1e8, 0.0, 3.0)),
        Activation::HardTanh,
        70,
    )?;
    net.run(100, || {})?;
    let t = &net.as_gru().expect("built as a GRU above").trace;
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
fn gru_fixed_points(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let cfg = crate::fixed_points::FixedPointConfig {
        n: ctx.n.min(400),
        scales: GruScales::recurrent(1.0, 1.0, 3.0),
        seed: 60,
        steps: 200,
        starts: 10,
        max_iter: 60,
    };
    let fps = crate::fixed_points::find(&cfg, |_| {})?;
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
fn phase_diagram(ctx: &Context) -> Result<Outcome, HostError> {
    let mut out = Outcome::default();
    let phase = crate::phase::compute(3.5, 16.0, 200, |_| {})?;
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
fn lyapunov_zero_fixed_point(_: &Context) -> Result<Outcome, HostError> {
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
    let r = crate::lyapunov::run_from(net, 70, n, &options, |_, _| {})?;
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
fn transition_n(ctx: &Context) -> usize {
    ctx.n.max(500)
}

/// The transition rows' sweep settings: one σ_h and σ_r list, Lyapunov
/// runs of 200 + 500 steps from `N(0, 0.01²)` and `N(0, 1)` states.
fn transition_config(
    sigma_h: Vec<f64>,
    sigma_r: Vec<f64>,
    n: usize,
    networks: usize,
    seed: u64,
    search: Option<crate::complexity::SearchBudget>,
) -> crate::complexity::ComplexityConfig {
    crate::complexity::ComplexityConfig {
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
fn complexity_transition(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::complexity::{measure, SearchBudget};
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
    let counts = crate::complexity::run(&cfg, &|_, _| {})?;
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
        || measure(&cfg, 1.8, 4.0, n, 81),
        || measure(&cfg, 1.8, 48.0, n, 81),
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
fn sigma_h_transition(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::complexity::measure;
    let mut out = Outcome::default();
    let n = transition_n(ctx);
    let cfg = transition_config(vec![1.6, 3.0], vec![1.0], n, 1, 90, None);
    let (below, above) = rayon::join(
        || measure(&cfg, 1.6, 1.0, n, 90),
        || measure(&cfg, 3.0, 1.0, n, 90),
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
fn long_term_jacobian(ctx: &Context) -> Result<Outcome, HostError> {
    use crate::long_term::{run, LongTermConfig};
    let mut out = Outcome::default();
    let mut cfg = LongTermConfig {
        n: ctx.n,
        sigma_h: 1.8,
        sigma_r: 1.0,
        binary: false,
        max_t: 20,
        seed: 100,
    };
    let constant = run(&cfg, |_| {})?;
    cfg.binary = true;
    let binary = run(&cfg, |_| {})?;
    for r in [&constant, &binary] {
        let last = r.rows.last().expect("max_t ≥ 1");
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

/// The radius of a uniformly filled disk from its eigenvalues: the 90th
/// percentile of `|λ − centre|` divided by √0.9 (uniform density puts a
/// share ρ²/R² inside radius ρ). Unlike the largest modulus, it does not
/// carry the finite-N edge excess of a few per cent.
fn disk_radius(ev: &[&Complex], centre: f64) -> f64 {
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

/// The battery's result.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Hidden size used.
    pub n: usize,
    /// The rows.
    pub checks: Vec<Check>,
    /// The figures in the report folder.
    pub figures: Vec<Figure>,
    /// Seconds spent.
    pub seconds: f64,
}

impl Validation {
    /// Whether every row passed.
    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
    /// Rows that failed.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.pass).count()
    }
    /// The table as text.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<58} {:>12} {:>12} {:>10}  result\n",
            "check", "predicted", "measured", "tolerance"
        );
        for c in &self.checks {
            s.push_str(&format!(
                "{:<58} {:>12.5} {:>12.5} {:>10}  {}\n",
                c.name,
                c.predicted,
                c.measured,
                c.tolerance,
                if c.pass { "pass" } else { "FAIL" }
            ));
        }
        s
    }
    /// `summary.md`: the table and every figure.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# gatedyn validate\n\nN = {}, {:.1} s, {} of {} checks passed.\n\n| check | predicted | measured | tolerance | result |\n|---|---|---|---|---|\n",
            self.n,
            self.seconds,
            self.checks.len() - self.failed(),
            self.checks.len()
        );
        for c in &self.checks {
            md.push_str(&format!(
                "| {} | {:.5} | {:.5} | {} | {} |\n",
                c.name,
                c.predicted,
                c.measured,
                c.tolerance,
                if c.pass { "pass" } else { "**FAIL**" }
            ));
        }
        md.push_str("\n## Figures\n\n");
        for f in &self.figures {
            md.push_str(&format!("![{}]({})\n\n{}\n\n", f.file, f.file, f.caption));
        }
        md.push_str("The binary-gate/hard-tanh rows use a trajectory state, not a fixed point: with a binary update gate the Jacobian has the same structure at any state (σ'(a_z) = 0).\n");
        md
    }
}

/// The smallest hidden size of the battery.
pub const MIN_N: usize = 50;

/// Checks the arguments before anything runs: the size, its memory, and
/// that `report` can be replaced (a missing folder or an earlier gatedyn
/// report, in a writable parent).
pub fn check(n: usize, report: &Path) -> Result<(), HostError> {
    if n < MIN_N {
        return Err(HostError::Param(format!(
            "--n must be at least {MIN_N} for the battery, got {n}"
        )));
    }
    // the largest run: an LSTM at n (state 2n) with the dense solve
    crate::limits::check_memory(
        "--n",
        n,
        crate::network::bytes_needed(crate::network::Cell::Lstm, n),
    )?;
    let bad = |why: String| HostError::Param(format!("--report {}: {why}", report.display()));
    if report.exists() {
        if !report.is_dir() {
            return Err(bad("exists and is not a folder".into()));
        }
        let ours = report.join("summary.json").is_file();
        let empty = std::fs::read_dir(report)
            .map_err(|e| bad(format!("cannot read: {e}")))?
            .next()
            .is_none();
        if !(ours || empty) {
            return Err(bad(
                "exists and is not a gatedyn report (no summary.json): choose another folder"
                    .into(),
            ));
        }
    }
    // the report is built in a sibling folder and renamed: the parent must
    // take new folders
    let parent = crate::output::parent_folder(report);
    if !parent.is_dir() {
        return Err(bad(format!("folder {} does not exist", parent.display())));
    }
    let probe = parent.join(format!(".gatedyn-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| {
        bad(format!(
            "cannot create folders in {}: {e}",
            parent.display()
        ))
    })?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

/// Runs the battery at size `n` and puts the report into `report` (the
/// folder is replaced only when the report is complete);
/// `progress(done, total, name)` before each experiment.
pub fn run(
    n: usize,
    report: &Path,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Validation, HostError> {
    check(n, report)?;
    let parent = crate::output::parent_folder(report);
    let name = report
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let io = |what: &str, p: &Path, e: std::io::Error| {
        HostError::Io(format!("cannot {what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(&partial).map_err(|e| io("create", &partial, e))?;
    let result = run_into(n, &partial, &mut progress).and_then(|v| {
        crate::output::write_atomic(&partial.join("summary.md"), &v.markdown())?;
        crate::output::write_atomic(&partial.join("summary.json"), &crate::output::to_json(&v)?)?;
        // swap: the old report aside, the new one in, the old one removed
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if report.exists() {
            std::fs::rename(report, &old).map_err(|e| io("move aside", report, e))?;
        }
        std::fs::rename(&partial, report).map_err(|e| io("create", report, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| io("remove", &old, e))?;
        }
        Ok(v)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn run_into(
    n: usize,
    dir: &Path,
    progress: &mut impl FnMut(usize, usize, &str),
) -> Result<Validation, HostError> {
    let t0 = std::time::Instant::now();
    let ctx = Context { n, dir };
    let (mut checks, mut figures) = (vec![], vec![]);
    for (k, e) in EXPERIMENTS.iter().enumerate() {
        progress(k, EXPERIMENTS.len(), e.name);
        let o = (e.run)(&ctx)?;
        checks.extend(o.checks);
        figures.extend(o.figures);
    }
    progress(EXPERIMENTS.len(), EXPERIMENTS.len(), "done");
    Ok(Validation {
        n,
        checks,
        figures,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
