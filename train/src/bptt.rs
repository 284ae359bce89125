//! Backpropagation through time for the GRU (both forms) and the LSTM with
//! a linear readout (docs/THEORY.md §13): the loss of one sequence and its
//! gradient with respect to every weight, in `f64`.
//!
//! The forward pass is the core's own step ([`gatedyn::GruRef::step`],
//! [`gatedyn::LstmRef::step`]), whose traces hold every gate and
//! pre-activation the backward pass needs; the state adjoint it propagates
//! is `Jᵀ δ` of the core's Jacobian (the tests check it against
//! [`gatedyn::GruRef::vjp`] and [`gatedyn::LstmRef::vjp`]), and each
//! parameter gradient is an outer product of a pre-activation adjoint with
//! the vector that multiplied that weight. The tests check every block
//! against central differences of the loss.
//!
//! This is the gradient of issue 11's training; the optimiser, the tasks
//! and the batching over sequences build on it.

use crate::loss::*;
use gatedyn::activation::sigmoid_derivative;
use gatedyn::{Activation, GruForm, GruRef, LstmRef};
use gatedyn_host::net::ReadoutWeights;
use gatedyn_host::net::{
    CellWeights, GateWeights, GruTraceBuf, GruWeights, LstmTraceBuf, LstmWeights,
};
use gatedyn_host::HostError;

/// The loss of one sequence and its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct LossGradient {
    /// The loss `L`.
    pub loss: f64,
    /// `∂L/∂` the recurrent weights, in their type (a GRU's `b_hn`
    /// gradient in the reset-after form only).
    pub recurrent: CellWeights,
    /// `∂L/∂W` and `∂L/∂b` of the readout (same shapes as the readout).
    pub readout: ReadoutWeights,
    /// The readout's outputs at the supervised steps (`S×K`, row-major),
    /// for accuracies.
    pub outputs: Vec<f64>,
}

/// The loss of one sequence and the readout's outputs at its supervised
/// steps, from a forward pass only ([`evaluate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The loss `L`.
    pub loss: f64,
    /// `S×K`, row-major.
    pub outputs: Vec<f64>,
}

/// The network's shape, from its weights.
pub(crate) fn shape(net: &CellWeights) -> (usize, usize) {
    let g = match net {
        CellWeights::Gru { weights, .. } => &weights.z,
        CellWeights::Lstm(w) => &w.f,
    };
    let n = g.b.len();
    (n, g.w.len().checked_div(n).unwrap_or(0))
}

/// Checks the sequence, the readout and the supervision against the
/// network; `HostError::Invalid` names what is wrong.
pub(crate) fn check(
    n: usize,
    inputs: usize,
    readout: &ReadoutWeights,
    xs: &[f64],
    sup: &Supervision,
) -> Result<usize, HostError> {
    let bad = |m: String| Err(HostError::BadInput(m));
    if n == 0 {
        return bad("bptt: the network has no units".into());
    }
    if inputs == 0 {
        return bad("bptt: the network has no inputs to train on".into());
    }
    if xs.is_empty() || (xs.len() / inputs) * inputs != xs.len() {
        return bad(format!(
            "bptt: {} input values do not make whole steps of {inputs} inputs",
            xs.len()
        ));
    }
    let steps = xs.len() / inputs;
    let k = readout.outputs;
    if k == 0 || readout.w.len() != k * n || readout.b.len() != k {
        return bad(format!(
            "bptt: the readout needs W of {k}×{n} and b of {k} (found {} and {})",
            readout.w.len(),
            readout.b.len()
        ));
    }
    if let Some(i) = xs.iter().position(|x| !x.is_finite()) {
        return bad(format!("bptt: input value {i} is not finite"));
    }
    if sup.at.is_empty() || sup.at.windows(2).any(|w| w[0] >= w[1]) {
        return bad("bptt: supervised steps must be non-empty and strictly increasing".into());
    }
    if let Some(&t) = sup.at.last().filter(|&&t| t >= steps) {
        return bad(format!(
            "bptt: supervised step {t} is past the sequence's {steps} steps"
        ));
    }
    let s = sup.at.len();
    match &sup.objective {
        Objective::Squared { targets } if targets.len() != s * k => bad(format!(
            "bptt: {} targets for {s} supervised steps of {k} outputs",
            targets.len()
        )),
        Objective::Squared { targets } if targets.iter().any(|t| !t.is_finite()) => {
            bad("bptt: a target is not finite".into())
        }
        Objective::CrossEntropy { classes } if classes.len() != s => bad(format!(
            "bptt: {} classes for {s} supervised steps",
            classes.len()
        )),
        Objective::CrossEntropy { classes } if classes.iter().any(|&c| c >= k) => {
            bad(format!("bptt: a class is not below the {k} outputs"))
        }
        _ => Ok(steps),
    }
}

