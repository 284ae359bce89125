//! [`crate::bptt`] over a chunk of sequences at once, in `f32` or `f64`
//! ([`Precision`]; Adam, the weights it updates, the loss and the readout
//! stay in `f64` either way).
//!
//! The gates' matrices are stacked: `U = [U_z; U_r; U_h]` (GRU, `3N × N`)
//! or `[U_f; U_i; U_o; U_c]` (LSTM, `4N × N`), and `W` and `b` alike. The
//! states of the chunk's `B` sequences are the columns of `N×B` blocks, one
//! block per step. Then:
//!
//! * the input products of all steps are one product before the recurrence,
//!   `W X + b` (`GN × I` times `I × TB`);
//! * each step forward is one product `U H_t` (`GN × N` times `N × B`; the
//!   paper's reset-before GRU needs two, `[U_z; U_r] H_t` and
//!   `U_h (r ⊙ H_t)`);
//! * each step backward is one product `Uᵀ D_t` (two for the paper's form);
//! * each parameter gradient is a single product over all steps,
//!   `∂L/∂U = D Hᵀ` with the blocks side by side (`GN × TB` times
//!   `TB × N`), `∂L/∂W = D Xᵀ`.
//!
//! Same equations (docs/THEORY.md §13) and element functions as the core's
//! step; in `f64` only the order of the sums differs, so the gradient
//! agrees with the sequence-by-sequence one to rounding (the tests ask
//! 1e-12 relative). In `f32` the weights are rounded to `f32` for the
//! chunk, the states, gates and adjoints are `f32`, and the readout, the
//! loss and the returned gradient are `f64` (the tests bound the
//! difference from `f64`).
//!
//! The products run on one thread each: the caller parallelises over
//! chunks of a fixed size, which keeps every sum in an order that does not
//! depend on the number of threads.

use crate::bptt::{check, Evaluation, LossGradient};
use crate::loss::readout_step;
use crate::loss::Example;
use faer::linalg::matmul::matmul;
use faer::traits::ComplexField;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use gatedyn::activation::{fast_sigmoid, fast_tanh, sigmoid_derivative};
use gatedyn::{Activation, GruForm, Real};
use gatedyn_host::net::GateWeights;
use gatedyn_host::net::ReadoutWeights;
use gatedyn_host::net::{CellWeights, GruWeights, LstmWeights};
use gatedyn_host::HostError;
pub use gatedyn_host::Precision;
use std::cell::Cell;
use std::thread::LocalKey;

/// A chunk whose step blocks would take more than this many bytes goes
/// sequence by sequence instead ([`fits`]).
pub const MAX_CHUNK_BYTES: usize = 1 << 30;

/// Whether a chunk of `b` sequences of `steps` steps of an `n`-unit cell
/// fits [`MAX_CHUNK_BYTES`] (at most 14 blocks of `n × steps·b` values,
/// counted as `f64`).
pub fn fits(n: usize, steps: usize, b: usize) -> bool {
    n.saturating_mul(steps)
        .saturating_mul(b)
        .saturating_mul(14 * 8)
        <= MAX_CHUNK_BYTES
}

/// Re-slices each slice to exactly `n` values, so that the loop over
/// `0..n` that follows has no bounds checks and vectorises.
macro_rules! exact {
    ($n:expr; $($s:ident),+) => { $(let $s = &$s[..$n];)+ };
}
/// [`exact!`] for mutable slices.
macro_rules! exact_mut {
    ($n:expr; $($s:ident),+) => { $(let $s = &mut $s[..$n];)+ };
}

/// What the passes compute in: `f32` or `f64`, with the gate functions
/// of that precision.
trait Float: Real + ComplexField {
    /// `σ(x)`: the platform's `exp` in `f64`; in `f32` the core's [`fast_sigmoid`]
    /// (absolute error below
    /// [`gatedyn::activation::FAST_SIGMOID_MAX_ERROR`], as libm's `f32`
    /// rounding; branch-free, so the loops vectorise).
    fn gate(self) -> Self;
    /// `tanh(x)`: the platform's in `f64`, [`fast_tanh`] in `f32` (absolute error
    /// below [`gatedyn::activation::FAST_TANH_MAX_ERROR`]).
    fn tanh(self) -> Self;
    /// This thread's [`Pool`] of buffers of this type.
    fn pool() -> &'static LocalKey<Cell<Pool<Self>>>;
}

/// The large buffers of a chunk, kept by each thread from one chunk to the
/// next: a chunk's traces are megabytes, and a fresh allocation of that
/// size is fresh pages from the kernel, faulted in one by one each time
/// (a fifth of the time at `N = 32`). At most one chunk's buffers per
/// thread are kept.
#[derive(Default)]
struct Pool<T> {
    free: Vec<Vec<T>>,
}

