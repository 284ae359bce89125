//! The large-N spectral support of the Jacobian from a state (docs/THEORY.md §4).
//!
//! Only the per-unit statistics of the state enter, so the same code applies
//! to a fixed point, a transient or a chaotic state. Everything is `O(N)` per
//! evaluated `λ`, in `f64`, without allocation: the supports borrow the state
//! and the trace of the step taken from it.
//!
//! * [`GruSupport`]: `λ` is in the support iff `ρ(K(λ)) ≥ 1` for the 2×2
//!   non-negative matrix `K(λ)`.
//! * [`LstmSupport`]: `λ ≠ 0` is in the support iff the support function
//!   `S(λ) = σ_o² ⟨(φ(c')σ'(a_o))²⟩/|λ|² + ⟨(oφ'(c'))² Q/|λ−f|²⟩ ≥ 1`.
//!
//! Both implement [`Support`], whose `level(λ)` is `≥ 1` exactly inside; the
//! functions [`boundary_radius`] and [`predicted_radius`] work on any
//! [`Support`].

use crate::activation::{sigmoid_derivative, Activation};
use crate::complex::Complex;
use crate::error::{check_len, check_scale, Error};
use crate::gru::GruTraceRef;
use crate::lstm::LstmTraceRef;
use crate::maximize::grid_golden_max;
use crate::real::Real;
use core::marker::PhantomData;

/// A spectral support given by a level function: `λ` is inside iff
/// `level(λ) ≥ 1`. The level is symmetric under `λ → λ̄`.
pub trait Support {
    /// The level at `λ` (`+∞` on a pole).
    fn level(&self, lambda: Complex) -> f64;
    /// Whether `λ` lies in the support.
    fn contains(&self, lambda: Complex) -> bool {
        self.level(lambda) >= 1.0
    }
}

/// Gate scales of a GRU (standard-deviation scales of docs/THEORY.md §1).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GruSigmas {
    /// `σ_z`.
    pub z: f64,
    /// `σ_r`.
    pub r: f64,
    /// `σ_h`.
    pub h: f64,
}

/// Gate scales of an LSTM.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LstmSigmas {
    /// `σ_f`.
    pub f: f64,
    /// `σ_i`.
    pub i: f64,
    /// `σ_o`.
    pub o: f64,
    /// `σ_c`.
    pub c: f64,
}

/// The GRU support at a state: per unit `g = 1/(λ−1+z)`, `A = zφ'(a_h)`,
/// `B = r`, `E = hσ'(a_r)`, `F = (h̃−h)σ'(a_z)`, and
///
/// ```text
/// K(λ) = [ σ_z²⟨F²|g|²⟩   σ_z²⟨F²B²|g|²⟩ + σ_r²⟨E²⟩ ]
///        [ σ_h²⟨A²|g|²⟩   σ_h²⟨A²B²|g|²⟩            ]
/// ```
///
/// `P` is the precision of the level's sums over units: `f64` by default
/// ([`GruSupport::new`]); `f32` ([`GruSupport::with_precision`]) is for
/// cores whose FPU has no `f64`, where it is about fifty times cheaper.
#[derive(Debug, Clone, Copy)]
pub struct GruSupport<'a, F, P = f64> {
    h: &'a [F],
    trace: GruTraceRef<'a, F>,
    activation: Activation,
    sigma: GruSigmas,
    e2: f64,
    precision: PhantomData<P>,
}

impl<'a, F: Real> GruSupport<'a, F> {
    /// The support at the state `h` that produced `trace`, level in `f64`.
    pub fn new(
        sigma: GruSigmas,
        activation: Activation,
        h: &'a [F],
        trace: GruTraceRef<'a, F>,
    ) -> Result<Self, Error> {
        Self::with_precision(sigma, activation, h, trace)
    }
}

