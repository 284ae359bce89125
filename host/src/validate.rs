//! `gatedyn validate`: the battery of checks of the theory against
//! numerics (THEORY.md §6), a pass/fail table and a report folder with a
//! Markdown summary and every figure.
//!
//! The binary-gate/hard-tanh rows use a trajectory state rather than a fixed
//! point: with a binary update gate, `σ'(a_z) = 0` and the Jacobian has the
//! structure of THEORY.md §4 at any state.

use crate::matfree::Precision;
use crate::network::{Model, Net};
use crate::phase::TabulatedAverages;
use crate::spectrum::{self, SpectrumConfig, SpectrumReport};
use crate::sweep;
use crate::{eigen, plot, HostError};
use gatedyn::init::GateScale;
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

fn rel(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
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

fn abs(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
    Check {
        name: name.into(),
        predicted,
        measured,
        tolerance: format!("abs {tol}"),
        pass: (predicted - measured).abs() <= tol,
    }
}

fn at_least(name: &str, bound: f64, measured: f64) -> Check {
    Check {
        name: name.into(),
        predicted: bound,
        measured,
        tolerance: format!(">= {bound}"),
        pass: measured >= bound,
    }
}

fn cfg(model: Model, n: usize, sigmas: &[f64], seed: u64) -> SpectrumConfig {
    SpectrumConfig {
        model,
        n,
        sigmas: sigmas.to_vec(),
        bias_sigmas: vec![0.0; sigmas.len()],
        activation: Activation::Tanh,
        steps: 300,
        seed,
    }
}

/// The battery's result.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Hidden size used.
    pub n: usize,
    /// The rows.
    pub checks: Vec<Check>,
    /// Seconds spent.
    pub seconds: f64,
}

impl Validation {
    /// Whether every row passed.
    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
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
}

fn spectrum_rows(
    out: &mut Vec<Check>,
    label: &str,
    r: &SpectrumReport,
    report: &Path,
    file: &str,
) -> Result<(), HostError> {
    out.push(rel(
        &format!("{label}: spectral radius"),
        r.radius_predicted,
        r.radius_empirical,
        0.05,
    ));
    out.push(at_least(
        &format!("{label}: fraction inside the support"),
        0.97,
        r.fraction_inside,
    ));
    let title = format!("{label}, N={}", r.n);
    plot::spectrum(&report.join(file), &r.eigenvalues, &r.curve, &title)
}

/// The matrix-free radius (Arnoldi over `f32` weights, residual 1e-4) of
/// the same network as a dense run, against its dense radius: 1e-3.
fn matrix_free_row(
    out: &mut Vec<Check>,
    label: &str,
    c: &SpectrumConfig,
    dense_radius: f64,
) -> Result<(), HostError> {
    let mf = spectrum::MatrixFreeConfig {
        precision: Precision::F32,
        tol: 1e-4,
        max_products: 5000,
    };
    let r = spectrum::run_matrix_free(c, &mf, |_, _| {})?;
    out.push(rel(
        &format!("{label}: matrix-free radius (Arnoldi, f32) vs dense"),
        dense_radius,
        r.radius_empirical,
        1e-3,
    ));
    Ok(())
}

