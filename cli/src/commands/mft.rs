//! `gatedyn mft gru`: the GRU's mean-field fixed point (docs/THEORY.md §5).

use super::args::{scale, ActivationArg, OutputArgs};
use clap::{Args, Subcommand};
use gatedyn::init::{GateScale, GruScales};
use gatedyn::mft::Mft;
use gatedyn_host::theory::phase::region_name;
use gatedyn_host::HostError;
use serde::Serialize;

/// The cell.
#[derive(Subcommand, Debug)]
pub enum MftCmd {
    /// GRU fixed-point mean-field theory (the update gate drops out).
    Gru(MftGru),
}

/// The flags of `mft gru`.
#[derive(Args, Debug)]
pub struct MftGru {
    /// σ_h.
    #[arg(long, value_parser = scale, allow_hyphen_values = true)]
    sigma_h: f64,
    /// σ_r.
    #[arg(long, value_parser = scale, allow_hyphen_values = true)]
    sigma_r: f64,
    /// Bias scale of h.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    bias_h: f64,
    /// Bias scale of r.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    bias_r: f64,
    /// φ.
    #[arg(long, value_enum, default_value_t = ActivationArg::Tanh)]
    activation: ActivationArg,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Serialize)]
struct MftReport {
    sigma_h: f64,
    sigma_r: f64,
    bias_h: f64,
    bias_r: f64,
    c_h: f64,
    q_r: f64,
    mean_dphi_sq: f64,
    mean_dsig_r_sq: f64,
    shaping_sq: f64,
    fixed_point_stable: Option<bool>,
    zero_fixed_point_stable: Option<bool>,
    region: &'static str,
}

/// Runs `gatedyn mft`.
pub fn run(cmd: MftCmd) -> Result<(), HostError> {
    let MftCmd::Gru(a) = cmd;
    a.out.check(None, &[])?;
    let scales = GruScales {
        z: GateScale::recurrent(0.0),
        r: GateScale {
            sigma: a.sigma_r,
            bias: a.bias_r,
            input: 0.0,
        },
        h: GateScale {
            sigma: a.sigma_h,
            bias: a.bias_h,
            input: 0.0,
        },
    };
    let p = scales.mft(a.activation.into());
    let mft = Mft::new();
    let failed = HostError::numerical("mean-field theory");
    let fp = mft.fixed_point(&p).map_err(&failed)?;
    let zero = if a.bias_h > 0.0 {
        None
    } else {
        Some(mft.gru_zero_stable(&p).map_err(&failed)?)
    };
    let region = mft.classify(&p).map_err(&failed)?;
    // with no non-zero solution, report the (zero) fixed point's averages
    let at = fp.unwrap_or_else(|| mft.averages(&p, 0.0));
    let report = MftReport {
        sigma_h: a.sigma_h,
        sigma_r: a.sigma_r,
        bias_h: a.bias_h,
        bias_r: a.bias_r,
        c_h: at.c_h,
        q_r: at.q_r,
        mean_dphi_sq: at.mean_dphi_sq,
        mean_dsig_r_sq: at.mean_dsig_r_sq,
        shaping_sq: at.shaping_sq,
        fixed_point_stable: fp.map(|f| f.stable()),
        zero_fixed_point_stable: zero,
        region: region_name(region),
    };
    let summary = format!(
        "GRU MFT σ_h={} σ_r={}: C_h={:.6} Q_r={:.6} ρ_s²={:.6} region: {}",
        a.sigma_h, a.sigma_r, report.c_h, report.q_r, report.shaping_sq, report.region
    );
    a.out.emit(&report, &summary)
}
