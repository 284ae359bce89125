//! The gated recurrent unit, paper convention (docs/THEORY.md §2):
//!
//! ```text
//! z  = σ(U_z h + W_z x + b_z)            update gate
//! r  = σ(U_r h + W_r x + b_r)            reset gate
//! h̃  = φ(U_h (r ⊙ h) + W_h x + b_h)      candidate
//! h' = (1 - z) ⊙ h + z ⊙ h̃
//! ```
//!
//! `z → 0` freezes a unit. [`Gru`] owns its weights with sizes as types;
//! [`GruRef`] borrows slices with run-time sizes (used by the host tools for
//! large N). Both share one implementation.
//!
//! The state-to-state Jacobian (docs/THEORY.md §3) at the state `h` before a step:
//!
//! ```text
//! J = D[1 - z] + D[z ⊙ φ'(a_h)] U_h (D[r] + D[h ⊙ σ'(a_r)] U_r) + D[(h̃ - h) ⊙ σ'(a_z)] U_z
//! ```
//!
//! Costs: a step is `3(N² + N·I)` multiply-adds; `J v` and `Jᵀ v` are `3N²`;
//! the dense Jacobian is `N³ + 2N²` (the product `U_h D U_r`).

use crate::activation::{sigmoid, sigmoid_derivative, Activation};
use crate::error::{check_finite, check_len, Error, Quantity};
use crate::gate::{dot, matvec, matvec_t_acc, Gate, GateRef};
use crate::real::Real;

/// Borrowed GRU with run-time sizes `n` (hidden) and `inputs`.
#[derive(Debug, Clone, Copy)]
pub struct GruRef<'a, F> {
    n: usize,
    inputs: usize,
    z: GateRef<'a, F>,
    r: GateRef<'a, F>,
    h: GateRef<'a, F>,
    activation: Activation,
}

/// Everything one GRU step computed, borrowed: gate values, pre-activations,
/// candidate and next state, each of length n.
#[derive(Debug, Clone, Copy)]
pub struct GruTraceRef<'a, F> {
    /// Update gate `z`.
    pub z: &'a [F],
    /// Reset gate `r`.
    pub r: &'a [F],
    /// Candidate `h̃`.
    pub candidate: &'a [F],
    /// Pre-activation `a_z`.
    pub a_z: &'a [F],
    /// Pre-activation `a_r`.
    pub a_r: &'a [F],
    /// Pre-activation `a_h = U_h (r ⊙ h) + W_h x + b_h`.
    pub a_h: &'a [F],
    /// Next state `h'`.
    pub next: &'a [F],
}

/// Mutable storage a GRU step writes its trace into (see [`GruTraceRef`]).
#[derive(Debug)]
pub struct GruTraceMut<'a, F> {
    /// Update gate `z`.
    pub z: &'a mut [F],
    /// Reset gate `r`.
    pub r: &'a mut [F],
    /// Candidate `h̃`.
    pub candidate: &'a mut [F],
    /// Pre-activation `a_z`.
    pub a_z: &'a mut [F],
    /// Pre-activation `a_r`.
    pub a_r: &'a mut [F],
    /// Pre-activation `a_h`.
    pub a_h: &'a mut [F],
    /// Next state `h'`.
    pub next: &'a mut [F],
}

impl<F> GruTraceMut<'_, F> {
    /// A shorter-lived mutable view of the same storage (to pass to
    /// [`GruRef::step`] without giving the trace up).
    pub fn reborrow(&mut self) -> GruTraceMut<'_, F> {
        GruTraceMut {
            z: self.z,
            r: self.r,
            candidate: self.candidate,
            a_z: self.a_z,
            a_r: self.a_r,
            a_h: self.a_h,
            next: self.next,
        }
    }
    /// Read-only view.
    pub fn as_ref(&self) -> GruTraceRef<'_, F> {
        GruTraceRef {
            z: self.z,
            r: self.r,
            candidate: self.candidate,
            a_z: self.a_z,
            a_r: self.a_r,
            a_h: self.a_h,
            next: self.next,
        }
    }
}

