//! The LSTM, paper convention (docs/THEORY.md §2), state `(h, c)`:
//!
//! ```text
//! f = σ(a_f), i = σ(a_i), o = σ(a_o), g = φ(a_c),   a_k = U_k h + W_k x + b_k
//! c' = f ⊙ c + i ⊙ g
//! h' = o ⊙ φ(c')
//! ```
//!
//! The Jacobian `∂(h', c')/∂(h, c)` is 2N×2N with rows and columns ordered
//! `[h; c]` (docs/THEORY.md §3):
//!
//! ```text
//! R       = D[c σ'(a_f)] U_f + D[g σ'(a_i)] U_i + D[i φ'(a_c)] U_c
//! ∂c'/∂h  = R                                ∂c'/∂c = D[f]
//! ∂h'/∂h  = D[φ(c') σ'(a_o)] U_o + D[o φ'(c')] R
//! ∂h'/∂c  = D[o φ'(c') f]
//! ```
//!
//! Costs: a step is `4(N² + N·I)` multiply-adds, `J v` and `Jᵀ v` are `4N²`,
//! the dense Jacobian `4N²`.

use crate::activation::{sigmoid, sigmoid_derivative, Activation};
use crate::error::{check_finite, check_len, Error, Quantity};
use crate::gate::{check_source, for_rows, matvec_t_acc, Gate, GateRef};
use crate::gru::offset_weight_error;
use crate::real::Real;

/// Borrowed LSTM with run-time sizes.
#[derive(Debug, Clone, Copy)]
pub struct LstmRef<'a, F> {
    n: usize,
    inputs: usize,
    f: GateRef<'a, F>,
    i: GateRef<'a, F>,
    o: GateRef<'a, F>,
    c: GateRef<'a, F>,
    activation: Activation,
}

macro_rules! lstm_trace_fields {
    ($name:ident, $($ref:tt)+) => {
        /// One LSTM step's gates, pre-activations and results (length n each).
        #[derive(Debug)]
        pub struct $name<'a, F> {
            /// Forget gate `f`.
            pub f: $($ref)+ [F],
            /// Input gate `i`.
            pub i: $($ref)+ [F],
            /// Output gate `o`.
            pub o: $($ref)+ [F],
            /// Cell input `g = φ(a_c)`.
            pub g: $($ref)+ [F],
            /// Pre-activation `a_f`.
            pub a_f: $($ref)+ [F],
            /// Pre-activation `a_i`.
            pub a_i: $($ref)+ [F],
            /// Pre-activation `a_o`.
            pub a_o: $($ref)+ [F],
            /// Pre-activation `a_c`.
            pub a_c: $($ref)+ [F],
            /// Next cell state `c'`.
            pub c_next: $($ref)+ [F],
            /// `φ(c')`.
            pub c_act: $($ref)+ [F],
            /// Next hidden state `h' = o ⊙ φ(c')`.
            pub h_next: $($ref)+ [F],
        }
    };
}
lstm_trace_fields!(LstmTraceRef, &'a);
lstm_trace_fields!(LstmTraceMut, &'a mut);

impl<F> Clone for LstmTraceRef<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for LstmTraceRef<'_, F> {}

impl<F> LstmTraceMut<'_, F> {
    /// A shorter-lived mutable view of the same storage (to pass to
    /// [`LstmRef::step`] without giving the trace up).
    pub fn reborrow(&mut self) -> LstmTraceMut<'_, F> {
        LstmTraceMut {
            f: self.f,
            i: self.i,
            o: self.o,
            g: self.g,
            a_f: self.a_f,
            a_i: self.a_i,
            a_o: self.a_o,
            a_c: self.a_c,
            c_next: self.c_next,
            c_act: self.c_act,
            h_next: self.h_next,
        }
    }
    /// Read-only view.
    pub fn as_ref(&self) -> LstmTraceRef<'_, F> {
        LstmTraceRef {
            f: self.f,
            i: self.i,
            o: self.o,
            g: self.g,
            a_f: self.a_f,
            a_i: self.a_i,
            a_o: self.a_o,
            a_c: self.a_c,
            c_next: self.c_next,
            c_act: self.c_act,
            h_next: self.h_next,
        }
    }
}

