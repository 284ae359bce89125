//! Long-memory benchmark tasks that need no download, as training
//! examples ([`crate::loss::Example`]).
//!
//! * [`adding`]: the adding problem (Hochreiter & Schmidhuber 1997). Two
//!   input channels: values uniform on `[0, 1)`, and a marker that is 1 at
//!   two steps (one in each half of the sequence) and 0 elsewhere. The
//!   target, read at the last step, is the sum of the two marked values;
//!   the loss is the squared error, so predicting the mean (1) scores
//!   `Var = 2/12 = 1/6`.
//! * [`copy`]: the copy (recall) task (Hochreiter & Schmidhuber 1997;
//!   Arjovsky et al. 2016). `K + 2` one-hot input channels: `K` symbols,
//!   a blank and a delimiter. A sequence shows `S` random symbols, then
//!   `delay` blanks, then the delimiter, then `S` blanks during which the
//!   network must output the `S` symbols in order (cross-entropy at those
//!   steps); guessing scores `ln K`.
//! * sequential MNIST ([`Task::Smnist`]): the 784 pixels of a digit one
//!   per step (scaled to `[0, 1]`), the class read at the last step
//!   (cross-entropy over 10 outputs); guessing scores `ln 10`. The
//!   variants the literature reports beside it ([`PixelOrder`]): `K`
//!   pixels per step (`K = 28`: row by row, 28 steps) and permuted sMNIST
//!   (one fixed permutation of the pixels, from a seed).
//!
//! [`Task`] puts the three behind one interface for the training runs.

use crate::loss::Example;
use crate::loss::{Objective, Supervision};
use crate::mnist::{Digits, Split};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;
use std::sync::Arc;

/// The loss of always predicting the mean on the adding problem: 1/6.
pub const ADDING_MEAN_PREDICTOR_LOSS: f64 = 1.0 / 6.0;

/// The copy task's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyTask {
    /// Symbols to remember, `S`.
    pub symbols: usize,
    /// Size of the alphabet, `K`.
    pub alphabet: usize,
    /// Blanks between the symbols and the delimiter.
    pub delay: usize,
}

impl CopyTask {
    /// Steps of one sequence: `2S + delay + 1`.
    pub fn length(&self) -> usize {
        2 * self.symbols + self.delay + 1
    }
    /// Input channels: `K + 2`.
    pub fn inputs(&self) -> usize {
        self.alphabet + 2
    }
}

/// `count` copy-task sequences from `seed`. At least one symbol, an
/// alphabet of 2 to 1000, sequences of at most 10⁶ steps and at least one
/// sequence, else a [`HostError::Invalid`] naming the setting.
pub fn copy(task: CopyTask, count: usize, seed: u64) -> Result<Vec<Example>, HostError> {
    let CopyTask {
        symbols,
        alphabet,
        delay,
    } = task;
    if !(1..=100_000).contains(&symbols) {
        return Err(HostError::BadInput(format!(
            "copy task: 1 to 100000 symbols to remember (got {symbols})"
        )));
    }
    if !(2..=1000).contains(&alphabet) {
        return Err(HostError::BadInput(format!(
            "copy task: an alphabet of 2 to 1000 symbols (got {alphabet})"
        )));
    }
    if delay > 1_000_000 || task.length() > 1_000_000 {
        return Err(HostError::invalid(
            Param::Length,
            format!(": a copy sequence of at most 1000000 steps (got delay {delay})"),
        ));
    }
    if count == 0 {
        return Err(HostError::BadInput(
            "copy task: no sequences asked for".into(),
        ));
    }
    let (steps, width) = (task.length(), task.inputs());
    let (blank, delimiter) = (alphabet, alphabet + 1);
    let mut rng = XorShiftRng::seed_from_u64(seed);
    Ok((0..count)
        .map(|_| {
            let shown: Vec<usize> = (0..symbols).map(|_| index(&mut rng, alphabet)).collect();
            let mut inputs = vec![0.0; steps * width];
            for t in 0..steps {
                let channel = match t {
                    t if t < symbols => shown[t],
                    t if t == symbols + delay => delimiter,
                    _ => blank,
                };
                inputs[t * width + channel] = 1.0;
            }
            Example {
                inputs,
                supervision: Supervision {
                    at: (steps - symbols..steps).collect(),
                    objective: Objective::CrossEntropy { classes: shown },
                },
            }
        })
        .collect())
}

