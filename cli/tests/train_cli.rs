//! `gatedyn train` and `gatedyn train-sweep` end to end: the JSON history,
//! `--save` read back by `gatedyn analyze`, sequential MNIST from IDX files
//! the test writes, shards merged into the same sweep as one process, the
//! Slurm script, and the documented one-line errors.

mod common;

use common::gatedyn;
use gatedyn_train::mnist::{self, Digits, Split};
use std::path::{Path, PathBuf};

fn ok(args: &[&str]) -> String {
    let (code, out, err) = gatedyn(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

fn fails(args: &[&str], status: i32, msg: &str) {
    let (code, out, err) = gatedyn(args);
    assert_eq!(code, status, "{args:?}: {err}");
    assert!(err.contains(msg), "{args:?}: expected {msg:?} in {err:?}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "{args:?}: {out}");
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gatedyn-train-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A small adding run: the history has every field, the loss falls below
/// the mean predictor's, the saved model is analysed by `gatedyn analyze`.
#[test]
fn train_writes_the_history_and_a_model_analyze_reads() {
    let (out, model, inputs) = (tmp("adding.json"), tmp("adding.onnx"), tmp("x.csv"));
    let args = [
        "train",
        "--task",
        "adding",
        "--length",
        "12",
        "--n",
        "10",
        "--epochs",
        "3",
        "--train-size",
        "256",
        "--test-size",
        "64",
        "--batch",
        "16",
        "--lr",
        "0.01",
        "--json",
        s(&out),
        "--save",
        s(&model),
        "--quiet",
    ];
    let line = ok(&args);
    assert!(line.contains("adding T=12 GRU N=10"), "{line}");
    let r = json(&out);
    let history = r["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "epoch 0 and three epochs");
    assert!(history[0]["train_loss"].is_null());
    for h in &history[1..] {
        for key in [
            "train_loss",
            "test_loss",
            "test_accuracy",
            "gradient_norm",
            "max_gradient_norm",
        ] {
            assert!(h[key].as_f64().unwrap().is_finite(), "{key}: {h}");
        }
        let d = &h["dynamics"];
        assert!(d["spectral_radius"].as_f64().unwrap() > 0.0);
        assert!(d["slow_modes"].as_u64().unwrap() <= 10);
    }
    let first = history[0]["test_loss"].as_f64().unwrap();
    let last = r["final_loss"].as_f64().unwrap();
    assert!(last < first && last < 1.0 / 6.0, "{first} -> {last}");
    assert_eq!(r["final_loss"], history[3]["test_loss"]);
    // the saved network, read by another subcommand
    std::fs::write(&inputs, "0.5,0\n0.2,1\n0.9,0\n0.1,1\n").unwrap();
    let a = ok(&[
        "analyze",
        "--model",
        s(&model),
        "--inputs",
        s(&inputs),
        "--quiet",
    ]);
    assert!(a.contains("GRU"), "{a}");
    // the same seeds give the same run, bit for bit
    let again = tmp("adding2.json");
    let mut args2: Vec<&str> = args[..args.len() - 5].to_vec();
    args2.extend(["--json", s(&again), "--quiet"]);
    ok(&args2);
    assert_eq!(
        json(&again)["history"][3]["test_loss"],
        history[3]["test_loss"]
    );
    // f32 is the default; the f64 run is another run, close to it
    assert_eq!(r["precision"], "f32");
    let f64_run = tmp("adding-f64.json");
    let mut args3: Vec<&str> = args[..args.len() - 5].to_vec();
    args3.extend(["--precision", "f64", "--json", s(&f64_run), "--quiet"]);
    ok(&args3);
    let r64 = json(&f64_run);
    assert_eq!(r64["precision"], "f64");
    let l64 = r64["final_loss"].as_f64().unwrap();
    assert_ne!(l64, last);
    let apart = (l64 - last).abs() / last;
    eprintln!("adding, 3 epochs: final loss f32 {last}, f64 {l64}: {apart:.1e} apart");
    assert!(
        apart < 1e-4,
        "f32 {last} against f64 {l64} (measured 1.3e-6 apart)"
    );
}

/// Ten classes told apart by when three bright pixels come (a memory
/// task): the run from IDX files beats guessing.
fn write_digits(dir: &Path, count: usize, seed: u32, split: Split) {
    let side = 6;
    let pixels = side * side;
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        state >> 24
    };
    let mut images = vec![0u8; count * pixels];
    let mut labels = vec![0u8; count];
    for k in 0..count {
        let c = (next() % 10) as usize;
        labels[k] = c as u8;
        for p in 0..pixels {
            images[k * pixels + p] = (next() % 40) as u8;
        }
        for p in 3 * c..3 * c + 3 {
            images[k * pixels + p] = 255;
        }
    }
    mnist::write(
        dir,
        split,
        &Digits {
            pixels,
            images,
            labels,
        },
    )
    .unwrap();
}

#[test]
fn smnist_from_idx_files_learns_above_chance() {
    let dir = tmp("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    write_digits(&dir, 400, 1, Split::Train);
    write_digits(&dir, 100, 2, Split::Test);
    let out = tmp("smnist.json");
    ok(&[
        "train",
        "--task",
        "smnist",
        "--mnist",
        s(&dir),
        "--n",
        "16",
        "--epochs",
        "4",
        "--batch",
        "20",
        "--lr",
        "0.02",
        "--json",
        s(&out),
        "--quiet",
    ]);
    let r = json(&out);
    assert_eq!(r["length"], 36);
    assert_eq!(r["train_size"], 400);
    assert_eq!(r["test_size"], 100);
    let acc = r["final_accuracy"].as_f64().unwrap();
    assert!(acc > 0.3, "accuracy {acc} (chance 0.1)");
    // malformed files are named
    let bad = tmp("mnist-bad");
    std::fs::create_dir_all(&bad).unwrap();
    write_digits(&bad, 10, 3, Split::Train);
    write_digits(&bad, 10, 4, Split::Test);
    let images = bad.join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() - 5]).unwrap();
    fails(
        &["train", "--task", "smnist", "--mnist", s(&bad), "--quiet"],
        2,
        "promises 360 values but the file holds 355 (truncated?)",
    );
    std::fs::write(&images, b"not an idx file at all").unwrap();
    fails(
        &["train", "--task", "smnist", "--mnist", s(&bad), "--quiet"],
        2,
        "not an IDX file",
    );
    std::fs::remove_file(&images).unwrap();
    fails(
        &["train", "--task", "smnist", "--mnist", s(&bad), "--quiet"],
        2,
        "no file t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz)",
    );
    fails(
        &[
            "train",
            "--task",
            "smnist",
            "--mnist",
            s(&dir),
            "--train-size",
            "401",
            "--quiet",
        ],
        2,
        "--train-size: 1 to 400 sequences",
    );
    // the variants: 6×6 digits two rows at a time, permuted
    let out = tmp("smnist-rows.json");
    ok(&[
        "train",
        "--task",
        "smnist",
        "--mnist",
        s(&dir),
        "--pixels-per-step",
        "12",
        "--permute",
        "5",
        "--n",
        "16",
        "--epochs",
        "1",
        "--json",
        s(&out),
        "--quiet",
    ]);
    let r = json(&out);
    assert_eq!(
        (
            r["length"].as_u64(),
            r["pixels_per_step"].as_u64(),
            r["permute"].as_u64()
        ),
        (Some(3), Some(12), Some(5))
    );
    fails(
        &[
            "train",
            "--task",
            "smnist",
            "--mnist",
            s(&dir),
            "--pixels-per-step",
            "5",
            "--quiet",
        ],
        2,
        "--pixels-per-step 5 does not divide the images' 36 pixels (one of 1, 2, 3, 4, 6, 9, 12, 18, 36)",
    );
    fails(
        &["train", "--task", "adding", "--permute", "1", "--quiet"],
        2,
        "--permute is for --task smnist",
    );
}

/// Real digits (`cargo xtask mnist`, run by `cargo xtask ci` before the
/// ignored tests; the folder is `$GATEDYN_MNIST` or `target/mnist`): a GRU
/// of 32 units, row by row, one epoch of 2,000 digits, tested on 1,000.
/// Measured on this project's machine: accuracy 0.548 (0.560 permuted),
/// against 0.1 for guessing; the bound leaves room for other CPUs'
/// rounding and is still five times chance.
#[test]
#[ignore = "needs real MNIST: cargo xtask mnist target/mnist (run by cargo xtask ci)"]
fn real_mnist_row_by_row_learns_in_one_epoch() {
    let dir = std::env::var_os("GATEDYN_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mnist"));
    assert!(
        dir.join("train-images-idx3-ubyte.gz").is_file(),
        "{}: no MNIST files; run cargo xtask mnist {}",
        dir.display(),
        dir.display()
    );
    for permute in [None, Some("3")] {
        let out = tmp(&format!("real-mnist-{}.json", permute.unwrap_or("rows")));
        let mut args = vec![
            "train",
            "--task",
            "smnist",
            "--mnist",
            s(&dir),
            "--pixels-per-step",
            "28",
            "--n",
            "32",
            "--epochs",
            "1",
            "--train-size",
            "2000",
            "--test-size",
            "1000",
            "--json",
            s(&out),
            "--quiet",
        ];
        if let Some(p) = permute {
            args.extend(["--permute", p]);
        }
        ok(&args);
        let r = json(&out);
        assert_eq!(r["length"], 28);
        let acc = r["final_accuracy"].as_f64().unwrap();
        eprintln!("real MNIST, row by row, permute {permute:?}: accuracy {acc}");
        assert!(acc > 0.4, "accuracy {acc} (chance 0.1, measured 0.55)");
    }
}

#[test]
fn train_errors_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["train", "--task", "smnist"],
            "--task smnist needs --mnist DIR",
        ),
        (
            &["train", "--mnist", "/tmp"],
            "--mnist is for --task smnist",
        ),
        (
            &["train", "--sigma-f", "1"],
            "--sigma-f/i/o/c are scales of the LSTM",
        ),
        (
            &["train", "--cell", "lstm", "--sigma-z", "1"],
            "--sigma-z/r/h are scales of the GRU",
        ),
        (
            &["train", "--lr", "0"],
            "--lr: the learning rate must be positive",
        ),
        (
            &["train", "--clip", "-1"],
            "--clip: the clipping norm must be positive",
        ),
        (
            &["train", "--batch", "5000"],
            "--batch: 1 to the training set's 2048 sequences",
        ),
        (
            &["train", "--save", "/tmp/x.pt"],
            "--save /tmp/x.pt: the extension must be .onnx",
        ),
        (
            &["train", "--save", "/tmp/x.safetensors"],
            "PyTorch's nn.GRU is reset-after only",
        ),
        (
            &["train", "--task", "copy", "--length", "5"],
            "--length: a copy sequence of 5 symbols needs at least 11 steps",
        ),
        (
            &["train", "--model", "/no/such.onnx"],
            "--model /no/such.onnx: cannot read",
        ),
        (
            &["train", "--slow-epsilon", "2"],
            "--slow-epsilon: in (0, 1)",
        ),
        (
            &["train", "--json", "/no/such/dir/x.json"],
            "--json /no/such/dir/x.json: folder /no/such/dir does not exist",
        ),
        (
            &[
                "train",
                "--json",
                "/tmp/same.onnx",
                "--save",
                "/tmp/same.onnx",
            ],
            "--json and --save name the same file",
        ),
        (
            &["train", "--length", "1000000", "--train-size", "4194304"],
            "--train-size 4194304 needs about",
        ),
        (
            &[
                "train-sweep",
                "--length",
                "1000000",
                "--train-size",
                "4194304",
            ],
            "--train-size 4194304 needs about",
        ),
        (
            &["train", "--model", "/no/such.onnx", "--n", "32"],
            "--n draws new weights; --model /no/such.onnx gives them",
        ),
        (
            &["train", "--model", "/no/such.onnx", "--sigma-z", "2"],
            "--sigma-* draws new weights",
        ),
        (
            &["train-sweep", "--sigma-z-values", "2,1"],
            "--sigma-z-values: the values must increase",
        ),
        (&["train-sweep", "--sigma-h-values", "1,x"], "not a number"),
        (
            &["train-sweep", "--shard", "3/2", "--lines", "/tmp/l"],
            "must be K/M with 1 <= K <= M",
        ),
        (
            &["train-sweep", "--merge", "/no/such.jsonl"],
            "--merge /no/such.jsonl: cannot read",
        ),
    ];
    for (args, msg) in cases {
        let mut a = args.to_vec();
        a.push("--quiet");
        fails(&a, 2, msg);
    }
}

