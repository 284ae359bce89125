//! Lyapunov exponents of random networks (docs/THEORY.md §8) against exact
//! identities: the log-moduli of the eigenvalues at a fixed point, and the
//! time average of `ln |det J|` along a chaotic trajectory.

use gatedyn::init::GateScale;
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn_host::theory::lyapunov::run_from;
use gatedyn_tests::{eigenvalues, gru, lstm};

fn s(x: f64) -> GateScale {
    GateScale::recurrent(x)
}

fn opts(transient: usize, steps: usize, seed: u32) -> LyapunovOptions {
    LyapunovOptions {
        transient,
        steps,
        batches: 10,
        seed,
    }
}

/// At the zero fixed point the Jacobian is constant, `(1 − z₀) I + z₀ r₀
/// U_h`, so the full spectrum of exponents (k = N) is `ln |λ_i|` of its
/// eigenvalues, sorted (complex pairs give equal exponents).
#[test]
fn full_spectrum_at_the_zero_fixed_point_is_log_moduli_of_the_eigenvalues() {
    let n = 30;
    let mut net = gru(n, [s(1.0), s(1.0), s(1.5)], 4);
    net.at_zero().unwrap();
    let mut want: Vec<f64> = eigenvalues(n, &net.jacobian().unwrap())
        .iter()
        .map(|z| z.abs().ln())
        .collect();
    want.sort_by(|a, b| b.total_cmp(a));
    let r = run_from(net, 4, n, &opts(2000, 20_000, 7), |_, _| {}).unwrap();
    let got: Vec<f64> = r.exponents.iter().map(|l| l.unwrap()).collect();
    let mut worst = 0.0f64;
    for (g, w) in got.iter().zip(&want) {
        worst = worst.max((g - w).abs());
    }
    println!("zero fixed point, k = N = {n}: worst |λ_j − ln|μ_j|| = {worst:.2e}");
    // close moduli separate slowly (rate = their ratio), so the time
    // averages converge like 1/T: measured 1.6e-5 at T = 20 000
    assert!(worst < 1e-4, "worst {worst:e}\n{got:?}\n{want:?}");
    // the sum converges at rounding level: Σ λ_j = ln |det J|
    let (sg, sw): (f64, f64) = (got.iter().sum(), want.iter().sum());
    assert!((sg - sw).abs() < 1e-9, "{sg} vs {sw}");
}

/// Along a chaotic trajectory `Σ_j ln R_jj = ln |det J_t|` at every step,
/// so the sum of all exponents equals the time average of `ln |det J_t|`
/// over the same steps, computed here from dense eigenvalues (GRU and LSTM).
#[test]
fn sum_of_all_exponents_is_the_mean_log_determinant() {
    for (label, mut net) in [
        ("gru", gru(16, [s(1.0), s(2.0), s(4.0)], 9)),
        ("lstm", lstm(10, [s(2.0), s(2.0), s(2.0), s(4.0)], 9)),
    ] {
        let d = net.dim();
        let o = opts(50, 400, 3);
        // the reference: the same trajectory, ln|det J| from eigenvalues
        let mut reference = net.clone();
        let mut sum = 0.0;
        for t in 0..o.transient + o.steps {
            reference.trace_step().unwrap();
            if t >= o.transient {
                sum += eigenvalues(d, &reference.jacobian().unwrap())
                    .iter()
                    .map(|z| z.abs().ln())
                    .sum::<f64>();
            }
            reference.advance();
        }
        let mean_log_det = sum / o.steps as f64;
        net.trace_step().unwrap();
        let r = run_from(net, 9, d, &o, |_, _| {}).unwrap();
        let total: f64 = r.exponents.iter().map(|l| l.unwrap()).sum();
        println!("{label}: Σλ = {total:.10}, ⟨ln|det J|⟩ = {mean_log_det:.10}");
        assert!(
            (total - mean_log_det).abs() < 1e-8 * mean_log_det.abs().max(1.0),
            "{label}: {total} vs {mean_log_det}"
        );
        assert_eq!(r.replaced, 0);
    }
}

/// A GRU at σ_h = 3, N = 300 is chaotic (λ₁ ≈ 0.029 per step, measured on
/// two seeds), and the start direction of the tangent vector does not
/// matter beyond the statistical error. (At N = 48-200 the same scales
/// mostly give stable orbits: chaos needs size.)
#[test]
fn a_large_gru_at_sigma_h_3_is_chaotic_whatever_the_tangent_seed() {
    let mut tops = vec![];
    for tangent_seed in [1, 99] {
        let net = gru(300, [s(1.0), s(1.0), s(3.0)], 1);
        let r = run_from(net, 1, 1, &opts(500, 3000, tangent_seed), |_, _| {}).unwrap();
        println!(
            "tangent seed {tangent_seed}: λ₁ = {} ± {}",
            r.largest, r.largest_error
        );
        assert!(
            r.largest > 5.0 * r.largest_error,
            "chaotic: {} ± {}",
            r.largest,
            r.largest_error
        );
        assert!((0.015..0.05).contains(&r.largest), "{}", r.largest);
        tops.push((r.largest, r.largest_error));
    }
    let ((a, ea), (b, eb)) = (tops[0], tops[1]);
    assert!((a - b).abs() < 2.0 * (ea + eb), "{a} ± {ea} vs {b} ± {eb}");
}

/// From `k = 16` on the host advances the tangent vectors as one block
/// (matrix products and faer's Householder QR) instead of column by
/// column with the core's Gram–Schmidt. The first `j` columns of a QR do
/// not depend on the later ones and both runs start from the same first 15
/// vectors, so the top 15 exponents of `k = 15` (core path) and `k = 16`
/// (blocked path) agree to rounding, GRU and LSTM alike.
#[test]
fn blocked_and_column_by_column_paths_agree() {
    assert_eq!(gatedyn_host::theory::lyapunov::BLOCKED_FROM_K, 16);
    for (label, net) in [
        ("gru", gru(40, [s(1.0), s(2.0), s(3.0)], 5)),
        ("lstm", lstm(20, [s(2.0), s(2.0), s(2.0), s(4.0)], 5)),
    ] {
        let o = opts(50, 300, 11);
        let a = run_from(net.clone(), 5, 15, &o, |_, _| {}).unwrap();
        let b = run_from(net, 5, 16, &o, |_, _| {}).unwrap();
        let worst = a
            .exponents
            .iter()
            .zip(&b.exponents)
            .map(|(x, y)| (x.unwrap() - y.unwrap()).abs())
            .fold(0.0, f64::max);
        println!("{label}: k = 15 (Gram–Schmidt) vs k = 16 (blocked QR): {worst:.1e}");
        assert!(worst < 1e-10, "{label}: {worst:e}");
    }
}
