//! Matrix-free spectral radius of a Jacobian: a thick-restarted Arnoldi
//! method that uses only products `J v`.
//!
//! Random gated Jacobians are non-normal, their dominant eigenvalue is often
//! a complex pair, and with a large update-gate (or forget-gate) variance
//! many eigenvalues crowd near |λ| = 1, where power iteration stalls. This
//! estimator builds an Arnoldi factorisation `J W_m = W_m G_m + w g_mᵀ` of
//! dimension `m ≤ K`, computes the Ritz values of the small projected matrix
//! `G_m` (`f64`, Hessenberg QR), and restarts by keeping the invariant
//! subspace of the `≈ m/2` Ritz values of largest modulus (real and imaginary
//! parts of their Ritz vectors, so complex pairs stay together): a Krylov–
//! Schur-style thick restart that keeps the information the stalled
//! directions carry.
//!
//! Convergence: the Ritz pair `(θ, x = W_m y)` of largest modulus has
//! residual `‖J x − θ x‖ = |g_mᵀ y|` exactly (for unit `y`); the method stops
//! when `|g_mᵀ y| ≤ tol · |θ|` and reports that relative residual
//! ([`RadiusEstimate::residual`]). Otherwise it returns
//! [`Error::NoConvergence`] with the last radius and residual once the
//! product budget is spent: never a number that did not meet the tolerance.
//!
//! Memory: the caller provides the Krylov basis (`n·(m+1)` scalars, see
//! [`SpectralRadius::basis_len`]); the estimator itself holds six `K×K`
//! `f64` matrices (put it in a `static` on small devices). Cost per restart:
//! `m − k` products `J v` plus `O(n·m²)` for orthogonalisation plus
//! `O(m⁴)` for the small Ritz vectors.

use crate::complex::Complex;
use crate::error::{Error, Quantity};
use crate::gate::dot;
use crate::operator::LinearOperator;
use crate::real::Real;
use crate::small_eigen::{eigenvalues, eigenvector};

/// Settings of [`SpectralRadius::estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArnoldiOptions {
    /// Krylov dimension `m` (6 ≤ m ≤ K); `None` means `K`. Capped at `n`.
    pub krylov_dim: Option<usize>,
    /// Relative residual to reach. Use ≥ 1e-5 for `f32` operators.
    pub tol: f64,
    /// Budget of products `J v`.
    pub max_products: usize,
    /// Seed of the deterministic start vector.
    pub seed: u32,
    /// Also test convergence inside a cycle, every `check_every` products
    /// (`None`: only when the factorisation is full, before each restart).
    /// Each test costs `O(j³)` on the `j×j` projected matrix, so this pays
    /// when a product is expensive (large `n`) and saves the products a
    /// cycle would spend after the estimate has already converged.
    pub check_every: Option<usize>,
}

impl Default for ArnoldiOptions {
    fn default() -> Self {
        ArnoldiOptions {
            krylov_dim: None,
            tol: 1e-8,
            max_products: 5000,
            seed: 0x9E37_79B9,
            check_every: None,
        }
    }
}

/// A converged spectral-radius estimate: the one result type of every
/// Arnoldi method in gatedyn (this single-vector estimator and the host's
/// block method).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RadiusEstimate {
    /// `|θ|`, the spectral-radius estimate.
    pub radius: f64,
    /// The dominant Ritz value `θ` (the member with `Im θ ≥ 0` of a pair).
    pub eigenvalue: Complex,
    /// Relative residual `‖J x − θ x‖ / |θ|` of the Ritz pair.
    pub residual: f64,
    /// Products `J v` spent.
    pub products: usize,
    /// Passes over the operator: equal to `products` for single-vector
    /// Arnoldi; a block method applies it to several vectors per pass.
    pub passes: usize,
    /// Restarts performed.
    pub restarts: usize,
}

