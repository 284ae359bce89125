//! The four Gaussian field averages of the mean-field theory
//! ([`FieldAverages`]) from tables in flash, for devices where the
//! quadrature of [`GaussianAverage`] (software `f64`, thousands of
//! evaluations of `exp` per average) is too slow: the GRU classification
//! costs about 3·10⁸ instructions on a Cortex-M4F with the quadrature and
//! about 10⁶ with these tables.
//!
//! Each average is tabulated at [`TABLE_POINTS`] log-spaced scales `s` in
//! [`S_MIN`, `S_MAX`] as `f32` (the values of [`GaussianAverage`], rounded;
//! `tests/examples/field_table.rs` writes `data.rs`, and the test
//! `committed_table_is_the_quadrature` recomputes it) and interpolated by
//! four-point cubic Lagrange interpolation in `ln s`, in `f32`. The relative error against the
//! quadrature stays below [`TABLE_MAX_REL_ERROR`] over the table's range
//! (test `interpolation_error_bound`). Below `S_MIN` the small-`s` series
//! are used; above `S_MAX` the quadrature itself.

mod data;

use crate::activation::Activation;
use crate::mft::FieldAverages;
use crate::quadrature::GaussianAverage;

/// Scales tabulated.
pub const TABLE_POINTS: usize = 513;
/// The smallest tabulated scale.
pub const S_MIN: f64 = 1e-3;
/// The largest tabulated scale.
pub const S_MAX: f64 = 2000.0;
/// Bound on the relative error of [`TableAverages`] against
/// [`GaussianAverage`] inside the table (measured 4.2e-7 on a grid of 20
/// points per interval, test `interpolation_error_bound`).
pub const TABLE_MAX_REL_ERROR: f64 = 5e-7;

/// Rows of the table (the averaged squares), in the order of
/// [`data::TABLES`].
#[derive(Debug, Clone, Copy)]
enum Row {
    Sigmoid = 0,
    DSigmoid = 1,
    Tanh = 2,
    DTanh = 3,
    HardTanh = 4,
    DHardTanh = 5,
}

/// The scale of table point `k`: `S_MIN · (S_MAX/S_MIN)^{k/(P−1)}`.
pub fn table_scale(k: usize) -> f64 {
    let (u0, u1) = (libm::log(S_MIN), libm::log(S_MAX));
    libm::exp(u0 + (u1 - u0) * k as f64 / (TABLE_POINTS - 1) as f64)
}

/// The averages, tabulated (see the module docs).
#[derive(Debug, Clone)]
pub struct TableAverages {
    beyond: GaussianAverage,
}

impl Default for TableAverages {
    fn default() -> Self {
        Self::new()
    }
}

impl TableAverages {
    /// The tables (in flash) and the quadrature for scales above `S_MAX`.
    pub fn new() -> Self {
        TableAverages {
            beyond: GaussianAverage::new(),
        }
    }

    /// Cubic (four-point Lagrange) interpolation of `row` at `s` (the
    /// position in `f64`, the cubic in `f32`), or `None`
    /// outside the interior of the table (between its second and
    /// second-to-last points, where every interval has a neighbour on both
    /// sides) and for NaN.
    fn interp(&self, row: Row, s: f64) -> Option<f64> {
        let (u0, u1) = (libm::log(S_MIN), libm::log(S_MAX));
        let t = (libm::log(s) - u0) * ((TABLE_POINTS - 1) as f64 / (u1 - u0));
        if !(t >= 1.0 && t < (TABLE_POINTS - 2) as f64) {
            return None;
        }
        let i = t as usize;
        let x = (t - i as f64) as f32;
        let y = &data::TABLES[row as usize];
        let (p0, p1, p2, p3) = (y[i - 1], y[i], y[i + 1], y[i + 2]);
        // the cubic through the four points (nodes −1, 0, 1, 2)
        let (xm, x1, x2) = (x + 1.0, x - 1.0, x - 2.0);
        let v = (p3 * xm * x * x1 - p0 * x * x1 * x2) / 6.0
            + (p1 * xm * x1 * x2 - p2 * xm * x * x2) / 2.0;
        Some(v as f64)
    }

    fn act_rows(act: Activation) -> (Row, Row) {
        match act {
            Activation::Tanh => (Row::Tanh, Row::DTanh),
            Activation::HardTanh => (Row::HardTanh, Row::DHardTanh),
        }
    }
}

/// Below the table the small-`s` series are used, whose next terms are
/// `O(s⁴)` (`O(s⁶)` for `tanh²`): below 1e-11 relative at `s ≈ 1e-3`.
const SMALL: f64 = 0.01;

