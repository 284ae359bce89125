//! Adam with gradient-norm clipping.

use crate::bptt::LossGradient;
use gatedyn_host::Param;

use gatedyn_host::HostError;

use crate::params::{gradient_blocks, gradient_norm, Trainable};

/// Adam (Kingma & Ba 2015, docs/THEORY.md §14) with global-norm clipping of the gradient
/// before the update.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment (0.9).
    pub beta1: f64,
    /// Decay of the second moment (0.999).
    pub beta2: f64,
    /// Added to the root of the second moment (1e-8).
    pub eps: f64,
    /// Gradients whose norm exceeds this are scaled down to it (`∞`: no
    /// clipping).
    pub max_norm: f64,
    /// First and second moments per block, and the step count.
    moments: Vec<(Vec<f64>, Vec<f64>)>,
    steps: i32,
}

impl Adam {
    /// Adam with the usual moments' decays (0.9, 0.999), `eps` 1e-8, the
    /// learning rate `lr` and clipping at `max_norm`. A learning rate or
    /// clipping norm that is not positive and finite (`max_norm` may be
    /// `∞`) is a [`HostError::Invalid`].
    pub fn new(lr: f64, max_norm: f64) -> Result<Self, HostError> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(HostError::invalid(
                Param::Lr,
                format!(": the learning rate must be positive and finite (got {lr})"),
            ));
        }
        if max_norm.is_nan() || max_norm <= 0.0 {
            return Err(HostError::invalid(
                Param::Clip,
                format!(": the clipping norm must be positive (got {max_norm})"),
            ));
        }
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_norm,
            moments: vec![],
            steps: 0,
        })
    }

    /// One update of `net` from the gradient `g` (of the same network).
    /// Returns the gradient's norm before clipping. A non-finite gradient
    /// is a `Numerical` error and leaves `net` unchanged.
    pub fn step(&mut self, net: &mut Trainable, g: &LossGradient) -> Result<f64, HostError> {
        let norm = gradient_norm(g);
        if !norm.is_finite() {
            return Err(HostError::Numerical {
                step: "training (the gradient overflowed)",
                source: gatedyn::Error::NonFinite {
                    what: gatedyn::Quantity::Result,
                    index: 0,
                },
            });
        }
        let clip = if norm > self.max_norm {
            self.max_norm / norm
        } else {
            1.0
        };
        let params = net.blocks_mut();
        let grads = gradient_blocks(g);
        if self.moments.is_empty() {
            self.moments = grads
                .iter()
                .map(|b| (vec![0.0; b.len()], vec![0.0; b.len()]))
                .collect();
        }
        self.steps = self.steps.saturating_add(1);
        let (c1, c2) = (
            1.0 - self.beta1.powi(self.steps),
            1.0 - self.beta2.powi(self.steps),
        );
        for ((p, gb), (m, v)) in params.into_iter().zip(grads).zip(&mut self.moments) {
            for (((w, &gr), mi), vi) in p.iter_mut().zip(gb).zip(m.iter_mut()).zip(v.iter_mut()) {
                let gr = gr * clip;
                *mi = self.beta1 * *mi + (1.0 - self.beta1) * gr;
                *vi = self.beta2 * *vi + (1.0 - self.beta2) * gr * gr;
                *w -= self.lr * (*mi / c1) / ((*vi / c2).sqrt() + self.eps);
            }
        }
        Ok(norm)
    }
}