impl<F: Real> LstmTraceRef<'_, F> {
    fn check(&self, n: usize) -> Result<(), Error> {
        for s in [
            self.f,
            self.i,
            self.o,
            self.g,
            self.a_f,
            self.a_i,
            self.a_o,
            self.a_c,
            self.c_next,
            self.c_act,
            self.h_next,
        ] {
            check_len(s.len(), n)?;
        }
        Ok(())
    }
}

/// Per-unit coefficients of the LSTM Jacobian.
struct Coefs<F> {
    /// `c σ'(a_f)`, `g σ'(a_i)`, `i φ'(a_c)`: the rows of `R`.
    rf: F,
    ri: F,
    rc: F,
    /// `φ(c') σ'(a_o)`.
    ho: F,
    /// `o φ'(c')`.
    hc: F,
    /// `f`.
    f: F,
}

/// Storage for the diagonal factors of the LSTM Jacobian (docs/THEORY.md §3),
/// each of length n:
///
/// ```text
/// R      = D[forget_slope] U_f + D[input_slope] U_i + D[cell_slope] U_c
/// ∂c'/∂h = R,              ∂c'/∂c = D[forget]
/// ∂h'/∂h = D[output_slope] U_o + D[output] R,   ∂h'/∂c = D[output ⊙ forget]
/// ```
///
/// [`LstmRef::factors`] fills them, for callers with their own fast
/// matrix-vector product.
#[derive(Debug)]
pub struct LstmFactorsMut<'a, F> {
    /// `f`.
    pub forget: &'a mut [F],
    /// `c ⊙ σ'(a_f)`, the row scaling of `U_f`.
    pub forget_slope: &'a mut [F],
    /// `g ⊙ σ'(a_i)`, the row scaling of `U_i`.
    pub input_slope: &'a mut [F],
    /// `i ⊙ φ'(a_c)`, the row scaling of `U_c`.
    pub cell_slope: &'a mut [F],
    /// `φ(c') ⊙ σ'(a_o)`, the row scaling of `U_o`.
    pub output_slope: &'a mut [F],
    /// `o ⊙ φ'(c')`.
    pub output: &'a mut [F],
}

/// The four gates of an LSTM by name, for [`LstmRef::new`].
#[derive(Debug)]
pub struct LstmGates<'a, F> {
    /// Forget gate `f`.
    pub f: GateRef<'a, F>,
    /// Input gate `i`.
    pub i: GateRef<'a, F>,
    /// Output gate `o`.
    pub o: GateRef<'a, F>,
    /// Cell candidate `c`.
    pub c: GateRef<'a, F>,
}