/// Storage for the diagonal factors of the GRU Jacobian (docs/THEORY.md §3),
/// each of length n:
///
/// ```text
/// J = D[keep] + D[candidate] U_h (D[reset] + D[reset_slope] U_r) + D[update] U_z
/// ```
///
/// With them a caller that has its own fast matrix-vector product (a BLAS,
/// several threads, `f32` copies of the weights) applies `J` without
/// repeating the formulas; [`GruRef::factors`] fills them.
#[derive(Debug)]
pub struct GruFactorsMut<'a, F> {
    /// `1 - z`.
    pub keep: &'a mut [F],
    /// `z ⊙ φ'(a_h)`, the row scaling of `U_h`.
    pub candidate: &'a mut [F],
    /// `r`.
    pub reset: &'a mut [F],
    /// `h ⊙ σ'(a_r)`, the row scaling of `U_r`.
    pub reset_slope: &'a mut [F],
    /// `(h̃ - h) ⊙ σ'(a_z)`, the row scaling of `U_z`.
    pub update: &'a mut [F],
}

impl<'a, F: Real> GruTraceRef<'a, F> {
    fn check(&self, n: usize) -> Result<(), Error> {
        for s in [
            self.z,
            self.r,
            self.candidate,
            self.a_z,
            self.a_r,
            self.a_h,
            self.next,
        ] {
            check_len(s.len(), n)?;
        }
        Ok(())
    }
}

/// The three gates of a GRU by name, for [`GruRef::new`].
#[derive(Debug)]
pub struct GruGates<'a, F> {
    /// Update gate `z`.
    pub z: GateRef<'a, F>,
    /// Reset gate `r`.
    pub r: GateRef<'a, F>,
    /// Candidate `h`.
    pub h: GateRef<'a, F>,
}

