//! The reference scenario, shared bit for bit by the firmware and by the
//! host (`firmware-reference/src/main.rs` includes this file): pure
//! `no_std` code over `gatedyn`, no I/O.
//!
//! A GRU reservoir (N = 32, one input) and an LSTM (N = 16, one input) are
//! initialised from a fixed seed at an "edge of stability" scale chosen by
//! the mean-field theory (zero-fixed-point radius 0.95), driven by a sine
//! for 200 steps; then the matrix-free spectral radius of the Jacobian at
//! the state reached, the radius predicted from that state, and the MFT
//! values: the phase-diagram region and the bifurcation `σ_r*(σ_h)`.
//!
//! The theory runs on the device paths of the core: the Gaussian averages
//! from the flash tables (`gatedyn::field_table`), the supports summed in
//! `f32`, `CurveOptions::device()` and `BifurcationOptions::device()`
//! (each within its stated error of the accurate host values, which
//! `firmware-reference/src/main.rs` checks on these very states).

use gatedyn::field_table::TableAverages;
use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::mft::{BifurcationOptions, GruMftParams, GruRegion, Mft};
use gatedyn::operator::{GruJacobian, LstmJacobian};
use gatedyn::spectral_curve::{
    predicted_radius, CurveOptions, GruSigmas, GruSupport, LstmSigmas, LstmSupport,
};
use gatedyn::spectral_radius::{ArnoldiOptions, RadiusEstimate, SpectralRadius};
use gatedyn::{Error, Gate, Gru, GruTrace, Lstm, LstmTrace};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Hidden size of the GRU reservoir.
pub const GRU_N: usize = 32;
/// Hidden size of the LSTM.
pub const LSTM_N: usize = 16;
/// Driven steps.
pub const STEPS: usize = 200;
/// Seed of the weights.
pub const SEED: u64 = 2024;
/// Target zero-fixed-point spectral radius.
pub const TARGET_RADIUS: f64 = 0.95;
/// Krylov dimension of the on-device estimator.
pub const KRYLOV: usize = 16;
/// Fixed gate scales (σ_z, σ_r for the GRU; σ_f, σ_i, σ_o for the LSTM).
pub const FIXED_SIGMA: f64 = 1.0;

/// The mean-field solver the device uses: the flash tables.
pub type DeviceMft = Mft<TableAverages>;

/// The drive: `x_k = sin(0.2 k)`.
pub fn drive(k: usize) -> f32 {
    libm::sinf(0.2 * k as f32)
}

/// FNV-1a over the bits of `f32` values (checksum for bit-identity).
pub fn checksum(xs: &[f32]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for x in xs {
        for b in x.to_bits().to_le_bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// Checksum of every weight of the given gates, in order.
fn gates_checksum<const N: usize>(gates: &[&Gate<f32, N, 1>]) -> u32 {
    let mut sum = 0u32;
    for g in gates {
        sum ^= checksum(g.u.as_flattened())
            ^ checksum(g.w.as_flattened()).rotate_left(8)
            ^ checksum(&g.b).rotate_left(16);
        sum = sum.rotate_left(5);
    }
    sum
}

/// The on-device estimator's settings (shared with `trained.rs`).
pub fn arnoldi_options() -> ArnoldiOptions {
    ArnoldiOptions {
        krylov_dim: Some(KRYLOV),
        tol: 1e-5,
        max_products: 4000,
        ..Default::default()
    }
}

/// What the GRU scenario reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GruReport {
    /// The σ_h chosen by the MFT.
    pub sigma_h: f64,
    /// Checksum of all weights (z, r, h gates).
    pub weights_checksum: u32,
    /// Checksum of the final state.
    pub state_checksum: u32,
    /// Mean square activity of the final state.
    pub mean_square: f32,
    /// The matrix-free estimate.
    pub radius: RadiusEstimate,
    /// The predicted radius from the final state.
    pub predicted: f64,
    /// Zero-fixed-point level `σ_h² E[r²]` (stable iff < 1).
    pub zero_level: f64,
    /// Phase-diagram region of `(σ_h, σ_r)`.
    pub region: GruRegion,
    /// The bifurcation `σ_r*(σ_h)` at the chosen `σ_h`.
    pub bifurcation: f64,
}

/// What the LSTM scenario reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LstmReport {
    /// The σ_c chosen by the MFT.
    pub sigma_c: f64,
    /// Checksum of all weights.
    pub weights_checksum: u32,
    /// Checksum of the final `(h, c)`.
    pub state_checksum: u32,
    /// The matrix-free estimate.
    pub radius: RadiusEstimate,
    /// The predicted radius from the final state.
    pub predicted: f64,
    /// Zero-fixed-point support level at λ = 1 (stable iff < 1).
    pub zero_level: f64,
}

