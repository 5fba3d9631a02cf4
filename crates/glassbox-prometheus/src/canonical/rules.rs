//! The alias table: which metrics of each server kind give each canonical metric, with the
//! unit conversion and the label keys that differ.
//!
//! Sources: the metric names of vLLM (`vllm/v1/metrics/loggers.py`, 0.8 to 0.11), TGI
//! (`docs/source/reference/metrics.md`), llama.cpp (`tools/server`), Triton
//! (`docs/user_guide/metrics.md`), SGLang (`python/sglang/srt/metrics/collector.py`) and the
//! DCGM exporter (`etc/default-counters.csv`, 4.x).

use super::{
    CanonicalKind, DEFINITIONS, GENERATION_TOKENS_RATE, GPU_CLOCK_MEMORY, GPU_CLOCK_SM,
    GPU_MEMORY_LIMIT, GPU_MEMORY_USAGE, GPU_UTILIZATION, KV_CACHE_USAGE, POWER,
    PREFIX_CACHE_HIT_RATE, PROMPT_TOKENS_RATE, REQUEST_DURATION, REQUESTS_RUNNING,
    REQUESTS_WAITING, TEMPERATURE, TIME_PER_OUTPUT_TOKEN, TIME_TO_FIRST_TOKEN,
};
use crate::server::ServerKind;

/// The page metrics a canonical value is computed from. Counter names are given without
/// `_total`, and both spellings match, because Python's `prometheus_client` adds the suffix and
/// Rust's `metrics` exporter does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A gauge, copied.
    Gauge(&'static str),
    /// The sum of gauges with the same labels: all of `required`, plus each of `optional`
    /// that is on the page.
    GaugeSum {
        /// Gauges that must all be present.
        required: &'static [&'static str],
        /// Gauges added when present.
        optional: &'static [&'static str],
    },
    /// The per-second increase of a counter since the previous scrape.
    CounterRate(&'static str),
    /// The per-second increase of a histogram's `_sum` since the previous scrape.
    HistogramSumRate(&'static str),
    /// increase(`hits`) / increase(`lookups`) since the previous scrape.
    HitsOverLookups {
        /// The counter of hits.
        hits: &'static str,
        /// The counter of all lookups.
        lookups: &'static str,
    },
    /// increase(`hits`) / (increase(`hits`) + increase(`misses`)) since the previous scrape.
    HitsOverHitsAndMisses {
        /// The counter of hits.
        hits: &'static str,
        /// The counter of misses.
        misses: &'static str,
    },
    /// A histogram, its bounds and sum converted to the canonical unit.
    Histogram(&'static str),
}

/// A unit conversion from a server's unit to the canonical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Same unit.
    None,
    /// Percent (0 to 100) to a fraction (0 to 1).
    PercentToFraction,
    /// Milliseconds to seconds.
    MillisecondsToSeconds,
    /// Mebibytes to bytes.
    MebibytesToBytes,
}

impl Conversion {
    /// Converts one value.
    pub fn apply(self, value: f64) -> f64 {
        match self {
            Conversion::None => value,
            Conversion::PercentToFraction => value / 100.0,
            Conversion::MillisecondsToSeconds => value / 1000.0,
            Conversion::MebibytesToBytes => value * 1_048_576.0,
        }
    }
}

/// One mapping from a server kind's metrics to a canonical metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// The canonical name produced.
    pub canonical: &'static str,
    /// The server kind whose pages it reads.
    pub server: ServerKind,
    /// The metrics read.
    pub source: Source,
    /// The conversion to the canonical unit.
    pub conversion: Conversion,
    /// Labels added to every point, such as `hw.type="gpu"`.
    pub labels: &'static [(&'static str, &'static str)],
}

impl Rule {
    /// Creates a rule without conversion or added labels.
    pub const fn new(canonical: &'static str, server: ServerKind, source: Source) -> Rule {
        Rule {
            canonical,
            server,
            source,
            conversion: Conversion::None,
            labels: &[],
        }
    }

    const fn converted(self, conversion: Conversion) -> Rule {
        Rule { conversion, ..self }
    }

