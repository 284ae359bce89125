//! Training (`gatedyn_train::params`, `gatedyn_train::tasks`): the adding
//! problem is learnt well below the mean predictor's loss, runs are
//! reproducible whatever the thread count, and bad settings are named
//! errors.

use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::Activation;
use gatedyn::GruForm;
use gatedyn_host::net::Scales;
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_train::adam::Adam;
use gatedyn_train::bptt_batch::Precision;
use gatedyn_train::loss::Example;
use gatedyn_train::loss::Objective;
use gatedyn_train::params::{Draw, Trainable};
use gatedyn_train::tasks::{adding, ADDING_MEAN_PREDICTOR_LOSS};

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

/// `steps` Adam updates on mini-batches of 32 taken in order from `train`,
/// the gradients in `precision`.
fn fit(net: &mut Trainable, train: &[Example], steps: usize, precision: Precision) -> Vec<f64> {
    let mut adam = Adam::new(0.01, 1.0).unwrap();
    let mut losses = vec![];
    for (s, batch) in train.chunks(32).cycle().take(steps).enumerate() {
        let g = net.batch_gradient(batch, precision).unwrap();
        if s % 50 == 0 {
            losses.push(g.loss);
        }
        adam.step(net, &g).unwrap();
    }
    losses
}

fn test_loss(net: &Trainable, test: &[Example]) -> f64 {
    net.batch_gradient(test, Precision::F64).unwrap().loss
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
        let mut net = Trainable::random(&Draw {
            n: 16,
            inputs: 2,
            outputs: 1,
            scales,
            form: if reset_after {
                GruForm::ResetAfter { recurrent_bias: () }
            } else {
                GruForm::ResetBefore
            },
            activation: Activation::Tanh,
            seed: 7,
        })
        .unwrap();
        let before = test_loss(&net, &test);
        fit(&mut net, &train, 400, Precision::F64);
        let after = test_loss(&net, &test);
        eprintln!("{name}: adding problem T = 10, test loss {before:.4} -> {after:.5} (mean predictor 0.1667)");
        assert!(before > 0.05, "{name}: {before}");
        assert!(after < ADDING_MEAN_PREDICTOR_LOSS / 8.0, "{name}: {after}");
    }
}

#[test]
fn training_is_reproducible_on_any_thread_count() {
    let train = adding(8, 256, 3).unwrap();
    let run = |threads: usize, precision: Precision| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net = Trainable::random(&Draw {
                n: 8,
                inputs: 2,
                outputs: 1,
                scales: gru_scales(),
                form: GruForm::ResetBefore,
                activation: Activation::Tanh,
                seed: 11,
            })
            .unwrap();
            fit(&mut net, &train, 20, precision);
            net
        })
    };
    for precision in [Precision::F64, Precision::F32] {
        let one = run(1, precision);
        assert_eq!(one, run(1, precision));
        assert_eq!(one, run(3, precision));
    }
    // and the two precisions are different runs
    assert_ne!(run(1, Precision::F64), run(1, Precision::F32));
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
        Err(e) if e.exit_status() == gatedyn_host::exit_status::BAD_INPUT => as_cli_prints(&e),
        _ => panic!("expected a bad-input error"),
    };
    assert!(msg(adding(1, 10, 0).map(|_| ())).contains("--length"));
    assert!(msg(adding(10, 0, 0).map(|_| ())).contains("no sequences"));
    assert!(msg(Adam::new(0.0, 1.0).map(|_| ())).contains("--lr"));
    assert!(msg(Adam::new(f64::NAN, 1.0).map(|_| ())).contains("--lr"));
    assert!(msg(Adam::new(0.01, -1.0).map(|_| ())).contains("--clip"));
    assert!(msg(Trainable::random(&Draw {
        n: 0,
        inputs: 2,
        outputs: 1,
        scales: gru_scales(),
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 1
    })
    .map(|_| ()))
    .contains("--n"));
    let net = Trainable::random(&Draw {
        n: 4,
        inputs: 2,
        outputs: 1,
        scales: gru_scales(),
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 1,
    })
    .unwrap();
    assert!(msg(net.batch_gradient(&[], Precision::F64).map(|_| ())).contains("empty batch"));
}

