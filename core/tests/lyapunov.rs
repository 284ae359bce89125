//! Lyapunov exponents (docs/THEORY.md §8) against maps whose exponents are
//! known exactly, and the method's invariances and errors.

use gatedyn::init::GruScales;
use gatedyn::lyapunov::{
    kaplan_yorke_dimension, lyapunov_spectrum, GruTrajectory, LyapunovOptions, TangentDynamics,
};
use gatedyn::rand_core::SeedableRng;
use gatedyn::{Error, Gru, GruTrace};

/// A constant linear map `x ↦ A x`.
struct Linear<const D: usize> {
    a: [[f64; D]; D],
}

impl<const D: usize> TangentDynamics<f64> for Linear<D> {
    fn dim(&self) -> usize {
        D
    }
    fn advance(&mut self) -> Result<(), Error> {
        Ok(())
    }
    fn tangent(&mut self, v: &[f64], out: &mut [f64]) -> Result<(), Error> {
        for (i, o) in out.iter_mut().enumerate() {
            *o = (0..D).map(|k| self.a[i][k] * v[k]).sum();
        }
        Ok(())
    }
}

fn run<const D: usize>(
    sys: &mut impl TangentDynamics<f64>,
    k: usize,
    opts: &LyapunovOptions,
) -> Result<(Vec<f64>, Vec<f64>), Error> {
    let (mut q, mut s, mut b) = (vec![0.0; k * D], vec![0.0; D], vec![0.0; k]);
    let (mut e, mut err) = (vec![0.0; k], vec![0.0; k]);
    lyapunov_spectrum(
        sys,
        opts,
        &mut q,
        &mut s,
        &mut b,
        &mut e,
        &mut err,
        |_, _| {},
    )?;
    Ok((e, err))
}

/// An upper-triangular map has eigenvalues on its diagonal, so its
/// exponents are `ln |a_ii|` sorted by modulus: here ln 2, ln 1.5, 0,
/// ln 0.5, ln 0.25, ln 0.1 (the off-diagonal part couples the directions,
/// so the QR step has real work to do). A constant map converges
/// geometrically, so the error is at rounding level after a transient.
#[test]
fn triangular_map_exponents_are_log_moduli_of_its_diagonal() {
    let diag = [0.5, -1.0, 2.0, 0.1, 1.5, 0.25];
    let mut a = [[0.0; 6]; 6];
    for i in 0..6 {
        a[i][i] = diag[i];
        for k in i + 1..6 {
            a[i][k] = 0.3 * ((i * 7 + k * 3) % 5) as f64 - 0.6;
        }
    }
    let mut want: Vec<f64> = diag.iter().map(|x: &f64| x.abs().ln()).collect();
    want.sort_by(|x, y| y.total_cmp(x));
    let opts = LyapunovOptions {
        transient: 400,
        steps: 2000,
        batches: 10,
        seed: 3,
    };
    let (e, err) = run::<6>(&mut Linear { a }, 6, &opts).unwrap();
    for j in 0..6 {
        assert!(
            (e[j] - want[j]).abs() < 1e-9,
            "λ_{j}: {} vs {}",
            e[j],
            want[j]
        );
        assert!(err[j] < 1e-9, "a constant map has no scatter: {}", err[j]);
    }
    // the top three alone are the same numbers
    let (top, _) = run::<6>(&mut Linear { a }, 3, &opts).unwrap();
    for j in 0..3 {
        assert!((top[j] - want[j]).abs() < 1e-9);
    }
    // Kaplan–Yorke: ln2 + ln1.5 + 0 > 0, then + ln 0.5 = ln 1.5 > 0, then
    // + ln 0.25 < 0: D = 4 + ln(1.5)/ln(4)
    let d = kaplan_yorke_dimension(&want);
    assert!((d - (4.0 + 1.5f64.ln() / 4f64.ln())).abs() < 1e-12, "{d}");
    assert_eq!(kaplan_yorke_dimension(&[-0.1, -0.2]), 0.0);
    assert_eq!(kaplan_yorke_dimension(&[0.3, 0.1]), 2.0);
}

/// A map that annihilates a direction: exponent −∞ with error 0, and the
/// collapsed vector is replaced (the others are unaffected).
#[test]
fn an_annihilated_direction_is_minus_infinity() {
    let a = [[2.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]];
    let opts = LyapunovOptions {
        transient: 60,
        steps: 40,
        batches: 4,
        seed: 9,
    };
    let (e, err) = run::<3>(&mut Linear { a }, 3, &opts).unwrap();
    assert!((e[0] - 2f64.ln()).abs() < 1e-12 && (e[1] - 0.5f64.ln()).abs() < 1e-12);
    assert_eq!(e[2], f64::NEG_INFINITY);
    assert_eq!(err[2], 0.0);
}

