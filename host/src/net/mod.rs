//! Networks of run-time size: the cell and gate vocabulary, weights by
//! gate, traces, the [`Net`] that runs through the core's slice API, the
//! readout, and driving a network along inputs.
//!
//! May import: the crate root and `io`.

pub mod drive;
mod kinds;
mod network;
pub mod quantized;
mod readout;
mod trace;
mod weights;

pub use kinds::*;
pub use network::*;
pub use readout::{ReadoutWeights, TrainedRef};
pub use trace::*;
pub use weights::*;
