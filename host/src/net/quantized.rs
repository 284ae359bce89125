//! A GRU or LSTM in fixed point with run-time sizes (docs/THEORY.md §16):
//! the core's [`gatedyn::quant`] cells over buffers this type owns, built
//! from a float [`Net`] with per-row weight scales and an input scale from
//! calibration inputs.

use crate::io::arrays::Table;
use crate::net::{GateWeights, GruNet, GruWeights, LstmNet, LstmWeights, Net};
use crate::HostError;
use crate::Param;
use gatedyn::quant::{
    bias_q16, quantize_gate, quantize_input, quantize_state, QGateMut, QGateRef, QGruRef,
    QGruTraceMut, QGruTraceRef, QLstmRef, QLstmTraceMut, QLstmTraceRef, QWeight, Requant,
};
use gatedyn::{Activation, GruForm};

/// The integer formats of a quantized cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `i8` weights, gates in steps of 1/128.
    Int8,
    /// `i16` weights, gates in steps of 2⁻¹⁵.
    Int16,
}

impl Scheme {
    /// `"int8"` or `"int16"`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Int8 => "int8",
            Scheme::Int16 => "int16",
        }
    }

    /// The gates' step: 1/128 or 2⁻¹⁵.
    pub fn gate_step(self) -> f64 {
        match self {
            Scheme::Int8 => 1.0 / 128.0,
            Scheme::Int16 => 1.0 / 32768.0,
        }
    }
}

/// One gate's integer arrays.
#[derive(Debug, Clone)]
struct QGateBuf<W> {
    u: Vec<W>,
    w: Vec<W>,
    b: Vec<i32>,
    u_scale: Vec<Requant>,
    w_scale: Vec<Requant>,
}

impl<W: QWeight> QGateBuf<W> {
    fn quantize(
        g: &GateWeights,
        n: usize,
        inputs: usize,
        input_scale: f64,
        name: &'static str,
    ) -> Result<Self, gatedyn::Error> {
        let mut q = QGateBuf {
            u: vec![W::default(); n * n],
            w: vec![W::default(); n * inputs],
            b: vec![0; n],
            u_scale: vec![Requant::default(); n],
            w_scale: vec![Requant::default(); n],
        };
        quantize_gate(
            g.view(),
            n,
            inputs,
            input_scale,
            name,
            QGateMut {
                u: &mut q.u,
                w: &mut q.w,
                b: &mut q.b,
                u_scale: &mut q.u_scale,
                w_scale: &mut q.w_scale,
            },
        )?;
        Ok(q)
    }

    fn view(&self) -> QGateRef<'_, W> {
        QGateRef {
            u: &self.u,
            w: &self.w,
            b: &self.b,
            u_scale: &self.u_scale,
            w_scale: &self.w_scale,
        }
    }
}

/// The gates (three for a GRU, four for an LSTM) in one of the two weight
/// types.
#[derive(Debug, Clone)]
enum Gates {
    Int8(Vec<QGateBuf<i8>>),
    Int16(Vec<QGateBuf<i16>>),
}

