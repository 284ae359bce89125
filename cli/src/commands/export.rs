//! `gatedyn export --model PATH --rust OUT.rs`: a trained network as Rust
//! source with a `static` network for firmware ([`gatedyn_host::formats::rust_source`]).

use super::args::OutputArgs;
use super::args::PrecisionArg;
use super::quantize::SchemeArg;
use clap::Args;
use gatedyn_host::formats;
use gatedyn_host::formats::rust_source::{quantized_rust_source, rust_source};
use gatedyn_host::io::arrays::{self, Table};
use gatedyn_host::io::output::{self, Target};
use gatedyn_host::net::quantized::{QuantizedNet, Scheme};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_host::Precision;
use std::path::PathBuf;

/// The flags of `gatedyn export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model: `.onnx`, `.safetensors`, `.keras` or `.weights.h5`.
    #[arg(long, value_name = "PATH")]
    model: PathBuf,
    /// The Rust file to write (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    rust: Target,
    /// The name of the `static`.
    #[arg(long, default_value = "NET")]
    name: String,
    /// Scalar type of the weights.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    precision: PrecisionArg,
    /// Write the network in integers instead (docs/THEORY.md §16): a
    /// `static` `QGru`/`QLstm` with int8 or int16 weights (the readout
    /// stays f32).
    #[arg(long, value_enum, value_name = "SCHEME")]
    quantize: Option<SchemeArg>,
    /// With `--quantize`: calibration inputs (`T×I`, `.npy` or `.csv`)
    /// whose largest |x| sets the input scale; without them the inputs are
    /// taken to lie in [−1, 1].
    #[arg(long, value_name = "PATH")]
    inputs: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn export`.
pub fn run(a: ExportArgs) -> Result<(), HostError> {
    if let Target::File(p) = &a.rust {
        if p.extension().is_none_or(|e| e != "rs") {
            return Err(HostError::BadInput(format!(
                "--rust {}: the file must end in .rs",
                p.display()
            )));
        }
    }
    a.out.check(None, &[("--rust", Some(&a.rust))])?;
    if a.inputs.is_some() && a.quantize.is_none() {
        return Err(HostError::BadInput(
            "--inputs calibrates --quantize; give --quantize int8|int16 or leave --inputs out"
                .into(),
        ));
    }
    let m = formats::load(&a.model)?;
    let precision: Precision = a.precision.into();
    let quantized = match a.quantize {
        None => None,
        Some(scheme) => {
            let calibration = match &a.inputs {
                Some(p) => arrays::read(Param::Inputs, p)?,
                None => Table {
                    rows: 1,
                    cols: 1,
                    data: vec![1.0],
                },
            };
            Some(QuantizedNet::calibrated(
                &m.net,
                scheme.into(),
                &calibration,
            )?)
        }
    };
    let src = match &quantized {
        None => rust_source(&m, &a.name, precision)?,
        Some(q) => quantized_rust_source(&m, q, &a.name)?,
    };
    match &a.rust {
        Target::Stdout => output::write_stdout(src.trim_end())?,
        Target::File(p) => output::write_atomic(p, &src)?,
    }
    let readout = m.readout.as_ref().map_or(0, |r| r.outputs * (m.info.n + 1));
    let b_hn = if m.info.form.is_some_and(|f| f.is_reset_after()) {
        m.info.n
    } else {
        0
    };
    let gates = m.net.cell().gates();
    let (n, inputs) = (m.info.n, m.info.inputs);
    let bytes = match &quantized {
        // weights, then biases and b_hn in i32, two 8-byte multipliers per
        // row, the readout in f32
        Some(q) => {
            let w = match q.scheme() {
                Scheme::Int8 => 1,
                Scheme::Int16 => 2,
            };
            gates * n * (n + inputs) * w + (gates * n + b_hn) * 4 + 2 * gates * n * 8 + readout * 4
        }
        None => {
            (gates * n * (n + inputs + 1) + b_hn + readout)
                * match precision {
                    Precision::F32 => 4,
                    Precision::F64 => 8,
                }
        }
    };
    let summary = format!(
        "{}: static {} ({}), {} bytes of weights in flash → {}",
        m.info.path,
        a.name,
        m.info.describe(),
        bytes,
        match &a.rust {
            Target::Stdout => "stdout".to_string(),
            Target::File(p) => p.display().to_string(),
        }
    );
    #[derive(serde::Serialize)]
    struct ExportReport {
        model: formats::ModelInfo,
        name: String,
        weight_bytes: usize,
    }
    let report = ExportReport {
        model: m.info,
        name: a.name,
        weight_bytes: bytes,
    };
    a.out.emit_beside(&report, &summary, a.rust.is_stdout())
}
