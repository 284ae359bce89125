//! Files in and out: arrays (`.npy`, `.csv`), atomic writes and the
//! report-folder swap, and the size limits every input is held to.
//!
//! May import: the crate root only.

pub mod arrays;
pub mod files;
pub mod limits;
pub mod output;
