//! Threads for background work: commits, full-text indexing, freeing written batches and
//! building the gateway's spans. They can run at a lower CPU priority than the threads that
//! serve requests, so that on a machine with few cores a long commit waits for a call instead
//! of delaying it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

/// Scheduling of background threads against the threads that serve requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// The same priority as request threads.
    Normal,
    /// Ten nice steps lower. Under full load a background thread still gets about a tenth
    /// of the CPU time of a request thread, so background work slows down but never stops.
    Low,
    /// The scheduler's idle class (`SCHED_IDLE` on Linux): a request thread that wakes up
    /// takes the CPU from a background thread at once. When the CPUs are kept busy, by
    /// Glassbox's own requests or by other processes, commits nearly stop, so ingest replies
    /// "retry later" and the gateway counts lost spans.
    #[default]
    Idle,
}

/// Nice steps of [`Priority::Low`].
const LOW_NICE_STEPS: i32 = 10;

static PRIORITY: AtomicU8 = AtomicU8::new(Priority::Idle as u8);

/// Sets the priority of background threads started from now on. The server calls it once,
/// before it opens the store.
pub fn set_priority(priority: Priority) {
    PRIORITY.store(priority as u8, Ordering::Relaxed);
}

fn priority() -> Priority {
    match PRIORITY.load(Ordering::Relaxed) {
        value if value == Priority::Normal as u8 => Priority::Normal,
        value if value == Priority::Low as u8 => Priority::Low,
        _ => Priority::Idle,
    }
}

/// Starts a named thread at background priority.
pub fn spawn<F>(name: &str, work: F) -> std::io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    spawn_at(priority(), name, work)
}

fn spawn_at<F>(priority: Priority, name: &str, work: F) -> std::io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority(priority);
            work();
        })
}

/// Lowers the calling thread's priority; on Linux it belongs to each thread. Failing to
/// lower it changes only scheduling, so the error is logged and ignored.
fn lower_priority(priority: Priority) {
    let lowered = match priority {
        Priority::Normal => Ok(()),
        Priority::Low => lower_nice(),
        Priority::Idle => enter_idle_class(),
    };
    if let Err(error) = lowered {
        tracing::debug!(%error, ?priority, "failed to lower the priority of a background thread");
    }
}

#[cfg(target_os = "linux")]
fn lower_nice() -> Result<(), String> {
    use rustix::process::{getpriority_process, setpriority_process};

    let thread = Some(rustix::thread::gettid());
    getpriority_process(thread)
        .and_then(|nice| setpriority_process(thread, (nice + LOW_NICE_STEPS).min(19)))
        .map_err(|error| error.to_string())
}

#[cfg(target_os = "linux")]
fn enter_idle_class() -> Result<(), String> {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };

    // The idle class ignores the nice value, which the call also sets: a failure to set that
    // (lowering nice needs a privilege) leaves the class in place.
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    )
    .map_err(|error| format!("{error:?}"))
}

#[cfg(not(target_os = "linux"))]
fn lower_nice() -> Result<(), String> {
    Err("lowering a thread's priority is implemented on Linux only".to_owned())
}

#[cfg(not(target_os = "linux"))]
fn enter_idle_class() -> Result<(), String> {
    lower_nice()
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;

    /// Returns the nice value and scheduling policy of the calling thread.
    fn scheduling() -> (i32, thread_priority::ThreadSchedulePolicy) {
        let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        (nice, thread_priority::thread_schedule_policy().unwrap())
    }

    fn scheduling_of_a_thread_at(
        priority: Priority,
    ) -> (i32, thread_priority::ThreadSchedulePolicy) {
        let (sender, received) = std::sync::mpsc::channel();
        spawn_at(priority, "priority-test", move || {
            sender.send(scheduling()).unwrap()
        })
        .unwrap()
        .join()
        .unwrap();
        received.recv().unwrap()
    }

    #[test]
    fn priorities_set_nice_and_policy() {
        use thread_priority::{NormalThreadSchedulePolicy::*, ThreadSchedulePolicy::Normal};

        let (own_nice, own_policy) = scheduling();

        assert_eq!(
            scheduling_of_a_thread_at(Priority::Normal),
            (own_nice, own_policy)
        );

        let (low_nice, low_policy) = scheduling_of_a_thread_at(Priority::Low);
        assert_eq!(low_nice, (own_nice + LOW_NICE_STEPS).min(19));
        assert_eq!(low_policy, own_policy);

        let (_, idle_policy) = scheduling_of_a_thread_at(Priority::Idle);
        assert_eq!(idle_policy, Normal(Idle));
    }
}
