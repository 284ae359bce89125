//! The large-N spectral radius without the dense solve, against faer's dense
//! eigenvalues of the same GRU Jacobian, in one run: the core's
//! single-vector thick-restart Arnoldi and the host's block Arnoldi, both
//! over the host's matrix-free Jacobian (faer products, weights in `f32` or
//! `f64`).
//!
//! `cargo run --release -p gatedyn-host --example arnoldi_vs_dense -- [N [TOL [f32|f64 [SEED [SIGMA_Z SIGMA_R SIGMA_H]]]]]`
//! (defaults: N = 4000, relative residual 1e-3, f32, seed 11, the chaotic
//! GRU σ_z = σ_r = 1, σ_h = 3). The dense side is the Jacobian (faer's
//! product) plus the eigen-solve; the matrix-free sides include building
//! the operator (weight copies). The block settings are
//! `BlockOptions::default()`; the environment variables `BLOCK`, `MAX_DIM`,
//! `KEEP` and `CHECK_EVERY` override them (for tuning).

use gatedyn::init::GruScales;
use gatedyn::spectral_radius::ArnoldiOptions;
use gatedyn::Activation;
use gatedyn_host::linalg::block_arnoldi::{self, BlockOptions};
use gatedyn_host::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use gatedyn_host::linalg::matfree::{self, HostJacobian};
use gatedyn_host::net::{Net, Scales};
use gatedyn_host::Precision;
use std::time::Instant;

fn arg<T: std::str::FromStr>(i: usize, default: T) -> Result<T, String> {
    match std::env::args().nth(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {i}: cannot parse {s:?}")),
    }
}

fn env(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => s.parse().map_err(|_| format!("{name}: cannot parse {s:?}")),
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
    let s = GruScales::recurrent(arg(5, 1.0)?, arg(6, 1.0)?, arg(7, 3.0)?);
    let mut net = Net::random(n, Scales::Gru(s), Activation::Tanh, seed)?;
    net.run(100, || {})?;

    let t = Instant::now();
    let single = matfree::single_vector_radius(
        &mut HostJacobian::new(&net, precision)?,
        &ArnoldiOptions {
            tol,
            max_products: 20_000,
            check_every: Some(matfree::CHECK_EVERY),
            ..Default::default()
        },
    )?;
    let t_single = t.elapsed().as_secs_f64();

    let d = BlockOptions::default();
    let bopts = BlockOptions {
        tol,
        block: env("BLOCK", d.block)?,
        max_dim: env("MAX_DIM", d.max_dim)?,
        keep: env("KEEP", d.keep)?,
        check_every: Some(env("CHECK_EVERY", d.check_every.unwrap_or(0))?).filter(|&k| k > 0),
        ..d
    };
    let t = Instant::now();
    let block = block_arnoldi::estimate(&mut HostJacobian::new(&net, precision)?, &bopts)?;
    let t_block = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let j = jacobian(&net)?;
    let t_jac = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let dense = max_modulus(&eigenvalues(&j)?);
    let t_eig = t.elapsed().as_secs_f64();
    let t_dense = t_jac + t_eig;

    println!("N = {n}, {precision:?} weights, residual {tol:e}; dense: Jacobian {t_jac:.3} s + eigenvalues {t_eig:.3} s, radius {dense:.12}");
    println!(
        "single-vector Arnoldi: {t_single:.3} s ({} products, {} restarts), speed-up {:.1} (eigen-solve alone {:.1}), radius {:.12}, relative error {:.1e}",
        single.products,
        single.restarts,
        t_dense / t_single,
        t_eig / t_single,
        single.radius,
        (single.radius - dense).abs() / dense
    );
    println!(
        "block Arnoldi (b = {}, max {}, keep {}, tests every {} passes): {t_block:.3} s ({} passes, {} restarts), speed-up {:.1} (eigen-solve alone {:.1}), radius {:.12}, relative error {:.1e}",
        bopts.block,
        bopts.max_dim,
        bopts.keep,
        bopts
            .check_every
            .map_or("restart".to_string(), |k| k.to_string()),
        block.passes,
        block.restarts,
        t_dense / t_block,
        t_eig / t_block,
        block.radius,
        (block.radius - dense).abs() / dense
    );
    Ok(())
}
