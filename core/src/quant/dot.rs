//! The integer dot products of the quantized steps (docs/THEORY.md §16, accumulators),
//! written in the loop shapes that compile to the Cortex-M's multiply-
//! accumulate instructions from safe Rust.
//!
//! Every sum here is exact (no product or partial sum can overflow its
//! type), so each shape gives the same integer on every target and the
//! shapes are interchangeable: the tests hold each one to the plain `i64`
//! sum.
//!
//! * **int16 weights** ([`dot_i16`]): `i64` accumulation, products formed
//!   in `i32` (`|w v| ≤ 32767 · 32768 < 2³⁰`). The loop walks both slices
//!   two elements at a time with `split_first_chunk`. On the Cortex-M4
//!   LLVM's parallel-DSP pass turns each pair into one `smlald` (two
//!   16-bit products added to a 64-bit accumulator), fed by one 32-bit
//!   `ldr` per operand pair, and the loop is unrolled four times: 16
//!   instructions per 8 multiply-accumulates. Iterating with `zip` or
//!   indices instead gives `[base, index]` addressing and an extra `add`
//!   per load (measured: 2.25 to 3.4 instructions per MAC).
//!   Without the DSP extension (Cortex-M0) the two products of a pair are
//!   added in 32 bits before the 64-bit add, which saves one 64-bit add per
//!   two products: a pair lies in `[−(2³¹ − 2¹⁶), 2³¹]`, so the pair plus
//!   `2³¹ − 2¹⁶` fits in a `u32`, and the offsets are taken off at the end.
//! * **int8 weights** ([`dot_i8`]): `|w v| ≤ 128 · 32768 = 2²²`, so
//!   an `i32` accumulator holds up to [`I8_I32_TERMS`] products; rows that
//!   long or longer fall back to `i64`. On the Cortex-M4 the `i32` loop is
//!   `ldrsb`, `ldrsh`, `smlabb` per product: `smlad` would need the weights
//!   sign-extended into pairs (`sxtb16`) in the order of the state's pairs,
//!   a weight layout LLVM does not form.

/// Rows of int8 weights up to this many terms accumulate in `i32`:
/// `n · 2²² < 2³¹` for `n ≤ 511` (weights of −128 included, though the
/// conversion stores at most 127 in magnitude).
pub const I8_I32_TERMS: usize = 511;

/// `Σ_j w_j v_j` for int16 weights, exact in `i64`. The slices are taken to
/// their common length.
#[inline]
pub fn dot_i16(w: &[i16], v: &[i16]) -> i64 {
    dot_i16_scanned(w, v, true)
}

/// ARMv6-M (the Cortex-M0: no DSP extension, and no compare-and-swap,
/// which is how `cfg` can tell it from ARMv7E-M on stable).
const ARMV6M: bool = cfg!(all(target_arch = "arm", not(target_has_atomic = "32")));

/// [`dot_i16`] for a `v` the caller has scanned: `v_has_min` says whether
/// some `v_j` is `−2¹⁵`. Without one, every product is below `2³⁰` in
/// magnitude (`32767 · 32768`... `32768 · 32767`), a pair of them fits in
/// an `i32`, and the Cortex-M0 sums pairs in 32 bits with no offset. The
/// value is [`dot_i16`]'s either way when the flag is true; a false flag
/// for a `v` that has `−2¹⁵` gives a wrong sum (never undefined
/// behaviour).
#[inline]
pub fn dot_i16_scanned(w: &[i16], v: &[i16], v_has_min: bool) -> i64 {
    if w.len().min(v.len()) < SHORT {
        return plain(w, v);
    }
    match (ARMV6M, v_has_min) {
        (false, _) => dot_i16_pairs_wide(w, v),
        (true, true) => dot_i16_pairs_narrow(w, v),
        (true, false) => dot_i16_pairs_signed(w, v),
    }
}

/// Whether `v` has an entry `−2¹⁵` (for [`dot_i16_scanned`]).
#[inline]
// a plain loop: `<[i16]>::contains` is measurably slower on the Cortex-M0
// (N = 128: 11.24 against 10.80 instructions per multiply-accumulate)
#[allow(clippy::manual_contains)]
pub fn has_min(v: &[i16]) -> bool {
    v.iter().any(|&x| x == i16::MIN)
}

/// Rows shorter than this (the input weights of a few inputs) are summed
/// by [`plain`], inline: the call and the unrolled loop's set-up cost more
/// than such a row's products.
const SHORT: usize = 8;