fn without_seconds(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("job_seconds");
    for j in v["jobs"].as_array_mut().unwrap() {
        j.as_object_mut().unwrap().remove("seconds");
    }
    v
}

/// A sweep of 8 jobs of a fraction of a second each.
const SMALL_GRID: [&str; 20] = [
    "train-sweep",
    "--length",
    "8",
    "--n",
    "6",
    "--epochs",
    "2",
    "--train-size",
    "48",
    "--test-size",
    "16",
    "--batch",
    "16",
    "--sigma-z-values",
    "0.5,2",
    "--sigma-h-values",
    "1,2.5",
    "--seeds",
    "2",
    "--quiet",
];

/// Shards in any order, merged, give the single-process sweep (every
/// field but the timings); a missing or repeated shard is named.
#[test]
fn merged_shards_equal_the_single_process_sweep() {
    let grid = SMALL_GRID;
    let single = tmp("single");
    let mut a = grid.to_vec();
    a.extend(["--report", s(&single)]);
    let table = ok(&a);
    assert!(table.contains("final test accuracy"), "{table}");
    for f in [
        "slow_share_init.svg",
        "epochs_to_target.svg",
        "final_accuracy.svg",
        "jobs.jsonl",
    ] {
        assert!(single.join(f).is_file(), "{f}");
    }
    let shards: Vec<PathBuf> = (1..=3).map(|k| tmp(&format!("shard-{k}.jsonl"))).collect();
    for (k, p) in shards.iter().enumerate() {
        let mut a = grid.to_vec();
        let shard = format!("{}/3", k + 1);
        a.extend(["--shard", &shard, "--lines", s(p)]);
        let line = ok(&a);
        assert!(line.contains(&format!("shard {}/3", k + 1)), "{line}");
    }
    let merged = tmp("merged");
    ok(&[
        "train-sweep",
        "--merge",
        s(&shards[2]),
        s(&shards[0]),
        s(&shards[1]),
        "--report",
        s(&merged),
        "--quiet",
    ]);
    let (one, many) = (
        json(&single.join("sweep.json")),
        json(&merged.join("sweep.json")),
    );
    assert_eq!(one["jobs"].as_array().unwrap().len(), 8);
    assert_eq!(without_seconds(one), without_seconds(many));
    fails(
        &[
            "train-sweep",
            "--merge",
            s(&shards[0]),
            s(&shards[1]),
            "--quiet",
        ],
        2,
        "of the sweep's 8 jobs are missing",
    );
    fails(
        &[
            "train-sweep",
            "--merge",
            s(&shards[0]),
            s(&shards[0]),
            s(&shards[1]),
            s(&shards[2]),
            "--quiet",
        ],
        2,
        "appears twice",
    );
}

