//! The quality query family: scores of traces and spans, datasets of inputs and the
//! experiments run over them.
//!
//! A score copies the service, provider, model and start time of its target when it is
//! stored, so aggregates read the `scores` table alone. Score listings are ordered by the
//! time the store received each score. Score aggregates range over the target's start time
//! instead, like the span metrics, so a late score counts at the time of the call it judges.

use std::collections::BTreeMap;

use async_trait::async_trait;
use glassbox_model::{
    Dataset, DatasetItem, Experiment, ExperimentResult, ExperimentStatus, Score, ScoreSource,
    ScoreValue, SpanId, TraceId,
};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::query::{Cursor, Page};

/// Returns a new random id: 16 bytes as 32 lowercase hex characters.
pub fn new_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// A score as a client submits it; the store adds the creation time and the target's
/// context.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScore {
    /// The id to store the score under; a stored score with this id is replaced. `None`
    /// lets the store choose one.
    pub id: Option<String>,
    /// The scored trace; it must be stored.
    pub trace_id: TraceId,
    /// The scored span; it must be stored when given.
    pub span_id: Option<SpanId>,
    /// The measured quality, such as `helpfulness`.
    pub name: String,
    /// The value.
    pub value: ScoreValue,
    /// The producer of the score.
    pub source: ScoreSource,
    /// Free text.
    pub comment: Option<String>,
    /// The person or program that gave the score.
    pub author: Option<String>,
}

/// Filters of the score listing. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct ScoreFilter {
    /// Scores of one trace (its span scores included).
    pub trace_id: Option<TraceId>,
    /// Scores of one span.
    pub span_id: Option<SpanId>,
    /// Score name.
    pub name: Option<String>,
    /// Score source.
    pub source: Option<ScoreSource>,
    /// Model copied from the target.
    pub model: Option<String>,
    /// Earliest creation time, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: Option<u64>,
    /// Latest creation time, exclusive.
    pub to_unix_nano: Option<u64>,
}

/// The scores an aggregate covers: those whose target started in `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct ScoreMetricsFilter {
    /// Start of the range, nanoseconds since the Unix epoch, inclusive.
    pub from_unix_nano: u64,
    /// End of the range, exclusive.
    pub to_unix_nano: u64,
    /// Score name.
    pub name: Option<String>,
    /// Model copied from the target.
    pub model: Option<String>,
    /// Service copied from the target.
    pub service: Option<String>,
    /// Score source.
    pub source: Option<ScoreSource>,
}

/// A dimension to group score aggregates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreGroupBy {
    /// Score name.
    Name,
    /// Model copied from the target.
    Model,
    /// Score source.
    Source,
}

impl ScoreGroupBy {
    /// Every grouping, in the order the API lists them.
    pub const ALL: [ScoreGroupBy; 3] = [
        ScoreGroupBy::Name,
        ScoreGroupBy::Model,
        ScoreGroupBy::Source,
    ];

    /// Parses the API name.
    pub fn parse(text: &str) -> Option<ScoreGroupBy> {
        ScoreGroupBy::ALL
            .into_iter()
            .find(|group| group.as_str() == text)
    }

    /// Returns the API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreGroupBy::Name => "name",
            ScoreGroupBy::Model => "model",
            ScoreGroupBy::Source => "source",
        }
    }
}

/// Figures of a set of scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreAggregate {
    /// Scores of every data type.
    pub count: u64,
    /// Numeric and boolean scores, the ones `sum`, `min` and `max` cover.
    pub numeric_count: u64,
    /// Sum of numeric values, booleans counting as 1 or 0.
    pub sum: f64,
    /// Smallest numeric value; `None` without numeric or boolean scores.
    pub min: Option<f64>,
    /// Largest numeric value; `None` without numeric or boolean scores.
    pub max: Option<f64>,
    /// Categorical scores per category.
    pub categories: BTreeMap<String, u64>,
}

impl ScoreAggregate {
    /// Returns the mean of the numeric and boolean values.
    pub fn mean(&self) -> Option<f64> {
        (self.numeric_count > 0).then(|| self.sum / self.numeric_count as f64)
    }

    /// Adds another aggregate.
    pub fn merge(&mut self, other: &ScoreAggregate) {
        self.count += other.count;
        self.numeric_count += other.numeric_count;
        self.sum += other.sum;
        self.min = min_of(self.min, other.min);
        self.max = max_of(self.max, other.max);
        for (category, count) in &other.categories {
            *self.categories.entry(category.clone()).or_default() += count;
        }
    }
}

fn min_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// One group of a score aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreGroup {
    /// The group's value of the grouping; `None` without grouping or for scores that lack
    /// it (a trace without a model call has no model).
    pub key: Option<String>,
    /// Figures over the whole range.
    pub aggregate: ScoreAggregate,
    /// Figures per time step, by step start (nanoseconds since the Unix epoch) in time
    /// order. Empty unless a step was requested. Steps without scores are absent.
    pub steps: Vec<(u64, ScoreAggregate)>,
}

