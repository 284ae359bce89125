//! The paper's claim under quantization (docs/THEORY.md §16): random
//! paper-form GRUs (N = 400, σ_r = 1) across σ_z, at σ_h = 1.5 (a stable
//! zero fixed point) and σ_h = 3 (chaotic), run autonomously in float and
//! in int16 and int8 from the same state. Per network and arithmetic: the
//! share of frozen units (update gate exactly 0; in float, below half the
//! scheme's gate step), the slow modes at the last step (|λ| > 0.99; the
//! quantized ones of the dequantized Jacobian at the quantized gates) and
//! the largest Lyapunov exponent along the trajectory.
//!
//! Run: `cargo run --release -p gatedyn-tests --example quantized_dynamics`.

use gatedyn::init::{GateScale, GruScales};
use gatedyn::Activation;
use gatedyn_host::io::arrays::Table;
use gatedyn_host::linalg::eigen::{eigenvalues, jacobian};
use gatedyn_host::net::quantized::{QuantizedNet, Scheme};
use gatedyn_host::net::{Net, Scales};
use gatedyn_host::theory::quantize::dequantized_jacobian;

const N: usize = 400;
const BURN_IN: usize = 300;
const STEPS: usize = 300;

/// `v ← J v / |J v|`, returning `ln |J v|`.
fn tangent(j: &faer::Mat<f64>, v: &mut [f64]) -> f64 {
    let w: Vec<f64> = (0..v.len())
        .map(|i| (0..v.len()).map(|k| j[(i, k)] * v[k]).sum())
        .collect();
    let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
    for (a, b) in v.iter_mut().zip(&w) {
        *a = b / norm;
    }
    norm.ln()
}

struct Row {
    frozen: f64,
    slow: usize,
    lyapunov: f64,
}

fn float_run(net: &mut Net, threshold: f64) -> Row {
    let mut v = vec![1.0 / (N as f64).sqrt(); N];
    let (mut frozen, mut sum) = (0.0, 0.0);
    let mut slow = 0;
    for t in 0..STEPS {
        net.trace_step().unwrap();
        let z = &net.as_gru().unwrap().trace.z;
        frozen += z.iter().filter(|&&z| z < threshold).count() as f64 / N as f64;
        let j = jacobian(net).unwrap();
        sum += tangent(&j, &mut v);
        if t + 1 == STEPS {
            slow = eigenvalues(&j)
                .unwrap()
                .iter()
                .filter(|z| z.abs() > 0.99)
                .count();
        }
        net.advance();
    }
    Row {
        frozen: frozen / STEPS as f64,
        slow,
        lyapunov: sum / STEPS as f64,
    }
}

fn quantized_run(net: &Net, scheme: Scheme) -> Row {
    let empty = Table {
        rows: 0,
        cols: 0,
        data: vec![],
    };
    let q = QuantizedNet::calibrated(net, scheme, &empty).unwrap();
    let mut deq = q.dequantized(net).unwrap();
    let mut state = q.quantize_state(net).unwrap();
    let mut trace = q.new_trace();
    let mut v = vec![1.0 / (N as f64).sqrt(); N];
    let (mut frozen, mut sum) = (0.0, 0.0);
    let mut slow = 0;
    for t in 0..STEPS {
        q.step(&state, &[], &mut trace).unwrap();
        frozen += trace.frozen_share();
        let j = dequantized_jacobian(&mut deq, &state, &trace).unwrap();
        sum += tangent(&j, &mut v);
        if t + 1 == STEPS {
            slow = eigenvalues(&j)
                .unwrap()
                .iter()
                .filter(|z| z.abs() > 0.99)
                .count();
        }
        state = trace.next();
    }
    Row {
        frozen: frozen / STEPS as f64,
        slow,
        lyapunov: sum / STEPS as f64,
    }
}

fn main() {
    println!("random paper-form GRUs, N = {N}, σ_r = 1, autonomous, {STEPS} steps after {BURN_IN}; frozen units (mean share), slow modes at the last step (|λ| > 0.99), largest Lyapunov exponent");
    println!("| σ_h | σ_z | float: frozen (int8 / int16 threshold) | slow | λ₁ | int16: frozen | slow | λ₁ | int8: frozen | slow | λ₁ |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for sigma_h in [1.5, 3.0] {
        for sigma_z in [1.0, 4.0, 10.0, 20.0] {
            let g = |sigma| GateScale {
                sigma,
                bias: 0.0,
                input: 0.0,
            };
            let scales = Scales::Gru(GruScales {
                z: g(sigma_z),
                r: g(1.0),
                h: g(sigma_h),
            });
            let mut net = Net::random(N, scales, Activation::Tanh, 1).unwrap();
            net.run(BURN_IN, || {}).unwrap();
            let f8 = float_run(&mut net.clone(), Scheme::Int8.gate_step() / 2.0);
            let f16 = float_run(&mut net.clone(), Scheme::Int16.gate_step() / 2.0);
            let q16 = quantized_run(&net, Scheme::Int16);
            let q8 = quantized_run(&net, Scheme::Int8);
            println!(
                "| {sigma_h} | {sigma_z} | {:.1} % / {:.1} % | {} | {:+.3} | {:.1} % | {} | {:+.3} | {:.1} % | {} | {:+.3} |",
                100.0 * f8.frozen,
                100.0 * f16.frozen,
                f16.slow,
                f16.lyapunov,
                100.0 * q16.frozen,
                q16.slow,
                q16.lyapunov,
                100.0 * q8.frozen,
                q8.slow,
                q8.lyapunov,
            );
        }
    }
}
