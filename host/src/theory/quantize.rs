//! What quantization does to a trained GRU or LSTM (`gatedyn quantize`,
//! docs/THEORY.md §16): the quantized network ([`QuantizedNet`]) and the
//! float one run side by side on the same inputs, then compared.
//!
//! * **States.** `state_error_max` and `state_error_rms` of `h_q / 2¹⁵`
//!   against the `f64` states; with a readout, the share of steps whose
//!   outputs' argmax agree and the largest output difference.
//! * **Slow modes** (`|λ| > 1 − ε`, as `gatedyn analyze`) at every sampled
//!   step: of the float network's Jacobian, and of the dequantized
//!   network's Jacobian at the quantized gate values.
//! * **Frozen units:** the share of units whose keep gate is exactly 1 (a
//!   GRU's update gate exactly 0, since it keeps with `1 − z`; an LSTM's
//!   forget gate exactly 1), and the float network's share within half a
//!   gate step of that (the values that would round to it).
//! * **The dead zone** at the last step (GRU): `2⁻¹⁶/z` per unit, and the
//!   units the quantized step leaves where they are while the float step
//!   would move them.
//! * **The autonomous map:** from the last state at a constant input,
//!   iterated by Brent's method until a state repeats (a fixed point or a
//!   cycle, with its transient), within a bound; and the float network
//!   iterated as long from the same state.

use crate::formats::{Model, ModelInfo};
use crate::io::arrays::Table;
use crate::linalg::eigen::{eigenvalues, jacobian};
use crate::net::quantized::{QState, QStepTrace, QuantizedNet, Scheme};
use crate::net::Net;
use crate::HostError;
use crate::Param;
use gatedyn::Complex;
use serde::Serialize;

/// What to compute.
#[derive(Debug, Clone)]
pub struct QuantizeConfig {
    /// The integer formats.
    pub scheme: Scheme,
    /// A slow mode has `|λ| > 1 − slow_epsilon`.
    pub slow_epsilon: f64,
    /// Sample the Jacobians every this many steps (the last step always).
    pub every: usize,
    /// The autonomous map's input (zeros when `None`).
    pub autonomous_input: Option<Vec<f64>>,
    /// At most this many steps of the autonomous map.
    pub max_steps: usize,
}

/// Above this many units the Jacobians are not sampled (dense
/// eigenvalues, `O(N³)` each).
pub const MAX_DENSE: usize = 2000;

/// One sampled step.
#[derive(Debug, Clone, Serialize)]
pub struct QuantizeSample {
    /// The step (0-based).
    pub t: usize,
    /// Slow modes of the float network's Jacobian.
    pub slow_modes_float: usize,
    /// Slow modes of the dequantized network's Jacobian at the quantized
    /// gates.
    pub slow_modes_quantized: usize,
    /// Share of units with `z` exactly 0 in the quantized step.
    pub frozen_quantized: f64,
    /// Share of units with `z` below half a gate step in the float step.
    pub frozen_float: f64,
}

/// The outputs of a linear readout, float against quantized.
#[derive(Debug, Clone, Serialize)]
pub struct ReadoutAgreement {
    /// Share of steps whose outputs' largest entry is the same (1 output:
    /// the share whose sign agrees).
    pub argmax_agreement: f64,
    /// `max |y_q − y|` over steps and outputs.
    pub max_error: f64,
}

/// Frozen units over the samples.
#[derive(Debug, Clone, Serialize)]
pub struct FrozenUnits {
    /// Half a gate step: a float `z` below it rounds to 0.
    pub threshold: f64,
    /// Mean share of units frozen in the quantized steps.
    pub quantized: f64,
    /// Mean share below the threshold in the float steps.
    pub float: f64,
}

