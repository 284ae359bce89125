//! A training run (`gatedyn train`): epochs of shuffled mini-batches with
//! Adam ([`crate::params`]), the test loss and accuracy after each, and the
//! Jacobian's dynamics at every checkpoint (before training and after each
//! epoch), so a run shows the spectrum move while the network learns.
//!
//! The dynamics at a checkpoint are those of the network driven by the
//! first test sequence (docs/THEORY.md §14): the Jacobian of its last step (§3,
//! at the state reached and that step's input), its spectral radius, and
//! its slow modes, the eigenvalues with `|λ| > 1 − ε` (as in `gatedyn
//! analyze`).

use crate::adam::Adam;
use crate::bptt_batch::Precision;
use crate::loss::Example;
use crate::mnist::Split;
use crate::params::Trainable;
use crate::tasks::Task;
use gatedyn::GruForm;
use gatedyn_host::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use gatedyn_host::net::{optional_form_name, CellWeights};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Above this many hidden units the checkpoints skip the dense eigenvalues
/// (`O(N³)` each).
pub const MAX_DENSE_CHECKPOINT: usize = 2048;
/// At most this many epochs.
pub const MAX_EPOCHS: usize = 100_000;

/// How to train. Written into sweep shards as part of their settings
/// (`seed` as `data_seed`, no clipping as `"clip": null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Sequences per gradient step.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Global gradient-norm clipping (`∞`: none).
    #[serde(with = "clip_or_null")]
    pub clip: f64,
    /// Seed of the data and the shuffles (the weights have their own).
    #[serde(rename = "data_seed")]
    pub seed: u64,
    /// Training sequences.
    pub train_size: usize,
    /// Test sequences (the loss and accuracy reported).
    pub test_size: usize,
    /// The accuracy whose first epoch is reported (`epochs_to_target`).
    pub target_accuracy: f64,
    /// A slow mode is an eigenvalue with `|λ| > 1 − slow_epsilon`.
    pub slow_epsilon: f64,
    /// The arithmetic of the forward and backward passes. Written only
    /// when `f32`: settings written before it existed were `f64`, and read
    /// and write back unchanged.
    #[serde(default = "f64_before_precision", skip_serializing_if = "is_f64")]
    pub precision: Precision,
}

/// What a sweep line without `precision` was trained in.
fn f64_before_precision() -> Precision {
    Precision::F64
}

fn is_f64(p: &Precision) -> bool {
    *p == Precision::F64
}

/// `serde` for a clipping norm: `∞` (no clipping) as `null`.
mod clip_or_null {
    /// Writes a finite norm, or `null` for `∞`.
    pub fn serialize<S: serde::Serializer>(clip: &f64, s: S) -> Result<S::Ok, S::Error> {
        match clip.is_finite() {
            true => s.serialize_some(clip),
            false => s.serialize_none(),
        }
    }
    /// Reads a norm, `null` as `∞`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let clip: Option<f64> = serde::Deserialize::deserialize(d)?;
        Ok(clip.unwrap_or(f64::INFINITY))
    }
}

impl FitConfig {
    /// Checks the settings; a [`HostError::Invalid`] names the flag.
    pub fn check(&self) -> Result<(), HostError> {
        let bad_in = |param: Param, m: String| Err(HostError::invalid(param, m));
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            return bad_in(
                Param::Epochs,
                format!(": 1 to {MAX_EPOCHS} (got {})", self.epochs),
            );
        }
        if self.batch == 0 || self.batch > self.train_size {
            return bad_in(
                Param::Batch,
                format!(
                    ": 1 to the training set's {} sequences (got {})",
                    self.train_size, self.batch
                ),
            );
        }
        if self.train_size == 0 || self.test_size == 0 {
            let param = if self.train_size == 0 {
                Param::TrainSize
            } else {
                Param::TestSize
            };
            return bad_in(param, ": at least 1 sequence".into());
        }
        if !(self.slow_epsilon > 0.0 && self.slow_epsilon < 1.0) {
            return bad_in(
                Param::SlowEpsilon,
                format!(": in (0, 1) (got {})", self.slow_epsilon),
            );
        }
        if !(0.0..=1.0).contains(&self.target_accuracy) {
            return bad_in(
                Param::TargetAccuracy,
                format!(": in [0, 1] (got {})", self.target_accuracy),
            );
        }
        Adam::new(self.lr, self.clip).map(|_| ())
    }
}

