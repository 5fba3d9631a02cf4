//! GPU collector: unavailable without the NVIDIA driver, and checked against `nvidia-smi`
//! where a GPU is present.

use std::process::Command;
use std::time::{Duration, Instant};

use glassbox_host::names::*;
use glassbox_host::{GpuCollector, GpuError};
use serde_json::json;

use crate::{find, now_unix_nano, value_of};

/// Returns whether `nvidia-smi -L` runs and lists a GPU.
fn nvidia_smi_lists_gpu() -> bool {
    Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .is_ok_and(|output| {
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("GPU")
        })
}

#[expect(clippy::print_stderr, reason = "tells why a hardware test did not run")]
fn skip(test: &str, reason: &str) {
    eprintln!("{test} skipped: {reason}");
}

/// Returns the total memory of each GPU in MiB, as `nvidia-smi` prints it.
fn nvidia_smi_memory_total_mib() -> Vec<u64> {
    let output = Command::new("nvidia-smi")
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.trim().parse().unwrap())
        .collect()
}

#[test]
fn load_without_driver_is_unavailable() {
    if nvidia_smi_lists_gpu() {
        skip(
            "load_without_driver_is_unavailable",
            "this machine has an NVIDIA GPU",
        );
        return;
    }
    let started = Instant::now();

    let result = GpuCollector::load();

    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "load took {elapsed:?}");
    let Err(error) = result else {
        panic!("NVML loaded on a machine where nvidia-smi lists no GPU");
    };
    assert!(matches!(error, GpuError::Unavailable(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("NVML"), "{message}");
    assert!(message.contains("libnvidia-ml"), "{message}");
}

#[test]
fn gpu_values_when_present() {
    let mut collector = match GpuCollector::load() {
        Ok(collector) => collector,
        Err(error) if !nvidia_smi_lists_gpu() => {
            skip(
                "gpu_values_when_present",
                &format!("no NVIDIA GPU ({error})"),
            );
            return;
        }
        Err(error) => panic!("nvidia-smi lists a GPU but NVML failed: {error}"),
    };
    let memory_total_mib = nvidia_smi_memory_total_mib();
    assert_eq!(collector.device_count() as usize, memory_total_mib.len());

    let points = collector.collect(now_unix_nano()).unwrap();

    for (index, total_mib) in memory_total_mib.into_iter().enumerate() {
        let device = [(GPU_INDEX, json!(index))];
        let limit = value_of(&points, HW_GPU_MEMORY_LIMIT, &device);
        let usage = value_of(&points, HW_GPU_MEMORY_USAGE, &device);
        let utilization = value_of(&points, HW_GPU_UTILIZATION, &device);
        let limit_mib = limit / (1024.0 * 1024.0);
        assert!(
            (limit_mib - total_mib as f64).abs() <= 1.0,
            "GPU {index}: {limit_mib} MiB, nvidia-smi {total_mib} MiB"
        );
        assert!(
            usage <= limit,
            "GPU {index}: usage {usage} over limit {limit}"
        );
        assert!(
            (0.0..=1.0).contains(&utilization),
            "GPU {index}: utilization {utilization}"
        );

        let labels = &find(&points, HW_GPU_MEMORY_LIMIT, &device)[0].labels;
        assert!(
            labels[HW_ID]
                .as_str()
                .is_some_and(|id| id.starts_with("GPU-")),
            "{labels:?}"
        );
        assert_eq!(labels[HW_TYPE], json!("gpu"));
        for point in find(&points, HW_TEMPERATURE, &device) {
            let celsius = point.value.unwrap();
            assert!((1.0..130.0).contains(&celsius), "GPU {index}: {celsius} °C");
        }
    }
}