impl<T: Float> Pool<T> {
    /// A buffer of `len` zeros.
    fn take(&mut self, len: usize) -> Vec<T> {
        let mut v = self.free.pop().unwrap_or_default();
        v.clear();
        v.resize(len, T::ZERO);
        v
    }
    /// Returns buffers for the next chunk (in the reverse order of their
    /// `take`, so each gets the same buffer back).
    fn give<const K: usize>(&mut self, bufs: [Vec<T>; K]) {
        self.free.extend(bufs.into_iter().rev());
    }
}

thread_local! {
    static POOL_F32: Cell<Pool<f32>> = const { Cell::new(Pool { free: Vec::new() }) };
    static POOL_F64: Cell<Pool<f64>> = const { Cell::new(Pool { free: Vec::new() }) };
}
impl Float for f32 {
    #[inline(always)]
    fn gate(self) -> Self {
        fast_sigmoid(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        fast_tanh(self)
    }
    fn pool() -> &'static LocalKey<Cell<Pool<Self>>> {
        &POOL_F32
    }
}
impl Float for f64 {
    #[inline(always)]
    fn gate(self) -> Self {
        // the core's form (no overflow on either side), with the
        // platform's `exp`, about twice as fast as the core's libm one
        if self >= 0.0 {
            1.0 / (1.0 + (-self).exp())
        } else {
            let e = self.exp();
            e / (1.0 + e)
        }
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    fn pool() -> &'static LocalKey<Cell<Pool<Self>>> {
        &POOL_F64
    }
}

/// `a ← φ(a)` and `d ← φ'(a)` over a column's values (one match per
/// column, so each loop is a plain one).
fn apply_phi<T: Float>(activation: Activation, a: &mut [T], d: &mut [T]) {
    let d = &mut d[..a.len()];
    match activation {
        Activation::Tanh => {
            for (v, dv) in a.iter_mut().zip(d) {
                let c = Float::tanh(*v);
                *dv = T::ONE - c * c;
                *v = c;
            }
        }
        Activation::HardTanh => {
            for (v, dv) in a.iter_mut().zip(d) {
                let x = *v;
                *dv = activation.derivative(x, x);
                *v = activation.apply(x);
            }
        }
    }
}

// The element-wise loops of the passes, each over one column of `n`
// values; as functions of slices (which cannot alias), they vectorise.

/// Reset-after GRU: `un = U_h h + b_hn` and `a_h += r ⊙ un`.
#[allow(clippy::too_many_arguments)]
fn candidate_after<T: Float>(un: &mut [T], a: &mut [T], rec_h: &[T], bhn: &[T], rv: &[T]) {
    let n = un.len();
    exact_mut!(n; un, a);
    exact!(n; rec_h, bhn, rv);
    for i in 0..n {
        un[i] = rec_h[i] + bhn[i];
        a[i] += rv[i] * un[i];
    }
}

/// `h' = (1 − z) ⊙ h + z ⊙ h̃`.
#[allow(clippy::too_many_arguments)]
fn blend<T: Float>(next_j: &mut [T], z: &[T], h_j: &[T], a: &[T]) {
    let n = next_j.len();
    exact_mut!(n; next_j);
    exact!(n; z, h_j, a);
    for i in 0..n {
        next_j[i] = (T::ONE - z[i]) * h_j[i] + z[i] * a[i];
    }
}

/// `o = a ⊙ b`.
#[allow(clippy::too_many_arguments)]
fn mul_into<T: Float>(o: &mut [T], a: &[T], b: &[T]) {
    let n = o.len();
    exact_mut!(n; o);
    exact!(n; a, b);
    for i in 0..n {
        o[i] = a[i] * b[i];
    }
}

/// `a += b`.
#[allow(clippy::too_many_arguments)]
fn add_into<T: Float>(a: &mut [T], b: &[T]) {
    let n = a.len();
    exact_mut!(n; a);
    exact!(n; b);
    for i in 0..n {
        a[i] += b[i];
    }
}

/// Reset-after GRU, backwards: from `δ = ∂L/∂h'` the adjoints of `a_z`,
/// `a_r`, `un` and `a_h`, and `δ ⊙ (1 − z)`, the direct part of `∂L/∂h`.
#[allow(clippy::too_many_arguments)]
fn gru_back_after<T: Float>(
    dz: &mut [T],
    dr: &mut [T],
    dn: &mut [T],
    da_j: &mut [T],
    back_j: &mut [T],
    z: &[T],
    rv: &[T],
    c: &[T],
    dl: &[T],
    h_j: &[T],
    o: &[T],
    dp_j: &[T],
) {
    let n = dz.len();
    exact_mut!(n; dz, dr, dn, da_j, back_j);
    exact!(n; z, rv, c, dl, h_j, o, dp_j);
    for i in 0..n {
        let da = dl[i] * z[i] * dp_j[i];
        dz[i] = dl[i] * (c[i] - h_j[i]) * sigmoid_derivative(z[i]);
        dr[i] = da * o[i] * sigmoid_derivative(rv[i]);
        dn[i] = da * rv[i];
        da_j[i] = da;
        back_j[i] = dl[i] * (T::ONE - z[i]);
    }
}

