//! Tests of the public API as a caller uses it: scorer specs from JSON, judge replies as
//! models write them, drift on generated samples and dataset files with bad rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dataset;
mod drift;
mod judge;
mod scorers;
