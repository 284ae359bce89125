//! Training (`gatedyn_host::train`, `gatedyn_host::tasks`): the adding
//! problem is learnt well below the mean predictor's loss, runs are
//! reproducible whatever the thread count, and bad settings are named
//! errors.

use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::Activation;
use gatedyn_host::bptt::Objective;
use gatedyn_host::network::Scales;
use gatedyn_host::tasks::{adding, ADDING_MEAN_PREDICTOR_LOSS};
use gatedyn_host::train::{Adam, Example, Trainable};
use gatedyn_host::HostError;

fn unit(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    }
}

fn gru_scales() -> Scales {
    Scales::Gru(GruScales {
        z: unit(1.0),
        r: unit(1.0),
        h: unit(1.0),
    })
}

/// `steps` Adam updates on mini-batches of 32 taken in order from `train`.
fn fit(net: &mut Trainable, train: &[Example], steps: usize) -> Vec<f64> {
    let mut adam = Adam::new(0.01, 1.0).unwrap();
    let mut losses = vec![];
    for (s, batch) in train.chunks(32).cycle().take(steps).enumerate() {
        let g = net.batch_gradient(batch).unwrap();
        if s % 50 == 0 {
            losses.push(g.loss);
        }
        adam.step(net, &g).unwrap();
    }
    losses
}

fn test_loss(net: &Trainable, test: &[Example]) -> f64 {
    net.batch_gradient(test).unwrap().loss
}

#[test]
fn gru_and_lstm_learn_the_adding_problem() {
    let train = adding(10, 2048, 1).unwrap();
    let test = adding(10, 512, 2).unwrap();
    let lstm = Scales::Lstm(LstmScales {
        f: unit(1.0),
        i: unit(1.0),
        o: unit(1.0),
        c: unit(1.0),
    });
    for (name, scales, reset_after) in [
        ("gru", gru_scales(), false),
        ("gru-after", gru_scales(), true),
        ("lstm", lstm, false),
    ] {
        let mut net =
            Trainable::random(16, 2, 1, &scales, reset_after, Activation::Tanh, 7).unwrap();
        let before = test_loss(&net, &test);
        fit(&mut net, &train, 400);
        let after = test_loss(&net, &test);
        eprintln!("{name}: adding problem T = 10, test loss {before:.4} -> {after:.5} (mean predictor 0.1667)");
        assert!(before > 0.05, "{name}: {before}");
        assert!(after < ADDING_MEAN_PREDICTOR_LOSS / 8.0, "{name}: {after}");
    }
}

#[test]
fn training_is_reproducible_on_any_thread_count() {
    let train = adding(8, 256, 3).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net =
                Trainable::random(8, 2, 1, &gru_scales(), false, Activation::Tanh, 11).unwrap();
            fit(&mut net, &train, 20);
            net
        })
    };
    let one = run(1);
    assert_eq!(one, run(1));
    assert_eq!(one, run(3));
}

#[test]
fn adding_sequences_are_what_they_claim() {
    let data = adding(20, 4000, 5).unwrap();
    let mut mean = 0.0;
    for ex in &data {
        let markers: Vec<usize> = (0..20).filter(|&t| ex.inputs[2 * t + 1] == 1.0).collect();
        assert_eq!(markers.len(), 2);
        assert!(markers[0] < 10 && markers[1] >= 10, "{markers:?}");
        let sum = ex.inputs[2 * markers[0]] + ex.inputs[2 * markers[1]];
        assert_eq!(ex.supervision.at, vec![19]);
        assert_eq!(
            ex.supervision.objective,
            Objective::Squared { targets: vec![sum] }
        );
        assert!(ex
            .inputs
            .iter()
            .step_by(2)
            .all(|&v| (0.0..1.0).contains(&v)));
        mean += sum / data.len() as f64;
    }
    // the sum of two uniforms: mean 1, standard error sqrt(1/6 / 4000) = 0.0065
    assert!((mean - 1.0).abs() < 0.026, "{mean}");
    assert_eq!(adding(20, 3, 5).unwrap(), adding(20, 3, 5).unwrap());
}

#[test]
fn bad_settings_are_named_errors() {
    let msg = |r: Result<_, HostError>| match r {
        Err(HostError::Param(m)) => m,
        _ => panic!("expected a Param error"),
    };
    assert!(msg(adding(1, 10, 0).map(|_| ())).contains("--length"));
    assert!(msg(adding(10, 0, 0).map(|_| ())).contains("no sequences"));
    assert!(msg(Adam::new(0.0, 1.0).map(|_| ())).contains("--lr"));
    assert!(msg(Adam::new(f64::NAN, 1.0).map(|_| ())).contains("--lr"));
    assert!(msg(Adam::new(0.01, -1.0).map(|_| ())).contains("--clip"));
    assert!(
        msg(Trainable::random(0, 2, 1, &gru_scales(), false, Activation::Tanh, 1).map(|_| ()))
            .contains("--n")
    );
    let net = Trainable::random(4, 2, 1, &gru_scales(), false, Activation::Tanh, 1).unwrap();
    assert!(msg(net.batch_gradient(&[]).map(|_| ())).contains("empty batch"));
}

#[test]
fn copy_sequences_are_what_they_claim() {
    use gatedyn_host::tasks::{copy, CopyTask};
    let task = CopyTask {
        symbols: 4,
        alphabet: 6,
        delay: 5,
    };
    assert_eq!((task.length(), task.inputs()), (14, 8));
    let data = copy(task, 500, 9).unwrap();
    let mut seen = [0usize; 6];
    for ex in &data {
        // one hot per step
        for t in 0..14 {
            let row = &ex.inputs[t * 8..(t + 1) * 8];
            assert_eq!(row.iter().sum::<f64>(), 1.0);
        }
        let channel = |t: usize| (0..8).find(|&c| ex.inputs[t * 8 + c] == 1.0).unwrap();
        let shown: Vec<usize> = (0..4).map(channel).collect();
        assert!((4..9).all(|t| channel(t) == 6), "blanks during the delay");
        assert_eq!(channel(9), 7, "the delimiter");
        assert!((10..14).all(|t| channel(t) == 6), "blanks while recalling");
        assert_eq!(ex.supervision.at, vec![10, 11, 12, 13]);
        assert_eq!(
            ex.supervision.objective,
            Objective::CrossEntropy {
                classes: shown.clone()
            }
        );
        for s in shown {
            seen[s] += 1;
        }
    }
    // 2000 symbols over 6: each about 333 (binomial sd 17)
    assert!(seen.iter().all(|&c| (250..420).contains(&c)), "{seen:?}");
    // a network that cannot tell the symbols apart scores ln K
    let mut net = Trainable::random(8, 8, 6, &gru_scales(), false, Activation::Tanh, 3).unwrap();
    net.readout.w.fill(0.0);
    let loss = net.batch_gradient(&data[..16]).unwrap().loss;
    assert!((loss - 6f64.ln()).abs() < 1e-12, "{loss}");
    let bad = |t: CopyTask| match copy(t, 1, 0) {
        Err(HostError::Param(m)) => m,
        _ => panic!("expected a Param error"),
    };
    assert!(bad(CopyTask { symbols: 0, ..task }).contains("symbols to remember"));
    assert!(bad(CopyTask {
        alphabet: 1,
        ..task
    })
    .contains("alphabet"));
    assert!(bad(CopyTask {
        delay: 2_000_000,
        ..task
    })
    .contains("--length"));
}