/// The Jacobian's dynamics at a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dynamics {
    /// `max |λ|`.
    pub spectral_radius: f64,
    /// Eigenvalues with `|λ| > 1 − ε`.
    pub slow_modes: usize,
    /// `slow_modes` over the state dimension.
    pub slow_share: f64,
    /// Eigenvalues with `|λ| ≥ 1`.
    pub unstable_modes: usize,
}

/// One checkpoint of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochRecord {
    /// 0 before training, then the epochs done.
    pub epoch: usize,
    /// Mean loss of the epoch's batches (before each batch's update);
    /// `None` at epoch 0.
    pub train_loss: Option<f64>,
    /// Mean loss over the test set.
    pub test_loss: f64,
    /// Share of the test set's answers right ([`Task::correct`]).
    pub test_accuracy: f64,
    /// Mean gradient norm of the epoch's batches, before clipping.
    pub gradient_norm: Option<f64>,
    /// Largest gradient norm of the epoch.
    pub max_gradient_norm: Option<f64>,
    /// The Jacobian's spectrum (`None` above [`MAX_DENSE_CHECKPOINT`]).
    pub dynamics: Option<Dynamics>,
    /// Seconds of this epoch's training (without the checkpoint).
    pub seconds: f64,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitReport {
    /// `adding`, `copy` or `smnist`.
    pub task: &'static str,
    /// Steps per sequence.
    pub length: usize,
    /// sMNIST: pixels per step (absent for the other tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixels_per_step: Option<usize>,
    /// Permuted sMNIST: the permutation's seed (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permute: Option<u64>,
    /// `GRU` or `LSTM`.
    pub cell: String,
    /// `reset_before`, `reset_after` (GRU) or `None`.
    #[serde(serialize_with = "optional_form_name")]
    pub form: Option<GruForm<()>>,
    /// Hidden units.
    pub n: usize,
    /// The settings.
    pub epochs: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Clipping norm (`null` when none).
    pub clip: Option<f64>,
    /// Data seed.
    pub seed: u64,
    /// `f32` or `f64` forward and backward passes.
    pub precision: Precision,
    /// Training sequences.
    pub train_size: usize,
    /// Test sequences.
    pub test_size: usize,
    /// The loss of a network that learnt nothing ([`Task::chance_loss`]).
    pub chance_loss: f64,
    /// Guessing's accuracy.
    pub chance_accuracy: f64,
    /// The test loss after the last epoch.
    pub final_loss: f64,
    /// The test accuracy after the last epoch.
    pub final_accuracy: f64,
    /// The accuracy asked for by `epochs_to_target`.
    pub target_accuracy: f64,
    /// The first epoch whose test accuracy reached `target_accuracy`.
    pub epochs_to_target: Option<usize>,
    /// Mean seconds of an epoch's training.
    pub seconds_per_epoch: f64,
    /// Epoch 0 (before training), then one record per epoch.
    pub history: Vec<EpochRecord>,
}

/// What [`fit`] reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum FitEvent<'a> {
    /// A batch of `epoch` is done (`done` of `of` batches), its loss.
    Batch {
        /// 1-based.
        epoch: usize,
        /// Batches done in this epoch.
        done: usize,
        /// Batches per epoch.
        of: usize,
        /// The batch's mean loss.
        loss: f64,
    },
    /// A checkpoint was recorded.
    Checkpoint(&'a EpochRecord),
}

/// The bytes of the training and test sequences of `task`, held for the
/// whole run: 8 per input value.
fn data_bytes(task: &Task, cfg: &FitConfig) -> u128 {
    (cfg.train_size as u128 + cfg.test_size as u128)
        * (task.length() as u128)
        * (task.inputs() as u128)
        * 8
}

/// Bytes of backpropagation working memory per hidden unit and step of a
/// sequence: about 14 `f64` blocks (states, gates and their adjoints), the
/// bound [`crate::bptt_batch::fits`] uses.
pub const BPTT_BYTES_PER_UNIT_STEP: u128 = 14 * 8;