/// The sizes of one sequence's pass, checked ([`check`]).
struct Shape {
    n: usize,
    inputs: usize,
    steps: usize,
}

impl Shape {
    fn of(
        net: &CellWeights,
        readout: &ReadoutWeights,
        xs: &[f64],
        sup: &Supervision,
    ) -> Result<Self, HostError> {
        let (n, inputs) = shape(net);
        let steps = check(n, inputs, readout, xs, sup)?;
        Ok(Shape { n, inputs, steps })
    }
}

/// A failure of the core's step in the forward pass.
fn numerical(source: gatedyn::Error) -> HostError {
    HostError::Numerical {
        step: "bptt forward",
        source,
    }
}

/// `g.u += a bᵀ` (rows of `a`, columns of `b`), `g.w += a xᵀ`, `g.b += a`.
fn accumulate(g: &mut GateWeights, a: &[f64], b: &[f64], x: &[f64]) {
    let (n, ni) = (a.len(), x.len());
    for (i, &ai) in a.iter().enumerate() {
        if ai == 0.0 {
            continue;
        }
        for (gu, &bj) in g.u[i * n..(i + 1) * n].iter_mut().zip(b) {
            *gu += ai * bj;
        }
        for (gw, &xk) in g.w[i * ni..(i + 1) * ni].iter_mut().zip(x) {
            *gw += ai * xk;
        }
        g.b[i] += ai;
    }
}

/// `out += Uᵀ a` for row-major `n×n` `U`.
fn add_transposed(u: &[f64], a: &[f64], out: &mut [f64]) {
    let n = out.len();
    for (i, &ai) in a.iter().enumerate() {
        for (o, &uij) in out.iter_mut().zip(&u[i * n..(i + 1) * n]) {
            *o += ai * uij;
        }
    }
}

/// The loss of the sequence `xs` (`T×inputs`, row-major) from the zero
/// state and its gradient with respect to every weight of `net` and
/// `readout`. Errors: [`HostError::Invalid`] for inconsistent shapes or
/// supervision, non-finite inputs or targets; the core's errors (as
/// `Numerical { step: "bptt forward" }`) for weights or states that are not
/// finite.
pub fn loss_gradient(
    net: &CellWeights,
    activation: Activation,
    readout: &ReadoutWeights,
    xs: &[f64],
    sup: &Supervision,
) -> Result<LossGradient, HostError> {
    let Shape { n, inputs, steps } = Shape::of(net, readout, xs, sup)?;
    let x_at = |t: usize| &xs[t * inputs..(t + 1) * inputs];
    let k = readout.outputs;
    let mut readout_grad = ReadoutWeights {
        outputs: k,
        w: vec![0.0; k * n],
        b: vec![0.0; k],
    };
    let mut loss = 0.0;
    let mut outputs = vec![0.0; sup.at.len() * k];
    // ∂L/∂h_{t+1} from the readout at a supervised step, and its loss
    let mut supervised = |s: usize, h: &[f64], dh: &mut [f64]| {
        let y = readout_step(readout, sup, s, h, &mut readout_grad, dh);
        outputs[s * k..(s + 1) * k].copy_from_slice(&y.outputs);
        loss += y.loss;
    };
    let recurrent = match net {
        CellWeights::Gru { weights, form } => {
            let view = weights
                .view(n, inputs, form, activation)
                .map_err(numerical)?;
            // forward: states[t] is h_t (h_0 = 0), traces[t] the step from it
            let mut states = vec![vec![0.0; n]];
            let mut traces = Vec::with_capacity(steps);
            for t in 0..steps {
                let mut trace = GruTraceBuf::zeros(n);
                view.step(&states[t], x_at(t), trace.view_mut())
                    .map_err(numerical)?;
                states.push(trace.next.clone());
                traces.push(trace);
            }
            let mut g = GruAdjoint::new(n, inputs, form.kind());
            let mut dh = vec![0.0; n];
            let mut s = sup.at.len();
            for t in (0..steps).rev() {
                if s > 0 && sup.at[s - 1] == t {
                    s -= 1;
                    supervised(s, &states[t + 1], &mut dh);
                }
                dh = g.back(&view, activation, &states[t], x_at(t), &traces[t], &dh);
            }
            g.into_gradient()
        }
        CellWeights::Lstm(weights) => {
            let view = weights.view(n, inputs, activation).map_err(numerical)?;
            let mut states = vec![(vec![0.0; n], vec![0.0; n])];
            let mut traces = Vec::with_capacity(steps);
            for t in 0..steps {
                let mut trace = LstmTraceBuf::zeros(n);
                let (h, c) = &states[t];
                view.step(h, c, x_at(t), trace.view_mut())
                    .map_err(numerical)?;
                states.push((trace.h_next.clone(), trace.c_next.clone()));
                traces.push(trace);
            }
            let mut g = LstmAdjoint::new(n, inputs);
            let (mut dh, mut dc) = (vec![0.0; n], vec![0.0; n]);
            let mut s = sup.at.len();
            for t in (0..steps).rev() {
                if s > 0 && sup.at[s - 1] == t {
                    s -= 1;
                    supervised(s, &states[t + 1].0, &mut dh);
                }
                let (h, c) = &states[t];
                (dh, dc) = g.back(&view, activation, h, c, x_at(t), &traces[t], &dh, &dc);
            }
            g.into_gradient()
        }
    };
    Ok(LossGradient {
        loss,
        recurrent,
        readout: readout_grad,
        outputs,
    })
}

