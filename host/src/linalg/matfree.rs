//! The spectral radius at research sizes without the dense solve: the
//! Jacobian applied matrix-free from the core's diagonal factors
//! (docs/THEORY.md §3, [`gatedyn::GruFactorsMut`], [`gatedyn::LstmFactorsMut`])
//! and faer's parallel matrix-vector products, fed to the core's
//! thick-restart Arnoldi estimator or, on blocks of vectors through a SIMD
//! kernel, to the host's block Arnoldi ([`crate::linalg::block_arnoldi`]);
//! `radius` picks by size.
//!
//! A product costs one pass over the recurrent weights (`3N²` scalars for
//! a GRU, `4N²` for an LSTM), stacked so that the products that share a
//! vector are one matrix-vector product: `[U_z; U_r] v`, then `U_h s` (GRU);
//! `[U_f; U_i; U_c; U_o] v_h` (LSTM). The pass is memory-bound, so the
//! weights can be held in `f32` ([`Precision::F32`]): half the traffic,
//! while the vectors, the factors and the Krylov basis stay `f64`. The
//! rounding of the weights perturbs `J` by about `1e-7` relative, far below
//! the `1e-3` this estimate is used at (measured against the dense solve in
//! the tests and in `examples/arnoldi_vs_dense.rs`).

use crate::linalg::block_arnoldi::{self, BlockOperator, BlockOptions};
use crate::net::{Cell, Factors, GateWeights, Net};
use crate::{HostError, Precision};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use gatedyn::operator::LinearOperator;
use gatedyn::spectral_radius::{ArnoldiOptions, RadiusEstimate, SpectralRadius};
use gatedyn::Error;
use gatedyn::GruForm;

/// Largest Krylov dimension of the host estimator.
pub const MAX_KRYLOV: usize = 128;

/// The recurrent matrices in one precision, stacked and stored transposed (see
/// [`stack`]).
#[derive(Debug)]
enum Transposed<T> {
    /// GRU: the two matrices applied to the state, `[U_z; U_r]` (2n×n), and
    /// the candidate's `U_h`, applied to `r ⊙ v + h σ'(a_r) ⊙ U_r v`.
    Gru {
        update_reset: Mat<T>,
        candidate: Mat<T>,
    },
    /// LSTM: `[U_f; U_i; U_c; U_o]` (4n×n), all applied to `v_h`.
    Lstm { gates: Mat<T> },
}

#[derive(Debug)]
enum Weights {
    F32(Transposed<f32>),
    F64(Transposed<f64>),
}

/// The Jacobian of a [`Net`] at its traced state, applied matrix-free on
/// all threads of the global pool: one vector ([`LinearOperator`]) or a
/// block ([`BlockOperator`]), through the same code.
#[derive(Debug)]
pub struct HostJacobian {
    n: usize,
    weights: Weights,
    /// Diagonal factors at the traced state (docs/THEORY.md §3).
    factors: Factors,
    /// A GRU's form: where its reset gate acts (docs/THEORY.md §9); `None`
    /// for an LSTM.
    form: Option<GruForm<()>>,
}

/// The stacked rows `[U_{gates[0]}; U_{gates[1]}; …]` stored transposed: a
/// column-major `n × (rows)` matrix whose column `i` is row `i` of the
/// stack, so that the copy from the row-major weights is contiguous; the
/// products use its transpose.
fn stack<T: faer::traits::ComplexField + Copy + Send>(
    n: usize,
    gates: &[&GateWeights],
    cast: impl Fn(f64) -> T + Sync,
) -> Mat<T> {
    use rayon::prelude::*;
    let mut m = Mat::<T>::zeros(n, gates.len() * n);
    m.par_col_iter_mut().enumerate().for_each(|(c, col)| {
        let u = &gates[c / n].u;
        let i = c % n;
        for (d, &s) in col.iter_mut().zip(&u[i * n..(i + 1) * n]) {
            *d = cast(s);
        }
    });
    m
}

