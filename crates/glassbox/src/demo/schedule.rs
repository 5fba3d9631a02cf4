//! The times and plans of traces. A live run sends traces at a steady rate, and a backfill
//! spreads them over the past with a daily rhythm. The planner turns each time into a trace
//! plan, and it continues open sessions before it starts new conversations.

use std::collections::VecDeque;

use crate::demo::catalog::models::{GEMINI_2_0_FLASH, MISTRAL_LARGE};
use crate::demo::catalog::services::{pick_customer, pick_engineer};
use crate::demo::rng::Rng;
use crate::demo::scenario::failure::Failure;
use crate::demo::scenario::{Finding, Scenario, SessionTurn, Showcase, TracePlan};

/// Nanoseconds in one second.
pub const SECOND: u64 = 1_000_000_000;
/// Nanoseconds in one minute.
const MINUTE: u64 = 60 * SECOND;
/// A session whose next turn is this late is abandoned: the user left.
const ABANDON_AFTER: u64 = 30 * MINUTE;

/// Independent random streams derived from the run's seed.
const PLANNER_STREAM: u64 = 1;
const TRACE_STREAM: u64 = 2;
const SESSION_STREAM: u64 = 3;
const BACKFILL_STREAM: u64 = 4;

/// The first new conversations of every run, so that even a short run shows every service,
/// provider, convention and error type at least once.
const SHOWCASE: &[(Scenario, Option<Showcase>)] = &[
    (Scenario::Support, None),
    (Scenario::Search, None),
    (Scenario::Coding, None),
    (Scenario::Batch, Some(Showcase::Digest(&GEMINI_2_0_FLASH))),
    (Scenario::Search, Some(Showcase::OpenInference)),
    (
        Scenario::Support,
        Some(Showcase::Failure(Failure::RateLimited)),
    ),
    (Scenario::Batch, Some(Showcase::Digest(&MISTRAL_LARGE))),
    (Scenario::Coding, Some(Showcase::Failure(Failure::Timeout))),
    (
        Scenario::Search,
        Some(Showcase::Failure(Failure::ServerError)),
    ),
    (
        Scenario::Support,
        Some(Showcase::Failure(Failure::ContentFilter)),
    ),
    (
        Scenario::Batch,
        Some(Showcase::Failure(Failure::BadRequest)),
    ),
    (
        Scenario::Search,
        Some(Showcase::Failure(Failure::Overloaded)),
    ),
    (
        Scenario::Support,
        Some(Showcase::Finding(Finding::PersonalData)),
    ),
    (
        Scenario::Coding,
        Some(Showcase::Finding(Finding::LeakedKey)),
    ),
    (
        Scenario::Search,
        Some(Showcase::Finding(Finding::PoisonedPassage)),
    ),
    (
        Scenario::Support,
        Some(Showcase::Finding(Finding::Injection)),
    ),
    (
        Scenario::Batch,
        Some(Showcase::Finding(Finding::Truncation)),
    ),
    (
        Scenario::Support,
        Some(Showcase::Finding(Finding::ForeignLanguage)),
    ),
    (
        Scenario::Support,
        Some(Showcase::Finding(Finding::BrokenJson)),
    ),
];

/// Returns the activity at a Unix time, from 0 to 1: full on weekdays from 9:00 to 18:00 UTC,
/// less in the morning and evening, little at night and less on weekends.
pub fn activity(unix_seconds: u64) -> f64 {
    let day = unix_seconds / 86_400;
    let hour = unix_seconds % 86_400 / 3_600;
    // 1970-01-01 was a Thursday, so day 0 is weekday 4 with Sunday as 0.
    let weekday = (day + 4) % 7;
    let hourly = match hour {
        9..=17 => 1.0,
        7..=8 | 18..=20 => 0.55,
        6 | 21..=22 => 0.3,
        _ => 0.12,
    };
    let weekend = weekday == 0 || weekday == 6;
    if weekend { hourly * 0.4 } else { hourly }
}