    const fn gpu(self) -> Rule {
        Rule {
            labels: &[("hw.type", "gpu")],
            ..self
        }
    }
}

use Conversion::{MebibytesToBytes, MillisecondsToSeconds, PercentToFraction};
use ServerKind::{Dcgm, LlamaCpp, Sglang, Tgi, Triton, Vllm};
use Source::{
    CounterRate, Gauge, GaugeSum, Histogram, HistogramSumRate, HitsOverHitsAndMisses,
    HitsOverLookups,
};

/// The rules of every server kind but `prometheus`, whose rules
/// [`rules_for`] builds from [`Definition::exposed_as`](super::Definition::exposed_as).
pub const RULES: &[Rule] = &[
    // Requests being executed.
    Rule::new(REQUESTS_RUNNING, Vllm, Gauge("vllm:num_requests_running")),
    Rule::new(REQUESTS_RUNNING, Sglang, Gauge("sglang:num_running_reqs")),
    Rule::new(REQUESTS_RUNNING, Tgi, Gauge("tgi_batch_current_size")),
    Rule::new(
        REQUESTS_RUNNING,
        LlamaCpp,
        Gauge("llamacpp:requests_processing"),
    ),
    // Requests waiting.
    Rule::new(REQUESTS_WAITING, Vllm, Gauge("vllm:num_requests_waiting")),
    Rule::new(REQUESTS_WAITING, Sglang, Gauge("sglang:num_queue_reqs")),
    Rule::new(REQUESTS_WAITING, Tgi, Gauge("tgi_queue_size")),
    Rule::new(
        REQUESTS_WAITING,
        LlamaCpp,
        Gauge("llamacpp:requests_deferred"),
    ),
    Rule::new(
        REQUESTS_WAITING,
        Triton,
        Gauge("nv_inference_pending_request_count"),
    ),
    // KV cache usage. Both vLLM names are fractions despite the `_perc` suffix; the older
    // one was deprecated in 0.9.2, hidden in 0.11 and removed in 0.12.
    Rule::new(KV_CACHE_USAGE, Vllm, Gauge("vllm:kv_cache_usage_perc")),
    Rule::new(KV_CACHE_USAGE, Vllm, Gauge("vllm:gpu_cache_usage_perc")),
    Rule::new(KV_CACHE_USAGE, Sglang, Gauge("sglang:token_usage")),
    Rule::new(
        KV_CACHE_USAGE,
        LlamaCpp,
        Gauge("llamacpp:kv_cache_usage_ratio"),
    ),
    // Prefix cache hit rate. The newer vLLM counters count tokens, the older ones blocks.
    Rule::new(
        PREFIX_CACHE_HIT_RATE,
        Vllm,
        HitsOverLookups {
            hits: "vllm:prefix_cache_hits",
            lookups: "vllm:prefix_cache_queries",
        },
    ),
    Rule::new(
        PREFIX_CACHE_HIT_RATE,
        Vllm,
        HitsOverLookups {
            hits: "vllm:gpu_prefix_cache_hits",
            lookups: "vllm:gpu_prefix_cache_queries",
        },
    ),
    Rule::new(
        PREFIX_CACHE_HIT_RATE,
        Sglang,
        Gauge("sglang:cache_hit_rate"),
    ),
    Rule::new(
        PREFIX_CACHE_HIT_RATE,
        Triton,
        HitsOverHitsAndMisses {
            hits: "nv_cache_num_hits_per_model",
            misses: "nv_cache_num_misses_per_model",
        },
    ),
    // Token throughput. TGI has no token counters, but the sums of its per-request token
    // histograms grow by the same amounts.
    Rule::new(PROMPT_TOKENS_RATE, Vllm, CounterRate("vllm:prompt_tokens")),
    Rule::new(
        PROMPT_TOKENS_RATE,
        Sglang,
        CounterRate("sglang:prompt_tokens"),
    ),
    Rule::new(
        PROMPT_TOKENS_RATE,
        LlamaCpp,
        CounterRate("llamacpp:prompt_tokens"),
    ),
    Rule::new(
        PROMPT_TOKENS_RATE,
        Tgi,
        HistogramSumRate("tgi_request_input_length"),
    ),
    Rule::new(
        GENERATION_TOKENS_RATE,
        Vllm,
        CounterRate("vllm:generation_tokens"),
    ),
    Rule::new(
        GENERATION_TOKENS_RATE,
        Sglang,
        CounterRate("sglang:generation_tokens"),
    ),
    Rule::new(
        GENERATION_TOKENS_RATE,
        LlamaCpp,
        CounterRate("llamacpp:tokens_predicted"),
    ),
    Rule::new(
        GENERATION_TOKENS_RATE,
        Tgi,
        HistogramSumRate("tgi_request_generated_tokens"),
    ),
    // Time to first token. TGI and llama.cpp have no such histogram.
    Rule::new(
        TIME_TO_FIRST_TOKEN,
        Vllm,
        Histogram("vllm:time_to_first_token_seconds"),
    ),
    Rule::new(
        TIME_TO_FIRST_TOKEN,
        Sglang,
        Histogram("sglang:time_to_first_token_seconds"),
    ),
    Rule::new(
        TIME_TO_FIRST_TOKEN,
        Triton,
        Histogram("nv_inference_first_response_histogram_ms"),
    )
    .converted(MillisecondsToSeconds),
    // Time per output token; the older names were replaced in vLLM 0.11 and SGLang.
    Rule::new(
        TIME_PER_OUTPUT_TOKEN,
        Vllm,
        Histogram("vllm:inter_token_latency_seconds"),
    ),
    Rule::new(
        TIME_PER_OUTPUT_TOKEN,
        Vllm,
        Histogram("vllm:time_per_output_token_seconds"),
    ),
    Rule::new(
        TIME_PER_OUTPUT_TOKEN,
        Sglang,
        Histogram("sglang:inter_token_latency_seconds"),
    ),
    Rule::new(
        TIME_PER_OUTPUT_TOKEN,
        Sglang,
        Histogram("sglang:time_per_output_token_seconds"),
    ),
    Rule::new(
        TIME_PER_OUTPUT_TOKEN,
        Tgi,
        Histogram("tgi_request_mean_time_per_token_duration"),
    ),
    // End-to-end request duration.
    Rule::new(
        REQUEST_DURATION,
        Vllm,
        Histogram("vllm:e2e_request_latency_seconds"),
    ),
    Rule::new(
        REQUEST_DURATION,
        Sglang,
        Histogram("sglang:e2e_request_latency_seconds"),
    ),
    Rule::new(REQUEST_DURATION, Tgi, Histogram("tgi_request_duration")),
    // GPU utilization: DCGM reports percent, Triton a fraction.
    Rule::new(GPU_UTILIZATION, Dcgm, Gauge("DCGM_FI_DEV_GPU_UTIL")).converted(PercentToFraction),
    Rule::new(GPU_UTILIZATION, Triton, Gauge("nv_gpu_utilization")),
    // GPU memory: DCGM reports MiB, Triton bytes.
    Rule::new(GPU_MEMORY_USAGE, Dcgm, Gauge("DCGM_FI_DEV_FB_USED")).converted(MebibytesToBytes),
    Rule::new(GPU_MEMORY_USAGE, Triton, Gauge("nv_gpu_memory_used_bytes")),
    Rule::new(GPU_MEMORY_LIMIT, Dcgm, Gauge("DCGM_FI_DEV_FB_TOTAL")).converted(MebibytesToBytes),
    Rule::new(
        GPU_MEMORY_LIMIT,
        Dcgm,
        GaugeSum {
            required: &["DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"],
            optional: &["DCGM_FI_DEV_FB_RESERVED"],
        },
    )
    .converted(MebibytesToBytes),
    Rule::new(GPU_MEMORY_LIMIT, Triton, Gauge("nv_gpu_memory_total_bytes")),
    // Temperature, power and clocks.
    Rule::new(TEMPERATURE, Dcgm, Gauge("DCGM_FI_DEV_GPU_TEMP")).gpu(),
    Rule::new(POWER, Dcgm, Gauge("DCGM_FI_DEV_POWER_USAGE")).gpu(),
    Rule::new(POWER, Triton, Gauge("nv_gpu_power_usage")).gpu(),
    Rule::new(GPU_CLOCK_SM, Dcgm, Gauge("DCGM_FI_DEV_SM_CLOCK")),
    Rule::new(GPU_CLOCK_MEMORY, Dcgm, Gauge("DCGM_FI_DEV_MEM_CLOCK")),
];

