//! Linear algebra on networks: dense eigenvalues (faer), the matrix-free
//! Jacobian product and the block Arnoldi radius.
//!
//! May import: the crate root, `io` and `net`.

pub mod block_arnoldi;
pub mod eigen;
pub mod matfree;