impl HostJacobian {
    /// Copies the weights of `net` (in `precision`) and computes the
    /// diagonal factors at its traced state.
    pub fn new(net: &Net, precision: Precision) -> Result<Self, HostError> {
        let factors = net.factors()?;
        fn build<T: faer::traits::ComplexField + Copy + Send>(
            net: &Net,
            cast: impl Fn(f64) -> T + Copy + Sync,
        ) -> Transposed<T> {
            match net {
                Net::Gru(g) => {
                    let w = &g.weights;
                    Transposed::Gru {
                        update_reset: stack(g.n, &[&w.z, &w.r], cast),
                        candidate: stack(g.n, &[&w.h], cast),
                    }
                }
                // the LSTM products in the order f, i, c, o (see apply_block)
                Net::Lstm(l) => {
                    let w = &l.weights;
                    Transposed::Lstm {
                        gates: stack(l.n, &[&w.f, &w.i, &w.c, &w.o], cast),
                    }
                }
            }
        }
        let weights = match precision {
            Precision::F32 => Weights::F32(build(net, |x| x as f32)),
            Precision::F64 => Weights::F64(build(net, |x| x)),
        };
        Ok(HostJacobian {
            n: net.n(),
            weights,
            factors,
            form: net.as_gru().map(|g| g.form.kind()),
        })
    }

    /// Takes the diagonal factors at `net`'s traced state, keeping the
    /// weight copies: the operator of another state of the same network
    /// (`net` must be the one this operator was built from).
    pub fn retrace(&mut self, net: &Net) -> Result<(), HostError> {
        debug_assert_eq!(net.n(), self.n);
        self.factors = net.factors()?;
        Ok(())
    }

    /// Takes given diagonal factors (of the same network, e.g. those of a
    /// step whose state has moved on: [`crate::net::GruNet::factors_from`]).
    pub fn set_factors(&mut self, factors: Factors) {
        debug_assert_eq!(factors.cell(), self.cell());
        self.factors = factors;
    }

    /// GRU or LSTM.
    pub fn cell(&self) -> Cell {
        match self.factors {
            Factors::Gru(_) => Cell::Gru,
            Factors::Lstm(_) => Cell::Lstm,
        }
    }

    /// The state dimension (n for a GRU, 2n for an LSTM).
    pub fn dim(&self) -> usize {
        self.cell().state_dim(self.n)
    }

    /// Bytes of the weight copies this operator holds for a network of size
    /// `n` (checked by the CLI before allocating).
    pub fn bytes_needed(cell: Cell, n: usize, precision: Precision) -> u128 {
        let scalar = match precision {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        scalar * cell.gates() as u128 * (n as u128) * (n as u128)
    }
}

impl LinearOperator<f64> for HostJacobian {
    fn dim(&self) -> usize {
        HostJacobian::dim(self)
    }

    /// `y = J x` as a block of one vector (see [`BlockOperator`]).
    fn apply(&mut self, x: &[f64], y: &mut [f64]) -> Result<(), Error> {
        let (nx, ny) = (x.len(), y.len());
        self.apply_block(
            MatRef::from_column_major_slice(x, nx, 1),
            MatMut::from_column_major_slice_mut(y, ny, 1),
        )
    }
}

/// The scalar types of the weight copies.
trait Weight: faer::traits::ComplexField + Copy + Default + Send + Sync {
    fn of(x: f64) -> Self;
    fn to(self) -> f64;
    fn mul_acc(acc: Self, a: Self, b: Self) -> Self;
}
impl Weight for f32 {
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn mul_acc(acc: Self, a: Self, b: Self) -> Self {
        acc + a * b
    }
}
impl Weight for f64 {
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mul_acc(acc: Self, a: Self, b: Self) -> Self {
        acc + a * b
    }
}

/// Rows of `A` sharing each load of `x` in [`BlockRows`].
const ROWS: usize = 8;
/// Columns of `A` per tile in [`BlockRows`] (fixed-size slices, no bounds
/// checks in the inner loops).
const TILE: usize = 64;

/// `y = A x` for a block of `B` vectors on a run of rows of `A`: `at` holds
/// `A` transposed (column `i` of `at` is row `i` of `A`, contiguous), `x` is
/// row-major `n × B`, `ys` the rows `first..first + ys.len()` of `y`,
/// row-major. [`ROWS`] rows at a time share every load of `x[k]`, with
/// `ROWS·B` independent accumulators. Run through `pulp::Arch::dispatch`,
/// so that the loops are compiled for the CPU's SIMD level (AVX2/AVX-512).
struct BlockRows<'a, T, const B: usize> {
    at: &'a Mat<T>,
    x: &'a [[T; B]],
    ys: &'a mut [[T; B]],
    first: usize,
}

