//! `/api/v1/prices` and `/api/v1/reprice`: custom prices, price look-up, unpriced models and
//! recomputing stored costs.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use glassbox_enrich::{CustomPrice, PriceInfo, parse_custom_prices};
use glassbox_model::SpanKind;
use glassbox_store::{GroupBy, MetricsFilter, Repricer, SettingsStore, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::error::{ApiError, ErrorBody};
use crate::params::extract;
use crate::time_format::{format_nanos, parse_rfc3339};

/// Settings key of the prices set through the API.
pub const CUSTOM_PRICES_SETTING: &str = "custom_prices";

/// Custom prices in force: those set through the API first, then those of the configuration
/// file. Of the entries that match a span, the one with the latest `start_date` not after the
/// span's start wins. Among entries with the same date (or none), the first listed wins.
#[derive(Serialize, ToSchema)]
pub struct PriceList {
    /// Set with `PUT /api/v1/prices`; stored in the database.
    #[schema(value_type = Vec<Object>)]
    api: Vec<CustomPrice>,
    /// From the configuration file; change them there.
    #[schema(value_type = Vec<Object>)]
    config: Vec<CustomPrice>,
}

/// Loads the prices saved through the API; an absent setting is an empty list.
pub async fn saved_prices(store: &dyn SettingsStore) -> Result<Vec<CustomPrice>, StoreError> {
    let Some(value) = store.setting(CUSTOM_PRICES_SETTING.to_owned()).await? else {
        return Ok(Vec::new());
    };
    parse_custom_prices(&value.to_string()).map_err(|error| StoreError::Corrupt {
        column: "settings.custom_prices",
        reason: error.to_string(),
    })
}

fn combined(api: &[CustomPrice], config: &[CustomPrice]) -> Vec<CustomPrice> {
    api.iter().chain(config).cloned().collect()
}

/// Lists the custom prices.
#[utoipa::path(get, path = "/api/v1/prices", responses((status = 200, body = PriceList)))]
pub async fn list(State(state): State<ApiState>) -> Result<Json<PriceList>, ApiError> {
    let api = saved_prices(state.store.as_ref()).await?;
    Ok(Json(PriceList {
        api,
        config: state.config_prices.as_ref().clone(),
    }))
}

/// Replaces the prices set through the API with the JSON list in the body. The list is
/// checked whole first: on any error nothing changes. New spans are priced with it at once;
/// stored spans keep their cost until `POST /api/v1/reprice`.
#[utoipa::path(put, path = "/api/v1/prices", request_body(content = Vec<Object>, description = "Custom prices"), responses(
    (status = 200, body = PriceList),
    (status = 400, body = ErrorBody, description = "A price is invalid; the message names the entry and the field"),
))]
pub async fn replace(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Json<PriceList>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid_body("the body is not UTF-8 text"))?;
    let api =
        parse_custom_prices(text).map_err(|error| ApiError::invalid_body(error.to_string()))?;
    let enricher = state.ingest.enricher();
    enricher
        .set_custom_prices(combined(&api, &state.config_prices))
        .map_err(|error| ApiError::invalid_body(error.to_string()))?;
    let value =
        serde_json::to_value(&api).map_err(|error| ApiError::invalid_body(error.to_string()))?;
    state
        .store
        .put_setting(CUSTOM_PRICES_SETTING.to_owned(), value)
        .await?;
    Ok(Json(PriceList {
        api,
        config: state.config_prices.as_ref().clone(),
    }))
}

/// Removes every price set through the API; the configuration file's prices stay.
#[utoipa::path(delete, path = "/api/v1/prices", responses((status = 200, body = PriceList)))]
pub async fn clear(State(state): State<ApiState>) -> Result<Json<PriceList>, ApiError> {
    state
        .ingest
        .enricher()
        .set_custom_prices(state.config_prices.as_ref().clone())
        .map_err(|error| ApiError::invalid_body(error.to_string()))?;
    state
        .store
        .put_setting(
            CUSTOM_PRICES_SETTING.to_owned(),
            serde_json::Value::Array(Vec::new()),
        )
        .await?;
    Ok(Json(PriceList {
        api: Vec::new(),
        config: state.config_prices.as_ref().clone(),
    }))
}

/// A price look-up: model, provider and time.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The model name as a span carries it (`gpt-4o-2024-08-06`, `openai/gpt-4o`).
    model: String,
    /// The normalized provider (`openai`, `anthropic`, `aws.bedrock`, ...).
    provider: Option<String>,
    /// The time of the call (RFC 3339); default now.
    at: Option<String>,
}

