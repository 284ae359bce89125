//! Keras 3 models as Keras's users save them (tests/fixtures/keras/
//! make_keras.py): `.keras` and `.weights.h5` files of a GRU (both
//! `reset_after`) and an LSTM run as Keras runs them; what cannot be read
//! is refused with a line that says why.

use gatedyn::GruForm;
use gatedyn_host::formats::{decode, load, InMemoryFiles, ModelFormat};
use gatedyn_host::io::arrays::read;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::net::Cell;
use gatedyn_host::{HostError, Param, Precision};
use gatedyn_tests::max_diff;
use std::io::{Read, Write};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keras")
        .join(name)
}

#[test]
fn keras_models_and_weights_run_as_keras_runs_them() {
    let x = read(Param::Inputs, &fixture("inputs.npy")).unwrap();
    for (name, cell, form) in [
        (
            "gru",
            Cell::Gru,
            Some(GruForm::ResetAfter { recurrent_bias: () }),
        ),
        ("gru_before", Cell::Gru, Some(GruForm::ResetBefore)),
        ("lstm", Cell::Lstm, None),
    ] {
        let states_ref =
            read(Param::Inputs, &fixture(&format!("{name}.keras_states.npy"))).unwrap();
        let outputs_ref = read(
            Param::Inputs,
            &fixture(&format!("{name}.keras_outputs.npy")),
        )
        .unwrap();
        for (file, format) in [
            (format!("{name}.keras"), ModelFormat::Keras),
            (format!("{name}.weights.h5"), ModelFormat::KerasWeights),
        ] {
            let m = load(&fixture(&file)).unwrap();
            assert_eq!(m.info.format, format, "{file}");
            assert_eq!((m.info.cell, m.info.form), (cell, form), "{file}");
            assert_eq!((m.info.n, m.info.inputs), (40, 4), "{file}");
            assert_eq!(m.info.readout_outputs, Some(3), "{file}");
            for precision in [Precision::F64, Precision::F32] {
                let states = run_inputs(&m.net, &x, precision, || {}).unwrap();
                // Keras ran in float32: measured 2.5e-7 (GRU), 2.4e-7
                // (reset-before GRU), 1.3e-7 (LSTM) in f64
                let d = max_diff(&states.data, &states_ref.data);
                assert!(d < 1e-5, "{file} {precision:?}: states differ by {d:e}");
                let y = m.readout.as_ref().unwrap().apply(&states);
                let d = max_diff(&y.data, &outputs_ref.data);
                assert!(d < 1e-5, "{file} {precision:?}: readout differs by {d:e}");
            }
        }
    }
}

