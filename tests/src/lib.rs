//! Shared helpers of the cross-crate integration tests in `tests/tests/`.

use gatedyn::Complex;

/// All eigenvalues of a dense row-major `m×m` matrix (faer, f64). (nalgebra
/// 0.34's Schur iteration never returns on Jacobians with many eigenvalues
/// clustered at 1, the large-σ_z case, so the tests use faer.)
pub fn eigenvalues(m: usize, row_major: &[f64]) -> Vec<Complex> {
    let a = faer::Mat::<f64>::from_fn(m, m, |i, j| row_major[i * m + j]);
    a.eigenvalues()
        .expect("dense eigenvalues")
        .into_iter()
        .map(|z| Complex::new(z.re, z.im))
        .collect()
}

/// Largest modulus.
pub fn spectral_radius(v: &[Complex]) -> f64 {
    v.iter().map(|z| z.abs()).fold(0.0, f64::max)
}

/// Matches two multisets of eigenvalues greedily (nearest unused partner)
/// and returns the largest distance.
pub fn max_matching_distance(a: &[Complex], b: &[Complex]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut used = vec![false; b.len()];
    let mut worst = 0.0f64;
    for x in a {
        let (k, d) = b
            .iter()
            .enumerate()
            .filter(|(k, _)| !used[*k])
            .map(|(k, y)| (k, (*x - *y).abs()))
            .min_by(|p, q| p.1.total_cmp(&q.1))
            .expect("same length");
        used[k] = true;
        worst = worst.max(d);
    }
    worst
}

use gatedyn::init::{fill_gates, GateScale};
use gatedyn::{
    Activation, GateMut, GateRef, GruRef, GruTraceMut, GruTraceRef, LstmRef, LstmTraceMut,
    LstmTraceRef,
};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Owned weights of one gate with run-time size.
#[derive(Debug, Clone)]
pub struct GateBuf {
    /// Recurrent weights, row-major n×n.
    pub u: Vec<f64>,
    /// Input weights (none here).
    pub w: Vec<f64>,
    /// Bias.
    pub b: Vec<f64>,
}

impl GateBuf {
    fn new(n: usize) -> Self {
        GateBuf {
            u: vec![0.0; n * n],
            w: vec![],
            b: vec![0.0; n],
        }
    }
    fn view(&self) -> GateRef<'_, f64> {
        GateRef {
            u: &self.u,
            w: &self.w,
            b: &self.b,
        }
    }
    fn view_mut(&mut self) -> GateMut<'_, f64> {
        GateMut {
            u: &mut self.u,
            w: &mut self.w,
            b: &mut self.b,
        }
    }
}

/// A random autonomous network of run-time size (GRU: 3 gates z, r, h;
/// LSTM: 4 gates f, i, o, c), with its state and the trace of one step.
#[derive(Debug, Clone)]
pub struct Net {
    /// Hidden size.
    pub n: usize,
    /// Gates in model order.
    pub gates: Vec<GateBuf>,
    /// `φ`.
    pub act: Activation,
    /// Hidden state.
    pub h: Vec<f64>,
    /// Cell state (LSTM only; empty for a GRU).
    pub c: Vec<f64>,
    /// Trace storage: GRU 7 vectors, LSTM 11 vectors.
    pub trace: Vec<Vec<f64>>,
}

impl Net {
    /// A random GRU (`scales` for z, r, h), state `h ~ N(0, 1)`.
    pub fn gru(n: usize, scales: [GateScale; 3], seed: u64) -> Self {
        Self::build(n, &scales, seed, 7, false)
    }
    /// A random LSTM (`scales` for f, i, o, c), state `h, c ~ N(0, 1)`.
    pub fn lstm(n: usize, scales: [GateScale; 4], seed: u64) -> Self {
        Self::build(n, &scales, seed, 11, true)
    }
    fn build(n: usize, scales: &[GateScale], seed: u64, tlen: usize, lstm: bool) -> Self {
        let mut rng = XorShiftRng::seed_from_u64(seed);
        let mut gates: Vec<GateBuf> = scales.iter().map(|_| GateBuf::new(n)).collect();
        for (g, s) in gates.iter_mut().zip(scales) {
            fill_gates(&mut rng, [g.view_mut()], [*s]).unwrap();
        }
        let mut nrm = gatedyn::init::Normal::new();
        let h = (0..n).map(|_| nrm.sample(&mut rng)).collect();
        let c = if lstm {
            (0..n).map(|_| nrm.sample(&mut rng)).collect()
        } else {
            vec![]
        };
        Net {
            n,
            gates,
            act: Activation::Tanh,
            h,
            c,
            trace: vec![vec![0.0; n]; tlen],
        }
    }
    /// Whether this is an LSTM.
    pub fn is_lstm(&self) -> bool {
        self.gates.len() == 4
    }
    /// State dimension (n or 2n).
    pub fn dim(&self) -> usize {
        if self.is_lstm() {
            2 * self.n
        } else {
            self.n
        }
    }
    /// GRU view.
    pub fn gru_ref(&self) -> GruRef<'_, f64> {
        GruRef::new(
            self.n,
            0,
            self.gates[0].view(),
            self.gates[1].view(),
            self.gates[2].view(),
            self.act,
        )
        .unwrap()
    }
    /// LSTM view.
    pub fn lstm_ref(&self) -> LstmRef<'_, f64> {
        let g = [
            self.gates[0].view(),
            self.gates[1].view(),
            self.gates[2].view(),
            self.gates[3].view(),
        ];
        LstmRef::new(self.n, 0, g, self.act).unwrap()
    }
    /// GRU trace view.
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
    /// LSTM trace view.
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
    /// Computes the trace of one step from the current state (without moving).
    pub fn trace_step(&mut self) {
        let mut t = std::mem::take(&mut self.trace);
        if self.is_lstm() {
            let [f, i, o, g, a_f, a_i, a_o, a_c, c_next, c_act, h_next] = t.as_mut_slice() else {
                unreachable!()
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
            self.lstm_ref().step(&self.h, &self.c, &[], tm).unwrap();
        } else {
            let [z, r, candidate, a_z, a_r, a_h, next] = t.as_mut_slice() else {
                unreachable!()
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
            self.gru_ref().step(&self.h, &[], tm).unwrap();
        }
        self.trace = t;
    }
    /// Runs `steps` steps, then leaves the trace of the step from the state
    /// reached (the Jacobian is taken there).
    pub fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.trace_step();
            if self.is_lstm() {
                self.h = self.trace[10].clone();
                self.c = self.trace[8].clone();
            } else {
                self.h = self.trace[6].clone();
            }
        }
        self.trace_step();
    }
    /// Sets the state to zero and traces a step there.
    pub fn at_zero(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
        self.trace_step();
    }
    /// The dense Jacobian (row-major dim×dim) at the traced state.
    pub fn jacobian(&self) -> Vec<f64> {
        let d = self.dim();
        let mut j = vec![0.0; d * d];
        if self.is_lstm() {
            self.lstm_ref()
                .jacobian(&self.h, &self.c, self.lstm_trace(), &mut j)
                .unwrap();
        } else {
            self.gru_ref()
                .jacobian(&self.h, self.gru_trace(), &mut j)
                .unwrap();
        }
        j
    }
}
