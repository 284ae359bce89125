//! Mean-field theory of random GRU fixed points and zero-fixed-point
//! stability (docs/THEORY.md §4-5), with the phase diagram and "principled
//! initialisation" solvers.
//!
//! All Gaussian averages use [`GaussianAverage`] (accurate for steep
//! sigmoids; see [`crate::quadrature`]). Scales are standard-deviation
//! scales: `U_k ~ N(0, σ_k²/N)`, `b_k ~ N(0, σ_{b,k}²)`.
//!
//! The fixed-point variance `C = C_h` solves `C = F(C)`,
//!
//! ```text
//! F(C) = E[φ(√(σ_h² Q_r(C) C + σ_{b,h}²) X)²],   Q_r(C) = E[σ(√(σ_r² C + σ_{b,r}²) Y)²]
//! ```
//!
//! and the spectral shaping parameter of that fixed point is
//! `ρ_s² = σ_h² ⟨φ'²⟩ (Q_r + σ_r² C ⟨σ'(a_r)²⟩)`; the fixed point is stable
//! iff `ρ_s < 1`.

use crate::activation::Activation;
use crate::error::{check_scale, Error};
use crate::maximize::grid_golden_max;
use crate::quadrature::GaussianAverage;
use crate::scales::{GruScales, LstmScales};

fn sigmoid(x: f64) -> f64 {
    crate::activation::sigmoid(x)
}
fn dsigmoid(x: f64) -> f64 {
    let s = sigmoid(x);
    s * (1.0 - s)
}

/// The largest `grid` of [`BifurcationOptions`].
pub const MAX_GRID: usize = 10_000;
/// The largest `golden` of [`BifurcationOptions`].
pub const MAX_GOLDEN: usize = 200;

/// Precision and cost of [`Mft::bifurcation_sigma_r_with`]; `rel_tol` in
/// `(0, 1)`, `grid` in `2..=`[`MAX_GRID`], `golden` up to [`MAX_GOLDEN`]
/// (else `InvalidParameter` naming the field).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BifurcationOptions {
    /// Relative width of the final bracket of `σ_r*`.
    pub rel_tol: f64,
    /// Grid points of `ln C ∈ [ln 1e-8, 0]` for each maximisation of `F(C)/C`.
    pub grid: usize,
    /// Golden-section steps refining the grid's best point.
    pub golden: usize,
}

impl BifurcationOptions {
    /// The accurate setting of [`Mft::bifurcation_sigma_r`]'s maximisation
    /// (1e-10, 61 points, 40 steps).
    pub const fn accurate() -> Self {
        BifurcationOptions {
            rel_tol: 1e-10,
            grid: 61,
            golden: 40,
        }
    }

    /// The device setting: 1e-7, 21 points, 15 steps (about 10⁷
    /// instructions on a Cortex-M4F with the flash tables).
    pub const fn device() -> Self {
        BifurcationOptions {
            rel_tol: 1e-7,
            grid: 21,
            golden: 15,
        }
    }
}

/// GRU mean-field parameters (the update gate does not enter).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GruMftParams {
    /// `σ_h`.
    pub sigma_h: f64,
    /// `σ_r`.
    pub sigma_r: f64,
    /// `σ_{b,h}`.
    pub bias_h: f64,
    /// `σ_{b,r}`.
    pub bias_r: f64,
    /// `φ`.
    pub activation: Activation,
}

impl GruMftParams {
    /// Zero biases, `tanh`.
    pub const fn new(sigma_h: f64, sigma_r: f64) -> Self {
        GruMftParams {
            sigma_h,
            sigma_r,
            bias_h: 0.0,
            bias_r: 0.0,
            activation: Activation::Tanh,
        }
    }
    /// Every scale finite, `≥ 0` and at most [`MAX_MFT_SCALE`] (so that
    /// the variances `σ²` of docs/THEORY.md §5 are finite).
    fn check(&self) -> Result<(), Error> {
        check_mft_scale(self.sigma_h, "sigma_h")?;
        check_mft_scale(self.sigma_r, "sigma_r")?;
        check_mft_scale(self.bias_h, "bias_h")?;
        check_mft_scale(self.bias_r, "bias_r")
    }
}

