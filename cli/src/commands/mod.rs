//! The subcommands of `gatedyn`, one module each (`#[derive(Args)]` and
//! `run`), and [`args`]: what they share.

pub mod analyze;
pub mod args;
pub mod bifurcation;
pub mod complexity;
pub mod export;
pub mod finite;
pub mod fixed_points;
pub mod long_term;
pub mod lyapunov;
pub mod mft;
pub mod phase_diagram;
pub mod quantize;
pub mod run;
pub mod scaling;
pub mod slow_modes;
pub mod spectrum;
pub mod train;
pub mod train_sweep;
pub mod validate;
