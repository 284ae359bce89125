//! docs/THEORY.md §4, zero fixed points, against a dense eigen-solver.

use gatedyn::init::GateScale;
use gatedyn::Complex;
use gatedyn::{Lstm, LstmTrace};
use gatedyn_tests::{eigenvalues, max_matching_distance};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// LSTM at h = c = 0 (b_c = 0): N eigenvalues are exactly 0 and the other N
/// are those of f₀ I + i₀ o₀ U_c.
#[test]
fn lstm_zero_fixed_point_spectrum() {
    const N: usize = 40;
    let mut rng = XorShiftRng::seed_from_u64(77);
    let mut net: Lstm<f64, N, 0> = Lstm::zeroed();
    net.randomize(
        &mut rng,
        [
            GateScale::recurrent(1.3),
            GateScale::recurrent(0.8),
            GateScale::recurrent(2.0),
            GateScale::recurrent(1.7),
        ],
    )
    .unwrap();
    net.f.b = [0.6; N];
    net.i.b = [-0.3; N];
    net.o.b = [0.9; N];
    let s = |b: f64| 1.0 / (1.0 + (-b).exp());
    let (f0, i0, o0) = (s(0.6), s(-0.3), s(0.9));
    let (h, c) = ([0.0; N], [0.0; N]);
    let mut t = LstmTrace::zeroed();
    net.step_traced(&h, &c, &[], &mut t).unwrap();
    let mut jac = Box::new([[[[0.0; N]; 2]; N]; 2]);
    net.jacobian(&h, &c, &t, &mut jac).unwrap();
    let ev = eigenvalues(2 * N, jac.as_flattened().as_flattened().as_flattened());
    let (zeros, rest): (Vec<_>, Vec<_>) = ev.iter().partition(|z| z.abs() < 1e-8);
    assert_eq!(zeros.len(), N, "N eigenvalues at 0");
    let m: Vec<f64> = (0..N)
        .flat_map(|i| (0..N).map(move |j| (i, j)))
        .map(|(i, j)| i0 * o0 * net.c.u[i][j] + if i == j { f0 } else { 0.0 })
        .collect();
    let want = eigenvalues(N, &m);
    let got: Vec<Complex> = rest.into_iter().collect();
    let d = max_matching_distance(&got, &want);
    assert!(d < 1e-10, "non-zero eigenvalues differ by {d:e}");
}
