//! The firmware run: install what is missing, build, run under QEMU,
//! decode, compare with the host, report counts and footprint.

use super::{cargo, output, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const QEMU: &str = "qemu-system-arm";
const ELF: &str = "target/firmware/thumbv7em-none-eabihf/release/gatedyn-firmware-example";
/// QEMU's machine arguments for a target.
fn machine(target: &str) -> [&'static str; 4] {
    if target.starts_with("thumbv6m") {
        ["-cpu", "cortex-m0", "-machine", "microbit"]
    } else {
        ["-cpu", "cortex-m4", "-machine", "mps2-an386"]
    }
}
/// Relative tolerance where the arithmetic differs (not needed so far: every
/// value has been bit-identical).
const PARITY_REL_TOL: f64 = 1e-6;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_tools() -> Result<(), String> {
    if !have(QEMU, "--version") {
        let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
        if !(root_user && have("apt-get", "--version")) {
            return Err(format!("{QEMU} is missing and cannot be installed here (needs apt-get as root): install QEMU's ARM system emulator"));
        }
        run(
            "apt-get update",
            Command::new("apt-get").args(["update", "-qq"]),
        )?;
        run(
            "install qemu-system-arm",
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "qemu-system-arm"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    if !have("defmt-print", "--version") {
        run(
            "install defmt-print",
            cargo().args(["install", "defmt-print", "--locked"]),
        )?;
    }
    Ok(())
}

/// `PARITY key=bits (value)` lines.
fn parity(text: &str) -> BTreeMap<String, (String, f64)> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("PARITY ") else {
            continue;
        };
        let Some((key, rest)) = rest.split_once('=') else {
            continue;
        };
        let Some((bits, value)) = rest.split_once(' ') else {
            continue;
        };
        let value = value
            .trim_matches(|c| c == '(' || c == ')')
            .parse()
            .unwrap_or(f64::NAN);
        m.insert(key.to_string(), (bits.to_string(), value));
    }
    m
}

/// Runs `elf` under QEMU (`-icount shift=0`) and decodes its defmt log;
/// the log's lines, or the exit status when the firmware's own checks
/// failed.
fn run_elf(target: &str, elf: &Path, label: &str) -> Result<String, String> {
    eprintln!("\n==> run {label} under QEMU, -icount shift=0");
    let out = Command::new(QEMU)
        .args(machine(target))
        .args(["-nographic", "-icount", "shift=0"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {QEMU}: {e}"))?;
    let mut decode = Command::new("defmt-print")
        .arg("-e")
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start defmt-print: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = decode.stdin.take().expect("piped stdin");
        stdin
            .write_all(&out.stdout)
            .map_err(|e| format!("defmt-print: {e}"))?;
    }
    let decoded = decode
        .wait_with_output()
        .map_err(|e| format!("defmt-print: {e}"))?;
    let log = String::from_utf8_lossy(&decoded.stdout).into_owned();
    for line in log
        .lines()
        .filter(|l| !l.starts_with("PARITY") && !l.starts_with("SPEED"))
    {
        println!("  [device] {line}");
    }
    if !out.status.success() {
        return Err(format!(
            "{label} exited with {} (its own checks failed)",
            out.status
        ));
    }
    Ok(log)
}

/// Compares the device's `PARITY` lines with the host reference run with
/// `features` and `args`.
fn check_parity(label: &str, log: &str, features: &[&str], args: &[&str]) -> Result<(), String> {
    let root = root();
    let mut host = cargo();
    host.args(["run", "--release", "-q", "-p", "gatedyn-firmware-reference"]);
    for f in features {
        host.args(["--features", &format!("gatedyn/{f}")]);
    }
    host.arg("--").args(args);
    let host_out = host
        .current_dir(&root)
        .output()
        .map_err(|e| format!("host reference: {e}"))?;
    if !host_out.status.success() {
        return Err(format!(
            "host reference failed: {}",
            String::from_utf8_lossy(&host_out.stderr)
        ));
    }
    let host_text = String::from_utf8_lossy(&host_out.stdout);
    for line in host_text.lines().filter(|l| l.starts_with("ACCURACY")) {
        println!("  [host] {line}");
    }
    let (dev, hst) = (parity(log), parity(&host_text));
    if dev.is_empty() || dev.len() != hst.len() {
        return Err(format!(
            "parity ({label}): device printed {} values, host {}",
            dev.len(),
            hst.len()
        ));
    }
    let mut bad = vec![];
    for (key, (dbits, dval)) in &dev {
        let Some((hbits, hval)) = hst.get(key) else {
            bad.push(format!("{key}: missing on the host"));
            continue;
        };
        let verdict = if dbits == hbits {
            "bit-identical".to_string()
        } else if ((dval - hval) / hval).abs() <= PARITY_REL_TOL {
            format!("within {PARITY_REL_TOL:e} relative (device {dval}, host {hval})")
        } else {
            bad.push(format!(
                "{key}: device {dval} ({dbits}) vs host {hval} ({hbits})"
            ));
            "MISMATCH".to_string()
        };
        println!("  parity {label:14} {key:24} {dval:<22} {verdict}");
    }
    if !bad.is_empty() {
        return Err(format!("device and host differ: {}", bad.join("; ")));
    }
    Ok(())
}

/// One build of the example: `variant` names the activations (`libm`,
/// `micromath`, `fast`) or `c-baseline` (libm plus the C step).
fn run_variant(variant: &str) -> Result<String, String> {
    let root = root();
    let fw = root.join("firmware-example");
    let features: &[&str] = match variant {
        "micromath" => &["micromath"],
        "fast" => &["fast-activations"],
        "c-baseline" => &["c-baseline"],
        _ => &[],
    };
    let mut build = cargo();
    build
        .current_dir(&fw)
        .args(["build", "--release", "--bin", "gatedyn-firmware-example"]);
    for f in features {
        build.args(["--features", f]);
    }
    run(&format!("build firmware ({variant})"), &mut build)?;
    let elf = root.join(ELF);
    let log = run_elf(
        "thumbv7em-none-eabihf",
        &elf,
        &format!("firmware ({variant})"),
    )?;
    let host_features: &[&str] = match variant {
        "micromath" => &["micromath"],
        "fast" => &["fast-activations"],
        _ => &[],
    };
    check_parity(variant, &log, host_features, &[])?;
    footprint(&elf)?;
    Ok(log)
}

/// The minimal firmware for `target` with `profile` (`release` or `size`):
/// build, run, parity with the host at its N, footprint.
fn run_minimal(target: &str, profile: &str) -> Result<String, String> {
    let root = root();
    let label = format!("minimal ({target}, {profile})");
    run(
        &format!("build {label}"),
        cargo().current_dir(root.join("firmware-example")).args([
            "build",
            "--profile",
            profile,
            "--target",
            target,
            "--bin",
            "minimal",
        ]),
    )?;
    let elf = root.join(format!("target/firmware/{target}/{profile}/minimal"));
    let log = run_elf(target, &elf, &label)?;
    let n = if target.starts_with("thumbv6m") {
        "16"
    } else {
        "32"
    };
    check_parity(&format!("minimal{n}"), &log, &[], &["--minimal", n])?;
    footprint(&elf)?;
    Ok(log)
}

/// The quantized firmware for `target` (with the plain-C int16 step when
/// `c_baseline`): build, run, parity with the host reference, every state
/// against `cli` (the checksums of `gatedyn run --quantize`'s states, per
/// scheme), footprint.
fn run_quantized(
    target: &str,
    c_baseline: bool,
    cli: &[(&str, Vec<String>)],
) -> Result<String, String> {
    let root = root();
    let label = format!(
        "quantized ({target}{})",
        if c_baseline { ", C baseline" } else { "" }
    );
    let mut build = cargo();
    build.current_dir(root.join("firmware-example")).args([
        "build",
        "--release",
        "--target",
        target,
        "--bin",
        "quantized",
    ]);
    if c_baseline {
        build.args(["--features", "c-baseline"]);
    }
    run(&format!("build {label}"), &mut build)?;
    let elf = root.join(format!("target/firmware/{target}/release/quantized"));
    let log = run_elf(target, &elf, &label)?;
    check_parity("quantized", &log, &[], &["--quantized"])?;
    for (scheme, want) in cli {
        let got: Vec<String> = log
            .lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("STATE {scheme} ")))
            .filter_map(|rest| rest.split_whitespace().nth(1).map(String::from))
            .collect();
        if got != *want {
            let first = got.iter().zip(want).position(|(a, b)| a != b);
            return Err(format!(
                "{label}: the {scheme} states differ from gatedyn run --quantize {scheme} (device {} states, CLI {}, first difference at step {first:?})",
                got.len(),
                want.len()
            ));
        }
        println!(
            "  states {label:28} {scheme:5}: all {} identical to gatedyn run --quantize {scheme}",
            got.len()
        );
    }
    footprint(&elf)?;
    Ok(log)
}

