//! Training the weights of a GRU or LSTM with its readout: mini-batch
//! gradients from [`crate::bptt`] (sequences in parallel with rayon, summed
//! in a fixed order, so a seeded run is reproducible bit for bit whatever
//! the thread count), global-norm gradient clipping and Adam.
//!
//! The tasks, the command line and the sweeps of issue 11 build on this.

use crate::bptt::{evaluate, loss_gradient, Evaluation, LossGradient};
use crate::bptt_batch::{chunk_evaluate, chunk_loss_gradient, Precision};
use crate::loss::Example;
use gatedyn::init::{fill_gates, Normal};
use gatedyn::{Activation, GruForm};
use gatedyn_host::formats::Model;
use gatedyn_host::net::ReadoutWeights;
use gatedyn_host::net::{
    CellWeights, GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net, Scales, TrainedRef,
};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use rayon::prelude::*;

/// What a new network is drawn with ([`Trainable::random`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// Hidden units `N`.
    pub n: usize,
    /// Inputs `I` (the task's).
    pub inputs: usize,
    /// Readout outputs `K` (the task's).
    pub outputs: usize,
    /// The gate scales; their cell is the network's.
    pub scales: Scales,
    /// A GRU's form (an LSTM has none).
    pub form: GruForm<()>,
    /// `φ`.
    pub activation: Activation,
    /// The seed of the weights and the readout.
    pub seed: u64,
}

/// A network with its readout: everything a training run updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainable {
    /// The recurrent weights.
    pub cell: CellWeights,
    /// `φ`.
    pub activation: Activation,
    /// The linear readout.
    pub readout: ReadoutWeights,
}

/// The trained arrays of a network (or of its gradient, which has the
/// same type), in the one fixed order: the gates' `U`, `W`, `b` in the
/// cell's gate order, `b_hn` in the reset-after form, then the readout's
/// `W` and `b`. Written once for shared and mutable borrows alike.
macro_rules! blocks {
    ($cell:expr, $readout:expr) => {{
        let (cell, readout) = ($cell, $readout);
        let mut out = Vec::new();
        match cell {
            CellWeights::Gru { weights, form } => {
                let GruWeights { z, r, h } = weights;
                for g in [z, r, h] {
                    let GateWeights { u, w, b } = g;
                    out.extend([u, w, b]);
                }
                if let GruForm::ResetAfter { recurrent_bias } = form {
                    out.push(recurrent_bias);
                }
            }
            CellWeights::Lstm(weights) => {
                let LstmWeights { f, i, o, c } = weights;
                for g in [f, i, o, c] {
                    let GateWeights { u, w, b } = g;
                    out.extend([u, w, b]);
                }
            }
        }
        let ReadoutWeights { w, b, .. } = readout;
        out.push(w);
        out.push(b);
        out
    }};
}

impl Trainable {
    /// A network drawn from the mean-field scales (docs/THEORY.md §1: `U`
    /// entries `N(0, σ²/N)`, `W` entries `N(0, input²/I)`, biases
    /// `N(0, σ_b²)`), a GRU in `draw.form` (the reset-after `b_hn` zero),
    /// and a readout with entries `N(0, 1/N)` and zero bias; all from
    /// `draw.seed`. Sizes of zero are a [`HostError::Invalid`].
    pub fn random(draw: &Draw) -> Result<Self, HostError> {
        let Draw {
            n,
            inputs,
            outputs,
            ref scales,
            form,
            activation,
            seed,
        } = *draw;
        let reset_after = form.is_reset_after();
        if n == 0 {
            return Err(HostError::invalid(Param::N, " must be at least 1".into()));
        }
        for (size, what) in [(inputs, "inputs"), (outputs, "outputs")] {
            if size == 0 {
                return Err(HostError::BadInput(format!("{what} must be at least 1")));
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
                CellWeights::Gru { weights, form }
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
                CellWeights::Lstm(w)
            }
        };
        Ok(Trainable {
            cell,
            activation,
            readout: random_readout(n, outputs, &mut rng)?,
        })
    }

    /// The recurrent weights, as [`crate::bptt`] reads them.
    pub fn recurrent(&self) -> &CellWeights {
        &self.cell
    }

