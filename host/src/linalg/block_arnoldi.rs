//! The spectral radius by a thick-restarted *block* Arnoldi method, for
//! operators whose product is memory-bound.
//!
//! At research sizes a Jacobian product streams all recurrent weights
//! (192 MB in `f32` for a GRU at N = 4000) and does two flops per scalar
//! read; applying it to a block of `b` vectors costs little more than to
//! one (the host's 8-vector kernel in [`crate::linalg::matfree`]). A block Krylov
//! space of `p` passes holds `p·b` directions, and on the crowded spectra of
//! random gated Jacobians it reaches a given residual in about a third of
//! the passes single-vector Arnoldi needs (measured at N = 4000: 80-86
//! passes of 8 against 208-280 products; `examples/arnoldi_vs_dense.rs`).
//!
//! The method keeps `J V_m = V_m H_m + W_b C` (`V_m` orthonormal `d×m`,
//! `W_b` the next orthonormal block, orthogonal to `V_m`). A Ritz pair
//! `(θ, y)` of `H_m` has residual `‖J V_m y − θ V_m y‖ = ‖C y‖` exactly, and
//! the method stops when `‖C y‖ ≤ tol·|θ|` for the Ritz value of largest
//! modulus. Tests cost an eigen-solve of the `m×m` projected matrix, so they
//! are scheduled where the residual, falling about geometrically with the
//! passes, should reach `tol` (at most `check_every` passes apart before
//! the first two tests, at most twice that after). When `m` reaches the maximum it restarts on the real invariant
//! subspace of the `keep` Ritz values of largest modulus (real and
//! imaginary parts of their vectors, orthonormalised): `V_k = V_m Q`,
//! `H_k = Qᵀ H_m Q`, `C ← C Q`, as the core's single-vector estimator does
//! (`gatedyn::spectral_radius`).
//!
//! Blocks are orthogonalised by two passes of block classical Gram-Schmidt
//! (matrix products) and, inside the block, modified Gram-Schmidt; a column
//! that vanishes (the Krylov space became invariant in that direction) is
//! replaced by a deterministic pseudo-random direction with a zero
//! coefficient, which keeps the relation exact.

use crate::HostError;
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use gatedyn::spectral_radius::RadiusEstimate;
use gatedyn::{Complex, Error};

/// An operator applied to blocks of vectors.
pub trait BlockOperator {
    /// Dimension `d` of the square operator.
    fn dim(&self) -> usize;
    /// `y = J x` for `x`, `y` of shape `d × b`.
    fn apply_block(&mut self, x: MatRef<'_, f64>, y: MatMut<'_, f64>) -> Result<(), Error>;
}

/// A dense matrix as a [`BlockOperator`] (tests, small problems).
#[derive(Debug, Clone)]
pub struct DenseBlock(pub Mat<f64>);

impl BlockOperator for DenseBlock {
    fn dim(&self) -> usize {
        self.0.nrows()
    }
    fn apply_block(&mut self, x: MatRef<'_, f64>, y: MatMut<'_, f64>) -> Result<(), Error> {
        matmul(y, Accum::Replace, self.0.as_ref(), x, 1.0, Par::rayon(0));
        Ok(())
    }
}

/// Settings of [`estimate`]. `tol`, `max_products`, `check_every` and
/// `seed` mean what they mean in the core's
/// [`ArnoldiOptions`](gatedyn::spectral_radius::ArnoldiOptions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockOptions {
    /// Vectors per pass `b` (≥ 1).
    pub block: usize,
    /// Largest basis dimension before a restart (≥ 3·block; capped so that
    /// `max_dim + block ≤ d`).
    pub max_dim: usize,
    /// Ritz values kept at a restart (≥ 1; pairs are kept whole).
    pub keep: usize,
    /// Relative residual to reach.
    pub tol: f64,
    /// Passes between convergence tests (each costs an eigen-solve of the
    /// projected `m×m` matrix); `None`: only before each restart.
    pub check_every: Option<usize>,
    /// Budget of products `J v`; a pass spends `block` of them.
    pub max_products: usize,
    /// Seed of the deterministic start block.
    pub seed: u64,
}