/// The estimator, holding its `K×K` working matrices (`K` is the largest
/// Krylov dimension it supports).
///
/// ```
/// use gatedyn::operator::DenseMatrix;
/// use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
/// // a rotation by 90° scaled by 2, plus a small real mode: radius 2
/// let a = [0.0, -2.0, 0.0,  2.0, 0.0, 0.0,  0.0, 0.0, 0.5f64];
/// let mut op = DenseMatrix::new(3, &a)?;
/// let mut est: SpectralRadius<8> = SpectralRadius::new();
/// let mut basis = [0.0f64; 3 * 9];
/// let r = est.estimate(&mut op, &mut basis, &ArnoldiOptions::default())?;
/// assert!((r.radius - 2.0).abs() < 1e-12);
/// # Ok::<(), gatedyn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SpectralRadius<const K: usize> {
    g: [[f64; K]; K],
    g_last: [f64; K],
    work: [[f64; K]; K],
    lu_re: [[f64; K]; K],
    lu_im: [[f64; K]; K],
    q: [[f64; K]; K],
    theta: [Complex; K],
    y: [Complex; K],
}

impl<const K: usize> Default for SpectralRadius<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> SpectralRadius<K> {
    /// A new estimator (all zeros; usable in a `static`).
    pub const fn new() -> Self {
        SpectralRadius {
            g: [[0.0; K]; K],
            g_last: [0.0; K],
            work: [[0.0; K]; K],
            lu_re: [[0.0; K]; K],
            lu_im: [[0.0; K]; K],
            q: [[0.0; K]; K],
            theta: [Complex::new(0.0, 0.0); K],
            y: [Complex::new(0.0, 0.0); K],
        }
    }

    /// Length of the basis workspace for an operator of dimension `n` and
    /// Krylov dimension `m` (`n·(m+1)`).
    pub const fn basis_len(n: usize, m: usize) -> usize {
        n * (m + 1)
    }

    /// The Ritz value of largest modulus of the leading `m×m` block of `g`
    /// (the member with `Im θ ≥ 0` of a pair) and `|y_{m-1}|` of its unit
    /// Ritz vector `y`.
    fn top_ritz(&mut self, m: usize) -> Result<(Complex, f64), Error> {
        for i in 0..m {
            self.work[i][..m].copy_from_slice(&self.g[i][..m]);
        }
        eigenvalues(&mut self.work, m, &mut self.theta)?;
        let mut top = self.theta[0];
        for t in &self.theta[1..m] {
            if t.abs() > top.abs() {
                top = *t;
            }
        }
        if top.im < 0.0 {
            top = top.conj();
        }
        eigenvector(
            &self.g,
            m,
            top,
            &mut self.lu_re,
            &mut self.lu_im,
            &mut self.y,
        );
        Ok((top, self.y[m - 1].abs()))
    }

