//! Random GRU and LSTM networks of run-time size, owned in `Vec`s and run
//! through the core's slice-level API (`GruRef`, `LstmRef`): the same code
//! the firmware runs, at research sizes.

use crate::HostError;
use gatedyn::init::{fill_gates, GateScale, Normal};
use gatedyn::{
    Activation, GateMut, GateRef, GruFactorsMut, GruRef, GruTraceMut, GruTraceRef, LstmFactorsMut,
    LstmRef, LstmTraceMut, LstmTraceRef,
};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Gates `z, r, h`.
    Gru,
    /// Gates `f, i, o, c`.
    Lstm,
}

impl Model {
    /// Number of gates.
    pub fn gates(self) -> usize {
        match self {
            Model::Gru => 3,
            Model::Lstm => 4,
        }
    }
    /// Gate names in model order.
    pub fn gate_names(self) -> &'static [&'static str] {
        match self {
            Model::Gru => &["z", "r", "h"],
            Model::Lstm => &["f", "i", "o", "c"],
        }
    }
}

/// Owned weights of one gate (no input weights: autonomous network).
#[derive(Debug, Clone)]
pub struct GateBuf {
    /// Recurrent weights, row-major n×n.
    pub u: Vec<f64>,
    /// Bias.
    pub b: Vec<f64>,
}

impl GateBuf {
    fn view(&self) -> GateRef<'_, f64> {
        GateRef {
            u: &self.u,
            w: &[],
            b: &self.b,
        }
    }
}

/// A random autonomous network with its state and the trace of the step
/// taken from that state.
#[derive(Debug, Clone)]
pub struct Net {
    /// GRU or LSTM.
    pub model: Model,
    /// Hidden size.
    pub n: usize,
    /// Gates in model order.
    pub gates: Vec<GateBuf>,
    /// `φ`.
    pub act: Activation,
    /// Hidden state.
    pub h: Vec<f64>,
    /// Cell state (LSTM; empty for a GRU).
    pub c: Vec<f64>,
    trace: Vec<Vec<f64>>,
}

/// Bytes a network of size `n` needs with its dense Jacobian and the
/// eigen-solver's workspace (≈ 6 dense matrices of the state dimension).
pub fn bytes_needed(model: Model, n: usize) -> u128 {
    let d = match model {
        Model::Gru => n,
        Model::Lstm => 2 * n,
    } as u128;
    let n = n as u128;
    8 * (model.gates() as u128 * n * n + 6 * d * d)
}

impl Net {
    /// Draws a network (THEORY.md §1) and the initial state `h, c ~ N(0, 1)`.
    pub fn random(
        model: Model,
        n: usize,
        scales: &[GateScale],
        act: Activation,
        seed: u64,
    ) -> Result<Self, HostError> {
        if n == 0 {
            return Err(HostError::Param("--n must be at least 1".into()));
        }
        if scales.len() != model.gates() {
            return Err(HostError::Param(format!(
                "{} gate scales needed",
                model.gates()
            )));
        }
        let mut rng = XorShiftRng::seed_from_u64(seed);
        let mut gates: Vec<GateBuf> = (0..model.gates())
            .map(|_| GateBuf {
                u: vec![0.0; n * n],
                b: vec![0.0; n],
            })
            .collect();
        for (g, s) in gates.iter_mut().zip(scales) {
            fill_gates(
                &mut rng,
                [GateMut {
                    u: &mut g.u,
                    w: &mut [],
                    b: &mut g.b,
                }],
                [*s],
            )?;
        }
        let mut nrm = Normal::new();
        let h = (0..n).map(|_| nrm.sample(&mut rng)).collect();
        let c = if model == Model::Lstm {
            (0..n).map(|_| nrm.sample(&mut rng)).collect()
        } else {
            vec![]
        };
        let tlen = if model == Model::Lstm { 11 } else { 7 };
        Ok(Net {
            model,
            n,
            gates,
            act,
            h,
            c,
            trace: vec![vec![0.0; n]; tlen],
        })
    }

    /// State dimension (n or 2n).
    pub fn dim(&self) -> usize {
        match self.model {
            Model::Gru => self.n,
            Model::Lstm => 2 * self.n,
        }
    }