/// Paper-form GRU, backwards: the adjoints of `a_z` and `a_h`, and
/// `δ ⊙ (1 − z)`.
#[allow(clippy::too_many_arguments)]
fn gru_back_before<T: Float>(
    dz: &mut [T],
    dh: &mut [T],
    back_j: &mut [T],
    z: &[T],
    c: &[T],
    dl: &[T],
    h_j: &[T],
    dp_j: &[T],
) {
    let n = dz.len();
    exact_mut!(n; dz, dh, back_j);
    exact!(n; z, c, dl, h_j, dp_j);
    for i in 0..n {
        dz[i] = dl[i] * (c[i] - h_j[i]) * sigmoid_derivative(z[i]);
        dh[i] = dl[i] * z[i] * dp_j[i];
        back_j[i] = dl[i] * (T::ONE - z[i]);
    }
}

/// Paper-form GRU, backwards, through `r ⊙ h`: from `∂L/∂(r ⊙ h)` the
/// adjoint of `a_r` and the part of `∂L/∂h`.
#[allow(clippy::too_many_arguments)]
fn gru_back_reset<T: Float>(back_j: &mut [T], dr: &mut [T], drh: &[T], h_j: &[T], rv: &[T]) {
    let n = back_j.len();
    exact_mut!(n; back_j, dr);
    exact!(n; drh, h_j, rv);
    for i in 0..n {
        back_j[i] += drh[i] * rv[i];
        dr[i] = drh[i] * h_j[i] * sigmoid_derivative(rv[i]);
    }
}

/// LSTM: `c' = f ⊙ c + i ⊙ g`.
#[allow(clippy::too_many_arguments)]
fn lstm_cell<T: Float>(c_n: &mut [T], f: &[T], c_j: &[T], ig: &[T], gg: &[T]) {
    let n = c_n.len();
    exact_mut!(n; c_n);
    exact!(n; f, c_j, ig, gg);
    for i in 0..n {
        c_n[i] = f[i] * c_j[i] + ig[i] * gg[i];
    }
}

/// LSTM, backwards: from `∂L/∂h'` and `∂L/∂c'` the adjoints of the four
/// gates' pre-activations, and `∂L/∂c`.
#[allow(clippy::too_many_arguments)]
fn lstm_back<T: Float>(
    df: &mut [T],
    di: &mut [T],
    d_o: &mut [T],
    dg: &mut [T],
    dc_j: &mut [T],
    f: &[T],
    ig: &[T],
    o: &[T],
    gg: &[T],
    ca: &[T],
    dpc: &[T],
    dpg: &[T],
    c_j: &[T],
    dh_j: &[T],
) {
    let n = df.len();
    exact_mut!(n; df, di, d_o, dg, dc_j);
    exact!(n; f, ig, o, gg, ca, dpc, dpg, c_j, dh_j);
    for i in 0..n {
        // h' = o φ(c'), c' = f c + i g
        let dc_total = dc_j[i] + dh_j[i] * o[i] * dpc[i];
        df[i] = dc_total * c_j[i] * sigmoid_derivative(f[i]);
        di[i] = dc_total * gg[i] * sigmoid_derivative(ig[i]);
        d_o[i] = dh_j[i] * ca[i] * sigmoid_derivative(o[i]);
        dg[i] = dc_total * ig[i] * dpg[i];
        dc_j[i] = dc_total * f[i];
    }
}

/// `g ← σ(g + r)` over a column's gate values.
fn gates_from<T: Float>(g: &mut [T], r: &[T]) {
    for (v, w) in g.iter_mut().zip(r) {
        *v = (*v + *w).gate();
    }
}

fn view<T: Float>(buf: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(buf, rows, cols)
}

fn view_mut<T: Float>(buf: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_mut(buf, rows, cols)
}

/// `dst = or += a · b`.
fn gemm<T: Float>(dst: MatMut<'_, T>, accum: Accum, a: MatRef<'_, T>, b: MatRef<'_, T>) {
    matmul(dst, accum, a, b, T::ONE, Par::Seq);
}

/// The gates' weights stacked in the cell's gate order.
struct Stacked<T: Float> {
    /// `GN × N`.
    u: Mat<T>,
    /// `GN × I`.
    w: Mat<T>,
    /// `GN`.
    b: Vec<T>,
}

impl<T: Float> Stacked<T> {
    fn of(gates: &[&GateWeights], n: usize, inputs: usize) -> Self {
        let rows = gates.len() * n;
        let at = |i: usize| (gates[i / n], i % n);
        Stacked {
            u: Mat::from_fn(rows, n, |i, j| {
                let (g, i) = at(i);
                T::from_f64(g.u[i * n + j])
            }),
            w: Mat::from_fn(rows, inputs, |i, j| {
                let (g, i) = at(i);
                T::from_f64(g.w[i * inputs + j])
            }),
            b: (0..rows)
                .map(|i| {
                    let (g, i) = at(i);
                    T::from_f64(g.b[i])
                })
                .collect(),
        }
    }
}

