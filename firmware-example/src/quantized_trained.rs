//! The exported quantized networks on the device, shared bit for bit with
//! the host (`firmware-reference` includes this file): the reset-after GRU
//! of `tests/fixtures/trained/gru_after_n32_stable.onnx` as written by
//! `gatedyn export --rust --quantize int8|int16 --inputs inputs.npy`
//! (the committed `gru_after_n32_stable_int{8,16}.rs`, weights in flash),
//! driven from its initial state by the 100 steps of
//! `tests/fixtures/trained/inputs.npy` (embedded, quantized on the device
//! with the export's input step), then its readout.
//!
//! `cargo xtask firmware` compares every state with
//! `gatedyn run --quantize int8|int16` on the same model and inputs.

use gatedyn::quant::{quantize_input, QGru, QGruTrace, QWeight};
use gatedyn::{Error, Readout};

/// Hidden units of the exported network.
pub const N: usize = 32;
/// Its inputs.
pub const INPUTS: usize = 4;
/// Steps (the rows of `inputs.npy`).
pub const STEPS: usize = 100;

/// `inputs.npy` (100 × 4, little-endian `f32`).
static INPUTS_NPY: &[u8] = include_bytes!("../../tests/fixtures/trained/inputs.npy");

/// The rows of `inputs.npy`, or `None` when the file is not a 100 × 4
/// little-endian `f32` array (version 1 header).
pub fn inputs() -> Option<[[f32; INPUTS]; STEPS]> {
    let b = INPUTS_NPY;
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" || b[6] != 1 {
        return None;
    }
    let header_len = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = b.get(10..10 + header_len)?;
    let has = |needle: &[u8]| header.windows(needle.len()).any(|w| w == needle);
    if !(has(b"'<f4'") && has(b"(100, 4)") && has(b"'fortran_order': False")) {
        return None;
    }
    let data = b.get(10 + header_len..)?;
    if data.len() != STEPS * INPUTS * 4 {
        return None;
    }
    let mut rows = [[0.0f32; INPUTS]; STEPS];
    for (k, v) in rows.as_flattened_mut().iter_mut().enumerate() {
        let o = 4 * k;
        *v = f32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    }
    Some(rows)
}

/// What one exported network did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizedRun {
    /// FNV-1a over every state's `i16` values, step by step.
    pub states_checksum: u32,
    /// The last state, Q15.
    pub last: [i16; N],
    /// The readout of the last state (`h_q / 2¹⁵`, `f32`).
    pub readout: [f32; 2],
}

/// FNV-1a of `h`'s bytes, continued from `hash`.
pub fn fnv(mut hash: u32, h: &[i16]) -> u32 {
    for v in h {
        for byte in v.to_le_bytes() {
            hash ^= byte as u32;
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    hash
}

/// FNV-1a's starting value.
pub const FNV_START: u32 = 0x811C_9DC5;

/// One exported network: the static, its input step, initial state and
/// readout.
pub struct Export<W: 'static> {
    /// The network, in flash.
    pub net: &'static QGru<W, N, INPUTS>,
    /// The value of one input step.
    pub input_scale: f64,
    /// The initial state in Q15.
    pub h0: &'static [i16; N],
    /// The readout.
    pub readout: &'static Readout<f32, N, 2>,
}

/// The int8 export (`crate::trained_int8`: the including crate declares
/// the committed fixture as that module).
pub fn int8() -> Export<i8> {
    use crate::trained_int8 as e;
    Export {
        net: &e::TRAINED,
        input_scale: e::INPUT_SCALE,
        h0: &e::H0,
        readout: &e::READOUT,
    }
}

/// The int16 export (`crate::trained_int16`).
pub fn int16() -> Export<i16> {
    use crate::trained_int16 as e;
    Export {
        net: &e::TRAINED,
        input_scale: e::INPUT_SCALE,
        h0: &e::H0,
        readout: &e::READOUT,
    }
}

impl<W: QWeight> Export<W> {
    /// `"int8"` or `"int16"`.
    pub fn scheme(&self) -> &'static str {
        W::NAME
    }

    /// Runs the network from its initial state over `inputs`, quantized
    /// with its input step; `each` sees every state.
    pub fn run(
        &self,
        inputs: &[[f32; INPUTS]; STEPS],
        mut each: impl FnMut(&[i16; N]),
    ) -> Result<QuantizedRun, Error> {
        let mut h = *self.h0;
        let mut trace = QGruTrace::zeroed();
        let mut x = [0i16; INPUTS];
        let mut hash = FNV_START;
        for row in inputs {
            quantize_input(row, self.input_scale, &mut x)?;
            self.net.step(&h, &x, &mut trace)?;
            h = trace.next;
            hash = fnv(hash, &h);
            each(&h);
        }
        let mut y = [0.0f32; 2];
        self.readout.apply(&h.map(|v| v as f32 / 32768.0), &mut y)?;
        Ok(QuantizedRun {
            states_checksum: hash,
            last: h,
            readout: y,
        })
    }

    /// Bytes of flash of the network and its readout.
    pub fn flash(&self) -> usize {
        core::mem::size_of_val(self.net) + core::mem::size_of_val(self.readout)
    }
}

/// The parity lines of one run (`PARITY key=bits (value)`).
pub fn parity_lines(scheme: &str, r: &QuantizedRun, mut emit: impl FnMut(&str, &str, u64, f64)) {
    emit(
        scheme,
        "states_checksum",
        r.states_checksum as u64,
        r.states_checksum as f64,
    );
    emit(
        scheme,
        "last_checksum",
        fnv(FNV_START, &r.last) as u64,
        r.last[0] as f64,
    );
    for (k, y) in r.readout.iter().enumerate() {
        emit(
            scheme,
            if k == 0 { "readout0" } else { "readout1" },
            y.to_bits() as u64,
            *y as f64,
        );
    }
}
