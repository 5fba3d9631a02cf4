//! Host and GPU collectors of Glassbox.
//!
//! [`HostCollector`] samples the machine through sysinfo: CPU, memory, swap, filesystems,
//! network interfaces, uptime, and processes. [`GpuCollector`] samples NVIDIA GPUs through NVML,
//! which it loads at run time, so a machine without the driver only loses GPU metrics. Both turn
//! a sample into [`MetricPoint`]s named after the OpenTelemetry system, process and hardware
//! semantic conventions (see [`names`]), ready for the same store as OTLP metrics.
//!
//! Every point is labeled with `host.name` and has no `service_name`. Fractions are in
//! `[0, 1]`, sizes in bytes, and units are UCUM codes (`By`, `1`, `s`, `Cel`, `W`, `J`, `MHz`).
//! Counters (`system.network.io`, `hw.energy`) are monotonic cumulative sums, marked in
//! [`MetricPoint::detail`] with `is_monotonic` and `temporality` as in OTLP. Everything else is
//! a gauge.
//!
//! The collectors block while they read `/proc` and NVML, so an async caller runs them on a
//! blocking thread. [`latest`] reduces a batch of points to one value per series for a health
//! view.

#![warn(missing_docs)]

mod gpu;
mod host;
mod latest;
pub mod names;
mod point;

pub use glassbox_model::MetricPoint;
pub use gpu::{GpuCollector, GpuError};
pub use host::{HostCollector, HostOptions};
pub use latest::latest;