impl Default for BlockOptions {
    /// The setting measured best at N = 4000 (chaotic GRU, `f32` weights):
    /// blocks of 8, restart at 384 keeping 40 Ritz values, tests every 8
    /// passes at most (see [`estimate`]).
    fn default() -> Self {
        BlockOptions {
            block: 8,
            max_dim: 384,
            keep: 40,
            tol: 1e-3,
            check_every: Some(8),
            max_products: 16_000,
            seed: 0x5EED,
        }
    }
}

/// xorshift64* in `[-0.5, 0.5)`.
fn next_uniform(s: &mut u64) -> f64 {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    let x = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// Orthonormalises the `b` columns of `w` against the first `m` columns of
/// `v` (two block Gram-Schmidt passes, coefficients added to `coef`, which
/// is `m × b`) and among themselves (modified Gram-Schmidt, upper
/// triangle into `r`, `b × b`). A column that vanishes is replaced by a
/// pseudo-random direction orthogonal to everything, with a zero diagonal
/// coefficient.
fn orthonormalize_block(
    v: MatRef<'_, f64>,
    mut w: MatMut<'_, f64>,
    mut coef: MatMut<'_, f64>,
    mut r: MatMut<'_, f64>,
    seed: &mut u64,
) {
    let b = w.ncols();
    let d = w.nrows();
    let norm0: Vec<f64> = (0..b).map(|j| w.rb().col(j).norm_l2()).collect();
    let project = |mut w: MatMut<'_, f64>, mut coef: MatMut<'_, f64>| {
        for _ in 0..2 {
            let c = v.transpose() * w.rb();
            matmul(w.rb_mut(), Accum::Add, v, c.as_ref(), -1.0, Par::rayon(0));
            for i in 0..c.nrows() {
                for j in 0..c.ncols() {
                    coef[(i, j)] += c[(i, j)];
                }
            }
        }
    };
    project(w.rb_mut(), coef.rb_mut());
    // column j against columns 0..j of the block, two passes; the summed
    // coefficients go to r[0..j, j] when asked
    let within = |mut w: MatMut<'_, f64>, j: usize, mut r: Option<MatMut<'_, f64>>| {
        for _ in 0..2 {
            for i in 0..j {
                let h = w.rb().col(i).transpose() * w.rb().col(j);
                if let Some(r) = r.as_mut() {
                    r[(i, j)] += h;
                }
                for k in 0..d {
                    let wi = w[(k, i)];
                    w[(k, j)] -= h * wi;
                }
            }
        }
    };
    r.fill(0.0);
    for j in 0..b {
        within(w.rb_mut(), j, Some(r.rb_mut()));
        let nrm = w.rb().col(j).norm_l2();
        if nrm > 1e-12 * norm0[j].max(f64::MIN_POSITIVE) && nrm > 0.0 {
            r[(j, j)] = nrm;
            for k in 0..d {
                w[(k, j)] /= nrm;
            }
            continue;
        }
        // invariant direction: a random replacement, zero coefficient
        r[(j, j)] = 0.0;
        for k in 0..d {
            w[(k, j)] = next_uniform(seed);
        }
        let mut dummy = Mat::<f64>::zeros(v.ncols(), 1);
        project(w.rb_mut().subcols_mut(j, 1), dummy.as_mut());
        within(w.rb_mut(), j, None);
        let nrm = w.rb().col(j).norm_l2();
        for k in 0..d {
            w[(k, j)] /= nrm;
        }
    }
}

/// A Ritz value (`Im θ ≥ 0` member of a pair) with the real and imaginary
/// parts of its eigenvector of the projected matrix.
struct RitzPair {
    theta: Complex,
    re: Vec<f64>,
    im: Option<Vec<f64>>,
}

/// Eigenvalues of `h` (real parts, imaginary parts) with faer's real
/// solver on one thread (the projected matrices are small; measured faster
/// than the parallel path up to m = 384), and its right eigenvectors in
/// faer's real format into `vectors` (`m×m`) when given.
fn real_evd(
    h: MatRef<'_, f64>,
    vectors: Option<&mut Mat<f64>>,
) -> Result<(Vec<f64>, Vec<f64>), HostError> {
    use faer::diag::Diag;
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd;
    let m = h.nrows();
    let params: evd::EvdParams = faer::auto!(f64);
    let params = faer::Spec::new(params);
    let want = if vectors.is_some() {
        evd::ComputeEigenvectors::Yes
    } else {
        evd::ComputeEigenvectors::No
    };
    let mut wr = Diag::<f64>::zeros(m);
    let mut wi = Diag::<f64>::zeros(m);
    let mut buf = MemBuffer::new(evd::evd_scratch::<f64>(
        m,
        evd::ComputeEigenvectors::No,
        want,
        Par::Seq,
        params,
    ));
    evd::evd_real(
        h,
        wr.as_mut(),
        wi.as_mut(),
        None,
        vectors.map(|u| u.as_mut()),
        Par::Seq,
        MemStack::new(&mut buf),
        params,
    )
    .map_err(|e| HostError::Eigen(format!("projected matrix: {e:?}")))?;
    let re = (0..m).map(|i| wr[i]).collect();
    let im = (0..m).map(|i| wi[i]).collect();
    Ok((re, im))
}

/// The Ritz pairs of `h` (`m×m`), one per conjugate pair, sorted by
/// decreasing modulus (faer's real format: a pair's vector is columns `i`
/// (real part) and `i + 1` (imaginary part)).
fn ritz(h: MatRef<'_, f64>) -> Result<Vec<RitzPair>, HostError> {
    let m = h.nrows();
    let mut u = Mat::<f64>::zeros(m, m);
    let (wr, wi) = real_evd(h, Some(&mut u))?;
    let col = |j: usize| (0..m).map(|i| u[(i, j)]).collect::<Vec<f64>>();
    let mut out = vec![];
    let mut i = 0;
    while i < m {
        if wi[i] != 0.0 && i + 1 < m {
            let (re, im) = if wi[i] > 0.0 {
                (col(i), col(i + 1))
            } else {
                (col(i), col(i + 1).iter().map(|x| -x).collect())
            };
            out.push(RitzPair {
                theta: Complex::new(wr[i], wi[i].abs()),
                re,
                im: Some(im),
            });
            i += 2;
        } else {
            out.push(RitzPair {
                theta: Complex::new(wr[i], 0.0),
                re: col(i),
                im: None,
            });
            i += 1;
        }
    }
    out.sort_by(|a, b| b.theta.abs().total_cmp(&a.theta.abs()));
    Ok(out)
}

/// The Ritz value of largest modulus of `h` (`m×m`) and its unit Ritz
/// vector: eigenvalues only (faer), then two steps of inverse iteration with
/// a complex LU of `h − θI` (half the cost of all eigenvectors).
fn top_ritz(h: MatRef<'_, f64>) -> Result<(Complex, Vec<faer::c64>), HostError> {
    let m = h.nrows();
    let (wr, wi) = real_evd(h, None)?;
    let t = (0..m)
        .map(|i| faer::c64::new(wr[i], wi[i]))
        .max_by(|a, b| a.norm().total_cmp(&b.norm()))
        .ok_or_else(|| HostError::Eigen("empty projected matrix".into()))?;
    // a shift a hair off θ keeps the factorisation regular
    let shift = faer::c64::new(t.re * (1.0 + 1e-13), t.im * (1.0 + 1e-13));
    let a = Mat::<faer::c64>::from_fn(m, m, |i, j| {
        let v = faer::c64::new(h[(i, j)], 0.0);
        if i == j {
            v - shift
        } else {
            v
        }
    });
    let lu = a.partial_piv_lu();
    let mut y = Mat::<faer::c64>::from_fn(m, 1, |i, _| faer::c64::new(1.0, i as f64 / m as f64));
    for _ in 0..2 {
        lu.solve_in_place(y.as_mut());
        let nrm = y.col(0).norm_l2();
        if !(nrm.is_finite() && nrm > 0.0) {
            return Err(HostError::Eigen(
                "inverse iteration on the projected matrix".into(),
            ));
        }
        for i in 0..m {
            y[(i, 0)] /= faer::c64::new(nrm, 0.0);
        }
    }
    Ok((
        Complex::new(t.re, t.im),
        (0..m).map(|i| y[(i, 0)]).collect(),
    ))
}

/// Estimates the spectral radius of `op` (see the module docs). Errors:
/// `InvalidParameter` for a setting out of range, `NoConvergence` when the
/// product budget is spent (with the last radius and residual), and the
/// operator's errors.
pub fn estimate<A: BlockOperator>(
    op: &mut A,
    opts: &BlockOptions,
) -> Result<RadiusEstimate, HostError> {
    let d = op.dim();
    let b = opts.block;
    let invalid = |name: &'static str| HostError::Core(Error::InvalidParameter { name });
    if b == 0 {
        return Err(invalid("block"));
    }
    if opts.check_every == Some(0) {
        return Err(invalid("check_every"));
    }
    let max_passes = opts.max_products.div_ceil(b);
    if !(opts.tol > 0.0 && opts.tol.is_finite()) {
        return Err(invalid("tol"));
    }
    if opts.keep == 0 {
        return Err(invalid("keep"));
    }
    if d < 4 * b {
        return Err(HostError::BadInput(format!(
            "the block Arnoldi needs a dimension of at least 4·block = {}, got {d}",
            4 * b
        )));
    }
    let max_dim = opts.max_dim.min(d - b);
    if max_dim < 3 * b || opts.keep + 2 > max_dim - b {
        return Err(invalid("max_dim"));
    }
    let mut seed = opts.seed | 1;
    // basis [V_m | W] and the projected matrix [H_m; C]
    let mut v = Mat::<f64>::zeros(d, max_dim + b);
    let mut h = Mat::<f64>::zeros(max_dim + b, max_dim);
    for j in 0..b {
        for i in 0..d {
            v[(i, j)] = next_uniform(&mut seed);
        }
    }
    {
        let mut r = Mat::<f64>::zeros(b, b);
        let mut none = Mat::<f64>::zeros(0, b);
        let (empty, w) = v.as_mut().split_at_col_mut(0);
        orthonormalize_block(
            empty.rb(),
            w.subcols_mut(0, b),
            none.as_mut(),
            r.as_mut(),
            &mut seed,
        );
    }
    let mut y = Mat::<f64>::zeros(d, b);
    let mut r = Mat::<f64>::zeros(b, b);
    let (mut m, mut passes, mut restarts) = (0usize, 0usize, 0usize);
    // the next convergence test, and the last test's (passes, residual)
    let mut next_check = opts.check_every.unwrap_or(1);
    let mut last: Option<(usize, f64)> = None;
    let mut last_radius = f64::NAN;
    loop {
        if passes >= max_passes {
            return Err(HostError::Numerical {
                step: "Arnoldi (block)",
                source: Error::NoConvergence {
                    iterations: passes * b,
                    last: last_radius,
                    residual: last.map_or(f64::NAN, |(_, r)| r),
                },
            });
        }
        // expand: J W, orthogonalise against [V_m | W], new block
        op.apply_block(v.as_ref().subcols(m, b), y.as_mut())?;
        passes += 1;
        {
            let (vm, rest) = v.as_mut().split_at_col_mut(m + b);
            let coef = h.as_mut().submatrix_mut(0, m, m + b, b);
            orthonormalize_block(vm.rb(), y.as_mut(), coef, r.as_mut(), &mut seed);
            rest.subcols_mut(0, b).copy_from(y.as_ref());
        }
        h.as_mut()
            .submatrix_mut(m + b, m, b, b)
            .copy_from(r.as_ref());
        m += b;
        let full = m + b > max_dim;
        if !(full || (opts.check_every.is_some() && passes >= next_check && m >= 4 * b)) {
            continue;
        }
        // Ritz pair of largest modulus and its residual ‖C y‖; all Ritz
        // vectors only when a restart needs them
        let (top, y_top, all) = if full {
            let pairs = ritz(h.as_ref().submatrix(0, 0, m, m))?;
            let p0 = &pairs[0];
            let y0 = (0..m)
                .map(|i| faer::c64::new(p0.re[i], p0.im.as_ref().map_or(0.0, |v| v[i])))
                .collect::<Vec<_>>();
            (p0.theta, y0, Some(pairs))
        } else {
            let (t, y0) = top_ritz(h.as_ref().submatrix(0, 0, m, m))?;
            (t, y0, None)
        };
        let c = h.as_ref().submatrix(m, 0, b, m);
        let mut res2 = 0.0;
        let ynorm2: f64 = y_top.iter().map(|z| z.re * z.re + z.im * z.im).sum();
        for k in 0..b {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, z) in y_top.iter().enumerate() {
                re += c[(k, i)] * z.re;
                im += c[(k, i)] * z.im;
            }
            res2 += re * re + im * im;
        }
        let residual = (res2 / ynorm2).sqrt() / top.abs().max(f64::MIN_POSITIVE);
        last_radius = top.abs();
        if residual <= opts.tol {
            return Ok(RadiusEstimate {
                radius: top.abs(),
                eigenvalue: if top.im < 0.0 { top.conj() } else { top },
                residual,
                products: passes * b,
                passes,
                restarts,
            });
        }
        // the residual falls about geometrically with the passes: test next
        // where the last two tests say it reaches tol (at least 2 passes on,
        // at most 2·check_every), so that large projected eigen-solves are
        // not spent on tests that cannot pass
        let step = opts.check_every.unwrap_or(1);
        next_check = passes
            + match last {
                Some((p0, r0)) if r0 > residual && residual > 0.0 => {
                    let rate = (r0 / residual).ln() / (passes - p0) as f64;
                    let need = (residual / opts.tol).ln() / rate;
                    (need.ceil() as usize).clamp(2, 2 * step)
                }
                _ => step,
            };
        last = Some((passes, residual));
        let Some(pairs) = all else {
            continue;
        };
        // thick restart on the real span of the `keep` dominant Ritz vectors
        restarts += 1;
        let mut cols: Vec<Vec<f64>> = vec![];
        for p in pairs.into_iter().take(opts.keep) {
            cols.push(p.re);
            if let Some(im) = p.im {
                cols.push(im);
            }
        }
        // modified Gram-Schmidt on the columns, dropping dependent ones
        let mut basis: Vec<Vec<f64>> = vec![];
        for mut col in cols {
            let n0 = col.iter().map(|x| x * x).sum::<f64>().sqrt();
            for _ in 0..2 {
                for p in &basis {
                    let hp: f64 = p.iter().zip(&col).map(|(a, b)| a * b).sum();
                    for (x, a) in col.iter_mut().zip(p) {
                        *x -= hp * a;
                    }
                }
            }
            let nrm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
            if nrm > 1e-8 * n0 && basis.len() + 1 + b <= max_dim {
                basis.push(col.iter().map(|x| x / nrm).collect());
            }
        }
        let k = basis.len();
        if k == 0 {
            return Err(HostError::Numerical {
                step: "Arnoldi (block)",
                source: Error::NoConvergence {
                    iterations: passes * b,
                    last: top.abs(),
                    residual,
                },
            });
        }
        let q = Mat::<f64>::from_fn(m, k, |i, c| basis[c][i]);
        let vk = v.as_ref().subcols(0, m) * q.as_ref();
        let hk = q.transpose() * h.as_ref().submatrix(0, 0, m, m) * q.as_ref();
        let ck = h.as_ref().submatrix(m, 0, b, m) * q.as_ref();
        let w = v.as_ref().subcols(m, b).to_owned();
        v.as_mut().subcols_mut(0, k).copy_from(vk.as_ref());
        v.as_mut().subcols_mut(k, b).copy_from(w.as_ref());
        h.fill(0.0);
        h.as_mut().submatrix_mut(0, 0, k, k).copy_from(hk.as_ref());
        h.as_mut().submatrix_mut(k, 0, b, k).copy_from(ck.as_ref());
        m = k;
    }
}