impl<'a, F: Real, P: Real> GruSupport<'a, F, P> {
    /// The support at the state `h` that produced `trace`, with the level
    /// summed in `P` (`GruSupport::<f32, f32>::with_precision(…)` on a
    /// single-precision FPU).
    pub fn with_precision(
        sigma: GruSigmas,
        activation: Activation,
        h: &'a [F],
        trace: GruTraceRef<'a, F>,
    ) -> Result<Self, Error> {
        check_scale(sigma.z, "sigma_z")?;
        check_scale(sigma.r, "sigma_r")?;
        check_scale(sigma.h, "sigma_h")?;
        let n = h.len();
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        for s in [trace.z, trace.r, trace.candidate, trace.a_h] {
            check_len(s.len(), n)?;
        }
        let e2 = mean(n, |i| {
            let e = h[i].to_f64() * sigmoid_derivative(trace.r[i].to_f64());
            e * e
        });
        Ok(GruSupport {
            h,
            trace,
            activation,
            sigma,
            e2,
            precision: PhantomData,
        })
    }

    /// `K(λ)` (row-major 2×2).
    pub fn k_matrix(&self, lambda: Complex) -> [[f64; 2]; 2] {
        self.k_in(lambda).map(|row| row.map(P::to_f64))
    }

    /// [`GruSupport::k_matrix`] in the precision `P`.
    fn k_in(&self, lambda: Complex) -> [[P; 2]; 2] {
        let t = &self.trace;
        let n = self.h.len();
        let (re, im) = (P::from_f64(lambda.re), P::from_f64(lambda.im));
        let (mut f2, mut f2b2, mut a2, mut a2b2) = (P::ZERO, P::ZERO, P::ZERO, P::ZERO);
        for i in 0..n {
            let z: P = cast(t.z[i]);
            let re_g = re - P::ONE + z;
            let d = re_g * re_g + im * im;
            if d == P::ZERO {
                return [[P::from_f64(f64::INFINITY); 2]; 2];
            }
            let g2 = P::ONE / d;
            let a = z * cast::<F, P>(self.activation.derivative(t.a_h[i], t.candidate[i]));
            let b: P = cast(t.r[i]);
            let fz = (cast::<F, P>(t.candidate[i]) - cast(self.h[i])) * sigmoid_derivative(z);
            let (a2g, f2g) = (a * a * g2, fz * fz * g2);
            a2 += a2g;
            a2b2 += a2g * b * b;
            f2 += f2g;
            f2b2 += f2g * b * b;
        }
        let inv = P::ONE / P::from_f64(n as f64);
        let sq = |x: f64| P::from_f64(x * x);
        let (sz, sr, sh) = (sq(self.sigma.z), sq(self.sigma.r), sq(self.sigma.h));
        [
            [sz * f2 * inv, sz * f2b2 * inv + sr * P::from_f64(self.e2)],
            [sh * a2 * inv, sh * a2b2 * inv],
        ]
    }

    /// `⟨E²⟩ = ⟨(h σ'(a_r))²⟩`, the λ-independent entry.
    pub fn mean_e2(&self) -> f64 {
        self.e2
    }
}

impl<F: Real, P: Real> Support for GruSupport<'_, F, P> {
    fn level(&self, lambda: Complex) -> f64 {
        rho2_in(self.k_in(lambda)).to_f64()
    }
}

/// `x` converted to `P` (through `f64`, exact for `f32` to `f32`).
#[inline(always)]
fn cast<F: Real, P: Real>(x: F) -> P {
    P::from_f64(x.to_f64())
}

/// Spectral radius of a non-negative 2×2 matrix.
pub fn rho2(k: [[f64; 2]; 2]) -> f64 {
    rho2_in(k)
}

/// [`rho2`] in any precision.
fn rho2_in<P: Real>(k: [[P; 2]; 2]) -> P {
    let (a, b, c, d) = (k[0][0], k[0][1], k[1][0], k[1][1]);
    if !(a.is_finite() && b.is_finite() && c.is_finite() && d.is_finite()) {
        return P::from_f64(f64::INFINITY);
    }
    let disc = (a - d) * (a - d) + P::from_f64(4.0) * b * c;
    P::HALF * (a + d + disc.max(P::ZERO).sqrt())
}