/// `W X + b` for every step at once (`GN × TB`).
fn input_products<T: Float>(s: &Stacked<T>, xs: &[T], cols: usize, pool: &mut Pool<T>) -> Vec<T> {
    let (rows, inputs) = (s.w.nrows(), s.w.ncols());
    let mut pre = pool.take(rows * cols);
    gemm(
        view_mut(&mut pre, rows, cols),
        Accum::Replace,
        s.w.as_ref(),
        view(xs, inputs, cols),
    );
    for col in pre.chunks_exact_mut(rows) {
        for (v, &b) in col.iter_mut().zip(&s.b) {
            *v += b;
        }
    }
    pre
}

/// Row sums of a `rows × ·` column-major block, in `f64`.
fn row_sums<T: Float>(d: MatRef<'_, T>) -> Vec<f64> {
    let mut s = vec![0.0; d.nrows()];
    for j in 0..d.ncols() {
        for (i, a) in s.iter_mut().enumerate() {
            *a += d[(i, j)].to_f64();
        }
    }
    s
}

/// `a · bᵀ` as `f64` rows (row-major), the layout of [`GateWeights`].
fn outer_sum<T: Float>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<f64> {
    let mut m = Mat::<T>::zeros(a.nrows(), b.nrows());
    gemm(m.as_mut(), Accum::Replace, a, b.transpose());
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)].to_f64())
}

/// Gate `g`'s block of stacked gradients (`GN × N`, `GN × I`, `GN`).
fn gate_block(du: &Mat<f64>, dw: &Mat<f64>, db: &[f64], g: usize, n: usize) -> GateWeights {
    let inputs = dw.ncols();
    GateWeights {
        u: (0..n * n).map(|k| du[(g * n + k / n, k % n)]).collect(),
        w: (0..n * inputs)
            .map(|k| dw[(g * n + k / inputs, k % inputs)])
            .collect(),
        b: db[g * n..(g + 1) * n].to_vec(),
    }
}

/// The readout of a chunk, walking the steps backwards: after step `t`,
/// for every sequence supervised there, the loss, the outputs, the
/// readout's gradient and `W_oᵀ ∂ℓ/∂y` added to the sequence's column of
/// the state adjoint. Computed in `f64` from the state.
struct Readouts<'a> {
    readout: &'a ReadoutWeights,
    chunk: &'a [Example],
    n: usize,
    /// Next supervised step of each sequence (counting down).
    cursor: Vec<usize>,
    grad: ReadoutWeights,
    loss: Vec<f64>,
    outputs: Vec<Vec<f64>>,
    h: Vec<f64>,
    dh: Vec<f64>,
}

impl<'a> Readouts<'a> {
    fn new(readout: &'a ReadoutWeights, chunk: &'a [Example], n: usize) -> Self {
        let k = readout.outputs;
        Readouts {
            readout,
            chunk,
            n,
            cursor: chunk.iter().map(|ex| ex.supervision.at.len()).collect(),
            grad: ReadoutWeights {
                outputs: k,
                w: vec![0.0; k * n],
                b: vec![0.0; k],
            },
            loss: vec![0.0; chunk.len()],
            outputs: chunk
                .iter()
                .map(|ex| vec![0.0; ex.supervision.at.len() * k])
                .collect(),
            h: vec![0.0; n],
            dh: vec![0.0; n],
        }
    }

    /// The readout at every supervised step of the states `h` (steps
    /// `0 … T`, blocks of `blk`), without an adjoint: a forward pass's.
    fn read_all<T: Float>(&mut self, h: &[T], blk: usize) {
        let steps = h.len() / blk - 1;
        let mut scratch = vec![T::ZERO; blk];
        for t in (0..steps).rev() {
            self.supervise(t, &h[(t + 1) * blk..(t + 2) * blk], &mut scratch);
        }
    }

    /// Step `t`, its state block `h` and the adjoint block `delta`.
    fn supervise<T: Float>(&mut self, t: usize, h: &[T], delta: &mut [T]) {
        let (n, k) = (self.n, self.readout.outputs);
        for (j, ex) in self.chunk.iter().enumerate() {
            let s = self.cursor[j];
            if s == 0 || ex.supervision.at[s - 1] != t {
                continue;
            }
            let s = s - 1;
            self.cursor[j] = s;
            for (a, v) in self.h.iter_mut().zip(&h[j * n..(j + 1) * n]) {
                *a = v.to_f64();
            }
            self.dh.fill(0.0);
            let y = readout_step(
                self.readout,
                &ex.supervision,
                s,
                &self.h,
                &mut self.grad,
                &mut self.dh,
            );
            for (d, v) in delta[j * n..(j + 1) * n].iter_mut().zip(&self.dh) {
                *d += T::from_f64(*v);
            }
            self.outputs[j][s * k..(s + 1) * k].copy_from_slice(&y.outputs);
            self.loss[j] += y.loss;
        }
    }
}

