//! The host side of the firmware parity check: runs the firmware's scenario
//! (the very same source files, `firmware-example/src/scenario.rs`,
//! `trained.rs` and the exported `trained_model.rs`) on the
//! host in f32 and prints the `PARITY key=bits (value)` lines the firmware
//! prints. `cargo xtask firmware` compares the two.
//!
//! It also checks the device's theory (flash tables, `f32` supports,
//! coarse searches) against the accurate host paths on the scenario's own
//! states and prints `ACCURACY key device accurate relative` lines; it
//! fails when a value is outside the error the core documents.
//!
//! Run with `--features gatedyn/micromath` (or `gatedyn/fast-activations`)
//! for the firmware built with those activations, with `-- --minimal N`
//! for the minimal firmware's lines at hidden size N (16 or 32), and with
//! `-- --quantized` for the quantized firmware's (`quantized_trained.rs`
//! and the exported int8 and int16 statics).

#[path = "../../firmware-example/src/minimal_scenario.rs"]
mod minimal_scenario;
#[path = "../../firmware-example/src/quantized_trained.rs"]
#[allow(dead_code)] // `Export::flash` is the device's report
mod quantized_trained;
#[path = "../../firmware-example/src/scenario.rs"]
#[allow(dead_code)]
mod scenario;
#[path = "../../firmware-example/src/trained.rs"]
mod trained;
#[path = "../../firmware-example/src/trained_model.rs"]
#[rustfmt::skip]
mod trained_model;
#[path = "../../tests/fixtures/trained/gru_after_n32_stable_int16.rs"]
#[rustfmt::skip]
mod trained_int16;
#[path = "../../tests/fixtures/trained/gru_after_n32_stable_int8.rs"]
#[rustfmt::skip]
mod trained_int8;

use gatedyn::field_table::TableAverages;
use gatedyn::spectral_radius::SpectralRadius;
use gatedyn::{Gru, Lstm};

fn main() -> Result<(), gatedyn::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--minimal" {
            return minimal(n);
        }
    }
    if let [flag] = args.as_slice() {
        if flag == "--quantized" {
            return quantized();
        }
    }
    if !args.is_empty() {
        eprintln!("usage: gatedyn-firmware-reference [--minimal 16|32 | --quantized]");
        std::process::exit(2);
    }
    let mft = scenario::DeviceMft::with_averages(TableAverages::new());
    let mut est: Box<SpectralRadius<{ scenario::KRYLOV }>> = Box::default();
    let mut gru: Box<Gru<f32, { scenario::GRU_N }, 1>> = Box::new(Gru::zeroed());
    let mut lstm: Box<Lstm<f32, { scenario::LSTM_N }, 1>> = Box::new(Lstm::zeroed());
    let g = scenario::run_gru(&mft, &mut gru, &mut est, &mut |_| {})?;
    let (lambda, lambda_err) = scenario::chaos_monitor(&gru)?;
    let l = scenario::run_lstm(&mft, &mut lstm, &mut est, &mut |_| {})?;
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
    accuracy(&gru, &lstm, &g, &l)
}

/// The device theory's values against the accurate host paths, on the
/// scenario's states, within the documented errors.
fn accuracy(
    gru: &Gru<f32, { scenario::GRU_N }, 1>,
    lstm: &Lstm<f32, { scenario::LSTM_N }, 1>,
    g: &scenario::GruReport,
    l: &scenario::LstmReport,
) -> Result<(), gatedyn::Error> {
    use gatedyn::mft::{GruMftParams, Mft};
    use gatedyn::spectral_curve::{
        predicted_radius, CurveOptions, GruSigmas, GruSupport, LstmSigmas, LstmSupport,
    };
    use gatedyn::{GruTrace, LstmTrace};
    let exact = Mft::new();
    let mut bad = vec![];
    let mut check = |key: &str, device: f64, accurate: f64, tol: f64| {
        let rel = (device / accurate - 1.0).abs();
        println!("ACCURACY {key} device {device} accurate {accurate} relative {rel:.2e} (tolerance {tol:e})");
        if rel.is_nan() || rel > tol {
            bad.push(key.to_string());
        }
    };
    let (mut h, mut t) = ([0.0f32; scenario::GRU_N], GruTrace::zeroed());
    scenario::drive_gru(gru, &mut h, &mut t)?;
    let sig = GruSigmas {
        z: scenario::FIXED_SIGMA,
        r: scenario::FIXED_SIGMA,
        h: g.sigma_h,
    };
    let support = GruSupport::new(sig, gru.activation, &h, t.view())?;
    let (want, _) = predicted_radius(&support, &CurveOptions::default())?;
    check("gru.predicted", g.predicted, want, 1e-6);
    check(
        "gru.bifurcation",
        g.bifurcation,
        exact.bifurcation_sigma_r(g.sigma_h)?,
        3e-6,
    );
    let region = exact.classify(&GruMftParams::new(g.sigma_h, scenario::FIXED_SIGMA))?;
    println!(
        "ACCURACY gru.region device {:?} accurate {region:?}",
        g.region
    );
    let (mut lh, mut lc, mut lt) = (
        [0.0f32; scenario::LSTM_N],
        [0.0f32; scenario::LSTM_N],
        LstmTrace::zeroed(),
    );
    scenario::drive_lstm(lstm, &mut lh, &mut lc, &mut lt)?;
    let lsig = LstmSigmas {
        f: scenario::FIXED_SIGMA,
        i: scenario::FIXED_SIGMA,
        o: scenario::FIXED_SIGMA,
        c: l.sigma_c,
    };
    let support = LstmSupport::new(lsig, lstm.activation, &lc, lt.view())?;
    let (want, _) = predicted_radius(&support, &CurveOptions::default())?;
    check("lstm.predicted", l.predicted, want, 1e-6);
    if region != g.region {
        bad.push("gru.region".into());
    }
    if !bad.is_empty() {
        eprintln!("device theory outside its stated error: {}", bad.join(", "));
        std::process::exit(1);
    }
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

/// The quantized firmware's parity lines: the exported int8 and int16
/// statics over the fixture's inputs.
fn quantized() -> Result<(), gatedyn::Error> {
    let Some(inputs) = quantized_trained::inputs() else {
        eprintln!("tests/fixtures/trained/inputs.npy is not a 100 x 4 f32 array");
        std::process::exit(1);
    };
    let mut emit = |scheme: &str, key: &str, bits: u64, value: f64| {
        println!("PARITY quantized.{scheme}.{key}={bits:x} ({value})")
    };
    let (e8, e16) = (quantized_trained::int8(), quantized_trained::int16());
    quantized_trained::parity_lines(e8.scheme(), &e8.run(&inputs, |_| {})?, &mut emit);
    quantized_trained::parity_lines(e16.scheme(), &e16.run(&inputs, |_| {})?, &mut emit);
    Ok(())
}
