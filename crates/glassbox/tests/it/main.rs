//! End-to-end tests of `glassbox serve`: a real server process on loopback, real payloads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analyzers;
mod api;
mod bad_input;
mod browser;
mod connections;
mod demo;
mod durability;
mod fixtures;
mod gateway;
mod infra;
mod otlp;
mod quality_api;
mod quality_drift;
mod quality_runs;
mod server;
mod ui;
mod ui_quality;
