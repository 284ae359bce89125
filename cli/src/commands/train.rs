//! `gatedyn train --task adding|copy|smnist`: one training run (BPTT on
//! the core's Jacobian factors, Adam, docs/THEORY.md §13) from the
//! mean-field scales or an imported model, with a progress bar, a JSON
//! history (losses, accuracies, gradient norms, the Jacobian's spectral
//! radius and slow modes per epoch), a plot, and `--save` in the formats
//! `--model` reads.

use super::args::{
    count, finite, scale, ActivationArg, CellArg, OutputArgs, PrecisionArg, Progress,
};
use clap::{Args, ValueEnum};
use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::GruForm;
use gatedyn_host::figures::plot;
use gatedyn_host::formats::{self, save};
use gatedyn_host::net::Scales;
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_train::fit::{self, FitConfig, FitEvent, FitReport, MAX_EPOCHS};
use gatedyn_train::mnist::{self, Split};
use gatedyn_train::params::{Draw, Trainable};
use gatedyn_train::tasks::{CopyTask, FlipFlopTask, PixelOrder, Task};
use std::path::PathBuf;
use std::sync::Arc;

/// The task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// The adding problem (squared error; the mean predictor scores 1/6).
    Adding,
    /// The copy (recall) task (cross-entropy; guessing scores ln K).
    Copy,
    /// Sequential MNIST, pixel by pixel (`--mnist DIR` with the IDX files).
    Smnist,
    /// The flip-flop memory (`--bits` channels of ±1 pulses, outputs that
    /// hold each channel's last sign; squared error).
    Flipflop,
}

/// Where a GRU's reset gate acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormArg {
    /// The paper's: `r ⊙ h` before `U_h`.
    ResetBefore,
    /// PyTorch's and Keras's: `r ⊙ (U_h h + b_hn)`.
    ResetAfter,
}

impl FormArg {
    /// The core's form.
    pub fn gru_form(self) -> GruForm<()> {
        match self {
            FormArg::ResetBefore => GruForm::ResetBefore,
            FormArg::ResetAfter => GruForm::ResetAfter { recurrent_bias: () },
        }
    }
}

/// What is trained on.
#[derive(Args, Debug, Clone)]
pub struct TaskArgs {
    /// The task.
    #[arg(long, value_enum, default_value_t = TaskArg::Adding)]
    pub task: TaskArg,
    /// Steps per sequence (adding: default 100; copy: the whole sequence,
    /// 2·symbols + 1 + delay, default 30; sMNIST: the images' pixels).
    #[arg(long, value_parser = count(2, 1_000_000))]
    pub length: Option<usize>,
    /// Copy task: symbols to remember.
    #[arg(long, default_value_t = 5, value_parser = count(1, 100_000))]
    pub symbols: usize,
    /// Copy task: size of the alphabet.
    #[arg(long, default_value_t = 8, value_parser = count(2, 1000))]
    pub alphabet: usize,
    /// sMNIST: the folder with the four IDX files (plain or .gz; `cargo
    /// xtask mnist` writes 8,000 + 2,000 real digits).
    #[arg(long, value_name = "DIR")]
    pub mnist: Option<PathBuf>,
    /// sMNIST: pixels per step (1: pixel by pixel, the paper's, 784
    /// steps; 28: row by row, 28 steps); must divide the image's pixels.
    #[arg(long, value_name = "K", value_parser = count(1, 1 << 16))]
    pub pixels_per_step: Option<usize>,
    /// sMNIST: read the pixels in one fixed random order drawn from SEED
    /// (permuted sMNIST).
    #[arg(long, value_name = "SEED")]
    pub permute: Option<u64>,
    /// Flip-flop: channels (bits of memory).
    #[arg(long, default_value_t = 3, value_parser = count(1, 64))]
    pub bits: usize,
    /// Flip-flop: probability of a pulse per step and channel (as
    /// FixedPointFinder's FlipFlopData).
    #[arg(long, default_value_t = 0.5, value_parser = finite)]
    pub pulse_probability: f64,
}