impl<'a, F: Real> GruRef<'a, F> {
    /// Builds a GRU view from its three gates by name. Fails when `n == 0`
    /// or a length does not match.
    ///
    /// ```
    /// use gatedyn::{Activation, GateRef, GruGates, GruRef};
    /// let (u, b) = ([0.0f64; 4], [0.0f64; 2]);
    /// let g = GateRef { u: &u, w: &[], b: &b };
    /// let net = GruRef::new(2, 0, GruGates { z: g, r: g, h: g }, Activation::Tanh)?;
    /// assert_eq!(net.n(), 2);
    /// # Ok::<(), gatedyn::Error>(())
    /// ```
    pub fn new(
        n: usize,
        inputs: usize,
        gates: GruGates<'a, F>,
        activation: Activation,
    ) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        let GruGates { z, r, h } = gates;
        for g in [&z, &r, &h] {
            g.check_dims(n, inputs)?;
        }
        Ok(GruRef {
            n,
            inputs,
            z,
            r,
            h,
            activation,
        })
    }

    /// Hidden size.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input size.
    pub fn inputs(&self) -> usize {
        self.inputs
    }
    /// The activation `φ`.
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// The gates `(z, r, h)`.
    pub fn gates(&self) -> [GateRef<'a, F>; 3] {
        [self.z, self.r, self.h]
    }

    /// Checks every weight and bias for NaN/∞ (O(N²); once after loading).
    pub fn check_weights(&self) -> Result<(), Error> {
        let per_gate = self.n * (self.n + self.inputs + 1);
        for (k, g) in self.gates().iter().enumerate() {
            g.check_finite()
                .map_err(|e| offset_weight_error(e, k * per_gate))?;
        }
        Ok(())
    }

    /// One step from `h` with input `x` (length `inputs`), writing gates,
    /// pre-activations, candidate and the next state into `trace`.
    ///
    /// Errors: non-finite `h` or `x`; a non-finite pre-activation (reported
    /// as the offending weight when one is non-finite, else as `Result`).
    pub fn step(&self, h: &[F], x: &[F], trace: GruTraceMut<'_, F>) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        check_len(x.len(), self.inputs)?;
        trace.as_ref().check(n)?;
        check_finite(h, Quantity::State)?;
        check_finite(x, Quantity::Input)?;
        let GruTraceMut {
            z,
            r,
            candidate,
            a_z,
            a_r,
            a_h,
            next,
        } = trace;
        self.z.preactivation(h, x, a_z);
        self.r.preactivation(h, x, a_r);
        for i in 0..n {
            z[i] = sigmoid(a_z[i]);
            r[i] = sigmoid(a_r[i]);
            next[i] = r[i] * h[i];
        }
        self.h.preactivation(next, x, a_h);
        self.check_preactivations(&[&*a_z, &*a_r, &*a_h])?;
        for i in 0..n {
            candidate[i] = self.activation.apply(a_h[i]);
            next[i] = (F::ONE - z[i]) * h[i] + z[i] * candidate[i];
        }
        check_finite(next, Quantity::Result)
    }

    fn check_preactivations(&self, a: &[&[F]]) -> Result<(), Error> {
        if a.iter().all(|s| s.iter().all(|x| x.is_finite())) {
            return Ok(());
        }
        self.check_weights()?;
        let bad = a.iter().flat_map(|s| s.iter()).position(|x| !x.is_finite());
        Err(Error::NonFinite {
            what: Quantity::Result,
            index: bad.unwrap_or(0),
        })
    }

    /// The dense Jacobian `∂h'/∂h` (row-major n×n into `out`) at the state
    /// `h` that produced `trace`.
    pub fn jacobian(&self, h: &[F], trace: GruTraceRef<'_, F>, out: &mut [F]) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        check_len(out.len(), n * n)?;
        trace.check(n)?;
        let (uz, ur, uh) = (self.z.u, self.r.u, self.h.u);
        for i in 0..n {
            let row = &mut out[i * n..(i + 1) * n];
            let fz = self.coef_f(h, &trace, i);
            for (o, &u) in row.iter_mut().zip(&uz[i * n..(i + 1) * n]) {
                *o = fz * u;
            }
            let c = self.coef_a(&trace, i);
            if c != F::ZERO {
                for k in 0..n {
                    let a = c * uh[i * n + k];
                    row[k] += a * trace.r[k];
                    let b = a * h[k] * sigmoid_derivative(trace.r[k]);
                    if b != F::ZERO {
                        for (o, &u) in row.iter_mut().zip(&ur[k * n..(k + 1) * n]) {
                            *o += b * u;
                        }
                    }
                }
            }
            row[i] += F::ONE - trace.z[i];
        }
        check_finite(out, Quantity::Result)
    }

    /// The diagonal factors of `J` at the state `h` that produced `trace`
    /// (see [`GruFactorsMut`]); `J v` from them equals [`GruRef::jvp`] up to
    /// rounding.
    pub fn factors(
        &self,
        h: &[F],
        trace: GruTraceRef<'_, F>,
        out: GruFactorsMut<'_, F>,
    ) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        trace.check(n)?;
        for s in [
            &*out.keep,
            &*out.candidate,
            &*out.reset,
            &*out.reset_slope,
            &*out.update,
        ] {
            check_len(s.len(), n)?;
        }
        for i in 0..n {
            out.keep[i] = F::ONE - trace.z[i];
            out.candidate[i] = self.coef_a(&trace, i);
            out.reset[i] = trace.r[i];
            out.reset_slope[i] = h[i] * sigmoid_derivative(trace.r[i]);
            out.update[i] = self.coef_f(h, &trace, i);
        }
        for s in [
            out.keep,
            out.candidate,
            out.reset,
            out.reset_slope,
            out.update,
        ] {
            check_finite(s, Quantity::Result)?;
        }
        Ok(())
    }

    /// `out = J v` without forming `J` (3 matrix-vector products);
    /// `scratch` has length n.
    pub fn jvp(
        &self,
        h: &[F],
        trace: GruTraceRef<'_, F>,
        v: &[F],
        out: &mut [F],
        scratch: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        Self::check_product(n, h, &trace, v, out, scratch)?;
        // scratch = r ⊙ v + h ⊙ σ'(a_r) ⊙ (U_r v)
        matvec(self.r.u, v, scratch);
        for k in 0..n {
            scratch[k] = trace.r[k] * v[k] + h[k] * sigmoid_derivative(trace.r[k]) * scratch[k];
        }
        for i in 0..n {
            let row = i * n..(i + 1) * n;
            let mut acc = (F::ONE - trace.z[i]) * v[i];
            let c = self.coef_a(&trace, i);
            if c != F::ZERO {
                acc += c * dot(&self.h.u[row.clone()], scratch);
            }
            let fz = self.coef_f(h, &trace, i);
            if fz != F::ZERO {
                acc += fz * dot(&self.z.u[row], v);
            }
            out[i] = acc;
        }
        check_finite(out, Quantity::Result)
    }

    /// `out = Jᵀ v` without forming `J` (3 transposed products);
    /// `scratch` has length n.
    pub fn vjp(
        &self,
        h: &[F],
        trace: GruTraceRef<'_, F>,
        v: &[F],
        out: &mut [F],
        scratch: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        Self::check_product(n, h, &trace, v, out, scratch)?;
        // w = U_hᵀ (z φ'(a_h) ⊙ v), kept in scratch
        scratch.fill(F::ZERO);
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.coef_a(&trace, i) * v[i];
        }
        matvec_t_acc(self.h.u, out, scratch);
        for i in 0..n {
            out[i] = (F::ONE - trace.z[i]) * v[i] + trace.r[i] * scratch[i];
            scratch[i] *= h[i] * sigmoid_derivative(trace.r[i]);
        }
        matvec_t_acc(self.r.u, scratch, out);
        for (i, s) in scratch.iter_mut().enumerate() {
            *s = self.coef_f(h, &trace, i) * v[i];
        }
        matvec_t_acc(self.z.u, scratch, out);
        check_finite(out, Quantity::Result)
    }

    /// Argument checks shared by `jvp` and `vjp`.
    fn check_product(
        n: usize,
        h: &[F],
        trace: &GruTraceRef<'_, F>,
        v: &[F],
        out: &[F],
        scratch: &[F],
    ) -> Result<(), Error> {
        for len in [h.len(), v.len(), out.len(), scratch.len()] {
            check_len(len, n)?;
        }
        trace.check(n)?;
        check_finite(v, Quantity::Vector)
    }

    /// `A_i = z_i φ'(a_h,i)`.
    #[inline]
    fn coef_a(&self, t: &GruTraceRef<'_, F>, i: usize) -> F {
        t.z[i] * self.activation.derivative(t.a_h[i], t.candidate[i])
    }

    /// `F_i = (h̃_i - h_i) σ'(a_z,i)`.
    #[inline]
    fn coef_f(&self, h: &[F], t: &GruTraceRef<'_, F>, i: usize) -> F {
        (t.candidate[i] - h[i]) * sigmoid_derivative(t.z[i])
    }
}

