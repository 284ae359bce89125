//! `gatedyn complexity`: the paper's phase-space-complexity claim
//! (docs/THEORY.md §10) measured on finite random GRUs: for each
//! `(σ_h, σ_r, N)` and several networks, the fixed points found by
//! Levenberg–Marquardt from many starts (deduplicated, zero included), how
//! many are stable, `ln(count)/N`, whether the count saturated, and the
//! largest Lyapunov exponent from a small and from a large initial state;
//! per `(σ_h, N)` the onset of chaos from large states interpolated on the
//! `σ_r` grid, and its extrapolation to `N → ∞`.

use crate::eigen::{eigenvalues, jacobian, max_modulus};
use crate::fixed_points::{residual, rms, rms_distance, solve, DISTINCT};
use crate::limits::check_memory;
use crate::lyapunov::run_from;
use crate::network::{weight_bytes, Cell, Net, Scales};
use crate::HostError;
use gatedyn::init::{GateScale, GruScales};
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn::mft::Mft;
use gatedyn::Activation;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest `N` at which fixed points are searched (dense `N×N`
/// Levenberg–Marquardt from every start).
pub const MAX_SEARCH_N: usize = 256;

/// The fixed-point search's budget.
#[derive(Debug, Clone, Copy)]
pub struct SearchBudget {
    /// Starts per network: half uniform in the cube `(−a, a)^N` (`a` cycling
    /// through 1/3, 2/3, 1: every fixed point lies in `(−1, 1)^N`, since
    /// `h* = φ(·)`), half states of trajectories from large random states.
    pub starts: usize,
    /// Levenberg–Marquardt iterations per start.
    pub max_iter: usize,
}

/// One sweep.
#[derive(Debug, Clone)]
pub struct ComplexityConfig {
    /// The `σ_h` values.
    pub sigma_h: Vec<f64>,
    /// The `σ_r` values.
    pub sigma_r: Vec<f64>,
    /// `σ_z` (fixed points do not depend on it, their stability does).
    pub sigma_z: f64,
    /// Hidden sizes.
    pub sizes: Vec<usize>,
    /// Networks per point (seeds `seed, seed + 1, …`).
    pub networks: usize,
    /// First network seed.
    pub seed: u64,
    /// Fixed-point search (`None`: Lyapunov exponents only; also skipped
    /// for `N >` [`MAX_SEARCH_N`]).
    pub search: Option<SearchBudget>,
    /// The Lyapunov runs (`k = 1`).
    pub lyapunov: LyapunovOptions,
    /// Standard deviation of the small initial state (`None`: no run from
    /// a small state; at large N it costs as much as the large one).
    pub small_start: Option<f64>,
    /// Standard deviation of the large initial state (also of the
    /// trajectories the search starts from).
    pub large_start: f64,
}

/// The fixed points of one network.
#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    /// Starts tried.
    pub starts: usize,
    /// Starts that converged (residual rms < 1e-10).
    pub converged: usize,
    /// Distinct fixed points (rms distance > 1e-6), zero included.
    pub fixed_points: usize,
    /// Of them, stable (every |λ| < 1).
    pub stable: usize,
    /// Whether `h = 0` was among them.
    pub zero_found: bool,
    /// `ln(fixed_points) / N`.
    pub log_count_per_n: f64,
    /// 1-based index of the start that found the last new point.
    pub last_new_at: usize,
    /// No new point in the last quarter of the starts (the count is a
    /// lower bound either way).
    pub saturated: bool,
    /// Largest `√⟨h*²⟩` among them.
    pub max_rms: f64,
    /// Largest Jacobian radius among the non-zero ones (0 if none).
    pub max_radius: f64,
}

/// The largest Lyapunov exponent from one initial state.
#[derive(Debug, Clone, Serialize)]
pub struct StartOutcome {
    /// Standard deviation of the initial state.
    pub scale: f64,
    /// `λ_max` per step.
    pub lambda_max: f64,
    /// Its standard error (batch means).
    pub error: f64,
    /// `λ_max − 2 error > 0`.
    pub chaotic: bool,
    /// `⟨h²⟩` at the end.
    pub mean_square_activity: f64,
}

