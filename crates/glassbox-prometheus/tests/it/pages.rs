//! One scrape of each recorded page: parsing, raw points and canonical values.

use glassbox_model::MetricKind;
use glassbox_prometheus::canonical::{
    self, GENERATION_TOKENS_RATE, GPU_CLOCK_MEMORY, GPU_CLOCK_SM, GPU_MEMORY_LIMIT,
    GPU_MEMORY_USAGE, GPU_UTILIZATION, KV_CACHE_USAGE, POWER, PREFIX_CACHE_HIT_RATE,
    PROMPT_TOKENS_RATE, REQUEST_DURATION, REQUESTS_RUNNING, REQUESTS_WAITING, TEMPERATURE,
    TIME_PER_OUTPUT_TOKEN, TIME_TO_FIRST_TOKEN,
};
use glassbox_prometheus::{FamilyKind, Limits, Mapper, ServerKind, parse};
use serde_json::json;

use crate::*;

const VLLM_MODEL: &str = "meta-llama/Llama-3.1-8B-Instruct";
const TRITON_GPU: &str = "GPU-a8f6e1c2-33d4-4b5e-9f60-7a8b9c0d1e2f";
const DCGM_GPU_0: &str = "GPU-5a3c1d2e-8f4b-4c6a-9e7d-1b2c3d4e5f60";
const DCGM_GPU_1: &str = "GPU-9b8a7c6d-5e4f-4a3b-8c2d-0e1f2a3b4c5d";

/// Every page with the kind of server that wrote it.
const PAGES: &[(ServerKind, &str)] = &[
    (ServerKind::Vllm, "vllm-0.11.txt"),
    (ServerKind::Vllm, "vllm-0.11-next.txt"),
    (ServerKind::Vllm, "vllm-0.11-openmetrics.txt"),
    (ServerKind::Vllm, "vllm-0.8.txt"),
    (ServerKind::Vllm, "vllm-0.8-next.txt"),
    (ServerKind::Tgi, "tgi.txt"),
    (ServerKind::Tgi, "tgi-next.txt"),
    (ServerKind::LlamaCpp, "llamacpp.txt"),
    (ServerKind::LlamaCpp, "llamacpp-next.txt"),
    (ServerKind::Triton, "triton.txt"),
    (ServerKind::Triton, "triton-next.txt"),
    (ServerKind::Sglang, "sglang.txt"),
    (ServerKind::Sglang, "sglang-next.txt"),
    (ServerKind::Dcgm, "dcgm.txt"),
    (ServerKind::Prometheus, "prometheus.txt"),
];

/// Names that need a previous scrape.
const INTERVAL_NAMES: &[&str] = &[
    PROMPT_TOKENS_RATE,
    GENERATION_TOKENS_RATE,
    "gen_ai.server.time_to_first_token.p50",
    "gen_ai.server.time_to_first_token.p95",
    "gen_ai.server.time_per_output_token.p50",
    "gen_ai.server.time_per_output_token.p95",
    "gen_ai.server.request.duration.p50",
    "gen_ai.server.request.duration.p95",
];

#[test]
fn every_point_names_target_and_kind() {
    for (kind, name) in PAGES {
        let converted = first_scrape(*kind, name);
        assert!(!converted.raw.is_empty(), "{name}: no raw points");
        for point in converted.raw.iter().chain(&converted.canonical) {
            assert_eq!(
                label(point, "target"),
                Some("server-1"),
                "{name}: {}",
                point.name
            );
            assert_eq!(
                label(point, "server.kind"),
                Some(kind.as_str()),
                "{name}: {}",
                point.name
            );
            assert_eq!(point.service_name, None, "{name}: {}", point.name);
        }
    }
}

