//! ONNX external data, as PyTorch's default exporter writes it
//! (tests/fixtures/external/make_external.py): the models run as PyTorch
//! runs them, and a model file cannot make gatedyn read outside its folder.

use gatedyn_host::formats::load;
use gatedyn_host::formats::onnx_proto::ModelProto;
use gatedyn_host::io::arrays::read;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::{HostError, Param, Precision};
use gatedyn_tests::max_diff;
use prost::Message;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/external")
        .join(name)
}

#[test]
fn pytorch_default_and_legacy_exports_run_as_pytorch_runs_them() {
    let x = read(Param::Inputs, &fixture("inputs.npy")).unwrap();
    for (name, file) in [
        ("gru", "gru.onnx"),
        ("lstm", "lstm.onnx"),
        ("gru", "gru.legacy.onnx"),
        ("lstm", "lstm.legacy.onnx"),
    ] {
        let m = load(&fixture(file)).unwrap();
        assert_eq!((m.info.n, m.info.inputs), (40, 4), "{file}");
        let states = run_inputs(&m.net, &x, Precision::F64, || {}).unwrap();
        let torch = read(Param::Inputs, &fixture(&format!("{name}.torch_states.npy"))).unwrap();
        // PyTorch ran in float32: measured 2.2e-7 (GRU) and 1.2e-7 (LSTM)
        let d = max_diff(&states.data, &torch.data);
        assert!(d < 1e-5, "{file}: states differ by {d:e}");
        let readout = m.readout.as_ref().expect("the Linear after the layer");
        let y = readout.apply(&states);
        let torch_y = read(
            Param::Inputs,
            &fixture(&format!("{name}.torch_outputs.npy")),
        )
        .unwrap();
        let d = max_diff(&y.data, &torch_y.data);
        assert!(d < 1e-5, "{file}: readout differs by {d:e}");
    }
}

/// `gru.onnx` with its first external tensor's entry `key` set to `value`
/// (or removed), written into `dir` beside a copy of the sidecar.
fn with_entry(dir: &Path, key: &str, value: Option<&str>) -> PathBuf {
    let bytes = std::fs::read(fixture("gru.onnx")).unwrap();
    let mut model = ModelProto::decode(&bytes[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let t = graph
        .initializer
        .iter_mut()
        .find(|t| !t.external_data.is_empty())
        .expect("an external tensor");
    t.external_data.retain(|e| e.key != key);
    if let Some(v) = value {
        let mut e = t.external_data[0].clone();
        e.key = key.into();
        e.value = v.into();
        t.external_data.push(e);
    }
    std::fs::copy(fixture("gru.onnx.data"), dir.join("gru.onnx.data")).unwrap();
    let path = dir.join("m.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    path
}

fn refusal(path: &Path) -> String {
    match load(path) {
        Err(HostError::Invalid {
            param: Param::Model,
            message,
        }) => message,
        other => panic!("expected a refusal naming the model, got {other:?}"),
    }
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let root = std::env::temp_dir().join(format!("gatedyn-external-{}", std::process::id()));
    let dir = root.join("model");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&dir).unwrap();
    // a file outside the folder, reachable by each of the tricks
    let outside = root.join("secret.bin");
    std::fs::write(&outside, vec![0u8; 1 << 16]).unwrap();
    let cases: Vec<(Option<String>, &str)> = vec![
        (
            Some(outside.display().to_string()),
            "is not a plain path inside the model's folder",
        ),
        (
            Some("../secret.bin".into()),
            "is not a plain path inside the model's folder",
        ),
        (
            Some("sub/../../secret.bin".into()),
            "is not a plain path inside the model's folder",
        ),
        (Some("link.bin".into()), "leads out of the model's folder"),
        (Some("missing.bin".into()), "cannot be read"),
        (
            Some("short.bin".into()),
            "holds 10 bytes; the tensor needs bytes",
        ),
        (
            Some(".".into()),
            "is not a plain path inside the model's folder",
        ),
        (Some("folder".into()), "is not a regular file"),
        (None, "names no location"),
    ];
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("link.bin")).unwrap();
    std::fs::write(dir.join("short.bin"), [0u8; 10]).unwrap();
    std::fs::create_dir_all(dir.join("folder")).unwrap();
    for (location, msg) in cases {
        let path = with_entry(&dir, "location", location.as_deref());
        let m = refusal(&path);
        assert!(m.contains(msg), "{location:?}: {m}");
        assert!(m.starts_with(&format!(" {}: ", path.display())), "{m}");
    }
    // an offset past the end, a length that is not the tensor's
    let m = refusal(&with_entry(&dir, "offset", Some("99999999")));
    assert!(m.contains("the tensor needs bytes 99999999"), "{m}");
    let m = refusal(&with_entry(&dir, "length", Some("3")));
    assert!(
        m.contains("is 3 bytes long, its shape and type need"),
        "{m}"
    );
    let m = refusal(&with_entry(&dir, "offset", Some("-1")));
    assert!(m.contains("is not a byte count"), "{m}");
    // the sidecar gone
    std::fs::remove_file(dir.join("gru.onnx.data")).unwrap();
    let bytes = std::fs::read(fixture("gru.onnx")).unwrap();
    std::fs::write(dir.join("gru.onnx"), bytes).unwrap();
    let m = refusal(&dir.join("gru.onnx"));
    assert!(m.contains("gru.onnx.data cannot be read"), "{m}");
    std::fs::remove_dir_all(&root).unwrap();
}
