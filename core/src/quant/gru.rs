//! A GRU in fixed point, both forms (docs/THEORY.md §16).
//!
//! * **Weights** `i8` or `i16` ([`QWeight`]), one symmetric scale per row:
//!   a row's largest `|w|` is stored as 127 or 32767.
//! * **State** `h` in Q15 (`i16`, `h = h_q / 2¹⁵`); **inputs** `i16` with one
//!   scale for all (`x = x_q · input_scale`).
//! * **Accumulators** `i64`: a row's sum of `n` products is at most
//!   `n · 2³⁰` in magnitude, far from overflow for any `n` that fits in
//!   memory; int8 rows of up to 511 terms are summed in `i32`
//!   (`n · 2²² < 2³¹`). The loops are in [`super::dot`].
//! * **Pre-activations** in Q16 (`i32`): each accumulator is taken there by
//!   its row's [`Requant`] (a multiplier of up to 31 significant bits,
//!   chosen so that the product stays in `i64`), rounded to nearest and
//!   saturated; biases are stored in Q16.
//! * **Gates** from [`super::activation`], in Q15 (`[0, 32768]`, 32768 being
//!   exactly 1), then rounded to the scheme's precision: 7 fraction bits
//!   for `i8` weights, 15 for `i16`.
//! * **The blend** `h' = ((1 − z) h + z h̃)` in Q30, rounded to Q15 and
//!   saturated to `i16`.
//!
//! Every operation on the step path is an integer one, so a step gives the
//! same bits on every target. The float network the quantized one stands
//! for, its *dequantized view* (weights `w_q · scale`, biases `b_q / 2¹⁶`),
//! is written by [`QGruRef::dequantize`] into a float [`crate::Gru`]'s
//! gates, and a step's trace by [`QGruTraceRef::dequantize`], so that the
//! float Jacobian code applies to the quantized network's own gate values.

use super::activation::{hard_tanh_q15, sigmoid_q15, tanh_q15, ONE_Q15, PRE_FRAC};
use crate::activation::Activation;
use crate::error::{check_len, Error, Quantity};
use crate::gate::{GateMut, GateRef};
use crate::gru::{GruForm, GruTraceMut};
use crate::real::Real;

/// Integer weights: `i8` (the int8 scheme) or `i16` (the int16 scheme).
pub trait QWeight: Copy + Default + core::fmt::Debug + PartialEq + 'static {
    /// The largest magnitude stored: a row's largest `|w|` maps to it.
    const MAX: i32;
    /// Fraction bits the gates keep: 7 (int8) or 15 (int16).
    const GATE_BITS: u32;
    /// `"int8"` or `"int16"`.
    const NAME: &'static str;
    /// Widening.
    fn to_i32(self) -> i32;
    /// `v` clamped to `[−MAX, MAX]`.
    fn saturate(v: i32) -> Self;
    /// `Σ_j w_j v_j`, exact, over the common length ([`super::dot`]).
    fn dot(w: &[Self], v: &[i16]) -> i64;
    /// [`QWeight::dot`] for a `v` scanned once for many rows:
    /// `v_has_min` says whether some `v_j` is `−2¹⁵`
    /// ([`super::dot::dot_i16_scanned`]; a false flag for a `v` with
    /// `−2¹⁵` may give a wrong sum).
    #[inline]
    fn dot_scanned(w: &[Self], v: &[i16], v_has_min: bool) -> i64 {
        let _ = v_has_min;
        Self::dot(w, v)
    }
}

impl QWeight for i8 {
    const MAX: i32 = 127;
    const GATE_BITS: u32 = 7;
    const NAME: &'static str = "int8";
    #[inline]
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn saturate(v: i32) -> Self {
        v.clamp(-<Self as QWeight>::MAX, <Self as QWeight>::MAX) as i8
    }
    #[inline]
    fn dot(w: &[Self], v: &[i16]) -> i64 {
        super::dot::dot_i8(w, v)
    }
}

impl QWeight for i16 {
    const MAX: i32 = 32767;
    const GATE_BITS: u32 = 15;
    const NAME: &'static str = "int16";
    #[inline]
    fn to_i32(self) -> i32 {
        self as i32
    }
    fn saturate(v: i32) -> Self {
        v.clamp(-<Self as QWeight>::MAX, <Self as QWeight>::MAX) as i16
    }
    #[inline]
    fn dot(w: &[Self], v: &[i16]) -> i64 {
        super::dot::dot_i16(w, v)
    }
    #[inline]
    fn dot_scanned(w: &[Self], v: &[i16], v_has_min: bool) -> i64 {
        super::dot::dot_i16_scanned(w, v, v_has_min)
    }
}

/// A non-negative real multiplier `mult · 2^−shift` that takes a row's
/// accumulator to Q16 (8 bytes in flash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requant {
    /// The significand, up to 31 bits (0 for a row of zeros).
    pub mult: i32,
    /// The binary exponent, at most 62.
    pub shift: u8,
}

impl Requant {
    /// The multiplier nearest `m ≥ 0` with `bits ≤ 31` significant bits, or
    /// `None` when `bits` is out of range or the multiplier needs a
    /// negative shift or one beyond 62.
    pub fn of(m: f64, bits: u32) -> Option<Self> {
        if !(1..=31).contains(&bits) {
            return None;
        }
        if m == 0.0 {
            return Some(Requant { mult: 0, shift: 0 });
        }
        if !(m > 0.0 && m.is_finite()) {
            return None;
        }
        let (_, e) = libm::frexp(m); // m = f · 2^e, f in [0.5, 1)
        let shift = bits as i32 - e;
        if !(0..=62).contains(&shift) {
            return None;
        }
        let mut mult = libm::round(libm::ldexp(m, shift)) as i64;
        let mut shift = shift as u8;
        if mult >= 1 << bits {
            mult >>= 1;
            shift -= 1;
        }
        Some(Requant {
            mult: mult as i32,
            shift,
        })
    }

    /// Its value.
    pub fn value(self) -> f64 {
        libm::ldexp(self.mult as f64, -(self.shift as i32))
    }