/// The lines of `path`, each without its `seconds`.
fn lines_without_seconds(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

/// A run stopped half way, whose lines file holds three whole jobs and a
/// fourth cut short, resumed with `--resume`: the three are kept (not run
/// again), the others run, and the file ends as a run from the start's.
/// A file of another sweep, or of another shard, is named.
#[test]
fn a_stopped_sweep_resumes_from_its_lines() {
    let full = tmp("resume-full.jsonl");
    let mut a = SMALL_GRID.to_vec();
    a.extend(["--lines", s(&full)]);
    ok(&a);
    let text = std::fs::read_to_string(&full).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8);
    // job 0's time marks it: a job run again would get its own
    let mut first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    first["seconds"] = serde_json::json!(4242.5);
    let stopped = format!(
        "{first}\n{}\n{}\n{}",
        lines[1],
        lines[2],
        &lines[3][..lines[3].len() / 2]
    );
    let resumed = tmp("resume-stopped.jsonl");
    std::fs::write(&resumed, &stopped).unwrap();
    let mut a = SMALL_GRID.to_vec();
    a.extend(["--lines", s(&resumed), "--resume"]);
    let (code, _, err) = common::gatedyn(&a);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 of 8 jobs already in --lines; running the other 5"),
        "{err}"
    );
    let after = std::fs::read_to_string(&resumed).unwrap();
    let job0: serde_json::Value = serde_json::from_str(after.lines().next().unwrap()).unwrap();
    assert_eq!(job0["seconds"], 4242.5);
    assert_eq!(
        lines_without_seconds(&resumed),
        lines_without_seconds(&full)
    );
    // a missing file: a run from the start
    let fresh = tmp("resume-fresh.jsonl");
    let _ = std::fs::remove_file(&fresh);
    let mut a = SMALL_GRID.to_vec();
    a.extend(["--lines", s(&fresh), "--resume"]);
    ok(&a);
    assert_eq!(lines_without_seconds(&fresh), lines_without_seconds(&full));
    // another sweep's file, and another shard's jobs, are left untouched
    std::fs::write(&resumed, &stopped).unwrap();
    let mut other_sweep = SMALL_GRID.to_vec();
    let at = other_sweep.iter().position(|w| *w == "--epochs").unwrap();
    other_sweep[at + 1] = "3";
    other_sweep.extend(["--lines", s(&resumed), "--resume"]);
    fails(
        &other_sweep,
        2,
        "job 0 comes from a different sweep (its settings differ from this run's)",
    );
    let mut other_shard = SMALL_GRID.to_vec();
    other_shard.extend(["--shard", "2/2", "--lines", s(&resumed), "--resume"]);
    fails(&other_shard, 2, "job 0 is not one of this run's jobs");
    assert_eq!(std::fs::read_to_string(&resumed).unwrap(), stopped);
}