/// Errors unless the training and test sequences of `task` fit in memory
/// (naming `Param::TrainSize`), and then unless they fit together with the
/// backpropagation traces: each of the threads that work at once holds the traces of a
/// chunk of [`crate::params::CHUNK`] sequences (or of one sequence, when a
/// chunk's would be too large), `T·N` values of
/// [`BPTT_BYTES_PER_UNIT_STEP`] each. Names `Param::Length` (the sequence
/// length is what makes them large): a run that cannot fit ends here, not
/// in an allocation failure minutes later.
pub fn check_memory(task: &Task, cfg: &FitConfig, n: usize) -> Result<(), HostError> {
    let data = data_bytes(task, cfg);
    gatedyn_host::io::limits::check_memory(Param::TrainSize, cfg.train_size, data)?;
    let sequence = (task.length() as u128) * (n as u128) * BPTT_BYTES_PER_UNIT_STEP;
    let chunk = crate::params::CHUNK.min(cfg.batch.max(1));
    let per_worker = if crate::bptt_batch::fits(n, task.length(), chunk) {
        sequence * chunk as u128
    } else {
        sequence
    };
    let workers = rayon::current_num_threads()
        .min(cfg.batch.div_ceil(crate::params::CHUNK))
        .max(1) as u128;
    gatedyn_host::io::limits::check_memory(
        Param::Length,
        task.length(),
        data + workers * per_worker,
    )
}

/// Batches per epoch.
pub fn batches(cfg: &FitConfig) -> usize {
    cfg.train_size.div_ceil(cfg.batch)
}