    /// `round(acc · mult · 2^−shift)`, saturated to `i32`. The caller keeps
    /// `|acc · mult|` below `2⁶³` (the bits of [`Requant::of`] see to it).
    ///
    /// For `shift ≥ 32` (every multiplier the conversion makes at the sizes
    /// that fit in memory) the rounding works on the product's high word
    /// alone: with `p = hi · 2³² + lo`, `round(p / 2^s)` is
    /// `(hi + 2^(s−33)) >> (s − 32)` for `s > 32` (the half is in the high
    /// word; `lo < 2³²` cannot carry past a multiple of `2^s`) and
    /// `hi + (lo >> 31)` for `s = 32`. That is a 32-bit add and shift, where
    /// the general path needs 64-bit shifts by a run-time amount (tested
    /// against it over random and extreme products).
    #[inline]
    pub fn apply(self, acc: i64) -> i32 {
        let p = acc * self.mult as i64;
        let s = self.shift as u32;
        if (32..=62).contains(&s) {
            let hi = (p >> 32) as i32;
            let half = if s == 32 {
                (p as u32 >> 31) as i32
            } else {
                1 << (s - 33)
            };
            if let Some(r) = hi.checked_add(half) {
                return r >> (s - 32);
            }
        }
        Self::apply_wide(p, s)
    }

    /// The general rounding of the product `p` by `shift`, in `i128` (the
    /// half added to a product next to `2⁶³` does not overflow).
    #[inline(never)]
    fn apply_wide(p: i64, shift: u32) -> i32 {
        let r = match shift {
            0 => p as i128,
            // |p| ≤ 2⁶³ ≤ 2^(shift − 1): p + 2^(shift − 1) is in [0, 2^shift)
            64.. => 0,
            _ => (p as i128 + (1i128 << (shift - 1))) >> shift,
        };
        r.clamp(i32::MIN as i128, i32::MAX as i128) as i32
    }
}

/// Significant bits of a multiplier for accumulators of `terms` products
/// of a weight (`≤ W::MAX`) and a value (`≤ 2¹⁵` in magnitude): the product
/// with the largest accumulator stays below `2⁶²`.
fn multiplier_bits<W: QWeight>(terms: usize) -> u32 {
    let bound = (terms.max(1) as f64) * (W::MAX as f64) * 32768.0;
    let acc_bits = libm::ceil(libm::log2(bound)) as u32 + 1;
    62u32.saturating_sub(acc_bits).clamp(1, 31)
}

/// Borrowed weights of one quantized gate (row-major, as [`GateRef`]).
#[derive(Debug, Clone, Copy)]
pub struct QGateRef<'a, W> {
    /// `U` in integers, n×n.
    pub u: &'a [W],
    /// `W` in integers, n×inputs.
    pub w: &'a [W],
    /// `b` in Q16.
    pub b: &'a [i32],
    /// Per row, `U`'s accumulator (with `h` in Q15) to Q16.
    pub u_scale: &'a [Requant],
    /// Per row, `W`'s accumulator (with `x` in input units) to Q16.
    pub w_scale: &'a [Requant],
}

/// Mutable borrowed weights of one quantized gate, for [`quantize_gate`].
#[derive(Debug)]
pub struct QGateMut<'a, W> {
    /// `U`, n×n.
    pub u: &'a mut [W],
    /// `W`, n×inputs.
    pub w: &'a mut [W],
    /// `b` in Q16.
    pub b: &'a mut [i32],
    /// Row multipliers of `U`.
    pub u_scale: &'a mut [Requant],
    /// Row multipliers of `W`.
    pub w_scale: &'a mut [Requant],
}

impl<W: QWeight> QGateRef<'_, W> {
    /// Checks the lengths against `n` units and `inputs` inputs; a wrong one
    /// is an [`Error::WeightShape`] naming `gate` and the array.
    pub(super) fn check_dims(
        &self,
        gate: &'static str,
        n: usize,
        inputs: usize,
    ) -> Result<(), Error> {
        for (matrix, found, expected) in [
            ("U", self.u.len(), n * n),
            ("W", self.w.len(), n * inputs),
            ("b", self.b.len(), n),
            ("U scale", self.u_scale.len(), n),
            ("W scale", self.w_scale.len(), n),
        ] {
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

    /// Writes this gate's dequantized weights (`w_q · scale`, biases
    /// `b_q / 2¹⁶`) into a float gate of `n` units and `inputs` inputs;
    /// `input_scale` is the value of one input step. A wrong length is an
    /// [`Error::DimensionMismatch`].
    pub(super) fn dequantize_into<F: Real>(
        &self,
        n: usize,
        inputs: usize,
        input_scale: f64,
        dst: GateMut<'_, F>,
    ) -> Result<(), Error> {
        check_len(dst.u.len(), n * n)?;
        check_len(dst.w.len(), n * inputs)?;
        check_len(dst.b.len(), n)?;
        let q16 = (1u32 << PRE_FRAC) as f64;
        for i in 0..n {
            // multiplier = scale · unit · 2¹⁶
            let su = self.u_scale[i].value() / q16 * ONE_Q15 as f64;
            let sw = self.w_scale[i].value() / q16 / input_scale;
            for j in 0..n {
                dst.u[i * n + j] = F::from_f64(self.u[i * n + j].to_i32() as f64 * su);
            }
            for k in 0..inputs {
                dst.w[i * inputs + k] = F::from_f64(self.w[i * inputs + k].to_i32() as f64 * sw);
            }
            dst.b[i] = F::from_f64(self.b[i] as f64 / q16);
        }
        Ok(())
    }
}

/// Errors unless `input_scale` is positive and finite
/// ([`Error::InvalidParameter`]).
pub(super) fn check_input_scale(input_scale: f64) -> Result<(), Error> {
    if input_scale > 0.0 && input_scale.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "input_scale",
        })
    }
}

/// Owned weights of one quantized gate, sizes as types.
#[derive(Debug, Clone, PartialEq)]
pub struct QGate<W, const N: usize, const I: usize> {
    /// `U` in integers.
    pub u: [[W; N]; N],
    /// `W` in integers.
    pub w: [[W; I]; N],
    /// `b` in Q16.
    pub b: [i32; N],
    /// Row multipliers of `U`.
    pub u_scale: [Requant; N],
    /// Row multipliers of `W`.
    pub w_scale: [Requant; N],
}

