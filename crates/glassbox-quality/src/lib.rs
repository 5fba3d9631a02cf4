//! Scores for live spans and for datasets, produced inside the server.
//!
//! - [`evaluator`]: online evaluators follow new model spans in the store, score a sample
//!   of those that match their filter with a deterministic check or an LLM judge, and store
//!   the scores.
//! - [`experiment`]: an experiment runs each item of a dataset through a model (or replays
//!   a recorded output), scores it against the expected output and stores the results.
//!
//! - [`drift`] and [`compare`]: the drift report's statistics and the comparison of two
//!   experiments, pure functions that the API and the dashboard share.
//!
//! Every model call goes through the server's own gateway ([`client::GatewayClient`]), so
//! judge and experiment calls are priced and traced like any other call. Their spans carry
//! metadata that keeps evaluators from scoring them.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client;
pub mod compare;
pub mod drift;
pub mod evaluator;
pub mod experiment;
pub mod judge;
pub mod text;

pub use client::{GatewayClient, ModelAccess};
pub use evaluator::{EvaluatorConfig, build_evaluators};
pub use experiment::{ExperimentRunner, ExperimentSpec, StartError};
pub use judge::JudgeConfig;
