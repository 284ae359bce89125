//! Lyapunov exponents of a trajectory (docs/THEORY.md §8): the `k` largest
//! growth rates of perturbations, by repeated Jacobian products on `k`
//! tangent vectors and re-orthonormalisation after every step (the QR or
//! "Benettin" method), with a statistical error from batch means.
//!
//! The dynamics is anything that implements [`TangentDynamics`]: one step
//! of the state, then `J v` for the Jacobian of that step. [`GruTrajectory`]
//! and [`LstmTrajectory`] run a cell over caller-owned buffers (a constant
//! input, possibly empty), so `k = 1` runs on a microcontroller as a chaos
//! monitor: one step, one `J v` and a normalisation per time step.
//!
//! Method. With `Q_t` the orthonormal tangent vectors (`d × k`),
//! `J_t Q_t = Q_{t+1} R_t` (modified Gram-Schmidt, two passes), and
//! `λ_j = (1/T) Σ_t ln R_t[j, j]` over the `T` measured steps after a
//! transient. The sum `Σ_j ln R_t[j, j] = ln |det J_t|` when `k = d`, which
//! the tests use as an exact check. The steps are cut into `batches` equal
//! batches; the error is the standard error of the batch means
//! (`s_b / √B`), valid when a batch is much longer than the correlation
//! time of the stretching rates.
//!
//! A direction the map annihilates (the image of a tangent vector lies in
//! the span of the earlier ones up to rounding, [`ANNIHILATED`]) gives an
//! exponent of `−∞` with error 0, and the vector is replaced by a fresh
//! direction orthogonal to the others.

use crate::error::{check_len, Error, Quantity};
use crate::real::Real;
use crate::{GruRef, GruTraceMut, LstmRef, LstmTraceMut};

/// A map whose state advances in steps and whose step Jacobian can be
/// applied to vectors.
pub trait TangentDynamics<F: Real> {
    /// Dimension `d` of the state (and the tangent space).
    fn dim(&self) -> usize;
    /// Advances the state by one step.
    fn advance(&mut self) -> Result<(), Error>;
    /// `out = J v` for the Jacobian of the last step (taken at the state
    /// before it).
    fn tangent(&mut self, v: &[F], out: &mut [F]) -> Result<(), Error>;
    /// Replaces each `d`-long column of `columns` by `J` times it. The
    /// default applies [`TangentDynamics::tangent`] column by column
    /// through `scratch` (`d` long); a host can override it to apply `J`
    /// to the columns in parallel.
    fn tangent_columns(&mut self, columns: &mut [F], scratch: &mut [F]) -> Result<(), Error> {
        let d = self.dim();
        for col in columns.chunks_exact_mut(d) {
            self.tangent(col, scratch)?;
            col.copy_from_slice(scratch);
        }
        Ok(())
    }
    /// Orthonormalises the `k` columns of `columns` in place (a QR
    /// factorisation: `Q` overwrites them) and writes the growth `|R_jj|`
    /// of each into `growth[j]` (`k` long), 0 where the column lay in the
    /// span of the earlier ones (less than [`ANNIHILATED`] of its length
    /// left). Returns `Ok(false)`, the default, to let
    /// [`lyapunov_spectrum`] use its modified Gram–Schmidt; a host can
    /// return `Ok(true)` after a blocked Householder QR, which costs the
    /// same `O(k² d)` but runs at matrix-product speed.
    fn orthonormalize(&mut self, _columns: &mut [F], _growth: &mut [F]) -> Result<bool, Error> {
        Ok(false)
    }
}

/// A GRU trajectory over caller-owned buffers, driven by a constant input.
#[derive(Debug)]
pub struct GruTrajectory<'a, F> {
    net: GruRef<'a, F>,
    input: &'a [F],
    h: &'a mut [F],
    prev: &'a mut [F],
    trace: GruTraceMut<'a, F>,
    scratch: &'a mut [F],
}

