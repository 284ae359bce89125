//! Trained networks from files (docs/THEORY.md §9): an ONNX model with one
//! `GRU` or `LSTM` node, a PyTorch `nn.GRU` / `nn.LSTM` `state_dict`
//! saved as `.safetensors`, or a Keras 3 model with one `GRU` or `LSTM`
//! layer, saved whole (`.keras`) or as weights (`.weights.h5`; see
//! [`super::keras`]). Each becomes a [`Net`] in this crate's
//! conventions:
//!
//! * the update gate is negated (`U_z`, `W_z`, `b_z` → their negatives:
//!   ONNX, PyTorch and Keras keep `z` of the old state, the paper keeps
//!   `1 − z`);
//! * the input and recurrent biases of a gate add up, except the
//!   candidate's recurrent bias in the reset-after form (`b_hn`);
//! * stacked gate blocks are split by the framework's order: ONNX GRU
//!   `z, r, h`, ONNX LSTM `i, o, f, c`, PyTorch GRU `r, z, n`, PyTorch LSTM
//!   `i, f, g, o`, Keras GRU `z, r, h`, Keras LSTM `i, f, c, o`.
//!
//! What is supported: one forward layer (batch size is the caller's), gate
//! activations `Sigmoid`, candidate/cell activations `Tanh`, no clipping,
//! no peepholes (or all-zero ones), `input_forget = 0`, weights stored in
//! the file as `float32` or `float64`. A linear readout after the layer is
//! read when there is one ([`ReadoutWeights`]: in ONNX a `MatMul`/`Gemm`
//! fed by the layer, in safetensors the one `P.weight` of shape `[K, N]`
//! with its `P.bias` outside the layer's keys, as `nn.Linear` saves it);
//! other nodes are ignored: gatedyn analyses the recurrent core. Anything
//! else is refused with one line naming the file and the reason.
//!
//! The ONNX protobuf is decoded by `prost` from the subset of `onnx.proto`
//! (field numbers of ONNX IR version 10) declared in [`super::onnx_proto`]; unknown
//! fields are skipped by the decoder.

use super::external::{ExternalData, ModelFolder};
use super::layout::*;
use super::{keras, onnx, safetensors};
use crate::net::optional_form_name;
use crate::net::{Cell, Net, ReadoutWeights};
use crate::HostError;
use crate::Param;
use gatedyn::GruForm;
use std::path::Path;

/// The file format of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// ONNX protobuf.
    Onnx,
    /// PyTorch `state_dict` in safetensors.
    Safetensors,
    /// A whole Keras 3 model (`model.save("m.keras")`).
    Keras,
    /// Keras 3 weights alone (`model.save_weights("m.weights.h5")`):
    /// Keras's default activations assumed.
    #[serde(rename = "keras_weights")]
    KerasWeights,
}

impl ModelFormat {
    /// The format `path`'s extension names (`.onnx`, `.safetensors`,
    /// `.keras`, `.h5`, in any case); another is a [`HostError::Invalid`]
    /// naming `param` and the path.
    pub fn of_path(param: Param, path: &Path) -> Result<Self, HostError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("onnx") => Ok(ModelFormat::Onnx),
            Some("safetensors") => Ok(ModelFormat::Safetensors),
            Some("keras") => Ok(ModelFormat::Keras),
            Some("h5") => Ok(ModelFormat::KerasWeights),
            _ => Err(HostError::invalid(
                param,
                format!(
                    " {}: the extension must be .onnx (ONNX), .safetensors (PyTorch state_dict), .keras (Keras model) or .weights.h5 (Keras weights)",
                    path.display()
                ),
            )),
        }
    }
}

/// What was loaded, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// The file.
    pub path: String,
    /// Its format.
    pub format: ModelFormat,
    /// GRU or LSTM.
    pub cell: Cell,
    /// A GRU's form (written `"reset_before"`, the paper's, or
    /// `"reset_after"`, PyTorch's); `None` for an LSTM.
    #[serde(serialize_with = "optional_form_name")]
    pub form: Option<GruForm<()>>,
    /// Hidden units.
    pub n: usize,
    /// Inputs.
    pub inputs: usize,
    /// The ONNX node name, the safetensors key prefix or the Keras layer
    /// name.
    pub layer: String,
    /// Whether the file gave an initial state (ONNX `initial_h`).
    pub has_initial_state: bool,
    /// Outputs of the linear readout after the layer, if the graph has one.
    pub readout_outputs: Option<usize>,
}

