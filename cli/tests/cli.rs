//! The `gatedyn` binary: exit status 2 with one clear line on bad input,
//! and every documented JSON field on good input.

mod common;

use common::gatedyn;
use gatedyn_host::Param;
use std::process::Command;

/// Runs `gatedyn args` and checks the documented failure: the exit
/// status, one line on stderr containing `msg`, no panic, and an end
/// within `seconds`.
fn fails(args: &[&str], status: i32, msg: &str, seconds: f64) {
    let t0 = std::time::Instant::now();
    let (code, out, err) = gatedyn(args);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(code, status, "{args:?}: {err}");
    assert!(err.contains(msg), "{args:?}: expected {msg:?} in {err:?}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"));
    assert!(out.is_empty(), "{args:?}: nothing on stdout: {out}");
    assert!(took < seconds, "{args:?}: took {took:.1} s");
}

#[test]
fn bad_parameters_exit_with_status_2_and_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["spectrum", "gru", "--solver", "arnoldi", "--tol", "0"],
            "--tol must be in (0, 1), got 0",
        ),
        (
            &["spectrum", "gru", "--solver", "arnoldi", "--plot", "x.svg"],
            "--eigenvalues and --plot need all eigenvalues",
        ),
        (
            &[
                "spectrum",
                "lstm",
                "--solver",
                "arnoldi",
                "--n",
                "100000000",
            ],
            "--n 100000000 needs about",
        ),
        (
            &["spectrum", "gru", "--n", "0"],
            "'--n <N>': must be >= 1, got 0",
        ),
        (
            &["spectrum", "lstm", "--sigma-c", "-1"],
            "'--sigma-c <SIGMA_C>': must be finite and >= 0, got -1",
        ),
        (
            &["spectrum", "gru", "--sigma-h", "nan"],
            "'--sigma-h <SIGMA_H>': must be finite and >= 0, got NaN",
        ),
        (
            &["spectrum", "gru", "--sigma-z", "inf"],
            "'--sigma-z <SIGMA_Z>': must be finite and >= 0, got inf",
        ),
        // a negative value needs no `=`: it is the flag's value, not a flag
        (
            &["spectrum", "gru", "--bias-h", "-inf"],
            "'--bias-h <BIAS_H>': must be finite and >= 0, got -inf",
        ),
        (&["spectrum", "gru", "--n", "100000000"], "more than the"),
        (
            &["bifurcation", "--sigma-h", "2.5"],
            "--sigma-h must lie in (√2, 2)",
        ),
        (
            &["mft", "gru", "--sigma-h", "-2", "--sigma-r", "1"],
            "'--sigma-h <SIGMA_H>': must be finite and >= 0, got -2",
        ),
        // parser errors are one line too, with the flag
        (
            &["spectrum", "gru", "--n", "abc"],
            "'--n <N>': must be a whole number",
        ),
        (&["spectrum", "gru", "--no-such-flag"], "--no-such-flag"),
    ];
    for (args, msg) in cases {
        fails(args, 2, msg, 10.0);
    }
}

/// The inputs that used to hang, abort, panic or write wrong output (the
/// host-redesign issue's list): each ends within seconds with one line
/// naming the flag, and the documented status.
#[test]
fn hostile_inputs_end_at_once_with_one_line() {
    let dir = tmp("hostile");
    let same = dir.join("same.svg");
    let same = same.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        // hangs: absurd scales are refused by the parser; the core's loops
        // are bounded regardless (core/tests/mft.rs)
        (
            &["mft", "gru", "--sigma-h", "1e300", "--sigma-r", "1"],
            2,
            "'--sigma-h <SIGMA_H>': must be at most 1e9, got 1e300",
        ),
        (
            &[
                "mft",
                "gru",
                "--sigma-h",
                "1",
                "--sigma-r",
                "1",
                "--bias-r",
                "1e155",
            ],
            2,
            "'--bias-r <BIAS_R>': must be at most 1e9",
        ),
        (
            &["phase-diagram", "--sigma-h-max", "1e300"],
            2,
            "--sigma-h-max must be in (0, 1e9], got 1e300",
        ),
        (
            &["spectrum", "gru", "--steps", "18446744073709551615"],
            2,
            "'--steps <STEPS>': must be in 0..=10000000",
        ),
        (
            &["fixed-points", "gru", "--starts", "18446744073709551615"],
            2,
            "'--starts <STARTS>': must be in 1..=100000",
        ),
        // aborts on allocation: the memory is checked first
        (
            &["fixed-points", "gru", "--n", "100000"],
            2,
            "--n 100000 needs about",
        ),
        (&["validate", "--n", "100000"], 2, "--n 100000 needs about"),
        (
            &["spectrum", "gru", "--n", "1000000000000"],
            2,
            "too large for any machine",
        ),
        // silent wrong output: conflicting or ignored flags
        (
            &[
                "spectrum",
                "gru",
                "--n",
                "20",
                "--eigenvalues",
                "-",
                "--json",
                "-",
            ],
            2,
            "--json and --eigenvalues all write to stdout (-)",
        ),
        (
            &[
                "spectrum", "gru", "--n", "20", "--plot", same, "--json", same,
            ],
            2,
            "name the same file",
        ),
        (
            &["validate", "--quick", "--n", "600"],
            2,
            "'--quick' cannot be used with '--n <N>'",
        ),
        (
            &["spectrum", "gru", "--n", "20", "--tol", "1e-3"],
            2,
            "--tol applies to --solver arnoldi only",
        ),
        (
            &[
                "spectrum",
                "gru",
                "--n",
                "20",
                "--precision",
                "f64",
                "--max-products",
                "9",
            ],
            2,
            "--precision, --max-products apply to --solver arnoldi only",
        ),
        (
            &[
                "scaling", "--gate", "r", "--values", "0", "--n", "20", "--plot", same,
            ],
            2,
            "--plot needs a positive value among the swept values",
        ),
        // output paths are checked before the run
        (
            &[
                "spectrum",
                "gru",
                "--n",
                "20",
                "--json",
                "/nonexistent/dir/x.json",
            ],
            2,
            "--json /nonexistent/dir/x.json: folder /nonexistent/dir does not exist",
        ),
        (
            &[
                "spectrum",
                "gru",
                "--n",
                "20",
                "--plot",
                "/nonexistent/x.png",
            ],
            2,
            "--plot /nonexistent/x.png: folder /nonexistent does not exist",
        ),
        (
            &["validate", "--report", "/nonexistent/deeper/report"],
            2,
            "--report /nonexistent/deeper/report",
        ),
        // unclear errors made clear
        (
            &["bifurcation", "--sigma-h", "1.41421357"],
            2,
            "--sigma-h 1.41421357: σ_r* is beyond 1e12",
        ),
        (
            &["scaling", "--gate", "f", "--n", "20"],
            2,
            "--gate f is not a gate of the GRU (one of z, r, h)",
        ),
        (
            &["scaling", "--gate", "r", "--sigmas", "1,2", "--n", "20"],
            2,
            "--sigmas needs 3 values for the GRU (z,r,h), got 2",
        ),
    ];
    for (args, status, msg) in cases {
        fails(args, *status, msg, 10.0);
    }
    assert!(!std::path::Path::new(same).exists(), "nothing written");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no probe or temporary file left"
    );
}