/// Jobs whose training fails (Adam's steps of 1e60 overflow the weights)
/// are results: the sweep finishes, each line says why its job failed,
/// the table counts and names them, and the lines merge.
#[test]
fn failed_jobs_are_results_and_the_sweep_finishes() {
    let lines = tmp("failing.jsonl");
    let mut a = SMALL_GRID.to_vec();
    a.extend(["--lr", "1e60", "--clip", "inf", "--lines", s(&lines)]);
    let (code, table, err) = common::gatedyn(&a);
    assert_eq!(code, 0, "{err}");
    assert!(table.contains("8 of 8 jobs failed"), "{table}");
    assert!(
        table.contains("\n  job 0 (σ_z 0.5, σ_h 1, seed 1): "),
        "{table}"
    );
    assert!(table.contains("– (0/2)"), "{table}");
    assert_eq!(err.matches("failed: ").count(), 8, "{err}");
    for line in lines_without_seconds(&lines) {
        assert!(line["final_accuracy"].is_null(), "{line}");
        assert!(line["slow_share_init"].as_f64().is_some(), "{line}");
        let why = line["failure"].as_str().unwrap();
        assert!(why.contains("non-finite value"), "{why}");
    }
    let merged = ok(&["train-sweep", "--merge", s(&lines), "--quiet"]);
    assert!(merged.contains("8 of 8 jobs failed"), "{merged}");
}

