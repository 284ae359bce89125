//! The grid's summary: means over networks, the onsets of complexity and
//! of chaos, and their extrapolation.

use super::config::*;
use crate::net::mean;

pub(crate) fn summarise(cfg: &ComplexityConfig, points: &[ComplexityPoint]) -> Vec<SummaryRow> {
    let mut rows = vec![];
    for &sh in &cfg.sigma_h {
        for &n in &cfg.sizes {
            for &sr in &cfg.sigma_r {
                let ps: Vec<&ComplexityPoint> = points
                    .iter()
                    .filter(|p| p.sigma_h == sh && p.sigma_r == sr && p.n == n)
                    .collect();
                let searched: Vec<&SearchOutcome> =
                    ps.iter().filter_map(|p| p.search.as_ref()).collect();
                let some = !searched.is_empty();
                let large: Vec<f64> = ps.iter().map(|p| p.large_start.lambda_max).collect();
                rows.push(SummaryRow {
                    sigma_h: sh,
                    sigma_r: sr,
                    n,
                    networks: ps.len(),
                    fixed_points_mean: some
                        .then(|| mean(searched.iter().map(|s| s.fixed_points as f64))),
                    fixed_points_range: some.then(|| {
                        [
                            searched.iter().map(|s| s.fixed_points).min().unwrap_or(0),
                            searched.iter().map(|s| s.fixed_points).max().unwrap_or(0),
                        ]
                    }),
                    stable_mean: some.then(|| mean(searched.iter().map(|s| s.stable as f64))),
                    log_count_per_n_mean: some
                        .then(|| mean(searched.iter().map(|s| s.log_count_per_n))),
                    saturated: some.then(|| searched.iter().filter(|s| s.saturated).count()),
                    lambda_small_mean: ps
                        .iter()
                        .map(|p| p.small_start.as_ref().map(|s| s.lambda_max))
                        .collect::<Option<Vec<f64>>>()
                        .map(mean),
                    lambda_large_mean: mean(large.iter().copied()),
                    lambda_large_range: [
                        large.iter().copied().fold(f64::INFINITY, f64::min),
                        large.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    ],
                    chaotic_large: ps.iter().filter(|p| p.large_start.chaotic).count(),
                    activity_large_mean: mean(
                        ps.iter().map(|p| p.large_start.mean_square_activity),
                    ),
                });
            }
        }
    }
    rows
}

/// The scale the sweep varies: `σ_h` when only it takes several values,
/// else `σ_r`.
pub(crate) fn along(cfg: &ComplexityConfig) -> Axis {
    if cfg.sigma_r.len() == 1 && cfg.sigma_h.len() > 1 {
        Axis::SigmaH
    } else {
        Axis::SigmaR
    }
}

/// The first sign change of the mean large-state `λ_max` along the sorted
/// grid of the varying scale, interpolated in its log (linearly from 0).
pub(crate) fn onsets(cfg: &ComplexityConfig, rows: &[SummaryRow]) -> Vec<Onset> {
    let along = along(cfg);
    let outer = match along {
        Axis::SigmaH => &cfg.sigma_r,
        Axis::SigmaR => &cfg.sigma_h,
    };
    let mut out = vec![];
    for &fixed in outer {
        for &n in &cfg.sizes {
            let mut line: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.n == n && r.axis(along).0 == fixed)
                .map(|r| (r.axis(along).1, r.lambda_large_mean))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut onset = Onset {
                along,
                fixed,
                n,
                bracket: None,
                value: None,
            };
            for w in line.windows(2) {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if y0 < 0.0 && y1 >= 0.0 {
                    let t = -y0 / (y1 - y0);
                    let x = if x0 > 0.0 {
                        (x0.ln() + t * (x1.ln() - x0.ln())).exp()
                    } else {
                        x0 + t * (x1 - x0)
                    };
                    onset.bracket = Some([x0, x1]);
                    onset.value = Some(x);
                    break;
                }
            }
            out.push(onset);
        }
    }
    out
}

/// Least squares `σ_onset = σ_∞ + b N^(−ν)` per `σ_h` with three onsets
/// or more.
pub(crate) fn extrapolate(onsets: &[Onset], critical: &[(f64, Option<f64>)]) -> Vec<Extrapolation> {
    let mut out = vec![];
    let mut groups: Vec<(Axis, f64)> = onsets.iter().map(|o| (o.along, o.fixed)).collect();
    groups.dedup();
    for (along, fixed) in groups {
        let theory = if along == Axis::SigmaH {
            Some(2.0)
        } else {
            critical.iter().find(|c| c.0 == fixed).and_then(|c| c.1)
        };
        let pts: Vec<(usize, f64)> = onsets
            .iter()
            .filter(|o| o.along == along && o.fixed == fixed)
            .filter_map(|o| o.value.map(|s| (o.n, s)))
            .collect();
        if pts.len() < 3 {
            continue;
        }
        let ys: Vec<f64> = pts.iter().map(|&(_, s)| s).collect();
        // the least-squares line in N^-ν for ν on a grid of 0.05 to 3
        let fit = |step: u32| {
            let nu = step as f64 / 100.0;
            let xs: Vec<f64> = pts.iter().map(|&(n, _)| (n as f64).powf(-nu)).collect();
            let (mx, my) = (mean(xs.iter().copied()), mean(ys.iter().copied()));
            let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
            let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let b = sxy / sxx;
            let s_inf = my - b * mx;
            let rms = mean(xs.iter().zip(&ys).map(|(x, y)| (y - s_inf - b * x).powi(2))).sqrt();
            (s_inf, b, nu, rms)
        };
        let mut best = fit(5);
        for step in 6..=300 {
            let candidate = fit(step);
            if candidate.3 < best.3 {
                best = candidate;
            }
        }
        let (s_inf, b, nu, rms) = best;
        out.push(Extrapolation {
            along,
            fixed,
            sizes: pts.iter().map(|p| p.0).collect(),
            infinity: s_inf,
            amplitude: b,
            exponent: nu,
            rms_residual: rms,
            degrees_of_freedom: pts.len() - 3,
            theory,
        });
    }
    out
}
