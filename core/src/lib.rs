//! # gatedyn
//!
//! GRU and LSTM networks as dynamical systems, for firmware and for
//! research: `#![no_std]`, no heap, sizes as types.
//!
//! * [`Gru`], [`Lstm`]: fixed-size cells (paper convention of Can,
//!   Krishnamurthy & Schwab 2020; the GRU also in PyTorch's reset-after form,
//!   [`GruForm`]; weights trained elsewhere load with [`Gru::load`] and
//!   [`Lstm::load`], conventions in [`gru`]) with one step, the exact state-to-state
//!   Jacobian (dense) and matrix-free `J v`, `Jᵀ v`. [`GruRef`] and
//!   [`LstmRef`] are the same code over borrowed slices with run-time sizes.
//! * [`Readout`]: a linear readout `y = W h + b` (an exported model's
//!   output layer).
//! * [`init`]: seeded initialisation, bit-identical across targets.
//! * [`activation`]: `tanh` / hard-tanh, libm, the `fast-activations`
//!   feature (within 2.5e-7) or micromath.
//! * [`spectral_radius`]: matrix-free spectral radius (thick-restart Arnoldi)
//!   of any [`operator::LinearOperator`], e.g. [`operator::GruJacobian`].
//! * [`spectral_curve`]: the predicted large-N support of the Jacobian from a
//!   state, its boundary and the predicted spectral radius.
//! * [`lyapunov`]: the largest Lyapunov exponents of a trajectory (QR
//!   method on caller-owned tangent vectors), with batch-mean errors.
//! * [`quadrature`], [`mft`]: Gaussian averages (accurate for steep gates),
//!   the GRU mean-field fixed point, zero-fixed-point stability, the
//!   bifurcation curve and phase diagram, and principled initialisation.
//! * [`field_table`]: the same averages from flash tables, for running the
//!   theory on a microcontroller (with `f32` supports and the `device()`
//!   options of [`spectral_curve::CurveOptions`] and
//!   [`mft::BifurcationOptions`]: about 10⁷ instructions per result on a
//!   Cortex-M4F instead of 10⁸-10⁹).
//!
//! All numbers follow `docs/THEORY.md` of the repository (the mathematical
//! contract); every formula cites its section.
//!
//! ```
//! use gatedyn::{Gru, GruTrace, init::GruScales};
//! use gatedyn::rand_core::SeedableRng;
//! let mut rng = rand_xorshift::XorShiftRng::seed_from_u64(1);
//! let mut net: Gru<f64, 16, 0> = Gru::zeroed();
//! net.randomize(&mut rng, GruScales::recurrent(2.0, 2.0, 2.0))?;
//! let mut h = [0.1; 16];
//! let mut t = GruTrace::zeroed();
//! for _ in 0..50 {
//!     net.step_traced(&h, &[], &mut t)?;
//!     h = t.next;
//! }
//! # Ok::<(), gatedyn::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod activation;
mod complex;
mod error;
pub mod field_table;
mod gate;
pub mod gru;
pub mod init;
pub mod long_term;
pub mod lstm;
pub mod lyapunov;
mod maximize;
pub mod mft;
pub mod operator;
pub mod quadrature;
pub mod quant;
mod readout;
mod real;
mod scales;
mod small_eigen;
pub mod spectral_curve;
pub mod spectral_radius;

pub use activation::Activation;
pub use complex::Complex;
pub use error::{Error, Quantity};
pub use gate::{Gate, GateMut, GateRef};
pub use gru::{Gru, GruFactorsMut, GruForm, GruGates, GruRef, GruTrace, GruTraceMut, GruTraceRef};
pub use lstm::{
    Dense2N, Lstm, LstmFactorsMut, LstmGates, LstmRef, LstmTrace, LstmTraceMut, LstmTraceRef,
};
/// The `rand_core` this crate's initialisation takes generators from
/// ([`init`]): `use gatedyn::rand_core::SeedableRng;` needs no dependency of
/// your own and cannot pick an incompatible version.
pub use rand_core;
pub use readout::Readout;
pub use real::Real;

/// The README's code blocks, compiled and run as doctests, so that the
/// "core in a dozen lines" stays in step with the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
