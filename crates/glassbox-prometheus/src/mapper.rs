//! The mapper of one scrape target: raw points for every family, and canonical points from
//! the rules of [`canonical`](crate::canonical), with the state that rates and interval
//! percentiles need.
//!
//! Counter-based values (token rates, vLLM and Triton hit rates) and histogram percentiles
//! compare a scrape with the previous one, so the first scrape of a series gives none. A
//! counter or histogram that went down means the server restarted: that scrape gives none
//! either, and the next one resumes. Raw points carry a sample's own timestamp when the page
//! has one; canonical points carry the scrape time.

use glassbox_model::{MetricKind, MetricPoint};
use serde_json::{Map, Value};

use crate::canonical::{self, LABEL_RENAMES, P50_SUFFIX, P95_SUFFIX, Rule, Source};
use crate::family::{Exposition, Sample};
use crate::histogram::{self, SeriesNames};
use crate::index::{SampleIndex, by_labels, label_key};
use crate::points::{Scrape, histogram_point, raw_points};
use crate::server::ServerKind;
use crate::state::{Increase, SeriesKey, State};

/// The percentiles emitted beside each canonical histogram.
const PERCENTILES: [(&str, f64); 2] = [(P50_SUFFIX, 0.5), (P95_SUFFIX, 0.95)];

/// Keeps the previous counter values and histogram buckets of one target, to turn counters
/// into rates and histograms into interval percentiles between scrapes. Use one mapper per
/// target; its memory is bounded by the series of the latest page.
#[derive(Debug)]
pub struct Mapper {
    server: ServerKind,
    rules: Vec<Rule>,
    state: State,
}

/// The points of one scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    /// Every family of the page under the names the server uses.
    pub raw: Vec<MetricPoint>,
    /// The canonical metrics the page provides.
    pub canonical: Vec<MetricPoint>,
    /// Name and value of each canonical gauge point, in the order of `canonical`, for a
    /// health view. A name appears once per label set, for example once per GPU.
    pub latest: Vec<(String, f64)>,
}

impl Mapper {
    /// Creates the mapper of a target of this kind, with no previous scrape.
    pub fn new(kind: ServerKind) -> Mapper {
        Mapper {
            server: kind,
            rules: canonical::rules_for(kind),
            state: State::default(),
        }
    }

    /// Returns the kind of target this mapper converts.
    pub fn kind(&self) -> ServerKind {
        self.server
    }

    /// Converts one scrape: raw points (every family, own names) and canonical points. Every
    /// point gets the labels `target` (the target name) and `server.kind`.
    pub fn convert(
        &mut self,
        exposition: &Exposition,
        target: &str,
        time_unix_nano: u64,
    ) -> Converted {
        let index = SampleIndex::new(exposition);
        let scrape = Scrape {
            target,
            server: self.server,
            time_unix_nano,
        };
        let raw = raw_points(exposition, &index, &scrape);

        self.state.begin_scrape();
        let mut evaluation = Evaluation {
            index: &index,
            scrape: &scrape,
            state: &mut self.state,
            points: Vec::new(),
        };
        let mut produced: Vec<&'static str> = Vec::new();
        for rule in &self.rules {
            if produced.contains(&rule.canonical) || !is_on_page(&rule.source, &index) {
                continue;
            }
            produced.push(rule.canonical);
            evaluation.apply(rule);
        }
        let canonical = evaluation.points;
        self.state.end_scrape();

        let latest = canonical
            .iter()
            .filter(|point| point.kind == MetricKind::Gauge)
            .filter_map(|point| Some((point.name.clone(), point.value?)))
            .collect();
        Converted {
            raw,
            canonical,
            latest,
        }
    }
}

