//! Trained networks in files: ONNX and PyTorch safetensors read
//! ([`import`]) and written ([`save`]), and Rust source for firmware
//! ([`rust_source`]).
//!
//! May import: the crate root, `io`, `net`.

pub mod import;
mod layout;
mod onnx;
pub mod onnx_proto;
pub mod rust_source;
mod safetensors;
pub mod save;

pub use import::{load, Model, ModelFormat, ModelInfo};
pub use layout::{Framework, GruBlocks, LstmBlocks, MAX_HIDDEN, MAX_INPUTS};