impl<'a, F: Real> GruTrajectory<'a, F> {
    /// From the state `h` (advanced in place); `prev` and `scratch` are
    /// `n`-long work buffers, `trace` the step's trace storage.
    pub fn new(
        net: GruRef<'a, F>,
        input: &'a [F],
        h: &'a mut [F],
        prev: &'a mut [F],
        trace: GruTraceMut<'a, F>,
        scratch: &'a mut [F],
    ) -> Result<Self, Error> {
        let n = net.n();
        check_len(input.len(), net.inputs())?;
        check_len(h.len(), n)?;
        check_len(prev.len(), n)?;
        check_len(scratch.len(), n)?;
        Ok(GruTrajectory {
            net,
            input,
            h,
            prev,
            trace,
            scratch,
        })
    }
    /// The current state.
    pub fn state(&self) -> &[F] {
        self.h
    }
}

impl<F: Real> TangentDynamics<F> for GruTrajectory<'_, F> {
    fn dim(&self) -> usize {
        self.net.n()
    }
    fn advance(&mut self) -> Result<(), Error> {
        self.prev.copy_from_slice(self.h);
        self.net
            .step(self.prev, self.input, self.trace.reborrow())?;
        self.h.copy_from_slice(self.trace.next);
        Ok(())
    }
    fn tangent(&mut self, v: &[F], out: &mut [F]) -> Result<(), Error> {
        self.net
            .jvp(self.prev, self.trace.as_ref(), v, out, self.scratch)
    }
}

/// An LSTM trajectory over caller-owned buffers, driven by a constant input.
/// The tangent space is `[h; c]` (`d = 2n`).
#[derive(Debug)]
pub struct LstmTrajectory<'a, F> {
    net: LstmRef<'a, F>,
    input: &'a [F],
    h: &'a mut [F],
    c: &'a mut [F],
    prev_h: &'a mut [F],
    prev_c: &'a mut [F],
    trace: LstmTraceMut<'a, F>,
}

impl<'a, F: Real> LstmTrajectory<'a, F> {
    /// From the state `(h, c)` (advanced in place); `prev_h`, `prev_c` are
    /// `n`-long work buffers, `trace` the step's trace storage.
    pub fn new(
        net: LstmRef<'a, F>,
        input: &'a [F],
        (h, c): (&'a mut [F], &'a mut [F]),
        (prev_h, prev_c): (&'a mut [F], &'a mut [F]),
        trace: LstmTraceMut<'a, F>,
    ) -> Result<Self, Error> {
        let n = net.n();
        check_len(input.len(), net.inputs())?;
        for len in [h.len(), c.len(), prev_h.len(), prev_c.len()] {
            check_len(len, n)?;
        }
        Ok(LstmTrajectory {
            net,
            input,
            h,
            c,
            prev_h,
            prev_c,
            trace,
        })
    }
    /// The current hidden and cell states.
    pub fn state(&self) -> (&[F], &[F]) {
        (self.h, self.c)
    }
}

impl<F: Real> TangentDynamics<F> for LstmTrajectory<'_, F> {
    fn dim(&self) -> usize {
        2 * self.net.n()
    }
    fn advance(&mut self) -> Result<(), Error> {
        self.prev_h.copy_from_slice(self.h);
        self.prev_c.copy_from_slice(self.c);
        self.net
            .step(self.prev_h, self.prev_c, self.input, self.trace.reborrow())?;
        self.h.copy_from_slice(self.trace.h_next);
        self.c.copy_from_slice(self.trace.c_next);
        Ok(())
    }
    fn tangent(&mut self, v: &[F], out: &mut [F]) -> Result<(), Error> {
        self.net
            .jvp(self.prev_h, self.prev_c, self.trace.as_ref(), v, out)
    }
}

/// Settings of [`lyapunov_spectrum`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LyapunovOptions {
    /// Steps run first and not measured (the state reaches its attractor,
    /// the tangent vectors align with the growth directions).
    pub transient: usize,
    /// Steps measured (≥ `batches`; rounded down to a multiple of it).
    pub steps: usize,
    /// Batches for the error estimate (≥ 2).
    pub batches: usize,
    /// Seed of the deterministic initial tangent vectors.
    pub seed: u32,
}

