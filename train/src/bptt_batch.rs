//! [`crate::bptt`] over a chunk of sequences at once: the states of the
//! chunk's `B` sequences are the columns of `N×B` blocks, one block per
//! step, so each product with a weight matrix is one faer matrix product
//! per step (`U H_t`, `Uᵀ Δ_t`), and each parameter gradient is a single
//! product over all steps, `Σ_t Δ_t P_tᵀ = Δ Pᵀ` with the blocks side by
//! side (`N × TB` times `TB × N`). Same equations (docs/THEORY.md §13) and
//! element functions as the core's step; only the order of the sums
//! differs, so the gradient agrees with the sequence-by-sequence one to
//! rounding (the tests ask 1e-12 relative and see 2e-15).
//!
//! The products run on one thread each: the caller parallelises over
//! chunks of a fixed size, which keeps every sum in an order that does not
//! depend on the number of threads.

use crate::bptt::{check, LossGradient};
use crate::loss::readout_step;
use crate::loss::Example;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use gatedyn::activation::{sigmoid, sigmoid_derivative};
use gatedyn::{Activation, GruForm};
use gatedyn_host::net::GateWeights;
use gatedyn_host::net::ReadoutWeights;
use gatedyn_host::net::{CellWeights, GruWeights, LstmWeights};
use gatedyn_host::HostError;

/// A chunk whose step blocks would take more than this many bytes goes
/// sequence by sequence instead ([`fits`]).
pub const MAX_CHUNK_BYTES: usize = 1 << 30;

/// Whether a chunk of `b` sequences of `steps` steps of an `n`-unit cell
/// fits [`MAX_CHUNK_BYTES`] (about 14 blocks of `n × steps·b` values).
pub fn fits(n: usize, steps: usize, b: usize) -> bool {
    n.saturating_mul(steps)
        .saturating_mul(b)
        .saturating_mul(14 * 8)
        <= MAX_CHUNK_BYTES
}

fn view(buf: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(buf, rows, cols)
}

fn view_mut(buf: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(buf, rows, cols)
}

/// `dst (rows × cols) = or += a · b`.
fn gemm(
    dst: &mut [f64],
    rows: usize,
    cols: usize,
    accum: Accum,
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
) {
    matmul(view_mut(dst, rows, cols), accum, a, b, 1.0, Par::Seq);
}

/// A gate's weights as matrices.
struct Gate {
    u: Mat<f64>,
    w: Mat<f64>,
    b: Vec<f64>,
}

impl Gate {
    fn of(g: &GateWeights, n: usize, inputs: usize) -> Self {
        Gate {
            u: Mat::from_fn(n, n, |i, j| g.u[i * n + j]),
            w: Mat::from_fn(n, inputs, |i, j| g.w[i * inputs + j]),
            b: g.b.clone(),
        }
    }
    /// `out = U h + W x + b` for one step block (`n × b`).
    fn preactivation(&self, h: &[f64], x: &[f64], out: &mut [f64]) {
        let (n, b) = (self.b.len(), h.len() / self.b.len());
        let inputs = self.w.ncols();
        gemm(out, n, b, Accum::Replace, self.u.as_ref(), view(h, n, b));
        gemm(out, n, b, Accum::Add, self.w.as_ref(), view(x, inputs, b));
        add_bias(out, &self.b);
    }
}