#[test]
fn bad_settings_and_buffers_are_typed_errors() {
    let a = [[0.5, 0.0], [0.0, 0.5]];
    let ok = LyapunovOptions {
        transient: 0,
        steps: 10,
        batches: 2,
        seed: 1,
    };
    let (mut q, mut s, mut b, mut e, mut err) = ([0.0; 4], [0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
    let mut sys = Linear { a };
    let mut call = |opts: &LyapunovOptions, k: usize, qlen: usize| {
        lyapunov_spectrum(
            &mut sys,
            opts,
            &mut q[..qlen],
            &mut s,
            &mut b[..k],
            &mut e[..k],
            &mut err[..k],
            |_, _| {},
        )
    };
    assert_eq!(call(&ok, 0, 4), Err(Error::InvalidParameter { name: "k" }));
    let one_batch = LyapunovOptions { batches: 1, ..ok };
    assert_eq!(
        call(&one_batch, 1, 4),
        Err(Error::InvalidParameter { name: "batches" })
    );
    let few = LyapunovOptions { steps: 1, ..ok };
    assert_eq!(
        call(&few, 1, 4),
        Err(Error::InvalidParameter { name: "steps" })
    );
    assert_eq!(
        call(&ok, 2, 3),
        Err(Error::WorkspaceTooSmall { needed: 4, got: 3 })
    );
    // a map that overflows
    let mut big = Linear {
        a: [[1e200, 0.0], [0.0, 1e200]],
    };
    let r = lyapunov_spectrum(
        &mut big,
        &ok,
        &mut q,
        &mut s,
        &mut b,
        &mut e,
        &mut err,
        |_, _| {},
    );
    assert!(
        matches!(
            r,
            Err(Error::NonFinite {
                what: gatedyn::Quantity::Result,
                ..
            })
        ),
        "{r:?}"
    );
}

/// The top exponent against its definition: the mean log growth per step
/// of a small perturbation of the state, renormalised to 1e-8 after every
/// step (two trajectories of the nonlinear map, no Jacobian involved).
/// At N = 48 these GRUs settle on a stable fixed point (σ_h = 1.5, λ₁ =
/// −0.156) and a stable orbit (σ_h = 3, λ₁ = −0.100): small networks are
/// rarely chaotic; the chaotic case is checked at N = 200 in tests/.
#[test]
fn top_exponent_matches_the_growth_of_a_finite_perturbation() {
    for (sigma_h, seed) in [(3.0, 5u64), (1.5, 6)] {
        let mut rng = rand_xorshift::XorShiftRng::seed_from_u64(seed);
        let mut net: Gru<f64, 48, 0> = Gru::zeroed();
        net.randomize(&mut rng, GruScales::recurrent(1.0, 1.0, sigma_h))
            .unwrap();
        let mut h = [0.0; 48];
        for (i, x) in h.iter_mut().enumerate() {
            *x = ((i * 37 % 11) as f64 - 5.0) / 5.0;
        }
        let start = h;
        // definition: two nearby trajectories
        let (transient, steps) = (300, 6000);
        let mut out = [0.0; 48];
        for _ in 0..transient {
            net.step(&h, &[], &mut out).unwrap();
            h = out;
        }
        let mut g = h;
        g[0] += 1e-8;
        let mut sum = 0.0;
        for _ in 0..steps {
            let mut gh = [0.0; 48];
            net.step(&h, &[], &mut out).unwrap();
            net.step(&g, &[], &mut gh).unwrap();
            h = out;
            let d: f64 = h
                .iter()
                .zip(&gh)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            sum += (d / 1e-8).ln();
            for i in 0..48 {
                g[i] = h[i] + (gh[i] - h[i]) * 1e-8 / d;
            }
        }
        let fd = sum / steps as f64;
        // the QR method on the same trajectory
        let mut h = start;
        let (mut prev, mut scratch) = ([0.0; 48], [0.0; 48]);
        let mut t: GruTrace<f64, 48> = GruTrace::zeroed();
        let mut sys = GruTrajectory::new(
            net.view(),
            &[],
            &mut h,
            &mut prev,
            t.view_mut(),
            &mut scratch,
        )
        .unwrap();
        let opts = LyapunovOptions {
            transient,
            steps,
            batches: 20,
            seed: 1,
        };
        let (mut q, mut s, mut b) = ([0.0; 48], [0.0; 48], [0.0; 1]);
        let (mut e, mut err) = ([0.0; 1], [0.0; 1]);
        lyapunov_spectrum(
            &mut sys,
            &opts,
            &mut q,
            &mut s,
            &mut b,
            &mut e,
            &mut err,
            |_, _| {},
        )
        .unwrap();
        println!(
            "σ_h = {sigma_h}: QR {} ± {}, perturbation {fd}",
            e[0], err[0]
        );
        assert!(
            (e[0] - fd).abs() < 1e-3 + 2.0 * err[0],
            "QR {} ± {} vs {fd}",
            e[0],
            err[0]
        );
    }
}
