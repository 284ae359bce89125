//! The ONNX reader: one `GRU` or `LSTM` node, its weights, and a linear
//! readout after it.

use super::external::ExternalData;
use super::layout::*;
use super::onnx_proto as onnx;
use crate::io::arrays::{f32_le, f64_le};
use crate::net::ReadoutWeights;
use gatedyn::GruForm;
use std::path::Path;

pub(crate) fn attr<'a>(node: &'a onnx::NodeProto, name: &str) -> Option<&'a onnx::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The values of an ONNX tensor as `f64`, with its dims; a tensor stored
/// in an external file (ONNX external data, as PyTorch's default exporter
/// writes it) is read from `external` (the model's folder, for a file).
pub(crate) fn tensor_values(
    t: &onnx::TensorProto,
    external: &dyn ExternalData,
) -> Result<Tensor, String> {
    let name = &t.name;
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
        .filter(|&c| c <= crate::io::arrays::MAX_ENTRIES)
        .ok_or(format!("tensor {name} is too large ({dims:?})"))?;
    let is_external = t.data_location == 1 || !t.external_data.is_empty();
    let stored;
    let raw: &[u8] = if is_external {
        let width = match t.data_type {
            1 => 4,
            11 => 8,
            other => {
                return Err(format!(
                    "tensor {name} has ONNX data type {other}; only float32 (1) and float64 (11) weights are supported"
                ))
            }
        };
        stored = external_bytes(t, external, count * width)?;
        &stored
    } else {
        &t.raw_data
    };
    if !is_external && !t.raw_data.is_empty() {
        let width = if t.data_type == 11 { 8 } else { 4 };
        if t.raw_data.len() != count * width {
            return Err(format!(
                "tensor {name} holds {} bytes of raw data, its shape {dims:?} needs {} (truncated or corrupt)",
                t.raw_data.len(),
                count * width
            ));
        }
    }
    let values: Vec<f64> = match t.data_type {
        1 if is_external => f32_le(raw),
        11 if is_external => f64_le(raw),
        1 if !t.raw_data.is_empty() => f32_le(&t.raw_data),
        1 => t.float_data.iter().map(|&x| x as f64).collect(),
        11 if !t.raw_data.is_empty() => f64_le(&t.raw_data),
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

/// The `bytes` bytes of an externally stored tensor: its `location`
/// (a plain relative path: no root, no `..`), from `offset`, `length`
/// bytes when given (it must be `bytes`), from `external`.
fn external_bytes(
    t: &onnx::TensorProto,
    external: &dyn ExternalData,
    bytes: usize,
) -> Result<Vec<u8>, String> {
    let name = &t.name;
    let entry = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    };
    let Some(location) = entry("location") else {
        return Err(format!(
            "tensor {name} is stored externally but names no location"
        ));
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        entry(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("tensor {name}: external {key} {v:?} is not a byte count"))
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    if let Some(length) = number("length")? {
        if length != bytes as u64 {
            return Err(format!(
                "tensor {name}: its external data is {length} bytes long, its shape and type need {bytes}"
            ));
        }
    }
    let relative = Path::new(location);
    if location.is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "tensor {name}: external data {location:?} is not a plain path inside the model's folder; refused"
        ));
    }
    external
        .read(location, offset, bytes)
        .map_err(|e| format!("tensor {name}: {e}"))
}

/// The readout after `node` (see [`ReadoutWeights`]), if any.
pub(crate) fn find_readout(
    graph: &onnx::GraphProto,
    node: &onnx::NodeProto,
    n: usize,
    external: &dyn ExternalData,
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
    let Tensor { shape, values } = tensor_values(t, external)?;
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
                let b = tensor_values(t, external)?;
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

/// The recurrent layer and readout of an ONNX model whose bytes are
/// `bytes`; external data is read from `external` (the model's folder, for a file).
pub(crate) fn read_onnx(bytes: &[u8], external: &dyn ExternalData) -> Result<ReadLayer, String> {
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
            if graph
                .node
                .iter()
                .any(|n| matches!(n.op_type.as_str(), "Loop" | "Scan"))
            {
                return Err(
                    "no GRU or LSTM node: the recurrent layer is an ONNX Loop/Scan of MatMul, Sigmoid and Tanh nodes, as tf2onnx writes a Keras GRU or LSTM; give gatedyn the Keras model itself (model.save(\"m.keras\")) or its weights (model.save_weights(\"m.weights.h5\"))".into(),
                );
            }
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
    // a name given twice would make the weights depend on which is looked up
    let mut names: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "two initializers are named {:?}; tensor names must be unique",
            w[0]
        ));
    }
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
    let reset_after = match attr(node, "linear_before_reset").map(|a| a.i) {
        None | Some(0) => false,
        Some(1) => true,
        Some(other) => {
            return Err(format!(
                "{op} has linear_before_reset = {other}; ONNX allows 0 or 1"
            ))
        }
    } && is_gru;
    let hidden_attr = attr(node, "hidden_size").map(|a| a.i);
    let init = |k: usize| -> Result<Option<Tensor>, String> {
        let Some(name) = node.input.get(k).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        match graph.initializer.iter().find(|t| &t.name == name) {
            Some(t) => tensor_values(t, external).map(Some),
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
        RawCell::Gru {
            framework: Framework::Onnx,
            form: if reset_after {
                GruForm::ResetAfter { recurrent_bias: () }
            } else {
                GruForm::ResetBefore
            },
        }
    } else {
        RawCell::Lstm {
            framework: Framework::Onnx,
        }
    };
    let layer = if node.name.is_empty() {
        op.clone()
    } else {
        node.name.clone()
    };
    let readout = find_readout(&graph, node, n, external)?;
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