#[test]
fn canonical_points_have_canonical_units() {
    for (kind, name) in PAGES {
        let converted = first_scrape(*kind, name);
        for point in &converted.canonical {
            let base = point.name.trim_end_matches(".p50").trim_end_matches(".p95");
            let definition = canonical::definition(base)
                .unwrap_or_else(|| panic!("{name}: unknown {}", point.name));
            assert_eq!(
                point.unit.as_deref(),
                Some(definition.unit),
                "{name}: {}",
                point.name
            );
        }
    }
}

#[test]
fn first_scrape_has_no_interval_values() {
    for (kind, name) in PAGES {
        let converted = first_scrape(*kind, name);
        for interval_name in INTERVAL_NAMES {
            assert!(
                canonical(&converted, interval_name).is_empty(),
                "{name}: {interval_name}"
            );
        }
    }
}

#[test]
fn raw_points_cover_every_sample() {
    for (kind, name) in PAGES {
        let exposition = exposition(name);
        let converted = first_scrape(*kind, name);
        for family in &exposition.families {
            let found = converted.raw.iter().any(|point| {
                point.name == family.name || family.samples.iter().any(|s| s.name == point.name)
            });
            // A 0.0.4 `_created` gauge family only carries start times of its counter.
            let created = family.name.strip_suffix("_created").is_some_and(|base| {
                exposition.families.iter().any(|other| {
                    other.name == base || other.name.strip_suffix("_total") == Some(base)
                })
            });
            assert_eq!(
                found,
                !family.samples.is_empty() && !created,
                "{name}: family {}",
                family.name
            );
        }
    }
}

#[test]
fn vllm_011_gauges_and_labels() {
    let converted = first_scrape(ServerKind::Vllm, "vllm-0.11.txt");
    assert_value(&converted, REQUESTS_RUNNING, 3.0);
    assert_value(&converted, REQUESTS_WAITING, 1.0);
    assert_value(&converted, KV_CACHE_USAGE, 0.4375);
    assert!(canonical(&converted, PREFIX_CACHE_HIT_RATE).is_empty());

    let running = only(&converted, REQUESTS_RUNNING);
    assert_eq!(running.kind, MetricKind::Gauge);
    assert_eq!(label(running, "model"), Some(VLLM_MODEL));
    assert_eq!(label(running, "model_name"), None);
    assert_eq!(label(running, "engine"), Some("0"));
    assert_eq!(running.time_unix_nano, T0);
    assert!(
        converted
            .latest
            .contains(&(KV_CACHE_USAGE.to_owned(), 0.4375))
    );
}

#[test]
fn vllm_011_histogram_buckets() {
    let converted = first_scrape(ServerKind::Vllm, "vllm-0.11.txt");
    let ttft = only(&converted, TIME_TO_FIRST_TOKEN);
    assert_eq!(ttft.kind, MetricKind::Histogram);
    assert_eq!(ttft.value, Some(12.5));
    assert_eq!(ttft.count, Some(100));
    // `vllm:time_to_first_token_seconds_created` is 1.73019900025e+09 seconds.
    assert_eq!(ttft.start_time_unix_nano, Some(1_730_199_000_250_000_000));
    assert_eq!(
        ttft.detail.get("explicit_bounds"),
        Some(&json!([
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
            10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0
        ]))
    );
    // Cumulative 0, 0, 0, 2, 10, 25, 40, 50, 80, 95, 98, 100 and 100 up to +Inf.
    assert_eq!(
        ttft.detail.get("bucket_counts"),
        Some(&json!([
            0, 0, 0, 2, 8, 15, 15, 10, 30, 15, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]))
    );
    assert_eq!(ttft.detail.get("temporality"), Some(&json!(2)));
    assert_eq!(label(ttft, "model"), Some(VLLM_MODEL));
    assert_eq!(label(ttft, "le"), None);

    assert_eq!(only(&converted, TIME_PER_OUTPUT_TOKEN).count, Some(36000));
    assert_eq!(only(&converted, REQUEST_DURATION).value, Some(310.0));
}

