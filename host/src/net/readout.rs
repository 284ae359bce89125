//! The linear readout after a recurrent layer: `y = W h + b`.

use super::weights::CellWeights;
use crate::io::arrays::Table;
use gatedyn::Activation;

/// A linear readout `y = W h + b` found after the recurrent node of an ONNX
/// graph: a `MatMul` (or `Gemm`) with stored weights, fed from the layer's
/// output through shape-only nodes (`Squeeze`, `Reshape`, `Transpose`,
/// `Flatten`, `Unsqueeze`, `Identity`), optionally followed by an `Add` of
/// a stored bias. `Gemm`'s `alpha`, `beta` and `transB` are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadoutWeights {
    /// Outputs `K`.
    pub outputs: usize,
    /// `K×N`, row-major (`w[k·N + j]` multiplies `h_j` in output `k`).
    pub w: Vec<f64>,
    /// `K`.
    pub b: Vec<f64>,
}

impl ReadoutWeights {
    /// `y = W h + b` for one state `h` (length `N`).
    pub fn output(&self, h: &[f64]) -> Vec<f64> {
        let n = h.len();
        (0..self.outputs)
            .map(|o| {
                let row = &self.w[o * n..(o + 1) * n];
                row.iter().zip(h).map(|(a, b)| a * b).sum::<f64>() + self.b[o]
            })
            .collect()
    }

    /// `y = W h + b` for every row of `states` (`T×N`).
    pub fn apply(&self, states: &Table) -> Table {
        let k = self.outputs;
        let mut data = Vec::with_capacity(states.rows * k);
        for t in 0..states.rows {
            data.extend(self.output(states.row(t)));
        }
        Table {
            rows: states.rows,
            cols: k,
            data,
        }
    }
}

/// A trained network, borrowed: its recurrent weights, `φ` and readout
/// (what [`crate::formats::save`] writes).
#[derive(Debug, Clone, Copy)]
pub struct TrainedRef<'a> {
    /// The recurrent weights.
    pub cell: &'a CellWeights,
    /// `φ`.
    pub activation: Activation,
    /// The linear readout.
    pub readout: &'a ReadoutWeights,
}

impl TrainedRef<'_> {
    /// Hidden units `N` (from the readout's `K×N` weights).
    pub fn n(&self) -> usize {
        self.readout.w.len() / self.readout.outputs.max(1)
    }

    /// Inputs `I`.
    pub fn inputs(&self) -> usize {
        self.cell.inputs()
    }
}