impl<'a, F: Real> LstmRef<'a, F> {
    /// Builds an LSTM view from its four gates by name. Fails when `n == 0`,
    /// or with [`Error::WeightShape`] naming the gate and the array when a
    /// length does not match.
    pub fn new(
        n: usize,
        inputs: usize,
        gates: LstmGates<'a, F>,
        activation: Activation,
    ) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        let LstmGates { f, i, o, c } = gates;
        for (name, g) in [("f", &f), ("i", &i), ("o", &o), ("c", &c)] {
            g.check_shape(name, n, inputs)?;
        }
        Ok(LstmRef {
            n,
            inputs,
            f,
            i,
            o,
            c,
            activation,
        })
    }

    /// Hidden size (the state has 2n entries).
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
    /// The gates `(f, i, o, c)`.
    pub fn gates(&self) -> [GateRef<'a, F>; 4] {
        [self.f, self.i, self.o, self.c]
    }

    /// Checks every weight and bias for NaN/∞.
    pub fn check_weights(&self) -> Result<(), Error> {
        let per_gate = self.n * (self.n + self.inputs + 1);
        for (k, g) in self.gates().iter().enumerate() {
            g.check_finite()
                .map_err(|e| offset_weight_error(e, k * per_gate))?;
        }
        Ok(())
    }

    /// One step from `(h, c)` with input `x`.
    #[inline(always)]
    pub fn step(&self, h: &[F], c: &[F], x: &[F], trace: LstmTraceMut<'_, F>) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        check_len(c.len(), n)?;
        check_len(x.len(), self.inputs)?;
        trace.as_ref().check(n)?;
        check_finite(h, Quantity::State)?;
        check_finite(c, Quantity::CellState)?;
        check_finite(x, Quantity::Input)?;
        let t = trace;
        self.f.preactivation(h, x, t.a_f);
        self.i.preactivation(h, x, t.a_i);
        self.o.preactivation(h, x, t.a_o);
        self.c.preactivation(h, x, t.a_c);
        let all_finite = [&*t.a_f, &*t.a_i, &*t.a_o, &*t.a_c]
            .iter()
            .all(|s| s.iter().all(|x| x.is_finite()));
        if !all_finite {
            self.check_weights()?;
            return Err(Error::NonFinite {
                what: Quantity::Result,
                index: 0,
            });
        }
        for k in 0..n {
            t.f[k] = sigmoid(t.a_f[k]);
            t.i[k] = sigmoid(t.a_i[k]);
            t.o[k] = sigmoid(t.a_o[k]);
            t.g[k] = self.activation.apply(t.a_c[k]);
            t.c_next[k] = t.f[k] * c[k] + t.i[k] * t.g[k];
            t.c_act[k] = self.activation.apply(t.c_next[k]);
            t.h_next[k] = t.o[k] * t.c_act[k];
        }
        check_finite(t.c_next, Quantity::Result)?;
        check_finite(t.h_next, Quantity::Result)
    }

    #[inline]
    fn coefs(&self, c: &[F], t: &LstmTraceRef<'_, F>, k: usize) -> Coefs<F> {
        let act = self.activation;
        Coefs {
            rf: c[k] * sigmoid_derivative(t.f[k]),
            ri: t.g[k] * sigmoid_derivative(t.i[k]),
            rc: t.i[k] * act.derivative(t.a_c[k], t.g[k]),
            ho: t.c_act[k] * sigmoid_derivative(t.o[k]),
            hc: t.o[k] * act.derivative(t.c_next[k], t.c_act[k]),
            f: t.f[k],
        }
    }

    fn check_args(&self, h: &[F], c: &[F], t: &LstmTraceRef<'_, F>) -> Result<(), Error> {
        check_len(h.len(), self.n)?;
        check_len(c.len(), self.n)?;
        t.check(self.n)
    }

    /// The dense 2n×2n Jacobian, row-major, rows and columns ordered `[h; c]`,
    /// at the state `(h, c)` that produced `trace`.
    pub fn jacobian(
        &self,
        h: &[F],
        c: &[F],
        trace: LstmTraceRef<'_, F>,
        out: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        self.check_args(h, c, &trace)?;
        check_len(out.len(), 4 * n * n)?;
        out.fill(F::ZERO);
        let m = 2 * n;
        for k in 0..n {
            let q = self.coefs(c, &trace, k);
            let row = k * n..(k + 1) * n;
            let (uf, ui, uc, uo) = (
                &self.f.u[row.clone()],
                &self.i.u[row.clone()],
                &self.c.u[row.clone()],
                &self.o.u[row],
            );
            // c' rows: [R | D[f]]
            let crow = (n + k) * m;
            for j in 0..n {
                out[crow + j] = q.rf * uf[j] + q.ri * ui[j] + q.rc * uc[j];
            }
            out[crow + n + k] = q.f;
            // h' rows: [φ(c')σ'_o U_o + o φ'(c') R | D[o φ'(c') f]]
            let hrow = k * m;
            for j in 0..n {
                out[hrow + j] = q.ho * uo[j] + q.hc * out[crow + j];
            }
            out[hrow + n + k] = q.hc * q.f;
        }
        check_finite(out, Quantity::Result)
    }

    /// `out = J v` for `v = [v_h; v_c]` (length 2n), matrix-free, no scratch.
    #[inline(always)]
    pub fn jvp(
        &self,
        h: &[F],
        c: &[F],
        trace: LstmTraceRef<'_, F>,
        v: &[F],
        out: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        self.check_args(h, c, &trace)?;
        check_len(v.len(), 2 * n)?;
        check_len(out.len(), 2 * n)?;
        check_finite(v, Quantity::Vector)?;
        let (vh, vc) = v.split_at(n);
        let products = [
            (self.f.u, vh),
            (self.i.u, vh),
            (self.c.u, vh),
            (self.o.u, vh),
        ];
        for_rows(products, n, |k, [f_v, i_v, c_v, o_v]| {
            let q = self.coefs(c, &trace, k);
            let mut dc = q.f * vc[k];
            for (coef, u_v) in [(q.rf, f_v), (q.ri, i_v), (q.rc, c_v)] {
                if coef != F::ZERO {
                    dc += coef * u_v;
                }
            }
            let mut dh = q.hc * dc;
            if q.ho != F::ZERO {
                dh += q.ho * o_v;
            }
            out[k] = dh;
            out[n + k] = dc;
        });
        check_finite(out, Quantity::Result)
    }

    /// The diagonal factors of `J` at the state `(h, c)` that produced
    /// `trace` (see [`LstmFactorsMut`]).
    pub fn factors(
        &self,
        h: &[F],
        c: &[F],
        trace: LstmTraceRef<'_, F>,
        out: LstmFactorsMut<'_, F>,
    ) -> Result<(), Error> {
        self.check_args(h, c, &trace)?;
        for s in [
            &*out.forget,
            &*out.forget_slope,
            &*out.input_slope,
            &*out.cell_slope,
            &*out.output_slope,
            &*out.output,
        ] {
            check_len(s.len(), self.n)?;
        }
        for k in 0..self.n {
            let q = self.coefs(c, &trace, k);
            out.forget[k] = q.f;
            out.forget_slope[k] = q.rf;
            out.input_slope[k] = q.ri;
            out.cell_slope[k] = q.rc;
            out.output_slope[k] = q.ho;
            out.output[k] = q.hc;
        }
        for s in [
            out.forget,
            out.forget_slope,
            out.input_slope,
            out.cell_slope,
            out.output_slope,
            out.output,
        ] {
            check_finite(s, Quantity::Result)?;
        }
        Ok(())
    }

    /// `out = Jᵀ w` for `w = [w_h; w_c]`, matrix-free; `scratch` has length n.
    pub fn vjp(
        &self,
        h: &[F],
        c: &[F],
        trace: LstmTraceRef<'_, F>,
        w: &[F],
        out: &mut [F],
        scratch: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        self.check_args(h, c, &trace)?;
        check_len(w.len(), 2 * n)?;
        check_len(out.len(), 2 * n)?;
        check_len(scratch.len(), n)?;
        check_finite(w, Quantity::Vector)?;
        let (wh, wc) = w.split_at(n);
        let (oh, oc) = out.split_at_mut(n);
        oh.fill(F::ZERO);
        // s = w_c + o φ'(c') ⊙ w_h: the gradient reaching c'.
        for k in 0..n {
            let q = self.coefs(c, &trace, k);
            let s = wc[k] + q.hc * wh[k];
            oc[k] = q.f * s;
            scratch[k] = q.ho * wh[k];
        }
        matvec_t_acc(self.o.u, scratch, oh);
        for (which, u) in [(0, self.f.u), (1, self.i.u), (2, self.c.u)] {
            for k in 0..n {
                let q = self.coefs(c, &trace, k);
                let r = [q.rf, q.ri, q.rc][which];
                scratch[k] = r * (wc[k] + q.hc * wh[k]);
            }
            matvec_t_acc(u, scratch, oh);
        }
        check_finite(out, Quantity::Result)
    }
}