/// Returns the rules of one server kind, in table order. For `prometheus` targets these are
/// the canonical names themselves, copied when the page has them.
pub fn rules_for(server: ServerKind) -> Vec<Rule> {
    if server != ServerKind::Prometheus {
        return RULES
            .iter()
            .filter(|rule| rule.server == server)
            .copied()
            .collect();
    }
    DEFINITIONS
        .iter()
        .flat_map(|definition| {
            definition.exposed_as.iter().map(move |name| {
                let source = match definition.kind {
                    CanonicalKind::Gauge => Gauge(name),
                    CanonicalKind::Histogram => Histogram(name),
                };
                Rule::new(definition.name, server, source)
            })
        })
        .collect()
}

/// A label key that canonical points spell differently from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelRename {
    /// The server kind.
    pub server: ServerKind,
    /// The key on the server's samples.
    pub from: &'static str,
    /// The key on canonical points.
    pub to: &'static str,
    /// Whether the original key stays beside the new one.
    pub keep_original: bool,
}

/// Label keys of canonical points: the model as `model`, and the GPU UUID also as `hw.id`,
/// the OpenTelemetry hardware key. Triton already names its model label `model`.
pub const LABEL_RENAMES: &[LabelRename] = &[
    LabelRename {
        server: Vllm,
        from: "model_name",
        to: "model",
        keep_original: false,
    },
    LabelRename {
        server: Sglang,
        from: "model_name",
        to: "model",
        keep_original: false,
    },
    LabelRename {
        server: Dcgm,
        from: "UUID",
        to: "hw.id",
        keep_original: true,
    },
    LabelRename {
        server: Dcgm,
        from: "uuid",
        to: "hw.id",
        keep_original: true,
    },
    LabelRename {
        server: Triton,
        from: "gpu_uuid",
        to: "hw.id",
        keep_original: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::definition;

    #[test]
    fn every_rule_has_a_definition() {
        for rule in RULES {
            assert!(definition(rule.canonical).is_some(), "{}", rule.canonical);
            assert_ne!(rule.server, ServerKind::Prometheus, "{}", rule.canonical);
        }
    }

    #[test]
    fn histogram_rules_match_histogram_definitions() {
        for rule in RULES {
            let Some(definition) = definition(rule.canonical) else {
                continue;
            };
            let is_histogram = matches!(rule.source, Histogram(_));
            assert_eq!(
                is_histogram,
                definition.kind == CanonicalKind::Histogram,
                "{}",
                rule.canonical
            );
        }
    }

    #[test]
    fn prometheus_rules_use_exposed_names() {
        let rules = rules_for(ServerKind::Prometheus);
        assert!(rules.contains(&Rule::new(
            TIME_TO_FIRST_TOKEN,
            ServerKind::Prometheus,
            Histogram("gen_ai_server_time_to_first_token_seconds")
        )));
        assert!(rules.contains(&Rule::new(
            GPU_UTILIZATION,
            ServerKind::Prometheus,
            Gauge(GPU_UTILIZATION)
        )));
        assert!(
            rules_for(ServerKind::Vllm)
                .iter()
                .all(|rule| rule.server == ServerKind::Vllm)
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(Conversion::PercentToFraction.apply(87.0), 0.87);
        assert_eq!(Conversion::MillisecondsToSeconds.apply(100.0), 0.1);
        assert_eq!(Conversion::MebibytesToBytes.apply(2.0), 2_097_152.0);
        assert_eq!(Conversion::None.apply(3.5), 3.5);
    }
}