/// The largest gate or bias scale the mean-field theory takes: its squares
/// and products (`σ_h² σ_r² C`) stay finite in `f64`.
pub const MAX_MFT_SCALE: f64 = 1e75;

fn check_mft_scale(x: f64, name: &'static str) -> Result<(), Error> {
    check_scale(x, name)?;
    if x > MAX_MFT_SCALE {
        return Err(Error::InvalidParameter { name });
    }
    Ok(())
}

/// A solution of the GRU fixed-point equations.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GruFixedPoint {
    /// `C_h = ⟨h²⟩`.
    pub c_h: f64,
    /// `Q_r = ⟨r²⟩`.
    pub q_r: f64,
    /// `⟨φ'(a_h)²⟩`.
    pub mean_dphi_sq: f64,
    /// `⟨σ'(a_r)²⟩`.
    pub mean_dsig_r_sq: f64,
    /// `ρ_s²`.
    pub shaping_sq: f64,
}

impl GruFixedPoint {
    /// Stable iff `ρ_s² < 1`.
    pub fn stable(&self) -> bool {
        self.shaping_sq < 1.0
    }
}

/// Regions of the GRU phase diagram (docs/THEORY.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GruRegion {
    /// Only the zero fixed point, and it is stable.
    StableZero,
    /// A stable zero fixed point and a non-zero mean-field solution
    /// (`√2 < σ_h < 2`, `σ_r > σ_r*`): the paper's coexistence of the
    /// stable zero with unstable fixed points and chaos. On finite networks
    /// (N ≤ 4000) the fixed points multiply above σ_r*, but chaos from
    /// large states appears only above about 2σ_r* (docs/THEORY.md §10).
    Coexistence,
    /// A stable non-zero fixed point (`ρ_s < 1`; needs biases).
    StableNonZero,
    /// The non-zero fixed point has `1 < ρ_s² < 1/(1−p₀) = 2`: unstable at
    /// finite `σ_z`, marginally stable as `σ_z → ∞`.
    MarginallyStable,
    /// Zero fixed point unstable, non-zero fixed points with `ρ_s² ≥ 2`:
    /// chaotic dynamics.
    Chaotic,
}

/// The one-dimensional Gaussian averages the GRU mean-field theory needs,
/// as functions of the standard deviation `s` of a zero-mean Gaussian field.
/// [`GaussianAverage`] computes them by quadrature; a caller that needs
/// many evaluations (a phase diagram) can supply tabulated ones.
pub trait FieldAverages {
    /// `E[σ(sY)²]`.
    fn sigmoid_sq(&self, s: f64) -> f64;
    /// `E[σ'(sY)²]`.
    fn dsigmoid_sq(&self, s: f64) -> f64;
    /// `E[φ(sX)²]`.
    fn phi_sq(&self, act: Activation, s: f64) -> f64;
    /// `E[φ'(sX)²]`.
    fn dphi_sq(&self, act: Activation, s: f64) -> f64;
    /// The accurate quadrature behind the averages, for the integrals that
    /// are not one of the four (the principled initialisation with random
    /// gate biases).
    fn quadrature(&self) -> &GaussianAverage;
}

impl FieldAverages for GaussianAverage {
    fn quadrature(&self) -> &GaussianAverage {
        self
    }
    fn sigmoid_sq(&self, s: f64) -> f64 {
        self.mean(s, |y| {
            let v = sigmoid(y);
            v * v
        })
    }
    fn dsigmoid_sq(&self, s: f64) -> f64 {
        self.mean(s, |y| {
            let d = dsigmoid(y);
            d * d
        })
    }
    fn phi_sq(&self, act: Activation, s: f64) -> f64 {
        self.mean(s, |x| {
            let v = act.apply(x);
            v * v
        })
    }
    fn dphi_sq(&self, act: Activation, s: f64) -> f64 {
        self.mean(s, |x| {
            let d = act.derivative(x, act.apply(x));
            d * d
        })
    }
}

/// The mean-field solver, over the averages `A` (quadrature by default).
#[derive(Debug, Clone, Default)]
pub struct Mft<A = GaussianAverage> {
    avg: A,
}

