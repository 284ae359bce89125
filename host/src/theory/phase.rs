//! `gatedyn phase-diagram`: the GRU phase diagram over `(σ_h, σ_r)`
//! (docs/THEORY.md §5, paper Figure 2 left) from the core's mean-field theory.
//!
//! The theory needs four one-dimensional Gaussian averages of the field
//! scale `s`; [`TabulatedAverages`] tabulates them once (4001 log-spaced
//! scales in `[1e-3, 2000]`, accurate quadrature at each) and interpolates
//! with cubic Catmull–Rom in `ln s` (relative error ≤ 1e-6 against the
//! quadrature for s in [1e-4, 3000], tested; 1.2e-7 measured at worst), with the small-`s` series below the table and the
//! quadrature above it. A 200×200 diagram then takes a fraction of a second
//! instead of a minute.

use crate::HostError;
use crate::Param;
use gatedyn::mft::{FieldAverages, GruMftParams, GruRegion, Mft};
use gatedyn::quadrature::GaussianAverage;
use gatedyn::Activation;
use serde::Serialize;

const S_MIN: f64 = 1e-3;
const S_MAX: f64 = 2000.0;
const POINTS: usize = 4001;

/// The averages of [`FieldAverages`], tabulated.
#[derive(Debug, Clone)]
pub struct TabulatedAverages {
    exact: GaussianAverage,
    u0: f64,
    du: f64,
    /// σ², σ'², tanh², tanh'², hardtanh², hardtanh'² on the grid.
    tables: [Vec<f64>; 6],
}

impl Default for TabulatedAverages {
    fn default() -> Self {
        Self::new()
    }
}

impl TabulatedAverages {
    /// Builds the tables (≈ 0.2 s).
    pub fn new() -> Self {
        let exact = GaussianAverage::new();
        let (u0, u1) = (S_MIN.ln(), S_MAX.ln());
        let du = (u1 - u0) / (POINTS - 1) as f64;
        let s_at = |k: usize| (u0 + du * k as f64).exp();
        let col = |f: &dyn Fn(f64) -> f64| (0..POINTS).map(|k| f(s_at(k))).collect::<Vec<f64>>();
        let tables = [
            col(&|s| exact.sigmoid_sq(s)),
            col(&|s| exact.dsigmoid_sq(s)),
            col(&|s| exact.phi_sq(Activation::Tanh, s)),
            col(&|s| exact.dphi_sq(Activation::Tanh, s)),
            col(&|s| exact.phi_sq(Activation::HardTanh, s)),
            col(&|s| exact.dphi_sq(Activation::HardTanh, s)),
        ];
        TabulatedAverages {
            exact,
            u0,
            du,
            tables,
        }
    }

    /// Catmull–Rom interpolation of table `k` at `s` in `[S_MIN, S_MAX)`.
    fn interp(&self, k: usize, s: f64) -> f64 {
        let t = (s.ln() - self.u0) / self.du;
        let i = (t.floor() as usize).clamp(1, POINTS - 3);
        let x = t - i as f64;
        let y = &self.tables[k];
        let (p0, p1, p2, p3) = (y[i - 1], y[i], y[i + 1], y[i + 2]);
        p1 + 0.5
            * x
            * (p2 - p0
                + x * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + x * (3.0 * (p1 - p2) + p3 - p0)))
    }

    fn act_index(act: Activation) -> usize {
        match act {
            Activation::Tanh => 2,
            Activation::HardTanh => 4,
        }
    }
}

