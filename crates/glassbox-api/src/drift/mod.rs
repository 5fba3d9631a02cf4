//! `/api/v1/quality/drift`: how far the model calls of a recent window have moved from a
//! baseline window, per service and model.
//!
//! The store reads the samples of each window (token counts, input languages, flagged
//! analyzers, numeric scores) and [`glassbox_quality::drift`] runs the drift statistics on
//! them; [`views`] gives the result its JSON shape.

mod views;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_store::{DEFAULT_DRIFT_SAMPLE_SPANS, DriftFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use views::GroupDrift;

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::now_nanos;
use crate::params::extract;
use crate::time_format::{format_nanos, parse_rfc3339};

const HOUR_NANOS: u64 = 3_600 * 1_000_000_000;
/// Length of the recent window when `from` is not given.
const DEFAULT_RECENT_NANOS: u64 = 24 * HOUR_NANOS;
/// Length of the baseline window when `baseline_from` is not given.
const DEFAULT_BASELINE_NANOS: u64 = 7 * 24 * HOUR_NANOS;

/// The windows and filters of a drift report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DriftQuery {
    /// Start of the recent window (RFC 3339), inclusive; default 24 hours before `to`.
    from: Option<String>,
    /// End of the recent window (RFC 3339), exclusive; default now.
    to: Option<String>,
    /// Start of the baseline window (RFC 3339), inclusive; default 7 days before
    /// `baseline_to`.
    baseline_from: Option<String>,
    /// End of the baseline window (RFC 3339), exclusive; default `from`. It must not be
    /// later than `from`.
    baseline_to: Option<String>,
    /// Service name.
    service: Option<String>,
    /// Model (request model, else response model).
    model: Option<String>,
    /// Provider.
    provider: Option<String>,
}

/// A drift report.
#[derive(Serialize, ToSchema)]
pub struct DriftReport {
    /// Start of the recent window.
    from: String,
    /// End of the recent window.
    to: String,
    /// Start of the baseline window.
    baseline_from: String,
    /// End of the baseline window.
    baseline_to: String,
    /// Model calls read per group and window: the latest ones. Scores are capped the same
    /// way per name.
    max_spans_per_group: usize,
    /// Largest `max_psi` first; groups without a metric with enough data come last.
    groups: Vec<GroupDrift>,
}

/// The two windows of a report, nanoseconds since the Unix epoch, each `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Windows {
    baseline: (u64, u64),
    recent: (u64, u64),
}

fn time(name: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    value
        .filter(|text| !text.is_empty())
        .map(|text| {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter(name, problem))
        })
        .transpose()
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|text| !text.is_empty()).cloned()
}

impl DriftQuery {
    /// Resolves the windows, filling the defaults from `now`.
    fn windows(&self, now: u64) -> Result<Windows, ApiError> {
        let to = time("to", self.to.as_deref())?.unwrap_or(now);
        let from =
            time("from", self.from.as_deref())?.unwrap_or(to.saturating_sub(DEFAULT_RECENT_NANOS));
        if from >= to {
            return Err(ApiError::invalid_parameter(
                "from",
                "must be earlier than to",
            ));
        }

        let baseline_to = time("baseline_to", self.baseline_to.as_deref())?.unwrap_or(from);
        if baseline_to > from {
            return Err(ApiError::invalid_parameter(
                "baseline_to",
                "must not be later than from, the start of the recent window",
            ));
        }
        let baseline_from = time("baseline_from", self.baseline_from.as_deref())?
            .unwrap_or(baseline_to.saturating_sub(DEFAULT_BASELINE_NANOS));
        if baseline_from >= baseline_to {
            return Err(ApiError::invalid_parameter(
                "baseline_from",
                "must be earlier than baseline_to",
            ));
        }
        Ok(Windows {
            baseline: (baseline_from, baseline_to),
            recent: (from, to),
        })
    }

    fn filter(&self, (from, to): (u64, u64)) -> DriftFilter {
        DriftFilter {
            from_unix_nano: from,
            to_unix_nano: to,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            max_per_group: DEFAULT_DRIFT_SAMPLE_SPANS,
        }
    }
}

