//! Mean-field theory: quadrature accuracy against an independent adaptive
//! integration, the reference values of docs/THEORY.md §5, limits, and the
//! initialisation solvers.

use gatedyn::init::{GruScales, LstmScales};
use gatedyn::mft::{GruMftParams, GruRegion, Mft};
use gatedyn::quadrature::GaussHermite;
use gatedyn::Activation;

/// Adaptive Simpson on [a, b] (independent of the crate's quadrature).
fn simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64, eps: f64) -> f64 {
    fn rec(
        f: &dyn Fn(f64) -> f64,
        a: f64,
        b: f64,
        fa: f64,
        fm: f64,
        fb: f64,
        whole: f64,
        eps: f64,
        depth: u32,
    ) -> f64 {
        let m = 0.5 * (a + b);
        let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
        let (flm, frm) = (f(lm), f(rm));
        let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
        let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
        if depth == 0 || (left + right - whole).abs() <= 15.0 * eps {
            return left + right + (left + right - whole) / 15.0;
        }
        rec(f, a, m, fa, flm, fm, left, eps / 2.0, depth - 1)
            + rec(f, m, b, fm, frm, fb, right, eps / 2.0, depth - 1)
    }
    let (fa, fb, fm) = (f(a), f(b), f(0.5 * (a + b)));
    rec(
        f,
        a,
        b,
        fa,
        fm,
        fb,
        (b - a) / 6.0 * (fa + 4.0 * fm + fb),
        eps,
        50,
    )
}