/// A uniform draw on `[0, 1)` with 53 random bits.
fn uniform(rng: &mut XorShiftRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform index in `0..n` (`n ≥ 1`; the modulo bias is below 2⁻⁴⁴ for
/// the sizes allowed, at most 10⁶).
fn index(rng: &mut XorShiftRng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// `count` adding-problem sequences of `length` steps from `seed`. A length
/// below 2 (no two halves) or above 10⁶, or no sequences, is a
/// [`HostError::Invalid`] naming `Param::Length` or the count.
pub fn adding(length: usize, count: usize, seed: u64) -> Result<Vec<Example>, HostError> {
    if !(2..=1_000_000).contains(&length) {
        return Err(HostError::invalid(
            Param::Length,
            format!(": the adding problem needs 2 to 1000000 steps (got {length})"),
        ));
    }
    if count == 0 {
        return Err(HostError::BadInput(
            "adding problem: no sequences asked for".into(),
        ));
    }
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let half = length / 2;
    Ok((0..count)
        .map(|_| {
            let mut inputs = vec![0.0; 2 * length];
            for t in 0..length {
                inputs[2 * t] = uniform(&mut rng);
            }
            let (a, b) = (index(&mut rng, half), half + index(&mut rng, length - half));
            inputs[2 * a + 1] = 1.0;
            inputs[2 * b + 1] = 1.0;
            let target = inputs[2 * a] + inputs[2 * b];
            Example {
                inputs,
                supervision: Supervision {
                    at: vec![length - 1],
                    objective: Objective::Squared {
                        targets: vec![target],
                    },
                },
            }
        })
        .collect())
}

/// The flip-flop task (Sussillo & Barak 2013; FixedPointFinder's
/// `FlipFlopData`): `bits` input channels of sparse ±1 pulses (each step,
/// each channel: a pulse with probability `pulse_probability`, its sign a
/// fair coin; every channel pulses at step 0) and `bits` outputs that hold
/// the sign of their channel's latest pulse at every step (squared error).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlipFlopTask {
    /// Channels (the memory's bits).
    pub bits: usize,
    /// Steps per sequence.
    pub length: usize,
    /// Probability of a pulse per step and channel.
    pub pulse_probability: f64,
}

/// `count` flip-flop sequences from `seed`.
pub fn flipflop(task: FlipFlopTask, count: usize, seed: u64) -> Result<Vec<Example>, HostError> {
    let FlipFlopTask {
        bits,
        length,
        pulse_probability: p,
    } = task;
    if bits == 0 || bits > 64 {
        return Err(HostError::invalid(
            Param::Bits,
            format!(": 1 to 64 channels (got {bits})"),
        ));
    }
    if !(1..=1_000_000).contains(&length) {
        return Err(HostError::invalid(
            Param::Length,
            format!(": a flip-flop sequence of 1 to 1000000 steps (got {length})"),
        ));
    }
    if !(p > 0.0 && p <= 1.0) {
        return Err(HostError::invalid(
            Param::PulseProbability,
            format!(" must be in (0, 1], got {p}"),
        ));
    }
    if count == 0 {
        return Err(HostError::BadInput(
            "flip-flop: no sequences asked for".into(),
        ));
    }
    let mut rng = XorShiftRng::seed_from_u64(seed);
    Ok((0..count)
        .map(|_| {
            let mut inputs = vec![0.0; length * bits];
            let mut targets = vec![0.0; length * bits];
            let mut held = vec![0.0; bits];
            for t in 0..length {
                for b in 0..bits {
                    if t == 0 || uniform(&mut rng) < p {
                        let sign = if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 };
                        inputs[t * bits + b] = sign;
                        held[b] = sign;
                    }
                    targets[t * bits + b] = held[b];
                }
            }
            Example {
                inputs,
                supervision: Supervision {
                    at: (0..length).collect(),
                    objective: Objective::Squared { targets },
                },
            }
        })
        .collect())
}

/// An adding-problem answer within this of the target counts as correct
/// (the usual threshold, e.g. Le et al. 2015 report the loss; 0.04 is the
/// accuracy criterion of Arjovsky et al. 2016's follow-ups).
pub const ADDING_TOLERANCE: f64 = 0.04;

/// How a digit becomes a sequence: the order its pixels are read in (the
/// image's, or one fixed permutation of it), `per_step` at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelOrder {
    /// Pixels per step `K` (1: pixel by pixel, the paper's; 28: row by row).
    pub per_step: usize,
    /// The seed of the permutation (permuted sMNIST), or `None`.
    pub permute: Option<u64>,
    /// Step `t` reads pixels `order[t·K .. (t+1)·K]`.
    order: Vec<usize>,
}

