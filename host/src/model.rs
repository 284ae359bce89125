//! Trained networks from files (docs/THEORY.md §9): an ONNX model with one
//! `GRU` or `LSTM` node, or a PyTorch `nn.GRU` / `nn.LSTM` `state_dict`
//! saved as `.safetensors`. Both become a [`Net`] in this crate's
//! conventions:
//!
//! * the update gate is negated (`U_z`, `W_z`, `b_z` → their negatives:
//!   ONNX and PyTorch keep `z` of the old state, the paper keeps `1 − z`);
//! * the input and recurrent biases of a gate add up, except the
//!   candidate's recurrent bias in the reset-after form (`b_hn`);
//! * stacked gate blocks are split by the framework's order: ONNX GRU
//!   `z, r, h`, ONNX LSTM `i, o, f, c`, PyTorch GRU `r, z, n`, PyTorch LSTM
//!   `i, f, g, o`.
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
//! (field numbers of ONNX IR version 10) declared in [`onnx`]; unknown
//! fields are skipped by the decoder.

use crate::network::{Cell, GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net};
use crate::HostError;
use gatedyn::init::GateScale;
use gatedyn::{Activation, GruForm};
use std::path::Path;

/// At most this many hidden units in an imported model (the dense
/// Jacobian of `analyze` at this size is 8 GB in `f64`; larger models go
/// matrix-free only, which the CLI does not offer for imports yet).
pub const MAX_HIDDEN: usize = 32_768;
/// At most this many inputs.
pub const MAX_INPUTS: usize = 1 << 20;

/// The message subset of `onnx.proto` that holds a recurrent layer.
pub mod onnx {
    /// `ModelProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ModelProto {
        /// `ir_version`.
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        /// `producer_name`.
        #[prost(string, tag = "2")]
        pub producer_name: String,
        /// `graph`.
        #[prost(message, optional, tag = "7")]
        pub graph: Option<GraphProto>,
        /// `opset_import`.
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetIdProto>,
    }
    /// `OperatorSetIdProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetIdProto {
        /// `domain`.
        #[prost(string, tag = "1")]
        pub domain: String,
        /// `version`.
        #[prost(int64, tag = "2")]
        pub version: i64,
    }
    /// `GraphProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GraphProto {
        /// `node`.
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<NodeProto>,
        /// `name`.
        #[prost(string, tag = "2")]
        pub name: String,
        /// `initializer`.
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<TensorProto>,
        /// `input` (written by [`crate::save`]; not needed to read).
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfoProto>,
        /// `output`.
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfoProto>,
    }
    /// `ValueInfoProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfoProto {
        /// `name`.
        #[prost(string, tag = "1")]
        pub name: String,
        /// `type`.
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<TypeProto>,
    }
    /// `TypeProto` (its `tensor_type` member only).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProto {
        /// `tensor_type`.
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TypeProtoTensor>,
    }
    /// `TypeProto.Tensor`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TypeProtoTensor {
        /// `elem_type` (1 FLOAT).
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// `shape`.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShapeProto>,
    }
    /// `TensorShapeProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShapeProto {
        /// `dim`.
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }
    /// `TensorShapeProto.Dimension`: a size or a symbolic name (the
    /// `oneof` written as two optional fields, which encode the same).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// `dim_value`.
        #[prost(int64, optional, tag = "1")]
        pub dim_value: Option<i64>,
        /// `dim_param`.
        #[prost(string, optional, tag = "2")]
        pub dim_param: Option<String>,
    }
    /// `NodeProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeProto {
        /// `input`.
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        /// `output`.
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        /// `name`.
        #[prost(string, tag = "3")]
        pub name: String,
        /// `op_type`.
        #[prost(string, tag = "4")]
        pub op_type: String,
        /// `attribute`.
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<AttributeProto>,
        /// `domain`.
        #[prost(string, tag = "7")]
        pub domain: String,
    }
    /// `AttributeProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttributeProto {
        /// `name`.
        #[prost(string, tag = "1")]
        pub name: String,
        /// `f`.
        #[prost(float, tag = "2")]
        pub f: f32,
        /// `i`.
        #[prost(int64, tag = "3")]
        pub i: i64,
        /// `s`.
        #[prost(bytes = "vec", tag = "4")]
        pub s: Vec<u8>,
        /// `floats`.
        #[prost(float, repeated, tag = "7")]
        pub floats: Vec<f32>,
        /// `ints`.
        #[prost(int64, repeated, tag = "8")]
        pub ints: Vec<i64>,
        /// `strings`.
        #[prost(bytes = "vec", repeated, tag = "9")]
        pub strings: Vec<Vec<u8>>,
        /// `type`.
        #[prost(int32, tag = "20")]
        pub r#type: i32,
    }
    /// `TensorProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorProto {
        /// `dims`.
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        /// `data_type` (1 FLOAT, 11 DOUBLE).
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        /// `float_data`.
        #[prost(float, repeated, tag = "4")]
        pub float_data: Vec<f32>,
        /// `name`.
        #[prost(string, tag = "8")]
        pub name: String,
        /// `raw_data`.
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
        /// `double_data`.
        #[prost(double, repeated, tag = "10")]
        pub double_data: Vec<f64>,
        /// `external_data` (refused).
        #[prost(message, repeated, tag = "13")]
        pub external_data: Vec<StringStringEntryProto>,
        /// `data_location` (1 EXTERNAL, refused).
        #[prost(int32, tag = "14")]
        pub data_location: i32,
    }
    /// `StringStringEntryProto`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntryProto {
        /// `key`.
        #[prost(string, tag = "1")]
        pub key: String,
        /// `value`.
        #[prost(string, tag = "2")]
        pub value: String,
    }
}

