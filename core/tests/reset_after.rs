//! The reset-after GRU (PyTorch `nn.GRU`, ONNX `linear_before_reset = 1`,
//! docs/THEORY.md §9): its step against the framework's equations written
//! out independently, its Jacobian against central differences (tanh and
//! hard-tanh, moderate and saturated states), the matrix-free products and
//! the factors against the dense matrix, and the loading errors.

use gatedyn::init::{GateScale, Normal};
use gatedyn::{
    Activation, Error, GateRef, Gru, GruFactorsMut, GruForm, GruGates, GruRef, GruTrace, Quantity,
};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

const N: usize = 10;
const I: usize = 3;
/// Finite differences with step 1e-6: relative error of a correct
/// Jacobian ≈ 1e-9; a wrong term is O(1).
const FD_TOL: f64 = 1e-6;

fn gaussian(rng: &mut XorShiftRng, len: usize, s: f64) -> Vec<f64> {
    let mut nrm = Normal::new();
    (0..len).map(|_| s * nrm.sample(rng).unwrap()).collect()
}

fn max_abs(xs: impl IntoIterator<Item = f64>) -> f64 {
    xs.into_iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    max_abs(a.iter().zip(b).map(|(x, y)| x - y)) / max_abs(b.iter().copied())
}

/// A reset-after GRU with gate scale `s` (weights `N(0, s²/N)`), biases
/// `N(0, 0.4²)`, `b_hn ~ N(0, 0.5²)`.
fn net(seed: u64, s: f64, act: Activation) -> Gru<f64, N, I> {
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let mut g: Gru<f64, N, I> = Gru::zeroed();
    let scale = GateScale {
        sigma: s,
        bias: 0.4,
        input: 1.0,
    };
    g.randomize(&mut rng, [scale; 3]).unwrap();
    let b_hn = gaussian(&mut rng, N, 0.5);
    g.form = GruForm::ResetAfter {
        recurrent_bias: core::array::from_fn(|i| b_hn[i]),
    };
    g.activation = act;
    g
}

/// PyTorch's equations with PyTorch's update gate `z_pt = σ(-a_z)` (this
/// crate's `z` negated), written from its documentation, not from the core.
fn torch_step(g: &Gru<f64, N, I>, h: &[f64; N], x: &[f64; I]) -> [f64; N] {
    let sig = |a: f64| 1.0 / (1.0 + (-a).exp());
    let GruForm::ResetAfter { recurrent_bias } = g.form else {
        unreachable!()
    };
    let pre = |gate: &gatedyn::Gate<f64, N, I>, i: usize, with_u: bool| {
        let mut a = gate.b[i];
        for k in 0..I {
            a += gate.w[i][k] * x[k];
        }
        if with_u {
            for k in 0..N {
                a += gate.u[i][k] * h[k];
            }
        }
        a
    };
    core::array::from_fn(|i| {
        let z_pt = sig(-pre(&g.z, i, true));
        let r = sig(pre(&g.r, i, true));
        let hn: f64 = (0..N).map(|k| g.h.u[i][k] * h[k]).sum::<f64>() + recurrent_bias[i];
        let a = pre(&g.h, i, false) + r * hn;
        let n = match g.activation {
            Activation::Tanh => a.tanh(),
            Activation::HardTanh => a.clamp(-1.0, 1.0),
        };
        (1.0 - z_pt) * n + z_pt * h[i]
    })
}

const REGIMES: [(&str, f64, f64); 2] = [("moderate", 1.5, 0.5), ("saturated", 6.0, 3.0)];