/// Log-spaced grid points of `C` in `[C_MIN, 1]` used to bracket roots.
const C_GRID: usize = 80;
const C_MIN: f64 = 1e-9;

impl<A: FieldAverages> Mft<A> {
    /// A solver over the given averages.
    pub fn with_averages(avg: A) -> Self {
        Mft { avg }
    }

    /// The averages in use.
    pub fn field_averages(&self) -> &A {
        &self.avg
    }

    /// `Q_r(C) = E[σ(√(σ_r² C + σ_{b,r}²) Y)²]`.
    pub fn q_r(&self, p: &GruMftParams, c: f64) -> f64 {
        let s = libm::sqrt(p.sigma_r * p.sigma_r * c + p.bias_r * p.bias_r);
        self.avg.sigmoid_sq(s)
    }

    fn field_h(&self, p: &GruMftParams, c: f64, q: f64) -> f64 {
        libm::sqrt(p.sigma_h * p.sigma_h * q * c + p.bias_h * p.bias_h)
    }

    /// The fixed-point map `F(C)`.
    pub fn map(&self, p: &GruMftParams, c: f64) -> f64 {
        let q = self.q_r(p, c);
        self.avg.phi_sq(p.activation, self.field_h(p, c, q))
    }

    /// The averages at a given `C` (a fixed point when `C = F(C)`). With
    /// scales past [`MAX_MFT_SCALE`] (not checked here) they may overflow;
    /// [`Mft::fixed_point`] checks.
    pub fn averages(&self, p: &GruMftParams, c: f64) -> GruFixedPoint {
        let q = self.q_r(p, c);
        let dphi = self.avg.dphi_sq(p.activation, self.field_h(p, c, q));
        let sr = libm::sqrt(p.sigma_r * p.sigma_r * c + p.bias_r * p.bias_r);
        let dsig = self.avg.dsigmoid_sq(sr);
        let shaping = p.sigma_h * p.sigma_h * dphi * (q + p.sigma_r * p.sigma_r * c * dsig);
        GruFixedPoint {
            c_h: c,
            q_r: q,
            mean_dphi_sq: dphi,
            mean_dsig_r_sq: dsig,
            shaping_sq: shaping,
        }
    }

    /// The non-zero fixed point with the largest `C_h`, or `None` when only
    /// `C = 0` solves the equations. Roots are bracketed on a log-spaced
    /// grid of `C` in `[1e-9, 1]` scanned from the top, then bisected to
    /// 1e-14 relative. (A tangency narrower than the grid, within ~1e-3 of
    /// the bifurcation, can be missed: use [`Mft::bifurcation_sigma_r`].)
    pub fn fixed_point(&self, p: &GruMftParams) -> Result<Option<GruFixedPoint>, Error> {
        p.check()?;
        let g = |c: f64| self.map(p, c) - c;
        let ratio = libm::pow(C_MIN, 1.0 / (C_GRID - 1) as f64);
        let mut hi = 1.0;
        let mut g_hi = g(hi);
        if g_hi >= 0.0 {
            return finite(self.averages(p, hi)).map(Some);
        }
        for _ in 1..C_GRID {
            let lo = hi * ratio;
            let g_lo = g(lo);
            if g_lo >= 0.0 {
                let (mut a, mut b) = (lo, hi);
                for _ in 0..200 {
                    let mid = 0.5 * (a + b);
                    if g(mid) >= 0.0 {
                        a = mid;
                    } else {
                        b = mid;
                    }
                    if b - a <= 1e-14 * b {
                        break;
                    }
                }
                return finite(self.averages(p, 0.5 * (a + b))).map(Some);
            }
            hi = lo;
            g_hi = g_lo;
        }
        let _ = g_hi;
        // with a bias on h, F(0) > 0, so a root below C_MIN exists
        if p.bias_h > 0.0 {
            return finite(self.averages(p, 0.0)).map(Some);
        }
        Ok(None)
    }

    /// Whether the zero fixed point is stable: `σ_h² E[σ(b_r)²] < 1`
    /// (docs/THEORY.md §4; the update gate does not move it). Errors when
    /// `σ_{b,h} > 0` (then `h = 0` is not a fixed point).
    pub fn gru_zero_stable(&self, p: &GruMftParams) -> Result<bool, Error> {
        p.check()?;
        if p.bias_h > 0.0 {
            return Err(Error::Infeasible {
                what: "no zero fixed point with a bias on h",
            });
        }
        Ok(p.sigma_h * p.sigma_h * self.mean_sigmoid_sq(p.bias_r) < 1.0)
    }

