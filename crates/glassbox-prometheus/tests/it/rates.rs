//! Two or more consecutive scrapes: rates, hit rates and interval percentiles, counter resets
//! and a server upgrade that renames its metrics. The pages are 15 seconds apart.

use glassbox_prometheus::canonical::{
    GENERATION_TOKENS_RATE, KV_CACHE_USAGE, PREFIX_CACHE_HIT_RATE, PROMPT_TOKENS_RATE,
    REQUESTS_RUNNING, TIME_PER_OUTPUT_TOKEN,
};
use glassbox_prometheus::{Limits, Mapper, ServerKind, parse};

use crate::*;

const TTFT_P50: &str = "gen_ai.server.time_to_first_token.p50";
const TTFT_P95: &str = "gen_ai.server.time_to_first_token.p95";
const TPOT_P50: &str = "gen_ai.server.time_per_output_token.p50";
const TPOT_P95: &str = "gen_ai.server.time_per_output_token.p95";
const DURATION_P50: &str = "gen_ai.server.request.duration.p50";
const DURATION_P95: &str = "gen_ai.server.request.duration.p95";

/// Scrapes `first` at [`T0`] and `second` one interval later; returns the second scrape.
fn two_scrapes(kind: ServerKind, first: &str, second: &str) -> Converted {
    let mut mapper = Mapper::new(kind);
    scrape(&mut mapper, first, T0);
    scrape(&mut mapper, second, T0 + INTERVAL)
}

fn assert_no_interval_values(converted: &Converted) {
    for name in [
        PROMPT_TOKENS_RATE,
        GENERATION_TOKENS_RATE,
        PREFIX_CACHE_HIT_RATE,
        TTFT_P50,
        TPOT_P95,
        DURATION_P50,
    ] {
        assert!(canonical(converted, name).is_empty(), "unexpected {name}");
    }
}

#[test]
fn vllm_rates_and_hit_rate() {
    let converted = two_scrapes(ServerKind::Vllm, "vllm-0.11.txt", "vllm-0.11-next.txt");
    // Prompt tokens 12000 -> 15000 and generation tokens 36000 -> 37500 in 15 s.
    assert_value(&converted, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&converted, GENERATION_TOKENS_RATE, 100.0);
    // Hits 4800 -> 6300 over queries 12000 -> 15000.
    assert_value(&converted, PREFIX_CACHE_HIT_RATE, 0.5);

    let rate = only(&converted, PROMPT_TOKENS_RATE);
    assert_eq!(rate.start_time_unix_nano, Some(T0));
    assert_eq!(rate.time_unix_nano, T0 + INTERVAL);
    assert_eq!(rate.unit.as_deref(), Some("{token}/s"));
    assert_eq!(
        label(rate, "model"),
        Some("meta-llama/Llama-3.1-8B-Instruct")
    );
    assert!(
        converted
            .latest
            .contains(&(PREFIX_CACHE_HIT_RATE.to_owned(), 0.5))
    );
}

#[test]
fn vllm_interval_percentiles() {
    let converted = two_scrapes(ServerKind::Vllm, "vllm-0.11.txt", "vllm-0.11-next.txt");
    // TTFT, 20 new requests: 8 in (0.06, 0.08], 4 in (0.08, 0.1], 6 in (0.1, 0.25], 2 in
    // (0.25, 0.5]. Rank 10 is half-way into (0.08, 0.1]; rank 19 half-way into (0.25, 0.5].
    assert_value(&converted, TTFT_P50, 0.09);
    assert_value(&converted, TTFT_P95, 0.375);
    // Inter-token latency, 1500 new tokens: 100, 500, 600, 250, 50 from (0.01, 0.025] on.
    // Rank 750 is a quarter into (0.05, 0.075]; rank 1425 is 0.9 into (0.075, 0.1].
    assert_value(&converted, TPOT_P50, 0.05625);
    assert_value(&converted, TPOT_P95, 0.0975);
    // Duration, 20 new requests: 4, 6, 8, 2 in (1.5, 2], (2, 2.5], (2.5, 5], (5, 10].
    assert_value(&converted, DURATION_P50, 2.5);
    assert_value(&converted, DURATION_P95, 7.5);

    let p50 = only(&converted, TTFT_P50);
    assert_eq!(p50.unit.as_deref(), Some("s"));
    assert_eq!(p50.start_time_unix_nano, Some(T0));
    assert_eq!(
        label(p50, "model"),
        Some("meta-llama/Llama-3.1-8B-Instruct")
    );
}