/// The dead zone at the last step (docs/THEORY.md §16).
#[derive(Debug, Clone, Serialize)]
pub struct DeadZone {
    /// The median over units with `z > 0` of `2⁻¹⁶ / z`: how close to its
    /// candidate a unit stalls.
    pub median_bound: Option<f64>,
    /// Share of units the quantized step leaves unchanged while `z > 0`
    /// and `h̃ ≠ h`: stalled in the dead zone.
    pub stalled: f64,
}

/// Where an iterated map ends.
#[derive(Debug, Clone, Serialize)]
pub struct Orbit {
    /// `fixed_point`, `cycle`, or `unresolved` (no repeat within the
    /// bound); for the float map `fixed_point` or `moving`.
    pub kind: &'static str,
    /// The cycle's length (1 for a fixed point).
    pub period: Option<usize>,
    /// Steps before the cycle.
    pub transient: Option<usize>,
    /// Steps iterated.
    pub steps: usize,
    /// The float map: `max |h_{t+1} − h_t|` at its last step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change: Option<f64>,
}

/// The autonomous map, quantized and float.
#[derive(Debug, Clone, Serialize)]
pub struct Autonomous {
    /// The constant input.
    pub input: Vec<f64>,
    /// The quantized map (exact: a finite-state map ends on a cycle).
    pub quantized: Orbit,
    /// The float map from the same state, as many steps.
    pub float: Orbit,
}

/// What `gatedyn quantize` reports.
#[derive(Debug, Clone, Serialize)]
pub struct QuantizeReport {
    /// The model.
    pub model: ModelInfo,
    /// `int8` or `int16`.
    pub scheme: Scheme,
    /// The value of one input step (from the inputs' range).
    pub input_scale: f64,
    /// Steps run.
    pub steps: usize,
    /// `max |h_q − h|` over steps and units.
    pub state_error_max: f64,
    /// Its root mean square.
    pub state_error_rms: f64,
    /// With a readout.
    pub readout: Option<ReadoutAgreement>,
    /// `ε` of the slow-mode counts.
    pub slow_epsilon: f64,
    /// Mean slow modes over the samples, float.
    pub slow_modes_float: Option<f64>,
    /// Mean slow modes over the samples, quantized.
    pub slow_modes_quantized: Option<f64>,
    /// Frozen units.
    pub frozen_units: FrozenUnits,
    /// The dead zone (a GRU's; `null` for an LSTM).
    pub dead_zone: Option<DeadZone>,
    /// The autonomous map.
    pub autonomous: Autonomous,
    /// Per sampled step (none above [`MAX_DENSE`] units).
    pub samples: Vec<QuantizeSample>,
    /// The last sample's eigenvalues, float and quantized (for the figure).
    #[serde(skip)]
    pub last_eigenvalues: Option<(Vec<Complex>, Vec<Complex>)>,
}

fn slow(ev: &[Complex], eps: f64) -> usize {
    ev.iter().filter(|z| z.abs() > 1.0 - eps).count()
}

/// The Jacobian (docs/THEORY.md §3) of the dequantized network `deq` at
/// the quantized step from `state` with `trace`: the float formula at the
/// quantized network's own gate values (§16). `deq` is the dequantized
/// network ([`QuantizedNet::dequantized`]) of the same cell as `trace`.
pub fn dequantized_jacobian(
    deq: &mut Net,
    state: &QState,
    trace: &QStepTrace,
) -> Result<faer::Mat<f64>, HostError> {
    let core = |e| HostError::Numerical {
        step: "dequantized trace",
        source: e,
    };
    match (&mut *deq, trace) {
        (Net::Gru(g), QStepTrace::Gru(t)) => {
            g.h.copy_from_slice(&state.h_values());
            let paper = !g.form.is_reset_after();
            t.view()
                .dequantize(paper, g.trace.view_mut())
                .map_err(core)?;
        }
        (Net::Lstm(l), QStepTrace::Lstm(t)) => {
            l.h.copy_from_slice(&state.h_values());
            l.c.copy_from_slice(&state.c_values());
            t.view().dequantize(l.trace.view_mut()).map_err(core)?;
        }
        _ => {
            return Err(HostError::BadInput(
                "dequantized Jacobian: a trace of the other cell".into(),
            ))
        }
    }
    jacobian(deq)
}

