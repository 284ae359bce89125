//! The Keras 3 readers: a whole model saved as `.keras` (`model.save`),
//! or its weights alone as `.weights.h5` (`model.save_weights`).
//!
//! A `.keras` file is a zip holding `config.json` (the layers and their
//! settings) and `model.weights.h5` (HDF5, as h5py writes it). The
//! recurrent layer's weights sit at `layers/NAME/cell/vars/{0,1,2}`:
//!
//! * `0`, the kernel, `inputs × G·N` (Keras multiplies `x · kernel`: the
//!   transpose of PyTorch's and ONNX's `G·N × inputs`);
//! * `1`, the recurrent kernel, `N × G·N`;
//! * `2`, the bias: `G·N`, or for a GRU with `reset_after=True` (Keras's
//!   default) `2 × G·N`, the input bias over the recurrent one;
//!
//! in the gate order `z, r, h` (GRU) or `i, f, c, o` (LSTM), the GRU keeping
//! `z` of the old state as PyTorch and ONNX do ([`Framework::Keras`]). A
//! `Dense` layer after it is the readout (`layers/NAME/vars/{0,1}`: kernel
//! `N × K`, bias `K`); its activation, if any, is not applied, as for the
//! ONNX readout.
//!
//! From `config.json` the reader takes the layer's class, `units`,
//! `activation` (must be `tanh`), `recurrent_activation` (`sigmoid`),
//! `use_bias`, `go_backwards` (must be false) and `reset_after`. A
//! `.weights.h5` file has no configuration: the layers are found by their
//! datasets' shapes, a GRU's form by its bias's (`2 × 3N`: reset-after),
//! and the activations are taken to be Keras's defaults (`tanh`,
//! `sigmoid`), which the loaded model's description says.
//!
//! Why hdf5-pure: of the pure-Rust HDF5 readers on crates.io, hdf5-rust
//! 1.1 refuses h5py's files ("UnsupportedVersion(17)"); hdf5-reader,
//! rustyhdf5 and hdf5-pure read them, and none of the three panicked or
//! stalled on 40,000 byte-flip and truncation mutants of a Keras weights
//! file (`tests/fixtures/keras/gru.weights.h5`). hdf5-pure reads from
//! memory (the weights inside a `.keras` zip are never a file of their
//! own) with a single dependency (`byteorder`; hdf5-reader brings
//! `ndarray`, `memmap2`, `parking_lot` and more, rustyhdf5 `sha2` and
//! `flate2`), and is checked in its own CI against libhdf5. The fuzz
//! target `keras` runs it on mutated files.

use super::layout::*;
use crate::net::ReadoutWeights;
use gatedyn::GruForm;
use std::io::{Read, Seek};

/// Largest `config.json` read from a `.keras` file.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// A recurrent layer's settings from `config.json` (or assumed, for a
/// `.weights.h5` file).
#[derive(Debug, Clone)]
struct RecurrentConfig {
    /// The layer's name (`config.name`, or its weights group).
    name: String,
    /// Its group under `layers/` in the weights file.
    group: String,
    lstm: bool,
    units: Option<usize>,
    use_bias: bool,
    /// GRU only.
    reset_after: bool,
}

/// The recurrent layer and readout of a `.keras` file read by `archive`.
pub(crate) fn read_keras<R: Read + Seek>(archive: R) -> Result<ReadLayer, String> {
    let mut zip = zip::ZipArchive::new(archive).map_err(|e| {
        format!("not a readable .keras file (zip: {e}); a truncated file reads like this too")
    })?;
    let config = member(&mut zip, "config.json", MAX_CONFIG_BYTES)?;
    let config: serde_json::Value =
        serde_json::from_slice(&config).map_err(|e| format!("config.json is not JSON: {e}"))?;
    let (recurrent, dense) = layers_of(&config)?;
    // the weights: as large as the zip says, up to what this process may
    // allocate (the file's own size was checked against it by `load`)
    let limit = crate::io::limits::allocatable().unwrap_or(u64::MAX);
    let h5 = member(&mut zip, "model.weights.h5", limit)?;
    let file = open_h5(h5)?;
    read_layers(&file, Some(recurrent), dense)
}

/// The recurrent layer and readout of a `.weights.h5` file (`bytes`).
pub(crate) fn read_keras_weights(bytes: &[u8]) -> Result<ReadLayer, String> {
    let file = open_h5(bytes.to_vec())?;
    read_layers(&file, None, None)
}

fn open_h5(bytes: Vec<u8>) -> Result<hdf5_pure::File, String> {
    hdf5_pure::File::from_bytes(bytes).map_err(|e| {
        format!("not a readable HDF5 weights file ({e}); a truncated file reads like this too")
    })
}