/// Trains `net` on `task` (a Fisher–Yates shuffle of the training set per
/// epoch from `cfg.seed`) and returns the history. The network, the
/// data and the thread count fix every bit of the result.
pub fn fit(
    task: &Task,
    net: &mut Trainable,
    cfg: &FitConfig,
    mut progress: impl FnMut(FitEvent<'_>),
) -> Result<FitReport, HostError> {
    cfg.check()?;
    if net.inputs() != task.inputs() || net.readout.outputs != task.outputs() {
        return Err(HostError::BadInput(format!(
            "train: the network has {} inputs and {} outputs; the {} task needs {} and {}",
            net.inputs(),
            net.readout.outputs,
            task.name(),
            task.inputs(),
            task.outputs()
        )));
    }
    check_memory(task, cfg, net.n())?;
    let mut train = task.examples(Split::Train, cfg.train_size, cfg.seed, Param::TrainSize)?;
    let test = task.examples(Split::Test, cfg.test_size, cfg.seed, Param::TestSize)?;
    let mut adam = Adam::new(cfg.lr, cfg.clip)?;
    let mut last = checkpoint(task, net, &test, cfg, 0, None)?;
    progress(FitEvent::Checkpoint(&last));
    let mut history = Vec::with_capacity(cfg.epochs + 1);
    let per_epoch = batches(cfg);
    for epoch in 1..=cfg.epochs {
        let t0 = Instant::now();
        // the set itself is shuffled (the swaps compose over the epochs):
        // the batches are slices of it, nothing is copied
        shuffle(&mut train, cfg.seed.wrapping_add(epoch as u64));
        let (mut loss, mut norms) = (0.0, Vec::with_capacity(per_epoch));
        for (b, batch) in train.chunks(cfg.batch).enumerate() {
            let g = net.batch_gradient(batch, cfg.precision)?;
            norms.push(adam.step(net, &g)?);
            loss += g.loss * batch.len() as f64;
            progress(FitEvent::Batch {
                epoch,
                done: b + 1,
                of: per_epoch,
                loss: g.loss,
            });
        }
        let seconds = t0.elapsed().as_secs_f64();
        let stats = EpochStats {
            train_loss: loss / train.len() as f64,
            mean_norm: norms.iter().sum::<f64>() / norms.len() as f64,
            max_norm: norms.iter().cloned().fold(0.0, f64::max),
            seconds,
        };
        let record = checkpoint(task, net, &test, cfg, epoch, Some(stats))?;
        progress(FitEvent::Checkpoint(&record));
        history.push(std::mem::replace(&mut last, record));
    }
    let (final_loss, final_accuracy) = (last.test_loss, last.test_accuracy);
    history.push(last);
    let trained = &history[1..];
    Ok(FitReport {
        task: task.name(),
        length: task.length(),
        pixels_per_step: task.pixel_order().map(|o| o.per_step),
        permute: task.pixel_order().and_then(|o| o.permute),
        cell: net.cell.cell().to_string(),
        form: match &net.cell {
            CellWeights::Gru { form, .. } => Some(form.kind()),
            CellWeights::Lstm(_) => None,
        },
        n: net.n(),
        epochs: cfg.epochs,
        batch: cfg.batch,
        lr: cfg.lr,
        clip: cfg.clip.is_finite().then_some(cfg.clip),
        seed: cfg.seed,
        precision: cfg.precision,
        train_size: cfg.train_size,
        test_size: cfg.test_size,
        chance_loss: task.chance_loss(),
        chance_accuracy: task.chance_accuracy(),
        final_loss,
        final_accuracy,
        target_accuracy: cfg.target_accuracy,
        epochs_to_target: history
            .iter()
            .find(|r| r.epoch > 0 && r.test_accuracy >= cfg.target_accuracy)
            .map(|r| r.epoch),
        seconds_per_epoch: trained.iter().map(|r| r.seconds).sum::<f64>() / trained.len() as f64,
        history,
    })
}

struct EpochStats {
    train_loss: f64,
    mean_norm: f64,
    max_norm: f64,
    seconds: f64,
}

/// Fisher–Yates with a fresh stream per call.
fn shuffle<T>(order: &mut [T], seed: u64) {
    let mut rng = XorShiftRng::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

/// The test loss and accuracy (batched forward passes in the run's
/// precision, in parallel, summed in order) and the dynamics.
fn checkpoint(
    task: &Task,
    net: &Trainable,
    test: &[Example],
    cfg: &FitConfig,
    epoch: usize,
    stats: Option<EpochStats>,
) -> Result<EpochRecord, HostError> {
    let scored: Vec<(f64, usize, usize)> = net
        .batch_evaluate(test, cfg.precision)?
        .iter()
        .zip(test)
        .map(|(e, ex)| {
            let (right, of) = task.correct(ex, &e.outputs);
            (e.loss, right, of)
        })
        .collect();
    let loss = scored.iter().map(|s| s.0).sum::<f64>() / test.len() as f64;
    let (right, of) = scored.iter().fold((0, 0), |(a, b), s| (a + s.1, b + s.2));
    Ok(EpochRecord {
        epoch,
        train_loss: stats.as_ref().map(|s| s.train_loss),
        test_loss: loss,
        test_accuracy: right as f64 / of.max(1) as f64,
        gradient_norm: stats.as_ref().map(|s| s.mean_norm),
        max_gradient_norm: stats.as_ref().map(|s| s.max_norm),
        dynamics: dynamics(net, &test[0], cfg.slow_epsilon)?,
        seconds: stats.map_or(0.0, |s| s.seconds),
    })
}

/// The Jacobian's spectrum at the last step of `ex`'s inputs.
pub fn dynamics(
    net: &Trainable,
    ex: &Example,
    slow_epsilon: f64,
) -> Result<Option<Dynamics>, HostError> {
    if net.n() > MAX_DENSE_CHECKPOINT {
        return Ok(None);
    }
    let mut state = net.net();
    let inputs = state.inputs();
    let steps = ex.inputs.len() / inputs;
    for t in 0..steps {
        if t > 0 {
            state.advance();
        }
        state
            .x_mut()
            .copy_from_slice(&ex.inputs[t * inputs..(t + 1) * inputs]);
        state.trace_step()?;
    }
    let ev = eigenvalues(&jacobian(&state)?)?;
    let slow = ev.iter().filter(|z| z.abs() > 1.0 - slow_epsilon).count();
    Ok(Some(Dynamics {
        spectral_radius: max_modulus(&ev),
        slow_modes: slow,
        slow_share: slow as f64 / ev.len() as f64,
        unstable_modes: ev.iter().filter(|z| z.abs() >= 1.0).count(),
    }))
}