impl PixelOrder {
    /// The order for images of `pixels` pixels. `per_step` must divide
    /// `pixels` (else a [`HostError::Invalid`] naming
    /// `Param::PixelsPerStep`); `permute` draws a Fisher–Yates permutation
    /// from `XorShiftRng::seed_from_u64(seed)`, the same on every machine.
    pub fn new(pixels: usize, per_step: usize, permute: Option<u64>) -> Result<Self, HostError> {
        if per_step == 0 || !pixels.is_multiple_of(per_step) {
            let divisors: Vec<String> = (1..=pixels)
                .filter(|d| pixels.is_multiple_of(*d))
                .map(|d| d.to_string())
                .take(24)
                .collect();
            return Err(HostError::invalid(
                Param::PixelsPerStep,
                format!(
                    " {per_step} does not divide the images' {pixels} pixels (one of {})",
                    divisors.join(", ")
                ),
            ));
        }
        let mut order: Vec<usize> = (0..pixels).collect();
        if let Some(seed) = permute {
            let mut rng = XorShiftRng::seed_from_u64(seed);
            for i in (1..pixels).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        Ok(PixelOrder {
            per_step,
            permute,
            order,
        })
    }

    /// Steps per sequence: `pixels / K`.
    pub fn steps(&self) -> usize {
        self.order.len() / self.per_step
    }

    /// The sequence of `image` (`T×K`, row-major, scaled to `[0, 1]`).
    pub fn sequence(&self, image: &[u8]) -> Vec<f64> {
        self.order
            .iter()
            .map(|&p| image[p] as f64 / 255.0)
            .collect()
    }
}

/// A training task: what the examples are and how they are scored.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// The adding problem with sequences of `length` steps.
    Adding {
        /// `T`.
        length: usize,
    },
    /// The copy task.
    Copy(CopyTask),
    /// The flip-flop memory.
    FlipFlop(FlipFlopTask),
    /// Sequential MNIST: both splits, loaded once, read in `order`.
    Smnist {
        /// The training images.
        train: Arc<Digits>,
        /// The test images.
        test: Arc<Digits>,
        /// How an image becomes a sequence.
        order: Arc<PixelOrder>,
    },
}

