//! Trained-network import against ONNX Runtime (issue 12): the fixtures in
//! `tests/fixtures/trained/` were written by `make_fixtures.py` there with
//! ONNX Runtime (a reference we did not write). For each of 12 models (GRU
//! paper form, GRU reset-after, LSTM; N = 32 and 128; a stable and a
//! chaotic weight scale; non-zero biases):
//!
//! * gatedyn's run of the imported ONNX model over T = 100 steps equals
//!   ONNX Runtime's hidden states to 1e-5 (absolute) in `f32`, and in `f64`;
//! * the PyTorch-layout `.safetensors` import gives the same network as the
//!   ONNX import (the same weights, bit for bit);
//! * the Jacobian at the final state equals central differences of ONNX
//!   Runtime's one-step map (float32 runs, step 3e-3: noise ≈ 2e-5).
//!
//! `GATEDYN_FIXTURES=DIR` points the test at freshly generated fixtures
//! (the full test command regenerates them where Python can install ONNX
//! Runtime).

use gatedyn::GruForm;
use gatedyn_host::formats::{load, ModelFormat};
use gatedyn_host::io::arrays::{read, Table};
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::net::Net;
use gatedyn_host::Param;
use gatedyn_host::Precision;
use gatedyn_tests::max_diff;
use std::path::PathBuf;

/// Agreement of the hidden states with ONNX Runtime (absolute), as the
/// issue asks: `f32` rounding over 100 steps of a chaotic network stays
/// well inside.
const STATE_TOL: f64 = 1e-5;
/// Agreement of the Jacobian with ONNX Runtime's central differences
/// (absolute): float32 rounding of the differenced states (≈ 6e-8) over a
/// step of 3e-3 gives ≈ 2e-5 (measured: at most 1.7e-4, on the chaotic
/// N = 128 GRU); a wrong term is ≥ 1e-2.
const JACOBIAN_TOL: f64 = 5e-4;

fn dir() -> PathBuf {
    match std::env::var_os("GATEDYN_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trained"),
    }
}

fn names() -> Vec<String> {
    let mut v = Vec::new();
    for kind in ["gru_before", "gru_after", "lstm"] {
        for n in [32, 128] {
            for regime in ["stable", "chaotic"] {
                v.push(format!("{kind}_n{n}_{regime}"));
            }
        }
    }
    v
}

/// `∂h'/∂h` (the top-left `N×N` block for an LSTM) at the network's
/// state with its input.
fn jacobian_h(net: &mut Net) -> Vec<f64> {
    net.trace_step().unwrap();
    let j = net.jacobian().unwrap();
    let (n, d) = (net.n(), net.dim());
    (0..n * n).map(|k| j[(k / n) * d + k % n]).collect()
}

