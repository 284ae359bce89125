//! Backpropagation through time (`gatedyn_train::bptt`) against central
//! differences of the loss, for every parameter block of the GRU (both
//! forms), the LSTM and the readout, with both objectives; and its errors.

use gatedyn::{Activation, GruForm};
use gatedyn_host::net::ReadoutWeights;
use gatedyn_host::net::{CellWeights, GateWeights, GruWeights, LstmWeights};
use gatedyn_host::HostError;
use gatedyn_train::bptt::{loss_gradient, LossGradient};
use gatedyn_train::loss::{Objective, Supervision};

const N: usize = 5;
const INPUTS: usize = 3;
const STEPS: usize = 12;

/// Deterministic values in `(−scale, scale)` (xorshift).
fn fill(v: &mut [f64], seed: &mut u64, scale: f64) {
    for x in v {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *x = scale * ((*seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0);
    }
}

fn gate(seed: &mut u64) -> GateWeights {
    let mut g = GateWeights::zeros(N, INPUTS);
    fill(&mut g.u, seed, 2.0 / (N as f64).sqrt());
    fill(&mut g.w, seed, 1.0);
    fill(&mut g.b, seed, 0.5);
    g
}

/// A network with its readout.
#[derive(Clone)]
struct Model {
    cell: CellWeights,
    readout: ReadoutWeights,
}

/// A gate's array: `U`, `W` or `b`.
fn array<'a>(g: &'a mut GateWeights, which: &str) -> &'a mut Vec<f64> {
    match which {
        "u" => &mut g.u,
        "w" => &mut g.w,
        _ => &mut g.b,
    }
}

fn grad_array<'a>(g: &'a GateWeights, which: &str) -> &'a [f64] {
    match which {
        "u" => &g.u,
        "w" => &g.w,
        _ => &g.b,
    }
}

impl Model {
    fn new(kind: &str, outputs: usize) -> Self {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let cell = match kind {
            "lstm" => CellWeights::Lstm(LstmWeights {
                f: gate(&mut seed),
                i: gate(&mut seed),
                o: gate(&mut seed),
                c: gate(&mut seed),
            }),
            _ => {
                let w = GruWeights {
                    z: gate(&mut seed),
                    r: gate(&mut seed),
                    h: gate(&mut seed),
                };
                let form = if kind == "gru-after" {
                    let mut b = vec![0.0; N];
                    fill(&mut b, &mut seed, 0.5);
                    GruForm::ResetAfter { recurrent_bias: b }
                } else {
                    GruForm::ResetBefore
                };
                CellWeights::Gru { weights: w, form }
            }
        };
        let mut readout = ReadoutWeights {
            outputs,
            w: vec![0.0; outputs * N],
            b: vec![0.0; outputs],
        };
        fill(&mut readout.w, &mut seed, 1.0);
        fill(&mut readout.b, &mut seed, 0.2);
        Model { cell, readout }
    }

    fn run(&self, xs: &[f64], sup: &Supervision) -> Result<LossGradient, HostError> {
        loss_gradient(&self.cell, Activation::Tanh, &self.readout, xs, sup)
    }

    /// The names of the parameter blocks: `gate.u`, `gate.w`, `gate.b`,
    /// `b_hn`, `readout.w`, `readout.b`.
    fn block_names(&self) -> Vec<String> {
        let gates: &[&str] = match &self.cell {
            CellWeights::Gru { .. } => &["z", "r", "h"],
            CellWeights::Lstm(_) => &["f", "i", "o", "c"],
        };
        let mut names: Vec<String> = gates
            .iter()
            .flat_map(|g| ["u", "w", "b"].map(|a| format!("{g}.{a}")))
            .collect();
        if let CellWeights::Gru {
            form: GruForm::ResetAfter { .. },
            ..
        } = &self.cell
        {
            names.push("b_hn".into());
        }
        names.extend(["readout.w".into(), "readout.b".into()]);
        names
    }

    fn block_mut(&mut self, name: &str) -> &mut Vec<f64> {
        let (gate, which) = name.split_once('.').unwrap_or((name, ""));
        match (&mut self.cell, gate) {
            (_, "readout") if which == "w" => &mut self.readout.w,
            (_, "readout") => &mut self.readout.b,
            (
                CellWeights::Gru {
                    form: GruForm::ResetAfter { recurrent_bias },
                    ..
                },
                "b_hn",
            ) => recurrent_bias,
            (CellWeights::Gru { weights: w, .. }, "z") => array(&mut w.z, which),
            (CellWeights::Gru { weights: w, .. }, "r") => array(&mut w.r, which),
            (CellWeights::Gru { weights: w, .. }, "h") => array(&mut w.h, which),
            (CellWeights::Lstm(w), "f") => array(&mut w.f, which),
            (CellWeights::Lstm(w), "i") => array(&mut w.i, which),
            (CellWeights::Lstm(w), "o") => array(&mut w.o, which),
            (CellWeights::Lstm(w), "c") => array(&mut w.c, which),
            _ => panic!("no block {name}"),
        }
    }
}

/// The analytic gradient of a named block.
fn analytic<'a>(g: &'a LossGradient, name: &str) -> &'a [f64] {
    let (gate, which) = name.split_once('.').unwrap_or((name, ""));
    match (&g.recurrent, gate) {
        (_, "readout") if which == "w" => &g.readout.w,
        (_, "readout") => &g.readout.b,
        (
            CellWeights::Gru {
                form: GruForm::ResetAfter { recurrent_bias },
                ..
            },
            "b_hn",
        ) => recurrent_bias,
        (CellWeights::Gru { weights, .. }, "z") => grad_array(&weights.z, which),
        (CellWeights::Gru { weights, .. }, "r") => grad_array(&weights.r, which),
        (CellWeights::Gru { weights, .. }, "h") => grad_array(&weights.h, which),
        (CellWeights::Lstm(w), "f") => grad_array(&w.f, which),
        (CellWeights::Lstm(w), "i") => grad_array(&w.i, which),
        (CellWeights::Lstm(w), "o") => grad_array(&w.o, which),
        (CellWeights::Lstm(w), "c") => grad_array(&w.c, which),
        _ => panic!("no gradient block {name}"),
    }
}

