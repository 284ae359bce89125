//! Networks that `gatedyn train` trains, quantized (docs/THEORY.md §16):
//! the adding problem, the copy task, the 3-bit flip-flop and sequential
//! MNIST row by row (GRUs, and LSTMs for the copy task and sMNIST), each
//! trained in `f32` as `gatedyn train` does, saved
//! and loaded back as a file (the path a user takes), then run on its test
//! set in float, int16 and int8. Per task and scheme: the task's accuracy
//! (its own criterion, `Task::correct`), the largest state error against
//! float over the test set, and `gatedyn quantize`'s report on the first
//! test sequence (slow modes along it, frozen units, the autonomous map).
//!
//! Run: `cargo run --release -p gatedyn-tests --example quantized_tasks
//! [MNIST_DIR]` (`cargo xtask mnist target/mnist` writes the digits;
//! without them sequential MNIST is skipped).

use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::{Activation, GruForm};
use gatedyn_host::formats::{load, save, Model};
use gatedyn_host::io::arrays::Table;
use gatedyn_host::net::drive::run_inputs;
use gatedyn_host::net::quantized::{QuantizedNet, Scheme};
use gatedyn_host::net::Scales;
use gatedyn_host::theory::quantize::{quantize, QuantizeConfig};
use gatedyn_host::{Param, Precision};
use gatedyn_train::bptt_batch::Precision as TrainPrecision;
use gatedyn_train::fit::{fit, FitConfig};
use gatedyn_train::loss::Example;
use gatedyn_train::mnist::{self, Split};
use gatedyn_train::params::{Draw, Trainable};
use gatedyn_train::tasks::{CopyTask, FlipFlopTask, PixelOrder, Task};
use std::path::PathBuf;
use std::sync::Arc;

fn gate(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    }
}

/// The example's inputs as a `T × I` table.
fn table(task: &Task, ex: &Example) -> Table {
    Table {
        rows: ex.inputs.len() / task.inputs(),
        cols: task.inputs(),
        data: ex.inputs.clone(),
    }
}

/// Right answers and answers of `states` (`T × N`, the net's states on
/// `ex`) through the model's readout at the supervised steps.
fn score(task: &Task, model: &Model, ex: &Example, states: &Table) -> (usize, usize) {
    let readout = model
        .readout
        .as_ref()
        .expect("a trained model has a readout");
    let outputs: Vec<f64> = ex
        .supervision
        .at
        .iter()
        .flat_map(|&t| readout.output(states.row(t)))
        .collect();
    task.correct(ex, &outputs)
}

struct Setting {
    name: &'static str,
    task: Task,
    n: usize,
    lstm: bool,
    cfg: FitConfig,
}

fn config(epochs: usize, train_size: usize, test_size: usize, lr: f64) -> FitConfig {
    FitConfig {
        epochs,
        batch: 32,
        lr,
        clip: 1.0,
        seed: 1,
        train_size,
        test_size,
        target_accuracy: 0.9,
        slow_epsilon: 0.01,
        precision: TrainPrecision::F32,
    }
}