/// An LSTM that owns its weights, with hidden size `N` and input size `I`.
///
/// ```
/// use gatedyn::{Lstm, LstmTrace};
/// let net: Lstm<f64, 3, 0> = Lstm::zeroed();
/// let (h, c) = ([0.0; 3], [0.5; 3]);
/// let mut t = LstmTrace::zeroed();
/// net.step_traced(&h, &c, &[], &mut t)?;
/// // zero weights: f = i = o = 1/2, g = 0, so c' = c/2
/// assert_eq!(t.c_next, [0.25; 3]);
/// # Ok::<(), gatedyn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Lstm<F, const N: usize, const I: usize> {
    /// Forget gate.
    pub f: Gate<F, N, I>,
    /// Input gate.
    pub i: Gate<F, N, I>,
    /// Output gate.
    pub o: Gate<F, N, I>,
    /// Cell input.
    pub c: Gate<F, N, I>,
    /// The nonlinearity `φ`.
    pub activation: Activation,
}

/// The trace of one step of an [`Lstm`] of size `N` (see [`LstmTraceRef`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LstmTrace<F, const N: usize> {
    /// Forget gate.
    pub f: [F; N],
    /// Input gate.
    pub i: [F; N],
    /// Output gate.
    pub o: [F; N],
    /// Cell input `g`.
    pub g: [F; N],
    /// Pre-activation `a_f`.
    pub a_f: [F; N],
    /// Pre-activation `a_i`.
    pub a_i: [F; N],
    /// Pre-activation `a_o`.
    pub a_o: [F; N],
    /// Pre-activation `a_c`.
    pub a_c: [F; N],
    /// Next cell state `c'`.
    pub c_next: [F; N],
    /// `φ(c')`.
    pub c_act: [F; N],
    /// Next hidden state `h'`.
    pub h_next: [F; N],
}

