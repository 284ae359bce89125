//! One gate's weights: recurrent matrix `U` (N×N), input matrix `W` (N×I)
//! and bias `b` (N), as owned const-generic arrays ([`Gate`]) or as borrowed
//! slices with run-time sizes ([`GateRef`], [`GateMut`]).
//!
//! Matrices are row-major: `U[i][j]` multiplies `h_j` in unit `i`'s
//! pre-activation `a_i = Σ_j U[i][j] h_j + Σ_k W[i][k] x_k + b_i`.

use crate::error::{check_finite, check_len, Error, Quantity};
use crate::real::Real;

/// Owned weights of one gate, sizes as types. Fields are public so a gate can
/// be written as a `static` (weights in flash).
#[derive(Debug, Clone, PartialEq)]
pub struct Gate<F, const N: usize, const I: usize> {
    /// Recurrent weights `U`, row-major N×N.
    pub u: [[F; N]; N],
    /// Input weights `W`, row-major N×I.
    pub w: [[F; I]; N],
    /// Bias `b`.
    pub b: [F; N],
}

impl<F: Real, const N: usize, const I: usize> Gate<F, N, I> {
    /// All-zero weights (usable in `const` and `static` items).
    pub const fn zeroed() -> Self {
        Gate {
            u: [[F::ZERO; N]; N],
            w: [[F::ZERO; I]; N],
            b: [F::ZERO; N],
        }
    }

    /// Borrowed view with run-time sizes.
    pub fn view(&self) -> GateRef<'_, F> {
        GateRef {
            u: self.u.as_flattened(),
            w: self.w.as_flattened(),
            b: &self.b,
        }
    }

    /// Mutable borrowed view, for initialisation.
    pub fn view_mut(&mut self) -> GateMut<'_, F> {
        GateMut {
            u: self.u.as_flattened_mut(),
            w: self.w.as_flattened_mut(),
            b: &mut self.b,
        }
    }
}

/// Borrowed weights of one gate: `u` is n×n, `w` is n×inputs, `b` is n, all
/// row-major. Lengths are checked when a network is built from gates.
#[derive(Debug, Clone, Copy)]
pub struct GateRef<'a, F> {
    /// Recurrent weights, row-major n×n.
    pub u: &'a [F],
    /// Input weights, row-major n×inputs (empty when inputs = 0).
    pub w: &'a [F],
    /// Bias, length n.
    pub b: &'a [F],
}

/// Mutable borrowed weights of one gate (same layout as [`GateRef`]).
#[derive(Debug)]
pub struct GateMut<'a, F> {
    /// Recurrent weights, row-major n×n.
    pub u: &'a mut [F],
    /// Input weights, row-major n×inputs.
    pub w: &'a mut [F],
    /// Bias, length n.
    pub b: &'a mut [F],
}

impl<'a, F: Real> GateRef<'a, F> {
    /// Checks the lengths against `n` units and `inputs` inputs.
    pub fn check_dims(&self, n: usize, inputs: usize) -> Result<(), Error> {
        check_len(self.u.len(), n * n)?;
        check_len(self.w.len(), n * inputs)?;
        check_len(self.b.len(), n)
    }

    /// Checks the lengths like [`GateRef::check_dims`], naming the gate and
    /// the array in the error ([`Error::WeightShape`]).
    pub fn check_shape(&self, gate: &'static str, n: usize, inputs: usize) -> Result<(), Error> {
        check_lengths(gate, [self.u.len(), self.w.len(), self.b.len()], n, inputs)
    }

    /// Returns the first non-finite weight, with its index counted over
    /// `u`, then `w`, then `b`. Costs O(n²); run it once after loading.
    pub fn check_finite(&self) -> Result<(), Error> {
        let shift = |e: Error, by: usize| match e {
            Error::NonFinite { what, index } => Error::NonFinite {
                what,
                index: index + by,
            },
            other => other,
        };
        check_finite(self.u, Quantity::Weight)?;
        check_finite(self.w, Quantity::Weight).map_err(|e| shift(e, self.u.len()))?;
        check_finite(self.b, Quantity::Weight).map_err(|e| shift(e, self.u.len() + self.w.len()))
    }

    /// `out = W x + b`, the input part of the pre-activation (lengths
    /// already checked by the caller).
    #[inline(always)]
    pub(crate) fn input_part(&self, x: &[F], out: &mut [F]) {
        let ni = x.len();
        for (i, o) in out.iter_mut().enumerate() {
            let mut acc = self.b[i];
            if ni > 0 {
                acc += dot(&self.w[i * ni..(i + 1) * ni], x);
            }
            *o = acc;
        }
    }

