//! The predicted support (docs/THEORY.md §4) from a simulated state against the
//! dense eigenvalues of the Jacobian at that state.

use gatedyn::init::GateScale;
use gatedyn::spectral_curve::{predicted_radius, CurveOptions, Support};
use gatedyn::Complex;
use gatedyn_host::theory::spectrum::{self, INSIDE_LEVEL};
use gatedyn_tests::{eigenvalues, gru, lstm, max_modulus, Net};

fn s(x: f64) -> GateScale {
    GateScale::recurrent(x)
}

/// The dense radius, the predicted radius and the share of non-zero
/// eigenvalues inside the support, by the host's own functions (the ones
/// `gatedyn spectrum` and `validate` report), so the thresholds live in one
/// place ([`INSIDE_LEVEL`]).
fn check(net: &Net) -> (f64, f64, f64) {
    let ev = eigenvalues(net.dim(), &net.jacobian().unwrap());
    let dense = max_modulus(&ev);
    let pred = spectrum::predicted_radius(net).unwrap();
    let frac = spectrum::fraction_inside(net, &ev).unwrap();
    (dense, pred, frac)
}

/// Zero fixed point, zero bias: z = r = 1/2, the support is the disk centred
/// 1/2 of radius σ_h/4, so the predicted radius is 1/2 + σ_h/4 exactly.
#[test]
fn gru_zero_fixed_point_radius_is_exact() {
    for sh in [0.5, 1.5, 2.0, 3.0] {
        let mut net = gru(50, [s(1.0), s(1.0), s(sh)], 1);
        net.at_zero().unwrap();
        let sp = net.as_gru().unwrap().support().unwrap();
        let (r, th) = predicted_radius(&sp, &CurveOptions::default()).unwrap();
        let want = 0.5 + sh / 4.0;
        assert!((r - want).abs() < 1e-9, "σ_h = {sh}: {r} vs {want}");
        assert!(
            th.abs() < 1e-6,
            "outermost point on the positive real axis, θ = {th}"
        );
        // the centre of the disk is inside, a point just beyond the rim is not
        assert!(sp.contains(Complex::new(0.5, 0.0)));
        assert!(!sp.contains(Complex::new(0.5 + sh / 4.0 * 1.001, 0.0)));
    }
}

/// LSTM zero fixed point, zero bias: disk centred 1/2 of radius σ_c/4.
#[test]
fn lstm_zero_fixed_point_radius_is_exact() {
    let mut net = lstm(30, [s(1.0), s(1.0), s(1.0), s(3.0)], 2);
    net.at_zero().unwrap();
    let sp = net.as_lstm().unwrap().support().unwrap();
    let (r, _) = predicted_radius(&sp, &CurveOptions::default()).unwrap();
    assert!((r - 1.25).abs() < 1e-9, "{r}");
}

/// docs/THEORY.md §6: at N = 400 (1200 for σ_r = 20) the predicted radius is within 5 % of the dense
/// one and ≥ 97 % of the non-zero eigenvalues lie inside, in each regime.
///
/// The theory describes the bulk; a single network can carry an isolated
/// real outlier (seen: GRU reset-only, seed 12, N = 400 and 800: outlier
/// 1.23 against a bulk edge of 1.15-1.16, while seed 99 agrees to 1 %), and
/// single networks scatter by ±5 % at N = 400 (σ_r = 10: 0.9 % to 7.3 % over
/// three seeds). The radius check is therefore on the median over five
/// independent networks per regime; the inside fraction is checked on every
/// network.
#[test]
#[ignore = "large N (dense 400-800 eigenproblems); run by the full test command"]
fn predicted_radius_matches_dense_at_n400() {
    let regimes: [(&str, bool, [f64; 4]); 8] = [
        ("gru chaotic", false, [1.0, 1.0, 3.0, 0.0]),
        ("gru reset only", false, [0.0, 3.0, 3.0, 0.0]),
        ("gru large sigma_z", false, [20.0, 1.0, 3.0, 0.0]),
        ("gru large sigma_r", false, [1.0, 10.0, 2.5, 0.0]),
        ("gru very large sigma_r", false, [1.0, 20.0, 2.5, 0.0]),
        ("lstm chaotic", true, [2.0, 2.0, 2.0, 4.0]),
        ("lstm large sigma_f", true, [20.0, 1.0, 1.0, 3.0]),
        ("lstm large sigma_i, sigma_o", true, [1.0, 10.0, 10.0, 3.0]),
    ];
    let mut failures = vec![];
    for (k, (name, is_lstm, sig)) in regimes.iter().enumerate() {
        // σ_r = 20 makes σ'(a_r) non-negligible on ~N/σ_r units only, and the
        // finite-N edge converges slowly: at N = 400 the bulk edge sits 5-6 %
        // inside the prediction (seeds 300, 301), at N = 1600 within 0.8-2.8 %.
        let n = if sig[1] >= 20.0 && !is_lstm {
            1200
        } else {
            400
        };
        let mut rels = vec![];
        for seed in 0..5u64 {
            let seed = 100 * k as u64 + seed;
            let mut net = if *is_lstm {
                lstm(n, sig.map(s), seed)
            } else {
                gru(n, [s(sig[0]), s(sig[1]), s(sig[2])], seed)
            };
            net.run(300, || {}).unwrap();
            let (dense, pred, frac) = check(&net);
            let rel = (pred - dense).abs() / dense;
            println!("{name:28} N {n:4} seed {seed:3} dense {dense:.4} predicted {pred:.4} rel {rel:.3} inside {frac:.3}");
            if frac < INSIDE_LEVEL {
                failures.push(format!("{name} seed {seed}: inside {frac:.3}"));
            }
            rels.push(rel);
        }
        rels.sort_by(f64::total_cmp);
        if rels[2] > 0.05 {
            failures.push(format!("{name}: median relative error {:.3}", rels[2]));
        }
    }
    assert!(failures.is_empty(), "out of tolerance: {failures:?}");
}