#[test]
fn vllm_011_raw_points() {
    let converted = first_scrape(ServerKind::Vllm, "vllm-0.11.txt");

    let prompt = raw(&converted, "vllm:prompt_tokens_total", &[]);
    assert_eq!(prompt.kind, MetricKind::Sum);
    assert_eq!(prompt.value, Some(12000.0));
    assert_eq!(prompt.start_time_unix_nano, Some(1_730_199_000_250_000_000));
    assert_eq!(prompt.detail.get("is_monotonic"), Some(&json!(true)));
    assert_eq!(label(prompt, "model_name"), Some(VLLM_MODEL));

    let stop = raw(
        &converted,
        "vllm:request_success_total",
        &[("finished_reason", "stop")],
    );
    assert_eq!(stop.value, Some(90.0));

    let ttft = raw(&converted, "vllm:time_to_first_token_seconds", &[]);
    assert_eq!(ttft.kind, MetricKind::Histogram);
    assert_eq!(ttft.count, Some(100));

    let lora = raw(&converted, "vllm:lora_requests_info", &[]);
    assert_eq!(
        label(lora, "running_lora_adapters"),
        Some("C:\\adapters\\sql-lora")
    );
    assert_eq!(label(lora, "waiting_lora_adapters"), Some(""));
    assert_eq!(lora.value, Some(1_730_200_000.5));

    let rss = raw(&converted, "process_resident_memory_bytes", &[]);
    assert_eq!(rss.value, Some(3_250_585_600.0));
}

#[test]
fn vllm_08_older_names() {
    let converted = first_scrape(ServerKind::Vllm, "vllm-0.8.txt");
    assert_value(&converted, REQUESTS_RUNNING, 5.0);
    assert_value(&converted, REQUESTS_WAITING, 2.0);
    assert_value(&converted, KV_CACHE_USAGE, 0.62);

    let tpot = only(&converted, TIME_PER_OUTPUT_TOKEN);
    assert_eq!(tpot.count, Some(1800));
    assert_eq!(tpot.value, Some(95.0));
    assert_eq!(label(tpot, "model"), Some(VLLM_MODEL));
    assert_eq!(label(tpot, "engine"), None);
}

#[test]
fn vllm_newer_name_wins_when_both_present() {
    let page = "\
vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25
vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.75
";
    let exposition = parse(page, &Limits::default()).unwrap();
    let converted = Mapper::new(ServerKind::Vllm).convert(&exposition, "server-1", T0);
    assert_value(&converted, KV_CACHE_USAGE, 0.25);
}

#[test]
fn tgi_page() {
    let exposition = exposition("tgi.txt");
    assert_eq!(
        exposition.family("tgi_request_count").unwrap().kind,
        FamilyKind::Counter
    );

    let converted = first_scrape(ServerKind::Tgi, "tgi.txt");
    assert_value(&converted, REQUESTS_RUNNING, 4.0);
    assert_value(&converted, REQUESTS_WAITING, 2.0);
    assert!(canonical(&converted, TIME_TO_FIRST_TOKEN).is_empty());
    assert!(canonical(&converted, KV_CACHE_USAGE).is_empty());

    let duration = only(&converted, REQUEST_DURATION);
    assert_eq!(duration.value, Some(350.5));
    assert_eq!(duration.count, Some(120));
    assert_eq!(
        duration.detail.get("bucket_counts"),
        Some(&json!([0, 0, 6, 14, 40, 40, 15, 5, 0, 0]))
    );
    assert_eq!(only(&converted, TIME_PER_OUTPUT_TOKEN).count, Some(120));

    let requests = raw(&converted, "tgi_request_count", &[]);
    assert_eq!(requests.kind, MetricKind::Sum);
    assert_eq!(requests.value, Some(120.0));
    assert_eq!(requests.start_time_unix_nano, None);

    let prefill = raw(
        &converted,
        "tgi_batch_inference_duration",
        &[("method", "prefill")],
    );
    assert_eq!(prefill.count, Some(118));
    assert_eq!(
        prefill.detail.get("bucket_counts"),
        Some(&json!([0, 40, 60, 18, 0, 0]))
    );
    let decode = raw(
        &converted,
        "tgi_batch_inference_duration",
        &[("method", "decode")],
    );
    assert_eq!(decode.value, Some(216.0));
}