#[test]
fn vllm_08_rates_from_older_names() {
    let converted = two_scrapes(ServerKind::Vllm, "vllm-0.8.txt", "vllm-0.8-next.txt");
    // Prompt 50000 -> 54500, generation 90000 -> 91800 in 15 s.
    assert_value(&converted, PROMPT_TOKENS_RATE, 300.0);
    assert_value(&converted, GENERATION_TOKENS_RATE, 120.0);
    // Block hits 1200 -> 1275 over block queries 3000 -> 3300.
    assert_value(&converted, PREFIX_CACHE_HIT_RATE, 0.25);
    // 900, 600 and 300 new tokens in (0.025, 0.05], (0.05, 0.075], (0.075, 0.1].
    assert_value(&converted, TPOT_P50, 0.05);
    assert_value(&converted, TPOT_P95, 0.0925);
    assert_value(&converted, KV_CACHE_USAGE, 0.65);
}

#[test]
fn tgi_rates_from_histogram_sums() {
    let converted = two_scrapes(ServerKind::Tgi, "tgi.txt", "tgi-next.txt");
    // Input length sum 48000 -> 51000, generated tokens sum 24000 -> 25500.
    assert_value(&converted, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&converted, GENERATION_TOKENS_RATE, 100.0);
    // Duration, 20 new requests: 10, 6, 4 in (1, 2.5], (2.5, 5], (5, 10].
    assert_value(&converted, DURATION_P50, 2.5);
    assert_value(&converted, DURATION_P95, 8.75);
    // Mean time per token, 20 new requests: 12 in (0.02, 0.03], 8 in (0.03, 0.05].
    assert_value(&converted, TPOT_P50, 0.02 + 0.01 * 10.0 / 12.0);
    assert_value(&converted, TPOT_P95, 0.0475);
    assert!(canonical(&converted, TTFT_P50).is_empty());
}

#[test]
fn llamacpp_rates() {
    let converted = two_scrapes(ServerKind::LlamaCpp, "llamacpp.txt", "llamacpp-next.txt");
    // Prompt 4800 -> 7800, predicted 12000 -> 13500.
    assert_value(&converted, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&converted, GENERATION_TOKENS_RATE, 100.0);
    assert_value(&converted, KV_CACHE_USAGE, 0.3125);
}

#[test]
fn triton_hit_rate_and_first_response() {
    let converted = two_scrapes(ServerKind::Triton, "triton.txt", "triton-next.txt");
    // Hits 300 -> 420, misses 700 -> 780: 120 / (120 + 80).
    assert_value(&converted, PREFIX_CACHE_HIT_RATE, 0.6);
    assert_eq!(
        label(only(&converted, PREFIX_CACHE_HIT_RATE), "model"),
        Some("densenet_onnx")
    );
    // First response, 20 new requests: 5, 10, 4, 1 in (0, 0.1], (0.1, 0.5], (0.5, 2], (2, 5] s.
    assert_value(&converted, TTFT_P50, 0.3);
    assert_value(&converted, TTFT_P95, 2.0);
    assert!(canonical(&converted, PROMPT_TOKENS_RATE).is_empty());
}

#[test]
fn sglang_rates_and_percentiles() {
    let converted = two_scrapes(ServerKind::Sglang, "sglang.txt", "sglang-next.txt");
    // Prompt 80000 -> 83000, generation 20000 -> 21500.
    assert_value(&converted, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&converted, GENERATION_TOKENS_RATE, 100.0);
    assert_value(&converted, PREFIX_CACHE_HIT_RATE, 0.4);
    // TTFT, 40 new requests: 10, 20, 8, 2 in (0.1, 0.2], (0.2, 0.4], (0.4, 0.6], (0.6, 0.8].
    assert_value(&converted, TTFT_P50, 0.3);
    assert_value(&converted, TTFT_P95, 0.6);
}

