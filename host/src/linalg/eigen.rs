//! Dense eigenvalues (faer) and the dense Jacobian, the GRU's assembled
//! with faer's matrix product (the `U_h D U_r` term is the O(N³) part).

use crate::net::Net;
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

/// The largest modulus of a list of eigenvalues (the spectral radius of
/// the matrix they came from).
pub fn max_modulus(ev: &[Complex]) -> f64 {
    ev.iter().map(|z| z.abs()).fold(0.0, f64::max)
}

/// The dense Jacobian at the traced state as a faer matrix. GRU: assembled
/// from the core's diagonal factors (docs/THEORY.md §3) with faer's blocked
/// product for `U_h D[h σ'(a_r)] U_r`; LSTM, reset-after GRU (both `O(N²)`)
/// and GRUs below 64 units: the core's assembly.
pub fn jacobian(net: &Net) -> Result<Mat<f64>, HostError> {
    let d = net.dim();
    let g = match net {
        Net::Gru(g) if g.n >= 64 && !g.form.is_reset_after() => g,
        _ => {
            let j = net.jacobian()?;
            return Ok(Mat::from_fn(d, d, |i, k| j[i * d + k]));
        }
    };
    let n = g.n;
    let f = g.factors()?;
    let w = &g.weights;
    let uh = Mat::from_fn(n, n, |i, k| w.h.u[i * n + k]);
    let sur = Mat::from_fn(n, n, |k, j| f.reset_slope[k] * w.r.u[k * n + j]);
    let p = &uh * &sur;
    let mut out = Mat::zeros(n, n);
    for i in 0..n {
        for k in 0..n {
            out[(i, k)] = f.candidate[i] * (uh[(i, k)] * f.reset[k] + p[(i, k)])
                + f.update[i] * w.z.u[i * n + k];
        }
        out[(i, i)] += f.keep[i];
    }
    Ok(out)
}
