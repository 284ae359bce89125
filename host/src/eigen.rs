//! Dense eigenvalues (faer) and the GRU Jacobian assembled with faer's
//! matrix product (the `U_h D U_r` term is the O(N³) part).

use crate::network::{Model, Net};
use crate::HostError;
use faer::Mat;
use gatedyn::Complex;

/// All eigenvalues of a dense matrix.
pub fn eigenvalues(a: &Mat<f64>) -> Result<Vec<Complex>, HostError> {
    let ev = a
        .eigenvalues()
        .map_err(|e| HostError::Eigen(format!("{e:?}")))?;
    Ok(ev.into_iter().map(|z| Complex::new(z.re, z.im)).collect())
}

/// Largest modulus.
pub fn spectral_radius(ev: &[Complex]) -> f64 {
    ev.iter().map(|z| z.abs()).fold(0.0, f64::max)
}

/// The dense Jacobian at the traced state as a faer matrix. GRU: assembled
/// from the core's diagonal factors (THEORY.md §3) with faer's blocked
/// product for `U_h D[h σ'(a_r)] U_r`; LSTM: the core's O(N²) assembly.
pub fn jacobian(net: &Net) -> Result<Mat<f64>, HostError> {
    let d = net.dim();
    if net.model == Model::Lstm || net.n < 64 {
        let j = net.jacobian()?;
        return Ok(Mat::from_fn(d, d, |i, k| j[i * d + k]));
    }
    let n = net.n;
    let f = net.jacobian_factors()?;
    let [gz, gr, gh] = [&net.gates[0], &net.gates[1], &net.gates[2]];
    let uh = Mat::from_fn(n, n, |i, k| gh.u[i * n + k]);
    let sur = Mat::from_fn(n, n, |k, j| f[3][k] * gr.u[k * n + j]);
    let p = &uh * &sur;
    let mut out = Mat::zeros(n, n);
    for i in 0..n {
        for k in 0..n {
            out[(i, k)] = f[1][i] * (uh[(i, k)] * f[2][k] + p[(i, k)]) + f[4][i] * gz.u[i * n + k];
        }
        out[(i, i)] += f[0][i];
    }
    Ok(out)
}
