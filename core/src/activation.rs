//! Activation functions: the candidate/cell nonlinearity `φ` and the gate
//! sigmoid `σ`.
//!
//! * `φ` is [`Activation::Tanh`] (the default) or [`Activation::HardTanh`]
//!   (`clamp(x, -1, 1)`), the two nonlinearities the theory uses.
//! * With the `micromath` feature, `f32` sigmoid and tanh use micromath's
//!   fast `exp` (a 4-term series after range reduction). Their maximum
//!   absolute errors against libm, measured over a dense grid on
//!   `[-20, 20]` (step 1e-4) by the test `micromath_error_bounds`, are below
//!   [`MICROMATH_SIGMOID_MAX_ERROR`] (measured 5.30e-4) and
//!   [`MICROMATH_TANH_MAX_ERROR`] (measured 1.059e-3). They come from
//!   micromath's `exp`, whose relative error is about 1e-3.
//!   `f64` always uses libm.
//! * With the `fast-activations` feature (which takes precedence over
//!   `micromath`), `f32` sigmoid and tanh are [`fast_sigmoid`] and
//!   [`fast_tanh`]: about 35 instructions each on a Cortex-M4F, with maximum
//!   absolute errors below [`FAST_SIGMOID_MAX_ERROR`] and
//!   [`FAST_TANH_MAX_ERROR`] (test `fast_error_bounds`, same grid), close to
//!   libm's `f32` rounding and a thousand times below micromath's.
//!   Both functions are always compiled, so they can be called directly.
//!
//! Derivatives are computed from the activation *values* already produced by
//! a step (`σ' = σ(1-σ)`, `tanh' = 1 - tanh²`), so a Jacobian never
//! re-evaluates a transcendental function. With the `micromath` or
//! `fast-activations` feature the Jacobian is therefore that of the exact
//! functions evaluated at the approximate values.

use crate::real::Real;

/// Maximum absolute error of the `micromath` `f32` sigmoid against libm,
/// over `[-20, 20]`.
pub const MICROMATH_SIGMOID_MAX_ERROR: f32 = 6.0e-4;
/// Maximum absolute error of the `micromath` `f32` tanh against libm,
/// over `[-20, 20]`.
pub const MICROMATH_TANH_MAX_ERROR: f32 = 1.2e-3;

/// Maximum absolute error of [`fast_sigmoid`] against the `f64` sigmoid
/// over `[-20, 20]` (measured 9.4e-8 at grid step 1e-4; the libm `f32`
/// sigmoid stays below 1.2e-7 on the same grid).
pub const FAST_SIGMOID_MAX_ERROR: f32 = 1.5e-7;
/// Maximum absolute error of [`fast_tanh`] against the `f64` tanh over
/// `[-20, 20]` (measured 1.42e-7; libm's `tanhf` stays below 1.2e-7).
pub const FAST_TANH_MAX_ERROR: f32 = 2.5e-7;

/// `2^-t` for `t ≥ 0` (NaN propagates), relative error below 3e-7: `t` is
/// split as `k + f` with `k` the nearest integer (by the `1.5·2²³` rounding
/// trick, no conversion instruction) and `|f| ≤ 1/2`; `2^-f` is the degree-6
/// Taylor polynomial of `e^{-f ln 2}` (truncation `(ln2/2)⁷/7! = 1.2e-7`),
/// and `2^-k` is written into the exponent bits. `t` is capped at 126, where
/// `2^-t` is already far below any error that matters to σ or tanh.
#[inline(always)]
fn exp2_neg(t: f32) -> f32 {
    // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer
    const ROUND: f32 = 12_582_912.0;
    // Taylor coefficients (ln 2)^k / k! with alternating signs, k = 6..1.
    const C: [f32; 6] = [
        1.540_353e-4,
        -1.333_355_8e-3,
        9.618_129e-3,
        -5.550_411e-2,
        2.402_265e-1,
        -6.931_472e-1,
    ];
    let t = if t > 126.0 { 126.0 } else { t };
    let shifted = t + ROUND;
    let k = shifted.to_bits().wrapping_sub(ROUND.to_bits()); // round(t)
    let f = t - (shifted - ROUND);
    let mut p = C[0];
    for &c in &C[1..] {
        p = p * f + c;
    }
    p = p * f + 1.0;
    let scale = f32::from_bits(127u32.wrapping_sub(k) << 23);
    p * scale
}

