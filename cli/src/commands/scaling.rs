//! `gatedyn scaling`: the spectral radius (empirical and predicted)
//! against one gate scale, with the law of docs/THEORY.md §5 where it gives one.

use super::args::{count, scale, CellArg, OutputArgs, Progress};
use clap::{Args, ValueEnum};
use gatedyn::init::{GruScales, LstmScales};
use gatedyn_host::io::limits::MAX_STEPS;
use gatedyn_host::net::{Cell, GateName, Scales};

use gatedyn_host::theory::spectrum::SpectrumConfig;
use gatedyn_host::theory::sweep;
use gatedyn_host::{figures, HostError};
use std::path::PathBuf;

/// A gate letter on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GateArg {
    /// GRU update gate.
    Z,
    /// GRU reset gate.
    R,
    /// GRU candidate.
    H,
    /// LSTM forget gate.
    F,
    /// LSTM input gate.
    I,
    /// LSTM output gate.
    O,
    /// LSTM cell candidate.
    C,
}

impl From<GateArg> for GateName {
    fn from(g: GateArg) -> Self {
        match g {
            GateArg::Z => GateName::Z,
            GateArg::R => GateName::R,
            GateArg::H => GateName::H,
            GateArg::F => GateName::F,
            GateArg::I => GateName::I,
            GateArg::O => GateName::O,
            GateArg::C => GateName::C,
        }
    }
}

/// The network of a sweep (shared by `scaling` and `slow-modes`).
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// GRU or LSTM.
    #[arg(long, value_enum, default_value_t = CellArg::Gru)]
    model: CellArg,
    /// Gate scales in gate order (GRU z,r,h; LSTM f,i,o,c); default GRU
    /// 0,1,3 (no update-gate variance: the √σ_r law of docs/THEORY.md §5), LSTM 1,1,1,3.
    #[arg(long, value_delimiter = ',', value_parser = scale, allow_hyphen_values = true)]
    sigmas: Option<Vec<f64>>,
    /// Hidden size.
    #[arg(long, default_value_t = 400, value_parser = count(1, usize::MAX))]
    n: usize,
    /// Steps simulated before each Jacobian.
    #[arg(long, default_value_t = 200, value_parser = count(0, MAX_STEPS))]
    steps: usize,
    /// Seed of weights and initial state (the same for every value).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw the sweep (.svg or .png).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl SweepArgs {
    /// The base network: the named scales from `--model` and `--sigmas`.
    pub fn config(&self) -> Result<SpectrumConfig, HostError> {
        let cell = Cell::from(self.model);
        let scales = match (cell, self.sigmas.as_deref()) {
            (Cell::Gru, None) => Scales::Gru(GruScales::recurrent(0.0, 1.0, 3.0)),
            (Cell::Lstm, None) => Scales::Lstm(LstmScales::recurrent(1.0, 1.0, 1.0, 3.0)),
            (Cell::Gru, Some(&[z, r, h])) => Scales::Gru(GruScales::recurrent(z, r, h)),
            (Cell::Lstm, Some(&[f, i, o, c])) => Scales::Lstm(LstmScales::recurrent(f, i, o, c)),
            (cell, Some(v)) => {
                return Err(HostError::BadInput(format!(
                    "--sigmas needs {} values for the {cell} ({}), got {}",
                    cell.gates(),
                    cell.gate_names()
                        .iter()
                        .map(|g| g.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    v.len()
                )))
            }
        };
        self.out.check(self.plot.as_ref(), &[])?;
        Ok(SpectrumConfig::new(self.n, scales, self.steps, self.seed))
    }
}

/// The flags of `scaling`.
#[derive(Args, Debug)]
pub struct ScalingArgs {
    /// The gate to sweep (GRU: z, r, h; LSTM: f, i, o, c).
    #[arg(long, value_enum)]
    gate: GateArg,
    /// The values of its scale.
    #[arg(long, value_delimiter = ',',
          default_values_t = vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
          value_parser = scale, allow_hyphen_values = true)]
    values: Vec<f64>,
    #[command(flatten)]
    base: SweepArgs,
}

/// Runs `gatedyn scaling`.
pub fn run(a: ScalingArgs) -> Result<(), HostError> {
    let cfg = a.base.config()?;
    let gate: GateName = a.gate.into();
    if a.base.plot.is_some() {
        figures::check_log_axis(&a.values)?;
    }
    let bar = Progress::new(a.base.out.quiet, a.values.len() as u64);
    let s = sweep::scaling(&cfg, gate, &a.values, |k| bar.at(k))?;
    drop(bar);
    if let Some(p) = &a.base.plot {
        figures::scaling(p, &s)?;
    }
    let show = |x: Option<f64>| x.map_or("n/a".to_string(), |p| format!("{p:.3}"));
    let summary = format!(
        "{} σ_{gate} sweep, N={}: fitted exponent of radius − 1/2: empirical {}, predicted {} (law {})",
        s.model,
        s.n,
        show(s.fitted_exponent_empirical),
        show(s.fitted_exponent_predicted),
        show(s.law_exponent)
    );
    a.base.out.emit(&s, &summary)
}
