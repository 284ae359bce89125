//! `gatedyn long-term`: the mean squared singular value of `J^T` at a
//! random GRU's zero fixed point against the large-N theory, constant or
//! binary update gate (docs/THEORY.md §11).

use super::args::{count, scale, OutputArgs, Progress};
use clap::Args;
use gatedyn_host::theory::long_term::{self, LongTermConfig, LongTermReport, UpdateGate, MAX_T};
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// The flags of `gatedyn long-term`.
#[derive(Args, Debug)]
pub struct LongTermArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 1000, value_parser = count(2, usize::MAX))]
    n: usize,
    /// σ_h.
    #[arg(long, default_value_t = 1.8, value_parser = scale)]
    sigma_h: f64,
    /// σ_r (no effect at h = 0; kept for the same network draw as elsewhere).
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    sigma_r: f64,
    /// Binary update gate (update biases of scale 1e6) instead of z₀ = 1/2.
    #[arg(long)]
    binary: bool,
    /// Products up to J^T.
    #[arg(long, default_value_t = 20, value_parser = count(1, MAX_T))]
    max_t: usize,
    /// Seed of the weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw m(T)^(1/2T) against T with the limit (.svg or .png).
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn long-term`.
pub fn run(a: LongTermArgs) -> Result<(), HostError> {
    let cfg = LongTermConfig {
        n: a.n,
        sigma_h: a.sigma_h,
        sigma_r: a.sigma_r,
        gate: if a.binary {
            UpdateGate::Binary
        } else {
            UpdateGate::Constant
        },
        max_t: a.max_t,
        seed: a.seed,
    };
    long_term::check(&cfg)?;
    a.out.check(a.plot.as_ref(), &[])?;
    let bar = Progress::new(a.out.quiet, a.max_t as u64);
    bar.message("products");
    let r = long_term::run(&cfg, |t| bar.at(t))?;
    drop(bar);
    if let Some(p) = &a.plot {
        figures::long_term(p, &r)?;
    }
    a.out.emit(&r, &summary(&r))
}

fn summary(r: &LongTermReport) -> String {
    let mut s = format!(
        "{} update gate, N = {}, σ_h = {}: {}c = {:.4}{}; limit {:.4}, measured radius {:.4}\n   T       m(T) dense    m(T) theory   rel. error   root dense  root theory",
        r.gate,
        r.n,
        r.sigma_h,
        r.a.map_or(String::new(), |a| format!("a = {a:.4}, ")),
        r.c,
        r.p.map_or(String::new(), |p| format!(", p = {p:.4}")),
        r.limit,
        r.radius
    );
    for row in &r.rows {
        s.push_str(&format!(
            "\n{:>4}  {:>13.6e}  {:>13.6e}  {:>+10.2e}  {:>11.5}  {:>11.5}",
            row.t,
            row.measured,
            row.predicted,
            row.relative_error,
            row.root_measured,
            row.root_predicted
        ));
    }
    s.push_str(&format!(
        "\nmax relative error {:.2e}, max root error {:.2e}; {:.1} s",
        r.max_relative_error, r.max_root_error, r.seconds
    ));
    s
}