impl Task {
    /// `"adding"`, `"copy"` or `"smnist"`.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Adding { .. } => "adding",
            Task::Copy(_) => "copy",
            Task::FlipFlop(_) => "flipflop",
            Task::Smnist { .. } => "smnist",
        }
    }
    /// sMNIST's pixel order (`None` for the other tasks).
    pub fn pixel_order(&self) -> Option<&PixelOrder> {
        match self {
            Task::Smnist { order, .. } => Some(order),
            _ => None,
        }
    }
    /// Input channels.
    pub fn inputs(&self) -> usize {
        match self {
            Task::Adding { .. } => 2,
            Task::Copy(c) => c.inputs(),
            Task::FlipFlop(f) => f.bits,
            Task::Smnist { order, .. } => order.per_step,
        }
    }
    /// Readout outputs.
    pub fn outputs(&self) -> usize {
        match self {
            Task::Adding { .. } => 1,
            Task::Copy(c) => c.alphabet,
            Task::FlipFlop(f) => f.bits,
            Task::Smnist { .. } => 10,
        }
    }
    /// Steps per sequence.
    pub fn length(&self) -> usize {
        match self {
            Task::Adding { length } => *length,
            Task::Copy(c) => c.length(),
            Task::FlipFlop(f) => f.length,
            Task::Smnist { order, .. } => order.steps(),
        }
    }
    /// The loss of a network that has learnt nothing: the mean predictor's
    /// 1/6 (adding), `ln K` (copy), `ln 10` (sMNIST).
    pub fn chance_loss(&self) -> f64 {
        match self {
            Task::Adding { .. } => ADDING_MEAN_PREDICTOR_LOSS,
            Task::Copy(c) => (c.alphabet as f64).ln(),
            // the zero output against targets of ±1
            Task::FlipFlop(_) => 1.0,
            Task::Smnist { .. } => 10f64.ln(),
        }
    }
    /// The accuracy of guessing: 0 (adding: the mean predictor is within
    /// [`ADDING_TOLERANCE`] of a triangular-distributed sum about 8% of the
    /// time, but it is no skill), `1/K`, `1/10`.
    pub fn chance_accuracy(&self) -> f64 {
        match self {
            Task::Adding { .. } => 0.0,
            Task::Copy(c) => 1.0 / c.alphabet as f64,
            Task::FlipFlop(_) => 0.5,
            Task::Smnist { .. } => 0.1,
        }
    }
    /// `count` examples of `split` from `seed`. The synthetic tasks draw
    /// the two splits from different streams; sMNIST takes the split's
    /// first `count` images (more than it has is a [`HostError::Invalid`]
    /// naming `flag`).
    pub fn examples(
        &self,
        split: Split,
        count: usize,
        seed: u64,
        param: Param,
    ) -> Result<Vec<Example>, HostError> {
        // distinct streams for the splits, whatever the seed
        let seed = match split {
            Split::Train => seed,
            Split::Test => seed ^ 0x9E37_79B9_7F4A_7C15,
        };
        match self {
            Task::Adding { length } => adding(*length, count, seed),
            Task::Copy(c) => copy(*c, count, seed),
            Task::FlipFlop(f) => flipflop(*f, count, seed),
            Task::Smnist { train, test, order } => {
                let digits = match split {
                    Split::Train => train,
                    Split::Test => test,
                };
                if count == 0 || count > digits.len() {
                    return Err(HostError::invalid(
                        param,
                        format!(
                            ": 1 to {} sequences (the MNIST {} split has {} images; got {count})",
                            digits.len(),
                            if split == Split::Train {
                                "training"
                            } else {
                                "test"
                            },
                            digits.len()
                        ),
                    ));
                }
                Ok((0..count)
                    .map(|k| Example {
                        inputs: order.sequence(digits.image(k)),
                        supervision: Supervision {
                            at: vec![order.steps() - 1],
                            objective: Objective::CrossEntropy {
                                classes: vec![digits.labels[k] as usize],
                            },
                        },
                    })
                    .collect())
            }
        }
    }
    /// How many of `ex`'s supervised answers `outputs` (`S×K`, the
    /// readout's at its supervised steps) gets right, out of how many:
    /// within [`ADDING_TOLERANCE`] (adding), the largest output is the
    /// class (copy, sMNIST), the output has the target's sign (flip-flop).
    pub fn correct(&self, ex: &Example, outputs: &[f64]) -> (usize, usize) {
        if let (Task::FlipFlop(_), Objective::Squared { targets }) =
            (self, &ex.supervision.objective)
        {
            // an output is right when it has its target's sign
            let right = targets
                .iter()
                .zip(outputs)
                .filter(|(t, y)| **t * **y > 0.0)
                .count();
            return (right, targets.len());
        }
        match &ex.supervision.objective {
            Objective::Squared { targets } => (
                targets
                    .iter()
                    .zip(outputs)
                    .filter(|(t, y)| (*t - *y).abs() < ADDING_TOLERANCE)
                    .count(),
                targets.len(),
            ),
            Objective::CrossEntropy { classes } => {
                let k = self.outputs();
                let right = classes
                    .iter()
                    .enumerate()
                    .filter(|(s, &c)| {
                        let row = &outputs[s * k..(s + 1) * k];
                        let best = (0..k)
                            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                            .unwrap_or(0);
                        best == c
                    })
                    .count();
                (right, classes.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_by_row_reads_the_rows_in_order() {
        let order = PixelOrder::new(784, 28, None).unwrap();
        assert_eq!(order.steps(), 28);
        let image: Vec<u8> = (0..784).map(|k| (k % 251) as u8).collect();
        let seq = order.sequence(&image);
        // step 3 is row 3: pixels 84..112
        for j in 0..28 {
            assert_eq!(seq[3 * 28 + j], image[84 + j] as f64 / 255.0);
        }
    }

    #[test]
    fn a_permutation_is_fixed_by_its_seed_and_moves_the_pixels() {
        let a = PixelOrder::new(784, 1, Some(7)).unwrap();
        let b = PixelOrder::new(784, 1, Some(7)).unwrap();
        let c = PixelOrder::new(784, 1, Some(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.order, c.order);
        let mut sorted = a.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..784).collect::<Vec<_>>(), "a permutation");
        let fixed = a.order.iter().enumerate().filter(|(i, &p)| *i == p).count();
        // a random permutation fixes one point on average
        assert!(fixed < 10, "{fixed} pixels stay in place");
    }

    #[test]
    fn pixels_per_step_must_divide_the_image() {
        match PixelOrder::new(784, 5, None) {
            Err(HostError::Invalid {
                param: Param::PixelsPerStep,
                message,
            }) => assert_eq!(
                message,
                " 5 does not divide the images' 784 pixels (one of 1, 2, 4, 7, 8, 14, 16, 28, 49, 56, 98, 112, 196, 392, 784)"
            ),
            other => panic!("{other:?}"),
        }
    }
}
