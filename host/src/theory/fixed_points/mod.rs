//! Fixed points and slow points (docs/THEORY.md §4, §15): the solver
//! ([`solver`]: Levenberg–Marquardt on `½‖Φ(x) − x‖²` with the core's exact
//! Jacobian), the search of a random GRU against its predicted support
//! ([`random`]), and the search of a trained network from the states of its
//! task, GRU or LSTM ([`trained`]).

pub mod random;
pub mod solver;
pub mod trained;

pub use random::*;
