//! Owned traces of a step and the Jacobian's diagonal factors, with their
//! borrowed views in the core's types.

use gatedyn::{GruTraceMut, GruTraceRef, LstmTraceMut, LstmTraceRef};

use super::kinds::*;

/// Declares an owned trace (one `Vec` of length `n` per field) with its
/// borrowed views in the core's types; the field list is written once.
macro_rules! owned_vectors {
    ($(#[$doc:meta])* $name:ident, $core_ref:ident, $core_mut:ident, [$($field:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $(
                #[doc = concat!("`", stringify!($field), "`, one entry per unit.")]
                pub $field: Vec<f64>,
            )+
        }
        impl $name {
            /// All zero, `n` units.
            pub fn zeros(n: usize) -> Self {
                $name { $($field: vec![0.0; n]),+ }
            }
            /// The core's read view.
            pub fn view(&self) -> $core_ref<'_, f64> {
                $core_ref { $($field: &self.$field),+ }
            }
            /// The core's write view.
            pub fn view_mut(&mut self) -> $core_mut<'_, f64> {
                $core_mut { $($field: &mut self.$field),+ }
            }
        }
    };
}

owned_vectors!(
    /// The trace of a GRU step (gates, pre-activations, candidate, next state).
    GruTraceBuf, GruTraceRef, GruTraceMut, [z, r, candidate, a_z, a_r, a_h, reset_operand, next]
);

owned_vectors!(
    /// The trace of an LSTM step.
    LstmTraceBuf, LstmTraceRef, LstmTraceMut,
    [f, i, o, g, a_f, a_i, a_o, a_c, c_next, c_act, h_next]
);

/// Owned diagonal factors of a GRU Jacobian (docs/THEORY.md §3), named as in
/// [`gatedyn::GruFactorsMut`].
#[derive(Debug, Clone)]
pub struct GruFactors {
    /// `1 − z`.
    pub keep: Vec<f64>,
    /// `z φ'(a_h)`.
    pub candidate: Vec<f64>,
    /// `r`.
    pub reset: Vec<f64>,
    /// `ρ σ'(a_r)` (`ρ` = `h` before the reset, `U_h h + b_hn` after it).
    pub reset_slope: Vec<f64>,
    /// `(φ(a_h) − h) σ'(a_z)`.
    pub update: Vec<f64>,
}

/// Owned diagonal factors of an LSTM Jacobian (docs/THEORY.md §3), named as in
/// [`gatedyn::LstmFactorsMut`].
#[derive(Debug, Clone)]
pub struct LstmFactors {
    /// `f`.
    pub forget: Vec<f64>,
    /// `c σ'(a_f)`.
    pub forget_slope: Vec<f64>,
    /// `g σ'(a_i)`.
    pub input_slope: Vec<f64>,
    /// `i φ'(a_c)`.
    pub cell_slope: Vec<f64>,
    /// `φ(c') σ'(a_o)`.
    pub output_slope: Vec<f64>,
    /// `o φ'(c')`.
    pub output: Vec<f64>,
}

/// The Jacobian's diagonal factors of either cell.
#[derive(Debug, Clone)]
pub enum Factors {
    /// GRU factors.
    Gru(GruFactors),
    /// LSTM factors.
    Lstm(LstmFactors),
}

impl Factors {
    /// GRU or LSTM.
    pub fn cell(&self) -> Cell {
        match self {
            Factors::Gru(_) => Cell::Gru,
            Factors::Lstm(_) => Cell::Lstm,
        }
    }
}
