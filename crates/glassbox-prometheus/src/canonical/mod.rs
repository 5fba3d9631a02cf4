//! The canonical metrics: one set of names, units and instruments across inference servers.
//!
//! [`DEFINITIONS`] lists the canonical names with their unit and instrument. [`RULES`] maps
//! each server kind's metrics onto them. Where several rules give the same canonical name
//! for one server kind, the first rule whose metrics are on the page wins, so newer metric
//! names come before the names they replaced. [`LABEL_RENAMES`] gives the label keys that
//! canonical points share across servers. The GPU names follow the OpenTelemetry hardware
//! conventions (`hw.*`, semantic conventions 1.44).

mod rules;

pub use rules::{Conversion, LABEL_RENAMES, LabelRename, RULES, Rule, Source, rules_for};

/// Requests being executed, a gauge.
pub const REQUESTS_RUNNING: &str = "inference.requests.running";
/// Requests waiting in the queue, a gauge.
pub const REQUESTS_WAITING: &str = "inference.requests.waiting";
/// Fraction of the KV cache in use, 0 to 1.
pub const KV_CACHE_USAGE: &str = "inference.kv_cache.usage";
/// Share of prefix cache lookups that hit, 0 to 1: of prompt tokens for vLLM 0.9 and later
/// and SGLang, of KV blocks for older vLLM, of requests for Triton's response cache.
pub const PREFIX_CACHE_HIT_RATE: &str = "inference.prefix_cache.hit_rate";
/// Prompt tokens processed per second since the previous scrape.
pub const PROMPT_TOKENS_RATE: &str = "inference.prompt_tokens.rate";
/// Tokens generated per second since the previous scrape.
pub const GENERATION_TOKENS_RATE: &str = "inference.generation_tokens.rate";
/// Time to first token, a histogram in seconds.
pub const TIME_TO_FIRST_TOKEN: &str = "gen_ai.server.time_to_first_token";
/// Time per output token after the first, a histogram in seconds.
pub const TIME_PER_OUTPUT_TOKEN: &str = "gen_ai.server.time_per_output_token";
/// End-to-end request duration, a histogram in seconds.
pub const REQUEST_DURATION: &str = "gen_ai.server.request.duration";
/// GPU utilization, 0 to 1.
pub const GPU_UTILIZATION: &str = "hw.gpu.utilization";
/// GPU memory in use, in bytes.
pub const GPU_MEMORY_USAGE: &str = "hw.gpu.memory.usage";
/// GPU memory size, in bytes.
pub const GPU_MEMORY_LIMIT: &str = "hw.gpu.memory.limit";
/// Temperature in degrees Celsius, with `hw.type` naming the device.
pub const TEMPERATURE: &str = "hw.temperature";
/// Power draw in watts, with `hw.type` naming the device.
pub const POWER: &str = "hw.power";
/// GPU SM clock, in MHz.
pub const GPU_CLOCK_SM: &str = "hw.gpu.clock.sm";
/// GPU memory clock, in MHz.
pub const GPU_CLOCK_MEMORY: &str = "hw.gpu.clock.memory";

/// Suffix of the gauge of a canonical histogram's median over the last scrape interval.
pub const P50_SUFFIX: &str = ".p50";
/// Suffix of the gauge of a canonical histogram's 95th percentile over the last interval.
pub const P95_SUFFIX: &str = ".p95";

/// The instrument of a canonical metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanonicalKind {
    /// One value per scrape.
    Gauge,
    /// Cumulative buckets, with interval percentile gauges beside it.
    Histogram,
}

/// One canonical metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Definition {
    /// The canonical name.
    pub name: &'static str,
    /// The instrument.
    pub kind: CanonicalKind,
    /// The unit, as a UCUM code the way OpenTelemetry writes units.
    pub unit: &'static str,
    /// Names under which a `prometheus` target may already expose it: the name itself
    /// (Prometheus 3 UTF-8 names) and the OpenTelemetry Collector's translation (dots to
    /// underscores, then a unit suffix).
    pub exposed_as: &'static [&'static str],
}

const fn gauge(
    name: &'static str,
    unit: &'static str,
    exposed_as: &'static [&'static str],
) -> Definition {
    Definition {
        name,
        kind: CanonicalKind::Gauge,
        unit,
        exposed_as,
    }
}