/// The stages of a scenario, handed to the caller's `mark` as each ends
/// (the firmware prints the instructions each took; the host ignores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The principled initialisation (`σ_h` or `σ_c` from the theory).
    Initialisation,
    /// Drawing the weights.
    Weights,
    /// The driven steps.
    Drive,
    /// The matrix-free spectral radius.
    SpectralRadius,
    /// The predicted radius from the state (device curve, `f32` sums).
    PredictedRadius,
    /// The phase-diagram region (flash tables).
    Classification,
    /// The bifurcation `σ_r*` (flash tables, Illinois).
    Bifurcation,
}

impl Stage {
    /// The stage's name in the firmware's log.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Initialisation => "initialisation",
            Stage::Weights => "weights",
            Stage::Drive => "drive",
            Stage::SpectralRadius => "spectral radius",
            Stage::PredictedRadius => "predicted radius",
            Stage::Classification => "classification",
            Stage::Bifurcation => "bifurcation",
        }
    }
}

/// Builds the GRU reservoir in place (the caller owns the memory).
pub fn build_gru(
    mft: &DeviceMft,
    net: &mut Gru<f32, GRU_N, 1>,
    mark: &mut dyn FnMut(Stage),
) -> Result<f64, Error> {
    let sigma_h = mft.gru_sigma_h_for_zero_radius(TARGET_RADIUS, &GruScales::default())?;
    mark(Stage::Initialisation);
    let mut rng = XorShiftRng::seed_from_u64(SEED);
    let gate = |s: f64| GateScale {
        sigma: s,
        bias: 0.0,
        input: 1.0,
    };
    net.randomize(
        &mut rng,
        [gate(FIXED_SIGMA), gate(FIXED_SIGMA), gate(sigma_h)],
    )?;
    mark(Stage::Weights);
    Ok(sigma_h)
}

/// Drives the GRU for [`STEPS`] steps from zero; leaves `trace` at the
/// state reached (the step taken there with the next drive value).
pub fn drive_gru(
    net: &Gru<f32, GRU_N, 1>,
    h: &mut [f32; GRU_N],
    trace: &mut GruTrace<f32, GRU_N>,
) -> Result<(), Error> {
    *h = [0.0; GRU_N];
    for k in 0..STEPS {
        net.step_traced(h, &[drive(k)], trace)?;
        *h = trace.next;
    }
    net.step_traced(h, &[drive(STEPS)], trace)
}

/// The whole GRU scenario; `mark` is told as each [`Stage`] ends.
pub fn run_gru(
    mft: &DeviceMft,
    net: &mut Gru<f32, GRU_N, 1>,
    est: &mut SpectralRadius<KRYLOV>,
    mark: &mut dyn FnMut(Stage),
) -> Result<GruReport, Error> {
    let sigma_h = build_gru(mft, net, mark)?;
    let mut h = [0.0f32; GRU_N];
    let mut trace = GruTrace::zeroed();
    drive_gru(net, &mut h, &mut trace)?;
    mark(Stage::Drive);
    let mut basis = [0.0f32; GRU_N * (KRYLOV + 1)];
    let mut scratch = [0.0f32; GRU_N];
    let mut op = GruJacobian::new(net.view(), &h, trace.view(), &mut scratch)?;
    let radius = est.estimate(&mut op, &mut basis, &arnoldi_options())?;
    mark(Stage::SpectralRadius);
    let sig = GruSigmas {
        z: FIXED_SIGMA,
        r: FIXED_SIGMA,
        h: sigma_h,
    };
    let support = GruSupport::<f32, f32>::with_precision(sig, net.activation, &h, trace.view())?;
    let (predicted, _) = predicted_radius(&support, &CurveOptions::device())?;
    mark(Stage::PredictedRadius);
    let p = GruMftParams::new(sigma_h, FIXED_SIGMA);
    let zero_level = sigma_h * sigma_h * mft.mean_sigmoid_sq(0.0);
    let region = mft.classify(&p)?;
    mark(Stage::Classification);
    let bifurcation = mft.bifurcation_sigma_r_with(sigma_h, &BifurcationOptions::device())?;
    mark(Stage::Bifurcation);
    let wsum = gates_checksum(&[&net.z, &net.r, &net.h]);
    let mean_square = h.iter().map(|x| x * x).sum::<f32>() / GRU_N as f32;
    Ok(GruReport {
        sigma_h,
        weights_checksum: wsum,
        state_checksum: checksum(&h),
        mean_square,
        radius,
        predicted,
        zero_level,
        region,
        bifurcation,
    })
}