    /// Every trained array in the one order (`blocks!`) (that of
    /// [`gradient_blocks`]).
    pub fn blocks_mut(&mut self) -> Vec<&mut Vec<f64>> {
        blocks!(&mut self.cell, &mut self.readout)
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
            CellWeights::Gru { weights, .. } => &weights.z,
            CellWeights::Lstm(w) => &w.f,
        };
        g.w.len() / g.b.len().max(1)
    }

    /// The recurrent layer as a [`Net`] at the zero state (its scales the
    /// empirical ones), for the Jacobian and the rest of the analyses.
    pub fn net(&self) -> Net {
        match &self.cell {
            CellWeights::Gru { weights, form } => Net::Gru(GruNet::from_weights(
                weights.clone(),
                form.clone(),
                self.activation,
            )),
            CellWeights::Lstm(w) => Net::Lstm(LstmNet::from_weights(w.clone(), self.activation)),
        }
    }

    /// A loaded model to train further: its recurrent layer (the file's
    /// initial state is dropped: training starts every sequence at zero)
    /// and its readout, or a new readout of `outputs` rows (entries
    /// `N(0, 1/N)`, zero bias, from `seed`) when the file has none. A model
    /// whose inputs or readout do not fit (`inputs`, `outputs`) is a
    /// [`HostError::Invalid`] naming `Param::Model`.
    pub fn from_model(
        model: Model,
        inputs: usize,
        outputs: usize,
        seed: u64,
    ) -> Result<Self, HostError> {
        let path = model.info.path.clone();
        let bad = |why: String| HostError::invalid(Param::Model, format!(" {path}: {why}"));
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
                CellWeights::Gru {
                    weights: g.weights,
                    form: g.form,
                },
                g.activation,
            ),
            Net::Lstm(l) => (CellWeights::Lstm(l.weights), l.activation),
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
    /// sequences in parallel, each with one stacked matrix product per
    /// step and direction, in `precision` ([`crate::bptt_batch`]; a chunk
    /// mixing lengths, or too long for
    /// [`crate::bptt_batch::MAX_CHUNK_BYTES`], goes sequence by sequence in
    /// `f64`; a chunk whose `f32` pass overflows is done again in `f64`),
    /// summed in `f64` in the batch's order, so the result
    /// does not depend on the number of threads. Its `outputs` are the
    /// examples', one after another. An empty batch is a
    /// [`HostError::Invalid`].
    pub fn batch_gradient(
        &self,
        batch: &[Example],
        precision: Precision,
    ) -> Result<LossGradient, HostError> {
        if batch.is_empty() {
            return Err(HostError::BadInput("train: empty batch".into()));
        }
        let chunks: Vec<LossGradient> = batch
            .par_chunks(CHUNK)
            .map(|chunk| {
                if self.batchable(chunk) {
                    let g = |p| {
                        chunk_loss_gradient(
                            self.recurrent(),
                            self.activation,
                            &self.readout,
                            chunk,
                            p,
                        )
                    };
                    match g(precision) {
                        // f32's range ends at 3.4e38: adjoints that grow
                        // through a long chaotic sequence can pass it where
                        // f64's do not; that chunk is done again in f64
                        Ok(grad) if precision == Precision::F32 && !finite(&grad) => {
                            g(Precision::F64)
                        }
                        // an overflow inside the f32 pass itself
                        Err(HostError::Numerical { .. }) if precision == Precision::F32 => {
                            g(Precision::F64)
                        }
                        other => other,
                    }
                } else {
                    sum(chunk
                        .iter()
                        .map(|ex| self.gradient(ex))
                        .collect::<Result<_, _>>()?)
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(averaged(sum(chunks)?, batch.len()))
    }

    /// Each example's loss and outputs (forward passes only), in
    /// `precision`: chunks of [`CHUNK`] sequences in parallel as in
    /// [`Trainable::batch_gradient`] (a chunk mixing lengths, or too long,
    /// goes sequence by sequence in `f64`), in the order of `examples`.
    pub fn batch_evaluate(
        &self,
        examples: &[Example],
        precision: Precision,
    ) -> Result<Vec<Evaluation>, HostError> {
        let chunks: Vec<Vec<Evaluation>> = examples
            .par_chunks(CHUNK)
            .map(|chunk| {
                if self.batchable(chunk) {
                    chunk_evaluate(
                        self.recurrent(),
                        self.activation,
                        &self.readout,
                        chunk,
                        precision,
                    )
                } else {
                    chunk.iter().map(|ex| self.evaluate(ex)).collect()
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(chunks.concat())
    }

    /// Whether `chunk` goes through [`crate::bptt_batch`]: one length, and
    /// traces within [`crate::bptt_batch::MAX_CHUNK_BYTES`].
    fn batchable(&self, chunk: &[Example]) -> bool {
        let len = chunk.first().map_or(0, |ex| ex.inputs.len());
        let steps = len / self.inputs().max(1);
        chunk.iter().all(|ex| ex.inputs.len() == len)
            && crate::bptt_batch::fits(self.n(), steps, chunk.len())
    }

    /// [`Trainable::batch_gradient`] sequence by sequence
    /// ([`crate::bptt::loss_gradient`] for each, in parallel): the
    /// reference the batched products are checked and timed against.
    pub fn batch_gradient_by_sequence(&self, batch: &[Example]) -> Result<LossGradient, HostError> {
        if batch.is_empty() {
            return Err(HostError::BadInput("train: empty batch".into()));
        }
        let grads: Vec<LossGradient> = batch
            .par_iter()
            .map(|ex| self.gradient(ex))
            .collect::<Result<_, _>>()?;
        Ok(averaged(sum(grads)?, batch.len()))
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
        .ok_or_else(|| HostError::BadInput("train: empty batch".into()))?;
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
fn averaged(mut g: LossGradient, count: usize) -> LossGradient {
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

/// The gradient's arrays in the one order (`blocks!`) (that of
/// [`Trainable::blocks_mut`]).
pub fn gradient_blocks(g: &LossGradient) -> Vec<&[f64]> {
    let blocks: Vec<&Vec<f64>> = blocks!(&g.recurrent, &g.readout);
    blocks.into_iter().map(|b| &b[..]).collect()
}

fn gradient_blocks_mut(g: &mut LossGradient) -> Vec<&mut Vec<f64>> {
    blocks!(&mut g.recurrent, &mut g.readout)
}

/// Whether every entry of the gradient and its loss are finite.
fn finite(g: &LossGradient) -> bool {
    g.loss.is_finite()
        && gradient_blocks(g)
            .iter()
            .all(|b| b.iter().all(|x| x.is_finite()))
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

impl Trainable {
    /// The network as [`gatedyn_host::formats::save`] writes it.
    pub fn trained(&self) -> TrainedRef<'_> {
        TrainedRef {
            cell: &self.cell,
            activation: self.activation,
            readout: &self.readout,
        }
    }
}
