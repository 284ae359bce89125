//! The host side of the firmware parity check: runs the firmware's scenario
//! (the very same source files, `firmware-example/src/scenario.rs`,
//! `trained.rs` and the exported `trained_model.rs`) on the
//! host in f32 and prints the `PARITY key=bits (value)` lines the firmware
//! prints. `cargo xtask firmware` compares the two.
//!
//! Run with `--features gatedyn/micromath` (or `gatedyn/fast-activations`)
//! for the firmware built with those activations, and with `-- --minimal N`
//! for the minimal firmware's lines at hidden size N (16 or 32).

#[path = "../../firmware-example/src/minimal_scenario.rs"]
mod minimal_scenario;
#[path = "../../firmware-example/src/scenario.rs"]
#[allow(dead_code)]
mod scenario;
#[path = "../../firmware-example/src/trained.rs"]
mod trained;
#[path = "../../firmware-example/src/trained_model.rs"]
#[rustfmt::skip]
mod trained_model;

use gatedyn::mft::Mft;
use gatedyn::spectral_radius::SpectralRadius;
use gatedyn::{Gru, Lstm};

fn main() -> Result<(), gatedyn::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--minimal" {
            return minimal(n);
        }
    }
    if !args.is_empty() {
        eprintln!("usage: firmware_reference [--minimal 16|32]");
        std::process::exit(2);
    }
    let mft = Mft::new();
    let mut est: Box<SpectralRadius<{ scenario::KRYLOV }>> = Box::default();
    let mut gru: Box<Gru<f32, { scenario::GRU_N }, 1>> = Box::new(Gru::zeroed());
    let mut lstm: Box<Lstm<f32, { scenario::LSTM_N }, 1>> = Box::new(Lstm::zeroed());
    let g = scenario::run_gru(&mft, &mut gru, &mut est)?;
    let (lambda, lambda_err) = scenario::chaos_monitor(&gru)?;
    let l = scenario::run_lstm(&mft, &mut lstm, &mut est)?;
    let t = trained::run_trained(&mut est)?;
    scenario::parity_lines(&g, &l, |key, bits, value| {
        println!("PARITY {key}={bits:x} ({value})")
    });
    trained::parity_lines(&t, |key, bits, value| {
        println!("PARITY {key}={bits:x} ({value})")
    });
    scenario::monitor_parity_lines(lambda, lambda_err, |key, bits, value| {
        println!("PARITY {key}={bits:x} ({value})")
    });
    Ok(())
}

/// The minimal firmware's parity lines at hidden size `n`.
fn minimal(n: &str) -> Result<(), gatedyn::Error> {
    let report = match n {
        "16" => minimal_scenario::run_minimal::<16>(&mut Box::new(Gru::zeroed()))?,
        "32" => minimal_scenario::run_minimal::<32>(&mut Box::new(Gru::zeroed()))?,
        _ => {
            eprintln!("--minimal: the firmware is built for N = 16 or 32, not {n}");
            std::process::exit(2);
        }
    };
    minimal_scenario::minimal_parity_lines(&report, |name, bits, value| {
        println!("PARITY minimal{n}.{name}={bits:x} ({value})")
    });
    Ok(())
}