#[test]
fn step_follows_the_pytorch_equations() {
    for (label, s, hs) in REGIMES {
        for act in [Activation::Tanh, Activation::HardTanh] {
            let g = net(3, s, act);
            let mut rng = XorShiftRng::seed_from_u64(9);
            let h: [f64; N] = gaussian(&mut rng, N, hs).try_into().unwrap();
            let x: [f64; I] = gaussian(&mut rng, I, 1.0).try_into().unwrap();
            let mut out = [0.0; N];
            g.step(&h, &x, &mut out).unwrap();
            let want = torch_step(&g, &h, &x);
            let e = max_abs(out.iter().zip(&want).map(|(a, b)| a - b));
            assert!(e < 1e-14, "{label} {act:?}: {e:e}");
            // the form matters: the paper form gives another state
            let mut paper = g.clone();
            paper.form = GruForm::ResetBefore;
            let mut other = [0.0; N];
            paper.step(&h, &x, &mut other).unwrap();
            let d = max_abs(out.iter().zip(&other).map(|(a, b)| a - b));
            assert!(d > 1e-3, "{label} {act:?}: the forms agree ({d:e})");
        }
    }
}

#[test]
fn jacobian_matches_finite_differences_and_products() {
    for (label, s, hs) in REGIMES {
        for act in [Activation::Tanh, Activation::HardTanh] {
            let g = net(4, s, act);
            let mut rng = XorShiftRng::seed_from_u64(10);
            let h: [f64; N] = gaussian(&mut rng, N, hs).try_into().unwrap();
            let x: [f64; I] = gaussian(&mut rng, I, 1.0).try_into().unwrap();
            let mut t = GruTrace::zeroed();
            g.step_traced(&h, &x, &mut t).unwrap();
            if act == Activation::HardTanh && t.a_h.iter().any(|a| (a.abs() - 1.0).abs() < 1e-4) {
                continue; // on a kink: no derivative to compare with
            }
            let mut jac = [[0.0; N]; N];
            g.jacobian(&h, &t, &mut jac).unwrap();
            let mut fd = vec![0.0; N * N];
            for col in 0..N {
                let eps = 1e-6 * (1.0 + h[col].abs());
                let (mut hp, mut hm) = (h, h);
                hp[col] += eps;
                hm[col] -= eps;
                let (fp, fm) = (torch_step(&g, &hp, &x), torch_step(&g, &hm, &x));
                for row in 0..N {
                    fd[row * N + col] = (fp[row] - fm[row]) / (2.0 * eps);
                }
            }
            let flat = jac.as_flattened();
            let e = rel_err(flat, &fd);
            assert!(e <= FD_TOL, "{label} {act:?}: J vs FD {e:e}");
            assert!(max_abs(flat.iter().copied()) > 1e-3, "trivial Jacobian");

            let v: [f64; N] = gaussian(&mut rng, N, 1.0).try_into().unwrap();
            let (mut jv, mut jtv) = ([0.0; N], [0.0; N]);
            g.jvp(&h, &t, &v, &mut jv).unwrap();
            g.vjp(&h, &t, &v, &mut jtv).unwrap();
            let dense_jv: Vec<f64> = (0..N)
                .map(|i| (0..N).map(|k| jac[i][k] * v[k]).sum())
                .collect();
            let dense_jtv: Vec<f64> = (0..N)
                .map(|k| (0..N).map(|i| jac[i][k] * v[i]).sum())
                .collect();
            assert!(rel_err(&jv, &dense_jv) < 1e-12, "{label} {act:?}: J v");
            assert!(rel_err(&jtv, &dense_jtv) < 1e-12, "{label} {act:?}: Jᵀ v");

            // J v from the factors, with the reset-after formula
            let mut f = [[0.0; N]; 5];
            let [keep, cand, reset, slope, update] = &mut f;
            g.view()
                .factors(
                    &h,
                    t.view(),
                    GruFactorsMut {
                        keep,
                        candidate: cand,
                        reset,
                        reset_slope: slope,
                        update,
                    },
                )
                .unwrap();
            let mv = |u: &[[f64; N]; N], i: usize| (0..N).map(|k| u[i][k] * v[k]).sum::<f64>();
            let from_factors: Vec<f64> = (0..N)
                .map(|i| {
                    f[0][i] * v[i]
                        + f[1][i] * (f[2][i] * mv(&g.h.u, i) + f[3][i] * mv(&g.r.u, i))
                        + f[4][i] * mv(&g.z.u, i)
                })
                .collect();
            assert!(
                rel_err(&from_factors, &dense_jv) < 1e-12,
                "{label}: factors"
            );
        }
    }
}