/// FNV-1a of each state (as `i16` little-endian bytes) that `gatedyn run
/// --quantize scheme` (the binary `gatedyn`) writes for the exported
/// fixture, in the device's `STATE` format (`{:x}`).
fn cli_state_checksums(gatedyn: &Path, scheme: &str) -> Result<Vec<String>, String> {
    let root = root();
    let fixtures = root.join("tests/fixtures/trained");
    let out = root.join(format!("target/firmware/cli_states_{scheme}.npy"));
    run(
        &format!("gatedyn run --quantize {scheme}"),
        Command::new(gatedyn)
            .current_dir(&root)
            .arg("run")
            .arg("--model")
            .arg(fixtures.join("gru_after_n32_stable.onnx"))
            .arg("--inputs")
            .arg(fixtures.join("inputs.npy"))
            .args(["--quantize", scheme, "--quiet", "--output"])
            .arg(&out),
    )?;
    let bytes = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let (rows, cols, values) = npy_f32(&bytes).ok_or_else(|| {
        format!(
            "{}: not the 2-D little-endian f32 array gatedyn run writes",
            out.display()
        )
    })?;
    let mut sums = Vec::with_capacity(rows);
    for row in values.chunks_exact(cols) {
        let mut hash: u32 = 0x811C_9DC5;
        for &v in row {
            let q = v as f64 * 32768.0;
            if q != q.round() || !(-32768.0..=32767.0).contains(&q) {
                return Err(format!("{}: {v} is not a Q15 state", out.display()));
            }
            for byte in (q as i16).to_le_bytes() {
                hash ^= byte as u32;
                hash = hash.wrapping_mul(0x0100_0193);
            }
        }
        sums.push(format!("{hash:x}"));
    }
    Ok(sums)
}

