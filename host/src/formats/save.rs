//! Writing a trained network in the formats [`crate::formats`] reads
//! (docs/THEORY.md §9, the conventions reversed), so that a trained network
//! goes straight to `gatedyn analyze`, `gatedyn export` and the
//! firmware, and to ONNX Runtime or PyTorch:
//!
//! * **ONNX** (`.onnx`): one `GRU` (`linear_before_reset` 1 in the
//!   reset-after form) or `LSTM` node, then the readout as `Squeeze`,
//!   `MatMul`, `Add`; graph input `X` of shape `[T, 1, I]`, outputs `Y`,
//!   `Y_h` and `outputs` (`[T, K]`). Opset 14, `float32` weights.
//! * **safetensors** (`.safetensors`): the `state_dict` of a PyTorch module
//!   with an `nn.GRU` or `nn.LSTM` named `rnn` (`batch_first` either way)
//!   and an `nn.Linear` named `readout`: `rnn.weight_ih_l0`,
//!   `rnn.weight_hh_l0`, `rnn.bias_ih_l0`, `rnn.bias_hh_l0`,
//!   `readout.weight`, `readout.bias`, all `float32`. PyTorch's GRU is
//!   reset-after only: a reset-before GRU is refused.
//!
//! The weights are rounded to `float32` once, as every framework holds
//! them. Only `tanh` networks are written (neither format has the paper's
//! hard tanh as a GRU/LSTM activation).

use super::layout::{Framework, Stacked};
use crate::formats::{onnx_proto as onnx, ModelFormat};
use crate::net::ReadoutWeights;
use crate::net::{CellWeights, TrainedRef};
use crate::HostError;
use crate::Param;
use gatedyn::{Activation, GruForm};
use std::path::Path;

/// The format `path` asks for, and whether `net` can be written in it; a
/// [`HostError::Invalid`] naming `flag` otherwise. Call before a long run.
pub fn check(param: Param, path: &Path, net: &TrainedRef<'_>) -> Result<ModelFormat, HostError> {
    let bad = |why: &str| HostError::invalid(param, format!(" {}: {why}", path.display()));
    let format = ModelFormat::of_path(param, path)?;
    if matches!(format, ModelFormat::Keras | ModelFormat::KerasWeights) {
        return Err(bad(
            "gatedyn reads Keras files but writes .onnx and .safetensors only; save as one of those",
        ));
    }
    if net.activation != Activation::Tanh {
        return Err(bad(
            "only tanh networks can be saved (ONNX and PyTorch recurrent layers have no hard tanh)",
        ));
    }
    if format == ModelFormat::Safetensors
        && matches!(
            net.cell,
            CellWeights::Gru {
                form: GruForm::ResetBefore,
                ..
            }
        )
    {
        return Err(bad("PyTorch's nn.GRU is reset-after only; save the paper's (reset-before) GRU as .onnx, or train the reset-after form"));
    }
    crate::io::output::check_writable(param, path)?;
    Ok(format)
}

/// Writes `net` to `path` (atomically) in the format of its extension.
pub fn save(param: Param, path: &Path, net: &TrainedRef<'_>) -> Result<ModelFormat, HostError> {
    let format = check(param, path, net)?;
    let bytes = match format {
        ModelFormat::Onnx => onnx_bytes(net),
        ModelFormat::Safetensors => safetensors_bytes(net)?,
        // refused by `check`
        ModelFormat::Keras | ModelFormat::KerasWeights => {
            return Err(HostError::invalid(
                param,
                format!(" {}: Keras files are read only", path.display()),
            ))
        }
    };
    crate::io::output::write_atomic_bytes(path, &bytes)?;
    Ok(format)
}