/// The loss of the sequence `xs` from the zero state and the readout's
/// outputs at the supervised steps, by the forward pass of
/// [`loss_gradient`] alone (same errors; the same loss bits).
pub fn evaluate(
    net: &CellWeights,
    activation: Activation,
    readout: &ReadoutWeights,
    xs: &[f64],
    sup: &Supervision,
) -> Result<Evaluation, HostError> {
    let Shape { n, inputs, steps } = Shape::of(net, readout, xs, sup)?;
    let x_at = |t: usize| &xs[t * inputs..(t + 1) * inputs];
    let k = readout.outputs;
    let count = sup.at.len();
    let mut outputs = vec![0.0; count * k];
    // the supervised steps' losses, summed backwards as loss_gradient does
    let mut losses = vec![0.0; count];
    let mut s = 0;
    let mut read = |t: usize, h: &[f64]| {
        if s < count && sup.at[s] == t {
            let y = readout.output(h);
            losses[s] = step_loss(&sup.objective, s, count, &y).0;
            outputs[s * k..(s + 1) * k].copy_from_slice(&y);
            s += 1;
        }
    };
    match net {
        CellWeights::Gru { weights, form } => {
            let view = weights
                .view(n, inputs, form, activation)
                .map_err(numerical)?;
            let mut h = vec![0.0; n];
            let mut trace = GruTraceBuf::zeros(n);
            for t in 0..steps {
                view.step(&h, x_at(t), trace.view_mut())
                    .map_err(numerical)?;
                h.copy_from_slice(&trace.next);
                read(t, &h);
            }
        }
        CellWeights::Lstm(weights) => {
            let view = weights.view(n, inputs, activation).map_err(numerical)?;
            let (mut h, mut c) = (vec![0.0; n], vec![0.0; n]);
            let mut trace = LstmTraceBuf::zeros(n);
            for t in 0..steps {
                view.step(&h, &c, x_at(t), trace.view_mut())
                    .map_err(numerical)?;
                h.copy_from_slice(&trace.h_next);
                c.copy_from_slice(&trace.c_next);
                read(t, &h);
            }
        }
    }
    let loss = losses.iter().rev().sum();
    Ok(Evaluation { loss, outputs })
}

/// The GRU's parameter gradients as they accumulate backwards in time.
struct GruAdjoint {
    z: GateWeights,
    r: GateWeights,
    h: GateWeights,
    b_hn: Vec<f64>,
}

impl GruAdjoint {
    fn new(n: usize, inputs: usize, form: GruForm<()>) -> Self {
        GruAdjoint {
            z: GateWeights::zeros(n, inputs),
            r: GateWeights::zeros(n, inputs),
            h: GateWeights::zeros(n, inputs),
            b_hn: if form.is_reset_after() {
                vec![0.0; n]
            } else {
                vec![]
            },
        }
    }