impl TaskArgs {
    /// The task, its files read.
    pub fn task(&self) -> Result<Task, HostError> {
        let bad = |m: String| Err(HostError::BadInput(m));
        if self.task != TaskArg::Smnist {
            for (flag, given) in [
                ("--mnist", self.mnist.is_some()),
                ("--pixels-per-step", self.pixels_per_step.is_some()),
                ("--permute", self.permute.is_some()),
            ] {
                if given {
                    return bad(format!("{flag} is for --task smnist"));
                }
            }
        }
        match self.task {
            TaskArg::Adding => Ok(Task::Adding {
                length: self.length.unwrap_or(100),
            }),
            TaskArg::Flipflop => Ok(Task::FlipFlop(FlipFlopTask {
                bits: self.bits,
                length: self.length.unwrap_or(64),
                pulse_probability: self.pulse_probability,
            })),
            TaskArg::Copy => {
                let length = self.length.unwrap_or(30);
                let least = 2 * self.symbols + 1;
                if length < least {
                    return bad(format!(
                        "--length: a copy sequence of {} symbols needs at least {least} steps (got {length})",
                        self.symbols
                    ));
                }
                Ok(Task::Copy(CopyTask {
                    symbols: self.symbols,
                    alphabet: self.alphabet,
                    delay: length - least,
                }))
            }
            TaskArg::Smnist => {
                let Some(dir) = &self.mnist else {
                    return bad("--task smnist needs --mnist DIR (the folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)".into());
                };
                if self.length.is_some() {
                    return bad("--length: sMNIST sequences are the images' pixels (784 for MNIST); leave --length out".into());
                }
                let (train, test) = (
                    mnist::load(dir, Split::Train)?,
                    mnist::load(dir, Split::Test)?,
                );
                if train.pixels != test.pixels {
                    return bad(format!(
                        "--mnist {}: training images have {} pixels, test images {}; both splits must have one image size",
                        dir.display(),
                        train.pixels,
                        test.pixels
                    ));
                }
                let order = PixelOrder::new(
                    train.pixels,
                    self.pixels_per_step.unwrap_or(1),
                    self.permute,
                )?;
                Ok(Task::Smnist {
                    train: Arc::new(train),
                    test: Arc::new(test),
                    order: Arc::new(order),
                })
            }
        }
    }
}

/// The network trained: cell, size and initial scales.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// The cell.
    #[arg(long, value_enum, default_value_t = CellArg::Gru)]
    pub cell: CellArg,
    /// A GRU's form.
    #[arg(long, value_enum, default_value_t = FormArg::ResetBefore)]
    pub form: FormArg,
    /// Hidden units (default 64).
    #[arg(long, value_parser = count(1, 4096))]
    pub n: Option<usize>,
    /// φ.
    #[arg(long, value_enum, default_value_t = ActivationArg::Tanh)]
    pub activation: ActivationArg,
    /// GRU σ_z (update gate: slow modes as it grows).
    #[arg(long, value_parser = scale)]
    pub sigma_z: Option<f64>,
    /// GRU σ_r (reset gate).
    #[arg(long, value_parser = scale)]
    pub sigma_r: Option<f64>,
    /// GRU σ_h (candidate: the zero fixed point loses stability at 2).
    #[arg(long, value_parser = scale)]
    pub sigma_h: Option<f64>,
    /// LSTM σ_f (forget gate: slow modes as it grows).
    #[arg(long, value_parser = scale)]
    pub sigma_f: Option<f64>,
    /// LSTM σ_i.
    #[arg(long, value_parser = scale)]
    pub sigma_i: Option<f64>,
    /// LSTM σ_o.
    #[arg(long, value_parser = scale)]
    pub sigma_o: Option<f64>,
    /// LSTM σ_c.
    #[arg(long, value_parser = scale)]
    pub sigma_c: Option<f64>,
    /// Input-weight scale of every gate (`W` entries N(0, σ²/I)).
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    pub sigma_input: f64,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 1)]
    pub weight_seed: u64,
    /// Start from this model instead (`.onnx`, `.safetensors`, `.keras` or `.weights.h5`; its
    /// readout too when it has one): continue training. The flags that
    /// draw weights (`--n`, `--sigma-*`, `--cell`, `--form`) are refused
    /// with it.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
}

/// The GRU scales' defaults: σ_z 1, σ_r 0.5, σ_h 2 (the edge of chaos).
pub const GRU_DEFAULTS: [f64; 3] = [1.0, 0.5, 2.0];
/// The LSTM scales' defaults: σ_f, σ_i, σ_o 1, σ_c 2.
pub const LSTM_DEFAULTS: [f64; 4] = [1.0, 1.0, 1.0, 2.0];

