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

pub use crate::real::{
    fast_sigmoid, fast_tanh, FAST_SIGMOID_MAX_ERROR, FAST_TANH_MAX_ERROR,
    MICROMATH_SIGMOID_MAX_ERROR, MICROMATH_TANH_MAX_ERROR,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::real::{exp2_neg, sigmoid_f32, tanh_f32};

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