impl Gates {
    fn quantize(
        scheme: Scheme,
        gates: &[(&GateWeights, &'static str)],
        n: usize,
        inputs: usize,
        input_scale: f64,
    ) -> Result<Self, gatedyn::Error> {
        Ok(match scheme {
            Scheme::Int8 => Gates::Int8(
                gates
                    .iter()
                    .map(|(g, name)| QGateBuf::quantize(g, n, inputs, input_scale, name))
                    .collect::<Result<_, _>>()?,
            ),
            Scheme::Int16 => Gates::Int16(
                gates
                    .iter()
                    .map(|(g, name)| QGateBuf::quantize(g, n, inputs, input_scale, name))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// The state of a quantized cell: `h` in Q15, and an LSTM's `c` in Q16
/// (empty for a GRU).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QState {
    /// `h` in Q15.
    pub h: Vec<i16>,
    /// `c` in Q16 (LSTM only).
    pub c: Vec<i32>,
}

impl QState {
    /// `h` as values.
    pub fn h_values(&self) -> Vec<f64> {
        self.h.iter().map(|&x| x as f64 / 32768.0).collect()
    }
    /// `c` as values.
    pub fn c_values(&self) -> Vec<f64> {
        self.c.iter().map(|&x| x as f64 / 65536.0).collect()
    }
}

/// The trace of one quantized LSTM step, `n` entries each (see
/// [`gatedyn::quant::QLstmTrace`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QLstmTraceBuf {
    /// `f` in Q15.
    pub f: Vec<i32>,
    /// `i` in Q15.
    pub i: Vec<i32>,
    /// `o` in Q15.
    pub o: Vec<i32>,
    /// `g` in Q15.
    pub g: Vec<i32>,
    /// `a_f` in Q16.
    pub a_f: Vec<i32>,
    /// `a_i` in Q16.
    pub a_i: Vec<i32>,
    /// `a_o` in Q16.
    pub a_o: Vec<i32>,
    /// `a_c` in Q16.
    pub a_c: Vec<i32>,
    /// `c'` in Q16.
    pub c_next: Vec<i32>,
    /// `φ(c')` in Q15.
    pub c_act: Vec<i32>,
    /// `h'` in Q15.
    pub h_next: Vec<i16>,
}

impl QLstmTraceBuf {
    fn zeros(n: usize) -> Self {
        QLstmTraceBuf {
            f: vec![0; n],
            i: vec![0; n],
            o: vec![0; n],
            g: vec![0; n],
            a_f: vec![0; n],
            a_i: vec![0; n],
            a_o: vec![0; n],
            a_c: vec![0; n],
            c_next: vec![0; n],
            c_act: vec![0; n],
            h_next: vec![0; n],
        }
    }
    /// The core's read view.
    pub fn view(&self) -> QLstmTraceRef<'_> {
        QLstmTraceRef {
            f: &self.f,
            i: &self.i,
            o: &self.o,
            g: &self.g,
            a_f: &self.a_f,
            a_i: &self.a_i,
            a_o: &self.a_o,
            a_c: &self.a_c,
            c_next: &self.c_next,
            c_act: &self.c_act,
            h_next: &self.h_next,
        }
    }
    fn view_mut(&mut self) -> QLstmTraceMut<'_> {
        QLstmTraceMut {
            f: &mut self.f,
            i: &mut self.i,
            o: &mut self.o,
            g: &mut self.g,
            a_f: &mut self.a_f,
            a_i: &mut self.a_i,
            a_o: &mut self.a_o,
            a_c: &mut self.a_c,
            c_next: &mut self.c_next,
            c_act: &mut self.c_act,
            h_next: &mut self.h_next,
        }
    }
}

/// A quantized step's trace, by cell.
#[derive(Debug, Clone, PartialEq)]
pub enum QStepTrace {
    /// A GRU's.
    Gru(QTrace),
    /// An LSTM's.
    Lstm(QLstmTraceBuf),
}

impl QStepTrace {
    /// The state after the step.
    pub fn next(&self) -> QState {
        match self {
            QStepTrace::Gru(t) => QState {
                h: t.next.clone(),
                c: vec![],
            },
            QStepTrace::Lstm(t) => QState {
                h: t.h_next.clone(),
                c: t.c_next.clone(),
            },
        }
    }

    /// Share of units whose keep gate is exactly 1 (a frozen unit): a
    /// GRU's `z = 0` (it keeps with `1 − z`), an LSTM's `f = 1`.
    pub fn frozen_share(&self) -> f64 {
        let (count, n) = match self {
            QStepTrace::Gru(t) => (t.z.iter().filter(|&&z| z == 0).count(), t.z.len()),
            QStepTrace::Lstm(t) => (t.f.iter().filter(|&&f| f == 1 << 15).count(), t.f.len()),
        };
        count as f64 / n.max(1) as f64
    }

    /// The update or forget gate in Q15, the gate that keeps a unit.
    pub fn keep_gates(&self) -> &[i32] {
        match self {
            QStepTrace::Gru(t) => &t.z,
            QStepTrace::Lstm(t) => &t.f,
        }
    }
}

/// The trace of one quantized step, `n` entries each (see
/// [`gatedyn::quant::QGruTrace`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QTrace {
    /// `z` in Q15.
    pub z: Vec<i32>,
    /// `r` in Q15.
    pub r: Vec<i32>,
    /// `h̃` in Q15.
    pub candidate: Vec<i32>,
    /// `a_z` in Q16.
    pub a_z: Vec<i32>,
    /// `a_r` in Q16.
    pub a_r: Vec<i32>,
    /// `a_h` in Q16.
    pub a_h: Vec<i32>,
    /// `ρ`: `h` in Q15 (paper form) or `U_h h + b_hn` in Q16.
    pub reset_operand: Vec<i32>,
    /// `h'` in Q15.
    pub next: Vec<i16>,
}

impl QTrace {
    /// Zeros for `n` units.
    pub fn zeros(n: usize) -> Self {
        QTrace {
            z: vec![0; n],
            r: vec![0; n],
            candidate: vec![0; n],
            a_z: vec![0; n],
            a_r: vec![0; n],
            a_h: vec![0; n],
            reset_operand: vec![0; n],
            next: vec![0; n],
        }
    }

    /// The core's read view.
    pub fn view(&self) -> QGruTraceRef<'_> {
        QGruTraceRef {
            z: &self.z,
            r: &self.r,
            candidate: &self.candidate,
            a_z: &self.a_z,
            a_r: &self.a_r,
            a_h: &self.a_h,
            reset_operand: &self.reset_operand,
            next: &self.next,
        }
    }

    fn view_mut(&mut self) -> QGruTraceMut<'_> {
        QGruTraceMut {
            z: &mut self.z,
            r: &mut self.r,
            candidate: &mut self.candidate,
            a_z: &mut self.a_z,
            a_r: &mut self.a_r,
            a_h: &mut self.a_h,
            reset_operand: &mut self.reset_operand,
            next: &mut self.next,
        }
    }
}