impl FieldAverages for TabulatedAverages {
    fn quadrature(&self) -> &GaussianAverage {
        &self.exact
    }
    fn sigmoid_sq(&self, s: f64) -> f64 {
        match s {
            s if s < S_MIN => 0.25 + s * s / 16.0,
            s if s >= S_MAX => self.exact.sigmoid_sq(s),
            s => self.interp(0, s),
        }
    }
    fn dsigmoid_sq(&self, s: f64) -> f64 {
        match s {
            s if s < S_MIN => 1.0 / 16.0 - s * s / 32.0,
            s if s >= S_MAX => self.exact.dsigmoid_sq(s),
            s => self.interp(1, s),
        }
    }
    fn phi_sq(&self, act: Activation, s: f64) -> f64 {
        match s {
            // tanh(x)² = x² − 2x⁴/3 + …, E[X⁴] = 3; hard-tanh is linear there
            s if s < S_MIN => {
                s * s
                    - if act == Activation::Tanh {
                        2.0 * s.powi(4)
                    } else {
                        0.0
                    }
            }
            s if s >= S_MAX => self.exact.phi_sq(act, s),
            s => self.interp(Self::act_index(act), s),
        }
    }
    fn dphi_sq(&self, act: Activation, s: f64) -> f64 {
        match s {
            s if s < S_MIN => {
                1.0 - if act == Activation::Tanh {
                    2.0 * s * s
                } else {
                    0.0
                }
            }
            s if s >= S_MAX => self.exact.dphi_sq(act, s),
            s => self.interp(Self::act_index(act) + 1, s),
        }
    }
}

/// A computed phase diagram (zero biases, `tanh`).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseDiagram {
    /// Grid of `σ_h` (columns).
    pub sigma_h: Vec<f64>,
    /// Grid of `σ_r` (rows).
    pub sigma_r: Vec<f64>,
    /// `regions[i][j]`: region at `(σ_h[j], σ_r[i])` (written by name).
    #[serde(serialize_with = "region_grid_names")]
    pub regions: Vec<Vec<GruRegion>>,
    /// `ρ_s²` of the non-zero fixed point (`null` where none exists).
    pub shaping_sq: Vec<Vec<Option<f64>>>,
    /// The bifurcation curve `σ_r*(σ_h)` on `√2 < σ_h < 2`.
    pub bifurcation: Vec<(f64, f64)>,
    /// Seconds spent (tables included).
    pub seconds: f64,
}

/// The regions in a fixed order (the plots' legends and colours).
pub const REGION_ORDER: [GruRegion; 5] = [
    GruRegion::StableZero,
    GruRegion::Coexistence,
    GruRegion::StableNonZero,
    GruRegion::MarginallyStable,
    GruRegion::Chaotic,
];

/// A region's name in reports and figures.
pub fn region_name(r: GruRegion) -> &'static str {
    match r {
        GruRegion::StableZero => "stable zero fixed point",
        // the paper's "coexistence (stable zero + chaos)": at N ≤ 4000
        // chaos from large states appears only above about 2σ_r*, and the
        // extrapolation to N → ∞ does not decide whether its onset tends
        // to σ_r* (docs/THEORY.md §10), so the name states what the
        // mean-field theory shows and no more
        GruRegion::Coexistence => "stable zero + non-zero MFT solution",
        GruRegion::StableNonZero => "stable non-zero fixed point",
        GruRegion::MarginallyStable => "marginally stable (large sigma_z)",
        GruRegion::Chaotic => "chaotic",
    }
}

/// Writes a region by its name ([`region_name`]): `serialize_with` for
/// report fields.
pub fn region_by_name<S: serde::Serializer>(r: &GruRegion, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(region_name(*r))
}

/// Writes regions by name ([`region_name`]).
pub fn region_names<S: serde::Serializer>(r: &[GruRegion], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(|&r| region_name(r)))
}

/// Writes a grid of regions by name ([`region_name`]).
pub fn region_grid_names<S: serde::Serializer>(
    grid: &[Vec<GruRegion>],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        grid.iter()
            .map(|row| row.iter().map(|&r| region_name(r)).collect::<Vec<_>>()),
    )
}

/// Writes an optional region by name (`null` for none).
pub fn optional_region_name<S: serde::Serializer>(
    r: &Option<GruRegion>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_some(region_name(*r)),
        None => s.serialize_none(),
    }
}

/// One solved column: its index and, per σ_r, the region and ρ_s².
type Column = (usize, Vec<(GruRegion, Option<f64>)>);

fn grid(max: f64, points: usize) -> Vec<f64> {
    (0..points)
        .map(|k| max * (k as f64 + 0.5) / points as f64)
        .collect()
}