fn numerical() -> HostError {
    HostError::Numerical {
        step: "bptt forward (batched)",
        source: gatedyn::Error::NonFinite {
            what: gatedyn::Quantity::State,
            index: 0,
        },
    }
}

fn all_finite<T: Float>(block: &[T]) -> bool {
    block.iter().all(|v| Real::is_finite(*v))
}

/// The loss summed over `chunk` and the gradient summed over it (not
/// averaged), outputs concatenated: what [`crate::bptt::loss_gradient`]
/// gives per sequence, summed, computed in `precision`. The sequences must
/// have one length (a [`HostError::BadInput`] otherwise).
pub fn chunk_loss_gradient(
    net: &CellWeights,
    activation: Activation,
    readout: &ReadoutWeights,
    chunk: &[Example],
    precision: Precision,
) -> Result<LossGradient, HostError> {
    let (recurrent, readouts) = match precision {
        Precision::F32 => chunk_in::<f32>(net, activation, readout, chunk, Pass::Gradient)?,
        Precision::F64 => chunk_in::<f64>(net, activation, readout, chunk, Pass::Gradient)?,
    };
    Ok(LossGradient {
        loss: readouts.loss.iter().sum(),
        recurrent: recurrent.expect("a gradient pass returns the recurrent gradient"),
        readout: readouts.grad,
        outputs: readouts.outputs.concat(),
    })
}

/// Each sequence's loss and readout outputs, by the forward pass of
/// [`chunk_loss_gradient`] alone: what [`crate::bptt::evaluate`] gives per
/// sequence, computed in `precision`. The sequences must have one length
/// (a [`HostError::BadInput`] otherwise).
pub fn chunk_evaluate(
    net: &CellWeights,
    activation: Activation,
    readout: &ReadoutWeights,
    chunk: &[Example],
    precision: Precision,
) -> Result<Vec<Evaluation>, HostError> {
    let (_, readouts) = match precision {
        Precision::F32 => chunk_in::<f32>(net, activation, readout, chunk, Pass::Forward)?,
        Precision::F64 => chunk_in::<f64>(net, activation, readout, chunk, Pass::Forward)?,
    };
    Ok(readouts
        .loss
        .into_iter()
        .zip(readouts.outputs)
        .map(|(loss, outputs)| Evaluation { loss, outputs })
        .collect())
}

/// The chunk's shape: (hidden units, inputs, steps, sequences).
fn chunk_shape(
    net: &CellWeights,
    readout: &ReadoutWeights,
    chunk: &[Example],
) -> Result<(usize, usize, usize, usize), HostError> {
    let (n, inputs) = crate::bptt::shape(net);
    let mut steps = 0;
    for ex in chunk {
        let t = check(n, inputs, readout, &ex.inputs, &ex.supervision)?;
        if steps != 0 && t != steps {
            return Err(HostError::BadInput(format!(
                "bptt: a batched chunk mixes sequences of {steps} and {t} steps"
            )));
        }
        steps = t;
    }
    if chunk.is_empty() {
        return Err(HostError::BadInput("bptt: an empty chunk".into()));
    }
    Ok((n, inputs, steps, chunk.len()))
}

/// Whether a chunk runs forward only (loss and outputs) or also backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Forward,
    Gradient,
}

/// The chunk's loss, readout gradient and outputs, and with
/// [`Pass::Gradient`] its recurrent gradient.
fn chunk_in<'a, T: Float>(
    net: &CellWeights,
    activation: Activation,
    readout: &'a ReadoutWeights,
    chunk: &'a [Example],
    pass: Pass,
) -> Result<(Option<CellWeights>, Readouts<'a>), HostError> {
    let (n, inputs, steps, b) = chunk_shape(net, readout, chunk)?;
    let cols = steps * b;
    // the inputs, I × TB: column t·B + j is sequence j's input at step t
    let mut pool = T::pool().take();
    let mut xs = pool.take(cols * inputs);
    for t in 0..steps {
        for (j, ex) in chunk.iter().enumerate() {
            let dst = &mut xs[(t * b + j) * inputs..(t * b + j + 1) * inputs];
            for (d, v) in dst.iter_mut().zip(&ex.inputs[t * inputs..(t + 1) * inputs]) {
                *d = T::from_f64(*v);
            }
        }
    }
    let shape = Shape {
        n,
        inputs,
        steps,
        b,
    };
    let mut readouts = Readouts::new(readout, chunk, n);
    let recurrent = match net {
        CellWeights::Gru { weights, form } => gru_chunk(
            weights,
            form,
            activation,
            &xs,
            shape,
            &mut readouts,
            pass,
            &mut pool,
        )?,
        CellWeights::Lstm(weights) => lstm_chunk(
            weights,
            activation,
            &xs,
            shape,
            &mut readouts,
            pass,
            &mut pool,
        )?,
    };
    pool.give([xs]);
    T::pool().set(pool);
    Ok((recurrent, readouts))
}

