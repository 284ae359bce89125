//! The matrix-free spectral-radius estimator against nalgebra's dense
//! eigen-solver, for GRU and LSTM Jacobians in the regimes of the theory.

use gatedyn::init::GateScale;
use gatedyn::operator::{GruJacobian, LstmJacobian};
use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
use gatedyn_tests::{eigenvalues, gru, lstm, spectral_radius, Model, Net};

/// Relative error allowed against the dense solver when converged.
const TOL_RADIUS: f64 = 1e-4;

fn s(x: f64) -> GateScale {
    GateScale::recurrent(x)
}

/// (name, builder) for each regime.
fn regimes(n: usize) -> Vec<(&'static str, Net)> {
    let mut out = vec![];
    let mut g = gru(n, [s(1.0), s(1.0), s(1.5)], 1);
    g.at_zero().unwrap();
    out.push(("gru zero fixed point", g));
    let mut g = gru(n, [s(1.0), s(1.0), s(3.0)], 2);
    g.run(200, || {}).unwrap();
    out.push(("gru chaotic", g));
    let mut g = gru(n, [s(20.0), s(1.0), s(3.0)], 3);
    g.run(200, || {}).unwrap();
    out.push(("gru large sigma_z", g));
    let mut g = gru(n, [s(1.0), s(20.0), s(2.5)], 4);
    g.run(200, || {}).unwrap();
    out.push(("gru large sigma_r", g));
    let mut l = lstm(n, [s(1.0), s(1.0), s(1.0), s(1.5)], 5);
    l.at_zero().unwrap();
    out.push(("lstm zero fixed point", l));
    let mut l = lstm(n, [s(2.0), s(2.0), s(2.0), s(4.0)], 6);
    l.run(200, || {}).unwrap();
    out.push(("lstm chaotic", l));
    let mut l = lstm(n, [s(20.0), s(1.0), s(1.0), s(3.0)], 7);
    l.run(200, || {}).unwrap();
    out.push(("lstm large sigma_f", l));
    let mut l = lstm(n, [s(1.0), s(10.0), s(10.0), s(3.0)], 8);
    l.run(200, || {}).unwrap();
    out.push(("lstm large sigma_i, sigma_o", l));
    out
}

#[test]
fn estimator_matches_dense_eigenvalues() {
    let mut est: Box<SpectralRadius<40>> = Box::default();
    let opts = ArnoldiOptions {
        krylov_dim: 40,
        tol: 1e-9,
        max_products: 20_000,
        ..Default::default()
    };
    for n in [16, 32, 64, 128] {
        for (name, net) in regimes(n) {
            let dense = spectral_radius(&eigenvalues(net.dim(), &net.jacobian().unwrap()));
            let mut basis = vec![0.0; SpectralRadius::<40>::basis_len(net.dim(), 40)];
            let r = if net.model == Model::Lstm {
                let mut op =
                    LstmJacobian::new(net.lstm_ref(), &net.h, &net.c, net.lstm_trace()).unwrap();
                est.estimate(&mut op, &mut basis, &opts)
            } else {
                let mut scratch = vec![0.0; n];
                let mut op =
                    GruJacobian::new(net.gru_ref(), &net.h, net.gru_trace(), &mut scratch).unwrap();
                est.estimate(&mut op, &mut basis, &opts)
            };
            let r = r.unwrap_or_else(|e| panic!("{name}, N = {n}: {e}"));
            let rel = (r.radius - dense).abs() / dense;
            println!(
                "N={n:4} {name:28} dense {dense:.6} est {:.6} rel {rel:.1e} products {:5} restarts {:3} err-est {:.1e}",
                r.radius, r.products, r.restarts, r.error_estimate
            );
            assert!(
                rel <= TOL_RADIUS,
                "{name}, N = {n}: {} vs dense {dense} (rel {rel:e})",
                r.radius
            );
        }
    }
}

/// A budget that cannot suffice gives `NoConvergence`, not a number.
#[test]
fn exhausted_budget_is_an_error() {
    let mut net = gru(64, [s(20.0), s(1.0), s(3.0)], 3);
    net.run(200, || {}).unwrap();
    let mut est: Box<SpectralRadius<16>> = Box::default();
    let opts = ArnoldiOptions {
        krylov_dim: 16,
        tol: 1e-12,
        max_products: 30,
        ..Default::default()
    };
    let mut basis = vec![0.0; SpectralRadius::<16>::basis_len(64, 16)];
    let mut scratch = vec![0.0; 64];
    let mut op = GruJacobian::new(net.gru_ref(), &net.h, net.gru_trace(), &mut scratch).unwrap();
    match est.estimate(&mut op, &mut basis, &opts) {
        Err(gatedyn::Error::NoConvergence { iterations, .. }) => assert_eq!(iterations, 30),
        other => panic!("expected NoConvergence, got {other:?}"),
    }
    let bad = ArnoldiOptions {
        krylov_dim: 3,
        ..opts
    };
    assert!(matches!(
        est.estimate(&mut op, &mut basis, &bad),
        Err(gatedyn::Error::InvalidParameter { .. })
    ));
    let mut small = vec![0.0; 10];
    assert!(matches!(
        est.estimate(&mut op, &mut small, &opts),
        Err(gatedyn::Error::WorkspaceTooSmall { .. })
    ));
}

/// The estimator on an f32 network (the embedded case): within the f32
/// tolerance of the dense f64 radius of the same weights.
#[test]
fn f32_operator_converges_to_f64_dense_radius() {
    use gatedyn::{Gru, GruTrace};
    use rand_core::SeedableRng;
    const N: usize = 64;
    let mut rng = rand_xorshift::XorShiftRng::seed_from_u64(9);
    let mut net32: Box<Gru<f32, N, 0>> = Box::new(Gru::zeroed());
    net32.randomize(&mut rng, [s(2.0), s(1.0), s(3.0)]).unwrap();
    let mut h = [0.3f32; N];
    let mut t = GruTrace::zeroed();
    for _ in 0..100 {
        net32.step_traced(&h, &[], &mut t).unwrap();
        h = t.next;
    }
    net32.step_traced(&h, &[], &mut t).unwrap();
    let mut jac = Box::new([[0.0f32; N]; N]);
    net32.jacobian(&h, &t, &mut jac).unwrap();
    let j64: Vec<f64> = jac.as_flattened().iter().map(|&x| x as f64).collect();
    let dense = spectral_radius(&eigenvalues(N, &j64));
    let mut est: Box<SpectralRadius<24>> = Box::default();
    let mut basis = vec![0.0f32; SpectralRadius::<24>::basis_len(N, 24)];
    let mut scratch = [0.0f32; N];
    let mut op = GruJacobian::new(net32.view(), &h, t.view(), &mut scratch).unwrap();
    let opts = ArnoldiOptions {
        krylov_dim: 24,
        tol: 1e-5,
        max_products: 5000,
        ..Default::default()
    };
    let r = est.estimate(&mut op, &mut basis, &opts).unwrap();
    let rel = (r.radius - dense).abs() / dense;
    assert!(
        rel < 1e-4,
        "f32 estimate {} vs dense {dense}: {rel:e}",
        r.radius
    );
}