pub(crate) fn offset_weight_error(e: Error, by: usize) -> Error {
    match e {
        Error::NonFinite { what, index } => Error::NonFinite {
            what,
            index: index + by,
        },
        other => other,
    }
}

/// A GRU that owns its weights, with hidden size `N` and input size `I`
/// (`I = 0`: autonomous network). Fields are public and [`Gru::zeroed`] is a
/// `const fn`, so a network can live in a `static` (flash).
///
/// ```
/// use gatedyn::{Gru, GruTrace};
/// let mut net: Gru<f32, 4, 1> = Gru::zeroed();
/// net.h.u[0][1] = 0.5;
/// let (h, x) = ([0.1f32; 4], [1.0f32]);
/// let mut trace = GruTrace::zeroed();
/// net.step_traced(&h, &x, &mut trace)?;
/// let mut jac = [[0.0f32; 4]; 4];
/// net.jacobian(&h, &trace, &mut jac)?;
/// // zero recurrent weights apart from one: J = D[1 - z] + coupling
/// assert!((jac[2][2] - 0.5).abs() < 1e-6);
/// # Ok::<(), gatedyn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Gru<F, const N: usize, const I: usize> {
    /// Update gate.
    pub z: Gate<F, N, I>,
    /// Reset gate.
    pub r: Gate<F, N, I>,
    /// Candidate.
    pub h: Gate<F, N, I>,
    /// The nonlinearity `φ`.
    pub activation: Activation,
}