/// A version-1 `.npy` of little-endian `f32` in C order: rows, columns and
/// the values.
fn npy_f32(b: &[u8]) -> Option<(usize, usize, Vec<f32>)> {
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" || b[6] != 1 {
        return None;
    }
    let len = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(b.get(10..10 + len)?).ok()?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return None;
    }
    let shape = header.split("'shape': (").nth(1)?.split(')').next()?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let [rows, cols] = dims[..] else {
        return None;
    };
    let data = b.get(10 + len..)?;
    if data.len() != rows * cols * 4 {
        return None;
    }
    let values = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some((rows, cols, values))
}

/// The `SPEED` lines of all runs as one table.
fn speed_table(logs: &[String]) {
    println!("\n  speed (instructions per call; per multiply-accumulate)");
    println!(
        "  {:10} {:10} {:>4} {:>10} {:>9} {:>11} {:>11}",
        "variant", "cell", "N", "step", "step/MAC", "J v/MAC", "Jᵀ v/MAC"
    );
    for line in logs.iter().flat_map(|l| l.lines()) {
        let Some(rest) = line.trim().strip_prefix("SPEED ") else {
            continue;
        };
        let field = |k: &str| {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                .unwrap_or("-")
                .to_string()
        };
        let num = |k: &str| match field(k).parse::<f64>() {
            Ok(x) if x >= 100.0 => format!("{x:.0}"),
            Ok(x) => format!("{x:.2}"),
            Err(_) => "-".into(),
        };
        let diff = field("max_diff_from_gatedyn");
        println!(
            "  {:10} {:10} {:>4} {:>10} {:>9} {:>11} {:>11}{}",
            field("variant"),
            field("cell"),
            field("n"),
            num("step"),
            num("step_per_mac"),
            num("jvp_per_mac"),
            num("vjp_per_mac"),
            if diff == "-" {
                String::new()
            } else {
                format!("   (next state within {diff} of gatedyn's)")
            }
        );
    }
}

