//! What a network is made of, by name: the cell ([`Cell`]), its gates
//! ([`GateName`]), their scales ([`Scales`], the core's named scales
//! types) and the memory a network of a given size needs.

use crate::HostError;
use crate::Param;
use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::GruForm;
use std::fmt;

/// Which cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Gates `z, r, h`.
    Gru,
    /// Gates `f, i, o, c`.
    Lstm,
}

impl fmt::Display for Cell {
    /// `GRU` / `LSTM` in text; JSON says `"gru"` / `"lstm"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cell::Gru => "GRU",
            Cell::Lstm => "LSTM",
        })
    }
}

impl Cell {
    /// Number of gates (and of `N×N` recurrent matrices).
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
    /// Gate names in fill order.
    pub fn gate_names(self) -> &'static [GateName] {
        match self {
            Cell::Gru => &[GateName::Z, GateName::R, GateName::H],
            Cell::Lstm => &[GateName::F, GateName::I, GateName::O, GateName::C],
        }
    }
    /// State dimension for `n` units (`n` or `2n`).
    pub fn state_dim(self, n: usize) -> usize {
        match self {
            Cell::Gru => n,
            Cell::Lstm => 2 * n,
        }
    }
    /// The gate whose scale creates slow modes (docs/THEORY.md §4): the update
    /// gate `z` of a GRU, the forget gate `f` of an LSTM.
    pub fn slow_gate(self) -> GateName {
        match self {
            Cell::Gru => GateName::Z,
            Cell::Lstm => GateName::F,
        }
    }
}

/// A gate by its letter (`z`, `r`, `h`; `f`, `i`, `o`, `c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateName {
    /// GRU update gate.
    Z,
    /// GRU reset gate.
    R,
    /// GRU candidate.
    H,
    /// LSTM forget gate.
    F,
    /// LSTM input gate.
    I,
    /// LSTM output gate.
    O,
    /// LSTM cell candidate.
    C,
}

impl fmt::Display for GateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateName::Z => "z",
            GateName::R => "r",
            GateName::H => "h",
            GateName::F => "f",
            GateName::I => "i",
            GateName::O => "o",
            GateName::C => "c",
        })
    }
}

/// The gate scales of one network: the core's named scales types, one per
/// cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scales {
    /// GRU `z, r, h`.
    Gru(GruScales),
    /// LSTM `f, i, o, c`.
    Lstm(LstmScales),
}

impl Scales {
    /// Which cell these scales are for.
    pub fn cell(&self) -> Cell {
        match self {
            Scales::Gru(_) => Cell::Gru,
            Scales::Lstm(_) => Cell::Lstm,
        }
    }
    /// Every scale finite and `≥ 0`; the error names the scale
    /// (`Param::Scale` with the core's name: `sigma_r`, `bias_h`, …).
    pub fn check(&self) -> Result<(), HostError> {
        let r = match self {
            Scales::Gru(s) => s.check(),
            Scales::Lstm(s) => s.check(),
        };
        r.map_err(|e| match e {
            gatedyn::Error::InvalidParameter { name } => {
                HostError::invalid(Param::Scale(name), " must be finite and >= 0".into())
            }
            other => HostError::Core(other),
        })
    }
    /// `(gate, its scales)` in fill order: the one place that pairs the
    /// gate letters with the core's scales (`in_order` and `gate_names`
    /// follow the same fill order, docs/THEORY.md §1).
    pub fn gates(&self) -> Vec<(GateName, GateScale)> {
        let scales = match self {
            Scales::Gru(s) => s.in_order().to_vec(),
            Scales::Lstm(s) => s.in_order().to_vec(),
        };
        self.cell()
            .gate_names()
            .iter()
            .copied()
            .zip(scales)
            .collect()
    }
    /// The recurrent scale `σ` of `gate`, or `None` when the cell has no
    /// such gate.
    pub fn sigma(&self, gate: GateName) -> Option<f64> {
        self.gates()
            .into_iter()
            .find(|(g, _)| *g == gate)
            .map(|(_, s)| s.sigma)
    }
    /// These scales with the recurrent scale of `gate` set to `value`.
    pub fn with_sigma(self, gate: GateName, value: f64) -> Result<Self, HostError> {
        let cell = self.cell();
        let names = cell.gate_names();
        let Some(k) = names.iter().position(|g| *g == gate) else {
            return Err(HostError::invalid(
                Param::Gate,
                format!(
                    " {gate} is not a gate of the {cell} (one of {})",
                    names
                        .iter()
                        .map(|g| g.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        Ok(match self {
            Scales::Gru(s) => {
                let mut a = s.in_order();
                a[k].sigma = value;
                Scales::Gru(a.into())
            }
            Scales::Lstm(s) => {
                let mut a = s.in_order();
                a[k].sigma = value;
                Scales::Lstm(a.into())
            }
        })
    }
    /// `(gate, σ)` pairs in fill order, for reports.
    pub fn sigmas(&self) -> Vec<(GateName, f64)> {
        self.gates()
            .into_iter()
            .map(|(g, s)| (g, s.sigma))
            .collect()
    }
    /// `(gate, σ_b)` pairs in fill order, for reports.
    pub fn bias_sigmas(&self) -> Vec<(GateName, f64)> {
        self.gates().into_iter().map(|(g, s)| (g, s.bias)).collect()
    }
}

/// Bytes of `f64` a network of `n` units holds (weights of every gate).
pub fn weight_bytes(cell: Cell, n: usize) -> u128 {
    8 * cell.gates() as u128 * (n as u128) * (n as u128)
}

/// Bytes a network of size `n` needs with its dense Jacobian and the
/// eigen-solver's workspace (≈ 6 dense matrices of the state dimension).
pub fn bytes_needed(cell: Cell, n: usize) -> u128 {
    let d = cell.state_dim(n) as u128;
    weight_bytes(cell, n) + 8 * 6 * d * d
}

/// A GRU form's name in reports and files: `"reset_before"` (the paper's)
/// or `"reset_after"` (PyTorch's).
pub fn form_name<B>(form: &GruForm<B>) -> &'static str {
    if form.is_reset_after() {
        "reset_after"
    } else {
        "reset_before"
    }
}

/// `serde` for a [`GruForm<()>`] by its name ([`form_name`]), for report
/// and settings fields: `#[serde(with = "form_by_name")]`.
pub mod form_by_name {
    use gatedyn::GruForm;

    /// Writes the form's name.
    pub fn serialize<S: serde::Serializer>(form: &GruForm<()>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::form_name(form))
    }

    /// Reads `"reset_before"` or `"reset_after"`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<GruForm<()>, D::Error> {
        let name: String = serde::Deserialize::deserialize(d)?;
        match name.as_str() {
            "reset_before" => Ok(GruForm::ResetBefore),
            "reset_after" => Ok(GruForm::ResetAfter { recurrent_bias: () }),
            other => Err(serde::de::Error::custom(format!(
                "unknown GRU form {other:?} (reset_before or reset_after)"
            ))),
        }
    }
}

/// Writes an optional GRU form by its name (`null` for none, e.g. an
/// LSTM): `serialize_with` for report fields.
pub fn optional_form_name<S: serde::Serializer>(
    form: &Option<GruForm<()>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match form {
        Some(f) => s.serialize_some(form_name(f)),
        None => s.serialize_none(),
    }
}
