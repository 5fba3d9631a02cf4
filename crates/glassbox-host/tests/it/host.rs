//! Host collector values checked against `/proc` and `df` on this machine.
//!
//! The machine keeps running while a test reads both sides, so values that move are compared
//! within a tolerance, and counters are checked to lie between two reads of `/proc`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use glassbox_host::names::*;
use glassbox_host::{HostCollector, HostOptions, latest};
use serde_json::json;

use crate::{find, now_unix_nano, procfs, value_of};

fn collect_once(options: HostOptions) -> Vec<glassbox_host::MetricPoint> {
    HostCollector::new(options).collect(now_unix_nano())
}

/// Keeps one thread busy for `duration`.
fn busy_work(duration: Duration) {
    let started = Instant::now();
    let mut state = 1_u64;
    while started.elapsed() < duration {
        state = std::hint::black_box(
            state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1),
        );
    }
}

#[test]
fn every_point_has_host_name() {
    let time = now_unix_nano();
    let points = HostCollector::new(HostOptions::default()).collect(time);
    let host_name = json!(procfs::host_name());

    assert!(points.len() > 10, "too few points: {points:#?}");
    for point in &points {
        assert_eq!(point.labels.get(HOST_NAME), Some(&host_name), "{point:?}");
        assert_eq!(point.service_name, None, "{point:?}");
        assert_eq!(point.time_unix_nano, time, "{point:?}");
        assert!(point.unit.is_some(), "{point:?}");
    }
}

#[test]
fn memory_limit_matches_meminfo() {
    let points = collect_once(HostOptions::default());
    let meminfo = procfs::meminfo();

    let limit = value_of(&points, SYSTEM_MEMORY_LIMIT, &[]);

    assert_eq!(limit, meminfo["MemTotal"] as f64);
}

#[test]
fn memory_usage_near_meminfo() {
    let points = collect_once(HostOptions::default());
    let meminfo = procfs::meminfo();
    let total = meminfo["MemTotal"] as f64;
    let tolerance = total * 0.10;

    let used = value_of(
        &points,
        SYSTEM_MEMORY_USAGE,
        &[(SYSTEM_MEMORY_STATE, json!("used"))],
    );
    let free = value_of(
        &points,
        SYSTEM_MEMORY_USAGE,
        &[(SYSTEM_MEMORY_STATE, json!("free"))],
    );
    let utilization = value_of(&points, SYSTEM_MEMORY_UTILIZATION, &[]);

    let expected_used = total - meminfo["MemAvailable"] as f64;
    assert!(
        (used - expected_used).abs() < tolerance,
        "used {used}, /proc/meminfo {expected_used}"
    );
    assert!(
        (free - meminfo["MemFree"] as f64).abs() < tolerance,
        "free {free}, /proc/meminfo {}",
        meminfo["MemFree"]
    );
    assert!(
        (utilization - used / total).abs() < 1e-9,
        "utilization {utilization}"
    );
    assert!(
        (0.0..=1.0).contains(&utilization),
        "utilization {utilization}"
    );
}

#[test]
fn swap_usage_matches_meminfo_total() {
    let points = collect_once(HostOptions::default());
    let meminfo = procfs::meminfo();

    let used = value_of(
        &points,
        SYSTEM_PAGING_USAGE,
        &[(SYSTEM_PAGING_STATE, json!("used"))],
    );
    let free = value_of(
        &points,
        SYSTEM_PAGING_USAGE,
        &[(SYSTEM_PAGING_STATE, json!("free"))],
    );

    assert_eq!(used + free, meminfo["SwapTotal"] as f64);
}

#[test]
fn load_averages_near_proc_loadavg() {
    let before = procfs::load_averages();
    let points = collect_once(HostOptions::default());
    let after = procfs::load_averages();

    let names = [
        SYSTEM_CPU_LOAD_AVERAGE_1M,
        SYSTEM_CPU_LOAD_AVERAGE_5M,
        SYSTEM_CPU_LOAD_AVERAGE_15M,
    ];
    for (position, name) in names.into_iter().enumerate() {
        let value = value_of(&points, name, &[]);
        let low = before[position].min(after[position]) - 1.0;
        let high = before[position].max(after[position]) + 1.0;
        assert!(
            (low..=high).contains(&value),
            "{name} {value}, /proc/loadavg {before:?} then {after:?}"
        );
    }
}

