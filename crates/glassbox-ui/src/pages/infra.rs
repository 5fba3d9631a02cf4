//! Infrastructure: every collector and scrape target with its health, and charts of the
//! hosts, GPUs and inference servers they report.

use axum::extract::{Query, State};
use axum::response::Html;
use glassbox_infra::{Health, TargetStatus};
use glassbox_store::{MetricName, PointQuery, PointSeries};
use maud::{Markup, html};

use crate::UiState;
use crate::chart::{self, Buckets, Line, Unit};
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Frame, Section};
use crate::pages::now_nanos;
use crate::query::Params;
use crate::range::TimeRange;

/// A chart of the page: its title, the metric, how to read its values, and a factor that
/// converts stored values into the unit shown.
struct ChartSpec {
    title: &'static str,
    metric: &'static str,
    unit: Unit,
    scale: f64,
    /// Chart the per-second rate of a cumulative counter rather than its value.
    rate: bool,
}

const HOST_CHARTS: [ChartSpec; 4] = [
    ChartSpec {
        title: "CPU utilization",
        metric: "system.cpu.utilization",
        unit: Unit::Share,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Memory utilization",
        metric: "system.memory.utilization",
        unit: Unit::Share,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Load average, 1 minute",
        metric: "system.cpu.load_average.1m",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Network bytes per second",
        metric: "system.network.io",
        unit: Unit::Count,
        scale: 1.0,
        rate: true,
    },
];

