//! The core's public API on random sizes, values and forms (proptest):
//! `GruRef` (both forms, both activations) and `LstmRef`, in `f64` and
//! `f32`, built from arrays whose lengths are right or off by one and
//! whose values include NaN, ±∞, ±f64::MAX and 1e300; then a step, the
//! dense Jacobian, the factors and the products with the Jacobian and its
//! transpose, into buffers of right or wrong lengths. Every call returns a
//! typed error or finite output: never a panic, never a NaN or an infinity
//! reported as a result.

use gatedyn::{
    Activation, Error, GateRef, GruFactorsMut, GruForm, GruGates, GruRef, GruTraceMut, GruTraceRef,
    LstmFactorsMut, LstmGates, LstmRef, LstmTraceMut, LstmTraceRef, Real,
};
use proptest::prelude::*;

/// Ordinary values, or (in an `extreme` case) one in ten extreme or not
/// finite.
fn value(extreme: bool) -> BoxedStrategy<f64> {
    if !extreme {
        return prop_oneof![9 => -3.0..3.0f64, 1 => -1e6..1e6f64].boxed();
    }
    prop_oneof![
        8 => -3.0..3.0f64,
        1 => -1e6..1e6f64,
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(1e300),
            Just(-1e300),
            Just(f64::MIN_POSITIVE),
            Just(0.0),
        ],
    ]
    .boxed()
}

/// What a case gets wrong: some lengths, some values, both or neither.
#[derive(Debug, Clone, Copy)]
struct Faults {
    lengths: bool,
    values: bool,
}

fn faults() -> impl Strategy<Value = Faults> {
    (prop::bool::weighted(0.2), prop::bool::weighted(0.3))
        .prop_map(|(lengths, values)| Faults { lengths, values })
}

/// `len` values, or (with wrong lengths, one time in ten) a length from 0
/// to `len + 1`.
fn values(len: usize, f: Faults) -> impl Strategy<Value = Vec<f64>> {
    length(len, f).prop_flat_map(move |l| prop::collection::vec(value(f.values), l))
}

/// A buffer length: `len`, or (with wrong lengths, one time in ten) off.
fn length(len: usize, f: Faults) -> BoxedStrategy<usize> {
    if f.lengths {
        prop_oneof![9 => Just(len), 1 => 0..=len + 1].boxed()
    } else {
        Just(len).boxed()
    }
}

#[derive(Debug, Clone)]
struct Gate {
    u: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
}

fn gate(n: usize, inputs: usize, f: Faults) -> impl Strategy<Value = Gate> {
    (values(n * n, f), values(n * inputs, f), values(n, f)).prop_map(|(u, w, b)| Gate { u, w, b })
}

/// A random cell: sizes, gates (3 for a GRU, 4 for an LSTM), the
/// reset-after bias, the state, the cell state, the input, the vector of
/// the products, and the lengths of the buffers.
#[derive(Debug, Clone)]
struct Case {
    n: usize,
    inputs: usize,
    reset_after: bool,
    activation: Activation,
    gates: Vec<Gate>,
    b_hn: Vec<f64>,
    h: Vec<f64>,
    c: Vec<f64>,
    x: Vec<f64>,
    v: Vec<f64>,
    trace_len: usize,
    out_len: usize,
}

fn case(gates: usize) -> impl Strategy<Value = Case> {
    // n = 0 is refused: one case in sixteen
    let n = prop_oneof![1 => Just(0usize), 15 => 1usize..=7];
    (n, 0usize..=4, any::<bool>(), any::<bool>(), faults()).prop_flat_map(
        move |(n, inputs, reset_after, hard, f)| {
            (
                prop::collection::vec(gate(n, inputs, f), gates),
                values(n, f),
                values(n, f),
                values(n, f),
                values(inputs, f),
                values(n, f),
                length(n, f),
                length(n * n, f),
            )
                .prop_map(move |(gates, b_hn, h, c, x, v, trace_len, out_len)| Case {
                    n,
                    inputs,
                    reset_after,
                    activation: if hard {
                        Activation::HardTanh
                    } else {
                        Activation::Tanh
                    },
                    gates,
                    b_hn,
                    h,
                    c,
                    x,
                    v,
                    trace_len,
                    out_len,
                })
        },
    )
}

fn to<F: Real>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::from_f64(x)).collect()
}

fn finite<F: Real>(v: &[F]) -> bool {
    v.iter().all(|x| x.to_f64().is_finite())
}