#[test]
fn counter_reset_skips_one_scrape() {
    let mut mapper = Mapper::new(ServerKind::Vllm);
    scrape(&mut mapper, "vllm-0.11-next.txt", T0);

    // Every counter and histogram went down: the server restarted.
    let restarted = scrape(&mut mapper, "vllm-0.11.txt", T0 + INTERVAL);
    assert_no_interval_values(&restarted);
    assert_value(&restarted, KV_CACHE_USAGE, 0.4375);

    let resumed = scrape(&mut mapper, "vllm-0.11-next.txt", T0 + 2 * INTERVAL);
    assert_value(&resumed, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&resumed, PREFIX_CACHE_HIT_RATE, 0.5);
    assert_value(&resumed, TTFT_P50, 0.09);
    assert_eq!(
        only(&resumed, PROMPT_TOKENS_RATE).start_time_unix_nano,
        Some(T0 + INTERVAL)
    );
}

#[test]
fn vllm_upgrade_keeps_mapping() {
    let mut mapper = Mapper::new(ServerKind::Vllm);

    let old = scrape(&mut mapper, "vllm-0.8.txt", T0);
    assert_value(&old, KV_CACHE_USAGE, 0.62);
    assert_eq!(only(&old, TIME_PER_OUTPUT_TOKEN).count, Some(1800));

    // 0.11 renamed the KV, prefix cache and per-token families and added the `engine` label,
    // so no series continues: gauges map at once, interval values wait one scrape.
    let upgraded = scrape(&mut mapper, "vllm-0.11.txt", T0 + INTERVAL);
    assert_value(&upgraded, KV_CACHE_USAGE, 0.4375);
    assert_value(&upgraded, REQUESTS_RUNNING, 3.0);
    assert_eq!(only(&upgraded, TIME_PER_OUTPUT_TOKEN).count, Some(36000));
    assert_no_interval_values(&upgraded);

    let next = scrape(&mut mapper, "vllm-0.11-next.txt", T0 + 2 * INTERVAL);
    assert_value(&next, KV_CACHE_USAGE, 0.5);
    assert_value(&next, PROMPT_TOKENS_RATE, 200.0);
    assert_value(&next, PREFIX_CACHE_HIT_RATE, 0.5);
    assert_value(&next, TPOT_P50, 0.05625);
}

#[test]
fn missing_series_starts_over() {
    let mut mapper = Mapper::new(ServerKind::Vllm);
    scrape(&mut mapper, "vllm-0.11.txt", T0);

    // A scrape whose page lacks the counters drops what the mapper remembered of them.
    let gauges_only = parse(
        "vllm:num_requests_running{model_name=\"m\"} 1\n",
        &Limits::default(),
    )
    .unwrap();
    let between = mapper.convert(&gauges_only, "server-1", T0 + INTERVAL);
    assert_value(&between, REQUESTS_RUNNING, 1.0);

    let after = scrape(&mut mapper, "vllm-0.11-next.txt", T0 + 2 * INTERVAL);
    assert_no_interval_values(&after);
}

#[test]
fn same_time_twice_gives_no_rate() {
    let mut mapper = Mapper::new(ServerKind::LlamaCpp);
    scrape(&mut mapper, "llamacpp.txt", T0);
    let again = scrape(&mut mapper, "llamacpp-next.txt", T0);
    assert!(canonical(&again, PROMPT_TOKENS_RATE).is_empty());
}

#[test]
fn no_traffic_gives_zero_rate_and_no_percentile() {
    let converted = two_scrapes(ServerKind::Vllm, "vllm-0.11.txt", "vllm-0.11.txt");
    assert_value(&converted, PROMPT_TOKENS_RATE, 0.0);
    // No new queries: the hit rate is undefined, and so are the percentiles.
    assert!(canonical(&converted, PREFIX_CACHE_HIT_RATE).is_empty());
    assert!(canonical(&converted, TTFT_P50).is_empty());
}

#[test]
fn mappers_of_two_targets_are_independent() {
    let mut first = Mapper::new(ServerKind::Sglang);
    let mut second = Mapper::new(ServerKind::Sglang);
    scrape(&mut first, "sglang.txt", T0);
    let other = scrape(&mut second, "sglang-next.txt", T0 + INTERVAL);
    assert!(canonical(&other, PROMPT_TOKENS_RATE).is_empty());
    let same = scrape(&mut first, "sglang-next.txt", T0 + INTERVAL);
    assert_value(&same, PROMPT_TOKENS_RATE, 200.0);
}
