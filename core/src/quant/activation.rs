//! The gate functions in fixed point (docs/THEORY.md §16): a pre-activation
//! in Q16 (`a = a_q / 2¹⁶`, an `i32`) in, a value in Q15 out, from tables
//! of 1025 entries in Q23 and linear interpolation, integer arithmetic
//! only.
//!
//! * [`sigmoid_q15`]: σ on `[0, 16)` in steps of 1/64, mirrored
//!   (`σ(−a) = 1 − σ(a)` holds exactly); `[0, 32768]`, where 32768 is
//!   exactly 1 (reached from `a ≥ 11.1`, where `1 − σ(a)` is below half a
//!   step).
//! * [`tanh_q15`]: tanh on `[0, 8)` in steps of 1/128, odd; `[−32768,
//!   32768]`.
//! * [`hard_tanh_q15`]: `clamp(a, −1, 1)`, exact.
//!
//! The largest errors against the exact functions, over every pre-activation
//! in `[−20, 20]` and at the `i32` extremes, are [`SIGMOID_Q15_MAX_ERROR`] and
//! [`TANH_Q15_MAX_ERROR`] (test `errors_over_the_whole_range`), in units of
//! the output's last place (`2⁻¹⁵`).

/// The tables (`round(2²³ σ(k/64))` and `round(2²³ tanh(k/128))` for
/// `k = 0 … 1024`), for code outside Rust that must compute the same bits
/// (the firmware's C baseline).
pub use super::tables::{SIGMOID_Q23, TANH_Q23};

/// Fraction bits of a pre-activation (`a = a_q / 2¹⁶`).
pub const PRE_FRAC: u32 = 16;
/// 1 in Q15, the format of states, gates and candidates.
pub const ONE_Q15: i32 = 1 << 15;

/// Largest error of [`sigmoid_q15`] in units of `2⁻¹⁵` (measured 0.593:
/// the final rounding, 0.5, and the linear interpolation, up to
/// `(1/64)²/8 · max|σ''| · 2¹⁵ = 0.096`).
pub const SIGMOID_Q15_MAX_ERROR: f64 = 0.6;
/// Largest error of [`tanh_q15`] in units of `2⁻¹⁵` (measured 0.688: the
/// rounding, 0.5, and the interpolation, up to
/// `(1/128)²/8 · max|tanh''| · 2¹⁵ = 0.19`).
pub const TANH_Q15_MAX_ERROR: f64 = 0.7;

/// Interpolates `table` (Q23, step `2^step_bits` in Q16) at `|a|`, up to its
/// last entry, and rounds to Q15.
#[inline]
fn interpolate(table: &[i32; 1025], magnitude: u32, step_bits: u32) -> i32 {
    let k = (magnitude >> step_bits) as usize;
    let y = if k >= 1024 {
        table[1024]
    } else {
        let t = (magnitude & ((1 << step_bits) - 1)) as i32;
        let (y0, y1) = (table[k], table[k + 1]);
        // |y1 − y0| ≤ 2²³/64 and t < 2¹⁰: the product stays below 2²⁷
        y0 + (((y1 - y0) * t + (1 << (step_bits - 1))) >> step_bits)
    };
    (y + 128) >> 8
}

/// `σ(a)` in Q15 (`[0, 32768]`) for `a` in Q16.
#[inline]
pub fn sigmoid_q15(a: i32) -> i32 {
    let s = interpolate(&SIGMOID_Q23, a.unsigned_abs(), 10);
    if a < 0 {
        ONE_Q15 - s
    } else {
        s
    }
}

/// `tanh(a)` in Q15 (`[−32768, 32768]`) for `a` in Q16.
#[inline]
pub fn tanh_q15(a: i32) -> i32 {
    let t = interpolate(&TANH_Q23, a.unsigned_abs(), 9);
    if a < 0 {
        -t
    } else {
        t
    }
}

/// `clamp(a, −1, 1)` in Q15 for `a` in Q16 (rounded half away from zero
/// as the tables are).
#[inline]
pub fn hard_tanh_q15(a: i32) -> i32 {
    let m = a.unsigned_abs().min(1 << PRE_FRAC) as i32;
    let h = (m + 1) >> 1;
    if a < 0 {
        -h
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn exact_sigmoid(a: f64) -> f64 {
        1.0 / (1.0 + libm::exp(-a))
    }

    #[test]
    fn committed_tables_are_the_functions() {
        for k in 0..=1024 {
            let s = libm::floor(exact_sigmoid(k as f64 / 64.0) * 8_388_608.0 + 0.5) as i32;
            let t = libm::floor(libm::tanh(k as f64 / 128.0) * 8_388_608.0 + 0.5) as i32;
            assert_eq!(SIGMOID_Q23[k], s, "σ entry {k}");
            assert_eq!(TANH_Q23[k], t, "tanh entry {k}");
        }
    }

    /// Every pre-activation in [−20, 20] (2.6 million values) and the
    /// extremes of `i32`.
    #[test]
    fn errors_over_the_whole_range() {
        let (mut worst_s, mut worst_t, mut worst_h) = (0.0f64, 0.0f64, 0.0f64);
        let range = 20 << PRE_FRAC;
        let extremes = [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX];
        for a in (-range..=range).chain(extremes) {
            let x = a as f64 / 65536.0;
            let s = sigmoid_q15(a);
            let t = tanh_q15(a);
            let h = hard_tanh_q15(a);
            assert!((0..=ONE_Q15).contains(&s), "σ({x}) = {s}");
            assert!((-ONE_Q15..=ONE_Q15).contains(&t), "tanh({x}) = {t}");
            worst_s = worst_s.max((s as f64 - exact_sigmoid(x) * 32768.0).abs());
            worst_t = worst_t.max((t as f64 - libm::tanh(x) * 32768.0).abs());
            worst_h = worst_h.max((h as f64 - x.clamp(-1.0, 1.0) * 32768.0).abs());
            // the symmetries hold exactly
            if a != i32::MIN {
                assert_eq!(sigmoid_q15(-a), ONE_Q15 - s);
                assert_eq!(tanh_q15(-a), -t);
            }
        }
        std::eprintln!("σ {worst_s}, tanh {worst_t}, hard tanh {worst_h} (units of 2⁻¹⁵)");
        assert!(worst_s <= SIGMOID_Q15_MAX_ERROR, "σ: {worst_s}");
        assert!(worst_t <= TANH_Q15_MAX_ERROR, "tanh: {worst_t}");
        assert!(worst_h <= 0.5, "hard tanh: {worst_h}");
        // monotone
        for a in -range..range {
            assert!(sigmoid_q15(a) <= sigmoid_q15(a + 1));
            assert!(tanh_q15(a) <= tanh_q15(a + 1));
        }
    }

    #[test]
    fn a_gate_is_exactly_one_beyond_half_a_step() {
        // 1 − σ(a) < 2⁻¹⁶ from a = ln(2¹⁶ − 1) = 11.09
        assert_eq!(sigmoid_q15(12 << PRE_FRAC), ONE_Q15);
        assert!(sigmoid_q15(11 << PRE_FRAC) < ONE_Q15);
        assert_eq!(sigmoid_q15(-(12 << PRE_FRAC)), 0);
        assert_eq!(sigmoid_q15(0), ONE_Q15 / 2);
        assert_eq!(tanh_q15(0), 0);
        assert_eq!(tanh_q15(9 << PRE_FRAC), ONE_Q15);
    }
}