/// What a refusal of data may be: each a typed error saying what is wrong.
fn typed(e: &Error) -> bool {
    matches!(
        e,
        Error::NonFinite { .. }
            | Error::DimensionMismatch { .. }
            | Error::WeightShape { .. }
            | Error::WorkspaceTooSmall { .. }
            | Error::InvalidParameter { .. }
    )
}

/// Checks one case; `Ok` carries how many calls returned output (0: the
/// view was refused).
fn gru_case<F: Real>(c: &Case) -> Result<usize, TestCaseError> {
    let g: Vec<(Vec<F>, Vec<F>, Vec<F>)> = c
        .gates
        .iter()
        .map(|g| (to(&g.u), to(&g.w), to(&g.b)))
        .collect();
    let r = |k: usize| GateRef {
        u: &g[k].0,
        w: &g[k].1,
        b: &g[k].2,
    };
    let b_hn: Vec<F> = to(&c.b_hn);
    let form = if c.reset_after {
        GruForm::ResetAfter {
            recurrent_bias: &b_hn[..],
        }
    } else {
        GruForm::ResetBefore
    };
    let gates = GruGates {
        z: r(0),
        r: r(1),
        h: r(2),
    };
    let net = match GruRef::with_form(c.n, c.inputs, gates, form, c.activation) {
        Ok(net) => net,
        Err(e) => {
            prop_assert!(typed(&e), "{e:?}");
            return Ok(0);
        }
    };
    let mut answered = 0;
    let _ = net.check_weights().map_err(|e| assert!(typed(&e), "{e:?}"));
    let (h, x, v): (Vec<F>, Vec<F>, Vec<F>) = (to(&c.h), to(&c.x), to(&c.v));
    let mut t: Vec<Vec<F>> = (0..8).map(|_| vec![F::ZERO; c.trace_len]).collect();
    let [z, rr, cand, a_z, a_r, a_h, rho, next] = &mut t[..] else {
        unreachable!()
    };
    let trace = GruTraceMut {
        z,
        r: rr,
        candidate: cand,
        a_z,
        a_r,
        a_h,
        reset_operand: rho,
        next,
    };
    if let Err(e) = net.step(&h, &x, trace) {
        prop_assert!(typed(&e), "{e:?}");
        return Ok(answered);
    }
    answered += 1;
    prop_assert!(finite(&t[7]), "the step's next state");
    let tr = GruTraceRef {
        z: &t[0],
        r: &t[1],
        candidate: &t[2],
        a_z: &t[3],
        a_r: &t[4],
        a_h: &t[5],
        reset_operand: &t[6],
        next: &t[7],
    };
    let mut out = vec![F::ZERO; c.out_len];
    match net.jacobian(&h, tr, &mut out) {
        Ok(()) => {
            prop_assert!(finite(&out), "the Jacobian");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    let (mut out, mut scratch) = (vec![F::ZERO; c.n], vec![F::ZERO; c.n]);
    for transpose in [false, true] {
        let r = if transpose {
            net.vjp(&h, tr, &v, &mut out, &mut scratch)
        } else {
            net.jvp(&h, tr, &v, &mut out, &mut scratch)
        };
        match r {
            Ok(()) => {
                prop_assert!(finite(&out), "a Jacobian product");
                answered += 1;
            }
            Err(e) => prop_assert!(typed(&e), "{e:?}"),
        }
    }
    let mut f: Vec<Vec<F>> = (0..5).map(|_| vec![F::ZERO; c.n]).collect();
    let [keep, candidate, reset, reset_slope, update] = &mut f[..] else {
        unreachable!()
    };
    let factors = GruFactorsMut {
        keep,
        candidate,
        reset,
        reset_slope,
        update,
    };
    match net.factors(&h, tr, factors) {
        Ok(()) => {
            prop_assert!(f.iter().all(|s| finite(s)), "the factors");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    Ok(answered)
}

/// [`gru_case`] for the LSTM.
fn lstm_case<F: Real>(c: &Case) -> Result<usize, TestCaseError> {
    let g: Vec<(Vec<F>, Vec<F>, Vec<F>)> = c
        .gates
        .iter()
        .map(|g| (to(&g.u), to(&g.w), to(&g.b)))
        .collect();
    let r = |k: usize| GateRef {
        u: &g[k].0,
        w: &g[k].1,
        b: &g[k].2,
    };
    let gates = LstmGates {
        f: r(0),
        i: r(1),
        o: r(2),
        c: r(3),
    };
    let net = match LstmRef::new(c.n, c.inputs, gates, c.activation) {
        Ok(net) => net,
        Err(e) => {
            prop_assert!(typed(&e), "{e:?}");
            return Ok(0);
        }
    };
    let mut answered = 0;
    let _ = net.check_weights().map_err(|e| assert!(typed(&e), "{e:?}"));
    let (h, cs, x, v): (Vec<F>, Vec<F>, Vec<F>, Vec<F>) = (to(&c.h), to(&c.c), to(&c.x), to(&c.v));
    let mut t: Vec<Vec<F>> = (0..11).map(|_| vec![F::ZERO; c.trace_len]).collect();
    let [f, i, o, gg, a_f, a_i, a_o, a_c, c_next, c_act, h_next] = &mut t[..] else {
        unreachable!()
    };
    let trace = LstmTraceMut {
        f,
        i,
        o,
        g: gg,
        a_f,
        a_i,
        a_o,
        a_c,
        c_next,
        c_act,
        h_next,
    };
    if let Err(e) = net.step(&h, &cs, &x, trace) {
        prop_assert!(typed(&e), "{e:?}");
        return Ok(answered);
    }
    answered += 1;
    prop_assert!(finite(&t[10]) && finite(&t[8]), "the step's next state");
    let tr = LstmTraceRef {
        f: &t[0],
        i: &t[1],
        o: &t[2],
        g: &t[3],
        a_f: &t[4],
        a_i: &t[5],
        a_o: &t[6],
        a_c: &t[7],
        c_next: &t[8],
        c_act: &t[9],
        h_next: &t[10],
    };
    // the LSTM's state is (h, c): its Jacobian is 2N × 2N
    let mut out = vec![F::ZERO; 4 * c.out_len];
    match net.jacobian(&h, &cs, tr, &mut out) {
        Ok(()) => {
            prop_assert!(finite(&out), "the Jacobian");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    let v2: Vec<F> = v.iter().chain(&v).copied().collect();
    let mut out = vec![F::ZERO; 2 * c.n];
    match net.jvp(&h, &cs, tr, &v2, &mut out) {
        Ok(()) => {
            prop_assert!(finite(&out), "J v");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    let mut scratch = vec![F::ZERO; c.n];
    match net.vjp(&h, &cs, tr, &v2, &mut out, &mut scratch) {
        Ok(()) => {
            prop_assert!(finite(&out), "Jᵀ w");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    let mut fs: Vec<Vec<F>> = (0..6).map(|_| vec![F::ZERO; c.n]).collect();
    let [forget, forget_slope, input_slope, cell_slope, output_slope, output] = &mut fs[..] else {
        unreachable!()
    };
    let factors = LstmFactorsMut {
        forget,
        forget_slope,
        input_slope,
        cell_slope,
        output_slope,
        output,
    };
    match net.factors(&h, &cs, tr, factors) {
        Ok(()) => {
            prop_assert!(fs.iter().all(|s| finite(s)), "the factors");
            answered += 1;
        }
        Err(e) => prop_assert!(typed(&e), "{e:?}"),
    }
    Ok(answered)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn gru_calls_return_a_typed_error_or_finite_output(c in case(3)) {
        gru_case::<f64>(&c)?;
        gru_case::<f32>(&c)?;
    }

    #[test]
    fn lstm_calls_return_a_typed_error_or_finite_output(c in case(4)) {
        lstm_case::<f64>(&c)?;
        lstm_case::<f32>(&c)?;
    }
}

/// The cases are not vacuous: from the same generator, a share of them get
/// through every call with finite output, and shares are refused when the
/// view is built and later (measured on 2000 draws of the deterministic
/// runner: see the counts this test prints).
#[test]
fn the_random_cases_reach_every_call_and_every_refusal() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    for (gates, calls) in [(3, 5), (4, 5)] {
        let mut runner = TestRunner::deterministic();
        let (mut refused, mut all, mut partly) = (0, 0, 0);
        for _ in 0..2000 {
            let c = case(gates).new_tree(&mut runner).unwrap().current();
            let answered = if gates == 3 {
                gru_case::<f64>(&c)
            } else {
                lstm_case::<f64>(&c)
            }
            .unwrap();
            match answered {
                0 => refused += 1,
                k if k >= calls => all += 1,
                _ => partly += 1,
            }
        }
        eprintln!("{gates} gates: {refused} refused, {partly} in part, {all} answered every call");
        assert!(
            refused > 200 && partly >= 10 && all > 600,
            "{gates} gates: {refused} {partly} {all}"
        );
    }
}