/// The bytes of the zip member `name`, at most `limit` of them.
fn member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let mut f = zip.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => {
            format!("no {name} in the archive: not a Keras 3 model (keras.Model.save writes one)")
        }
        e => format!("{name}: {e}"),
    })?;
    let size = f.size();
    if size > limit {
        return Err(format!(
            "{name} declares {size} bytes unpacked; at most {limit} are read"
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    // one byte past the declared size shows a member that inflates further
    f.by_ref()
        .take(size + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e} (a truncated or damaged archive reads like this)"))?;
    if out.len() as u64 != size {
        return Err(format!(
            "{name} unpacks to more or fewer bytes than the {size} its entry declares"
        ));
    }
    Ok(out)
}

/// Keras's `naming.to_snake_case` of a class name: `GRU` → `gru`,
/// `LSTM` → `lstm`, `Dense` → `dense`, `SimpleRNN` → `simple_rnn`.
fn snake_case(class: &str) -> String {
    let c: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut out = String::new();
    for (k, &ch) in c.iter().enumerate() {
        let upper = ch.is_uppercase();
        // `(.)([A-Z][a-z]+)` and `([a-z])([A-Z])` of Keras's regexes
        let before_word = k > 0 && upper && c.get(k + 1).is_some_and(|n| n.is_lowercase());
        let after_lower = k > 0 && upper && c[k - 1].is_lowercase();
        if (before_word || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// The weights group of layer `at` of `layers`: Keras 3 names a layer's
/// group by its class in snake case, `_1`, `_2`, … for later layers of the
/// same class (`saving_lib._save_container_state`), not by its name.
fn weights_group(layers: &[serde_json::Value], at: usize) -> String {
    let snake = snake_case(class(&layers[at]));
    let earlier = layers[..at]
        .iter()
        .filter(|l| snake_case(class(l)) == snake)
        .count();
    if earlier == 0 {
        snake
    } else {
        format!("{snake}_{earlier}")
    }
}

fn class(l: &serde_json::Value) -> &str {
    l.get("class_name").and_then(|c| c.as_str()).unwrap_or("")
}

/// The one `GRU`/`LSTM` layer of a model's `config.json`, and the weights
/// group of the `Dense` layer after it, if any.
fn layers_of(config: &serde_json::Value) -> Result<(RecurrentConfig, Option<String>), String> {
    let layers = config
        .pointer("/config/layers")
        .and_then(|l| l.as_array())
        .ok_or(
            "config.json has no config.layers list (a Sequential or Functional model has one)",
        )?;
    let recurrent: Vec<usize> = (0..layers.len())
        .filter(|&k| matches!(class(&layers[k]), "GRU" | "LSTM"))
        .collect();
    let at = match recurrent[..] {
        [one] => one,
        [] if layers.iter().any(|l| class(l) == "Bidirectional") => {
            return Err(
                "a Bidirectional layer: only forward GRU and LSTM layers are supported".into(),
            )
        }
        [] => {
            let classes: Vec<&str> = layers.iter().map(class).take(8).collect();
            return Err(format!(
                "no GRU or LSTM layer in config.json (its layers: {})",
                if classes.is_empty() {
                    "none".to_string()
                } else {
                    classes.join(", ")
                }
            ));
        }
        _ => {
            return Err(format!(
                "{} GRU/LSTM layers; only one recurrent layer is supported",
                recurrent.len()
            ))
        }
    };
    let layer = &layers[at];
    let lstm = class(layer) == "LSTM";
    let c = layer
        .get("config")
        .ok_or("the recurrent layer has no config")?;
    let name = c
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or("the recurrent layer has no name")?
        .to_string();
    let text = |key: &str, want: &str| -> Result<(), String> {
        match c.get(key).and_then(|v| v.as_str()) {
            Some(v) if v == want => Ok(()),
            Some(v) => Err(format!(
                "layer {name}: {key} is {v:?}; only {want:?} is supported"
            )),
            None => Err(format!("layer {name}: no {key} in its config")),
        }
    };
    text("activation", "tanh")?;
    text("recurrent_activation", "sigmoid")?;
    let flag = |key: &str, default: bool| c.get(key).and_then(|v| v.as_bool()).unwrap_or(default);
    if flag("go_backwards", false) {
        return Err(format!(
            "layer {name}: go_backwards is true; only forward layers are supported"
        ));
    }
    let units = match c.get("units") {
        None => None,
        Some(u) => Some(
            u.as_u64()
                .filter(|&u| u >= 1 && u <= MAX_HIDDEN as u64)
                .ok_or(format!(
                    "layer {name}: units {u} is not a count from 1 to {MAX_HIDDEN}"
                ))? as usize,
        ),
    };
    let recurrent = RecurrentConfig {
        name,
        group: weights_group(layers, at),
        lstm,
        units,
        use_bias: flag("use_bias", true),
        reset_after: flag("reset_after", true),
    };
    let dense = (at + 1..layers.len())
        .find(|&k| class(&layers[k]) == "Dense")
        .map(|k| weights_group(layers, k));
    Ok((recurrent, dense))
}

/// A dataset's shape and values (`f32` or `f64` in the file).
fn dataset(file: &hdf5_pure::File, path: &str) -> Result<Option<Tensor>, String> {
    let Ok(d) = file.dataset(path) else {
        return Ok(None);
    };
    let shape = d.shape().map_err(|e| format!("{path}: {e}"))?;
    let count = shape
        .iter()
        .try_fold(1u64, |a, &b| a.checked_mul(b))
        .ok_or(format!("{path}: its shape {shape:?} overflows"))?;
    let width = match d.dtype().map_err(|e| format!("{path}: {e}"))? {
        hdf5_pure::DType::F32 => 4,
        hdf5_pure::DType::F64 => 8,
        other => {
            return Err(format!(
                "{path} is {other:?}; only float32 and float64 weights are supported"
            ))
        }
    };
    // a weight tensor is at most 4N × max(N, inputs); its bytes are in the
    // file (Keras stores weights unfiltered), so a declared size beyond the
    // file's is damage, not data
    if count.saturating_mul(width) > file.file_size() {
        return Err(format!(
            "{path} declares {count} values, more than the {}-byte file holds",
            file.file_size()
        ));
    }
    let values = if width == 4 {
        d.read_f32()
            .map(|v| v.into_iter().map(f64::from).collect::<Vec<_>>())
    } else {
        d.read_f64()
    }
    .map_err(|e| format!("{path}: {e}"))?;
    if values.len() as u64 != count {
        return Err(format!(
            "{path}: {} values read, its shape {shape:?} declares {count}",
            values.len()
        ));
    }
    Ok(Some(Tensor {
        shape: shape.iter().map(|&s| s as usize).collect(),
        values,
    }))
}

/// Row-major `rows × cols` → its transpose.
fn transpose(v: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; v.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = v[i * cols + j];
        }
    }
    t
}

/// The groups under `layers/` that hold a recurrent cell (`NAME/cell/vars`
/// with a 2-D `1` whose width is 3 or 4 times its height) or a dense layer
/// (`NAME/vars/0` 2-D).
fn find_layers(file: &hdf5_pure::File) -> Result<(RecurrentConfig, Option<String>), String> {
    let unreadable = |e: hdf5_pure::Error| {
        format!("not a readable HDF5 weights file ({e}); a truncated file reads like this too")
    };
    let top = file.root().groups().map_err(unreadable)?;
    if !top.iter().any(|g| g == "layers") {
        return Err(format!(
            "no layers group (its groups: {}): not a Keras 3 weights file (keras.Model.save_weights writes one)",
            top.join(", ")
        ));
    }
    let names = file
        .group("layers")
        .and_then(|g| g.groups())
        .map_err(unreadable)?;
    let mut recurrent = vec![];
    for name in &names {
        let Ok(d) = file.dataset(&format!("layers/{name}/cell/vars/1")) else {
            continue;
        };
        let Ok(shape) = d.shape() else { continue };
        let (lstm, n) = match shape[..] {
            // the shapes are the file's: no product may overflow
            [n, g] if n > 0 && n.checked_mul(3) == Some(g) => (false, n),
            [n, g] if n > 0 && n.checked_mul(4) == Some(g) => (true, n),
            _ => continue,
        };
        let bias = file
            .dataset(&format!("layers/{name}/cell/vars/2"))
            .and_then(|b| b.shape())
            .ok();
        recurrent.push(RecurrentConfig {
            name: name.clone(),
            group: name.clone(),
            lstm,
            units: usize::try_from(n).ok(),
            use_bias: bias.is_some(),
            reset_after: bias.is_some_and(|s| s.len() == 2),
        });
    }
    let recurrent = match recurrent.len() {
        1 => recurrent.remove(0),
        0 => {
            return Err(format!(
                "no GRU or LSTM weights under layers/ (its groups: {})",
                names.join(", ")
            ))
        }
        k => return Err(format!("{k} recurrent layers; only one is supported")),
    };
    let dense: Vec<&String> = names
        .iter()
        .filter(|n| **n != recurrent.group)
        .filter(|n| {
            file.dataset(&format!("layers/{n}/vars/0"))
                .and_then(|d| d.shape())
                .is_ok_and(|s| s.len() == 2 && usize::try_from(s[0]).ok() == recurrent.units)
        })
        .collect();
    let dense = match dense[..] {
        [one] => Some(one.clone()),
        _ => None,
    };
    Ok((recurrent, dense))
}

fn read_layers(
    file: &hdf5_pure::File,
    config: Option<RecurrentConfig>,
    dense: Option<String>,
) -> Result<ReadLayer, String> {
    let (rc, dense) = match config {
        Some(c) => (c, dense),
        None => find_layers(file)?,
    };
    let group = &rc.group;
    let var = |k: usize| format!("layers/{group}/cell/vars/{k}");
    let require = |k: usize| -> Result<Tensor, String> {
        dataset(file, &var(k))?.ok_or_else(|| format!("no dataset {} in the weights", var(k)))
    };
    let gates = if rc.lstm { 4 } else { 3 };
    let Tensor {
        shape: rs,
        values: r,
    } = require(1)?;
    let n = match rs[..] {
        [n, g] if n >= 1 && n.checked_mul(gates) == Some(g) => n,
        _ => {
            return Err(format!(
                "{} has shape {rs:?}; expected [N, {gates}·N]",
                var(1)
            ))
        }
    };
    if rc.units.is_some_and(|u| u != n) {
        return Err(format!(
            "{} has shape {rs:?}, but the layer's config says units = {}",
            var(1),
            rc.units.unwrap_or(0)
        ));
    }
    if n > MAX_HIDDEN {
        return Err(format!(
            "{n} hidden units; at most {MAX_HIDDEN} are supported"
        ));
    }
    let gn = gates * n;
    let Tensor {
        shape: ks,
        values: kernel,
    } = require(0)?;
    let inputs = match ks[..] {
        [i, g] if g == gn && i >= 1 => i,
        _ => {
            return Err(format!(
                "{} has shape {ks:?}; expected [inputs, {gn}]",
                var(0)
            ))
        }
    };
    if inputs > MAX_INPUTS {
        return Err(format!(
            "{inputs} inputs; at most {MAX_INPUTS} are supported"
        ));
    }
    // a reset-after GRU's bias is the input bias over the recurrent one
    let split_bias = rc.reset_after && !rc.lstm;
    let (b_in, b_rec) = if rc.use_bias {
        let Tensor { shape, values } = require(2)?;
        match shape[..] {
            [g] if g == gn && !split_bias => (values, vec![0.0; gn]),
            [2, g] if g == gn && split_bias => {
                let rec = values[gn..].to_vec();
                let mut b = values;
                b.truncate(gn);
                (b, rec)
            }
            _ => {
                let want = if split_bias {
                    format!("[2, {gn}] (reset_after=True)")
                } else {
                    format!("[{gn}]")
                };
                return Err(format!("{} has shape {shape:?}; expected {want}", var(2)));
            }
        }
    } else {
        (vec![0.0; gn], vec![0.0; gn])
    };
    let cell = if rc.lstm {
        RawCell::Lstm {
            framework: Framework::Keras,
        }
    } else {
        RawCell::Gru {
            framework: Framework::Keras,
            form: if rc.reset_after {
                GruForm::ResetAfter { recurrent_bias: () }
            } else {
                GruForm::ResetBefore
            },
        }
    };
    let readout = match dense {
        None => None,
        Some(d) => {
            let path = format!("layers/{d}/vars/0");
            let w = dataset(file, &path)?.ok_or(format!("no dataset {path} in the weights"))?;
            let k = match w.shape[..] {
                [rows, k] if rows == n && k >= 1 => k,
                _ => {
                    return Err(format!(
                        "{path} has shape {:?}; expected [{n}, outputs]",
                        w.shape
                    ))
                }
            };
            let bpath = format!("layers/{d}/vars/1");
            let b = match dataset(file, &bpath)? {
                None => vec![0.0; k],
                Some(b) if b.shape[..] == [k] => b.values,
                Some(b) => return Err(format!("{bpath} has shape {:?}; expected [{k}]", b.shape)),
            };
            Some(ReadoutWeights {
                outputs: k,
                w: transpose(&w.values, n, k),
                b,
            })
        }
    };
    Ok((
        Stacked {
            cell,
            n,
            inputs,
            w: transpose(&kernel, inputs, gn),
            r: transpose(&r, n, gn),
            b_in,
            b_rec,
            initial_h: None,
            initial_c: None,
        },
        rc.name.clone(),
        readout,
    ))
}