/// The file format of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// ONNX protobuf.
    Onnx,
    /// PyTorch `state_dict` in safetensors.
    Safetensors,
}

impl ModelFormat {
    /// The format `path`'s extension names (`.onnx`, `.safetensors`, in
    /// any case); another is a [`HostError::Param`] naming `flag` and the
    /// path.
    pub fn of_path(flag: &str, path: &Path) -> Result<Self, HostError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("onnx") => Ok(ModelFormat::Onnx),
            Some("safetensors") => Ok(ModelFormat::Safetensors),
            _ => Err(HostError::Param(format!(
                "{flag} {}: the extension must be .onnx (ONNX) or .safetensors (PyTorch state_dict)",
                path.display()
            ))),
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
    /// A GRU's form: `"reset_before"` (the paper's) or `"reset_after"`
    /// (PyTorch's); `None` for an LSTM.
    pub form: Option<&'static str>,
    /// Hidden units.
    pub n: usize,
    /// Inputs.
    pub inputs: usize,
    /// The ONNX node name or the safetensors key prefix.
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
            Some("reset_after") => " (reset after U_h, PyTorch form)",
            Some(_) => " (reset before U_h, paper form)",
            None => "",
        };
        format!("{}{form} N={}, {} inputs", self.cell, self.n, self.inputs)
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

/// A linear readout `y = W h + b` found after the recurrent node of an ONNX
/// graph: a `MatMul` (or `Gemm`) with stored weights, fed from the layer's
/// output through shape-only nodes (`Squeeze`, `Reshape`, `Transpose`,
/// `Flatten`, `Unsqueeze`, `Identity`), optionally followed by an `Add` of
/// a stored bias. `Gemm`'s `alpha`, `beta` and `transB` are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadoutWeights {
    /// Outputs `K`.
    pub outputs: usize,
    /// `K×N`, row-major (`w[k·N + j]` multiplies `h_j` in output `k`).
    pub w: Vec<f64>,
    /// `K`.
    pub b: Vec<f64>,
}

impl ReadoutWeights {
    /// `y = W h + b` for one state `h` (length `N`).
    pub fn output(&self, h: &[f64]) -> Vec<f64> {
        let n = h.len();
        (0..self.outputs)
            .map(|o| {
                let row = &self.w[o * n..(o + 1) * n];
                row.iter().zip(h).map(|(a, b)| a * b).sum::<f64>() + self.b[o]
            })
            .collect()
    }

