//! `cargo xtask fuzz`: the cargo-fuzz targets of fuzz/ (one per reader of
//! untrusted files; what each runs is fuzz/targets.rs).
//!
//! * `cargo xtask fuzz --smoke`: every target for about 20 s (two at a
//!   time), without a sanitizer (a quicker build; a panic, a hang over 5 s
//!   or 2 GB of memory still fails), from a copy of the committed corpus.
//!   Part of `cargo xtask ci`. Without a nightly toolchain it replays the
//!   committed corpus on stable instead (`tests/tests/fuzz_corpus.rs`).
//! * `cargo xtask fuzz [TARGET…] [--runs N] [--time S] [--asan]`: the long
//!   runs, each target until `N` executions (10⁷) or `S` seconds (3600),
//!   with `-rss_limit_mb=2048 -timeout=5`, one at a time; without a
//!   sanitizer (two to five times the executions per second), or under
//!   AddressSanitizer with `--asan`. The corpus grows in
//!   target/fuzz-corpus/TARGET, which `cargo fuzz cmin` minimises into
//!   fuzz/corpus (see fuzz/README.md).

use crate::{output, root_dir, run};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The targets: the files of fuzz/fuzz_targets (each `NAME.rs` calls
/// `targets::run("NAME", …)`, which the stable replay checks), by name.
fn all_targets() -> Result<Vec<String>, String> {
    let dir = root_dir().join("fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|f| {
            let name = f.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// libFuzzer's limits for every run.
const LIMITS: [&str; 2] = ["-rss_limit_mb=2048", "-timeout=5"];

/// `cargo +nightly …` with the outer (stable) toolchain's variables removed.
fn nightly_cargo() -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly");
    for v in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "CARGO",
        "RUSTC_WRAPPER",
    ] {
        c.env_remove(v);
    }
    c.env("CARGO_TARGET_DIR", root_dir().join("target/fuzz"));
    c
}

fn has_nightly() -> bool {
    output(Command::new("rustup").args(["toolchain", "list"]))
        .is_some_and(|l| l.lines().any(|t| t.starts_with("nightly")))
}

/// Installs cargo-fuzz when `cargo fuzz` is missing.
fn ensure_cargo_fuzz() -> Result<(), String> {
    if output(nightly_cargo().args(["fuzz", "--version"])).is_none() {
        run(
            "install cargo-fuzz",
            Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]),
        )?;
    }
    Ok(())
}

/// The folder of the built targets.
fn bin_dir() -> Result<PathBuf, String> {
    let vv = output(Command::new("rustc").args(["+nightly", "-vV"]))
        .ok_or("rustc +nightly -vV failed")?;
    let host = vv
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .ok_or("rustc -vV names no host")?;
    Ok(root_dir().join(format!("target/fuzz/{host}/release")))
}

/// A working corpus for `target` in target/fuzz-corpus, seeded from the
/// committed one (never written to).
fn working_corpus(target: &str) -> Result<PathBuf, String> {
    let dir = root_dir().join("target/fuzz-corpus").join(target);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let committed = root_dir().join("fuzz/corpus").join(target);
    for f in std::fs::read_dir(&committed).map_err(|e| format!("{}: {e}", committed.display()))? {
        let f = f.map_err(|e| e.to_string())?;
        let to = dir.join(f.file_name());
        if !to.exists() {
            std::fs::copy(f.path(), &to).map_err(|e| format!("{}: {e}", to.display()))?;
        }
    }
    Ok(dir)
}

/// Starts the target binary on its corpus with `args`, its log in
/// target/fuzz-logs/TARGET.log.
fn start(bin: &Path, target: &str, args: &[String]) -> Result<std::process::Child, String> {
    let corpus = working_corpus(target)?;
    let logs = root_dir().join("target/fuzz-logs");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let log =
        std::fs::File::create(logs.join(format!("{target}.log"))).map_err(|e| e.to_string())?;
    let artifacts = root_dir().join("target/fuzz-artifacts");
    std::fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
    Command::new(bin.join(target))
        .arg(&corpus)
        .args(LIMITS)
        .arg(format!(
            "-artifact_prefix={}/{target}-",
            artifacts.display()
        ))
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{target}: cannot start: {e}"))
}

/// libFuzzer's closing line (`Done N runs in S second(s)`) from the log.
fn summary(target: &str) -> String {
    let log = root_dir().join(format!("target/fuzz-logs/{target}.log"));
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.starts_with("Done ") || l.contains("ERROR"))
        .unwrap_or("(no summary)")
        .to_string()
}

pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let (mut smoke, mut asan, mut runs, mut time, mut targets) =
        (false, false, 10_000_000u64, 3600u64, vec![]);
    let known = all_targets()?;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .filter(|&v| v > 0)
                .ok_or(format!("{flag} needs a positive whole number"))
        };
        match a.as_str() {
            "--smoke" => smoke = true,
            "--asan" => asan = true,
            "--runs" => runs = number("--runs")?,
            "--time" => time = number("--time")?,
            other => match known.iter().find(|t| *t == other) {
                Some(t) => targets.push(t.as_str()),
                None => {
                    return Err(format!(
                        "fuzz: unknown target or flag {other:?} (targets: {})",
                        known.join(", ")
                    ))
                }
            },
        }
    }
    if targets.is_empty() {
        targets = known.iter().map(String::as_str).collect();
    }
    if !has_nightly() {
        eprintln!("no nightly toolchain: replaying the committed fuzz corpus on stable instead");
        return run(
            "fuzz corpus replay (stable)",
            crate::cargo().args(["test", "-p", "gatedyn-tests", "--test", "fuzz_corpus"]),
        );
    }
    ensure_cargo_fuzz()?;
    let sanitizer = if asan && !smoke { "address" } else { "none" };
    run(
        &format!("build fuzz targets (sanitizer {sanitizer})"),
        nightly_cargo().current_dir(root_dir()).args([
            "fuzz",
            "build",
            "--fuzz-dir",
            "fuzz",
            "-s",
            sanitizer,
        ]),
    )?;
    let bin = bin_dir()?;
    let t = Instant::now();
    let mut failed = vec![];
    if smoke {
        // two at a time: the machine's two cores
        for pair in targets.chunks(2) {
            let children = pair
                .iter()
                .map(|t| Ok((*t, start(&bin, t, &["-max_total_time=20".into()])?)))
                .collect::<Result<Vec<_>, String>>()?;
            for (target, mut child) in children {
                let status = child.wait().map_err(|e| e.to_string())?;
                eprintln!("    {target}: {}", summary(target));
                if !status.success() {
                    failed.push(target);
                }
            }
        }
    } else {
        for target in &targets {
            let args = [format!("-runs={runs}"), format!("-max_total_time={time}")];
            let status = start(&bin, target, &args)?
                .wait()
                .map_err(|e| e.to_string())?;
            eprintln!("    {target}: {}", summary(target));
            if !status.success() {
                failed.push(*target);
            }
        }
    }
    eprintln!(
        "    (fuzz: {} targets in {:.0} s; logs in target/fuzz-logs)",
        targets.len(),
        t.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (inputs in target/fuzz-artifacts, logs in target/fuzz-logs)",
            failed.join(", ")
        ))
    }
}
