//! Integration tests of the gateway: a real SQLite store, the gateway on a loopback port, and
//! the mock provider speaking OpenAI's and Anthropic's wire formats on another.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod anthropic;
mod bad_input;
mod fail_open;
mod harness;
mod openai;