/// A dense 2N×2N matrix as nested arrays whose memory is row-major 2N×2N
/// (block row, row, block column, column): `m[br][i][bc][j]` is entry
/// `(br·N + i, bc·N + j)`. Used for the LSTM Jacobian with sizes as types.
pub type Dense2N<F, const N: usize> = [[[[F; N]; 2]; N]; 2];

impl<F: Real, const N: usize> LstmTrace<F, N> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        let z = [F::ZERO; N];
        LstmTrace {
            f: z,
            i: z,
            o: z,
            g: z,
            a_f: z,
            a_i: z,
            a_o: z,
            a_c: z,
            c_next: z,
            c_act: z,
            h_next: z,
        }
    }
    /// Borrowed view.
    pub fn view(&self) -> LstmTraceRef<'_, F> {
        LstmTraceRef {
            f: &self.f,
            i: &self.i,
            o: &self.o,
            g: &self.g,
            a_f: &self.a_f,
            a_i: &self.a_i,
            a_o: &self.a_o,
            a_c: &self.a_c,
            c_next: &self.c_next,
            c_act: &self.c_act,
            h_next: &self.h_next,
        }
    }
    /// Mutable borrowed view.
    pub fn view_mut(&mut self) -> LstmTraceMut<'_, F> {
        LstmTraceMut {
            f: &mut self.f,
            i: &mut self.i,
            o: &mut self.o,
            g: &mut self.g,
            a_f: &mut self.a_f,
            a_i: &mut self.a_i,
            a_o: &mut self.a_o,
            a_c: &mut self.a_c,
            c_next: &mut self.c_next,
            c_act: &mut self.c_act,
            h_next: &mut self.h_next,
        }
    }
}

impl<F: Real, const N: usize, const I: usize> Lstm<F, N, I> {
    /// All-zero weights, `tanh` activation.
    pub const fn zeroed() -> Self {
        Lstm {
            f: Gate::zeroed(),
            i: Gate::zeroed(),
            o: Gate::zeroed(),
            c: Gate::zeroed(),
            activation: Activation::Tanh,
        }
    }

