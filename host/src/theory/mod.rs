//! The experiments of the theory (docs/THEORY.md): spectra against the
//! predicted support, gate-scale sweeps, the mean-field phase diagram, the
//! long-term Jacobian, Lyapunov exponents, fixed points, phase-space
//! complexity, and the analysis of a trained model.
//!
//! May import: the crate root, `io`, `net`, `linalg`, `formats`.

pub mod analyze;
pub mod complexity;
pub mod fixed_points;
pub mod long_term;
pub mod lyapunov;
pub mod phase;
pub mod quantize;
pub mod spectrum;
pub mod sweep;