    /// `E[σ(b)²]`, `b ~ N(0, σ_b²)`.
    pub fn mean_sigmoid_sq(&self, bias: f64) -> f64 {
        self.avg.sigmoid_sq(bias)
    }

    /// The bifurcation value `σ_r*(σ_h)` for `√2 < σ_h < 2` (zero biases,
    /// `tanh`): the smallest `σ_r` at which `C = F(C)` gains non-zero
    /// solutions, i.e. where `max_C F(C)/C` reaches 1 (saddle node,
    /// `F'(C) = 1`). Bisection on `σ_r ∈ [0, 1000]` to 1e-10, each step
    /// maximising `F(C)/C` over a log grid of `C` refined by golden section.
    pub fn bifurcation_sigma_r(&self, sigma_h: f64) -> Result<f64, Error> {
        check_bifurcation_sigma_h(sigma_h)?;
        // g ≥ 0 exactly when the gain reaches 1 (x − 1 is exact near 1)
        let g = |sr: f64| self.max_gain(&GruMftParams::new(sigma_h, sr)) - 1.0;
        let exists = |sr: f64| g(sr) >= 0.0;
        let (mut a, mut b, _) = bracket_bifurcation(g)?;
        // bisection to 1e-10 relative: at most 64 halvings of [0, b]
        for _ in 0..200 {
            if b - a <= 1e-10 * b {
                break;
            }
            let mid = 0.5 * (a + b);
            if exists(mid) {
                b = mid;
            } else {
                a = mid;
            }
        }
        Ok(0.5 * (a + b))
    }

    /// `max_{C ∈ (0, 1]} F(C)/C`, over `ln C ∈ [ln 1e-8, 0]` (61-point grid,
    /// 40 golden-section steps).
    fn max_gain(&self, p: &GruMftParams) -> f64 {
        self.max_gain_with(p, 61, 40)
    }

    /// [`Mft::max_gain`] with a `grid`-point grid and `golden` steps.
    fn max_gain_with(&self, p: &GruMftParams, grid: usize, golden: usize) -> f64 {
        let gain = |lc: f64| {
            let c = libm::exp(lc);
            self.map(p, c) / c
        };
        grid_golden_max(gain, libm::log(1e-8), 0.0, grid, golden).1
    }

    /// [`Mft::bifurcation_sigma_r`] to a chosen precision and cost, for
    /// devices: the root of `max_C F(C)/C = 1` in `σ_r` by the Illinois
    /// variant of regula falsi (the bracket is kept, so it converges
    /// whenever bisection does, but superlinearly: about ten evaluations
    /// instead of forty halvings), each maximisation on `opts.grid` points
    /// refined by `opts.golden` golden-section steps. With
    /// [`BifurcationOptions::device`] and [`crate::field_table::TableAverages`]
    /// it agrees with the accurate value to 3e-6 relative (the tables'
    /// error, grown where the gain is flat in `σ_r`; the algorithm alone is
    /// good to 1e-8: test `device_bifurcation_agrees`).
    pub fn bifurcation_sigma_r_with(
        &self,
        sigma_h: f64,
        opts: &BifurcationOptions,
    ) -> Result<f64, Error> {
        check_bifurcation_sigma_h(sigma_h)?;
        if !(opts.rel_tol > 0.0 && opts.rel_tol < 1.0) {
            return Err(Error::InvalidParameter { name: "rel_tol" });
        }
        if !(2..=MAX_GRID).contains(&opts.grid) {
            return Err(Error::InvalidParameter { name: "grid" });
        }
        if opts.golden > MAX_GOLDEN {
            return Err(Error::InvalidParameter { name: "golden" });
        }
        let g = |sr: f64| {
            self.max_gain_with(&GruMftParams::new(sigma_h, sr), opts.grid, opts.golden) - 1.0
        };
        let (mut a, mut b, mut gb) = bracket_bifurcation(g)?;
        let mut ga = g(a);
        // Illinois: a secant step inside [a, b]; when the same end is kept
        // twice, its value is halved so the other end moves too.
        let mut kept = 0i8;
        for _ in 0..200 {
            if b - a <= opts.rel_tol * b {
                break;
            }
            let x = if gb != ga {
                b - gb * (b - a) / (gb - ga)
            } else {
                0.5 * (a + b)
            };
            let x = if x > a && x < b { x } else { 0.5 * (a + b) };
            let gx = g(x);
            if gx >= 0.0 {
                (b, gb) = (x, gx);
                if kept == -1 {
                    ga *= 0.5;
                }
                kept = -1;
            } else {
                (a, ga) = (x, gx);
                if kept == 1 {
                    gb *= 0.5;
                }
                kept = 1;
            }
            if gx == 0.0 {
                return Ok(x);
            }
        }
        Ok(0.5 * (a + b))
    }