/// Returns true when the page has the metrics a source reads, so the rule applies and later
/// rules for the same canonical name are skipped.
fn is_on_page(source: &Source, index: &SampleIndex<'_>) -> bool {
    let has = |name: &str| !index.samples(name).is_empty();
    match *source {
        Source::Gauge(name) => has(name),
        Source::GaugeSum { required, .. } => required.iter().all(|name| has(name)),
        Source::CounterRate(name) => index.has_counter(name),
        Source::HistogramSumRate(name) => has(&format!("{name}_sum")),
        Source::HitsOverLookups { hits, lookups } => {
            index.has_counter(hits) && index.has_counter(lookups)
        }
        Source::HitsOverHitsAndMisses { hits, misses } => {
            index.has_counter(hits) && index.has_counter(misses)
        }
        Source::Histogram(name) => has(&format!("{name}_bucket")),
    }
}

/// The meaning of the second counter of a hit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denominator {
    /// Every lookup: the rate is hits / lookups.
    Lookups,
    /// Only misses: the rate is hits / (hits + misses).
    Misses,
}

/// The canonical points of one scrape, built rule by rule.
struct Evaluation<'e, 'p> {
    index: &'e SampleIndex<'p>,
    scrape: &'e Scrape<'e>,
    state: &'e mut State,
    points: Vec<MetricPoint>,
}

impl Evaluation<'_, '_> {
    fn apply(&mut self, rule: &Rule) {
        match rule.source {
            Source::Gauge(name) => self.gauges(rule, name),
            Source::GaugeSum { required, optional } => self.gauge_sums(rule, required, optional),
            Source::CounterRate(name) => self.rates(rule, self.index.counter(name)),
            Source::HistogramSumRate(name) => {
                self.rates(rule, self.index.samples(&format!("{name}_sum")));
            }
            Source::HitsOverLookups { hits, lookups } => {
                self.hit_rates(rule, hits, lookups, Denominator::Lookups);
            }
            Source::HitsOverHitsAndMisses { hits, misses } => {
                self.hit_rates(rule, hits, misses, Denominator::Misses);
            }
            Source::Histogram(name) => self.histograms(rule, name),
        }
    }

    fn gauges(&mut self, rule: &Rule, name: &str) {
        for sample in self.index.samples(name) {
            self.push_gauge(rule, rule.conversion.apply(sample.value), sample, None);
        }
    }

    /// Adds up gauges with equal label sets, such as DCGM's used, free and reserved memory.
    /// A label set that lacks one of the required gauges gives no point.
    fn gauge_sums(&mut self, rule: &Rule, required: &[&str], optional: &[&str]) {
        let Some((first, others)) = required.split_first() else {
            return;
        };
        let others: Vec<_> = others
            .iter()
            .map(|name| self.index.by_labels(name))
            .collect();
        let optional: Vec<_> = optional
            .iter()
            .map(|name| self.index.by_labels(name))
            .collect();

        for sample in self.index.samples(first) {
            let key = label_key(sample, &[]);
            let required_total: Option<f64> = others
                .iter()
                .map(|samples| samples.get(&key).map(|other| other.value))
                .sum();
            let Some(required_total) = required_total else {
                continue;
            };
            let optional_total: f64 = optional
                .iter()
                .filter_map(|samples| samples.get(&key))
                .map(|other| other.value)
                .sum();

            let total = sample.value + required_total + optional_total;
            self.push_gauge(rule, rule.conversion.apply(total), sample, None);
        }
    }

    /// Adds the per-second increase of each counter sample since the previous scrape.
    fn rates(&mut self, rule: &Rule, samples: &[&Sample]) {
        for sample in samples {
            let Some(increase) = self.counter_increase(rule, sample) else {
                continue;
            };
            let rate = rule.conversion.apply(increase.amount / increase.seconds);
            self.push_gauge(rule, rate, sample, Some(increase.since_unix_nano));
        }
    }

    /// Adds the share of hits among lookups since the previous scrape, for each label set
    /// that has both counters. An interval without lookups gives no point.
    fn hit_rates(&mut self, rule: &Rule, hits: &str, second: &str, denominator: Denominator) {
        let seconds = by_labels(self.index.counter(second));
        for sample in self.index.counter(hits) {
            let Some(second_sample) = seconds.get(&label_key(sample, &[])) else {
                continue;
            };
            // Both readings are stored before either is used, so neither counter misses a scrape.
            let hit_increase = self.counter_increase(rule, sample);
            let second_increase = self.counter_increase(rule, second_sample);
            let (Some(hit_increase), Some(second_increase)) = (hit_increase, second_increase)
            else {
                continue;
            };

            let lookups = match denominator {
                Denominator::Lookups => second_increase.amount,
                Denominator::Misses => hit_increase.amount + second_increase.amount,
            };
            if lookups > 0.0 {
                let rate = hit_increase.amount / lookups;
                self.push_gauge(rule, rate, sample, Some(hit_increase.since_unix_nano));
            }
        }
    }

