//! Shared helpers of the cross-crate integration tests in `tests/tests/`.

use gatedyn::init::GateScale;
use gatedyn::{Activation, Complex};
pub use gatedyn_host::linalg::eigen::max_modulus;
pub use gatedyn_host::net::{Cell, Net, Scales};

/// The largest absolute difference of two arrays of one length (a state
/// or output sequence against a framework's).
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// All eigenvalues of a dense row-major `m×m` matrix (faer through the host
/// crate). (nalgebra 0.34's Schur iteration never returns on Jacobians with
/// many eigenvalues clustered at 1, the large-σ_z case, so the tests use
/// faer.)
pub fn eigenvalues(m: usize, row_major: &[f64]) -> Vec<Complex> {
    let a = faer::Mat::<f64>::from_fn(m, m, |i, j| row_major[i * m + j]);
    gatedyn_host::linalg::eigen::eigenvalues(&a).expect("dense eigenvalues")
}

/// A random autonomous GRU (tanh), state `h ~ N(0, 1)`.
pub fn gru(n: usize, scales: [GateScale; 3], seed: u64) -> Net {
    Net::random(n, Scales::Gru(scales.into()), Activation::Tanh, seed).expect("valid GRU")
}

/// A random autonomous LSTM (tanh), state `h, c ~ N(0, 1)`.
pub fn lstm(n: usize, scales: [GateScale; 4], seed: u64) -> Net {
    Net::random(n, Scales::Lstm(scales.into()), Activation::Tanh, seed).expect("valid LSTM")
}

/// Matches two multisets of eigenvalues greedily (nearest unused partner)
/// and returns the largest distance.
pub fn max_matching_distance(a: &[Complex], b: &[Complex]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut used = vec![false; b.len()];
    let mut worst = 0.0f64;
    for x in a {
        let (k, d) = b
            .iter()
            .enumerate()
            .filter(|(k, _)| !used[*k])
            .map(|(k, y)| (k, (*x - *y).abs()))
            .min_by(|p, q| p.1.total_cmp(&q.1))
            .expect("same length");
        used[k] = true;
        worst = worst.max(d);
    }
    worst
}
