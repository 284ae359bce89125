//! Writes the saved-model fixtures of `tests/saved_models.rs` into
//! `tests/fixtures/saved` (or the folder given): three networks trained a
//! little on the copy task (4 symbols, so the readout has 4 outputs), each
//! saved by `gatedyn_host::formats::save` as ONNX and, where PyTorch has the form,
//! as safetensors, and the input sequence `inputs.npy`. The ONNX Runtime
//! outputs beside them come from `check_saved.py` (run by the full test
//! command).
//!
//! Run: `cargo run -p gatedyn-tests --example saved_models [DIR]`.

use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::Activation;
use gatedyn::GruForm;
use gatedyn_host::formats::save;
use gatedyn_host::io::arrays::{write, ArrayFormat, Table};
use gatedyn_host::net::Scales;
use gatedyn_host::Param;
use gatedyn_host::Precision;
use gatedyn_train::adam::Adam;
use gatedyn_train::params::{Draw, Trainable};
use gatedyn_train::tasks::{copy, CopyTask};
use std::path::PathBuf;

fn gate(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.3,
        input: 1.0,
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/saved"));
    std::fs::create_dir_all(&dir).unwrap();
    let task = CopyTask {
        symbols: 3,
        alphabet: 4,
        delay: 4,
    };
    let train = copy(task, 64, 7).unwrap();
    let gru = Scales::Gru(GruScales {
        z: gate(1.0),
        r: gate(1.0),
        h: gate(2.5),
    });
    let lstm = Scales::Lstm(LstmScales {
        f: gate(1.0),
        i: gate(1.0),
        o: gate(1.0),
        c: gate(2.5),
    });
    for (name, scales, reset_after) in [
        ("gru_before", &gru, false),
        ("gru_after", &gru, true),
        ("lstm", &lstm, false),
    ] {
        let mut net = Trainable::random(&Draw {
            n: 24,
            inputs: task.inputs(),
            outputs: task.alphabet,
            scales: *scales,
            form: if reset_after {
                GruForm::ResetAfter { recurrent_bias: () }
            } else {
                GruForm::ResetBefore
            },
            activation: Activation::Tanh,
            seed: 11,
        })
        .unwrap();
        // a few steps, so that every block (b_hn, the readout's bias) has
        // moved off its initial value
        let mut adam = Adam::new(0.01, 1.0).unwrap();
        for batch in train.chunks(16) {
            let g = net.batch_gradient(batch, Precision::F64).unwrap();
            adam.step(&mut net, &g).unwrap();
        }
        save::save(
            Param::Save,
            &dir.join(format!("{name}.onnx")),
            &net.trained(),
        )
        .unwrap();
        if reset_after || name == "lstm" {
            save::save(
                Param::Save,
                &dir.join(format!("{name}.safetensors")),
                &net.trained(),
            )
            .unwrap();
        }
    }
    // a longer sequence of the same alphabet as the test input
    let long = copy(CopyTask { delay: 20, ..task }, 1, 8).unwrap();
    let inputs = Table {
        rows: long[0].inputs.len() / task.inputs(),
        cols: task.inputs(),
        data: long[0].inputs.clone(),
    };
    write(
        &dir.join("inputs.npy"),
        ArrayFormat::Npy,
        &inputs,
        Precision::F32,
    )
    .unwrap();
    println!("wrote the saved-model fixtures in {}", dir.display());
}
