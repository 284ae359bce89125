//! `gatedyn bifurcation`: the critical reset scale `σ_r*(σ_h)` where the
//! non-zero mean-field fixed point appears (docs/THEORY.md §5).

use super::args::{finite, OutputArgs};
use clap::Args;
use gatedyn::mft::Mft;
use gatedyn_host::HostError;
use serde::Serialize;

/// The flags of `bifurcation`.
#[derive(Args, Debug)]
pub struct BifurcationArgs {
    /// σ_h, in (√2, 2).
    #[arg(long, value_parser = finite, allow_hyphen_values = true)]
    sigma_h: f64,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Serialize)]
struct BifurcationReport {
    sigma_h: f64,
    sigma_r_critical: f64,
}

/// Runs `gatedyn bifurcation`.
pub fn run(a: BifurcationArgs) -> Result<(), HostError> {
    let sigma_h = a.sigma_h;
    if !(sigma_h > std::f64::consts::SQRT_2 && sigma_h < 2.0) {
        return Err(HostError::BadInput(format!(
            "--sigma-h must lie in (√2, 2) = (1.41421, 2) for a bifurcation, got {sigma_h}"
        )));
    }
    a.out.check(None, &[])?;
    let sr = Mft::new()
        .bifurcation_sigma_r(sigma_h)
        .map_err(|e| match e {
            gatedyn::Error::Infeasible { .. } => HostError::BadInput(format!(
                "--sigma-h {sigma_h}: σ_r* is beyond 1e12, too close to √2 to compute"
            )),
            other => HostError::numerical("bifurcation")(other),
        })?;
    let report = BifurcationReport {
        sigma_h,
        sigma_r_critical: sr,
    };
    a.out.emit(&report, &format!("σ_r*({sigma_h}) = {sr:.6}"))
}
