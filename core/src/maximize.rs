//! One-dimensional maximisation without derivatives: a grid scan followed by
//! golden-section refinement of the best grid cell. Used for the outermost
//! point of a spectral curve and for `max_C F(C)/C` in the mean-field theory.

/// Maximises `f` on `[lo, hi]`: `points ≥ 2` equally spaced evaluations,
/// then `iters` golden-section steps on the two grid cells around the best
/// point (clamped to `[lo, hi]`). Returns `(x, f(x))` of the best value
/// seen. Finds the global maximum when the grid resolves the peak; costs
/// `points + iters + 2` evaluations.
pub(crate) fn grid_golden_max(
    f: impl Fn(f64) -> f64,
    lo: f64,
    hi: f64,
    points: usize,
    iters: usize,
) -> (f64, f64) {
    let points = points.max(2);
    let step = (hi - lo) / (points - 1) as f64;
    let (mut best_x, mut best) = (lo, f64::NEG_INFINITY);
    for k in 0..points {
        let x = lo + step * k as f64;
        let v = f(x);
        if v > best {
            best = v;
            best_x = x;
        }
    }
    let (mut a, mut b) = ((best_x - step).max(lo), (best_x + step).min(hi));
    let g = 0.5 * (libm::sqrt(5.0) - 1.0);
    let (mut x1, mut x2) = (b - g * (b - a), a + g * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..iters {
        if f1 > f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = f(x2);
        }
    }
    for (x, v) in [(x1, f1), (x2, f2)] {
        if v > best {
            best = v;
            best_x = x;
        }
    }
    (best_x, best)
}

#[cfg(test)]
mod tests {
    use super::grid_golden_max;

    #[test]
    fn finds_interior_and_boundary_maxima() {
        let (x, v) = grid_golden_max(|x| -(x - 0.3217) * (x - 0.3217), 0.0, 1.0, 11, 40);
        assert!((x - 0.3217).abs() < 1e-7 && v.abs() < 1e-13);
        let (x, v) = grid_golden_max(|x| -x, 0.0, 1.0, 11, 40);
        assert_eq!((x, v), (0.0, 0.0));
        // a narrow second peak the grid resolves wins over a broad first one
        let f = |x: f64| {
            (-(x - 0.2) * (x - 0.2) * 10.0).exp() + 2.0 * (-(x - 0.8) * (x - 0.8) * 400.0).exp()
        };
        let (x, v) = grid_golden_max(f, 0.0, 1.0, 101, 50);
        // the broad peak's slope moves the narrow maximum to 0.8 - 2.05e-4
        assert!((x - 0.799_795).abs() < 1e-5 && v >= f(0.8), "{x}");
    }
}