impl ModelInfo {
    /// `GRU (reset after U_h, PyTorch form) N=32, 4 inputs` and the like.
    pub fn describe(&self) -> String {
        let form = match self.form {
            Some(GruForm::ResetAfter { .. }) => " (reset after U_h, PyTorch form)",
            Some(GruForm::ResetBefore) => " (reset before U_h, paper form)",
            None => "",
        };
        let assumed = match self.format {
            ModelFormat::KerasWeights => {
                " (Keras weights without a configuration: tanh and sigmoid assumed)"
            }
            _ => "",
        };
        format!(
            "{}{form} N={}, {} inputs{assumed}",
            self.cell, self.n, self.inputs
        )
    }
}

/// A loaded model: the network at its initial state (zero, or the file's
/// `initial_h`/`initial_c`) and what it was.
#[derive(Debug, Clone)]
pub struct Model {
    /// The network, state set, no step traced.
    pub net: Net,
    /// The linear readout after the recurrent layer, when the ONNX graph
    /// has one (see [`ReadoutWeights`]).
    pub readout: Option<ReadoutWeights>,
    /// Description.
    pub info: ModelInfo,
}

/// Loads `path` (`.onnx` or `.safetensors`, by extension). Every error is
/// a [`HostError::Invalid`] naming `Param::Model`, its message starting
/// with the path.
pub fn load(path: &Path) -> Result<Model, HostError> {
    let bad = |why: String| HostError::invalid(Param::Model, format!(" {}: {why}", path.display()));
    let format = ModelFormat::of_path(Param::Model, path)?;
    // a regular file (no FIFO, no device), and its length
    let size = crate::io::files::regular_len(path).map_err(bad)?;
    // the file's bytes, then the weights as f64 (at most twice the bytes of
    // a float32 file): about three times the file
    if let Some(avail) = crate::io::limits::allocatable() {
        if size.saturating_mul(3) > avail {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            return Err(bad(format!(
                "a {:.1} GiB file needs about {:.1} GiB to load, more than the {:.1} GiB this process may allocate",
                gib(size),
                gib(size.saturating_mul(3)),
                gib(avail)
            )));
        }
    }
    let bytes = match format {
        ModelFormat::Safetensors => safetensors::read_file(path, size),
        _ => crate::io::files::read_regular(path, u64::MAX),
    }
    .map_err(bad)?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    decode(
        format,
        &bytes,
        &ModelFolder(folder),
        &path.display().to_string(),
    )
    .map_err(bad)
}

/// A model from the bytes of a file in `format`, its external data (ONNX)
/// from `external`, named `name` in its [`ModelInfo`]: [`load`] without
/// the file system, for models held in memory (and the fuzz targets).
/// An error says what is wrong with the bytes.
pub fn decode(
    format: ModelFormat,
    bytes: &[u8],
    external: &dyn ExternalData,
    name: &str,
) -> Result<Model, String> {
    let (stacked, layer, readout) = match format {
        ModelFormat::Onnx => onnx::read_onnx(bytes, external),
        ModelFormat::Safetensors => safetensors::read_safetensors(bytes),
        ModelFormat::Keras => keras::read_keras(std::io::Cursor::new(bytes)),
        ModelFormat::KerasWeights => keras::read_keras_weights(bytes),
    }?;
    if let Some(r) = &readout {
        if let Some(k) = r.w.iter().chain(&r.b).position(|x| !x.is_finite()) {
            return Err(format!("readout weight {k} is not finite"));
        }
    }
    let has_initial_state = stacked.initial_h.is_some();
    for (what, v) in [
        ("initial_h", &stacked.initial_h),
        ("initial_c", &stacked.initial_c),
    ] {
        if let Some(k) = v.iter().flatten().position(|x| !x.is_finite()) {
            return Err(format!("{what} entry {k} is not finite"));
        }
    }
    let net = build(stacked)?;
    let form = match &net {
        Net::Gru(g) => Some(g.form.kind()),
        Net::Lstm(_) => None,
    };
    Ok(Model {
        info: ModelInfo {
            path: name.to_string(),
            format,
            cell: net.cell(),
            form,
            n: net.n(),
            inputs: net.inputs(),
            layer,
            has_initial_state,
            readout_outputs: readout.as_ref().map(|r| r.outputs),
        },
        net,
        readout,
    })
}
