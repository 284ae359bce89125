//! A GRU in fixed point with run-time sizes (docs/THEORY.md §16): the
//! core's [`gatedyn::quant`] cell over buffers this type owns, built from a
//! float [`GruNet`] with per-row weight scales and an input scale from
//! calibration inputs.

use crate::io::arrays::Table;
use crate::net::{GateWeights, GruNet, GruWeights};
use crate::HostError;
use crate::Param;
use gatedyn::quant::{
    quantize_gate, quantize_input, quantize_state, QGateMut, QGateRef, QGruRef, QGruTraceMut,
    QGruTraceRef, QWeight, Requant,
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

/// The three gates in one of the two weight types.
#[derive(Debug, Clone)]
enum Gates {
    Int8([QGateBuf<i8>; 3]),
    Int16([QGateBuf<i16>; 3]),
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

/// A quantized GRU of run-time size.
#[derive(Debug, Clone)]
pub struct QuantizedGru {
    n: usize,
    inputs: usize,
    scheme: Scheme,
    gates: Gates,
    b_hn: Option<Vec<i32>>,
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

impl QuantizedGru {
    /// `net` in `scheme`, with inputs in steps of `input_scale`
    /// (docs/THEORY.md §16). A weight or bias the format cannot hold is a
    /// [`HostError::Invalid`] naming `Param::Model` and the gate.
    pub fn new(net: &GruNet, scheme: Scheme, input_scale: f64) -> Result<Self, HostError> {
        let (n, inputs) = (net.n, net.inputs);
        let GruWeights { z, r, h } = &net.weights;
        let bad = |e: gatedyn::Error| {
            HostError::invalid(
                Param::Model,
                format!(": the weights do not fit {}: {e}", scheme.name()),
            )
        };
        let gates = match scheme {
            Scheme::Int8 => Gates::Int8([
                QGateBuf::quantize(z, n, inputs, input_scale, "z").map_err(bad)?,
                QGateBuf::quantize(r, n, inputs, input_scale, "r").map_err(bad)?,
                QGateBuf::quantize(h, n, inputs, input_scale, "h").map_err(bad)?,
            ]),
            Scheme::Int16 => Gates::Int16([
                QGateBuf::quantize(z, n, inputs, input_scale, "z").map_err(bad)?,
                QGateBuf::quantize(r, n, inputs, input_scale, "r").map_err(bad)?,
                QGateBuf::quantize(h, n, inputs, input_scale, "h").map_err(bad)?,
            ]),
        };
        let b_hn = match &net.form {
            GruForm::ResetBefore => None,
            GruForm::ResetAfter { recurrent_bias } => Some(
                recurrent_bias
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let q = (v * 65536.0).round();
                        if q.abs() < i32::MAX as f64 {
                            Ok(q as i32)
                        } else {
                            Err(bad(gatedyn::Error::OutOfRange {
                                gate: "h",
                                matrix: "b_hn",
                                index: i,
                            }))
                        }
                    })
                    .collect::<Result<Vec<i32>, HostError>>()?,
            ),
        };
        let q = QuantizedGru {
            n,
            inputs,
            scheme,
            gates,
            b_hn,
            activation: net.activation,
            input_scale,
        };
        q.with_view(|_| Ok(()))?;
        Ok(q)
    }

    /// `net` in `scheme`, its input scale from the calibration inputs: the
    /// largest `|x|` is stored as 32767 (an input scale of 2⁻¹⁵ when every
    /// input is zero). A value that is not finite is an error naming
    /// `Param::Inputs`.
    pub fn calibrated(net: &GruNet, scheme: Scheme, inputs: &Table) -> Result<Self, HostError> {
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
        let form = match &self.b_hn {
            None => GruForm::ResetBefore,
            Some(b) => GruForm::ResetAfter {
                recurrent_bias: &b[..],
            },
        };
        let core = |e: gatedyn::Error| HostError::Numerical {
            step: "quantized step",
            source: e,
        };
        let view = match &self.gates {
            Gates::Int8(g) => View::Int8(
                QGruRef::new(
                    self.n,
                    self.inputs,
                    [g[0].view(), g[1].view(), g[2].view()],
                    form,
                    self.activation,
                    self.input_scale,
                )
                .map_err(core)?,
            ),
            Gates::Int16(g) => View::Int16(
                QGruRef::new(
                    self.n,
                    self.inputs,
                    [g[0].view(), g[1].view(), g[2].view()],
                    form,
                    self.activation,
                    self.input_scale,
                )
                .map_err(core)?,
            ),
        };
        f(view).map_err(core)
    }

    /// One step from `h` (Q15) with `x` (input steps) into `trace`.
    pub fn step(&self, h: &[i16], x: &[i16], trace: &mut QTrace) -> Result<(), HostError> {
        self.with_view(|v| match v {
            View::Int8(q) => q.step(h, x, trace.view_mut()),
            View::Int16(q) => q.step(h, x, trace.view_mut()),
        })
    }

    /// `x` in input steps (saturated to `i16`).
    pub fn quantize_input(&self, x: &[f64], out: &mut [i16]) -> Result<(), HostError> {
        quantize_input(x, self.input_scale, out)
            .map_err(|e| HostError::invalid(Param::Inputs, format!(": {e}")))
    }

    /// A state in Q15 (saturated to `i16`).
    pub fn quantize_state(h: &[f64], out: &mut [i16]) -> Result<(), HostError> {
        quantize_state(h, out).map_err(|e| HostError::invalid(Param::H0, format!(": {e}")))
    }

    /// The float network this one stands for (weights `w_q · scale`, biases
    /// `b_q / 2¹⁶`, docs/THEORY.md §16) at the zero state.
    pub fn dequantized(&self, like: &GruNet) -> Result<GruNet, HostError> {
        let mut weights = like.weights.clone();
        let mut b_hn = vec![0.0; self.n];
        {
            let GruWeights { z, r, h } = &mut weights;
            let gates = [z.view_mut(), r.view_mut(), h.view_mut()];
            self.with_view(|v| match v {
                View::Int8(q) => q.dequantize(gates, &mut b_hn),
                View::Int16(q) => q.dequantize(gates, &mut b_hn),
            })?;
        }
        let form = match &self.b_hn {
            None => GruForm::ResetBefore,
            Some(_) => GruForm::ResetAfter {
                recurrent_bias: b_hn,
            },
        };
        Ok(GruNet::from_weights(weights, form, self.activation))
    }

    /// Runs from the state `h0` on `inputs` (rows: steps) and returns the
    /// states `h_1 … h_T` in Q15; `each(t, trace)` sees every step's trace.
    pub fn run(
        &self,
        h0: &[f64],
        inputs: &Table,
        mut each: impl FnMut(usize, &QTrace),
    ) -> Result<Vec<Vec<i16>>, HostError> {
        if inputs.cols != self.inputs {
            return Err(HostError::invalid(
                Param::Inputs,
                format!(
                    " has {} columns; the model takes {} inputs",
                    inputs.cols, self.inputs
                ),
            ));
        }
        let mut h = vec![0i16; self.n];
        Self::quantize_state(h0, &mut h)?;
        let mut x = vec![0i16; self.inputs];
        let mut trace = QTrace::zeros(self.n);
        let mut states = Vec::with_capacity(inputs.rows);
        for t in 0..inputs.rows {
            self.quantize_input(inputs.row(t), &mut x)?;
            self.step(&h, &x, &mut trace)?;
            each(t, &trace);
            h.copy_from_slice(&trace.next);
            states.push(h.clone());
        }
        Ok(states)
    }
}

/// The core's view in one of the two weight types.
enum View<'a> {
    Int8(QGruRef<'a, i8>),
    Int16(QGruRef<'a, i16>),
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
            let host = QuantizedGru::new(&net, Scheme::Int8, scale).unwrap();
            let (mut h, mut trace, mut ct) = ([0i16; N], QTrace::zeros(N), QGruTrace::zeroed());
            for t in 0..50i16 {
                let x = [t * 300 - 7000, 2000 - t * 90];
                core.step(&h, &x, &mut ct).unwrap();
                host.step(&h, &x, &mut trace).unwrap();
                assert_eq!(trace.next, ct.next.to_vec(), "step {t}");
                assert_eq!(trace.z, ct.z.to_vec());
                assert_eq!(trace.a_h, ct.a_h.to_vec());
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
        let q = QuantizedGru::calibrated(&net, Scheme::Int16, &inputs).unwrap();
        assert_eq!(q.input_scale(), 3.0 / 32767.0);
        let mut x = [0i16; I];
        q.quantize_input(&[-3.0, 3.0], &mut x).unwrap();
        assert_eq!(x, [-32767, 32767]);
        let bad = Table {
            rows: 2,
            cols: I,
            data: vec![0.5, -3.0, f64::NAN, 2.0],
        };
        let e = QuantizedGru::calibrated(&net, Scheme::Int16, &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "inputs: the entry at row 1, column 0 is NaN; calibration needs finite inputs"
        );
    }
}