    /// Copies weights given as flat row-major `f32` or `f64` slices (a
    /// trained model's arrays, gate by gate: see docs/THEORY.md §9 for the
    /// ONNX and PyTorch gate orders) into this network. Errors name the gate
    /// and the array: a length mismatch is an [`Error::WeightShape`], a NaN
    /// or infinity an [`Error::NonFinite`]. Nothing is written unless every
    /// check passes.
    ///
    /// ```
    /// use gatedyn::{Error, GateRef, Lstm, LstmGates};
    /// let (u, w, b) = ([0.5f64; 4], [1.0f64; 2], [0.0f64; 2]);
    /// let g = GateRef { u: &u[..], w: &w[..], b: &b[..] };
    /// let mut net: Lstm<f32, 2, 1> = Lstm::zeroed();
    /// net.load(LstmGates { f: g, i: g, o: g, c: g })?;
    /// assert_eq!(net.f.u[0][1], 0.5);
    /// let bad = GateRef { u: &u[..], w: &w[..1], b: &b[..] };
    /// let err = net.load(LstmGates { f: g, i: g, o: bad, c: g }).unwrap_err();
    /// assert_eq!(err, Error::WeightShape { gate: "o", matrix: "W", expected: 2, found: 1 });
    /// # Ok::<(), Error>(())
    /// ```
    pub fn load<S: Copy + Into<f64>>(&mut self, gates: LstmGates<'_, S>) -> Result<(), Error> {
        let LstmGates { f, i, o, c } = gates;
        for (name, g) in [("f", f), ("i", i), ("o", o), ("c", c)] {
            check_source(name, g, N, I)?;
        }
        self.f.copy_from(f);
        self.i.copy_from(i);
        self.o.copy_from(o);
        self.c.copy_from(c);
        Ok(())
    }

    /// Borrowed view with run-time sizes.
    pub fn view(&self) -> LstmRef<'_, F> {
        const { assert!(N > 0, "an LSTM needs at least one unit") };
        LstmRef {
            n: N,
            inputs: I,
            f: self.f.view(),
            i: self.i.view(),
            o: self.o.view(),
            c: self.c.view(),
            activation: self.activation,
        }
    }

    /// One step: `(h, c) → (h_out, c_out) = (h', c')`, in the argument
    /// order of [`Gru::step`](crate::Gru::step) (state, input, outputs).
    /// Uses a trace on the stack (11N scalars).
    pub fn step(
        &self,
        h: &[F; N],
        c: &[F; N],
        x: &[F; I],
        h_out: &mut [F; N],
        c_out: &mut [F; N],
    ) -> Result<(), Error> {
        let mut t = LstmTrace::zeroed();
        self.step_traced(h, c, x, &mut t)?;
        *h_out = t.h_next;
        *c_out = t.c_next;
        Ok(())
    }

    /// One step keeping gates and pre-activations.
    pub fn step_traced(
        &self,
        h: &[F; N],
        c: &[F; N],
        x: &[F; I],
        trace: &mut LstmTrace<F, N>,
    ) -> Result<(), Error> {
        self.view().step(h, c, x, trace.view_mut())
    }

    /// Dense 2N×2N Jacobian at the state that produced `trace`.
    pub fn jacobian(
        &self,
        h: &[F; N],
        c: &[F; N],
        trace: &LstmTrace<F, N>,
        out: &mut Dense2N<F, N>,
    ) -> Result<(), Error> {
        let flat = out.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        self.view().jacobian(h, c, trace.view(), flat)
    }

    /// `(out_h, out_c) = J (v_h, v_c)`, matrix-free.
    pub fn jvp(
        &self,
        h: &[F; N],
        c: &[F; N],
        trace: &LstmTrace<F, N>,
        v: &[[F; N]; 2],
        out: &mut [[F; N]; 2],
    ) -> Result<(), Error> {
        self.view()
            .jvp(h, c, trace.view(), v.as_flattened(), out.as_flattened_mut())
    }

    /// `(out_h, out_c) = Jᵀ (w_h, w_c)`, matrix-free.
    pub fn vjp(
        &self,
        h: &[F; N],
        c: &[F; N],
        trace: &LstmTrace<F, N>,
        w: &[[F; N]; 2],
        out: &mut [[F; N]; 2],
    ) -> Result<(), Error> {
        let mut scratch = [F::ZERO; N];
        self.view().vjp(
            h,
            c,
            trace.view(),
            w.as_flattened(),
            out.as_flattened_mut(),
            &mut scratch,
        )
    }
}
