//! Hostile inputs from issue 21, each a reproduction that hung, aborted,
//! replaced a special file or named the wrong thing before its fix: now
//! exit status 2 with one line that names the flag or file.

mod common;

use common::gatedyn;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit status 2 within `seconds`, one line on stderr containing `msg`.
fn refused(args: &[&str], msg: &str, seconds: f64) {
    let t0 = std::time::Instant::now();
    let (code, out, err) = gatedyn(args);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(err.contains(msg), "{args:?}: expected {msg:?} in {err:?}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line: {err:?}"
    );
    assert!(out.is_empty(), "{args:?}: {out}");
    assert!(took < seconds, "{args:?}: took {took:.1} s");
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatedyn-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/trained/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[cfg(unix)]
fn fifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo");
}

/// Defects 4 and 5: a FIFO hung the run; `/dev/zero` behind a `.npy`
/// symlink filled memory. Only regular files are read.
#[cfg(unix)]
#[test]
fn pipes_and_devices_are_not_read() {
    let d = tmp("inputs");
    let model = fixture("gru_before_n32_stable.onnx");
    let (pipe_npy, pipe_onnx, zero) = (d.join("x.npy"), d.join("m.onnx"), d.join("zero.npy"));
    fifo(&pipe_npy);
    fifo(&pipe_onnx);
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let out = d.join("y.npy");
    for inputs in [&pipe_npy, &zero] {
        refused(
            &[
                "run",
                "--model",
                &model,
                "--inputs",
                s(inputs),
                "--output",
                s(&out),
            ],
            &format!("--inputs {}: is not a regular file", inputs.display()),
            20.0,
        );
    }
    refused(
        &[
            "analyze",
            "--model",
            s(&pipe_onnx),
            "--inputs",
            &fixture("inputs.npy"),
        ],
        &format!("--model {}: is not a regular file", pipe_onnx.display()),
        20.0,
    );
    refused(
        &["train-sweep", "--merge", s(&pipe_npy), "--quiet"],
        "is not a regular file",
        20.0,
    );
}

