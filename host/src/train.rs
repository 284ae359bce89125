//! Training the weights of a GRU or LSTM with its readout: mini-batch
//! gradients from [`crate::bptt`] (sequences in parallel with rayon, summed
//! in a fixed order, so a seeded run is reproducible bit for bit whatever
//! the thread count), global-norm gradient clipping and Adam.
//!
//! The tasks, the command line and the sweeps of issue 11 build on this.

use crate::bptt::{
    evaluate, loss_gradient, Evaluation, LossGradient, Recurrent, RecurrentGradient, Supervision,
};
use crate::bptt_batch::chunk_loss_gradient;
use crate::model::{Model, ReadoutWeights};
use crate::network::{GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net, Scales};
use crate::HostError;
use gatedyn::init::{fill_gates, Normal};
use gatedyn::{Activation, GruForm};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use rayon::prelude::*;

/// The recurrent weights being trained.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A GRU of either form.
    Gru {
        /// Weights by gate.
        weights: GruWeights,
        /// Where the reset gate acts (`b_hn` is trained in the reset-after form).
        form: GruForm<Vec<f64>>,
    },
    /// An LSTM.
    Lstm(LstmWeights),
}

/// A network with its readout: everything a training run updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainable {
    /// The recurrent weights.
    pub cell: Cell,
    /// `φ`.
    pub activation: Activation,
    /// The linear readout.
    pub readout: ReadoutWeights,
}

/// One training sequence: inputs (`T×I`, row-major) and what is supervised.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The inputs.
    pub inputs: Vec<f64>,
    /// The supervised steps and their targets.
    pub supervision: Supervision,
}

fn gate_blocks_mut(g: &mut GateWeights) -> [&mut Vec<f64>; 3] {
    [&mut g.u, &mut g.w, &mut g.b]
}

fn gate_blocks(g: &GateWeights) -> [&[f64]; 3] {
    [&g.u, &g.w, &g.b]
}

impl Trainable {
    /// A network drawn from the mean-field scales (docs/THEORY.md §1: `U`
    /// entries `N(0, σ²/N)`, `W` entries `N(0, input²/I)`, biases
    /// `N(0, σ_b²)`), in PyTorch's reset-after form when `reset_after` (its
    /// `b_hn` zero), and a readout with entries `N(0, 1/N)` and zero bias;
    /// all from `seed`. Sizes of zero are a [`HostError::Param`].
    pub fn random(
        n: usize,
        inputs: usize,
        outputs: usize,
        scales: &Scales,
        reset_after: bool,
        activation: Activation,
        seed: u64,
    ) -> Result<Self, HostError> {
        for (size, flag) in [(n, "--n"), (inputs, "inputs"), (outputs, "outputs")] {
            if size == 0 {
                return Err(HostError::Param(format!("{flag} must be at least 1")));
            }
        }
        scales.check()?;
        let mut rng = XorShiftRng::seed_from_u64(seed);
        let cell = match scales {
            Scales::Gru(s) => {
                let mut weights = GruWeights {
                    z: GateWeights::zeros(n, inputs),
                    r: GateWeights::zeros(n, inputs),
                    h: GateWeights::zeros(n, inputs),
                };
                let GruWeights { z, r, h } = &mut weights;
                fill_gates(
                    &mut rng,
                    [z.view_mut(), r.view_mut(), h.view_mut()],
                    s.in_order(),
                )?;
                let form = if reset_after {
                    GruForm::ResetAfter {
                        recurrent_bias: vec![0.0; n],
                    }
                } else {
                    GruForm::ResetBefore
                };
                Cell::Gru { weights, form }
            }
            Scales::Lstm(s) => {
                let mut w = LstmWeights {
                    f: GateWeights::zeros(n, inputs),
                    i: GateWeights::zeros(n, inputs),
                    o: GateWeights::zeros(n, inputs),
                    c: GateWeights::zeros(n, inputs),
                };
                let LstmWeights { f, i, o, c } = &mut w;
                let views = [f.view_mut(), i.view_mut(), o.view_mut(), c.view_mut()];
                fill_gates(&mut rng, views, s.in_order())?;
                Cell::Lstm(w)
            }
        };
        Ok(Trainable {
            cell,
            activation,
            readout: random_readout(n, outputs, &mut rng)?,
        })
    }

