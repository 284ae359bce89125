//! `gatedyn complexity`: the paper's phase-space-complexity claim
//! (docs/THEORY.md §10) measured on finite random GRUs: for each
//! `(σ_h, σ_r, N)` and several networks, the fixed points found by
//! Levenberg–Marquardt from many starts (deduplicated, zero included), how
//! many are stable, `ln(count)/N`, whether the count saturated, and the
//! largest Lyapunov exponent from a small and from a large initial state;
//! per `(σ_h, N)` the onset of chaos from large states interpolated on the
//! `σ_r` grid, and its extrapolation to `N → ∞`.

mod config;
mod search;
mod summary;
#[cfg(test)]
mod tests;

pub use config::*;
pub use search::{count_fixed_points, measure, run};
