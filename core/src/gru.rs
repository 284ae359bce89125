//! The gated recurrent unit in its two forms (docs/THEORY.md §2 and §9):
//!
//! ```text
//! z  = σ(U_z h + W_z x + b_z)                      update gate
//! r  = σ(U_r h + W_r x + b_r)                      reset gate
//! h̃  = φ(U_h (r ⊙ h) + W_h x + b_h)                candidate, GruForm::ResetBefore (paper)
//! h̃  = φ(r ⊙ (U_h h + b_hn) + W_h x + b_h)         candidate, GruForm::ResetAfter (PyTorch)
//! h' = (1 - z) ⊙ h + z ⊙ h̃
//! ```
//!
//! `z → 0` freezes a unit. [`Gru`] owns its weights with sizes as types;
//! [`GruRef`] borrows slices with run-time sizes (used by the host tools for
//! large N). Both share one implementation.
//!
//! # Conventions, and loading weights trained elsewhere
//!
//! * Matrices are row-major: `U[i][j]` multiplies `h_j` in unit `i`,
//!   `W[i][k]` multiplies `x_k` (the layout of ONNX's `W`/`R` and PyTorch's
//!   `weight_ih`/`weight_hh` blocks, one block per gate).
//! * The update gate is the paper's: `z = 1` takes the candidate. ONNX,
//!   PyTorch and Keras use the opposite, `h' = (1 - z) ⊙ h̃ + z ⊙ h`; since
//!   `1 - σ(a) = σ(-a)`, their update gate is this one with `U_z`, `W_z` and
//!   `b_z` negated (exactly, in any precision).
//! * One bias per gate: the two ONNX/PyTorch biases (input and recurrent)
//!   add up, except the recurrent bias of the candidate in the reset-after
//!   form, which sits inside the reset product (`b_hn`, kept apart in
//!   [`GruForm::ResetAfter`]).
//!
//! | framework | form | update gate | gate order in the stacked weights |
//! |---|---|---|---|
//! | paper, Cho et al. 2014 | `ResetBefore` | as here | — |
//! | ONNX `GRU`, `linear_before_reset = 0` | `ResetBefore` | negated | z, r, h |
//! | ONNX `GRU`, `linear_before_reset = 1` | `ResetAfter` | negated | z, r, h |
//! | PyTorch `nn.GRU`, cuDNN | `ResetAfter` | negated | r, z, n |
//! | Keras `GRU(reset_after=True)` (default) | `ResetAfter` | negated | z, r, h |
//!
//! The state-to-state Jacobian (docs/THEORY.md §3, §9) at the state `h` before
//! a step, with `s = ρ ⊙ σ'(a_r)` and `ρ` the vector the reset gate
//! multiplies (`h`, or `U_h h + b_hn` after the reset):
//!
//! ```text
//! ResetBefore: J = D[1 - z] + D[z ⊙ φ'(a_h)] U_h (D[r] + D[s] U_r) + D[(h̃ - h) ⊙ σ'(a_z)] U_z
//! ResetAfter:  J = D[1 - z] + D[z ⊙ φ'(a_h)] (D[r] U_h + D[s] U_r) + D[(h̃ - h) ⊙ σ'(a_z)] U_z
//! ```
//!
//! Costs: a step is `3(N² + N·I)` multiply-adds; `J v` and `Jᵀ v` are `3N²`;
//! the dense Jacobian is `N³ + 2N²` in the paper form (the product
//! `U_h D U_r`) and `3N²` after the reset.

use crate::activation::{sigmoid, sigmoid_derivative, Activation};
use crate::error::{check_finite, check_len, Error, Quantity};
use crate::gate::{check_source, for_rows, matvec, matvec_t_acc, Gate, GateRef};
use crate::real::Real;

/// Where the reset gate acts in the candidate: the two GRU forms in use
/// (docs/THEORY.md §9). `B` holds the reset-after form's recurrent candidate
/// bias `b_hn`: `&[F]` in a [`GruRef`], `[F; N]` in a [`Gru`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GruForm<B> {
    /// `h̃ = φ(U_h (r ⊙ h) + W_h x + b_h)`: the paper's form (Cho et al.
    /// 2014, Keras `reset_after=False`, ONNX `linear_before_reset = 0`),
    /// the one the random-network theory of docs/THEORY.md §4–§7 is about.
    ResetBefore,
    /// `h̃ = φ(r ⊙ (U_h h + b_hn) + W_h x + b_h)`: PyTorch `nn.GRU`, cuDNN,
    /// Keras `reset_after=True` (its default), ONNX `linear_before_reset = 1`.
    ResetAfter {
        /// `b_hn`, added to `U_h h` inside the reset product (length n).
        recurrent_bias: B,
    },
}