impl Default for LyapunovOptions {
    /// 500 transient steps, 10 000 measured in 20 batches.
    fn default() -> Self {
        LyapunovOptions {
            transient: 500,
            steps: 10_000,
            batches: 20,
            seed: 0x1234_5678,
        }
    }
}

/// What [`lyapunov_spectrum`] did (the exponents and errors are written
/// into the caller's slices).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LyapunovRun {
    /// Steps measured (`batches · ⌊steps / batches⌋`).
    pub steps: usize,
    /// Steps per batch.
    pub batch_len: usize,
    /// Tangent vectors that collapsed to zero and were replaced.
    pub replaced: usize,
}

fn next_uniform(s: &mut u32) -> f64 {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    (*s as f64) / (u32::MAX as f64) - 0.5
}

fn dot<F: Real>(a: &[F], b: &[F]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x.to_f64() * y.to_f64()).sum()
}

/// Orthogonalises column `j` of `q` (columns of length `d`) against columns
/// `0..j`, twice, and returns its norm before normalising it, or 0 when
/// less than [`ANNIHILATED`] of its length is left (it lay in the span of
/// the others up to rounding; then it is left unnormalised).
fn orthogonalize<F: Real>(q: &mut [F], d: usize, j: usize) -> f64 {
    let (done, rest) = q.split_at_mut(j * d);
    let col = &mut rest[..d];
    let before = libm::sqrt(dot(col, col));
    for _pass in 0..2 {
        for i in 0..j {
            let qi = &done[i * d..(i + 1) * d];
            let p = dot(qi, col);
            for (x, &y) in col.iter_mut().zip(qi) {
                *x = F::from_f64(x.to_f64() - p * y.to_f64());
            }
        }
    }
    // the first column has nothing to be orthogonalised against: its norm
    // is `before` (the same value; on a core without an `f64` FPU the
    // second dot product would cost a third of a monitored step)
    let norm = if j == 0 {
        before
    } else {
        libm::sqrt(dot(col, col))
    };
    if !norm.is_finite() || !before.is_finite() {
        return f64::INFINITY;
    }
    if norm <= ANNIHILATED * before {
        return 0.0;
    }
    let inv = 1.0 / norm;
    for x in col.iter_mut() {
        *x = F::from_f64(x.to_f64() * inv);
    }
    norm
}

/// The share of a tangent vector's image below which the image counts as
/// lying in the span of the earlier vectors (the map annihilated that
/// direction up to rounding): `1e-12`, a thousand times `f64` rounding of
/// the projections.
pub const ANNIHILATED: f64 = 1e-12;

/// Fills column `j` with a fresh direction orthogonal to columns `0..j`
/// (at most 8 draws; the space has room since `j < d`).
fn fresh_direction<F: Real>(q: &mut [F], d: usize, j: usize, seed: &mut u32) -> Result<(), Error> {
    for _ in 0..8 {
        for x in q[j * d..(j + 1) * d].iter_mut() {
            *x = F::from_f64(next_uniform(seed));
        }
        let norm = orthogonalize(q, d, j);
        if norm > 1e-8 && norm.is_finite() {
            return Ok(());
        }
    }
    Err(Error::NoConvergence {
        iterations: 8,
        last: f64::NAN,
        residual: f64::NAN,
    })
}