impl<T: Weight, const B: usize> pulp::WithSimd for BlockRows<'_, T, B> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let BlockRows { at, x, ys, first } = self;
        let n = at.nrows();
        let row = |i: usize| -> &[T] { at.col_as_slice(i) };
        let done = ys.len() - ys.len() % ROWS;
        let mut groups = ys.chunks_exact_mut(ROWS);
        for (g, yg) in groups.by_ref().enumerate() {
            let a: [&[T]; ROWS] = core::array::from_fn(|r| row(first + g * ROWS + r));
            let mut acc = [[T::default(); B]; ROWS];
            let mut k0 = 0;
            while k0 + TILE <= n {
                let at_: [&[T; TILE]; ROWS] = core::array::from_fn(|r| tile(&a[r][k0..k0 + TILE]));
                let xt: &[[T; B]; TILE] = tile(&x[k0..k0 + TILE]);
                for kk in 0..TILE {
                    for r in 0..ROWS {
                        let ark = at_[r][kk];
                        for j in 0..B {
                            acc[r][j] = T::mul_acc(acc[r][j], ark, xt[kk][j]);
                        }
                    }
                }
                k0 += TILE;
            }
            for k in k0..n {
                for r in 0..ROWS {
                    for j in 0..B {
                        acc[r][j] = T::mul_acc(acc[r][j], a[r][k], x[k][j]);
                    }
                }
            }
            yg.copy_from_slice(&acc);
        }
        for (r, yi) in groups.into_remainder().iter_mut().enumerate() {
            let a = row(first + done + r);
            let mut acc = [T::default(); B];
            for (&ak, xk) in a.iter().zip(x) {
                for j in 0..B {
                    acc[j] = T::mul_acc(acc[j], ak, xk[j]);
                }
            }
            *yi = acc;
        }
    }
}

/// The first `TILE` entries of `s` as an array (`s` has at least `TILE`:
/// the loop bound guarantees it; `as_chunks` proves it to the compiler).
#[inline(always)]
fn tile<E>(s: &[E]) -> &[E; TILE] {
    &s.as_chunks::<TILE>().0[0]
}

/// `y = A x` for a block of `B` vectors, one pass over `A`, rows split over
/// the rayon pool in chunks of 64 (see [`BlockRows`]).
fn block_kernel<T: Weight, const B: usize>(at: &Mat<T>, x: &[[T; B]], y: &mut [[T; B]]) {
    use rayon::prelude::*;
    debug_assert!(x.len() == at.nrows() && y.len() == at.ncols());
    y.par_chunks_mut(64).enumerate().for_each(|(c, ys)| {
        pulp::Arch::new().dispatch(BlockRows {
            at,
            x,
            ys,
            first: 64 * c,
        })
    });
}

/// `A x` for a block `x` (`f64`, `d × b`) with `A` given transposed: the
/// block kernel for `b` in {4, 8}, faer's product otherwise (a single
/// vector: faer's matrix-vector product, 9.2 ms for the GRU's 192 MB of
/// `f32` weights at N = 4000).
fn gemm_block<T: Weight>(at: &Mat<T>, x: MatRef<'_, f64>) -> Mat<f64> {
    fn run<T: Weight, const B: usize>(at: &Mat<T>, x: MatRef<'_, f64>) -> Mat<f64> {
        let xs: Vec<[T; B]> = (0..x.nrows())
            .map(|i| core::array::from_fn(|j| T::of(x[(i, j)])))
            .collect();
        let mut ys = vec![[T::default(); B]; at.ncols()];
        block_kernel::<T, B>(at, &xs, &mut ys);
        Mat::from_fn(at.ncols(), B, |i, j| ys[i][j].to())
    }
    // measured at N = 4000 (f32): 8 vectors stream A at the speed of one
    // matrix-vector product; wider blocks were erratic (register spills)
    match x.ncols() {
        4 => run::<T, 4>(at, x),
        8 => run::<T, 8>(at, x),
        _ => gemm_block_faer(at, x, T::of, T::to),
    }
}

/// Below this many multiply-adds a block product (and the blocked
/// Lyapunov method's QR) runs on one thread: faer's parallel hand-offs
/// cost more than they save there (measured 2× slower on 2 threads at
/// N = k = 64).
pub const SERIAL_BELOW: usize = 1 << 26;

