//! `gatedyn-host`: the research side of gatedyn (std). Random networks at
//! run-time sizes through the core's slice API, dense eigenvalues with
//! faer, the matrix-free spectral radius, and the experiments behind the
//! `gatedyn` command-line tool.
//!
//! Every formula cites `docs/THEORY.md` of the repository.

pub mod figures;
pub mod formats;
pub mod io;
pub mod linalg;
pub mod net;
pub mod theory;
pub mod validate;

use std::fmt;

/// Storage precision of weights: of the matrix-free products
/// ([`linalg::matfree`]), of arrays and of exported models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// `f32` copies of the weights (half the memory traffic).
    F32,
    /// `f64` copies.
    F64,
}

/// What can go wrong on the host. Each kind has its own exit status in the
/// CLI ([`HostError::exit_status`]).
#[derive(Debug)]
pub enum HostError {
    /// Bad input: an argument outside its domain, a file that cannot be
    /// used as given. The message names the flag or file (exit status 2).
    Param(String),
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
            HostError::Param(_) => exit_status::BAD_INPUT,
            HostError::ChecksFailed(_) => exit_status::CHECK_FAILED,
            HostError::Numerical { .. }
            | HostError::Core(_)
            | HostError::Io(_)
            | HostError::Eigen(_) => exit_status::FAILURE,
        }
    }

    /// Attaches the name of the computation to a core error.
    pub fn numerical(step: &'static str) -> impl Fn(gatedyn::Error) -> HostError {
        move |source| HostError::Numerical { step, source }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Param(m) => write!(f, "{m}"),
            HostError::Numerical { step, source } => write!(f, "{step}: {source}"),
            HostError::Core(e) => write!(f, "{e}"),
            HostError::Io(m) => write!(f, "{m}"),
            HostError::Eigen(m) => write!(f, "eigen-solver: {m}"),
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

impl From<gatedyn::Error> for HostError {
    fn from(e: gatedyn::Error) -> Self {
        HostError::Core(e)
    }
}