/// Defect 15: an output on a FIFO or a symlink replaced the node with a
/// regular file. Both are refused and left as they were.
#[cfg(unix)]
#[test]
fn outputs_do_not_replace_special_files() {
    use std::os::unix::fs::FileTypeExt;
    let d = tmp("outputs");
    let pipe = d.join("out.json");
    fifo(&pipe);
    let target = d.join("real.json");
    std::fs::write(&target, "keep").unwrap();
    let link = d.join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let base = ["mft", "gru", "--sigma-h", "1.5", "--sigma-r", "1", "--json"];
    refused(
        &[&base[..], &[s(&pipe)]].concat(),
        "is not a regular file",
        20.0,
    );
    refused(
        &[&base[..], &[s(&link)]].concat(),
        "is a symbolic link",
        20.0,
    );
    assert!(std::fs::symlink_metadata(&pipe)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}

/// Defects 18, 19, 20 and the second half of 23: the missing flag named,
/// the subcommands listed, negative numbers reaching their flag's check, a
/// newline in a file name on one line.
#[test]
fn the_command_line_names_what_is_wrong() {
    refused(&[], "gatedyn needs a subcommand: spectrum, mft", 10.0);
    refused(
        &["lyapunov"],
        "gatedyn lyapunov needs a subcommand: gru, lstm, model",
        10.0,
    );
    refused(
        &["run", "--model", "m.onnx", "--inputs", "x.npy"],
        "missing --output <PATH>",
        10.0,
    );
    refused(
        &["train-sweep", "--shard", "1/2"],
        "missing --lines <PATH>",
        10.0,
    );
    refused(
        &[
            "analyze", "--model", "m.onnx", "--inputs", "x.npy", "--every", "-1",
        ],
        "'--every <EVERY>': must be a whole number >= 1",
        10.0,
    );
    refused(
        &[
            "run",
            "--model",
            "a\nb.onnx",
            "--inputs",
            "x.npy",
            "--output",
            "y.npy",
        ],
        "--model a\\nb.onnx",
        10.0,
    );
}

/// Defect 13: `--array` without `--emit-slurm` ran the whole sweep.
/// Defect 16: a newline in a file name went into the Slurm script.
#[test]
fn slurm_scripts_take_no_stray_flags_or_lines() {
    let d = tmp("slurm");
    refused(
        &["train-sweep", "--array", "3", "--quiet"],
        "missing --emit-slurm <PATH>",
        10.0,
    );
    let script = d.join("sweep.sbatch");
    let evil = format!("{}/x\ntouch INJECTED\n.jsonl", d.display());
    refused(
        &["train-sweep", "--emit-slurm", s(&script), "--report", &evil],
        "cannot go into a Slurm script",
        10.0,
    );
    assert!(!script.exists(), "nothing written");
}

/// Defect 12: MNIST training images of 4×4 and test images of 3×3 were
/// accepted.
#[test]
fn mnist_splits_of_two_sizes_are_refused() {
    use gatedyn_train::mnist::{write, Digits, Split};
    let d = tmp("mnist");
    let digits = |side: usize, count: usize| Digits {
        pixels: side * side,
        images: (0..count * side * side).map(|k| (k % 251) as u8).collect(),
        labels: (0..count).map(|k| (k % 10) as u8).collect(),
    };
    write(&d, Split::Train, &digits(4, 20)).unwrap();
    write(&d, Split::Test, &digits(3, 20)).unwrap();
    refused(
        &["train", "--task", "smnist", "--mnist", s(&d), "--quiet"],
        "training images have 16 pixels, test images 9",
        20.0,
    );
}

/// Defects 14 and 21: merge lines with `epochs: 0`, `n: 0`, a task that is
/// none, an accuracy of −5 were accepted or named a flag the user never
/// gave; defect 17: a failed merge left its new report folder behind.
#[test]
fn merge_names_the_file_and_the_line() {
    let d = tmp("merge");
    let good = std::fs::read_to_string(format!(
        "{}/../tests/fixtures/sweep/shard.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let first = good.lines().next().unwrap();
    let cases = [
        (
            "\"epochs\":2",
            "\"epochs\":0",
            "epochs: 1 to 100000 (got 0)",
        ),
        (
            "\"n\":8",
            "\"n\":0",
            "n 0 and length 20: both must be at least 1",
        ),
        (
            "\"task\":\"adding\"",
            "\"task\":\"rm -rf /\"",
            "task \"rm -rf /\" is not a task",
        ),
        (
            "\"final_accuracy\":0.0625",
            "\"final_accuracy\":-5",
            "final_accuracy -5 is not in [0, 1]",
        ),
        (
            "\"final_accuracy\":0.0625",
            "\"final_accuracy\":null",
            "a finished job needs final_accuracy and final_loss (or a failure)",
        ),
        (
            "\"final_accuracy\":0.0625",
            "\"final_accuracy\":0.0625,\"failure\":\"overflow\"",
            "the job failed (\"overflow\") but has results",
        ),
        (
            "\"final_accuracy\":0.0625,\"final_loss\":1.3248324528661668",
            "\"final_accuracy\":null,\"final_loss\":null,\"failure\":\"\\u001b[2J\"",
            "failure: at most 2000 bytes of text without control characters (4 bytes)",
        ),
    ];
    for (from, to, msg) in cases {
        assert!(first.contains(from), "{from}");
        let file = d.join("bad.jsonl");
        std::fs::write(&file, format!("{}\n", first.replace(from, to))).unwrap();
        let report = d.join("new-report");
        refused(
            &[
                "train-sweep",
                "--merge",
                s(&file),
                "--report",
                s(&report),
                "--quiet",
            ],
            &format!("--merge {}: line 1: {msg}", file.display()),
            20.0,
        );
        assert!(!report.exists(), "a failed merge leaves no report folder");
    }
}

/// Defect 17: `--json x.json/` and `--emit-slurm` naming a folder were not
/// checked before the run.
#[test]
fn output_paths_that_are_folders_are_refused() {
    let d = tmp("paths");
    refused(
        &[
            "mft",
            "gru",
            "--sigma-h",
            "1.5",
            "--sigma-r",
            "1",
            "--json",
            &format!("{}/x.json/", d.display()),
        ],
        "not a file name",
        10.0,
    );
    refused(
        &["train-sweep", "--emit-slurm", s(&d), "--quiet"],
        &format!("--emit-slurm {}: is a folder", d.display()),
        10.0,
    );
}

/// Defect 22: a NaN `initial_h` in an ONNX model failed a step later with
/// exit 3 and no file named; now the model is refused.
#[test]
fn a_model_with_a_nan_initial_state_is_refused() {
    use gatedyn_host::formats::onnx_proto::{ModelProto, TensorProto};
    use prost::Message;
    let d = tmp("nan-h0");
    let bytes = std::fs::read(fixture("gru_before_n32_stable.onnx")).unwrap();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    let graph = m.graph.as_mut().unwrap();
    let mut h0 = vec![0.0f32; 32];
    h0[3] = f32::NAN;
    graph.initializer.push(TensorProto {
        name: "h0".into(),
        dims: vec![1, 1, 32],
        data_type: 1,
        float_data: h0,
        ..Default::default()
    });
    let node = &mut graph.node[0];
    while node.input.len() < 6 {
        node.input.push(String::new());
    }
    node.input[5] = "h0".into();
    let path = d.join("m.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    refused(
        &[
            "run",
            "--model",
            s(&path),
            "--inputs",
            &fixture("inputs.npy"),
            "--output",
            s(&d.join("y.npy")),
        ],
        &format!(
            "--model {}: initial_h entry 3 is not finite",
            path.display()
        ),
        20.0,
    );
}

/// Defect 8: a readout weight of 3e38 wrote `[-inf, -inf]`, invalid JSON,
/// and exited 0. Now exit 3 names the step, and nothing is written.
#[test]
fn a_readout_that_overflows_writes_nothing() {
    use gatedyn_host::formats::onnx_proto::ModelProto;
    use prost::Message;
    let d = tmp("readout");
    let bytes = std::fs::read(fixture("gru_after_n32_stable.onnx")).unwrap();
    let mut m = ModelProto::decode(&bytes[..]).unwrap();
    let graph = m.graph.as_mut().unwrap();
    let product = graph
        .node
        .iter()
        .find(|n| n.op_type == "MatMul" || n.op_type == "Gemm")
        .expect("the readout");
    let weight = product.input[1].clone();
    let t = graph
        .initializer
        .iter_mut()
        .find(|t| t.name == weight)
        .unwrap();
    if t.raw_data.is_empty() {
        t.float_data.iter_mut().for_each(|x| *x = 3e38);
    } else {
        t.raw_data = t
            .raw_data
            .chunks(4)
            .flat_map(|_| 3e38f32.to_le_bytes())
            .collect();
    }
    let path = d.join("m.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    let (y, h) = (d.join("y.json"), d.join("h.npy"));
    let (code, out, err) = gatedyn(&[
        "run",
        "--model",
        s(&path),
        "--inputs",
        &fixture("inputs.npy"),
        "--output",
        s(&h),
        "--readout-output",
        s(&y),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("readout: non-finite value in Result"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(out.is_empty() && !y.exists() && !h.exists());
}

/// The matrix-free budget below a pass of the method gave "no convergence
/// after 8 iterations (last value NaN, …)": now bad input, naming the flag.
#[test]
fn a_budget_below_one_pass_is_bad_input() {
    refused(
        &[
            "spectrum",
            "gru",
            "--n",
            "2500",
            "--solver",
            "arnoldi",
            "--max-products",
            "1",
        ],
        "--max-products must be at least 32 (a few passes of the method), got 1",
        10.0,
    );
}

/// A PyTorch-layout GRU state_dict as safetensors, float64, `N = 4`, two
/// inputs, every recurrent weight `w`.
fn gru_safetensors(path: &Path, w: f64) {
    let (n, i) = (4usize, 2usize);
    let tensors: Vec<(&str, Vec<usize>, Vec<f64>)> = vec![
        ("rnn.weight_ih_l0", vec![3 * n, i], vec![0.1; 3 * n * i]),
        ("rnn.weight_hh_l0", vec![3 * n, n], vec![w; 3 * n * n]),
        ("rnn.bias_ih_l0", vec![3 * n], vec![0.0; 3 * n]),
        ("rnn.bias_hh_l0", vec![3 * n], vec![0.0; 3 * n]),
    ];
    let mut header = String::from("{");
    let mut data = vec![];
    for (k, (name, shape, values)) in tensors.iter().enumerate() {
        let start = data.len();
        data.extend(values.iter().flat_map(|x| x.to_le_bytes()));
        if k > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"F64\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// Defect 9: results that overflowed exited 0 with `null` in the JSON
/// (`analyze` of float64 weights of 1e300 gave `"sigma": null`). Now exit 3
/// names the field, and nothing is written.
#[test]
fn a_result_that_is_not_finite_is_not_written() {
    let d = tmp("nonfinite");
    let model = d.join("m.safetensors");
    gru_safetensors(&model, 1e300);
    let x = d.join("x.csv");
    std::fs::write(&x, "0.1,0.2\n0.3,0.4\n0.5,0.6\n").unwrap();
    let json = d.join("a.json");
    let (code, out, err) = gatedyn(&[
        "analyze",
        "--model",
        s(&model),
        "--inputs",
        s(&x),
        "--json",
        s(&json),
        "--quiet",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is not a finite number"), "{err}");
    assert!(
        err.contains("sigma") || err.contains("mean"),
        "names the field: {err}"
    );
    assert!(out.is_empty() && !json.exists());
    // the same file with ordinary weights runs
    gru_safetensors(&model, 0.3);
    let (code, _, err) = gatedyn(&[
        "analyze",
        "--model",
        s(&model),
        "--inputs",
        s(&x),
        "--json",
        s(&json),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// Defect 14: `--h0` given as a 4×8 matrix for N = 32 was taken as the 32
/// entries of a vector.
#[test]
fn an_initial_state_must_be_a_vector() {
    let d = tmp("h0");
    let h0 = d.join("h0.csv");
    let row = ["0.1"; 8].join(",");
    std::fs::write(&h0, format!("{row}\n{row}\n{row}\n{row}\n")).unwrap();
    refused(
        &[
            "run",
            "--model",
            &fixture("gru_before_n32_stable.onnx"),
            "--h0",
            s(&h0),
            "--inputs",
            &fixture("inputs.npy"),
            "--output",
            s(&d.join("y.npy")),
        ],
        &format!("--h0 {}: a 4×8 matrix; give a vector", h0.display()),
        20.0,
    );
}

/// Defect 7: a 3 GiB sparse `.npy` behind a 100×4 header was read whole
/// (3 GB, seconds) before its header was checked.
#[test]
fn a_npy_longer_than_its_header_is_refused_unread() {
    let d = tmp("sparse");
    let x = d.join("x.npy");
    // the header of a 100×4 array, and none of its data
    std::fs::write(&x, common::npy_bytes("100, 4", &[])).unwrap();
    common::grow_sparse(&x, 3 << 30);
    refused(
        &[
            "run",
            "--model",
            &fixture("gru_before_n32_stable.onnx"),
            "--inputs",
            s(&x),
            "--output",
            s(&d.join("y.npy")),
        ],
        "the header declares shape (100, 4) in 3328 bytes, but the file holds 3221225472",
        2.0,
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Defect 7, `.safetensors`: a 3 GiB sparse file behind a small header was
/// read whole before the header was checked.
#[test]
fn a_safetensors_longer_than_its_header_is_refused_unread() {
    let d = tmp("sparse-st");
    let m = d.join("m.safetensors");
    std::fs::copy(fixture("gru_after_n32_stable.safetensors"), &m).unwrap();
    common::grow_sparse(&m, 3 << 30);
    refused(
        &[
            "run",
            "--model",
            s(&m),
            "--inputs",
            &fixture("inputs.npy"),
            "--output",
            s(&d.join("y.npy")),
        ],
        "the header declares 14888 bytes (tensors up to byte 14592 of the data), but the file holds 3221225472 (truncated or corrupt file)",
        2.0,
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Defect 22, inputs: a float64 input of 1e300 became infinite in the f32
/// step, which failed with exit 3 and named no file. Now `--inputs` is
/// named with the entry; in f64 the same inputs run.
#[test]
fn inputs_beyond_f32_are_refused_in_f32_by_name() {
    let d = tmp("big-inputs");
    let x = d.join("x.npy");
    let mut data = vec![0.0; 20 * 4];
    data[3 * 4 + 1] = 1e300;
    std::fs::write(&x, common::npy_bytes("20, 4", &data)).unwrap();
    let args = |precision: &'static str| {
        vec![
            "run".to_string(),
            "--model".into(),
            fixture("gru_after_n32_stable.onnx"),
            "--inputs".into(),
            s(&x).into(),
            "--output".into(),
            s(&d.join("y.npy")).into(),
            "--precision".into(),
            precision.into(),
        ]
    };
    let f32_args = args("f32");
    refused(
        &f32_args.iter().map(String::as_str).collect::<Vec<_>>(),
        "--inputs: the entry at row 3, column 1 is 1e300, beyond the range of f32",
        20.0,
    );
    let f64_args = args("f64");
    let (code, _, err) = gatedyn(&f64_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Defect 23, first half: `--steps 40 --batches 100` named `--steps`
/// only; both are named now.
#[test]
fn steps_too_few_for_the_batches_name_both_flags() {
    refused(
        &[
            "lyapunov",
            "model",
            "--model",
            &fixture("gru_after_n32_stable.onnx"),
            "--steps",
            "40",
            "--batches",
            "100",
        ],
        "--steps and --batches: 40 steps cannot fill 100 batches",
        20.0,
    );
}

/// Defect 3: `train --length 1000000` under `ulimit -v 4 GB` aborted after
/// 16 s: the backpropagation traces were not counted up front. Now the run
/// is refused at once, naming `--length`.
#[cfg(unix)]
#[test]
fn training_memory_is_checked_before_the_run() {
    let t0 = std::time::Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 4000000 && exec {} train --task adding --length 1000000 --train-size 16 --test-size 4 --batch 8 --quiet",
            env!("CARGO_BIN_EXE_gatedyn")
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // 1e6 steps × 64 units × 112 bytes per unit and step: 7.2e9 bytes
    assert!(
        err.starts_with("error: --length 1000000 needs about 7.0 GiB, more than the"),
        "{err}"
    );
    assert!(t0.elapsed().as_secs_f64() < 5.0);
}