impl NetArgs {
    /// The initial scales (zero biases, as in the paper's Appendix H).
    pub fn scales(&self) -> Result<Scales, HostError> {
        let gate = |sigma: f64| GateScale {
            sigma,
            bias: 0.0,
            input: self.sigma_input,
        };
        let (gru, lstm) = (
            [self.sigma_z, self.sigma_r, self.sigma_h],
            [self.sigma_f, self.sigma_i, self.sigma_o, self.sigma_c],
        );
        let misplaced = |flags: &[Option<f64>], names: &str, cell: &str| {
            if flags.iter().any(Option::is_some) {
                Err(HostError::BadInput(format!(
                    "{names} are scales of the {cell}; this run trains --cell {}",
                    if cell == "GRU" { "lstm" } else { "gru" }
                )))
            } else {
                Ok(())
            }
        };
        Ok(match self.cell {
            CellArg::Gru => {
                misplaced(&lstm, "--sigma-f/i/o/c", "LSTM")?;
                let v = |k: usize| gate(gru[k].unwrap_or(GRU_DEFAULTS[k]));
                Scales::Gru(GruScales {
                    z: v(0),
                    r: v(1),
                    h: v(2),
                })
            }
            CellArg::Lstm => {
                misplaced(&gru, "--sigma-z/r/h", "GRU")?;
                if self.form != FormArg::ResetBefore {
                    return Err(HostError::BadInput("--form is a GRU setting".into()));
                }
                let v = |k: usize| gate(lstm[k].unwrap_or(LSTM_DEFAULTS[k]));
                Scales::Lstm(LstmScales {
                    f: v(0),
                    i: v(1),
                    o: v(2),
                    c: v(3),
                })
            }
        })
    }

    /// The network to train for `task`: from `--model`, or drawn from
    /// `scales`.
    pub fn network(&self, task: &Task, scales: &Scales) -> Result<Trainable, HostError> {
        if let Some(p) = &self.model {
            // the file gives the weights: flags that would draw them are
            // refused rather than ignored
            let drawn = [
                (self.n.is_some(), "--n"),
                (
                    [self.sigma_z, self.sigma_r, self.sigma_h, self.sigma_f]
                        .iter()
                        .chain(&[self.sigma_i, self.sigma_o, self.sigma_c])
                        .any(Option::is_some),
                    "--sigma-*",
                ),
                (self.cell != CellArg::Gru, "--cell"),
                (self.form != FormArg::ResetBefore, "--form"),
            ];
            if let Some((_, flag)) = drawn.iter().find(|(given, _)| *given) {
                return Err(HostError::BadInput(format!(
                    "{flag} draws new weights; --model {} gives them (leave {flag} out)",
                    p.display()
                )));
            }
            let loaded = formats::load(p)?;
            return Trainable::from_model(loaded, task.inputs(), task.outputs(), self.weight_seed);
        }
        Trainable::random(&Draw {
            n: self.n.unwrap_or(64),
            inputs: task.inputs(),
            outputs: task.outputs(),
            scales: *scales,
            form: self.form.gru_form(),
            activation: self.activation.into(),
            seed: self.weight_seed,
        })
    }
}

/// The defaults of the optimisation flags that differ between `train`
/// and `train-sweep`.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// `--train-size` of the synthetic tasks.
    pub train_size: usize,
    /// `--test-size` of the synthetic tasks.
    pub test_size: usize,
    /// `--target-accuracy`.
    pub target_accuracy: f64,
}

/// `gatedyn train`'s.
pub const TRAIN_DEFAULTS: Defaults = Defaults {
    train_size: 2048,
    test_size: 512,
    target_accuracy: 0.9,
};

/// The optimisation.
#[derive(Args, Debug, Clone)]
pub struct OptimArgs {
    /// Passes over the training set.
    #[arg(long, default_value_t = 10, value_parser = count(1, MAX_EPOCHS))]
    pub epochs: usize,
    /// Sequences per gradient step.
    #[arg(long, default_value_t = 32, value_parser = count(1, 1 << 20))]
    pub batch: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.003, value_parser = finite, allow_hyphen_values = true)]
    pub lr: f64,
    /// Clip the gradient's global norm at this (`inf`: no clipping).
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub clip: f64,
    /// Seed of the data and of the shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Training sequences (default: train 2048, train-sweep 1024; sMNIST
    /// all 60,000).
    #[arg(long, value_parser = count(1, 1 << 22))]
    pub train_size: Option<usize>,
    /// Test sequences (default: train 512, train-sweep 256; sMNIST all
    /// 10,000).
    #[arg(long, value_parser = count(1, 1 << 22))]
    pub test_size: Option<usize>,
    /// The accuracy whose first epoch is reported as `epochs_to_target`
    /// (default 0.9; `train-sweep`: 0.3).
    #[arg(long, value_parser = finite)]
    pub target_accuracy: Option<f64>,
    /// A slow mode: an eigenvalue with |λ| > 1 − ε.
    #[arg(long, default_value_t = 0.01, value_parser = finite)]
    pub slow_epsilon: f64,
    /// The arithmetic of the forward and backward passes (Adam, the
    /// weights, the loss and the readout stay f64).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
}

