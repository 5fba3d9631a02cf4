//! End-to-end tests of `glassbox serve`: a real server process on loopback, real payloads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixtures;
mod server;