impl<W: QWeight, const N: usize, const I: usize> QGate<W, N, I> {
    pub(super) fn zeroed() -> Self {
        QGate {
            u: [[W::default(); N]; N],
            w: [[W::default(); I]; N],
            b: [0; N],
            u_scale: [Requant::default(); N],
            w_scale: [Requant::default(); N],
        }
    }
    pub(super) fn view(&self) -> QGateRef<'_, W> {
        QGateRef {
            u: self.u.as_flattened(),
            w: self.w.as_flattened(),
            b: &self.b,
            u_scale: &self.u_scale,
            w_scale: &self.w_scale,
        }
    }
    pub(super) fn view_mut(&mut self) -> QGateMut<'_, W> {
        QGateMut {
            u: self.u.as_flattened_mut(),
            w: self.w.as_flattened_mut(),
            b: &mut self.b,
            u_scale: &mut self.u_scale,
            w_scale: &mut self.w_scale,
        }
    }
}

/// `round(v · 2¹⁶)` as a Q16 bias (docs/THEORY.md §16), or `None` beyond
/// `i32`.
pub fn bias_q16(v: f64) -> Option<i32> {
    let q = libm::round(v * (1u32 << PRE_FRAC) as f64);
    (q.abs() < i32::MAX as f64).then_some(q as i32)
}

/// Quantizes one row-major matrix (`rows × cols`) row by row: scale
/// `max |row| / W::MAX`, integers `round(w / scale)`, and the multiplier
/// `scale · unit · 2¹⁶` (`unit` the value of one step of what the matrix
/// multiplies).
fn quantize_rows<F: Real, W: QWeight>(
    src: &[F],
    cols: usize,
    unit: f64,
    dst: &mut [W],
    scales: &mut [Requant],
    gate: &'static str,
    matrix: &'static str,
) -> Result<(), Error> {
    let bits = multiplier_bits::<W>(cols);
    for (i, scale) in scales.iter_mut().enumerate() {
        let row = &src[i * cols..(i + 1) * cols];
        let max = row.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
        let s = max / W::MAX as f64;
        *scale =
            Requant::of(s * unit * (1u32 << PRE_FRAC) as f64, bits).ok_or(Error::OutOfRange {
                gate,
                matrix,
                index: i,
            })?;
        for (d, v) in dst[i * cols..(i + 1) * cols].iter_mut().zip(row) {
            *d = if s > 0.0 {
                W::saturate(libm::round(v.to_f64() / s) as i32)
            } else {
                W::default()
            };
        }
    }
    Ok(())
}

/// Quantizes one float gate of `n` units and `inputs` inputs into `dst`
/// (docs/THEORY.md §16): per-row scales from the weights, `input_scale`
/// the value of one input step, biases in Q16. Lengths are checked; a
/// non-finite weight is an [`Error::NonFinite`], a bias beyond the Q16
/// range or a scale without a multiplier an [`Error::OutOfRange`]. On an
/// error `dst` may be partly written.
pub fn quantize_gate<F: Real, W: QWeight>(
    src: GateRef<'_, F>,
    n: usize,
    inputs: usize,
    input_scale: f64,
    gate: &'static str,
    dst: QGateMut<'_, W>,
) -> Result<(), Error> {
    src.check_dims(n, inputs)?;
    for (len, want) in [
        (dst.u.len(), n * n),
        (dst.w.len(), n * inputs),
        (dst.b.len(), n),
        (dst.u_scale.len(), n),
        (dst.w_scale.len(), n),
    ] {
        check_len(len, want)?;
    }
    for (k, v) in src.u.iter().chain(src.w).chain(src.b).enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::Weight,
                index: k,
            });
        }
    }
    quantize_rows(
        src.u,
        n,
        1.0 / ONE_Q15 as f64,
        dst.u,
        dst.u_scale,
        gate,
        "U",
    )?;
    quantize_rows(src.w, inputs, input_scale, dst.w, dst.w_scale, gate, "W")?;
    for (i, (d, v)) in dst.b.iter_mut().zip(src.b).enumerate() {
        *d = bias_q16(v.to_f64()).ok_or(Error::OutOfRange {
            gate,
            matrix: "b",
            index: i,
        })?;
    }
    Ok(())
}

/// A quantized GRU borrowed with run-time sizes.
#[derive(Debug, Clone, Copy)]
pub struct QGruRef<'a, W> {
    n: usize,
    inputs: usize,
    z: QGateRef<'a, W>,
    r: QGateRef<'a, W>,
    h: QGateRef<'a, W>,
    form: GruForm<&'a [i32]>,
    activation: Activation,
    input_scale: f64,
}

/// A quantized GRU, sizes as types: `i8` or `i16` weights ([`QWeight`]).
///
/// ```
/// use gatedyn::quant::{QGru, QGruTrace};
/// use gatedyn::{Gru, GruForm};
/// let mut net: Gru<f64, 2, 1> = Gru::zeroed();
/// net.z.b = [0.0; 2];
/// net.h.w = [[1.0], [-1.0]];
/// net.h.u = [[0.5, 0.0], [0.0, 0.5]];
/// // inputs in [−1, 1): one step of an i16 input is 2⁻¹⁵
/// let q: QGru<i16, 2, 1> = QGru::quantize(&net, 1.0 / 32768.0)?;
/// let mut trace = QGruTrace::zeroed();
/// q.step(&[0, 0], &[16384], &mut trace)?; // x = 0.5
/// // z = σ(0) = 1/2, h̃ = ±tanh(0.5) = ±0.4621: h' = ±0.2311 (7571.4 in Q15)
/// assert_eq!(trace.z, [16384, 16384]);
/// assert_eq!(trace.next, [7572, -7571]); // rounding is half up
/// let err = (trace.next[0] as f64 / 32768.0 - 0.5 * 0.5f64.tanh()).abs();
/// assert!(err < 1e-4);
/// # Ok::<(), gatedyn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QGru<W, const N: usize, const I: usize> {
    /// Update gate.
    pub z: QGate<W, N, I>,
    /// Reset gate.
    pub r: QGate<W, N, I>,
    /// Candidate.
    pub h: QGate<W, N, I>,
    /// The form, with `b_hn` in Q16 in the reset-after one.
    pub form: GruForm<[i32; N]>,
    /// `φ`.
    pub activation: Activation,
    /// The value of one input step.
    pub input_scale: f64,
}