    /// `out = U h + W x + b` (lengths already checked by the caller).
    #[inline(always)]
    pub(crate) fn preactivation(&self, h: &[F], x: &[F], out: &mut [F]) {
        let n = out.len();
        let ni = x.len();
        for i in 0..n {
            let mut acc = self.b[i];
            acc += dot(&self.u[i * n..(i + 1) * n], h);
            if ni > 0 {
                acc += dot(&self.w[i * ni..(i + 1) * ni], x);
            }
            out[i] = acc;
        }
    }
}

impl<F: Real, const N: usize, const I: usize> Gate<F, N, I> {
    /// Copies weights given as flat row-major slices of `f32` or `f64`
    /// (`u`: N×N, `w`: N×I, `b`: N, as in [`GateRef`]) into this gate,
    /// converting to `F`. A length mismatch is an [`Error::WeightShape`]
    /// naming `gate`; a NaN or infinity is an [`Error::NonFinite`] of a
    /// [`Quantity::Weight`] (index over `u`, then `w`, then `b`). Nothing is
    /// written unless every check passes.
    pub fn load<S: Copy + Into<f64>>(
        &mut self,
        gate: &'static str,
        src: GateRef<'_, S>,
    ) -> Result<(), Error> {
        check_source(gate, src, N, I)?;
        self.copy_from(src);
        Ok(())
    }

    /// The copy of [`Gate::load`], for a source already checked with
    /// [`check_source`] (the cells check every gate before writing any).
    pub(crate) fn copy_from<S: Copy + Into<f64>>(&mut self, src: GateRef<'_, S>) {
        let put = |dst: &mut [F], from: &[S]| {
            for (d, &s) in dst.iter_mut().zip(from) {
                *d = F::from_f64(s.into());
            }
        };
        put(self.u.as_flattened_mut(), src.u);
        put(self.w.as_flattened_mut(), src.w);
        put(&mut self.b, src.b);
    }
}

/// The lengths of `U`, `W`, `b` against `n` units and `inputs` inputs.
fn check_lengths(
    gate: &'static str,
    lengths: [usize; 3],
    n: usize,
    inputs: usize,
) -> Result<(), Error> {
    let expected = [n * n, n * inputs, n];
    for ((matrix, found), expected) in ["U", "W", "b"].into_iter().zip(lengths).zip(expected) {
        if found != expected {
            return Err(Error::WeightShape {
                gate,
                matrix,
                expected,
                found,
            });
        }
    }
    Ok(())
}

/// Shape and finiteness checks of a weight source of any scalar type.
pub(crate) fn check_source<S: Copy + Into<f64>>(
    gate: &'static str,
    src: GateRef<'_, S>,
    n: usize,
    inputs: usize,
) -> Result<(), Error> {
    check_lengths(gate, [src.u.len(), src.w.len(), src.b.len()], n, inputs)?;
    let all = src.u.iter().chain(src.w).chain(src.b);
    match all.map(|&x| x.into()).position(|x: f64| !x.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what: Quantity::Weight,
            index,
        }),
        None => Ok(()),
    }
}

/// `Σ a_k b_k`, four independent accumulators (same order on every target,
/// so results are reproducible bit for bit).
#[inline(always)]
pub(crate) fn dot<F: Real>(a: &[F], b: &[F]) -> F {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [F::ZERO; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let k = 4 * c;
        s[0] += a[k] * b[k];
        s[1] += a[k + 1] * b[k + 1];
        s[2] += a[k + 2] * b[k + 2];
        s[3] += a[k + 3] * b[k + 3];
    }
    let mut acc = (s[0] + s[1]) + (s[2] + s[3]);
    for k in 4 * chunks..n {
        acc += a[k] * b[k];
    }
    acc
}

/// `out = U v` for row-major n×n `U`.
#[inline(always)]
pub(crate) fn matvec<F: Real>(u: &[F], v: &[F], out: &mut [F]) {
    let n = out.len();
    for (i, o) in out.iter_mut().enumerate() {
        *o = dot(&u[i * n..(i + 1) * n], v);
    }
}

/// `out += Uᵀ v` for row-major n×n `U` (row-oriented axpy, cache friendly).
#[inline(always)]
pub(crate) fn matvec_t_acc<F: Real>(u: &[F], v: &[F], out: &mut [F]) {
    let n = out.len();
    for (i, &vi) in v.iter().enumerate() {
        if vi == F::ZERO {
            continue;
        }
        let row = &u[i * n..(i + 1) * n];
        for (o, &uij) in out.iter_mut().zip(row) {
            *o += vi * uij;
        }
    }
}
