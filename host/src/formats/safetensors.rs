//! The PyTorch `state_dict` reader (`.safetensors`).

use super::layout::*;
use crate::io::arrays::{f32_le, f64_le};
use crate::net::ReadoutWeights;
use gatedyn::GruForm;

/// Largest header the safetensors format allows (its crate's
/// `MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The bytes of the safetensors file at `path` (`len` bytes), checked
/// against its own header before the rest is read: the 8-byte header
/// length, the JSON header, and the data its tensors' `data_offsets` span
/// must add up to the file's length (a 3 GiB sparse file behind a small
/// header is refused unread). The file is read once, as
/// `io::arrays` reads a `.npy`.
pub(crate) fn read_file(path: &std::path::Path, len: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut head = [0u8; 8];
    f.read_exact(&mut head).map_err(|_| {
        format!("{len} bytes, shorter than a safetensors header (8 bytes of length first)")
    })?;
    let n = u64::from_le_bytes(head);
    if n > MAX_HEADER_BYTES || n > len - 8 {
        return Err(format!(
            "the header length {n} is impossible for a {len}-byte file (not a safetensors file, or truncated)"
        ));
    }
    let mut bytes = Vec::with_capacity(8 + n as usize);
    bytes.extend(head);
    (&mut f)
        .take(n)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes[8..])
        .map_err(|e| format!("not a readable safetensors file (its header: {e})"))?;
    let data_end = json
        .as_object()
        .ok_or("not a readable safetensors file (its header is not a JSON object)")?
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, t)| t.pointer("/data_offsets/1").and_then(|e| e.as_u64()))
        .max()
        .unwrap_or(0);
    let want = 8 + n + data_end;
    if want != len {
        return Err(format!(
            "the header declares {want} bytes (tensors up to byte {data_end} of the data), but the file holds {len} (truncated or corrupt file)"
        ));
    }
    // the data, now that its size is the one declared
    bytes.reserve(data_end as usize);
    f.take(data_end)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 != len {
        return Err(format!(
            "{} bytes read of the {len} the file held when opened (it changed while read)",
            bytes.len()
        ));
    }
    Ok(bytes)
}

pub(crate) fn read_safetensors(bytes: &[u8]) -> Result<ReadLayer, String> {
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
            Dtype::F32 => f32_le(data),
            Dtype::F64 => f64_le(data),
            other => return Err(format!("tensor {name} is {other:?}; only F32 and F64 weights are supported (convert with .float())")),
        };
        Ok(Some(Tensor {
            shape: t.shape().to_vec(),
            values,
        }))
    };
    // a tensor the layer cannot do without
    let require = |k: &str| -> Result<Tensor, String> {
        let name = key(k);
        read(&name)?.ok_or_else(|| format!("no tensor {name}"))
    };
    let Tensor {
        shape: hd,
        values: r,
    } = require("weight_hh_l0")?;
    let [gn, n] = hd[..] else {
        return Err(format!(
            "{prefix}weight_hh_l0 has shape {hd:?}; expected [G·hidden, hidden]"
        ));
    };
    let cell = match (n > 0).then(|| gn / n.max(1)) {
        Some(3) if gn == 3 * n => RawCell::Gru {
            framework: Framework::Torch,
            form: GruForm::ResetAfter { recurrent_bias: () },
        },
        Some(4) if gn == 4 * n => RawCell::Lstm {
            framework: Framework::Torch,
        },
        _ => {
            return Err(format!(
            "{prefix}weight_hh_l0 has shape {hd:?}: neither a GRU ([3N, N]) nor an LSTM ([4N, N])"
        ))
        }
    };
    let Tensor {
        shape: id,
        values: w,
    } = require("weight_ih_l0")?;
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
        match read(&key(k))? {
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
            let w = read(&format!("{p}weight"))?.ok_or_else(|| format!("no tensor {p}weight"))?;
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
