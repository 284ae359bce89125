//! Fixed points of trained networks (`gatedyn_host::theory::fixed_points::
//! trained`): a 2-unit GRU built by hand whose nine fixed points are known
//! in closed form, and a PyTorch GRU trained on the 3-bit flip-flop against
//! the fixed points a float64 damped Newton solve with PyTorch's autograd
//! Jacobian found (tests/fixtures/flipflop/make_flipflop.py).

use gatedyn::{Activation, GruForm};
use gatedyn_host::formats::load;
use gatedyn_host::io::arrays::read;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::net::{GateWeights, GruNet, GruWeights, Net};
use gatedyn_host::theory::fixed_points::trained::{
    sample_starts, search_from, SearchSettings, Stability,
};
use gatedyn_host::{Param, Precision};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/flipflop")
        .join(name)
}

/// Two independent units, `z = r = σ(0) = 1/2`, `U_h = 4 I`: the candidate
/// is `tanh(2h)` per unit and the step `h' = h/2 + tanh(2h)/2`, whose fixed
/// points solve `h = tanh(2h)`: `{−h*, 0, h*}` per unit, nine in all. The
/// Jacobian is diagonal, `1/2 + (1 − h²)` per unit: `3/2` at 0 (unstable),
/// `1/2 + (1 − h*²)` ≈ 0.583 at `±h*` (stable). So four stable points, four
/// saddles of index 1 and the origin with two unstable directions.
fn two_units() -> Net {
    let gate = |u: [f64; 4]| GateWeights {
        u: u.to_vec(),
        w: vec![0.0; 2],
        b: vec![0.0; 2],
    };
    let weights = GruWeights {
        z: gate([0.0; 4]),
        r: gate([0.0; 4]),
        h: gate([4.0, 0.0, 0.0, 4.0]),
    };
    Net::Gru(GruNet::from_weights(
        weights,
        GruForm::ResetBefore,
        Activation::Tanh,
    ))
}

#[test]
fn a_two_unit_gru_has_its_nine_fixed_points_where_they_are() {
    // h* solves h = tanh(2h): Newton on g(h) = tanh(2h) − h from 1
    let mut h_star: f64 = 1.0;
    for _ in 0..50 {
        let g = (2.0 * h_star).tanh() - h_star;
        let dg = 2.0 * (1.0 - (2.0 * h_star).tanh().powi(2)) - 1.0;
        h_star -= g / dg;
    }
    assert!(((2.0 * h_star).tanh() - h_star).abs() < 1e-15);
    assert!((h_star - 0.957_504_024_077_268_7).abs() < 1e-12, "{h_star}");
    let net = two_units();
    // starts on a 9×9 grid over [−1.2, 1.2]²
    let grid: Vec<f64> = (0..9).map(|k| -1.2 + 0.3 * k as f64).collect();
    let starts: Vec<Vec<f64>> = grid
        .iter()
        .flat_map(|&a| grid.iter().map(move |&b| vec![a, b]))
        .collect();
    let r = search_from(&net, &starts, &SearchSettings::default(), &|_| {}).unwrap();
    assert_eq!(r.fixed_points.len(), 9, "{:#?}", r.fixed_points);
    assert_eq!(r.count(Stability::Stable), 4);
    assert_eq!(r.count(Stability::Unstable), 5);
    assert_eq!(r.basins_total(), r.converged);
    let values = [-h_star, 0.0, h_star];
    for a in values {
        for b in values {
            let p = r
                .fixed_points
                .iter()
                .find(|p| (p.state[0] - a).abs() < 1e-9 && (p.state[1] - b).abs() < 1e-9)
                .unwrap_or_else(|| panic!("no fixed point at ({a}, {b})"));
            let zeros = [a, b].iter().filter(|v| **v == 0.0).count();
            assert_eq!(p.unstable_dims, zeros, "({a}, {b})");
            let expected = if zeros > 0 {
                1.5
            } else {
                0.5 + 1.0 - h_star * h_star
            };
            assert!(
                (p.radius - expected).abs() < 1e-9,
                "({a}, {b}): {}",
                p.radius
            );
            assert!(p.residual < 1e-10);
            // a saddle's way out is the coordinate at zero
            if zeros == 1 {
                let v = p
                    .unstable_direction
                    .as_ref()
                    .expect("a real unstable eigenvalue");
                let k = if a == 0.0 { 0 } else { 1 };
                assert!((v[k].abs() - 1.0).abs() < 1e-9, "{v:?}");
            }
        }
    }
}

