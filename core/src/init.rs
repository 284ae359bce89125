//! Seeded random initialisation (docs/THEORY.md §1): `U_k ~ N(0, σ_k²/N)`,
//! `W_k ~ N(0, σ_in²/I)`, `b_k ~ N(0, σ_{b,k}²)`.
//!
//! # Reproducibility across targets
//!
//! [`Normal`] draws standard normals with the Marsaglia polar method in
//! `f64`, using only `+ - * /`, a comparison, [`libm::log`] and
//! [`libm::sqrt`]: integer-exact uniforms from `next_u64`, IEEE-exact basic
//! operations, and libm's portable (pure Rust) logarithm. The same seed
//! therefore gives bit-identical `f32` and `f64` weights on x86_64 and on
//! Cortex-M (whose soft-float `f64` is IEEE-exact too). The documented
//! generator is [`rand_xorshift::XorShiftRng`](https://docs.rs/rand_xorshift)
//! seeded with `SeedableRng::seed_from_u64`; any `RngCore` works.
//!
//! # Fill order
//!
//! Gates in the order of the model (GRU: `z, r, h`; LSTM: `f, i, o, c`); in
//! each gate `U` row-major, then `W` row-major, then `b`. Every entry draws
//! exactly one normal (also when its scale is zero), so changing one scale
//! never shifts the others' values.

use crate::error::Error;
use crate::gate::GateMut;
use crate::gru::Gru;
use crate::lstm::Lstm;
use crate::real::Real;
pub use crate::scales::{GateScale, GruScales, LstmScales};
use rand_core::RngCore;

/// Standard normal sampler (Marsaglia polar method, `f64`), keeping the
/// second value of each pair.
#[derive(Debug, Clone, Default)]
pub struct Normal {
    spare: Option<f64>,
}

impl Normal {
    /// A sampler with no value in reserve.
    pub const fn new() -> Self {
        Normal { spare: None }
    }

    /// One draw from `N(0, 1)`.
    ///
    /// Each pair costs two `next_u64`; a pair is rejected with probability
    /// `1 − π/4`. After [`MAX_REJECTIONS`] rejections in a row (probability
    /// below `1e-600` for a working generator: a constant or broken `rng`)
    /// it returns [`Error::Infeasible`] instead of looping on.
    pub fn sample<R: RngCore + ?Sized>(&mut self, rng: &mut R) -> Result<f64, Error> {
        if let Some(s) = self.spare.take() {
            return Ok(s);
        }
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        for _ in 0..MAX_REJECTIONS {
            // uniforms on (-1, 1) from 53 random bits each
            let u = ((rng.next_u64() >> 11) as f64 * SCALE) * 2.0 - 1.0;
            let v = ((rng.next_u64() >> 11) as f64 * SCALE) * 2.0 - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = libm::sqrt(-2.0 * libm::log(s) / s);
                self.spare = Some(v * m);
                return Ok(u * m);
            }
        }
        Err(Error::Infeasible {
            what: "normal sampler: 1000 rejected pairs in a row (a broken random generator)",
        })
    }
}

/// Rejections in a row after which [`Normal::sample`] gives up.
pub const MAX_REJECTIONS: usize = 1000;

/// Fills one gate of `n` units and `inputs` inputs (layout of
/// [`GateMut`]); lengths must already match.
pub fn fill_gate<F: Real, R: RngCore + ?Sized>(
    rng: &mut R,
    normal: &mut Normal,
    gate: GateMut<'_, F>,
    scale: GateScale,
) -> Result<(), Error> {
    scale.check()?;
    let n = gate.b.len();
    if n == 0 || gate.u.len() != n * n || gate.w.len() % n != 0 {
        return Err(Error::DimensionMismatch {
            expected: n * n,
            found: gate.u.len(),
        });
    }
    let inputs = gate.w.len() / n;
    let su = scale.sigma / libm::sqrt(n as f64);
    let sw = if inputs > 0 {
        scale.input / libm::sqrt(inputs as f64)
    } else {
        0.0
    };
    for x in gate.u.iter_mut() {
        *x = F::from_f64(su * normal.sample(rng)?);
    }
    for x in gate.w.iter_mut() {
        *x = F::from_f64(sw * normal.sample(rng)?);
    }
    for x in gate.b.iter_mut() {
        *x = F::from_f64(scale.bias * normal.sample(rng)?);
    }
    Ok(())
}

/// Fills gates in order with the given scales (GRU: `[z, r, h]`,
/// LSTM: `[f, i, o, c]`).
pub fn fill_gates<F: Real, R: RngCore + ?Sized, const K: usize>(
    rng: &mut R,
    gates: [GateMut<'_, F>; K],
    scales: [GateScale; K],
) -> Result<(), Error> {
    for s in &scales {
        s.check()?;
    }
    let mut normal = Normal::new();
    for (g, s) in gates.into_iter().zip(scales) {
        fill_gate(rng, &mut normal, g, s)?;
    }
    Ok(())
}

impl<F: Real, const N: usize, const I: usize> Gru<F, N, I> {
    /// Random initialisation with the scales of `z`, `r`, `h`, in place (no
    /// large temporary on the stack).
    ///
    /// ```
    /// use gatedyn::{Gru, init::GruScales};
    /// use gatedyn::rand_core::SeedableRng;
    /// let mut rng = rand_xorshift::XorShiftRng::seed_from_u64(7);
    /// let mut net: Gru<f32, 8, 0> = Gru::zeroed();
    /// net.randomize(&mut rng, GruScales::recurrent(1.0, 1.0, 1.5))?;
    /// # Ok::<(), gatedyn::Error>(())
    /// ```
    pub fn randomize<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        scales: impl Into<GruScales>,
    ) -> Result<(), Error> {
        let s: GruScales = scales.into();
        s.check()?;
        fill_gates(
            rng,
            [self.z.view_mut(), self.r.view_mut(), self.h.view_mut()],
            s.in_order(),
        )
    }
}

impl<F: Real, const N: usize, const I: usize> Lstm<F, N, I> {
    /// Random initialisation with the scales of `f`, `i`, `o`, `c`, in place.
    pub fn randomize<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        scales: impl Into<LstmScales>,
    ) -> Result<(), Error> {
        let s: LstmScales = scales.into();
        s.check()?;
        fill_gates(
            rng,
            [
                self.f.view_mut(),
                self.i.view_mut(),
                self.o.view_mut(),
                self.c.view_mut(),
            ],
            s.in_order(),
        )
    }
}
