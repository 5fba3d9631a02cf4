//! Charts drawn as SVG on the server: lines over time, stacked bars over time, and meters.
//!
//! Each chart carries its time range and plot bounds as data attributes. The page script reads
//! them to show hover details and to turn a dragged selection into a new range.

use std::collections::HashMap;

use glassbox_store::{Aggregate, PointSeries, PointStep, Series};
use maud::{Markup, html};

use crate::format;
use crate::range::TimeRange;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 632.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 152.0;
/// Colour classes `c0` to `c7`, defined by the stylesheet for both themes.
const PALETTE: usize = 8;

/// The unit of a chart's values.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// Plain counts.
    Count,
    /// Milliseconds.
    Millis,
    /// US dollars.
    Usd,
    /// A share from 0 to 1.
    Share,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::Count => {
                if value.fract() == 0.0 && value >= 0.0 {
                    format::count(value as u64)
                } else {
                    format::rate(value)
                }
            }
            Unit::Millis => format::millis(value),
            Unit::Usd => format::usd(value),
            Unit::Share => format::percent(value),
        }
    }
}

/// The time buckets of a chart: step starts from the range start, aligned to the step.
#[derive(Debug, Clone)]
pub struct Buckets {
    starts: Vec<u64>,
    step: u64,
    range: TimeRange,
}

impl Buckets {
    /// Buckets of `step_seconds` covering `range`.
    pub fn new(range: TimeRange, step_seconds: i64) -> Buckets {
        let step = u64::try_from(step_seconds).unwrap_or(60).max(60) * 1_000_000_000;
        // The store counts steps from the range start, floored to the minute.
        let minute = 60 * 1_000_000_000;
        let first = range.from / minute * minute;
        let starts = (0..)
            .map(|index| first + index * step)
            .take_while(|start| *start < range.to)
            .collect();
        Buckets {
            starts,
            step,
            range,
        }
    }

    /// Returns the values of one series per bucket. A bucket without spans gets `empty`.
    pub fn values(
        &self,
        series: &Series,
        metric: impl Fn(&Aggregate) -> Option<f64>,
        empty: Option<f64>,
    ) -> Vec<Option<f64>> {
        let by_start: HashMap<u64, &Aggregate> = series
            .steps
            .iter()
            .map(|(start, aggregate)| (*start, aggregate))
            .collect();
        self.starts
            .iter()
            .map(|start| {
                by_start
                    .get(start)
                    .map_or(empty, |aggregate| metric(aggregate))
            })
            .collect()
    }

    /// Returns the values of a metric point series per bucket, through `pick`. The series
    /// must have been read with this step from the range start floored to the minute.
    pub fn values_from_points(
        &self,
        series: &PointSeries,
        pick: impl Fn(&PointStep) -> f64,
    ) -> Vec<Option<f64>> {
        let by_start: HashMap<u64, &PointStep> = series
            .steps
            .iter()
            .map(|step| (step.start_unix_nano, step))
            .collect();
        self.starts
            .iter()
            .map(|start| by_start.get(start).map(|step| pick(step)))
            .collect()
    }

    /// Returns the value of each bucket from values keyed by step start (nanoseconds since
    /// the Unix epoch). A bucket without a value gets `empty`.
    pub fn values_by_start(
        &self,
        by_start: &HashMap<u64, f64>,
        empty: Option<f64>,
    ) -> Vec<Option<f64>> {
        self.starts
            .iter()
            .map(|start| by_start.get(start).copied().or(empty))
            .collect()
    }

    /// Returns the per-second rate of a cumulative counter per bucket: the growth of its
    /// latest value since the previous bucket. A fall (a restart) leaves a gap.
    pub fn rates_from_points(&self, series: &PointSeries) -> Vec<Option<f64>> {
        let lasts = self.values_from_points(series, |step| step.last);
        let seconds = self.step as f64 / 1e9;
        let mut previous: Option<f64> = None;
        lasts
            .into_iter()
            .map(|value| {
                let rate = match (previous, value) {
                    (Some(before), Some(now)) if now >= before => Some((now - before) / seconds),
                    _ => None,
                };
                if value.is_some() {
                    previous = value;
                }
                rate
            })
            .collect()
    }

