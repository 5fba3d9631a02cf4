//! Errors of the store.

/// The reason a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite engine reported an error.
    #[error("sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("corrupt stored value in {column}: {reason}")]
    Corrupt {
        /// The column that held the value.
        column: &'static str,
        /// The problem found in it.
        reason: String,
    },
    /// A pagination cursor did not come from this store.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// A filter value is malformed (for example an empty full-text query).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// The database could not be opened or migrated.
    #[error("failed to open the database at {path}: {reason}")]
    Open {
        /// The database file.
        path: String,
        /// The cause.
        reason: String,
    },
    /// A record that the operation needs does not exist (an unknown trace, dataset or
    /// experiment). The message names it.
    #[error("{0}")]
    NotFound(String),
    /// The record to create exists already (a dataset name in use). The message names it.
    #[error("{0}")]
    Conflict(String),
    /// A blocking task was cancelled or panicked.
    #[error("store task failed: {0}")]
    Task(String),
}
