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
    crate::activation::tanh_f32,
    crate::activation::sigmoid_f32
);
libm_real!(
    f64,
    "f64",
    libm::fabs,
    libm::sqrt,
    libm::exp,
    libm::log,
    libm::tanh,
    crate::activation::sigmoid_f64
);
