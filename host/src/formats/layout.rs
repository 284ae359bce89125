//! The frameworks' stacked layouts and their conversion to this crate's
//! conventions (docs/THEORY.md §9): gate orders, the update gate's sign,
//! which biases add up.

use crate::net::{
    CellWeights, GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net, ReadoutWeights,
};
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

/// One gate's block on its way into a stack: the gate, whether it is
/// negated (the update gate), and a recurrent bias kept apart (`b_hn`).
#[derive(Clone, Copy)]
struct Block<'a> {
    gate: &'a GateWeights,
    negate: bool,
    recurrent_bias: Option<&'a [f64]>,
}

impl<'a> Block<'a> {
    fn new(gate: &'a GateWeights, negate: bool, recurrent_bias: Option<&'a [f64]>) -> Self {
        Block {
            gate,
            negate,
            recurrent_bias,
        }
    }
}

impl Stacked {
    /// The framework's stacked layout of `cell` (`n` units, `inputs`
    /// inputs): the inverse of [`build`], by the same block table. Our
    /// update gate keeps `1 − z` of the frameworks' (negated); each gate's
    /// whole bias goes to the input bias, the reset-after candidate's
    /// `b_hn` to the recurrent one.
    pub(crate) fn of(cell: &CellWeights, n: usize, inputs: usize, framework: Framework) -> Stacked {
        let (raw, order): (RawCell, Vec<Block<'_>>) = match cell {
            CellWeights::Gru { weights, form } => {
                let b_hn = match form {
                    GruForm::ResetAfter { recurrent_bias } => Some(&recurrent_bias[..]),
                    GruForm::ResetBefore => None,
                };
                let (z, r, h) = (
                    Block::new(&weights.z, true, None),
                    Block::new(&weights.r, false, None),
                    Block::new(&weights.h, false, b_hn),
                );
                let b = framework.gru_blocks();
                let order = (0..3)
                    .map(|k| {
                        if k == b.z {
                            z
                        } else if k == b.r {
                            r
                        } else {
                            h
                        }
                    })
                    .collect();
                let form = form.kind();
                (RawCell::Gru { framework, form }, order)
            }
            CellWeights::Lstm(w) => {
                let (f, i, o, c) = (
                    Block::new(&w.f, false, None),
                    Block::new(&w.i, false, None),
                    Block::new(&w.o, false, None),
                    Block::new(&w.c, false, None),
                );
                let b = framework.lstm_blocks();
                let order = (0..4)
                    .map(|k| {
                        if k == b.f {
                            f
                        } else if k == b.i {
                            i
                        } else if k == b.o {
                            o
                        } else {
                            c
                        }
                    })
                    .collect();
                (RawCell::Lstm { framework }, order)
            }
        };
        let mut s = Stacked {
            cell: raw,
            n,
            inputs,
            w: vec![],
            r: vec![],
            b_in: vec![],
            b_rec: vec![],
            initial_h: None,
            initial_c: None,
        };
        for Block {
            gate: g,
            negate,
            recurrent_bias: rec,
        } in order
        {
            let sign = if negate { -1.0 } else { 1.0 };
            s.w.extend(g.w.iter().map(|x| sign * x));
            s.r.extend(g.u.iter().map(|x| sign * x));
            s.b_in.extend(g.b.iter().map(|x| sign * x));
            match rec {
                Some(b) => s.b_rec.extend(b.iter().map(|x| sign * x)),
                None => s.b_rec.extend(std::iter::repeat_n(0.0, g.b.len())),
            }
        }
        s
    }
}

/// A framework whose stacked recurrent layers gatedyn reads and writes.
/// Both keep `z` of the old state (the paper keeps `1 − z`: the update
/// gate is negated across the boundary) and split a gate's bias into an
/// input and a recurrent part (they add up, except the reset-after
/// candidate's recurrent bias `b_hn`). What differs is the order of the
/// gate blocks: the one table below, for import and export alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// ONNX `GRU` (`z, r, h`) and `LSTM` (`i, o, f, c`).
    Onnx,
    /// PyTorch `nn.GRU` (`r, z, n`) and `nn.LSTM` (`i, f, g, o`).
    Torch,
    /// Keras `GRU` (`z, r, h`) and `LSTM` (`i, f, c, o`); its kernels are
    /// stored transposed (`inputs × G·N`), which the Keras reader undoes.
    Keras,
}

/// Where each GRU gate's block sits in a framework's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GruBlocks {
    /// The update gate's block.
    pub z: usize,
    /// The reset gate's block.
    pub r: usize,
    /// The candidate's block.
    pub h: usize,
}

/// Where each LSTM gate's block sits in a framework's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LstmBlocks {
    /// The forget gate's block.
    pub f: usize,
    /// The input gate's block.
    pub i: usize,
    /// The output gate's block.
    pub o: usize,
    /// The cell candidate's block.
    pub c: usize,
}

impl Framework {
    /// The GRU's block order.
    pub const fn gru_blocks(self) -> GruBlocks {
        match self {
            Framework::Onnx => GruBlocks { z: 0, r: 1, h: 2 },
            Framework::Torch => GruBlocks { z: 1, r: 0, h: 2 },
            Framework::Keras => GruBlocks { z: 0, r: 1, h: 2 },
        }
    }
    /// The LSTM's block order.
    pub const fn lstm_blocks(self) -> LstmBlocks {
        match self {
            Framework::Onnx => LstmBlocks {
                f: 2,
                i: 0,
                o: 1,
                c: 3,
            },
            Framework::Torch => LstmBlocks {
                f: 1,
                i: 0,
                o: 3,
                c: 2,
            },
            Framework::Keras => LstmBlocks {
                f: 1,
                i: 0,
                o: 3,
                c: 2,
            },
        }
    }
}

/// The layer a file holds: its framework, and for a GRU its form (PyTorch's
/// is always reset-after; ONNX's is `linear_before_reset`).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum RawCell {
    /// A GRU.
    Gru {
        /// Whose layout.
        framework: Framework,
        /// Where the reset gate acts.
        form: GruForm<()>,
    },
    /// An LSTM.
    Lstm {
        /// Whose layout.
        framework: Framework,
    },
}

impl RawCell {
    pub(crate) fn gates(self) -> usize {
        match self {
            RawCell::Gru { .. } => 3,
            RawCell::Lstm { .. } => 4,
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
        RawCell::Gru { framework, form } => {
            let GruBlocks {
                z: kz,
                r: kr,
                h: kh,
            } = framework.gru_blocks();
            let reset_after = form.is_reset_after();
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
        RawCell::Lstm { framework } => {
            let LstmBlocks {
                f: kf,
                i: ki,
                o: ko,
                c: kc,
            } = framework.lstm_blocks();
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