/// E[h(sX)] by adaptive Simpson on [-12, 12] split at 0 and at ±1/s (where
/// hard-tanh has its kinks).
fn reference_average(s: f64, h: impl Fn(f64) -> f64) -> f64 {
    let f = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt() * h(s * x);
    let k = (1.0 / s).min(12.0);
    let mut edges = vec![-12.0, -k, 0.0, k, 12.0];
    edges.dedup();
    edges
        .windows(2)
        .map(|w| simpson(&f, w[0], w[1], 1e-14))
        .sum()
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Steep sigmoids: the panel rule matches adaptive integration to 1e-9
/// relative for σ_r up to 400 (the requirement is 1e-7 up to 40), where a
/// 40-point Gauss–Hermite rule is off in the 3rd-4th digit.
#[test]
fn steep_gaussian_averages_match_adaptive_integration() {
    let mft = Mft::new();
    let gh = GaussHermite::<40>::new().unwrap();
    let mut worst_gh_at_40 = 0.0f64;
    for s in [0.1, 0.37, 0.48, 1.0, 5.0, 10.0, 20.0, 40.0, 100.0, 400.0] {
        let cases: [(&str, &dyn Fn(f64) -> f64); 6] = [
            ("hardtanh^2", &|x: f64| x.clamp(-1.0, 1.0).powi(2)),
            ("hardtanh'^2", &|x: f64| {
                if x.abs() < 1.0 {
                    1.0
                } else {
                    0.0
                }
            }),
            ("sigmoid^2", &|y| sig(y).powi(2)),
            ("sigmoid'^2", &|y| (sig(y) * (1.0 - sig(y))).powi(2)),
            ("tanh^2", &|y: f64| y.tanh().powi(2)),
            ("tanh'^2", &|y: f64| (1.0 - y.tanh().powi(2)).powi(2)),
        ];
        for (name, h) in cases {
            let got = mft.mean(s, h);
            let want = reference_average(s, h);
            let rel = (got - want).abs() / want;
            assert!(
                rel <= 1e-9,
                "{name} at s = {s}: {got} vs {want} (rel {rel:e})"
            );
            if s == 40.0 {
                let fixed = gh.mean(|x| h(s * x));
                worst_gh_at_40 = worst_gh_at_40.max((fixed - want).abs() / want);
            }
        }
    }
    assert!(
        worst_gh_at_40 > 1e-4,
        "a fixed 40-point rule should visibly fail at s = 40: {worst_gh_at_40:e}"
    );
}

/// Q_r and C_h against the adaptive reference, σ_r up to 40.
#[test]
fn q_r_and_c_h_match_adaptive_integration() {
    let mft = Mft::new();
    for (sh, sr) in [(2.5, 0.0), (2.5, 10.0), (3.0, 40.0), (1.8, 20.0)] {
        let p = GruMftParams::new(sh, sr);
        let fp = mft.fixed_point(&p).unwrap().expect("non-zero fixed point");
        let q_ref = reference_average(sr * fp.c_h.sqrt(), |y| sig(y).powi(2));
        assert!(
            (fp.q_r - q_ref).abs() / q_ref <= 1e-7,
            "Q_r({sh},{sr}) = {} vs {q_ref}",
            fp.q_r
        );
        // C_h is a fixed point of the map evaluated independently
        let f_ref = reference_average((sh * sh * q_ref * fp.c_h).sqrt(), |x: f64| x.tanh().powi(2));
        assert!(
            (f_ref - fp.c_h).abs() / fp.c_h <= 1e-7,
            "C_h({sh},{sr}) = {} but F = {f_ref}",
            fp.c_h
        );
    }
}

/// docs/THEORY.md §5: σ_h = 2.5, σ_r = 0 gives C_h = 0.20894 and ρ_s² = 1.0482
/// (5 significant digits as printed there).
#[test]
fn reference_values_of_theory() {
    let mft = Mft::new();
    let fp = mft
        .fixed_point(&GruMftParams::new(2.5, 0.0))
        .unwrap()
        .unwrap();
    assert!((fp.c_h - 0.20894).abs() < 5e-6, "C_h = {}", fp.c_h);
    assert!(
        (fp.shaping_sq - 1.0482).abs() < 5e-5,
        "ρ_s² = {}",
        fp.shaping_sq
    );
    assert!((fp.q_r - 0.25).abs() < 1e-15);
    assert!(!fp.stable());
    let sr = mft.bifurcation_sigma_r(1.8).unwrap();
    assert!((sr - 8.157).abs() < 5e-4, "σ_r*(1.8) = {sr}");
}

/// σ_r* → 2√2 as σ_h → 2⁻ (small-C expansion), monotonically, with
/// `σ_r*² − 8 ∝ √(2 − σ_h)` (measured: (σ_r*² − 8)/√(2 − σ_h) = 66.3, 32.6,
/// 27.6, 26.3, 25.9 at σ_h = 1.9 … 1.99999).
#[test]
fn bifurcation_limit_at_sigma_h_2() {
    let mft = Mft::new();
    let target = 2.0 * std::f64::consts::SQRT_2;
    let mut prev = f64::INFINITY;
    let mut slopes = vec![];
    for sh in [1.9, 1.99, 1.999, 1.9999, 1.99999] {
        let sr = mft.bifurcation_sigma_r(sh).unwrap();
        assert!(sr < prev && sr > target, "σ_r*({sh}) = {sr}");
        prev = sr;
        slopes.push((sr * sr - 8.0) / (2.0f64 - sh).sqrt());
    }
    assert!((prev - target) / target < 0.01, "σ_r*(1.99999) = {prev}");
    let n = slopes.len();
    assert!(
        (slopes[n - 1] / slopes[n - 2] - 1.0).abs() < 0.03,
        "square-root law: {slopes:?}"
    );
    let outside = Err(gatedyn::Error::InvalidParameter {
        name: "sigma_h (needs sqrt(2) < sigma_h < 2)",
    });
    assert_eq!(mft.bifurcation_sigma_r(1.4), outside);
    assert_eq!(mft.bifurcation_sigma_r(2.0), outside);
    // close to √2 the critical σ_r is large but found (the bracket widens
    // past 1000): σ_r*(1.42) ≈ 3983, σ_r*(1.415) ≈ 7.9e4
    let near = mft.bifurcation_sigma_r(1.42).unwrap();
    assert!((near / 3983.3 - 1.0).abs() < 1e-3, "σ_r*(1.42) = {near}");
    let nearer = mft.bifurcation_sigma_r(1.415).unwrap();
    assert!(nearer > 10.0 * near, "σ_r*(1.415) = {nearer}");
}

/// For σ_h ≤ √2 the map stays below the identity: no non-zero solution,
/// whatever σ_r.
#[test]
fn no_nonzero_solution_below_sqrt2() {
    let mft = Mft::new();
    for sh in [0.5, 1.0, 1.4, std::f64::consts::SQRT_2] {
        for sr in [0.0, 5.0, 40.0, 200.0] {
            let fp = mft.fixed_point(&GruMftParams::new(sh, sr)).unwrap();
            assert!(fp.is_none(), "σ_h = {sh}, σ_r = {sr}: {fp:?}");
        }
    }
    // and just above the bifurcation there is one
    assert!(mft
        .fixed_point(&GruMftParams::new(1.8, 8.3))
        .unwrap()
        .is_some());
    assert!(mft
        .fixed_point(&GruMftParams::new(1.8, 8.0))
        .unwrap()
        .is_none());
}

#[test]
fn zero_fixed_point_stability_with_biases() {
    let mft = Mft::new();
    assert!(mft.gru_zero_stable(&GruMftParams::new(1.99, 5.0)).unwrap());
    assert!(!mft.gru_zero_stable(&GruMftParams::new(2.01, 0.0)).unwrap());
    // a reset bias lowers E[r²] below 1/4 ... no: E[σ(b)²] > 1/4 for b ≠ 0
    let p = GruMftParams {
        bias_r: 1.0,
        ..GruMftParams::new(1.95, 0.0)
    };
    let er2 = mft.mean_sigmoid_sq(1.0);
    assert!(er2 > 0.25);
    assert_eq!(mft.gru_zero_stable(&p).unwrap(), 1.95 * 1.95 * er2 < 1.0);
    let bad = GruMftParams { bias_h: 0.1, ..p };
    assert_eq!(
        mft.gru_zero_stable(&bad),
        Err(gatedyn::Error::Infeasible {
            what: "no zero fixed point with a bias on h"
        })
    );
    // LSTM, zero bias: stable iff σ_c < 2
    let lstm = |c: f64| LstmScales::recurrent(1.0, 1.0, 1.0, c);
    assert!(mft.lstm_zero_stable(&lstm(1.99)).unwrap());
    assert!(!mft.lstm_zero_stable(&lstm(2.01)).unwrap());
    let mut biased_c = lstm(1.0);
    biased_c.c.bias = 0.1;
    assert_eq!(
        mft.lstm_zero_stable(&biased_c),
        Err(gatedyn::Error::Infeasible {
            what: "no zero fixed point with a bias on c"
        })
    );
    // the closed form of E[1/(1-σ(b))²] against quadrature
    let sb: f64 = 0.7;
    let closed = 1.0 + 2.0 * (0.5 * sb * sb).exp() + (2.0 * sb * sb).exp();
    let quad = reference_average(sb, |b| 1.0 / (1.0 - sig(b)).powi(2));
    assert!((closed - quad).abs() / quad < 1e-9);
    let mut s = LstmScales::recurrent(0.0, 0.0, 0.0, 1.0);
    (s.f.bias, s.i.bias, s.o.bias) = (sb, 0.3, 0.4);
    let lvl = mft.lstm_zero_level(&s).unwrap();
    let want = quad
        * reference_average(0.3, |b| sig(b).powi(2))
        * reference_average(0.4, |b| sig(b).powi(2));
    assert!((lvl - want).abs() / want < 1e-9);
}

#[test]
fn phase_diagram_regions() {
    let mft = Mft::new();
    let cls = |sh, sr| mft.classify(&GruMftParams::new(sh, sr)).unwrap();
    assert_eq!(cls(1.0, 1.0), GruRegion::StableZero);
    assert_eq!(cls(1.8, 5.0), GruRegion::StableZero);
    assert_eq!(cls(1.8, 10.0), GruRegion::Coexistence);
    assert_eq!(cls(2.5, 0.0), GruRegion::MarginallyStable); // ρ_s² = 1.0482
    assert_eq!(cls(6.0, 10.0), GruRegion::Chaotic);
    let fp = mft
        .fixed_point(&GruMftParams::new(6.0, 10.0))
        .unwrap()
        .unwrap();
    assert!(fp.shaping_sq >= 2.0);
}

/// Scales with only the update and reset biases set (the inputs of the
/// principled initialisation).
fn gru_biases(bias_z: f64, bias_r: f64) -> GruScales {
    let mut s = GruScales::default();
    (s.z.bias, s.r.bias) = (bias_z, bias_r);
    s
}

#[test]
fn principled_initialisation() {
    let mft = Mft::new();
    // zero bias: R = 1/2 + σ_h/4
    let sh = mft
        .gru_sigma_h_for_zero_radius(0.95, &gru_biases(0.0, 0.0))
        .unwrap();
    assert!((sh - 1.8).abs() < 1e-12, "{sh}");
    // with a reset bias: R = 1/2 + σ_h √E[r²] / 2
    let sh = mft
        .gru_sigma_h_for_zero_radius(0.95, &gru_biases(0.0, 0.8))
        .unwrap();
    let r = 0.5 + sh * mft.mean_sigmoid_sq(0.8).sqrt() / 2.0;
    assert!((r - 0.95).abs() < 1e-12);
    assert_eq!(
        mft.gru_sigma_h_for_zero_radius(0.4, &gru_biases(0.0, 0.0)),
        Err(gatedyn::Error::Infeasible {
            what: "radius must exceed 1 - z = 1/2"
        })
    );
    assert_eq!(
        mft.gru_sigma_h_for_zero_radius(0.95, &gru_biases(0.5, 0.0)),
        Err(gatedyn::Error::Infeasible {
            what: "a random update bias puts eigenvalues at 1"
        })
    );
    assert!(mft
        .gru_sigma_h_for_zero_radius(1.05, &gru_biases(0.5, 0.0))
        .is_ok());
    let sc = mft
        .lstm_sigma_c_for_zero_radius(0.95, &LstmScales::default())
        .unwrap();
    assert!((sc - 1.8).abs() < 1e-12);
    // σ_r giving ρ_s² = 1.5 at σ_h = 2.5
    let p = GruMftParams::new(2.5, 0.0);
    let sr = mft.gru_sigma_r_for_shaping(&p, 1.5).unwrap();
    let fp = mft
        .fixed_point(&GruMftParams::new(2.5, sr))
        .unwrap()
        .unwrap();
    assert!(
        (fp.shaping_sq - 1.5).abs() < 1e-6,
        "σ_r = {sr}: ρ_s² = {}",
        fp.shaping_sq
    );
    assert_eq!(
        mft.gru_sigma_r_for_shaping(&p, 0.5),
        Err(gatedyn::Error::Infeasible {
            what: "target shaping not reached for sigma_r in [0, 200]"
        })
    );
}

#[test]
fn hard_tanh_fixed_point() {
    // hard-tanh: F(C) = E[clamp(sX)²]; check against adaptive integration
    let mft = Mft::new();
    let p = GruMftParams {
        activation: Activation::HardTanh,
        ..GruMftParams::new(3.0, 2.0)
    };
    let fp = mft.fixed_point(&p).unwrap().unwrap();
    let q = reference_average(2.0 * fp.c_h.sqrt(), |y| sig(y).powi(2));
    let f = reference_average((9.0 * q * fp.c_h).sqrt(), |x: f64| {
        x.clamp(-1.0, 1.0).powi(2)
    });
    assert!((f - fp.c_h).abs() / fp.c_h < 1e-7, "{f} vs {}", fp.c_h);
    // ⟨φ'²⟩ is the unsaturated fraction P(|a_h| < 1)
    let s = (9.0 * q * fp.c_h).sqrt();
    let frac = reference_average(s, |x: f64| if x.abs() < 1.0 { 1.0 } else { 0.0 });
    assert!((fp.mean_dphi_sq - frac).abs() < 1e-6);
}

#[test]
fn invalid_parameters_are_errors() {
    let mft = Mft::new();
    use gatedyn::Error::InvalidParameter;
    assert_eq!(
        mft.fixed_point(&GruMftParams::new(-1.0, 0.0)),
        Err(InvalidParameter { name: "sigma_h" })
    );
    assert_eq!(
        mft.fixed_point(&GruMftParams::new(f64::NAN, 0.0)),
        Err(InvalidParameter { name: "sigma_h" })
    );
    assert_eq!(
        mft.classify(&GruMftParams::new(2.0, f64::INFINITY)),
        Err(InvalidParameter { name: "sigma_r" })
    );
    // finite but absurd: beyond MAX_MFT_SCALE the variances would overflow
    // (σ_h = 1e300 used to hang the quadrature); an error, at once
    assert_eq!(
        mft.fixed_point(&GruMftParams::new(1e300, 1.0)),
        Err(InvalidParameter { name: "sigma_h" })
    );
    let big = gatedyn::mft::MAX_MFT_SCALE;
    let fp = mft
        .fixed_point(&GruMftParams::new(big, big))
        .unwrap()
        .unwrap();
    assert!(fp.shaping_sq.is_finite() && fp.c_h == 1.0, "{fp:?}");
}

/// The steep-integrand average has a finite answer for every `s`: the
/// exact limit `(h(∞) + h(−∞))/2` at `s = ∞` (it used to loop forever when
/// `1/s` was 0), and values continuous with it for huge finite `s`.
#[test]
fn gaussian_average_at_extreme_scales() {
    let avg = gatedyn::quadrature::GaussianAverage::new();
    // E[σ(sX)²] → 1/2, E[tanh(sX)²] → 1, E[tanh'(sX)²] → 0
    assert_eq!(avg.mean(f64::INFINITY, |x| sig(x).powi(2)), 0.5);
    assert_eq!(avg.mean(f64::INFINITY, |x: f64| x.tanh().powi(2)), 1.0);
    assert!(avg.mean(f64::NAN, |x: f64| x.tanh()).is_nan());
    for s in [1e100, 1e300, f64::MAX] {
        let v = avg.mean(s, |x| sig(x).powi(2));
        assert!((v - 0.5).abs() < 1e-9, "s = {s:e}: {v}");
        let d = avg.mean(s, |x: f64| (1.0 - x.tanh().powi(2)).powi(2));
        assert!((0.0..1e-90).contains(&d), "s = {s:e}: {d}");
    }
    // the smallest positive s: h(0) to rounding
    let v = avg.mean(f64::from_bits(1), |x: f64| x.cos());
    assert!((v - 1.0).abs() < 1e-12, "{v}");
}

/// The quadrature-free initialisation equals the Mft one bit for bit at
/// zero biases over a range of targets, and rejects what it must.
#[test]
fn unbiased_initialisation_matches_the_mft() {
    use gatedyn::mft::gru_sigma_h_for_zero_radius_unbiased as unbiased;
    let mft = Mft::new();
    for k in 1..200 {
        let target = 0.5 + 0.01 * k as f64;
        let want = mft
            .gru_sigma_h_for_zero_radius(target, &gru_biases(0.0, 0.0))
            .unwrap();
        assert_eq!(
            unbiased(target).unwrap().to_bits(),
            want.to_bits(),
            "R = {target}"
        );
        assert!((want - 4.0 * (target - 0.5)).abs() < 1e-13);
    }
    assert_eq!(
        unbiased(0.5),
        Err(gatedyn::Error::Infeasible {
            what: "radius must exceed 1 - z = 1/2"
        })
    );
    assert!(matches!(
        unbiased(f64::NAN),
        Err(gatedyn::Error::InvalidParameter { .. })
    ));
}

/// The device path of the bifurcation (Illinois, coarse maximisation, flash
/// tables) agrees with the accurate bisection over the quadrature.
#[test]
fn device_bifurcation_agrees() {
    use gatedyn::field_table::TableAverages;
    use gatedyn::mft::BifurcationOptions;
    let (exact, table) = (Mft::new(), Mft::with_averages(TableAverages::new()));
    for sigma_h in [1.5, 1.8, 1.95] {
        let want = exact.bifurcation_sigma_r(sigma_h).unwrap();
        let fast = table
            .bifurcation_sigma_r_with(sigma_h, &BifurcationOptions::device())
            .unwrap();
        let same_path = exact
            .bifurcation_sigma_r_with(sigma_h, &BifurcationOptions::accurate())
            .unwrap();
        // the device algorithm on exact averages: to 1e-8 (measured 7e-9);
        // with the tables, their 4.2e-7 error grows where the gain is flat
        // in σ_r (measured 1.1e-6 at σ_h = 1.5, 2.3e-7 at 1.8)
        let algorithm_only = exact
            .bifurcation_sigma_r_with(sigma_h, &BifurcationOptions::device())
            .unwrap();
        assert!(
            (algorithm_only / want - 1.0).abs() < 1e-8,
            "σ_h = {sigma_h}"
        );
        assert!(
            (fast / want - 1.0).abs() < 3e-6,
            "σ_h = {sigma_h}: {fast} vs {want}"
        );
        assert!(
            (same_path / want - 1.0).abs() < 1e-9,
            "σ_h = {sigma_h}: {same_path} vs {want}"
        );
    }
    let bad = |opts: BifurcationOptions| table.bifurcation_sigma_r_with(1.8, &opts);
    let device = BifurcationOptions::device();
    for (opts, name) in [
        (
            BifurcationOptions {
                rel_tol: f64::NAN,
                ..device
            },
            "rel_tol",
        ),
        (
            BifurcationOptions {
                rel_tol: 1.0,
                ..device
            },
            "rel_tol",
        ),
        (BifurcationOptions { grid: 1, ..device }, "grid"),
        (
            BifurcationOptions {
                grid: usize::MAX,
                ..device
            },
            "grid",
        ),
        (
            BifurcationOptions {
                golden: 1_000_000,
                ..device
            },
            "golden",
        ),
    ] {
        assert_eq!(bad(opts), Err(gatedyn::Error::InvalidParameter { name }));
    }
    assert_eq!(
        table.bifurcation_sigma_r_with(2.5, &BifurcationOptions::device()),
        Err(gatedyn::Error::InvalidParameter {
            name: "sigma_h (needs sqrt(2) < sigma_h < 2)"
        })
    );
}
