//! An LSTM in fixed point (docs/THEORY.md §16), in the formats of
//! [`super::gru`]: integer weights with one scale per row, `h` in Q15,
//! pre-activations in Q16, gates and `g = φ(a_c)` in Q15 (the gates rounded
//! to the scheme's precision). The cell state `c` is kept in Q16 in an
//! `i32` (range ±32768, saturating):
//!
//! ```text
//! c' = (f c) >> 15 + (i g) >> 14          f, i, g in Q15, c in Q16
//! h' = (o φ(c')) >> 15                    o, φ(c') in Q15
//! ```
//!
//! each product rounded to nearest and saturated.

use super::activation::{hard_tanh_q15, sigmoid_q15, tanh_q15, ONE_Q15, PRE_FRAC};
use super::gru::{
    check_input_scale, gate_bits, gate_rows, mul_q15, quantize_gate, QGate, QGateRef, QWeight,
};
use crate::activation::Activation;
use crate::error::{check_len, Error};
use crate::lstm::LstmTraceMut;
use crate::real::Real;

/// A quantized LSTM borrowed with run-time sizes.
#[derive(Debug, Clone, Copy)]
pub struct QLstmRef<'a, W> {
    n: usize,
    inputs: usize,
    gates: [QGateRef<'a, W>; 4],
    activation: Activation,
    input_scale: f64,
}

/// A quantized LSTM, sizes as types.
///
/// ```
/// use gatedyn::quant::{QLstm, QLstmTrace};
/// use gatedyn::Lstm;
/// let mut net: Lstm<f64, 1, 1> = Lstm::zeroed();
/// net.c.w = [[1.0]]; // g = tanh(x); f = i = o = 1/2
/// let q: QLstm<i16, 1, 1> = QLstm::quantize(&net, 1.0 / 32768.0)?;
/// let mut t = QLstmTrace::zeroed();
/// q.step(&[0], &[0], &[16384], &mut t)?; // x = 0.5
/// // c' = g/2 = 0.2311 (Q16), h' = tanh(c')/2 = 0.1135 (Q15)
/// assert!((t.c_next[0] as f64 / 65536.0 - 0.5 * 0.5f64.tanh()).abs() < 1e-4);
/// assert!((t.h_next[0] as f64 / 32768.0 - 0.5 * (0.5 * 0.5f64.tanh()).tanh()).abs() < 1e-4);
/// # Ok::<(), gatedyn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QLstm<W, const N: usize, const I: usize> {
    /// Forget gate.
    pub f: QGate<W, N, I>,
    /// Input gate.
    pub i: QGate<W, N, I>,
    /// Output gate.
    pub o: QGate<W, N, I>,
    /// Cell input.
    pub c: QGate<W, N, I>,
    /// `φ`.
    pub activation: Activation,
    /// The value of one input step.
    pub input_scale: f64,
}

/// One quantized LSTM step's values (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct QLstmTrace<const N: usize> {
    /// `f` in Q15.
    pub f: [i32; N],
    /// `i` in Q15.
    pub i: [i32; N],
    /// `o` in Q15.
    pub o: [i32; N],
    /// `g = φ(a_c)` in Q15.
    pub g: [i32; N],
    /// `a_f` in Q16.
    pub a_f: [i32; N],
    /// `a_i` in Q16.
    pub a_i: [i32; N],
    /// `a_o` in Q16.
    pub a_o: [i32; N],
    /// `a_c` in Q16.
    pub a_c: [i32; N],
    /// `c'` in Q16.
    pub c_next: [i32; N],
    /// `φ(c')` in Q15.
    pub c_act: [i32; N],
    /// `h'` in Q15.
    pub h_next: [i16; N],
}

/// The trace slices [`QLstmRef::step`] writes (each of length n).
#[derive(Debug)]
pub struct QLstmTraceMut<'a> {
    /// `f` in Q15.
    pub f: &'a mut [i32],
    /// `i` in Q15.
    pub i: &'a mut [i32],
    /// `o` in Q15.
    pub o: &'a mut [i32],
    /// `g` in Q15.
    pub g: &'a mut [i32],
    /// `a_f` in Q16.
    pub a_f: &'a mut [i32],
    /// `a_i` in Q16.
    pub a_i: &'a mut [i32],
    /// `a_o` in Q16.
    pub a_o: &'a mut [i32],
    /// `a_c` in Q16.
    pub a_c: &'a mut [i32],
    /// `c'` in Q16.
    pub c_next: &'a mut [i32],
    /// `φ(c')` in Q15.
    pub c_act: &'a mut [i32],
    /// `h'` in Q15.
    pub h_next: &'a mut [i16],
}