/// Sizes of a chunk.
#[derive(Clone, Copy)]
struct Shape {
    n: usize,
    inputs: usize,
    steps: usize,
    b: usize,
}

/// A GRU's chunk (docs/THEORY.md §13, both forms).
fn gru_chunk<T: Float>(
    weights: &GruWeights,
    form: &GruForm<Vec<f64>>,
    activation: Activation,
    xs: &[T],
    Shape {
        n,
        inputs,
        steps,
        b,
    }: Shape,
    readouts: &mut Readouts<'_>,
    pass: Pass,
    pool: &mut Pool<T>,
) -> Result<Option<CellWeights>, HostError> {
    let s = Stacked::<T>::of(&[&weights.z, &weights.r, &weights.h], n, inputs);
    let b_hn: Option<Vec<T>> = match form {
        GruForm::ResetAfter { recurrent_bias } => {
            Some(recurrent_bias.iter().map(|v| T::from_f64(*v)).collect())
        }
        GruForm::ResetBefore => None,
    };
    let (g3, blk, cols) = (3 * n, n * b, steps * b);
    // W X + b, then per step overwritten by the gate values [z; r; h̃]
    let mut gates = input_products(&s, xs, cols, pool);
    let mut h = pool.take((steps + 1) * blk);
    // φ'(a_h), and what multiplied U_h: r ⊙ h (paper form) or U_h h + b_hn
    let (mut dphi, mut operand) = (pool.take(cols * n), pool.take(cols * n));
    let mut rec = vec![T::ZERO; g3 * b];
    let u_zr = s.u.as_ref().subrows(0, 2 * n);
    let u_h = s.u.as_ref().subrows(2 * n, n);
    for t in 0..steps {
        let (hs, rest) = h.split_at_mut((t + 1) * blk);
        let (h_t, next) = (&hs[t * blk..], &mut rest[..blk]);
        let g_t = &mut gates[t * b * g3..(t + 1) * b * g3];
        let op = &mut operand[t * blk..(t + 1) * blk];
        let dp = &mut dphi[t * blk..(t + 1) * blk];
        match &b_hn {
            Some(bhn) => {
                gemm(
                    view_mut(&mut rec, g3, b),
                    Accum::Replace,
                    s.u.as_ref(),
                    view(h_t, n, b),
                );
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let (g, r) = (&mut g_t[j * g3..(j + 1) * g3], &rec[j * g3..(j + 1) * g3]);
                    let (zr, a) = g.split_at_mut(2 * n);
                    gates_from(zr, &r[..2 * n]);
                    let (z, rv) = zr.split_at(n);
                    let (un, rec_h) = (&mut op[col.clone()], &r[2 * n..]);
                    candidate_after(un, a, rec_h, bhn, rv);
                    apply_phi(activation, a, &mut dp[col.clone()]);
                    let (h_j, next_j) = (&h_t[col.clone()], &mut next[col]);
                    blend(next_j, z, h_j, a);
                }
            }
            None => {
                gemm(
                    view_mut(&mut rec[..2 * blk], 2 * n, b),
                    Accum::Replace,
                    u_zr,
                    view(h_t, n, b),
                );
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let g = &mut g_t[j * g3..j * g3 + 2 * n];
                    gates_from(g, &rec[j * 2 * n..(j + 1) * 2 * n]);
                    let (rv, h_j, o) = (&g[n..], &h_t[col.clone()], &mut op[col]);
                    mul_into(o, rv, h_j);
                }
                let rh = &mut rec[..blk];
                gemm(view_mut(rh, n, b), Accum::Replace, u_h, view(op, n, b));
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let (zr, a) = g_t[j * g3..(j + 1) * g3].split_at_mut(2 * n);
                    let rh_j = &rh[col.clone()];
                    add_into(a, rh_j);
                    apply_phi(activation, a, &mut dp[col.clone()]);
                    let (z, h_j, next_j) = (&zr[..n], &h_t[col.clone()], &mut next[col]);
                    blend(next_j, z, h_j, a);
                }
            }
        }
        if !all_finite(next) {
            return Err(numerical());
        }
    }
    if pass == Pass::Forward {
        readouts.read_all(&h, blk);
        pool.give([gates, h, dphi, operand]);
        return Ok(None);
    }
    // backwards: D = [∂L/∂a_z; ∂L/∂a_r; ∂L/∂(U_h operand)] per step, and
    // in the reset-after form ∂L/∂a_h apart (what W_h and b_h see)
    let mut d = pool.take(cols * g3);
    let mut d_ah = pool.take(if b_hn.is_some() { cols * n } else { 0 });
    let mut delta = vec![T::ZERO; blk];
    let mut back = vec![T::ZERO; blk];
    let mut d_rh = vec![T::ZERO; blk];
    for t in (0..steps).rev() {
        readouts.supervise(t, &h[(t + 1) * blk..(t + 2) * blk], &mut delta);
        let h_t = &h[t * blk..(t + 1) * blk];
        let g_t = &gates[t * b * g3..(t + 1) * b * g3];
        let op = &operand[t * blk..(t + 1) * blk];
        let dp = &dphi[t * blk..(t + 1) * blk];
        let d_t = &mut d[t * b * g3..(t + 1) * b * g3];
        match b_hn {
            Some(_) => {
                let dah = &mut d_ah[t * blk..(t + 1) * blk];
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let g = &g_t[j * g3..(j + 1) * g3];
                    let (z, rv, c) = (&g[..n], &g[n..2 * n], &g[2 * n..]);
                    let (dz, rest) = d_t[j * g3..(j + 1) * g3].split_at_mut(n);
                    let (dr, dn) = rest.split_at_mut(n);
                    let (dl, h_j, o, dp_j) = (
                        &delta[col.clone()],
                        &h_t[col.clone()],
                        &op[col.clone()],
                        &dp[col.clone()],
                    );
                    let (da_j, back_j) = (&mut dah[col.clone()], &mut back[col]);
                    gru_back_after(dz, dr, dn, da_j, back_j, z, rv, c, dl, h_j, o, dp_j);
                }
                gemm(
                    view_mut(&mut back, n, b),
                    Accum::Add,
                    s.u.as_ref().transpose(),
                    view(d_t, g3, b),
                );
            }
            None => {
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let g = &g_t[j * g3..(j + 1) * g3];
                    let (z, c) = (&g[..n], &g[2 * n..]);
                    let dd = &mut d_t[j * g3..(j + 1) * g3];
                    let (dz, rest) = dd.split_at_mut(n);
                    let dh = &mut rest[n..];
                    let (dl, h_j, dp_j) =
                        (&delta[col.clone()], &h_t[col.clone()], &dp[col.clone()]);
                    let back_j = &mut back[col];
                    gru_back_before(dz, dh, back_j, z, c, dl, h_j, dp_j);
                }
                let d_view = view(d_t, g3, b);
                gemm(
                    view_mut(&mut d_rh, n, b),
                    Accum::Replace,
                    u_h.transpose(),
                    d_view.subrows(2 * n, n),
                );
                for j in 0..b {
                    let col = j * n..(j + 1) * n;
                    let rv = &g_t[j * g3 + n..j * g3 + 2 * n];
                    let dr = &mut d_t[j * g3 + n..j * g3 + 2 * n];
                    let (drh, h_j, back_j) =
                        (&d_rh[col.clone()], &h_t[col.clone()], &mut back[col]);
                    gru_back_reset(back_j, dr, drh, h_j, rv);
                }
                gemm(
                    view_mut(&mut back, n, b),
                    Accum::Add,
                    u_zr.transpose(),
                    view(d_t, g3, b).subrows(0, 2 * n),
                );
            }
        }
        std::mem::swap(&mut delta, &mut back);
    }
    let d_all = view(&d, g3, cols);
    let h_all = view(&h[..cols * n], n, cols);
    let x_all = view(xs, inputs, cols);
    let (du, dw, db, d_bhn) = match b_hn {
        Some(_) => {
            // U (all three) sees D; W and b see ∂L/∂a_h in the third block
            let du = outer_sum(d_all, h_all);
            let d_ah = view(&d_ah, n, cols);
            let mut dw = outer_sum(d_all, x_all);
            let dw_h = outer_sum(d_ah, x_all);
            let mut db = row_sums(d_all);
            let d_bhn = db[2 * n..].to_vec();
            db[2 * n..].copy_from_slice(&row_sums(d_ah));
            for i in 0..n {
                for k in 0..inputs {
                    dw[(2 * n + i, k)] = dw_h[(i, k)];
                }
            }
            (du, dw, db, Some(d_bhn))
        }
        None => {
            let mut du = outer_sum(d_all.subrows(0, 2 * n), h_all);
            let du_h = outer_sum(d_all.subrows(2 * n, n), view(&operand, n, cols));
            du = Mat::from_fn(g3, n, |i, j| {
                if i < 2 * n {
                    du[(i, j)]
                } else {
                    du_h[(i - 2 * n, j)]
                }
            });
            (du, outer_sum(d_all, x_all), row_sums(d_all), None)
        }
    };
    pool.give([gates, h, dphi, operand, d, d_ah]);
    let [gz, gr, gh] = [0, 1, 2].map(|g| gate_block(&du, &dw, &db, g, n));
    Ok(Some(CellWeights::Gru {
        weights: GruWeights {
            z: gz,
            r: gr,
            h: gh,
        },
        form: match d_bhn {
            Some(recurrent_bias) => GruForm::ResetAfter { recurrent_bias },
            None => GruForm::ResetBefore,
        },
    }))
}