/// `A x` for a block `x` (`f64`), with `A` given transposed in `T`.
fn gemm_block_faer<T: faer::traits::ComplexField + Copy>(
    at: &Mat<T>,
    x: MatRef<'_, f64>,
    to: impl Fn(f64) -> T,
    from: impl Fn(T) -> f64,
) -> Mat<f64> {
    let xt = Mat::<T>::from_fn(x.nrows(), x.ncols(), |i, j| to(x[(i, j)]));
    let mut y = Mat::<T>::zeros(at.ncols(), x.ncols());
    matmul(
        y.as_mut(),
        Accum::Replace,
        at.transpose(),
        xt.as_ref(),
        T::one_impl(),
        if at.nrows() * at.ncols() * x.ncols() < SERIAL_BELOW {
            Par::Seq
        } else {
            Par::rayon(0)
        },
    );
    Mat::from_fn(y.nrows(), y.ncols(), |i, j| from(y[(i, j)]))
}

/// Which stacked matrix a product uses.
#[derive(Clone, Copy)]
enum StackedMatrix {
    /// GRU `[U_z; U_r]`.
    UpdateReset,
    /// GRU `U_h`.
    Candidate,
    /// LSTM `[U_f; U_i; U_c; U_o]`.
    LstmGates,
}

impl HostJacobian {
    /// `A x` for the stacked matrix `which`.
    fn product_block(&self, which: StackedMatrix, x: MatRef<'_, f64>) -> Mat<f64> {
        fn pick<T>(st: &Transposed<T>, which: StackedMatrix) -> &Mat<T> {
            match (st, which) {
                (Transposed::Gru { update_reset, .. }, StackedMatrix::UpdateReset) => update_reset,
                (Transposed::Gru { candidate, .. }, _) => candidate,
                (Transposed::Lstm { gates }, _) => gates,
            }
        }
        match &self.weights {
            Weights::F32(st) => gemm_block(pick(st, which), x),
            Weights::F64(st) => gemm_block(pick(st, which), x),
        }
    }
}

impl BlockOperator for HostJacobian {
    fn dim(&self) -> usize {
        HostJacobian::dim(self)
    }

