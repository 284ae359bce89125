//! One function per figure, used by the subcommand that draws it and by
//! `gatedyn validate` alike (so the two cannot drift apart). Each writes
//! SVG or PNG by the extension of `path`, atomically. [`plot`] holds the
//! drawing itself (lines, spectra, bars, heat maps).
//!
//! May import: the crate root, `io`, `net`, `theory`.

pub mod plot;

use crate::theory::analyze::AnalyzeReport;
use crate::theory::complexity::Axis;
use crate::theory::fixed_points::trained::{principal_axes, PointSearch, Stability};
use crate::theory::phase::PhaseDiagram;
use crate::theory::spectrum::{MatrixFreeReport, SpectrumReport};
use crate::theory::sweep::{Scaling, SlowModes};
use crate::HostError;
use crate::Param;
use gatedyn::Complex;
use plot::Series;
use std::path::{Path, PathBuf};

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
        Err(HostError::invalid(
            Param::Plot,
            " needs a positive value among the swept values (the σ axis is logarithmic)".into(),
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
        &plot::Labels {
            title: &format!("{} N={}: radius against σ_{}", s.model, s.n, s.gate),
            x: &format!("σ_{}", s.gate),
            y: "spectral radius",
        },
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
        &plot::Labels {
            title: &format!("{} N={}: eigenvalues near λ = 1", s.model, s.n),
            x: "δ",
            y: "fraction with |λ − 1| ≤ δ",
        },
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

/// The figures of `gatedyn analyze`, in `dir` with extension `ext` (`svg`
/// or `png`): `eigenvalues` at the last sample with the predicted support
/// (when the theory applies; dense runs only), `timeline` (radius and the
/// share of slow modes along time) and `timescales` (histogram of
/// `log10 τ`, dense runs only). Returns the files written.
pub fn analyze(dir: &Path, ext: &str, r: &AnalyzeReport) -> Result<Vec<PathBuf>, HostError> {
    let mut written = vec![];
    let name = format!("{}, {}", r.model.path, r.model.describe());
    if !r.eigenvalues.is_empty() {
        let p = dir.join(format!("eigenvalues.{ext}"));
        let ev: Vec<Complex> = r
            .eigenvalues
            .iter()
            .map(|&[re, im]| Complex::new(re, im))
            .collect();
        let predicted = match r.theory.radius_predicted {
            Some(p) => format!(" (predicted {p:.3})"),
            None => " (no prediction for this form)".into(),
        };
        let t = r.samples.last().map_or(0, |s| s.t);
        let title = format!("t={t}: radius {:.3}{predicted}", r.theory.radius_measured);
        plot::spectrum(&p, &ev, &r.curve, &title)?;
        written.push(p);
    }
    let p = dir.join(format!("timeline.{ext}"));
    let dim = (r.model.n
        * if r.model.cell == crate::net::Cell::Lstm {
            2
        } else {
            1
        }) as f64;
    let mut series = vec![Series {
        label: "spectral radius".into(),
        points: r.samples.iter().map(|s| (s.t as f64, s.radius)).collect(),
        thin: false,
    }];
    if r.slow_modes_mean.is_some() {
        series.push(Series {
            label: format!("share of |λ| > 1 − {}", r.slow_epsilon),
            points: r
                .samples
                .iter()
                .filter_map(|s| s.slow_modes.map(|k| (s.t as f64, k as f64 / dim)))
                .collect(),
            thin: false,
        });
    }
    plot::lines(
        &p,
        &plot::Labels {
            title: &format!("{name}: along the inputs"),
            x: "step t",
            y: "",
        },
        &series,
    )?;
    written.push(p);
    if !r.all_timescales.is_empty() {
        let logs: Vec<f64> = r.all_timescales.iter().map(|t| t.log10()).collect();
        let lo = logs
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .floor()
            .max(-3.0);
        let hi = logs
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .ceil()
            .max(lo + 1.0);
        let k = 40;
        let w = (hi - lo) / k as f64;
        let mut bins: Vec<(f64, f64, usize)> = (0..k)
            .map(|j| (lo + j as f64 * w, lo + (j + 1) as f64 * w, 0))
            .collect();
        for l in logs {
            let j = (((l - lo) / w) as usize).min(k - 1);
            bins[j].2 += 1;
        }
        let p = dir.join(format!("timescales.{ext}"));
        plot::histogram(
            &p,
            &format!("timescales τ = −1/ln|λ| over {} samples", r.samples.len()),
            "log10 τ (steps)",
            &bins,
        )?;
        written.push(p);
    }
    Ok(written)
}

/// The second file of [`complexity`]: `PATH` with `_lyapunov` before the
/// extension.
pub fn complexity_lyapunov_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "complexity".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    path.with_file_name(format!("{stem}_lyapunov{ext}"))
}

/// The complexity sweep in two figures: the mean number of fixed points
/// (or, without a search, `⟨h²⟩` from the large state) at `path`, and the
/// mean `λ_max` from the small and the large state at
/// [`complexity_lyapunov_path`], both against `σ_r` (log axis) or, when
/// only `σ_h` varies, against `σ_h`; the transition (`σ_r*(σ_h)` of the
/// mean-field theory, or `σ_h = 2`) as a vertical line.
pub fn complexity(
    path: &Path,
    r: &crate::theory::complexity::ComplexityReport,
) -> Result<(), HostError> {
    let mut hs: Vec<f64> = r.summary.iter().map(|s| s.sigma_h).collect();
    hs.sort_by(f64::total_cmp);
    hs.dedup();
    let mut rs: Vec<f64> = r.summary.iter().map(|s| s.sigma_r).collect();
    rs.sort_by(f64::total_cmp);
    rs.dedup();
    let mut ns: Vec<usize> = r.summary.iter().map(|s| s.n).collect();
    ns.sort_unstable();
    ns.dedup();
    let along = r.along();
    let along_h = along == Axis::SigmaH;
    let log_x = !along_h && rs.first().is_some_and(|&x| x > 0.0);
    let searched = r.summary.iter().any(|s| s.fixed_points_mean.is_some());
    // one curve per (σ_h, N) (per (σ_r, N) along σ_h)
    let curves =
        |y: &dyn Fn(&crate::theory::complexity::SummaryRow) -> f64, tag: &str| -> Vec<Series> {
            let mut out = vec![];
            let outer: Vec<f64> = if along_h { rs.clone() } else { hs.clone() };
            for &o in &outer {
                for &n in &ns {
                    let mut pts: Vec<(f64, f64)> = r
                        .summary
                        .iter()
                        .filter(|s| s.n == n && s.axis(along).0 == o)
                        .map(|s| (s.axis(along).1, y(s)))
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let name = along.other_symbol();
                    out.push(Series {
                        label: format!("{tag}{name}={o}, N={n}"),
                        points: pts,
                        thin: false,
                    });
                }
            }
            out
        };
    let marks: Vec<(f64, String)> = if along_h {
        vec![(2.0, "σ_h = 2".into())]
    } else {
        r.sigma_r_critical
            .iter()
            .filter_map(|&(sh, c)| c.map(|c| (c, format!("σ_r*({sh}) = {c:.3} (mean field)"))))
            .collect()
    };
    let with_marks = |mut s: Vec<Series>| -> Vec<Series> {
        let ys = s.iter().flat_map(|c| c.points.iter().map(|p| p.1));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        if lo.is_finite() && hi.is_finite() {
            for (x, label) in &marks {
                s.push(Series {
                    label: label.clone(),
                    points: vec![(*x, lo), (*x, hi)],
                    thin: true,
                });
            }
        }
        s
    };
    let x_desc = along.symbol();
    let draw = |p: &Path, title: &str, y_desc: &str, s: Vec<Series>| {
        if log_x {
            plot::log_x_lines(
                p,
                &plot::Labels {
                    title,
                    x: x_desc,
                    y: y_desc,
                },
                &with_marks(s),
            )
        } else {
            plot::lines(
                p,
                &plot::Labels {
                    title,
                    x: x_desc,
                    y: y_desc,
                },
                &with_marks(s),
            )
        }
    };
    if searched {
        draw(
            path,
            "fixed points found (mean over networks; a lower bound)",
            "fixed points",
            curves(&|s| s.fixed_points_mean.unwrap_or(f64::NAN), ""),
        )?;
    } else {
        draw(
            path,
            "⟨h²⟩ at the end of the run from the large state",
            "⟨h²⟩",
            curves(&|s| s.activity_large_mean, ""),
        )?;
    }
    let mut lyap = curves(&|s| s.lambda_large_mean, "large start, ");
    if r.summary.iter().all(|s| s.lambda_small_mean.is_some()) {
        lyap.extend(curves(
            &|s| s.lambda_small_mean.unwrap_or(f64::NAN),
            "small start, ",
        ));
    }
    draw(
        &complexity_lyapunov_path(path),
        "largest Lyapunov exponent (mean over networks)",
        "λ_max per step",
        lyap,
    )
}

/// `m(T)^{1/(2T)}` of the dense products and of the theory against `T`,
/// with the theory's limit and the measured spectral radius.
pub fn long_term(
    path: &Path,
    r: &crate::theory::long_term::LongTermReport,
) -> Result<(), HostError> {
    let t_max = r.rows.last().map_or(1.0, |row| row.t as f64);
    let flat = |label: String, y: f64| Series {
        label,
        points: vec![(1.0, y), (t_max, y)],
        thin: true,
    };
    plot::lines(
        path,
        &plot::Labels {
            title: &format!(
                "long-term Jacobian, {} update gate, N={}, σ_h={}",
                r.gate, r.n, r.sigma_h
            ),
            x: "T",
            y: "m(T)^(1/2T)",
        },
        &[
            Series {
                label: "dense products J^T".into(),
                points: r
                    .rows
                    .iter()
                    .map(|row| (row.t as f64, row.root_measured))
                    .collect(),
                thin: false,
            },
            Series {
                label: "theory m(T)".into(),
                points: r
                    .rows
                    .iter()
                    .map(|row| (row.t as f64, row.root_predicted))
                    .collect(),
                thin: false,
            },
            flat(format!("limit {:.4} (Gelfand)", r.limit), r.limit),
            flat(format!("measured radius {:.4}", r.radius), r.radius),
        ],
    )
}

/// The fixed points of a trained network among the states it visited
/// (`pool`), on the pool's top three principal components: the states in
/// grey, stable points black, marginal blue, unstable red with their
/// unstable direction as a short red line.
pub fn fixed_points(
    path: &Path,
    pool: &[Vec<f64>],
    r: &PointSearch,
    title: &str,
) -> Result<(), HostError> {
    use plotters::style::RGBColor;
    let (mean, axes) = principal_axes(pool)?;
    let project = |x: &[f64]| {
        let c = |k: usize| {
            axes.get(k).map_or(0.0, |a: &Vec<f64>| {
                a.iter()
                    .zip(x)
                    .zip(&mean)
                    .map(|((a, x), m)| a * (x - m))
                    .sum()
            })
        };
        (c(0), c(1), c(2))
    };
    let spread = pool
        .iter()
        .map(|s| {
            let (a, b, c) = project(s);
            (a * a + b * b + c * c).sqrt()
        })
        .fold(0.0, f64::max);
    let mut clouds = vec![plot::Cloud {
        label: format!("visited states ({})", pool.len()),
        points: pool.iter().map(|s| project(s)).collect(),
        colour: RGBColor(190, 190, 190),
        size: 1,
    }];
    let mut segments = vec![];
    for (class, label, colour) in [
        (Stability::Stable, "stable", RGBColor(0, 0, 0)),
        (
            Stability::Marginal,
            "marginal (|λ| ≈ 1)",
            RGBColor(31, 119, 180),
        ),
        (Stability::Unstable, "unstable", RGBColor(214, 39, 40)),
    ] {
        let points: Vec<_> = r.fixed_points.iter().filter(|p| p.class == class).collect();
        for p in &points {
            if let Some(v) = &p.unstable_direction {
                let ends: Vec<Vec<f64>> = [-1.0, 1.0]
                    .iter()
                    .map(|s| {
                        p.full_state
                            .iter()
                            .zip(v)
                            .map(|(x, d)| x + s * 0.1 * spread.max(1e-9) * d)
                            .collect()
                    })
                    .collect();
                let (a, b) = (project(&ends[0]), project(&ends[1]));
                segments.push(plot::Segment {
                    from: a,
                    to: b,
                    colour,
                });
            }
        }
        clouds.push(plot::Cloud {
            label: format!("{label} ({})", points.len()),
            points: points.iter().map(|p| project(&p.full_state)).collect(),
            colour,
            size: 5,
        });
    }
    plot::cube(
        path,
        &format!("{title}: fixed points on the top 3 principal components"),
        &clouds,
        &segments,
    )
}