    /// GRU view (panics on an LSTM: internal use after a model check).
    pub fn gru_ref(&self) -> GruRef<'_, f64> {
        GruRef::new(
            self.n,
            0,
            self.gates[0].view(),
            self.gates[1].view(),
            self.gates[2].view(),
            self.act,
        )
        .expect("sizes fixed at construction")
    }
    /// LSTM view.
    pub fn lstm_ref(&self) -> LstmRef<'_, f64> {
        let g = [
            self.gates[0].view(),
            self.gates[1].view(),
            self.gates[2].view(),
            self.gates[3].view(),
        ];
        LstmRef::new(self.n, 0, g, self.act).expect("sizes fixed at construction")
    }
    /// GRU trace of the last [`Net::trace_step`].
    pub fn gru_trace(&self) -> GruTraceRef<'_, f64> {
        let t = &self.trace;
        GruTraceRef {
            z: &t[0],
            r: &t[1],
            candidate: &t[2],
            a_z: &t[3],
            a_r: &t[4],
            a_h: &t[5],
            next: &t[6],
        }
    }
    /// LSTM trace of the last [`Net::trace_step`].
    pub fn lstm_trace(&self) -> LstmTraceRef<'_, f64> {
        let t = &self.trace;
        LstmTraceRef {
            f: &t[0],
            i: &t[1],
            o: &t[2],
            g: &t[3],
            a_f: &t[4],
            a_i: &t[5],
            a_o: &t[6],
            a_c: &t[7],
            c_next: &t[8],
            c_act: &t[9],
            h_next: &t[10],
        }
    }

    /// Computes the trace of one step from the current state (the state
    /// does not move).
    pub fn trace_step(&mut self) -> Result<(), HostError> {
        let mut t = std::mem::take(&mut self.trace);
        let r = match self.model {
            Model::Lstm => {
                let [f, i, o, g, a_f, a_i, a_o, a_c, c_next, c_act, h_next] = t.as_mut_slice()
                else {
                    unreachable!("11 trace vectors")
                };
                let tm = LstmTraceMut {
                    f,
                    i,
                    o,
                    g,
                    a_f,
                    a_i,
                    a_o,
                    a_c,
                    c_next,
                    c_act,
                    h_next,
                };
                self.lstm_ref().step(&self.h, &self.c, &[], tm)
            }
            Model::Gru => {
                let [z, r, candidate, a_z, a_r, a_h, next] = t.as_mut_slice() else {
                    unreachable!("7 trace vectors")
                };
                let tm = GruTraceMut {
                    z,
                    r,
                    candidate,
                    a_z,
                    a_r,
                    a_h,
                    next,
                };
                self.gru_ref().step(&self.h, &[], tm)
            }
        };
        self.trace = t;
        Ok(r?)
    }

    /// Runs `steps` steps (calling `tick` after each), then traces the step
    /// from the state reached: the Jacobian is taken there.
    pub fn run(&mut self, steps: usize, mut tick: impl FnMut()) -> Result<(), HostError> {
        for _ in 0..steps {
            self.trace_step()?;
            match self.model {
                Model::Lstm => {
                    self.h.copy_from_slice(&self.trace[10]);
                    self.c.copy_from_slice(&self.trace[8]);
                }
                Model::Gru => self.h.copy_from_slice(&self.trace[6]),
            }
            tick();
        }
        self.trace_step()
    }

    /// Sets the state to zero and traces the step there.
    pub fn at_zero(&mut self) -> Result<(), HostError> {
        self.h.fill(0.0);
        self.c.fill(0.0);
        self.trace_step()
    }

    /// The diagonal factors of the Jacobian at the traced state (THEORY.md
    /// §3), `n` each, in the order of the core's structs: GRU `keep,
    /// candidate, reset, reset_slope, update` ([`gatedyn::GruFactorsMut`]);
    /// LSTM `forget, forget_slope, input_slope, cell_slope, output_slope,
    /// output` ([`gatedyn::LstmFactorsMut`]).
    pub fn jacobian_factors(&self) -> Result<Vec<Vec<f64>>, HostError> {
        let n = self.n;
        match self.model {
            Model::Gru => {
                let mut f = vec![vec![0.0; n]; 5];
                let [keep, candidate, reset, reset_slope, update] = f.as_mut_slice() else {
                    unreachable!("5 factors")
                };
                self.gru_ref().factors(
                    &self.h,
                    self.gru_trace(),
                    GruFactorsMut {
                        keep,
                        candidate,
                        reset,
                        reset_slope,
                        update,
                    },
                )?;
                Ok(f)
            }
            Model::Lstm => {
                let mut f = vec![vec![0.0; n]; 6];
                let [forget, forget_slope, input_slope, cell_slope, output_slope, output] =
                    f.as_mut_slice()
                else {
                    unreachable!("6 factors")
                };
                self.lstm_ref().factors(
                    &self.h,
                    &self.c,
                    self.lstm_trace(),
                    LstmFactorsMut {
                        forget,
                        forget_slope,
                        input_slope,
                        cell_slope,
                        output_slope,
                        output,
                    },
                )?;
                Ok(f)
            }
        }
    }

    /// `⟨h²⟩`.
    pub fn mean_square_activity(&self) -> f64 {
        self.h.iter().map(|x| x * x).sum::<f64>() / self.n as f64
    }

    /// The dense Jacobian at the traced state (row-major dim×dim).
    pub fn jacobian(&self) -> Result<Vec<f64>, HostError> {
        let d = self.dim();
        let mut j = vec![0.0; d * d];
        match self.model {
            Model::Lstm => self
                .lstm_ref()
                .jacobian(&self.h, &self.c, self.lstm_trace(), &mut j)?,
            Model::Gru => self.gru_ref().jacobian(&self.h, self.gru_trace(), &mut j)?,
        }
        Ok(j)
    }
}