/// The `k = exponents.len()` largest Lyapunov exponents of `sys` from its
/// current state, with their standard errors (see the module docs).
///
/// Buffers: `tangent` holds `k·d` scalars (the tangent vectors, column by
/// column; on return the orthonormal growth directions), `scratch` `d`,
/// `batch` `k` (work); `exponents` and `errors` receive `k` values each,
/// in the order of the QR columns (descending in the limit of long runs).
/// `progress(done, total)` is called after each batch.
///
/// Errors: `InvalidParameter` (`k` = 0 or > d, `batches` < 2, `steps` <
/// `batches`), `DimensionMismatch`/`WorkspaceTooSmall` for buffer sizes,
/// `NonFinite` when a tangent vector overflows, and the dynamics' errors.
/// Cost per step: one `advance`, `k` products `J v` and `O(k² d)`.
pub fn lyapunov_spectrum<F: Real, D: TangentDynamics<F>>(
    sys: &mut D,
    opts: &LyapunovOptions,
    tangent: &mut [F],
    scratch: &mut [F],
    batch: &mut [f64],
    exponents: &mut [f64],
    errors: &mut [f64],
    mut progress: impl FnMut(usize, usize),
) -> Result<LyapunovRun, Error> {
    let d = sys.dim();
    let k = exponents.len();
    if k == 0 || k > d {
        return Err(Error::InvalidParameter { name: "k" });
    }
    if opts.batches < 2 {
        return Err(Error::InvalidParameter { name: "batches" });
    }
    if opts.steps < opts.batches {
        return Err(Error::InvalidParameter { name: "steps" });
    }
    check_len(errors.len(), k)?;
    check_len(batch.len(), k)?;
    check_len(scratch.len(), d)?;
    if tangent.len() < k * d {
        return Err(Error::WorkspaceTooSmall {
            needed: k * d,
            got: tangent.len(),
        });
    }
    let q = &mut tangent[..k * d];
    let mut seed = opts.seed | 1;
    for x in q.iter_mut() {
        *x = F::from_f64(next_uniform(&mut seed));
    }
    for j in 0..k {
        let norm = orthogonalize(q, d, j);
        if !(norm > 1e-8 && norm.is_finite()) {
            fresh_direction(q, d, j, &mut seed)?;
        }
    }
    let batch_len = opts.steps / opts.batches;
    let total = opts.transient + batch_len * opts.batches;
    exponents.fill(0.0);
    errors.fill(0.0);
    batch.fill(0.0);
    let mut replaced = 0;
    for t in 0..total {
        sys.advance()?;
        sys.tangent_columns(q, scratch)?;
        let blocked = sys.orthonormalize(q, &mut scratch[..k])?;
        for j in 0..k {
            let norm = if blocked {
                let g = scratch[j].to_f64();
                if g.is_finite() {
                    g
                } else {
                    f64::INFINITY
                }
            } else {
                orthogonalize(q, d, j)
            };
            if norm == f64::INFINITY {
                return Err(Error::NonFinite {
                    what: Quantity::Result,
                    index: j,
                });
            }
            let log = if norm > 0.0 {
                libm::log(norm)
            } else {
                replaced += 1;
                if !blocked {
                    // a blocked QR's Q column is orthonormal already
                    fresh_direction(q, d, j, &mut seed)?;
                }
                f64::NEG_INFINITY
            };
            if t >= opts.transient {
                batch[j] += log;
            }
        }
        if t >= opts.transient && (t + 1 - opts.transient) % batch_len == 0 {
            // Welford's update of the mean and the sum of squared
            // deviations of the batch means (no cancellation)
            let done = (t + 1 - opts.transient) / batch_len;
            for j in 0..k {
                let x = batch[j] / batch_len as f64;
                batch[j] = 0.0;
                if x == f64::NEG_INFINITY || exponents[j] == f64::NEG_INFINITY {
                    exponents[j] = f64::NEG_INFINITY;
                    continue;
                }
                let delta = x - exponents[j];
                exponents[j] += delta / done as f64;
                errors[j] += delta * (x - exponents[j]);
            }
            progress(done, opts.batches);
        }
    }
    let b = opts.batches as f64;
    for j in 0..k {
        errors[j] = if exponents[j] == f64::NEG_INFINITY {
            0.0
        } else {
            libm::sqrt(errors[j].max(0.0) / (b - 1.0) / b)
        };
    }
    Ok(LyapunovRun {
        steps: batch_len * opts.batches,
        batch_len,
        replaced,
    })
}

/// The Kaplan–Yorke dimension of a spectrum sorted in descending order:
/// `j + (λ₁ + … + λ_j)/|λ_{j+1}|` with `j` the largest index whose partial
/// sum is `≥ 0`; 0 when `λ₁ < 0`, and `k` (a lower bound) when the sum of
/// all `k` given exponents is still `≥ 0`.
pub fn kaplan_yorke_dimension(exponents: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (j, &l) in exponents.iter().enumerate() {
        if sum + l < 0.0 {
            return j as f64 + sum / l.abs();
        }
        sum += l;
    }
    exponents.len() as f64
}