fn main() -> Result<(), gatedyn_host::HostError> {
    let mut settings = vec![
        Setting {
            name: "adding T=50",
            task: Task::Adding { length: 50 },
            n: 32,
            lstm: false,
            cfg: config(10, 4000, 500, 3e-3),
        },
        Setting {
            name: "copy S=3 K=4 delay 5",
            task: Task::Copy(CopyTask {
                symbols: 3,
                alphabet: 4,
                delay: 5,
            }),
            n: 32,
            lstm: false,
            cfg: config(15, 4000, 500, 3e-3),
        },
        Setting {
            name: "copy S=3 K=4 delay 5, LSTM",
            task: Task::Copy(CopyTask {
                symbols: 3,
                alphabet: 4,
                delay: 5,
            }),
            n: 32,
            lstm: true,
            cfg: config(15, 4000, 500, 3e-3),
        },
        Setting {
            name: "flip-flop 3 bits T=50",
            task: Task::FlipFlop(FlipFlopTask {
                bits: 3,
                length: 50,
                pulse_probability: 0.2,
            }),
            n: 32,
            lstm: false,
            cfg: config(10, 2000, 200, 3e-3),
        },
    ];
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/mnist"));
    match (
        mnist::load(&dir, Split::Train),
        mnist::load(&dir, Split::Test),
    ) {
        (Ok(train), Ok(test)) => {
            let task = Task::Smnist {
                train: Arc::new(train),
                test: Arc::new(test),
                order: Arc::new(PixelOrder::new(784, 28, None)?),
            };
            for (name, lstm) in [
                ("sMNIST rows (28 steps)", false),
                ("sMNIST rows (28 steps), LSTM", true),
            ] {
                settings.push(Setting {
                    name,
                    task: task.clone(),
                    n: 64,
                    lstm,
                    cfg: config(4, 8000, 1000, 3e-3),
                });
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("sequential MNIST skipped: {e} (cargo xtask mnist target/mnist)")
        }
    }
    let out = std::env::temp_dir().join("gatedyn_quantized_tasks");
    std::fs::create_dir_all(&out).map_err(|e| gatedyn_host::HostError::BadInput(e.to_string()))?;
    println!("task\tN\tarithmetic\taccuracy\tstate error max\tslow modes (|λ|>0.99)\tfrozen units\tautonomous (quantized | float)");
    for s in settings {
        let mut net = Trainable::random(&Draw {
            n: s.n,
            inputs: s.task.inputs(),
            outputs: s.task.outputs(),
            scales: if s.lstm {
                Scales::Lstm(LstmScales {
                    f: gate(1.0),
                    i: gate(1.0),
                    o: gate(1.0),
                    c: gate(1.5),
                })
            } else {
                Scales::Gru(GruScales {
                    z: gate(1.0),
                    r: gate(1.0),
                    h: gate(1.5),
                })
            },
            form: GruForm::ResetAfter { recurrent_bias: () },
            activation: Activation::Tanh,
            seed: 7,
        })?;
        let t0 = std::time::Instant::now();
        let report = fit(&s.task, &mut net, &s.cfg, |_| {})?;
        let file = out.join(format!(
            "{}.onnx",
            s.name.split(' ').next().unwrap_or("net")
        ));
        save::save(Param::Save, &file, &net.trained())?;
        let model = load(&file)?;
        eprintln!(
            "{}: trained in {:.0} s, test accuracy {:.3} (fit's own)",
            s.name,
            t0.elapsed().as_secs_f64(),
            report.history.last().map_or(f64::NAN, |e| e.test_accuracy)
        );
        let test = s
            .task
            .examples(Split::Test, s.cfg.test_size, s.cfg.seed, Param::TestSize)?;
        let train = s
            .task
            .examples(Split::Train, 64, s.cfg.seed, Param::TrainSize)?;
        // calibration: the inputs' range over 64 training sequences
        let calibration = Table {
            rows: train.iter().map(|e| e.inputs.len()).sum::<usize>() / s.task.inputs(),
            cols: s.task.inputs(),
            data: train
                .iter()
                .flat_map(|e| e.inputs.iter().copied())
                .collect(),
        };
        let floats: Vec<Table> = test
            .iter()
            .map(|ex| run_inputs(&model.net, &table(&s.task, ex), Precision::F64, || {}))
            .collect::<Result<_, _>>()?;
        let (right, all) = test
            .iter()
            .zip(&floats)
            .map(|(ex, st)| score(&s.task, &model, ex, st))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
        println!(
            "{}\t{}\tf64\t{:.3}\t-\t-\t-\t-",
            s.name,
            s.n,
            right as f64 / all as f64
        );
        for scheme in [Scheme::Int16, Scheme::Int8] {
            let q = QuantizedNet::calibrated(&model.net, scheme, &calibration)?;
            let start = q.quantize_state(&model.net)?;
            let (mut right, mut all, mut worst) = (0, 0, 0.0f64);
            for (ex, float) in test.iter().zip(&floats) {
                let inputs = table(&s.task, ex);
                let states = q.run(&start, &inputs, |_, _| {})?;
                let st = Table {
                    rows: states.len(),
                    cols: q.n(),
                    data: states.iter().flat_map(|h| h.h_values()).collect(),
                };
                let (c, d) = score(&s.task, &model, ex, &st);
                right += c;
                all += d;
                for (a, b) in st.data.iter().zip(&float.data) {
                    worst = worst.max((a - b).abs());
                }
            }
            let r = quantize(
                load(&file)?,
                &table(&s.task, &test[0]),
                &QuantizeConfig {
                    scheme,
                    slow_epsilon: 0.01,
                    every: 1,
                    autonomous_input: None,
                    max_steps: 100_000,
                },
                |_| {},
            )?;
            let orbit = |o: &gatedyn_host::theory::quantize::Orbit| match o.period {
                Some(p) if o.kind == "cycle" => format!("cycle {p}"),
                _ => o.kind.to_string(),
            };
            println!(
                "{}\t{}\t{}\t{:.3}\t{:.2e}\t{:.2} → {:.2}\t{:.1} % ({:.1} % in float)\t{} | {}",
                s.name,
                s.n,
                scheme.name(),
                right as f64 / all as f64,
                worst,
                r.slow_modes_float.unwrap_or(f64::NAN),
                r.slow_modes_quantized.unwrap_or(f64::NAN),
                100.0 * r.frozen_units.quantized,
                100.0 * r.frozen_units.float,
                orbit(&r.autonomous.quantized),
                orbit(&r.autonomous.float),
            );
        }
    }
    Ok(())
}
