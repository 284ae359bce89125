//! The batched gradient against the sequence-by-sequence one, side by side
//! in one process (the same batches, alternating, best of `REPEATS`), and
//! the epoch time this gives for the paper's sequential-MNIST setting.
//!
//! Run: `cargo run --release -p gatedyn-tests --example training_speed`.

use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::Activation;
use gatedyn::GruForm;
use gatedyn_host::net::Scales;
use gatedyn_train::bptt_batch::Precision;
use gatedyn_train::loss::Example;
use gatedyn_train::loss::{Objective, Supervision};
use gatedyn_train::params::{Draw, Trainable};
use std::time::Instant;

const REPEATS: usize = 3;

fn gate(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    }
}

/// `count` sequences of `steps` pixels in [0, 1], a class at the end.
fn sequences(steps: usize, count: usize) -> Vec<Example> {
    let mut s = 12345u64;
    (0..count)
        .map(|k| {
            let inputs = (0..steps)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 11) as f64 / (1u64 << 53) as f64
                })
                .collect();
            Example {
                inputs,
                supervision: Supervision {
                    at: vec![steps - 1],
                    objective: Objective::CrossEntropy {
                        classes: vec![k % 10],
                    },
                },
            }
        })
        .collect()
}

fn best(mut f: impl FnMut()) -> f64 {
    (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let threads = rayon::current_num_threads();
    println!("batched (chunks of 16, stacked faer products, f64 and f32) against sequence by sequence (f64); {threads} threads, best of {REPEATS}");
    println!("cell\tN\tT\tbatch\tby sequence [ms/seq]\tbatched f64 [ms/seq]\tbatched f32 [ms/seq]\tratio f64\tratio f32");
    let gru = Scales::Gru(GruScales {
        z: gate(1.0),
        r: gate(0.5),
        h: gate(2.0),
    });
    let lstm = Scales::Lstm(LstmScales {
        f: gate(1.0),
        i: gate(1.0),
        o: gate(1.0),
        c: gate(2.0),
    });
    let mut smnist_batched = None;
    for (cell, scales, n, steps, batch) in [
        ("gru", &gru, 32, 100, 32),
        ("gru", &gru, 64, 100, 32),
        ("gru", &gru, 128, 100, 32),
        ("lstm", &lstm, 64, 100, 32),
        ("gru", &gru, 256, 784, 32),
    ] {
        let net = Trainable::random(&Draw {
            n,
            inputs: 1,
            outputs: 10,
            scales: *scales,
            form: GruForm::ResetBefore,
            activation: Activation::Tanh,
            seed: 1,
        })
        .unwrap();
        let data = sequences(steps, batch);
        let slow = best(|| {
            net.batch_gradient_by_sequence(&data).unwrap();
        });
        let fast = best(|| {
            net.batch_gradient(&data, Precision::F64).unwrap();
        });
        let single = best(|| {
            net.batch_gradient(&data, Precision::F32).unwrap();
        });
        let per = |t: f64| 1e3 * t / batch as f64;
        println!(
            "{cell}\t{n}\t{steps}\t{batch}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{:.2}",
            per(slow),
            per(fast),
            per(single),
            slow / fast,
            slow / single
        );
        if n == 256 {
            smnist_batched = Some((per(slow), per(single)));
        }
    }
    if let Some((slow, fast)) = smnist_batched {
        let epoch = |ms: f64| ms * 60_000.0 / 1e3 / 60.0;
        println!(
            "sequential MNIST, GRU N = 256, T = 784, 60,000 sequences: {:.0} min per epoch batched in f32 ({:.0} min sequence by sequence), {:.1} h for 15 epochs",
            epoch(fast),
            epoch(slow),
            15.0 * epoch(fast) / 60.0
        );
    }
}