#[test]
fn bad_starts_and_settings_are_refused() {
    let net = two_units();
    let e = search_from(&net, &[vec![0.0; 3]], &SearchSettings::default(), &|_| {}).unwrap_err();
    assert!(e.to_string().contains("start 0 has 3 entries"), "{e}");
    let e = search_from(
        &net,
        &[vec![f64::NAN, 0.0]],
        &SearchSettings::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("not finite"), "{e}");
    let bad = SearchSettings {
        tolerance: 0.0,
        ..SearchSettings::default()
    };
    match search_from(&net, &[vec![0.1, 0.1]], &bad, &|_| {}) {
        Err(gatedyn_host::HostError::Invalid {
            param: Param::Tol, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(sample_starts(&[], 3, 0.0, 1).is_err());
}

#[derive(serde::Deserialize)]
struct Truth {
    fixed_points: Vec<TruePoint>,
}

#[derive(serde::Deserialize)]
struct TruePoint {
    state: Vec<f64>,
    radius: f64,
    class: String,
    unstable_dims: usize,
}

#[test]
fn the_flip_flop_gru_runs_as_pytorch_runs_it() {
    let m = load(&fixture("flipflop_gru.safetensors")).unwrap();
    let x = read(Param::Inputs, &fixture("inputs.npy")).unwrap();
    let torch = read(Param::Inputs, &fixture("torch_states.npy")).unwrap();
    let ours = run_inputs(&m.net, &x, Precision::F64, || {}).unwrap();
    let worst = ours
        .data
        .iter()
        .zip(&torch.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "states differ from PyTorch's by {worst:e}");
}

#[test]
fn the_flip_flop_gru_has_the_fixed_points_newton_found() {
    let m = load(&fixture("flipflop_gru.safetensors")).unwrap();
    let pool = read(Param::States, &fixture("states.npy")).unwrap();
    let pool: Vec<Vec<f64>> = (0..pool.rows).map(|k| pool.row(k).to_vec()).collect();
    let truth: Truth =
        serde_json::from_str(&std::fs::read_to_string(fixture("ground_truth.json")).unwrap())
            .unwrap();
    let starts = sample_starts(&pool, 2000, 0.3, 1).unwrap();
    let t0 = std::time::Instant::now();
    let r = search_from(&m.net, &starts, &SearchSettings::default(), &|_| {}).unwrap();
    let seconds = t0.elapsed().as_secs_f64();
    let rms = |a: &[f64], b: &[f64]| {
        (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
    };
    let mut found = 0;
    for t in &truth.fixed_points {
        let ours = r
            .fixed_points
            .iter()
            .find(|p| rms(&p.state, &t.state) < 1e-7);
        let Some(p) = ours else {
            assert_ne!(
                t.class, "stable",
                "a stable fixed point was missed: {:?}",
                t.state
            );
            continue;
        };
        found += 1;
        let class = match p.class {
            Stability::Stable => "stable",
            Stability::Marginal => "marginal",
            Stability::Unstable => "unstable",
        };
        assert_eq!(
            class, t.class,
            "class at radius {} vs {}",
            p.radius, t.radius
        );
        assert_eq!(p.unstable_dims, t.unstable_dims);
        assert!(
            (p.radius - t.radius).abs() < 1e-7,
            "{} vs {}",
            p.radius,
            t.radius
        );
    }
    let share = found as f64 / truth.fixed_points.len() as f64;
    assert!(
        share >= 0.95,
        "found {found} of {} ground-truth fixed points",
        truth.fixed_points.len()
    );
    // nothing found that Newton missed is a wrong point: every one solves
    // the fixed-point equation
    assert!(r.fixed_points.iter().all(|p| p.residual < 1e-10));
    eprintln!(
        "flip-flop GRU: {found} of {} ground-truth fixed points, {} in all, in {seconds:.1} s",
        truth.fixed_points.len(),
        r.fixed_points.len()
    );
}

/// The starts run in parallel; the points, their order and their basins do
/// not depend on the thread count.
#[test]
fn the_search_gives_the_same_points_on_one_and_three_threads() {
    let m = load(&fixture("flipflop_gru.safetensors")).unwrap();
    let pool = read(Param::States, &fixture("states.npy")).unwrap();
    let pool: Vec<Vec<f64>> = (0..pool.rows).map(|k| pool.row(k).to_vec()).collect();
    let starts = sample_starts(&pool, 400, 0.3, 9).unwrap();
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| search_from(&m.net, &starts, &SearchSettings::default(), &|_| {}))
            .unwrap()
    };
    let (one, three) = (on(1), on(3));
    assert!(!one.fixed_points.is_empty());
    assert_eq!(one.fixed_points.len(), three.fixed_points.len());
    for (a, b) in one.fixed_points.iter().zip(&three.fixed_points) {
        assert_eq!(a.full_state, b.full_state);
        assert_eq!(a.basin, b.basin);
    }
    assert_eq!(
        (one.converged, one.slow, one.failed),
        (three.converged, three.slow, three.failed)
    );
}