impl<F, const N: usize> GruForm<[F; N]> {
    /// Borrowed view.
    pub fn view(&self) -> GruForm<&[F]> {
        match self {
            GruForm::ResetBefore => GruForm::ResetBefore,
            GruForm::ResetAfter { recurrent_bias } => GruForm::ResetAfter { recurrent_bias },
        }
    }
}

impl<B> GruForm<B> {
    /// `true` for [`GruForm::ResetAfter`].
    pub fn is_reset_after(&self) -> bool {
        matches!(self, GruForm::ResetAfter { .. })
    }
    /// Which form, without the bias: `GruForm<()>`.
    pub fn kind(&self) -> GruForm<()> {
        match self {
            GruForm::ResetBefore => GruForm::ResetBefore,
            GruForm::ResetAfter { .. } => GruForm::ResetAfter { recurrent_bias: () },
        }
    }
}

/// Borrowed GRU with run-time sizes `n` (hidden) and `inputs`.
#[derive(Debug, Clone, Copy)]
pub struct GruRef<'a, F> {
    n: usize,
    inputs: usize,
    z: GateRef<'a, F>,
    r: GateRef<'a, F>,
    h: GateRef<'a, F>,
    form: GruForm<&'a [F]>,
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
    /// Pre-activation of the candidate, `a_h = U_h (r ⊙ h) + W_h x + b_h`
    /// or `r ⊙ (U_h h + b_hn) + W_h x + b_h` (see [`GruForm`]).
    pub a_h: &'a [F],
    /// `ρ`, the vector the reset gate multiplies: `h` (reset before the
    /// product) or `U_h h + b_hn` (after it).
    pub reset_operand: &'a [F],
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
    /// `ρ`, the vector the reset gate multiplies (see [`GruTraceRef`]).
    pub reset_operand: &'a mut [F],
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
            reset_operand: self.reset_operand,
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
            reset_operand: self.reset_operand,
            next: self.next,
        }
    }
}

