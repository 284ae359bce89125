//! `gatedyn-host`: the research side of gatedyn (std). Random networks at
//! run-time sizes through the core's slice API, dense eigenvalues with
//! faer, the matrix-free spectral radius, and the experiments behind the
//! `gatedyn` command-line tool.
//!
//! Every formula cites `docs/THEORY.md` of the repository.
//!
//! # Layout
//!
//! Folders by subsystem, each importing only the ones above it in this
//! list (no import circles):
//!
//! * [`io`] — arrays in files, atomic writes, size limits;
//! * [`net`] — networks of run-time size (cells, gates, weights, traces, the
//!   readout, driving along inputs);
//! * [`linalg`] — dense eigenvalues, the matrix-free Jacobian, block Arnoldi;
//! * [`formats`] — ONNX and safetensors read and written, Rust source;
//! * [`theory`] — the experiments of the theory and the analysis of a model;
//! * [`figures`] — plots;
//! * [`validate`] — the battery.
//!
//! The crate root holds what all share: [`HostError`] with its exit
//! statuses, [`Param`] (which parameter was wrong, by name: the library
//! never speaks of command-line flags) and [`Precision`]. Training is the
//! crate `gatedyn-train` beside this one; the `gatedyn` binary is
//! `gatedyn-cli`, above both.

pub mod figures;
pub mod formats;
pub mod io;
pub mod linalg;
pub mod net;
pub mod theory;
pub mod validate;

use std::fmt;

/// Storage precision of weights: of the matrix-free products
/// ([`linalg::matfree`]), of arrays and of exported models; and the
/// arithmetic of training's batched passes (`gatedyn-train`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// `f32` copies of the weights (half the memory traffic).
    F32,
    /// `f64` copies.
    F64,
}

impl Precision {
    /// `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// What can go wrong on the host. Each kind has its own exit status in the
/// CLI ([`HostError::exit_status`]).
#[derive(Debug)]
pub enum HostError {
    /// Bad input in one parameter: `param` names it, `message` says what
    /// is wrong and reads on from the parameter's name (`" must be at least
    /// 2, got 1"`, `" x.npy: truncated"`; exit status 2).
    Invalid {
        /// Which parameter.
        param: Param,
        /// What is wrong with it, following its name.
        message: String,
    },
    /// Two parameters that do not fit together (`steps` fewer than
    /// `batches`): both named, `message` says why (exit status 2).
    Conflict {
        /// The parameter whose value is refused.
        param: Param,
        /// The parameter it must fit.
        with: Param,
        /// Why they do not fit (a sentence of its own).
        message: String,
    },
    /// Bad input that no single parameter carries (exit status 2).
    BadInput(String),
    /// A numerical method of the core failed on valid input, in `step`
    /// (exit status 3).
    Numerical {
        /// What was being computed (`"predicted support"`, `"Arnoldi"`, …).
        step: &'static str,
        /// The core's error.
        source: gatedyn::Error,
    },
    /// An error of the core outside a named step (exit status 3).
    Core(gatedyn::Error),
    /// Reading or writing a file, naming it (exit status 3).
    Io(String),
    /// The dense eigen-solver failed (exit status 3).
    Eigen(String),
    /// A validation ran to the end and some of its checks failed (exit
    /// status 1: the input was fine, the theory and the numbers disagree).
    ChecksFailed(usize),
    /// A computation on valid input ended in a NaN or an infinity, at
    /// this field of its result (exit status 3): nothing is written.
    NonFiniteResult(String),
}

/// Exit statuses of the `gatedyn` binary.
pub mod exit_status {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// `gatedyn validate` ran and at least one check failed.
    pub const CHECK_FAILED: u8 = 1;
    /// Bad input: arguments (also clap's usage errors) or files.
    pub const BAD_INPUT: u8 = 2;
    /// A numerical failure on valid input, or an I/O failure (a file that
    /// cannot be written, a full disk, a closed stdout).
    pub const FAILURE: u8 = 3;
}

impl HostError {
    /// The documented exit status of this error ([`exit_status`]).
    pub fn exit_status(&self) -> u8 {
        match self {
            HostError::Invalid { .. } | HostError::Conflict { .. } | HostError::BadInput(_) => {
                exit_status::BAD_INPUT
            }
            HostError::ChecksFailed(_) => exit_status::CHECK_FAILED,
            HostError::Numerical { .. }
            | HostError::Core(_)
            | HostError::Io(_)
            | HostError::Eigen(_)
            | HostError::NonFiniteResult(_) => exit_status::FAILURE,
        }
    }

