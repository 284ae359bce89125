//! Random GRU and LSTM networks of run-time size, owned in `Vec`s and run
//! through the core's slice-level API (`GruRef`, `LstmRef`): the same code
//! the firmware runs, at research sizes.
//!
//! Every quantity keeps its name across the boundary with the core: the
//! weights by gate ([`GruWeights`], [`LstmWeights`]), the trace of a step
//! ([`GruTraceBuf`], [`LstmTraceBuf`]), the Jacobian's diagonal factors
//! ([`GruFactors`], [`LstmFactors`]) and the gate scales (the core's
//! [`GruScales`], [`LstmScales`], checked once in [`Scales::check`]).

use super::kinds::*;
use super::trace::*;
use super::weights::*;
use crate::HostError;
use crate::Param;
use gatedyn::init::{fill_gates, GateScale, GruScales, LstmScales, Normal};
use gatedyn::spectral_curve::{GruSupport, LstmSupport, Support};
use gatedyn::{Activation, Complex, GruFactorsMut, GruForm, GruRef, LstmFactorsMut, LstmRef};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// A GRU (random, or loaded from a trained model) with its state and the
/// trace of the step taken from that state.
#[derive(Debug, Clone)]
pub struct GruNet {
    /// Hidden size.
    pub n: usize,
    /// Input size (0: autonomous).
    pub inputs: usize,
    /// The scales it was drawn with; for a loaded model, the weights'
    /// empirical scales (`crate::net::empirical_scales`).
    pub scales: GruScales,
    /// Weights by gate.
    pub weights: GruWeights,
    /// Where the reset gate acts (`b_hn` in the reset-after form).
    pub form: GruForm<Vec<f64>>,
    /// `φ`.
    pub activation: Activation,
    /// The input of the traced step (length `inputs`).
    pub x: Vec<f64>,
    /// Hidden state.
    pub h: Vec<f64>,
    /// The trace of the step from `h` (after [`Net::trace_step`]).
    pub trace: GruTraceBuf,
}

/// An LSTM (random, or loaded from a trained model) with its state and the
/// trace of the step taken from that state.
#[derive(Debug, Clone)]
pub struct LstmNet {
    /// Hidden size.
    pub n: usize,
    /// Input size (0: autonomous).
    pub inputs: usize,
    /// The scales it was drawn with, or a loaded model's empirical scales.
    pub scales: LstmScales,
    /// Weights by gate.
    pub weights: LstmWeights,
    /// `φ`.
    pub activation: Activation,
    /// The input of the traced step (length `inputs`).
    pub x: Vec<f64>,
    /// Hidden state.
    pub h: Vec<f64>,
    /// Cell state.
    pub c: Vec<f64>,
    /// The trace of the step from `(h, c)`.
    pub trace: LstmTraceBuf,
}

impl GruNet {
    /// A GRU with trained (or otherwise given) weights at the zero state,
    /// its scales the weights' empirical ones
    /// ([`crate::net::empirical_scale`]); `n` and the inputs are read
    /// from the update gate's arrays.
    pub fn from_weights(
        weights: GruWeights,
        form: GruForm<Vec<f64>>,
        activation: Activation,
    ) -> Self {
        let n = weights.z.b.len();
        let inputs = weights.z.w.len().checked_div(n).unwrap_or(0);
        let scale = |g: &GateWeights| crate::net::empirical_scale(g, n, inputs);
        GruNet {
            n,
            inputs,
            scales: GruScales {
                z: scale(&weights.z),
                r: scale(&weights.r),
                h: scale(&weights.h),
            },
            weights,
            form,
            activation,
            x: vec![0.0; inputs],
            h: vec![0.0; n],
            trace: GruTraceBuf::zeros(n),
        }
    }

    /// The core's view; the core's `WeightShape` error when the public
    /// fields were changed to sizes that do not fit together.
    pub fn view(&self) -> Result<GruRef<'_, f64>, gatedyn::Error> {
        self.weights
            .view(self.n, self.inputs, &self.form, self.activation)
    }
    /// The diagonal factors of the Jacobian at the traced state.
    pub fn factors(&self) -> Result<GruFactors, HostError> {
        Ok(self.factors_from(&self.h)?)
    }
    /// The diagonal factors of the traced step taken from `h` (the state
    /// before it, when `self.h` has already moved on).
    pub fn factors_from(&self, h: &[f64]) -> Result<GruFactors, gatedyn::Error> {
        let z = || vec![0.0; self.n];
        let mut f = GruFactors {
            keep: z(),
            candidate: z(),
            reset: z(),
            reset_slope: z(),
            update: z(),
        };
        self.view()?.factors(
            h,
            self.trace.view(),
            GruFactorsMut {
                keep: &mut f.keep,
                candidate: &mut f.candidate,
                reset: &mut f.reset,
                reset_slope: &mut f.reset_slope,
                update: &mut f.update,
            },
        )?;
        Ok(f)
    }
    /// The predicted support at the traced state (docs/THEORY.md §4): the
    /// theory is the paper-form GRU's, so the reset-after form is refused.
    pub fn support(&self) -> Result<GruSupport<'_, f64>, HostError> {
        if self.form.is_reset_after() {
            return Err(HostError::BadInput(
                "the predicted support (docs/THEORY.md §4) is derived for the paper-form GRU (reset before the product); this GRU resets after it".into(),
            ));
        }
        Ok(GruSupport::new(
            self.scales.support(),
            self.activation,
            &self.h,
            self.trace.view(),
        )?)
    }
}