fn quantized_eigenvalues(
    deq: &mut Net,
    state: &QState,
    trace: &QStepTrace,
) -> Result<Vec<Complex>, HostError> {
    eigenvalues(&dequantized_jacobian(deq, state, trace)?)
}

/// Brent's cycle detection on `f` from `x0`, at most `max_steps`
/// applications.
fn brent<S: Clone + PartialEq>(
    x0: S,
    max_steps: usize,
    mut f: impl FnMut(&S) -> Result<S, HostError>,
) -> Result<Orbit, HostError> {
    let mut steps = 0;
    let (mut power, mut lam) = (1usize, 1usize);
    let mut tortoise = x0.clone();
    let mut hare = f(&x0)?;
    steps += 1;
    while tortoise != hare {
        if steps >= max_steps {
            return Ok(Orbit {
                kind: "unresolved",
                period: None,
                transient: None,
                steps,
                last_change: None,
            });
        }
        if power == lam {
            tortoise = hare.clone();
            power *= 2;
            lam = 0;
        }
        hare = f(&hare)?;
        steps += 1;
        lam += 1;
    }
    // the transient: two walkers `lam` apart from the start
    let (mut a, mut b) = (x0.clone(), x0);
    for _ in 0..lam {
        b = f(&b)?;
    }
    let mut mu = 0;
    while a != b {
        a = f(&a)?;
        b = f(&b)?;
        mu += 1;
    }
    steps += lam + 2 * mu;
    Ok(Orbit {
        kind: if lam == 1 { "fixed_point" } else { "cycle" },
        period: Some(lam),
        transient: Some(mu),
        steps,
        last_change: None,
    })
}

