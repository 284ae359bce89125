//! Cross-checks of the cells: Jacobians against central finite differences,
//! matrix-free products against the dense matrix, the zero-fixed-point
//! structure, and error reporting on non-finite data.

use gatedyn::init::{GateScale, Normal};
use gatedyn::{
    Activation, Error, Gru, GruFactorsMut, GruTrace, Lstm, LstmFactorsMut, LstmTrace, Quantity,
};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

const N: usize = 12;
const I: usize = 3;
/// Tolerance of the finite-difference check (relative to max |J|), f64.
const FD_TOL: f64 = 1e-6;
/// Tolerance of matrix-free against dense products (relative), f64.
const MATFREE_TOL: f64 = 1e-12;

fn scale(sigma: f64, bias: f64) -> GateScale {
    GateScale {
        sigma,
        bias,
        input: 1.0,
    }
}

fn gaussian_vec<const M: usize>(rng: &mut XorShiftRng, s: f64) -> [f64; M] {
    let mut nrm = Normal::new();
    core::array::from_fn(|_| s * nrm.sample(rng).unwrap())
}

fn max_abs(xs: impl IntoIterator<Item = f64>) -> f64 {
    xs.into_iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Central differences of a map R^M -> R^M (row-major M×M).
fn fd_jacobian<const M: usize>(x: [f64; M], f: impl Fn(&[f64; M]) -> [f64; M]) -> Vec<f64> {
    let mut j = vec![0.0; M * M];
    for col in 0..M {
        let eps = 1e-6 * (1.0 + x[col].abs());
        let (mut xp, mut xm) = (x, x);
        xp[col] += eps;
        xm[col] -= eps;
        let (fp, fm) = (f(&xp), f(&xm));
        for row in 0..M {
            j[row * M + col] = (fp[row] - fm[row]) / (2.0 * eps);
        }
    }
    j
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    max_abs(a.iter().zip(b).map(|(x, y)| x - y)) / max_abs(b.iter().copied())
}

fn gru(seed: u64, sigmas: [f64; 3], bias: f64, act: Activation) -> Gru<f64, N, I> {
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let mut net = Gru::zeroed();
    net.activation = act;
    net.randomize(&mut rng, sigmas.map(|s| scale(s, bias)))
        .unwrap();
    net
}

fn lstm(seed: u64, sigmas: [f64; 4], bias: f64, act: Activation) -> Lstm<f64, N, I> {
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let mut net = Lstm::zeroed();
    net.activation = act;
    net.randomize(&mut rng, sigmas.map(|s| scale(s, bias)))
        .unwrap();
    net
}

/// (label, gate scales, state scale): moderate and saturated regimes.
const REGIMES: [(&str, f64, f64); 2] = [("moderate", 1.5, 0.5), ("saturated", 6.0, 3.0)];

#[test]
fn gru_jacobian_matches_finite_differences() {
    for (label, s, hs) in REGIMES {
        for act in [Activation::Tanh, Activation::HardTanh] {
            let net = gru(11, [s, s * 1.3, s * 1.7], 0.4, act);
            let mut rng = XorShiftRng::seed_from_u64(5);
            let h: [f64; N] = gaussian_vec(&mut rng, hs);
            let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
            let mut t = GruTrace::zeroed();
            net.step_traced(&h, &x, &mut t).unwrap();
            if act == Activation::HardTanh {
                // FD is meaningless across a kink: skip states sitting on one.
                if t.a_h.iter().any(|a| (a.abs() - 1.0).abs() < 1e-4) {
                    continue;
                }
            }
            let mut jac = [[0.0; N]; N];
            net.jacobian(&h, &t, &mut jac).unwrap();
            let fd = fd_jacobian(h, |hp| {
                let mut out = [0.0; N];
                net.step(hp, &x, &mut out).unwrap();
                out
            });
            let e = rel_err(jac.as_flattened(), &fd);
            assert!(e <= FD_TOL, "GRU {label} {act:?}: relative error {e:e}");
            assert!(
                max_abs(jac.as_flattened().iter().copied()) > 1e-3,
                "trivial Jacobian"
            );
        }
    }
}

#[test]
fn lstm_jacobian_matches_finite_differences() {
    for (label, s, hs) in REGIMES {
        let net = lstm(12, [s, s * 1.2, s * 1.4, s * 1.6], 0.4, Activation::Tanh);
        let mut rng = XorShiftRng::seed_from_u64(6);
        let h: [f64; N] = gaussian_vec(&mut rng, hs.min(1.0));
        let c: [f64; N] = gaussian_vec(&mut rng, hs);
        let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
        let mut t = LstmTrace::zeroed();
        net.step_traced(&h, &c, &x, &mut t).unwrap();
        let mut jac = [[[[0.0; N]; 2]; N]; 2];
        net.jacobian(&h, &c, &t, &mut jac).unwrap();
        let flat = jac.as_flattened().as_flattened().as_flattened().to_vec();
        let mut state = [0.0; 2 * N];
        state[..N].copy_from_slice(&h);
        state[N..].copy_from_slice(&c);
        let fd = fd_jacobian(state, |s| {
            let (mut hh, mut cc) = ([0.0; N], [0.0; N]);
            hh.copy_from_slice(&s[..N]);
            cc.copy_from_slice(&s[N..]);
            let (mut h_out, mut c_out) = ([0.0; N], [0.0; N]);
            net.step(&hh, &cc, &x, &mut h_out, &mut c_out).unwrap();
            let mut out = [0.0; 2 * N];
            out[..N].copy_from_slice(&h_out);
            out[N..].copy_from_slice(&c_out);
            out
        });
        let e = rel_err(&flat, &fd);
        assert!(e <= FD_TOL, "LSTM {label}: relative error {e:e}");
    }
}

#[test]
fn gru_matrix_free_products_equal_dense() {
    let net = gru(21, [2.0, 3.0, 2.5], 0.3, Activation::Tanh);
    let mut rng = XorShiftRng::seed_from_u64(2);
    let h: [f64; N] = gaussian_vec(&mut rng, 0.7);
    let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
    let v: [f64; N] = gaussian_vec(&mut rng, 1.0);
    let mut t = GruTrace::zeroed();
    net.step_traced(&h, &x, &mut t).unwrap();
    let mut jac = [[0.0; N]; N];
    net.jacobian(&h, &t, &mut jac).unwrap();
    let dense_jv: Vec<f64> = (0..N)
        .map(|i| (0..N).map(|j| jac[i][j] * v[j]).sum())
        .collect();
    let dense_jtv: Vec<f64> = (0..N)
        .map(|j| (0..N).map(|i| jac[i][j] * v[i]).sum())
        .collect();
    let (mut jv, mut jtv) = ([0.0; N], [0.0; N]);
    net.jvp(&h, &t, &v, &mut jv).unwrap();
    net.vjp(&h, &t, &v, &mut jtv).unwrap();
    assert!(
        rel_err(&jv, &dense_jv) <= MATFREE_TOL,
        "{:e}",
        rel_err(&jv, &dense_jv)
    );
    assert!(
        rel_err(&jtv, &dense_jtv) <= MATFREE_TOL,
        "{:e}",
        rel_err(&jtv, &dense_jtv)
    );
}

#[test]
fn lstm_matrix_free_products_equal_dense() {
    let net = lstm(22, [2.0, 3.0, 2.5, 1.5], 0.3, Activation::Tanh);
    let mut rng = XorShiftRng::seed_from_u64(3);
    let h: [f64; N] = gaussian_vec(&mut rng, 0.7);
    let c: [f64; N] = gaussian_vec(&mut rng, 1.5);
    let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
    let v: [[f64; N]; 2] = [gaussian_vec(&mut rng, 1.0), gaussian_vec(&mut rng, 1.0)];
    let mut t = LstmTrace::zeroed();
    net.step_traced(&h, &c, &x, &mut t).unwrap();
    let mut jac = [[[[0.0; N]; 2]; N]; 2];
    net.jacobian(&h, &c, &t, &mut jac).unwrap();
    let j = jac.as_flattened().as_flattened().as_flattened();
    let vf = v.as_flattened();
    let m = 2 * N;
    let dense_jv: Vec<f64> = (0..m)
        .map(|i| (0..m).map(|k| j[i * m + k] * vf[k]).sum())
        .collect();
    let dense_jtv: Vec<f64> = (0..m)
        .map(|k| (0..m).map(|i| j[i * m + k] * vf[i]).sum())
        .collect();
    let (mut jv, mut jtv) = ([[0.0; N]; 2], [[0.0; N]; 2]);
    net.jvp(&h, &c, &t, &v, &mut jv).unwrap();
    net.vjp(&h, &c, &t, &v, &mut jtv).unwrap();
    assert!(rel_err(jv.as_flattened(), &dense_jv) <= MATFREE_TOL);
    assert!(rel_err(jtv.as_flattened(), &dense_jtv) <= MATFREE_TOL);
}

/// docs/THEORY.md §4: at h = 0 with b_h = 0, J = (1 - z₀) I + z₀ r₀ U_h exactly.
#[test]
fn gru_zero_fixed_point_jacobian_structure() {
    let mut net = gru(31, [1.0, 2.0, 1.5], 0.0, Activation::Tanh);
    net.z.b = [0.7; N]; // constant biases on the gates, none on h
    net.r.b = [-0.4; N];
    let h = [0.0; N];
    let x = [0.0; I];
    let mut t = GruTrace::zeroed();
    net.step_traced(&h, &x, &mut t).unwrap();
    assert_eq!(t.next, [0.0; N], "h = 0 is a fixed point");
    let (z0, r0) = (1.0 / (1.0 + (-0.7f64).exp()), 1.0 / (1.0 + 0.4f64.exp()));
    let mut jac = [[0.0; N]; N];
    net.jacobian(&h, &t, &mut jac).unwrap();
    for i in 0..N {
        for j in 0..N {
            let want = if i == j { 1.0 - z0 } else { 0.0 } + z0 * r0 * net.h.u[i][j];
            assert!(
                (jac[i][j] - want).abs() <= 1e-15,
                "({i},{j}): {} vs {want}",
                jac[i][j]
            );
        }
    }
}

/// docs/THEORY.md §4 (LSTM zero fixed point): J = [[o i U_c, o f I], [i U_c, f I]].
#[test]
fn lstm_zero_fixed_point_jacobian_blocks() {
    let mut net = lstm(32, [1.0, 1.0, 1.0, 1.5], 0.0, Activation::Tanh);
    net.f.b = [1.0; N];
    net.i.b = [-0.5; N];
    net.o.b = [0.25; N];
    let (h, c, x) = ([0.0; N], [0.0; N], [0.0; I]);
    let mut t = LstmTrace::zeroed();
    net.step_traced(&h, &c, &x, &mut t).unwrap();
    let s = |b: f64| 1.0 / (1.0 + (-b).exp());
    let (f0, i0, o0) = (s(1.0), s(-0.5), s(0.25));
    let mut jac = [[[[0.0; N]; 2]; N]; 2];
    net.jacobian(&h, &c, &t, &mut jac).unwrap();
    for i in 0..N {
        for j in 0..N {
            let d = if i == j { 1.0 } else { 0.0 };
            let uc = net.c.u[i][j];
            let want = [[o0 * i0 * uc, o0 * f0 * d], [i0 * uc, f0 * d]];
            for br in 0..2 {
                for bc in 0..2 {
                    assert!((jac[br][i][bc][j] - want[br][bc]).abs() <= 1e-15);
                }
            }
        }
    }
}

#[test]
fn non_finite_data_gives_typed_errors() {
    let net = gru(41, [1.0, 1.0, 1.0], 0.1, Activation::Tanh);
    let mut out = [0.0; N];
    let mut h = [0.1; N];
    h[4] = f64::NAN;
    assert_eq!(
        net.step(&h, &[0.0; I], &mut out),
        Err(Error::NonFinite {
            what: Quantity::State,
            index: 4
        })
    );
    let x = [0.0, f64::INFINITY, 0.0];
    assert_eq!(
        net.step(&[0.1; N], &x, &mut out),
        Err(Error::NonFinite {
            what: Quantity::Input,
            index: 1
        })
    );
    // A NaN weight in U_r row 2, column 5: gate r is the second gate.
    let mut bad = net.clone();
    bad.r.u[2][5] = f64::NAN;
    let per_gate = N * (N + I + 1);
    assert_eq!(
        bad.step(&[0.1; N], &[0.0; I], &mut out),
        Err(Error::NonFinite {
            what: Quantity::Weight,
            index: per_gate + 2 * N + 5
        })
    );
    // Hard-tanh would clamp a NaN away silently; it must still be an error.
    let mut bad = net.clone();
    bad.activation = Activation::HardTanh;
    bad.h.b[0] = f64::NAN;
    assert!(matches!(
        bad.step(&[0.1; N], &[0.0; I], &mut out),
        Err(Error::NonFinite {
            what: Quantity::Weight,
            ..
        })
    ));
    // Overflow from finite but absurd weights is reported as a result.
    let mut huge = net.clone();
    huge.z.u[0] = [f64::MAX; N];
    assert!(matches!(
        huge.step(&[1.0; N], &[0.0; I], &mut out),
        Err(Error::NonFinite {
            what: Quantity::Result,
            ..
        })
    ));
    // Matrix-free product with a NaN vector.
    let mut t = GruTrace::zeroed();
    net.step_traced(&[0.1; N], &[0.0; I], &mut t).unwrap();
    let mut v = [1.0; N];
    v[7] = f64::NAN;
    assert_eq!(
        net.jvp(&[0.1; N], &t, &v, &mut out),
        Err(Error::NonFinite {
            what: Quantity::Vector,
            index: 7
        })
    );
    // LSTM: non-finite cell state.
    let l = lstm(42, [1.0; 4], 0.0, Activation::Tanh);
    let (lh, mut lc) = ([0.0; N], [0.0; N]);
    lc[3] = f64::NEG_INFINITY;
    let (mut h_out, mut c_out) = ([0.0; N], [0.0; N]);
    assert_eq!(
        l.step(&lh, &lc, &[0.0; I], &mut h_out, &mut c_out),
        Err(Error::NonFinite {
            what: Quantity::CellState,
            index: 3
        })
    );
}

#[test]
fn invalid_scales_are_rejected() {
    let mut net: Gru<f32, 4, 0> = Gru::zeroed();
    let mut rng = XorShiftRng::seed_from_u64(0);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let r = net.randomize(
            &mut rng,
            [
                GateScale::recurrent(1.0),
                GateScale::recurrent(bad),
                GateScale::recurrent(1.0),
            ],
        );
        assert_eq!(r, Err(Error::InvalidParameter { name: "sigma_r" }));
    }
}

