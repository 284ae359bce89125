//! What the binary's test files share: running `gatedyn`, and `.npy`
//! files written as NumPy writes them.

#![allow(dead_code)]

use std::process::Command;

/// Runs `gatedyn args`: exit status, stdout, stderr.
pub fn gatedyn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatedyn"))
        .args(args)
        .output()
        .expect("run gatedyn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A version-1 `.npy` file of little-endian `f8` `values` with `shape` as
/// NumPy writes it (`"2, 10, 4"`); the header padded to 64 bytes.
pub fn npy_bytes(shape: &str, values: &[f64]) -> Vec<u8> {
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({shape}), }}");
    let mut h = header.into_bytes();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(h);
    for v in values {
        bytes.extend(v.to_le_bytes());
    }
    bytes
}

/// Creates the file at `path`, or extends it, to `len` bytes: what is
/// added is a hole (no disk used), so a test can hand out a file of
/// gigabytes.
pub fn grow_sparse(path: &std::path::Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}