/// One quantized step's values: gates and candidate in Q15 (`[0, 32768]`,
/// `[−32768, 32768]`), pre-activations in Q16, `ρ` (what the reset gate
/// multiplies: `h` in Q15 in the paper's form, `U_h h + b_hn` in Q16 after
/// the reset), and the next state.
#[derive(Debug, Clone, PartialEq)]
pub struct QGruTrace<const N: usize> {
    /// `z` in Q15 (rounded to the scheme's gate bits).
    pub z: [i32; N],
    /// `r` in Q15 (rounded to the scheme's gate bits).
    pub r: [i32; N],
    /// `h̃` in Q15.
    pub candidate: [i32; N],
    /// `a_z` in Q16.
    pub a_z: [i32; N],
    /// `a_r` in Q16.
    pub a_r: [i32; N],
    /// `a_h` in Q16.
    pub a_h: [i32; N],
    /// `ρ`: `h` (Q15) or `U_h h + b_hn` (Q16).
    pub reset_operand: [i32; N],
    /// `h'` in Q15.
    pub next: [i16; N],
}

impl<const N: usize> QGruTrace<N> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        QGruTrace {
            z: [0; N],
            r: [0; N],
            candidate: [0; N],
            a_z: [0; N],
            a_r: [0; N],
            a_h: [0; N],
            reset_operand: [0; N],
            next: [0; N],
        }
    }

    /// Borrowed view.
    pub fn view(&self) -> QGruTraceRef<'_> {
        QGruTraceRef {
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
}

/// A quantized step's trace borrowed (each slice of length n; see
/// [`QGruTrace`]).
#[derive(Debug, Clone, Copy)]
pub struct QGruTraceRef<'a> {
    /// `z` in Q15.
    pub z: &'a [i32],
    /// `r` in Q15.
    pub r: &'a [i32],
    /// `h̃` in Q15.
    pub candidate: &'a [i32],
    /// `a_z` in Q16.
    pub a_z: &'a [i32],
    /// `a_r` in Q16.
    pub a_r: &'a [i32],
    /// `a_h` in Q16.
    pub a_h: &'a [i32],
    /// `ρ`.
    pub reset_operand: &'a [i32],
    /// `h'` in Q15.
    pub next: &'a [i16],
}

impl QGruTraceRef<'_> {
    /// The trace as the float step of the dequantized network writes it
    /// (docs/THEORY.md §3's inputs): gates, candidate, pre-activations and
    /// `ρ` as values, for [`crate::GruRef::jacobian`] and its relatives on
    /// the network [`QGruRef::dequantize`] writes. `paper_form` says how to
    /// read `ρ`. Lengths must agree ([`Error::DimensionMismatch`]).
    pub fn dequantize<F: Real>(
        &self,
        paper_form: bool,
        out: GruTraceMut<'_, F>,
    ) -> Result<(), Error> {
        let n = self.z.len();
        for len in [
            self.r.len(),
            self.candidate.len(),
            self.a_z.len(),
            self.a_r.len(),
            self.a_h.len(),
            self.reset_operand.len(),
            self.next.len(),
            out.z.len(),
            out.r.len(),
            out.candidate.len(),
            out.a_z.len(),
            out.a_r.len(),
            out.a_h.len(),
            out.reset_operand.len(),
            out.next.len(),
        ] {
            check_len(len, n)?;
        }
        let q15 = |v: i32| F::from_f64(v as f64 / ONE_Q15 as f64);
        let q16 = |v: i32| F::from_f64(v as f64 / (1u32 << PRE_FRAC) as f64);
        for i in 0..n {
            out.z[i] = q15(self.z[i]);
            out.r[i] = q15(self.r[i]);
            out.candidate[i] = q15(self.candidate[i]);
            out.a_z[i] = q16(self.a_z[i]);
            out.a_r[i] = q16(self.a_r[i]);
            out.a_h[i] = q16(self.a_h[i]);
            out.reset_operand[i] = if paper_form {
                q15(self.reset_operand[i])
            } else {
                q16(self.reset_operand[i])
            };
            out.next[i] = q15(self.next[i] as i32);
        }
        Ok(())
    }
}

impl<W: QWeight, const N: usize, const I: usize> QGru<W, N, I> {
    /// The quantized form of `net` (docs/THEORY.md §16), with inputs of
    /// `input_scale` per step (`x_q = round(x / input_scale)`): per-row
    /// weight scales, biases in Q16. Errors as [`quantize_gate`]; a
    /// non-positive or non-finite `input_scale` is an
    /// [`Error::InvalidParameter`].
    pub fn quantize<F: Real>(net: &crate::Gru<F, N, I>, input_scale: f64) -> Result<Self, Error> {
        check_input_scale(input_scale)?;
        let mut q = QGru {
            z: QGate::zeroed(),
            r: QGate::zeroed(),
            h: QGate::zeroed(),
            form: GruForm::ResetBefore,
            activation: net.activation,
            input_scale,
        };
        quantize_gate(net.z.view(), N, I, input_scale, "z", q.z.view_mut())?;
        quantize_gate(net.r.view(), N, I, input_scale, "r", q.r.view_mut())?;
        quantize_gate(net.h.view(), N, I, input_scale, "h", q.h.view_mut())?;
        if let GruForm::ResetAfter { recurrent_bias } = &net.form {
            let mut b = [0i32; N];
            for (i, (d, v)) in b.iter_mut().zip(recurrent_bias).enumerate() {
                *d = bias_q16(v.to_f64()).ok_or(Error::OutOfRange {
                    gate: "h",
                    matrix: "b_hn",
                    index: i,
                })?;
            }
            q.form = GruForm::ResetAfter { recurrent_bias: b };
        }
        Ok(q)
    }

    /// Borrowed view with run-time sizes.
    pub fn view(&self) -> QGruRef<'_, W> {
        const { assert!(N > 0, "a GRU needs at least one unit") };
        QGruRef {
            n: N,
            inputs: I,
            z: self.z.view(),
            r: self.r.view(),
            h: self.h.view(),
            form: self.form.view(),
            activation: self.activation,
            input_scale: self.input_scale,
        }
    }

    /// One step from `h` (Q15) with input `x` (input steps), into `trace`
    /// (`trace.next` is `h'`).
    pub fn step(&self, h: &[i16; N], x: &[i16; I], trace: &mut QGruTrace<N>) -> Result<(), Error> {
        let QGruTrace {
            z,
            r,
            candidate,
            a_z,
            a_r,
            a_h,
            reset_operand,
            next,
        } = trace;
        self.view().step(
            h,
            x,
            QGruTraceMut {
                z,
                r,
                candidate,
                a_z,
                a_r,
                a_h,
                reset_operand,
                next,
            },
        )
    }
}