fn matvec(u: &[f64], v: &[f64]) -> Vec<f64> {
    let n = v.len();
    (0..n)
        .map(|i| (0..n).map(|k| u[i * n + k] * v[k]).sum())
        .collect()
}

/// docs/THEORY.md §3 term by term: `J v` assembled from the published diagonal
/// factors and plain matrix-vector products equals the core's `jvp`.
#[test]
fn gru_factors_reassemble_the_jacobian_product() {
    for (bias, act) in [(0.3, Activation::Tanh), (1.0, Activation::HardTanh)] {
        let net = gru(23, [2.0, 3.0, 2.5], bias, act);
        let mut rng = XorShiftRng::seed_from_u64(4);
        let h: [f64; N] = gaussian_vec(&mut rng, 0.7);
        let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
        let v: [f64; N] = gaussian_vec(&mut rng, 1.0);
        let mut t = GruTrace::zeroed();
        net.step_traced(&h, &x, &mut t).unwrap();
        let mut d = [[0.0; N]; 5];
        let [keep, cand, reset, slope, update] = &mut d;
        net.view()
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
        let [gz, gr, gh] = net.view().gates();
        let ur_v = matvec(gr.u, &v);
        let s: Vec<f64> = (0..N).map(|k| d[2][k] * v[k] + d[3][k] * ur_v[k]).collect();
        let (uh_s, uz_v) = (matvec(gh.u, &s), matvec(gz.u, &v));
        let assembled: Vec<f64> = (0..N)
            .map(|i| d[0][i] * v[i] + d[1][i] * uh_s[i] + d[4][i] * uz_v[i])
            .collect();
        let mut jv = [0.0; N];
        net.jvp(&h, &t, &v, &mut jv).unwrap();
        let e = rel_err(&assembled, &jv);
        assert!(e <= MATFREE_TOL, "{act:?}: {e:e}");
        // the factors are not trivially zero: the update term matters here
        assert!(d[4].iter().any(|&f| f.abs() > 1e-3));
    }
}