/// The LSTM support at a state (`c` the cell state before the step):
/// `S(λ) = σ_o²⟨(φ(c')σ'(a_o))²⟩/|λ|² + ⟨(oφ'(c'))² Q/|λ−f|²⟩` with
/// `Q = σ_f²(cσ'(a_f))² + σ_i²(gσ'(a_i))² + σ_c²(iφ'(a_c))²`.
///
/// `P` is the precision of the level's sum over units, as for
/// [`GruSupport`].
#[derive(Debug, Clone, Copy)]
pub struct LstmSupport<'a, F, P = f64> {
    c: &'a [F],
    trace: LstmTraceRef<'a, F>,
    activation: Activation,
    sigma: LstmSigmas,
    out_coef: f64,
    precision: PhantomData<P>,
}

impl<'a, F: Real> LstmSupport<'a, F> {
    /// The support at the cell state `c` that produced `trace`, level in
    /// `f64`.
    pub fn new(
        sigma: LstmSigmas,
        activation: Activation,
        c: &'a [F],
        trace: LstmTraceRef<'a, F>,
    ) -> Result<Self, Error> {
        Self::with_precision(sigma, activation, c, trace)
    }
}

impl<'a, F: Real, P: Real> LstmSupport<'a, F, P> {
    /// The support at the state with cell state `c` that produced `trace`.
    pub fn with_precision(
        sigma: LstmSigmas,
        activation: Activation,
        c: &'a [F],
        trace: LstmTraceRef<'a, F>,
    ) -> Result<Self, Error> {
        for (s, name) in [
            (sigma.f, "sigma_f"),
            (sigma.i, "sigma_i"),
            (sigma.o, "sigma_o"),
            (sigma.c, "sigma_c"),
        ] {
            check_scale(s, name)?;
        }
        let n = c.len();
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        for s in [
            trace.f,
            trace.i,
            trace.o,
            trace.g,
            trace.a_c,
            trace.c_next,
            trace.c_act,
        ] {
            check_len(s.len(), n)?;
        }
        let out_coef = sq(sigma.o)
            * mean(n, |k| {
                let v = trace.c_act[k].to_f64() * sigmoid_derivative(trace.o[k].to_f64());
                v * v
            });
        Ok(LstmSupport {
            c,
            trace,
            activation,
            sigma,
            out_coef,
            precision: PhantomData,
        })
    }

    /// Per-unit `(f, (oφ'(c'))² Q)`.
    #[inline]
    fn unit(&self, k: usize) -> (P, P) {
        let t = &self.trace;
        let act = self.activation;
        let (f, i, o, g): (P, P, P, P) = (cast(t.f[k]), cast(t.i[k]), cast(t.o[k]), cast(t.g[k]));
        let cf = cast::<F, P>(self.c[k]) * sigmoid_derivative(f);
        let gi = g * sigmoid_derivative(i);
        let ic = i * cast::<F, P>(act.derivative(t.a_c[k], t.g[k]));
        let sq = |x: f64| P::from_f64(x * x);
        let q =
            sq(self.sigma.f) * cf * cf + sq(self.sigma.i) * gi * gi + sq(self.sigma.c) * ic * ic;
        let hc = o * cast::<F, P>(act.derivative(t.c_next[k], t.c_act[k]));
        (f, hc * hc * q)
    }
}

impl<F: Real, P: Real> Support for LstmSupport<'_, F, P> {
    fn level(&self, lambda: Complex) -> f64 {
        let l2 = lambda.norm_sqr();
        if l2 == 0.0 {
            return f64::INFINITY;
        }
        let (re, im) = (P::from_f64(lambda.re), P::from_f64(lambda.im));
        let n = self.c.len();
        let mut acc = P::ZERO;
        for k in 0..n {
            let (f, w) = self.unit(k);
            let re_f = re - f;
            let d = re_f * re_f + im * im;
            if d == P::ZERO {
                if w > P::ZERO {
                    return f64::INFINITY;
                }
                continue;
            }
            acc += w / d;
        }
        self.out_coef / l2 + (acc / P::from_f64(n as f64)).to_f64()
    }
}

#[inline]
fn sq(x: f64) -> f64 {
    x * x
}

fn mean(n: usize, f: impl Fn(usize) -> f64) -> f64 {
    (0..n).map(f).sum::<f64>() / n as f64
}