    /// Returns the number of buckets.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    fn x(&self, index: usize) -> f64 {
        let span = (self.range.to - self.range.from).max(1) as f64;
        let middle = self.starts[index] + self.step / 2;
        let offset = middle.saturating_sub(self.range.from) as f64;
        LEFT + (offset / span).clamp(0.0, 1.0) * (RIGHT - LEFT)
    }

    fn width(&self) -> f64 {
        let span = (self.range.to - self.range.from).max(1) as f64;
        (self.step as f64 / span * (RIGHT - LEFT)).max(1.0)
    }
}

/// One named line or stack of a chart.
#[derive(Debug, Clone)]
pub struct Line {
    /// The legend label.
    pub label: String,
    /// One value per bucket; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// Rounds a maximum up to 1, 2 or 5 times a power of ten.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|factor| factor * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

fn y(value: f64, max: f64) -> f64 {
    BOTTOM - (value / max).clamp(0.0, 1.0) * (BOTTOM - TOP)
}

fn frame(buckets: &Buckets, max: f64, unit: Unit) -> Markup {
    let range = buckets.range;
    let ticks = [0.0, max / 2.0, max];
    let labels = [range.from, range.from + range.length() / 2, range.to];
    html! {
        @for tick in ticks {
            line.grid x1=(LEFT) x2=(RIGHT) y1=(y(tick, max)) y2=(y(tick, max)) {}
            text.axis x=(LEFT - 6.0) y=(y(tick, max) + 4.0) text-anchor="end" { (unit.format(tick)) }
        }
        @for (index, at) in labels.iter().enumerate() {
            @let x = LEFT + (RIGHT - LEFT) * index as f64 / 2.0;
            @let anchor = ["start", "middle", "end"][index];
            text.axis x=(x) y=(HEIGHT - 8.0) text-anchor=(anchor) { (format::axis_time(*at, range.length())) }
        }
    }
}

/// Draws the hover targets: one column per bucket with the values of every line.
fn hover_columns(buckets: &Buckets, lines: &[Line], unit: Unit) -> Markup {
    let width = buckets.width();
    let tips: Vec<String> = buckets
        .starts
        .iter()
        .enumerate()
        .map(|(index, start)| {
            let mut tip = format::time(*start);
            for line in lines {
                let value = line.values.get(index).copied().flatten();
                let text = value.map_or_else(|| "–".to_owned(), |value| unit.format(value));
                tip.push_str(&format!("\n{}: {text}", line.label));
            }
            tip
        })
        .collect();
    html! {
        @for (index, tip) in tips.iter().enumerate() {
            rect.hit x=(buckets.x(index) - width / 2.0) y=(TOP) width=(width) height=(BOTTOM - TOP) data-tip=(tip) {}
        }
    }
}

fn legend(lines: &[Line]) -> Markup {
    html! {
        @if lines.len() > 1 {
            ul.legend {
                @for (index, line) in lines.iter().enumerate() {
                    li { span class={ "swatch c" (index % PALETTE) } {} (line.label) }
                }
            }
        }
    }
}

fn svg_attributes(buckets: &Buckets) -> (String, String, String) {
    (
        format!("0 0 {WIDTH} {HEIGHT}"),
        format::rfc3339(buckets.range.from),
        format::rfc3339(buckets.range.to),
    )
}

/// Draws a line chart of one or more series over time.
pub fn lines(title: &str, buckets: &Buckets, lines: &[Line], unit: Unit) -> Markup {
    let max = nice_ceiling(
        lines
            .iter()
            .flat_map(|line| line.values.iter().flatten())
            .fold(0.0, |max: f64, value| max.max(*value)),
    );
    let (view_box, from, to) = svg_attributes(buckets);
    html! {
        figure.chart {
            figcaption { (title) }
            svg.timeseries viewBox=(view_box) role="img" aria-label=(title)
                data-from=(from) data-to=(to) data-left=(LEFT) data-right=(RIGHT) data-width=(WIDTH) {
                (frame(buckets, max, unit))
                @for (index, line) in lines.iter().enumerate() {
                    path class={ "line c" (index % PALETTE) } d=(line_path(buckets, &line.values, max)) {}
                }
                (hover_columns(buckets, lines, unit))
            }
            (legend(lines))
        }
    }
}

fn line_path(buckets: &Buckets, values: &[Option<f64>], max: f64) -> String {
    let mut path = String::new();
    for (index, value) in values.iter().enumerate() {
        let Some(value) = value else { continue };
        let joined = index > 0 && values[index - 1].is_some();
        let command = if joined { 'L' } else { 'M' };
        path.push_str(&format!(
            "{command}{:.1},{:.1}",
            buckets.x(index),
            y(*value, max)
        ));
        // A point with no neighbour gets a dot: a zero-length segment with round caps.
        let alone = !joined && values.get(index + 1).is_none_or(|next| next.is_none());
        if alone {
            path.push_str("h0.01");
        }
    }
    path
}

/// Draws a stacked bar chart over time, each bucket's bar split by series.
pub fn stacked(title: &str, buckets: &Buckets, stacks: &[Line], unit: Unit) -> Markup {
    let totals: Vec<f64> = (0..buckets.starts.len())
        .map(|index| {
            stacks
                .iter()
                .filter_map(|stack| stack.values.get(index).copied().flatten())
                .sum()
        })
        .collect();
    let max = nice_ceiling(totals.iter().copied().fold(0.0, f64::max));
    let width = (buckets.width() * 0.8).max(1.0);
    let bars = stack_bars(buckets, stacks, max, width);
    let (view_box, from, to) = svg_attributes(buckets);
    html! {
        figure.chart {
            figcaption { (title) }
            svg.timeseries viewBox=(view_box) role="img" aria-label=(title)
                data-from=(from) data-to=(to) data-left=(LEFT) data-right=(RIGHT) data-width=(WIDTH) {
                (frame(buckets, max, unit))
                @for bar in &bars {
                    rect class={ "bar c" (bar.colour % PALETTE) } x=(bar.x) y=(bar.top) width=(width)
                        height=((bar.bottom - bar.top).max(0.5)) {}
                }
                (hover_columns(buckets, stacks, unit))
            }
            (legend(stacks))
        }
    }
}

struct Bar {
    colour: usize,
    x: f64,
    top: f64,
    bottom: f64,
}

fn stack_bars(buckets: &Buckets, stacks: &[Line], max: f64, width: f64) -> Vec<Bar> {
    let mut bars = Vec::new();
    for index in 0..buckets.starts.len() {
        let mut base = 0.0;
        for (colour, stack) in stacks.iter().enumerate() {
            let value = stack.values.get(index).copied().flatten().unwrap_or(0.0);
            if value > 0.0 {
                bars.push(Bar {
                    colour,
                    x: buckets.x(index) - width / 2.0,
                    top: y(base + value, max),
                    bottom: y(base, max),
                });
            }
            base += value;
        }
    }
    bars
}

/// Draws a small horizontal bar showing a share from 0 to 1, for table cells.
pub fn meter(share: f64) -> Markup {
    let width = (share.clamp(0.0, 1.0) * 100.0).max(0.5);
    html! {
        svg.meter viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" {
            rect.track x="0" y="0" width="100" height="8" {}
            rect.fill x="0" y="0" width=(format!("{width:.1}")) height="8" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(0.004), 0.005);
    }

    #[test]
    fn buckets_cover_the_range() {
        let range = TimeRange {
            from: 3_600_000_000_000,
            to: 7_200_000_000_000,
            preset: None,
            step: 60,
        };
        let buckets = Buckets::new(range, 60);
        assert_eq!(buckets.starts.len(), 60);
        assert!(buckets.x(0) > LEFT);
        assert!(buckets.x(59) < RIGHT);
    }

    #[test]
    fn gaps_lift_the_pen() {
        let range = TimeRange {
            from: 0,
            to: 180_000_000_000,
            preset: None,
            step: 60,
        };
        let buckets = Buckets::new(range, 60);
        let path = line_path(&buckets, &[Some(1.0), None, Some(2.0)], 2.0);
        assert_eq!(path.matches('M').count(), 2);
    }
}