/// A dataset item as a client submits it; the store adds the ids and creation time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDatasetItem {
    /// The input: a string, an array of chat messages or an object.
    pub input: Value,
    /// The expected output, when known.
    pub expected_output: Option<Value>,
    /// Free-form data.
    pub metadata: Map<String, Value>,
    /// The trace the item was copied from.
    pub source_trace_id: Option<TraceId>,
    /// The span the item was copied from.
    pub source_span_id: Option<SpanId>,
}

/// An experiment to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExperiment {
    /// A name for people.
    pub name: String,
    /// The name of the dataset it runs over; it must exist.
    pub dataset_name: String,
    /// Model, scorers, mode and their settings.
    pub config: Value,
}

/// An experiment with every stored result, in dataset item order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDetail {
    /// The experiment and its totals.
    pub experiment: Experiment,
    /// The results.
    pub results: Vec<ExperimentResult>,
}

/// A page of dataset items and the cursor of the next page.
pub type DatasetItemPage = (Vec<DatasetItem>, Option<Cursor>);

/// Scores, datasets and experiments.
#[async_trait]
pub trait QualityStore: Send + Sync + 'static {
    /// Stores scores in one transaction and returns them as stored. Fails with
    /// [`StoreError::NotFound`] naming the index of the first score whose trace or span is
    /// not stored; then nothing is written.
    async fn insert_scores(&self, scores: Vec<NewScore>) -> Result<Vec<Score>, StoreError>;

    /// Lists scores matching the filter, most recently received first.
    async fn list_scores(
        &self,
        filter: ScoreFilter,
        page: Page,
    ) -> Result<(Vec<Score>, Option<Cursor>), StoreError>;

    /// Aggregates scores per group, largest count first; with `step_seconds` (a multiple of
    /// 60), also per step, steps starting at `from` rounded down to the minute.
    async fn score_aggregates(
        &self,
        filter: ScoreMetricsFilter,
        group_by: Option<ScoreGroupBy>,
        step_seconds: Option<i64>,
    ) -> Result<Vec<ScoreGroup>, StoreError>;

    /// Creates an empty dataset. Fails with [`StoreError::Conflict`] when the name is taken.
    async fn create_dataset(
        &self,
        name: String,
        description: Option<String>,
    ) -> Result<Dataset, StoreError>;

    /// Lists datasets, newest first.
    async fn list_datasets(&self, page: Page)
    -> Result<(Vec<Dataset>, Option<Cursor>), StoreError>;

    /// Returns a dataset by name, or `None` when there is none.
    async fn dataset(&self, name: String) -> Result<Option<Dataset>, StoreError>;

    /// Deletes a dataset and its items; returns false when there was none. Experiments
    /// over it are kept.
    async fn delete_dataset(&self, name: String) -> Result<bool, StoreError>;

    /// Adds items to a dataset in one transaction and returns them as stored. Fails with
    /// [`StoreError::NotFound`] for an unknown dataset.
    async fn add_dataset_items(
        &self,
        dataset_name: String,
        items: Vec<NewDatasetItem>,
    ) -> Result<Vec<DatasetItem>, StoreError>;

    /// Lists the items of a dataset in the order they were added, or returns `None` for an
    /// unknown dataset.
    async fn list_dataset_items(
        &self,
        dataset_name: String,
        page: Page,
    ) -> Result<Option<DatasetItemPage>, StoreError>;

    /// Creates an experiment with status `running`. Fails with [`StoreError::NotFound`]
    /// for an unknown dataset.
    async fn create_experiment(&self, experiment: NewExperiment) -> Result<Experiment, StoreError>;

    /// Stores results of an experiment; a result for an item that already has one replaces
    /// it. Fails with [`StoreError::NotFound`] for an unknown experiment.
    async fn save_experiment_results(
        &self,
        experiment_id: String,
        results: Vec<ExperimentResult>,
    ) -> Result<(), StoreError>;

    /// Sets the final status of an experiment, its end time and, for a failure, the reason.
    /// Fails with [`StoreError::NotFound`] for an unknown experiment.
    async fn finish_experiment(
        &self,
        experiment_id: String,
        status: ExperimentStatus,
        error: Option<String>,
    ) -> Result<(), StoreError>;

    /// Lists experiments with their totals, most recently started first, optionally those
    /// of one dataset (by name).
    async fn list_experiments(
        &self,
        dataset_name: Option<String>,
        page: Page,
    ) -> Result<(Vec<Experiment>, Option<Cursor>), StoreError>;

    /// Returns an experiment with its results and totals, or `None` when there is none.
    async fn experiment(
        &self,
        experiment_id: String,
    ) -> Result<Option<ExperimentDetail>, StoreError>;
}
