//! Integration tests of the enrich stage: hand-computed costs from the catalog's prices, the
//! recorded OTLP fixtures, custom price validation, token estimates and speed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod custom;
mod estimate;
mod fixtures;
mod golden;
mod payload;
mod speed;
mod support;