/// An LSTM's chunk (docs/THEORY.md §13).
fn lstm_chunk<T: Float>(
    weights: &LstmWeights,
    activation: Activation,
    xs: &[T],
    Shape {
        n,
        inputs,
        steps,
        b,
    }: Shape,
    readouts: &mut Readouts<'_>,
    pass: Pass,
    pool: &mut Pool<T>,
) -> Result<Option<CellWeights>, HostError> {
    let s = Stacked::<T>::of(&[&weights.f, &weights.i, &weights.o, &weights.c], n, inputs);
    let (g4, blk, cols) = (4 * n, n * b, steps * b);
    // W X + b, then per step overwritten by the gate values [f; i; o; g]
    let mut gates = input_products(&s, xs, cols, pool);
    // h and c of steps 0 … T; per step φ(c'), φ'(c'), φ'(a_c)
    let (mut h, mut c) = (pool.take((steps + 1) * blk), pool.take((steps + 1) * blk));
    let mut v: [Vec<T>; 3] = std::array::from_fn(|_| pool.take(cols * n));
    for t in 0..steps {
        let g_t = &mut gates[t * b * g4..(t + 1) * b * g4];
        let (hs, rest) = h.split_at_mut((t + 1) * blk);
        let (h_t, h_next) = (&hs[t * blk..], &mut rest[..blk]);
        gemm(
            view_mut(g_t, g4, b),
            Accum::Add,
            s.u.as_ref(),
            view(h_t, n, b),
        );
        let (cs, c_rest) = c.split_at_mut((t + 1) * blk);
        let (c_t, c_next) = (&cs[t * blk..], &mut c_rest[..blk]);
        let [c_act, dphi_c, dphi_g] = &mut v;
        for j in 0..b {
            let col = j * n..(j + 1) * n;
            let q = t * blk + j * n..t * blk + (j + 1) * n;
            let (fio, gg) = g_t[j * g4..(j + 1) * g4].split_at_mut(3 * n);
            for v in fio.iter_mut() {
                *v = v.gate();
            }
            apply_phi(activation, gg, &mut dphi_g[q.clone()]);
            let (f, ig, o) = (&fio[..n], &fio[n..2 * n], &fio[2 * n..]);
            let (c_j, c_n, h_n) = (
                &c_t[col.clone()],
                &mut c_next[col.clone()],
                &mut h_next[col],
            );
            lstm_cell(c_n, f, c_j, ig, gg);
            let (ca, dc) = (&mut c_act[q.clone()], &mut dphi_c[q]);
            ca.copy_from_slice(c_n);
            apply_phi(activation, ca, dc);
            mul_into(h_n, o, ca);
        }
        if !all_finite(h_next) || !all_finite(c_next) {
            return Err(numerical());
        }
    }
    if pass == Pass::Forward {
        readouts.read_all(&h, blk);
        let [v0, v1, v2] = v;
        pool.give([gates, h, c, v0, v1, v2]);
        return Ok(None);
    }
    let [c_act, dphi_c, dphi_g] = &v;
    let mut d = pool.take(cols * g4);
    let (mut dh, mut dc) = (vec![T::ZERO; blk], vec![T::ZERO; blk]);
    for t in (0..steps).rev() {
        readouts.supervise(t, &h[(t + 1) * blk..(t + 2) * blk], &mut dh);
        let g_t = &gates[t * b * g4..(t + 1) * b * g4];
        let d_t = &mut d[t * b * g4..(t + 1) * b * g4];
        for j in 0..b {
            let col = j * n..(j + 1) * n;
            let q = t * blk + j * n..t * blk + (j + 1) * n;
            let g = &g_t[j * g4..(j + 1) * g4];
            let (f, ig, o, gg) = (&g[..n], &g[n..2 * n], &g[2 * n..3 * n], &g[3 * n..]);
            let (df, rest) = d_t[j * g4..(j + 1) * g4].split_at_mut(n);
            let (di, rest) = rest.split_at_mut(n);
            let (d_o, dg) = rest.split_at_mut(n);
            let (ca, dpc, dpg) = (&c_act[q.clone()], &dphi_c[q.clone()], &dphi_g[q]);
            let (c_j, dh_j, dc_j) = (&c[t * blk..][col.clone()], &dh[col.clone()], &mut dc[col]);
            lstm_back(df, di, d_o, dg, dc_j, f, ig, o, gg, ca, dpc, dpg, c_j, dh_j);
        }
        gemm(
            view_mut(&mut dh, n, b),
            Accum::Replace,
            s.u.as_ref().transpose(),
            view(d_t, g4, b),
        );
    }
    let d_all = view(&d, g4, cols);
    let du = outer_sum(d_all, view(&h[..cols * n], n, cols));
    let dw = outer_sum(d_all, view(xs, inputs, cols));
    let db = row_sums(d_all);
    let [v0, v1, v2] = v;
    pool.give([gates, h, c, v0, v1, v2, d]);
    let [f, i, o, c] = [0, 1, 2, 3].map(|g| gate_block(&du, &dw, &db, g, n));
    Ok(Some(CellWeights::Lstm(LstmWeights { f, i, o, c })))
}
