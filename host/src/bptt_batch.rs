//! [`crate::bptt`] over a chunk of sequences at once: the states of the
//! chunk's `B` sequences are the columns of `N×B` matrices, so each
//! product with a weight matrix is one faer matrix product (`U H`,
//! `Uᵀ Δ`) and each parameter gradient an `N×B · B×N` product (`Δ Hᵀ`)
//! instead of `B` matrix-vector and outer products. Same equations
//! (docs/THEORY.md §13), same element functions as the core's step; only
//! the order of the sums differs, so the gradient agrees with the
//! sequence-by-sequence one to rounding (the tests ask 1e-12 relative).
//!
//! The products run on one thread each: the caller parallelises over
//! chunks of a fixed size, which keeps every sum in an order that does not
//! depend on the number of threads.

use crate::bptt::{check, step_loss, LossGradient, Recurrent, RecurrentGradient};
use crate::model::ReadoutWeights;
use crate::network::GateWeights;
use crate::train::Example;
use crate::HostError;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use gatedyn::activation::{sigmoid, sigmoid_derivative};
use gatedyn::{Activation, GruForm};

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
    /// `U h + W x + b`, column by column.
    fn preactivation(&self, h: MatRef<'_, f64>, x: MatRef<'_, f64>) -> Mat<f64> {
        let mut a = Mat::zeros(self.u.nrows(), h.ncols());
        matmul(a.as_mut(), Accum::Replace, self.u.as_ref(), h, 1.0, Par::Seq);
        matmul(a.as_mut(), Accum::Add, self.w.as_ref(), x, 1.0, Par::Seq);
        add_bias(&mut a, &self.b);
        a
    }
}

fn add_bias(a: &mut Mat<f64>, b: &[f64]) {
    for j in 0..a.ncols() {
        for (v, bi) in a.col_as_slice_mut(j).iter_mut().zip(b) {
            *v += bi;
        }
    }
}

/// `out[i][j] = f(a[i][j], b[i][j], …)` over equal shapes.
fn map2(a: &Mat<f64>, b: &Mat<f64>, f: impl Fn(f64, f64) -> f64) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| f(a[(i, j)], b[(i, j)]))
}

/// The gradient of one gate: `∂L/∂U`, `∂L/∂W` (as matrices) and `∂L/∂b`.
struct GateGrad {
    u: Mat<f64>,
    w: Mat<f64>,
    b: Vec<f64>,
}

impl GateGrad {
    fn zeros(n: usize, inputs: usize) -> Self {
        GateGrad {
            u: Mat::zeros(n, n),
            w: Mat::zeros(n, inputs),
            b: vec![0.0; n],
        }
    }
    /// `U += D Pᵀ`, `W += D Xᵀ`, `b += D 1`.
    fn accumulate(&mut self, d: &Mat<f64>, p: MatRef<'_, f64>, x: MatRef<'_, f64>) {
        matmul(self.u.as_mut(), Accum::Add, d.as_ref(), p.transpose(), 1.0, Par::Seq);
        matmul(self.w.as_mut(), Accum::Add, d.as_ref(), x.transpose(), 1.0, Par::Seq);
        add_row_sums(&mut self.b, d);
    }
    fn into_weights(self, scale: f64) -> GateWeights {
        let (n, ni) = (self.w.nrows(), self.w.ncols());
        GateWeights {
            u: (0..n * n).map(|k| scale * self.u[(k / n, k % n)]).collect(),
            w: (0..n * ni)
                .map(|k| scale * self.w[(k / ni, k % ni)])
                .collect(),
            b: self.b.iter().map(|v| scale * v).collect(),
        }
    }
}

fn add_row_sums(b: &mut [f64], d: &Mat<f64>) {
    for j in 0..d.ncols() {
        for (bi, v) in b.iter_mut().zip(d.col_as_slice(j)) {
            *bi += v;
        }
    }
}

/// `out += Uᵀ D`.
fn add_transposed(out: &mut Mat<f64>, u: &Mat<f64>, d: &Mat<f64>) {
    matmul(out.as_mut(), Accum::Add, u.transpose(), d.as_ref(), 1.0, Par::Seq);
}

