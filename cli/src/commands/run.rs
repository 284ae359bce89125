//! `gatedyn run --model PATH --inputs X --output Y`: a trained network
//! (ONNX, PyTorch safetensors or Keras, [`gatedyn_host::formats`]) run on an input
//! sequence, hidden states written as `.npy`, `.csv` or `.json`.

use super::args::{ModelArgs, OutputArgs, PrecisionArg, Progress};
use super::quantize::SchemeArg;
use clap::Args;
use gatedyn_host::formats::ModelInfo;
use gatedyn_host::io::arrays::{self, ArrayFormat, Table};
use gatedyn_host::io::output::Target;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::net::quantized::{QuantizedNet, Scheme};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_host::Precision;
use serde::Serialize;
use std::path::PathBuf;

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
    /// for a model with a linear readout after the layer (ONNX `MatMul`/`Gemm`,
    /// PyTorch `nn.Linear`, Keras `Dense`).
    #[arg(long, value_name = "PATH")]
    readout_output: Option<PathBuf>,
    /// Arithmetic of the run (the weights rounded once to it).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// Run the cell in integers instead (docs/THEORY.md §16): int8 or int16
    /// weights, Q15 state (an LSTM's cell state in Q16); the input scale
    /// from these inputs' range. The states written are `h_q / 2¹⁵`, exact
    /// in f32.
    #[arg(long, value_enum, value_name = "SCHEME")]
    quantize: Option<SchemeArg>,
    #[command(flatten)]
    out: OutputArgs,
}

/// What `gatedyn run --json` reports.
#[derive(Debug, Serialize)]
struct RunReport {
    model: ModelInfo,
    steps: usize,
    precision: Precision,
    /// `int8` or `int16` with `--quantize`.
    #[serde(skip_serializing_if = "Option::is_none")]
    quantized: Option<Scheme>,
    output: String,
    /// `√⟨h_T²⟩`.
    final_rms: f64,
    seconds: f64,
}

/// Runs `gatedyn run`.
pub fn run(a: RunArgs) -> Result<(), HostError> {
    let formats = [ArrayFormat::Npy, ArrayFormat::Csv, ArrayFormat::Json];
    let format = arrays::format_of(Param::Output, &a.output, &formats)?;
    let readout_format = match &a.readout_output {
        Some(p) => Some(arrays::format_of(Param::ReadoutOutput, p, &formats)?),
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
        return Err(HostError::BadInput(format!(
            "--readout-output: {} has no linear readout after its recurrent layer",
            m.info.path
        )));
    }
    let precision: Precision = a.precision.into();
    let t0 = std::time::Instant::now();
    let bar = Progress::new(a.out.quiet, inputs.rows as u64);
    let mut done = 0;
    let mut tick = || {
        done += 1;
        if done % 64 == 0 {
            bar.at(done);
        }
    };
    let states = match a.quantize {
        None => run_inputs(&m.net, &inputs, precision, tick)?,
        Some(scheme) => {
            let q = QuantizedNet::calibrated(&m.net, scheme.into(), &inputs)?;
            let start = q.quantize_state(&m.net)?;
            let states = q.run(&start, &inputs, |_, _| tick())?;
            Table {
                rows: states.len(),
                cols: q.n(),
                data: states.iter().flat_map(|s| s.h_values()).collect(),
            }
        }
    };
    drop(bar);
    // the readout's outputs before anything is written: a value that is
    // not finite (or beyond f32, where the file is f32) is a failure of
    // this model on these inputs, not a number to write
    let outputs = match (&a.readout_output, &m.readout) {
        (Some(_), Some(r)) => {
            let y = r.apply(&states);
            let representable = |v: &f64| match precision {
                Precision::F32 => (*v as f32).is_finite(),
                Precision::F64 => v.is_finite(),
            };
            if let Some(index) = y.data.iter().position(|v| !representable(v)) {
                return Err(HostError::Numerical {
                    step: "readout",
                    source: gatedyn::Error::NonFinite {
                        what: gatedyn::Quantity::Result,
                        index,
                    },
                });
            }
            Some(y)
        }
        _ => None,
    };
    arrays::write(&a.output, format, &states, precision)?;
    if let (Some(p), Some(f), Some(y)) = (&a.readout_output, readout_format, &outputs) {
        arrays::write(p, f, y, precision)?;
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
        quantized: a.quantize.map(Scheme::from),
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
        match a.quantize {
            Some(s) => Scheme::from(s).name(),
            None => precision.name(),
        },
        final_rms,
        report.output
    );
    a.out.emit(&report, &summary)
}
