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
        matvec(&self.u[..n * n], &h[..n], out);
        for (i, o) in out.iter_mut().enumerate() {
            let mut acc = self.b[i] + *o;
            if ni > 0 {
                acc += dot(&self.w[i * ni..(i + 1) * ni], x);
            }
            *o = acc;
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
/// so results are reproducible bit for bit): accumulator `j` sums the terms
/// `k ≡ j (mod 4)` in order, the four are added as `(s₀ + s₁) + (s₂ + s₃)`,
/// and the `n mod 4` trailing terms follow in order.
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
    finish(s, &a[4 * chunks..], &b[4 * chunks..])
}

/// `(s₀ + s₁) + (s₂ + s₃)`, then the trailing terms in order.
#[inline(always)]
fn finish<F: Real>(s: [F; 4], at: &[F], bt: &[F]) -> F {
    let mut acc = (s[0] + s[1]) + (s[2] + s[3]);
    for (&a, &b) in at.iter().zip(bt) {
        acc += a * b;
    }
    acc
}

/// `s` as exact chunks of 4 and the trailing `len mod 4` values.
#[inline(always)]
fn quads<F>(s: &[F]) -> (core::slice::ChunksExact<'_, F>, &[F]) {
    let c = s.chunks_exact(4);
    let tail = c.remainder();
    (c, tail)
}

/// Rows processed together by the products (see [`dot4`]).
pub(crate) const ROWS: usize = 4;

/// `[dot(u₀, x), dot(u₁, x), dot(u₂, x), dot(u₃, x)]` for the four
/// consecutive rows of `block` (row-major, rows of length `x.len()`) in one
/// pass over `x`, each with exactly [`dot`]'s summation order, so the
/// results are the same bits as four calls. Sharing the loads of `x`
/// between rows is what brings a product near one load and one
/// multiply-add per multiply-accumulate on a Cortex-M4F.
#[inline(never)]
fn dot4<F: Real>(block: &[F], x: &[F]) -> [F; ROWS] {
    let n = x.len();
    let (r0, rest) = block.split_at(n);
    let (r1, rest) = rest.split_at(n);
    let (r2, r3) = rest.split_at(n);
    let r3 = &r3[..n];
    let ((xc, xt), (c0, t0), (c1, t1)) = (quads(x), quads(r0), quads(r1));
    let ((c2, t2), (c3, t3)) = (quads(r2), quads(r3));
    let mut s = [[F::ZERO; 4]; ROWS];
    for ((((xs, a0), a1), a2), a3) in xc.zip(c0).zip(c1).zip(c2).zip(c3) {
        for (acc, a) in s.iter_mut().zip([a0, a1, a2, a3]) {
            acc[0] += a[0] * xs[0];
            acc[1] += a[1] * xs[1];
            acc[2] += a[2] * xs[2];
            acc[3] += a[3] * xs[3];
        }
    }
    [
        finish(s[0], t0, xt),
        finish(s[1], t1, xt),
        finish(s[2], t2, xt),
        finish(s[3], t3, xt),
    ]
}

/// Calls `each(i, [A₀_i · x₀, …, A_{M-1,i} · x_{M-1}])` for the `m` rows of
/// the `M` row-major matrices `products[k] = (A_k, x_k)` (rows of length
/// `x_k.len()`), [`ROWS`] rows of a matrix per pass over its `x`, then the
/// last `m mod ROWS` rows one by one; every dot product has [`dot`]'s order,
/// so the values are the same bits as row-by-row calls of [`dot`].
#[inline(always)]
pub(crate) fn for_rows<F: Real, const M: usize>(
    products: [(&[F], &[F]); M],
    m: usize,
    mut each: impl FnMut(usize, [F; M]),
) {
    let groups = m / ROWS;
    for g in 0..groups {
        let mut dots = [[F::ZERO; ROWS]; M];
        for (d, (a, x)) in dots.iter_mut().zip(&products) {
            let n = x.len();
            *d = dot4(&a[g * ROWS * n..(g + 1) * ROWS * n], x);
        }
        for r in 0..ROWS {
            let mut row = [F::ZERO; M];
            for (o, d) in row.iter_mut().zip(&dots) {
                *o = d[r];
            }
            each(g * ROWS + r, row);
        }
    }
    for i in groups * ROWS..m {
        let mut row = [F::ZERO; M];
        for (o, (a, x)) in row.iter_mut().zip(&products) {
            let n = x.len();
            *o = dot(&a[i * n..(i + 1) * n], x);
        }
        each(i, row);
    }
}

/// `out = U v` for row-major n×n `U`.
#[inline(always)]
pub(crate) fn matvec<F: Real>(u: &[F], v: &[F], out: &mut [F]) {
    for_rows([(u, v)], out.len(), |i, [d]| out[i] = d);
}

/// Rows of `U` added together by [`matvec_t_acc`] (each `out_j` loaded and
/// stored once per group).
const ROWS_T: usize = 8;

/// `out += Uᵀ v` for row-major n×n `U` (row-oriented axpy, cache friendly).
/// Each `out_j` receives `v_i U_ij` in the order of `i`, rows with `v_i = 0`
/// skipped, whether rows are taken [`ROWS_T`] at a time (when none of their
/// `v_i` is zero) or one by one: the same bits either way.
#[inline(always)]
pub(crate) fn matvec_t_acc<F: Real>(u: &[F], v: &[F], out: &mut [F]) {
    let n = out.len();
    let mut i = 0;
    while i < v.len() {
        if i + ROWS_T <= v.len() && v[i..i + ROWS_T].iter().all(|&x| x != F::ZERO) {
            let vs = &v[i..i + ROWS_T];
            let (v0, v1, v2, v3, v4, v5, v6, v7) =
                (vs[0], vs[1], vs[2], vs[3], vs[4], vs[5], vs[6], vs[7]);
            let block = &u[i * n..(i + ROWS_T) * n];
            let (r0, rest) = block.split_at(n);
            let (r1, rest) = rest.split_at(n);
            let (r2, rest) = rest.split_at(n);
            let (r3, rest) = rest.split_at(n);
            let (r4, rest) = rest.split_at(n);
            let (r5, rest) = rest.split_at(n);
            let (r6, r7) = rest.split_at(n);
            let lo = r0.iter().zip(r1).zip(r2).zip(r3);
            let hi = r4.iter().zip(r5).zip(r6).zip(&r7[..n]);
            for (o, ((((&a0, &a1), &a2), &a3), (((&a4, &a5), &a6), &a7))) in
                out.iter_mut().zip(lo.zip(hi))
            {
                let mut acc = *o;
                acc += v0 * a0;
                acc += v1 * a1;
                acc += v2 * a2;
                acc += v3 * a3;
                acc += v4 * a4;
                acc += v5 * a5;
                acc += v6 * a6;
                acc += v7 * a7;
                *o = acc;
            }
            i += ROWS_T;
            continue;
        }
        let vi = v[i];
        if vi != F::ZERO {
            let row = &u[i * n..(i + 1) * n];
            for (o, &uij) in out.iter_mut().zip(row) {
                *o += vi * uij;
            }
        }
        i += 1;
    }
}
