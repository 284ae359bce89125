//! Running a network on an input sequence (`gatedyn run`): `T` steps of
//! the core's cell (docs/THEORY.md §2, §9) from the network's state, in
//! `f32` (the weights rounded once, as firmware would hold them) or `f64`.

use crate::io::arrays::Table;
use crate::net::{GateWeights, Net};
use crate::HostError;
use crate::Param;
use crate::Precision;
use gatedyn::{
    GateRef, GruForm, GruGates, GruRef, GruTraceMut, LstmGates, LstmRef, LstmTraceMut, Real,
};

/// Errors unless `inputs` has one column per input of `net`, naming
/// [`Param::Inputs`].
pub fn check_inputs(net: &Net, inputs: &Table) -> Result<(), HostError> {
    if inputs.cols != net.inputs() {
        return Err(HostError::invalid(
            Param::Inputs,
            format!(
                " has {} columns; the model takes {} inputs",
                inputs.cols,
                net.inputs()
            ),
        ));
    }
    Ok(())
}

/// Runs `net` from its current state on `inputs` (`T × inputs`, one row per
/// step) and returns the hidden states `h_1 … h_T` (`T × N`). The network
/// is not changed. `tick` is called after each step.
pub fn run_inputs(
    net: &Net,
    inputs: &Table,
    precision: Precision,
    tick: impl FnMut(),
) -> Result<Table, HostError> {
    check_inputs(net, inputs)?;
    if precision == Precision::F32 {
        // an entry beyond f32's range would become infinite in the step
        if let Some(k) = inputs.data.iter().position(|x| x.abs() > f32::MAX as f64) {
            let (r, c) = (k / inputs.cols.max(1), k % inputs.cols.max(1));
            return Err(HostError::invalid(
                Param::Inputs,
                format!(
                    ": the entry at row {r}, column {c} is {:e}, beyond the range of f32 (±3.4e38); run in f64",
                    inputs.data[k]
                ),
            ));
        }
    }
    match precision {
        Precision::F32 => run_in::<f32>(net, inputs, tick),
        Precision::F64 => run_in::<f64>(net, inputs, tick),
    }
}

/// One gate's weights converted to `F`.
struct GateIn<F> {
    u: Vec<F>,
    w: Vec<F>,
    b: Vec<F>,
}

fn to<F: Real>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::from_f64(x)).collect()
}

impl<F: Real> GateIn<F> {
    fn of(g: &GateWeights) -> Self {
        GateIn {
            u: to(&g.u),
            w: to(&g.w),
            b: to(&g.b),
        }
    }
    fn view(&self) -> GateRef<'_, F> {
        GateRef {
            u: &self.u,
            w: &self.w,
            b: &self.b,
        }
    }
}

fn run_in<F: Real>(net: &Net, inputs: &Table, mut tick: impl FnMut()) -> Result<Table, HostError> {
    let n = net.n();
    let steps = inputs.rows;
    let mut out = Table {
        rows: steps,
        cols: n,
        data: Vec::with_capacity(steps * n),
    };
    let failed = HostError::numerical("a step of the network");
    let mut x: Vec<F> = vec![F::ZERO; net.inputs()];
    match net {
        Net::Gru(g) => {
            let gates = [&g.weights.z, &g.weights.r, &g.weights.h].map(GateIn::<F>::of);
            let b_hn: Option<Vec<F>> = match &g.form {
                GruForm::ResetAfter { recurrent_bias } => Some(to(recurrent_bias)),
                GruForm::ResetBefore => None,
            };
            let form = match &b_hn {
                Some(b) => GruForm::ResetAfter {
                    recurrent_bias: &b[..],
                },
                None => GruForm::ResetBefore,
            };
            let cell = GruRef::with_form(
                n,
                g.inputs,
                GruGates {
                    z: gates[0].view(),
                    r: gates[1].view(),
                    h: gates[2].view(),
                },
                form,
                g.activation,
            )?;
            let mut h: Vec<F> = to(&g.h);
            let mut buf = vec![F::ZERO; 8 * n];
            for t in 0..steps {
                for (d, &s) in x.iter_mut().zip(inputs.row(t)) {
                    *d = F::from_f64(s);
                }
                let [z, r, candidate, a_z, a_r, a_h, reset_operand, next] = parts(&mut buf, n);
                let trace = GruTraceMut {
                    z,
                    r,
                    candidate,
                    a_z,
                    a_r,
                    a_h,
                    reset_operand,
                    next,
                };
                cell.step(&h, &x, trace).map_err(&failed)?;
                h.copy_from_slice(&buf[7 * n..]);
                out.data.extend(h.iter().map(|v| v.to_f64()));
                tick();
            }
        }
        Net::Lstm(l) => {
            let gates =
                [&l.weights.f, &l.weights.i, &l.weights.o, &l.weights.c].map(GateIn::<F>::of);
            let cell = LstmRef::new(
                n,
                l.inputs,
                LstmGates {
                    f: gates[0].view(),
                    i: gates[1].view(),
                    o: gates[2].view(),
                    c: gates[3].view(),
                },
                l.activation,
            )?;
            let (mut h, mut c): (Vec<F>, Vec<F>) = (to(&l.h), to(&l.c));
            let mut buf = vec![F::ZERO; 11 * n];
            for t in 0..steps {
                for (d, &s) in x.iter_mut().zip(inputs.row(t)) {
                    *d = F::from_f64(s);
                }
                let [f, i, o, g, a_f, a_i, a_o, a_c, c_next, c_act, h_next] = parts(&mut buf, n);
                let trace = LstmTraceMut {
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
                cell.step(&h, &c, &x, trace).map_err(&failed)?;
                c.copy_from_slice(&buf[8 * n..9 * n]);
                h.copy_from_slice(&buf[10 * n..]);
                out.data.extend(h.iter().map(|v| v.to_f64()));
                tick();
            }
        }
    }
    Ok(out)
}

/// `buf` (`K·n` long) as `K` consecutive parts of `n`, in order.
fn parts<const K: usize, F>(buf: &mut [F], n: usize) -> [&mut [F]; K] {
    let mut rest = buf;
    core::array::from_fn(|_| {
        let (part, tail) = core::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        part
    })
}
