//! Metrics of one GPU.

use std::collections::BTreeMap;

use glassbox_model::MetricPoint;
use nvml_wrapper::Device;
use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use serde_json::{Value, json};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::QueryWarnings;
use crate::host::process::executable_name;
use crate::names;
use crate::point::{
    PointFactory, fraction, millijoules_to_joules, milliwatts_to_watts, percent_to_fraction, unit,
};

/// Throttle reasons and their label values. The names follow NVML's
/// `nvmlClocksThrottleReason*` constants. `hw_slowdown` is also set whenever
/// `hw_thermal_slowdown` or `hw_power_brake` is.
const THROTTLE_REASONS: [(ThrottleReasons, &str); 9] = [
    (ThrottleReasons::GPU_IDLE, "gpu_idle"),
    (
        ThrottleReasons::APPLICATIONS_CLOCKS_SETTING,
        "applications_clocks_setting",
    ),
    (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
    (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
    (ThrottleReasons::SYNC_BOOST, "sync_boost"),
    (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
    (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
    (ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN, "hw_power_brake"),
    (
        ThrottleReasons::DISPLAY_CLOCK_SETTING,
        "display_clock_setting",
    ),
];

/// Reads one device and appends its points.
///
/// # Errors
///
/// The NVML error when the device UUID or name cannot be read, because every point needs them.
/// Other failed queries only leave their metrics out.
pub(super) fn push_points(
    device: &Device<'_>,
    index: u32,
    factory: &PointFactory<'_>,
    warnings: &mut QueryWarnings,
    points: &mut Vec<MetricPoint>,
) -> Result<(), NvmlError> {
    let reader = DeviceReader {
        device_labels: vec![
            (names::HW_ID, json!(device.uuid()?)),
            (names::HW_NAME, json!(device.name()?)),
            (names::HW_TYPE, json!("gpu")),
            (names::GPU_INDEX, json!(index)),
        ],
        factory,
    };
    let mut sink = PointSink {
        points,
        warnings,
        index,
    };

    reader.push_utilization(device, &mut sink);
    reader.push_memory(device, &mut sink);
    reader.push_sensors(device, &mut sink);
    reader.push_throttle_reasons(device, &mut sink);
    reader.push_process_memory(device, &mut sink);
    Ok(())
}

struct DeviceReader<'a> {
    device_labels: Vec<(&'static str, Value)>,
    factory: &'a PointFactory<'a>,
}

/// Destination of one device's points, which also records failed queries.
struct PointSink<'a> {
    points: &'a mut Vec<MetricPoint>,
    warnings: &'a mut QueryWarnings,
    index: u32,
}

impl PointSink<'_> {
    /// Returns the value of a query, or `None` when the device does not support the query
    /// (silently) or the query fails (with a warning the first time).
    fn value<T>(&mut self, query: &'static str, result: Result<T, NvmlError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(NvmlError::NotSupported) => None,
            Err(error) => {
                self.warnings.warn_once(self.index, query, &error);
                None
            }
        }
    }
}

impl DeviceReader<'_> {
    fn gauge(
        &self,
        sink: &mut PointSink<'_>,
        name: &str,
        unit: &str,
        value: f64,
        extra: &[(&'static str, Value)],
    ) {
        let labels = self.labels_with(extra);
        sink.points
            .push(self.factory.gauge(name, unit, value, &labels));
    }

    fn labels_with(&self, extra: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
        let mut labels = self.device_labels.clone();
        labels.extend_from_slice(extra);
        labels
    }

    fn push_utilization(&self, device: &Device<'_>, sink: &mut PointSink<'_>) {
        let Some(rates) = sink.value("utilization", device.utilization_rates()) else {
            return;
        };
        let general = [(names::HW_GPU_TASK, json!("general"))];
        let kernels = percent_to_fraction(f64::from(rates.gpu));
        self.gauge(
            sink,
            names::HW_GPU_UTILIZATION,
            unit::RATIO,
            kernels,
            &general,
        );

        let memory_busy = percent_to_fraction(f64::from(rates.memory));
        self.gauge(
            sink,
            names::HW_GPU_MEMORY_CONTROLLER_UTILIZATION,
            unit::RATIO,
            memory_busy,
            &[],
        );
    }

    fn push_memory(&self, device: &Device<'_>, sink: &mut PointSink<'_>) {
        let Some(memory) = sink.value("memory", device.memory_info()) else {
            return;
        };
        self.gauge(
            sink,
            names::HW_GPU_MEMORY_USAGE,
            unit::BYTES,
            memory.used as f64,
            &[],
        );
        self.gauge(
            sink,
            names::HW_GPU_MEMORY_LIMIT,
            unit::BYTES,
            memory.total as f64,
            &[],
        );
        if let Some(utilization) = fraction(memory.used, memory.total) {
            self.gauge(
                sink,
                names::HW_GPU_MEMORY_UTILIZATION,
                unit::RATIO,
                utilization,
                &[],
            );
        }
    }

    /// Appends temperature, power, energy and clocks.
    fn push_sensors(&self, device: &Device<'_>, sink: &mut PointSink<'_>) {
        if let Some(celsius) = sink.value("temperature", device.temperature(TemperatureSensor::Gpu))
        {
            self.gauge(
                sink,
                names::HW_TEMPERATURE,
                unit::CELSIUS,
                f64::from(celsius),
                &[],
            );
        }
        if let Some(milliwatts) = sink.value("power", device.power_usage()) {
            self.gauge(
                sink,
                names::HW_POWER,
                unit::WATTS,
                milliwatts_to_watts(milliwatts),
                &[],
            );
        }
        if let Some(millijoules) = sink.value("energy", device.total_energy_consumption()) {
            // NVML counts from the last driver load, a time it does not report.
            let labels = self.labels_with(&[]);
            let joules = millijoules_to_joules(millijoules);
            sink.points.push(self.factory.counter(
                names::HW_ENERGY,
                unit::JOULES,
                joules,
                None,
                &labels,
            ));
        }

        let clocks = [
            ("sm clock", Clock::SM, names::HW_GPU_CLOCK_SM),
            ("memory clock", Clock::Memory, names::HW_GPU_CLOCK_MEMORY),
        ];
        for (query, clock, name) in clocks {
            if let Some(megahertz) = sink.value(query, device.clock_info(clock)) {
                self.gauge(sink, name, unit::MEGAHERTZ, f64::from(megahertz), &[]);
            }
        }
    }

    fn push_throttle_reasons(&self, device: &Device<'_>, sink: &mut PointSink<'_>) {
        let Some(reasons) = sink.value("throttle reasons", device.current_throttle_reasons())
        else {
            return;
        };
        for reason in active_throttle_reasons(reasons) {
            let labels = [(names::REASON, json!(reason))];
            self.gauge(
                sink,
                names::HW_GPU_THROTTLE_REASONS,
                unit::RATIO,
                1.0,
                &labels,
            );
        }
    }

    /// Appends GPU memory per process, from the compute and the graphics process lists.
    fn push_process_memory(&self, device: &Device<'_>, sink: &mut PointSink<'_>) {
        let compute = sink.value("compute processes", device.running_compute_processes());
        let graphics = sink.value("graphics processes", device.running_graphics_processes());
        let usage = memory_by_pid(compute.into_iter().chain(graphics).flatten());
        if usage.is_empty() {
            return;
        }

        let executable_names = executable_names(usage.keys().copied());
        for (pid, bytes) in usage {
            let mut extra = vec![(names::PROCESS_PID, json!(pid))];
            if let Some(name) = executable_names.get(&pid) {
                extra.push((names::PROCESS_EXECUTABLE_NAME, json!(name)));
            }
            self.gauge(
                sink,
                names::HW_GPU_PROCESS_MEMORY_USAGE,
                unit::BYTES,
                bytes as f64,
                &extra,
            );
        }
    }
}

/// Returns the label values of the reasons set in `reasons`, in [`THROTTLE_REASONS`] order.
fn active_throttle_reasons(reasons: ThrottleReasons) -> Vec<&'static str> {
    THROTTLE_REASONS
        .iter()
        .filter(|(flag, _)| reasons.contains(*flag))
        .map(|(_, label)| *label)
        .collect()
}

/// Returns GPU memory in bytes per process id. A process in both the compute and the graphics
/// list counts once, with the larger figure. Processes whose usage NVML cannot see (under
/// Windows WDDM) are left out.
fn memory_by_pid(processes: impl IntoIterator<Item = ProcessInfo>) -> BTreeMap<u32, u64> {
    let mut usage = BTreeMap::new();
    for process in processes {
        let UsedGpuMemory::Used(bytes) = process.used_gpu_memory else {
            continue;
        };
        let entry = usage.entry(process.pid).or_insert(0);
        *entry = bytes.max(*entry);
    }
    usage
}

/// Looks up executable names of process ids. A process in another pid namespace (NVML
/// reports host pids to a container) or one that has exited gets no name.
fn executable_names(pids: impl Iterator<Item = u32>) -> BTreeMap<u32, String> {
    let Ok(mut system) = System::new() else {
        return BTreeMap::new();
    };
    let pids: Vec<Pid> = pids.map(Pid::from_u32).collect();
    let kind = ProcessRefreshKind::nothing()
        .with_exe(UpdateKind::OnlyIfNotSet)
        .without_tasks();
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, kind);

    system
        .processes()
        .values()
        .map(|process| (process.pid().as_u32(), executable_name(process)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, used_gpu_memory: UsedGpuMemory) -> ProcessInfo {
        ProcessInfo {
            pid,
            used_gpu_memory,
            gpu_instance_id: None,
            compute_instance_id: None,
        }
    }

    #[test]
    fn throttle_reasons_map_to_labels() {
        let reasons = ThrottleReasons::SW_POWER_CAP
            | ThrottleReasons::HW_SLOWDOWN
            | ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN;

        assert_eq!(
            active_throttle_reasons(reasons),
            vec!["sw_power_cap", "hw_slowdown", "hw_power_brake"]
        );
    }

    #[test]
    fn no_throttle_reason_gives_no_label() {
        assert!(active_throttle_reasons(ThrottleReasons::NONE).is_empty());
        assert!(active_throttle_reasons(ThrottleReasons::empty()).is_empty());
    }

    #[test]
    fn every_throttle_reason_has_one_label() {
        let every = THROTTLE_REASONS
            .iter()
            .fold(ThrottleReasons::empty(), |all, (flag, _)| all | *flag);

        let labels = active_throttle_reasons(every);

        assert_eq!(labels.len(), THROTTLE_REASONS.len());
        assert!(labels.contains(&"gpu_idle"));
        assert!(labels.contains(&"sw_thermal_slowdown"));
        assert!(labels.contains(&"hw_thermal_slowdown"));
    }

    #[test]
    fn process_memory_keeps_larger_figure_per_pid() {
        let processes = [
            process(10, UsedGpuMemory::Used(512 * 1024 * 1024)),
            process(11, UsedGpuMemory::Used(1024)),
            process(10, UsedGpuMemory::Used(2 * 1024 * 1024 * 1024)),
            process(12, UsedGpuMemory::Unavailable),
        ];

        let usage = memory_by_pid(processes);

        assert_eq!(usage.get(&10), Some(&(2 * 1024 * 1024 * 1024)));
        assert_eq!(usage.get(&11), Some(&1024));
        assert_eq!(usage.get(&12), None);
    }

    #[test]
    fn own_pid_has_executable_name() {
        let own = std::process::id();

        let names = executable_names([own].into_iter());

        let name = names.get(&own).map(String::as_str).unwrap_or_default();
        assert!(!name.is_empty(), "no name for own pid {own}: {names:?}");
    }
}