/// Storage for the diagonal factors of the GRU Jacobian (docs/THEORY.md §3,
/// §9), each of length n:
///
/// ```text
/// ResetBefore: J = D[keep] + D[candidate] U_h (D[reset] + D[reset_slope] U_r) + D[update] U_z
/// ResetAfter:  J = D[keep] + D[candidate] (D[reset] U_h + D[reset_slope] U_r) + D[update] U_z
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
    /// `ρ ⊙ σ'(a_r)` (`ρ` = [`GruTraceRef::reset_operand`]), the row
    /// scaling of `U_r`.
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
            self.reset_operand,
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
    /// Builds a paper-form GRU view ([`GruForm::ResetBefore`]) from its
    /// three gates by name. Fails when `n == 0`, or with
    /// [`Error::WeightShape`] naming the gate and the array when a length
    /// does not match.
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
        Self::with_form(n, inputs, gates, GruForm::ResetBefore, activation)
    }

    /// Builds a GRU view of either form (see [`GruForm`] and the module's
    /// conventions table).
    ///
    /// ```
    /// use gatedyn::{Activation, Error, GateRef, GruForm, GruGates, GruRef};
    /// let (u, b, b_hn) = ([0.0f32; 4], [0.0f32; 2], [0.5f32; 3]);
    /// let g = GateRef { u: &u, w: &[], b: &b };
    /// let gates = GruGates { z: g, r: g, h: g };
    /// let form = GruForm::ResetAfter { recurrent_bias: &b_hn[..] };
    /// let err = GruRef::with_form(2, 0, gates, form, Activation::Tanh).unwrap_err();
    /// assert_eq!(err, Error::WeightShape { gate: "h", matrix: "b_hn", expected: 2, found: 3 });
    /// ```
    pub fn with_form(
        n: usize,
        inputs: usize,
        gates: GruGates<'a, F>,
        form: GruForm<&'a [F]>,
        activation: Activation,
    ) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        let GruGates { z, r, h } = gates;
        for (name, g) in [("z", &z), ("r", &r), ("h", &h)] {
            g.check_shape(name, n, inputs)?;
        }
        if let GruForm::ResetAfter { recurrent_bias } = form {
            check_bias_hn(recurrent_bias.len(), n)?;
        }
        Ok(GruRef {
            n,
            inputs,
            z,
            r,
            h,
            form,
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
    /// Where the reset gate acts.
    pub fn form(&self) -> GruForm<&'a [F]> {
        self.form
    }

    /// Checks every weight and bias for NaN/∞ (O(N²); once after loading).
    /// The index counts over the gates `z, r, h` (each `U`, `W`, `b`), then
    /// `b_hn`.
    pub fn check_weights(&self) -> Result<(), Error> {
        let per_gate = self.n * (self.n + self.inputs + 1);
        for (k, g) in self.gates().iter().enumerate() {
            g.check_finite()
                .map_err(|e| offset_weight_error(e, k * per_gate))?;
        }
        if let GruForm::ResetAfter { recurrent_bias } = self.form {
            check_finite(recurrent_bias, Quantity::Weight)
                .map_err(|e| offset_weight_error(e, 3 * per_gate))?;
        }
        Ok(())
    }

    /// One step from `h` with input `x` (length `inputs`), writing gates,
    /// pre-activations, candidate and the next state into `trace`.
    ///
    /// Errors: non-finite `h` or `x`; a non-finite pre-activation (reported
    /// as the offending weight when one is non-finite, else as `Result`).
    #[inline(always)]
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
            reset_operand,
            next,
        } = trace;
        self.z.preactivation(h, x, a_z);
        self.r.preactivation(h, x, a_r);
        for i in 0..n {
            z[i] = sigmoid(a_z[i]);
            r[i] = sigmoid(a_r[i]);
        }
        match self.form {
            GruForm::ResetBefore => {
                for i in 0..n {
                    reset_operand[i] = h[i];
                    next[i] = r[i] * h[i];
                }
                self.h.preactivation(next, x, a_h);
            }
            GruForm::ResetAfter { recurrent_bias } => {
                matvec(self.h.u, h, reset_operand);
                self.h.input_part(x, a_h);
                for i in 0..n {
                    reset_operand[i] += recurrent_bias[i];
                    a_h[i] += r[i] * reset_operand[i];
                }
            }
        }
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
                match self.form {
                    GruForm::ResetBefore => {
                        for k in 0..n {
                            let a = c * uh[i * n + k];
                            row[k] += a * trace.r[k];
                            let b = a * trace.reset_operand[k] * sigmoid_derivative(trace.r[k]);
                            if b != F::ZERO {
                                for (o, &u) in row.iter_mut().zip(&ur[k * n..(k + 1) * n]) {
                                    *o += b * u;
                                }
                            }
                        }
                    }
                    GruForm::ResetAfter { .. } => {
                        let (a, b) = (c * trace.r[i], c * reset_slope(&trace, i));
                        let rows = uh[i * n..(i + 1) * n].iter().zip(&ur[i * n..(i + 1) * n]);
                        for (o, (&u_h, &u_r)) in row.iter_mut().zip(rows) {
                            *o += a * u_h + b * u_r;
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
            out.reset_slope[i] = reset_slope(&trace, i);
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
    #[inline(always)]
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
        // U_r v; the forms differ in where the reset acts (one loop each,
        // so the paper form's loop has no branch on the form)
        matvec(self.r.u, v, scratch);
        if self.form.is_reset_after() {
            // docs/THEORY.md §9: c (r ⊙ U_h v + s ⊙ U_r v)
            for_rows([(self.h.u, v), (self.z.u, v)], n, |i, [uh_v, uz_v]| {
                let mut acc = (F::ONE - trace.z[i]) * v[i];
                let c = self.coef_a(&trace, i);
                if c != F::ZERO {
                    acc += c * (trace.r[i] * uh_v + reset_slope(&trace, i) * scratch[i]);
                }
                let fz = self.coef_f(h, &trace, i);
                if fz != F::ZERO {
                    acc += fz * uz_v;
                }
                out[i] = acc;
            });
        } else {
            // scratch = r ⊙ v + s ⊙ (U_r v), then c U_h scratch
            for k in 0..n {
                scratch[k] = trace.r[k] * v[k] + reset_slope(&trace, k) * scratch[k];
            }
            let scratch = &*scratch;
            for_rows(
                [(self.h.u, scratch), (self.z.u, v)],
                n,
                |i, [uh_s, uz_v]| {
                    let mut acc = (F::ONE - trace.z[i]) * v[i];
                    let c = self.coef_a(&trace, i);
                    if c != F::ZERO {
                        acc += c * uh_s;
                    }
                    let fz = self.coef_f(h, &trace, i);
                    if fz != F::ZERO {
                        acc += fz * uz_v;
                    }
                    out[i] = acc;
                },
            );
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
        if self.form.is_reset_after() {
            // Jᵀ v = (1 - z) ⊙ v + U_hᵀ (c r ⊙ v) + U_rᵀ (c s ⊙ v) + U_zᵀ (F ⊙ v)
            for i in 0..n {
                out[i] = (F::ONE - trace.z[i]) * v[i];
                scratch[i] = self.coef_a(&trace, i) * trace.r[i] * v[i];
            }
            matvec_t_acc(self.h.u, scratch, out);
            for (i, s) in scratch.iter_mut().enumerate() {
                *s = self.coef_a(&trace, i) * reset_slope(&trace, i) * v[i];
            }
        } else {
            // w = U_hᵀ (z φ'(a_h) ⊙ v), kept in scratch
            scratch.fill(F::ZERO);
            for (i, o) in out.iter_mut().enumerate() {
                *o = self.coef_a(&trace, i) * v[i];
            }
            matvec_t_acc(self.h.u, out, scratch);
            for i in 0..n {
                out[i] = (F::ONE - trace.z[i]) * v[i] + trace.r[i] * scratch[i];
                scratch[i] *= reset_slope(&trace, i);
            }
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

/// `s_k = ρ_k σ'(a_r,k)`, the row scaling of `U_r` in both forms.
#[inline]
fn reset_slope<F: Real>(t: &GruTraceRef<'_, F>, k: usize) -> F {
    t.reset_operand[k] * sigmoid_derivative(t.r[k])
}

fn check_bias_hn(len: usize, n: usize) -> Result<(), Error> {
    if len == n {
        Ok(())
    } else {
        Err(Error::WeightShape {
            gate: "h",
            matrix: "b_hn",
            expected: n,
            found: len,
        })
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
    /// Where the reset gate acts (with `b_hn` in the reset-after form).
    pub form: GruForm<[F; N]>,
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
    /// `ρ`, the vector the reset gate multiplies (see [`GruTraceRef`]).
    pub reset_operand: [F; N],
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
            reset_operand: [F::ZERO; N],
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
            reset_operand: &self.reset_operand,
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
            reset_operand: &mut self.reset_operand,
            next: &mut self.next,
        }
    }
}

impl<F: Real, const N: usize, const I: usize> Gru<F, N, I> {
    /// All-zero weights, paper form, `tanh` activation.
    pub const fn zeroed() -> Self {
        Gru {
            z: Gate::zeroed(),
            r: Gate::zeroed(),
            h: Gate::zeroed(),
            form: GruForm::ResetBefore,
            activation: Activation::Tanh,
        }
    }

    /// Copies weights given as flat row-major `f32` or `f64` slices (for
    /// example a trained model's arrays, already in this crate's
    /// conventions: see the [module docs](self)) into this network and sets
    /// its form. Errors name the gate and the array: a length mismatch is an
    /// [`Error::WeightShape`], a NaN or infinity an [`Error::NonFinite`]
    /// (index within that gate's `U`, `W`, `b`). Nothing is written unless
    /// every check passes. The activation is left as it is.
    ///
    /// ```
    /// use gatedyn::{Error, GateRef, Gru, GruForm, GruGates};
    /// // a 2-unit, 1-input GRU in PyTorch's form
    /// let u = [0.1f32, -0.2, 0.3, 0.4];
    /// let (w, b, b_hn) = ([1.0f32, -1.0], [0.0f32; 2], [0.5f32, 0.0]);
    /// let g = GateRef { u: &u[..], w: &w[..], b: &b[..] };
    /// let mut net: Gru<f32, 2, 1> = Gru::zeroed();
    /// net.load(GruGates { z: g, r: g, h: g }, GruForm::ResetAfter { recurrent_bias: &b_hn[..] })?;
    /// assert_eq!(net.h.u[1][0], 0.3);
    ///
    /// let short = GateRef { u: &u[..3], w: &w[..], b: &b[..] };
    /// let err = net.load(GruGates { z: g, r: short, h: g }, GruForm::ResetBefore).unwrap_err();
    /// assert_eq!(err, Error::WeightShape { gate: "r", matrix: "U", expected: 4, found: 3 });
    /// # Ok::<(), Error>(())
    /// ```
    pub fn load<S: Copy + Into<f64>>(
        &mut self,
        gates: GruGates<'_, S>,
        form: GruForm<&[S]>,
    ) -> Result<(), Error> {
        let GruGates { z, r, h } = gates;
        for (name, g) in [("z", z), ("r", r), ("h", h)] {
            check_source(name, g, N, I)?;
        }
        if let GruForm::ResetAfter { recurrent_bias } = form {
            check_bias_hn(recurrent_bias.len(), N)?;
            if let Some(index) = recurrent_bias.iter().position(|&x| !x.into().is_finite()) {
                return Err(Error::NonFinite {
                    what: Quantity::Weight,
                    index,
                });
            }
        }
        self.z.copy_from(z);
        self.r.copy_from(r);
        self.h.copy_from(h);
        self.form = match form {
            GruForm::ResetBefore => GruForm::ResetBefore,
            GruForm::ResetAfter { recurrent_bias } => {
                let mut b = [F::ZERO; N];
                for (d, &s) in b.iter_mut().zip(recurrent_bias) {
                    *d = F::from_f64(s.into());
                }
                GruForm::ResetAfter { recurrent_bias: b }
            }
        };
        Ok(())
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
            form: self.form.view(),
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