/// A quantized LSTM step's trace, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct QLstmTraceRef<'a> {
    /// `f` in Q15.
    pub f: &'a [i32],
    /// `i` in Q15.
    pub i: &'a [i32],
    /// `o` in Q15.
    pub o: &'a [i32],
    /// `g` in Q15.
    pub g: &'a [i32],
    /// `a_f` in Q16.
    pub a_f: &'a [i32],
    /// `a_i` in Q16.
    pub a_i: &'a [i32],
    /// `a_o` in Q16.
    pub a_o: &'a [i32],
    /// `a_c` in Q16.
    pub a_c: &'a [i32],
    /// `c'` in Q16.
    pub c_next: &'a [i32],
    /// `φ(c')` in Q15.
    pub c_act: &'a [i32],
    /// `h'` in Q15.
    pub h_next: &'a [i16],
}

impl<const N: usize> QLstmTrace<N> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        QLstmTrace {
            f: [0; N],
            i: [0; N],
            o: [0; N],
            g: [0; N],
            a_f: [0; N],
            a_i: [0; N],
            a_o: [0; N],
            a_c: [0; N],
            c_next: [0; N],
            c_act: [0; N],
            h_next: [0; N],
        }
    }

    /// Borrowed view.
    pub fn view(&self) -> QLstmTraceRef<'_> {
        QLstmTraceRef {
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
}

impl QLstmTraceRef<'_> {
    /// The trace as values, for the float LSTM Jacobian of the dequantized
    /// network (docs/THEORY.md §3, §16). Lengths must agree.
    pub fn dequantize<F: Real>(&self, out: LstmTraceMut<'_, F>) -> Result<(), Error> {
        let n = self.f.len();
        let q15 = |v: i32| F::from_f64(v as f64 / ONE_Q15 as f64);
        let q16 = |v: i32| F::from_f64(v as f64 / (1u32 << PRE_FRAC) as f64);
        let pairs15: [(&[i32], &mut [F]); 5] = [
            (self.f, out.f),
            (self.i, out.i),
            (self.o, out.o),
            (self.g, out.g),
            (self.c_act, out.c_act),
        ];
        for (src, dst) in pairs15 {
            check_len(src.len(), n)?;
            check_len(dst.len(), n)?;
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = q15(v);
            }
        }
        let pairs16: [(&[i32], &mut [F]); 5] = [
            (self.a_f, out.a_f),
            (self.a_i, out.a_i),
            (self.a_o, out.a_o),
            (self.a_c, out.a_c),
            (self.c_next, out.c_next),
        ];
        for (src, dst) in pairs16 {
            check_len(src.len(), n)?;
            check_len(dst.len(), n)?;
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = q16(v);
            }
        }
        check_len(self.h_next.len(), n)?;
        check_len(out.h_next.len(), n)?;
        for (d, &v) in out.h_next.iter_mut().zip(self.h_next) {
            *d = q15(v as i32);
        }
        Ok(())
    }
}

impl<W: QWeight, const N: usize, const I: usize> QLstm<W, N, I> {
    /// The quantized form of `net` with inputs of `input_scale` per step;
    /// errors as [`super::quantize_gate`], and an
    /// [`Error::InvalidParameter`] for an `input_scale` that is not positive
    /// and finite.
    pub fn quantize<F: Real>(net: &crate::Lstm<F, N, I>, input_scale: f64) -> Result<Self, Error> {
        check_input_scale(input_scale)?;
        let mut q = QLstm {
            f: QGate::zeroed(),
            i: QGate::zeroed(),
            o: QGate::zeroed(),
            c: QGate::zeroed(),
            activation: net.activation,
            input_scale,
        };
        quantize_gate(net.f.view(), N, I, input_scale, "f", q.f.view_mut())?;
        quantize_gate(net.i.view(), N, I, input_scale, "i", q.i.view_mut())?;
        quantize_gate(net.o.view(), N, I, input_scale, "o", q.o.view_mut())?;
        quantize_gate(net.c.view(), N, I, input_scale, "c", q.c.view_mut())?;
        Ok(q)
    }

    /// Borrowed view with run-time sizes.
    pub fn view(&self) -> QLstmRef<'_, W> {
        const { assert!(N > 0, "an LSTM needs at least one unit") };
        QLstmRef {
            n: N,
            inputs: I,
            gates: [self.f.view(), self.i.view(), self.o.view(), self.c.view()],
            activation: self.activation,
            input_scale: self.input_scale,
        }
    }

    /// One step from `(h, c)` (Q15, Q16) with input `x` into `trace`.
    pub fn step(
        &self,
        h: &[i16; N],
        c: &[i32; N],
        x: &[i16; I],
        trace: &mut QLstmTrace<N>,
    ) -> Result<(), Error> {
        let QLstmTrace {
            f,
            i,
            o,
            g,
            a_f,
            a_i,
            a_o,
            a_c,
            c_next,
            c_act,
            h_next,
        } = trace;
        self.view().step(
            h,
            c,
            x,
            QLstmTraceMut {
                f,
                i,
                o,
                g,
                a_f,
                a_i,
                a_o,
                a_c,
                c_next,
                c_act,
                h_next,
            },
        )
    }
}

