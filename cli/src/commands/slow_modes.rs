//! `gatedyn slow-modes`: eigenvalues piling up at `λ = 1` as σ_z (GRU) or
//! σ_f (LSTM) grows (docs/THEORY.md §4).

use super::args::{scale, Progress};
use super::scaling::SweepArgs;
use clap::Args;
use gatedyn_host::theory::sweep;
use gatedyn_host::{figures, HostError};

/// The flags of `slow-modes`.
#[derive(Args, Debug)]
pub struct SlowModesArgs {
    /// The values of σ_z (GRU) or σ_f (LSTM).
    #[arg(long, value_delimiter = ',',
          default_values_t = vec![1.0, 5.0, 20.0, 100.0],
          value_parser = scale, allow_hyphen_values = true)]
    values: Vec<f64>,
    #[command(flatten)]
    base: SweepArgs,
}

/// Runs `gatedyn slow-modes`.
pub fn run(a: SlowModesArgs) -> Result<(), HostError> {
    let cfg = a.base.config()?;
    let bar = Progress::new(a.base.out.quiet, a.values.len() as u64);
    let s = sweep::slow_modes(&cfg, &a.values, |k| bar.at(k))?;
    drop(bar);
    if let Some(p) = &a.base.plot {
        figures::slow_modes(p, &s)?;
    }
    let summary = (0..s.curves.len())
        .map(|k| {
            format!(
                "σ_{}={}: {:.1}% within 0.01 of λ=1",
                s.gate,
                s.curves[k].value,
                100.0 * s.fraction_within(k, 0.01)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    a.base.out.emit(&s, &summary)
}