    /// Estimates the spectral radius of `op` (see the module docs).
    ///
    /// `basis` holds at least `n·(m+1)` scalars. Errors: `InvalidParameter`
    /// for a Krylov dimension outside `6..=K` or a tolerance that is not
    /// positive; `WorkspaceTooSmall`; `NoConvergence` when the budget is
    /// spent; errors of the operator (non-finite products).
    pub fn estimate<F: Real, A: LinearOperator<F>>(
        &mut self,
        op: &mut A,
        basis: &mut [F],
        opts: &ArnoldiOptions,
    ) -> Result<RadiusEstimate, Error> {
        let n = op.dim();
        let mut m = opts.krylov_dim.unwrap_or(K);
        if m > K || m < 6 {
            return Err(Error::InvalidParameter { name: "krylov_dim" });
        }
        if !(opts.tol > 0.0 && opts.tol.is_finite()) {
            return Err(Error::InvalidParameter { name: "tol" });
        }
        if opts.check_every == Some(0) {
            return Err(Error::InvalidParameter {
                name: "check_every",
            });
        }
        if n == 0 {
            return Err(Error::InvalidParameter { name: "n" });
        }
        m = m.min(n);
        let need = Self::basis_len(n, m);
        if basis.len() < need {
            return Err(Error::WorkspaceTooSmall {
                needed: need,
                got: basis.len(),
            });
        }
        let basis = &mut basis[..need];

        // deterministic start vector (xorshift32), normalised
        let mut s = opts.seed | 1;
        for x in basis[..n].iter_mut() {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            *x = F::from_f64((s as f64) / (u32::MAX as f64) - 0.5);
        }
        normalize(&mut basis[..n]);

        for row in self.g.iter_mut() {
            row.fill(0.0);
        }
        self.g_last.fill(0.0);
        let (mut k, mut products, mut restarts) = (0usize, 0usize, 0usize);
        let (mut last_radius, mut last_residual) = (f64::NAN, f64::NAN);
        loop {
            // --- expand the factorisation from k to m columns
            let mut m_eff = m;
            let mut exact = false;
            for j in k..m {
                if products >= opts.max_products {
                    return Err(Error::NoConvergence {
                        iterations: products,
                        last: last_radius,
                        residual: last_residual,
                    });
                }
                let (head, tail) = basis.split_at_mut((j + 1) * n);
                let w = &mut tail[..n];
                op.apply(&head[j * n..], w)?;
                products += 1;
                let norm0 = norm(w);
                for _pass in 0..2 {
                    for i in 0..=j {
                        let vi = &head[i * n..(i + 1) * n];
                        let h = dot(vi, w);
                        for (wk, &vk) in w.iter_mut().zip(vi) {
                            *wk -= h * vk;
                        }
                        self.g[i][j] += h.to_f64();
                    }
                }
                let beta = norm(w);
                if !beta.is_finite() {
                    return Err(Error::NonFinite {
                        what: Quantity::Result,
                        index: j,
                    });
                }
                if beta <= 1e-13 * norm0.max(f64::MIN_POSITIVE) || beta == 0.0 {
                    // invariant subspace: the Ritz values of G are exact
                    m_eff = j + 1;
                    exact = true;
                    break;
                }
                if j + 1 < m {
                    self.g[j + 1][j] = beta;
                } else {
                    self.g_last[j] = beta;
                }
                let inv = F::from_f64(1.0 / beta);
                for wk in w.iter_mut() {
                    *wk *= inv;
                }
                // inside the cycle, J W_{j+1} = W_{j+1} G_{j+1} + β w e_{j+1}ᵀ
                // (rows beyond the restart block are Hessenberg), so a Ritz
                // pair of the leading block has residual β |y_j|
                let test_now = match opts.check_every {
                    Some(every) => j + 1 < m && j + 1 >= 6 && products % every == 0,
                    None => false,
                };
                if test_now {
                    let (top, y_last) = self.top_ritz(j + 1)?;
                    let scale = top.abs().max(f64::MIN_POSITIVE);
                    last_radius = top.abs();
                    last_residual = beta * y_last / scale;
                    if last_residual <= opts.tol {
                        return Ok(RadiusEstimate {
                            radius: top.abs(),
                            eigenvalue: top,
                            residual: last_residual,
                            products,
                            passes: products,
                            restarts,
                        });
                    }
                }
            }
            if exact || m_eff == n {
                self.g_last.fill(0.0);
            }

            // --- Ritz values (sorted by modulus for the restart) and the
            // dominant Ritz vector in `self.y`
            let (top, _) = self.top_ritz(m_eff)?;
            let mut idx = [0usize; K];
            sort_by_modulus(&self.theta, m_eff, &mut idx);
            let mut res = Complex::default();
            for j in 0..m_eff {
                res = res + self.y[j].scale(self.g_last[j]);
            }
            let scale = top.abs().max(f64::MIN_POSITIVE);
            last_radius = top.abs();
            last_residual = res.abs() / scale;
            if last_residual <= opts.tol {
                return Ok(RadiusEstimate {
                    radius: top.abs(),
                    eigenvalue: top,
                    residual: last_residual,
                    products,
                    passes: products,
                    restarts,
                });
            }

            // --- thick restart on the invariant subspace of the wanted half
            restarts += 1;
            let mut wanted = (m / 2).max(1);
            if wanted < m_eff && is_pair(&self.theta, &idx, wanted) {
                wanted += 1;
            }
            let mut cols = 0usize;
            for r in 0..wanted {
                let t = self.theta[idx[r]];
                if t.im < 0.0 && r > 0 && self.theta[idx[r - 1]] == t.conj() {
                    continue; // the partner already contributed both parts
                }
                eigenvector(
                    &self.g,
                    m_eff,
                    t,
                    &mut self.lu_re,
                    &mut self.lu_im,
                    &mut self.y,
                );
                for part in 0..if t.im != 0.0 { 2 } else { 1 } {
                    if cols >= m - 1 {
                        break;
                    }
                    for j in 0..m_eff {
                        self.q[j][cols] = if part == 0 {
                            self.y[j].re
                        } else {
                            self.y[j].im
                        };
                    }
                    if orthonormalize_column(&mut self.q, m_eff, cols) {
                        cols += 1;
                    }
                }
            }
            if cols == 0 {
                return Err(Error::NoConvergence {
                    iterations: products,
                    last: last_radius,
                    residual: last_residual,
                });
            }
            // W_k = W_m Q, row by row
            let mut tmp = [0.0f64; K];
            for i in 0..n {
                for (j, t) in tmp.iter_mut().enumerate().take(m_eff) {
                    *t = basis[j * n + i].to_f64();
                }
                for c in 0..cols {
                    let mut acc = 0.0;
                    for j in 0..m_eff {
                        acc += tmp[j] * self.q[j][c];
                    }
                    basis[c * n + i] = F::from_f64(acc);
                }
            }
            basis.copy_within(m_eff * n..(m_eff + 1) * n, cols * n);
            // G_k = Qᵀ G_m Q, coupling row g_mᵀ Q
            for i in 0..m_eff {
                for c in 0..cols {
                    self.work[i][c] = (0..m_eff).map(|j| self.g[i][j] * self.q[j][c]).sum();
                }
            }
            let mut coupling = [0.0f64; K];
            for (c, cpl) in coupling.iter_mut().enumerate().take(cols) {
                *cpl = (0..m_eff).map(|j| self.g_last[j] * self.q[j][c]).sum();
            }
            for a in 0..cols {
                for b in 0..cols {
                    self.lu_re[a][b] = (0..m_eff).map(|j| self.q[j][a] * self.work[j][b]).sum();
                }
            }
            for row in self.g.iter_mut() {
                row.fill(0.0);
            }
            self.g_last.fill(0.0);
            for a in 0..cols {
                self.g[a][..cols].copy_from_slice(&self.lu_re[a][..cols]);
            }
            self.g[cols][..cols].copy_from_slice(&coupling[..cols]);
            k = cols;
        }
    }
}

