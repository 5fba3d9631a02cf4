//! CPU and memory of processes: the top processes by CPU, and always this process.
//!
//! CPU utilization is computed here from the CPU time sysinfo reads (`/proc/<pid>/stat` on
//! Linux) at two samples. sysinfo's own per-process percentage (0.40) is still 0 at the second
//! refresh of a process whose CPU time was 0 at the first, which hides a process that has just
//! started busy work.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use glassbox_model::MetricPoint;
use serde_json::json;
use sysinfo::{Pid, Process, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use crate::names;
use crate::point::{PointFactory, cpu_time_fraction, unit};

/// CPU and memory of one process at the last refresh.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessSample {
    pub(crate) pid: u32,
    pub(crate) executable_name: String,
    /// Fraction of the machine's CPU time used since the previous sample, or `None` for a
    /// process not seen at the previous sample.
    pub(crate) cpu: Option<f64>,
    /// Resident set size in bytes.
    pub(crate) memory_bytes: u64,
}

/// Returns the base name of the executable, or the kernel's process name where the
/// executable path cannot be read (other users' processes, kernel threads).
pub(crate) fn executable_name(process: &Process) -> String {
    process
        .exe()
        .and_then(|path| path.file_name())
        .unwrap_or_else(|| process.name())
        .to_string_lossy()
        .into_owned()
}

/// Refreshes CPU time and memory of all processes, or only of `own_pid` when `all` is false.
/// Threads are not listed as processes.
pub(super) fn refresh(system: &mut System, all: bool, own_pid: Option<Pid>) {
    let kind = ProcessRefreshKind::nothing()
        .with_cpu()
        .with_memory()
        .with_exe(UpdateKind::OnlyIfNotSet)
        .without_tasks();

    let own = own_pid.map(|pid| [pid]);
    let to_update = match (all, &own) {
        (true, _) => ProcessesToUpdate::All,
        (false, Some(own)) => ProcessesToUpdate::Some(own),
        (false, None) => return,
    };
    system.refresh_processes_specifics(to_update, true, kind);
}

/// Identity of a process across samples: a pid together with the process start time, so that
/// a reused pid does not inherit the CPU time of an exited process.
type ProcessKey = (u32, u64);

/// CPU time of each process at the previous sample.
#[derive(Debug, Default)]
pub(super) struct CpuTimes {
    /// Accumulated CPU time in milliseconds.
    previous: HashMap<ProcessKey, u64>,
    taken_at: Option<Instant>,
}

impl CpuTimes {
    /// Turns the processes of the last refresh into samples with their CPU utilization since
    /// the previous call, and keeps their CPU times for the next call.
    fn sample<'a>(
        &mut self,
        processes: impl Iterator<Item = &'a Process>,
        logical_cpus: usize,
    ) -> Vec<ProcessSample> {
        let now = Instant::now();
        let interval = self.taken_at.map(|taken_at| now.duration_since(taken_at));
        let mut current = HashMap::new();

        let samples = processes
            .map(|process| {
                let key = (process.pid().as_u32(), process.start_time());
                let cpu_time = process.accumulated_cpu_time();
                current.insert(key, cpu_time);

                let used = self
                    .previous
                    .get(&key)
                    .and_then(|previous| cpu_time.checked_sub(*previous));
                let cpu = used.zip(interval).and_then(|(used, interval)| {
                    cpu_time_fraction(Duration::from_millis(used), interval, logical_cpus)
                });
                ProcessSample {
                    pid: key.0,
                    executable_name: executable_name(process),
                    cpu,
                    memory_bytes: process.memory(),
                }
            })
            .collect();

        self.previous = current;
        self.taken_at = Some(now);
        samples
    }
}