/// The trace slices [`QGruRef::step`] writes (each of length n).
#[derive(Debug)]
pub struct QGruTraceMut<'a> {
    /// `z` in Q15.
    pub z: &'a mut [i32],
    /// `r` in Q15.
    pub r: &'a mut [i32],
    /// `h̃` in Q15.
    pub candidate: &'a mut [i32],
    /// `a_z` in Q16.
    pub a_z: &'a mut [i32],
    /// `a_r` in Q16.
    pub a_r: &'a mut [i32],
    /// `a_h` in Q16.
    pub a_h: &'a mut [i32],
    /// `ρ`.
    pub reset_operand: &'a mut [i32],
    /// `h'` in Q15.
    pub next: &'a mut [i16],
}

/// Every row of gate `g` (a view whose lengths were checked when it was
/// built): the recurrent part `u_scale_i.apply(Σ_j u_ij v_j)` into `rec`
/// and the input part `w_scale_i.apply(Σ_k w_ik x_k)` into `inp`, in Q16.
#[inline]
pub(super) fn gate_rows<W: QWeight>(
    g: &QGateRef<'_, W>,
    v: &[i16],
    x: &[i16],
    rec: &mut [i32],
    inp: &mut [i32],
) {
    // one scan of the state for all rows (the Cortex-M0's pairs need it)
    let v_has_min = super::dot::has_min(v);
    for ((row, s), out) in g.u.chunks_exact(v.len()).zip(g.u_scale).zip(rec) {
        *out = s.apply(W::dot_scanned(row, v, v_has_min));
    }
    if x.is_empty() {
        inp.fill(0);
    } else {
        for ((row, s), out) in g.w.chunks_exact(x.len()).zip(g.w_scale).zip(inp) {
            *out = s.apply(W::dot(row, x));
        }
    }
}

/// A gate value in Q15 rounded to `bits` fraction bits (kept in Q15).
#[inline]
pub(super) fn gate_bits(v: i32, bits: u32) -> i32 {
    if bits >= 15 {
        v
    } else {
        let s = 15 - bits;
        ((v + (1 << (s - 1))) >> s) << s
    }
}

