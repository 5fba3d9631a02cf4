//! NVIDIA GPU metrics from NVML.
//!
//! nvml-wrapper opens `libnvidia-ml.so.1` (`nvml.dll` on Windows) at run time, so the binary
//! builds and starts on machines without the NVIDIA driver: [`GpuCollector::load`] then returns
//! [`GpuError::Unavailable`] and the caller runs without GPU metrics.
//!
//! Only NVIDIA GPUs are covered. Each device is read by index on every call, so a GPU that
//! falls off the bus shows up as a failed query, not as a stale value.

mod device;

use std::collections::HashSet;

use glassbox_model::MetricPoint;
use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;
use serde_json::{Map, Value};

use crate::point::PointFactory;

/// Failure of the GPU collector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// NVML cannot be loaded or initialized: no NVIDIA driver, no permission, or a driver and
    /// library version mismatch.
    #[error(
        "NVML is not available: {0}. Install the NVIDIA driver (it provides libnvidia-ml) or turn off GPU collection"
    )]
    Unavailable(String),
    /// NVML is loaded but no device could be read.
    #[error("NVML query failed: {0}. Check the GPUs with `nvidia-smi`")]
    Query(String),
}

/// Sampler of NVIDIA GPU metrics through NVML.
pub struct GpuCollector {
    nvml: Nvml,
    device_count: u32,
    /// Labels on every point: `host.name`.
    shared_labels: Map<String, Value>,
    warnings: QueryWarnings,
}

impl GpuCollector {
    /// Loads and initializes NVML and counts the GPUs.
    ///
    /// # Errors
    ///
    /// [`GpuError::Unavailable`] when the NVML library cannot be loaded or initialized, or
    /// cannot count the devices. Without the library this fails at once, in the dynamic loader.
    pub fn load() -> Result<GpuCollector, GpuError> {
        let nvml = Nvml::init().map_err(|error| {
            GpuError::Unavailable(format!("failed to initialize NVML: {error}"))
        })?;
        let device_count = nvml
            .device_count()
            .map_err(|error| GpuError::Unavailable(format!("failed to count the GPUs: {error}")))?;

        tracing::info!(device_count, "NVML loaded");
        Ok(GpuCollector {
            nvml,
            device_count,
            shared_labels: crate::host::shared_labels(),
            warnings: QueryWarnings::default(),
        })
    }

    /// Returns the number of GPUs NVML reported at load time.
    pub fn device_count(&self) -> u32 {
        self.device_count
    }

    /// Takes one sample of every GPU, stamped with `time_unix_nano`.
    ///
    /// A query that a device does not support is left out. Any other failed query is left out
    /// too, with a warning the first time for each device and query.
    ///
    /// # Errors
    ///
    /// [`GpuError::Query`] when there are GPUs but none of them could be read.
    pub fn collect(&mut self, time_unix_nano: u64) -> Result<Vec<MetricPoint>, GpuError> {
        let factory = PointFactory::new(time_unix_nano, &self.shared_labels);
        let mut points = Vec::new();
        let mut failed_devices = Vec::new();

        for index in 0..self.device_count {
            let read = self.nvml.device_by_index(index).and_then(|device| {
                device::push_points(&device, index, &factory, &mut self.warnings, &mut points)
            });
            if let Err(error) = read {
                self.warnings.warn_once(index, "device", &error);
                failed_devices.push(format!("GPU {index}: {error}"));
            }
        }

        if points.is_empty() && !failed_devices.is_empty() {
            return Err(GpuError::Query(failed_devices.join("; ")));
        }
        Ok(points)
    }
}

/// Warnings already logged, so that a query failing on every sample warns once, not every
/// interval.
#[derive(Default)]
struct QueryWarnings {
    logged: HashSet<(u32, &'static str)>,
}

impl QueryWarnings {
    fn warn_once(&mut self, device_index: u32, query: &'static str, error: &NvmlError) {
        if self.logged.insert((device_index, query)) {
            tracing::warn!(device_index, query, %error, "NVML query failed, its metrics are left out");
        } else {
            tracing::debug!(device_index, query, %error, "NVML query failed again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<GpuCollector>();
    }

    #[test]
    fn unavailable_message_names_nvml_and_fix() {
        let message = GpuError::Unavailable(
            "failed to initialize NVML: NVIDIA driver is not loaded".to_owned(),
        )
        .to_string();

        assert!(message.starts_with("NVML is not available: "), "{message}");
        assert!(message.contains("driver is not loaded"), "{message}");
        assert!(message.contains("Install the NVIDIA driver"), "{message}");
    }

    #[test]
    fn warning_is_logged_once_per_device_and_query() {
        let mut warnings = QueryWarnings::default();

        warnings.warn_once(0, "temperature", &NvmlError::GpuLost);
        warnings.warn_once(0, "temperature", &NvmlError::GpuLost);
        warnings.warn_once(1, "temperature", &NvmlError::GpuLost);

        assert_eq!(warnings.logged.len(), 2);
    }
}