/// A quantized GRU or LSTM of run-time size.
#[derive(Debug, Clone)]
pub struct QuantizedNet {
    n: usize,
    inputs: usize,
    scheme: Scheme,
    gates: Gates,
    /// A GRU's form (`b_hn` in Q16 after the reset); `None` for an LSTM.
    gru_form: Option<GruForm<Vec<i32>>>,
    activation: Activation,
    input_scale: f64,
}

/// Largest magnitude of a calibration input, or an error naming
/// `Param::Inputs` at the first value that is not finite.
fn input_range(inputs: &Table) -> Result<f64, HostError> {
    let mut max = 0.0f64;
    for (k, v) in inputs.data.iter().enumerate() {
        if !v.is_finite() {
            let cols = inputs.cols.max(1);
            return Err(HostError::invalid(
                Param::Inputs,
                format!(
                    ": the entry at row {}, column {} is {v}; calibration needs finite inputs",
                    k / cols,
                    k % cols
                ),
            ));
        }
        max = max.max(v.abs());
    }
    Ok(max)
}

/// One quantized gate's arrays, widened to `i32` (for writing them out).
#[derive(Debug, Clone, PartialEq)]
pub struct QGateArrays {
    /// `U`, row-major n×n.
    pub u: Vec<i32>,
    /// `W`, row-major n×inputs.
    pub w: Vec<i32>,
    /// `b` in Q16.
    pub b: Vec<i32>,
    /// Row multipliers of `U`.
    pub u_scale: Vec<Requant>,
    /// Row multipliers of `W`.
    pub w_scale: Vec<Requant>,
}

