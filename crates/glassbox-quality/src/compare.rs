//! The comparison of two experiments: score means, cost and latency side by side with the
//! change, and each dataset item's scores with the items whose scores changed most first.
//! Pure, so the API and the dashboard show the same comparison.

use std::collections::{BTreeMap, BTreeSet};

use glassbox_model::ExperimentResult;
use glassbox_store::ExperimentDetail;

/// One figure of both experiments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// The figure of the baseline experiment.
    pub a: Option<f64>,
    /// The figure of the compared experiment.
    pub b: Option<f64>,
    /// `b - a`; `None` unless both are known.
    pub delta: Option<f64>,
}

impl Difference {
    /// Pairs two figures and computes their change.
    pub fn of(a: Option<f64>, b: Option<f64>) -> Difference {
        Difference {
            a,
            b,
            delta: a.zip(b).map(|(a, b)| b - a),
        }
    }
}

/// One dataset item's scores in both experiments.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemComparison {
    /// The dataset item's id.
    pub item_id: String,
    /// Each score name of either result.
    pub scores: BTreeMap<String, Difference>,
    /// The largest absolute score change; `None` when no score is known in both.
    pub max_abs_delta: Option<f64>,
    /// The item's error in the baseline experiment.
    pub error_a: Option<String>,
    /// The item's error in the compared experiment.
    pub error_b: Option<String>,
}

/// Two experiments side by side, without the experiments themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Mean of each score in both.
    pub scores: BTreeMap<String, Difference>,
    /// Items whose score changed most first; items without a change in both come last.
    pub items: Vec<ItemComparison>,
    /// Total cost in US dollars.
    pub cost_usd: Difference,
    /// Mean latency in milliseconds.
    pub latency_mean_ms: Difference,
    /// Median latency in milliseconds.
    pub latency_p50_ms: Difference,
    /// 95th percentile latency in milliseconds.
    pub latency_p95_ms: Difference,
}

/// Compares experiment `b` with the baseline `a`. Items are matched by dataset item id, so
/// experiments over different datasets share no items.
pub fn compare_experiments(a: &ExperimentDetail, b: &ExperimentDetail) -> Comparison {
    let totals_a = &a.experiment.totals;
    let totals_b = &b.experiment.totals;
    Comparison {
        scores: score_differences(&totals_a.score_means, &totals_b.score_means),
        items: compare_items(&a.results, &b.results),
        cost_usd: Difference::of(totals_a.cost_usd, totals_b.cost_usd),
        latency_mean_ms: Difference::of(totals_a.latency_mean_ms, totals_b.latency_mean_ms),
        latency_p50_ms: Difference::of(totals_a.latency_p50_ms, totals_b.latency_p50_ms),
        latency_p95_ms: Difference::of(totals_a.latency_p95_ms, totals_b.latency_p95_ms),
    }
}

fn score_differences(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
) -> BTreeMap<String, Difference> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let difference = Difference::of(a.get(name).copied(), b.get(name).copied());
            (name.clone(), difference)
        })
        .collect()
}

/// Pairs the results of two experiments by item, largest score change first.
pub fn compare_items(a: &[ExperimentResult], b: &[ExperimentResult]) -> Vec<ItemComparison> {
    let by_item = |results: &[ExperimentResult]| -> BTreeMap<String, ExperimentResult> {
        results
            .iter()
            .map(|result| (result.item_id.clone(), result.clone()))
            .collect()
    };
    let (a, b) = (by_item(a), by_item(b));
    let item_ids: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let empty = BTreeMap::new();

    let mut items: Vec<ItemComparison> = item_ids
        .into_iter()
        .map(|item_id| {
            let (result_a, result_b) = (a.get(item_id), b.get(item_id));
            let scores = score_differences(
                result_a.map_or(&empty, |result| &result.scores),
                result_b.map_or(&empty, |result| &result.scores),
            );
            let max_abs_delta = scores
                .values()
                .filter_map(|difference| difference.delta.map(f64::abs))
                .max_by(f64::total_cmp);
            ItemComparison {
                item_id: item_id.clone(),
                scores,
                max_abs_delta,
                error_a: result_a.and_then(|result| result.error.clone()),
                error_b: result_b.and_then(|result| result.error.clone()),
            }
        })
        .collect();
    items.sort_by(|x, y| {
        let change = |item: &ItemComparison| item.max_abs_delta.unwrap_or(-1.0);
        change(y)
            .total_cmp(&change(x))
            .then_with(|| x.item_id.cmp(&y.item_id))
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(item: &str, scores: &[(&str, f64)]) -> ExperimentResult {
        ExperimentResult {
            experiment_id: "e".into(),
            item_id: item.into(),
            output: None,
            error: None,
            scores: scores
                .iter()
                .map(|(name, value)| ((*name).to_owned(), *value))
                .collect(),
            latency_ms: None,
            cost_usd: None,
            input_tokens: None,
            output_tokens: None,
            trace_id: None,
        }
    }

    #[test]
    fn items_with_largest_change_come_first() {
        let a = [
            result("i1", &[("exact", 1.0)]),
            result("i2", &[("exact", 0.0), ("judge", 0.5)]),
            result("i3", &[("exact", 1.0)]),
        ];
        let b = [
            result("i1", &[("exact", 1.0)]),
            result("i2", &[("exact", 1.0), ("judge", 0.25)]),
            result("i3", &[("exact", 0.5)]),
            result("i4", &[("exact", 1.0)]),
        ];
        let items = compare_items(&a, &b);
        let order: Vec<&str> = items.iter().map(|item| item.item_id.as_str()).collect();
        assert_eq!(order, ["i2", "i3", "i1", "i4"]);
        assert_eq!(items[0].max_abs_delta, Some(1.0));
        assert_eq!(
            items[0].scores.get("judge"),
            Some(&Difference {
                a: Some(0.5),
                b: Some(0.25),
                delta: Some(-0.25)
            })
        );
        assert_eq!(items[3].max_abs_delta, None);
        assert_eq!(
            items[3].scores.get("exact"),
            Some(&Difference {
                a: None,
                b: Some(1.0),
                delta: None
            })
        );
    }
}