    /// Bad input in `param`; `message` reads on from its name.
    pub fn invalid(param: Param, message: String) -> HostError {
        HostError::Invalid { param, message }
    }

    /// Attaches the name of the computation to a core error.
    pub fn numerical(step: &'static str) -> impl Fn(gatedyn::Error) -> HostError {
        move |source| HostError::Numerical { step, source }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Invalid { param, message } => write!(f, "{param}{message}"),
            HostError::Conflict {
                param,
                with,
                message,
            } => write!(f, "{param} and {with}: {message}"),
            HostError::BadInput(m) => write!(f, "{m}"),
            HostError::Numerical { step, source } => write!(f, "{step}: {source}"),
            HostError::Core(e) => write!(f, "{e}"),
            HostError::Io(m) => write!(f, "{m}"),
            HostError::Eigen(m) => write!(f, "eigen-solver: {m}"),
            HostError::NonFiniteResult(field) => write!(
                f,
                "the result's {field} is not a finite number: the computation overflowed for these settings, nothing written"
            ),
            HostError::ChecksFailed(k) => {
                write!(
                    f,
                    "validation failed: {k} check(s) marked FAIL in the table"
                )
            }
        }
    }
}

impl std::error::Error for HostError {}

/// The parameter of a library call that was wrong, by name: what a
/// [`HostError::Invalid`] carries, so that a caller names it in its own
/// words (the CLI by its flag, a library user by the argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Param {
    /// Sequences per batch.
    Batch,
    /// Batches of a trajectory average.
    Batches,
    /// The gradient-norm clipping bound.
    Clip,
    /// Training epochs.
    Epochs,
    /// Take every k-th step.
    Every,
    /// A gate, by its letter.
    Gate,
    /// The initial hidden state (a file).
    H0,
    /// The input sequence (a file).
    Inputs,
    /// The JSON report file.
    Json,
    /// How many exponents.
    K,
    /// The scale of large starting states.
    LargeStart,
    /// The sequence length of a task.
    Length,
    /// The learning rate.
    Lr,
    /// Iterations of a solver.
    MaxIter,
    /// The budget of matrix-vector products.
    MaxProducts,
    /// The longest horizon `T`.
    MaxT,
    /// Sweep shard files to merge.
    Merge,
    /// The folder of MNIST IDX files.
    Mnist,
    /// Pixels per step of sequential MNIST.
    PixelsPerStep,
    /// The seed of permuted sequential MNIST.
    Permute,
    /// The model file.
    Model,
    /// Hidden size `N` (or the list of sizes).
    N,
    /// The name of an exported network.
    Name,
    /// Networks per grid point.
    Networks,
    /// A figure file.
    Plot,
    /// Grid points per axis.
    Points,
    /// A report folder.
    Report,
    /// The gate saturation threshold.
    Saturation,
    /// Weight seeds per grid point.
    Seeds,
    /// A share of a sweep (`K/M`).
    Shard,
    /// The candidate scales `σ_h` of a grid.
    SigmaH,
    /// The largest `σ_h` of a grid.
    SigmaHMax,
    /// The `σ_h` values of a sweep.
    SigmaHValues,
    /// The reset scales `σ_r` of a grid.
    SigmaR,
    /// The largest `σ_r` of a grid.
    SigmaRMax,
    /// The `σ_z` values of a sweep.
    SigmaZValues,
    /// The slow-mode threshold `ε` (`|λ| > 1 − ε`).
    SlowEpsilon,
    /// The scale of small starting states.
    SmallStart,
    /// Starts of a search.
    Starts,
    /// Steps of a trajectory.
    Steps,
    /// Transient steps before a measurement.
    Transient,
    /// The accuracy a training run aims for.
    TargetAccuracy,
    /// Test sequences.
    TestSize,
    /// A relative tolerance.
    Tol,
    /// Training sequences.
    TrainSize,
    /// The values of a sweep.
    Values,
    /// The constant input (a file).
    Input,
    /// The file a trained model is saved to.
    Save,
    /// The file the states are written to.
    Output,
    /// The file the readout's outputs are written to.
    ReadoutOutput,
    /// The Rust source file of an export.
    Rust,
    /// The file the eigenvalues are written to.
    Eigenvalues,
    /// The JSON-lines file of a shard.
    Lines,
    /// The residual below which a stalled solve is a slow point.
    SlowTol,
    /// The distance below which two points are one.
    Distinct,
    /// The scale of the noise added to starts.
    Noise,
    /// A file of states (one per row).
    States,
    /// The file the fixed points' states are written to.
    SaveStates,
    /// Channels of the flip-flop task.
    Bits,
    /// The flip-flop task's probability of a pulse per step and channel.
    PulseProbability,
    /// How many sequences of a task.
    Sequences,
    /// A gate scale of the core's scales types, by the core's name
    /// (`sigma_z`, `bias_h`, `input_r`, …).
    Scale(&'static str),
}