    /// `y = W h + b` for every row of `states` (`T×N`).
    pub fn apply(&self, states: &crate::arrays::Table) -> crate::arrays::Table {
        let k = self.outputs;
        let mut data = Vec::with_capacity(states.rows * k);
        for t in 0..states.rows {
            data.extend(self.output(states.row(t)));
        }
        crate::arrays::Table {
            rows: states.rows,
            cols: k,
            data,
        }
    }
}

/// The weights of a recurrent layer in the framework's stacked layout,
/// before conversion (row-major, `f64`).
struct Stacked {
    cell: RawCell,
    n: usize,
    inputs: usize,
    /// `G·n × inputs`.
    w: Vec<f64>,
    /// `G·n × n`.
    r: Vec<f64>,
    /// `G·n` input biases.
    b_in: Vec<f64>,
    /// `G·n` recurrent biases.
    b_rec: Vec<f64>,
    initial_h: Option<Vec<f64>>,
    initial_c: Option<Vec<f64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RawCell {
    /// ONNX GRU, order z, r, h; `reset_after` = `linear_before_reset`.
    OnnxGru { reset_after: bool },
    /// ONNX LSTM, order i, o, f, c.
    OnnxLstm,
    /// PyTorch GRU, order r, z, n (always reset after).
    TorchGru,
    /// PyTorch LSTM, order i, f, g, o.
    TorchLstm,
}

impl RawCell {
    fn gates(self) -> usize {
        match self {
            RawCell::OnnxGru { .. } | RawCell::TorchGru => 3,
            RawCell::OnnxLstm | RawCell::TorchLstm => 4,
        }
    }
}

/// Loads `path` (`.onnx` or `.safetensors`, by extension). Every error is
/// a [`HostError::Param`] whose one line starts with `--model PATH:`.
pub fn load(path: &Path) -> Result<Model, HostError> {
    let bad = |why: String| HostError::Param(format!("--model {}: {why}", path.display()));
    let format = ModelFormat::of_path("--model", path)?;
    let size = std::fs::metadata(path)
        .map_err(|e| bad(format!("cannot read: {e}")))?
        .len();
    // the file's bytes, then the weights as f64 (at most twice the bytes of
    // a float32 file): about three times the file
    if let Some(avail) = crate::limits::allocatable() {
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
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let (stacked, layer, readout) = match format {
        ModelFormat::Onnx => read_onnx(&bytes),
        ModelFormat::Safetensors => read_safetensors(&bytes),
    }
    .map_err(bad)?;
    if let Some(r) = &readout {
        if let Some(k) = r.w.iter().chain(&r.b).position(|x| !x.is_finite()) {
            return Err(bad(format!("readout weight {k} is not finite")));
        }
    }
    let has_initial_state = stacked.initial_h.is_some();
    let net = build(stacked).map_err(bad)?;
    let form = match &net {
        Net::Gru(g) if g.form.is_reset_after() => Some("reset_after"),
        Net::Gru(_) => Some("reset_before"),
        Net::Lstm(_) => None,
    };
    Ok(Model {
        info: ModelInfo {
            path: path.display().to_string(),
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

fn attr<'a>(node: &'a onnx::NodeProto, name: &str) -> Option<&'a onnx::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// A weight tensor read from a file: its shape and its values as `f64`
/// (row-major).
struct Tensor {
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// The values of an ONNX tensor as `f64`, with its dims.
fn tensor_values(t: &onnx::TensorProto) -> Result<Tensor, String> {
    let name = &t.name;
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err(format!(
            "tensor {name} is stored in an external file: save the model with its weights inside (onnx.save(..., save_as_external_data=False))"
        ));
    }
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format!("tensor {name} has a negative dimension {d}"))
        })
        .collect::<Result<_, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= crate::arrays::MAX_ENTRIES)
        .ok_or(format!("tensor {name} is too large ({dims:?})"))?;
    let values: Vec<f64> = match t.data_type {
        1 if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
            .collect(),
        1 => t.float_data.iter().map(|&x| x as f64).collect(),
        11 if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        11 => t.double_data.clone(),
        other => {
            return Err(format!(
                "tensor {name} has ONNX data type {other}; only float32 (1) and float64 (11) weights are supported"
            ))
        }
    };
    if values.len() != count {
        return Err(format!(
            "tensor {name} holds {} values, its shape {dims:?} needs {count} (truncated or corrupt)",
            values.len()
        ));
    }
    Ok(Tensor {
        shape: dims,
        values,
    })
}

/// The readout after `node` (see [`ReadoutWeights`]), if any.
fn find_readout(
    graph: &onnx::GraphProto,
    node: &onnx::NodeProto,
    n: usize,
) -> Result<Option<ReadoutWeights>, String> {
    const SHAPE_ONLY: [&str; 6] = [
        "Squeeze",
        "Reshape",
        "Transpose",
        "Flatten",
        "Unsqueeze",
        "Identity",
    ];
    let stored = |name: &str| graph.initializer.iter().find(|t| t.name == name);
    // ONNX graphs are topologically sorted: one pass follows the layer's
    // outputs through shape-only nodes to the first product
    let mut live: Vec<&str> = node.output.iter().map(String::as_str).collect();
    let mut product = None;
    for m in &graph.node {
        let Some(first) = m.input.first() else {
            continue;
        };
        if !live.contains(&first.as_str()) {
            continue;
        }
        match m.op_type.as_str() {
            op if SHAPE_ONLY.contains(&op) => live.extend(m.output.iter().map(String::as_str)),
            "MatMul" | "Gemm" => {
                product = Some(m);
                break;
            }
            _ => {}
        }
    }
    let Some(m) = product else { return Ok(None) };
    let Some(t) = m.input.get(1).and_then(|b| stored(b)) else {
        return Ok(None); // a product with a computed matrix: not a readout
    };
    let Tensor { shape, values } = tensor_values(t)?;
    let gemm = m.op_type == "Gemm";
    let trans_b = gemm && attr(m, "transB").is_some_and(|a| a.i != 0);
    if gemm && attr(m, "transA").is_some_and(|a| a.i != 0) {
        return Err("the readout Gemm has transA = 1; not supported".into());
    }
    let alpha = if gemm {
        attr(m, "alpha").map_or(1.0, |a| a.f as f64)
    } else {
        1.0
    };
    let beta = if gemm {
        attr(m, "beta").map_or(1.0, |a| a.f as f64)
    } else {
        1.0
    };
    let k = match (&shape[..], trans_b) {
        (&[rows, k], false) if rows == n => k,
        (&[k, cols], true) if cols == n => k,
        _ => return Err(format!("the readout's weights {} have shape {shape:?}; expected [{n}, K] (or [K, {n}] with transB)", t.name)),
    };
    // ours is K×N: w[o][j] = B[j][o] (or B[o][j] transposed)
    let w: Vec<f64> = (0..k)
        .flat_map(|o| (0..n).map(move |j| (o, j)))
        .map(|(o, j)| {
            alpha
                * if trans_b {
                    values[o * n + j]
                } else {
                    values[j * k + o]
                }
        })
        .collect();
    let bias_of = |name: &str, scale: f64| -> Result<Option<Vec<f64>>, String> {
        match stored(name) {
            Some(t) => {
                let b = tensor_values(t)?;
                if b.values.len() != k {
                    return Err(format!(
                        "the readout bias {} has shape {:?}; expected {k} entries",
                        t.name, b.shape
                    ));
                }
                Ok(Some(b.values.iter().map(|x| scale * x).collect()))
            }
            None => Ok(None),
        }
    };
    let mut b = match m.input.get(2) {
        Some(c) if gemm && !c.is_empty() => bias_of(c, beta)?.unwrap_or_else(|| vec![0.0; k]),
        _ => vec![0.0; k],
    };
    let out = m.output.first().map(String::as_str).unwrap_or_default();
    if let Some(add) = graph
        .node
        .iter()
        .find(|a| a.op_type == "Add" && a.input.iter().any(|i| i == out))
    {
        if let Some(other) = add.input.iter().find(|i| *i != out) {
            if let Some(extra) = bias_of(other, 1.0)? {
                b.iter_mut().zip(extra).for_each(|(x, e)| *x += e);
            }
        }
    }
    Ok(Some(ReadoutWeights { outputs: k, w, b }))
}

type OnnxLayer = (Stacked, String, Option<ReadoutWeights>);

fn read_onnx(bytes: &[u8]) -> Result<OnnxLayer, String> {
    use prost::Message;
    let model = onnx::ModelProto::decode(bytes).map_err(|e| {
        format!("not a readable ONNX model (protobuf: {e}); a truncated file reads like this too")
    })?;
    let graph = model
        .graph
        .ok_or("not an ONNX model: no graph (is this an ONNX file?)")?;
    let recurrent: Vec<&onnx::NodeProto> = graph
        .node
        .iter()
        .filter(|n| {
            (n.domain.is_empty() || n.domain == "ai.onnx")
                && matches!(n.op_type.as_str(), "GRU" | "LSTM" | "RNN")
        })
        .collect();
    let node = match recurrent[..] {
        [] => {
            let ops: Vec<&str> = graph
                .node
                .iter()
                .map(|n| n.op_type.as_str())
                .take(8)
                .collect();
            return Err(format!(
                "no GRU or LSTM node in the graph (its operators: {})",
                if ops.is_empty() {
                    "none".to_string()
                } else {
                    ops.join(", ")
                }
            ));
        }
        [one] => one,
        _ => {
            return Err(format!(
                "{} recurrent nodes (stacked layers); only one GRU or LSTM layer is supported",
                recurrent.len()
            ))
        }
    };
    let is_gru = match node.op_type.as_str() {
        "GRU" => true,
        "LSTM" => false,
        _ => {
            return Err("the recurrent node is a plain RNN; only GRU and LSTM are supported".into())
        }
    };
    let op = &node.op_type;
    let text = |a: &onnx::AttributeProto| String::from_utf8_lossy(&a.s).into_owned();
    if let Some(d) = attr(node, "direction") {
        let d = text(d);
        if d != "forward" {
            return Err(format!("{op} direction {d:?}: only forward layers are supported (a bidirectional layer has two networks)"));
        }
    }
    if attr(node, "clip").is_some() {
        return Err(format!(
            "{op} has a cell clip; clipping is not part of the model gatedyn analyses"
        ));
    }
    if attr(node, "input_forget").is_some_and(|a| a.i != 0) {
        return Err(
            "LSTM input_forget = 1 (coupled input and forget gates) is not supported".into(),
        );
    }
    if let Some(a) = attr(node, "activations") {
        let names: Vec<String> = a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        let want: &[&str] = if is_gru {
            &["Sigmoid", "Tanh"]
        } else {
            &["Sigmoid", "Tanh", "Tanh"]
        };
        for (k, (got, w)) in names.iter().zip(want).enumerate() {
            if !got.eq_ignore_ascii_case(w) {
                return Err(format!(
                    "{op} activation {k} is {got}; supported: {} (the paper's gates)",
                    want.join(", ")
                ));
            }
        }
        if names.len() != want.len() {
            return Err(format!(
                "{op} lists {} activations; a forward layer has {}",
                names.len(),
                want.len()
            ));
        }
    }
    let reset_after = is_gru && attr(node, "linear_before_reset").is_some_and(|a| a.i != 0);
    let hidden_attr = attr(node, "hidden_size").map(|a| a.i);
    let init = |k: usize| -> Result<Option<Tensor>, String> {
        let Some(name) = node.input.get(k).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        match graph.initializer.iter().find(|t| &t.name == name) {
            Some(t) => tensor_values(t).map(Some),
            None => Err(format!(
                "{op} input {k} ({name}) is not an initializer; gatedyn needs the weights stored in the model"
            )),
        }
    };
    let g = if is_gru { 3 } else { 4 };
    let Tensor {
        shape: wd,
        values: w,
    } = init(1)?.ok_or(format!("{op} has no W input"))?;
    let Tensor {
        shape: rd,
        values: r,
    } = init(2)?.ok_or(format!("{op} has no R input"))?;
    let [1, gn, inputs] = wd[..] else {
        return Err(format!(
            "{op} W has shape {wd:?}; expected [1, {g}·hidden, inputs]"
        ));
    };
    let n = gn / g;
    if gn % g != 0 || n == 0 || rd[..] != [1, gn, n] {
        return Err(format!(
            "{op} W {wd:?} and R {rd:?} do not fit [1, {g}·N, I] and [1, {g}·N, N]"
        ));
    }
    if let Some(h) = hidden_attr {
        if h != n as i64 {
            return Err(format!("{op} hidden_size = {h} but R is {rd:?}"));
        }
    }
    let (b_in, b_rec) = match init(3)? {
        None => (vec![0.0; gn], vec![0.0; gn]),
        Some(Tensor {
            shape: bd,
            values: b,
        }) if bd[..] == [1, 2 * gn] => (b[..gn].to_vec(), b[gn..].to_vec()),
        Some(Tensor { shape: bd, .. }) => {
            return Err(format!("{op} B has shape {bd:?}; expected [1, {}]", 2 * gn))
        }
    };
    // optional inputs that may be graph inputs (given at run time): read
    // only when stored in the model; sequence_lens (input 4) is ignored,
    // gatedyn runs the whole input sequence
    let stored = |k: usize| -> Result<Option<Tensor>, String> {
        match node.input.get(k) {
            Some(name) if graph.initializer.iter().any(|t| &t.name == name) => init(k),
            _ => Ok(None),
        }
    };
    let state = |k: usize, what: &str| -> Result<Option<Vec<f64>>, String> {
        match stored(k)? {
            None => Ok(None),
            Some(Tensor {
                shape: d,
                values: v,
            }) if d[..] == [1, 1, n] => Ok(Some(v)),
            Some(Tensor { shape: d, .. }) => Err(format!(
                "{op} {what} has shape {d:?}; expected [1, 1, {n}] (batch 1)"
            )),
        }
    };
    let initial_h = state(5, "initial_h")?;
    let initial_c = if is_gru { None } else { state(6, "initial_c")? };
    if !is_gru {
        if let Some(Tensor {
            shape: pd,
            values: p,
        }) = stored(7)?
        {
            if p.iter().any(|&x| x != 0.0) {
                return Err(format!(
                    "LSTM has peephole weights P {pd:?}; peepholes are not supported"
                ));
            }
        }
    }
    let cell = if is_gru {
        RawCell::OnnxGru { reset_after }
    } else {
        RawCell::OnnxLstm
    };
    let layer = if node.name.is_empty() {
        op.clone()
    } else {
        node.name.clone()
    };
    let readout = find_readout(&graph, node, n)?;
    Ok((
        Stacked {
            cell,
            n,
            inputs,
            w,
            r,
            b_in,
            b_rec,
            initial_h,
            initial_c,
        },
        layer,
        readout,
    ))
}

fn read_safetensors(bytes: &[u8]) -> Result<OnnxLayer, String> {
    use safetensors::{Dtype, SafeTensors};
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        format!("not a readable safetensors file ({e}); a truncated file reads like this too")
    })?;
    let names = st.names();
    let hh: Vec<&str> = names
        .iter()
        .copied()
        .filter(|k| k.ends_with("weight_hh_l0"))
        .collect();
    let prefix = match hh[..] {
        [] => {
            return Err(
                "no weight_hh_l0 tensor: expected the state_dict of a PyTorch nn.GRU or nn.LSTM (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)".into(),
            )
        }
        [one] => one.trim_end_matches("weight_hh_l0").to_string(),
        _ => return Err(format!("{} recurrent layers (keys ending in weight_hh_l0); only one is supported", hh.len())),
    };
    let key = |k: &str| format!("{prefix}{k}");
    if names.iter().any(|k| *k == key("weight_hh_l1")) {
        return Err(
            "a stacked network (num_layers > 1, weight_hh_l1): only one layer is supported".into(),
        );
    }
    if names.iter().any(|k| *k == key("weight_hh_l0_reverse")) {
        return Err(
            "a bidirectional network (weight_hh_l0_reverse): only forward layers are supported"
                .into(),
        );
    }
    if names.iter().any(|k| *k == key("weight_hr_l0")) {
        return Err("an LSTM with proj_size > 0 (weight_hr_l0) is not supported".into());
    }
    // a tensor by its full name, as f64 (`None`: not in the file)
    let read = |name: &str| -> Result<Option<Tensor>, String> {
        let Ok(t) = st.tensor(name) else {
            return Ok(None);
        };
        let data = t.data();
        let values: Vec<f64> = match t.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64).collect(),
            Dtype::F64 => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
            other => return Err(format!("tensor {name} is {other:?}; only F32 and F64 weights are supported (convert with .float())")),
        };
        Ok(Some(Tensor {
            shape: t.shape().to_vec(),
            values,
        }))
    };
    let get = |k: &str, required: bool| -> Result<Option<Tensor>, String> {
        let name = key(k);
        match read(&name)? {
            None if required => Err(format!("no tensor {name}")),
            t => Ok(t),
        }
    };
    let Tensor {
        shape: hd,
        values: r,
    } = get("weight_hh_l0", true)?.expect("required");
    let [gn, n] = hd[..] else {
        return Err(format!(
            "{prefix}weight_hh_l0 has shape {hd:?}; expected [G·hidden, hidden]"
        ));
    };
    let cell = match (n > 0).then(|| gn / n.max(1)) {
        Some(3) if gn == 3 * n => RawCell::TorchGru,
        Some(4) if gn == 4 * n => RawCell::TorchLstm,
        _ => {
            return Err(format!(
            "{prefix}weight_hh_l0 has shape {hd:?}: neither a GRU ([3N, N]) nor an LSTM ([4N, N])"
        ))
        }
    };
    let Tensor {
        shape: id,
        values: w,
    } = get("weight_ih_l0", true)?.expect("required");
    let [gn_i, inputs] = id[..] else {
        return Err(format!(
            "{prefix}weight_ih_l0 has shape {id:?}; expected [{gn}, inputs]"
        ));
    };
    if gn_i != gn {
        return Err(format!(
            "{prefix}weight_ih_l0 has shape {id:?}; expected [{gn}, inputs]"
        ));
    }
    let bias = |k: &str| -> Result<Vec<f64>, String> {
        match get(k, false)? {
            None => Ok(vec![0.0; gn]),
            Some(Tensor {
                shape: d,
                values: v,
            }) if d[..] == [gn] => Ok(v),
            Some(Tensor { shape: d, .. }) => {
                Err(format!("{prefix}{k} has shape {d:?}; expected [{gn}]"))
            }
        }
    };
    let (b_in, b_rec) = (bias("bias_ih_l0")?, bias("bias_hh_l0")?);
    // a linear readout (nn.Linear: `P.weight` of [K, N] and `P.bias` of
    // [K]) outside the recurrent layer's keys, when there is exactly one
    let linear: Vec<&str> = names
        .iter()
        .copied()
        .filter(|k| !k.starts_with(&prefix) || prefix.is_empty())
        .filter_map(|k| k.strip_suffix("weight"))
        .filter(|p| p.is_empty() || p.ends_with('.'))
        .filter(|p| {
            st.tensor(&format!("{p}weight"))
                .is_ok_and(|t| t.shape().len() == 2 && t.shape()[1] == n)
        })
        .collect();
    let readout = match linear[..] {
        [p] => {
            let w = read(&format!("{p}weight"))?.expect("listed above");
            let k = w.shape[0];
            let b = match read(&format!("{p}bias"))? {
                None => vec![0.0; k],
                Some(b) if b.shape[..] == [k] => b.values,
                Some(b) => {
                    return Err(format!(
                        "readout {p}bias has shape {:?}; expected [{k}]",
                        b.shape
                    ))
                }
            };
            (k > 0).then_some(ReadoutWeights {
                outputs: k,
                w: w.values,
                b,
            })
        }
        _ => None,
    };
    let layer = if prefix.is_empty() {
        "l0".to_string()
    } else {
        format!("{prefix}l0")
    };
    Ok((
        Stacked {
            cell,
            n,
            inputs,
            w,
            r,
            b_in,
            b_rec,
            initial_h: None,
            initial_c: None,
        },
        layer,
        readout,
    ))
}

