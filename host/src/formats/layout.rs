//! The frameworks' stacked layouts and their conversion to this crate's
//! conventions (docs/THEORY.md §9): gate orders, the update gate's sign,
//! which biases add up.

use crate::net::{GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net, ReadoutWeights};
use gatedyn::{Activation, GruForm};

/// At most this many hidden units in an imported model (the dense
/// Jacobian of `analyze` at this size is 8 GB in `f64`; larger models go
/// matrix-free only, which the CLI does not offer for imports yet).
pub const MAX_HIDDEN: usize = 32_768;
/// At most this many inputs.
pub const MAX_INPUTS: usize = 1 << 20;

/// The weights of a recurrent layer in the framework's stacked layout,
/// before conversion (row-major, `f64`).
pub(crate) struct Stacked {
    pub(crate) cell: RawCell,
    pub(crate) n: usize,
    pub(crate) inputs: usize,
    /// `G·n × inputs`.
    pub(crate) w: Vec<f64>,
    /// `G·n × n`.
    pub(crate) r: Vec<f64>,
    /// `G·n` input biases.
    pub(crate) b_in: Vec<f64>,
    /// `G·n` recurrent biases.
    pub(crate) b_rec: Vec<f64>,
    pub(crate) initial_h: Option<Vec<f64>>,
    pub(crate) initial_c: Option<Vec<f64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawCell {
    /// ONNX GRU, order z, r, h; `reset_after` = `linear_before_reset`.
    OnnxGru { reset_after: bool },
    /// ONNX LSTM, order i, o, f, c.
    OnnxLstm,
    /// PyTorch GRU, order r, z, n (always reset after).
    TorchGru,
    /// PyTorch LSTM, order i, f, g, o.
    TorchLstm,
}

impl RawCell {
    pub(crate) fn gates(self) -> usize {
        match self {
            RawCell::OnnxGru { .. } | RawCell::TorchGru => 3,
            RawCell::OnnxLstm | RawCell::TorchLstm => 4,
        }
    }
}

/// A weight tensor read from a file: its shape and its values as `f64`
/// (row-major).
pub(crate) struct Tensor {
    pub(crate) shape: Vec<usize>,
    pub(crate) values: Vec<f64>,
}

pub(crate) type ReadLayer = (Stacked, String, Option<ReadoutWeights>);

/// Converts a framework layout to a [`Net`] in this crate's conventions.
pub(crate) fn build(s: Stacked) -> Result<Net, String> {
    let Stacked {
        cell,
        n,
        inputs,
        w,
        r,
        b_in,
        b_rec,
        initial_h,
        initial_c,
    } = s;
    if n > MAX_HIDDEN {
        return Err(format!(
            "{n} hidden units; at most {MAX_HIDDEN} are supported"
        ));
    }
    if inputs > MAX_INPUTS {
        return Err(format!(
            "{inputs} inputs; at most {MAX_INPUTS} are supported"
        ));
    }
    for (what, v) in [
        ("input weights", &w),
        ("recurrent weights", &r),
        ("input bias", &b_in),
        ("recurrent bias", &b_rec),
    ] {
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "{what} entry {k} is {}: every weight must be finite",
                v[k]
            ));
        }
    }
    debug_assert_eq!(w.len(), cell.gates() * n * inputs);
    // block `k` of the framework's stack, the update gate negated
    let gate = |k: usize, negate: bool, with_rec_bias: bool| -> GateWeights {
        let sign = if negate { -1.0 } else { 1.0 };
        let rows = k * n..(k + 1) * n;
        GateWeights {
            u: r[rows.start * n..rows.end * n]
                .iter()
                .map(|x| sign * x)
                .collect(),
            w: w[rows.start * inputs..rows.end * inputs]
                .iter()
                .map(|x| sign * x)
                .collect(),
            b: rows
                .map(|i| sign * (b_in[i] + if with_rec_bias { b_rec[i] } else { 0.0 }))
                .collect(),
        }
    };
    let state = |v: Option<Vec<f64>>| v.unwrap_or_else(|| vec![0.0; n]);
    Ok(match cell {
        RawCell::OnnxGru { .. } | RawCell::TorchGru => {
            let (kz, kr, kh) = if cell == RawCell::TorchGru {
                (1, 0, 2)
            } else {
                (0, 1, 2)
            };
            let reset_after = matches!(
                cell,
                RawCell::TorchGru | RawCell::OnnxGru { reset_after: true }
            );
            let weights = GruWeights {
                z: gate(kz, true, true),
                r: gate(kr, false, true),
                h: gate(kh, false, !reset_after),
            };
            let form = if reset_after {
                GruForm::ResetAfter {
                    recurrent_bias: b_rec[kh * n..(kh + 1) * n].to_vec(),
                }
            } else {
                GruForm::ResetBefore
            };
            Net::Gru(GruNet {
                h: state(initial_h),
                ..GruNet::from_weights(weights, form, Activation::Tanh)
            })
        }
        RawCell::OnnxLstm | RawCell::TorchLstm => {
            // (f, i, o, c) blocks in the framework's order
            let (kf, ki, ko, kc) = if cell == RawCell::TorchLstm {
                (1, 0, 3, 2)
            } else {
                (2, 0, 1, 3)
            };
            let weights = LstmWeights {
                f: gate(kf, false, true),
                i: gate(ki, false, true),
                o: gate(ko, false, true),
                c: gate(kc, false, true),
            };
            Net::Lstm(LstmNet {
                h: state(initial_h),
                c: state(initial_c),
                ..LstmNet::from_weights(weights, Activation::Tanh)
            })
        }
    })
}