/// A full or closed stdout is an I/O failure (status 3), not a panic.
#[test]
fn full_stdout_is_status_3() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let out = Command::new(env!("CARGO_BIN_EXE_gatedyn"))
        .args(["bifurcation", "--sigma-h", "1.8"])
        .stdout(full)
        .output()
        .expect("run gatedyn");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(
        err.trim(),
        "error: cannot write to stdout: No space left on device (os error 28)"
    );
}

/// Extreme but valid scales end with a finite answer: near √2 the critical
/// σ_r is large but found; all-zero scales have a point spectrum that the
/// prediction gets exactly; saturated gates likewise.
#[test]
fn extreme_valid_inputs_give_finite_answers() {
    let b = json(&["bifurcation", "--sigma-h", "1.42"]);
    let sr = b["sigma_r_critical"].as_f64().unwrap();
    assert!((sr / 3983.3 - 1.0).abs() < 1e-3, "σ_r*(1.42) = {sr}");
    for args in [
        &[
            "spectrum",
            "lstm",
            "--n",
            "30",
            "--sigma-f",
            "0",
            "--sigma-i",
            "0",
            "--sigma-o",
            "0",
            "--sigma-c",
            "0",
        ][..],
        &[
            "spectrum",
            "gru",
            "--n",
            "30",
            "--sigma-z",
            "0",
            "--sigma-r",
            "0",
            "--sigma-h",
            "0",
        ][..],
    ] {
        let v = json(args);
        // J = diag(1/2) (GRU) or f = 1/2 and zeros (LSTM): radius exactly 1/2
        assert_eq!(v["radius_empirical"].as_f64().unwrap(), 0.5, "{args:?}");
        assert_eq!(v["radius_predicted"].as_f64().unwrap(), 0.5, "{args:?}");
        assert_eq!(v["fraction_inside"].as_f64().unwrap(), 1.0, "{args:?}");
    }
    // every LSTM gate saturated: eigenvalues at f ∈ {0, 1} and 0
    let v = json(&[
        "spectrum",
        "lstm",
        "--n",
        "30",
        "--sigma-f",
        "1e9",
        "--sigma-i",
        "1e9",
        "--sigma-o",
        "1e9",
        "--sigma-c",
        "1e9",
        "--bias-f",
        "1e9",
    ]);
    assert_eq!(v["radius_predicted"].as_f64().unwrap(), 1.0);
    assert!((v["radius_empirical"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // the f32 matrix-free path at the largest scale: no overflow
    let v = json(&[
        "spectrum",
        "gru",
        "--n",
        "40",
        "--sigma-h",
        "1e9",
        "--sigma-r",
        "1e9",
        "--solver",
        "arnoldi",
    ]);
    assert!(v["radius_empirical"].as_f64().unwrap().is_finite());
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gatedyn-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--json", "-", "--quiet"]);
    let (code, out, err) = gatedyn(&a);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn spectrum_json_has_every_field() {
    for args in [
        &[
            "spectrum", "gru", "--n", "60", "--steps", "50", "--seed", "3",
        ][..],
        &[
            "spectrum", "lstm", "--n", "40", "--steps", "50", "--bias-f", "0.5",
        ][..],
    ] {
        let v = json(args);
        for key in [
            "model",
            "n",
            "seed",
            "steps",
            "sigmas",
            "bias_sigmas",
            "radius_empirical",
            "radius_predicted",
            "relative_error",
            "fraction_inside",
            "mean_square_activity",
            "timings_s",
        ] {
            assert!(v.get(key).is_some(), "{args:?}: missing {key}");
        }
        for key in ["simulate", "jacobian", "eigensolve", "curve"] {
            assert!(
                v["timings_s"][key].as_f64().is_some(),
                "missing timings_s.{key}"
            );
        }
        let (re, rp) = (
            v["radius_empirical"].as_f64().unwrap(),
            v["radius_predicted"].as_f64().unwrap(),
        );
        assert!(re > 0.1 && rp > 0.1);
        assert!(((rp - re).abs() / re - v["relative_error"].as_f64().unwrap()).abs() < 1e-12);
    }
}

#[test]
fn mft_and_bifurcation_json() {
    let v = json(&["mft", "gru", "--sigma-h", "2.5", "--sigma-r", "0"]);
    for key in [
        "c_h",
        "q_r",
        "mean_dphi_sq",
        "mean_dsig_r_sq",
        "shaping_sq",
        "fixed_point_stable",
        "zero_fixed_point_stable",
        "region",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!((v["c_h"].as_f64().unwrap() - 0.20894).abs() < 5e-6);
    assert_eq!(v["region"], "marginally stable (large sigma_z)");
    let b = json(&["bifurcation", "--sigma-h", "1.8"]);
    assert!((b["sigma_r_critical"].as_f64().unwrap() - 8.157).abs() < 5e-4);
    assert_eq!(b["sigma_h"], 1.8);
}

/// `--solver arnoldi`: the matrix-free radius, with its own fields, equal
/// to the dense radius of the same network (same seed) to 1e-3.
#[test]
fn matrix_free_spectrum_json() {
    for (model, sig) in [("gru", "--sigma-h"), ("lstm", "--sigma-c")] {
        let base = [
            "spectrum", model, "--n", "300", "--steps", "60", "--seed", "4", sig, "3",
        ];
        let dense = json(&base);
        let mut a = base.to_vec();
        a.extend(["--solver", "arnoldi", "--precision", "f32", "--tol", "1e-6"]);
        let v = json(&a);
        for key in [
            "model",
            "n",
            "seed",
            "steps",
            "solver",
            "precision",
            "method",
            "passes",
            "sigmas",
            "bias_sigmas",
            "radius_empirical",
            "eigenvalue",
            "residual",
            "products",
            "restarts",
            "radius_predicted",
            "relative_error",
            "mean_square_activity",
        ] {
            assert!(v.get(key).is_some(), "{model}: missing {key}");
        }
        for key in ["simulate", "operator", "arnoldi", "curve"] {
            assert!(
                v["timings_s"][key].as_f64().is_some(),
                "missing timings_s.{key}"
            );
        }
        assert_eq!(v["solver"], "arnoldi");
        // state dimension 300 (GRU) / 600 (LSTM): below the block method's 2000
        assert_eq!(v["method"], "single");
        assert!(v["residual"].as_f64().unwrap() <= 1e-6);
        let (rm, rd) = (
            v["radius_empirical"].as_f64().unwrap(),
            dense["radius_empirical"].as_f64().unwrap(),
        );
        assert!(
            (rm - rd).abs() / rd < 1e-3,
            "{model}: Arnoldi {rm} vs dense {rd}"
        );
        assert_eq!(v["radius_predicted"], dense["radius_predicted"]);
    }
}

#[test]
fn eigenvalues_csv_has_one_row_per_eigenvalue() {
    let dir = std::env::temp_dir().join(format!("gatedyn-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ev.csv");
    let (code, _, err) = gatedyn(&[
        "spectrum",
        "lstm",
        "--n",
        "30",
        "--steps",
        "10",
        "--quiet",
        "--eigenvalues",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1 + 60, "header + 2N eigenvalues");
    assert_eq!(text.lines().next(), Some("re,im"));
    let (code, _, err) = gatedyn(&[
        "spectrum",
        "gru",
        "--n",
        "10",
        "--quiet",
        "--json",
        "/nonexistent/dir/x.json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--json /nonexistent/dir/x.json"), "{err}");
    // CSV on stdout, JSON to a file: stdout is exactly the CSV
    let j = dir.join("ev.json");
    let (code, out, err) = gatedyn(&[
        "spectrum",
        "gru",
        "--n",
        "12",
        "--steps",
        "5",
        "--quiet",
        "--eigenvalues",
        "-",
        "--json",
        j.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().count(),
        1 + 12,
        "header + N rows and nothing else: {out}"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    assert_eq!(v["n"], 12);
}

#[test]
fn phase_diagram_json_and_plot() {
    let dir = std::env::temp_dir().join(format!("gatedyn-phase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("phase.svg");
    let v = json(&[
        "phase-diagram",
        "--points",
        "24",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 24);
    assert_eq!(v["sigma_h"].as_array().unwrap().len(), 24);
    // σ_h ≈ 0.07 (first column) is always the stable zero fixed point
    assert_eq!(regions[0][0], "stable zero fixed point");
    assert_eq!(regions[23][0], "stable zero fixed point");
    // σ_h ≈ 3.43, σ_r ≈ 15.7 is chaotic
    assert_eq!(regions[23][23], "chaotic");
    let bif = v["bifurcation"].as_array().unwrap();
    assert!(!bif.is_empty());
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("GRU phase diagram"));
    let (code, _, err) = gatedyn(&["phase-diagram", "--points", "1"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = gatedyn(&["phase-diagram", "--plot", "x.pdf"]);
    assert_eq!(code, 2);
    assert!(err.contains("must end in .svg or .png"), "{err}");
}

#[test]
fn spectrum_plot_is_written() {
    let dir = std::env::temp_dir().join(format!("gatedyn-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("gru.png");
    let (code, _, err) = gatedyn(&[
        "spectrum",
        "gru",
        "--n",
        "80",
        "--steps",
        "20",
        "--quiet",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn scaling_and_slow_modes_json() {
    let v = json(&[
        "scaling", "--gate", "r", "--values", "1,4,16", "--n", "60", "--steps", "30",
    ]);
    assert_eq!(v["gate"], "r");
    assert_eq!(v["law_exponent"], 0.5);
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), 3);
    for p in pts {
        assert!(p["radius_empirical"].as_f64().unwrap() > 0.1);
        assert!(p["radius_predicted"].as_f64().unwrap() > 0.1);
    }
    fails(
        &["scaling", "--gate", "q", "--n", "20"],
        2,
        "invalid value 'q' for '--gate <GATE>'",
        10.0,
    );
    fails(
        &["scaling", "--gate", "r", "--values", "1,-2"],
        2,
        "'--values <VALUES>': must be finite and >= 0, got -2",
        10.0,
    );
    // one value still draws (a decade either side on the log axis), and the
    // figure is complete: no blank file when something fails
    let dir = tmp("scaling");
    let svg = dir.join("one.svg");
    let v = json(&[
        "scaling",
        "--gate",
        "r",
        "--values",
        "4",
        "--n",
        "40",
        "--steps",
        "20",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(v["points"].as_array().unwrap().len(), 1);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("radius against σ_r") && text.trim_end().ends_with("</svg>"));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary left"
    );

    let s = json(&[
        "slow-modes",
        "--values",
        "1,50",
        "--n",
        "80",
        "--steps",
        "30",
    ]);
    let curves = s["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 2);
    // cumulative: non-decreasing in δ, and more slow modes at σ_z = 50
    assert_eq!(curves[1]["value"], 50.0);
    assert_eq!(s["gate"], "z");
    let frac = |k: usize| {
        curves[k]["fraction_within"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    let (a, b) = (frac(0), frac(1));
    assert!(a.windows(2).all(|w| w[0] <= w[1]) && b.windows(2).all(|w| w[0] <= w[1]));
    let at = s["delta"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d.as_f64().unwrap() >= 0.01)
        .unwrap();
    assert!(
        b[at] > a[at] + 0.05,
        "σ_z = 50 piles eigenvalues at 1: {} vs {}",
        b[at],
        a[at]
    );
}

/// The battery end to end (20-40 s at N = 500): every check passes, and
/// the report folder holds the summary and every figure it links and
/// nothing else. With `--json -` stdout is exactly the JSON (the table goes
/// to stderr). A run killed half-way leaves
/// the previous report as it was; a folder that is not a report is refused.
#[test]
#[ignore = "runs the whole battery; run by the full test command"]
fn validate_quick_passes_and_writes_the_report() {
    let base = tmp("validate");
    let dir = base.join("report");
    // JSON on stdout: stdout is the JSON alone, the table goes to stderr
    let (code, out, err) = gatedyn(&[
        "validate",
        "--quick",
        "--json",
        "-",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is the JSON alone");
    assert_eq!(v["n"], 500);
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 43);
    assert!(
        checks.iter().all(|c| c["pass"] == true),
        "every check passes"
    );
    assert_eq!(
        err.lines().filter(|l| l.ends_with("  pass")).count(),
        43,
        "{err}"
    );
    assert!(!err.contains("FAIL"));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("43 of 43 checks passed"), "{md}");
    let mut linked = vec!["summary.md".to_string(), "summary.json".to_string()];
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let file = line.split('(').nth(1).unwrap().trim_end_matches(')');
        assert!(dir.join(file).exists(), "missing figure {file}");
        linked.push(file.to_string());
    }
    assert_eq!(linked.len(), 2 + 13, "13 figures: {linked:?}");
    assert_eq!(v["figures"].as_array().unwrap().len(), 13);
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    linked.sort();
    assert_eq!(
        present, linked,
        "the report holds what it links, nothing else"
    );
    assert_eq!(
        std::fs::read_dir(&base).unwrap().count(),
        1,
        "no partial or old folder left beside the report"
    );

    // interrupted: the old report stays whole
    let before = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatedyn"))
        .args([
            "validate",
            "--quick",
            "--quiet",
            "--report",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("summary.json")).unwrap(),
        before,
        "a killed run does not touch the report"
    );
    let mut after: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    after.sort();
    assert_eq!(after, present);

    // a folder that is not a gatedyn report is never replaced
    let other = base.join("mine");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep").unwrap();
    fails(
        &["validate", "--quick", "--report", other.to_str().unwrap()],
        2,
        "exists and is not a gatedyn report (no summary.json)",
        10.0,
    );
    fails(
        &["validate", "--n", "10", "--quiet"],
        2,
        "'--n <N>': must be >= 50, got 10",
        10.0,
    );
}

/// Seed 3 at N = 80, σ_h = 3: of 8 starts, 5 converge, 2 of them to the
/// zero fixed point and 3 to two distinct non-zero ones (measured; a change
/// in the search or the network draw moves these counts). Every reported
/// fixed point is one (residual), is unstable (σ_h = 3 is chaotic), and its
/// radius is within 20 % of its own support at this small N.
#[test]
fn fixed_points_json() {
    let v = json(&[
        "fixed-points",
        "gru",
        "--n",
        "80",
        "--starts",
        "8",
        "--steps",
        "40",
        "--max-iter",
        "40",
        "--seed",
        "3",
    ]);
    for key in [
        "n",
        "sigmas",
        "starts",
        "converged",
        "zero_hits",
        "fixed_points",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["starts"], 8);
    assert_eq!(v["sigmas"]["h"], 3.0);
    assert_eq!(v["converged"], 5);
    assert_eq!(v["zero_hits"], 2);
    let fps = v["fixed_points"].as_array().unwrap();
    assert_eq!(fps.len(), 2);
    for f in fps {
        assert!(f["residual"].as_f64().unwrap() < 1e-9, "a fixed point: {f}");
        assert!(f["rms"].as_f64().unwrap() > 0.1, "not the zero one: {f}");
        assert_eq!(f["stable"], false, "{f}");
        assert!(f["radius_empirical"].as_f64().unwrap() > 1.0, "{f}");
        assert!(f["relative_error"].as_f64().unwrap() < 0.2, "{f}");
    }
    fails(
        &["fixed-points", "gru", "--starts", "0"],
        2,
        "'--starts <STARTS>': must be in 1..=100000, got 0",
        10.0,
    );
}

/// The memory check counts `ulimit -v`: under a 4 GiB address-space limit
/// a run that needs 13 GiB is refused at once (it used to panic after a
/// minute of simulation), and one that fits runs.
#[test]
fn address_space_limit_is_respected() {
    let bin = env!("CARGO_BIN_EXE_gatedyn");
    let run = |args: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v 4194304 && exec {bin} {args}"))
            .output()
            .expect("run sh")
    };
    let out = run("spectrum gru --n 20000 --solver arnoldi --quiet");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: --n 20000 needs about 13.4 GiB, more than the")
            && err.trim_end().ends_with("GiB this process may allocate"),
        "{err}"
    );
    let out = run("spectrum gru --n 30 --steps 5 --quiet");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a 5 GiB model file (sparse: nothing is written) under a 4 GiB limit
    let big = tmp("big-model").join("big.onnx");
    common::grow_sparse(&big, 5 << 30);
    let out = run(&format!("spectrum model --model {} --quiet", big.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("a 5.0 GiB file needs about 15.0 GiB to load, more than the"),
        "{err}"
    );
    let _ = std::fs::remove_file(&big);
}

/// `gatedyn lyapunov`: every documented field, the numbers consistent with
/// each other (a stable GRU below the chaos threshold has λ₁ < 0 and
/// Kaplan–Yorke dimension 0), a plot, and one-line errors for bad
/// settings.
#[test]
fn lyapunov_json_and_errors() {
    let stable = [
        "lyapunov",
        "gru",
        "--n",
        "40",
        "--sigma-h",
        "1.5",
        "--k",
        "3",
        "--steps",
        "2000",
        "--transient",
        "200",
    ];
    let v = json(&stable);
    for key in [
        "model",
        "n",
        "dim",
        "seed",
        "sigmas",
        "bias_sigmas",
        "transient",
        "steps",
        "batches",
        "exponents",
        "errors",
        "largest",
        "largest_error",
        "kaplan_yorke_dimension",
        "sum_positive",
        "replaced",
        "mean_square_activity",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let ex: Vec<f64> = v["exponents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(ex.len(), 3);
    assert!(ex[0] < 0.0 && ex[0] >= ex[1] - 1e-3, "{ex:?}");
    assert_eq!(v["largest"].as_f64().unwrap(), ex[0]);
    assert_eq!(v["kaplan_yorke_dimension"].as_f64().unwrap(), 0.0);
    assert_eq!(v["sum_positive"].as_f64().unwrap(), 0.0);
    assert_eq!(v["steps"], 2000);
    // the same flags and seed: the same numbers
    let again = json(&stable);
    assert_eq!(v["exponents"], again["exponents"]);
    let dir = tmp("lyapunov");
    let svg = dir.join("l.svg");
    let (code, _, err) = gatedyn(&[
        "lyapunov",
        "lstm",
        "--n",
        "20",
        "--k",
        "4",
        "--steps",
        "400",
        "--quiet",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("Lyapunov exponents") && text.trim_end().ends_with("</svg>"));
    fails(
        &["lyapunov", "gru", "--n", "10", "--k", "11"],
        2,
        "--k must be in 1..=10 (the state dimension), got 11",
        10.0,
    );
    fails(
        &[
            "lyapunov",
            "gru",
            "--n",
            "10",
            "--steps",
            "30",
            "--batches",
            "40",
        ],
        2,
        "--steps and --batches: 30 steps cannot fill 40 batches (each batch needs at least one step); give more steps or fewer batches",
        10.0,
    );
    fails(
        &["lyapunov", "lstm", "--sigma-f", "-1"],
        2,
        "'--sigma-f <SIGMA_F>': must be finite and >= 0, got -1",
        10.0,
    );
}

/// `lyapunov model`: a trained network's exponents at constant input; the
/// ONNX and the PyTorch (safetensors) files of the same weights give the
/// same numbers bit for bit, and bad inputs are refused with one line.
#[test]
fn lyapunov_of_a_trained_model() {
    let run = |file: &str| {
        json(&[
            "lyapunov",
            "model",
            "--model",
            &fixture(file),
            "--k",
            "3",
            "--steps",
            "400",
            "--transient",
            "100",
        ])
    };
    let onnx = run("gru_after_n32_chaotic.onnx");
    let torch = run("gru_after_n32_chaotic.safetensors");
    assert_eq!(onnx["exponents"], torch["exponents"]);
    assert_eq!(onnx["model"], "gru");
    assert_eq!(onnx["dim"], 32);
    let ex: Vec<f64> = onnx["exponents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(ex[0] >= ex[1] - 1e-2 && ex[1] >= ex[2] - 1e-2, "{ex:?}");
    let stable = run("gru_after_n32_stable.onnx");
    assert!(stable["largest"].as_f64().unwrap() < 0.0, "{stable}");
    fails(
        &[
            "lyapunov",
            "model",
            "--model",
            &fixture("lstm_n32_stable.onnx"),
            "--k",
            "65",
        ],
        2,
        "--k must be in 1..=64 (the state dimension), got 65",
        10.0,
    );
    let dir = tmp("lyapunov_model");
    let bad = dir.join("x.csv");
    std::fs::write(&bad, "1,2,3\n").unwrap();
    fails(
        &[
            "lyapunov",
            "model",
            "--model",
            &fixture("gru_after_n32_stable.onnx"),
            "--input",
            bad.to_str().unwrap(),
        ],
        2,
        "3 entries, but the model takes 4 inputs",
        10.0,
    );
}

/// `complexity`: every documented field, the search's counts consistent,
/// both figures written, σ_r* of the mean-field theory reported, and bad
/// flags refused with one line.
#[test]
fn complexity_json_plot_and_errors() {
    let dir = tmp("complexity");
    let png = dir.join("c.png");
    let v = json(&[
        "complexity",
        "--n",
        "16",
        "--sigma-r",
        "2,24",
        "--networks",
        "2",
        "--starts",
        "16",
        "--transient",
        "50",
        "--steps",
        "200",
        "--plot",
        png.to_str().unwrap(),
    ]);
    for key in [
        "sigma_z",
        "sigma_r_critical",
        "search_starts",
        "search_max_iter",
        "lyapunov_transient",
        "lyapunov_steps",
        "points",
        "summary",
        "onsets",
        "extrapolations",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!((v["sigma_r_critical"][0][1].as_f64().unwrap() - 8.157).abs() < 1e-3);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let s = &p["search"];
        assert_eq!(s["starts"], 16);
        let (found, stable) = (
            s["fixed_points"].as_u64().unwrap(),
            s["stable"].as_u64().unwrap(),
        );
        assert!(found >= 1 && stable <= found && s["converged"].as_u64().unwrap() >= found);
        assert!(
            s["zero_found"].as_bool().unwrap(),
            "zero is a fixed point: {s}"
        );
        let l = p["small_start"]["lambda_max"].as_f64().unwrap();
        assert!(l < 0.0, "the zero fixed point is stable at σ_h = 1.8: {l}");
    }
    assert_eq!(v["summary"].as_array().unwrap().len(), 2);
    assert!(png.exists() && dir.join("c_lyapunov.png").exists());
    fails(
        &["complexity", "--n", "1"],
        2,
        "'--n <SIZES>': must be in 2..=100000, got 1",
        10.0,
    );
    fails(
        &["complexity", "--sigma-r", "4,-1"],
        2,
        "'--sigma-r <SIGMA_R>': must be finite and >= 0, got -1",
        10.0,
    );
    fails(
        &["complexity", "--large-start", "0"],
        2,
        "--large-start must be in (0, 1000], got 0",
        10.0,
    );
}

/// `long-term`: the table against the theory and the refusals.
#[test]
fn long_term_json_and_errors() {
    let v = json(&["long-term", "--n", "200", "--max-t", "5"]);
    for key in [
        "gate",
        "n",
        "sigma_h",
        "a",
        "c",
        "p",
        "limit",
        "radius",
        "rows",
        "max_relative_error",
        "max_root_error",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["gate"], "constant");
    assert_eq!(v["a"].as_f64().unwrap(), 0.5);
    assert_eq!(v["limit"].as_f64().unwrap(), 0.95);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    // T = 1: a² + c² = 0.25 + 0.2025
    assert!((rows[0]["predicted"].as_f64().unwrap() - 0.4525).abs() < 1e-12);
    assert!(v["max_root_error"].as_f64().unwrap() < 0.01);
    let b = json(&["long-term", "--n", "200", "--max-t", "3", "--binary"]);
    assert_eq!(b["gate"], "binary");
    assert!(b["a"].is_null() && b["p"].as_f64().unwrap() > 0.3);
    fails(
        &["long-term", "--max-t", "0"],
        2,
        "'--max-t <MAX_T>': must be in 1..=1000, got 0",
        10.0,
    );
    fails(
        &["long-term", "--n", "1"],
        2,
        "'--n <N>': must be >= 2, got 1",
        10.0,
    );
}

/// A fixture model or array of `tests/fixtures/trained/` (written by ONNX
/// Runtime's script there).
fn fixture(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/trained/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn trained_model_commands_refuse_bad_files_with_one_line() {
    let dir = tmp("bad-models");
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("text.onnx");
    std::fs::write(&text, "not a model").unwrap();
    let nan_csv = dir.join("nan.csv");
    std::fs::write(&nan_csv, "0,0,nan,0\n").unwrap();
    let three = dir.join("three.csv");
    std::fs::write(&three, "0,0,0\n").unwrap();
    let (text, nan_csv, three) = (
        text.to_str().unwrap().to_string(),
        nan_csv.to_str().unwrap().to_string(),
        three.to_str().unwrap().to_string(),
    );
    let gru = fixture("gru_after_n32_stable.onnx");
    let lstm = fixture("lstm_n32_stable.onnx");
    let inputs = fixture("inputs.npy");
    let out = dir.join("y.npy").to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "run", "--model", &text, "--inputs", &inputs, "--output", &out,
            ],
            "not a readable ONNX model",
        ),
        (
            vec![
                "run", "--model", &gru, "--inputs", &nan_csv, "--output", &out,
            ],
            "row 0, column 2 is NaN",
        ),
        (
            vec!["run", "--model", &gru, "--inputs", &three, "--output", &out],
            "3 columns, but the model takes 4 inputs",
        ),
        (
            vec![
                "run",
                "--model",
                &gru,
                "--inputs",
                &inputs,
                "--output",
                "/nonexistent/y.npy",
            ],
            "folder /nonexistent does not exist",
        ),
        (
            vec![
                "run", "--model", &gru, "--inputs", &inputs, "--output", "y.txt",
            ],
            "--output y.txt: the extension must be one of .npy, .csv, .json",
        ),
        (
            vec![
                "run", "--model", &gru, "--inputs", &inputs, "--h0", &three, "--output", &out,
            ],
            "--h0",
        ),
        (
            vec![
                "run",
                "--model",
                &lstm,
                "--inputs",
                &inputs,
                "--output",
                &out,
                "--readout-output",
                &out,
            ],
            "name the same file",
        ),
        (
            vec![
                "run",
                "--model",
                &lstm,
                "--inputs",
                &inputs,
                "--output",
                &out,
                "--readout-output",
                "r.npy",
            ],
            "has no linear readout",
        ),
        (
            vec![
                "analyze",
                "--model",
                &gru,
                "--inputs",
                &inputs,
                "--slow-epsilon",
                "2",
            ],
            "--slow-epsilon must be in (0, 1), got 2",
        ),
        (
            vec![
                "analyze",
                "--model",
                &gru,
                "--inputs",
                &inputs,
                "--plot",
                "/nonexistent",
            ],
            "--plot /nonexistent: not an existing folder",
        ),
        (
            vec!["export", "--model", &gru, "--rust", "net.txt"],
            "--rust net.txt: the file must end in .rs",
        ),
        (
            vec!["export", "--model", &gru, "--rust", "-", "--name", "net"],
            "--name \"net\"",
        ),
        (
            vec![
                "fixed-points",
                "model",
                "--model",
                &lstm,
                "--states",
                &inputs,
            ],
            "columns, but the model's state has 64 (h then c)",
        ),
        (
            vec!["spectrum", "model", "--model", &inputs],
            "the extension must be .onnx (ONNX), .safetensors (PyTorch state_dict), .keras (Keras model) or .weights.h5 (Keras weights)",
        ),
    ];
    for (args, msg) in &cases {
        fails(args, 2, msg, 30.0);
    }
    assert!(!dir.join("y.npy").exists(), "a failed run leaves no output");
}

#[test]
fn trained_model_run_analyze_export_and_spectrum() {
    let dir = tmp("trained");
    std::fs::create_dir_all(&dir).unwrap();
    let model = fixture("gru_before_n32_chaotic.onnx");
    let inputs = fixture("inputs.npy");
    // run: the states file matches ONNX Runtime's (the library test checks
    // every model; here the CLI path: f64 run written as .json)
    let out = dir.join("states.json");
    let (code, stdout, err) = gatedyn(&[
        "run",
        "--model",
        &model,
        "--inputs",
        &inputs,
        "--output",
        out.to_str().unwrap(),
        "--precision",
        "f64",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("100 steps in f64"), "{stdout}");
    let states: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let reference = gatedyn_host::io::arrays::read(
        Param::Inputs,
        std::path::Path::new(&fixture("gru_before_n32_chaotic.ort_states.npy")),
    )
    .unwrap();
    assert_eq!(states["rows"], 100);
    let last = states["data"][99].as_array().unwrap();
    for (k, v) in last.iter().enumerate() {
        let e = (v.as_f64().unwrap() - reference.row(99)[k]).abs();
        assert!(e < 1e-5, "unit {k}: {e:e}");
    }

    // analyze: samples every 20 steps and the last, a figure per kind
    let r = json(&[
        "analyze",
        "--model",
        &model,
        "--inputs",
        &inputs,
        "--every",
        "20",
        "--plot",
        dir.to_str().unwrap(),
    ]);
    let ts: Vec<u64> = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["t"].as_u64().unwrap())
        .collect();
    assert_eq!(ts, [0, 20, 40, 60, 80, 99]);
    assert_eq!(r["method"], "dense");
    assert_eq!(r["model"]["form"], "reset_before");
    assert_eq!(r["theory"]["applies"], true);
    let sigma_h = r["scales"][2]["sigma"].as_f64().unwrap();
    assert!(
        (sigma_h - 3.0).abs() < 0.15,
        "σ_h of weights drawn at 3: {sigma_h}"
    );
    assert_eq!(r["scales"][2]["gate"], "h");
    for s in r["samples"].as_array().unwrap() {
        let radius = s["radius"].as_f64().unwrap();
        assert!(radius > 0.5 && radius < 3.0, "{radius}");
        assert!(s["slow_modes"].as_u64().unwrap() <= 32);
    }
    for f in ["eigenvalues.svg", "timeline.svg", "timescales.svg"] {
        assert!(std::fs::metadata(dir.join(f)).unwrap().len() > 1000, "{f}");
    }

    // export to stdout: a static of the right type
    let (code, src, err) = gatedyn(&["export", "--model", &model, "--rust", "-", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(src.contains("pub static NET: Gru<f32, N, INPUTS> = Gru {"));
    assert!(src.contains("form: GruForm::ResetBefore,"));
    assert!(src.contains("pub const N: usize = 32;"));

    // spectrum model: the last sample of analyze at zero input
    let s = json(&["spectrum", "model", "--model", &model, "--steps", "50"]);
    assert_eq!(s["samples"].as_array().unwrap().len(), 1);
    assert_eq!(s["samples"][0]["t"], 50);
    assert_eq!(s["eigenvalues"].as_array().unwrap().len(), 32);
}

/// Writes `rows×cols` values as a little-endian `f8` `.npy` file.
fn write_npy(path: &std::path::Path, rows: usize, cols: usize, values: &[f64]) {
    write_npy_shaped(path, &format!("{rows}, {cols}"), values);
}

/// Writes `values` as a little-endian `f8` `.npy` file of `shape` (as
/// NumPy writes it, e.g. `"2, 10, 4"`).
fn write_npy_shaped(path: &std::path::Path, shape: &str, values: &[f64]) {
    std::fs::write(path, common::npy_bytes(shape, values)).unwrap();
}

/// `fixed-points model`: fixed points of a trained GRU and LSTM from the
/// states of a run along inputs, every field of `fixed_points[i]`, the
/// states file and the picture; bad states files end with one line.
#[test]
fn fixed_points_of_trained_models() {
    let dir = tmp("fixed-points-model");
    let inputs = fixture("inputs.npy");
    for (model, dim) in [
        ("gru_before_n32_stable.onnx", 32),
        ("lstm_n32_stable.onnx", 64),
    ] {
        let model = fixture(model);
        let saved = dir.join("points.npy");
        let r = json(&[
            "fixed-points",
            "model",
            "--model",
            &model,
            "--inputs",
            &inputs,
            "--starts",
            "30",
            "--noise",
            "0.01",
            "--save-states",
            saved.to_str().unwrap(),
            "--plot",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(r["starts"], 30);
        assert_eq!(r["dim"], dim);
        let points = r["fixed_points"].as_array().unwrap();
        assert!(!points.is_empty(), "{model}: {r}");
        let basins: u64 = points.iter().map(|p| p["basin"].as_u64().unwrap()).sum();
        assert_eq!(basins, r["converged"].as_u64().unwrap());
        for p in points {
            assert_eq!(p["state"].as_array().unwrap().len(), 32);
            assert_eq!(p["cell"].is_array(), dim == 64, "{p}");
            assert!(p["residual"].as_f64().unwrap() < 1e-10);
            let radius = p["radius"].as_f64().unwrap();
            let class = p["class"].as_str().unwrap();
            let expected = if radius > 1.01 {
                "unstable"
            } else if radius >= 0.99 {
                "marginal"
            } else {
                "stable"
            };
            assert_eq!(class, expected, "{radius}");
            let ev = p["eigenvalues"].as_array().unwrap();
            let first = (ev[0][0].as_f64().unwrap(), ev[0][1].as_f64().unwrap());
            assert!((first.0.hypot(first.1) - radius).abs() < 1e-12);
            assert!(p["unstable_dims"].as_u64().is_some());
        }
        // the states file holds one row per fixed point
        let back = gatedyn_host::io::arrays::read(Param::States, &saved).unwrap();
        assert_eq!((back.rows, back.cols), (points.len(), dim));
        assert!(
            std::fs::metadata(dir.join("fixed_points.svg"))
                .unwrap()
                .len()
                > 1000
        );
    }
    // bad states files: wrong width, NaN, empty; each named
    let model = fixture("gru_before_n32_stable.onnx");
    let wide = dir.join("wide.npy");
    write_npy(&wide, 2, 3, &[0.0; 6]);
    let nan = dir.join("nan.npy");
    let mut values = vec![0.0; 64];
    values[5] = f64::NAN;
    write_npy(&nan, 2, 32, &values);
    let empty = dir.join("empty.npy");
    write_npy(&empty, 0, 32, &[]);
    for (file, msg) in [
        (&wide, "3 columns, but the model's state has 32 (h)"),
        (&nan, "finite"),
        (&empty, "no rows"),
    ] {
        let f = file.to_str().unwrap();
        fails(
            &["fixed-points", "model", "--model", &model, "--states", f],
            2,
            &format!("--states {f}"),
            30.0,
        );
        fails(
            &["fixed-points", "model", "--model", &model, "--states", f],
            2,
            msg,
            30.0,
        );
    }
    // a batch of K×T×I inputs: each sequence from the initial state
    let batch = dir.join("batch.npy");
    let values: Vec<f64> = (0..2 * 10 * 4)
        .map(|k| ((k % 7) as f64 - 3.0) / 3.0)
        .collect();
    write_npy_shaped(&batch, "2, 10, 4", &values);
    let b = json(&[
        "fixed-points",
        "model",
        "--model",
        &model,
        "--inputs",
        batch.to_str().unwrap(),
        "--starts",
        "10",
    ]);
    assert_eq!(b["starts"], 10);
    assert!(!b["fixed_points"].as_array().unwrap().is_empty(), "{b}");
    // inputs of the wrong width name the file
    let narrow = dir.join("narrow.npy");
    write_npy(&narrow, 5, 2, &[0.0; 10]);
    fails(
        &[
            "fixed-points",
            "model",
            "--model",
            &model,
            "--inputs",
            narrow.to_str().unwrap(),
        ],
        2,
        &format!(
            "--inputs {}: 5×2, but the model takes 4 inputs",
            narrow.display()
        ),
        30.0,
    );
    fails(
        &["fixed-points", "model", "--model", &model, "--tol", "2"],
        2,
        "--tol must be in (0, 1), got 2",
        30.0,
    );
}
