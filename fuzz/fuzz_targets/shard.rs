//! Fuzz target `shard` (what it runs: fuzz/targets.rs).
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::run("shard", data));
