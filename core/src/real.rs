//! The floating-point abstraction: the core is generic over `f32` and `f64`.
//!
//! All transcendental functions come from the pure-Rust [`libm`] crate (never
//! from the platform's C library), so that the same code gives the same bits
//! on x86_64 and on Cortex-M. The activation functions [`Real::sigmoid`] and
//! [`Real::tanh_fn`] of `f32` switch to the `micromath` approximations when
//! that feature is on (see [`crate::activation`] for the error bounds).

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real floating-point scalar: implemented for `f32` and `f64`.
pub trait Real:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 1/2.
    const HALF: Self;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Short name of the type, `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Conversion from `f64` (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Exact widening to `f64`.
    fn to_f64(self) -> f64;
    /// `true` unless NaN or ±∞.
    fn is_finite(self) -> bool;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Square root (libm, correctly rounded).
    fn sqrt(self) -> Self;
    /// `e^x` (libm).
    fn exp(self) -> Self;
    /// Natural logarithm (libm).
    fn ln(self) -> Self;
    /// Hyperbolic tangent: libm, or micromath for `f32` with that feature.
    fn tanh_fn(self) -> Self;
    /// Logistic sigmoid `1/(1+e^{-x})`: libm `exp`, or micromath for `f32`
    /// with that feature. Evaluated in the form that never overflows.
    fn sigmoid(self) -> Self;
    /// The larger of two values (NaN-ignoring as `f64::max`).
    fn max(self, other: Self) -> Self;
    /// The smaller of two values.
    fn min(self, other: Self) -> Self;
}

macro_rules! libm_real {
    ($t:ty, $name:literal, $abs:path, $sqrt:path, $exp:path, $ln:path, $tanh:path, $sigmoid:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            const EPSILON: Self = <$t>::EPSILON;
            const NAME: &'static str = $name;

            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn abs(self) -> Self {
                $abs(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                $sqrt(self)
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline]
            fn tanh_fn(self) -> Self {
                $tanh(self)
            }
            #[inline]
            fn sigmoid(self) -> Self {
                $sigmoid(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
        }
    };
}

libm_real!(
    f32,
    "f32",
    libm::fabsf,
    libm::sqrtf,
    libm::expf,
    libm::logf,
    tanh_f32,
    sigmoid_f32
);
libm_real!(
    f64,
    "f64",
    libm::fabs,
    libm::sqrt,
    libm::exp,
    libm::log,
    libm::tanh,
    sigmoid_f64
);

// The scalar kernels behind `Real::sigmoid` and `Real::tanh_fn` of `f32`
// and `f64`; `crate::activation` re-exports the public ones and the error
// bounds (its module docs say which feature picks which kernel).

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
pub(crate) fn exp2_neg(t: f32) -> f32 {
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