/// The core's view in one of the two weight types.
enum View<'a> {
    Gru8(QGruRef<'a, i8>),
    Gru16(QGruRef<'a, i16>),
    Lstm8(QLstmRef<'a, i8>),
    Lstm16(QLstmRef<'a, i16>),
}

fn gate_refs<W: QWeight>(g: &[QGateBuf<W>]) -> Vec<QGateRef<'_, W>> {
    g.iter().map(QGateBuf::view).collect()
}

impl QuantizedNet {
    /// `net` in `scheme`, with inputs in steps of `input_scale`
    /// (docs/THEORY.md §16). A weight or bias the format cannot hold is a
    /// [`HostError::Invalid`] naming `Param::Model` and the gate.
    pub fn new(net: &Net, scheme: Scheme, input_scale: f64) -> Result<Self, HostError> {
        let bad = |e: gatedyn::Error| {
            HostError::invalid(
                Param::Model,
                format!(": the weights do not fit {}: {e}", scheme.name()),
            )
        };
        let (n, inputs) = (net.n(), net.inputs());
        let q = match net {
            Net::Gru(g) => {
                let GruWeights { z, r, h } = &g.weights;
                let gates = Gates::quantize(
                    scheme,
                    &[(z, "z"), (r, "r"), (h, "h")],
                    n,
                    inputs,
                    input_scale,
                )
                .map_err(bad)?;
                let form = match &g.form {
                    GruForm::ResetBefore => GruForm::ResetBefore,
                    GruForm::ResetAfter { recurrent_bias } => GruForm::ResetAfter {
                        recurrent_bias: recurrent_bias
                            .iter()
                            .enumerate()
                            .map(|(i, v)| {
                                bias_q16(*v).ok_or_else(|| {
                                    bad(gatedyn::Error::OutOfRange {
                                        gate: "h",
                                        matrix: "b_hn",
                                        index: i,
                                    })
                                })
                            })
                            .collect::<Result<Vec<i32>, HostError>>()?,
                    },
                };
                QuantizedNet {
                    n,
                    inputs,
                    scheme,
                    gates,
                    gru_form: Some(form),
                    activation: g.activation,
                    input_scale,
                }
            }
            Net::Lstm(l) => {
                let LstmWeights { f, i, o, c } = &l.weights;
                let gates = Gates::quantize(
                    scheme,
                    &[(f, "f"), (i, "i"), (o, "o"), (c, "c")],
                    n,
                    inputs,
                    input_scale,
                )
                .map_err(bad)?;
                QuantizedNet {
                    n,
                    inputs,
                    scheme,
                    gates,
                    gru_form: None,
                    activation: l.activation,
                    input_scale,
                }
            }
        };
        q.with_view(|_| Ok(()))?;
        Ok(q)
    }

    /// `net` in `scheme`, its input scale from the calibration inputs: the
    /// largest `|x|` is stored as 32767 (an input scale of 2⁻¹⁵ when every
    /// input is zero). A value that is not finite is an error naming
    /// `Param::Inputs`.
    pub fn calibrated(net: &Net, scheme: Scheme, inputs: &Table) -> Result<Self, HostError> {
        let max = input_range(inputs)?;
        let scale = if max > 0.0 {
            max / 32767.0
        } else {
            1.0 / 32768.0
        };
        Self::new(net, scheme, scale)
    }

    /// Hidden units.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Whether this is an LSTM.
    pub fn is_lstm(&self) -> bool {
        self.gru_form.is_none()
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The value of one input step.
    pub fn input_scale(&self) -> f64 {
        self.input_scale
    }

    fn with_view<R>(
        &self,
        f: impl FnOnce(View<'_>) -> Result<R, gatedyn::Error>,
    ) -> Result<R, HostError> {
        let core = |e: gatedyn::Error| HostError::Numerical {
            step: "quantized step",
            source: e,
        };
        let (n, ins, act, scale) = (self.n, self.inputs, self.activation, self.input_scale);
        let view = match (&self.gru_form, &self.gates) {
            (Some(form), gates) => {
                let form = match form {
                    GruForm::ResetBefore => GruForm::ResetBefore,
                    GruForm::ResetAfter { recurrent_bias } => GruForm::ResetAfter {
                        recurrent_bias: &recurrent_bias[..],
                    },
                };
                match gates {
                    Gates::Int8(g) => {
                        let r = gate_refs(g);
                        View::Gru8(
                            QGruRef::new(n, ins, [r[0], r[1], r[2]], form, act, scale)
                                .map_err(core)?,
                        )
                    }
                    Gates::Int16(g) => {
                        let r = gate_refs(g);
                        View::Gru16(
                            QGruRef::new(n, ins, [r[0], r[1], r[2]], form, act, scale)
                                .map_err(core)?,
                        )
                    }
                }
            }
            (None, Gates::Int8(g)) => {
                let r = gate_refs(g);
                View::Lstm8(
                    QLstmRef::new(n, ins, [r[0], r[1], r[2], r[3]], act, scale).map_err(core)?,
                )
            }
            (None, Gates::Int16(g)) => {
                let r = gate_refs(g);
                View::Lstm16(
                    QLstmRef::new(n, ins, [r[0], r[1], r[2], r[3]], act, scale).map_err(core)?,
                )
            }
        };
        f(view).map_err(core)
    }

    /// The gates' arrays in the cell's order (`z, r, h` or `f, i, o, c`),
    /// widened to `i32`, and a reset-after GRU's `b_hn` in Q16.
    pub fn arrays(&self) -> (Vec<QGateArrays>, Option<Vec<i32>>) {
        fn widen<W: QWeight>(g: &QGateBuf<W>) -> QGateArrays {
            QGateArrays {
                u: g.u.iter().map(|w| w.to_i32()).collect(),
                w: g.w.iter().map(|w| w.to_i32()).collect(),
                b: g.b.clone(),
                u_scale: g.u_scale.clone(),
                w_scale: g.w_scale.clone(),
            }
        }
        let gates = match &self.gates {
            Gates::Int8(g) => g.iter().map(widen).collect(),
            Gates::Int16(g) => g.iter().map(widen).collect(),
        };
        let b_hn = match &self.gru_form {
            Some(GruForm::ResetAfter { recurrent_bias }) => Some(recurrent_bias.clone()),
            _ => None,
        };
        (gates, b_hn)
    }

    /// Inputs.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// `φ`.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// A trace of the right cell for this network.
    pub fn new_trace(&self) -> QStepTrace {
        match self.gru_form {
            Some(_) => QStepTrace::Gru(QTrace::zeros(self.n)),
            None => QStepTrace::Lstm(QLstmTraceBuf::zeros(self.n)),
        }
    }

    /// One step from `state` with `x` (input steps) into `trace` (from
    /// [`QuantizedNet::new_trace`]).
    pub fn step(&self, state: &QState, x: &[i16], trace: &mut QStepTrace) -> Result<(), HostError> {
        let mismatch = || HostError::BadInput("quantized step: a trace of the other cell".into());
        match trace {
            QStepTrace::Gru(t) => self.with_view(|v| match v {
                View::Gru8(q) => q.step(&state.h, x, t.view_mut()),
                View::Gru16(q) => q.step(&state.h, x, t.view_mut()),
                _ => Err(gatedyn::Error::InvalidParameter { name: "trace" }),
            }),
            QStepTrace::Lstm(t) => self.with_view(|v| match v {
                View::Lstm8(q) => q.step(&state.h, &state.c, x, t.view_mut()),
                View::Lstm16(q) => q.step(&state.h, &state.c, x, t.view_mut()),
                _ => Err(gatedyn::Error::InvalidParameter { name: "trace" }),
            }),
        }
        .map_err(|e| match e {
            HostError::Numerical {
                source: gatedyn::Error::InvalidParameter { name: "trace" },
                ..
            } => mismatch(),
            other => other,
        })
    }

    /// `x` in input steps (saturated to `i16`).
    pub fn quantize_input(&self, x: &[f64], out: &mut [i16]) -> Result<(), HostError> {
        quantize_input(x, self.input_scale, out)
            .map_err(|e| HostError::invalid(Param::Inputs, format!(": {e}")))
    }

    /// The state `(h, c)` of a float network in this one's formats: `h` in
    /// Q15, `c` in Q16 (saturated).
    pub fn quantize_state(&self, net: &Net) -> Result<QState, HostError> {
        let mut h = vec![0i16; self.n];
        quantize_state(net.h(), &mut h)
            .map_err(|e| HostError::invalid(Param::H0, format!(": {e}")))?;
        let c = match net {
            Net::Lstm(l) if self.is_lstm() => {
                l.c.iter()
                    .map(|&v| {
                        (v * 65536.0)
                            .round()
                            .clamp(i32::MIN as f64, i32::MAX as f64) as i32
                    })
                    .collect()
            }
            _ => vec![],
        };
        Ok(QState { h, c })
    }

    /// The float network this one stands for (weights `w_q · scale`, biases
    /// `b_q / 2¹⁶`, docs/THEORY.md §16) at the zero state; `like` gives the
    /// arrays' shapes.
    pub fn dequantized(&self, like: &Net) -> Result<Net, HostError> {
        match like {
            Net::Gru(g) => {
                let mut weights = g.weights.clone();
                let mut b_hn = vec![0.0; self.n];
                {
                    let GruWeights { z, r, h } = &mut weights;
                    let gates = [z.view_mut(), r.view_mut(), h.view_mut()];
                    self.with_view(|v| match v {
                        View::Gru8(q) => q.dequantize(gates, &mut b_hn),
                        View::Gru16(q) => q.dequantize(gates, &mut b_hn),
                        _ => Err(gatedyn::Error::InvalidParameter { name: "cell" }),
                    })?;
                }
                let form = match &self.gru_form {
                    Some(GruForm::ResetAfter { .. }) => GruForm::ResetAfter {
                        recurrent_bias: b_hn,
                    },
                    _ => GruForm::ResetBefore,
                };
                Ok(Net::Gru(GruNet::from_weights(
                    weights,
                    form,
                    self.activation,
                )))
            }
            Net::Lstm(l) => {
                let mut weights = l.weights.clone();
                {
                    let LstmWeights { f, i, o, c } = &mut weights;
                    let gates = [f.view_mut(), i.view_mut(), o.view_mut(), c.view_mut()];
                    self.with_view(|v| match v {
                        View::Lstm8(q) => q.dequantize(gates),
                        View::Lstm16(q) => q.dequantize(gates),
                        _ => Err(gatedyn::Error::InvalidParameter { name: "cell" }),
                    })?;
                }
                Ok(Net::Lstm(LstmNet::from_weights(weights, self.activation)))
            }
        }
    }

    /// Runs from `start` on `inputs` (rows: steps) and returns the states
    /// after each step; `each(t, trace)` sees every step's trace.
    pub fn run(
        &self,
        start: &QState,
        inputs: &Table,
        mut each: impl FnMut(usize, &QStepTrace),
    ) -> Result<Vec<QState>, HostError> {
        if inputs.cols != self.inputs {
            return Err(HostError::invalid(
                Param::Inputs,
                format!(
                    " has {} columns; the model takes {} inputs",
                    inputs.cols, self.inputs
                ),
            ));
        }
        let mut state = start.clone();
        let mut x = vec![0i16; self.inputs];
        let mut trace = self.new_trace();
        let mut states = Vec::with_capacity(inputs.rows);
        for t in 0..inputs.rows {
            self.quantize_input(inputs.row(t), &mut x)?;
            self.step(&state, &x, &mut trace)?;
            each(t, &trace);
            state = trace.next();
            states.push(state.clone());
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatedyn::init::GruScales;
    use gatedyn::quant::{QGru, QGruTrace};
    use gatedyn::Gru;
    use rand_core::SeedableRng;
    use rand_xorshift::XorShiftRng;

    const N: usize = 16;
    const I: usize = 2;

    fn random(form_after: bool) -> (Gru<f64, N, I>, GruNet) {
        let mut g: Gru<f64, N, I> = Gru::zeroed();
        g.randomize(
            &mut XorShiftRng::seed_from_u64(5),
            GruScales::recurrent(3.0, 1.0, 2.5),
        )
        .unwrap();
        for (row, k) in g.z.w.iter_mut().zip(0..) {
            *row = [0.3 * k as f64 / N as f64, -0.7];
        }
        if form_after {
            g.form = GruForm::ResetAfter {
                recurrent_bias: [0.25; N],
            };
        }
        let gate = |x: &gatedyn::Gate<f64, N, I>| GateWeights {
            u: x.u.as_flattened().to_vec(),
            w: x.w.as_flattened().to_vec(),
            b: x.b.to_vec(),
        };
        let weights = GruWeights {
            z: gate(&g.z),
            r: gate(&g.r),
            h: gate(&g.h),
        };
        let form = match &g.form {
            GruForm::ResetBefore => GruForm::ResetBefore,
            GruForm::ResetAfter { recurrent_bias } => GruForm::ResetAfter {
                recurrent_bias: recurrent_bias.to_vec(),
            },
        };
        let net = GruNet::from_weights(weights, form, g.activation);
        (g, net)
    }

    /// The run-time-size cell over host buffers gives the bits of the
    /// core's const-generic one, step after step.
    #[test]
    fn host_cell_is_the_core_cell_bit_for_bit() {
        for after in [false, true] {
            let (g, net) = random(after);
            let scale = 1.0 / 4096.0;
            let core: QGru<i8, N, I> = QGru::quantize(&g, scale).unwrap();
            let host = QuantizedNet::new(&Net::Gru(net), Scheme::Int8, scale).unwrap();
            let (mut h, mut trace, mut ct) = ([0i16; N], host.new_trace(), QGruTrace::zeroed());
            for t in 0..50i16 {
                let x = [t * 300 - 7000, 2000 - t * 90];
                core.step(&h, &x, &mut ct).unwrap();
                let state = QState {
                    h: h.to_vec(),
                    c: vec![],
                };
                host.step(&state, &x, &mut trace).unwrap();
                let QStepTrace::Gru(tr) = &trace else {
                    panic!("a GRU trace")
                };
                assert_eq!(tr.next, ct.next.to_vec(), "step {t}");
                assert_eq!(tr.z, ct.z.to_vec());
                assert_eq!(tr.a_h, ct.a_h.to_vec());
                h = ct.next;
            }
        }
    }

    #[test]
    fn calibration_sets_the_input_scale_and_refuses_nan() {
        let (_, net) = random(false);
        let inputs = Table {
            rows: 2,
            cols: I,
            data: vec![0.5, -3.0, 1.0, 2.0],
        };
        let net = Net::Gru(net);
        let q = QuantizedNet::calibrated(&net, Scheme::Int16, &inputs).unwrap();
        assert_eq!(q.input_scale(), 3.0 / 32767.0);
        let mut x = [0i16; I];
        q.quantize_input(&[-3.0, 3.0], &mut x).unwrap();
        assert_eq!(x, [-32767, 32767]);
        let bad = Table {
            rows: 2,
            cols: I,
            data: vec![0.5, -3.0, f64::NAN, 2.0],
        };
        let e = QuantizedNet::calibrated(&net, Scheme::Int16, &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "inputs: the entry at row 1, column 0 is NaN; calibration needs finite inputs"
        );
    }
}
