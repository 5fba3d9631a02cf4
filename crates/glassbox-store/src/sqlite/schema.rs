//! Versioned schema migrations, tracked in SQLite's `user_version`.

use rusqlite::Connection;

use crate::error::StoreError;

/// Migrations in order: migration `i` brings the schema to version `i + 1`. Version 1 has spans,
/// traces, content, metric points and logs. Version 2 adds the per-minute, per-hour and
/// per-day rollups and settings. Version 3 adds analyzer flags and languages to spans, with
/// `span_flags` indexing each span's distinct findings for filters. Version 4 adds scores,
/// datasets with their items, and experiments with their results. Version 5 stores trace
/// summaries in arrival order, found by trace id through a narrow index (see migration 5).
/// Version 6 counts each trace's spans without a price, whose cost its total leaves out.
/// Version 7 links each span to its trace's summary row (see migration 7).
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
    // Keyed by trace id, each new summary went to a random place in the table, so a commit of
    // a thousand traces rewrote about as many pages of whole rows. Rows now go to the end and
    // only the narrow `traces_by_id` index takes random inserts. In the ingest benchmark the
    // server then wrote 17 KB per span instead of 20 KB.
    r#"
ALTER TABLE traces RENAME TO traces_keyed_by_id;

CREATE TABLE traces (
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
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
);
INSERT INTO traces (trace_id, root_span_id, root_name, service_name, start_ns, end_ns,
    duration_ns, span_count, error_count, llm_call_count, input_tokens, output_tokens,
    total_tokens, cost_usd, models, providers, services, user_id, session_id, tags)
SELECT trace_id, root_span_id, root_name, service_name, start_ns, end_ns,
    duration_ns, span_count, error_count, llm_call_count, input_tokens, output_tokens,
    total_tokens, cost_usd, models, providers, services, user_id, session_id, tags
FROM traces_keyed_by_id ORDER BY start_ns;
-- Its indexes, renamed with it, go too.
DROP TABLE traces_keyed_by_id;

CREATE UNIQUE INDEX traces_by_id ON traces (trace_id);
CREATE INDEX traces_by_start ON traces (start_ns, trace_id);
CREATE INDEX traces_by_session ON traces (session_id, start_ns) WHERE session_id IS NOT NULL;
CREATE INDEX traces_by_user ON traces (user_id, start_ns) WHERE user_id IS NOT NULL;
"#,
    r#"
ALTER TABLE traces ADD COLUMN unpriced_call_count INTEGER NOT NULL DEFAULT 0;
UPDATE traces SET unpriced_call_count = unpriced.calls
FROM (SELECT trace_id, count(*) AS calls FROM spans WHERE cost_status = 'unpriced'
      GROUP BY trace_id) AS unpriced
WHERE traces.trace_id = unpriced.trace_id;
"#,
    // Spans found their trace through an index on (trace id, span id). Trace ids are random,
    // so each commit inserted into that index at about one place per trace, rewriting a page
    // at each place, and more of them as the table grew. Spans now point at their trace's
    // summary row, which is numbered in arrival order, so new entries of `spans_by_trace` go
    // to its end.
    //
    // A span whose trace has no summary (which the write path never leaves, but a damaged or
    // hand-edited database might) first gets one built from its trace's spans, so that no span
    // is left without a link.
    r#"
ALTER TABLE spans ADD COLUMN trace_row INTEGER;
INSERT INTO traces (trace_id, start_ns, end_ns, duration_ns, span_count, error_count,
    llm_call_count, input_tokens, output_tokens, total_tokens, cost_usd, models, providers,
    services, tags)
SELECT trace_id, min(start_ns), max(end_ns), max(end_ns) - min(start_ns), count(*),
    sum(status = 'error'), sum(kind IN ('llm', 'embedding')), sum(input_tokens),
    sum(output_tokens), sum(total_tokens), sum(cost_usd), '[]', '[]', '[]', '[]'
