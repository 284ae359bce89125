//! `gatedyn analyze --model PATH --inputs X`: a trained network's Jacobian
//! spectra, slow modes, timescales and gates along its inputs, and where
//! its weights put it relative to the random-network theory
//! ([`gatedyn_host::theory::analyze`], docs/THEORY.md §9).

use super::args::ModelArgs;
use super::args::{count, finite, FigureFormat, OutputArgs, Progress};
use clap::Args;
use gatedyn_host::io::output::Target;
use gatedyn_host::theory::analyze::{analyze, AnalyzeConfig};
use gatedyn_host::theory::phase::region_name;
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// The flags of `gatedyn analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Inputs, `T×I` (`.npy` or `.csv`; one row per step).
    #[arg(long, value_name = "PATH")]
    inputs: PathBuf,
    /// Take the Jacobian every this many steps (and at the last one).
    #[arg(long, default_value_t = 10, value_parser = count(1, usize::MAX))]
    every: usize,
    /// Count eigenvalues with |λ| > 1 − ε as slow modes.
    #[arg(long, default_value_t = 0.01, value_parser = finite)]
    slow_epsilon: f64,
    /// A gate below s or above 1 − s counts as saturated.
    #[arg(long, default_value_t = 0.05, value_parser = finite)]
    saturation: f64,
    /// Write the figures (eigenvalues, timeline, timescales) into this
    /// existing folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Figure format.
    #[arg(long, value_enum, default_value_t = FigureFormat::Svg)]
    plot_format: FigureFormat,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn analyze`.
pub fn run(a: AnalyzeArgs) -> Result<(), HostError> {
    let cfg = AnalyzeConfig {
        every: a.every,
        slow_epsilon: a.slow_epsilon,
        saturation: a.saturation,
        ..AnalyzeConfig::default()
    };
    cfg.check()?;
    let ext = a.plot_format.extension();
    let figure_targets: Vec<Target> = match &a.plot {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(HostError::BadInput(format!(
                    "--plot {}: not an existing folder",
                    dir.display()
                )));
            }
            ["eigenvalues", "timeline", "timescales"]
                .iter()
                .map(|f| Target::File(dir.join(format!("{f}.{ext}"))))
                .collect()
        }
        None => vec![],
    };
    let others: Vec<(&str, Option<&Target>)> =
        figure_targets.iter().map(|t| ("--plot", Some(t))).collect();
    a.out.check(None, &others)?;
    let (model, inputs) = a.model.load_with_inputs(&a.inputs)?;
    let bar = Progress::new(a.out.quiet, inputs.rows as u64);
    bar.message("steps");
    let r = analyze(model, &inputs, &cfg, |t| bar.at(t))?;
    drop(bar);
    if let Some(dir) = &a.plot {
        figures::analyze(dir, ext, &r)?;
    }
    let th = &r.theory;
    let theory = match (th.radius_predicted, th.fraction_inside) {
        (Some(p), Some(f)) => format!(
            "; theory from the empirical scales: radius {p:.3} vs {:.3} measured, {:.0}% of eigenvalues inside the predicted support{}",
            th.radius_measured,
            100.0 * f,
            th.phase_region.map(|p| format!(", mean-field phase: {}", region_name(p))).unwrap_or_default()
        ),
        (Some(p), None) => format!("; theory: radius {p:.3} vs {:.3} measured", th.radius_measured),
        _ => "; the random-network theory is for the paper-form GRU and the LSTM, not this form".into(),
    };
    let slow = r
        .slow_modes_mean
        .map(|s| {
            format!(
                ", {s:.1} slow modes (|λ| > {}) on average",
                1.0 - r.slow_epsilon
            )
        })
        .unwrap_or_default();
    let summary = format!(
        "{}, {}: {} steps, {} samples ({}): radius mean {:.3}, max {:.3}{slow}{theory}",
        r.model.path,
        r.model.describe(),
        r.steps,
        r.samples.len(),
        r.method,
        r.radius_mean,
        r.radius_max,
    );
    a.out.emit(&r, &summary)
}
