//! Online evaluators: rules that score a sample of live model spans.

mod config;
mod runner;

pub use config::{Evaluator, EvaluatorConfig, Method, SpanMatch, build_evaluators};
pub use runner::start;