    /// Classifies `(σ_h, σ_r)` (with the biases of `p`) into the regions of
    /// docs/THEORY.md §5. Precedence: a stable zero fixed point with non-zero
    /// solutions is `Coexistence`; otherwise the non-zero fixed point's
    /// `ρ_s²` decides (`< 1` stable, `< 2` marginal, else chaotic).
    pub fn classify(&self, p: &GruMftParams) -> Result<GruRegion, Error> {
        p.check()?;
        let zero_stable = if p.bias_h > 0.0 {
            false
        } else {
            self.gru_zero_stable(p)?
        };
        let fp = self.fixed_point(p)?.filter(|f| f.c_h > 0.0);
        Ok(match (zero_stable, fp) {
            (true, None) => GruRegion::StableZero,
            (true, Some(_)) => GruRegion::Coexistence,
            (false, None) => GruRegion::Chaotic,
            (false, Some(f)) if f.shaping_sq < 1.0 => GruRegion::StableNonZero,
            (false, Some(f)) if f.shaping_sq < 2.0 => GruRegion::MarginallyStable,
            (false, Some(_)) => GruRegion::Chaotic,
        })
    }

    /// Zero-fixed-point stability of an LSTM (`σ_{b,c} = 0`): the support is
    /// `σ_c² E[o²]E[i²]E[1/|λ−f|²] ≥ 1`, so stable iff
    /// `σ_c² E[o²] E[i²] E[1/(1−f)²] < 1`, with
    /// `E[1/(1−σ(b))²] = 1 + 2e^{σ_b²/2} + e^{2σ_b²}` in closed form.
    ///
    /// Uses `σ_c` and the bias scales of `f`, `i`, `o` from `s` (the other
    /// recurrent scales do not move the zero fixed point's spectrum).
    pub fn lstm_zero_stable(&self, s: &LstmScales) -> Result<bool, Error> {
        Ok(self.lstm_zero_level(s)? < 1.0)
    }

    /// The LSTM support function at `λ = 1` at the zero fixed point (may be
    /// `+∞` when the forget bias scale makes `E[1/(1−f)²]` overflow: then
    /// the zero fixed point is unstable). `Infeasible` with a bias on `c`
    /// (then `h = c = 0` is not a fixed point).
    pub fn lstm_zero_level(&self, s: &LstmScales) -> Result<f64, Error> {
        s.check()?;
        if s.c.bias > 0.0 {
            return Err(Error::Infeasible {
                what: "no zero fixed point with a bias on c",
            });
        }
        let (sigma_c, bias_f, bias_i, bias_o) = (s.c.sigma, s.f.bias, s.i.bias, s.o.bias);
        let ef = 1.0 + 2.0 * libm::exp(0.5 * bias_f * bias_f) + libm::exp(2.0 * bias_f * bias_f);
        Ok(sigma_c * sigma_c * self.mean_sigmoid_sq(bias_o) * self.mean_sigmoid_sq(bias_i) * ef)
    }