/// Fast `f32` logistic sigmoid: `1/(1 + 2^{-|x| log₂e})`, mirrored for
/// `x < 0`. Maximum absolute error [`FAST_SIGMOID_MAX_ERROR`]; NaN in, NaN
/// out; ±∞ give 1 and 0.
#[inline]
pub fn fast_sigmoid(x: f32) -> f32 {
    let s = 1.0 / (1.0 + exp2_neg(libm::fabsf(x) * core::f32::consts::LOG2_E));
    if x < 0.0 {
        1.0 - s
    } else {
        s
    }
}

/// Fast `f32` tanh: `(1 - e)/(1 + e)` with `e = e^{-2|x|}`, signed. Maximum
/// absolute error [`FAST_TANH_MAX_ERROR`]; NaN in, NaN out; ±∞ give ±1.
#[inline]
pub fn fast_tanh(x: f32) -> f32 {
    let e = exp2_neg(libm::fabsf(x) * (2.0 * core::f32::consts::LOG2_E));
    let t = (1.0 - e) / (1.0 + e);
    if x < 0.0 {
        -t
    } else {
        t
    }
}

/// The nonlinearity `φ` of the candidate state (GRU) or of the cell input and
/// cell output (LSTM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `φ(x) = tanh(x)`.
    #[default]
    Tanh,
    /// `φ(x) = clamp(x, -1, 1)`; `φ'(x) = 1` for `|x| < 1`, `0` otherwise.
    HardTanh,
}

impl Activation {
    /// `φ(x)`.
    #[inline]
    pub fn apply<F: Real>(self, x: F) -> F {
        match self {
            Activation::Tanh => x.tanh_fn(),
            Activation::HardTanh => x.max(-F::ONE).min(F::ONE),
        }
    }

    /// `φ'(x)` given the pre-activation `x` and the value `y = φ(x)`.
    #[inline]
    pub fn derivative<F: Real>(self, x: F, y: F) -> F {
        match self {
            Activation::Tanh => F::ONE - y * y,
            Activation::HardTanh => {
                if x.abs() < F::ONE {
                    F::ONE
                } else {
                    F::ZERO
                }
            }
        }
    }
}

/// The logistic sigmoid `σ(x) = 1/(1+e^{-x})`, written so that neither branch
/// overflows.
#[inline]
pub fn sigmoid<F: Real>(x: F) -> F {
    x.sigmoid()
}

/// `σ'` from the value `s = σ(x)`: `s (1 - s)`.
#[inline]
pub fn sigmoid_derivative<F: Real>(s: F) -> F {
    s * (F::ONE - s)
}

#[inline]
pub(crate) fn sigmoid_with<F: Real>(x: F, exp: impl Fn(F) -> F) -> F {
    if x >= F::ZERO {
        F::ONE / (F::ONE + exp(-x))
    } else {
        let e = exp(x);
        e / (F::ONE + e)
    }
}

#[inline]
pub(crate) fn sigmoid_f64(x: f64) -> f64 {
    sigmoid_with(x, libm::exp)
}

#[cfg(feature = "fast-activations")]
pub(crate) use {fast_sigmoid as sigmoid_f32, fast_tanh as tanh_f32};

#[cfg(not(any(feature = "micromath", feature = "fast-activations")))]
#[inline]
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    sigmoid_with(x, libm::expf)
}

#[cfg(not(any(feature = "micromath", feature = "fast-activations")))]
#[inline]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    libm::tanhf(x)
}

#[cfg(all(feature = "micromath", not(feature = "fast-activations")))]
#[inline]
fn exp_fast(x: f32) -> f32 {
    micromath::F32(x).exp().0
}

#[cfg(all(feature = "micromath", not(feature = "fast-activations")))]
#[inline]
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    sigmoid_with(x, exp_fast)
}

