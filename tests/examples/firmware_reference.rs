//! The host side of the firmware parity check: runs the firmware's scenario
//! (the very same source files, `firmware-example/src/scenario.rs`,
//! `trained.rs` and the exported `trained_model.rs`) on the
//! host in f32 and prints the `PARITY key=bits (value)` lines the firmware
//! prints. `cargo xtask firmware` compares the two.
//!
//! Run with `--features gatedyn/micromath` for the micromath firmware.

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