impl Param {
    /// The parameter's name in this library, `snake_case` (`n`,
    /// `slow_epsilon`, `sigma_h_values`, the core's scale names).
    pub fn name(self) -> &'static str {
        match self {
            Param::Batch => "batch",
            Param::Batches => "batches",
            Param::Clip => "clip",
            Param::Epochs => "epochs",
            Param::Every => "every",
            Param::Gate => "gate",
            Param::H0 => "h0",
            Param::Inputs => "inputs",
            Param::Json => "json",
            Param::K => "k",
            Param::LargeStart => "large_start",
            Param::Length => "length",
            Param::Lr => "lr",
            Param::MaxIter => "max_iter",
            Param::MaxProducts => "max_products",
            Param::MaxT => "max_t",
            Param::Merge => "merge",
            Param::Mnist => "mnist",
            Param::PixelsPerStep => "pixels_per_step",
            Param::Permute => "permute",
            Param::Model => "model",
            Param::N => "n",
            Param::Name => "name",
            Param::Networks => "networks",
            Param::Plot => "plot",
            Param::Points => "points",
            Param::Report => "report",
            Param::Saturation => "saturation",
            Param::Seeds => "seeds",
            Param::Shard => "shard",
            Param::SigmaH => "sigma_h",
            Param::SigmaHMax => "sigma_h_max",
            Param::SigmaHValues => "sigma_h_values",
            Param::SigmaR => "sigma_r",
            Param::SigmaRMax => "sigma_r_max",
            Param::SigmaZValues => "sigma_z_values",
            Param::SlowEpsilon => "slow_epsilon",
            Param::SmallStart => "small_start",
            Param::Starts => "starts",
            Param::Steps => "steps",
            Param::Transient => "transient",
            Param::TargetAccuracy => "target_accuracy",
            Param::TestSize => "test_size",
            Param::Tol => "tol",
            Param::TrainSize => "train_size",
            Param::Values => "values",
            Param::Input => "input",
            Param::Save => "save",
            Param::Output => "output",
            Param::ReadoutOutput => "readout_output",
            Param::Rust => "rust",
            Param::Eigenvalues => "eigenvalues",
            Param::Lines => "lines",
            Param::SlowTol => "slow_tol",
            Param::Distinct => "distinct",
            Param::Noise => "noise",
            Param::States => "states",
            Param::SaveStates => "save_states",
            Param::Bits => "bits",
            Param::PulseProbability => "pulse_probability",
            Param::Sequences => "sequences",
            Param::Scale(name) => name,
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<gatedyn::Error> for HostError {
    fn from(e: gatedyn::Error) -> Self {
        HostError::Core(e)
    }
}