/// Builds the LSTM in place.
pub fn build_lstm(
    mft: &DeviceMft,
    net: &mut Lstm<f32, LSTM_N, 1>,
    mark: &mut dyn FnMut(Stage),
) -> Result<f64, Error> {
    let sigma_c = mft.lstm_sigma_c_for_zero_radius(TARGET_RADIUS, &LstmScales::default())?;
    mark(Stage::Initialisation);
    let mut rng = XorShiftRng::seed_from_u64(SEED + 1);
    let gate = |s: f64| GateScale {
        sigma: s,
        bias: 0.0,
        input: 1.0,
    };
    net.randomize(
        &mut rng,
        [
            gate(FIXED_SIGMA),
            gate(FIXED_SIGMA),
            gate(FIXED_SIGMA),
            gate(sigma_c),
        ],
    )?;
    mark(Stage::Weights);
    Ok(sigma_c)
}

/// Drives the LSTM for [`STEPS`] steps from zero; leaves `trace` at the
/// state reached.
pub fn drive_lstm(
    net: &Lstm<f32, LSTM_N, 1>,
    h: &mut [f32; LSTM_N],
    c: &mut [f32; LSTM_N],
    trace: &mut LstmTrace<f32, LSTM_N>,
) -> Result<(), Error> {
    *h = [0.0; LSTM_N];
    *c = [0.0; LSTM_N];
    for k in 0..STEPS {
        net.step_traced(h, c, &[drive(k)], trace)?;
        *h = trace.h_next;
        *c = trace.c_next;
    }
    net.step_traced(h, c, &[drive(STEPS)], trace)
}

/// The whole LSTM scenario; `mark` is told as each [`Stage`] ends.
pub fn run_lstm(
    mft: &DeviceMft,
    net: &mut Lstm<f32, LSTM_N, 1>,
    est: &mut SpectralRadius<KRYLOV>,
    mark: &mut dyn FnMut(Stage),
) -> Result<LstmReport, Error> {
    let sigma_c = build_lstm(mft, net, mark)?;
    let (mut h, mut c) = ([0.0f32; LSTM_N], [0.0f32; LSTM_N]);
    let mut trace = LstmTrace::zeroed();
    drive_lstm(net, &mut h, &mut c, &mut trace)?;
    mark(Stage::Drive);
    let mut basis = [0.0f32; 2 * LSTM_N * (KRYLOV + 1)];
    let mut op = LstmJacobian::new(net.view(), &h, &c, trace.view())?;
    let radius = est.estimate(&mut op, &mut basis, &arnoldi_options())?;
    mark(Stage::SpectralRadius);
    let sig = LstmSigmas {
        f: FIXED_SIGMA,
        i: FIXED_SIGMA,
        o: FIXED_SIGMA,
        c: sigma_c,
    };
    let support = LstmSupport::<f32, f32>::with_precision(sig, net.activation, &c, trace.view())?;
    let (predicted, _) = predicted_radius(&support, &CurveOptions::device())?;
    mark(Stage::PredictedRadius);
    let zero_level = mft.lstm_zero_level(&LstmScales::recurrent(0.0, 0.0, 0.0, sigma_c))?;
    let wsum = gates_checksum(&[&net.f, &net.i, &net.o, &net.c]);
    let mut state = [0.0f32; 2 * LSTM_N];
    state[..LSTM_N].copy_from_slice(&h);
    state[LSTM_N..].copy_from_slice(&c);
    Ok(LstmReport {
        sigma_c,
        weights_checksum: wsum,
        state_checksum: checksum(&state),
        radius,
        predicted,
        zero_level,
    })
}