FROM spans WHERE NOT EXISTS (SELECT 1 FROM traces WHERE traces.trace_id = spans.trace_id)
GROUP BY trace_id;
UPDATE spans SET trace_row = traces.id FROM traces WHERE traces.trace_id = spans.trace_id;
DROP INDEX spans_by_id;
CREATE UNIQUE INDEX spans_by_trace ON spans (trace_row, span_id);
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
    // Only an existing database has rows to rewrite, and rewriting them can make the start slow,
    // so only its upgrade is logged.
    let upgrade = current > 0 && current < MIGRATIONS.len();
    if upgrade {
        tracing::info!(
            from = current,
            to = MIGRATIONS.len(),
            "upgrading the database schema: a large database can take minutes, and needs free \
             disk space up to its own size until the upgrade ends"
        );
    }
    let started = std::time::Instant::now();
    apply(connection, current, MIGRATIONS.len())?;
    if upgrade {
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "database schema upgraded"
        );
    }
    Ok(())
}

/// Applies the migrations that take the schema from version `from` to version `to`.
fn apply(connection: &mut Connection, from: usize, to: usize) -> Result<(), StoreError> {
    for (index, migration) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts a trace summary with the columns that versions 4 to 6 share.
    fn insert_trace(connection: &Connection, trace_id: u8, start_ns: i64) {
        connection
            .execute(
                "INSERT INTO traces (trace_id, root_name, start_ns, end_ns, duration_ns, \
                 span_count, error_count, llm_call_count, models, providers, services, \
                 session_id, tags) \
                 VALUES (?1, 'agent run', ?2, ?2 + 5, 5, 3, 0, 2, '[\"gpt-4o\"]', '[]', '[]', \
                 'session-1', '[]')",
                rusqlite::params![vec![trace_id; 16], start_ns],
            )
            .unwrap();
    }

    #[test]
    fn version_5_keeps_traces_in_start_order() {
        let mut connection = Connection::open_in_memory().unwrap();
        apply(&mut connection, 0, 4).unwrap();
        insert_trace(&connection, 0xbb, 2_000);
        insert_trace(&connection, 0xaa, 1_000);

        apply(&mut connection, 4, 5).unwrap();

        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, 5);
        let rows: Vec<(Vec<u8>, String, String, Option<String>)> = connection
            .prepare("SELECT trace_id, root_name, models, session_id FROM traces ORDER BY id")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, vec![0xaa; 16]);
        assert_eq!(rows[1].0, vec![0xbb; 16]);
        assert_eq!(rows[0].1, "agent run");
        assert_eq!(rows[0].2, "[\"gpt-4o\"]");
        assert_eq!(rows[0].3.as_deref(), Some("session-1"));
    }

    /// Inserts a model call span with the given cost status.
    fn insert_llm_span(connection: &Connection, trace_id: u8, span_id: u8, cost_status: &str) {
        connection
            .execute(
                "INSERT INTO spans (trace_id, span_id, name, kind, start_ns, end_ns, duration_ns, \
                 status, tokens_estimated, cost_status, finish_reasons, tags, metadata, \
                 attributes, resource_attributes, events) \
                 VALUES (?1, ?2, 'chat', 'llm', 1, 2, 1, 'ok', 0, ?3, '[]', '[]', '{}', '{}', \
                 '{}', '[]')",
                rusqlite::params![vec![trace_id; 16], vec![span_id; 8], cost_status],
            )
            .unwrap();
    }

    #[test]
    fn version_6_counts_unpriced_calls() {
        let mut connection = Connection::open_in_memory().unwrap();
        apply(&mut connection, 0, 5).unwrap();
        insert_trace(&connection, 0xaa, 1_000);
        insert_trace(&connection, 0xbb, 2_000);
        insert_llm_span(&connection, 0xaa, 1, "unpriced");
        insert_llm_span(&connection, 0xaa, 2, "unpriced");
        insert_llm_span(&connection, 0xaa, 3, "computed");
        insert_llm_span(&connection, 0xbb, 1, "computed");

        migrate(&mut connection).unwrap();

        let counts: Vec<(Vec<u8>, i64)> = connection
            .prepare("SELECT trace_id, unpriced_call_count FROM traces ORDER BY trace_id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(counts, vec![(vec![0xaa; 16], 2), (vec![0xbb; 16], 0)]);
    }

    #[test]
    fn version_7_links_spans_to_their_trace() {
        let mut connection = Connection::open_in_memory().unwrap();
        apply(&mut connection, 0, 6).unwrap();
        insert_trace(&connection, 0xbb, 2_000);
        insert_trace(&connection, 0xaa, 1_000);
        insert_llm_span(&connection, 0xaa, 1, "computed");
        insert_llm_span(&connection, 0xaa, 2, "computed");
        insert_llm_span(&connection, 0xbb, 1, "computed");
        // A span whose trace has no summary row.
        insert_llm_span(&connection, 0xcc, 1, "computed");

        migrate(&mut connection).unwrap();

        let links: Vec<(Vec<u8>, i64)> = connection
            .prepare(
                "SELECT spans.trace_id, traces.id FROM spans \
                 JOIN traces ON traces.id = spans.trace_row ORDER BY spans.id",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            links,
            vec![
                (vec![0xaa; 16], 2),
                (vec![0xaa; 16], 2),
                (vec![0xbb; 16], 1),
                (vec![0xcc; 16], 3)
            ]
        );
        let (span_count, llm_calls): (i64, i64) = connection
            .query_row(
                "SELECT span_count, llm_call_count FROM traces WHERE id = 3",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((span_count, llm_calls), (1, 1));

        let resent = connection.execute(
            "INSERT INTO spans (trace_id, span_id, name, kind, start_ns, end_ns, duration_ns, \
             status, tokens_estimated, finish_reasons, tags, metadata, attributes, \
             resource_attributes, events, trace_row) \
             VALUES (?1, ?2, 'chat', 'llm', 1, 2, 1, 'ok', 0, '[]', '[]', '{}', '{}', '{}', \
             '[]', 2)",
            rusqlite::params![vec![0xaa_u8; 16], vec![1_u8; 8]],
        );
        let error = resent.unwrap_err().to_string();
        assert!(
            error.contains("UNIQUE constraint failed: spans.trace_row, spans.span_id"),
            "{error}"
        );
        let old_index: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'spans_by_id'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(old_index, 0);
    }

    #[test]
    fn version_5_keeps_one_row_per_trace() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        insert_trace(&connection, 0xaa, 1_000);

        let duplicate = connection.execute(
            "INSERT INTO traces (trace_id, start_ns, end_ns, duration_ns, span_count, \
             error_count, llm_call_count, models, providers, services, tags) \
             VALUES (?1, 1, 2, 1, 1, 0, 0, '[]', '[]', '[]', '[]')",
            [vec![0xaa_u8; 16]],
        );
        assert!(duplicate.is_err());

        // Summaries are updated in place, keeping the row id their spans point at.
        connection
            .execute(
                "INSERT INTO traces (trace_id, start_ns, end_ns, duration_ns, span_count, \
                 error_count, llm_call_count, models, providers, services, tags) \
                 VALUES (?1, 1, 2, 1, 4, 0, 0, '[]', '[]', '[]', '[]') \
                 ON CONFLICT (trace_id) DO UPDATE SET span_count = excluded.span_count",
                [vec![0xaa_u8; 16]],
            )
            .unwrap();
        let (rows, id, span_count): (i64, i64, i64) = connection
            .query_row(
                "SELECT count(*), max(id), max(span_count) FROM traces",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert_eq!((rows, id, span_count), (1, 1, 4));
    }
}
