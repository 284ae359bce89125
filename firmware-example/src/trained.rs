//! The exported-model scenario, shared bit for bit by the firmware and the
//! host (`firmware-reference/src/main.rs` includes this file): the
//! reset-after GRU of `tests/fixtures/trained/gru_after_n32_stable.onnx`,
//! written by `gatedyn export` into `trained_model.rs` as a `static` (its
//! weights in flash), driven by four sines for [`TRAINED_STEPS`] steps from
//! its initial state; then its linear readout (exported as `READOUT`) and
//! the matrix-free spectral radius of its Jacobian at the state reached.

use crate::scenario::{arnoldi_options, checksum, KRYLOV};
use crate::trained_model::{H0, INPUTS, N, OUTPUTS, READOUT, TRAINED};
use gatedyn::operator::GruJacobian;
use gatedyn::spectral_radius::{RadiusEstimate, SpectralRadius};
use gatedyn::{Error, GruTrace};

/// Driven steps.
pub const TRAINED_STEPS: usize = 100;

/// The drive: `x_k[j] = sin(0.2 k + 0.7 j)`.
pub fn trained_input(k: usize) -> [f32; INPUTS] {
    core::array::from_fn(|j| libm::sinf(0.2 * k as f32 + 0.7 * j as f32))
}

/// What the exported-model scenario reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainedReport {
    /// Checksum of the final state.
    pub state_checksum: u32,
    /// Mean square activity of the final state.
    pub mean_square: f32,
    /// The readout of the final state.
    pub readout: [f32; OUTPUTS],
    /// The matrix-free estimate at the final state.
    pub radius: RadiusEstimate,
}

/// Runs the exported model and measures its spectral radius.
pub fn run_trained(est: &mut SpectralRadius<KRYLOV>) -> Result<TrainedReport, Error> {
    let mut h = H0;
    let mut trace = GruTrace::zeroed();
    for k in 0..TRAINED_STEPS {
        TRAINED.step_traced(&h, &trained_input(k), &mut trace)?;
        h = trace.next;
    }
    TRAINED.step_traced(&h, &trained_input(TRAINED_STEPS), &mut trace)?;
    let mut basis = [0.0f32; N * (KRYLOV + 1)];
    let mut scratch = [0.0f32; N];
    let mut op = GruJacobian::new(TRAINED.view(), &h, trace.view(), &mut scratch)?;
    let radius = est.estimate(&mut op, &mut basis, &arnoldi_options())?;
    let mut readout = [0.0f32; OUTPUTS];
    READOUT.apply(&h, &mut readout)?;
    Ok(TrainedReport {
        state_checksum: checksum(&h),
        mean_square: h.iter().map(|x| x * x).sum::<f32>() / N as f32,
        readout,
        radius,
    })
}

/// The parity lines of this scenario (see `scenario::parity_lines`).
pub fn parity_lines(t: &TrainedReport, mut emit: impl FnMut(&str, u64, f64)) {
    emit(
        "trained.state_checksum",
        t.state_checksum as u64,
        t.state_checksum as f64,
    );
    emit(
        "trained.mean_square",
        t.mean_square.to_bits() as u64,
        t.mean_square as f64,
    );
    emit(
        "trained.readout_checksum",
        checksum(&t.readout) as u64,
        checksum(&t.readout) as f64,
    );
    emit("trained.radius", t.radius.radius.to_bits(), t.radius.radius);
    emit(
        "trained.products",
        t.radius.products as u64,
        t.radius.products as f64,
    );
}
