//! Owned weights by gate ([`GateWeights`], [`GruWeights`],
//! [`LstmWeights`]) and the scales a set of weights would have been drawn
//! with ([`empirical_scale`], docs/THEORY.md §1, §9).

use super::kinds::Cell;
use gatedyn::init::GateScale;

use gatedyn::{Activation, GateMut, GateRef, GruForm, GruGates, GruRef, LstmGates, LstmRef};

/// Owned weights of one gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateWeights {
    /// Recurrent weights, row-major `n×n` (`u[i·n + k]` couples unit `k`
    /// into unit `i`).
    pub u: Vec<f64>,
    /// Input weights, row-major `n×inputs` (empty for an autonomous
    /// network).
    pub w: Vec<f64>,
    /// Bias, `n`.
    pub b: Vec<f64>,
}

impl GateWeights {
    /// All zero, `n` units, `inputs` inputs.
    pub fn zeros(n: usize, inputs: usize) -> Self {
        GateWeights {
            u: vec![0.0; n * n],
            w: vec![0.0; n * inputs],
            b: vec![0.0; n],
        }
    }
    /// The core's view.
    pub fn view(&self) -> GateRef<'_, f64> {
        GateRef {
            u: &self.u,
            w: &self.w,
            b: &self.b,
        }
    }
    /// The core's mutable view (for initialisation).
    pub fn view_mut(&mut self) -> GateMut<'_, f64> {
        GateMut {
            u: &mut self.u,
            w: &mut self.w,
            b: &mut self.b,
        }
    }
}

/// The weights of a GRU by gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GruWeights {
    /// Update gate `z`.
    pub z: GateWeights,
    /// Reset gate `r`.
    pub r: GateWeights,
    /// Candidate `h`.
    pub h: GateWeights,
}

/// The weights of an LSTM by gate.
#[derive(Debug, Clone, PartialEq)]
pub struct LstmWeights {
    /// Forget gate `f`.
    pub f: GateWeights,
    /// Input gate `i`.
    pub i: GateWeights,
    /// Output gate `o`.
    pub o: GateWeights,
    /// Cell candidate `c`.
    pub c: GateWeights,
}

impl GruWeights {
    /// The core's view of a GRU with these weights (`n` units, `inputs`
    /// inputs). Fails with the core's `WeightShape` error naming the gate
    /// and array whose size does not match.
    pub fn view<'a>(
        &'a self,
        n: usize,
        inputs: usize,
        form: &'a GruForm<Vec<f64>>,
        activation: Activation,
    ) -> Result<GruRef<'a, f64>, gatedyn::Error> {
        let form = match form {
            GruForm::ResetBefore => GruForm::ResetBefore,
            GruForm::ResetAfter { recurrent_bias } => GruForm::ResetAfter {
                recurrent_bias: &recurrent_bias[..],
            },
        };
        GruRef::with_form(
            n,
            inputs,
            GruGates {
                z: self.z.view(),
                r: self.r.view(),
                h: self.h.view(),
            },
            form,
            activation,
        )
    }
}

impl LstmWeights {
    /// The core's view of an LSTM with these weights (`n` units, `inputs`
    /// inputs); errors as [`GruWeights::view`].
    pub fn view(
        &self,
        n: usize,
        inputs: usize,
        activation: Activation,
    ) -> Result<LstmRef<'_, f64>, gatedyn::Error> {
        LstmRef::new(
            n,
            inputs,
            LstmGates {
                f: self.f.view(),
                i: self.i.view(),
                o: self.o.view(),
                c: self.c.view(),
            },
            activation,
        )
    }
}

/// Standard deviation of `xs` (population), 0 for an empty slice.
fn std_dev(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / m).sqrt()
}

/// Mean of `xs` (values or references), 0 when there are none.
pub fn mean(xs: impl IntoIterator<Item = impl std::borrow::Borrow<f64>>) -> f64 {
    let (sum, count) = xs
        .into_iter()
        .fold((-0.0, 0usize), |(s, k), x| (s + x.borrow(), k + 1));
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}

/// The scales a random network with these weights would have been drawn
/// with (docs/THEORY.md §1, §9): `σ = std(U)·√N`, `σ_b = std(b)`, input
/// scale `std(W)·√I`.
pub fn empirical_scale(g: &GateWeights, n: usize, inputs: usize) -> GateScale {
    GateScale {
        sigma: std_dev(&g.u) * (n as f64).sqrt(),
        bias: std_dev(&g.b),
        input: std_dev(&g.w) * (inputs as f64).sqrt(),
    }
}

/// The recurrent weights of either cell, with the GRU's form: what a
/// training run updates and what [`crate::formats::save`] writes.
#[derive(Debug, Clone, PartialEq)]
pub enum CellWeights {
    /// A GRU of either form.
    Gru {
        /// Weights by gate.
        weights: GruWeights,
        /// Where the reset gate acts (`b_hn` is trained in the reset-after form).
        form: GruForm<Vec<f64>>,
    },
    /// An LSTM.
    Lstm(LstmWeights),
}

impl CellWeights {
    /// GRU or LSTM.
    pub fn cell(&self) -> Cell {
        match self {
            CellWeights::Gru { .. } => Cell::Gru,
            CellWeights::Lstm(_) => Cell::Lstm,
        }
    }

    /// Inputs `I` (from the first gate's `W`).
    pub fn inputs(&self) -> usize {
        let g = match self {
            CellWeights::Gru { weights, .. } => &weights.z,
            CellWeights::Lstm(w) => &w.f,
        };
        g.w.len() / g.b.len().max(1)
    }
}