/// The parity lines both sides print, as `(key, value)` with values
/// rendered exactly (hex bits for floats, so equal text means equal bits).
pub fn parity_lines(g: &GruReport, l: &LstmReport, mut emit: impl FnMut(&str, u64, f64)) {
    emit("gru.sigma_h", g.sigma_h.to_bits(), g.sigma_h);
    emit(
        "gru.weights_checksum",
        g.weights_checksum as u64,
        g.weights_checksum as f64,
    );
    emit(
        "gru.state_checksum",
        g.state_checksum as u64,
        g.state_checksum as f64,
    );
    emit(
        "gru.mean_square",
        g.mean_square.to_bits() as u64,
        g.mean_square as f64,
    );
    emit("gru.radius", g.radius.radius.to_bits(), g.radius.radius);
    emit(
        "gru.products",
        g.radius.products as u64,
        g.radius.products as f64,
    );
    emit("gru.predicted", g.predicted.to_bits(), g.predicted);
    emit("gru.zero_level", g.zero_level.to_bits(), g.zero_level);
    emit("gru.region", g.region as u64, g.region as u64 as f64);
    emit("gru.bifurcation", g.bifurcation.to_bits(), g.bifurcation);
    emit("lstm.sigma_c", l.sigma_c.to_bits(), l.sigma_c);
    emit(
        "lstm.weights_checksum",
        l.weights_checksum as u64,
        l.weights_checksum as f64,
    );
    emit(
        "lstm.state_checksum",
        l.state_checksum as u64,
        l.state_checksum as f64,
    );
    emit("lstm.radius", l.radius.radius.to_bits(), l.radius.radius);
    emit(
        "lstm.products",
        l.radius.products as u64,
        l.radius.products as f64,
    );
    emit("lstm.predicted", l.predicted.to_bits(), l.predicted);
    emit("lstm.zero_level", l.zero_level.to_bits(), l.zero_level);
}

/// Steps the chaos monitor discards.
pub const MONITOR_TRANSIENT: usize = 100;
/// Steps the chaos monitor measures.
pub const MONITOR_STEPS: usize = 400;

/// The chaos monitor (docs/THEORY.md §8): the largest Lyapunov exponent
/// (`k = 1`) of the GRU's autonomous trajectory from `h = 0.5` at zero
/// input, with its batch-means error. The scenario's GRU sits at a
/// zero-fixed-point radius of 0.95, so the trajectory decays and the
/// exponent tends to `ln ρ(J(0))` (≈ ln 0.95 = −0.051 up to finite-N
/// deviations): negative, not chaotic.
pub fn chaos_monitor(net: &Gru<f32, GRU_N, 1>) -> Result<(f64, f64), Error> {
    use gatedyn::lyapunov::{lyapunov_spectrum, GruTrajectory, LyapunovOptions};
    let input = [0.0f32];
    let (mut h, mut prev, mut scratch) = ([0.5f32; GRU_N], [0.0f32; GRU_N], [0.0f32; GRU_N]);
    let mut trace: GruTrace<f32, GRU_N> = GruTrace::zeroed();
    let mut traj = GruTrajectory::new(
        net.view(),
        &input,
        &mut h,
        &mut prev,
        trace.view_mut(),
        &mut scratch,
    )?;
    let (mut tangent, mut work) = ([0.0f32; GRU_N], [0.0f32; GRU_N]);
    let (mut batch, mut exponent, mut error) = ([0.0f64; 1], [0.0f64; 1], [0.0f64; 1]);
    lyapunov_spectrum(
        &mut traj,
        &LyapunovOptions {
            transient: MONITOR_TRANSIENT,
            steps: MONITOR_STEPS,
            batches: 4,
            seed: 0x1234_5678,
        },
        &mut tangent,
        &mut work,
        &mut batch,
        &mut exponent,
        &mut error,
        |_, _| {},
    )?;
    Ok((exponent[0], error[0]))
}

/// The chaos monitor's parity lines.
pub fn monitor_parity_lines(lambda: f64, error: f64, mut emit: impl FnMut(&str, u64, f64)) {
    emit("gru.lyapunov", lambda.to_bits(), lambda);
    emit("gru.lyapunov_error", error.to_bits(), error);
}