impl<'a, W: QWeight> QLstmRef<'a, W> {
    /// A quantized LSTM of `n` units and `inputs` inputs from borrowed
    /// arrays (gates `[f, i, o, c]`). A wrong length is an
    /// [`Error::WeightShape`]; `input_scale` must be positive and finite.
    pub fn new(
        n: usize,
        inputs: usize,
        gates: [QGateRef<'a, W>; 4],
        activation: Activation,
        input_scale: f64,
    ) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        check_input_scale(input_scale)?;
        for (name, g) in ["f", "i", "o", "c"].into_iter().zip(&gates) {
            g.check_dims(name, n, inputs)?;
        }
        Ok(QLstmRef {
            n,
            inputs,
            gates,
            activation,
            input_scale,
        })
    }

    /// Hidden units.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The value of one input step.
    pub fn input_scale(&self) -> f64 {
        self.input_scale
    }

    /// One step (docs/THEORY.md §16), integer arithmetic only; slices of the
    /// wrong length are an [`Error::DimensionMismatch`].
    pub fn step(&self, h: &[i16], c: &[i32], x: &[i16], t: QLstmTraceMut<'_>) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        check_len(c.len(), n)?;
        check_len(x.len(), self.inputs)?;
        for len in [
            t.f.len(),
            t.i.len(),
            t.o.len(),
            t.g.len(),
            t.a_f.len(),
            t.a_i.len(),
            t.a_o.len(),
            t.a_c.len(),
            t.c_next.len(),
            t.c_act.len(),
            t.h_next.len(),
        ] {
            check_len(len, n)?;
        }
        // each gate's rows: the recurrent part into its pre-activation, the
        // input part into the gate's array for the moment, then
        // a = (rec + inp) + b, saturating
        let [gf, gi, go, gc] = &self.gates;
        for (g, a, scratch) in [
            (gf, &mut *t.a_f, &mut *t.f),
            (gi, &mut *t.a_i, &mut *t.i),
            (go, &mut *t.a_o, &mut *t.o),
            (gc, &mut *t.a_c, &mut *t.g),
        ] {
            gate_rows(g, h, x, a, scratch);
            for ((a, &inp), &b) in a.iter_mut().zip(&*scratch).zip(g.b) {
                *a = a.saturating_add(inp).saturating_add(b);
            }
        }
        let phi = |a: i32| match self.activation {
            Activation::Tanh => tanh_q15(a),
            Activation::HardTanh => hard_tanh_q15(a),
        };
        for k in 0..n {
            t.f[k] = gate_bits(sigmoid_q15(t.a_f[k]), W::GATE_BITS);
            t.i[k] = gate_bits(sigmoid_q15(t.a_i[k]), W::GATE_BITS);
            t.o[k] = gate_bits(sigmoid_q15(t.a_o[k]), W::GATE_BITS);
            t.g[k] = phi(t.a_c[k]);
            // f c (Q15·Q16 → Q16) + i g (Q15·Q15 → Q30, to Q16 by 14 bits)
            let ig = ((t.i[k] as i64 * t.g[k] as i64 + (1 << 13)) >> 14) as i32;
            t.c_next[k] = mul_q15(t.f[k], c[k]).saturating_add(ig);
            t.c_act[k] = phi(t.c_next[k]);
            t.h_next[k] = mul_q15(t.o[k], t.c_act[k]).clamp(-32768, 32767) as i16;
        }
        Ok(())
    }