impl LstmNet {
    /// An LSTM with given weights at the zero state, as
    /// [`GruNet::from_weights`].
    pub fn from_weights(weights: LstmWeights, activation: Activation) -> Self {
        let n = weights.f.b.len();
        let inputs = weights.f.w.len().checked_div(n).unwrap_or(0);
        let scale = |g: &GateWeights| crate::net::empirical_scale(g, n, inputs);
        LstmNet {
            n,
            inputs,
            scales: LstmScales {
                f: scale(&weights.f),
                i: scale(&weights.i),
                o: scale(&weights.o),
                c: scale(&weights.c),
            },
            weights,
            activation,
            x: vec![0.0; inputs],
            h: vec![0.0; n],
            c: vec![0.0; n],
            trace: LstmTraceBuf::zeros(n),
        }
    }

    /// The core's view; the core's `WeightShape` error when the public
    /// fields were changed to sizes that do not fit together.
    pub fn view(&self) -> Result<LstmRef<'_, f64>, gatedyn::Error> {
        self.weights.view(self.n, self.inputs, self.activation)
    }
    /// The diagonal factors of the Jacobian at the traced state.
    pub fn factors(&self) -> Result<LstmFactors, HostError> {
        Ok(self.factors_from(&self.h, &self.c)?)
    }
    /// The diagonal factors of the traced step taken from `(h, c)`.
    pub fn factors_from(&self, h: &[f64], c: &[f64]) -> Result<LstmFactors, gatedyn::Error> {
        let z = || vec![0.0; self.n];
        let mut f = LstmFactors {
            forget: z(),
            forget_slope: z(),
            input_slope: z(),
            cell_slope: z(),
            output_slope: z(),
            output: z(),
        };
        self.view()?.factors(
            h,
            c,
            self.trace.view(),
            LstmFactorsMut {
                forget: &mut f.forget,
                forget_slope: &mut f.forget_slope,
                input_slope: &mut f.input_slope,
                cell_slope: &mut f.cell_slope,
                output_slope: &mut f.output_slope,
                output: &mut f.output,
            },
        )?;
        Ok(f)
    }
    /// The predicted support at the traced state (docs/THEORY.md §4).
    pub fn support(&self) -> Result<LstmSupport<'_, f64>, HostError> {
        Ok(LstmSupport::new(
            self.scales.support(),
            self.activation,
            &self.c,
            self.trace.view(),
        )?)
    }
}

/// A random autonomous network: a GRU or an LSTM.
#[derive(Debug, Clone)]
pub enum Net {
    /// A GRU.
    Gru(GruNet),
    /// An LSTM.
    Lstm(LstmNet),
}

/// Fills one gate with its own sampler (no spare normal carried over from
/// the previous gate): the draw order every host network since the first
/// release has used, so that a seed keeps giving the same network.
fn fill_gate_alone(
    rng: &mut XorShiftRng,
    gate: &mut GateWeights,
    scale: GateScale,
) -> Result<(), HostError> {
    Ok(fill_gates(rng, [gate.view_mut()], [scale])?)
}

