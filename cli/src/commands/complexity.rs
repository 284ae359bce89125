//! `gatedyn complexity`: fixed-point counts and the largest Lyapunov
//! exponent from small and large initial states across `σ_r` (and `σ_h`),
//! against the mean-field `σ_r*(σ_h)` (docs/THEORY.md §10).

use super::args::{count, scale, OutputArgs, Progress};
use clap::Args;
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn_host::io::limits::{MAX_LM_ITERATIONS, MAX_STARTS, MAX_STEPS};
use gatedyn_host::theory::complexity::{
    self, Axis, ComplexityConfig, ComplexityReport, SearchBudget,
};
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// The flags of `gatedyn complexity`.
#[derive(Args, Debug)]
pub struct ComplexityArgs {
    /// σ_h values (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1.8", value_parser = scale)]
    sigma_h: Vec<f64>,
    /// σ_r values (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "2,4,6,8,10,12,16,24,32",
        value_parser = scale
    )]
    sigma_r: Vec<f64>,
    /// σ_z (the fixed points do not depend on it; their stability does).
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    sigma_z: f64,
    /// Hidden sizes (comma-separated); fixed points are searched up to
    /// N = 256.
    #[arg(long = "n", value_delimiter = ',', default_value = "16,32", value_parser = count(2, 100_000))]
    sizes: Vec<usize>,
    /// Networks per point (seeds --seed, --seed + 1, …).
    #[arg(long, default_value_t = 3, value_parser = count(1, 1000))]
    networks: usize,
    /// First network seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fixed-point search starts per network.
    #[arg(long, default_value_t = 200, value_parser = count(4, MAX_STARTS))]
    starts: usize,
    /// Levenberg–Marquardt iterations per start.
    #[arg(long, default_value_t = 60, value_parser = count(1, MAX_LM_ITERATIONS))]
    max_iter: usize,
    /// No fixed-point search (Lyapunov exponents only, for large N).
    #[arg(long)]
    no_search: bool,
    /// Standard deviation of the small initial state.
    #[arg(long, default_value_t = 0.01, value_parser = scale)]
    small_start: f64,
    /// No run from a small state (at large N it costs as much as the
    /// large one, and the zero fixed point's stability is known).
    #[arg(long)]
    no_small_start: bool,
    /// Standard deviation of the large initial state.
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    large_start: f64,
    /// Lyapunov transient steps.
    #[arg(long, default_value_t = 1000, value_parser = count(0, MAX_STEPS))]
    transient: usize,
    /// Lyapunov measured steps.
    #[arg(long, default_value_t = 2000, value_parser = count(2, MAX_STEPS))]
    steps: usize,
    /// Draw the counts and exponents against σ_r (or σ_h when only σ_h
    /// varies): PATH and PATH with `_lyapunov` before the extension.
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn complexity`.
pub fn run(a: ComplexityArgs) -> Result<(), HostError> {
    let cfg = ComplexityConfig {
        sigma_h: a.sigma_h.clone(),
        sigma_r: a.sigma_r.clone(),
        sigma_z: a.sigma_z,
        sizes: a.sizes.clone(),
        networks: a.networks,
        seed: a.seed,
        search: (!a.no_search).then_some(SearchBudget {
            starts: a.starts,
            max_iter: a.max_iter,
        }),
        lyapunov: LyapunovOptions {
            transient: a.transient,
            steps: a.steps,
            batches: 10.min(a.steps),
            ..LyapunovOptions::default()
        },
        small_start: (!a.no_small_start).then_some(a.small_start),
        large_start: a.large_start,
    };
    complexity::check(&cfg)?;
    let second = a.plot.as_deref().map(figures::complexity_lyapunov_path);
    let second_target = second.clone().map(gatedyn_host::io::output::Target::File);
    a.out
        .check(a.plot.as_ref(), &[("--plot", second_target.as_ref())])?;
    let total = cfg.sigma_h.len() * cfg.sigma_r.len() * cfg.sizes.len() * cfg.networks;
    let bar = Progress::new(a.out.quiet, total as u64);
    bar.message("networks");
    let r = complexity::run(&cfg, &|done, _| bar.at(done))?;
    drop(bar);
    if let Some(p) = &a.plot {
        figures::complexity(p, &r)?;
    }
    a.out.emit(&r, &summary(&r))
}

fn summary(r: &ComplexityReport) -> String {
    let mut s = String::from(
        "σ_h    σ_r      N  nets  fixed points (range)  stable  ln(count)/N  saturated  λ_max small  λ_max large (chaotic)",
    );
    for row in &r.summary {
        let fp = match (row.fixed_points_mean, row.fixed_points_range) {
            (Some(m), Some([lo, hi])) => format!("{m:8.1} ({lo}-{hi})"),
            _ => "       -".into(),
        };
        s.push_str(&format!(
            "\n{:<5} {:>5} {:>6} {:>5}  {:<20}  {:>6}  {:>11}  {:>9}  {:>11}  {:>8.4} ({}/{})",
            row.sigma_h,
            row.sigma_r,
            row.n,
            row.networks,
            fp,
            row.stable_mean.map_or("-".into(), |v| format!("{v:.1}")),
            row.log_count_per_n_mean
                .map_or("-".into(), |v| format!("{v:.4}")),
            row.saturated
                .map_or("-".into(), |v| format!("{v}/{}", row.networks)),
            row.lambda_small_mean
                .map_or("-".into(), |v| format!("{v:.4}")),
            row.lambda_large_mean,
            row.chaotic_large,
            row.networks,
        ));
    }
    for (sh, c) in &r.sigma_r_critical {
        if let Some(c) = c {
            s.push_str(&format!("\nmean-field σ_r*({sh}) = {c:.3}"));
        }
    }
    let name = |along: Axis| along.symbol();
    let other = |along: Axis| along.other_symbol();
    for o in &r.onsets {
        s.push_str(&format!(
            "\nonset of chaos from large states along {} ({} = {}, N = {}): {}",
            name(o.along),
            other(o.along),
            o.fixed,
            o.n,
            match (o.value, o.bracket) {
                (Some(x), Some([lo, hi])) =>
                    format!("{} ≈ {x:.2} (between {lo} and {hi})", name(o.along)),
                _ => "no sign change on this grid".into(),
            }
        ));
    }
    for e in &r.extrapolations {
        s.push_str(&format!(
            "\nextrapolated onset along {} ({} = {}): {} + b N^-ν over N = {:?} ({} degrees of freedom): {} → {:.2} as N → ∞ (b = {:.3e}, ν = {:.2}, rms residual {:.2}){}",
            name(e.along),
            other(e.along),
            e.fixed,
            name(e.along),
            e.sizes,
            e.degrees_of_freedom,
            name(e.along),
            e.infinity,
            e.amplitude,
            e.exponent,
            e.rms_residual,
            e.theory.map_or(String::new(), |t| format!("; mean-field theory {t:.3}"))
        ));
    }
    s.push_str(&format!("\n{:.1} s", r.seconds));
    s
}