    /// Principled initialisation: the `σ_r` that puts the shaping parameter
    /// `ρ_s²` of the non-zero fixed point at `target` (other parameters from
    /// `p`). Bisection on `σ_r ∈ [0, 200]`; `Infeasible` when the target is
    /// not bracketed or no non-zero fixed point exists at an end.
    pub fn gru_sigma_r_for_shaping(&self, p: &GruMftParams, target: f64) -> Result<f64, Error> {
        check_scale(target, "target shaping")?;
        let f = |sr: f64| -> Result<f64, Error> {
            let q = GruMftParams { sigma_r: sr, ..*p };
            match self.fixed_point(&q)? {
                Some(fp) => Ok(fp.shaping_sq - target),
                None => Err(Error::Infeasible {
                    what: "no non-zero fixed point",
                }),
            }
        };
        let (mut a, mut b) = (0.0, 200.0);
        let (fa, fb) = (f(a)?, f(b)?);
        if fa == 0.0 {
            return Ok(a);
        }
        if fa.signum() == fb.signum() {
            return Err(Error::Infeasible {
                what: "target shaping not reached for sigma_r in [0, 200]",
            });
        }
        for _ in 0..100 {
            let mid = 0.5 * (a + b);
            let fm = f(mid)?;
            if fm.signum() == fa.signum() {
                a = mid;
            } else {
                b = mid;
            }
            if b - a < 1e-10 * b {
                break;
            }
        }
        Ok(0.5 * (a + b))
    }
}

impl Mft {
    /// A solver with the accurate quadrature of [`GaussianAverage`].
    pub fn new() -> Self {
        Mft {
            avg: GaussianAverage::new(),
        }
    }
}

impl<A: FieldAverages> Mft<A> {
    /// `E[h(s X)]` (exposed for callers that need other averages).
    pub fn mean(&self, s: f64, h: impl Fn(f64) -> f64) -> f64 {
        self.avg.quadrature().mean(s, h)
    }

    /// Principled initialisation: the `σ_h` whose zero-fixed-point spectral
    /// radius is `target` (large-N), given the bias scales of the update and
    /// reset gates in `s` (its recurrent scales do not enter; `σ_h` is the
    /// answer). The radius `R` solves `σ_h² E[r²] E[z²/(R−1+z)²] = 1`
    /// (outermost point on the positive real axis). Errors with
    /// `Infeasible` when `R` is not above every `1 − z` (e.g. `R ≤ 1/2` at
    /// zero bias, or `R ≤ 1` with a random update bias).
    pub fn gru_sigma_h_for_zero_radius(&self, target: f64, s: &GruScales) -> Result<f64, Error> {
        check_scale(target, "target radius")?;
        s.check()?;
        let (bias_z, bias_r) = (s.z.bias, s.r.bias);
        let r2 = self.mean_sigmoid_sq(bias_r);
        let zz = if bias_z == 0.0 {
            if target <= 0.5 {
                return Err(Error::Infeasible {
                    what: "radius must exceed 1 - z = 1/2",
                });
            }
            let d = target - 0.5;
            0.25 / (d * d)
        } else {
            if target <= 1.0 {
                return Err(Error::Infeasible {
                    what: "a random update bias puts eigenvalues at 1",
                });
            }
            self.avg.quadrature().mean(bias_z, |b| {
                let z = sigmoid(b);
                let d = target - 1.0 + z;
                z * z / (d * d)
            })
        };
        Ok(1.0 / libm::sqrt(r2 * zz))
    }

    /// Principled initialisation for an LSTM: the `σ_c` whose zero-fixed-
    /// point radius is `target`: `σ_c = 1/√(E[o²]E[i²]E[1/(R−f)²])`, with
    /// the bias scales of `f`, `i`, `o` from `s`. Needs `R > 1/2` at zero
    /// forget bias and `R > 1` with a random one.
    pub fn lstm_sigma_c_for_zero_radius(&self, target: f64, s: &LstmScales) -> Result<f64, Error> {
        check_scale(target, "target radius")?;
        s.check()?;
        let (bias_f, bias_i, bias_o) = (s.f.bias, s.i.bias, s.o.bias);
        let ef = if bias_f == 0.0 {
            if target <= 0.5 {
                return Err(Error::Infeasible {
                    what: "radius must exceed f = 1/2",
                });
            }
            1.0 / ((target - 0.5) * (target - 0.5))
        } else {
            if target <= 1.0 {
                return Err(Error::Infeasible {
                    what: "a random forget bias puts eigenvalues at 1",
                });
            }
            self.avg.quadrature().mean(bias_f, |b| {
                let d = target - sigmoid(b);
                1.0 / (d * d)
            })
        };
        Ok(1.0 / libm::sqrt(self.mean_sigmoid_sq(bias_o) * self.mean_sigmoid_sq(bias_i) * ef))
    }
}