impl OptimArgs {
    /// The run's settings for `task`; `defaults` fill what was not given.
    pub fn config(&self, task: &Task, defaults: &Defaults) -> FitConfig {
        let (train, test) = match task {
            Task::Smnist { train, test, .. } => (train.len(), test.len()),
            _ => (defaults.train_size, defaults.test_size),
        };
        FitConfig {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            clip: self.clip,
            seed: self.seed,
            train_size: self.train_size.unwrap_or(train),
            test_size: self.test_size.unwrap_or(test),
            slow_epsilon: self.slow_epsilon,
            target_accuracy: self.target_accuracy.unwrap_or(defaults.target_accuracy),
            precision: self.precision.into(),
        }
    }
}

/// The flags of `gatedyn train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    task: TaskArgs,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    optim: OptimArgs,
    /// Write the trained network (`.onnx`, or `.safetensors` for PyTorch;
    /// readout included), for `gatedyn analyze`, `export` and firmware.
    #[arg(long, value_name = "PATH")]
    save: Option<PathBuf>,
    /// Draw the history (test loss over chance, accuracy, spectral radius,
    /// slow-mode share per epoch; .svg or .png).
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn train`.
pub fn run(a: TrainArgs) -> Result<(), HostError> {
    let save_target = a.save.clone().map(gatedyn_host::io::output::Target::File);
    a.out
        .check(a.plot.as_ref(), &[("--save", save_target.as_ref())])?;
    let scales = a.net.scales()?;
    let task = a.task.task()?;
    let cfg = a.optim.config(&task, &TRAIN_DEFAULTS);
    cfg.check()?;
    let mut net = a.net.network(&task, &scales)?;
    if let Some(p) = &a.save {
        save::check(Param::Save, p, &net.trained())?;
    }
    let bar = Progress::new(a.out.quiet, (cfg.epochs * fit::batches(&cfg)) as u64);
    let mut last = String::new();
    let report = fit::fit(&task, &mut net, &cfg, |e| match e {
        FitEvent::Batch { loss, .. } => {
            bar.inc(1);
            bar.message(&format!("batch loss {loss:.4}{last}"));
        }
        FitEvent::Checkpoint(r) => {
            last = format!(
                " | epoch {}: test loss {:.4}, accuracy {:.3}",
                r.epoch, r.test_loss, r.test_accuracy
            );
            bar.message(&last);
        }
    })?;
    drop(bar);
    if let Some(p) = &a.save {
        save::save(Param::Save, p, &net.trained())?;
    }
    if let Some(p) = &a.plot {
        draw(p, &report)?;
    }
    a.out.emit(&report, &summary(&report, a.save.as_ref()))
}

/// One line: the task, the final loss and accuracy against chance, the
/// dynamics' move.
pub fn summary(r: &FitReport, saved: Option<&PathBuf>) -> String {
    let dyn_of = |k: usize| {
        r.history[k]
            .dynamics
            .as_ref()
            .map(|d| format!("ρ {:.3}, {} slow modes", d.spectral_radius, d.slow_modes))
            .unwrap_or_else(|| "no spectrum".into())
    };
    format!(
        "{} T={} {} N={}: test loss {:.4} (chance {:.4}), accuracy {:.3} after {} epoch{} ({:.1} s/epoch); Jacobian {} → {}{}",
        r.task,
        r.length,
        r.cell,
        r.n,
        r.final_loss,
        r.chance_loss,
        r.final_accuracy,
        r.epochs,
        if r.epochs == 1 { "" } else { "s" },
        r.seconds_per_epoch,
        dyn_of(0),
        dyn_of(r.history.len() - 1),
        saved.map(|p| format!("; saved {}", p.display())).unwrap_or_default()
    )
}

fn draw(path: &std::path::Path, r: &FitReport) -> Result<(), HostError> {
    let series = |label: &str, f: &dyn Fn(&fit::EpochRecord) -> Option<f64>| plot::Series {
        label: label.into(),
        points: r
            .history
            .iter()
            .filter_map(|h| f(h).map(|v| (h.epoch as f64, v)))
            .collect(),
        thin: false,
    };
    let all = [
        // an untrained readout can start far above chance: the axis is
        // kept for the quantities in [0, 1]
        series("test loss / chance loss (drawn up to 1.5)", &|h| {
            Some((h.test_loss / r.chance_loss).min(1.5))
        }),
        series("test accuracy", &|h| Some(h.test_accuracy)),
        series("Jacobian spectral radius", &|h| {
            h.dynamics.as_ref().map(|d| d.spectral_radius)
        }),
        series("slow-mode share (|λ| > 1 − ε)", &|h| {
            h.dynamics.as_ref().map(|d| d.slow_share)
        }),
    ];
    let drawn: Vec<plot::Series> = all.into_iter().filter(|s| !s.points.is_empty()).collect();
    plot::lines(
        path,
        &plot::Labels {
            title: &format!("{} T={}, {} N={}", r.task, r.length, r.cell, r.n),
            x: "epoch",
            y: "",
        },
        &drawn,
    )
}
