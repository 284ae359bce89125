//! The matrix-free spectral-radius estimator (the core's, and the host's
//! faer-backed operator) against faer's dense eigen-solver, for GRU and
//! LSTM Jacobians in the regimes of the theory.

use gatedyn::init::GateScale;
use gatedyn::operator::{GruJacobian, LstmJacobian};
use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
use gatedyn_tests::{eigenvalues, gru, lstm, max_modulus as spectral_radius, Net};

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
        krylov_dim: Some(40),
        tol: 1e-9,
        max_products: 20_000,
        ..Default::default()
    };
    for n in [16, 32, 64, 128] {
        for (name, net) in regimes(n) {
            let dense = spectral_radius(&eigenvalues(net.dim(), &net.jacobian().unwrap()));
            let mut basis = vec![0.0; SpectralRadius::<40>::basis_len(net.dim(), 40)];
            let r = match &net {
                Net::Lstm(l) => {
                    let mut op =
                        LstmJacobian::new(l.view().unwrap(), &l.h, &l.c, l.trace.view()).unwrap();
                    est.estimate(&mut op, &mut basis, &opts)
                }
                Net::Gru(g) => {
                    let mut scratch = vec![0.0; n];
                    let mut op =
                        GruJacobian::new(g.view().unwrap(), &g.h, g.trace.view(), &mut scratch)
                            .unwrap();
                    est.estimate(&mut op, &mut basis, &opts)
                }
            };
            let r = r.unwrap_or_else(|e| panic!("{name}, N = {n}: {e}"));
            let rel = (r.radius - dense).abs() / dense;
            println!(
                "N={n:4} {name:28} dense {dense:.6} est {:.6} rel {rel:.1e} products {:5} restarts {:3} err-est {:.1e}",
                r.radius, r.products, r.restarts, r.residual
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
        krylov_dim: Some(16),
        tol: 1e-12,
        max_products: 30,
        ..Default::default()
    };
    let mut basis = vec![0.0; SpectralRadius::<16>::basis_len(64, 16)];
    let mut scratch = vec![0.0; 64];
    let g = net.as_gru().unwrap();
    let mut op = GruJacobian::new(g.view().unwrap(), &g.h, g.trace.view(), &mut scratch).unwrap();
    match est.estimate(&mut op, &mut basis, &opts) {
        Err(gatedyn::Error::NoConvergence {
            iterations,
            last,
            residual,
        }) => {
            // the budget, and the last radius and residual reached
            assert_eq!(iterations, 30);
            assert!(last > 0.5 && last < 2.0, "last radius {last}");
            assert!(
                residual > 1e-12 && residual.is_finite(),
                "last residual {residual}"
            );
        }
        other => panic!("expected NoConvergence, got {other:?}"),
    }
    let bad = ArnoldiOptions {
        krylov_dim: Some(3),
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
        krylov_dim: Some(24),
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

/// Convergence tests inside a cycle (`check_every`) stop on the same radius
/// and never later; on some regime they save products.
#[test]
fn checks_inside_a_cycle_stop_no_later() {
    let mut est: Box<SpectralRadius<40>> = Box::default();
    let n = 96;
    let mut saved = 0usize;
    for (name, net) in regimes(n) {
        let dense = spectral_radius(&eigenvalues(net.dim(), &net.jacobian().unwrap()));
        let mut products = [0usize; 2];
        for (slot, every) in [None, Some(4)].into_iter().enumerate() {
            let opts = ArnoldiOptions {
                krylov_dim: Some(40),
                tol: 1e-8,
                max_products: 20_000,
                check_every: every,
                ..Default::default()
            };
            let mut basis = vec![0.0; SpectralRadius::<40>::basis_len(net.dim(), 40)];
            let mut op = gatedyn_host::linalg::matfree::HostJacobian::new(
                &net,
                gatedyn_host::Precision::F64,
            )
            .unwrap();
            let r = est
                .estimate(&mut op, &mut basis, &opts)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let rel = (r.radius - dense).abs() / dense;
            assert!(
                rel <= TOL_RADIUS,
                "{name}, check_every {every:?}: rel {rel:e}"
            );
            assert!(r.residual <= 1e-8);
            products[slot] = r.products;
        }
        println!(
            "{name:28} products: end of cycle {}, every 4: {}",
            products[0], products[1]
        );
        assert!(products[1] <= products[0], "{name}: {products:?}");
        saved += products[0] - products[1];
    }
    assert!(saved > 0, "intermediate checks never saved a product");
}

/// The host's operator (diagonal factors from the core, faer products)
/// equals the dense Jacobian's product: to 1e-12 with f64 weights, to the
/// f32 rounding with f32 weights; and its Arnoldi radius matches the dense
/// radius in every regime.
#[test]
fn host_matrix_free_operator_matches_dense() {
    use gatedyn::operator::LinearOperator;
    use gatedyn::spectral_radius::ArnoldiOptions;
    use gatedyn_host::linalg::matfree::{single_vector_radius, HostJacobian};
    use gatedyn_host::Precision;
    let n = 150;
    for (name, net) in regimes(n) {
        let d = net.dim();
        let j = net.jacobian().unwrap();
        let x: Vec<f64> = (0..d)
            .map(|k| ((k * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let dense: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|k| j[i * d + k] * x[k]).sum())
            .collect();
        let scale = dense.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (p, tol) in [(Precision::F64, 1e-12), (Precision::F32, 1e-5)] {
            let mut op = HostJacobian::new(&net, p).unwrap();
            let mut y = vec![0.0; d];
            op.apply(&x, &mut y).unwrap();
            let err = y
                .iter()
                .zip(&dense)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
                / scale;
            assert!(err <= tol, "{name} {p:?}: relative error {err:e}");
        }
        let rho = spectral_radius(&eigenvalues(d, &j));
        let opts = ArnoldiOptions {
            tol: 1e-6,
            max_products: 20_000,
            check_every: Some(8),
            ..Default::default()
        };
        let r = single_vector_radius(&mut HostJacobian::new(&net, Precision::F32).unwrap(), &opts)
            .unwrap();
        let rel = (r.radius - rho).abs() / rho;
        println!(
            "{name:28} f32 Arnoldi {:.6} dense {rho:.6} rel {rel:.1e} products {}",
            r.radius, r.products
        );
        assert!(rel <= 1e-4, "{name}: {} vs {rho} (rel {rel:e})", r.radius);
    }
    // a wrong vector length is a typed error, not a panic
    let net = &regimes(8)[1].1;
    let mut op = HostJacobian::new(net, Precision::F32).unwrap();
    assert!(matches!(
        op.apply(&[0.0; 7], &mut [0.0; 8]),
        Err(gatedyn::Error::DimensionMismatch {
            expected: 8,
            found: 7
        })
    ));
}

/// The host's block Arnoldi over the matrix-free Jacobian (8-vector SIMD
/// kernel, f32 and f64 weights) against the dense radius in every regime.
#[test]
fn block_arnoldi_matches_dense_radius() {
    use gatedyn_host::linalg::block_arnoldi::{estimate, BlockOptions};
    use gatedyn_host::linalg::matfree::HostJacobian;
    use gatedyn_host::Precision;
    let opts = BlockOptions {
        max_dim: 120,
        keep: 12,
        tol: 1e-7,
        ..Default::default()
    };
    for (name, net) in regimes(200) {
        let rho = spectral_radius(&eigenvalues(net.dim(), &net.jacobian().unwrap()));
        for p in [Precision::F64, Precision::F32] {
            let mut op = HostJacobian::new(&net, p).unwrap();
            let r = estimate(&mut op, &opts).unwrap_or_else(|e| panic!("{name} {p:?}: {e}"));
            let rel = (r.radius - rho).abs() / rho;
            println!(
                "{name:28} {p:?} block {:.8} dense {rho:.8} rel {rel:.1e} passes {} restarts {}",
                r.radius, r.passes, r.restarts
            );
            assert!(r.residual <= 1e-7 && r.products == 8 * r.passes);
            assert!(
                rel <= 1e-5,
                "{name} {p:?}: {} vs {rho} (rel {rel:e})",
                r.radius
            );
        }
    }
}

/// Invariant subspaces (a block that vanishes), bad settings and an
/// exhausted budget, on dense operators with known spectra.
#[test]
fn block_arnoldi_edge_cases() {
    use gatedyn_host::linalg::block_arnoldi::{estimate, BlockOptions, DenseBlock};
    use gatedyn_host::HostError;
    // a 2×2 rotation block of modulus 1.5, then 0.25 and 0.5 on the
    // diagonal (19 times each): the block Krylov space of 8 vectors has at
    // most 2 + 8 + 8 = 18 dimensions, so the third pass loses rank and the
    // vanishing columns are replaced
    let n = 40;
    let a = faer::Mat::<f64>::from_fn(n, n, |i, j| match (i, j) {
        (0, 0) | (1, 1) => 0.0,
        (0, 1) => -1.5,
        (1, 0) => 1.5,
        _ if i == j => 0.25 * (1 + i % 2) as f64,
        _ => 0.0,
    });
    let opts = BlockOptions {
        max_dim: 32,
        keep: 6,
        tol: 1e-10,
        ..Default::default()
    };
    let r = estimate(&mut DenseBlock(a.clone()), &opts).unwrap();
    assert!((r.radius - 1.5).abs() < 1e-10, "{}", r.radius);
    assert!((r.eigenvalue.im - 1.5).abs() < 1e-10 && r.eigenvalue.re.abs() < 1e-10);
    for (bad, what) in [
        (BlockOptions { block: 0, ..opts }, "block"),
        (BlockOptions { tol: 0.0, ..opts }, "tol"),
        (BlockOptions { keep: 0, ..opts }, "keep"),
        (
            BlockOptions {
                max_dim: 16,
                ..opts
            },
            "max_dim",
        ),
    ] {
        match estimate(&mut DenseBlock(a.clone()), &bad) {
            Err(HostError::Core(gatedyn::Error::InvalidParameter { name })) => {
                assert_eq!(name, what)
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(matches!(
        estimate(
            &mut DenseBlock(a.clone()),
            &BlockOptions { block: 12, ..opts }
        ),
        Err(HostError::BadInput(_))
    ));
    // a random 300×300 matrix needs more than two passes to 1e-12
    let mut s = 1u64;
    let g = faer::Mat::<f64>::from_fn(300, 300, |_, _| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) / 5.0
    });
    match estimate(
        &mut DenseBlock(g),
        &BlockOptions {
            tol: 1e-12,
            max_products: 16,
            ..Default::default()
        },
    ) {
        Err(HostError::Numerical {
            step: "Arnoldi (block)",
            source:
                gatedyn::Error::NoConvergence {
                    iterations,
                    last,
                    residual,
                },
        }) => {
            // two passes of 8; the last test's radius and residual come along
            assert_eq!(iterations, 16);
            assert!(last.is_nan() || last > 0.0, "{last}");
            assert!(residual.is_nan() || residual > 1e-12, "{residual}");
        }
        other => panic!("expected NoConvergence, got {other:?}"),
    }
}