/// The `.keras` fixture `name` with `config.json` rewritten by `edit`
/// (`None`: left out), every member stored or deflated.
fn rezip(name: &str, edit: impl Fn(&str) -> Option<String>, deflate: bool) -> Vec<u8> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for k in 0..src.len() {
        let mut f = src.by_index(k).unwrap();
        let member = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let data = if member == "config.json" {
            match edit(std::str::from_utf8(&data).unwrap()) {
                Some(c) => c.into_bytes(),
                None => continue,
            }
        } else {
            data
        };
        out.start_file(member, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn refusal(bytes: &[u8], format: ModelFormat) -> String {
    decode(format, bytes, &InMemoryFiles(&[]), "m")
        .map(|m| m.info.describe())
        .expect_err("a refusal")
}

#[test]
fn a_deflated_keras_archive_reads_as_the_stored_one() {
    let stored = load(&fixture("lstm.keras")).unwrap();
    let deflated = decode(
        ModelFormat::Keras,
        &rezip("lstm.keras", |c| Some(c.to_string()), true),
        &InMemoryFiles(&[]),
        "m",
    )
    .unwrap();
    assert_eq!(stored.net.weights_flat(), deflated.net.weights_flat());
}

#[test]
fn keras_settings_gatedyn_cannot_run_are_refused_by_name() {
    let cases: [(&str, &str, &str); 4] = [
        (
            r#""activation": "tanh""#,
            r#""activation": "relu""#,
            "activation is \"relu\"",
        ),
        (
            r#""recurrent_activation": "sigmoid""#,
            r#""recurrent_activation": "hard_sigmoid""#,
            "recurrent_activation is \"hard_sigmoid\"",
        ),
        (
            r#""go_backwards": false"#,
            r#""go_backwards": true"#,
            "go_backwards is true",
        ),
        (r#""units": 40"#, r#""units": 41"#, "units = 41"),
    ];
    for (from, to, says) in cases {
        let bytes = rezip(
            "gru.keras",
            |c| {
                assert!(c.contains(from), "the fixture's config has {from}");
                Some(c.replacen(from, to, 1))
            },
            false,
        );
        let e = refusal(&bytes, ModelFormat::Keras);
        assert!(e.contains(says), "{to}: {e}");
    }
    let e = refusal(&rezip("gru.keras", |_| None, false), ModelFormat::Keras);
    assert!(e.contains("no config.json in the archive"), "{e}");
    let e = refusal(
        &rezip(
            "gru.keras",
            |c| Some(c.replace("\"GRU\"", "\"SimpleRNN\"")),
            false,
        ),
        ModelFormat::Keras,
    );
    assert!(
        e.contains("no GRU or LSTM layer") && e.contains("SimpleRNN"),
        "{e}"
    );
    let e = refusal(
        &rezip(
            "gru.keras",
            |c| Some(c.replace("\"GRU\"", "\"Bidirectional\"")),
            false,
        ),
        ModelFormat::Keras,
    );
    assert_eq!(
        e,
        "a Bidirectional layer: only forward GRU and LSTM layers are supported"
    );
    // a second recurrent layer (the Dense turned into an LSTM)
    let e = refusal(
        &rezip(
            "gru.keras",
            |c| Some(c.replace("\"Dense\"", "\"LSTM\"")),
            false,
        ),
        ModelFormat::Keras,
    );
    assert_eq!(
        e,
        "2 GRU/LSTM layers; only one recurrent layer is supported"
    );
}

#[test]
fn damaged_keras_files_are_refused_not_misread() {
    let keras = std::fs::read(fixture("gru.keras")).unwrap();
    let e = refusal(&keras[..keras.len() / 2], ModelFormat::Keras);
    assert!(e.contains("not a readable .keras file"), "{e}");
    let h5 = std::fs::read(fixture("gru.weights.h5")).unwrap();
    let e = refusal(&h5[..100], ModelFormat::KerasWeights);
    assert!(e.contains("not a readable HDF5 weights file"), "{e}");
    // an HDF5 file is not a zip
    let e = refusal(&h5, ModelFormat::Keras);
    assert!(e.contains("not a readable .keras file"), "{e}");
}

#[test]
fn a_tf2onnx_loop_is_refused_with_a_pointer_to_the_keras_file() {
    match load(&fixture("gru.tf2onnx.onnx")) {
        Err(HostError::Invalid {
            param: Param::Model,
            message,
        }) => {
            assert!(message.contains("ONNX Loop"), "{message}");
            assert!(message.contains("m.keras"), "{message}");
        }
        other => panic!("expected a refusal naming --model, got {other:?}"),
    }
}

#[test]
fn keras_files_are_read_only() {
    let dir = std::env::temp_dir().join(format!("gatedyn-keras-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = load(&fixture("gru.keras")).unwrap();
    let gatedyn_host::net::Net::Gru(g) = &m.net else {
        panic!("a GRU")
    };
    let cell = gatedyn_host::net::CellWeights::Gru {
        weights: g.weights.clone(),
        form: g.form.clone(),
    };
    let net = gatedyn_host::net::TrainedRef {
        cell: &cell,
        activation: gatedyn::Activation::Tanh,
        readout: m.readout.as_ref().unwrap(),
    };
    let out = dir.join("copy.keras");
    match gatedyn_host::formats::save::save(Param::Save, &out, &net) {
        Err(HostError::Invalid {
            param: Param::Save,
            message,
        }) => assert!(
            message.contains("writes .onnx and .safetensors only"),
            "{message}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