    /// The network as [`crate::bptt`] reads it.
    pub fn recurrent(&self) -> Recurrent<'_> {
        match &self.cell {
            Cell::Gru { weights, form } => Recurrent::Gru { weights, form },
            Cell::Lstm(w) => Recurrent::Lstm(w),
        }
    }

    /// Every trained array, in a fixed order: the gates' `U`, `W`, `b` (in
    /// the cell's gate order), `b_hn` in the reset-after form, then the
    /// readout's `W` and `b` (the order of [`gradient_blocks`]).
    pub fn blocks_mut(&mut self) -> Vec<&mut Vec<f64>> {
        let mut out = vec![];
        match &mut self.cell {
            Cell::Gru { weights, form } => {
                for g in [&mut weights.z, &mut weights.r, &mut weights.h] {
                    out.extend(gate_blocks_mut(g));
                }
                if let GruForm::ResetAfter { recurrent_bias } = form {
                    out.push(recurrent_bias);
                }
            }
            Cell::Lstm(w) => {
                for g in [&mut w.f, &mut w.i, &mut w.o, &mut w.c] {
                    out.extend(gate_blocks_mut(g));
                }
            }
        }
        out.push(&mut self.readout.w);
        out.push(&mut self.readout.b);
        out
    }

    /// The loss and the readout's outputs of one example (forward pass
    /// only).
    pub fn evaluate(&self, ex: &Example) -> Result<Evaluation, HostError> {
        evaluate(
            self.recurrent(),
            self.activation,
            &self.readout,
            &ex.inputs,
            &ex.supervision,
        )
    }

    /// Hidden units.
    pub fn n(&self) -> usize {
        self.readout.w.len() / self.readout.outputs.max(1)
    }

    /// Inputs.
    pub fn inputs(&self) -> usize {
        let g = match &self.cell {
            Cell::Gru { weights, .. } => &weights.z,
            Cell::Lstm(w) => &w.f,
        };
        g.w.len() / g.b.len().max(1)
    }

    /// The recurrent layer as a [`Net`] at the zero state (its scales the
    /// empirical ones), for the Jacobian and the rest of the analyses.
    pub fn net(&self) -> Net {
        match &self.cell {
            Cell::Gru { weights, form } => Net::Gru(GruNet::from_weights(
                weights.clone(),
                form.clone(),
                self.activation,
            )),
            Cell::Lstm(w) => Net::Lstm(LstmNet::from_weights(w.clone(), self.activation)),
        }
    }

    /// A loaded model to train further: its recurrent layer (the file's
    /// initial state is dropped: training starts every sequence at zero)
    /// and its readout, or a new readout of `outputs` rows (entries
    /// `N(0, 1/N)`, zero bias, from `seed`) when the file has none. A model
    /// whose inputs or readout do not fit (`inputs`, `outputs`) is a
    /// [`HostError::Param`] naming `--model`.
    pub fn from_model(
        model: Model,
        inputs: usize,
        outputs: usize,
        seed: u64,
    ) -> Result<Self, HostError> {
        let path = model.info.path.clone();
        let bad = |why: String| HostError::Param(format!("--model {path}: {why}"));
        let n = model.net.n();
        if model.net.inputs() != inputs {
            return Err(bad(format!(
                "the model takes {} inputs; the task gives {inputs}",
                model.net.inputs()
            )));
        }
        let readout = match model.readout {
            Some(r) if r.outputs == outputs => r,
            Some(r) => {
                return Err(bad(format!(
                    "its readout has {} outputs; the task needs {outputs}",
                    r.outputs
                )))
            }
            None => random_readout(n, outputs, &mut XorShiftRng::seed_from_u64(seed))?,
        };
        let (cell, activation) = match model.net {
            Net::Gru(g) => (
                Cell::Gru {
                    weights: g.weights,
                    form: g.form,
                },
                g.activation,
            ),
            Net::Lstm(l) => (Cell::Lstm(l.weights), l.activation),
        };
        Ok(Trainable {
            cell,
            activation,
            readout,
        })
    }

    /// The loss and gradient of one example.
    pub fn gradient(&self, ex: &Example) -> Result<LossGradient, HostError> {
        loss_gradient(
            self.recurrent(),
            self.activation,
            &self.readout,
            &ex.inputs,
            &ex.supervision,
        )
    }

    /// The mean loss and mean gradient over `batch`: chunks of [`CHUNK`]
    /// sequences in parallel, each with one matrix product per weight
    /// matrix and step ([`crate::bptt_batch`]; a chunk mixing lengths, or
    /// too long for [`crate::bptt_batch::MAX_CHUNK_BYTES`], goes sequence by
    /// sequence), summed in the batch's order, so the result
    /// does not depend on the number of threads. Its `outputs` are the
    /// examples', one after another. An empty batch is a
    /// [`HostError::Param`].
    pub fn batch_gradient(&self, batch: &[Example]) -> Result<LossGradient, HostError> {
        if batch.is_empty() {
            return Err(HostError::Param("train: empty batch".into()));
        }
        let chunks: Vec<LossGradient> = batch
            .par_chunks(CHUNK)
            .map(|chunk| {
                let len = chunk[0].inputs.len();
                let steps = len / self.inputs().max(1);
                if chunk.iter().all(|ex| ex.inputs.len() == len)
                    && crate::bptt_batch::fits(self.n(), steps, chunk.len())
                {
                    chunk_loss_gradient(self.recurrent(), self.activation, &self.readout, chunk)
                } else {
                    sum(chunk
                        .iter()
                        .map(|ex| self.gradient(ex))
                        .collect::<Result<_, _>>()?)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(mean(sum(chunks)?, batch.len()))
    }

    /// [`Trainable::batch_gradient`] sequence by sequence
    /// ([`crate::bptt::loss_gradient`] for each, in parallel): the
    /// reference the batched products are checked and timed against.
    pub fn batch_gradient_by_sequence(&self, batch: &[Example]) -> Result<LossGradient, HostError> {
        if batch.is_empty() {
            return Err(HostError::Param("train: empty batch".into()));
        }
        let grads: Vec<LossGradient> = batch
            .par_iter()
            .map(|ex| self.gradient(ex))
            .collect::<Result<_, _>>()?;
        Ok(mean(sum(grads)?, batch.len()))
    }
}

/// Sequences per chunk of [`Trainable::batch_gradient`] (fixed, so that the
/// sums do not depend on the thread count).
pub const CHUNK: usize = 16;

/// The sum of gradients of one network, in the given order (losses and
/// every block added, outputs concatenated).
fn sum(grads: Vec<LossGradient>) -> Result<LossGradient, HostError> {
    let mut iter = grads.into_iter();
    let mut sum = iter
        .next()
        .ok_or_else(|| HostError::Param("train: empty batch".into()))?;
    for g in iter {
        sum.loss += g.loss;
        sum.outputs.extend_from_slice(&g.outputs);
        for (a, b) in gradient_blocks_mut(&mut sum)
            .into_iter()
            .zip(gradient_blocks(&g))
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
    Ok(sum)
}

/// `g` divided by the `count` sequences it sums.
fn mean(mut g: LossGradient, count: usize) -> LossGradient {
    let scale = 1.0 / count as f64;
    g.loss *= scale;
    for block in gradient_blocks_mut(&mut g) {
        for x in block.iter_mut() {
            *x *= scale;
        }
    }
    g
}

/// A readout of `outputs` rows with entries `N(0, 1/N)` and zero bias.
fn random_readout(
    n: usize,
    outputs: usize,
    rng: &mut XorShiftRng,
) -> Result<ReadoutWeights, HostError> {
    let mut normal = Normal::new();
    let scale = 1.0 / (n as f64).sqrt();
    let w = (0..outputs * n)
        .map(|_| normal.sample(rng).map(|x| scale * x))
        .collect::<Result<Vec<f64>, _>>()?;
    Ok(ReadoutWeights {
        outputs,
        w,
        b: vec![0.0; outputs],
    })
}

/// The gradient's arrays in the order of [`Trainable::blocks_mut`].
pub fn gradient_blocks(g: &LossGradient) -> Vec<&[f64]> {
    let mut out: Vec<&[f64]> = vec![];
    match &g.recurrent {
        RecurrentGradient::Gru { z, r, h, b_hn } => {
            for gate in [z, r, h] {
                out.extend(gate_blocks(gate));
            }
            if !b_hn.is_empty() {
                out.push(b_hn);
            }
        }
        RecurrentGradient::Lstm { f, i, o, c } => {
            for gate in [f, i, o, c] {
                out.extend(gate_blocks(gate));
            }
        }
    }
    out.push(&g.readout.w);
    out.push(&g.readout.b);
    out
}

fn gradient_blocks_mut(g: &mut LossGradient) -> Vec<&mut Vec<f64>> {
    let mut out = vec![];
    match &mut g.recurrent {
        RecurrentGradient::Gru { z, r, h, b_hn } => {
            for gate in [z, r, h] {
                out.extend(gate_blocks_mut(gate));
            }
            if !b_hn.is_empty() {
                out.push(b_hn);
            }
        }
        RecurrentGradient::Lstm { f, i, o, c } => {
            for gate in [f, i, o, c] {
                out.extend(gate_blocks_mut(gate));
            }
        }
    }
    out.push(&mut g.readout.w);
    out.push(&mut g.readout.b);
    out
}

/// The Euclidean norm of the whole gradient.
pub fn gradient_norm(g: &LossGradient) -> f64 {
    gradient_blocks(g)
        .iter()
        .flat_map(|b| b.iter())
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
}

/// Adam (Kingma & Ba 2015, docs/THEORY.md §14) with global-norm clipping of the gradient
/// before the update.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (0.9).
    pub beta1: f64,
    /// Decay of the second moment (0.999).
    pub beta2: f64,
    /// Added to the root of the second moment (1e-8).
    pub eps: f64,
    /// Gradients whose norm exceeds this are scaled down to it (`∞`: no
    /// clipping).
    pub max_norm: f64,
    /// First and second moments per block, and the step count.
    moments: Vec<(Vec<f64>, Vec<f64>)>,
    steps: i32,
}

impl Adam {
    /// Adam with the usual moments' decays (0.9, 0.999), `eps` 1e-8, the
    /// learning rate `lr` and clipping at `max_norm`. A learning rate or
    /// clipping norm that is not positive and finite (`max_norm` may be
    /// `∞`) is a [`HostError::Param`].
    pub fn new(lr: f64, max_norm: f64) -> Result<Self, HostError> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(HostError::Param(format!(
                "--lr: the learning rate must be positive and finite (got {lr})"
            )));
        }
        if max_norm.is_nan() || max_norm <= 0.0 {
            return Err(HostError::Param(format!(
                "--clip: the clipping norm must be positive (got {max_norm})"
            )));
        }
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_norm,
            moments: vec![],
            steps: 0,
        })
    }

    /// One update of `net` from the gradient `g` (of the same network).
    /// Returns the gradient's norm before clipping. A non-finite gradient
    /// is a `Numerical` error and leaves `net` unchanged.
    pub fn step(&mut self, net: &mut Trainable, g: &LossGradient) -> Result<f64, HostError> {
        let norm = gradient_norm(g);
        if !norm.is_finite() {
            return Err(HostError::Numerical {
                step: "training (the gradient overflowed)",
                source: gatedyn::Error::NonFinite {
                    what: gatedyn::Quantity::Result,
                    index: 0,
                },
            });
        }
        let clip = if norm > self.max_norm {
            self.max_norm / norm
        } else {
            1.0
        };
        let params = net.blocks_mut();
        let grads = gradient_blocks(g);
        if self.moments.is_empty() {
            self.moments = grads
                .iter()
                .map(|b| (vec![0.0; b.len()], vec![0.0; b.len()]))
                .collect();
        }
        self.steps = self.steps.saturating_add(1);
        let (c1, c2) = (
            1.0 - self.beta1.powi(self.steps),
            1.0 - self.beta2.powi(self.steps),
        );
        for ((p, gb), (m, v)) in params.into_iter().zip(grads).zip(&mut self.moments) {
            for (((w, &gr), mi), vi) in p.iter_mut().zip(gb).zip(m.iter_mut()).zip(v.iter_mut()) {
                let gr = gr * clip;
                *mi = self.beta1 * *mi + (1.0 - self.beta1) * gr;
                *vi = self.beta2 * *vi + (1.0 - self.beta2) * gr * gr;
                *w -= self.lr * (*mi / c1) / ((*vi / c2).sqrt() + self.eps);
            }
        }
        Ok(norm)
    }
}
