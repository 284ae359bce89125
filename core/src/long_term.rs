//! The long-term Jacobian at the GRU's zero fixed point (docs/THEORY.md
//! §11; the paper's Appendix F): the mean squared singular value
//! `m(T) = (1/N) E‖J^T‖²_F` of the `T`-step Jacobian at large `N`, and its
//! `2T`-th root, which tends to the spectral radius (Gelfand's formula).
//!
//! Two cases, both with `J` at `h = 0` and a Ginibre `G` (entries of
//! variance `1/N`):
//!
//! * **constant update gate** (`σ_z = 0`, or zero biases): `J = a I + c G`,
//!   `a = 1 − z₀`, `c = z₀ r₀ φ'(0) σ_h`, and
//!   `m(T) = Σ_{k=0..T} C(T,k)² a^{2(T−k)} c^{2k}` → root `a + c`;
//! * **binary update gate** (`z_i ∈ {0, 1}`, a fraction `p` of ones):
//!   `J = (I − Z) + c Z G` with `Z = diag(z)`, `c = r₀ φ'(0) σ_h`, and
//!   `m(T) = (1 − p) Σ_{k=0..T−1} (c² p)^k + (c² p)^T` → root
//!   `max(1, c √p)`.
//!
//! Both are returned as `ln m(T)` (log-sum-exp: no overflow at large `T`).

use crate::error::Error;
use crate::real::Real;

fn ln(x: f64) -> f64 {
    Real::ln(x)
}

fn exp(x: f64) -> f64 {
    Real::exp(x)
}

/// Largest `T` accepted (the sums have `T + 1` terms).
pub const MAX_STEPS: u32 = 1_000_000;

fn check(t: u32, values: &[(&'static str, f64)]) -> Result<(), Error> {
    if t == 0 || t > MAX_STEPS {
        return Err(Error::InvalidParameter { name: "steps" });
    }
    for &(name, v) in values {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::InvalidParameter { name });
        }
    }
    Ok(())
}

/// `ln Σ exp(x_k)` of the terms `term(k)`, `k = 0..count` (terms `−∞`
/// allowed).
fn log_sum_exp(count: u32, term: impl Fn(u32) -> f64) -> f64 {
    let mut hi = f64::NEG_INFINITY;
    for k in 0..count {
        hi = hi.max(term(k));
    }
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    let mut s = 0.0;
    for k in 0..count {
        s += exp(term(k) - hi);
    }
    hi + ln(s)
}

/// `ln x`, `−∞` at 0.
fn ln0(x: f64) -> f64 {
    if x == 0.0 {
        f64::NEG_INFINITY
    } else {
        ln(x)
    }
}