    /// One step backwards: `delta = ∂L/∂h'` of the step from `h` with input
    /// `x` (`trace`); accumulates the parameter gradients and returns
    /// `∂L/∂h` (docs/THEORY.md §13).
    fn back(
        &mut self,
        view: &GruRef<'_, f64>,
        act: Activation,
        h: &[f64],
        x: &[f64],
        t: &GruTraceBuf,
        delta: &[f64],
    ) -> Vec<f64> {
        let n = h.len();
        let [uz, ur, uh] = view.gates().map(|g| g.u);
        // h' = (1 − z) h + z h̃
        let mut d_az = vec![0.0; n];
        let mut d_ah = vec![0.0; n];
        let mut back = vec![0.0; n];
        for i in 0..n {
            d_az[i] = delta[i] * (t.candidate[i] - h[i]) * sigmoid_derivative(t.z[i]);
            d_ah[i] = delta[i] * t.z[i] * act.derivative(t.a_h[i], t.candidate[i]);
            back[i] = delta[i] * (1.0 - t.z[i]);
        }
        accumulate(&mut self.z, &d_az, h, x);
        add_transposed(uz, &d_az, &mut back);
        let mut d_ar = vec![0.0; n];
        if self.b_hn.is_empty() {
            // a_h = U_h (r ⊙ h) + W_h x + b_h; reset_operand = h
            let rh: Vec<f64> = (0..n).map(|k| t.r[k] * h[k]).collect();
            accumulate(&mut self.h, &d_ah, &rh, x);
            let mut d_rh = vec![0.0; n];
            add_transposed(uh, &d_ah, &mut d_rh);
            for k in 0..n {
                d_ar[k] = d_rh[k] * h[k] * sigmoid_derivative(t.r[k]);
                back[k] += d_rh[k] * t.r[k];
            }
        } else {
            // a_h = W_h x + b_h + r ⊙ (U_h h + b_hn); reset_operand = U_h h + b_hn
            let d_n: Vec<f64> = (0..n).map(|i| d_ah[i] * t.r[i]).collect();
            for i in 0..n {
                d_ar[i] = d_ah[i] * t.reset_operand[i] * sigmoid_derivative(t.r[i]);
                self.h.b[i] += d_ah[i];
                self.b_hn[i] += d_n[i];
            }
            let ni = x.len();
            for i in 0..n {
                for (gw, &xk) in self.h.w[i * ni..(i + 1) * ni].iter_mut().zip(x) {
                    *gw += d_ah[i] * xk;
                }
                for (gu, &hj) in self.h.u[i * n..(i + 1) * n].iter_mut().zip(h) {
                    *gu += d_n[i] * hj;
                }
            }
            add_transposed(uh, &d_n, &mut back);
        }
        accumulate(&mut self.r, &d_ar, h, x);
        add_transposed(ur, &d_ar, &mut back);
        back
    }

    fn into_gradient(self) -> CellWeights {
        let form = if self.b_hn.is_empty() {
            GruForm::ResetBefore
        } else {
            GruForm::ResetAfter {
                recurrent_bias: self.b_hn,
            }
        };
        CellWeights::Gru {
            weights: GruWeights {
                z: self.z,
                r: self.r,
                h: self.h,
            },
            form,
        }
    }
}

/// The LSTM's parameter gradients as they accumulate backwards in time.
struct LstmAdjoint {
    f: GateWeights,
    i: GateWeights,
    o: GateWeights,
    c: GateWeights,
}

impl LstmAdjoint {
    fn new(n: usize, inputs: usize) -> Self {
        LstmAdjoint {
            f: GateWeights::zeros(n, inputs),
            i: GateWeights::zeros(n, inputs),
            o: GateWeights::zeros(n, inputs),
            c: GateWeights::zeros(n, inputs),
        }
    }

    /// One step backwards from `(∂L/∂h', ∂L/∂c')` of the step from `(h, c)`;
    /// returns `(∂L/∂h, ∂L/∂c)` (docs/THEORY.md §13).
    #[allow(clippy::too_many_arguments)]
    fn back(
        &mut self,
        view: &LstmRef<'_, f64>,
        act: Activation,
        h: &[f64],
        c: &[f64],
        x: &[f64],
        t: &LstmTraceBuf,
        dh: &[f64],
        dc: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let n = h.len();
        let (mut d_af, mut d_ai, mut d_ao, mut d_ac) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut dc_prev = vec![0.0; n];
        for k in 0..n {
            // h' = o φ(c'), c' = f c + i g
            let dc_total = dc[k] + dh[k] * t.o[k] * act.derivative(t.c_next[k], t.c_act[k]);
            d_ao[k] = dh[k] * t.c_act[k] * sigmoid_derivative(t.o[k]);
            d_af[k] = dc_total * c[k] * sigmoid_derivative(t.f[k]);
            d_ai[k] = dc_total * t.g[k] * sigmoid_derivative(t.i[k]);
            d_ac[k] = dc_total * t.i[k] * act.derivative(t.a_c[k], t.g[k]);
            dc_prev[k] = dc_total * t.f[k];
        }
        let mut dh_prev = vec![0.0; n];
        let [gf, gi, go, gc] = view.gates();
        for (grad, a, u) in [
            (&mut self.f, &d_af, gf.u),
            (&mut self.i, &d_ai, gi.u),
            (&mut self.o, &d_ao, go.u),
            (&mut self.c, &d_ac, gc.u),
        ] {
            accumulate(grad, a, h, x);
            add_transposed(u, a, &mut dh_prev);
        }
        (dh_prev, dc_prev)
    }

