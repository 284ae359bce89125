//! Long-memory benchmark tasks that need no download, as training
//! examples ([`crate::train::Example`]).
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

use crate::bptt::{Objective, Supervision};
use crate::train::Example;
use crate::HostError;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;

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
/// sequence, else a [`HostError::Param`] naming the setting.
pub fn copy(task: CopyTask, count: usize, seed: u64) -> Result<Vec<Example>, HostError> {
    let CopyTask {
        symbols,
        alphabet,
        delay,
    } = task;
    if !(1..=100_000).contains(&symbols) {
        return Err(HostError::Param(format!(
            "copy task: 1 to 100000 symbols to remember (got {symbols})"
        )));
    }
    if !(2..=1000).contains(&alphabet) {
        return Err(HostError::Param(format!(
            "copy task: an alphabet of 2 to 1000 symbols (got {alphabet})"
        )));
    }
    if delay > 1_000_000 || task.length() > 1_000_000 {
        return Err(HostError::Param(format!(
            "--length: a copy sequence of at most 1000000 steps (got delay {delay})"
        )));
    }
    if count == 0 {
        return Err(HostError::Param("copy task: no sequences asked for".into()));
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
/// [`HostError::Param`] naming `--length` or the count.
pub fn adding(length: usize, count: usize, seed: u64) -> Result<Vec<Example>, HostError> {
    if !(2..=1_000_000).contains(&length) {
        return Err(HostError::Param(format!(
            "--length: the adding problem needs 2 to 1000000 steps (got {length})"
        )));
    }
    if count == 0 {
        return Err(HostError::Param(
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
