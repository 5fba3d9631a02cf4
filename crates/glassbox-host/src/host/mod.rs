//! Host metrics from sysinfo: CPU, memory, swap, filesystems, network, uptime and processes.
//!
//! Values describe the machine (or virtual machine) as the kernel reports it. Inside a container
//! the memory limit is the machine's, not the container's cgroup limit, and the load average
//! and CPU utilization count every process on the machine.

mod filesystem;
pub(crate) mod process;

use glassbox_model::MetricPoint;
use serde_json::{Map, Value, json};
use sysinfo::{Disks, Networks, Pid, System};

use crate::names;
use crate::point::{PointFactory, fraction, percent_to_fraction, unit};

/// Reporting options of [`HostCollector`] beyond the machine-wide metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    /// Reports CPU and memory of the top processes by CPU. This process is reported whether or
    /// not this is set. Default: `false`, because it reads the status of every process (under
    /// `/proc` on Linux) on each sample.
    pub processes: bool,
    /// Number of top processes to report when `processes` is set, not counting this process.
    /// Default: 10.
    pub top_processes: usize,
    /// Reports `system.cpu.utilization` for each logical CPU too, labeled with
    /// `cpu.logical_number`. Default: `false`.
    pub per_cpu: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            processes: false,
            top_processes: 10,
            per_cpu: false,
        }
    }
}

/// Sampler of host metrics.
///
/// Keep one collector and call [`collect`](HostCollector::collect) at a fixed interval: CPU
/// utilization is computed from the difference between two calls.
pub struct HostCollector {
    options: HostOptions,
    /// `None` where sysinfo cannot read the system on this platform.
    system: Option<System>,
    disks: Option<Disks>,
    networks: Option<Networks>,
    own_pid: Option<Pid>,
    /// Labels on every point: `host.name`.
    shared_labels: Map<String, Value>,
    /// Whether a previous call has taken the CPU times that utilization is measured against.
    cpu_primed: bool,
    process_cpu_times: process::CpuTimes,
}

impl HostCollector {
    /// Creates a collector. Reads nothing yet but the host name.
    ///
    /// A part of the system that sysinfo cannot read on this platform is left out of every
    /// sample, with one warning here.
    pub fn new(options: HostOptions) -> HostCollector {
        HostCollector {
            options,
            system: sysinfo_part("system", System::new()),
            disks: sysinfo_part("filesystems", Disks::new()),
            networks: sysinfo_part("network interfaces", Networks::new()),
            own_pid: sysinfo_part("own process id", sysinfo::get_current_pid()),
            shared_labels: shared_labels(),
            cpu_primed: false,
            process_cpu_times: process::CpuTimes::default(),
        }
    }

    /// Takes one sample, stamped with `time_unix_nano`.
    ///
    /// CPU utilization needs two refreshes, so the first call only primes it: it returns no
    /// `system.cpu.utilization` and no `process.cpu.utilization`. sysinfo does not reread
    /// machine CPU times within 200 ms (its `MINIMUM_CPU_UPDATE_INTERVAL`), so a call that soon
    /// after the previous one reports the previous `system.cpu.utilization` again.
    pub fn collect(&mut self, time_unix_nano: u64) -> Vec<MetricPoint> {
        let factory = PointFactory::new(time_unix_nano, &self.shared_labels);
        let mut points = Vec::new();

        if let Some(system) = &mut self.system {
            refresh_system(system, &self.options, self.own_pid);
            push_cpu_points(
                system,
                self.cpu_primed,
                self.options.per_cpu,
                &factory,
                &mut points,
            );
            push_memory_points(system, &factory, &mut points);

            let selection = process::ProcessSelection {
                top: self.options.processes,
                top_count: self.options.top_processes,
                own_pid: self.own_pid,
            };
            process::push_points(
                system,
                &selection,
                &mut self.process_cpu_times,
                &factory,
                &mut points,
            );
        }
        push_load_average_points(&factory, &mut points);
        push_uptime_point(&factory, &mut points);

        if let Some(disks) = &mut self.disks {
            filesystem::refresh(disks);
            filesystem::push_points(disks, &factory, &mut points);
        }
        if let Some(networks) = &mut self.networks {
            networks.refresh(true);
            push_network_points(networks, &factory, &mut points);
        }

        self.cpu_primed = true;
        points
    }
}

fn sysinfo_part<T>(part: &str, result: Result<T, sysinfo::Error>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(part, %error, "sysinfo cannot read this part of the host, its metrics are left out");
            None
        }
    }
}

/// Returns the labels of every host and GPU point: `host.name`, left out (with a warning)
/// when the host name cannot be read.
pub(crate) fn shared_labels() -> Map<String, Value> {
    let mut labels = Map::new();
    match System::host_name() {
        Ok(host_name) => {
            labels.insert(names::HOST_NAME.to_owned(), json!(host_name));
        }
        Err(error) => {
            tracing::warn!(%error, "failed to read the host name, points carry no host.name")
        }
    }
    labels
}

/// Refreshes CPU times before processes, so that process CPU usage and machine CPU usage
/// cover the same interval.
fn refresh_system(system: &mut System, options: &HostOptions, own_pid: Option<Pid>) {
    system.refresh_cpu_usage();
    system.refresh_memory();
    process::refresh(system, options.processes, own_pid);
}

