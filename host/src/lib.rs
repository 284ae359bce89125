//! `gatedyn-host`: the research side of gatedyn (std). Random networks at
//! run-time sizes through the core's slice API, dense eigenvalues with
//! faer, and the experiments behind the `gatedyn` command-line tool.

pub mod block_arnoldi;
pub mod eigen;
pub mod fixed_points;
pub mod matfree;
pub mod network;
pub mod phase;
pub mod plot;
pub mod spectrum;
pub mod sweep;
pub mod validate;

use std::fmt;

/// What can go wrong on the host: bad parameters (exit status 2 in the
/// CLI), core errors, I/O.
#[derive(Debug)]
pub enum HostError {
    /// A parameter outside its domain, with the message to print.
    Param(String),
    /// An error of the core.
    Core(gatedyn::Error),
    /// Reading or writing a file.
    Io(String),
    /// The dense eigen-solver failed.
    Eigen(String),
    /// A validation ran to the end and some of its checks failed (exit
    /// status 1, not 2: the input was fine).
    ChecksFailed(usize),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Param(m) => write!(f, "{m}"),
            HostError::Core(e) => write!(f, "{e}"),
            HostError::Io(m) => write!(f, "{m}"),
            HostError::Eigen(m) => write!(f, "eigen-solver: {m}"),
            HostError::ChecksFailed(k) => {
                write!(f, "validation failed: {k} check(s) marked FAIL above")
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

/// Checks a gate scale given on the command line.
pub fn check_sigma(name: &str, v: f64) -> Result<f64, HostError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(HostError::Param(format!(
            "{name} must be finite and >= 0, got {v}"
        )))
    }
}
