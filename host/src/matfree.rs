//! The spectral radius at research sizes without the dense solve: the
//! Jacobian applied matrix-free from the core's diagonal factors
//! (THEORY.md §3, [`gatedyn::GruFactorsMut`], [`gatedyn::LstmFactorsMut`])
//! and faer's parallel matrix-vector products, fed to the core's
//! thick-restart Arnoldi estimator.
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

use crate::network::{Model, Net};
use crate::HostError;
use faer::linalg::matmul::matmul;
use faer::{Accum, ColMut, ColRef, Mat, Par};
use gatedyn::operator::LinearOperator;
use gatedyn::spectral_radius::{ArnoldiOptions, RadiusEstimate, SpectralRadius};
use gatedyn::Error;

/// Largest Krylov dimension of the host estimator.
pub const MAX_KRYLOV: usize = 128;

/// Storage precision of the weights in the matrix-free products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// `f32` copies of the weights (half the memory traffic).
    F32,
    /// `f64` copies.
    F64,
}

/// Stacked weights in one precision, each stored transposed (see
/// [`stack`]).
#[derive(Debug)]
enum Stacked<T> {
    /// `[U_z; U_r]` (2n×n) and `U_h`.
    Gru { zr: Mat<T>, h: Mat<T> },
    /// `[U_f; U_i; U_c; U_o]` (4n×n).
    Lstm { all: Mat<T> },
}

#[derive(Debug)]
enum Weights {
    F32(Stacked<f32>),
    F64(Stacked<f64>),
}

/// The Jacobian of a [`Net`] at its traced state, applied matrix-free with
/// faer's products on all threads of the global pool.
#[derive(Debug)]
pub struct HostJacobian {
    model: Model,
    n: usize,
    weights: Weights,
    /// Diagonal factors, `n` each, in the order of the core's structs.
    factors: Vec<Vec<f64>>,
    /// Products of the stacked matrices (`2n` or `4n`) and the GRU's `s`.
    prod: Vec<f64>,
    s: Vec<f64>,
    prod_h: Vec<f64>,
    x32: Vec<f32>,
    y32: Vec<f32>,
}

/// The stacked rows `[U_{order[0]}; U_{order[1]}; …]` stored transposed: a
/// column-major `n × (rows)` matrix whose column `i` is row `i` of the
/// stack, so that the copy from the row-major weights is contiguous; the
/// products use its transpose.
fn stack<T: faer::traits::ComplexField + Copy>(
    net: &Net,
    order: &[usize],
    cast: impl Fn(f64) -> T,
) -> Mat<T> {
    let n = net.n;
    let mut m = Mat::<T>::zeros(n, order.len() * n);
    for (b, &g) in order.iter().enumerate() {
        let u = &net.gates[g].u;
        for i in 0..n {
            let col = m
                .col_mut(b * n + i)
                .try_as_col_major_mut()
                .expect("a fresh Mat is column-major");
            for (d, &s) in col.as_slice_mut().iter_mut().zip(&u[i * n..(i + 1) * n]) {
                *d = cast(s);
            }
        }
    }
    m
}

impl HostJacobian {
    /// Copies the weights of `net` (in `precision`) and computes the
    /// diagonal factors at its traced state.
    pub fn new(net: &Net, precision: Precision) -> Result<Self, HostError> {
        let n = net.n;
        let factors = net.jacobian_factors()?;
        // GRU gates are (z, r, h); LSTM gates (f, i, o, c) stacked as f, i, c, o
        fn build<T: faer::traits::ComplexField + Copy>(
            net: &Net,
            cast: impl Fn(f64) -> T + Copy,
        ) -> Stacked<T> {
            match net.model {
                Model::Gru => Stacked::Gru {
                    zr: stack(net, &[0, 1], cast),
                    h: stack(net, &[2], cast),
                },
                Model::Lstm => Stacked::Lstm {
                    all: stack(net, &[0, 1, 3, 2], cast),
                },
            }
        }
        let weights = match precision {
            Precision::F32 => Weights::F32(build(net, |x| x as f32)),
            Precision::F64 => Weights::F64(build(net, |x| x)),
        };
        let rows = if net.model == Model::Gru {
            2 * n
        } else {
            4 * n
        };
        let (x32, y32) = match precision {
            Precision::F32 => (vec![0.0; n], vec![0.0; rows]),
            Precision::F64 => (vec![], vec![]),
        };
        Ok(HostJacobian {
            model: net.model,
            n,
            weights,
            factors,
            prod: vec![0.0; rows],
            s: vec![0.0; n],
            prod_h: vec![0.0; n],
            x32,
            y32,
        })
    }