fn add_bias(block: &mut [f64], bias: &[f64]) {
    for col in block.chunks_exact_mut(bias.len()) {
        for (v, b) in col.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

fn row_sums(d: &[f64], n: usize) -> Vec<f64> {
    let mut s = vec![0.0; n];
    for col in d.chunks_exact(n) {
        for (a, v) in s.iter_mut().zip(col) {
            *a += v;
        }
    }
    s
}

/// `out += Uᵀ d` for one step block.
fn add_transposed(out: &mut [f64], u: &Mat<f64>, d: &[f64]) {
    let n = u.nrows();
    let b = d.len() / n;
    gemm(out, n, b, Accum::Add, u.transpose(), view(d, n, b));
}

/// A gate's gradient from its pre-activation adjoints of every step
/// (`d`, `n × TB`) and what multiplied `U` (`p`) and `W` (`x`):
/// `∂L/∂U = d pᵀ`, `∂L/∂W = d xᵀ`, `∂L/∂b = d 1`.
fn gate_gradient(d: &[f64], p: &[f64], x: &[f64], n: usize, inputs: usize) -> GateWeights {
    let cols = d.len() / n;
    let mut u = Mat::<f64>::zeros(n, n);
    matmul(
        u.as_mut(),
        Accum::Replace,
        view(d, n, cols),
        view(p, n, cols).transpose(),
        1.0,
        Par::Seq,
    );
    let mut w = Mat::<f64>::zeros(n, inputs);
    matmul(
        w.as_mut(),
        Accum::Replace,
        view(d, n, cols),
        view(x, inputs, cols).transpose(),
        1.0,
        Par::Seq,
    );
    GateWeights {
        u: (0..n * n).map(|k| u[(k / n, k % n)]).collect(),
        w: (0..n * inputs)
            .map(|k| w[(k / inputs, k % inputs)])
            .collect(),
        b: row_sums(d, n),
    }
}

/// The loss summed over `chunk` and the gradient summed over it (not
/// averaged), outputs concatenated: what [`crate::bptt::loss_gradient`]
/// gives per sequence, summed. The sequences must have one length (a
/// [`HostError::Invalid`] otherwise).
pub fn chunk_loss_gradient(
    net: &CellWeights,
    activation: Activation,
    readout: &ReadoutWeights,
    chunk: &[Example],
) -> Result<LossGradient, HostError> {
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
    let b = chunk.len();
    if b == 0 {
        return Err(HostError::BadInput("bptt: an empty chunk".into()));
    }
    let blk = n * b;
    let all = steps * blk;
    let at = |t: usize| t * blk..(t + 1) * blk;
    // the inputs, I × TB: column t·B + j is sequence j's input at step t
    let mut xs = vec![0.0; steps * b * inputs];
    for t in 0..steps {
        for (j, ex) in chunk.iter().enumerate() {
            xs[(t * b + j) * inputs..(t * b + j + 1) * inputs]
                .copy_from_slice(&ex.inputs[t * inputs..(t + 1) * inputs]);
        }
    }
    let x_at = |t: usize| &xs[t * b * inputs..(t + 1) * b * inputs];
    let k = readout.outputs;
    let mut readout_grad = ReadoutWeights {
        outputs: k,
        w: vec![0.0; k * n],
        b: vec![0.0; k],
    };
    let mut loss = vec![0.0; b];
    let mut outputs: Vec<Vec<f64>> = chunk
        .iter()
        .map(|ex| vec![0.0; ex.supervision.at.len() * k])
        .collect();
    // next supervised step of each sequence, walking backwards
    let mut cursor: Vec<usize> = chunk.iter().map(|ex| ex.supervision.at.len()).collect();
    // the readout after step t (state block `h`) for every sequence
    // supervised there: adds W_oᵀ ∂ℓ/∂y to its column of `delta`
    let mut supervise = |t: usize, h: &[f64], delta: &mut [f64]| {
        for (j, ex) in chunk.iter().enumerate() {
            let s = cursor[j];
            if s == 0 || ex.supervision.at[s - 1] != t {
                continue;
            }
            let s = s - 1;
            cursor[j] = s;
            let y = readout_step(
                readout,
                &ex.supervision,
                s,
                &h[j * n..(j + 1) * n],
                &mut readout_grad,
                &mut delta[j * n..(j + 1) * n],
            );
            outputs[j][s * k..(s + 1) * k].copy_from_slice(&y.outputs);
            loss[j] += y.loss;
        }
    };
    let numerical = || HostError::Numerical {
        step: "bptt forward (batched)",
        source: gatedyn::Error::NonFinite {
            what: gatedyn::Quantity::State,
            index: 0,
        },
    };
    let mut tmp = vec![0.0; blk];
    let recurrent = match net {
        CellWeights::Gru { weights, form } => {
            let [gz, gr, gh] = [&weights.z, &weights.r, &weights.h].map(|g| Gate::of(g, n, inputs));
            let b_hn = match form {
                GruForm::ResetAfter { recurrent_bias } => Some(recurrent_bias),
                GruForm::ResetBefore => None,
            };
            // states H_0 … H_T, then per step z, r, h̃, φ'(a_h) and what
            // U_h multiplied: r ⊙ h (paper form) or U_h h + b_hn (after)
            let mut h = vec![0.0; all + blk];
            let (mut z, mut r, mut cand, mut dphi, mut operand) = (
                vec![0.0; all],
                vec![0.0; all],
                vec![0.0; all],
                vec![0.0; all],
                vec![0.0; all],
            );
            for t in 0..steps {
                let (hs, rest) = h.split_at_mut((t + 1) * blk);
                let (h_t, next) = (&hs[at(t)], &mut rest[..blk]);
                let x = x_at(t);
                gz.preactivation(h_t, x, &mut z[at(t)]);
                z[at(t)].iter_mut().for_each(|v| *v = sigmoid(*v));
                gr.preactivation(h_t, x, &mut r[at(t)]);
                r[at(t)].iter_mut().for_each(|v| *v = sigmoid(*v));
                let a_h = &mut tmp;
                match b_hn {
                    None => {
                        for ((o, rv), hv) in operand[at(t)].iter_mut().zip(&r[at(t)]).zip(h_t) {
                            *o = rv * hv;
                        }
                        gh.preactivation(&operand[at(t)], x, a_h);
                    }
                    Some(bhn) => {
                        gemm(
                            &mut operand[at(t)],
                            n,
                            b,
                            Accum::Replace,
                            gh.u.as_ref(),
                            view(h_t, n, b),
                        );
                        add_bias(&mut operand[at(t)], bhn);
                        gemm(a_h, n, b, Accum::Replace, gh.w.as_ref(), view(x, inputs, b));
                        add_bias(a_h, &gh.b);
                        for ((a, rv), un) in a_h.iter_mut().zip(&r[at(t)]).zip(&operand[at(t)]) {
                            *a += rv * un;
                        }
                    }
                }
                for p in 0..blk {
                    let c = activation.apply(a_h[p]);
                    cand[t * blk + p] = c;
                    dphi[t * blk + p] = activation.derivative(a_h[p], c);
                    let zv = z[t * blk + p];
                    next[p] = (1.0 - zv) * h_t[p] + zv * c;
                }
                if next.iter().any(|v| !v.is_finite()) {
                    return Err(numerical());
                }
            }
            // backwards: the pre-activation adjoints of every step
            let (mut d_az, mut d_ar, mut d_ah) = (vec![0.0; all], vec![0.0; all], vec![0.0; all]);
            let mut d_n = vec![0.0; if b_hn.is_some() { all } else { 0 }];
            let mut delta = vec![0.0; blk];
            let mut back = vec![0.0; blk];
            for t in (0..steps).rev() {
                supervise(t, &h[at(t + 1)], &mut delta);
                let h_t = &h[at(t)];
                let (zt, rt) = (&z[at(t)], &r[at(t)]);
                {
                    let (dz, dh) = (&mut d_az[at(t)], &mut d_ah[at(t)]);
                    for p in 0..blk {
                        let zv = zt[p];
                        dz[p] = delta[p] * (cand[t * blk + p] - h_t[p]) * sigmoid_derivative(zv);
                        dh[p] = delta[p] * zv * dphi[t * blk + p];
                        back[p] = delta[p] * (1.0 - zv);
                    }
                }
                add_transposed(&mut back, &gz.u, &d_az[at(t)]);
                match b_hn {
                    None => {
                        let d_rh = &mut tmp;
                        d_rh.fill(0.0);
                        add_transposed(d_rh, &gh.u, &d_ah[at(t)]);
                        let dr = &mut d_ar[at(t)];
                        for p in 0..blk {
                            back[p] += d_rh[p] * rt[p];
                            dr[p] = d_rh[p] * h_t[p] * sigmoid_derivative(rt[p]);
                        }
                    }
                    Some(_) => {
                        let (dn, dr, dh) = (&mut d_n[at(t)], &mut d_ar[at(t)], &d_ah[at(t)]);
                        let op = &operand[at(t)];
                        for p in 0..blk {
                            dn[p] = dh[p] * rt[p];
                            dr[p] = dh[p] * op[p] * sigmoid_derivative(rt[p]);
                        }
                        add_transposed(&mut back, &gh.u, &d_n[at(t)]);
                    }
                }
                add_transposed(&mut back, &gr.u, &d_ar[at(t)]);
                std::mem::swap(&mut delta, &mut back);
            }
            let h_all = &h[..all];
            let (uz, ur) = (
                gate_gradient(&d_az, h_all, &xs, n, inputs),
                gate_gradient(&d_ar, h_all, &xs, n, inputs),
            );
            let (grad_h, grad_bhn) = match b_hn {
                None => (gate_gradient(&d_ah, &operand, &xs, n, inputs), vec![]),
                Some(_) => {
                    // W_h and b_h see ∂L/∂a_h; U_h and b_hn see ∂L/∂n
                    let mut g = gate_gradient(&d_ah, h_all, &xs, n, inputs);
                    g.u = gate_gradient(&d_n, h_all, &xs, n, inputs).u;
                    (g, row_sums(&d_n, n))
                }
            };
            let form = if grad_bhn.is_empty() {
                GruForm::ResetBefore
            } else {
                GruForm::ResetAfter {
                    recurrent_bias: grad_bhn,
                }
            };
            CellWeights::Gru {
                weights: GruWeights {
                    z: uz,
                    r: ur,
                    h: grad_h,
                },
                form,
            }
        }
        CellWeights::Lstm(weights) => {
            let gates =
                [&weights.f, &weights.i, &weights.o, &weights.c].map(|g| Gate::of(g, n, inputs));
            // h and c of steps 0 … T; per step f, i, o, g, φ(c'), φ'(c'), φ'(a_c)
            let (mut h, mut c) = (vec![0.0; all + blk], vec![0.0; all + blk]);
            let mut v: [Vec<f64>; 7] = std::array::from_fn(|_| vec![0.0; all]);
            for t in 0..steps {
                let x = x_at(t);
                let [f, i, o, g, c_act, dphi_c, dphi_g] = &mut v;
                for (gate, out) in gates.iter().zip([&mut *f, &mut *i, &mut *o, &mut *g]) {
                    gate.preactivation(&h[at(t)], x, &mut out[at(t)]);
                }
                for p in t * blk..(t + 1) * blk {
                    f[p] = sigmoid(f[p]);
                    i[p] = sigmoid(i[p]);
                    o[p] = sigmoid(o[p]);
                    let a_c = g[p];
                    g[p] = activation.apply(a_c);
                    dphi_g[p] = activation.derivative(a_c, g[p]);
                    let c_next = f[p] * c[p] + i[p] * g[p];
                    c[p + blk] = c_next;
                    c_act[p] = activation.apply(c_next);
                    dphi_c[p] = activation.derivative(c_next, c_act[p]);
                    h[p + blk] = o[p] * c_act[p];
                }
                if h[at(t + 1)]
                    .iter()
                    .chain(&c[at(t + 1)])
                    .any(|v| !v.is_finite())
                {
                    return Err(numerical());
                }
            }
            let [f, i, o, g, c_act, dphi_c, dphi_g] = &v;
            let mut d: [Vec<f64>; 4] = std::array::from_fn(|_| vec![0.0; all]);
            let (mut dh, mut dc) = (vec![0.0; blk], vec![0.0; blk]);
            let mut dh_prev = vec![0.0; blk];
            for t in (0..steps).rev() {
                supervise(t, &h[at(t + 1)], &mut dh);
                {
                    let [df, di, d_o, dg] = &mut d;
                    for q in 0..blk {
                        let p = t * blk + q;
                        // h' = o φ(c'), c' = f c + i g
                        let dc_total = dc[q] + dh[q] * o[p] * dphi_c[p];
                        d_o[p] = dh[q] * c_act[p] * sigmoid_derivative(o[p]);
                        df[p] = dc_total * c[p] * sigmoid_derivative(f[p]);
                        di[p] = dc_total * g[p] * sigmoid_derivative(i[p]);
                        dg[p] = dc_total * i[p] * dphi_g[p];
                        dc[q] = dc_total * f[p];
                    }
                }
                dh_prev.fill(0.0);
                for (gate, dk) in gates.iter().zip(&d) {
                    add_transposed(&mut dh_prev, &gate.u, &dk[at(t)]);
                }
                std::mem::swap(&mut dh, &mut dh_prev);
            }
            let h_all = &h[..all];
            let [gf, gi, go, gc] =
                [0, 1, 2, 3].map(|k| gate_gradient(&d[k], h_all, &xs, n, inputs));
            CellWeights::Lstm(LstmWeights {
                f: gf,
                i: gi,
                o: go,
                c: gc,
            })
        }
    };
    Ok(LossGradient {
        loss: loss.iter().sum(),
        recurrent,
        readout: readout_grad,
        outputs: outputs.concat(),
    })
}