/// Converts a framework layout to a [`Net`] in this crate's conventions.
fn build(s: Stacked) -> Result<Net, String> {
    let Stacked {
        cell,
        n,
        inputs,
        w,
        r,
        b_in,
        b_rec,
        initial_h,
        initial_c,
    } = s;
    if n > MAX_HIDDEN {
        return Err(format!(
            "{n} hidden units; at most {MAX_HIDDEN} are supported"
        ));
    }
    if inputs > MAX_INPUTS {
        return Err(format!(
            "{inputs} inputs; at most {MAX_INPUTS} are supported"
        ));
    }
    for (what, v) in [
        ("input weights", &w),
        ("recurrent weights", &r),
        ("input bias", &b_in),
        ("recurrent bias", &b_rec),
    ] {
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "{what} entry {k} is {}: every weight must be finite",
                v[k]
            ));
        }
    }
    debug_assert_eq!(w.len(), cell.gates() * n * inputs);
    // block `k` of the framework's stack, the update gate negated
    let gate = |k: usize, negate: bool, with_rec_bias: bool| -> GateWeights {
        let sign = if negate { -1.0 } else { 1.0 };
        let rows = k * n..(k + 1) * n;
        GateWeights {
            u: r[rows.start * n..rows.end * n]
                .iter()
                .map(|x| sign * x)
                .collect(),
            w: w[rows.start * inputs..rows.end * inputs]
                .iter()
                .map(|x| sign * x)
                .collect(),
            b: rows
                .map(|i| sign * (b_in[i] + if with_rec_bias { b_rec[i] } else { 0.0 }))
                .collect(),
        }
    };
    let state = |v: Option<Vec<f64>>| v.unwrap_or_else(|| vec![0.0; n]);
    Ok(match cell {
        RawCell::OnnxGru { .. } | RawCell::TorchGru => {
            let (kz, kr, kh) = if cell == RawCell::TorchGru {
                (1, 0, 2)
            } else {
                (0, 1, 2)
            };
            let reset_after = matches!(
                cell,
                RawCell::TorchGru | RawCell::OnnxGru { reset_after: true }
            );
            let weights = GruWeights {
                z: gate(kz, true, true),
                r: gate(kr, false, true),
                h: gate(kh, false, !reset_after),
            };
            let form = if reset_after {
                GruForm::ResetAfter {
                    recurrent_bias: b_rec[kh * n..(kh + 1) * n].to_vec(),
                }
            } else {
                GruForm::ResetBefore
            };
            Net::Gru(GruNet {
                h: state(initial_h),
                ..GruNet::from_weights(weights, form, Activation::Tanh)
            })
        }
        RawCell::OnnxLstm | RawCell::TorchLstm => {
            // (f, i, o, c) blocks in the framework's order
            let (kf, ki, ko, kc) = if cell == RawCell::TorchLstm {
                (1, 0, 3, 2)
            } else {
                (2, 0, 1, 3)
            };
            let weights = LstmWeights {
                f: gate(kf, false, true),
                i: gate(ki, false, true),
                o: gate(ko, false, true),
                c: gate(kc, false, true),
            };
            Net::Lstm(LstmNet {
                h: state(initial_h),
                c: state(initial_c),
                ..LstmNet::from_weights(weights, Activation::Tanh)
            })
        }
    })
}

/// Standard deviation of `xs` (population), 0 for an empty slice.
fn std_dev(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / m).sqrt()
}

/// Mean of `xs`, 0 for an empty slice.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The scales a random network with these weights would have been drawn
/// with (docs/THEORY.md §1, §9): `σ = std(U)·√N`, `σ_b = std(b)`, input
/// scale `std(W)·√I`.
pub fn empirical_scale(g: &GateWeights, n: usize, inputs: usize) -> GateScale {
    GateScale {
        sigma: std_dev(&g.u) * (n as f64).sqrt(),
        bias: std_dev(&g.b),
        input: std_dev(&g.w) * (inputs as f64).sqrt(),
    }
}
