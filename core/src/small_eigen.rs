//! Eigenvalues and eigenvectors of small dense real matrices (the projected
//! matrices of the Krylov methods, m ≤ a few dozen), in `f64`, on the stack.
//!
//! Eigenvalues: reduction to upper Hessenberg form by stabilised elementary
//! similarity transformations, then the Francis double-shift QR iteration
//! (the classical EISPACK `elmhes` + `hqr` pair, as in Numerical Recipes
//! §11.5-11.6). Eigenvectors: inverse iteration in complex arithmetic on the
//! original matrix. Cost O(m³) each.

use crate::complex::Complex;
use crate::error::Error;

/// Eigenvalues of the leading `m×m` block of `a` (row-major, `a` is
/// overwritten). Writes them into `out[..m]`, complex pairs adjacent.
///
/// Errors: `NoConvergence` when a QR sweep does not deflate within 60
/// iterations (not observed on the projected Jacobians of this crate).
pub fn eigenvalues<const K: usize>(
    a: &mut [[f64; K]; K],
    m: usize,
    out: &mut [Complex; K],
) -> Result<(), Error> {
    if m > K {
        return Err(Error::DimensionMismatch {
            expected: K,
            found: m,
        });
    }
    for row in a.iter_mut().take(m) {
        if row[..m].iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: crate::Quantity::Result,
                index: 0,
            });
        }
    }
    hessenberg(a, m);
    hqr(a, m, out)
}

/// Reduction to upper Hessenberg form (elementary transformations with
/// pivoting); entries below the subdiagonal are set to zero.
fn hessenberg<const K: usize>(a: &mut [[f64; K]; K], n: usize) {
    if n < 3 {
        return;
    }
    for m in 1..n - 1 {
        let mut x = 0.0f64;
        let mut i = m;
        for j in m..n {
            if a[j][m - 1].abs() > x.abs() {
                x = a[j][m - 1];
                i = j;
            }
        }
        if i != m {
            for j in (m - 1)..n {
                let t = a[i][j];
                a[i][j] = a[m][j];
                a[m][j] = t;
            }
            for row in a.iter_mut().take(n) {
                row.swap(i, m);
            }
        }
        if x != 0.0 {
            for i in (m + 1)..n {
                let mut y = a[i][m - 1];
                if y != 0.0 {
                    y /= x;
                    a[i][m - 1] = 0.0;
                    for j in m..n {
                        a[i][j] -= y * a[m][j];
                    }
                    for row in a.iter_mut().take(n) {
                        row[m] += y * row[i];
                    }
                }
            }
        }
    }
    for i in 2..n {
        for j in 0..i - 1 {
            a[i][j] = 0.0;
        }
    }
}

fn sign(a: f64, b: f64) -> f64 {
    if b >= 0.0 {
        a.abs()
    } else {
        -a.abs()
    }
}