/// The plain sum in `i64`, exact for any length (each product fits in an
/// `i32`): short rows, long int8 rows, and the odd last term of the
/// paired loops.
#[inline]
fn plain<W: Copy + Into<i32>>(w: &[W], v: &[i16]) -> i64 {
    w.iter()
        .zip(v)
        .map(|(&p, &q)| (p.into() * q as i32) as i64)
        .sum()
}

/// Pairs of `i32` products each widened to `i64` (the `smlald` shape).
/// Out of line: inlined into a step, LLVM unrolls the loop eight times
/// and its parallel-DSP pass no longer pairs the loads (`smlalbb` per
/// product instead of `smlald` per pair). The odd last term is written out
/// in the three int16 loops: through [`plain`] they compile to slower
/// code (Cortex-M0, N = 128: 11.32 against 10.80 instructions per
/// multiply-accumulate), where the int8 loop gains from it.
#[inline(never)]
fn dot_i16_pairs_wide(w: &[i16], v: &[i16]) -> i64 {
    let n = w.len().min(v.len());
    let (mut a, mut b) = (&w[..n], &v[..n]);
    let mut acc = 0i64;
    while let (Some((p, a_rest)), Some((q, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        acc += (p[0] as i32 * q[0] as i32) as i64 + (p[1] as i32 * q[1] as i32) as i64;
        (a, b) = (a_rest, b_rest);
    }
    if let (Some(&p), Some(&q)) = (a.first(), b.first()) {
        acc += (p as i32 * q as i32) as i64;
    }
    acc
}

/// Pairs summed in `i32`, for a `v` without `−2¹⁵`: each product is at
/// most `32768 · 32767` in magnitude, so a pair is below `2³¹`.
#[inline(never)]
fn dot_i16_pairs_signed(w: &[i16], v: &[i16]) -> i64 {
    let n = w.len().min(v.len());
    let (mut a, mut b) = (&w[..n], &v[..n]);
    let mut acc = 0i64;
    while let (Some((p, a_rest)), Some((q, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        acc += (p[0] as i32 * q[0] as i32 + p[1] as i32 * q[1] as i32) as i64;
        (a, b) = (a_rest, b_rest);
    }
    if let (Some(&p), Some(&q)) = (a.first(), b.first()) {
        acc += (p as i32 * q as i32) as i64;
    }
    acc
}

/// A pair's offset: `p₀ q₀ + p₁ q₁ + PAIR_OFFSET` is in `[0, 2³² − 2¹⁶]`.
const PAIR_OFFSET: u32 = (1 << 31) - (1 << 16);

/// Pairs of products summed in 32 bits (offset into `u32`), then widened
/// once.
#[inline(never)]
fn dot_i16_pairs_narrow(w: &[i16], v: &[i16]) -> i64 {
    let n = w.len().min(v.len());
    let (mut a, mut b) = (&w[..n], &v[..n]);
    let mut acc = 0u64;
    while let (Some((p, a_rest)), Some((q, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        let pair = ((p[0] as i32 * q[0] as i32) as u32)
            .wrapping_add((p[1] as i32 * q[1] as i32) as u32)
            .wrapping_add(PAIR_OFFSET);
        acc += pair as u64;
        (a, b) = (a_rest, b_rest);
    }
    let mut acc = acc as i64 - (n / 2) as i64 * PAIR_OFFSET as i64;
    if let (Some(&p), Some(&q)) = (a.first(), b.first()) {
        acc += (p as i32 * q as i32) as i64;
    }
    acc
}

/// `Σ_j w_j v_j` for int8 weights, exact: in `i32` for up to
/// [`I8_I32_TERMS`] terms, in `i64` beyond.
#[inline]
pub fn dot_i8(w: &[i8], v: &[i16]) -> i64 {
    let n = w.len().min(v.len());
    if n < SHORT {
        return plain(w, v);
    }
    if n <= I8_I32_TERMS {
        dot_i8_narrow(w, v) as i64
    } else {
        plain(w, v)
    }
}

/// The `i32` loop over the common length (the caller keeps it at most
/// [`I8_I32_TERMS`]). The common length is taken here, inside the loop's
/// function: with two lengths to check, every pair costs two compares.
#[inline(never)]
fn dot_i8_narrow(w: &[i8], v: &[i16]) -> i32 {
    let n = w.len().min(v.len());
    let (mut a, mut b) = (&w[..n], &v[..n]);
    let mut acc = 0i32;
    while let (Some((p, a_rest)), Some((q, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        acc += p[0] as i32 * q[0] as i32 + p[1] as i32 * q[1] as i32;
        (a, b) = (a_rest, b_rest);
    }
    // one term at most: `acc` plus it stays within the caller's bound
    acc + plain(a, b) as i32
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use rand_core::{RngCore, SeedableRng};
    use rand_xorshift::XorShiftRng;

    fn reference<W: Copy + Into<i64>>(w: &[W], v: &[i16]) -> i64 {
        w.iter().zip(v).map(|(&a, &b)| a.into() * b as i64).sum()
    }

    #[test]
    fn every_shape_is_the_plain_sum() {
        let mut rng = XorShiftRng::seed_from_u64(3);
        for n in (0..40).chain([127, 128, 129, 515, 516, 517, 1000]) {
            let w16: [i16; 1000] = core::array::from_fn(|_| rng.next_u32() as i16);
            // every edge value among them
            let w16: [i16; 1000] = core::array::from_fn(|k| match k % 7 {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => w16[k],
            });
            let w8: [i8; 1000] = core::array::from_fn(|_| rng.next_u32() as i8);
            let v: [i16; 1000] = core::array::from_fn(|_| rng.next_u32() as i16);
            let (w16, w8, v) = (&w16[..n], &w8[..n], &v[..n]);
            let want16 = reference(w16, v);
            assert_eq!(dot_i16_pairs_wide(w16, v), want16, "wide, n = {n}");
            assert_eq!(dot_i16_pairs_narrow(w16, v), want16, "narrow, n = {n}");
            assert_eq!(dot_i16(w16, v), want16);
            // the scanned entry, with the flag the scan gives
            assert_eq!(dot_i16_scanned(w16, v, has_min(v)), want16);
            let v_no_min: std::vec::Vec<i16> = v.iter().map(|&x| x.max(-32767)).collect();
            assert!(!has_min(&v_no_min));
            assert_eq!(
                dot_i16_pairs_signed(w16, &v_no_min),
                reference(w16, &v_no_min),
                "signed, n = {n}"
            );
            assert_eq!(dot_i8(w8, v), reference(w8, v), "int8, n = {n}");
            // unequal lengths: the common prefix
            if n > 1 {
                assert_eq!(dot_i16(w16, &v[..n - 1]), reference(&w16[..n - 1], v));
                assert_eq!(dot_i8(&w8[..n - 1], v), reference(&w8[..n - 1], v));
            }
        }
    }

    /// Weights and states at their limits, every product of one sign: the
    /// largest sums the formats allow, at and past the `i32` threshold.
    #[test]
    fn extremes_do_not_overflow() {
        let lo = [-32768i16; 2000];
        let hi = [32767i16; 2000];
        for n in [1, 2, 3, 510, 511, 512, 2000] {
            let w8 = [-128i8; 2000];
            assert_eq!(dot_i8(&w8[..n], &lo[..n]), n as i64 * 128 * 32768);
            assert_eq!(dot_i8(&w8[..n], &hi[..n]), -(n as i64) * 128 * 32767);
            for (w, v, want) in [
                (&lo, &lo, 1i64 << 30),
                (&lo, &hi, -(32768 * 32767)),
                (&hi, &hi, 32767 * 32767),
            ] {
                let want = n as i64 * want;
                assert_eq!(dot_i16_pairs_wide(&w[..n], &v[..n]), want, "n = {n}");
                assert_eq!(dot_i16_pairs_narrow(&w[..n], &v[..n]), want, "n = {n}");
                if !has_min(&v[..n]) {
                    assert_eq!(dot_i16_pairs_signed(&w[..n], &v[..n]), want, "n = {n}");
                }
            }
        }
        // the signed pairs at their limit: weights −2¹⁵, states −(2¹⁵ − 1)
        let near = [-32767i16; 2000];
        for n in [2, 3, 2000] {
            assert_eq!(
                dot_i16_pairs_signed(&lo[..n], &near[..n]),
                n as i64 * 32768 * 32767
            );
        }
        // the threshold is the largest n whose int8 sum fits in i32
        assert!((I8_I32_TERMS as i64) * 128 * 32768 <= i32::MAX as i64);
        assert!((I8_I32_TERMS as i64 + 1) * 128 * 32768 > i32::MAX as i64);
    }
}
