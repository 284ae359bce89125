//! What a complexity run is given and what it reports, and the check of
//! its configuration.

use crate::io::limits::check_memory;
use crate::net::{weight_bytes, Cell, Scales};
use crate::HostError;
use crate::Param;
use gatedyn::init::GruScales;
use gatedyn::lyapunov::LyapunovOptions;
use serde::Serialize;

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

/// The gate scale a sweep varies: `σ_r` (the default), or `σ_h` when only
/// `σ_h` takes several values. Written as `"sigma_r"` and `"sigma_h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// The reset scale `σ_r` varies at fixed `σ_h`.
    SigmaR,
    /// The candidate scale `σ_h` varies at fixed `σ_r`.
    SigmaH,
}

impl Axis {
    /// The varying scale's symbol (`σ_r`, `σ_h`).
    pub fn symbol(self) -> &'static str {
        match self {
            Axis::SigmaR => "σ_r",
            Axis::SigmaH => "σ_h",
        }
    }
    /// The fixed scale's symbol.
    pub fn other_symbol(self) -> &'static str {
        match self {
            Axis::SigmaR => "σ_h",
            Axis::SigmaH => "σ_r",
        }
    }
}

impl SummaryRow {
    /// `(fixed, varying)`: `(σ_h, σ_r)` along `σ_r`, `(σ_r, σ_h)` along `σ_h`.
    pub fn axis(&self, along: Axis) -> (f64, f64) {
        match along {
            Axis::SigmaH => (self.sigma_r, self.sigma_h),
            Axis::SigmaR => (self.sigma_h, self.sigma_r),
        }
    }
}

impl ComplexityReport {
    /// The scale the sweep varied (its onsets run along it).
    pub fn along(&self) -> Axis {
        self.onsets.first().map_or(Axis::SigmaR, |o| o.along)
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
    /// The scale that varies.
    pub along: Axis,
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
    /// The scale whose onset is extrapolated.
    pub along: Axis,
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

/// One network of the grid: its scales, size and seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridPoint {
    /// `σ_h`.
    pub sigma_h: f64,
    /// `σ_r`.
    pub sigma_r: f64,
    /// Hidden size.
    pub n: usize,
    /// Seed of the weights and the starts.
    pub seed: u64,
}

/// Validates a sweep before it starts.
pub fn check(cfg: &ComplexityConfig) -> Result<(), HostError> {
    for (flag, v) in [(Param::SigmaH, &cfg.sigma_h), (Param::SigmaR, &cfg.sigma_r)] {
        if v.is_empty() {
            return Err(HostError::invalid(
                flag,
                " needs at least one value".to_string(),
            ));
        }
    }
    if cfg.sizes.is_empty() || cfg.sizes.iter().any(|&n| n < 2) {
        return Err(HostError::invalid(
            Param::N,
            ": every size must be at least 2".into(),
        ));
    }
    if cfg.networks == 0 {
        return Err(HostError::invalid(
            Param::Networks,
            " must be at least 1".into(),
        ));
    }
    if let Some(s) = cfg.search {
        if s.starts < 4 {
            return Err(HostError::invalid(
                Param::Starts,
                format!(" must be at least 4, got {}", s.starts),
            ));
        }
        if s.max_iter == 0 {
            return Err(HostError::invalid(
                Param::MaxIter,
                " must be at least 1, got 0".into(),
            ));
        }
    }
    for (flag, v) in [
        (Param::SmallStart, cfg.small_start.unwrap_or(1.0)),
        (Param::LargeStart, cfg.large_start),
    ] {
        if !(v > 0.0 && v <= 1e3) {
            return Err(HostError::invalid(
                flag,
                format!(" must be in (0, 1000], got {v}"),
            ));
        }
    }
    let o = &cfg.lyapunov;
    if o.batches < 2 {
        return Err(HostError::invalid(
            Param::Batches,
            format!(" must be at least 2, got {}", o.batches),
        ));
    }
    if o.steps < o.batches {
        return Err(crate::theory::lyapunov::steps_below_batches(
            o.steps, o.batches,
        ));
    }
    for &sh in &cfg.sigma_h {
        for &sr in &cfg.sigma_r {
            Scales::Gru(GruScales::recurrent(cfg.sigma_z, sr, sh)).check()?;
        }
    }
    let Some(&n_max) = cfg.sizes.iter().max() else {
        return Err(HostError::invalid(Param::N, ": no size given".into()));
    };
    // two networks alive per job (the two starts) and a job per thread
    let threads = rayon::current_num_threads() as u128;
    check_memory(
        Param::N,
        n_max,
        threads * (2 * weight_bytes(Cell::Gru, n_max) + 8 * 11 * (n_max as u128).pow(2)),
    )
}