/// `ln m(T)` for the constant update gate, `J = a I + c G` (`a, c ≥ 0`).
///
/// ```
/// use gatedyn::long_term::constant_gate_log_msv;
/// // T = 1: a² + c²
/// let m1 = constant_gate_log_msv(0.5, 0.45, 1).unwrap().exp();
/// assert!((m1 - (0.25 + 0.2025)).abs() < 1e-15);
/// // the 2T-th root tends to a + c
/// let root = (constant_gate_log_msv(0.5, 0.45, 100_000).unwrap() / 200_000.0).exp();
/// assert!((root - 0.95).abs() < 1e-4);
/// ```
pub fn constant_gate_log_msv(a: f64, c: f64, t: u32) -> Result<f64, Error> {
    check(t, &[("a", a), ("c", c)])?;
    let (la, lc) = (ln0(a), ln0(c));
    let tf = t as f64;
    // ln C(T, k) = ln T! − ln k! − ln (T − k)!
    let ln_binomial =
        |k: f64| libm::lgamma(tf + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(tf - k + 1.0);
    Ok(log_sum_exp(t + 1, |k| {
        let k = k as f64;
        2.0 * ln_binomial(k) + times(2.0 * (tf - k), la) + times(2.0 * k, lc)
    }))
}

/// `n · ln x` with `0 · (−∞) = 0` (the term `a⁰` or `c⁰` when `a` or `c`
/// is zero).
fn times(n: f64, log: f64) -> f64 {
    if n == 0.0 {
        0.0
    } else {
        n * log
    }
}

/// `ln m(T)` for the binary update gate: a fraction `p` of units with
/// `z = 1` (`J` rows `c G`), the rest `z = 0` (rows of the identity).
///
/// ```
/// use gatedyn::long_term::binary_gate_log_msv;
/// // T = 1: (1 − p) + c² p
/// let m1 = binary_gate_log_msv(0.5, 0.9, 1).unwrap().exp();
/// assert!((m1 - (0.5 + 0.405)).abs() < 1e-15);
/// // c²p < 1: m(T) → (1 − p)/(1 − c²p), the root → 1
/// let m = binary_gate_log_msv(0.5, 0.9, 10_000).unwrap().exp();
/// assert!((m - 0.5 / (1.0 - 0.405)).abs() < 1e-12);
/// ```
pub fn binary_gate_log_msv(p: f64, c: f64, t: u32) -> Result<f64, Error> {
    check(t, &[("p", p), ("c", c)])?;
    if p > 1.0 {
        return Err(Error::InvalidParameter { name: "p" });
    }
    let lq = ln0(c * c) + ln0(p);
    let head = ln0(1.0 - p) + log_sum_exp(t, |k| times(k as f64, lq));
    let tail = times(t as f64, lq);
    let hi = head.max(tail);
    if hi == f64::NEG_INFINITY {
        return Ok(hi);
    }
    Ok(hi + ln(exp(head - hi) + exp(tail - hi)))
}

/// The `T → ∞` limit of `m(T)^{1/(2T)}`: the spectral radius of `J`,
/// `a + c` (constant gate).
pub fn constant_gate_limit(a: f64, c: f64) -> f64 {
    a + c
}

/// The same for the binary gate, `max(1, c √p)` (the identity rows give
/// eigenvalues at 1, the `pN × pN` block `c G` a disk of radius `c √p`).
pub fn binary_gate_limit(p: f64, c: f64) -> f64 {
    (c * Real::sqrt(p)).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums against term-by-term evaluation with exact binomials.
    #[test]
    fn sums_match_direct_evaluation() {
        let binom = |t: u32, k: u32| -> f64 {
            let mut b = 1.0;
            for j in 0..k {
                b = b * (t - j) as f64 / (j + 1) as f64;
            }
            b
        };
        for &(a, c) in &[(0.5f64, 0.45f64), (0.2, 1.3), (1.0, 0.0), (0.0, 0.7)] {
            for t in [1u32, 2, 7, 20] {
                let direct: f64 = (0..=t)
                    .map(|k| {
                        binom(t, k).powi(2) * a.powi(2 * (t - k) as i32) * c.powi(2 * k as i32)
                    })
                    .sum();
                let m = constant_gate_log_msv(a, c, t).unwrap().exp();
                assert!(
                    (m - direct).abs() <= 1e-12 * direct,
                    "{a} {c} {t}: {m} {direct}"
                );
            }
        }
        for &(p, c) in &[(0.5, 0.9), (0.3, 2.0), (1.0, 1.1), (0.0, 3.0)] {
            for t in [1u32, 2, 7, 20] {
                let q: f64 = c * c * p;
                let direct =
                    (1.0 - p) * (0..t).map(|k| q.powi(k as i32)).sum::<f64>() + q.powi(t as i32);
                let m = binary_gate_log_msv(p, c, t).unwrap().exp();
                assert!(
                    (m - direct).abs() <= 1e-12 * direct,
                    "{p} {c} {t}: {m} {direct}"
                );
            }
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            constant_gate_log_msv(f64::NAN, 1.0, 3),
            Err(Error::InvalidParameter { name: "a" })
        );
        assert_eq!(
            binary_gate_log_msv(1.5, 1.0, 3),
            Err(Error::InvalidParameter { name: "p" })
        );
        assert_eq!(
            constant_gate_log_msv(0.5, 0.5, 0),
            Err(Error::InvalidParameter { name: "steps" })
        );
    }
}