/// Resolution of the boundary searches.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CurveOptions {
    /// Rays in `[0, π]` for the radius search (the support is symmetric).
    pub angles: usize,
    /// Grid points of the radial scan along a ray (from the outside in).
    pub radial_steps: usize,
    /// Bisection steps refining a crossing.
    pub bisections: usize,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            angles: 181,
            radial_steps: 400,
            bisections: 50,
        }
    }
}

impl CurveOptions {
    /// A lighter setting for microcontrollers (33 rays, 100 radial steps).
    pub const fn coarse() -> Self {
        CurveOptions {
            angles: 33,
            radial_steps: 100,
            bisections: 40,
        }
    }

    /// The device setting: 17 angles, 24 radial steps, 24 bisections.
    /// With a support summed in `f32` ([`GruSupport::with_precision`]) the
    /// predicted radius costs about 6·10⁶ instructions at N = 32 on a
    /// Cortex-M4F; it misses boundary features thinner than `r_max/24`
    /// along a ray (as any scan does at its step) and agrees with the
    /// accurate `f64` radius ([`CurveOptions::default`]) to 1e-6 relative
    /// on the test states (measured 5.5e-8; test `device_curve_agrees` in
    /// `core/tests/device_theory.rs`).
    pub const fn device() -> Self {
        CurveOptions {
            angles: 17,
            radial_steps: 24,
            bisections: 24,
        }
    }
}

/// An `r_max` with `level(r e^{iθ}) < 1` for `r ≥ r_max` on 64 probe rays:
/// doubling from 2 until the level is below 1/2 everywhere on the circle.
pub fn outer_bound<S: Support>(s: &S) -> Result<f64, Error> {
    let mut r = 2.0;
    for _ in 0..40 {
        let worst = (0..=64)
            .map(|k| {
                s.level(Complex::from_polar(
                    r,
                    core::f64::consts::PI * k as f64 / 64.0,
                ))
            })
            .fold(0.0, f64::max);
        if worst < 0.5 {
            return Ok(r);
        }
        r *= 2.0;
    }
    Err(Error::NoConvergence {
        iterations: 40,
        last: r,
        residual: f64::NAN,
    })
}

/// The outermost boundary point along the ray `center + r e^{iθ}`,
/// `0 < r ≤ r_max`: the largest `r` with `level ≥ 1`, by a radial scan from
/// `r_max` inwards then bisection. `None` when the ray meets no support.
pub fn boundary_radius<S: Support>(
    s: &S,
    center: Complex,
    theta: f64,
    r_max: f64,
    opts: &CurveOptions,
) -> Option<f64> {
    let dir = Complex::from_polar(1.0, theta);
    let at = |r: f64| s.level(center + dir.scale(r));
    let steps = opts.radial_steps.max(2);
    let mut outside = r_max;
    for k in (0..steps).rev() {
        let r = r_max * k as f64 / steps as f64;
        if at(r) >= 1.0 {
            let (mut lo, mut hi) = (r, outside);
            for _ in 0..opts.bisections {
                let mid = 0.5 * (lo + hi);
                if at(mid) >= 1.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return Some(lo);
        }
        outside = r;
    }
    None
}

/// The predicted spectral radius: the largest `|λ|` in the support, with the
/// angle where it is reached. Rays from the origin on a grid of
/// `opts.angles` angles in `[0, π]`, then a golden-section refinement of the
/// best ray's angle (the curve need not be a circle and can be pinched).
pub fn predicted_radius<S: Support>(s: &S, opts: &CurveOptions) -> Result<(f64, f64), Error> {
    let r_max = outer_bound(s)?;
    let na = opts.angles.max(3);
    let radius_at =
        |th: f64| boundary_radius(s, Complex::new(0.0, 0.0), th, r_max, opts).unwrap_or(0.0);
    let (best_th, best) = grid_golden_max(radius_at, 0.0, core::f64::consts::PI, na, 30);
    if best == 0.0 {
        return Err(Error::Infeasible {
            what: "empty support",
        });
    }
    Ok((best, best_th))
}