const fn histogram(name: &'static str, exposed_as: &'static [&'static str]) -> Definition {
    Definition {
        name,
        kind: CanonicalKind::Histogram,
        unit: "s",
        exposed_as,
    }
}

/// Every canonical metric.
pub const DEFINITIONS: &[Definition] = &[
    gauge(
        REQUESTS_RUNNING,
        "{request}",
        &[REQUESTS_RUNNING, "inference_requests_running"],
    ),
    gauge(
        REQUESTS_WAITING,
        "{request}",
        &[REQUESTS_WAITING, "inference_requests_waiting"],
    ),
    gauge(
        KV_CACHE_USAGE,
        "1",
        &[
            KV_CACHE_USAGE,
            "inference_kv_cache_usage",
            "inference_kv_cache_usage_ratio",
        ],
    ),
    gauge(
        PREFIX_CACHE_HIT_RATE,
        "1",
        &[
            PREFIX_CACHE_HIT_RATE,
            "inference_prefix_cache_hit_rate",
            "inference_prefix_cache_hit_rate_ratio",
        ],
    ),
    gauge(
        PROMPT_TOKENS_RATE,
        "{token}/s",
        &[PROMPT_TOKENS_RATE, "inference_prompt_tokens_rate"],
    ),
    gauge(
        GENERATION_TOKENS_RATE,
        "{token}/s",
        &[GENERATION_TOKENS_RATE, "inference_generation_tokens_rate"],
    ),
    histogram(
        TIME_TO_FIRST_TOKEN,
        &[
            TIME_TO_FIRST_TOKEN,
            "gen_ai_server_time_to_first_token",
            "gen_ai_server_time_to_first_token_seconds",
        ],
    ),
    histogram(
        TIME_PER_OUTPUT_TOKEN,
        &[
            TIME_PER_OUTPUT_TOKEN,
            "gen_ai_server_time_per_output_token",
            "gen_ai_server_time_per_output_token_seconds",
        ],
    ),
    histogram(
        REQUEST_DURATION,
        &[
            REQUEST_DURATION,
            "gen_ai_server_request_duration",
            "gen_ai_server_request_duration_seconds",
        ],
    ),
    gauge(
        GPU_UTILIZATION,
        "1",
        &[
            GPU_UTILIZATION,
            "hw_gpu_utilization",
            "hw_gpu_utilization_ratio",
        ],
    ),
    gauge(
        GPU_MEMORY_USAGE,
        "By",
        &[
            GPU_MEMORY_USAGE,
            "hw_gpu_memory_usage",
            "hw_gpu_memory_usage_bytes",
        ],
    ),
    gauge(
        GPU_MEMORY_LIMIT,
        "By",
        &[
            GPU_MEMORY_LIMIT,
            "hw_gpu_memory_limit",
            "hw_gpu_memory_limit_bytes",
        ],
    ),
    gauge(
        TEMPERATURE,
        "Cel",
        &[TEMPERATURE, "hw_temperature", "hw_temperature_celsius"],
    ),
    gauge(POWER, "W", &[POWER, "hw_power", "hw_power_watts"]),
    gauge(
        GPU_CLOCK_SM,
        "MHz",
        &[GPU_CLOCK_SM, "hw_gpu_clock_sm", "hw_gpu_clock_sm_megahertz"],
    ),
    gauge(
        GPU_CLOCK_MEMORY,
        "MHz",
        &[
            GPU_CLOCK_MEMORY,
            "hw_gpu_clock_memory",
            "hw_gpu_clock_memory_megahertz",
        ],
    ),
];

/// Returns the definition of a canonical name.
pub fn definition(name: &str) -> Option<&'static Definition> {
    DEFINITIONS
        .iter()
        .find(|definition| definition.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (index, definition) in DEFINITIONS.iter().enumerate() {
            assert!(
                DEFINITIONS[index + 1..]
                    .iter()
                    .all(|other| other.name != definition.name),
                "{}",
                definition.name
            );
            assert_eq!(definition.exposed_as.first(), Some(&definition.name));
        }
    }

    #[test]
    fn histograms_are_in_seconds() {
        for definition in DEFINITIONS {
            if definition.kind == CanonicalKind::Histogram {
                assert_eq!(definition.unit, "s", "{}", definition.name);
            }
        }
    }
}