#[test]
fn llamacpp_page() {
    let converted = first_scrape(ServerKind::LlamaCpp, "llamacpp.txt");
    assert_value(&converted, REQUESTS_RUNNING, 2.0);
    assert_value(&converted, REQUESTS_WAITING, 1.0);
    assert_value(&converted, KV_CACHE_USAGE, 0.25);
    assert_eq!(label(only(&converted, REQUESTS_RUNNING), "model"), None);

    let tokens_max = raw(&converted, "llamacpp:n_tokens_max", &[]);
    assert_eq!(tokens_max.kind, MetricKind::Sum);
    assert_eq!(tokens_max.value, Some(4096.0));
    let throughput = raw(&converted, "llamacpp:predicted_tokens_seconds", &[]);
    assert_eq!(throughput.kind, MetricKind::Gauge);
    assert_eq!(throughput.value, Some(49.896));
}

#[test]
fn triton_page() {
    let converted = first_scrape(ServerKind::Triton, "triton.txt");

    let waiting = canonical(&converted, REQUESTS_WAITING);
    assert_eq!(waiting.len(), 2);
    assert_eq!(label(waiting[0], "model"), Some("llama3"));
    assert_eq!(label(waiting[0], "version"), Some("1"));
    assert_eq!(waiting[0].value, Some(3.0));
    assert_eq!(label(waiting[1], "model"), Some("densenet_onnx"));
    assert_eq!(waiting[1].value, Some(0.0));

    // Milliseconds become seconds: bounds 100, 500, 2000, 5000 and the 12000 ms sum.
    let ttft = only(&converted, TIME_TO_FIRST_TOKEN);
    assert_eq!(
        ttft.detail.get("explicit_bounds"),
        Some(&json!([0.1, 0.5, 2.0, 5.0]))
    );
    assert_eq!(
        ttft.detail.get("bucket_counts"),
        Some(&json!([10, 30, 8, 2, 0]))
    );
    assert_eq!(ttft.value, Some(12.0));
    assert_eq!(ttft.count, Some(50));
    assert_eq!(label(ttft, "model"), Some("llama3"));

    assert!(canonical(&converted, PREFIX_CACHE_HIT_RATE).is_empty());
}

#[test]
fn triton_gpu_metrics() {
    let converted = first_scrape(ServerKind::Triton, "triton.txt");
    assert_value(&converted, GPU_UTILIZATION, 0.35);
    assert_value(&converted, GPU_MEMORY_USAGE, 42_949_672_960.0);
    assert_value(&converted, GPU_MEMORY_LIMIT, 85_899_345_920.0);
    assert_value(&converted, POWER, 285.5);

    let power = only(&converted, POWER);
    assert_eq!(label(power, "hw.type"), Some("gpu"));
    assert_eq!(label(power, "hw.id"), Some(TRITON_GPU));
    assert_eq!(label(power, "gpu_uuid"), Some(TRITON_GPU));
    assert_eq!(label(only(&converted, GPU_UTILIZATION), "hw.type"), None);
}

#[test]
fn triton_summary_with_nan_quantiles() {
    let converted = first_scrape(ServerKind::Triton, "triton.txt");
    let summary = raw(&converted, "nv_inference_request_summary_us", &[]);
    assert_eq!(summary.kind, MetricKind::Summary);
    assert_eq!(summary.value, Some(0.0));
    assert_eq!(summary.count, Some(0));
    assert_eq!(
        summary.detail.get("quantiles"),
        Some(&json!([
            {"quantile": 0.5, "value": null},
            {"quantile": 0.9, "value": null},
            {"quantile": 0.99, "value": null}
        ]))
    );
}

