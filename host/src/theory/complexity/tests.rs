use super::config::*;
use super::search::*;
use super::summary::*;
use crate::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use crate::net::{Net, Scales};
use crate::theory::fixed_points::solver::{residual, rms_distance, solve, DISTINCT};
use crate::HostError;
use crate::Param;
use gatedyn::init::GruScales;
use gatedyn::lyapunov::LyapunovOptions;
use gatedyn::Activation;

fn cfg(sigma_r: Vec<f64>, sizes: Vec<usize>) -> ComplexityConfig {
    ComplexityConfig {
        sigma_h: vec![1.8],
        sigma_r,
        sigma_z: 1.0,
        sizes,
        networks: 1,
        seed: 3,
        search: Some(SearchBudget {
            starts: 24,
            max_iter: 60,
        }),
        lyapunov: LyapunovOptions {
            transient: 200,
            steps: 1000,
            batches: 10,
            ..LyapunovOptions::default()
        },
        small_start: Some(0.01),
        large_start: 1.0,
    }
}

/// Every point found is a fixed point (residual 1e-9), the points are
/// distinct, zero is among them and is stable with radius
/// `ρ(J(0))`; from a small state `λ_max = ln ρ(J(0))` (eigenvalues of
/// the dense Jacobian at zero).
#[test]
fn fixed_points_are_fixed_and_small_states_decay_at_the_zero_radius() {
    let c = cfg(vec![12.0], vec![24]);
    let p = measure(
        &c,
        &GridPoint {
            sigma_h: 1.8,
            sigma_r: 12.0,
            n: 24,
            seed: 5,
        },
    )
    .unwrap();
    let s = p.search.as_ref().unwrap();
    let small = p.small_start.as_ref().unwrap();
    assert!(s.zero_found);
    assert!(s.fixed_points >= 1 && s.stable >= 1, "{s:?}");
    assert_eq!(s.starts, 24);
    assert!(s.converged >= s.fixed_points);
    // re-run the search and check each point directly
    let net = Net::random(
        24,
        Scales::Gru(GruScales::recurrent(1.0, 12.0, 1.8)),
        Activation::Tanh,
        5,
    )
    .unwrap();
    let mut probe = net.clone();
    let mut found = vec![];
    for k in 0..24 {
        let st = start(&mut probe, 5, k, 1.0).unwrap();
        if let Some((h, _)) = solve(&mut probe, &st, 60).unwrap() {
            let (r, _) = residual(&mut probe, &h).unwrap();
            assert!(r.iter().all(|x| x.abs() < 1e-9));
            if !found
                .iter()
                .any(|f: &Vec<f64>| rms_distance(f, &h) < DISTINCT)
            {
                found.push(h);
            }
        }
    }
    assert_eq!(found.len(), s.fixed_points);
    let mut zero = net.clone();
    zero.at_zero().unwrap();
    let rho = max_modulus(&eigenvalues(&jacobian(&zero).unwrap()).unwrap());
    assert!(rho < 1.0);
    assert!(
        (small.lambda_max - rho.ln()).abs() < 5e-3,
        "{} vs ln {rho}",
        small.lambda_max
    );
    assert!(!small.chaotic);
}

/// The sweep is deterministic: the same settings give the same numbers,
/// in parallel or not.
#[test]
fn sweeps_repeat_exactly() {
    let c = cfg(vec![4.0, 24.0], vec![16]);
    let a = run(&c, &|_, _| {}).unwrap();
    let b = run(&c, &|_, _| {}).unwrap();
    assert_eq!(a.points.len(), 2);
    for (x, y) in a.points.iter().zip(&b.points) {
        assert_eq!(x.large_start.lambda_max, y.large_start.lambda_max);
        assert_eq!(
            x.search.as_ref().unwrap().fixed_points,
            y.search.as_ref().unwrap().fixed_points
        );
    }
    assert_eq!(a.sigma_r_critical.len(), 1);
    assert!((a.sigma_r_critical[0].1.unwrap() - 8.157).abs() < 1e-3);
}

/// The onset interpolation and the extrapolation recover a planted law
/// `σ = 8 + 100 N^−0.5`.
#[test]
fn onsets_and_extrapolation_recover_a_planted_law() {
    let c = ComplexityConfig {
        sizes: vec![100, 400, 1600, 6400],
        sigma_r: vec![4.0, 64.0],
        ..cfg(vec![], vec![])
    };
    let mut rows = vec![];
    for &n in &c.sizes {
        let onset: f64 = 8.0 + 100.0 / (n as f64).sqrt();
        // λ linear in ln σ_r, crossing zero at the onset
        for &sr in &c.sigma_r {
            let lambda = 0.1 * (sr.ln() - onset.ln());
            rows.push(SummaryRow {
                sigma_h: 1.8,
                sigma_r: sr,
                n,
                networks: 1,
                fixed_points_mean: None,
                fixed_points_range: None,
                stable_mean: None,
                log_count_per_n_mean: None,
                saturated: None,
                lambda_small_mean: Some(-0.05),
                lambda_large_mean: lambda,
                lambda_large_range: [lambda, lambda],
                chaotic_large: 0,
                activity_large_mean: 0.0,
            });
        }
    }
    let o = onsets(&c, &rows);
    assert_eq!(o.len(), 4);
    for (k, on) in o.iter().enumerate() {
        let want = 8.0 + 100.0 / (c.sizes[k] as f64).sqrt();
        assert!((on.value.unwrap() - want).abs() < 1e-9, "{on:?}");
        assert_eq!(on.bracket, Some([4.0, 64.0]));
    }
    let e = extrapolate(&o, &[(1.8, Some(8.157))]);
    assert_eq!(e.len(), 1);
    assert!((e[0].infinity - 8.0).abs() < 1e-6, "{:?}", e[0]);
    assert!((e[0].exponent - 0.5).abs() < 1e-9);
    assert_eq!(e[0].degrees_of_freedom, 1);
    assert_eq!(e[0].theory, Some(8.157));
}

#[test]
fn bad_settings_name_their_flag() {
    let param = |c: ComplexityConfig| match check(&c) {
        Err(HostError::Invalid { param, .. }) => param,
        other => panic!("{other:?}"),
    };
    assert_eq!(param(cfg(vec![], vec![16])), Param::SigmaR);
    assert_eq!(param(cfg(vec![4.0], vec![1])), Param::N);
    assert_eq!(
        param(ComplexityConfig {
            large_start: 0.0,
            ..cfg(vec![4.0], vec![16])
        }),
        Param::LargeStart
    );
    assert_eq!(
        param(ComplexityConfig {
            networks: 0,
            ..cfg(vec![4.0], vec![16])
        }),
        Param::Networks
    );
}