#[test]
fn logical_cpu_count_matches_cpuinfo() {
    let points = collect_once(HostOptions::default());

    let count = value_of(&points, SYSTEM_CPU_LOGICAL_COUNT, &[]);

    assert_eq!(count, procfs::logical_cpu_count() as f64);
}

#[test]
fn uptime_near_proc_uptime() {
    let before = procfs::uptime_seconds();
    let points = collect_once(HostOptions::default());
    let after = procfs::uptime_seconds();

    let uptime = value_of(&points, SYSTEM_UPTIME, &[]);

    let expected = (before.floor() - 1.0)..=(after.ceil() + 1.0);
    assert!(
        expected.contains(&uptime),
        "uptime {uptime}, /proc/uptime {before} then {after}"
    );
}

#[test]
fn network_counters_between_proc_reads() {
    let before = procfs::network_bytes();
    let points = collect_once(HostOptions::default());
    let after = procfs::network_bytes();

    let interfaces: HashSet<&str> = before
        .keys()
        .map(String::as_str)
        .filter(|name| after.contains_key(*name))
        .collect();
    assert!(!interfaces.is_empty(), "/proc/net/dev lists no interface");
    for interface in interfaces {
        let directions = [
            ("receive", before[interface].0, after[interface].0),
            ("transmit", before[interface].1, after[interface].1),
        ];
        for (direction, low, high) in directions {
            let labels = [
                (NETWORK_INTERFACE_NAME, json!(interface)),
                (NETWORK_IO_DIRECTION, json!(direction)),
            ];
            let bytes = value_of(&points, SYSTEM_NETWORK_IO, &labels);
            assert!(
                (low as f64..=high as f64).contains(&bytes),
                "{interface} {direction}: {bytes}, /proc/net/dev {low} then {high}"
            );
        }
    }
}

#[test]
fn network_io_is_monotonic_cumulative_sum() {
    let points = collect_once(HostOptions::default());

    let network = find(&points, SYSTEM_NETWORK_IO, &[]);

    assert!(!network.is_empty());
    for point in network {
        assert_eq!(point.kind, glassbox_model::MetricKind::Sum, "{point:?}");
        assert_eq!(
            point.detail.get("is_monotonic"),
            Some(&json!(true)),
            "{point:?}"
        );
        assert_eq!(
            point.detail.get("temporality"),
            Some(&json!(2)),
            "{point:?}"
        );
        assert_eq!(point.unit.as_deref(), Some("By"));
    }
}

#[test]
fn root_filesystem_matches_df() {
    assert!(procfs::is_mounted("/"), "/proc/mounts lists no / mount");
    let points = collect_once(HostOptions::default());
    let df = procfs::df("/");
    let root = [(SYSTEM_FILESYSTEM_MOUNTPOINT, json!("/"))];
    let tolerance = df.size as f64 * 0.01;

    let limit = value_of(&points, SYSTEM_FILESYSTEM_LIMIT, &root);
    let state = |state: &str| {
        let labels = [root[0].clone(), (SYSTEM_FILESYSTEM_STATE, json!(state))];
        value_of(&points, SYSTEM_FILESYSTEM_USAGE, &labels)
    };
    let (used, free, reserved) = (state("used"), state("free"), state("reserved"));

    assert_eq!(limit, df.size as f64);
    assert!(
        (used - df.used as f64).abs() < tolerance,
        "used {used}, df {df:?}"
    );
    assert!(
        (free - df.available as f64).abs() < tolerance,
        "free {free}, df {df:?}"
    );
    assert_eq!(used + free + reserved, limit);
    let device = &find(&points, SYSTEM_FILESYSTEM_LIMIT, &root)[0].labels[SYSTEM_DEVICE];
    assert!(
        device.as_str().is_some_and(|device| !device.is_empty()),
        "device {device}"
    );
}

#[test]
fn first_collect_only_primes_cpu() {
    let mut collector = HostCollector::new(HostOptions::default());

    let points = collector.collect(now_unix_nano());

    assert!(find(&points, SYSTEM_CPU_UTILIZATION, &[]).is_empty());
    assert!(find(&points, PROCESS_CPU_UTILIZATION, &[]).is_empty());
}