/// Returns the `count` processes with the most CPU, then the most memory, leaving out
/// `excluded`. A process without a CPU figure counts as idle. Ties fall back to the lower pid,
/// so the choice is stable.
pub(crate) fn top_by_cpu(
    mut samples: Vec<ProcessSample>,
    count: usize,
    excluded: Option<u32>,
) -> Vec<ProcessSample> {
    samples.retain(|sample| Some(sample.pid) != excluded);
    samples.sort_by(|a, b| {
        b.cpu
            .unwrap_or(0.0)
            .total_cmp(&a.cpu.unwrap_or(0.0))
            .then(b.memory_bytes.cmp(&a.memory_bytes))
            .then(a.pid.cmp(&b.pid))
    });
    samples.truncate(count);
    samples
}

/// Selection of the processes that [`push_points`] reports.
pub(super) struct ProcessSelection {
    /// Report the top processes, not only this one.
    pub(super) top: bool,
    pub(super) top_count: usize,
    pub(super) own_pid: Option<Pid>,
}

/// Appends `process.cpu.utilization` and `process.memory.usage` for the selected processes.
/// `process.cpu.utilization` is left out for a process seen for the first time.
pub(super) fn push_points(
    system: &System,
    selection: &ProcessSelection,
    cpu_times: &mut CpuTimes,
    factory: &PointFactory<'_>,
    points: &mut Vec<MetricPoint>,
) {
    let logical_cpus = system.cpus().len();
    let own_pid = selection.own_pid.map(Pid::as_u32);

    let mut samples = if selection.top {
        cpu_times.sample(system.processes().values(), logical_cpus)
    } else {
        let own = selection.own_pid.and_then(|pid| system.process(pid));
        cpu_times.sample(own.into_iter(), logical_cpus)
    };
    let own = samples
        .iter()
        .position(|sample| Some(sample.pid) == own_pid)
        .map(|position| samples.swap_remove(position));

    let mut selected = if selection.top {
        top_by_cpu(samples, selection.top_count, own_pid)
    } else {
        Vec::new()
    };
    selected.extend(own);

    for sample in &selected {
        push_sample(sample, factory, points);
    }
}

fn push_sample(sample: &ProcessSample, factory: &PointFactory<'_>, points: &mut Vec<MetricPoint>) {
    let labels = [
        (names::PROCESS_PID, json!(sample.pid)),
        (
            names::PROCESS_EXECUTABLE_NAME,
            json!(sample.executable_name),
        ),
    ];

    if let Some(cpu) = sample.cpu {
        points.push(factory.gauge(names::PROCESS_CPU_UTILIZATION, unit::RATIO, cpu, &labels));
    }
    points.push(factory.gauge(
        names::PROCESS_MEMORY_USAGE,
        unit::BYTES,
        sample.memory_bytes as f64,
        &labels,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pid: u32, cpu: f64, memory_bytes: u64) -> ProcessSample {
        ProcessSample {
            pid,
            executable_name: format!("proc-{pid}"),
            cpu: Some(cpu),
            memory_bytes,
        }
    }

    fn pids(samples: &[ProcessSample]) -> Vec<u32> {
        samples.iter().map(|sample| sample.pid).collect()
    }

    #[test]
    fn top_orders_by_cpu_then_memory() {
        let samples = vec![
            sample(1, 5.0, 10),
            sample(2, 90.0, 10),
            sample(3, 5.0, 99),
            sample(4, 0.0, 1_000),
        ];

        let top = top_by_cpu(samples, 3, None);

        assert_eq!(pids(&top), vec![2, 3, 1]);
    }

    #[test]
    fn top_leaves_out_excluded_pid() {
        let samples = vec![sample(7, 0.5, 1), sample(8, 0.4, 1), sample(9, 0.3, 1)];

        let top = top_by_cpu(samples, 2, Some(7));

        assert_eq!(pids(&top), vec![8, 9]);
    }

    #[test]
    fn top_ties_break_on_lower_pid() {
        let samples = vec![sample(30, 0.1, 5), sample(10, 0.1, 5), sample(20, 0.1, 5)];

        let top = top_by_cpu(samples, 10, None);

        assert_eq!(pids(&top), vec![10, 20, 30]);
    }

    #[test]
    fn top_of_zero_is_empty() {
        let top = top_by_cpu(vec![sample(1, 0.1, 1)], 0, None);

        assert!(top.is_empty());
    }
}