/// Returns the price that applies to a model at a time, and where it comes from.
#[utoipa::path(get, path = "/api/v1/prices/lookup", params(LookupQuery), responses(
    (status = 200, body = Object, description = "The matched price: source, provider, model id, constraint, prices"),
    (status = 404, body = ErrorBody, description = "No price matches; calls of this model are unpriced"),
))]
pub async fn lookup(
    State(state): State<ApiState>,
    query: Result<Query<LookupQuery>, QueryRejection>,
) -> Result<Json<PriceInfo>, ApiError> {
    let query = extract(query)?;
    let at = match query.at.as_deref() {
        Some(text) => {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter("at", problem))?
        }
        None => crate::metrics::now_nanos(),
    };
    let info = state
        .ingest
        .enricher()
        .find_price(query.provider.as_deref(), &query.model, at)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no price for model {:?}; add one with PUT /api/v1/prices or [[pricing.custom]] in the configuration",
                query.model
            ))
        })?;
    Ok(Json(info))
}

/// A range of calls.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start (RFC 3339); default 30 days before `to`.
    from: Option<String>,
    /// End (RFC 3339); default now.
    to: Option<String>,
}

/// A model whose calls have no price.
#[derive(Serialize, ToSchema)]
pub struct UnpricedModel {
    model: Option<String>,
    /// Calls without a price in the range.
    unpriced_calls: u64,
}

/// Models with unpriced calls, and how to price them.
#[derive(Serialize, ToSchema)]
pub struct UnpricedList {
    from: String,
    to: String,
    models: Vec<UnpricedModel>,
    /// The way to price them.
    hint: String,
}

const THIRTY_DAYS_NANOS: u64 = 30 * 86_400 * 1_000_000_000;

/// Lists the models whose calls had tokens but no price, most calls first.
#[utoipa::path(get, path = "/api/v1/prices/unpriced", params(RangeQuery), responses(
    (status = 200, body = UnpricedList),
    (status = 400, body = ErrorBody, description = "A parameter is invalid"),
))]
pub async fn unpriced(
    State(state): State<ApiState>,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<UnpricedList>, ApiError> {
    let query = extract(query)?;
    let (from, to) = range(
        query.from.as_deref(),
        query.to.as_deref(),
        THIRTY_DAYS_NANOS,
    )?;
    let filter = MetricsFilter {
        from_unix_nano: from,
        to_unix_nano: to,
        kinds: vec![SpanKind::Llm, SpanKind::Embedding],
        ..Default::default()
    };
    let groups = state.store.summary(filter, Some(GroupBy::Model)).await?;
    let mut models: Vec<UnpricedModel> = groups
        .into_iter()
        .filter(|group| group.aggregate.unpriced_count > 0)
        .map(|group| UnpricedModel {
            model: group.key,
            unpriced_calls: group.aggregate.unpriced_count,
        })
        .collect();
    models.sort_by_key(|model| std::cmp::Reverse(model.unpriced_calls));
    Ok(Json(UnpricedList {
        from: format_nanos(from),
        to: format_nanos(to),
        models,
        hint: "add a price with PUT /api/v1/prices (or [[pricing.custom]] in the configuration file), \
               then POST /api/v1/reprice to recompute stored calls"
            .to_owned(),
    }))
}

fn range(from: Option<&str>, to: Option<&str>, default_span: u64) -> Result<(u64, u64), ApiError> {
    let to = match to {
        Some(text) => {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter("to", problem))?
        }
        None => crate::metrics::now_nanos(),
    };
    let from = match from {
        Some(text) => {
            parse_rfc3339(text).map_err(|problem| ApiError::invalid_parameter("from", problem))?
        }
        None => to.saturating_sub(default_span),
    };
    if from >= to {
        return Err(ApiError::invalid_parameter(
            "from",
            "must be earlier than to; the range is empty",
        ));
    }
    Ok((from, to))
}

/// The calls to reprice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepriceRequest {
    /// Start (RFC 3339), inclusive.
    from: String,
    /// End (RFC 3339), exclusive.
    to: String,
    /// Only calls of this exact model name (request or response model).
    model: Option<String>,
}

/// The outcome of a reprice.
#[derive(Serialize, ToSchema)]
pub struct RepriceResult {
    /// Spans whose cost changed.
    repriced_spans: u64,
}

/// Recomputes the cost of stored model calls in a range with the prices in force at the time
/// of each call, then the trace totals and rollups they feed.
#[utoipa::path(post, path = "/api/v1/reprice", request_body = RepriceRequest, responses(
    (status = 200, body = RepriceResult),
    (status = 400, body = ErrorBody, description = "The range is invalid or empty"),
))]
pub async fn reprice(
    State(state): State<ApiState>,
    body: Bytes,
) -> Result<Json<RepriceResult>, ApiError> {
    let request: RepriceRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::invalid_body(format!(
            "{error}; expected {{\"from\": \"<RFC 3339>\", \"to\": \"<RFC 3339>\"}}, with an \
             optional \"model\""
        ))
    })?;
    let (from, to) = range(Some(&request.from), Some(&request.to), 0)?;
    let enricher = Arc::clone(state.ingest.enricher());
    let repricer: Repricer = Arc::new(move |span| enricher.reprice(span));
    let repriced_spans = state
        .store
        .reprice(from, to, request.model, repricer)
        .await?;
    Ok(Json(RepriceResult { repriced_spans }))
}
