//! The device paths of the theory (flash tables, `f32` supports, coarse
//! searches) against the accurate host paths, on states of random
//! networks: the tolerances the docs state.

use gatedyn::field_table::TableAverages;
use gatedyn::init::GateScale;
use gatedyn::mft::{GruMftParams, Mft};
use gatedyn::spectral_curve::{
    predicted_radius, CurveOptions, GruSigmas, GruSupport, LstmSigmas, LstmSupport,
};
use gatedyn::{Gru, GruTrace, Lstm, LstmTrace};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

fn scale(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    }
}

/// Relative difference of the device radius (`f32` level, device options)
/// from the accurate one (`f64`, default options).
fn gru_case<const N: usize>(seed: u64, sigma_h: f64, sigma_r: f64) -> f64 {
    let mut net: Box<Gru<f32, N, 1>> = Box::new(Gru::zeroed());
    let mut rng = XorShiftRng::seed_from_u64(seed);
    net.randomize(&mut rng, [scale(1.0), scale(sigma_r), scale(sigma_h)])
        .unwrap();
    let (mut h, mut t) = ([0.3f32; N], GruTrace::zeroed());
    for k in 0..200 {
        net.step_traced(&h, &[(0.2 * k as f32).sin()], &mut t)
            .unwrap();
        h = t.next;
    }
    net.step_traced(&h, &[0.0], &mut t).unwrap();
    let sig = GruSigmas {
        z: 1.0,
        r: sigma_r,
        h: sigma_h,
    };
    let accurate = GruSupport::new(sig, net.activation, &h, t.view()).unwrap();
    let device = GruSupport::<f32, f32>::with_precision(sig, net.activation, &h, t.view()).unwrap();
    let (want, _) = predicted_radius(&accurate, &CurveOptions::default()).unwrap();
    let (got, _) = predicted_radius(&device, &CurveOptions::device()).unwrap();
    (got / want - 1.0).abs()
}

fn lstm_case<const N: usize>(seed: u64, sigma_c: f64) -> f64 {
    let mut net: Box<Lstm<f32, N, 1>> = Box::new(Lstm::zeroed());
    let mut rng = XorShiftRng::seed_from_u64(seed);
    net.randomize(
        &mut rng,
        [scale(1.0), scale(1.0), scale(1.0), scale(sigma_c)],
    )
    .unwrap();
    let (mut h, mut c, mut t) = ([0.3f32; N], [0.0f32; N], LstmTrace::zeroed());
    for k in 0..200 {
        net.step_traced(&h, &c, &[(0.2 * k as f32).sin()], &mut t)
            .unwrap();
        (h, c) = (t.h_next, t.c_next);
    }
    net.step_traced(&h, &c, &[0.0], &mut t).unwrap();
    let sig = LstmSigmas {
        f: 1.0,
        i: 1.0,
        o: 1.0,
        c: sigma_c,
    };
    let accurate = LstmSupport::new(sig, net.activation, &c, t.view()).unwrap();
    let device =
        LstmSupport::<f32, f32>::with_precision(sig, net.activation, &c, t.view()).unwrap();
    let (want, _) = predicted_radius(&accurate, &CurveOptions::default()).unwrap();
    let (got, _) = predicted_radius(&device, &CurveOptions::device()).unwrap();
    (got / want - 1.0).abs()
}

#[test]
fn device_curve_agrees() {
    let mut worst = 0.0f64;
    for (seed, sh, sr) in [(1, 1.8, 1.0), (2, 3.0, 1.0), (3, 1.2, 5.0), (4, 2.2, 20.0)] {
        worst = worst.max(gru_case::<32>(seed, sh, sr));
        worst = worst.max(gru_case::<64>(seed, sh, sr));
    }
    for (seed, sc) in [(5, 1.8), (6, 3.0), (7, 0.9)] {
        worst = worst.max(lstm_case::<16>(seed, sc));
        worst = worst.max(lstm_case::<32>(seed, sc));
    }
    assert!(worst < 1e-6, "worst relative difference {worst:e}");
}

/// The classification over the flash tables equals the quadrature's on a
/// grid of the phase diagram away from its boundaries.
#[test]
fn table_classification_agrees() {
    let (exact, table) = (Mft::new(), Mft::with_averages(TableAverages::new()));
    let mut compared = 0;
    for sh in [0.5, 1.0, 1.5, 1.8, 2.1, 2.5, 3.0, 4.0] {
        for sr in [0.5, 1.0, 2.0, 5.0, 8.0, 12.0, 20.0, 50.0] {
            let p = GruMftParams::new(sh, sr);
            assert_eq!(table.classify(&p), exact.classify(&p), "σ_h {sh}, σ_r {sr}");
            if let (Some(a), Some(b)) = (
                table.fixed_point(&p).unwrap(),
                exact.fixed_point(&p).unwrap(),
            ) {
                assert!((a.c_h / b.c_h - 1.0).abs() < 1e-5, "σ_h {sh}, σ_r {sr}");
                assert!((a.shaping_sq / b.shaping_sq - 1.0).abs() < 1e-5);
                compared += 1;
            }
        }
    }
    assert!(compared > 20, "{compared} fixed points compared");
}
