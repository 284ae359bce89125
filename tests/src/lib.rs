//! Shared helpers of the integration tests (see `tests/`).
