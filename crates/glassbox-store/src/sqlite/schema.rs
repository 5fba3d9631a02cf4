//! Versioned schema migrations, tracked in SQLite's `user_version`.

use rusqlite::Connection;

use crate::error::StoreError;

/// Migrations in order: migration `i` brings the schema to version `i + 1`. Version 1 has spans,
/// traces, content, metric points and logs. Version 2 adds the per-minute, per-hour and
/// per-day rollups and settings. Version 3 adds analyzer flags and languages to spans, with
/// `span_flags` indexing each span's distinct findings for filters. Version 4 adds scores,
/// datasets with their items, and experiments with their results.
/// Never edit a released migration: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE spans (
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    parent_span_id BLOB,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    service_name TEXT,
    scope_name TEXT,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    error_type TEXT,
    operation TEXT,
    provider TEXT,
    request_model TEXT,
    response_model TEXT,
    response_id TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_input_tokens INTEGER,
    cache_write_input_tokens INTEGER,
    reasoning_tokens INTEGER,
    total_tokens INTEGER,
    tokens_estimated INTEGER NOT NULL,
    cost_usd REAL,
    cost_status TEXT,
    computed_cost_usd REAL,
    ttft_ms REAL,
    time_per_output_token_ms REAL,
    output_tokens_per_second REAL,
    streaming INTEGER,
    tool_name TEXT,
    user_id TEXT,
    session_id TEXT,
    finish_reasons TEXT NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    input_messages TEXT,
    output_messages TEXT,
    attributes TEXT NOT NULL,
    resource_attributes TEXT NOT NULL,
    events TEXT NOT NULL
);
CREATE UNIQUE INDEX spans_by_id ON spans (trace_id, span_id);
CREATE INDEX spans_by_start ON spans (start_ns);
CREATE INDEX spans_by_session ON spans (session_id, start_ns) WHERE session_id IS NOT NULL;
CREATE INDEX spans_by_user ON spans (user_id, start_ns) WHERE user_id IS NOT NULL;
CREATE INDEX spans_by_response_id ON spans (response_id) WHERE response_id IS NOT NULL;