/// One network at one point.
#[derive(Debug, Clone, Serialize)]
pub struct ComplexityPoint {
    /// `σ_h`.
    pub sigma_h: f64,
    /// `σ_r`.
    pub sigma_r: f64,
    /// Hidden size.
    pub n: usize,
    /// Network seed.
    pub seed: u64,
    /// Fixed points (`None` where not searched).
    pub search: Option<SearchOutcome>,
    /// From the small initial state (`None` when not run).
    pub small_start: Option<StartOutcome>,
    /// From the large initial state.
    pub large_start: StartOutcome,
    /// Seconds spent.
    pub seconds: f64,
}

impl SummaryRow {
    /// `(fixed, varying)`: `(σ_h, σ_r)`, or `(σ_r, σ_h)` when the sweep
    /// varies `σ_h` only (`along_sigma_h`).
    pub fn axis(&self, along_sigma_h: bool) -> (f64, f64) {
        if along_sigma_h {
            (self.sigma_r, self.sigma_h)
        } else {
            (self.sigma_h, self.sigma_r)
        }
    }
}

impl ComplexityReport {
    /// Whether the sweep varied `σ_h` only (its onsets run along `σ_h`).
    pub fn along_sigma_h(&self) -> bool {
        self.onsets.first().is_some_and(|o| o.along == "sigma_h")
    }
}

impl ComplexityPoint {
    /// `λ_max` from the small state (NaN when it was not run).
    pub fn lambda_small(&self) -> f64 {
        self.small_start.as_ref().map_or(f64::NAN, |s| s.lambda_max)
    }
}

/// The networks of one `(σ_h, σ_r, N)` together.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// `σ_h`.
    pub sigma_h: f64,
    /// `σ_r`.
    pub sigma_r: f64,
    /// Hidden size.
    pub n: usize,
    /// Networks.
    pub networks: usize,
    /// Mean number of fixed points (`None` where not searched).
    pub fixed_points_mean: Option<f64>,
    /// Smallest and largest count over the networks.
    pub fixed_points_range: Option<[usize; 2]>,
    /// Mean number of stable fixed points.
    pub stable_mean: Option<f64>,
    /// Mean `ln(count)/N`.
    pub log_count_per_n_mean: Option<f64>,
    /// Networks whose count saturated.
    pub saturated: Option<usize>,
    /// Mean `λ_max` from the small state (`None` when not run).
    pub lambda_small_mean: Option<f64>,
    /// Mean `λ_max` from the large state.
    pub lambda_large_mean: f64,
    /// Smallest and largest `λ_max` from the large state.
    pub lambda_large_range: [f64; 2],
    /// Networks chaotic from the large state.
    pub chaotic_large: usize,
    /// Mean `⟨h²⟩` at the end of the large-state run.
    pub activity_large_mean: f64,
}

/// Where chaos from large states sets in along `σ_r` at one `(σ_h, N)`
/// (or along `σ_h` at one `(σ_r, N)` when only `σ_h` varies).
#[derive(Debug, Clone, Serialize)]
pub struct Onset {
    /// `"sigma_r"` or `"sigma_h"`: the scale that varies.
    pub along: &'static str,
    /// The other scale's value.
    pub fixed: f64,
    /// Hidden size.
    pub n: usize,
    /// The grid values around the first sign change of the mean `λ_max`
    /// (large state) from `< 0` to `≥ 0`; `None` when it does not change sign.
    pub bracket: Option<[f64; 2]>,
    /// The crossing, interpolated linearly in the log of the scale.
    pub value: Option<f64>,
}

/// `σ_onset(N) = σ_∞ + b N^(−ν)`, least squares over the sizes with an
/// onset (`σ_∞, b` linear, `ν` on a grid of 0.05..=3 in steps of 0.01).
#[derive(Debug, Clone, Serialize)]
pub struct Extrapolation {
    /// `"sigma_r"` or `"sigma_h"`: the scale whose onset is extrapolated.
    pub along: &'static str,
    /// The other scale's value.
    pub fixed: f64,
    /// The sizes used.
    pub sizes: Vec<usize>,
    /// `σ_∞` (of the varying scale).
    pub infinity: f64,
    /// `b`.
    pub amplitude: f64,
    /// `ν`.
    pub exponent: f64,
    /// rms of the fit's residuals (0 with three sizes: the fit is exact).
    pub rms_residual: f64,
    /// Sizes minus fitted parameters.
    pub degrees_of_freedom: usize,
    /// The mean-field transition: `σ_r*(σ_h)` (when `√2 < σ_h < 2`) or
    /// `σ_h = 2`.
    pub theory: Option<f64>,
}