/// Compares the model calls of a recent window with those of a baseline window, per service
/// and model. Input and output tokens get PSI over the baseline's deciles and the two-sample
/// Kolmogorov–Smirnov test. The input language mix and the share of calls flagged by each
/// analyzer get PSI over categories. Each numeric or boolean score (booleans as 0 and 1)
/// whose call or trace started in the window is compared like the tokens. A metric's level is `stable` below a PSI of 0.1, `moderate` up to
/// 0.25 and `significant` above; with fewer than 30 values in either window it is
/// `insufficient_data`.
///
/// Only the latest 20,000 model calls of each group and window are read, and the latest
/// 20,000 scores of each name; `sampled` marks a group where a window had more calls.
#[utoipa::path(get, path = "/api/v1/quality/drift", params(DriftQuery), responses(
    (status = 200, body = DriftReport),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn report(
    State(state): State<ApiState>,
    query: Result<Query<DriftQuery>, QueryRejection>,
) -> Result<Json<DriftReport>, ApiError> {
    let query = extract(query)?;
    let windows = query.windows(now_nanos())?;

    let baseline = state
        .store
        .drift_samples(query.filter(windows.baseline))
        .await?;
    let recent = state
        .store
        .drift_samples(query.filter(windows.recent))
        .await?;

    Ok(Json(DriftReport {
        from: format_nanos(windows.recent.0),
        to: format_nanos(windows.recent.1),
        baseline_from: format_nanos(windows.baseline.0),
        baseline_to: format_nanos(windows.baseline.1),
        max_spans_per_group: DEFAULT_DRIFT_SAMPLE_SPANS,
        groups: glassbox_quality::drift::compare_windows(
            baseline,
            recent,
            DEFAULT_DRIFT_SAMPLE_SPANS,
        )
        .into_iter()
        .map(GroupDrift::from)
        .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14T22:13:20Z.
    const NOW: u64 = 1_700_000_000_000_000_000;

    fn query(pairs: &[(&str, &str)]) -> DriftQuery {
        let text: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        serde_json::from_value(serde_json::Value::Object(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), serde_json::json!(value)))
                .collect(),
        ))
        .unwrap_or_else(|error| panic!("{}: {error}", text.join("&")))
    }

    #[test]
    fn windows_default_to_a_day_after_a_week() {
        let windows = query(&[]).windows(NOW).unwrap();
        assert_eq!(windows.recent, (NOW - DEFAULT_RECENT_NANOS, NOW));
        assert_eq!(
            windows.baseline,
            (
                NOW - DEFAULT_RECENT_NANOS - DEFAULT_BASELINE_NANOS,
                NOW - DEFAULT_RECENT_NANOS
            )
        );
    }

    #[test]
    fn explicit_windows_are_kept() {
        let windows = query(&[
            ("from", "2026-01-10T00:00:00Z"),
            ("to", "2026-01-11T00:00:00Z"),
            ("baseline_from", "2026-01-01T00:00:00Z"),
            ("baseline_to", "2026-01-02T00:00:00Z"),
        ])
        .windows(NOW)
        .unwrap();
        let day = 24 * HOUR_NANOS;
        let jan_1 = 1_767_225_600 * 1_000_000_000;
        assert_eq!(windows.baseline, (jan_1, jan_1 + day));
        assert_eq!(windows.recent, (jan_1 + 9 * day, jan_1 + 10 * day));
    }

    #[test]
    fn baseline_defaults_follow_given_bounds() {
        let windows = query(&[
            ("from", "2026-01-10T00:00:00Z"),
            ("to", "2026-01-11T00:00:00Z"),
        ])
        .windows(NOW)
        .unwrap();
        let jan_10 = 1_767_225_600 * 1_000_000_000 + 9 * 24 * HOUR_NANOS;
        assert_eq!(windows.baseline, (jan_10 - DEFAULT_BASELINE_NANOS, jan_10));

        let windows = query(&[
            ("from", "2026-01-10T00:00:00Z"),
            ("to", "2026-01-11T00:00:00Z"),
            ("baseline_to", "2026-01-09T00:00:00Z"),
        ])
        .windows(NOW)
        .unwrap();
        let jan_9 = jan_10 - 24 * HOUR_NANOS;
        assert_eq!(windows.baseline, (jan_9 - DEFAULT_BASELINE_NANOS, jan_9));
    }

    #[test]
    fn invalid_windows_name_the_parameter() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("from", "yesterday")], "from"),
            (&[("to", "2026-13-01T00:00:00Z")], "to"),
            (&[("baseline_from", "1")], "baseline_from"),
            (&[("baseline_to", "soon")], "baseline_to"),
            (
                &[
                    ("from", "2026-01-02T00:00:00Z"),
                    ("to", "2026-01-01T00:00:00Z"),
                ],
                "from",
            ),
            (
                &[
                    ("from", "2026-01-10T00:00:00Z"),
                    ("to", "2026-01-11T00:00:00Z"),
                    ("baseline_to", "2026-01-10T00:00:01Z"),
                ],
                "baseline_to",
            ),
            (
                &[
                    ("from", "2026-01-10T00:00:00Z"),
                    ("to", "2026-01-11T00:00:00Z"),
                    ("baseline_from", "2026-01-09T00:00:00Z"),
                    ("baseline_to", "2026-01-09T00:00:00Z"),
                ],
                "baseline_from",
            ),
        ];
        for (pairs, parameter) in cases {
            let error = format!("{:?}", query(pairs).windows(NOW).unwrap_err());
            assert!(
                error.contains(&format!("message: \"invalid {parameter}: ")),
                "{pairs:?}: {error}"
            );
            assert!(error.contains("status: 400"), "{error}");
        }
    }

    #[test]
    fn baseline_may_end_at_recent_start() {
        let windows = query(&[
            ("from", "2026-01-10T00:00:00Z"),
            ("to", "2026-01-11T00:00:00Z"),
            ("baseline_to", "2026-01-10T00:00:00Z"),
        ])
        .windows(NOW);
        assert!(windows.is_ok());
    }
}
