//! What a sequence is trained against: its supervision ([`Objective`],
//! [`Supervision`]), the training [`Example`], and the loss of one
//! supervised step with the readout's part of the gradient
//! (docs/THEORY.md §13).

use gatedyn_host::net::ReadoutWeights;

/// What the readout's outputs are compared with at the supervised steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Mean squared error over the supervised steps and the `K` outputs:
    /// `L = Σ (y − target)² / (S K)`; `targets` is `S×K`, row-major.
    Squared {
        /// The targets, one row of `K` per supervised step.
        targets: Vec<f64>,
    },
    /// Mean softmax cross-entropy over the supervised steps:
    /// `L = −Σ ln softmax(y)_class / S`.
    CrossEntropy {
        /// The class index (`< K`) at each supervised step.
        classes: Vec<usize>,
    },
}

/// Which steps are supervised, and against what.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervision {
    /// The supervised steps, strictly increasing: the readout of the state
    /// after consuming input `t` (0-based) enters the loss.
    pub at: Vec<usize>,
    /// The comparison.
    pub objective: Objective,
}

/// The loss of one supervised step (`s` its index among the supervised
/// steps) and `∂L/∂y` there, with the `1/S` (and `1/K`) of the means.
pub(crate) fn step_loss(obj: &Objective, s: usize, count: usize, y: &[f64]) -> (f64, Vec<f64>) {
    let k = y.len();
    match obj {
        Objective::Squared { targets } => {
            let scale = 1.0 / (count * k) as f64;
            let t = &targets[s * k..(s + 1) * k];
            let loss = y.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() * scale;
            let grad = y
                .iter()
                .zip(t)
                .map(|(a, b)| 2.0 * (a - b) * scale)
                .collect();
            (loss, grad)
        }
        Objective::CrossEntropy { classes } => {
            let max = y.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = y.iter().map(|v| (v - max).exp()).sum();
            let log_z = max + sum.ln();
            let c = classes[s];
            let scale = 1.0 / count as f64;
            let grad = y
                .iter()
                .enumerate()
                .map(|(j, v)| ((v - log_z).exp() - if j == c { 1.0 } else { 0.0 }) * scale)
                .collect();
            ((log_z - y[c]) * scale, grad)
        }
    }
}

/// The readout's outputs at one supervised step and their loss.
pub(crate) struct ReadoutStep {
    /// `y = W h + b`.
    pub outputs: Vec<f64>,
    /// The step's share of the loss.
    pub loss: f64,
}

/// The readout at supervised step `s` (its index in `sup.at`) of the state
/// `h`: adds `∂ℓ/∂y hᵀ` and `∂ℓ/∂y` to the readout's gradient `grad` and
/// `W_oᵀ ∂ℓ/∂y` to the state adjoint `dh` (docs/THEORY.md §13).
pub(crate) fn readout_step(
    readout: &ReadoutWeights,
    sup: &Supervision,
    s: usize,
    h: &[f64],
    grad: &mut ReadoutWeights,
    dh: &mut [f64],
) -> ReadoutStep {
    let n = h.len();
    let y = readout.output(h);
    let (loss, e) = step_loss(&sup.objective, s, sup.at.len(), &y);
    for (o, &eo) in e.iter().enumerate() {
        grad.b[o] += eo;
        for (j, &hj) in h.iter().enumerate() {
            grad.w[o * n + j] += eo * hj;
            dh[j] += eo * readout.w[o * n + j];
        }
    }
    ReadoutStep { outputs: y, loss }
}

/// One training sequence: inputs (`T×I`, row-major) and what is supervised.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The inputs.
    pub inputs: Vec<f64>,
    /// The supervised steps and their targets.
    pub supervision: Supervision,
}