fn inputs() -> Vec<f64> {
    let mut xs = vec![0.0; STEPS * INPUTS];
    fill(&mut xs, &mut 12345, 1.0);
    xs
}

/// Worst relative error `‖numeric − analytic‖ / ‖analytic‖` over the
/// blocks, each entry's numeric derivative a central difference.
fn worst_block_error(kind: &str, outputs: usize, sup: &Supervision) -> f64 {
    let model = Model::new(kind, outputs);
    let xs = inputs();
    let grad = model.run(&xs, sup).unwrap();
    let eps = 1e-5;
    let mut worst = 0.0f64;
    for name in model.block_names() {
        let ana = analytic(&grad, &name).to_vec();
        assert!(!ana.is_empty(), "{kind} {name}: empty gradient");
        let mut num = vec![0.0; ana.len()];
        for (k, d) in num.iter_mut().enumerate() {
            let mut plus = model.clone();
            plus.block_mut(&name)[k] += eps;
            let mut minus = model.clone();
            minus.block_mut(&name)[k] -= eps;
            let (lp, lm) = (
                plus.run(&xs, sup).unwrap().loss,
                minus.run(&xs, sup).unwrap().loss,
            );
            *d = (lp - lm) / (2.0 * eps);
        }
        let diff: f64 = num
            .iter()
            .zip(&ana)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = ana.iter().map(|a| a * a).sum::<f64>().sqrt();
        assert!(
            norm > 1e-6,
            "{kind} {name}: gradient norm {norm:e} too small to test"
        );
        let rel = diff / norm;
        assert!(rel <= 1e-6, "{kind} {name}: relative error {rel:e}");
        worst = worst.max(rel);
    }
    worst
}

#[test]
fn gradients_match_central_differences() {
    let squared = Supervision {
        at: vec![3, 7, 11],
        objective: Objective::Squared {
            targets: vec![0.5, -0.2, 1.0, 0.3, -0.7, 0.1],
        },
    };
    let cross_entropy = Supervision {
        at: vec![5, 11],
        objective: Objective::CrossEntropy {
            classes: vec![2, 0],
        },
    };
    for kind in ["gru", "gru-after", "lstm"] {
        let a = worst_block_error(kind, 2, &squared);
        let b = worst_block_error(kind, 3, &cross_entropy);
        eprintln!("{kind}: worst block relative error {a:.1e} (squared), {b:.1e} (cross-entropy)");
        assert!(a <= 1e-6 && b <= 1e-6, "{kind}: {a:e}, {b:e}");
    }
}

/// The loss values themselves: a constant readout of the mean scores the
/// targets' variance (squared), and uniform logits score `ln K` (cross
/// entropy), whatever the network.
#[test]
fn loss_values() {
    let mut model = Model::new("gru", 1);
    model.readout.w.fill(0.0);
    model.readout.b = vec![0.25];
    let sup = Supervision {
        at: vec![0, 1, 2, 3],
        objective: Objective::Squared {
            targets: vec![0.0, 0.5, 0.5, 0.0],
        },
    };
    let g = model.run(&inputs(), &sup).unwrap();
    assert!((g.loss - 0.0625).abs() < 1e-15, "{}", g.loss);
    let mut model = Model::new("lstm", 4);
    model.readout.w.fill(0.0);
    model.readout.b.fill(1.5);
    let sup = Supervision {
        at: vec![11],
        objective: Objective::CrossEntropy { classes: vec![3] },
    };
    let g = model.run(&inputs(), &sup).unwrap();
    assert!((g.loss - 4f64.ln()).abs() < 1e-14, "{}", g.loss);
}

#[test]
fn bad_supervision_is_a_named_error() {
    let model = Model::new("gru", 2);
    let xs = inputs();
    let param = |sup: Supervision, xs: &[f64]| match model.run(xs, &sup) {
        Err(HostError::BadInput(m)) => m,
        other => panic!("expected a Param error, got {other:?}"),
    };
    let sq = |at: Vec<usize>, targets: Vec<f64>| Supervision {
        at,
        objective: Objective::Squared { targets },
    };
    assert!(param(sq(vec![12], vec![0.0; 2]), &xs).contains("past the sequence's 12 steps"));
    assert!(param(sq(vec![3, 3], vec![0.0; 4]), &xs).contains("strictly increasing"));
    assert!(param(sq(vec![], vec![]), &xs).contains("non-empty"));
    assert!(param(sq(vec![3], vec![0.0; 3]), &xs)
        .contains("3 targets for 1 supervised steps of 2 outputs"));
    assert!(param(sq(vec![3], vec![f64::NAN, 0.0]), &xs).contains("target is not finite"));
    assert!(
        param(sq(vec![3], vec![0.0; 2]), &xs[..7]).contains("do not make whole steps of 3 inputs")
    );
    let mut bad = xs.clone();
    bad[4] = f64::INFINITY;
    assert!(param(sq(vec![3], vec![0.0; 2]), &bad).contains("input value 4 is not finite"));
    let ce = Supervision {
        at: vec![3],
        objective: Objective::CrossEntropy { classes: vec![2] },
    };
    assert!(param(ce, &xs).contains("class is not below the 2 outputs"));
}