/// `round(a · b / 2¹⁵)` for a Q15 `a` in `[−2¹⁵, 2¹⁵]`, saturated to `i32`.
#[inline]
pub(super) fn mul_q15(a: i32, b: i32) -> i32 {
    let p = a as i64 * b as i64;
    ((p + (1 << 14)) >> 15).clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

impl<'a, W: QWeight> QGruRef<'a, W> {
    /// A quantized GRU of `n` units and `inputs` inputs from borrowed
    /// arrays (gates `[z, r, h]`, each as [`QGateRef`]), for sizes known at
    /// run time. A wrong length is an [`Error::WeightShape`] naming the
    /// gate and array; `input_scale` must be positive and finite
    /// ([`Error::InvalidParameter`]).
    pub fn new(
        n: usize,
        inputs: usize,
        gates: [QGateRef<'a, W>; 3],
        form: GruForm<&'a [i32]>,
        activation: Activation,
        input_scale: f64,
    ) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        check_input_scale(input_scale)?;
        for (name, g) in ["z", "r", "h"].into_iter().zip(&gates) {
            g.check_dims(name, n, inputs)?;
        }
        if let GruForm::ResetAfter { recurrent_bias } = form {
            if recurrent_bias.len() != n {
                return Err(Error::WeightShape {
                    gate: "h",
                    matrix: "b_hn",
                    expected: n,
                    found: recurrent_bias.len(),
                });
            }
        }
        let [z, r, h] = gates;
        Ok(QGruRef {
            n,
            inputs,
            z,
            r,
            h,
            form,
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

    /// The scheme's name (`"int8"` or `"int16"`).
    pub fn scheme(&self) -> &'static str {
        W::NAME
    }

    /// One step (docs/THEORY.md §16): integer arithmetic only. Slices of
    /// the wrong length are an [`Error::DimensionMismatch`]; nothing else
    /// can fail (every rounding saturates).
    pub fn step(&self, h: &[i16], x: &[i16], t: QGruTraceMut<'_>) -> Result<(), Error> {
        let n = self.n;
        check_len(h.len(), n)?;
        check_len(x.len(), self.inputs)?;
        for len in [
            t.z.len(),
            t.r.len(),
            t.candidate.len(),
            t.a_z.len(),
            t.a_r.len(),
            t.a_h.len(),
            t.reset_operand.len(),
            t.next.len(),
        ] {
            check_len(len, n)?;
        }
        // each gate's rows: the recurrent part into its pre-activation, the
        // input part into its gate's array for the moment, then
        // a = rec + (inp + b), saturating, and the gate
        for (g, a, gate) in [
            (&self.z, &mut *t.a_z, &mut *t.z),
            (&self.r, &mut *t.a_r, &mut *t.r),
        ] {
            gate_rows(g, h, x, a, gate);
            for ((a, gate), &b) in a.iter_mut().zip(gate.iter_mut()).zip(g.b) {
                *a = a.saturating_add(gate.saturating_add(b));
                *gate = gate_bits(sigmoid_q15(*a), W::GATE_BITS);
            }
        }
        match self.form {
            GruForm::ResetBefore => {
                // r ⊙ h in Q15, into `next` for the moment (it is written last)
                for (((rho, next), &r), &h) in t
                    .reset_operand
                    .iter_mut()
                    .zip(t.next.iter_mut())
                    .zip(&*t.r)
                    .zip(h)
                {
                    *rho = h as i32;
                    *next = mul_q15(r, h as i32).clamp(-32768, 32767) as i16;
                }
                gate_rows(&self.h, t.next, x, t.a_h, t.candidate);
                for ((a, &inp), &b) in t.a_h.iter_mut().zip(&*t.candidate).zip(self.h.b) {
                    *a = a.saturating_add(inp.saturating_add(b));
                }
            }
            GruForm::ResetAfter { recurrent_bias } => {
                gate_rows(&self.h, h, x, t.reset_operand, t.candidate);
                for ((((rho, a), &inp), &r), (&b, &b_hn)) in t
                    .reset_operand
                    .iter_mut()
                    .zip(t.a_h.iter_mut())
                    .zip(&*t.candidate)
                    .zip(&*t.r)
                    .zip(self.h.b.iter().zip(recurrent_bias))
                {
                    let un = rho.saturating_add(b_hn);
                    *rho = un;
                    *a = mul_q15(r, un).saturating_add(inp.saturating_add(b));
                }
            }
        }
        for i in 0..n {
            let c = match self.activation {
                Activation::Tanh => tanh_q15(t.a_h[i]),
                Activation::HardTanh => hard_tanh_q15(t.a_h[i]),
            };
            t.candidate[i] = c;
            let z = t.z[i];
            // (1 − z) h + z h̃ in Q30: a convex combination, below 2³⁰
            let blend = (ONE_Q15 - z) * h[i] as i32 + z * c;
            t.next[i] = ((blend + (1 << 14)) >> 15).clamp(-32768, 32767) as i16;
        }
        Ok(())
    }

    /// Writes the dequantized view's weights (`w_q · scale`, biases
    /// `b_q / 2¹⁶`) into float gates of the same sizes, and returns the
    /// dequantized `b_hn` into `b_hn` in the reset-after form (untouched in
    /// the paper's). A wrong length is an [`Error::DimensionMismatch`].
    pub fn dequantize<F: Real>(
        &self,
        gates: [GateMut<'_, F>; 3],
        b_hn: &mut [F],
    ) -> Result<(), Error> {
        let n = self.n;
        let q16 = (1u32 << PRE_FRAC) as f64;
        for (src, dst) in [self.z, self.r, self.h].iter().zip(gates) {
            src.dequantize_into(n, self.inputs, self.input_scale, dst)?;
        }
        if let GruForm::ResetAfter { recurrent_bias } = self.form {
            check_len(b_hn.len(), n)?;
            for (d, &v) in b_hn.iter_mut().zip(recurrent_bias) {
                *d = F::from_f64(v as f64 / q16);
            }
        }
        Ok(())
    }

    /// The form, with `b_hn` in Q16.
    pub fn form(&self) -> GruForm<&[i32]> {
        self.form
    }
}

/// The float network the quantized `q` stands for, into `out` (whose
/// activation and form are set): the weights of [`QGruRef::dequantize`].
pub fn dequantized<W: QWeight, F: Real, const N: usize, const I: usize>(
    q: &QGru<W, N, I>,
    out: &mut crate::Gru<F, N, I>,
) -> Result<(), Error> {
    let mut b_hn = [F::ZERO; N];
    q.view().dequantize(
        [out.z.view_mut(), out.r.view_mut(), out.h.view_mut()],
        &mut b_hn,
    )?;
    out.activation = q.activation;
    out.form = match q.form {
        GruForm::ResetBefore => GruForm::ResetBefore,
        GruForm::ResetAfter { .. } => GruForm::ResetAfter {
            recurrent_bias: b_hn,
        },
    };
    Ok(())
}

/// `x` in input steps: `round(x / input_scale)`, saturated to `i16`.
pub fn quantize_input<F: Real>(x: &[F], input_scale: f64, out: &mut [i16]) -> Result<(), Error> {
    check_len(out.len(), x.len())?;
    for (k, (d, v)) in out.iter_mut().zip(x).enumerate() {
        let v = v.to_f64();
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::Input,
                index: k,
            });
        }
        *d = libm::round(v / input_scale).clamp(-32768.0, 32767.0) as i16;
    }
    Ok(())
}

/// A state in Q15: `round(h · 2¹⁵)`, saturated to `i16`.
pub fn quantize_state<F: Real>(h: &[F], out: &mut [i16]) -> Result<(), Error> {
    check_len(out.len(), h.len())?;
    for (k, (d, v)) in out.iter_mut().zip(h).enumerate() {
        let v = v.to_f64();
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::State,
                index: k,
            });
        }
        *d = libm::round(v * ONE_Q15 as f64).clamp(-32768.0, 32767.0) as i16;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::init::{GateScale, GruScales};
    use crate::{Gru, GruTrace};
    use rand_core::{RngCore, SeedableRng};
    use rand_xorshift::XorShiftRng;

    const N: usize = 32;
    const I: usize = 3;

    fn scales(sz: f64, sh: f64) -> GruScales {
        let g = |sigma| GateScale {
            sigma,
            bias: 0.5,
            input: 1.0,
        };
        GruScales {
            z: g(sz),
            r: g(1.0),
            h: g(sh),
        }
    }

    fn random(seed: u64, after: bool, sz: f64, sh: f64) -> Gru<f64, N, I> {
        let mut net: Gru<f64, N, I> = Gru::zeroed();
        net.randomize(&mut XorShiftRng::seed_from_u64(seed), scales(sz, sh))
            .unwrap();
        if after {
            let mut b = [0.0; N];
            for (k, v) in b.iter_mut().enumerate() {
                *v = 0.1 * ((k % 7) as f64 - 3.0);
            }
            net.form = GruForm::ResetAfter { recurrent_bias: b };
        }
        net
    }

    fn uniform(rng: &mut XorShiftRng) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// Largest |h'_q − h'| over `steps` steps driven from random states and
    /// inputs in [−1, 1): against the float network `reference` on the
    /// quantized state and input, in units of 2⁻¹⁵.
    fn worst_step_error<W: QWeight>(q: &QGru<W, N, I>, reference: &Gru<f64, N, I>) -> f64 {
        let mut rng = XorShiftRng::seed_from_u64(7);
        let mut worst = 0.0f64;
        let mut trace = QGruTrace::zeroed();
        let mut ft = GruTrace::zeroed();
        for _ in 0..200 {
            let (mut h, mut x) = ([0.0; N], [0.0; I]);
            h.iter_mut().for_each(|v| *v = 0.9 * uniform(&mut rng));
            x.iter_mut().for_each(|v| *v = uniform(&mut rng));
            let (mut hq, mut xq) = ([0i16; N], [0i16; I]);
            quantize_state(&h, &mut hq).unwrap();
            quantize_input(&x, q.input_scale, &mut xq).unwrap();
            q.step(&hq, &xq, &mut trace).unwrap();
            // the float step on exactly the quantized state and input
            let hf = hq.map(|v| v as f64 / 32768.0);
            let xf = xq.map(|v| v as f64 * q.input_scale);
            reference.step_traced(&hf, &xf, &mut ft).unwrap();
            for i in 0..N {
                worst = worst.max((trace.next[i] as f64 - ft.next[i] * 32768.0).abs());
            }
        }
        worst
    }

    #[test]
    fn the_quantized_step_follows_the_float_one() {
        for after in [false, true] {
            for (seed, sz, sh) in [(1, 1.0, 1.5), (2, 4.0, 3.0), (3, 10.0, 2.0)] {
                let net = random(seed, after, sz, sh);
                let q16: QGru<i16, N, I> = QGru::quantize(&net, 1.0 / 32768.0).unwrap();
                let q8: QGru<i8, N, I> = QGru::quantize(&net, 1.0 / 32768.0).unwrap();
                let (mut d16, mut d8) = (Gru::zeroed(), Gru::zeroed());
                dequantized(&q16, &mut d16).unwrap();
                dequantized(&q8, &mut d8).unwrap();
                // against the dequantized network: the gate functions and
                // the roundings only
                let e16 = worst_step_error(&q16, &d16);
                let e8 = worst_step_error(&q8, &d8);
                // against the float network itself: the weights' rounding too
                let f16 = worst_step_error(&q16, &net);
                let f8 = worst_step_error(&q8, &net);
                std::eprintln!(
                    "after {after} σ_z {sz} σ_h {sh}: int16 {e16:.2} ({f16:.2} against float), int8 {e8:.1} ({f8:.1}) steps of 2⁻¹⁵"
                );
                assert!(e16 <= step_bound(&d16, 0.6), "int16: {e16}");
                assert!(e8 <= step_bound(&d8, 128.6), "int8: {e8}");
                // the dequantized weights are the float ones to a step of the row scale
                let (a, b) = (net.z.u[3], d16.z.u[3]);
                let max = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (x, y) in a.iter().zip(&b) {
                    assert!((x - y).abs() <= 0.5 * max / 32767.0 + 1e-15);
                }
            }
        }
    }

    /// The bound on |h'_q − h'| against the dequantized network `d`, in
    /// steps of 2⁻¹⁵, given the gates' error `gate` (σ's table, 0.6 steps,
    /// plus for int8 the rounding to 1/128, 128 steps): the blend's
    /// rounding (0.5), `z`'s error times `|h̃ − h| ≤ 2`, tanh's table
    /// (0.7), the three Q16 roundings of `a_h` (0.75), and what reaches
    /// `a_h` through the reset: `Σ_j |U_h,ij|` times the error of `r ⊙ h`
    /// (its rounding 0.5 plus `r`'s error) in the paper's form, `|U_h h +
    /// b_hn|` times `r`'s error plus 0.5 after the reset.
    fn step_bound(d: &Gru<f64, N, I>, gate: f64) -> f64 {
        let reset = match &d.form {
            GruForm::ResetBefore => {
                d.h.u
                    .iter()
                    .map(|row| row.iter().map(|v| v.abs()).sum::<f64>())
                    .fold(0.0, f64::max)
                    * (0.5 + gate)
            }
            GruForm::ResetAfter { recurrent_bias } => {
                let un =
                    d.h.u
                        .iter()
                        .zip(recurrent_bias)
                        .map(|(row, b)| row.iter().map(|v| v.abs()).sum::<f64>() + b.abs())
                        .fold(0.0, f64::max);
                un * gate + 0.5
            }
        };
        0.5 + 2.0 * gate + 0.7 + 0.75 + reset
    }

    #[test]
    fn no_overflow_at_the_extremes() {
        // every weight at its row's maximum, states and inputs at theirs:
        // the pre-activation is still the exact sum, rounded
        let mut net: Gru<f64, N, I> = Gru::zeroed();
        for g in [&mut net.z, &mut net.r, &mut net.h] {
            g.u = [[3.0; N]; N];
            g.w = [[-2.0; I]; N];
            g.b = [1000.0; N];
        }
        let q: QGru<i16, N, I> = QGru::quantize(&net, 1.0).unwrap();
        let mut t = QGruTrace::zeroed();
        q.step(&[i16::MAX; N], &[i16::MIN; I], &mut t).unwrap();
        // a = 3·32·(32767/32768) − 2·3·(−32768) + 1000
        let exact = 3.0 * N as f64 * (32767.0 / 32768.0) + 2.0 * I as f64 * 32768.0 + 1000.0;
        assert!(exact * 65536.0 > i32::MAX as f64, "saturates");
        assert_eq!(t.a_z[0], i32::MAX);
        assert_eq!(t.z[0], ONE_Q15);
        assert_eq!(t.next[0], 32767);
        // within range: no saturation, the exact sum
        let mut net2: Gru<f64, N, I> = Gru::zeroed();
        net2.z.u = [[0.5; N]; N];
        let q2: QGru<i16, N, I> = QGru::quantize(&net2, 1.0 / 32768.0).unwrap();
        q2.step(&[i16::MIN; N], &[0; I], &mut t).unwrap();
        assert_eq!(t.a_z[0], -(0.5 * N as f64 * 65536.0) as i32);
    }

    #[test]
    fn a_gate_that_rounds_to_zero_freezes_its_unit() {
        // z = σ(−6) = 0.0025: int8 gates keep 1/128 steps and store 0,
        // int16 gates keep it; σ(−12) is 0 in both
        let mut net: Gru<f64, N, I> = random(4, false, 1.0, 1.0);
        net.z.u = [[0.0; N]; N];
        net.z.w = [[0.0; I]; N];
        net.z.b[0] = -6.0;
        net.z.b[1] = -12.0;
        net.z.b[2] = 0.0;
        let q8: QGru<i8, N, I> = QGru::quantize(&net, 1.0 / 32768.0).unwrap();
        let q16: QGru<i16, N, I> = QGru::quantize(&net, 1.0 / 32768.0).unwrap();
        let h = [12345i16; N];
        let x = [1000i16; I];
        let mut t = QGruTrace::zeroed();
        q8.step(&h, &x, &mut t).unwrap();
        assert_eq!((t.z[0], t.z[1]), (0, 0));
        assert_eq!((t.next[0], t.next[1]), (12345, 12345), "frozen");
        assert_ne!(t.next[2], 12345);
        q16.step(&h, &x, &mut t).unwrap();
        assert_eq!(t.z[1], 0);
        assert_eq!(t.next[1], 12345);
        assert!(
            t.z[0] > 0 && t.next[0] != 12345,
            "int16 keeps σ(−6) = {}",
            t.z[0]
        );
        // the dequantized Jacobian: a frozen unit's row is e_i, eigenvalue 1
        q8.step(&h, &x, &mut t).unwrap();
        let mut d: Gru<f64, N, I> = Gru::zeroed();
        dequantized(&q8, &mut d).unwrap();
        let mut ft = GruTrace::zeroed();
        t.view().dequantize(true, ft.view_mut()).unwrap();
        let hf = h.map(|v| v as f64 / 32768.0);
        let mut jac = [[0.0; N]; N];
        d.jacobian(&hf, &ft, &mut jac).unwrap();
        for j in 0..N {
            assert_eq!(
                jac[0][j],
                if j == 0 { 1.0 } else { 0.0 },
                "row 0, column {j}"
            );
        }
    }

    /// The dead zone (docs/THEORY.md §16): a unit decaying towards a zero
    /// candidate with update gate `z_q` stalls at the first state with
    /// `z_q h_q ≤ 2¹⁴`, `h_q = ⌊2¹⁴ / z_q⌋`, and never reaches 0.
    #[test]
    fn a_decaying_unit_stalls_at_the_dead_zone() {
        let mut net: Gru<f64, 1, 1> = Gru::zeroed();
        // z = σ(b) = 0.01; the candidate's weights are zero, so h̃ = 0
        net.z.b = [libm::log(0.01 / 0.99)];
        let q: QGru<i16, 1, 1> = QGru::quantize(&net, 1.0).unwrap();
        let mut t = QGruTrace::zeroed();
        for start in [16384i16, -16384] {
            let mut h = [start];
            let mut steps = 0;
            loop {
                q.step(&h, &[0], &mut t).unwrap();
                if t.next == h {
                    break;
                }
                h = t.next;
                steps += 1;
                assert!(steps < 10_000, "no stall");
            }
            let z = t.z[0];
            assert_eq!(z, 328, "σ(logit 0.01) in Q15");
            let edge = (1 << 14) / z;
            std::eprintln!(
                "from {start}: stalls at {} after {steps} steps (z_q = {z}, edge {edge})",
                h[0]
            );
            // both sides stall at the edge (2¹⁴/z_q is not an integer here)
            assert_eq!((h[0] as i32).abs(), edge);
            // 2⁻¹⁶ / z in value
            let zone = libm::ldexp(1.0, -16) / 0.01;
            assert!((h[0] as f64 / 32768.0).abs() <= zone + 1.0 / 32768.0);
        }
    }

    #[test]
    fn bad_weights_are_named_errors() {
        let mut net: Gru<f64, N, I> = Gru::zeroed();
        net.r.b[5] = 40_000.0;
        let e = QGru::<i8, N, I>::quantize(&net, 1.0).unwrap_err();
        assert_eq!(
            e,
            Error::OutOfRange {
                gate: "r",
                matrix: "b",
                index: 5
            }
        );
        net.r.b[5] = 0.0;
        net.h.u[2][3] = f64::NAN;
        let e = QGru::<i16, N, I>::quantize(&net, 1.0).unwrap_err();
        assert_eq!(
            e,
            Error::NonFinite {
                what: Quantity::Weight,
                index: 2 * N + 3
            }
        );
        net.h.u[2][3] = 0.0;
        for s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                QGru::<i16, N, I>::quantize(&net, s).unwrap_err(),
                Error::InvalidParameter {
                    name: "input_scale"
                }
            );
        }
        let mut out = [0i16; 2];
        assert_eq!(
            quantize_input(&[0.0, f64::NAN], 1.0, &mut out).unwrap_err(),
            Error::NonFinite {
                what: Quantity::Input,
                index: 1
            }
        );
    }

    #[test]
    fn requant_multipliers_are_exact_to_their_bits() {
        for m in [1e-9, 3.7e-5, 0.5, 1.0, 2.0, 1234.5] {
            let r = Requant::of(m, 24).unwrap();
            assert!(r.mult >= 1 << 23 && r.mult < 1 << 24, "{m}: {r:?}");
            assert!((r.value() - m).abs() <= m * 2f64.powi(-24));
            // round(acc · m) for accumulators both signs
            for acc in [-1_000_000_007i64, -3, 0, 5, 999_999_937] {
                let exact = acc as f64 * r.value();
                assert!(
                    (r.apply(acc) as f64 - exact.clamp(i32::MIN as f64, i32::MAX as f64)).abs()
                        <= 0.5 + 1e-9
                );
            }
        }
        assert_eq!(Requant::of(0.0, 24), Some(Requant { mult: 0, shift: 0 }));
        assert_eq!(Requant::of(f64::NAN, 24), None);
        assert_eq!(Requant::of(1e30, 24), None);
    }

    /// The high-word rounding of `apply` (shift ≥ 32) against the general
    /// 64-bit one, over random products of every size, ties included, and
    /// the products next to `±2⁶³`.
    #[test]
    fn high_word_rounding_is_the_general_rounding() {
        let mut rng = XorShiftRng::seed_from_u64(11);
        let mut checked = 0;
        for shift in (0..=66u8).chain([100, 255]) {
            for k in 0..4000u32 {
                let mult = match k % 4 {
                    0 => 1,
                    1 => i32::MAX,
                    _ => (rng.next_u32() >> (1 + k % 31)) as i32,
                };
                let r = Requant { mult, shift };
                let limit = i64::MAX / mult.max(1) as i64;
                let acc = match k % 5 {
                    // exact ties and their neighbours
                    0 if shift > 0 && shift < 100 => {
                        let unit = 1i128 << (shift - 1);
                        let q = (rng.next_u64() % 1000) as i128 - 500;
                        let tie = (q * 2 + 1) * unit / mult.max(1) as i128 + (k as i128 % 3) - 1;
                        tie.clamp(-limit as i128, limit as i128) as i64
                    }
                    1 => limit,
                    2 => -limit,
                    _ => (rng.next_u64() as i64) % limit.max(1),
                };
                let p = acc * mult as i64;
                assert_eq!(
                    r.apply(acc),
                    Requant::apply_wide(p, shift as u32),
                    "acc {acc} mult {mult} shift {shift}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 69 * 4000);
        // a shift past the product's bits rounds everything to 0
        let r = Requant {
            mult: i32::MAX,
            shift: 255,
        };
        assert_eq!(r.apply(i64::MAX / i32::MAX as i64), 0);
        assert_eq!(r.apply(-(i64::MAX / i32::MAX as i64)), 0);
    }
}