/// The sweep's result, as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ComplexityReport {
    /// `σ_z`.
    pub sigma_z: f64,
    /// The mean-field `σ_r*(σ_h)` per `σ_h` (`None` outside `(√2, 2)`).
    pub sigma_r_critical: Vec<(f64, Option<f64>)>,
    /// Starts and iterations of the search (`None`: no search).
    pub search_starts: Option<usize>,
    /// Levenberg–Marquardt iterations per start.
    pub search_max_iter: Option<usize>,
    /// Transient and measured steps of each Lyapunov run.
    pub lyapunov_transient: usize,
    /// Measured steps.
    pub lyapunov_steps: usize,
    /// Every network.
    pub points: Vec<ComplexityPoint>,
    /// Per `(σ_h, σ_r, N)`.
    pub summary: Vec<SummaryRow>,
    /// Per `(σ_h, N)`.
    pub onsets: Vec<Onset>,
    /// Per `σ_h` with onsets at three sizes or more.
    pub extrapolations: Vec<Extrapolation>,
    /// Seconds spent.
    pub seconds: f64,
}

fn param(m: String) -> HostError {
    HostError::Param(m)
}

/// Validates a sweep before it starts.
pub fn check(cfg: &ComplexityConfig) -> Result<(), HostError> {
    for (flag, v) in [("--sigma-h", &cfg.sigma_h), ("--sigma-r", &cfg.sigma_r)] {
        if v.is_empty() {
            return Err(param(format!("{flag} needs at least one value")));
        }
    }
    if cfg.sizes.is_empty() || cfg.sizes.iter().any(|&n| n < 2) {
        return Err(param("--n: every size must be at least 2".into()));
    }
    if cfg.networks == 0 {
        return Err(param("--networks must be at least 1".into()));
    }
    if let Some(s) = cfg.search {
        if s.starts < 4 || s.max_iter == 0 {
            return Err(param(
                "--starts must be at least 4 and --max-iter at least 1".into(),
            ));
        }
    }
    for (flag, v) in [
        ("--small-start", cfg.small_start.unwrap_or(1.0)),
        ("--large-start", cfg.large_start),
    ] {
        if !(v > 0.0 && v <= 1e3) {
            return Err(param(format!("{flag} must be in (0, 1000], got {v}")));
        }
    }
    let o = &cfg.lyapunov;
    if o.batches < 2 || o.steps < o.batches {
        return Err(param(format!(
            "--steps must be at least --batches ({}) and --batches at least 2",
            o.batches
        )));
    }
    for &sh in &cfg.sigma_h {
        for &sr in &cfg.sigma_r {
            Scales::Gru(scales(cfg.sigma_z, sr, sh)).check()?;
        }
    }
    let n_max = *cfg.sizes.iter().max().expect("checked non-empty");
    // two networks alive per job (the two starts) and a job per thread
    let threads = rayon::current_num_threads() as u128;
    check_memory(
        "--n",
        n_max,
        threads * (2 * weight_bytes(Cell::Gru, n_max) + 8 * 11 * (n_max as u128).pow(2)),
    )
}

fn scales(sigma_z: f64, sigma_r: f64, sigma_h: f64) -> GruScales {
    let g = |sigma| GateScale {
        sigma,
        bias: 0.0,
        input: 0.0,
    };
    GruScales {
        z: g(sigma_z),
        r: g(sigma_r),
        h: g(sigma_h),
    }
}