fn norm<F: Real>(x: &[F]) -> f64 {
    libm::sqrt(dot(x, x).to_f64())
}

fn normalize<F: Real>(x: &mut [F]) {
    let nrm = norm(x);
    let inv = F::from_f64(1.0 / nrm);
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// Insertion sort of `0..m` by decreasing modulus of `theta`.
fn sort_by_modulus<const K: usize>(theta: &[Complex; K], m: usize, idx: &mut [usize; K]) {
    for (i, v) in idx.iter_mut().enumerate().take(m) {
        *v = i;
    }
    for i in 1..m {
        let mut j = i;
        while j > 0 && theta[idx[j]].abs() > theta[idx[j - 1]].abs() {
            idx.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Whether sorted positions `k-1` and `k` are a complex-conjugate pair.
fn is_pair<const K: usize>(theta: &[Complex; K], idx: &[usize; K], k: usize) -> bool {
    let (a, b) = (theta[idx[k - 1]], theta[idx[k]]);
    a.im != 0.0 && a == b.conj()
}

/// Orthonormalises column `c` of `q` against columns `0..c` (two Gram-Schmidt
/// passes); returns `false` when it is numerically dependent on them.
fn orthonormalize_column<const K: usize>(q: &mut [[f64; K]; K], m: usize, c: usize) -> bool {
    let norm0 = libm::sqrt((0..m).map(|j| q[j][c] * q[j][c]).sum::<f64>());
    if norm0 == 0.0 {
        return false;
    }
    for _ in 0..2 {
        for p in 0..c {
            let h: f64 = (0..m).map(|j| q[j][p] * q[j][c]).sum();
            for row in q.iter_mut().take(m) {
                row[c] -= h * row[p];
            }
        }
    }
    let nrm = libm::sqrt((0..m).map(|j| q[j][c] * q[j][c]).sum::<f64>());
    if nrm <= 1e-8 * norm0 {
        return false;
    }
    for row in q.iter_mut().take(m) {
        row[c] /= nrm;
    }
    true
}