/// Francis double-shift QR on an upper Hessenberg matrix (0-based
/// transcription of the classical 1-based `hqr`).
#[allow(unused_assignments)] // the classical scalar registers are reused across branches
fn hqr<const K: usize>(
    a: &mut [[f64; K]; K],
    n: usize,
    out: &mut [Complex; K],
) -> Result<(), Error> {
    // 1-based accessors keep the classical index algebra readable.
    macro_rules! at {
        ($i:expr, $j:expr) => {
            a[$i - 1][$j - 1]
        };
    }
    let mut anorm = 0.0;
    for i in 1..=n {
        for j in i.saturating_sub(1).max(1)..=n {
            anorm += at!(i, j).abs();
        }
    }
    let mut nn = n;
    let mut t = 0.0;
    let (mut p, mut q, mut r, mut s, mut w, mut x, mut y, mut z) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    while nn >= 1 {
        let mut its = 0;
        loop {
            let mut l = nn;
            while l >= 2 {
                s = at!(l - 1, l - 1).abs() + at!(l, l).abs();
                if s == 0.0 {
                    s = anorm;
                }
                if at!(l, l - 1).abs() + s == s {
                    at!(l, l - 1) = 0.0;
                    break;
                }
                l -= 1;
            }
            x = at!(nn, nn);
            if l == nn {
                out[nn - 1] = Complex::new(x + t, 0.0);
                nn -= 1;
                break;
            }
            y = at!(nn - 1, nn - 1);
            w = at!(nn, nn - 1) * at!(nn - 1, nn);
            if l == nn - 1 {
                p = 0.5 * (y - x);
                q = p * p + w;
                z = libm::sqrt(q.abs());
                x += t;
                if q >= 0.0 {
                    z = p + sign(z, p);
                    let hi = x + z;
                    let lo = if z != 0.0 { x - w / z } else { hi };
                    out[nn - 2] = Complex::new(hi, 0.0);
                    out[nn - 1] = Complex::new(lo, 0.0);
                } else {
                    out[nn - 2] = Complex::new(x + p, z);
                    out[nn - 1] = Complex::new(x + p, -z);
                }
                nn -= 2;
                break;
            }
            if its == 60 {
                return Err(Error::NoConvergence {
                    iterations: its,
                    last: at!(nn, nn - 1).abs(),
                    residual: f64::NAN,
                });
            }
            if its % 10 == 0 && its > 0 {
                // exceptional shift
                t += x;
                for i in 1..=nn {
                    at!(i, i) -= x;
                }
                s = at!(nn, nn - 1).abs() + at!(nn - 1, nn - 2).abs();
                x = 0.75 * s;
                y = x;
                w = -0.4375 * s * s;
            }
            its += 1;
            let mut m = nn - 2;
            loop {
                z = at!(m, m);
                r = x - z;
                s = y - z;
                p = (r * s - w) / at!(m + 1, m) + at!(m, m + 1);
                q = at!(m + 1, m + 1) - z - r - s;
                r = at!(m + 2, m + 1);
                s = p.abs() + q.abs() + r.abs();
                p /= s;
                q /= s;
                r /= s;
                if m == l {
                    break;
                }
                let u = at!(m, m - 1).abs() * (q.abs() + r.abs());
                let v = p.abs() * (at!(m - 1, m - 1).abs() + z.abs() + at!(m + 1, m + 1).abs());
                if u + v == v {
                    break;
                }
                m -= 1;
            }
            for i in (m + 2)..=nn {
                at!(i, i - 2) = 0.0;
                if i != m + 2 {
                    at!(i, i - 3) = 0.0;
                }
            }
            let mut k = m;
            while k < nn {
                if k != m {
                    p = at!(k, k - 1);
                    q = at!(k + 1, k - 1);
                    r = 0.0;
                    if k != nn - 1 {
                        r = at!(k + 2, k - 1);
                    }
                    x = p.abs() + q.abs() + r.abs();
                    if x != 0.0 {
                        p /= x;
                        q /= x;
                        r /= x;
                    }
                }
                s = sign(libm::sqrt(p * p + q * q + r * r), p);
                if s != 0.0 {
                    if k == m {
                        if l != m {
                            at!(k, k - 1) = -at!(k, k - 1);
                        }
                    } else {
                        at!(k, k - 1) = -s * x;
                    }
                    p += s;
                    x = p / s;
                    y = q / s;
                    z = r / s;
                    q /= p;
                    r /= p;
                    for j in k..=nn {
                        p = at!(k, j) + q * at!(k + 1, j);
                        if k != nn - 1 {
                            p += r * at!(k + 2, j);
                            at!(k + 2, j) -= p * z;
                        }
                        at!(k + 1, j) -= p * y;
                        at!(k, j) -= p * x;
                    }
                    let mmin = if nn < k + 3 { nn } else { k + 3 };
                    for i in l..=mmin {
                        p = x * at!(i, k) + y * at!(i, k + 1);
                        if k != nn - 1 {
                            p += z * at!(i, k + 2);
                            at!(i, k + 2) -= p * r;
                        }
                        at!(i, k + 1) -= p * q;
                        at!(i, k) -= p;
                    }
                }
                k += 1;
            }
            if l >= nn - 1 {
                break;
            }
        }
    }
    Ok(())
}

