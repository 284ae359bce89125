//! The large-N spectral radius without the dense solve: the core's
//! thick-restart Arnoldi over the host's matrix-free Jacobian (faer
//! products, weights in `f32` or `f64`) against faer's dense eigenvalues of
//! the same GRU Jacobian, in one run.
//!
//! `cargo run --release -p gatedyn-host --example arnoldi_vs_dense -- [N [TOL [f32|f64 [SEED [SIGMA_Z SIGMA_R SIGMA_H [K]]]]]]`
//! (defaults: N = 4000, relative residual 1e-3, f32, seed 11, the chaotic
//! GRU σ_z = σ_r = 1, σ_h = 3, Krylov dimension 128). The dense side is the Jacobian (faer's
//! product) plus the eigen-solve; the matrix-free side includes copying the
//! weights.

use gatedyn::init::GateScale;
use gatedyn::spectral_radius::ArnoldiOptions;
use gatedyn::Activation;
use gatedyn_host::eigen::{eigenvalues, jacobian, spectral_radius};
use gatedyn_host::matfree::{self, Precision};
use gatedyn_host::network::{Model, Net};
use std::time::Instant;

fn arg<T: std::str::FromStr>(i: usize, default: T) -> Result<T, String> {
    match std::env::args().nth(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {i}: cannot parse {s:?}")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = arg(1, 4000)?;
    let tol: f64 = arg(2, 1e-3)?;
    let precision = match arg(3, "f32".to_string())?.as_str() {
        "f32" => Precision::F32,
        "f64" => Precision::F64,
        other => return Err(format!("precision must be f32 or f64, got {other}").into()),
    };
    let seed: u64 = arg(4, 11)?;
    let s = [
        GateScale::recurrent(arg(5, 1.0)?),
        GateScale::recurrent(arg(6, 1.0)?),
        GateScale::recurrent(arg(7, 3.0)?),
    ];
    let mut net = Net::random(Model::Gru, n, &s, Activation::Tanh, seed)?;
    net.run(100, || {})?;

    let t = Instant::now();
    let opts = ArnoldiOptions {
        tol,
        max_products: 20_000,
        krylov_dim: arg(8, 0)?,
        check_every: arg(9, 8)?,
        ..Default::default()
    };
    let r = matfree::spectral_radius(&net, precision, &opts)?;
    let t_arnoldi = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let j = jacobian(&net)?;
    let t_jac = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let dense = spectral_radius(&eigenvalues(&j)?);
    let t_eig = t.elapsed().as_secs_f64();

    println!(
        "N = {n}, {precision:?}: Arnoldi {t_arnoldi:.3} s ({} products, {} restarts), dense: Jacobian {t_jac:.3} s + eigenvalues {t_eig:.3} s",
        r.products, r.restarts
    );
    println!(
        "speed-up (dense Jacobian + eigensolve) / Arnoldi = {:.1}, eigensolve alone / Arnoldi = {:.1}",
        (t_jac + t_eig) / t_arnoldi,
        t_eig / t_arnoldi
    );
    println!(
        "radius: Arnoldi {:.12}, dense {dense:.12}, relative error {:.1e} (residual {:.1e})",
        r.radius,
        (r.radius - dense).abs() / dense,
        r.error_estimate
    );
    Ok(())
}
