//! A linear readout `y = W h + b` after the recurrent layer (the `MatMul` /
//! `Gemm` + `Add` of an exported model, a PyTorch `nn.Linear`): `K`
//! outputs from `N` hidden units, weights owned with sizes as types so that
//! an exported readout lives in a `static` beside its network.

use crate::error::{check_finite, Error, Quantity};
use crate::gate::dot;
use crate::real::Real;

/// `y = W h + b` with `W` row-major `K×N` (`w[k][j]` multiplies `h_j` in
/// output `k`, the layout of PyTorch's `nn.Linear.weight`).
#[derive(Debug, Clone, PartialEq)]
pub struct Readout<F, const N: usize, const K: usize> {
    /// Weights, `K×N`.
    pub w: [[F; N]; K],
    /// Bias.
    pub b: [F; K],
}

impl<F: Real, const N: usize, const K: usize> Readout<F, N, K> {
    /// All zero.
    pub const fn zeroed() -> Self {
        Readout {
            w: [[F::ZERO; N]; K],
            b: [F::ZERO; K],
        }
    }

    /// `out = W h + b`; a non-finite `h` is an error.
    ///
    /// ```
    /// use gatedyn::Readout;
    /// let r: Readout<f32, 2, 1> = Readout { w: [[1.0, -2.0]], b: [0.5] };
    /// let mut y = [0.0];
    /// r.apply(&[3.0, 1.0], &mut y)?;
    /// assert_eq!(y, [1.5]);
    /// # Ok::<(), gatedyn::Error>(())
    /// ```
    pub fn apply(&self, h: &[F; N], out: &mut [F; K]) -> Result<(), Error> {
        check_finite(h, Quantity::State)?;
        for ((o, row), &b) in out.iter_mut().zip(&self.w).zip(&self.b) {
            *o = dot(row, h) + b;
        }
        check_finite(out, Quantity::Result)
    }
}