/// Computes the diagram on `points × points` cell centres of
/// `(0, sigma_h_max] × (0, sigma_r_max]`, on two threads.
pub fn compute(
    sigma_h_max: f64,
    sigma_r_max: f64,
    points: usize,
    progress: impl Fn(usize) + Sync,
) -> Result<PhaseDiagram, HostError> {
    for (name, v) in [
        (Param::SigmaHMax, sigma_h_max),
        (Param::SigmaRMax, sigma_r_max),
    ] {
        if !(v.is_finite() && v > 0.0 && v <= crate::io::limits::MAX_SCALE) {
            return Err(HostError::invalid(
                name,
                format!(
                    " must be in (0, {:e}], got {v:e}",
                    crate::io::limits::MAX_SCALE
                ),
            ));
        }
    }
    if !(2..=2000).contains(&points) {
        return Err(HostError::invalid(
            Param::Points,
            format!(" must be in 2..=2000, got {points}"),
        ));
    }
    let t0 = std::time::Instant::now();
    let mft = Mft::with_averages(TabulatedAverages::new());
    let (hs, rs) = (grid(sigma_h_max, points), grid(sigma_r_max, points));
    let columns: Vec<usize> = (0..points).collect();
    let halves = columns.split_at(points / 2);
    let solve = |cols: &[usize]| -> Result<Vec<Column>, HostError> {
        let mut out = vec![];
        for &j in cols {
            let mut col = Vec::with_capacity(points);
            for &sr in &rs {
                let p = GruMftParams::new(hs[j], sr);
                let region = mft.classify(&p)?;
                let fp = mft.fixed_point(&p)?.map(|f| f.shaping_sq);
                col.push((region, fp));
            }
            progress(points);
            out.push((j, col));
        }
        Ok(out)
    };
    let (a, b) = rayon::join(|| solve(halves.0), || solve(halves.1));
    let mut cols: Vec<Column> = a?;
    cols.extend(b?);
    cols.sort_by_key(|c| c.0);
    let regions = (0..points)
        .map(|i| cols.iter().map(|c| c.1[i].0).collect())
        .collect();
    let shaping_sq = (0..points)
        .map(|i| cols.iter().map(|c| c.1[i].1).collect())
        .collect();
    let lo = std::f64::consts::SQRT_2;
    let mut bifurcation = vec![];
    for k in 1..60 {
        let sh = lo + (2.0 - lo) * k as f64 / 60.0;
        if sh <= sigma_h_max {
            // near √2 the critical σ_r exceeds the solver's range: off the plot
            match mft.bifurcation_sigma_r(sh) {
                Ok(sr) if sr <= sigma_r_max => bifurcation.push((sh, sr)),
                Ok(_) | Err(gatedyn::Error::Infeasible { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(PhaseDiagram {
        sigma_h: hs,
        sigma_r: rs,
        regions,
        shaping_sq,
        bifurcation,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_quadrature() {
        let tab = TabulatedAverages::new();
        let exact = GaussianAverage::new();
        let mut worst = 0.0f64;
        for k in 0..400 {
            // scales from 1e-4 to 3000, off the table nodes
            let s = 10f64.powf(-4.0 + 7.5 * (k as f64 + 0.37) / 400.0);
            for act in [Activation::Tanh, Activation::HardTanh] {
                let pairs = [
                    (tab.sigmoid_sq(s), exact.sigmoid_sq(s)),
                    (tab.dsigmoid_sq(s), exact.dsigmoid_sq(s)),
                    (tab.phi_sq(act, s), exact.phi_sq(act, s)),
                    (tab.dphi_sq(act, s), exact.dphi_sq(act, s)),
                ];
                for (q, (a, b)) in pairs.into_iter().enumerate() {
                    let e = (a - b).abs() / b.abs().max(1e-300);
                    if e > 1e-6 {
                        eprintln!("{act:?} fn {q} s {s:e}: {a} vs {b} ({e:e})");
                    }
                    worst = worst.max(e);
                }
            }
        }
        assert!(worst <= 1e-6, "worst relative error {worst:e}");
    }

    #[test]
    fn tabulated_mft_reproduces_reference_values() {
        let mft = Mft::with_averages(TabulatedAverages::new());
        let fp = mft
            .fixed_point(&GruMftParams::new(2.5, 0.0))
            .unwrap()
            .unwrap();
        assert!((fp.c_h - 0.20894).abs() < 5e-6 && (fp.shaping_sq - 1.0482).abs() < 5e-5);
        assert!((mft.bifurcation_sigma_r(1.8).unwrap() - 8.157).abs() < 5e-4);
    }
}