#[test]
fn copy_sequences_are_what_they_claim() {
    use gatedyn_train::tasks::{copy, CopyTask};
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
    let mut net = Trainable::random(&Draw {
        n: 8,
        inputs: 8,
        outputs: 6,
        scales: gru_scales(),
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 3,
    })
    .unwrap();
    net.readout.w.fill(0.0);
    let loss = net
        .batch_gradient(&data[..16], Precision::F64)
        .unwrap()
        .loss;
    assert!((loss - 6f64.ln()).abs() < 1e-12, "{loss}");
    let bad = |t: CopyTask| match copy(t, 1, 0) {
        Err(e) if e.exit_status() == gatedyn_host::exit_status::BAD_INPUT => as_cli_prints(&e),
        _ => panic!("expected a bad-input error"),
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

#[test]
fn tasks_score_answers_as_documented() {
    use gatedyn_train::tasks::{CopyTask, Task, ADDING_TOLERANCE};
    let adding_task = Task::Adding { length: 10 };
    let ex = &adding(10, 1, 4).unwrap()[0];
    let Objective::Squared { targets } = &ex.supervision.objective else {
        panic!("adding is a squared loss")
    };
    let t = targets[0];
    assert_eq!(
        adding_task.correct(ex, &[t + 0.9 * ADDING_TOLERANCE]),
        (1, 1)
    );
    assert_eq!(
        adding_task.correct(ex, &[t - 1.1 * ADDING_TOLERANCE]),
        (0, 1)
    );
    let task = CopyTask {
        symbols: 3,
        alphabet: 4,
        delay: 2,
    };
    let copy_task = Task::Copy(task);
    let ex = &gatedyn_train::tasks::copy(task, 1, 6).unwrap()[0];
    let Objective::CrossEntropy { classes } = &ex.supervision.objective else {
        panic!("copy is a cross-entropy")
    };
    // outputs peaked at the right class for the first two steps, wrong on the third
    let mut outputs = vec![0.0; 3 * 4];
    outputs[classes[0]] = 1.0;
    outputs[4 + classes[1]] = 1.0;
    outputs[8 + (classes[2] + 1) % 4] = 1.0;
    assert_eq!(copy_task.correct(ex, &outputs), (2, 3));
    assert_eq!(
        (copy_task.inputs(), copy_task.outputs(), copy_task.length()),
        (6, 4, 9)
    );
    assert!((copy_task.chance_loss() - 4f64.ln()).abs() < 1e-15);
}

#[test]
fn a_training_run_records_what_it_claims() {
    use gatedyn_train::fit::{dynamics, fit as run, FitConfig, FitEvent};
    use gatedyn_train::mnist::Split;
    use gatedyn_train::tasks::{CopyTask, Task};
    let task = Task::Copy(CopyTask {
        symbols: 2,
        alphabet: 3,
        delay: 1,
    });
    let cfg = FitConfig {
        epochs: 12,
        batch: 16,
        lr: 0.02,
        clip: 1.0,
        seed: 5,
        train_size: 256,
        test_size: 64,
        slow_epsilon: 0.01,
        target_accuracy: 0.6,
        precision: Precision::F64,
    };
    let lstm = Scales::Lstm(LstmScales {
        f: unit(1.0),
        i: unit(1.0),
        o: unit(1.0),
        c: unit(1.0),
    });
    let mut net = Trainable::random(&Draw {
        n: 12,
        inputs: 5,
        outputs: 3,
        scales: lstm,
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 2,
    })
    .unwrap();
    let test = task.examples(Split::Test, 64, 5, Param::TestSize).unwrap();
    let before = dynamics(&net, &test[0], 0.01).unwrap().unwrap();
    let (mut batches, mut checkpoints) = (0, 0);
    let r = run(&task, &mut net, &cfg, |e| match e {
        FitEvent::Batch { .. } => batches += 1,
        FitEvent::Checkpoint(_) => checkpoints += 1,
    })
    .unwrap();
    assert_eq!((batches, checkpoints), (12 * 16, 13));
    assert_eq!(r.history.len(), 13);
    // epoch 0 is the untrained network, measured on the same test sequence
    assert_eq!(r.history[0].dynamics.as_ref(), Some(&before));
    let after = dynamics(&net, &test[0], 0.01).unwrap().unwrap();
    assert_eq!(r.history[12].dynamics.as_ref(), Some(&after));
    assert_ne!(before, after);
    // an LSTM learns to recall two symbols of three well above chance (1/3)
    eprintln!(
        "copy S=2 K=3: accuracy {:.3} -> {:.3}, loss {:.4} -> {:.4} (chance {:.4})",
        r.history[0].test_accuracy,
        r.final_accuracy,
        r.history[0].test_loss,
        r.final_loss,
        r.chance_loss
    );
    assert!(r.final_accuracy > 0.6, "{}", r.final_accuracy);
    assert!(r.final_loss < 0.8 * r.chance_loss);
    let first = r
        .history
        .iter()
        .find(|h| h.epoch > 0 && h.test_accuracy >= 0.6)
        .map(|h| h.epoch);
    assert_eq!(r.epochs_to_target, first);
    // a network of the wrong shape for the task is refused by name
    let mut wrong = Trainable::random(&Draw {
        n: 4,
        inputs: 2,
        outputs: 1,
        scales: gru_scales(),
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 1,
    })
    .unwrap();
    match run(&task, &mut wrong, &cfg, |_| {}) {
        Err(HostError::BadInput(m)) => assert!(m.contains("the copy task needs 5 and 3"), "{m}"),
        other => panic!("expected a Param error, got {other:?}"),
    }
}

/// The batched gradient (chunks of 16 sequences, one matrix product per
/// weight matrix and step) equals the sequence-by-sequence one to rounding,
/// for both GRU forms and the LSTM, both losses and both activations; a
/// batch mixing lengths goes sequence by sequence.
/// How far the `f32` batched gradient may be from the `f64` one, relative
/// to each block's largest entry: measured 3.5e-7 worst on these sizes
/// (`f32` rounding, 6e-8, grown over 15 steps and sums of up to 600
/// terms); the bound leaves a factor 30.
const F32_BOUND: f64 = 1e-5;

#[test]
fn batched_gradient_equals_the_sequence_by_sequence_one() {
    use gatedyn_train::params::gradient_blocks;
    use gatedyn_train::tasks::{copy, CopyTask};
    let lstm = Scales::Lstm(LstmScales {
        f: unit(1.0),
        i: unit(1.0),
        o: unit(1.0),
        c: unit(2.0),
    });
    let task = CopyTask {
        symbols: 3,
        alphabet: 4,
        delay: 5,
    };
    // 37 sequences: chunks of 16, 16 and 5
    let copy_batch = copy(task, 37, 3).unwrap();
    let adding_batch = adding(15, 37, 4).unwrap();
    let mut worst = [0.0f64; 2];
    for (name, scales, after, act) in [
        ("gru", gru_scales(), false, Activation::Tanh),
        ("gru-after", gru_scales(), true, Activation::Tanh),
        ("gru hard", gru_scales(), false, Activation::HardTanh),
        ("lstm", lstm, false, Activation::Tanh),
        ("lstm hard", lstm, false, Activation::HardTanh),
    ] {
        for (batch, inputs, outputs) in [(&copy_batch, 6, 4), (&adding_batch, 2, 1)] {
            let net = Trainable::random(&Draw {
                n: 20,
                inputs,
                outputs,
                scales,
                form: if after {
                    GruForm::ResetAfter { recurrent_bias: () }
                } else {
                    GruForm::ResetBefore
                },
                activation: act,
                seed: 9,
            })
            .unwrap();
            let slow = net.batch_gradient_by_sequence(batch).unwrap();
            for (precision, bound) in [(Precision::F64, 1e-12), (Precision::F32, F32_BOUND)] {
                let fast = net.batch_gradient(batch, precision).unwrap();
                let name = format!("{name} {}", precision.name());
                // the forward pass alone gives the same losses and outputs
                let evals = net.batch_evaluate(batch, precision).unwrap();
                let loss: f64 = evals.iter().map(|e| e.loss).sum::<f64>() / batch.len() as f64;
                assert!((loss - fast.loss).abs() <= 1e-15 * fast.loss, "{name}");
                let outputs: Vec<f64> = evals.into_iter().flat_map(|e| e.outputs).collect();
                assert_eq!(outputs, fast.outputs, "{name}");
                assert!((fast.loss - slow.loss).abs() <= bound * slow.loss, "{name}");
                assert_eq!(fast.outputs.len(), slow.outputs.len());
                for (a, b) in fast.outputs.iter().zip(&slow.outputs) {
                    assert!((a - b).abs() <= bound * b.abs().max(1.0), "{name}: {a} {b}");
                }
                for (k, (a, b)) in gradient_blocks(&fast)
                    .into_iter()
                    .zip(gradient_blocks(&slow))
                    .enumerate()
                {
                    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    assert!(scale > 0.0, "{name}: block {k} is zero");
                    let err = a
                        .iter()
                        .zip(b)
                        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
                        / scale;
                    let w = &mut worst[usize::from(precision == Precision::F32)];
                    *w = w.max(err);
                    assert!(err < bound, "{name}: block {k}: {err:e}");
                }
            }
        }
    }
    eprintln!(
        "batched against sequence by sequence: worst block relative error {:.1e} (f64), {:.1e} (f32)",
        worst[0], worst[1]
    );
    // mixed lengths
    let mut mixed = adding(6, 5, 1).unwrap();
    mixed.extend(adding(9, 5, 2).unwrap());
    let net = Trainable::random(&Draw {
        n: 7,
        inputs: 2,
        outputs: 1,
        scales: gru_scales(),
        form: GruForm::ResetBefore,
        activation: Activation::Tanh,
        seed: 3,
    })
    .unwrap();
    let a = net.batch_gradient(&mixed, Precision::F32).unwrap();
    let b = net.batch_gradient_by_sequence(&mixed).unwrap();
    assert!((a.loss - b.loss).abs() <= 1e-14 * b.loss);
}

/// The error as the CLI prints it (a parameter by its flag), so that the
/// tests check the same words a user reads.
fn as_cli_prints(e: &HostError) -> String {
    match e {
        HostError::Invalid { param, message } => {
            format!("--{}{message}", param.name().replace('_', "-"))
        }
        other => other.to_string(),
    }
}

/// Shard lines written before the sweep settings held the fit
/// configuration (tests/fixtures/sweep/README.md) read back and are written
/// again byte for byte: the format is unchanged, old shards still merge.
#[test]
fn shard_lines_of_the_earlier_format_read_and_write_back_unchanged() {
    use gatedyn_train::sweep::{merge, parse_lines, to_lines};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sweep/shard.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let results = parse_lines("shard.jsonl", &text).unwrap();
    assert_eq!(results.len(), 4);
    let s = &results[0].settings;
    assert_eq!(s.form, GruForm::ResetBefore);
    assert_eq!((s.fit.epochs, s.fit.batch, s.fit.seed), (2, 16, 1));
    assert!(s.fit.clip.is_finite());
    assert_eq!(to_lines(&results).unwrap(), text);
    let sweep = merge(results).unwrap();
    assert_eq!(sweep.final_accuracy.len(), 2);
}

/// A failed job is a result: the merged sweep lists it in `failed`, its
/// point's outcome statistics leave it out (count 0 of 1 seed) while its
/// slow-mode share at initialisation still counts, and its line writes
/// back byte for byte.
#[test]
fn failed_jobs_merge_without_their_outcomes() {
    use gatedyn_train::sweep::{merge, parse_lines, to_lines};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sweep/shard.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut results = parse_lines("shard.jsonl", &text).unwrap();
    let failed = &mut results[1];
    failed.final_accuracy = None;
    failed.final_loss = None;
    failed.epochs_to_target = None;
    failed.failure = Some("training (the gradient overflowed): non-finite value".into());
    let lines = to_lines(&results).unwrap();
    assert!(lines.contains(r#""final_accuracy":null,"final_loss":null,"#));
    assert_eq!(to_lines(&parse_lines("x", &lines).unwrap()).unwrap(), lines);
    let sweep = merge(results.clone()).unwrap();
    assert_eq!(sweep.failed, vec![1]);
    // job 1 is σ_z = 1, σ_h = 2.5: row 0, column 1
    assert_eq!(sweep.final_accuracy[0][1].count, 0);
    assert_eq!(sweep.final_accuracy[0][1].mean, None);
    assert_eq!(sweep.slow_share_init[0][1].count, 1);
    assert_eq!(
        sweep.final_accuracy[0][0].mean, results[0].final_accuracy,
        "the other points keep their value"
    );
}

/// `resumable` keeps the whole lines of a stopped run and drops a last
/// line cut short; a line cut short in the middle is the file's fault.
#[test]
fn resumable_drops_only_a_last_line_cut_short() {
    use gatedyn_train::sweep::{parse_lines, resumable};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sweep/shard.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let all = parse_lines("shard.jsonl", &text).unwrap();
    let settings = &all[0].settings;
    let jobs = settings.all_jobs();
    let lines: Vec<&str> = text.lines().collect();
    let stopped = format!("{}\n{}\n{}", lines[0], lines[1], &lines[2][..100]);
    let done = resumable("s.jsonl", &stopped, settings, &jobs).unwrap();
    assert_eq!(done, all[..2]);
    assert_eq!(resumable("s.jsonl", "", settings, &jobs).unwrap(), vec![]);
    let broken = format!("{}\n{}\n{}\n", lines[0], &lines[1][..100], lines[2]);
    let e = resumable("s.jsonl", &broken, settings, &jobs).unwrap_err();
    assert!(
        as_cli_prints(&e).starts_with("--lines s.jsonl: line 2: not a job result"),
        "{e}"
    );
    let e = resumable("s.jsonl", &text, settings, &settings.shard(2, 2).unwrap()).unwrap_err();
    assert_eq!(
        as_cli_prints(&e),
        "--lines s.jsonl: job 0 is not one of this run's jobs (another shard's file?)"
    );
}

/// Issue 21, defect 2: a shard line whose settings list 2²² × 2²¹ × 2²¹
/// jobs wrapped the count to 0 and passed the limit. The count saturates.
#[test]
fn a_sweep_too_large_to_count_is_refused() {
    use gatedyn_train::sweep::parse_lines;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sweep/shard.jsonl"
    ))
    .unwrap();
    let mut r = parse_lines("shard.jsonl", &text).unwrap().remove(0);
    r.settings.sigma_z = vec![1.0; 1 << 22];
    r.settings.sigma_h = vec![1.0; 1 << 21];
    r.settings.seeds = vec![1; 1 << 21];
    assert_eq!(r.settings.jobs(), usize::MAX);
    let e = r.settings.check().unwrap_err().to_string();
    assert!(e.contains("jobs; at most 100000"), "{e}");
}

/// Adjoints that grow by 5 per step (`U_h = 10 I`, `r = 1/2`, `z = 1`,
/// hard tanh in its linear part) pass f32's range (3.4e38) after 55 steps
/// and stay far inside f64's: the f32 pass overflows, and the batch's
/// gradient is that chunk's f64 one, exactly.
#[test]
fn an_f32_overflow_is_done_again_in_f64() {
    use gatedyn_host::net::{CellWeights, GateWeights, GruWeights, ReadoutWeights};
    use gatedyn_train::bptt_batch::chunk_loss_gradient;
    use gatedyn_train::loss::Supervision;
    use gatedyn_train::params::gradient_blocks;
    let n = 4;
    let mut h = GateWeights::zeros(n, 1);
    for i in 0..n {
        h.u[i * n + i] = 10.0;
    }
    let mut z = GateWeights::zeros(n, 1);
    z.b = vec![20.0; n];
    let net = Trainable {
        cell: CellWeights::Gru {
            weights: GruWeights {
                z,
                r: GateWeights::zeros(n, 1),
                h,
            },
            form: GruForm::ResetBefore,
        },
        activation: Activation::HardTanh,
        readout: ReadoutWeights {
            outputs: 1,
            w: vec![1.0; n],
            b: vec![0.0],
        },
    };
    let steps = 80;
    let ex = Example {
        inputs: vec![0.0; steps],
        supervision: Supervision {
            at: vec![steps - 1],
            objective: Objective::Squared { targets: vec![1.0] },
        },
    };
    let batch = vec![ex; 3];
    let f32_pass = chunk_loss_gradient(
        net.recurrent(),
        net.activation,
        &net.readout,
        &batch,
        Precision::F32,
    );
    let overflowed = match &f32_pass {
        Err(_) => true,
        Ok(g) => gradient_blocks(g)
            .iter()
            .any(|b| b.iter().any(|x| !x.is_finite())),
    };
    assert!(overflowed, "the f32 pass alone overflows");
    let g32 = net.batch_gradient(&batch, Precision::F32).unwrap();
    let g64 = net.batch_gradient(&batch, Precision::F64).unwrap();
    let big = gradient_blocks(&g64)
        .iter()
        .flat_map(|b| b.iter())
        .fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(big > 1e39 && big.is_finite(), "{big:e}");
    assert_eq!(g32, g64);
}
