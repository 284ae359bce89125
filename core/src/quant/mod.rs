//! Fixed-point cells (docs/THEORY.md §16): integer weights with one scale
//! per row, a Q15 state, the gate functions from tables, integer arithmetic
//! only on the step path, so that a step is bit-exact on every target.
//!
//! * [`activation`]: σ, tanh and hard tanh from a Q16 pre-activation to
//!   Q15, with stated error bounds.
//! * [`dot`]: the exact integer dot products, in the loop shapes that
//!   compile to the Cortex-M4's `smlald` and `smlabb`.
//! * [`gru`]: [`QGru`], both GRU forms with `i8` or `i16` weights, built
//!   from a float [`crate::Gru`], and its dequantized view for the
//!   Jacobian code.
//! * [`lstm`]: [`QLstm`], the LSTM in the same formats, its cell state in
//!   Q16.

pub mod activation;
pub mod dot;
pub mod gru;
pub mod lstm;
mod tables;

pub use gru::{
    bias_q16, dequantized, quantize_gate, quantize_input, quantize_state, QGate, QGateMut,
    QGateRef, QGru, QGruRef, QGruTrace, QGruTraceMut, QGruTraceRef, QWeight, Requant,
};
pub use lstm::{dequantized_lstm, QLstm, QLstmRef, QLstmTrace, QLstmTraceMut, QLstmTraceRef};
