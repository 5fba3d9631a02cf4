//! [`QualityStore`] on SQLite: scores, datasets and experiments, each in its own module.
//! Writes run on the writer connection in one transaction per call, and reads use the
//! reader pool. Both run off the async runtime.

use glassbox_model::{Dataset, DatasetItem, Experiment, ExperimentResult, ExperimentStatus, Score};
use rusqlite::Transaction;
use rusqlite::types::Value as SqlValue;

use super::{SqliteStore, datasets, experiments, lock, scores};
use crate::error::StoreError;
use crate::quality::{
    DatasetItemPage, ExperimentDetail, NewDatasetItem, NewExperiment, NewScore, QualityStore,
    ScoreFilter, ScoreGroup, ScoreGroupBy, ScoreMetricsFilter,
};
use crate::query::{Cursor, Page};

/// A `WHERE` clause under construction. Each clause uses `?` placeholders, numbered in the
/// order of [`Where::values`] when pushed.
#[derive(Default)]
pub(super) struct Where {
    clauses: Vec<String>,
    pub(super) values: Vec<SqlValue>,
}

impl Where {
    /// Adds a clause whose `?` placeholders take `values` in order.
    pub(super) fn push(&mut self, clause: &str, values: Vec<SqlValue>) {
        let mut numbered = String::with_capacity(clause.len() + 8);
        let mut values = values.into_iter();
        for character in clause.chars() {
            if character == '?' {
                self.values.push(values.next().unwrap_or(SqlValue::Null));
                numbered.push_str(&format!("?{}", self.values.len()));
            } else {
                numbered.push(character);
            }
        }
        self.clauses.push(numbered);
    }

    /// Adds a value without a clause and returns its placeholder, such as `?3`.
    pub(super) fn bind(&mut self, value: SqlValue) -> String {
        self.values.push(value);
        format!("?{}", self.values.len())
    }

    /// Returns the clause, empty when there are no conditions.
    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Returns text as an SQL value.
pub(super) fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

/// Returns the current time in nanoseconds since the Unix epoch.
pub(super) fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
        })
}

/// Returns the `LIMIT` value of a page: one more than the page holds, to learn whether
/// another page follows.
pub(super) fn limit_value(page: &Page) -> SqlValue {
    SqlValue::Integer(i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX))
}

/// Cuts a listing read with [`limit_value`] to the page and returns the next cursor.
pub(super) fn paginate<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor_of: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<Cursor>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let cursor = items.last().map(cursor_of);
    (items, cursor)
}

/// Returns an error for a cursor that this store did not produce.
pub(super) fn invalid_cursor() -> StoreError {
    StoreError::InvalidCursor("not produced by this server".into())
}

/// Converts a stored time or count to an unsigned value; negative values become 0.
pub(super) fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl SqliteStore {
    /// Runs `work` in one transaction on the writer connection, off the async runtime.
    /// An error rolls the transaction back.
    async fn in_transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = lock(&store.inner.writer);
            let transaction = connection.transaction()?;
            let value = work(&transaction)?;
            transaction.commit()?;
            Ok(value)
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }
}

#[async_trait::async_trait]
impl QualityStore for SqliteStore {
    async fn insert_scores(&self, new_scores: Vec<NewScore>) -> Result<Vec<Score>, StoreError> {
        self.in_transaction(move |transaction| {
            scores::insert(transaction, &new_scores, now_nanos())
        })
        .await
    }

    async fn list_scores(
        &self,
        filter: ScoreFilter,
        page: Page,
    ) -> Result<(Vec<Score>, Option<Cursor>), StoreError> {
        self.read(move |connection| scores::list(connection, &filter, &page))
            .await
    }

    async fn score_aggregates(
        &self,
        filter: ScoreMetricsFilter,
        group_by: Option<ScoreGroupBy>,
        step_seconds: Option<i64>,
    ) -> Result<Vec<ScoreGroup>, StoreError> {
        self.read(move |connection| scores::aggregates(connection, &filter, group_by, step_seconds))
            .await
    }

    async fn create_dataset(
        &self,
        name: String,
        description: Option<String>,
    ) -> Result<Dataset, StoreError> {
        self.in_transaction(move |transaction| {
            datasets::create(transaction, &name, description.as_deref(), now_nanos())
        })
        .await
    }

    async fn list_datasets(
        &self,
        page: Page,
    ) -> Result<(Vec<Dataset>, Option<Cursor>), StoreError> {
        self.read(move |connection| datasets::list(connection, &page))
            .await
    }

    async fn dataset(&self, name: String) -> Result<Option<Dataset>, StoreError> {
        self.read(move |connection| datasets::by_name(connection, &name))
            .await
    }

    async fn delete_dataset(&self, name: String) -> Result<bool, StoreError> {
        self.in_transaction(move |transaction| datasets::delete(transaction, &name))
            .await
    }

    async fn add_dataset_items(
        &self,
        dataset_name: String,
        items: Vec<NewDatasetItem>,
    ) -> Result<Vec<DatasetItem>, StoreError> {
        self.in_transaction(move |transaction| {
            datasets::add_items(transaction, &dataset_name, &items, now_nanos())
        })
        .await
    }

    async fn list_dataset_items(
        &self,
        dataset_name: String,
        page: Page,
    ) -> Result<Option<DatasetItemPage>, StoreError> {
        self.read(move |connection| datasets::list_items(connection, &dataset_name, &page))
            .await
    }

    async fn create_experiment(&self, experiment: NewExperiment) -> Result<Experiment, StoreError> {
        self.in_transaction(move |transaction| {
            experiments::create(transaction, &experiment, now_nanos())
        })
        .await
    }

    async fn save_experiment_results(
        &self,
        experiment_id: String,
        results: Vec<ExperimentResult>,
    ) -> Result<(), StoreError> {
        self.in_transaction(move |transaction| {
            experiments::save_results(transaction, &experiment_id, &results)
        })
        .await
    }

    async fn finish_experiment(
        &self,
        experiment_id: String,
        status: ExperimentStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        self.in_transaction(move |transaction| {
            experiments::finish(
                transaction,
                &experiment_id,
                status,
                error.as_deref(),
                now_nanos(),
            )
        })
        .await
    }

    async fn list_experiments(
        &self,
        dataset_name: Option<String>,
        page: Page,
    ) -> Result<(Vec<Experiment>, Option<Cursor>), StoreError> {
        self.read(move |connection| experiments::list(connection, dataset_name.as_deref(), &page))
            .await
    }

    async fn experiment(
        &self,
        experiment_id: String,
    ) -> Result<Option<ExperimentDetail>, StoreError> {
        self.read(move |connection| experiments::detail(connection, &experiment_id))
            .await
    }
}
