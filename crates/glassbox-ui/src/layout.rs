//! The frame of every page: head, navigation, time-range picker.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::format;
use crate::query::Params;
use crate::range::{PRESETS, TimeRange};

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/`.
    Overview,
    /// `/traces`.
    Traces,
    /// `/models`.
    Models,
    /// `/functions`.
    Functions,
    /// `/costs`.
    Costs,
    /// `/sessions`.
    Sessions,
    /// `/users`.
    Users,
    /// `/quality` and the experiment pages.
    Quality,
    /// `/infra`.
    Infra,
}

const SECTIONS: [(Section, &str, &str); 9] = [
    (Section::Overview, "/", "Overview"),
    (Section::Traces, "/traces", "Traces"),
    (Section::Models, "/models", "Models"),
    (Section::Functions, "/functions", "Functions"),
    (Section::Costs, "/costs", "Costs"),
    (Section::Sessions, "/sessions", "Sessions"),
    (Section::Users, "/users", "Users"),
    (Section::Quality, "/quality", "Quality"),
    (Section::Infra, "/infra", "Infrastructure"),
];

/// The details of a page that its frame needs.
pub struct Frame<'a> {
    /// The page title.
    pub title: &'a str,
    /// The highlighted section.
    pub section: Section,
    /// The page's path, for links that change the range.
    pub path: &'a str,
    /// The query string, kept by those links.
    pub params: &'a Params,
    /// The range, when the page has one.
    pub range: Option<TimeRange>,
}

/// Renders a full page.
pub fn page(frame: &Frame<'_>, body: Markup) -> Html<String> {
    let refresh = frame.params.flag("refresh");
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(frame.title))
            body data-refresh=(if refresh { "30" } else { "" }) {
                header.top {
                    a.brand href="/" { "Glassbox" }
                    nav {
                        @for (section, href, label) in SECTIONS {
                            @let link = nav_link(href, frame.params);
                            a class=[(section == frame.section).then_some("active")] href=(link) { (label) }
                        }
                    }
                }
                @if let Some(range) = frame.range {
                    (range_bar(frame, range, refresh))
                }
                main { (body) }
                div #tip hidden {}
            }
        }
    };
    Html(markup.into_string())
}

/// Links in the navigation keep the time range but no filter of the current page.
fn nav_link(href: &str, params: &Params) -> String {
    let pairs: Vec<(&str, &str)> = params
        .pairs()
        .filter(|(key, value)| matches!(*key, "range" | "from" | "to") && !value.is_empty())
        .collect();
    crate::query::with_query(href, &pairs)
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · Glassbox" }
            link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            link rel="stylesheet" href=(crate::assets::STYLE_PATH);
            script src=(crate::assets::SCRIPT_PATH) defer {}
        }
    }
}

fn range_bar(frame: &Frame<'_>, range: TimeRange, refresh: bool) -> Markup {
    let refresh_link = frame.params.link(
        frame.path,
        &[("refresh", if refresh { None } else { Some("1") })],
    );
    html! {
        div.range-bar {
            h1 { (frame.title) }
            div.presets role="group" aria-label="Time range" {
                @for (preset, _) in PRESETS {
                    @let link = frame.params.link(frame.path, &[
                        ("range", Some(preset)), ("from", None), ("to", None),
                    ]);
                    a class=[(range.preset == Some(preset)).then_some("active")] href=(link) { (preset) }
                }
            }
            span.range-text title="UTC" {
                (format::time(range.from)) " – " (format::time(range.to)) " UTC"
            }
            a.refresh class=[refresh.then_some("active")] href=(refresh_link)
                title="Reload the page every 30 seconds" {
                @if refresh { "Auto-refresh on" } @else { "Auto-refresh off" }
            }
        }
    }
}

/// Renders a page without navigation, for errors.
pub fn bare(title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { (body) }
        }
    };
    Html(markup.into_string())
}

/// Renders a headline figure with its change against the previous period.
/// `higher_is_worse` colours the change.
pub fn stat(label: &str, value: String, change: Option<String>, higher_is_worse: bool) -> Markup {
    let tone = change.as_deref().map(|text| {
        let rising = text.starts_with('+') || text == "new";
        let flat = text
            .trim_start_matches(['+', '-'])
            .trim_start_matches(['0', '.'])
            == "%";
        match (flat, rising, higher_is_worse) {
            (true, _, _) => "",
            (false, true, true) | (false, false, false) => "worse",
            _ => "better",
        }
    });
    html! {
        div.stat {
            div.stat-label { (label) }
            div.stat-value { (value) }
            @if let Some(change) = change {
                div class={ "stat-change " (tone.unwrap_or("")) } title="Change against the previous period of the same length" {
                    (change)
                }
            }
        }
    }
}

/// Renders the message of a listing or chart that has nothing to show.
pub fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}