    /// Adds one histogram point per series, and its percentiles over the last interval.
    fn histograms(&mut self, rule: &Rule, name: &str) {
        let names = SeriesNames::histogram(name);
        let samples = [names.bucket(), names.sum(), names.count()]
            .into_iter()
            .flat_map(|sample_name| self.index.samples(sample_name).iter().copied());

        for series in histogram::group(&names, samples) {
            let converted = series.converted(|value| rule.conversion.apply(value));
            let key = series.key();
            let created = self.index.created(name, &key);
            let labels = self.labels(rule, converted.labels.iter().copied());
            let mut point = histogram_point(
                self.scrape,
                rule.canonical,
                Some(unit(rule)),
                &converted,
                labels,
                created,
            );
            point.time_unix_nano = self.scrape.time_unix_nano;
            self.points.push(point);

            let state_key = SeriesKey::new(rule.canonical, name, &key);
            let time = self.scrape.time_unix_nano;
            let Some(increase) = self
                .state
                .histogram_increase(state_key, &converted.buckets, time)
            else {
                continue;
            };
            for (suffix, quantile) in PERCENTILES {
                let Some(value) = increase.amount.quantile(quantile) else {
                    continue;
                };
                let labels = self.labels(rule, converted.labels.iter().copied());
                let name = format!("{}{suffix}", rule.canonical);
                self.push_point(rule, &name, value, labels, Some(increase.since_unix_nano));
            }
        }
    }

    fn counter_increase(&mut self, rule: &Rule, sample: &Sample) -> Option<Increase<f64>> {
        let key = SeriesKey::new(rule.canonical, &sample.name, &label_key(sample, &[]));
        self.state
            .counter_increase(key, sample.value, self.scrape.time_unix_nano)
    }

    /// Adds a gauge of the rule's canonical name with the labels of `sample`.
    fn push_gauge(&mut self, rule: &Rule, value: f64, sample: &Sample, since: Option<u64>) {
        let pairs = sample
            .labels
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()));
        let labels = self.labels(rule, pairs);
        self.push_point(rule, rule.canonical, value, labels, since);
    }

    /// Adds a gauge point unless the value is NaN or infinite.
    fn push_point(
        &mut self,
        rule: &Rule,
        name: &str,
        value: f64,
        labels: Map<String, Value>,
        since: Option<u64>,
    ) {
        if !value.is_finite() {
            return;
        }
        let mut point = self
            .scrape
            .point(name, MetricKind::Gauge, Some(unit(rule)), labels);
        point.value = Some(value);
        point.start_time_unix_nano = since;
        self.points.push(point);
    }

    /// Builds the labels of a canonical point: the sample's labels with the server's keys
    /// renamed as listed in [`LABEL_RENAMES`], then the rule's own labels.
    fn labels<'l>(
        &self,
        rule: &Rule,
        pairs: impl IntoIterator<Item = (&'l str, &'l str)>,
    ) -> Map<String, Value> {
        let mut renamed: Vec<(&'l str, &'l str)> = Vec::new();
        for (name, value) in pairs {
            let rename = LABEL_RENAMES
                .iter()
                .find(|rename| rename.server == rule.server && rename.from == name);
            let Some(rename) = rename else {
                renamed.push((name, value));
                continue;
            };
            renamed.push((rename.to, value));
            if rename.keep_original {
                renamed.push((name, value));
            }
        }
        renamed.extend(rule.labels.iter().copied());
        self.scrape.labels(renamed)
    }
}