impl Net {
    /// Draws a network (docs/THEORY.md §1) and the initial state `h, c ~ N(0,
    /// 1)` from `seed`: the same seed and scales give the same network.
    pub fn random(
        n: usize,
        scales: Scales,
        activation: Activation,
        seed: u64,
    ) -> Result<Self, HostError> {
        if n == 0 {
            return Err(HostError::invalid(Param::N, " must be at least 1".into()));
        }
        scales.check()?;
        let mut rng = XorShiftRng::seed_from_u64(seed);
        let mut normal = Normal::new();
        let mut state = |rng: &mut XorShiftRng| -> Result<Vec<f64>, HostError> {
            (0..n)
                .map(|_| normal.sample(rng).map_err(HostError::Core))
                .collect()
        };
        Ok(match scales {
            Scales::Gru(s) => {
                let mut w = GruWeights {
                    z: GateWeights::zeros(n, 0),
                    r: GateWeights::zeros(n, 0),
                    h: GateWeights::zeros(n, 0),
                };
                for (g, sc) in [&mut w.z, &mut w.r, &mut w.h].into_iter().zip(s.in_order()) {
                    fill_gate_alone(&mut rng, g, sc)?;
                }
                let h = state(&mut rng)?;
                Net::Gru(GruNet {
                    n,
                    inputs: 0,
                    scales: s,
                    weights: w,
                    form: GruForm::ResetBefore,
                    activation,
                    x: Vec::new(),
                    h,
                    trace: GruTraceBuf::zeros(n),
                })
            }
            Scales::Lstm(s) => {
                let mut w = LstmWeights {
                    f: GateWeights::zeros(n, 0),
                    i: GateWeights::zeros(n, 0),
                    o: GateWeights::zeros(n, 0),
                    c: GateWeights::zeros(n, 0),
                };
                for (g, sc) in [&mut w.f, &mut w.i, &mut w.o, &mut w.c]
                    .into_iter()
                    .zip(s.in_order())
                {
                    fill_gate_alone(&mut rng, g, sc)?;
                }
                let h = state(&mut rng)?;
                let c = state(&mut rng)?;
                Net::Lstm(LstmNet {
                    n,
                    inputs: 0,
                    scales: s,
                    weights: w,
                    activation,
                    x: Vec::new(),
                    h,
                    c,
                    trace: LstmTraceBuf::zeros(n),
                })
            }
        })
    }

    /// GRU or LSTM.
    pub fn cell(&self) -> Cell {
        match self {
            Net::Gru(_) => Cell::Gru,
            Net::Lstm(_) => Cell::Lstm,
        }
    }
    /// Hidden size.
    pub fn n(&self) -> usize {
        match self {
            Net::Gru(g) => g.n,
            Net::Lstm(l) => l.n,
        }
    }
    /// Input size (0 for an autonomous network).
    pub fn inputs(&self) -> usize {
        match self {
            Net::Gru(g) => g.inputs,
            Net::Lstm(l) => l.inputs,
        }
    }
    /// The input of the next traced step, to set it (length
    /// [`Net::inputs`]).
    pub fn x_mut(&mut self) -> &mut [f64] {
        match self {
            Net::Gru(g) => &mut g.x,
            Net::Lstm(l) => &mut l.x,
        }
    }
    /// State dimension (n or 2n).
    pub fn dim(&self) -> usize {
        self.cell().state_dim(self.n())
    }
    /// The gate scales.
    pub fn scales(&self) -> Scales {
        match self {
            Net::Gru(g) => Scales::Gru(g.scales),
            Net::Lstm(l) => Scales::Lstm(l.scales),
        }
    }
    /// The hidden state `h`.
    pub fn h(&self) -> &[f64] {
        match self {
            Net::Gru(g) => &g.h,
            Net::Lstm(l) => &l.h,
        }
    }

    /// The GRU, if this is one.
    pub fn as_gru(&self) -> Option<&GruNet> {
        match self {
            Net::Gru(g) => Some(g),
            Net::Lstm(_) => None,
        }
    }
    /// The LSTM, if this is one.
    pub fn as_lstm(&self) -> Option<&LstmNet> {
        match self {
            Net::Lstm(l) => Some(l),
            Net::Gru(_) => None,
        }
    }
    /// The hidden state, to set it.
    pub fn h_mut(&mut self) -> &mut [f64] {
        match self {
            Net::Gru(g) => &mut g.h,
            Net::Lstm(l) => &mut l.h,
        }
    }
    /// Every weight and bias of every gate (and `b_hn`), in no promised
    /// order: for checks over all of them.
    pub fn weights_flat(&self) -> Vec<f64> {
        let gates: Vec<&GateWeights> = match self {
            Net::Gru(g) => vec![&g.weights.z, &g.weights.r, &g.weights.h],
            Net::Lstm(l) => vec![&l.weights.f, &l.weights.i, &l.weights.o, &l.weights.c],
        };
        let mut out: Vec<f64> = gates
            .iter()
            .flat_map(|g| g.u.iter().chain(&g.w).chain(&g.b).copied())
            .collect();
        if let Net::Gru(g) = self {
            if let GruForm::ResetAfter { recurrent_bias } = &g.form {
                out.extend(recurrent_bias);
            }
        }
        out
    }
    /// The state the dynamics acts on: `h` (GRU), `[h; c]` (LSTM), the
    /// order of the Jacobian's rows and columns.
    pub fn state(&self) -> Vec<f64> {
        match self {
            Net::Gru(g) => g.h.clone(),
            Net::Lstm(l) => [&l.h[..], &l.c[..]].concat(),
        }
    }
    /// Sets the state (`h`, or `[h; c]`; length [`Net::dim`]).
    pub fn set_state(&mut self, x: &[f64]) {
        match self {
            Net::Gru(g) => g.h.copy_from_slice(x),
            Net::Lstm(l) => {
                let n = l.h.len();
                l.h.copy_from_slice(&x[..n]);
                l.c.copy_from_slice(&x[n..]);
            }
        }
    }
    /// The state after the traced step (`h'`, or `[h'; c']`).
    pub fn next_state(&self) -> Vec<f64> {
        match self {
            Net::Gru(g) => g.trace.next.clone(),
            Net::Lstm(l) => [&l.trace.h_next[..], &l.trace.c_next[..]].concat(),
        }
    }
    /// `h'`, the hidden state after the traced step.
    pub fn next_h(&self) -> &[f64] {
        match self {
            Net::Gru(g) => &g.trace.next,
            Net::Lstm(l) => &l.trace.h_next,
        }
    }

