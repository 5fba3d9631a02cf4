//! `/api/v1/metrics/flags`: model calls flagged per analyzer, or per finding of one
//! analyzer, and all model calls per time step, so a chart can draw flag rates.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_model::Analyzer;
use glassbox_store::FlagRateFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::{
    DEFAULT_RANGE_NANOS, Steps, default_step, non_empty, now_nanos, parse_step, steps_of, time,
};
use crate::params::extract;
use crate::time_format::format_nanos;

/// Range, step and filters of the flag rates.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlagMetricsQuery {
    /// Start of the range (RFC 3339), inclusive; default 24 hours before `to`.
    from: Option<String>,
    /// End of the range (RFC 3339), exclusive; default now.
    to: Option<String>,
    /// Step as seconds or with a unit (`60`, `5m`, `1h`, `1d`), a multiple of one minute;
    /// default about 100 points over the range.
    step: Option<String>,
    /// Service name.
    service: Option<String>,
    /// Model (request model, else response model).
    model: Option<String>,
    /// An analyzer (`pii`, `secrets`, `prompt_injection`, `refusal`, `empty_output`,
    /// `truncation`, `invalid_json`, `language`): one series per finding of it instead of
    /// one per analyzer.
    analyzer: Option<String>,
}

/// The count of one step.
#[derive(Serialize, ToSchema)]
pub struct CountPoint {
    /// Start of the step.
    time: String,
    count: u64,
}

/// Flagged model calls of one analyzer or finding.
#[derive(Serialize, ToSchema)]
pub struct FlagSeriesView {
    /// The analyzer, or the finding when `analyzer` is given.
    key: String,
    /// Flagged model calls over the range.
    total: u64,
    /// One point per step from `from`, empty steps included.
    points: Vec<CountPoint>,
}

/// Flag counts per step.
#[derive(Serialize, ToSchema)]
pub struct FlagMetricsView {
    from: String,
    to: String,
    step_seconds: i64,
    /// The analyzer whose findings the series count; null when they count analyzers.
    analyzer: Option<String>,
    /// Model calls over the range.
    total_spans: u64,
    /// Model calls per step, the denominator of the rates.
    spans: Vec<CountPoint>,
    /// Without `analyzer`, one series per analyzer in a fixed order, flagged or not. With
    /// it, one series per finding that flagged a call in the range, alphabetically.
    series: Vec<FlagSeriesView>,
}

fn analyzer(value: Option<&str>) -> Result<Option<Analyzer>, ApiError> {
    let Some(text) = value.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    Analyzer::parse(text).map(Some).ok_or_else(|| {
        let names: Vec<&str> = Analyzer::ALL.iter().map(|known| known.as_str()).collect();
        ApiError::invalid_parameter(
            "analyzer",
            format!("{text:?} is not one of {}", names.join(", ")),
        )
    })
}

/// Returns one point per step, with the count of the step that starts there, else 0.
fn points(steps: &Steps, counts: &[(u64, u64)]) -> Vec<CountPoint> {
    let by_start: BTreeMap<u64, u64> = counts.iter().copied().collect();
    (0..steps.count)
        .map(|index| {
            let start = steps.first + index * steps.width_nanos;
            CountPoint {
                time: format_nanos(start),
                count: by_start.get(&start).copied().unwrap_or(0),
            }
        })
        .collect()
}

impl FlagMetricsQuery {
    fn filter(&self) -> Result<FlagRateFilter, ApiError> {
        let to = time("to", self.to.as_deref())?.unwrap_or_else(now_nanos);
        let from =
            time("from", self.from.as_deref())?.unwrap_or(to.saturating_sub(DEFAULT_RANGE_NANOS));
        if from >= to {
            return Err(ApiError::invalid_parameter(
                "from",
                "must be earlier than to",
            ));
        }
        Ok(FlagRateFilter {
            from_unix_nano: from,
            to_unix_nano: to,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            analyzer: analyzer(self.analyzer.as_deref())?,
        })
    }

    /// Returns the step in seconds and the steps over the filter's range, or the error when
    /// there are too many.
    fn steps(&self, filter: &FlagRateFilter) -> Result<(i64, Steps), ApiError> {
        let range = filter.to_unix_nano - filter.from_unix_nano;
        let seconds = match self.step.as_deref().filter(|text| !text.is_empty()) {
            Some(text) => parse_step(text)?,
            None => default_step(range),
        };
        let steps = steps_of(filter.from_unix_nano, filter.to_unix_nano, seconds)?;
        Ok((seconds, steps))
    }
}