/// The loss summed over `chunk` and the gradient summed over it (not
/// averaged), outputs concatenated: what [`crate::bptt::loss_gradient`]
/// gives per sequence, summed. The sequences must have one length.
pub fn chunk_loss_gradient(
    net: Recurrent<'_>,
    activation: Activation,
    readout: &ReadoutWeights,
    chunk: &[Example],
) -> Result<LossGradient, HostError> {
    let (n, inputs) = crate::bptt::shape(&net);
    let mut steps = 0;
    for ex in chunk {
        let t = check(n, inputs, readout, &ex.inputs, &ex.supervision)?;
        if steps != 0 && t != steps {
            return Err(HostError::Param(format!(
                "bptt: a batched chunk mixes sequences of {steps} and {t} steps"
            )));
        }
        steps = t;
    }
    let b = chunk.len();
    if b == 0 {
        return Err(HostError::Param("bptt: an empty chunk".into()));
    }
    let x_at = |t: usize| {
        Mat::from_fn(inputs, b, |i, j| chunk[j].inputs[t * inputs + i])
    };
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
    // the readout at step t for every sequence supervised there: adds
    // W_oᵀ ∂ℓ/∂y to column j of `delta`
    let mut supervise = |t: usize, h: &Mat<f64>, delta: &mut Mat<f64>| {
        for (j, ex) in chunk.iter().enumerate() {
            let s = cursor[j];
            if s == 0 || ex.supervision.at[s - 1] != t {
                continue;
            }
            cursor[j] = s - 1;
            let s = s - 1;
            let hj = h.col_as_slice(j);
            let y = readout.output(hj);
            let (l, e) = step_loss(&ex.supervision.objective, s, ex.supervision.at.len(), &y);
            outputs[j][s * k..(s + 1) * k].copy_from_slice(&y);
            loss[j] += l;
            let dj = delta.col_as_slice_mut(j);
            for (o, &eo) in e.iter().enumerate() {
                readout_grad.b[o] += eo;
                let row = &readout.w[o * n..(o + 1) * n];
                for ((g, &hv), (d, &wv)) in readout_grad.w[o * n..(o + 1) * n]
                    .iter_mut()
                    .zip(hj)
                    .zip(dj.iter_mut().zip(row))
                {
                    *g += eo * hv;
                    *d += eo * wv;
                }
            }
        }
    };
    let not_finite = |m: &Mat<f64>| (0..m.ncols()).any(|j| m.col_as_slice(j).iter().any(|v| !v.is_finite()));
    let numerical = || HostError::Numerical {
        step: "bptt forward (batched)",
        source: gatedyn::Error::NonFinite {
            what: gatedyn::Quantity::State,
            index: 0,
        },
    };
    let recurrent = match net {
        Recurrent::Gru { weights, form } => {
            let [gz, gr, gh] = [&weights.z, &weights.r, &weights.h].map(|g| Gate::of(g, n, inputs));
            let b_hn = match form {
                GruForm::ResetAfter { recurrent_bias } => Some(recurrent_bias),
                GruForm::ResetBefore => None,
            };
            // forward: per step the gates, the candidate's pre-activation,
            // the candidate and what U_h multiplied (r ⊙ h, or h)
            struct Step {
                z: Mat<f64>,
                r: Mat<f64>,
                a_h: Mat<f64>,
                cand: Mat<f64>,
                /// r ⊙ h (paper form) or U_h h + b_hn (reset-after).
                operand: Mat<f64>,
            }
            let mut states = vec![Mat::<f64>::zeros(n, b)];
            let mut trace = Vec::with_capacity(steps);
            for t in 0..steps {
                let (h, x) = (&states[t], x_at(t));
                let z = gz.preactivation(h.as_ref(), x.as_ref());
                let z = Mat::from_fn(n, b, |i, j| sigmoid(z[(i, j)]));
                let r = gr.preactivation(h.as_ref(), x.as_ref());
                let r = Mat::from_fn(n, b, |i, j| sigmoid(r[(i, j)]));
                let (a_h, operand) = match b_hn {
                    None => {
                        let rh = map2(&r, h, |a, c| a * c);
                        (gh.preactivation(rh.as_ref(), x.as_ref()), rh)
                    }
                    Some(bhn) => {
                        let mut un = Mat::zeros(n, b);
                        matmul(un.as_mut(), Accum::Replace, gh.u.as_ref(), h.as_ref(), 1.0, Par::Seq);
                        add_bias(&mut un, bhn);
                        let mut a = Mat::zeros(n, b);
                        matmul(a.as_mut(), Accum::Replace, gh.w.as_ref(), x.as_ref(), 1.0, Par::Seq);
                        add_bias(&mut a, &gh.b);
                        let a = Mat::from_fn(n, b, |i, j| a[(i, j)] + r[(i, j)] * un[(i, j)]);
                        (a, un)
                    }
                };
                let cand = Mat::from_fn(n, b, |i, j| activation.apply(a_h[(i, j)]));
                let next = Mat::from_fn(n, b, |i, j| {
                    (1.0 - z[(i, j)]) * h[(i, j)] + z[(i, j)] * cand[(i, j)]
                });
                if not_finite(&next) {
                    return Err(numerical());
                }
                states.push(next);
                trace.push(Step { z, r, a_h, cand, operand });
            }
            let (mut dz, mut dr, mut dh) = (
                GateGrad::zeros(n, inputs),
                GateGrad::zeros(n, inputs),
                GateGrad::zeros(n, inputs),
            );
            let mut d_bhn = vec![0.0; if b_hn.is_some() { n } else { 0 }];
            let mut delta = Mat::<f64>::zeros(n, b);
            for t in (0..steps).rev() {
                supervise(t, &states[t + 1], &mut delta);
                let (h, x, s) = (&states[t], x_at(t), &trace[t]);
                let d_az = Mat::from_fn(n, b, |i, j| {
                    delta[(i, j)] * (s.cand[(i, j)] - h[(i, j)]) * sigmoid_derivative(s.z[(i, j)])
                });
                let d_ah = Mat::from_fn(n, b, |i, j| {
                    delta[(i, j)]
                        * s.z[(i, j)]
                        * activation.derivative(s.a_h[(i, j)], s.cand[(i, j)])
                });
                let mut back = map2(&delta, &s.z, |d, z| d * (1.0 - z));
                dz.accumulate(&d_az, h.as_ref(), x.as_ref());
                add_transposed(&mut back, &gz.u, &d_az);
                let d_ar = match b_hn {
                    None => {
                        dh.accumulate(&d_ah, s.operand.as_ref(), x.as_ref());
                        let mut d_rh = Mat::zeros(n, b);
                        add_transposed(&mut d_rh, &gh.u, &d_ah);
                        for j in 0..b {
                            for i in 0..n {
                                back[(i, j)] += d_rh[(i, j)] * s.r[(i, j)];
                            }
                        }
                        Mat::from_fn(n, b, |i, j| {
                            d_rh[(i, j)] * h[(i, j)] * sigmoid_derivative(s.r[(i, j)])
                        })
                    }
                    Some(_) => {
                        let d_n = map2(&d_ah, &s.r, |a, r| a * r);
                        // W_h and b_h see ∂L/∂a_h; U_h and b_hn see ∂L/∂n
                        matmul(dh.w.as_mut(), Accum::Add, d_ah.as_ref(), x.transpose(), 1.0, Par::Seq);
                        add_row_sums(&mut dh.b, &d_ah);
                        matmul(dh.u.as_mut(), Accum::Add, d_n.as_ref(), h.transpose(), 1.0, Par::Seq);
                        add_row_sums(&mut d_bhn, &d_n);
                        add_transposed(&mut back, &gh.u, &d_n);
                        Mat::from_fn(n, b, |i, j| {
                            d_ah[(i, j)] * s.operand[(i, j)] * sigmoid_derivative(s.r[(i, j)])
                        })
                    }
                };
                dr.accumulate(&d_ar, h.as_ref(), x.as_ref());
                add_transposed(&mut back, &gr.u, &d_ar);
                delta = back;
            }
            RecurrentGradient::Gru {
                z: dz.into_weights(1.0),
                r: dr.into_weights(1.0),
                h: dh.into_weights(1.0),
                b_hn: d_bhn,
            }
        }
        Recurrent::Lstm(weights) => {
            let gates = [&weights.f, &weights.i, &weights.o, &weights.c].map(|g| Gate::of(g, n, inputs));
            struct Step {
                f: Mat<f64>,
                i: Mat<f64>,
                o: Mat<f64>,
                a_c: Mat<f64>,
                g: Mat<f64>,
                c_next: Mat<f64>,
                c_act: Mat<f64>,
            }
            let mut states = vec![(Mat::<f64>::zeros(n, b), Mat::<f64>::zeros(n, b))];
            let mut trace = Vec::with_capacity(steps);
            for t in 0..steps {
                let ((h, c), x) = (&states[t], x_at(t));
                let [f, i, o, a_c] =
                    [0, 1, 2, 3].map(|k| gates[k].preactivation(h.as_ref(), x.as_ref()));
                let sig = |m: &Mat<f64>| Mat::from_fn(n, b, |p, q| sigmoid(m[(p, q)]));
                let (f, i, o) = (sig(&f), sig(&i), sig(&o));
                let g = Mat::from_fn(n, b, |p, q| activation.apply(a_c[(p, q)]));
                let c_next = Mat::from_fn(n, b, |p, q| {
                    f[(p, q)] * c[(p, q)] + i[(p, q)] * g[(p, q)]
                });
                let c_act = Mat::from_fn(n, b, |p, q| activation.apply(c_next[(p, q)]));
                let h_next = map2(&o, &c_act, |a, v| a * v);
                if not_finite(&c_next) || not_finite(&h_next) {
                    return Err(numerical());
                }
                states.push((h_next, c_next.clone()));
                trace.push(Step { f, i, o, a_c, g, c_next, c_act });
            }
            let mut grads = [0, 1, 2, 3].map(|_| GateGrad::zeros(n, inputs));
            let (mut dh, mut dc) = (Mat::<f64>::zeros(n, b), Mat::<f64>::zeros(n, b));
            for t in (0..steps).rev() {
                supervise(t, &states[t + 1].0, &mut dh);
                let ((h, c), x, s) = (&states[t], x_at(t), &trace[t]);
                let dc_total = Mat::from_fn(n, b, |p, q| {
                    dc[(p, q)]
                        + dh[(p, q)]
                            * s.o[(p, q)]
                            * activation.derivative(s.c_next[(p, q)], s.c_act[(p, q)])
                });
                let d = [
                    Mat::from_fn(n, b, |p, q| {
                        dc_total[(p, q)] * c[(p, q)] * sigmoid_derivative(s.f[(p, q)])
                    }),
                    Mat::from_fn(n, b, |p, q| {
                        dc_total[(p, q)] * s.g[(p, q)] * sigmoid_derivative(s.i[(p, q)])
                    }),
                    Mat::from_fn(n, b, |p, q| {
                        dh[(p, q)] * s.c_act[(p, q)] * sigmoid_derivative(s.o[(p, q)])
                    }),
                    Mat::from_fn(n, b, |p, q| {
                        dc_total[(p, q)]
                            * s.i[(p, q)]
                            * activation.derivative(s.a_c[(p, q)], s.g[(p, q)])
                    }),
                ];
                let mut dh_prev = Mat::<f64>::zeros(n, b);
                for ((grad, dk), gate) in grads.iter_mut().zip(&d).zip(&gates) {
                    grad.accumulate(dk, h.as_ref(), x.as_ref());
                    add_transposed(&mut dh_prev, &gate.u, dk);
                }
                dc = map2(&dc_total, &s.f, |a, f| a * f);
                dh = dh_prev;
            }
            let [f, i, o, c] = grads.map(|g| g.into_weights(1.0));
            RecurrentGradient::Lstm { f, i, o, c }
        }
    };
    Ok(LossGradient {
        loss: loss.iter().sum(),
        recurrent,
        readout: readout_grad,
        outputs: outputs.concat(),
    })
}