#[test]
fn sglang_page() {
    let converted = first_scrape(ServerKind::Sglang, "sglang.txt");
    assert_value(&converted, REQUESTS_RUNNING, 5.0);
    assert_value(&converted, REQUESTS_WAITING, 0.0);
    assert_value(&converted, KV_CACHE_USAGE, 0.62);
    // SGLang publishes its hit rate as a gauge, so the first scrape has it.
    assert_value(&converted, PREFIX_CACHE_HIT_RATE, 0.35);
    assert_eq!(
        label(only(&converted, KV_CACHE_USAGE), "model"),
        Some("Qwen/Qwen2.5-7B-Instruct")
    );

    let ttft = only(&converted, TIME_TO_FIRST_TOKEN);
    assert_eq!(ttft.count, Some(80));
    assert_eq!(ttft.start_time_unix_nano, None);
    assert_eq!(only(&converted, TIME_PER_OUTPUT_TOKEN).count, Some(19920));
    assert_eq!(only(&converted, REQUEST_DURATION).value, Some(368.0));

    let accept = raw(&converted, "sglang:spec_accept_length", &[]);
    assert_eq!(accept.value, None);
}

#[test]
fn sglang_older_token_latency_name() {
    let page = "\
# TYPE sglang:time_per_output_token_seconds histogram
sglang:time_per_output_token_seconds_bucket{le=\"0.02\",model_name=\"m\"} 3.0
sglang:time_per_output_token_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 4.0
sglang:time_per_output_token_seconds_count{model_name=\"m\"} 4.0
sglang:time_per_output_token_seconds_sum{model_name=\"m\"} 0.1
";
    let exposition = parse(page, &Limits::default()).unwrap();
    let converted = Mapper::new(ServerKind::Sglang).convert(&exposition, "server-1", T0);
    let tpot = only(&converted, TIME_PER_OUTPUT_TOKEN);
    assert_eq!(tpot.count, Some(4));
    assert_eq!(tpot.detail.get("bucket_counts"), Some(&json!([3, 1])));
    assert_eq!(label(tpot, "model"), Some("m"));
}

#[test]
fn dcgm_gpu_metrics() {
    let converted = first_scrape(ServerKind::Dcgm, "dcgm.txt");
    let gpu = |name: &str, uuid: &str| {
        let points = canonical(&converted, name);
        let found: Vec<_> = points
            .into_iter()
            .filter(|p| label(p, "hw.id") == Some(uuid))
            .collect();
        assert_eq!(found.len(), 1, "{name} {uuid}");
        found[0].value.unwrap()
    };

    assert_close(gpu(GPU_UTILIZATION, DCGM_GPU_0), 0.87, "utilization");
    assert_close(
        gpu(GPU_MEMORY_USAGE, DCGM_GPU_0),
        61440.0 * 1_048_576.0,
        "memory usage",
    );
    // 19495 free + 61440 used + 570 reserved = 81505 MiB.
    assert_close(
        gpu(GPU_MEMORY_LIMIT, DCGM_GPU_0),
        85_464_186_880.0,
        "memory limit",
    );
    assert_close(gpu(TEMPERATURE, DCGM_GPU_0), 62.0, "temperature");
    assert_close(gpu(POWER, DCGM_GPU_0), 412.345, "power");
    assert_close(gpu(GPU_CLOCK_SM, DCGM_GPU_0), 1980.0, "sm clock");
    assert_close(gpu(GPU_CLOCK_MEMORY, DCGM_GPU_0), 2619.0, "memory clock");

    assert_close(gpu(GPU_UTILIZATION, DCGM_GPU_1), 0.0, "idle utilization");
    assert_close(
        gpu(GPU_MEMORY_USAGE, DCGM_GPU_1),
        1_048_576.0,
        "idle memory usage",
    );
    // 81004 free + 1 used + 500 reserved = 81505 MiB.
    assert_close(
        gpu(GPU_MEMORY_LIMIT, DCGM_GPU_1),
        85_464_186_880.0,
        "idle memory limit",
    );
    assert_close(gpu(TEMPERATURE, DCGM_GPU_1), 34.0, "idle temperature");
}

#[test]
fn dcgm_identity_labels() {
    let converted = first_scrape(ServerKind::Dcgm, "dcgm.txt");
    let temperatures = canonical(&converted, TEMPERATURE);
    assert_eq!(temperatures.len(), 2);
    let first = temperatures[0];
    assert_eq!(label(first, "hw.type"), Some("gpu"));
    assert_eq!(label(first, "hw.id"), Some(DCGM_GPU_0));
    assert_eq!(label(first, "UUID"), Some(DCGM_GPU_0));
    assert_eq!(label(first, "gpu"), Some("0"));
    assert_eq!(label(first, "modelName"), Some("NVIDIA H100 80GB HBM3"));
    assert_eq!(label(first, "Hostname"), Some("gpu-node-1"));
    assert_eq!(label(first, "pod"), Some("vllm-llama-0"));
    assert_eq!(label(temperatures[1], "pod"), None);
    assert_eq!(
        label(only_for(&converted, GPU_CLOCK_SM, DCGM_GPU_0), "hw.type"),
        None
    );
}

fn only_for<'c>(converted: &'c Converted, name: &str, uuid: &str) -> &'c MetricPoint {
    canonical(converted, name)
        .into_iter()
        .find(|point| label(point, "hw.id") == Some(uuid))
        .unwrap()
}

#[test]
fn dcgm_compatibility_labels_and_total_memory() {
    let page = "\
# TYPE DCGM_FI_DEV_FB_TOTAL gauge
DCGM_FI_DEV_FB_TOTAL{gpu=\"0\",uuid=\"GPU-1\",hostname=\"node-2\"} 40960
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{gpu=\"0\",uuid=\"GPU-1\",hostname=\"node-2\"} 1024
# TYPE DCGM_FI_DEV_FB_FREE gauge
DCGM_FI_DEV_FB_FREE{gpu=\"0\",uuid=\"GPU-1\",hostname=\"node-2\"} 39000
";
    let exposition = parse(page, &Limits::default()).unwrap();
    let converted = Mapper::new(ServerKind::Dcgm).convert(&exposition, "server-1", T0);
    // FB_TOTAL wins over used + free.
    assert_value(&converted, GPU_MEMORY_LIMIT, 40960.0 * 1_048_576.0);
    assert_value(&converted, GPU_MEMORY_USAGE, 1024.0 * 1_048_576.0);
    let limit = only(&converted, GPU_MEMORY_LIMIT);
    assert_eq!(label(limit, "hw.id"), Some("GPU-1"));
    assert_eq!(label(limit, "uuid"), Some("GPU-1"));
    assert_eq!(label(limit, "hostname"), Some("node-2"));
}

#[test]
fn dcgm_memory_limit_without_reserved() {
    let page = "\
DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-1\"} 1000
DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-1\"} 3000
DCGM_FI_DEV_FB_USED{gpu=\"1\",UUID=\"GPU-2\"} 1000
";
    let exposition = parse(page, &Limits::default()).unwrap();
    let converted = Mapper::new(ServerKind::Dcgm).convert(&exposition, "server-1", T0);
    // GPU-2 has no FB_FREE, so it has no limit.
    assert_value(&converted, GPU_MEMORY_LIMIT, 4000.0 * 1_048_576.0);
    assert_eq!(canonical(&converted, GPU_MEMORY_USAGE).len(), 2);
}

#[test]
fn prometheus_page_with_canonical_names() {
    let converted = first_scrape(ServerKind::Prometheus, "prometheus.txt");

    let running = only(&converted, REQUESTS_RUNNING);
    assert_eq!(running.value, Some(7.0));
    assert_eq!(label(running, "model"), Some("llama3"));
    assert_eq!(running.time_unix_nano, T0);

    let ttft = only(&converted, TIME_TO_FIRST_TOKEN);
    assert_eq!(ttft.count, Some(20));
    assert_eq!(ttft.value, Some(5.2));
    assert_eq!(
        ttft.detail.get("bucket_counts"),
        Some(&json!([0, 0, 1, 3, 5, 7, 3, 1, 0]))
    );

    let utilization = only(&converted, GPU_UTILIZATION);
    assert_eq!(utilization.value, Some(0.5));
    assert_eq!(label(utilization, "hw.id"), Some("GPU-1"));
    assert_eq!(converted.canonical.len(), 3);
}

#[test]
fn prometheus_page_raw_points() {
    let converted = first_scrape(ServerKind::Prometheus, "prometheus.txt");

    let requests = raw(&converted, "http_server_requests_total", &[]);
    assert_eq!(label(requests, "note"), Some("say \"hi\"\nthen C:\\tmp"));
    assert_eq!(requests.time_unix_nano, 1_730_200_000_123_000_000);
    assert_eq!(requests.kind, MetricKind::Sum);

    let running = raw(&converted, "inference_requests_running", &[]);
    assert_eq!(running.time_unix_nano, 1_730_200_000_123_000_000);
    assert_eq!(
        raw(&converted, "queue_limit", &[]).value,
        Some(f64::INFINITY)
    );
    assert_eq!(raw(&converted, "last_error_ratio", &[]).value, None);
    assert_eq!(
        raw(&converted, "jobs_in_flight", &[]).kind,
        MetricKind::Gauge
    );
    assert_eq!(raw(&converted, "hw.gpu.utilization", &[]).value, Some(0.5));

    let exposition = exposition("prometheus.txt");
    let build = exposition.family("build_info").unwrap();
    assert_eq!(
        build.help.as_deref(),
        Some("Build facts.\nSecond line, path C:\\app.")
    );
}

#[test]
fn openmetrics_page_matches_text_format() {
    let text = first_scrape(ServerKind::Vllm, "vllm-0.11.txt");
    let openmetrics = first_scrape(ServerKind::Vllm, "vllm-0.11-openmetrics.txt");

    for name in [
        REQUESTS_RUNNING,
        REQUESTS_WAITING,
        KV_CACHE_USAGE,
        TIME_TO_FIRST_TOKEN,
    ] {
        assert_eq!(only(&openmetrics, name), only(&text, name), "{name}");
    }

    let om_prompt = raw(&openmetrics, "vllm:prompt_tokens_total", &[]);
    let text_prompt = raw(&text, "vllm:prompt_tokens_total", &[]);
    assert_eq!(om_prompt, text_prompt);

    // The OpenMetrics timestamp 1730200000.0 is in seconds.
    let running = raw(&openmetrics, "vllm:num_requests_running", &[]);
    assert_eq!(running.time_unix_nano, 1_730_200_000_000_000_000);
}

#[test]
fn openmetrics_families() {
    let exposition = exposition("vllm-0.11-openmetrics.txt");
    let prompt = exposition.family("vllm:prompt_tokens").unwrap();
    assert_eq!(prompt.kind, FamilyKind::Counter);
    assert_eq!(prompt.samples.len(), 2);
    let ttft = exposition
        .family("vllm:time_to_first_token_seconds")
        .unwrap();
    assert_eq!(ttft.unit.as_deref(), Some("seconds"));
    assert_eq!(ttft.samples.len(), 23 + 3);
    assert!(exposition.family("vllm:prompt_tokens_created").is_none());
}

#[test]
fn page_without_metadata_maps_the_same() {
    for (kind, name) in PAGES {
        let text = page(name);
        if text.trim_end().ends_with("# EOF") {
            continue;
        }
        let bare: String = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| format!("{line}\n"))
            .collect();
        let exposition = parse(&bare, &Limits::default()).unwrap();
        let converted = Mapper::new(*kind).convert(&exposition, "server-1", T0);
        assert_eq!(
            converted.canonical,
            first_scrape(*kind, name).canonical,
            "{name}"
        );
    }
}