/// Unit-norm eigenvector `y` of the leading `m×m` block of `a` for the
/// eigenvalue `theta`, by two steps of inverse iteration with a complex LU
/// factorisation (partial pivoting). `lu_re`, `lu_im` are scratch.
pub fn eigenvector<const K: usize>(
    a: &[[f64; K]; K],
    m: usize,
    theta: Complex,
    lu_re: &mut [[f64; K]; K],
    lu_im: &mut [[f64; K]; K],
    y: &mut [Complex; K],
) {
    let mut scale = 0.0f64;
    for i in 0..m {
        for j in 0..m {
            lu_re[i][j] = a[i][j] - if i == j { theta.re } else { 0.0 };
            lu_im[i][j] = if i == j { -theta.im } else { 0.0 };
            scale = scale.max(a[i][j].abs());
        }
    }
    let tiny = f64::EPSILON * scale.max(f64::MIN_POSITIVE) * m as f64;
    let mut piv = [0usize; K];
    let at = |re: &[[f64; K]; K], im: &[[f64; K]; K], i: usize, j: usize| {
        Complex::new(re[i][j], im[i][j])
    };
    for k in 0..m {
        let (mut best, mut p) = (-1.0, k);
        for i in k..m {
            let v = at(lu_re, lu_im, i, k).abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if p != k {
            lu_re.swap(p, k);
            lu_im.swap(p, k);
        }
        let mut d = at(lu_re, lu_im, k, k);
        if d.abs() < tiny {
            d = Complex::new(tiny, 0.0);
            lu_re[k][k] = d.re;
            lu_im[k][k] = d.im;
        }
        for i in (k + 1)..m {
            let f = at(lu_re, lu_im, i, k) / d;
            lu_re[i][k] = f.re;
            lu_im[i][k] = f.im;
            for j in (k + 1)..m {
                let v = at(lu_re, lu_im, i, j) - f * at(lu_re, lu_im, k, j);
                lu_re[i][j] = v.re;
                lu_im[i][j] = v.im;
            }
        }
    }
    // start from a vector with no special structure
    for (i, yi) in y.iter_mut().enumerate().take(m) {
        *yi = Complex::new(1.0 + 0.1 * (i % 7) as f64, 0.0);
    }
    for _ in 0..2 {
        for k in 0..m {
            if piv[k] != k {
                y.swap(k, piv[k]);
            }
        }
        for i in 0..m {
            let mut s = y[i];
            for j in 0..i {
                s = s - at(lu_re, lu_im, i, j) * y[j];
            }
            y[i] = s;
        }
        for i in (0..m).rev() {
            let mut s = y[i];
            for j in (i + 1)..m {
                s = s - at(lu_re, lu_im, i, j) * y[j];
            }
            y[i] = s / at(lu_re, lu_im, i, i);
        }
        let norm = libm::sqrt(y[..m].iter().map(|c| c.norm_sqr()).sum::<f64>());
        let inv = if norm > 0.0 && norm.is_finite() {
            1.0 / norm
        } else {
            0.0
        };
        for c in y[..m].iter_mut() {
            *c = c.scale(inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_matrix_roots() {
        // x^4 - 1 = 0: roots ±1, ±i. Companion matrix of x^4 + 0x^3 + ... - 1.
        let mut a = [[0.0; 6]; 6];
        a[0][3] = 1.0;
        a[1][0] = 1.0;
        a[2][1] = 1.0;
        a[3][2] = 1.0;
        let mut ev = [Complex::default(); 6];
        eigenvalues(&mut a, 4, &mut ev).unwrap();
        let mut re: [f64; 4] = core::array::from_fn(|k| ev[k].re);
        re.sort_by(f64::total_cmp);
        let mods = ev[..4].iter().map(|z| z.abs());
        for m in mods {
            assert!((m - 1.0).abs() < 1e-12);
        }
        assert!((re[0] + 1.0).abs() < 1e-12 && (re[3] - 1.0).abs() < 1e-12);
        assert!(
            ev[..4]
                .iter()
                .filter(|z| (z.im.abs() - 1.0).abs() < 1e-12)
                .count()
                == 2
        );
    }

    #[test]
    fn eigenvector_of_rotation_block() {
        // [[0,-2],[2,0]] has eigenvalues ±2i.
        let mut a = [[0.0; 3]; 3];
        a[0][1] = -2.0;
        a[1][0] = 2.0;
        a[2][2] = 0.5;
        let mut ev = [Complex::default(); 3];
        eigenvalues(&mut a.clone(), 3, &mut ev).unwrap();
        let theta = ev.iter().copied().find(|z| z.im > 1.0).unwrap();
        assert!((theta.im - 2.0).abs() < 1e-14 && theta.re.abs() < 1e-14);
        let (mut lr, mut li) = ([[0.0; 3]; 3], [[0.0; 3]; 3]);
        let mut y = [Complex::default(); 3];
        eigenvector(&a, 3, theta, &mut lr, &mut li, &mut y);
        for i in 0..3 {
            let mut ay = Complex::default();
            for j in 0..3 {
                ay = ay + y[j].scale(a[i][j]);
            }
            assert!((ay - theta * y[i]).abs() < 1e-12);
        }
    }
}