#[test]
fn lstm_factors_reassemble_the_jacobian_product() {
    let net = lstm(24, [2.0, 3.0, 2.5, 1.5], 0.3, Activation::Tanh);
    let mut rng = XorShiftRng::seed_from_u64(5);
    let h: [f64; N] = gaussian_vec(&mut rng, 0.7);
    let c: [f64; N] = gaussian_vec(&mut rng, 1.5);
    let x: [f64; I] = gaussian_vec(&mut rng, 1.0);
    let v: [[f64; N]; 2] = [gaussian_vec(&mut rng, 1.0), gaussian_vec(&mut rng, 1.0)];
    let mut t = LstmTrace::zeroed();
    net.step_traced(&h, &c, &x, &mut t).unwrap();
    let mut d = [[0.0; N]; 6];
    let [forget, fs, is, cs, os, output] = &mut d;
    net.view()
        .factors(
            &h,
            &c,
            t.view(),
            LstmFactorsMut {
                forget,
                forget_slope: fs,
                input_slope: is,
                cell_slope: cs,
                output_slope: os,
                output,
            },
        )
        .unwrap();
    let [gf, gi, go, gc] = net.view().gates();
    let (uf, ui, uc, uo) = (
        matvec(gf.u, &v[0]),
        matvec(gi.u, &v[0]),
        matvec(gc.u, &v[0]),
        matvec(go.u, &v[0]),
    );
    let dc: Vec<f64> = (0..N)
        .map(|k| d[0][k] * v[1][k] + d[1][k] * uf[k] + d[2][k] * ui[k] + d[3][k] * uc[k])
        .collect();
    let dh: Vec<f64> = (0..N).map(|k| d[4][k] * uo[k] + d[5][k] * dc[k]).collect();
    let assembled: Vec<f64> = dh.iter().chain(&dc).copied().collect();
    let mut jv = [[0.0; N]; 2];
    net.jvp(&h, &c, &t, &v, &mut jv).unwrap();
    let e = rel_err(&assembled, jv.as_flattened());
    assert!(e <= MATFREE_TOL, "{e:e}");
}