/// Runs the battery at size `n`, writing figures and `summary.md` into
/// `report`; `progress(done, total)` after each row group.
pub fn run(
    n: usize,
    report: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<Validation, HostError> {
    if n < 50 {
        return Err(HostError::Param(format!(
            "--n must be at least 50 for the battery, got {n}"
        )));
    }
    std::fs::create_dir_all(report)
        .map_err(|e| HostError::Io(format!("cannot create {}: {e}", report.display())))?;
    let t0 = std::time::Instant::now();
    let total = 10;
    let mut checks = vec![];
    let noop = |_: f64, _: &str| {};

    // 1. GRU zero fixed point, σ_h = 1.5: disk centre 1 − z₀ = 1/2, radius z₀ r₀ σ_h = 0.375
    let mut net = Net::random(
        Model::Gru,
        n,
        &[
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.5),
        ],
        Activation::Tanh,
        1,
    )?;
    net.at_zero()?;
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    disk_rows(
        &mut checks,
        "GRU zero FP (σ_h=1.5): disk centre 1-z0 / radius z0 r0 σ_h",
        (0.5, 0.375),
        &ev,
        &ev.iter().collect::<Vec<_>>(),
        &report.join("gru_zero_fixed_point.png"),
    )?;
    progress(1, total);

    // 2-4. chaotic states: reset gate only, update gate only, both
    for (k, (label, sig, file)) in [
        (
            "GRU chaotic, reset gate only (σ_r=3)",
            [0.0, 3.0, 3.0],
            "gru_reset_only.png",
        ),
        (
            "GRU chaotic, update gate only (σ_z=3)",
            [3.0, 0.0, 3.0],
            "gru_update_only.png",
        ),
        (
            "GRU chaotic, both gates (σ_z=σ_r=3)",
            [3.0, 3.0, 3.0],
            "gru_both_gates.png",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let c = cfg(Model::Gru, n, &sig, 10 + k as u64);
        let r = spectrum::run(&c, noop)?;
        spectrum_rows(&mut checks, label, &r, report, file)?;
        if k == 2 {
            matrix_free_row(&mut checks, "GRU both gates", &c, r.radius_empirical)?;
        }
        progress(2 + k, total);
    }

    // 5. √σ_r growth (σ_z = 0): ρ_s² ∝ σ_r at the MFT fixed point for large σ_r
    let mft = Mft::with_averages(TabulatedAverages::new());
    let rho2 = |sr: f64| -> Result<f64, HostError> {
        let fp = mft
            .fixed_point(&GruMftParams::new(3.0, sr))?
            .ok_or_else(|| HostError::Param("no MFT fixed point".into()))?;
        Ok(fp.shaping_sq)
    };
    let slope = (rho2(4000.0)? / rho2(1000.0)?).ln() / 4f64.ln();
    checks.push(abs(
        "GRU √σ_r law: d ln ρ_s² / d ln σ_r (MFT, σ_r 1e3-4e3)",
        1.0,
        slope,
        0.05,
    ));
    // per-point 5 % checks up to σ_r = 8: beyond, the finite-N edge lags the
    // prediction by 5-8 % at N = 1000 (the steep reset gate, see tests/)
    let sweep_values = [1.0, 2.0, 4.0, 8.0];
    let sc = sweep::scaling(
        &cfg(Model::Gru, n.min(500), &[0.0, 1.0, 3.0], 20),
        "r",
        &sweep_values,
        |_| {},
    )?;
    let grows = sc
        .points
        .windows(2)
        .all(|w| w[1].radius_predicted > w[0].radius_predicted);
    checks.push(Check {
        name: "GRU radius grows with σ_r (predicted, σ_r 1-16)".into(),
        predicted: sc.points[0].radius_predicted,
        measured: sc.points[sc.points.len() - 1].radius_predicted,
        tolerance: "increasing".into(),
        pass: grows,
    });
    for p in &sc.points {
        checks.push(rel(
            &format!("GRU σ_r={} radius (σ_z=0)", p.value),
            p.radius_predicted,
            p.radius_empirical,
            0.05,
        ));
    }
    let series = vec![
        plot::Series {
            label: "empirical".into(),
            points: sc
                .points
                .iter()
                .map(|p| (p.value, p.radius_empirical))
                .collect(),
            thin: false,
        },
        plot::Series {
            label: "predicted".into(),
            points: sc
                .points
                .iter()
                .map(|p| (p.value, p.radius_predicted))
                .collect(),
            thin: false,
        },
    ];
    plot::log_x_lines(
        &report.join("gru_reset_scaling.png"),
        "GRU radius against σ_r (σ_z = 0, σ_h = 3)",
        "σ_r",
        "spectral radius",
        &series,
    )?;
    progress(5, total);

    // 6. slow modes with σ_z
    let sm = sweep::slow_modes(
        &cfg(Model::Gru, n, &[1.0, 1.0, 3.0], 30),
        &[1.0, 100.0],
        |_| {},
    )?;
    slow_rows(
        &mut checks,
        "GRU",
        "z",
        0.2,
        &sm,
        report,
        "gru_slow_modes.png",
    )?;
    progress(6, total);

    // 7. LSTM zero fixed point: N zeros, disk centre f0 = 1/2, radius i0 o0 σ_c = σ_c/4
    let mut net = Net::random(
        Model::Lstm,
        n,
        &[
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.6),
        ],
        Activation::Tanh,
        2,
    )?;
    net.at_zero()?;
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    let zeros = ev.iter().filter(|z| z.abs() < 1e-8).count();
    let rest: Vec<&Complex> = ev.iter().filter(|z| z.abs() >= 1e-8).collect();
    checks.push(abs(
        "LSTM zero FP: eigenvalues at 0 (count)",
        n as f64,
        zeros as f64,
        0.0,
    ));
    disk_rows(
        &mut checks,
        "LSTM zero FP (σ_c=1.6): disk centre f0 / radius i0 o0 σ_c",
        (0.5, 0.4),
        &ev,
        &rest,
        &report.join("lstm_zero_fixed_point.png"),
    )?;
    progress(7, total);

    // 8. forget-gate slow modes
    let sm = sweep::slow_modes(
        &cfg(Model::Lstm, n / 2, &[1.0, 1.0, 1.0, 3.0], 40),
        &[1.0, 100.0],
        |_| {},
    )?;
    slow_rows(
        &mut checks,
        "LSTM",
        "f",
        0.1,
        &sm,
        report,
        "lstm_slow_modes.png",
    )?;
    progress(8, total);

    // 9. input and output gates grow the radius
    let lo = spectrum::run(&cfg(Model::Lstm, n, &[1.0, 1.0, 1.0, 3.0], 50), noop)?;
    let hi = spectrum::run(&cfg(Model::Lstm, n, &[1.0, 10.0, 10.0, 3.0], 51), noop)?;
    spectrum_rows(&mut checks, "LSTM σ_i=σ_o=1", &lo, report, "lstm_io_1.png")?;
    spectrum_rows(
        &mut checks,
        "LSTM σ_i=σ_o=10",
        &hi,
        report,
        "lstm_io_10.png",
    )?;
    matrix_free_row(
        &mut checks,
        "LSTM σ_i=σ_o=10",
        &cfg(Model::Lstm, n, &[1.0, 10.0, 10.0, 3.0], 51),
        hi.radius_empirical,
    )?;
    checks.push(Check {
        name: "LSTM radius grows with σ_i, σ_o (1 → 10), empirical".into(),
        predicted: lo.radius_empirical,
        measured: hi.radius_empirical,
        tolerance: "increasing".into(),
        pass: hi.radius_empirical > lo.radius_empirical
            && hi.radius_predicted > lo.radius_predicted,
    });
    progress(9, total);

    // 11. binary update gate + hard-tanh, σ_r = 0 (THEORY.md §4): units with
    // z = 0 give eigenvalues exactly at 1, saturated units with z = 1 exactly
    // at 0, the active ones a disk of radius r0 σ_h √(n_active/N)
    let mut net = Net::random(
        Model::Gru,
        n,
        &[
            GateScale::recurrent(1e8),
            GateScale::recurrent(0.0),
            GateScale::recurrent(3.0),
        ],
        Activation::HardTanh,
        70,
    )?;
    net.run(100, || {})?;
    let (frozen, saturated, active) = {
        let t = net.gru_trace();
        let frozen = t.z.iter().filter(|&&z| z == 0.0).count();
        let saturated = (0..n)
            .filter(|&i| t.z[i] == 1.0 && t.a_h[i].abs() >= 1.0)
            .count();
        let active = (0..n)
            .filter(|&i| t.z[i] == 1.0 && t.a_h[i].abs() < 1.0)
            .count();
        (frozen, saturated, active)
    };
    let ev = eigen::eigenvalues(&eigen::jacobian(&net)?)?;
    let at_one = ev
        .iter()
        .filter(|z| (**z - Complex::new(1.0, 0.0)).abs() < 1e-9)
        .count();
    let at_zero = ev.iter().filter(|z| z.abs() < 1e-9).count();
    let disk: Vec<&Complex> = ev
        .iter()
        .filter(|z| z.abs() >= 1e-9 && (**z - Complex::new(1.0, 0.0)).abs() >= 1e-9)
        .collect();
    checks.push(abs(
        "binary z, hard-tanh: eigenvalues at 1 = units with z=0",
        frozen as f64,
        at_one as f64,
        0.0,
    ));
    checks.push(abs(
        "binary z, hard-tanh: eigenvalues at 0 = saturated units",
        saturated as f64,
        at_zero as f64,
        0.0,
    ));
    checks.push(rel(
        "binary z, hard-tanh: disk radius r0 σ_h √(n_active/N)",
        0.5 * 3.0 * (active as f64 / n as f64).sqrt(),
        disk_radius(&disk, 0.0),
        0.05,
    ));
    plot::spectrum(
        &report.join("gru_binary_gate_hardtanh.png"),
        &ev,
        &circle(
            Complex::new(0.0, 0.0),
            1.5 * (active as f64 / n as f64).sqrt(),
        ),
        "GRU, binary update gate, hard-tanh, σ_r = 0",
    )?;

    // 10. fixed points at σ_h = 3 (N = 400): all unstable, radius as predicted
    let fp_cfg = crate::fixed_points::FixedPointConfig {
        n: n.min(400),
        sigmas: [1.0, 1.0, 3.0],
        seed: 60,
        steps: 200,
        starts: 10,
        max_iter: 60,
    };
    let fps = crate::fixed_points::find(&fp_cfg, |_| {})?;
    checks.push(at_least(
        &format!(
            "GRU fixed points (σ_h=3, N={}): found (of {} starts, {} converged)",
            fp_cfg.n, fp_cfg.starts, fps.converged
        ),
        1.0,
        fps.fixed_points.len() as f64,
    ));
    checks.push(abs(
        "GRU fixed points: all unstable (count stable)",
        0.0,
        fps.fixed_points.iter().filter(|f| f.stable).count() as f64,
        0.0,
    ));
    for (k, f) in fps.fixed_points.iter().enumerate() {
        checks.push(rel(
            &format!("GRU fixed point {k}: radius vs own support"),
            f.radius_predicted,
            f.radius_empirical,
            0.05,
        ));
    }
    progress(10, total);

    let phase = crate::phase::compute(3.5, 16.0, 200, |_| {})?;
    plot::phase_diagram(&report.join("gru_phase_diagram.png"), &phase)?;

    let v = Validation {
        n,
        checks,
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_summary(&v, report)?;
    Ok(v)
}

fn slow_rows(
    out: &mut Vec<Check>,
    model: &str,
    gate: &str,
    min_gain: f64,
    sm: &sweep::SlowModes,
    report: &Path,
    file: &str,
) -> Result<(), HostError> {
    let at = sm.delta.iter().position(|d| *d >= 0.01).unwrap_or(0);
    let (lo, hi) = (sm.curves[0].1[at], sm.curves[1].1[at]);
    out.push(Check {
        name: format!("{model} slow modes: share within 0.01 of λ=1, σ_{gate} 1 → 100"),
        predicted: lo,
        measured: hi,
        tolerance: format!("grows ≥ {min_gain}"),
        pass: hi >= lo + min_gain,
    });
    let series: Vec<plot::Series> = sm
        .curves
        .iter()
        .map(|(v, c)| plot::Series {
            label: format!("σ_{gate} = {v}"),
            points: sm.delta.iter().copied().zip(c.iter().copied()).collect(),
            thin: false,
        })
        .collect();
    plot::log_x_lines(
        &report.join(file),
        &format!("{model}: eigenvalues near λ = 1"),
        "δ",
        "fraction with |λ − 1| ≤ δ",
        &series,
    )
}

/// Rows for a disk of eigenvalues predicted at `(centre, radius)`: the
/// centre (mean of `disk`, abs 0.01), the radius (90 % quantile, rel 2 %),
/// and a figure of all eigenvalues `ev` with the predicted circle.
fn disk_rows(
    out: &mut Vec<Check>,
    label: &str,
    (centre, radius): (f64, f64),
    ev: &[Complex],
    disk: &[&Complex],
    figure: &Path,
) -> Result<(), HostError> {
    let measured_centre = disk.iter().map(|z| z.re).sum::<f64>() / disk.len().max(1) as f64;
    out.push(abs(
        &format!("{label}: centre"),
        centre,
        measured_centre,
        0.01,
    ));
    out.push(rel(
        &format!("{label}: radius (90% quantile)"),
        radius,
        disk_radius(disk, measured_centre),
        0.02,
    ));
    plot::spectrum(
        figure,
        ev,
        &circle(Complex::new(centre, 0.0), radius),
        label,
    )
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
    d.sort_by(f64::total_cmp);
    d[((0.9 * d.len() as f64) as usize).min(d.len() - 1)] / 0.9f64.sqrt()
}

fn circle(c: Complex, r: f64) -> Vec<Complex> {
    (0..360)
        .map(|k| c + Complex::from_polar(r, (k as f64).to_radians()))
        .collect()
}

fn write_summary(v: &Validation, report: &Path) -> Result<(), HostError> {
    let mut md = format!(
        "# gatedyn validate\n\nN = {}, {:.1} s, {} of {} checks passed.\n\n| check | predicted | measured | tolerance | result |\n|---|---|---|---|---|\n",
        v.n,
        v.seconds,
        v.checks.iter().filter(|c| c.pass).count(),
        v.checks.len()
    );
    for c in &v.checks {
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
    for f in [
        "gru_zero_fixed_point",
        "gru_reset_only",
        "gru_update_only",
        "gru_both_gates",
        "gru_reset_scaling",
        "gru_slow_modes",
        "lstm_zero_fixed_point",
        "lstm_slow_modes",
        "lstm_io_1",
        "lstm_io_10",
        "gru_binary_gate_hardtanh",
        "gru_phase_diagram",
    ] {
        md.push_str(&format!("![{f}]({f}.png)\n\n"));
    }
    md.push_str("The binary-gate/hard-tanh rows use a trajectory state, not a fixed point: with a binary update gate the Jacobian has the same structure at any state (σ'(a_z) = 0).\n");
    std::fs::write(report.join("summary.md"), md)
        .map_err(|e| HostError::Io(format!("cannot write summary.md: {e}")))?;
    let json = serde_json::to_string_pretty(v).map_err(|e| HostError::Io(e.to_string()))?;
    std::fs::write(report.join("summary.json"), json)
        .map_err(|e| HostError::Io(format!("cannot write summary.json: {e}")))
}
