//! Linear operators given only by their action `y = A x`: the Jacobians of a
//! GRU or LSTM at a state, applied matrix-free, and a dense matrix.

use crate::error::{check_len, Error};
use crate::gru::{GruRef, GruTraceRef};
use crate::lstm::{LstmRef, LstmTraceRef};
use crate::real::Real;

/// A square linear operator known through its products.
pub trait LinearOperator<F: Real> {
    /// The dimension (the operator is `dim × dim`).
    fn dim(&self) -> usize;
    /// `y = A x`.
    fn apply(&mut self, x: &[F], y: &mut [F]) -> Result<(), Error>;
}

/// The GRU Jacobian at a state, applied matrix-free (`3N²` per product).
#[derive(Debug)]
pub struct GruJacobian<'a, F> {
    net: GruRef<'a, F>,
    h: &'a [F],
    trace: GruTraceRef<'a, F>,
    scratch: &'a mut [F],
}

impl<'a, F: Real> GruJacobian<'a, F> {
    /// The Jacobian of `net` at the state `h` that produced `trace`;
    /// `scratch` has length n.
    pub fn new(
        net: GruRef<'a, F>,
        h: &'a [F],
        trace: GruTraceRef<'a, F>,
        scratch: &'a mut [F],
    ) -> Result<Self, Error> {
        check_len(h.len(), net.n())?;
        check_len(scratch.len(), net.n())?;
        check_len(trace.z.len(), net.n())?;
        Ok(GruJacobian {
            net,
            h,
            trace,
            scratch,
        })
    }
}

impl<F: Real> LinearOperator<F> for GruJacobian<'_, F> {
    fn dim(&self) -> usize {
        self.net.n()
    }
    fn apply(&mut self, x: &[F], y: &mut [F]) -> Result<(), Error> {
        self.net.jvp(self.h, self.trace, x, y, self.scratch)
    }
}

/// The LSTM Jacobian at a state, applied matrix-free (`4N²` per product).
#[derive(Debug)]
pub struct LstmJacobian<'a, F> {
    net: LstmRef<'a, F>,
    h: &'a [F],
    c: &'a [F],
    trace: LstmTraceRef<'a, F>,
}

impl<'a, F: Real> LstmJacobian<'a, F> {
    /// The Jacobian of `net` at the state `(h, c)` that produced `trace`.
    pub fn new(
        net: LstmRef<'a, F>,
        h: &'a [F],
        c: &'a [F],
        trace: LstmTraceRef<'a, F>,
    ) -> Result<Self, Error> {
        check_len(h.len(), net.n())?;
        check_len(c.len(), net.n())?;
        check_len(trace.f.len(), net.n())?;
        Ok(LstmJacobian { net, h, c, trace })
    }
}

impl<F: Real> LinearOperator<F> for LstmJacobian<'_, F> {
    fn dim(&self) -> usize {
        2 * self.net.n()
    }
    fn apply(&mut self, x: &[F], y: &mut [F]) -> Result<(), Error> {
        self.net.jvp(self.h, self.c, self.trace, x, y)
    }
}

/// A dense row-major `n×n` matrix as an operator.
#[derive(Debug, Clone, Copy)]
pub struct DenseMatrix<'a, F> {
    n: usize,
    a: &'a [F],
}

impl<'a, F: Real> DenseMatrix<'a, F> {
    /// Wraps a row-major `n×n` slice.
    pub fn new(n: usize, a: &'a [F]) -> Result<Self, Error> {
        check_len(a.len(), n * n)?;
        Ok(DenseMatrix { n, a })
    }
}

impl<F: Real> LinearOperator<F> for DenseMatrix<'_, F> {
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&mut self, x: &[F], y: &mut [F]) -> Result<(), Error> {
        check_len(x.len(), self.n)?;
        check_len(y.len(), self.n)?;
        crate::gate::matvec(self.a, x, y);
        Ok(())
    }
}