/// The principled initialisation at zero gate biases without the
/// quadrature tables of [`Mft`]: the `σ_h` whose zero-fixed-point radius is
/// `target`, `σ_h = 1/√(E[r²] E[z²/(R−1+z)²]) = 4 (R − 1/2)` with
/// `r = z = 1/2` (docs/THEORY.md §4). The same bits as
/// [`Mft::gru_sigma_h_for_zero_radius`] with zero biases, for firmware that
/// should not carry the quadrature (the minimal example). `Infeasible` for
/// `R ≤ 1/2`; `InvalidParameter` for a non-finite, negative or huge target.
///
/// ```
/// use gatedyn::mft::{gru_sigma_h_for_zero_radius_unbiased, Mft};
/// use gatedyn::init::GruScales;
/// let s = gru_sigma_h_for_zero_radius_unbiased(0.95)?;
/// assert!((s - 1.8).abs() < 1e-15);
/// assert_eq!(s, Mft::new().gru_sigma_h_for_zero_radius(0.95, &GruScales::default())?);
/// # Ok::<(), gatedyn::Error>(())
/// ```
pub fn gru_sigma_h_for_zero_radius_unbiased(target: f64) -> Result<f64, Error> {
    check_scale(target, "target radius")?;
    if target <= 0.5 {
        return Err(Error::Infeasible {
            what: "radius must exceed 1 - z = 1/2",
        });
    }
    let d = target - 0.5;
    let r2 = 0.25; // σ(0)², what `mean_sigmoid_sq(0)` returns
    Ok(1.0 / libm::sqrt(r2 * (0.25 / (d * d))))
}

/// The bifurcation exists for `√2 < σ_h < 2` only.
fn check_bifurcation_sigma_h(sigma_h: f64) -> Result<(), Error> {
    if sigma_h > core::f64::consts::SQRT_2 && sigma_h < 2.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "sigma_h (needs sqrt(2) < sigma_h < 2)",
        })
    }
}

/// Brackets `σ_r*`, the root of `g(σ_r) = max_C F(C)/C − 1`: `(a, b, g(b))`
/// with `g(b) ≥ 0` and `g < 0` at `a` (or `a = 0`). `σ_r*` grows without
/// bound as `σ_h → √2⁺`, so the bracket `[0, 1000]` widens by factors of 10
/// up to 1e12 (`σ_r*(1.42) ≈ 1e4`, see the tests).
fn bracket_bifurcation(g: impl Fn(f64) -> f64) -> Result<(f64, f64, f64), Error> {
    let (mut a, mut b) = (0.0, 1000.0);
    let mut gb = g(b);
    while gb.is_nan() || gb < 0.0 {
        if b >= 1e12 {
            return Err(Error::Infeasible {
                what: "no bifurcation below sigma_r = 1e12 (sigma_h too close to sqrt(2))",
            });
        }
        a = b;
        b *= 10.0;
        gb = g(b);
    }
    Ok((a, b, gb))
}

/// A fixed point whose averages are all finite, or `NonFinite(Result)`.
fn finite(fp: GruFixedPoint) -> Result<GruFixedPoint, Error> {
    let values = [
        fp.c_h,
        fp.q_r,
        fp.mean_dphi_sq,
        fp.mean_dsig_r_sq,
        fp.shaping_sq,
    ];
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what: crate::error::Quantity::Result,
            index,
        }),
        None => Ok(fp),
    }
}

impl GruScales {
    /// The parameters of the mean-field theory (docs/THEORY.md §5): `σ_h`, `σ_r`
    /// and their bias scales (the update gate drops out of the fixed point).
    pub const fn mft(&self, activation: Activation) -> GruMftParams {
        GruMftParams {
            sigma_h: self.h.sigma,
            sigma_r: self.r.sigma,
            bias_h: self.h.bias,
            bias_r: self.r.bias,
            activation,
        }
    }
}