#[cfg(all(feature = "micromath", not(feature = "fast-activations")))]
#[inline]
pub(crate) fn tanh_f32(x: f32) -> f32 {
    // tanh|x| = (1 - e^{-2|x|}) / (1 + e^{-2|x|}), never overflows.
    let e = exp_fast(-2.0 * libm::fabsf(x));
    let t = (1.0 - e) / (1.0 + e);
    if x < 0.0 {
        -t
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(800.0f64), 1.0);
        assert_eq!(sigmoid(-800.0f64), 0.0);
        assert!((sigmoid(0.0f32) - 0.5).abs() < 1e-7);
        assert!((sigmoid(2.0f64) - 0.880_797_077_977_882_3).abs() < 1e-15);
    }

    #[test]
    fn hard_tanh_clamps_and_has_unit_slope_inside() {
        let a = Activation::HardTanh;
        assert_eq!(a.apply(3.0f64), 1.0);
        assert_eq!(a.apply(-3.0f64), -1.0);
        assert_eq!(a.apply(0.25f64), 0.25);
        assert_eq!(a.derivative(0.25f64, 0.25), 1.0);
        assert_eq!(a.derivative(1.5f64, 1.0), 0.0);
    }

    /// Maximum absolute errors of an `f32` sigmoid and tanh against the
    /// `f64` functions over `[-20, 20]`, step 1e-4.
    fn max_errors(sigmoid: fn(f32) -> f32, tanh: fn(f32) -> f32) -> (f64, f64) {
        let (mut es, mut et) = (0.0f64, 0.0f64);
        let mut x = -20.0f64;
        while x <= 20.0 {
            let xf = x as f32;
            let s_ref = 1.0 / (1.0 + libm::exp(-(xf as f64)));
            let t_ref = libm::tanh(xf as f64);
            es = es.max((sigmoid(xf) as f64 - s_ref).abs());
            et = et.max((tanh(xf) as f64 - t_ref).abs());
            x += 1e-4;
        }
        (es, et)
    }

    /// The documented bounds hold over a dense grid (libm build: exact to
    /// f32 rounding; micromath build: the stated bounds).
    #[test]
    fn micromath_error_bounds() {
        let (es, et) = max_errors(sigmoid_f32, tanh_f32);
        #[cfg(all(feature = "micromath", not(feature = "fast-activations")))]
        {
            assert!(
                es <= MICROMATH_SIGMOID_MAX_ERROR as f64,
                "sigmoid error {es:e}"
            );
            assert!(et <= MICROMATH_TANH_MAX_ERROR as f64, "tanh error {et:e}");
            // The bounds are tight: within a factor 2 of what was measured.
            assert!(
                es > MICROMATH_SIGMOID_MAX_ERROR as f64 / 2.0,
                "sigmoid error {es:e}"
            );
            assert!(
                et > MICROMATH_TANH_MAX_ERROR as f64 / 2.0,
                "tanh error {et:e}"
            );
        }
        #[cfg(feature = "fast-activations")]
        {
            assert!(es <= FAST_SIGMOID_MAX_ERROR as f64, "sigmoid error {es:e}");
            assert!(et <= FAST_TANH_MAX_ERROR as f64, "tanh error {et:e}");
        }
        #[cfg(not(any(feature = "micromath", feature = "fast-activations")))]
        {
            assert!(es <= 1.2e-7, "sigmoid error {es:e}");
            assert!(et <= 1.2e-7, "tanh error {et:e}");
        }
    }

    /// The fast functions' documented bounds hold over the same grid, are
    /// tight (within a factor 2 of what is measured), and the special
    /// values behave: NaN propagates, ±∞ and huge arguments saturate.
    #[test]
    fn fast_error_bounds() {
        let (es, et) = max_errors(fast_sigmoid, fast_tanh);
        assert!(es <= FAST_SIGMOID_MAX_ERROR as f64, "sigmoid error {es:e}");
        assert!(et <= FAST_TANH_MAX_ERROR as f64, "tanh error {et:e}");
        assert!(
            es > FAST_SIGMOID_MAX_ERROR as f64 / 2.0,
            "sigmoid error {es:e}"
        );
        assert!(et > FAST_TANH_MAX_ERROR as f64 / 2.0, "tanh error {et:e}");
        assert!(fast_sigmoid(f32::NAN).is_nan() && fast_tanh(f32::NAN).is_nan());
        assert_eq!(fast_sigmoid(f32::INFINITY), 1.0);
        assert_eq!(fast_sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(fast_tanh(f32::INFINITY), 1.0);
        assert_eq!(fast_tanh(-1e30), -1.0);
        assert_eq!(fast_sigmoid(0.0), 0.5);
        assert_eq!(fast_tanh(0.0), 0.0);
        // The exponent trick across the whole range of k (t up to 126).
        for k in 0..126 {
            let t = k as f32 + 0.25;
            let exact = libm::exp2(-(t as f64));
            let rel = (exp2_neg(t) as f64 - exact).abs() / exact;
            assert!(rel < 3e-7, "2^-{t}: relative error {rel:e}");
        }
    }
}