/// `N(0, scale²)` entries from `rng` (Box–Muller, as deterministic as the
/// seed).
fn gaussian_state(rng: &mut XorShiftRng, n: usize, scale: f64) -> Vec<f64> {
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
fn uniform(rng: &mut XorShiftRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The `k`-th start of the search on `net` (deterministic in `seed, k`).
fn start(net: &mut Net, seed: u64, k: usize, large: f64) -> Result<Vec<f64>, HostError> {
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
fn lyapunov_from(
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
pub fn measure(
    cfg: &ComplexityConfig,
    sigma_h: f64,
    sigma_r: f64,
    n: usize,
    seed: u64,
) -> Result<ComplexityPoint, HostError> {
    let t0 = std::time::Instant::now();
    let net = Net::random(
        n,
        Scales::Gru(scales(cfg.sigma_z, sigma_r, sigma_h)),
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
            let p = measure(cfg, sh, sr, n, seed);
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

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, k) = v.fold((0.0, 0usize), |(s, k), x| (s + x, k + 1));
    s / k.max(1) as f64
}

fn summarise(cfg: &ComplexityConfig, points: &[ComplexityPoint]) -> Vec<SummaryRow> {
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
                        .map(|v| mean(v.into_iter())),
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

/// Whether the sweep varies `σ_h` only (then onsets are along `σ_h`).
fn along_sigma_h(cfg: &ComplexityConfig) -> bool {
    cfg.sigma_r.len() == 1 && cfg.sigma_h.len() > 1
}

/// The first sign change of the mean large-state `λ_max` along the sorted
/// grid of the varying scale, interpolated in its log (linearly from 0).
fn onsets(cfg: &ComplexityConfig, rows: &[SummaryRow]) -> Vec<Onset> {
    let along_h = along_sigma_h(cfg);
    let (outer, along) = if along_h {
        (&cfg.sigma_r, "sigma_h")
    } else {
        (&cfg.sigma_h, "sigma_r")
    };
    let mut out = vec![];
    for &fixed in outer {
        for &n in &cfg.sizes {
            let mut line: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.n == n && r.axis(along_h).0 == fixed)
                .map(|r| (r.axis(along_h).1, r.lambda_large_mean))
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
fn extrapolate(onsets: &[Onset], critical: &[(f64, Option<f64>)]) -> Vec<Extrapolation> {
    let mut out = vec![];
    let mut groups: Vec<(&'static str, f64)> = onsets.iter().map(|o| (o.along, o.fixed)).collect();
    groups.dedup();
    for (along, fixed) in groups {
        let theory = if along == "sigma_h" {
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
        let mut best: Option<(f64, f64, f64, f64)> = None;
        for step in 5..=300 {
            let nu = step as f64 / 100.0;
            let xs: Vec<f64> = pts.iter().map(|&(n, _)| (n as f64).powf(-nu)).collect();
            let (mx, my) = (mean(xs.iter().copied()), mean(ys.iter().copied()));
            let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
            let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let b = sxy / sxx;
            let s_inf = my - b * mx;
            let rms = mean(xs.iter().zip(&ys).map(|(x, y)| (y - s_inf - b * x).powi(2))).sqrt();
            if best.is_none_or(|(_, _, _, r)| rms < r) {
                best = Some((s_inf, b, nu, rms));
            }
        }
        let (s_inf, b, nu, rms) = best.expect("the grid is not empty");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(sigma_r: Vec<f64>, sizes: Vec<usize>) -> ComplexityConfig {
        ComplexityConfig {
            sigma_h: vec![1.8],
            sigma_r,
            sigma_z: 1.0,
            sizes,
            networks: 1,
            seed: 3,
            search: Some(SearchBudget {
                starts: 24,
                max_iter: 60,
            }),
            lyapunov: LyapunovOptions {
                transient: 200,
                steps: 1000,
                batches: 10,
                ..LyapunovOptions::default()
            },
            small_start: Some(0.01),
            large_start: 1.0,
        }
    }

    /// Every point found is a fixed point (residual 1e-9), the points are
    /// distinct, zero is among them and is stable with radius
    /// `ρ(J(0))`; from a small state `λ_max = ln ρ(J(0))` (eigenvalues of
    /// the dense Jacobian at zero).
    #[test]
    fn fixed_points_are_fixed_and_small_states_decay_at_the_zero_radius() {
        let c = cfg(vec![12.0], vec![24]);
        let p = measure(&c, 1.8, 12.0, 24, 5).unwrap();
        let s = p.search.as_ref().unwrap();
        let small = p.small_start.as_ref().unwrap();
        assert!(s.zero_found);
        assert!(s.fixed_points >= 1 && s.stable >= 1, "{s:?}");
        assert_eq!(s.starts, 24);
        assert!(s.converged >= s.fixed_points);
        // re-run the search and check each point directly
        let net =
            Net::random(24, Scales::Gru(scales(1.0, 12.0, 1.8)), Activation::Tanh, 5).unwrap();
        let mut probe = net.clone();
        let mut found = vec![];
        for k in 0..24 {
            let st = start(&mut probe, 5, k, 1.0).unwrap();
            if let Some((h, _)) = solve(&mut probe, &st, 60).unwrap() {
                let (r, _) = residual(&mut probe, &h).unwrap();
                assert!(r.iter().all(|x| x.abs() < 1e-9));
                if !found
                    .iter()
                    .any(|f: &Vec<f64>| rms_distance(f, &h) < DISTINCT)
                {
                    found.push(h);
                }
            }
        }
        assert_eq!(found.len(), s.fixed_points);
        let mut zero = net.clone();
        zero.at_zero().unwrap();
        let rho = max_modulus(&eigenvalues(&jacobian(&zero).unwrap()).unwrap());
        assert!(rho < 1.0);
        assert!(
            (small.lambda_max - rho.ln()).abs() < 5e-3,
            "{} vs ln {rho}",
            small.lambda_max
        );
        assert!(!small.chaotic);
    }

    /// The sweep is deterministic: the same settings give the same numbers,
    /// in parallel or not.
    #[test]
    fn sweeps_repeat_exactly() {
        let c = cfg(vec![4.0, 24.0], vec![16]);
        let a = run(&c, &|_, _| {}).unwrap();
        let b = run(&c, &|_, _| {}).unwrap();
        assert_eq!(a.points.len(), 2);
        for (x, y) in a.points.iter().zip(&b.points) {
            assert_eq!(x.large_start.lambda_max, y.large_start.lambda_max);
            assert_eq!(
                x.search.as_ref().unwrap().fixed_points,
                y.search.as_ref().unwrap().fixed_points
            );
        }
        assert_eq!(a.sigma_r_critical.len(), 1);
        assert!((a.sigma_r_critical[0].1.unwrap() - 8.157).abs() < 1e-3);
    }

    /// The onset interpolation and the extrapolation recover a planted law
    /// `σ = 8 + 100 N^−0.5`.
    #[test]
    fn onsets_and_extrapolation_recover_a_planted_law() {
        let c = ComplexityConfig {
            sizes: vec![100, 400, 1600, 6400],
            sigma_r: vec![4.0, 64.0],
            ..cfg(vec![], vec![])
        };
        let mut rows = vec![];
        for &n in &c.sizes {
            let onset: f64 = 8.0 + 100.0 / (n as f64).sqrt();
            // λ linear in ln σ_r, crossing zero at the onset
            for &sr in &c.sigma_r {
                let lambda = 0.1 * (sr.ln() - onset.ln());
                rows.push(SummaryRow {
                    sigma_h: 1.8,
                    sigma_r: sr,
                    n,
                    networks: 1,
                    fixed_points_mean: None,
                    fixed_points_range: None,
                    stable_mean: None,
                    log_count_per_n_mean: None,
                    saturated: None,
                    lambda_small_mean: Some(-0.05),
                    lambda_large_mean: lambda,
                    lambda_large_range: [lambda, lambda],
                    chaotic_large: 0,
                    activity_large_mean: 0.0,
                });
            }
        }
        let o = onsets(&c, &rows);
        assert_eq!(o.len(), 4);
        for (k, on) in o.iter().enumerate() {
            let want = 8.0 + 100.0 / (c.sizes[k] as f64).sqrt();
            assert!((on.value.unwrap() - want).abs() < 1e-9, "{on:?}");
            assert_eq!(on.bracket, Some([4.0, 64.0]));
        }
        let e = extrapolate(&o, &[(1.8, Some(8.157))]);
        assert_eq!(e.len(), 1);
        assert!((e[0].infinity - 8.0).abs() < 1e-6, "{:?}", e[0]);
        assert!((e[0].exponent - 0.5).abs() < 1e-9);
        assert_eq!(e[0].degrees_of_freedom, 1);
        assert_eq!(e[0].theory, Some(8.157));
    }

    #[test]
    fn bad_settings_name_their_flag() {
        let msg = |c: ComplexityConfig| match check(&c) {
            Err(HostError::Param(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(msg(cfg(vec![], vec![16])).starts_with("--sigma-r"));
        assert!(msg(cfg(vec![4.0], vec![1])).starts_with("--n"));
        assert!(msg(ComplexityConfig {
            large_start: 0.0,
            ..cfg(vec![4.0], vec![16])
        })
        .starts_with("--large-start"));
        assert!(msg(ComplexityConfig {
            networks: 0,
            ..cfg(vec![4.0], vec![16])
        })
        .starts_with("--networks"));
    }
}