/// Runs the comparison of `model` (a GRU) on `inputs` in `cfg.scheme`,
/// calling `progress(steps done)`.
pub fn quantize(
    model: Model,
    inputs: &Table,
    cfg: &QuantizeConfig,
    mut progress: impl FnMut(usize),
) -> Result<QuantizeReport, HostError> {
    if cfg.every == 0 {
        return Err(HostError::invalid(
            Param::Every,
            " must be at least 1".into(),
        ));
    }
    if !(cfg.slow_epsilon > 0.0 && cfg.slow_epsilon < 1.0) {
        return Err(HostError::invalid(
            Param::SlowEpsilon,
            format!(" must be in (0, 1), got {}", cfg.slow_epsilon),
        ));
    }
    let Model {
        net, info, readout, ..
    } = model;
    crate::net::drive::check_inputs(&net, inputs)?;
    if inputs.rows == 0 {
        return Err(HostError::invalid(
            Param::Inputs,
            " has no rows (steps)".into(),
        ));
    }
    let q = QuantizedNet::calibrated(&net, cfg.scheme, inputs)?;
    let mut deq = q.dequantized(&net)?;
    let n = net.n();
    let dense = net.dim() <= MAX_DENSE;
    let threshold = cfg.scheme.gate_step() / 2.0;
    // a float unit within half a gate step of keeping for good
    let frozen_float = |net: &Net| match net {
        Net::Gru(g) => g.trace.z.iter().filter(|&&z| z < threshold).count(),
        Net::Lstm(l) => l.trace.f.iter().filter(|&&f| f > 1.0 - threshold).count(),
    } as f64
        / n as f64;
    // the float run, traced, with its Jacobians at the sampled steps
    let start = q.quantize_state(&net)?;
    let mut fnet = net.clone();
    let mut float_states = Vec::with_capacity(inputs.rows);
    let mut float_samples = Vec::new();
    for t in 0..inputs.rows {
        if t > 0 {
            fnet.advance();
        }
        fnet.x_mut().copy_from_slice(inputs.row(t));
        fnet.trace_step()?;
        float_states.push(fnet.next_h().to_vec());
        if dense && (t % cfg.every == 0 || t + 1 == inputs.rows) {
            let ev = eigenvalues(&jacobian(&fnet)?)?;
            float_samples.push((t, slow(&ev, cfg.slow_epsilon), frozen_float(&fnet), ev));
        }
        progress(t + 1);
    }
    // the quantized run, with the dequantized Jacobians at the same steps
    let mut q_samples = Vec::new();
    let mut last_trace = q.new_trace();
    let mut prev = start.clone();
    let mut failure = None;
    let q_states = q.run(&start, inputs, |t, trace| {
        if failure.is_none() && dense && (t % cfg.every == 0 || t + 1 == inputs.rows) {
            match quantized_eigenvalues(&mut deq, &prev, trace) {
                Ok(ev) => q_samples.push((slow(&ev, cfg.slow_epsilon), trace.frozen_share(), ev)),
                Err(e) => failure = Some(e),
            }
        }
        prev = trace.next();
        last_trace.clone_from(trace);
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    // states and readout
    let (mut max, mut sq) = (0.0f64, 0.0f64);
    for (sq_state, hf) in q_states.iter().zip(&float_states) {
        for (a, b) in sq_state.h_values().iter().zip(hf) {
            let d = (a - b).abs();
            max = max.max(d);
            sq += d * d;
        }
    }
    let count = (inputs.rows * n) as f64;
    let readout = readout.map(|r| {
        let (mut agree, mut worst) = (0usize, 0.0f64);
        for (hq, hf) in q_states.iter().zip(&float_states) {
            let (yq, yf) = (r.output(&hq.h_values()), r.output(hf));
            worst = yq
                .iter()
                .zip(&yf)
                .fold(worst, |m, (a, b)| m.max((a - b).abs()));
            let top = |y: &[f64]| {
                if y.len() == 1 {
                    usize::from(y[0] > 0.0)
                } else {
                    (0..y.len())
                        .max_by(|&i, &j| y[i].total_cmp(&y[j]))
                        .unwrap_or(0)
                }
            };
            agree += usize::from(top(&yq) == top(&yf));
        }
        ReadoutAgreement {
            argmax_agreement: agree as f64 / inputs.rows as f64,
            max_error: worst,
        }
    });
    // the dead zone at the last step (a GRU's)
    let h_last_in = if inputs.rows > 1 {
        q_states[inputs.rows - 2].clone()
    } else {
        start.clone()
    };
    let dead_zone = match &last_trace {
        QStepTrace::Gru(t) => {
            let mut bounds: Vec<f64> =
                t.z.iter()
                    .filter(|&&z| z > 0)
                    .map(|&z| 2f64.powi(-16) / (z as f64 / 32768.0))
                    .collect();
            bounds.sort_by(f64::total_cmp);
            let stalled = (0..n)
                .filter(|&i| {
                    t.z[i] > 0
                        && t.next[i] == h_last_in.h[i]
                        && t.candidate[i] != (h_last_in.h[i] as i32)
                })
                .count() as f64
                / n as f64;
            Some(DeadZone {
                median_bound: bounds.get(bounds.len() / 2).copied(),
                stalled,
            })
        }
        QStepTrace::Lstm(_) => None,
    };
    // the autonomous maps from the last state
    let input = cfg
        .autonomous_input
        .clone()
        .unwrap_or_else(|| vec![0.0; net.inputs()]);
    if input.len() != net.inputs() {
        return Err(HostError::invalid(
            Param::Input,
            format!(
                " has {} values; the model takes {} inputs",
                input.len(),
                net.inputs()
            ),
        ));
    }
    let mut xq = vec![0i16; net.inputs()];
    q.quantize_input(&input, &mut xq)?;
    let from = q_states.last().cloned().unwrap_or_else(|| start.clone());
    let mut trace = q.new_trace();
    let quantized = brent(from.clone(), cfg.max_steps, |state| {
        q.step(state, &xq, &mut trace)?;
        Ok(trace.next())
    })?;
    let mut fmap = net.clone();
    fmap.h_mut().copy_from_slice(&from.h_values());
    if let Net::Lstm(l) = &mut fmap {
        l.c.copy_from_slice(&from.c_values());
    }
    fmap.x_mut().copy_from_slice(&input);
    let mut last_change = 0.0f64;
    for _ in 0..quantized.steps {
        fmap.trace_step()?;
        let before = fmap.state();
        fmap.advance();
        last_change = fmap
            .state()
            .iter()
            .zip(&before)
            .fold(0.0, |m, (a, b)| m.max((a - b).abs()));
    }
    let float_orbit = Orbit {
        kind: if last_change < 1e-12 {
            "fixed_point"
        } else {
            "moving"
        },
        period: None,
        transient: None,
        steps: quantized.steps,
        last_change: Some(last_change),
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let samples: Vec<QuantizeSample> = float_samples
        .iter()
        .zip(&q_samples)
        .map(|((t, sf, ff, _), (sq, fq, _))| QuantizeSample {
            t: *t,
            slow_modes_float: *sf,
            slow_modes_quantized: *sq,
            frozen_quantized: *fq,
            frozen_float: *ff,
        })
        .collect();
    let frozen_units = FrozenUnits {
        threshold,
        quantized: mean(
            &samples
                .iter()
                .map(|s| s.frozen_quantized)
                .collect::<Vec<_>>(),
        ),
        float: mean(&samples.iter().map(|s| s.frozen_float).collect::<Vec<_>>()),
    };
    let slow_mean = |f: fn(&QuantizeSample) -> usize| {
        (!samples.is_empty())
            .then(|| mean(&samples.iter().map(|s| f(s) as f64).collect::<Vec<_>>()))
    };
    Ok(QuantizeReport {
        model: info,
        scheme: cfg.scheme,
        input_scale: q.input_scale(),
        steps: inputs.rows,
        state_error_max: max,
        state_error_rms: (sq / count).sqrt(),
        readout,
        slow_epsilon: cfg.slow_epsilon,
        slow_modes_float: slow_mean(|s| s.slow_modes_float),
        slow_modes_quantized: slow_mean(|s| s.slow_modes_quantized),
        frozen_units,
        dead_zone,
        autonomous: Autonomous {
            input,
            quantized,
            float: float_orbit,
        },
        last_eigenvalues: float_samples
            .pop()
            .zip(q_samples.pop())
            .map(|(f, q)| (f.3, q.2)),
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map with a known orbit: −5 … −1 lead into the cycle 0 → 1 → … → 6
    /// → 0.
    fn step(x: &[i16]) -> Result<Vec<i16>, HostError> {
        let v = x[0];
        Ok(vec![if v < 0 { v + 1 } else { (v + 1) % 7 }])
    }

    #[test]
    fn brent_finds_the_period_and_the_transient() {
        let o = brent(vec![-5], 1000, |x: &Vec<i16>| step(x)).unwrap();
        assert_eq!((o.kind, o.period, o.transient), ("cycle", Some(7), Some(5)));
        let o = brent(vec![3], 1000, |x: &Vec<i16>| step(x)).unwrap();
        assert_eq!((o.period, o.transient), (Some(7), Some(0)));
        // a fixed point after a transient of 2
        // −1 → 0 → 1 → 1
        let fix = |x: &Vec<i16>| Ok(vec![(x[0] + 1).min(1)]);
        let o = brent(vec![-1], 1000, fix).unwrap();
        assert_eq!(
            (o.kind, o.period, o.transient),
            ("fixed_point", Some(1), Some(2))
        );
        // the bound: a cycle of 7 is not found in 3 steps
        let o = brent(vec![0], 3, |x: &Vec<i16>| step(x)).unwrap();
        assert_eq!((o.kind, o.period, o.steps), ("unresolved", None, 3));
    }
}
