//! The minimal firmware's scenario, shared bit for bit with the host
//! (`firmware-reference/src/main.rs`, run with `--minimal N`, includes this file):
//! the principled initialisation at a zero-fixed-point radius of 0.95 (the
//! zero-bias closed form of docs/THEORY.md §4, without the quadrature
//! tables), a GRU driven by a triangle wave for 200 steps (no trigonometry
//! in flash), and the matrix-free spectral radius of its Jacobian. No mean-field classification and no
//! spectral curve: what a deployed network needs to start at the edge of
//! stability and watch it.

use gatedyn::init::GateScale;
use gatedyn::mft::gru_sigma_h_for_zero_radius_unbiased;
use gatedyn::operator::GruJacobian;
use gatedyn::spectral_radius::{ArnoldiOptions, RadiusEstimate, SpectralRadius};
use gatedyn::{Error, Gru, GruTrace};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Krylov dimension of the minimal firmware's estimator.
pub const MINIMAL_KRYLOV: usize = 8;
/// Driven steps.
pub const MINIMAL_STEPS: usize = 200;

/// What the minimal scenario reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinimalReport {
    /// The σ_h of the principled initialisation.
    pub sigma_h: f64,
    /// FNV-1a checksum of the final state's bits.
    pub state_checksum: u32,
    /// The matrix-free estimate at the state reached.
    pub radius: RadiusEstimate,
}

/// A triangle wave of period 32 between −1 and 1: `x_k = 1 − |k mod 32 − 16|/8`.
pub fn drive(k: usize) -> f32 {
    1.0 - ((k % 32) as f32 - 16.0).abs() / 8.0
}

fn checksum(xs: &[f32]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for x in xs {
        for b in x.to_bits().to_le_bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// Initialises `net` in place (seed 2024, as the main scenario) and runs
/// the scenario.
pub fn run_minimal<const N: usize>(net: &mut Gru<f32, N, 1>) -> Result<MinimalReport, Error> {
    let sigma_h = gru_sigma_h_for_zero_radius_unbiased(0.95)?;
    let gate = |sigma: f64| GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    };
    let mut rng = XorShiftRng::seed_from_u64(2024);
    net.randomize(&mut rng, [gate(1.0), gate(1.0), gate(sigma_h)])?;
    let mut h = [0.0f32; N];
    let mut trace = GruTrace::zeroed();
    for k in 0..MINIMAL_STEPS {
        net.step_traced(&h, &[drive(k)], &mut trace)?;
        h = trace.next;
    }
    net.step_traced(&h, &[drive(MINIMAL_STEPS)], &mut trace)?;
    let mut scratch = [0.0f32; N];
    let mut basis = [[0.0f32; N]; MINIMAL_KRYLOV + 1];
    let mut op = GruJacobian::new(net.view(), &h, trace.view(), &mut scratch)?;
    let radius = SpectralRadius::<MINIMAL_KRYLOV>::new().estimate(
        &mut op,
        basis.as_flattened_mut(),
        &ArnoldiOptions {
            krylov_dim: Some(MINIMAL_KRYLOV),
            tol: 1e-5,
            max_products: 2000,
            ..Default::default()
        },
    )?;
    Ok(MinimalReport {
        sigma_h,
        state_checksum: checksum(&h),
        radius,
    })
}

/// The parity lines both sides print, as `(name, bits, value)`; both
/// sides print them under the key `minimal{N}.{name}`.
pub fn minimal_parity_lines(r: &MinimalReport, mut emit: impl FnMut(&str, u64, f64)) {
    emit("sigma_h", r.sigma_h.to_bits(), r.sigma_h);
    emit(
        "state_checksum",
        r.state_checksum as u64,
        r.state_checksum as f64,
    );
    emit("radius", r.radius.radius.to_bits(), r.radius.radius);
    emit(
        "products",
        r.radius.products as u64,
        r.radius.products as f64,
    );
}