    /// Computes the trace of one step from the current state (the state
    /// does not move).
    pub fn trace_step(&mut self) -> Result<(), HostError> {
        match self {
            Net::Gru(g) => {
                let mut t = std::mem::replace(&mut g.trace, GruTraceBuf::zeros(0));
                let r = g.view()?.step(&g.h, &g.x, t.view_mut());
                g.trace = t;
                r?
            }
            Net::Lstm(l) => {
                let mut t = std::mem::replace(&mut l.trace, LstmTraceBuf::zeros(0));
                let r = l.view()?.step(&l.h, &l.c, &l.x, t.view_mut());
                l.trace = t;
                r?
            }
        }
        Ok(())
    }

    /// Runs `steps` steps (calling `tick` after each), then traces the step
    /// from the state reached: the Jacobian is taken there.
    pub fn run(&mut self, steps: usize, mut tick: impl FnMut()) -> Result<(), HostError> {
        for _ in 0..steps {
            self.trace_step()?;
            self.advance();
            tick();
        }
        self.trace_step()
    }

    /// Moves the state to the result of the traced step (`h ← h'`, and
    /// `c ← c'` for an LSTM).
    pub fn advance(&mut self) {
        match self {
            Net::Gru(g) => g.h.copy_from_slice(&g.trace.next),
            Net::Lstm(l) => {
                l.h.copy_from_slice(&l.trace.h_next);
                l.c.copy_from_slice(&l.trace.c_next);
            }
        }
    }

    /// Sets the state to zero and traces the step there.
    pub fn at_zero(&mut self) -> Result<(), HostError> {
        match self {
            Net::Gru(g) => g.h.fill(0.0),
            Net::Lstm(l) => {
                l.h.fill(0.0);
                l.c.fill(0.0);
            }
        }
        self.trace_step()
    }

    /// The diagonal factors of the Jacobian at the traced state (docs/THEORY.md
    /// §3).
    pub fn factors(&self) -> Result<Factors, HostError> {
        Ok(match self {
            Net::Gru(g) => Factors::Gru(g.factors()?),
            Net::Lstm(l) => Factors::Lstm(l.factors()?),
        })
    }

    /// `⟨h²⟩`.
    pub fn mean_square_activity(&self) -> f64 {
        let h = self.h();
        h.iter().map(|x| x * x).sum::<f64>() / h.len() as f64
    }

    /// The dense Jacobian at the traced state (row-major dim×dim), by the
    /// core's `O(N³)` assembly; see [`crate::linalg::eigen::jacobian`] for the fast
    /// path.
    pub fn jacobian(&self) -> Result<Vec<f64>, HostError> {
        let d = self.dim();
        let mut j = vec![0.0; d * d];
        match self {
            Net::Gru(g) => g.view()?.jacobian(&g.h, g.trace.view(), &mut j)?,
            Net::Lstm(l) => l.view()?.jacobian(&l.h, &l.c, l.trace.view(), &mut j)?,
        }
        Ok(j)
    }

    /// The predicted support of the Jacobian at the traced state
    /// (docs/THEORY.md §4).
    pub fn support(&self) -> Result<NetSupport<'_>, HostError> {
        Ok(match self {
            Net::Gru(g) => NetSupport::Gru(g.support()?),
            Net::Lstm(l) => NetSupport::Lstm(l.support()?),
        })
    }
}

/// The predicted support of either cell.
pub enum NetSupport<'a> {
    /// GRU.
    Gru(GruSupport<'a, f64>),
    /// LSTM.
    Lstm(LstmSupport<'a, f64>),
}

impl Support for NetSupport<'_> {
    fn level(&self, lambda: Complex) -> f64 {
        match self {
            NetSupport::Gru(s) => s.level(lambda),
            NetSupport::Lstm(s) => s.level(lambda),
        }
    }
}
