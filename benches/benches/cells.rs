//! Step, dense Jacobian and matrix-free `J v` of GRU and LSTM cells at
//! N = 32, 64, 256, in f32 and f64.
//!
//! Run: `cargo bench -p gatedyn-benches` (add `-- gru/step` to filter).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gatedyn::init::GateScale;
use gatedyn::{Gru, GruTrace, Lstm, LstmTrace, Real};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;
use std::hint::black_box;

fn gru_bench<F: Real, const N: usize>(c: &mut Criterion) {
    let mut rng = XorShiftRng::seed_from_u64(1);
    let mut net: Box<Gru<F, N, 1>> = Box::new(Gru::zeroed());
    net.randomize(
        &mut rng,
        [GateScale {
            sigma: 1.0,
            bias: 0.1,
            input: 1.0,
        }; 3],
    )
    .unwrap();
    let h = [F::from_f64(0.3); N];
    let x = [F::from_f64(0.5)];
    let mut t: Box<GruTrace<F, N>> = Box::new(GruTrace::zeroed());
    net.step_traced(&h, &x, &mut t).unwrap();
    let id = |what: &str| BenchmarkId::new(format!("{what}/{}", F::NAME), N);
    let mut g = c.benchmark_group("gru");
    g.throughput(Throughput::Elements(3 * (N * N + N) as u64));
    g.bench_function(id("step"), |b| {
        let mut out = [F::ZERO; N];
        b.iter(|| net.step(black_box(&h), &x, &mut out).unwrap())
    });
    g.bench_function(id("jvp"), |b| {
        let mut out = [F::ZERO; N];
        let v = [F::ONE; N];
        b.iter(|| net.jvp(black_box(&h), &t, &v, &mut out).unwrap())
    });
    g.throughput(Throughput::Elements((N * N * N) as u64));
    g.bench_function(id("jacobian"), |b| {
        let mut jac: Box<[[F; N]; N]> = Box::new([[F::ZERO; N]; N]);
        b.iter(|| net.jacobian(black_box(&h), &t, &mut jac).unwrap())
    });
    g.finish();
}

fn lstm_bench<F: Real, const N: usize>(c: &mut Criterion) {
    let mut rng = XorShiftRng::seed_from_u64(2);
    let mut net: Box<Lstm<F, N, 1>> = Box::new(Lstm::zeroed());
    net.randomize(
        &mut rng,
        [GateScale {
            sigma: 1.0,
            bias: 0.1,
            input: 1.0,
        }; 4],
    )
    .unwrap();
    let (h, cc) = ([F::from_f64(0.3); N], [F::from_f64(0.2); N]);
    let x = [F::from_f64(0.5)];
    let mut t: Box<LstmTrace<F, N>> = Box::new(LstmTrace::zeroed());
    net.step_traced(&h, &cc, &x, &mut t).unwrap();
    let id = |what: &str| BenchmarkId::new(format!("{what}/{}", F::NAME), N);
    let mut g = c.benchmark_group("lstm");
    g.throughput(Throughput::Elements(4 * (N * N + N) as u64));
    g.bench_function(id("step"), |b| {
        b.iter(|| {
            let (mut hh, mut c2) = ([F::from_f64(0.0); N], [F::from_f64(0.0); N]);
            net.step(black_box(&h), &cc, &x, &mut hh, &mut c2).unwrap();
            (hh, c2)
        })
    });
    g.bench_function(id("jvp"), |b| {
        let mut out = [[F::ZERO; N]; 2];
        let v = [[F::ONE; N]; 2];
        b.iter(|| net.jvp(black_box(&h), &cc, &t, &v, &mut out).unwrap())
    });
    g.bench_function(id("jacobian"), |b| {
        let mut jac: Box<gatedyn::Dense2N<F, N>> = Box::new([[[[F::ZERO; N]; 2]; N]; 2]);
        b.iter(|| net.jacobian(black_box(&h), &cc, &t, &mut jac).unwrap())
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    gru_bench::<f32, 32>(c);
    gru_bench::<f32, 64>(c);
    gru_bench::<f32, 256>(c);
    gru_bench::<f64, 32>(c);
    gru_bench::<f64, 64>(c);
    gru_bench::<f64, 256>(c);
    lstm_bench::<f32, 32>(c);
    lstm_bench::<f32, 64>(c);
    lstm_bench::<f32, 256>(c);
    lstm_bench::<f64, 32>(c);
    lstm_bench::<f64, 64>(c);
    lstm_bench::<f64, 256>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = all
}
criterion_main!(benches);