/// Returns `count` end times, ascending, spread over the `period_ns` before `end_unix_ns`
/// with a density that follows [`activity`].
///
/// The period is cut into minutes weighted by their activity. Trace `i` lands where the
/// cumulated weight reaches `(i + u) / count` of the total, with `u` random in `[0, 1)`. So
/// the times come out sorted and dense in busy hours.
pub fn backfill_times(seed: u64, end_unix_ns: u64, period_ns: u64, count: u64) -> Vec<u64> {
    let start = end_unix_ns.saturating_sub(period_ns);
    let minutes = period_ns.div_ceil(MINUTE).max(1);
    let mut cumulated = Vec::with_capacity(minutes as usize);
    let mut total = 0.0;
    for minute in 0..minutes {
        total += activity((start + minute * MINUTE) / SECOND);
        cumulated.push(total);
    }

    let mut rng = Rng::derive(seed, BACKFILL_STREAM, 0);
    let mut times = Vec::with_capacity(count as usize);
    for index in 0..count {
        let target = (index as f64 + rng.unit()) / count as f64 * total;
        let minute = cumulated.partition_point(|weight| *weight < target);
        let before = if minute == 0 {
            0.0
        } else {
            cumulated[minute - 1]
        };
        let weight = cumulated.get(minute).map_or(1.0, |after| after - before);
        let fraction = ((target - before) / weight).clamp(0.0, 1.0);
        let time = start + minute as u64 * MINUTE + (fraction * MINUTE as f64) as u64;
        times.push(time.min(end_unix_ns.saturating_sub(1)));
    }
    times
}

/// A session with turns still to come.
#[derive(Debug)]
struct OpenSession {
    scenario: Scenario,
    id: String,
    seed: u64,
    user: String,
    next_turn: usize,
    turns: usize,
    due_unix_ns: u64,
}

/// Turns trace times into trace plans.
#[derive(Debug)]
pub struct Planner {
    seed: u64,
    /// When the search API's latest release went out, in Unix nanoseconds.
    release_unix_ns: u64,
    rng: Rng,
    open: Vec<OpenSession>,
    sessions: u64,
    showcase: VecDeque<(Scenario, Option<Showcase>)>,
}

impl Planner {
    /// Creates the planner of a run. Traces that end at `release_unix_ns` or later come from
    /// the search API's latest release.
    pub fn new(seed: u64, release_unix_ns: u64) -> Planner {
        Planner {
            seed,
            release_unix_ns,
            rng: Rng::derive(seed, PLANNER_STREAM, 0),
            open: Vec::new(),
            sessions: 0,
            showcase: SHOWCASE.iter().copied().collect(),
        }
    }

    /// Drops the showcase, for a run that continues one that showed it.
    pub fn skip_showcase(&mut self) {
        self.showcase.clear();
    }

    /// Plans trace `index`, which ends at `end_unix_ns`. Calls must come in time order.
    pub fn plan(&mut self, index: u64, end_unix_ns: u64) -> TracePlan {
        self.open
            .retain(|session| end_unix_ns.saturating_sub(session.due_unix_ns) < ABANDON_AFTER);
        let seed = Rng::derive(self.seed, TRACE_STREAM, index).next_u64();
        let mut plan = TracePlan {
            index,
            seed,
            end_unix_ns,
            scenario: Scenario::Search,
            user: None,
            session: None,
            showcase: None,
            after_release: end_unix_ns >= self.release_unix_ns,
        };
        match self.due_session(end_unix_ns) {
            Some(position) => self.continue_session(position, &mut plan),
            None => self.start_conversation(&mut plan),
        }
        plan
    }

    /// Returns the position of the session whose next turn is the most overdue.
    fn due_session(&self, now: u64) -> Option<usize> {
        self.open
            .iter()
            .enumerate()
            .filter(|(_, session)| session.due_unix_ns <= now)
            .min_by_key(|(_, session)| session.due_unix_ns)
            .map(|(position, _)| position)
    }

    fn continue_session(&mut self, position: usize, plan: &mut TracePlan) {
        let gap = gap(&mut self.rng, self.open[position].scenario);
        let session = &mut self.open[position];
        plan.scenario = session.scenario;
        plan.user = Some(session.user.clone());
        plan.session = Some(SessionTurn {
            id: session.id.clone(),
            seed: session.seed,
            turn: session.next_turn,
        });
        session.next_turn += 1;
        session.due_unix_ns = plan.end_unix_ns + gap;
        if session.next_turn >= session.turns {
            self.open.swap_remove(position);
        }
    }

    fn start_conversation(&mut self, plan: &mut TracePlan) {
        let (scenario, showcase) = match self.showcase.pop_front() {
            Some(next) => next,
            None => (self.pick_scenario(plan.end_unix_ns), None),
        };
        plan.scenario = scenario;
        plan.showcase = showcase;
        plan.user = match scenario {
            Scenario::Support => Some(pick_customer(&mut self.rng)),
            Scenario::Search => self.rng.chance(0.65).then(|| pick_customer(&mut self.rng)),
            Scenario::Coding => Some(pick_engineer(&mut self.rng)),
            Scenario::Batch => None,
        };
        if scenario.has_sessions() {
            self.open_session(plan);
        }
    }

