//! The search: fixed points counted from random starts, and the Lyapunov
//! exponent of the same networks, over the grid.

use super::config::*;
use super::summary::*;
use crate::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use crate::net::{Net, Scales};
use crate::theory::fixed_points::solver::{residual, rms, rms_distance, solve, DISTINCT};
use crate::theory::lyapunov::run_from;
use crate::HostError;
use gatedyn::init::GruScales;
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn::mft::Mft;
use gatedyn::Activation;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `N(0, scale²)` entries from `rng` (Box–Muller, as deterministic as the
/// seed).
pub(crate) fn gaussian_state(rng: &mut XorShiftRng, n: usize, scale: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let u1 = uniform(rng).max(1e-300);
        let u2 = uniform(rng);
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        out.push(scale * r * t.cos());
        if out.len() < n {
            out.push(scale * r * t.sin());
        }
    }
    out
}

/// Uniform on `[0, 1)` with 53 random bits.
pub(crate) fn uniform(rng: &mut XorShiftRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The `k`-th start of the search on `net` (deterministic in `seed, k`).
pub(crate) fn start(net: &mut Net, seed: u64, k: usize, large: f64) -> Result<Vec<f64>, HostError> {
    let n = net.n();
    let mut rng =
        XorShiftRng::seed_from_u64(seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(k as u64 + 1)));
    if k.is_multiple_of(2) {
        let a = [1.0 / 3.0, 2.0 / 3.0, 1.0][(k / 2) % 3];
        Ok((0..n)
            .map(|_| a * (2.0 * uniform(&mut rng) - 1.0))
            .collect())
    } else {
        let h = gaussian_state(&mut rng, n, large);
        net.h_mut().copy_from_slice(&h);
        net.run(3 + 7 * ((k / 2) % 30), || {})?;
        Ok(net.h().to_vec())
    }
}

/// The fixed points of `net` from `budget.starts` starts (in parallel),
/// deduplicated in start order.
pub fn count_fixed_points(
    net: &Net,
    seed: u64,
    budget: SearchBudget,
    large: f64,
) -> Result<SearchOutcome, HostError> {
    let n = net.n();
    let results: Vec<Option<Vec<f64>>> = (0..budget.starts)
        .into_par_iter()
        .map_init(
            || net.clone(),
            |net, k| -> Result<Option<Vec<f64>>, HostError> {
                let s = start(net, seed, k, large)?;
                Ok(solve(net, &s, budget.max_iter)?.map(|(h, _)| h))
            },
        )
        .collect::<Result<_, _>>()?;
    let converged = results.iter().flatten().count();
    let mut distinct: Vec<Vec<f64>> = vec![];
    let mut last_new_at = 0;
    for (k, h) in results.into_iter().enumerate() {
        let Some(h) = h else { continue };
        if !distinct.iter().any(|d| rms_distance(d, &h) < DISTINCT) {
            distinct.push(h);
            last_new_at = k + 1;
        }
    }
    let mut net = net.clone();
    let (mut stable, mut zero_found, mut max_rms, mut max_radius) = (0, false, 0.0f64, 0.0f64);
    for h in &distinct {
        let rms = rms(h);
        residual(&mut net, h)?;
        let radius = max_modulus(&eigenvalues(&jacobian(&net)?)?);
        if radius < 1.0 {
            stable += 1;
        }
        if rms < DISTINCT {
            zero_found = true;
        } else {
            max_radius = max_radius.max(radius);
        }
        max_rms = max_rms.max(rms);
    }
    let count = distinct.len();
    Ok(SearchOutcome {
        starts: budget.starts,
        converged,
        fixed_points: count,
        stable,
        zero_found,
        log_count_per_n: if count > 0 {
            (count as f64).ln() / n as f64
        } else {
            0.0
        },
        last_new_at,
        saturated: last_new_at <= budget.starts - budget.starts / 4,
        max_rms,
        max_radius,
    })
}