#[test]
fn cpu_utilization_after_busy_work() {
    let own_pid = [(PROCESS_PID, json!(std::process::id()))];
    let mut collector = HostCollector::new(HostOptions::default());
    collector.collect(now_unix_nano());

    busy_work(Duration::from_millis(400));
    let points = collector.collect(now_unix_nano());

    let machine = value_of(&points, SYSTEM_CPU_UTILIZATION, &[]);
    let own = value_of(&points, PROCESS_CPU_UTILIZATION, &own_pid);
    assert!(machine > 0.0, "machine CPU {machine}");
    assert!(machine <= 1.0, "machine CPU {machine}");
    assert!(own > 0.0, "own CPU {own}");
    assert!(own <= 1.0, "own CPU {own}");
}

#[test]
fn per_cpu_utilization_when_enabled() {
    let options = HostOptions {
        per_cpu: true,
        ..HostOptions::default()
    };
    let mut collector = HostCollector::new(options);
    collector.collect(now_unix_nano());
    busy_work(Duration::from_millis(250));

    let points = collector.collect(now_unix_nano());

    let count = procfs::logical_cpu_count();
    for number in 0..count {
        let usage = value_of(
            &points,
            SYSTEM_CPU_UTILIZATION,
            &[(CPU_LOGICAL_NUMBER, json!(number))],
        );
        assert!((0.0..=1.0).contains(&usage), "CPU {number}: {usage}");
    }
    assert_eq!(find(&points, SYSTEM_CPU_UTILIZATION, &[]).len(), count + 1);
}

#[test]
fn own_process_memory_near_rss() {
    let own_pid = [(PROCESS_PID, json!(std::process::id()))];
    let before = procfs::own_rss_bytes() as f64;
    let points = collect_once(HostOptions::default());
    let after = procfs::own_rss_bytes() as f64;
    let slack = 32.0 * 1024.0 * 1024.0;

    let rss = value_of(&points, PROCESS_MEMORY_USAGE, &own_pid);

    let expected = (before.min(after) - slack)..=(before.max(after) + slack);
    assert!(
        expected.contains(&rss),
        "RSS {rss}, /proc/self/status {before} then {after}"
    );
    assert_eq!(
        find(&points, PROCESS_MEMORY_USAGE, &[]).len(),
        1,
        "only this process without `processes`"
    );
}

#[test]
fn top_processes_are_bounded() {
    let options = HostOptions {
        processes: true,
        top_processes: 3,
        ..HostOptions::default()
    };
    let mut collector = HostCollector::new(options);
    collector.collect(now_unix_nano());
    busy_work(Duration::from_millis(250));

    let points = collector.collect(now_unix_nano());

    let memory = find(&points, PROCESS_MEMORY_USAGE, &[]);
    let pids: HashSet<u64> = memory
        .iter()
        .map(|point| point.labels[PROCESS_PID].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), memory.len(), "one point per process");
    assert!(pids.len() >= 2, "pids {pids:?}");
    assert!(pids.len() <= 4, "pids {pids:?}");
    assert!(pids.contains(&u64::from(std::process::id())));
    for point in &memory {
        let name = point.labels[PROCESS_EXECUTABLE_NAME].as_str().unwrap();
        assert!(!name.is_empty(), "{point:?}");
    }
    for point in find(&points, PROCESS_CPU_UTILIZATION, &[]) {
        let cpu = point.value.unwrap();
        assert!((0.0..=1.0).contains(&cpu), "{point:?}");
    }
}

#[test]
fn latest_names_root_filesystem() {
    let points = collect_once(HostOptions::default());

    let values = latest(&points);

    let keys: Vec<&str> = values.iter().map(|(key, _)| key.as_str()).collect();
    assert!(keys.contains(&"system.memory.limit"), "{keys:?}");
    assert!(
        keys.iter()
            .any(|key| key.starts_with("system.filesystem.usage (/, ")),
        "{keys:?}"
    );
    assert!(keys.contains(&"system.memory.usage (used)"), "{keys:?}");
}
