//! Typed errors: data and numerical failures. Misuse that types can catch
//! (wrong sizes of const-generic cells) does not compile instead.

use core::fmt;

/// What held a non-finite value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Quantity {
    /// The hidden state `h`.
    State,
    /// The LSTM cell state `c`.
    CellState,
    /// The input `x`.
    Input,
    /// A weight or bias.
    Weight,
    /// A vector a Jacobian is applied to.
    Vector,
    /// A value computed from finite data overflowed.
    Result,
    /// A scalar parameter (a gate scale, a tolerance, a target).
    Parameter,
}

/// Everything the core can report instead of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A NaN or infinity in `what`, first at `index`.
    NonFinite {
        /// Where the value sat.
        what: Quantity,
        /// Its position (flattened, row-major for matrices).
        index: usize,
    },
    /// A slice had the wrong length for the network size.
    DimensionMismatch {
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A weight array had the wrong length for the network's sizes, when a
    /// network is built or loaded (`GruRef::new`, `Gru::load`, …).
    WeightShape {
        /// The gate, by its letter in docs/THEORY.md §2 (`"z"`, `"r"`,
        /// `"h"`, `"f"`, `"i"`, `"o"`, `"c"`).
        gate: &'static str,
        /// The array: `"U"` (recurrent, n×n), `"W"` (input, n×inputs),
        /// `"b"` (bias, n) or `"b_hn"` (the reset-after GRU's recurrent
        /// candidate bias, n).
        matrix: &'static str,
        /// The length required (row-major, flattened).
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A caller-provided workspace is too small.
    WorkspaceTooSmall {
        /// Elements required.
        needed: usize,
        /// Elements given.
        got: usize,
    },
    /// A parameter is outside its domain (the name says which).
    InvalidParameter {
        /// The parameter's name, as in the docs.
        name: &'static str,
    },
    /// An iterative method did not reach its tolerance within its budget.
    NoConvergence {
        /// Iterations (or operator applications) spent.
        iterations: usize,
        /// The last value of the quantity sought (a spectral radius, a
        /// quadrature node, a subdiagonal entry being deflated, a bound);
        /// NaN when none was formed.
        last: f64,
        /// The relative residual of `last` when the budget ran out; NaN
        /// where the method has no residual.
        residual: f64,
    },
    /// A weight, bias or scale does not fit a fixed-point format
    /// (docs/THEORY.md §16): a bias beyond ±32768 in Q16, or a row scale
    /// whose multiplier has no representation.
    OutOfRange {
        /// The gate, by its letter (`"z"`, `"r"`, `"h"`), or `"x"` for the
        /// input scale.
        gate: &'static str,
        /// The array (`"U"`, `"W"`, `"b"`, `"b_hn"`, `"scale"`).
        matrix: &'static str,
        /// The row (flattened index for a bias).
        index: usize,
    },
    /// The requested target cannot be met by any value of the parameter
    /// (for example a radius below 1 with a random update-gate bias).
    Infeasible {
        /// Which target.
        what: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NonFinite { what, index } => {
                write!(f, "non-finite value in {what:?} at index {index}")
            }
            Error::DimensionMismatch { expected, found } => {
                write!(
                    f,
                    "dimension mismatch: expected length {expected}, found {found}"
                )
            }
            Error::WeightShape {
                gate,
                matrix,
                expected,
                found,
            } => write!(
                f,
                "gate {gate}: {matrix} has {found} entries, expected {expected}"
            ),
            Error::WorkspaceTooSmall { needed, got } => {
                write!(f, "workspace too small: need {needed} elements, got {got}")
            }
            Error::InvalidParameter { name } => write!(f, "invalid parameter `{name}`"),
            Error::NoConvergence {
                iterations,
                last,
                residual,
            } => {
                write!(f, "no convergence after {iterations} iterations")?;
                match (last.is_finite(), residual.is_finite()) {
                    (true, true) => {
                        write!(f, " (last value {last:e}, relative residual {residual:e})")
                    }
                    (true, false) => write!(f, " (last value {last:e})"),
                    // nothing formed yet: no NaN in a message
                    _ => write!(f, " (no estimate formed within the budget)"),
                }
            }
            Error::Infeasible { what } => write!(f, "infeasible target: {what}"),
            Error::OutOfRange {
                gate,
                matrix,
                index,
            } => write!(
                f,
                "gate {gate}: {matrix} row {index} does not fit the fixed-point format"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Returns the first non-finite entry of `xs` as an error.
#[inline]
pub(crate) fn check_finite<F: crate::Real>(xs: &[F], what: Quantity) -> Result<(), Error> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Checks a slice length.
#[inline]
pub(crate) fn check_len(len: usize, expected: usize) -> Result<(), Error> {
    if len == expected {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            expected,
            found: len,
        })
    }
}

/// Checks that a scalar parameter is finite and `>= 0`.
#[inline]
pub(crate) fn check_scale(x: f64, name: &'static str) -> Result<(), Error> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name })
    }
}
