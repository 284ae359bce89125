//! `gatedyn quantize` and `gatedyn run --quantize` end to end on the
//! PyTorch flip-flop GRU of `tests/fixtures/flipflop` (N = 24, 3 inputs,
//! 64 steps, a readout) and a trained LSTM fixture: the errors of int16 and
//! int8 against float, the autonomous map, the figure, and the documented
//! one-line errors.

mod common;

use common::gatedyn;
use std::path::{Path, PathBuf};

const MODEL: &str = "../tests/fixtures/flipflop/flipflop_gru.safetensors";
const INPUTS: &str = "../tests/fixtures/flipflop/inputs.npy";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatedyn-quantize-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fails(args: &[&str], status: i32, msg: &str) {
    let (code, out, err) = gatedyn(args);
    assert_eq!(code, status, "{args:?}: {err}");
    assert!(err.contains(msg), "{args:?}: expected {msg:?} in {err:?}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    assert!(out.is_empty(), "{args:?}: {out}");
}

fn report(scheme: &str) -> serde_json::Value {
    let out = tmp(&format!("{scheme}.json"));
    let dir = tmp(&format!("plot-{scheme}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = gatedyn(&[
        "quantize",
        "--model",
        MODEL,
        "--inputs",
        INPUTS,
        "--scheme",
        scheme,
        "--every",
        "4",
        "--json",
        s(&out),
        "--plot",
        s(&dir),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("eigenvalues.svg").is_file());
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn int16_and_int8_against_float() {
    let r16 = report("int16");
    let r8 = report("int8");
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    // measured 1.01e-4 and 1.94e-2 (max), 1.9e-5 and 2.8e-3 (rms)
    assert!(
        f(&r16, "state_error_max") < 2e-4,
        "{}",
        r16["state_error_max"]
    );
    assert!(
        f(&r8, "state_error_max") < 4e-2,
        "{}",
        r8["state_error_max"]
    );
    assert!(f(&r16, "state_error_rms") < f(&r8, "state_error_rms") / 10.0);
    assert!(
        f(&r16, "state_error_max") > 0.0,
        "quantization changes something"
    );
    // the readout's decisions: int16 all agree, int8 measured 0.95
    assert_eq!(r16["readout"]["argmax_agreement"], 1.0);
    assert!(r8["readout"]["argmax_agreement"].as_f64().unwrap() >= 0.9);
    // the input scale from the inputs' range (the pulses are ±1)
    assert_eq!(f(&r16, "input_scale"), 1.0 / 32767.0);
    // at zero input the trained flip-flop holds its bits: a fixed point,
    // in both arithmetics
    for r in [&r16, &r8] {
        let a = &r["autonomous"];
        assert_eq!(a["quantized"]["kind"], "fixed_point", "{a}");
        assert_eq!(a["quantized"]["period"], 1);
        assert_eq!(a["float"]["kind"], "fixed_point", "{a}");
    }
    assert_eq!(
        r16["samples"].as_array().unwrap().len(),
        17,
        "every 4th of 64 and the last"
    );
    assert_eq!(r8["frozen_units"]["threshold"], 1.0 / 256.0);
}

#[test]
fn run_quantize_writes_the_states_of_the_integer_cell() {
    let out = tmp("states.csv");
    let (code, _, err) = gatedyn(&[
        "run",
        "--model",
        MODEL,
        "--inputs",
        INPUTS,
        "--output",
        s(&out),
        "--quantize",
        "int16",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let values: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.trim().parse::<f32>().unwrap() as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(values.len(), 64 * 24);
    // every state is a whole number of 2⁻¹⁵ (written as the shortest f32)
    for v in &values {
        assert_eq!((v * 32768.0).fract(), 0.0, "{v}");
    }
}

#[test]
fn errors_name_the_flag() {
    fails(
        &[
            "quantize", "--model", MODEL, "--inputs", INPUTS, "--scheme", "int4",
        ],
        2,
        "int4",
    );
    fails(
        &["quantize", "--model", MODEL, "--inputs", INPUTS],
        2,
        "--scheme",
    );
    let nan = tmp("nan.csv");
    std::fs::write(&nan, "0,0,0\nnan,0,0\n").unwrap();
    fails(
        &[
            "quantize",
            "--model",
            MODEL,
            "--inputs",
            s(&nan),
            "--scheme",
            "int8",
        ],
        2,
        "--inputs",
    );
}

/// The trained LSTM fixture (N = 32, stable): at zero input the float map
/// settles on a fixed point, while both integer maps end on cycles that
/// rounding made (period 6 in int16, 3 in int8; measured).
#[test]
fn rounding_makes_cycles_the_float_lstm_does_not_have() {
    let lstm = "../tests/fixtures/trained/lstm_n32_stable.onnx";
    let inputs = "../tests/fixtures/trained/inputs.npy";
    for (scheme, period, error) in [("int16", 6, 2e-4), ("int8", 3, 3e-2)] {
        let out = tmp(&format!("lstm-{scheme}.json"));
        let (code, _, err) = gatedyn(&[
            "quantize",
            "--model",
            lstm,
            "--inputs",
            inputs,
            "--scheme",
            scheme,
            "--json",
            s(&out),
            "--quiet",
        ]);
        assert_eq!(code, 0, "{err}");
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        let a = &r["autonomous"];
        assert_eq!(a["quantized"]["kind"], "cycle", "{a}");
        assert_eq!(a["quantized"]["period"], period, "{a}");
        assert_eq!(a["float"]["kind"], "fixed_point", "{a}");
        // measured 7.1e-5 (int16) and 1.1e-2 (int8)
        assert!(
            r["state_error_max"].as_f64().unwrap() < error,
            "{}",
            r["state_error_max"]
        );
        assert!(r["dead_zone"].is_null(), "an LSTM has no GRU dead zone");
    }
}

/// A bias beyond the Q16 range (±32768) cannot be stored: exit 2, one line
/// naming the model, the scheme and the gate.
#[test]
fn weights_that_overflow_the_format_are_refused() {
    use gatedyn::init::{GateScale, GruScales};
    use gatedyn::{Activation, GruForm};
    use gatedyn_host::formats::save::save;
    use gatedyn_host::net::{CellWeights, Scales};
    use gatedyn_host::Param;
    use gatedyn_train::params::{Draw, Trainable};
    let g = GateScale {
        sigma: 1.0,
        bias: 0.0,
        input: 1.0,
    };
    let mut net = Trainable::random(&Draw {
        n: 4,
        inputs: 3,
        outputs: 3,
        scales: Scales::Gru(GruScales { z: g, r: g, h: g }),
        form: GruForm::ResetAfter { recurrent_bias: () },
        activation: Activation::Tanh,
        seed: 1,
    })
    .unwrap();
    if let CellWeights::Gru { weights, .. } = &mut net.cell {
        weights.r.b[2] = 40_000.0;
    }
    let path = tmp("overflow.safetensors");
    save(Param::Save, &path, &net.trained()).unwrap();
    fails(
        &[
            "quantize",
            "--model",
            s(&path),
            "--inputs",
            INPUTS,
            "--scheme",
            "int8",
        ],
        2,
        "--model: the weights do not fit int8: gate r: b row 2 does not fit the fixed-point format",
    );
}