impl FieldAverages for TableAverages {
    fn quadrature(&self) -> &GaussianAverage {
        &self.beyond
    }
    fn sigmoid_sq(&self, s: f64) -> f64 {
        match self.interp(Row::Sigmoid, s) {
            Some(v) => v,
            None if s < SMALL => 0.25 + s * s / 16.0,
            None => self.beyond.sigmoid_sq(s),
        }
    }
    fn dsigmoid_sq(&self, s: f64) -> f64 {
        match self.interp(Row::DSigmoid, s) {
            Some(v) => v,
            None if s < SMALL => 1.0 / 16.0 - s * s / 32.0,
            None => self.beyond.dsigmoid_sq(s),
        }
    }
    fn phi_sq(&self, act: Activation, s: f64) -> f64 {
        match self.interp(Self::act_rows(act).0, s) {
            Some(v) => v,
            // tanh(x)² = x² − 2x⁴/3 + …, E[X⁴] = 3; hard-tanh is linear there
            None if s < SMALL && act == Activation::Tanh => s * s - 2.0 * s * s * s * s,
            None if s < SMALL => s * s,
            None => self.beyond.phi_sq(act, s),
        }
    }
    fn dphi_sq(&self, act: Activation, s: f64) -> f64 {
        match self.interp(Self::act_rows(act).1, s) {
            Some(v) => v,
            None if s < SMALL && act == Activation::Tanh => 1.0 - 2.0 * s * s,
            None if s < SMALL => 1.0,
            None => self.beyond.dphi_sq(act, s),
        }
    }
}

/// The exact averages of the table's rows at scale `s`, in row order (what
/// `data.rs` holds, rounded to `f32`).
pub fn exact_row_values(q: &GaussianAverage, s: f64) -> [f64; 6] {
    row_values(q, s)
}

/// The six averages of any [`FieldAverages`] at `s`, in the table's row
/// order.
fn row_values(a: &impl FieldAverages, s: f64) -> [f64; 6] {
    [
        a.sigmoid_sq(s),
        a.dsigmoid_sq(s),
        a.phi_sq(Activation::Tanh, s),
        a.dphi_sq(Activation::Tanh, s),
        a.phi_sq(Activation::HardTanh, s),
        a.dphi_sq(Activation::HardTanh, s),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `data.rs` is exactly the quadrature rounded to `f32` at the table's
    /// scales (so the table can be regenerated and cannot drift).
    #[test]
    fn committed_table_is_the_quadrature() {
        let q = GaussianAverage::new();
        for k in 0..TABLE_POINTS {
            let exact = exact_row_values(&q, table_scale(k));
            for (row, value) in exact.iter().enumerate() {
                assert_eq!(
                    data::TABLES[row][k].to_bits(),
                    (*value as f32).to_bits(),
                    "row {row}, point {k}"
                );
            }
        }
    }

    /// The interpolation error bound holds between the nodes and is tight
    /// (within a factor 2 of the measured error).
    #[test]
    fn interpolation_error_bound() {
        let (q, t) = (GaussianAverage::new(), TableAverages::new());
        let mut worst = 0.0f64;
        for k in 1..TABLE_POINTS - 3 {
            for j in 0..20 {
                let (a, b) = (libm::log(table_scale(k)), libm::log(table_scale(k + 1)));
                let s = libm::exp(a + (b - a) * j as f64 / 20.0);
                let exact = exact_row_values(&q, s);
                let table = row_values(&t, s);
                for (e, v) in exact.iter().zip(table) {
                    let rel = (v - e).abs() / e.abs();
                    worst = worst.max(rel);
                }
            }
        }
        assert!(
            worst <= TABLE_MAX_REL_ERROR,
            "worst relative error {worst:e}"
        );
        assert!(
            worst > TABLE_MAX_REL_ERROR / 2.0,
            "worst relative error {worst:e}"
        );
    }

    /// Outside the table's interior: the series below it agree with the
    /// quadrature to 1e-9 relative, the quadrature itself takes over above
    /// it, NaN propagates.
    #[test]
    fn outside_the_table() {
        let (q, t) = (GaussianAverage::new(), TableAverages::new());
        for s in [1e-6, 0.5 * S_MIN, table_scale(1) * 0.999] {
            let exact = exact_row_values(&q, s);
            let series = row_values(&t, s);
            for (row, (e, v)) in exact.iter().zip(series).enumerate() {
                assert!((v / e - 1.0).abs() < 1e-9, "row {row}, s = {s}: {v} vs {e}");
            }
        }
        for s in [table_scale(TABLE_POINTS - 2) * 1.001, 3000.0, 1e6] {
            assert_eq!(t.dsigmoid_sq(s), q.dsigmoid_sq(s));
            assert_eq!(t.phi_sq(Activation::Tanh, s), q.phi_sq(Activation::Tanh, s));
        }
        assert!(t.sigmoid_sq(f64::NAN).is_nan());
        assert!(t.dphi_sq(Activation::Tanh, f64::NAN).is_nan());
    }
}