#[test]
fn emit_slurm_writes_a_job_array() {
    let script = tmp("sweep.sbatch");
    let line = ok(&[
        "train-sweep",
        "--sigma-z-values",
        "0.5,1,2",
        "--seeds",
        "2",
        "--array",
        "4",
        "--emit-slurm",
        s(&script),
        "--report",
        "rep",
    ]);
    assert!(
        line.contains("30 jobs in a Slurm array of 4 tasks"),
        "{line}"
    );
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#!/bin/bash"));
    assert!(text.contains("#SBATCH --array=1-4"), "{text}");
    assert!(
        text.contains("--sigma-z-values 0.5,1,2 --seeds 2"),
        "{text}"
    );
    assert!(
        text.contains(r#"--shard "${SLURM_ARRAY_TASK_ID}/4""#),
        "{text}"
    );
    assert!(
        !text.contains("--emit-slurm") && !text.contains("--report rep"),
        "{text}"
    );
    assert!(text.contains("--merge shards/shard-*.jsonl"), "{text}");
    // a task that runs again keeps the jobs its shard file holds
    assert!(
        text.contains(r#"--lines "shards/shard-${SLURM_ARRAY_TASK_ID}.jsonl" --resume --quiet"#),
        "{text}"
    );
}

/// The whole path in gatedyn: train on the flip-flop, then the fixed points
/// of the saved network from the states the task drives it through.
#[test]
fn flipflop_train_then_fixed_points() {
    let dir = tmp("flipflop");
    std::fs::create_dir_all(&dir).unwrap();
    let (model, report, points) = (dir.join("ff.onnx"), dir.join("t.json"), dir.join("f.json"));
    ok(&[
        "train",
        "--task",
        "flipflop",
        "--bits",
        "3",
        "--n",
        "16",
        "--epochs",
        "10",
        "--train-size",
        "256",
        "--test-size",
        "64",
        "--lr",
        "0.01",
        "--form",
        "reset-after",
        "--save",
        s(&model),
        "--json",
        s(&report),
        "--quiet",
    ]);
    let r = json(&report);
    assert_eq!(r["task"], "flipflop");
    assert_eq!(r["chance_accuracy"], 0.5);
    // measured 0.995 (seed 1); chance is 0.5
    let accuracy = r["final_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "{accuracy}");
    ok(&[
        "fixed-points",
        "model",
        "--model",
        s(&model),
        "--task",
        "flipflop",
        "--sequences",
        "20",
        "--starts",
        "300",
        "--noise",
        "0.3",
        "--json",
        s(&points),
        "--plot",
        s(&dir),
        "--quiet",
    ]);
    let f = json(&points);
    let all = f["fixed_points"].as_array().unwrap();
    assert!(
        all.iter().any(|p| p["class"] == "stable"),
        "a trained flip-flop holds its bits in stable points: {f}"
    );
    assert!(
        std::fs::metadata(dir.join("fixed_points.svg"))
            .unwrap()
            .len()
            > 1000
    );
    fails(
        &[
            "fixed-points",
            "model",
            "--model",
            s(&model),
            "--task",
            "adding",
        ],
        2,
        "--task adding: 2 inputs per step, but the model takes 3",
    );
    fails(
        &[
            "train",
            "--task",
            "flipflop",
            "--pulse-probability",
            "0",
            "--quiet",
        ],
        2,
        "--pulse-probability must be in (0, 1], got 0",
    );
}
