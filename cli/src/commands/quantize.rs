//! `gatedyn quantize --model PATH --inputs X --scheme int8|int16`: what
//! quantization does to a trained GRU or LSTM along its inputs: state and readout
//! errors, slow modes and frozen units, the dead zone and the autonomous
//! map ([`gatedyn_host::theory::quantize`], docs/THEORY.md §16).

use super::args::{count, finite, FigureFormat, ModelArgs, OutputArgs, Progress};
use clap::{Args, ValueEnum};
use gatedyn_host::figures::plot;
use gatedyn_host::io::arrays;
use gatedyn_host::io::output::Target;
use gatedyn_host::net::quantized::Scheme;
use gatedyn_host::theory::quantize::{quantize, QuantizeConfig};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use std::path::PathBuf;

/// `--scheme` (and `run --quantize`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeArg {
    /// i8 weights, gates in steps of 1/128
    Int8,
    /// i16 weights, gates in steps of 2⁻¹⁵
    Int16,
}

impl From<SchemeArg> for Scheme {
    fn from(s: SchemeArg) -> Self {
        match s {
            SchemeArg::Int8 => Scheme::Int8,
            SchemeArg::Int16 => Scheme::Int16,
        }
    }
}

/// The flags of `gatedyn quantize`.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Inputs, `T×I` (`.npy` or `.csv`; one row per step); they also set
    /// the input scale (their largest |x| is stored as 32767).
    #[arg(long, value_name = "PATH")]
    inputs: PathBuf,
    /// The integer formats.
    #[arg(long, value_enum)]
    scheme: SchemeArg,
    /// Take the Jacobians every this many steps (and at the last one).
    #[arg(long, default_value_t = 10, value_parser = count(1, usize::MAX))]
    every: usize,
    /// Count eigenvalues with |λ| > 1 − ε as slow modes.
    #[arg(long, default_value_t = 0.01, value_parser = finite)]
    slow_epsilon: f64,
    /// The autonomous map's constant input, `I` values (`.npy` or `.csv`;
    /// default zeros).
    #[arg(long, value_name = "PATH")]
    input: Option<PathBuf>,
    /// At most this many steps of the autonomous map.
    #[arg(long, default_value_t = 100_000, value_parser = count(1, 1 << 30))]
    max_steps: usize,
    /// Write the figure (eigenvalues at the last step, float against
    /// quantized) into this existing folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Figure format.
    #[arg(long, value_enum, default_value_t = FigureFormat::Svg)]
    plot_format: FigureFormat,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn quantize`.
pub fn run(a: QuantizeArgs) -> Result<(), HostError> {
    let figure = match &a.plot {
        Some(dir) if !dir.is_dir() => {
            return Err(HostError::BadInput(format!(
                "--plot {}: not an existing folder",
                dir.display()
            )))
        }
        Some(dir) => Some(Target::File(
            dir.join(format!("eigenvalues.{}", a.plot_format.extension())),
        )),
        None => None,
    };
    a.out.check(None, &[("--plot", figure.as_ref())])?;
    let autonomous_input = match &a.input {
        Some(p) => Some(arrays::read(Param::Input, p)?.data),
        None => None,
    };
    let (model, inputs) = a.model.load_with_inputs(&a.inputs)?;
    let cfg = QuantizeConfig {
        scheme: a.scheme.into(),
        slow_epsilon: a.slow_epsilon,
        every: a.every,
        autonomous_input,
        max_steps: a.max_steps,
    };
    let bar = Progress::new(a.out.quiet, inputs.rows as u64);
    bar.message("steps");
    let r = quantize(model, &inputs, &cfg, |t| bar.at(t))?;
    drop(bar);
    if let (Some(Target::File(p)), Some((f, q))) = (&figure, &r.last_eigenvalues) {
        let t = r.samples.last().map_or(0, |s| s.t);
        plot::spectra_compared(
            p,
            ("float", f),
            (r.scheme.name(), q),
            &format!("{}: eigenvalues at t={t}", r.model.path),
        )?;
    }
    let slow = match (r.slow_modes_float, r.slow_modes_quantized) {
        (Some(f), Some(q)) => format!(", slow modes {f:.1} → {q:.1}"),
        _ => String::new(),
    };
    let orbit = &r.autonomous.quantized;
    let autonomous = match (orbit.period, orbit.transient) {
        (Some(1), Some(m)) => format!("a fixed point after {m} steps"),
        (Some(p), Some(m)) => format!("a cycle of period {p} after {m} steps"),
        _ => format!("no repeat within {} steps", orbit.steps),
    };
    let summary = format!(
        "{}, {}: {} over {} steps: state error max {:.2e}, rms {:.2e}{slow}, frozen units {:.1}% (float {:.1}%); autonomous: {autonomous} (float: {})",
        r.model.path,
        r.model.describe(),
        r.scheme.name(),
        r.steps,
        r.state_error_max,
        r.state_error_rms,
        100.0 * r.frozen_units.quantized,
        100.0 * r.frozen_units.float,
        r.autonomous.float.kind.replace('_', " "),
    );
    a.out.emit(&r, &summary)
}