#[test]
fn loading_names_the_gate_and_the_array() {
    let u = vec![0.1f32; N * N];
    let w = [0.2f32; N * I];
    let b = vec![0.3f32; N];
    let b_hn = [0.4f32; N];
    let g = GateRef {
        u: &u[..],
        w: &w[..],
        b: &b[..],
    };
    let mut net: Gru<f32, N, I> = Gru::zeroed();
    let after = GruForm::ResetAfter {
        recurrent_bias: &b_hn[..],
    };
    net.load(GruGates { z: g, r: g, h: g }, after).unwrap();
    assert_eq!(net.r.w[N - 1][I - 1], 0.2);
    assert_eq!(
        net.form,
        GruForm::ResetAfter {
            recurrent_bias: [0.4; N]
        }
    );

    let short_w = GateRef { w: &w[1..], ..g };
    assert_eq!(
        net.load(
            GruGates {
                z: g,
                r: g,
                h: short_w
            },
            after
        ),
        Err(Error::WeightShape {
            gate: "h",
            matrix: "W",
            expected: N * I,
            found: N * I - 1
        })
    );
    let long_bhn = [0.0f32; N + 1];
    assert_eq!(
        net.load(
            GruGates { z: g, r: g, h: g },
            GruForm::ResetAfter {
                recurrent_bias: &long_bhn[..]
            }
        ),
        Err(Error::WeightShape {
            gate: "h",
            matrix: "b_hn",
            expected: N,
            found: N + 1
        })
    );
    // a NaN in the bias of z: index counts U (N²), W (N·I), then b
    let mut bad_b = b.clone();
    bad_b[2] = f32::NAN;
    let bad = GateRef { b: &bad_b[..], ..g };
    let before = net.clone();
    assert_eq!(
        net.load(GruGates { z: bad, r: g, h: g }, after),
        Err(Error::NonFinite {
            what: Quantity::Weight,
            index: N * N + N * I + 2
        })
    );
    assert_eq!(net, before, "a failed load writes nothing");

    // f64 sources load into an f32 network, rounding to nearest
    let u64s = vec![0.1f64; N * N];
    let g64 = GateRef {
        u: &u64s[..],
        w: &[0.0f64; N * I][..],
        b: &[0.0f64; N][..],
    };
    net.load(
        GruGates {
            z: g64,
            r: g64,
            h: g64,
        },
        GruForm::ResetBefore,
    )
    .unwrap();
    assert_eq!(net.z.u[3][4], 0.1f32);
    assert_eq!(net.form, GruForm::ResetBefore);
}

#[test]
fn views_check_the_recurrent_bias() {
    let (u, b) = ([0.0f64; 4], [0.0f64; 2]);
    let g = GateRef {
        u: &u[..],
        w: &[],
        b: &b[..],
    };
    let nan = [f64::NAN, 0.0];
    let view = GruRef::with_form(
        2,
        0,
        GruGates { z: g, r: g, h: g },
        GruForm::ResetAfter {
            recurrent_bias: &nan[..],
        },
        Activation::Tanh,
    )
    .unwrap();
    // per gate: 4 (U) + 0 (W) + 2 (b); b_hn starts after three gates
    assert_eq!(
        view.check_weights(),
        Err(Error::NonFinite {
            what: Quantity::Weight,
            index: 18
        })
    );
    let short = [0.0f64; 3];
    assert_eq!(
        GruRef::new(
            2,
            0,
            GruGates {
                z: g,
                r: GateRef { u: &short[..], ..g },
                h: g
            },
            Activation::Tanh
        )
        .unwrap_err(),
        Error::WeightShape {
            gate: "r",
            matrix: "U",
            expected: 4,
            found: 3
        }
    );
}
