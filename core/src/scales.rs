//! The scales of random weights by gate (docs/THEORY.md §1): one gate's
//! [`GateScale`], and the GRU's and LSTM's gates by name ([`GruScales`],
//! [`LstmScales`]). Initialisation ([`crate::init`]), the predicted support
//! ([`crate::spectral_curve`]) and the mean-field theory ([`crate::mft`])
//! all take these types.

use crate::error::{check_scale, Error};

/// Scales of one gate: recurrent `σ` (entries of `U` have variance `σ²/N`),
/// bias `σ_b`, input `σ_in` (entries of `W` have variance `σ_in²/I`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GateScale {
    /// Recurrent scale `σ_k` (standard-deviation scale, docs/THEORY.md §1).
    pub sigma: f64,
    /// Bias scale `σ_{b,k}`.
    pub bias: f64,
    /// Input-weight scale.
    pub input: f64,
}

impl GateScale {
    /// Recurrent scale only: no bias, no input weights.
    pub const fn recurrent(sigma: f64) -> Self {
        GateScale {
            sigma,
            bias: 0.0,
            input: 0.0,
        }
    }
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_scale(self.sigma, "sigma")?;
        check_scale(self.bias, "bias sigma")?;
        check_scale(self.input, "input sigma")
    }
}

/// The scales of a GRU's three gates by name: update `z`, reset `r`,
/// candidate `h` (docs/THEORY.md §1). The one scales type of the GRU from the
/// command line to the core: initialisation (`Gru::randomize`), the
/// predicted support ([`GruScales::support`]) and the mean-field theory
/// ([`GruScales::mft`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GruScales {
    /// Update gate `z`.
    pub z: GateScale,
    /// Reset gate `r`.
    pub r: GateScale,
    /// Candidate `h`.
    pub h: GateScale,
}

/// The scales of an LSTM's four gates by name: forget `f`, input `i`,
/// output `o`, cell `c` (docs/THEORY.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LstmScales {
    /// Forget gate `f`.
    pub f: GateScale,
    /// Input gate `i`.
    pub i: GateScale,
    /// Output gate `o`.
    pub o: GateScale,
    /// Cell candidate `c`.
    pub c: GateScale,
}

/// Checks one gate's scales, naming the gate and the scale in the error.
fn check_named(s: &GateScale, names: [&'static str; 3]) -> Result<(), Error> {
    check_scale(s.sigma, names[0])?;
    check_scale(s.bias, names[1])?;
    check_scale(s.input, names[2])
}

impl GruScales {
    /// Recurrent scales only (zero bias and input scales).
    pub const fn recurrent(z: f64, r: f64, h: f64) -> Self {
        GruScales {
            z: GateScale::recurrent(z),
            r: GateScale::recurrent(r),
            h: GateScale::recurrent(h),
        }
    }
    /// Every scale finite and `≥ 0`; the error names the first that is not
    /// (`sigma_z`, `bias_r`, `input_h`, …).
    pub fn check(&self) -> Result<(), Error> {
        check_named(&self.z, ["sigma_z", "bias_z", "input_z"])?;
        check_named(&self.r, ["sigma_r", "bias_r", "input_r"])?;
        check_named(&self.h, ["sigma_h", "bias_h", "input_h"])
    }
    /// In fill order `[z, r, h]`.
    pub const fn in_order(&self) -> [GateScale; 3] {
        [self.z, self.r, self.h]
    }
    /// The recurrent scales the predicted support needs (docs/THEORY.md §4).
    pub const fn support(&self) -> crate::spectral_curve::GruSigmas {
        crate::spectral_curve::GruSigmas {
            z: self.z.sigma,
            r: self.r.sigma,
            h: self.h.sigma,
        }
    }
}

impl From<[GateScale; 3]> for GruScales {
    /// From `[z, r, h]`.
    fn from([z, r, h]: [GateScale; 3]) -> Self {
        GruScales { z, r, h }
    }
}

impl LstmScales {
    /// Recurrent scales only (zero bias and input scales).
    pub const fn recurrent(f: f64, i: f64, o: f64, c: f64) -> Self {
        LstmScales {
            f: GateScale::recurrent(f),
            i: GateScale::recurrent(i),
            o: GateScale::recurrent(o),
            c: GateScale::recurrent(c),
        }
    }
    /// Every scale finite and `≥ 0`; the error names the first that is not.
    pub fn check(&self) -> Result<(), Error> {
        check_named(&self.f, ["sigma_f", "bias_f", "input_f"])?;
        check_named(&self.i, ["sigma_i", "bias_i", "input_i"])?;
        check_named(&self.o, ["sigma_o", "bias_o", "input_o"])?;
        check_named(&self.c, ["sigma_c", "bias_c", "input_c"])
    }
    /// In fill order `[f, i, o, c]`.
    pub const fn in_order(&self) -> [GateScale; 4] {
        [self.f, self.i, self.o, self.c]
    }
    /// The recurrent scales the predicted support needs (docs/THEORY.md §4).
    pub const fn support(&self) -> crate::spectral_curve::LstmSigmas {
        crate::spectral_curve::LstmSigmas {
            f: self.f.sigma,
            i: self.i.sigma,
            o: self.o.sigma,
            c: self.c.sigma,
        }
    }
}

impl From<[GateScale; 4]> for LstmScales {
    /// From `[f, i, o, c]`.
    fn from([f, i, o, c]: [GateScale; 4]) -> Self {
        LstmScales { f, i, o, c }
    }
}
