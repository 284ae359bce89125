//! Long-memory benchmark tasks that need no download, as training
//! examples ([`crate::train::Example`]).
//!
//! * [`adding`]: the adding problem (Hochreiter & Schmidhuber 1997). Two
//!   input channels: values uniform on `[0, 1)`, and a marker that is 1 at
//!   two steps (one in each half of the sequence) and 0 elsewhere. The
//!   target, read at the last step, is the sum of the two marked values;
//!   the loss is the squared error, so predicting the mean (1) scores
//!   `Var = 2/12 = 1/6`.

use crate::bptt::{Objective, Supervision};
use crate::train::Example;
use crate::HostError;
use rand_core::{RngCore, SeedableRng};
use rand_xorshift::XorShiftRng;

/// The loss of always predicting the mean on the adding problem: 1/6.
pub const ADDING_MEAN_PREDICTOR_LOSS: f64 = 1.0 / 6.0;

/// A uniform draw on `[0, 1)` with 53 random bits.
fn uniform(rng: &mut XorShiftRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform index in `0..n` (`n ≥ 1`; the modulo bias is below 2⁻⁵⁰ for
/// the lengths allowed).
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
