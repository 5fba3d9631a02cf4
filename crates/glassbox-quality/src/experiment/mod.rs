//! Experiments: a dataset run through a model or replayed, each item scored against its
//! expected output.

mod runner;
mod spec;

pub use runner::{ExperimentRunner, StartError};
pub use spec::{ExperimentMode, ExperimentSpec, JUDGE_SCORE, Plan};