CREATE TABLE traces (
    trace_id BLOB PRIMARY KEY,
    root_span_id BLOB,
    root_name TEXT,
    service_name TEXT,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    span_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    llm_call_count INTEGER NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_tokens INTEGER,
    cost_usd REAL,
    models TEXT NOT NULL,
    providers TEXT NOT NULL,
    services TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    tags TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX traces_by_start ON traces (start_ns, trace_id);
CREATE INDEX traces_by_session ON traces (session_id, start_ns) WHERE session_id IS NOT NULL;
CREATE INDEX traces_by_user ON traces (user_id, start_ns) WHERE user_id IS NOT NULL;

CREATE TABLE content_patches (
    id INTEGER PRIMARY KEY,
    trace_id BLOB,
    span_id BLOB,
    response_id TEXT,
    received_ns INTEGER NOT NULL,
    patch TEXT NOT NULL
);
CREATE INDEX content_patches_by_span ON content_patches (trace_id, span_id) WHERE trace_id IS NOT NULL;
CREATE INDEX content_patches_by_response ON content_patches (response_id) WHERE response_id IS NOT NULL;

CREATE TABLE span_own_content (
    span_row INTEGER PRIMARY KEY,
    input_messages TEXT,
    output_messages TEXT,
    finish_reasons TEXT NOT NULL
);

CREATE TABLE metric_points (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT,
    service_name TEXT,
    labels TEXT NOT NULL,
    start_ns INTEGER,
    time_ns INTEGER NOT NULL,
    value REAL,
    count INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX metric_points_by_name ON metric_points (name, time_ns);

CREATE TABLE log_records (
    id INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    trace_id TEXT,
    span_id TEXT,
    severity_number INTEGER NOT NULL,
    severity_text TEXT,
    event_name TEXT,
    service_name TEXT,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    resource_attributes TEXT NOT NULL
);
CREATE INDEX log_records_by_span ON log_records (trace_id, span_id) WHERE trace_id IS NOT NULL;

CREATE VIRTUAL TABLE spans_fts USING fts5 (content, content = '', contentless_delete = 1, detail = none);

CREATE TABLE fts_progress (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    indexed_up_to INTEGER NOT NULL
);
INSERT INTO fts_progress VALUES (1, 0);
"#,
    r#"
CREATE TABLE rollups_minute (
    bucket INTEGER NOT NULL,
    service TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    operation TEXT NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    errors_rate_limited INTEGER NOT NULL,
    errors_timeout INTEGER NOT NULL,
    errors_server INTEGER NOT NULL,
    errors_client INTEGER NOT NULL,
    errors_content_filter INTEGER NOT NULL,
    errors_other INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_input_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL,
    unpriced_count INTEGER NOT NULL,
    latency BLOB NOT NULL,
    ttft BLOB NOT NULL,
    tokens_per_second BLOB NOT NULL,
    PRIMARY KEY (bucket, service, provider, model, operation, kind)
) WITHOUT ROWID;
CREATE TABLE rollups_hour (
    bucket INTEGER NOT NULL,
    service TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    operation TEXT NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    errors_rate_limited INTEGER NOT NULL,
    errors_timeout INTEGER NOT NULL,
    errors_server INTEGER NOT NULL,
    errors_client INTEGER NOT NULL,
    errors_content_filter INTEGER NOT NULL,
    errors_other INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_input_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL,
    unpriced_count INTEGER NOT NULL,
    latency BLOB NOT NULL,
    ttft BLOB NOT NULL,
    tokens_per_second BLOB NOT NULL,
    PRIMARY KEY (bucket, service, provider, model, operation, kind)
) WITHOUT ROWID;
CREATE TABLE rollups_day (
    bucket INTEGER NOT NULL,
    service TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    operation TEXT NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    errors_rate_limited INTEGER NOT NULL,
    errors_timeout INTEGER NOT NULL,
    errors_server INTEGER NOT NULL,
    errors_client INTEGER NOT NULL,
    errors_content_filter INTEGER NOT NULL,
    errors_other INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_input_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_usd REAL,
    unpriced_count INTEGER NOT NULL,
    latency BLOB NOT NULL,
    ttft BLOB NOT NULL,
    tokens_per_second BLOB NOT NULL,
    PRIMARY KEY (bucket, service, provider, model, operation, kind)
) WITHOUT ROWID;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE spans ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE spans ADD COLUMN input_language TEXT;
ALTER TABLE spans ADD COLUMN output_language TEXT;

CREATE TABLE span_flags (
    span_row INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    analyzer TEXT NOT NULL,
    finding TEXT NOT NULL,
    PRIMARY KEY (span_row, analyzer, finding)
) WITHOUT ROWID;
CREATE INDEX span_flags_by_analyzer ON span_flags (analyzer, start_ns);
CREATE INDEX span_flags_by_finding ON span_flags (finding, start_ns);
"#,
    r#"
CREATE TABLE scores (
    id TEXT PRIMARY KEY,
    trace_id BLOB NOT NULL,
    span_id BLOB,
    name TEXT NOT NULL,
    data_type TEXT NOT NULL,
    number REAL,
    category TEXT,
    source TEXT NOT NULL,
    comment TEXT,
    author TEXT,
    created_ns INTEGER NOT NULL,
    service_name TEXT,
    provider TEXT,
    model TEXT,
    target_start_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX scores_by_created ON scores (created_ns, id);
CREATE INDEX scores_by_target ON scores (trace_id, span_id);
CREATE INDEX scores_by_target_start ON scores (target_start_ns);
CREATE INDEX scores_by_name ON scores (name, target_start_ns);

CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX datasets_by_created ON datasets (created_ns, id);

CREATE TABLE dataset_items (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    dataset_id TEXT NOT NULL,
    input TEXT NOT NULL,
    expected_output TEXT,
    metadata TEXT NOT NULL,
    source_trace_id BLOB,
    source_span_id BLOB,
    created_ns INTEGER NOT NULL
);
CREATE INDEX dataset_items_by_dataset ON dataset_items (dataset_id, created_ns, row);

CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    started_ns INTEGER NOT NULL,
    finished_ns INTEGER
) WITHOUT ROWID;
CREATE INDEX experiments_by_start ON experiments (started_ns, id);
CREATE INDEX experiments_by_dataset ON experiments (dataset_name, started_ns);

CREATE TABLE experiment_results (
    experiment_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    output TEXT,
    error TEXT,
    scores TEXT NOT NULL,
    latency_ms REAL,
    cost_usd REAL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    trace_id BLOB,
    PRIMARY KEY (experiment_id, item_id)
) WITHOUT ROWID;
"#,
];

/// Brings the database to the newest schema version, in one transaction per migration.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let current = usize::try_from(version).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Open {
            path: connection.path().unwrap_or_default().to_owned(),
            reason: format!(
                "schema version {current} is newer than this build knows ({}); upgrade Glassbox",
                MIGRATIONS.len()
            ),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )?;
        transaction.commit()?;
    }
    Ok(())
}