fn push_cpu_points(
    system: &System,
    cpu_primed: bool,
    per_cpu: bool,
    factory: &PointFactory<'_>,
    points: &mut Vec<MetricPoint>,
) {
    let cpus = system.cpus();
    points.push(factory.gauge(
        names::SYSTEM_CPU_LOGICAL_COUNT,
        unit::CPUS,
        cpus.len() as f64,
        &[],
    ));
    if !cpu_primed {
        return;
    }

    let whole = percent_to_fraction(f64::from(system.global_cpu_usage()));
    points.push(factory.gauge(names::SYSTEM_CPU_UTILIZATION, unit::RATIO, whole, &[]));
    if !per_cpu {
        return;
    }
    for (position, cpu) in cpus.iter().enumerate() {
        let usage = percent_to_fraction(f64::from(cpu.usage()));
        let labels = [(
            names::CPU_LOGICAL_NUMBER,
            json!(logical_number(cpu.name(), position)),
        )];
        points.push(factory.gauge(names::SYSTEM_CPU_UTILIZATION, unit::RATIO, usage, &labels));
    }
}

/// Returns the number of a logical CPU from its sysinfo name (`cpu3` on Linux), or its position
/// in sysinfo's list where the name carries no number.
fn logical_number(name: &str, position: usize) -> usize {
    name.trim_start_matches(|character: char| !character.is_ascii_digit())
        .parse()
        .unwrap_or(position)
}

/// Appends memory and swap usage. `used` memory is total minus available (`MemAvailable` on
/// Linux) and `free` is unallocated memory (`MemFree`).
///
/// NOTE: sysinfo does not expose page cache or buffers, so there is no `cached` or `buffers`
/// state and the `used` and `free` states do not add up to `system.memory.limit` on Linux.
fn push_memory_points(system: &System, factory: &PointFactory<'_>, points: &mut Vec<MetricPoint>) {
    let total = system.total_memory();
    let used = system.used_memory();
    let memory_states = [("used", used), ("free", system.free_memory())];
    for (state, bytes) in memory_states {
        let labels = [(names::SYSTEM_MEMORY_STATE, json!(state))];
        points.push(factory.gauge(
            names::SYSTEM_MEMORY_USAGE,
            unit::BYTES,
            bytes as f64,
            &labels,
        ));
    }
    points.push(factory.gauge(names::SYSTEM_MEMORY_LIMIT, unit::BYTES, total as f64, &[]));
    if let Some(utilization) = fraction(used, total) {
        points.push(factory.gauge(
            names::SYSTEM_MEMORY_UTILIZATION,
            unit::RATIO,
            utilization,
            &[],
        ));
    }

    let swap_states = [("used", system.used_swap()), ("free", system.free_swap())];
    for (state, bytes) in swap_states {
        let labels = [(names::SYSTEM_PAGING_STATE, json!(state))];
        points.push(factory.gauge(
            names::SYSTEM_PAGING_USAGE,
            unit::BYTES,
            bytes as f64,
            &labels,
        ));
    }
}

fn push_load_average_points(factory: &PointFactory<'_>, points: &mut Vec<MetricPoint>) {
    let load = match System::load_average() {
        Ok(load) => load,
        Err(error) => {
            tracing::debug!(%error, "failed to read the load average");
            return;
        }
    };

    let averages = [
        (names::SYSTEM_CPU_LOAD_AVERAGE_1M, load.one),
        (names::SYSTEM_CPU_LOAD_AVERAGE_5M, load.five),
        (names::SYSTEM_CPU_LOAD_AVERAGE_15M, load.fifteen),
    ];
    for (name, value) in averages {
        points.push(factory.gauge(name, unit::THREADS, value, &[]));
    }
}

fn push_uptime_point(factory: &PointFactory<'_>, points: &mut Vec<MetricPoint>) {
    match System::uptime() {
        Ok(seconds) => {
            points.push(factory.gauge(names::SYSTEM_UPTIME, unit::SECONDS, seconds as f64, &[]))
        }
        Err(error) => tracing::debug!(%error, "failed to read the uptime"),
    }
}

/// Appends `system.network.io` per interface and direction: bytes since the interface came up,
/// as a monotonic cumulative sum.
///
/// The start time is left unset because the kernel does not say when an interface came up.
fn push_network_points(
    networks: &Networks,
    factory: &PointFactory<'_>,
    points: &mut Vec<MetricPoint>,
) {
    for (interface, data) in networks.iter() {
        let directions = [
            ("receive", data.total_received()),
            ("transmit", data.total_transmitted()),
        ];
        for (direction, bytes) in directions {
            let labels = [
                (
                    names::NETWORK_INTERFACE_NAME,
                    json!(interface.to_string_lossy()),
                ),
                (names::NETWORK_IO_DIRECTION, json!(direction)),
            ];
            points.push(factory.counter(
                names::SYSTEM_NETWORK_IO,
                unit::BYTES,
                bytes as f64,
                None,
                &labels,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_number_comes_from_name() {
        assert_eq!(logical_number("cpu0", 5), 0);
        assert_eq!(logical_number("cpu13", 2), 13);
        assert_eq!(logical_number("7", 0), 7);
        assert_eq!(logical_number("", 4), 4);
        assert_eq!(logical_number("cpu", 3), 3);
    }

    #[test]
    fn collector_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<HostCollector>();
    }
}