    /// Bytes of the weight copies this operator holds for a network of size
    /// `n` (checked by the CLI before allocating).
    pub fn bytes_needed(model: Model, n: usize, precision: Precision) -> u128 {
        let scalar = match precision {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        scalar * model.gates() as u128 * (n as u128) * (n as u128)
    }
}

/// `y = A x` in the stored precision, `x`, `y` in `f64`.
fn gemv32(a: &Mat<f32>, x: &[f64], y: &mut [f64], x32: &mut [f32], y32: &mut [f32]) {
    for (d, &s) in x32.iter_mut().zip(x) {
        *d = s as f32;
    }
    let y32 = &mut y32[..a.ncols()];
    matmul(
        ColMut::from_slice_mut(y32).as_mat_mut(),
        Accum::Replace,
        a.transpose(),
        ColRef::from_slice(&x32[..a.nrows()]).as_mat(),
        1.0f32,
        Par::rayon(0),
    );
    for (d, &s) in y.iter_mut().zip(y32.iter()) {
        *d = s as f64;
    }
}

fn gemv64(a: &Mat<f64>, x: &[f64], y: &mut [f64]) {
    matmul(
        ColMut::from_slice_mut(&mut y[..a.ncols()]).as_mat_mut(),
        Accum::Replace,
        a.transpose(),
        ColRef::from_slice(x).as_mat(),
        1.0,
        Par::rayon(0),
    );
}

impl HostJacobian {
    fn product(&mut self, which: usize, x: &[f64], into_h: bool) {
        let y = if into_h {
            &mut self.prod_h
        } else {
            &mut self.prod
        };
        match &self.weights {
            Weights::F32(st) => {
                let a = match (st, which) {
                    (Stacked::Gru { zr, .. }, 0) => zr,
                    (Stacked::Gru { h, .. }, _) => h,
                    (Stacked::Lstm { all }, _) => all,
                };
                gemv32(a, x, y, &mut self.x32, &mut self.y32);
            }
            Weights::F64(st) => {
                let a = match (st, which) {
                    (Stacked::Gru { zr, .. }, 0) => zr,
                    (Stacked::Gru { h, .. }, _) => h,
                    (Stacked::Lstm { all }, _) => all,
                };
                gemv64(a, x, y);
            }
        }
    }
}

impl LinearOperator<f64> for HostJacobian {
    fn dim(&self) -> usize {
        match self.model {
            Model::Gru => self.n,
            Model::Lstm => 2 * self.n,
        }
    }

    fn apply(&mut self, x: &[f64], y: &mut [f64]) -> Result<(), Error> {
        let n = self.n;
        let d = self.dim();
        if x.len() != d || y.len() != d {
            return Err(Error::DimensionMismatch {
                expected: d,
                found: if x.len() != d { x.len() } else { y.len() },
            });
        }
        match self.model {
            Model::Gru => {
                // [U_z v; U_r v], then s = r ⊙ v + h σ'(a_r) ⊙ U_r v, then U_h s
                self.product(0, x, false);
                let f = &self.factors;
                for k in 0..n {
                    self.s[k] = f[2][k] * x[k] + f[3][k] * self.prod[n + k];
                }
                let s = std::mem::take(&mut self.s);
                self.product(1, &s, true);
                self.s = s;
                let f = &self.factors;
                for i in 0..n {
                    y[i] = f[0][i] * x[i] + f[1][i] * self.prod_h[i] + f[4][i] * self.prod[i];
                }
            }
            Model::Lstm => {
                let (xh, xc) = x.split_at(n);
                self.product(0, xh, false);
                let f = &self.factors;
                let p = &self.prod;
                let (yh, yc) = y.split_at_mut(n);
                for k in 0..n {
                    let dc = f[0][k] * xc[k]
                        + f[1][k] * p[k]
                        + f[2][k] * p[n + k]
                        + f[3][k] * p[2 * n + k];
                    yc[k] = dc;
                    yh[k] = f[4][k] * p[3 * n + k] + f[5][k] * dc;
                }
            }
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: gatedyn::Quantity::Result,
                index: i,
            });
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

/// The spectral radius of `op` by the core's thick-restart Arnoldi
/// (Krylov dimension `opts.krylov_dim`, at most [`MAX_KRYLOV`]; 0 means
/// [`KRYLOV`]), basis and estimator on the heap.
pub fn estimate(op: &mut HostJacobian, opts: &ArnoldiOptions) -> Result<RadiusEstimate, HostError> {
    let dim = op.dim();
    let m = if opts.krylov_dim == 0 {
        KRYLOV
    } else {
        opts.krylov_dim
    };
    let opts = ArnoldiOptions {
        krylov_dim: m,
        ..*opts
    };
    let mut est = boxed_estimator()?;
    let mut basis = vec![0.0; SpectralRadius::<MAX_KRYLOV>::basis_len(dim, m.min(dim))];
    Ok(est.estimate(op, &mut basis, &opts)?)
}

/// [`estimate`] for the Jacobian of `net` at its traced state.
pub fn spectral_radius(
    net: &Net,
    precision: Precision,
    opts: &ArnoldiOptions,
) -> Result<RadiusEstimate, HostError> {
    estimate(&mut HostJacobian::new(net, precision)?, opts)
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