    /// Opens a session whose first turn is `plan`.
    fn open_session(&mut self, plan: &mut TracePlan) {
        let mut session_rng = Rng::derive(self.seed, SESSION_STREAM, self.sessions);
        self.sessions += 1;
        let seed = session_rng.next_u64();
        let id = session_rng.uuid();
        let mut turns = *self
            .rng
            .weighted(&[(1, 10), (2, 25), (3, 25), (4, 18), (5, 12), (6, 10)]);
        match plan.showcase {
            // The customer whose message the content filter stopped does not write again.
            Some(Showcase::Failure(Failure::ContentFilter)) => turns = 1,
            // Later turns do not know their session's forced finding, so there are none.
            Some(Showcase::Finding(finding)) if finding.is_per_session() => turns = 1,
            _ => {}
        }
        plan.session = Some(SessionTurn {
            id: id.clone(),
            seed,
            turn: 0,
        });
        if turns > 1 {
            self.open.push(OpenSession {
                scenario: plan.scenario,
                id,
                seed,
                user: plan.user.clone().unwrap_or_default(),
                next_turn: 1,
                turns,
                due_unix_ns: plan.end_unix_ns + gap(&mut self.rng, plan.scenario),
            });
        }
    }

    /// Picks the scenario of a new conversation; the batch jobs run mostly at night.
    fn pick_scenario(&mut self, unix_ns: u64) -> Scenario {
        let hour = unix_ns / SECOND % 86_400 / 3_600;
        let batch = if (1..=5).contains(&hour) { 40 } else { 5 };
        *self.rng.weighted(&[
            (Scenario::Support, 22),
            (Scenario::Search, 45),
            (Scenario::Coding, 12),
            (Scenario::Batch, batch),
        ])
    }
}

/// Returns the time until the user's next message: seconds to minutes in a chat, longer with
/// the coding agent, whose changes the developer reviews first.
fn gap(rng: &mut Rng, scenario: Scenario) -> u64 {
    let seconds = match scenario {
        Scenario::Coding => rng.log_uniform(30.0, 480.0),
        _ => rng.log_uniform(8.0, 150.0),
    };
    (seconds * SECOND as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-04 (a Wednesday) at 00:00 UTC.
    const WEDNESDAY: u64 = 1_772_582_400 * SECOND;

    #[test]
    fn activity_peaks_on_weekday_afternoons() {
        let afternoon = WEDNESDAY / SECOND + 14 * 3_600;
        let night = WEDNESDAY / SECOND + 3 * 3_600;
        let saturday = afternoon + 3 * 86_400;
        assert_eq!(activity(afternoon), 1.0);
        assert!(activity(night) < 0.2);
        assert!(activity(saturday) < 0.5);
    }

    #[test]
    fn backfill_times_follow_the_rhythm() {
        let end = WEDNESDAY + 24 * 3_600 * SECOND;
        let times = backfill_times(1, end, 24 * 3_600 * SECOND, 2_000);
        assert_eq!(times.len(), 2_000);
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(times[0] >= WEDNESDAY);
        assert!(times[1_999] < end);
        let hour = |time: &&u64| (**time - WEDNESDAY) / (3_600 * SECOND);
        let office = times
            .iter()
            .filter(|time| (9..18).contains(&hour(time)))
            .count();
        let night = times.iter().filter(|time| hour(time) < 6).count();
        assert!(office > 1_000, "{office} of 2000 in office hours");
        assert!(night < 200, "{night} of 2000 at night");
    }

    #[test]
    fn sessions_span_several_traces() {
        let mut planner = Planner::new(5, 0);
        let plans: Vec<TracePlan> = (0..300)
            .map(|index| planner.plan(index, WEDNESDAY + index * 20 * SECOND))
            .collect();
        let mut turns = std::collections::HashMap::new();
        for plan in &plans {
            if let Some(session) = &plan.session {
                *turns.entry(session.id.clone()).or_insert(0) += 1;
                assert!(plan.scenario.has_sessions());
                assert!(plan.user.is_some());
            }
        }
        let long = turns.values().filter(|count| **count >= 2).count();
        assert!(long >= 10, "{long} sessions with several traces");
        assert!(turns.values().all(|count| *count <= 6));
    }

    #[test]
    fn showcase_comes_first() {
        let mut planner = Planner::new(9, 0);
        let forced: Vec<Option<Showcase>> = (0..40)
            .map(|index| planner.plan(index, WEDNESDAY + index * 3_600 * SECOND))
            .filter(|plan| {
                plan.session
                    .as_ref()
                    .is_none_or(|session| session.turn == 0)
            })
            .map(|plan| plan.showcase)
            .take(SHOWCASE.len())
            .collect();
        let expected: Vec<Option<Showcase>> =
            SHOWCASE.iter().map(|(_, showcase)| *showcase).collect();
        assert_eq!(forced, expected);
    }
}
