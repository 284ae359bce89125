//! Trained networks in files: ONNX, PyTorch safetensors and Keras read
//! ([`import`]), ONNX and safetensors written ([`save`]), and Rust source
//! for firmware ([`rust_source`]).
//!
//! May import: the crate root, `io`, `net`.

pub mod external;
pub mod import;
pub mod keras;
mod layout;
mod onnx;
pub mod onnx_proto;
pub mod rust_source;
mod safetensors;
pub mod save;

pub use external::{ExternalData, InMemoryFiles, ModelFolder};
pub use import::{decode, load, Model, ModelFormat, ModelInfo};
pub use layout::{Framework, GruBlocks, LstmBlocks, MAX_HIDDEN, MAX_INPUTS};
