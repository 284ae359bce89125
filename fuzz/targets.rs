//! What each fuzz target does with its input: shared by the cargo-fuzz
//! targets (fuzz/fuzz_targets) and the stable replay of the committed
//! corpus (tests/tests/fuzz_corpus.rs). Every reader must return a value
//! or a typed error: a panic, a hang or an allocation past the format's
//! limits is a defect.

use gatedyn_host::formats::{decode, InMemoryFiles, ModelFormat};
use gatedyn_host::io::arrays::{self, ArrayFormat};
use gatedyn_train::mnist::decode_idx;
use gatedyn_train::sweep::{merge, parse_lines, resumable};
use std::path::Path;

/// The targets, by name (the folders of fuzz/corpus and the files of
/// fuzz/fuzz_targets).
#[allow(dead_code)] // read by the replay, not by one target
pub const TARGETS: [&str; 10] = [
    "onnx",
    "onnx_external",
    "safetensors",
    "keras",
    "keras_weights",
    "npy",
    "csv",
    "idx",
    "idx_gzip",
    "shard",
];

/// Runs target `name` on `data`; an unknown name panics (a caller's bug).
pub fn run(name: &str, data: &[u8]) {
    let model = |format| {
        let _ = decode(format, data, &InMemoryFiles(&[]), "fuzz");
    };
    match name {
        "onnx" => model(ModelFormat::Onnx),
        "onnx_external" => onnx_external(data),
        "safetensors" => model(ModelFormat::Safetensors),
        "keras" => model(ModelFormat::Keras),
        "keras_weights" => model(ModelFormat::KerasWeights),
        "npy" => {
            let _ = arrays::decode(ArrayFormat::Npy, data);
            let _ = arrays::decode_sequences(data);
        }
        "csv" => {
            let _ = arrays::decode(ArrayFormat::Csv, data);
        }
        // images (rank 3) and labels (rank 1)
        "idx" | "idx_gzip" => {
            for rank in [1, 3] {
                let _ = decode_idx(Path::new("fuzz"), data, name == "idx_gzip", rank);
            }
        }
        // the sweep-shard line parser (`train-sweep --merge`), the merge
        // of what it accepts, and the reader of `--resume` (with the
        // sweep of the first line)
        "shard" => {
            let Ok(text) = std::str::from_utf8(data) else {
                return;
            };
            if let Ok(results) = parse_lines("fuzz", text) {
                if let Some(first) = results.first() {
                    let settings = first.settings.clone();
                    let _ = resumable("fuzz", text, &settings, &settings.all_jobs());
                }
                let _ = merge(results);
            }
        }
        other => panic!("no fuzz target {other}"),
    }
}

/// ONNX with external data: a 4-byte little-endian model length, the
/// model, then the sidecar's bytes, offered under the names the seed
/// models use (`gru.onnx.data`, `lstm.onnx.data`).
fn onnx_external(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (model, sidecar) = rest.split_at(len);
    let files = [("gru.onnx.data", sidecar), ("lstm.onnx.data", sidecar)];
    let _ = decode(ModelFormat::Onnx, model, &InMemoryFiles(&files), "fuzz");
}