fn series(key: String, counts: &[(u64, u64)], steps: &Steps) -> FlagSeriesView {
    FlagSeriesView {
        key,
        total: counts.iter().map(|(_, count)| count).sum(),
        points: points(steps, counts),
    }
}

/// Model calls (spans of kind `llm`) flagged per analyzer, or per finding of `analyzer`,
/// and all model calls, per step. A call with several findings of one analyzer counts once
/// in its analyzer's series and once in each finding's. Steps start at `from` rounded down
/// to the minute, and the range and step rules are those of `/api/v1/metrics/timeseries`.
/// Reads the spans and flags of the range.
#[utoipa::path(get, path = "/api/v1/metrics/flags", params(FlagMetricsQuery), responses(
    (status = 200, body = FlagMetricsView),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn flags(
    State(state): State<ApiState>,
    query: Result<Query<FlagMetricsQuery>, QueryRejection>,
) -> Result<Json<FlagMetricsView>, ApiError> {
    let query = extract(query)?;
    let filter = query.filter()?;
    let (step_seconds, steps) = query.steps(&filter)?;
    let (from, to, chosen) = (filter.from_unix_nano, filter.to_unix_nano, filter.analyzer);

    let rates = state.store.flag_rates(filter, step_seconds).await?;

    let mut flagged = rates.flagged;
    let series = match chosen {
        Some(_) => flagged
            .iter()
            .map(|(key, counts)| series(key.clone(), counts, &steps))
            .collect(),
        None => Analyzer::ALL
            .iter()
            .map(|analyzer| {
                let counts = flagged.remove(analyzer.as_str()).unwrap_or_default();
                series(analyzer.as_str().to_owned(), &counts, &steps)
            })
            .collect(),
    };
    Ok(Json(FlagMetricsView {
        from: format_nanos(from),
        to: format_nanos(to),
        step_seconds,
        analyzer: chosen.map(|analyzer| analyzer.as_str().to_owned()),
        total_spans: rates.spans.iter().map(|(_, count)| count).sum(),
        spans: points(&steps, &rates.spans),
        series,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> FlagMetricsQuery {
        serde_json::from_value(serde_json::Value::Object(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), serde_json::json!(value)))
                .collect(),
        ))
        .unwrap()
    }

    #[test]
    fn steps_start_at_the_minute() {
        let query = query(&[
            ("from", "2026-01-01T00:00:30Z"),
            ("to", "2026-01-01T00:05:00Z"),
            ("step", "2m"),
        ]);
        let filter = query.filter().unwrap();
        let (seconds, steps) = query.steps(&filter).unwrap();
        assert_eq!(seconds, 120);
        assert_eq!(steps.first, 1_767_225_600 * 1_000_000_000);
        assert_eq!(steps.count, 3);

        let minute = 60 * 1_000_000_000;
        let points = points(&steps, &[(steps.first + 2 * minute, 4)]);
        let counts: Vec<u64> = points.iter().map(|point| point.count).collect();
        assert_eq!(counts, [0, 4, 0]);
        assert_eq!(points[1].time, "2026-01-01T00:02:00.000000000Z");
    }

    #[test]
    fn invalid_values_name_the_parameter() {
        let cases = [
            (vec![("from", "noon")], "from"),
            (vec![("to", "2026-01-01")], "to"),
            (vec![("analyzer", "email")], "analyzer"),
            (
                vec![
                    ("from", "2026-01-02T00:00:00Z"),
                    ("to", "2026-01-01T00:00:00Z"),
                ],
                "from",
            ),
        ];
        for (pairs, parameter) in cases {
            let error = format!("{:?}", query(&pairs).filter().unwrap_err());
            assert!(
                error.contains(&format!("message: \"invalid {parameter}: ")),
                "{pairs:?}: {error}"
            );
        }

        for step in ["90", "0", "1x"] {
            let query = query(&[("step", step)]);
            let filter = query.filter().unwrap();
            let error = format!("{:?}", query.steps(&filter).err().unwrap());
            assert!(
                error.contains("message: \"invalid step: "),
                "{step}: {error}"
            );
        }
        let query = query(&[
            ("from", "2026-01-01T00:00:00Z"),
            ("to", "2026-02-01T00:00:00Z"),
            ("step", "1m"),
        ]);
        let filter = query.filter().unwrap();
        let error = format!("{:?}", query.steps(&filter).err().unwrap());
        assert!(error.contains("gives 44640 points"), "{error}");
    }
}