/// Flash and static RAM from the ELF section headers (ELF32, little endian).
fn footprint(elf: &Path) -> Result<(), String> {
    let b = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
    if b.len() < 52 || &b[..4] != b"\x7fELF" || b[4] != 1 {
        return Err("footprint: not an ELF32 file".into());
    }
    let (shoff, shentsize, shnum) = (u32_at(0x20), u16_at(0x2E), u16_at(0x30));
    let (mut text, mut data, mut bss) = (0usize, 0usize, 0usize);
    for k in 0..shnum {
        let o = shoff + k * shentsize;
        let (ty, flags, addr, size) =
            (u32_at(o + 4), u32_at(o + 8), u32_at(o + 12), u32_at(o + 20));
        const SHF_ALLOC: usize = 2;
        const SHT_NOBITS: usize = 8;
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        match (addr >= 0x2000_0000, ty == SHT_NOBITS) {
            (false, _) => text += size,
            (true, false) => data += size,
            (true, true) => bss += size,
        }
    }
    println!(
        "  footprint: flash {} bytes (text+rodata {text}, data {data}); static RAM {} bytes (data {data}, bss {bss}); stack: the device's STACK line",
        text + data,
        data + bss
    );
    Ok(())
}

/// `cargo xtask firmware [--c-baseline]`: the example with each
/// activation variant, the minimal firmware on the Cortex-M4F (release and
/// size builds) and the Cortex-M0, the quantized firmware on both (its
/// states against `gatedyn run --quantize`), and with `--c-baseline` the
/// plain-C step
/// beside gatedyn's (needs `arm-none-eabi-gcc`, installed here through
/// apt-get when missing).
pub fn firmware(c_baseline: bool) -> Result<(), String> {
    ensure_tools()?;
    let mut logs = vec![];
    for variant in ["libm", "micromath", "fast"] {
        logs.push(run_variant(variant)?);
    }
    if c_baseline {
        ensure_gcc()?;
        logs.push(run_variant("c-baseline")?);
    }
    for (target, profile) in [
        ("thumbv7em-none-eabihf", "release"),
        ("thumbv7em-none-eabihf", "size"),
        ("thumbv6m-none-eabi", "release"),
    ] {
        run_minimal(target, profile)?;
    }
    // the CLI's states, once for every build of the quantized firmware,
    // from the test build (100 steps of N = 32 take no time; a release
    // build of the CLI would take minutes on CI)
    let gatedyn = super::gatedyn_binary()?;
    let cli = [
        ("int8", cli_state_checksums(&gatedyn, "int8")?),
        ("int16", cli_state_checksums(&gatedyn, "int16")?),
    ];
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        logs.push(run_quantized(target, false, &cli)?);
    }
    if c_baseline {
        logs.push(run_quantized("thumbv7em-none-eabihf", true, &cli)?);
    }
    speed_table(&logs);
    Ok(())
}

/// `arm-none-eabi-gcc` (Debian's `gcc-arm-none-eabi`) for the C baseline.
fn ensure_gcc() -> Result<(), String> {
    if have("arm-none-eabi-gcc", "--version") {
        return Ok(());
    }
    run(
        "install gcc-arm-none-eabi (C baseline)",
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "gcc-arm-none-eabi"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
