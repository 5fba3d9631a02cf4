//! The layout of a trace's waterfall: spans in tree order with their depth, and the critical
//! path, the chain of spans that decided when the trace ended.

use std::collections::{HashMap, HashSet};

use glassbox_model::{Span, SpanId};

/// One line of the waterfall.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The span.
    pub span: &'a Span,
    /// Nesting depth, 0 for a root.
    pub depth: usize,
    /// True when the span lies on the critical path.
    pub critical: bool,
}

/// Orders spans depth first, children by start time. Spans whose parent is missing become
/// roots; a malformed tree (a cycle) cannot loop, since each span is placed once.
pub fn layout(spans: &[Span]) -> Vec<Row<'_>> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(position, span)| (span.span_id, position))
        .collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (position, span) in spans.iter().enumerate() {
        match span.parent_span_id.and_then(|parent| index.get(&parent)) {
            Some(parent) if *parent != position => {
                children.entry(*parent).or_default().push(position)
            }
            _ => roots.push(position),
        }
    }
    let by_start = |list: &mut Vec<usize>| {
        list.sort_by_key(|position| (spans[*position].start_time_unix_nano, *position));
    };
    by_start(&mut roots);
    children.values_mut().for_each(by_start);

    let critical = critical_path(spans, &roots, &children);
    let mut rows = Vec::with_capacity(spans.len());
    let mut placed = HashSet::new();
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|root| (*root, 0)).collect();
    while let Some((position, depth)) = stack.pop() {
        if !placed.insert(position) {
            continue;
        }
        rows.push(Row {
            span: &spans[position],
            depth,
            critical: critical.contains(&position),
        });
        if let Some(list) = children.get(&position) {
            stack.extend(list.iter().rev().map(|child| (*child, depth + 1)));
        }
    }
    // Spans caught in a cycle were never reached from a root: list them at the end.
    for (position, span) in spans.iter().enumerate() {
        if !placed.contains(&position) {
            rows.push(Row {
                span,
                depth: 0,
                critical: false,
            });
        }
    }
    rows
}

/// Walks back from the end of the latest-ending root: in each span, the child that ended last,
/// then the child that ended last before that one started, and so on, recursively.
fn critical_path(
    spans: &[Span],
    roots: &[usize],
    children: &HashMap<usize, Vec<usize>>,
) -> HashSet<usize> {
    let mut critical = HashSet::new();
    let Some(last_root) = roots
        .iter()
        .max_by_key(|position| spans[**position].end_time_unix_nano)
    else {
        return critical;
    };
    let mut stack = vec![*last_root];
    while let Some(position) = stack.pop() {
        if !critical.insert(position) {
            continue;
        }
        let Some(list) = children.get(&position) else {
            continue;
        };
        let mut by_end = list.clone();
        by_end.sort_by_key(|child| std::cmp::Reverse(spans[*child].end_time_unix_nano));
        let mut cursor = spans[position].end_time_unix_nano;
        for child in by_end {
            let span = &spans[child];
            if span.end_time_unix_nano <= cursor || cursor == spans[position].end_time_unix_nano {
                stack.push(child);
                cursor = span.start_time_unix_nano;
            }
        }
    }
    critical
}

#[cfg(test)]
mod tests {
    use glassbox_model::TraceId;

    use super::*;

    fn span(id: u8, parent: Option<u8>, start: u64, end: u64) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([id; 8]), format!("s{id}"));
        span.parent_span_id = parent.map(|parent| SpanId([parent; 8]));
        span.start_time_unix_nano = start;
        span.end_time_unix_nano = end;
        span
    }

    #[test]
    fn tree_order_and_depth() {
        let spans = vec![
            span(3, Some(1), 50, 90),
            span(1, None, 0, 100),
            span(2, Some(1), 10, 40),
            span(4, Some(2), 20, 30),
        ];
        let rows = layout(&spans);
        let names: Vec<(&str, usize)> = rows
            .iter()
            .map(|row| (row.span.name.as_str(), row.depth))
            .collect();
        assert_eq!(names, [("s1", 0), ("s2", 1), ("s4", 2), ("s3", 1)]);
    }

    #[test]
    fn critical_path_follows_the_blocking_children() {
        // s2 and s3 run one after the other; s5 overlaps s3 but ends earlier.
        let spans = vec![
            span(1, None, 0, 100),
            span(2, Some(1), 0, 40),
            span(3, Some(1), 40, 95),
            span(5, Some(1), 45, 60),
        ];
        let rows = layout(&spans);
        let critical: Vec<&str> = rows
            .iter()
            .filter(|row| row.critical)
            .map(|row| row.span.name.as_str())
            .collect();
        assert_eq!(critical, ["s1", "s2", "s3"]);
    }

    #[test]
    fn cycles_and_orphans_are_still_shown() {
        let spans = vec![
            span(1, Some(2), 0, 10),
            span(2, Some(1), 0, 10),
            span(3, Some(9), 5, 6),
        ];
        let rows = layout(&spans);
        assert_eq!(rows.len(), 3);
    }
}