/// `λ_max` of `net` from an `N(0, scale²)` state drawn from `seed`.
pub(crate) fn lyapunov_from(
    net: &Net,
    seed: u64,
    scale: f64,
    options: &LyapunovOptions,
) -> Result<StartOutcome, HostError> {
    let mut net = net.clone();
    let mut rng = XorShiftRng::seed_from_u64(seed.wrapping_add(0x5eed));
    let h = gaussian_state(&mut rng, net.n(), scale);
    net.h_mut().copy_from_slice(&h);
    let r = run_from(net, seed, 1, options, |_, _| {})?;
    Ok(StartOutcome {
        scale,
        lambda_max: r.largest,
        error: r.largest_error,
        chaotic: r.largest - 2.0 * r.largest_error > 0.0,
        mean_square_activity: r.mean_square_activity,
    })
}

/// One network at one point.
pub fn measure(cfg: &ComplexityConfig, at: &GridPoint) -> Result<ComplexityPoint, HostError> {
    let GridPoint {
        sigma_h,
        sigma_r,
        n,
        seed,
    } = *at;
    let t0 = std::time::Instant::now();
    let net = Net::random(
        n,
        Scales::Gru(GruScales::recurrent(cfg.sigma_z, sigma_r, sigma_h)),
        Activation::Tanh,
        seed,
    )?;
    let search = match cfg.search {
        Some(b) if n <= MAX_SEARCH_N => Some(count_fixed_points(&net, seed, b, cfg.large_start)?),
        _ => None,
    };
    let (small, large) = rayon::join(
        || {
            cfg.small_start
                .map(|s| lyapunov_from(&net, seed, s, &cfg.lyapunov))
                .transpose()
        },
        || lyapunov_from(&net, seed, cfg.large_start, &cfg.lyapunov),
    );
    Ok(ComplexityPoint {
        sigma_h,
        sigma_r,
        n,
        seed,
        search,
        small_start: small?,
        large_start: large?,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Runs the sweep; `progress(done, total)` after each network (from any
/// thread).
pub fn run(
    cfg: &ComplexityConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ComplexityReport, HostError> {
    check(cfg)?;
    let t0 = std::time::Instant::now();
    let mft = Mft::new();
    let critical: Vec<(f64, Option<f64>)> = cfg
        .sigma_h
        .iter()
        .map(|&sh| {
            let inside = sh > std::f64::consts::SQRT_2 && sh < 2.0;
            (
                sh,
                inside.then(|| mft.bifurcation_sigma_r(sh).ok()).flatten(),
            )
        })
        .collect();
    let mut jobs = vec![];
    for &sh in &cfg.sigma_h {
        for &n in &cfg.sizes {
            for &sr in &cfg.sigma_r {
                for j in 0..cfg.networks {
                    jobs.push((sh, sr, n, cfg.seed + j as u64));
                }
            }
        }
    }
    let total = jobs.len();
    let done = AtomicUsize::new(0);
    let points: Vec<ComplexityPoint> = jobs
        .par_iter()
        .map(|&(sh, sr, n, seed)| {
            let p = measure(
                cfg,
                &GridPoint {
                    sigma_h: sh,
                    sigma_r: sr,
                    n,
                    seed,
                },
            );
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            p
        })
        .collect::<Result<_, _>>()?;
    let summary = summarise(cfg, &points);
    let onsets = onsets(cfg, &summary);
    let extrapolations = extrapolate(&onsets, &critical);
    Ok(ComplexityReport {
        sigma_z: cfg.sigma_z,
        sigma_r_critical: critical,
        search_starts: cfg.search.map(|s| s.starts),
        search_max_iter: cfg.search.map(|s| s.max_iter),
        lyapunov_transient: cfg.lyapunov.transient,
        lyapunov_steps: cfg.lyapunov.steps,
        points,
        summary,
        onsets,
        extrapolations,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