    fn apply_block(&mut self, x: MatRef<'_, f64>, mut y: MatMut<'_, f64>) -> Result<(), Error> {
        let n = self.n;
        let d = HostJacobian::dim(self);
        if x.nrows() != d || y.nrows() != d || x.ncols() != y.ncols() {
            return Err(Error::DimensionMismatch {
                expected: d,
                found: if x.nrows() != d { x.nrows() } else { y.nrows() },
            });
        }
        let b = x.ncols();
        // docs/THEORY.md §3: the Jacobians from their diagonal factors
        match &self.factors {
            Factors::Gru(f) if self.form.is_some_and(|form| form.is_reset_after()) => {
                // docs/THEORY.md §9: p = [U_z v; U_r v], q = U_h v,
                // J v = keep v + candidate (r q + s p_r) + update p_z
                let p = self.product_block(StackedMatrix::UpdateReset, x);
                let q = self.product_block(StackedMatrix::Candidate, x);
                for j in 0..b {
                    for i in 0..n {
                        y[(i, j)] = f.keep[i] * x[(i, j)]
                            + f.candidate[i]
                                * (f.reset[i] * q[(i, j)] + f.reset_slope[i] * p[(n + i, j)])
                            + f.update[i] * p[(i, j)];
                    }
                }
            }
            Factors::Gru(f) => {
                // p = [U_z v; U_r v]; s = r ⊙ v + h σ'(a_r) ⊙ U_r v; q = U_h s
                let p = self.product_block(StackedMatrix::UpdateReset, x);
                let s = Mat::<f64>::from_fn(n, b, |k, j| {
                    f.reset[k] * x[(k, j)] + f.reset_slope[k] * p[(n + k, j)]
                });
                let q = self.product_block(StackedMatrix::Candidate, s.as_ref());
                for j in 0..b {
                    for i in 0..n {
                        y[(i, j)] = f.keep[i] * x[(i, j)]
                            + f.candidate[i] * q[(i, j)]
                            + f.update[i] * p[(i, j)];
                    }
                }
            }
            Factors::Lstm(f) => {
                // p = [U_f; U_i; U_c; U_o] v_h
                let p = self.product_block(StackedMatrix::LstmGates, x.subrows(0, n));
                for j in 0..b {
                    for k in 0..n {
                        let dc = f.forget[k] * x[(n + k, j)]
                            + f.forget_slope[k] * p[(k, j)]
                            + f.input_slope[k] * p[(n + k, j)]
                            + f.cell_slope[k] * p[(2 * n + k, j)];
                        y[(n + k, j)] = dc;
                        y[(k, j)] = f.output_slope[k] * p[(3 * n + k, j)] + f.output[k] * dc;
                    }
                }
            }
        }
        for j in 0..b {
            for i in 0..d {
                if !y[(i, j)].is_finite() {
                    return Err(Error::NonFinite {
                        what: gatedyn::Quantity::Result,
                        index: i,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Products between convergence tests inside an Arnoldi cycle (see
/// [`ArnoldiOptions::check_every`]): at research sizes a test (`O(m³)` on
/// the projected matrix, ≈ 10 ms at m = 96) costs about one product.
pub const CHECK_EVERY: usize = 8;

/// The Krylov dimension the host uses by default: at N = 4000 (chaotic
/// GRU) 96 needed fewer products and less time than 64 or 128
/// (`examples/arnoldi_vs_dense.rs`).
pub const KRYLOV: usize = 96;

/// The spectral radius of `op` by the core's single-vector thick-restart
/// Arnoldi (Krylov dimension `opts.krylov_dim`, at most [`MAX_KRYLOV`];
/// `None` means [`KRYLOV`]), basis and estimator on the heap.
pub fn single_vector_radius(
    op: &mut HostJacobian,
    opts: &ArnoldiOptions,
) -> Result<RadiusEstimate, HostError> {
    let dim = op.dim();
    let m = opts.krylov_dim.unwrap_or(KRYLOV);
    let opts = ArnoldiOptions {
        krylov_dim: Some(m),
        ..*opts
    };
    let mut est = boxed_estimator()?;
    let mut basis = vec![0.0; SpectralRadius::<MAX_KRYLOV>::basis_len(dim, m.min(dim))];
    est.estimate(op, &mut basis, &opts)
        .map_err(HostError::numerical("Arnoldi (single-vector)"))
}

/// State dimension from which [`spectral_radius`] uses the block method:
/// below it the projected eigen-solves of the block method cost more than
/// the products they save (at d = 1000 single-vector Arnoldi took 0.29 s,
/// the block method 0.51 s; at d = 4000 single 2.6-3.4 s, block 1.5-1.8 s).
pub const BLOCK_FROM: usize = 2000;

/// The smallest budget of products [`spectral_radius`] takes: a few passes
/// of the block method (four blocks of 8), and as many single-vector
/// products (four checks of [`CHECK_EVERY`]).
pub const MIN_PRODUCTS: usize = 32;

/// Which Arnoldi ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The core's single-vector thick-restart Arnoldi.
    Single,
    /// The host's block Arnoldi ([`crate::linalg::block_arnoldi`]).
    Block,
}

/// What [`spectral_radius`] asks for: the two settings both methods share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusOptions {
    /// Relative residual `‖J x − θ x‖ / |θ|` to reach.
    pub tol: f64,
    /// Budget of products `J v` (a block pass of `b` vectors counts `b`).
    pub max_products: usize,
}

/// The spectral radius of `op` to the relative residual `opts.tol` within
/// `opts.max_products` products: the block method from [`BLOCK_FROM`] on,
/// the core's single-vector method below. Both return the core's
/// [`RadiusEstimate`].
pub fn spectral_radius(
    op: &mut HostJacobian,
    opts: &RadiusOptions,
) -> Result<(RadiusEstimate, Method), HostError> {
    if op.dim() >= BLOCK_FROM {
        let r = block_arnoldi::estimate(
            op,
            &BlockOptions {
                tol: opts.tol,
                max_products: opts.max_products,
                ..BlockOptions::default()
            },
        )?;
        return Ok((r, Method::Block));
    }
    let r = single_vector_radius(
        op,
        &ArnoldiOptions {
            tol: opts.tol,
            max_products: opts.max_products,
            check_every: Some(CHECK_EVERY),
            ..Default::default()
        },
    )?;
    Ok((r, Method::Single))
}

/// The estimator on the heap without a large temporary on the stack (it
/// holds six `K×K` matrices).
fn boxed_estimator() -> Result<Box<SpectralRadius<MAX_KRYLOV>>, HostError> {
    // a thread with a large stack builds it, so that callers on small
    // (test-thread) stacks are safe
    let cannot = |e: &dyn std::fmt::Debug| HostError::Io(format!("cannot start a thread: {e:?}"));
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| Box::new(SpectralRadius::<MAX_KRYLOV>::new()))
        .map_err(|e| cannot(&e))?
        .join()
        .map_err(|e| cannot(&e))
}