/// `float32` copies of a stacked block, as the files store them.
fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> onnx::TensorProto {
    onnx::TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 1,
        name: name.into(),
        raw_data: le_bytes(values),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Result<usize, &str>]) -> onnx::ValueInfoProto {
    onnx::ValueInfoProto {
        name: name.into(),
        r#type: Some(onnx::TypeProto {
            tensor_type: Some(onnx::TypeProtoTensor {
                elem_type: 1,
                shape: Some(onnx::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| match d {
                            Ok(v) => onnx::Dimension {
                                dim_value: Some(*v as i64),
                                dim_param: None,
                            },
                            Err(p) => onnx::Dimension {
                                dim_value: None,
                                dim_param: Some(p.to_string()),
                            },
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

fn attr_int(name: &str, i: i64) -> onnx::AttributeProto {
    onnx::AttributeProto {
        name: name.into(),
        i,
        r#type: 2, // INT
        ..Default::default()
    }
}

fn readout_f32(r: &ReadoutWeights, n: usize) -> (Vec<f32>, Vec<f32>) {
    // ONNX MatMul takes [N, K]: the transpose of our K×N
    let k = r.outputs;
    let wt = (0..n)
        .flat_map(|j| (0..k).map(move |o| (o, j)))
        .map(|(o, j)| r.w[o * n + j] as f32)
        .collect();
    (wt, r.b.iter().map(|&x| x as f32).collect())
}

/// The ONNX model of `net` (see the module's description).
pub fn onnx_bytes(net: &TrainedRef<'_>) -> Vec<u8> {
    use prost::Message;
    let (n, inputs, k) = (net.n(), net.inputs(), net.readout.outputs);
    let s = Stacked::of(net.cell, n, inputs, Framework::Onnx);
    let g = s.cell.gates();
    let is_gru = matches!(net.cell, CellWeights::Gru { .. });
    let mut bias = f32s(&s.b_in);
    bias.extend(f32s(&s.b_rec));
    let mut attribute = vec![attr_int("hidden_size", n as i64)];
    if let CellWeights::Gru {
        form: GruForm::ResetAfter { .. },
        ..
    } = net.cell
    {
        attribute.push(attr_int("linear_before_reset", 1));
    }
    let op = if is_gru { "GRU" } else { "LSTM" };
    let (wt, b) = readout_f32(net.readout, n);
    let node = |op: &str, input: &[&str], output: &[&str], name: &str| onnx::NodeProto {
        input: input.iter().map(|s| s.to_string()).collect(),
        output: output.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    };
    let mut recurrent = node(op, &["X", "W", "R", "B"], &["Y", "Y_h"], "rnn");
    recurrent.attribute = attribute;
    let axes = onnx::TensorProto {
        dims: vec![2],
        data_type: 7, // INT64
        name: "squeeze_axes".into(),
        raw_data: [1i64, 2].iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    };
    let graph = onnx::GraphProto {
        name: "gatedyn".into(),
        node: vec![
            recurrent,
            node("Squeeze", &["Y", "squeeze_axes"], &["Y2"], "squeeze"),
            node(
                "MatMul",
                &["Y2", "readout_weight"],
                &["readout0"],
                "readout",
            ),
            node(
                "Add",
                &["readout0", "readout_bias"],
                &["outputs"],
                "readout_bias",
            ),
        ],
        initializer: vec![
            tensor("W", &[1, g * n, inputs], &f32s(&s.w)),
            tensor("R", &[1, g * n, n], &f32s(&s.r)),
            tensor("B", &[1, 2 * g * n], &bias),
            tensor("readout_weight", &[n, k], &wt),
            tensor("readout_bias", &[k], &b),
            axes,
        ],
        input: vec![value_info("X", &[Err("T"), Ok(1), Ok(inputs)])],
        output: vec![
            value_info("Y", &[Err("T"), Ok(1), Ok(1), Ok(n)]),
            value_info("Y_h", &[Ok(1), Ok(1), Ok(n)]),
            value_info("outputs", &[Err("T"), Ok(k)]),
        ],
    };
    onnx::ModelProto {
        ir_version: 8,
        producer_name: format!("gatedyn {}", env!("CARGO_PKG_VERSION")),
        graph: Some(graph),
        opset_import: vec![onnx::OperatorSetIdProto {
            domain: String::new(),
            version: 14,
        }],
    }
    .encode_to_vec()
}

/// The PyTorch `state_dict` of `net` as safetensors (see the module's
/// description). A reset-before GRU is a [`HostError::Invalid`].
pub fn safetensors_bytes(net: &TrainedRef<'_>) -> Result<Vec<u8>, HostError> {
    use safetensors::{tensor::TensorView, Dtype};
    if let CellWeights::Gru {
        form: GruForm::ResetBefore,
        ..
    } = net.cell
    {
        return Err(HostError::BadInput(
            "PyTorch's nn.GRU is reset-after only: a reset-before GRU has no state_dict".into(),
        ));
    }
    let (n, inputs, k) = (net.n(), net.inputs(), net.readout.outputs);
    let s = Stacked::of(net.cell, n, inputs, Framework::Torch);
    let gn = s.cell.gates() * n;
    let readout_w: Vec<f32> = net.readout.w.iter().map(|&x| x as f32).collect();
    let readout_b: Vec<f32> = net.readout.b.iter().map(|&x| x as f32).collect();
    let arrays: Vec<(&str, Vec<usize>, Vec<u8>)> = vec![
        ("rnn.weight_ih_l0", vec![gn, inputs], le_bytes(&f32s(&s.w))),
        ("rnn.weight_hh_l0", vec![gn, n], le_bytes(&f32s(&s.r))),
        ("rnn.bias_ih_l0", vec![gn], le_bytes(&f32s(&s.b_in))),
        ("rnn.bias_hh_l0", vec![gn], le_bytes(&f32s(&s.b_rec))),
        ("readout.weight", vec![k, n], le_bytes(&readout_w)),
        ("readout.bias", vec![k], le_bytes(&readout_b)),
    ];
    let views = arrays
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.to_string(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HostError::Io(format!("safetensors: {e}")))?;
    safetensors::serialize(views, None).map_err(|e| HostError::Io(format!("safetensors: {e}")))
}
