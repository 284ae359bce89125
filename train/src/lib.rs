//! `gatedyn-train`: training gatedyn's GRUs and LSTMs against the
//! dynamical regime they start in (docs/THEORY.md §13, §14).
//!
//! * [`params`]: the trained parameters ([`params::Trainable`]) and the
//!   order of their blocks, shared by the gradient and the optimiser;
//! * [`loss`], [`bptt`], [`bptt_batch`]: the loss and its exact gradient,
//!   sequence by sequence and batched;
//! * [`adam`]: the optimiser; [`fit`]: a training run with its history;
//! * [`tasks`], [`mnist`]: the tasks and the MNIST IDX files;
//! * [`sweep`]: the gate-scale grid of the paper's Fig. 4, in shards.
//!
//! May import: `gatedyn` (the core) and `gatedyn-host` (networks, files,
//! linear algebra). Nothing here knows the command line.

pub mod adam;
pub mod bptt;
pub mod bptt_batch;
pub mod fit;
pub mod loss;
pub mod mnist;
pub mod params;
pub mod sweep;
pub mod tasks;
