//! The large-N spectral radius without the dense solve: the core's
//! matrix-free Arnoldi against faer's dense eigenvalues on the same GRU
//! Jacobian, in one run.
//!
//! `cargo run --release -p gatedyn-host --example arnoldi_vs_dense -- [N]`
//! (default N = 4000; a second argument sets the relative residual, default
//! 1e-6).

use gatedyn::init::GateScale;
use gatedyn::operator::GruJacobian;
use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
use gatedyn::Activation;
use gatedyn_host::eigen::{eigenvalues, jacobian, spectral_radius};
use gatedyn_host::network::{Model, Net};
use std::time::Instant;

const K: usize = 40;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tol: f64 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1e-6);
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(4000);
    let s = [
        GateScale::recurrent(1.0),
        GateScale::recurrent(1.0),
        GateScale::recurrent(3.0),
    ];
    let mut net = Net::random(Model::Gru, n, &s, Activation::Tanh, 11)?;
    net.run(100, || {})?;

    let t = Instant::now();
    let mut est: Box<SpectralRadius<K>> = Box::default();
    let mut basis = vec![0.0; SpectralRadius::<K>::basis_len(n, K)];
    let mut scratch = vec![0.0; n];
    let mut op = GruJacobian::new(net.gru_ref(), &net.h, net.gru_trace(), &mut scratch)?;
    let opts = ArnoldiOptions {
        krylov_dim: K,
        tol,
        max_products: 20_000,
        ..Default::default()
    };
    let r = est.estimate(&mut op, &mut basis, &opts)?;
    let t_arnoldi = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let j = jacobian(&net)?;
    let t_jac = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let dense = spectral_radius(&eigenvalues(&j)?);
    let t_eig = t.elapsed().as_secs_f64();

    println!(
        "N = {n}: Arnoldi {t_arnoldi:.3} s ({} products, {} restarts), dense: Jacobian {t_jac:.3} s + eigenvalues {t_eig:.3} s",
        r.products, r.restarts
    );
    println!(
        "speed-up (dense Jacobian + eigensolve) / Arnoldi = {:.1}",
        (t_jac + t_eig) / t_arnoldi
    );
    println!(
        "radius: Arnoldi {:.12}, dense {dense:.12}, relative error {:.1e}",
        r.radius,
        (r.radius - dense).abs() / dense
    );
    Ok(())
}