/// The trace of one step of a [`Gru`] of size `N` (see [`GruTraceRef`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GruTrace<F, const N: usize> {
    /// Update gate `z`.
    pub z: [F; N],
    /// Reset gate `r`.
    pub r: [F; N],
    /// Candidate `h̃`.
    pub candidate: [F; N],
    /// Pre-activation `a_z`.
    pub a_z: [F; N],
    /// Pre-activation `a_r`.
    pub a_r: [F; N],
    /// Pre-activation `a_h`.
    pub a_h: [F; N],
    /// Next state `h'`.
    pub next: [F; N],
}

impl<F: Real, const N: usize> GruTrace<F, N> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        GruTrace {
            z: [F::ZERO; N],
            r: [F::ZERO; N],
            candidate: [F::ZERO; N],
            a_z: [F::ZERO; N],
            a_r: [F::ZERO; N],
            a_h: [F::ZERO; N],
            next: [F::ZERO; N],
        }
    }
    /// Borrowed view.
    pub fn view(&self) -> GruTraceRef<'_, F> {
        GruTraceRef {
            z: &self.z,
            r: &self.r,
            candidate: &self.candidate,
            a_z: &self.a_z,
            a_r: &self.a_r,
            a_h: &self.a_h,
            next: &self.next,
        }
    }
    /// Mutable borrowed view.
    pub fn view_mut(&mut self) -> GruTraceMut<'_, F> {
        GruTraceMut {
            z: &mut self.z,
            r: &mut self.r,
            candidate: &mut self.candidate,
            a_z: &mut self.a_z,
            a_r: &mut self.a_r,
            a_h: &mut self.a_h,
            next: &mut self.next,
        }
    }
}

impl<F: Real, const N: usize, const I: usize> Gru<F, N, I> {
    /// All-zero weights, `tanh` activation.
    pub const fn zeroed() -> Self {
        Gru {
            z: Gate::zeroed(),
            r: Gate::zeroed(),
            h: Gate::zeroed(),
            activation: Activation::Tanh,
        }
    }

    /// Borrowed view with run-time sizes.
    pub fn view(&self) -> GruRef<'_, F> {
        const { assert!(N > 0, "a GRU needs at least one unit") };
        GruRef {
            n: N,
            inputs: I,
            z: self.z.view(),
            r: self.r.view(),
            h: self.h.view(),
            activation: self.activation,
        }
    }

    /// One step: `out = h'`. Uses a trace on the stack (7N scalars).
    pub fn step(&self, h: &[F; N], x: &[F; I], out: &mut [F; N]) -> Result<(), Error> {
        let mut t = GruTrace::zeroed();
        self.step_traced(h, x, &mut t)?;
        *out = t.next;
        Ok(())
    }

    /// One step keeping gates and pre-activations (`trace.next` is `h'`).
    pub fn step_traced(
        &self,
        h: &[F; N],
        x: &[F; I],
        trace: &mut GruTrace<F, N>,
    ) -> Result<(), Error> {
        self.view().step(h, x, trace.view_mut())
    }

    /// Dense Jacobian at the state `h` that produced `trace`.
    pub fn jacobian(
        &self,
        h: &[F; N],
        trace: &GruTrace<F, N>,
        out: &mut [[F; N]; N],
    ) -> Result<(), Error> {
        self.view()
            .jacobian(h, trace.view(), out.as_flattened_mut())
    }

    /// `out = J v`, matrix-free.
    pub fn jvp(
        &self,
        h: &[F; N],
        trace: &GruTrace<F, N>,
        v: &[F; N],
        out: &mut [F; N],
    ) -> Result<(), Error> {
        let mut scratch = [F::ZERO; N];
        self.view().jvp(h, trace.view(), v, out, &mut scratch)
    }

    /// `out = Jᵀ v`, matrix-free.
    pub fn vjp(
        &self,
        h: &[F; N],
        trace: &GruTrace<F, N>,
        v: &[F; N],
        out: &mut [F; N],
    ) -> Result<(), Error> {
        let mut scratch = [F::ZERO; N];
        self.view().vjp(h, trace.view(), v, out, &mut scratch)
    }
}