    /// Writes the dequantized view's weights into float gates `[f, i, o,
    /// c]` of the same sizes (as [`super::QGruRef::dequantize`]).
    pub fn dequantize<F: Real>(&self, gates: [crate::GateMut<'_, F>; 4]) -> Result<(), Error> {
        for (src, dst) in self.gates.iter().zip(gates) {
            src.dequantize_into(self.n, self.inputs, self.input_scale, dst)?;
        }
        Ok(())
    }
}

/// The float network the quantized `q` stands for, into `out`.
pub fn dequantized_lstm<W: QWeight, F: Real, const N: usize, const I: usize>(
    q: &QLstm<W, N, I>,
    out: &mut crate::Lstm<F, N, I>,
) -> Result<(), Error> {
    q.view().dequantize([
        out.f.view_mut(),
        out.i.view_mut(),
        out.o.view_mut(),
        out.c.view_mut(),
    ])?;
    out.activation = q.activation;
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::init::{GateScale, LstmScales};
    use crate::{Lstm, LstmTrace};
    use rand_core::{RngCore, SeedableRng};
    use rand_xorshift::XorShiftRng;

    const N: usize = 32;
    const I: usize = 3;

    fn uniform(rng: &mut XorShiftRng) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// The quantized step against the dequantized float step, in steps of
    /// 2⁻¹⁵ for `h'` and 2⁻¹⁶ for `c'`: within the bound of the gate,
    /// table and rounding errors (docs/THEORY.md §16).
    #[test]
    fn the_quantized_lstm_step_follows_the_float_one() {
        for (seed, sf, sc) in [(1u64, 1.0, 1.5), (2, 4.0, 3.0)] {
            let g = |sigma| GateScale {
                sigma,
                bias: 0.5,
                input: 1.0,
            };
            let mut net: Lstm<f64, N, I> = Lstm::zeroed();
            net.randomize(
                &mut XorShiftRng::seed_from_u64(seed),
                LstmScales {
                    f: g(sf),
                    i: g(1.0),
                    o: g(1.0),
                    c: g(sc),
                },
            )
            .unwrap();
            for gate_error in [0.6, 128.6] {
                let (e_h, e_c) = if gate_error < 1.0 {
                    let q: QLstm<i16, N, I> = QLstm::quantize(&net, 1.0 / 32768.0).unwrap();
                    worst(&q)
                } else {
                    let q: QLstm<i8, N, I> = QLstm::quantize(&net, 1.0 / 32768.0).unwrap();
                    worst(&q)
                };
                let (b_h, b_c) = bounds(gate_error);
                std::eprintln!(
                    "σ_f {sf} σ_c {sc} gate error {gate_error}: h' {e_h:.2} (bound {b_h:.1}), c' {e_c:.2} (bound {b_c:.1}) steps"
                );
                assert!(e_h <= b_h && e_c <= b_c, "{e_h} {e_c}");
            }
        }
    }

    /// The bounds on `|h'_q − h'|` (steps of 2⁻¹⁵) and `|c'_q − c'|` (steps
    /// of 2⁻¹⁶) for a gate error of `g` steps of 2⁻¹⁵ and `|c| ≤ 2` (the
    /// test's states). `c'`: `f`'s error times `|c|` and `i`'s times `|g|
    /// ≤ 1` (2g steps of 2⁻¹⁶ each), `g`'s table (0.7 steps of 2⁻¹⁵, 1.4 of
    /// 2⁻¹⁶), the three Q16 roundings of `a_c` (1.5) and the two products'
    /// roundings (1.0). `h'`: `o`'s error, tanh's table (0.7), half of
    /// `c'`'s error (φ' ≤ 1, Q16 to Q15) and the product's rounding (0.5).
    fn bounds(g: f64) -> (f64, f64) {
        let c = 2.0 * g * (2.0 + 1.0) + 1.4 + 1.5 + 1.0;
        (g + 0.7 + c / 2.0 + 0.5, c)
    }

    fn worst<W: QWeight>(q: &QLstm<W, N, I>) -> (f64, f64) {
        let mut d: Lstm<f64, N, I> = Lstm::zeroed();
        dequantized_lstm(q, &mut d).unwrap();
        let mut rng = XorShiftRng::seed_from_u64(9);
        let (mut t, mut ft) = (QLstmTrace::zeroed(), LstmTrace::zeroed());
        let (mut e_h, mut e_c) = (0.0f64, 0.0f64);
        for _ in 0..200 {
            let mut h = [0i16; N];
            let mut c = [0i32; N];
            let mut x = [0i16; I];
            for k in 0..N {
                h[k] = (uniform(&mut rng) * 30000.0) as i16;
                c[k] = (uniform(&mut rng) * 2.0 * 65536.0) as i32;
            }
            for v in x.iter_mut() {
                *v = (uniform(&mut rng) * 32767.0) as i16;
            }
            q.step(&h, &c, &x, &mut t).unwrap();
            let hf = h.map(|v| v as f64 / 32768.0);
            let cf = c.map(|v| v as f64 / 65536.0);
            let xf = x.map(|v| v as f64 * q.input_scale);
            d.step_traced(&hf, &cf, &xf, &mut ft).unwrap();
            for k in 0..N {
                e_h = e_h.max((t.h_next[k] as f64 - ft.h_next[k] * 32768.0).abs());
                e_c = e_c.max((t.c_next[k] as f64 - ft.c_next[k] * 65536.0).abs());
            }
        }
        (e_h, e_c)
    }
}