const GPU_CHARTS: [ChartSpec; 4] = [
    ChartSpec {
        title: "GPU utilization",
        metric: "hw.gpu.utilization",
        unit: Unit::Share,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "GPU memory used (GiB)",
        metric: "hw.gpu.memory.usage",
        unit: Unit::Count,
        scale: 1.0 / 1_073_741_824.0,
        rate: false,
    },
    ChartSpec {
        title: "GPU temperature (°C)",
        metric: "hw.temperature",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "GPU power (W)",
        metric: "hw.power",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
];

const SERVER_CHARTS: [ChartSpec; 6] = [
    ChartSpec {
        title: "Running requests",
        metric: "inference.requests.running",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Waiting requests",
        metric: "inference.requests.waiting",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "KV-cache usage",
        metric: "inference.kv_cache.usage",
        unit: Unit::Share,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Prefix-cache hit rate",
        metric: "inference.prefix_cache.hit_rate",
        unit: Unit::Share,
        scale: 1.0,
        rate: false,
    },
    ChartSpec {
        title: "Time to first token p50",
        metric: "gen_ai.server.time_to_first_token.p50",
        unit: Unit::Millis,
        scale: 1_000.0,
        rate: false,
    },
    ChartSpec {
        title: "Generated tokens per second",
        metric: "inference.generation_tokens.rate",
        unit: Unit::Count,
        scale: 1.0,
        rate: false,
    },
];

/// Renders `/infra`.
pub async fn page(
    State(state): State<UiState>,
    Query(params): Query<Params>,
) -> Result<Html<String>, PageError> {
    params.accept_only(&[])?;
    let range = TimeRange::from_params(&params, now_nanos())?;
    let targets = state
        .infra
        .as_ref()
        .map(|registry| registry.snapshot())
        .unwrap_or_default();
    let buckets = Buckets::new(range, range.step_seconds());

    let mut sections = Vec::new();
    for (title, specs) in [
        ("Hosts", &HOST_CHARTS[..]),
        ("GPUs", &GPU_CHARTS[..]),
        ("Inference servers", &SERVER_CHARTS[..]),
    ] {
        let mut charts = Vec::new();
        for spec in specs {
            let series = series(&state, spec.metric, range).await?;
            if !series.is_empty() {
                charts.push(chart_of(spec, &series, &buckets));
            }
        }
        if !charts.is_empty() {
            sections.push(html! {
                h2 { (title) }
                div.grid { @for chart in charts { (chart) } }
            });
        }
    }

    let names = state.store.metric_names(range.from, range.to).await?;
    let shown: Vec<&str> = HOST_CHARTS
        .iter()
        .chain(&GPU_CHARTS)
        .chain(&SERVER_CHARTS)
        .map(|spec| spec.metric)
        .collect();
    let others: Vec<&MetricName> = names
        .iter()
        .filter(|name| !shown.contains(&name.name.as_str()))
        .collect();

    let body = html! {
        section.panel {
            h2 { "Collectors and scrape targets" }
            @if targets.is_empty() {
                (layout::empty("No collector or scrape target is configured. Enable [infra.host] or [infra.gpu], or add targets with --scrape KIND=URL or [[infra.targets]]."))
            } @else {
                (targets_table(&targets))
            }
        }
        @for section in sections { (section) }
        @if !others.is_empty() {
            section.panel #metric-names {
                h2 { "Other metrics of the range" }
                p.muted { "The metrics not charted above: OTLP metrics sent by instrumentations and exporters, and every scraped or collected metric under its own name. Each links to its points as JSON." }
                table {
                    thead { tr { th { "Metric" } th { "Kind" } th { "Unit" } th.num { "Points" } } }
                    tbody {
                        @for name in &others {
                            tr {
                                td { a href=(points_link(&name.name, range)) { (name.name) } }
                                td { (name.kind) }
                                td { (name.unit.as_deref().unwrap_or("")) }
                                td.num { (format::count(name.points)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Infrastructure",
            section: Section::Infra,
            path: "/infra",
            params: &params,
            range: Some(range),
        },
        body,
    ))
}

fn points_link(name: &str, range: TimeRange) -> String {
    crate::query::with_query(
        "/api/v1/metrics/points",
        &[
            ("name", name),
            ("from", &format::rfc3339(range.from)),
            ("to", &format::rfc3339(range.to)),
        ],
    )
}

async fn series(
    state: &UiState,
    metric: &str,
    range: TimeRange,
) -> Result<Vec<PointSeries>, PageError> {
    let minute = 60 * 1_000_000_000;
    Ok(state
        .store
        .metric_series(
            PointQuery {
                name: metric.to_owned(),
                from_unix_nano: range.from / minute * minute,
                to_unix_nano: range.to,
                labels: Vec::new(),
            },
            range.step_seconds(),
        )
        .await?)
}

/// Names a series by the labels that tell series apart: target, GPU, interface, model.
fn series_label(series: &PointSeries) -> String {
    let parts: Vec<String> = [
        "target",
        "hw.name",
        "gpu.index",
        "hw.id",
        "model",
        "network.interface.name",
        "network.io.direction",
        "host.name",
    ]
    .iter()
    .filter_map(|key| {
        series.labels.get(*key).and_then(|value| {
            value
                .as_str()
                .map(str::to_owned)
                .or_else(|| Some(value.to_string()))
        })
    })
    .collect();
    if parts.is_empty() {
        "all".to_owned()
    } else {
        parts.join(" · ")
    }
}

fn chart_of(spec: &ChartSpec, series: &[PointSeries], buckets: &Buckets) -> Markup {
    let lines: Vec<Line> = series
        .iter()
        .take(8)
        .map(|one| Line {
            label: series_label(one),
            values: if spec.rate {
                buckets.rates_from_points(one)
            } else {
                buckets.values_from_points(one, |step| step.mean * spec.scale)
            },
        })
        .collect();
    chart::lines(spec.title, buckets, &lines, spec.unit)
}

fn health_badge(health: Health) -> Markup {
    let (class, text) = match health {
        Health::Pending => ("badge", "pending"),
        Health::Healthy => ("badge good", "healthy"),
        Health::Unhealthy => ("badge error", "unhealthy"),
        Health::Unavailable => ("badge", "unavailable"),
    };
    html! { span class=(class) { (text) } }
}

fn targets_table(targets: &[TargetStatus]) -> Markup {
    html! {
        table #targets {
            thead { tr {
                th { "Name" } th { "Kind" } th { "Health" } th { "Last scrape (UTC)" } th.num { "Duration" }
                th.num { "Scrapes" } th.num { "Failures" } th { "Latest values" } th { "Last error" }
            } }
            tbody {
                @for target in targets {
                    tr class=[(target.health == Health::Unhealthy).then_some("error")] data-target=(target.name) {
                        td {
                            (target.name)
                            @if let Some(url) = &target.url { br; span.muted.mono { (url) } }
                        }
                        td { span.badge.kind { (target.kind) } }
                        td { (health_badge(target.health)) }
                        td.mono { (target.last_scrape_unix_nano.map_or_else(|| "–".to_owned(), format::time)) }
                        td.num { (format::maybe_millis(target.last_duration_ms)) }
                        td.num { (format::count(target.scrapes)) }
                        td.num { (format::count(target.failures)) }
                        td {
                            @for value in target.latest.iter().take(12) {
                                span.badge title=(value.of.as_deref().unwrap_or("")) { (value.name) " " (format::rate(value.value)) }
                            }
                            @if target.latest.len() > 12 {
                                " " span.muted { "and " (target.latest.len() - 12) " more in /api/v1/infra/targets" }
                            }
                        }
                        td.error-message { (target.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}
