//! Puts the target's memory layout on the linker search path as `memory.x`
//! (cortex-m-rt convention): `memory-mps2-an386.x` (Cortex-M4F) or, for
//! `thumbv6m-none-eabi`, `memory-microbit.x` (BBC micro:bit, Cortex-M0).
//! (No file in this folder may be called `memory.x`: the linker would find
//! it first, whatever the target.)
use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    let layout = if target.starts_with("thumbv6m") {
        "memory-microbit.x"
    } else {
        "memory-mps2-an386.x"
    };
    fs::copy(layout, out.join("memory.x")).expect("copy the memory layout");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-mps2-an386.x");
    println!("cargo:rerun-if-changed=memory-microbit.x");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_C_BASELINE").is_some() {
        c_baseline(&out);
    }
}

/// Compiles `c-baseline/gru_step.c` and `qgru_step.c` with
/// arm-none-eabi-gcc (Debian package `gcc-arm-none-eabi`) and links them
/// with newlib's libm and libc.
fn c_baseline(out: &std::path::Path) {
    println!("cargo:rerun-if-changed=c-baseline/gru_step.c");
    println!("cargo:rerun-if-changed=c-baseline/qgru_step.c");
    let flags = [
        "-O3",
        "-mcpu=cortex-m4",
        "-mfpu=fpv4-sp-d16",
        "-mfloat-abi=hard",
        "-mthumb",
    ];
    let gcc = "arm-none-eabi-gcc";
    let mut objs = vec![];
    for name in ["gru_step", "qgru_step"] {
        let obj = out.join(format!("{name}.o"));
        let status = Command::new(gcc)
            .args(flags)
            .args(["-c", &format!("c-baseline/{name}.c"), "-o"])
            .arg(&obj)
            .status()
            .unwrap_or_else(|e| {
                panic!("feature c-baseline needs {gcc} (apt-get install gcc-arm-none-eabi): {e}")
            });
        assert!(status.success(), "{gcc} failed on c-baseline/{name}.c");
        objs.push(obj);
    }
    let lib = out.join("libgru_c.a");
    let _ = fs::remove_file(&lib);
    let status = Command::new("arm-none-eabi-ar")
        .arg("crs")
        .arg(&lib)
        .args(&objs)
        .status()
        .expect("arm-none-eabi-ar");
    assert!(status.success(), "arm-none-eabi-ar failed");
    println!("cargo:rustc-link-lib=static=gru_c");
    // newlib's libm (expf, tanhf) and libc (errno) for this multilib
    for name in ["libm.a", "libc.a"] {
        let path = Command::new(gcc)
            .args(flags)
            .arg(format!("-print-file-name={name}"))
            .output()
            .expect("arm-none-eabi-gcc -print-file-name");
        let path = PathBuf::from(String::from_utf8_lossy(&path.stdout).trim());
        let dir = path.parent().expect("newlib directory");
        println!("cargo:rustc-link-search={}", dir.display());
    }
    println!("cargo:rustc-link-lib=static=m");
    println!("cargo:rustc-link-lib=static=c");
}
