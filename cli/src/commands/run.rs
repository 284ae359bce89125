//! `gatedyn run --model PATH --inputs X --output Y`: a trained network
//! (ONNX or PyTorch safetensors, [`gatedyn_host::formats`]) run on an input
//! sequence, hidden states written as `.npy`, `.csv` or `.json`.

use super::spectrum::PrecisionArg;
use super::{OutputArgs, Progress};
use clap::Args;
use gatedyn_host::formats::{self, Model, ModelInfo};
use gatedyn_host::io::arrays::{self, ArrayFormat};
use gatedyn_host::io::output::Target;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::HostError;
use gatedyn_host::Precision;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `--model` and `--h0`, on every subcommand that loads a trained model.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// The model: `.onnx` (one GRU or LSTM node) or `.safetensors`
    /// (PyTorch nn.GRU / nn.LSTM state_dict).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Initial hidden state, `N` entries (`.npy` or `.csv`); default: the
    /// model's `initial_h`, else zero.
    #[arg(long, value_name = "PATH")]
    pub h0: Option<PathBuf>,
}

/// The `expected` entries of the vector in `path` (`.npy` or `.csv`),
/// given by `flag`; a wrong count names `what` the model has.
fn read_vector(
    flag: &str,
    path: &Path,
    expected: usize,
    what: &str,
) -> Result<Vec<f64>, HostError> {
    let x = arrays::read(flag, path)?;
    if x.data.len() != expected {
        return Err(HostError::Param(format!(
            "{flag} {}: {} entries, but the model {what}",
            path.display(),
            x.data.len(),
        )));
    }
    Ok(x.data)
}

/// Holds a loaded model's input at the constant in `path` (`--input`,
/// `I` entries, `.npy` or `.csv`); zero when `None`.
pub fn hold_input(m: &mut Model, path: Option<&PathBuf>) -> Result<(), HostError> {
    if let Some(p) = path {
        let what = format!("takes {} inputs", m.info.inputs);
        let x = read_vector("--input", p, m.info.inputs, &what)?;
        m.net.x_mut().copy_from_slice(&x);
    }
    Ok(())
}

impl ModelArgs {
    /// Loads `--model` and applies `--h0` when given (checked against the
    /// model's size).
    pub fn load(&self) -> Result<Model, HostError> {
        let mut m = formats::load(&self.model)?;
        if let Some(p) = &self.h0 {
            let what = format!("has {} hidden units", m.info.n);
            let h = read_vector("--h0", p, m.info.n, &what)?;
            m.net.h_mut().copy_from_slice(&h);
        }
        Ok(m)
    }

    /// [`ModelArgs::load`] and `--inputs` (checked against the model's
    /// input count).
    pub fn load_with_inputs(
        &self,
        inputs_path: &Path,
    ) -> Result<(Model, arrays::Table), HostError> {
        let m = self.load()?;
        let inputs = arrays::read("--inputs", inputs_path)?;
        if inputs.cols != m.info.inputs {
            return Err(HostError::Param(format!(
                "--inputs {}: {} columns, but the model takes {} inputs",
                inputs_path.display(),
                inputs.cols,
                m.info.inputs
            )));
        }
        Ok((m, inputs))
    }
}

/// The flags of `gatedyn run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Inputs, `T×I` (`.npy` or `.csv`; one row per step).
    #[arg(long, value_name = "PATH")]
    inputs: PathBuf,
    /// Where the hidden states go, `T×N` (`.npy`, `.csv` or `.json`).
    #[arg(long, value_name = "PATH")]
    output: PathBuf,
    /// Where the readout's outputs go, `T×K` (`.npy`, `.csv` or `.json`),
    /// for an ONNX model with a linear readout after the layer.
    #[arg(long, value_name = "PATH")]
    readout_output: Option<PathBuf>,
    /// Arithmetic of the run (the weights rounded once to it).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    #[command(flatten)]
    out: OutputArgs,
}

/// What `gatedyn run --json` reports.
#[derive(Debug, Serialize)]
struct RunReport {
    model: ModelInfo,
    steps: usize,
    precision: Precision,
    output: String,
    /// `√⟨h_T²⟩`.
    final_rms: f64,
    seconds: f64,
}

/// Runs `gatedyn run`.
pub fn run(a: RunArgs) -> Result<(), HostError> {
    let formats = [ArrayFormat::Npy, ArrayFormat::Csv, ArrayFormat::Json];
    let format = arrays::format_of("--output", &a.output, &formats)?;
    let readout_format = match &a.readout_output {
        Some(p) => Some(arrays::format_of("--readout-output", p, &formats)?),
        None => None,
    };
    let readout_target = a.readout_output.clone().map(Target::File);
    a.out.check(
        None,
        &[
            ("--output", Some(&Target::File(a.output.clone()))),
            ("--readout-output", readout_target.as_ref()),
        ],
    )?;
    let (m, inputs) = a.model.load_with_inputs(&a.inputs)?;
    if a.readout_output.is_some() && m.readout.is_none() {
        return Err(HostError::Param(format!(
            "--readout-output: {} has no linear readout after its recurrent layer",
            m.info.path
        )));
    }
    let precision = match a.precision {
        PrecisionArg::F32 => Precision::F32,
        PrecisionArg::F64 => Precision::F64,
    };
    let t0 = std::time::Instant::now();
    let bar = Progress::new(a.out.quiet, inputs.rows as u64);
    let mut done = 0;
    let states = run_inputs(&m.net, &inputs, precision, || {
        done += 1;
        if done % 64 == 0 {
            bar.at(done);
        }
    })?;
    drop(bar);
    arrays::write(&a.output, format, &states, precision)?;
    if let (Some(p), Some(f), Some(r)) = (&a.readout_output, readout_format, &m.readout) {
        arrays::write(p, f, &r.apply(&states), precision)?;
    }
    let last = if states.rows > 0 {
        states.row(states.rows - 1)
    } else {
        m.net.h()
    };
    let final_rms = (last.iter().map(|x| x * x).sum::<f64>() / last.len() as f64).sqrt();
    let report = RunReport {
        steps: states.rows,
        precision,
        output: a.output.display().to_string(),
        final_rms,
        seconds: t0.elapsed().as_secs_f64(),
        model: m.info,
    };
    let summary = format!(
        "{}, {}: {} steps in {}, final rms(h) = {:.4} → {}",
        report.model.path,
        report.model.describe(),
        report.steps,
        match precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        },
        final_rms,
        report.output
    );
    a.out.emit(&report, &summary)
}