#[test]
fn imported_models_match_onnx_runtime() {
    let d = dir();
    let inputs = read(Param::Inputs, &d.join("inputs.npy")).unwrap();
    assert_eq!((inputs.rows, inputs.cols), (100, 4));
    let mut report = Vec::new();
    for name in names() {
        let model = load(&d.join(format!("{name}.onnx"))).unwrap();
        assert_eq!(model.info.format, ModelFormat::Onnx);
        let expected = read(Param::Inputs, &d.join(format!("{name}.ort_states.npy"))).unwrap();
        assert_eq!(expected.cols, model.info.n);
        assert_eq!(
            model.info.form,
            match &name[..5] {
                "gru_b" => Some(GruForm::ResetBefore),
                "gru_a" => Some(GruForm::ResetAfter { recurrent_bias: () }),
                _ => None,
            }
        );
        let ours32 = run_inputs(&model.net, &inputs, Precision::F32, || {}).unwrap();
        let ours64 = run_inputs(&model.net, &inputs, Precision::F64, || {}).unwrap();
        let (e32, e64) = (
            max_diff(&ours32.data, &expected.data),
            max_diff(&ours64.data, &expected.data),
        );
        assert!(e32 <= STATE_TOL, "{name}: f32 states differ by {e32:e}");
        assert!(e64 <= STATE_TOL, "{name}: f64 states differ by {e64:e}");
        // not a trivially small trajectory
        let spread = expected.data.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(spread > 0.3, "{name}: states stay near 0 ({spread})");

        // the readout after the GRU node (MatMul + Add) of the two models
        // that have one, against ONNX Runtime's outputs
        let readout_file = d.join(format!("{name}.ort_readout.npy"));
        match (&model.readout, readout_file.exists()) {
            (Some(r), true) => {
                let want = read(Param::Inputs, &readout_file).unwrap();
                let got = r.apply(&ours32);
                assert_eq!((got.rows, got.cols), (100, 2));
                let e = max_diff(&got.data, &want.data);
                assert!(e <= STATE_TOL, "{name}: readout differs by {e:e}");
                assert_eq!(model.info.readout_outputs, Some(2));
            }
            (None, false) => assert_eq!(model.info.readout_outputs, None),
            (r, file) => panic!("{name}: readout found {}, fixture {file}", r.is_some()),
        }

        // safetensors (PyTorch layout) where PyTorch has the form
        let st = d.join(format!("{name}.safetensors"));
        if st.exists() {
            let torch = load(&st).unwrap();
            let s64 = run_inputs(&torch.net, &inputs, Precision::F64, || {}).unwrap();
            assert_eq!(
                s64.data, ours64.data,
                "{name}: safetensors import differs from ONNX"
            );
        } else {
            assert!(name.starts_with("gru_before"), "{name}: fixture missing");
        }

        // Jacobian at h_T with x_T (LSTM: c = 0, as the fixture's one-step map)
        let fd = read(Param::Inputs, &d.join(format!("{name}.ort_jacobian.npy"))).unwrap();
        let mut net = model.net.clone();
        let last = |t: &Table| t.row(t.rows - 1).to_vec();
        net.h_mut().copy_from_slice(&last(&expected));
        net.x_mut().copy_from_slice(&last(&inputs));
        if let Net::Lstm(l) = &mut net {
            l.c.fill(0.0);
        }
        let j = jacobian_h(&mut net);
        let ej = max_diff(&j, &fd.data);
        let scale = fd.data.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            ej <= JACOBIAN_TOL,
            "{name}: Jacobian differs from ORT's differences by {ej:e}"
        );
        assert!(scale > 0.05, "{name}: trivial Jacobian");
        report.push(format!(
            "{name}: states f32 {e32:.1e}, f64 {e64:.1e}; Jacobian {ej:.1e} (max |J| {scale:.2})"
        ));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn bad_model_files_are_refused_with_their_reason() {
    let d = dir();
    let tmp = std::env::temp_dir().join(format!("gatedyn-bad-models-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let err = |p: &PathBuf| load(p).unwrap_err().to_string();

    // a truncated ONNX file
    let onnx = std::fs::read(d.join("gru_after_n32_stable.onnx")).unwrap();
    let cut = tmp.join("cut.onnx");
    std::fs::write(&cut, &onnx[..onnx.len() / 2]).unwrap();
    let e = err(&cut);
    assert!(e.starts_with(&format!("model {}", cut.display())), "{e}");
    assert!(e.contains("truncated") || e.contains("holds"), "{e}");

    // not ONNX at all
    let text = tmp.join("text.onnx");
    std::fs::write(&text, "hello, I am not a model").unwrap();
    assert!(err(&text).contains("ONNX"), "{}", err(&text));

    // a safetensors file that is not a recurrent layer's state_dict
    let st = std::fs::read(d.join("gru_after_n32_stable.safetensors")).unwrap();
    let cut = tmp.join("cut.safetensors");
    std::fs::write(&cut, &st[..st.len() - 100]).unwrap();
    assert!(err(&cut).contains("safetensors"), "{}", err(&cut));

    // the wrong extension
    let e = err(&tmp.join("model.pt"));
    assert!(e.contains(".onnx") && e.contains(".safetensors"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The Rust source `gatedyn export` wrote for the firmware example.
#[path = "../../firmware-example/src/trained_model.rs"]
#[rustfmt::skip]
mod trained_model;

#[test]
fn exported_static_runs_bit_identically_to_the_import() {
    use gatedyn::GruTrace;
    let d = dir();
    let path = d.join("gru_after_n32_stable.onnx");
    let model = load(&path).unwrap();
    // the committed file is what `gatedyn export` writes today (the first
    // line names the model path as given on the command line)
    let src =
        gatedyn_host::formats::rust_source::rust_source(&model, "TRAINED", Precision::F32).unwrap();
    let committed = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware-example/src/trained_model.rs"),
    )
    .unwrap();
    let body = |s: &str| s.lines().skip(1).map(String::from).collect::<Vec<_>>();
    if std::env::var_os("GATEDYN_FIXTURES").is_none() {
        assert_eq!(
            body(&src),
            body(&committed),
            "re-run gatedyn export (see firmware-example/src/trained.rs)"
        );
    }
    let inputs = read(Param::Inputs, &d.join("inputs.npy")).unwrap();
    let ours = run_inputs(&model.net, &inputs, Precision::F32, || {}).unwrap();
    let want_readout = read(
        Param::Inputs,
        &d.join("gru_after_n32_stable.ort_readout.npy"),
    )
    .unwrap();
    let mut h = trained_model::H0;
    let mut t = GruTrace::zeroed();
    for k in 0..inputs.rows {
        let x: [f32; trained_model::INPUTS] = core::array::from_fn(|j| inputs.row(k)[j] as f32);
        trained_model::TRAINED.step_traced(&h, &x, &mut t).unwrap();
        h = t.next;
        let row: Vec<f64> = h.iter().map(|&v| v as f64).collect();
        assert_eq!(row, ours.row(k), "step {k}");
        // the exported readout against ONNX Runtime's
        let mut y = [0.0f32; trained_model::OUTPUTS];
        trained_model::READOUT.apply(&h, &mut y).unwrap();
        for (o, &v) in y.iter().enumerate() {
            let e = (v as f64 - want_readout.row(k)[o]).abs();
            assert!(e <= STATE_TOL, "step {k}, output {o}: {e:e}");
        }
    }
}

#[test]
fn analyze_measures_the_reference_jacobian_radius() {
    use gatedyn_host::linalg::eigen::{eigenvalues, max_modulus};
    use gatedyn_host::theory::analyze::{analyze, AnalyzeConfig};
    let d = dir();
    let inputs = read(Param::Inputs, &d.join("inputs.npy")).unwrap();
    // one more step with x_T again: the last sample is the step from h_T
    // with x_T, where the fixture differenced ONNX Runtime's one-step map
    let mut extended = inputs.clone();
    extended.rows += 1;
    extended.data.extend_from_slice(inputs.row(inputs.rows - 1));
    for name in ["gru_before_n32_chaotic", "gru_after_n128_chaotic"] {
        let model = load(&d.join(format!("{name}.onnx"))).unwrap();
        let cfg = AnalyzeConfig {
            every: 25,
            ..AnalyzeConfig::default()
        };
        let r = analyze(model, &extended, &cfg, |_| {}).unwrap();
        assert_eq!(
            r.samples.iter().map(|s| s.t).collect::<Vec<_>>(),
            [0, 25, 50, 75, 100]
        );
        let fd = read(Param::Inputs, &d.join(format!("{name}.ort_jacobian.npy"))).unwrap();
        let n = fd.cols;
        let ev = eigenvalues(&faer::Mat::from_fn(n, n, |i, k| fd.data[i * n + k])).unwrap();
        let reference = max_modulus(&ev);
        let reference_slow = ev
            .iter()
            .filter(|z| z.abs() > 1.0 - cfg.slow_epsilon)
            .count();
        let last = r.samples.last().unwrap();
        let e = (last.radius - reference).abs();
        println!(
            "{name}: analyze radius {:.6}, ONNX Runtime FD Jacobian radius {reference:.6}",
            last.radius
        );
        assert!(
            e < 5e-4,
            "{name}: radius {} vs reference {reference}",
            last.radius
        );
        // the slow-mode count of the reference Jacobian, up to one
        // eigenvalue moved across 1 − ε by the differences' noise
        let slow = last.slow_modes.unwrap();
        assert!(
            slow.abs_diff(reference_slow) <= 1,
            "{name}: {slow} slow modes vs {reference_slow}"
        );
        assert!(
            slow > 0,
            "{name}: a chaotic network has modes near or beyond 1"
        );
        assert_eq!(r.theory.applies, name.starts_with("gru_before"));
    }
}

#[test]
fn analyze_matrix_free_agrees_with_dense() {
    use gatedyn_host::theory::analyze::{analyze, AnalyzeConfig};
    let d = dir();
    let inputs = read(Param::Inputs, &d.join("inputs.npy")).unwrap();
    for name in ["gru_after_n128_chaotic", "lstm_n128_chaotic"] {
        let model = load(&d.join(format!("{name}.onnx"))).unwrap();
        let dense_cfg = AnalyzeConfig {
            every: 50,
            ..AnalyzeConfig::default()
        };
        // the matrix-free path of large models, forced at N = 128
        let free_cfg = AnalyzeConfig {
            max_dense: 0,
            ..dense_cfg
        };
        let dense = analyze(model.clone(), &inputs, &dense_cfg, |_| {}).unwrap();
        let free = analyze(model, &inputs, &free_cfg, |_| {}).unwrap();
        assert_eq!((dense.method, free.method), ("dense", "arnoldi"));
        assert!(free.samples.iter().all(|s| s.slow_modes.is_none()));
        for (a, b) in dense.samples.iter().zip(&free.samples) {
            let rel = (a.radius - b.radius).abs() / a.radius;
            assert!(
                rel < 1e-3,
                "{name} t={}: dense {} vs matrix-free {}",
                a.t,
                a.radius,
                b.radius
            );
        }
    }
}

/// Malformed ONNX models, written from a good fixture with one thing
/// changed: each is refused with its own reason.
#[test]
fn malformed_onnx_models_are_refused_with_their_reason() {
    use gatedyn_host::formats::onnx_proto::{AttributeProto, ModelProto, TensorProto};
    use prost::Message;
    let d = dir();
    let good =
        ModelProto::decode(&*std::fs::read(d.join("gru_before_n32_stable.onnx")).unwrap()).unwrap();
    let tmp = std::env::temp_dir().join(format!("gatedyn-onnx-cases-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let string_attr = |name: &str, value: &str| AttributeProto {
        name: name.into(),
        s: value.as_bytes().to_vec(),
        r#type: 3,
        ..Default::default()
    };
    fn initializer<'a>(m: &'a mut ModelProto, name: &str) -> &'a mut TensorProto {
        let graph = m.graph.as_mut().unwrap();
        graph
            .initializer
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap()
    }
    type Change = Box<dyn Fn(&mut ModelProto)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "a second initializer named R, all zeros",
            Box::new(|m| {
                let mut twin = initializer(m, "R").clone();
                twin.raw_data.iter_mut().for_each(|b| *b = 0);
                twin.float_data.iter_mut().for_each(|x| *x = 0.0);
                m.graph.as_mut().unwrap().initializer.insert(0, twin);
            }),
            "two initializers are named \"R\"",
        ),
        (
            "linear_before_reset 2",
            Box::new(|m| {
                m.graph.as_mut().unwrap().node[0]
                    .attribute
                    .push(AttributeProto {
                        name: "linear_before_reset".into(),
                        i: 2,
                        r#type: 2,
                        ..Default::default()
                    })
            }),
            "linear_before_reset = 2; ONNX allows 0 or 1",
        ),
        (
            "raw data with 3 bytes too many",
            Box::new(|m| {
                let t = initializer(m, "W");
                if t.raw_data.is_empty() {
                    t.raw_data = t.float_data.iter().flat_map(|x| x.to_le_bytes()).collect();
                    t.float_data.clear();
                }
                t.raw_data.extend([1, 2, 3]);
            }),
            "bytes of raw data, its shape",
        ),
        (
            "bidirectional",
            Box::new(move |m| {
                m.graph.as_mut().unwrap().node[0]
                    .attribute
                    .push(string_attr("direction", "bidirectional"))
            }),
            "direction \"bidirectional\": only forward layers",
        ),
        (
            "relu",
            Box::new(|m| {
                m.graph.as_mut().unwrap().node[0]
                    .attribute
                    .push(AttributeProto {
                        name: "activations".into(),
                        strings: vec![b"Sigmoid".to_vec(), b"Relu".to_vec()],
                        r#type: 8,
                        ..Default::default()
                    })
            }),
            "GRU activation 1 is Relu",
        ),
        (
            "clip",
            Box::new(|m| {
                m.graph.as_mut().unwrap().node[0]
                    .attribute
                    .push(AttributeProto {
                        name: "clip".into(),
                        f: 3.0,
                        r#type: 1,
                        ..Default::default()
                    })
            }),
            "cell clip",
        ),
        (
            "nan",
            Box::new(|m| {
                initializer(m, "W").raw_data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
            }),
            "input weights entry 2 is NaN",
        ),
        (
            "shape",
            Box::new(|m| {
                let r = initializer(m, "R");
                r.dims = vec![1, 96, 16];
                r.raw_data.truncate(96 * 16 * 4);
            }),
            "do not fit [1, 3·N, I] and [1, 3·N, N]",
        ),
        (
            "no node",
            Box::new(|m| m.graph.as_mut().unwrap().node.clear()),
            "no GRU or LSTM node",
        ),
        (
            "stacked",
            Box::new(|m| {
                let g = m.graph.as_mut().unwrap();
                let again = g.node[0].clone();
                g.node.push(again);
            }),
            "2 recurrent nodes (stacked layers)",
        ),
        (
            "float16",
            Box::new(|m| {
                initializer(m, "W").data_type = 10;
            }),
            "ONNX data type 10",
        ),
    ];
    for (label, change, msg) in cases {
        let mut m = good.clone();
        change(&mut m);
        let p = tmp.join(format!("{}.onnx", label.replace(' ', "_")));
        std::fs::write(&p, m.encode_to_vec()).unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("model {}: ", p.display())),
            "{label}: {e}"
        );
        assert!(e.contains(msg), "{label}: expected {msg:?} in {e:?}");
        assert_eq!(e.lines().count(), 1, "{label}: one line");
    }
    // the unchanged model, re-encoded, still loads
    let p = tmp.join("good.onnx");
    std::fs::write(&p, good.encode_to_vec()).unwrap();
    assert_eq!(load(&p).unwrap().info.n, 32);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// What `gatedyn export --quantize int8|int16 --inputs inputs.npy` writes
/// for the N = 32 reset-after fixture, and the firmware's scenario that
/// runs them (`firmware-example/src/quantized_trained.rs`, which finds
/// them as `crate::trained_int8` and `crate::trained_int16`).
#[path = "../fixtures/trained/gru_after_n32_stable_int8.rs"]
#[rustfmt::skip]
mod trained_int8;
#[path = "../fixtures/trained/gru_after_n32_stable_int16.rs"]
#[rustfmt::skip]
mod trained_int16;
#[path = "../../firmware-example/src/quantized_trained.rs"]
#[allow(dead_code)]
mod quantized_trained;

#[test]
fn exported_quantized_statics_run_as_the_host_cell_bit_for_bit() {
    use gatedyn::quant::QWeight;
    use gatedyn_host::formats::rust_source::quantized_rust_source;
    use gatedyn_host::net::quantized::{QuantizedNet, Scheme};
    use quantized_trained::{Export, QuantizedRun};
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trained");
    let model = load(&d.join("gru_after_n32_stable.onnx")).unwrap();
    let inputs = read(Param::Inputs, &d.join("inputs.npy")).unwrap();
    // the firmware's copy of the same file (embedded, f32)
    let embedded = quantized_trained::inputs().unwrap();
    fn check<W: QWeight>(
        model: &gatedyn_host::formats::Model,
        inputs: &Table,
        embedded: &[[f32; 4]; 100],
        scheme: Scheme,
        file: &str,
        export: &Export<W>,
    ) -> QuantizedRun {
        let q = QuantizedNet::calibrated(&model.net, scheme, inputs).unwrap();
        assert_eq!(q.input_scale(), export.input_scale);
        assert_eq!(export.scheme(), scheme.name());
        // the committed file is today's export (its first line names the
        // model path as given on the command line)
        let src = quantized_rust_source(model, &q, "TRAINED").unwrap();
        let committed = std::fs::read_to_string(file).unwrap();
        let body = |s: &str| s.lines().skip(1).map(String::from).collect::<Vec<_>>();
        assert_eq!(
            body(&src),
            body(&committed),
            "re-run gatedyn export --quantize"
        );
        // the firmware's run of the static steps as the host's cell does,
        // bit for bit
        let start = q.quantize_state(&model.net).unwrap();
        assert_eq!(export.h0.to_vec(), start.h);
        let host = q.run(&start, inputs, |_, _| {}).unwrap();
        let mut step = 0;
        let run = export
            .run(embedded, |h| {
                assert_eq!(h.to_vec(), host[step].h, "{} step {step}", scheme.name());
                step += 1;
            })
            .unwrap();
        assert_eq!(step, host.len());
        // the f32 readout on h_q / 2¹⁵ is the model's readout on those states
        let want = model
            .readout
            .as_ref()
            .unwrap()
            .output(&run.last.map(|v| v as f64 / 32768.0));
        for (a, b) in run.readout.iter().zip(&want) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} {b}");
        }
        run
    }
    let int8 = check(
        &model,
        &inputs,
        &embedded,
        Scheme::Int8,
        d.join("gru_after_n32_stable_int8.rs").to_str().unwrap(),
        &quantized_trained::int8(),
    );
    let int16 = check(
        &model,
        &inputs,
        &embedded,
        Scheme::Int16,
        d.join("gru_after_n32_stable_int16.rs").to_str().unwrap(),
        &quantized_trained::int16(),
    );
    // the states' checksums are pinned: the values the Cortex-M4F and M0
    // printed (firmware-example/src/bin/quantized.rs, `states_checksum`)
    // when the step was first run there, so a change of the integer
    // step's arithmetic, on the host and the device alike, fails here
    let (c8, c16) = (int8.states_checksum, int16.states_checksum);
    assert_eq!(c8, 0xc07a_8bb4, "int8 states: {c8:x}");
    assert_eq!(c16, 0x87da_6f5b, "int16 states: {c16:x}");
    assert_eq!(trained_int8::OUTPUTS, trained_int16::OUTPUTS);
    // flash: the int8 and int16 statics against the f32 export (14,600 bytes)
    assert_eq!(std::mem::size_of_val(&trained_int8::TRAINED.z.u), 32 * 32);
    assert_eq!(
        std::mem::size_of_val(&trained_int16::TRAINED.z.u),
        2 * 32 * 32
    );
}