    fn into_gradient(self) -> CellWeights {
        CellWeights::Lstm(LstmWeights {
            f: self.f,
            i: self.i,
            o: self.o,
            c: self.c,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic weights in `(−scale, scale)`.
    fn fill(v: &mut [f64], seed: &mut u64, scale: f64) {
        for x in v {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *x = scale * ((*seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0);
        }
    }

    fn gate(n: usize, ni: usize, seed: &mut u64) -> GateWeights {
        let mut g = GateWeights::zeros(n, ni);
        fill(&mut g.u, seed, 1.5 / (n as f64).sqrt());
        fill(&mut g.w, seed, 1.0);
        fill(&mut g.b, seed, 0.3);
        g
    }

    /// The state adjoint of one step is `Jᵀ δ` of the core (both GRU forms
    /// and the LSTM, whose adjoint is `[∂L/∂h; ∂L/∂c]`).
    #[test]
    fn state_adjoint_is_the_cores_vjp() {
        let (n, ni) = (6, 2);
        let mut seed = 7u64;
        let x = [0.4, -0.7];
        let h: Vec<f64> = (0..n).map(|k| 0.3 * (k as f64 - 2.5) / 3.0).collect();
        let delta: Vec<f64> = (0..n).map(|k| 1.0 - 0.3 * k as f64).collect();
        for reset_after in [false, true] {
            let weights = GruWeights {
                z: gate(n, ni, &mut seed),
                r: gate(n, ni, &mut seed),
                h: gate(n, ni, &mut seed),
            };
            let form = if reset_after {
                GruForm::ResetAfter {
                    recurrent_bias: vec![0.2; n],
                }
            } else {
                GruForm::ResetBefore
            };
            let view = weights.view(n, ni, &form, Activation::Tanh).unwrap();
            let mut t = GruTraceBuf::zeros(n);
            view.step(&h, &x, t.view_mut()).unwrap();
            let mut adj = GruAdjoint::new(n, ni, form.kind());
            let ours = adj.back(&view, Activation::Tanh, &h, &x, &t, &delta);
            let (mut core, mut scratch) = (vec![0.0; n], vec![0.0; n]);
            view.vjp(&h, t.view(), &delta, &mut core, &mut scratch)
                .unwrap();
            for (a, b) in ours.iter().zip(&core) {
                assert!((a - b).abs() <= 1e-13 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
        let w = LstmWeights {
            f: gate(n, ni, &mut seed),
            i: gate(n, ni, &mut seed),
            o: gate(n, ni, &mut seed),
            c: gate(n, ni, &mut seed),
        };
        let view = w.view(n, ni, Activation::Tanh).unwrap();
        let c: Vec<f64> = h.iter().map(|v| -2.0 * v).collect();
        let mut t = LstmTraceBuf::zeros(n);
        view.step(&h, &c, &x, t.view_mut()).unwrap();
        let dc: Vec<f64> = delta.iter().map(|d| 0.5 - d).collect();
        let mut adj = LstmAdjoint::new(n, ni);
        let (dh, dcp) = adj.back(&view, Activation::Tanh, &h, &c, &x, &t, &delta, &dc);
        let w_in: Vec<f64> = delta.iter().chain(&dc).copied().collect();
        let (mut core, mut scratch) = (vec![0.0; 2 * n], vec![0.0; n]);
        view.vjp(&h, &c, t.view(), &w_in, &mut core, &mut scratch)
            .unwrap();
        for (a, b) in dh.iter().chain(&dcp).zip(&core) {
            assert!((a - b).abs() <= 1e-13 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}