/// Returns the unit of a rule's canonical metric; every rule names a defined metric, which a
/// test of the table checks.
fn unit(rule: &Rule) -> &'static str {
    canonical::definition(rule.canonical).map_or("", |definition| definition.unit)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::canonical::{GPU_MEMORY_LIMIT, KV_CACHE_USAGE, PROMPT_TOKENS_RATE};
    use crate::{Limits, parse};

    const SECOND: u64 = 1_000_000_000;

    fn convert(mapper: &mut Mapper, page: &str, time: u64) -> Converted {
        let exposition = parse(page, &Limits::default()).unwrap();
        mapper.convert(&exposition, "t", time)
    }

    #[test]
    fn first_present_rule_wins() {
        let page = "vllm:gpu_cache_usage_perc 0.5\nvllm:kv_cache_usage_perc 0.25\n";
        let converted = convert(&mut Mapper::new(ServerKind::Vllm), page, SECOND);
        assert_eq!(converted.canonical.len(), 1);
        assert_eq!(converted.canonical[0].name, KV_CACHE_USAGE);
        assert_eq!(converted.canonical[0].value, Some(0.25));
    }

    #[test]
    fn older_rule_applies_alone() {
        let page = "vllm:gpu_cache_usage_perc 0.5\n";
        let converted = convert(&mut Mapper::new(ServerKind::Vllm), page, SECOND);
        assert_eq!(converted.latest, vec![(KV_CACHE_USAGE.to_owned(), 0.5)]);
    }

    #[test]
    fn other_servers_metrics_are_ignored() {
        let page = "sglang:token_usage 0.5\n";
        let converted = convert(&mut Mapper::new(ServerKind::Vllm), page, SECOND);
        assert!(converted.canonical.is_empty());
        assert_eq!(converted.raw.len(), 1);
    }

    #[test]
    fn counter_without_total_suffix() {
        let mut mapper = Mapper::new(ServerKind::LlamaCpp);
        convert(&mut mapper, "llamacpp:prompt_tokens 10\n", SECOND);
        let converted = convert(&mut mapper, "llamacpp:prompt_tokens 40\n", 3 * SECOND);
        assert_eq!(
            converted.latest,
            vec![(PROMPT_TOKENS_RATE.to_owned(), 15.0)]
        );
    }

    #[test]
    fn model_label_renamed() {
        let page = "vllm:kv_cache_usage_perc{model_name=\"m\",engine=\"0\"} 0.5\n";
        let converted = convert(&mut Mapper::new(ServerKind::Vllm), page, SECOND);
        let labels = &converted.canonical[0].labels;
        assert_eq!(labels.get("model"), Some(&json!("m")));
        assert_eq!(labels.get("model_name"), None);
        assert_eq!(labels.get("engine"), Some(&json!("0")));
        assert_eq!(labels.get("server.kind"), Some(&json!("vllm")));
        assert_eq!(labels.get("target"), Some(&json!("t")));
        // Raw points keep the server's own label keys.
        assert_eq!(converted.raw[0].labels.get("model_name"), Some(&json!("m")));
    }

    #[test]
    fn gauge_sum_needs_every_required_gauge() {
        let page = "\
DCGM_FI_DEV_FB_USED{gpu=\"0\"} 1
DCGM_FI_DEV_FB_FREE{gpu=\"0\"} 2
DCGM_FI_DEV_FB_RESERVED{gpu=\"0\"} 1
DCGM_FI_DEV_FB_USED{gpu=\"1\"} 1
";
        let converted = convert(&mut Mapper::new(ServerKind::Dcgm), page, SECOND);
        let limits: Vec<_> = converted
            .canonical
            .iter()
            .filter(|point| point.name == GPU_MEMORY_LIMIT)
            .collect();
        assert_eq!(limits.len(), 1);
        assert_eq!(limits[0].value, Some(4.0 * 1_048_576.0));
    }

    #[test]
    fn non_finite_values_give_no_canonical_point() {
        let page = "vllm:kv_cache_usage_perc NaN\nvllm:num_requests_running +Inf\n";
        let converted = convert(&mut Mapper::new(ServerKind::Vllm), page, SECOND);
        assert!(converted.canonical.is_empty());
        assert_eq!(converted.raw.len(), 2);
    }
}
