//! Readers of `/proc` and `df`, the reference the host collector is checked against.

use std::collections::HashMap;
use std::fs;
use std::process::Command;

/// Returns `/proc/meminfo` in bytes, keyed by field name.
pub fn meminfo() -> HashMap<String, u64> {
    let text = fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.to_owned(), kib * 1024))
        })
        .collect()
}

/// Returns the 1, 5 and 15 minute load averages.
pub fn load_averages() -> [f64; 3] {
    let text = fs::read_to_string("/proc/loadavg").unwrap();
    let fields: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .map(|field| field.parse().unwrap())
        .collect();
    [fields[0], fields[1], fields[2]]
}

/// Returns the number of `processor` entries in `/proc/cpuinfo`.
pub fn logical_cpu_count() -> usize {
    let text = fs::read_to_string("/proc/cpuinfo").unwrap();
    text.lines()
        .filter(|line| line.starts_with("processor"))
        .count()
}

/// Returns received and transmitted bytes per interface from `/proc/net/dev`.
pub fn network_bytes() -> HashMap<String, (u64, u64)> {
    let text = fs::read_to_string("/proc/net/dev").unwrap();
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (interface, counters) = line.split_once(':')?;
            let counters: Vec<u64> = counters
                .split_whitespace()
                .map(|field| field.parse().unwrap())
                .collect();
            Some((interface.trim().to_owned(), (counters[0], counters[8])))
        })
        .collect()
}

/// Returns the seconds since boot from `/proc/uptime`.
pub fn uptime_seconds() -> f64 {
    let text = fs::read_to_string("/proc/uptime").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Returns the host name the kernel reports.
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

/// Returns the resident set size of this process in bytes.
pub fn own_rss_bytes() -> u64 {
    let text = fs::read_to_string("/proc/self/status").unwrap();
    let line = text
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Size, used and available bytes of a filesystem, as `df -B1` prints them.
#[derive(Debug)]
pub struct DfSpace {
    pub size: u64,
    pub used: u64,
    pub available: u64,
}

/// Runs `df -B1` on `mount_point`.
pub fn df(mount_point: &str) -> DfSpace {
    let output = Command::new("df")
        .args(["-B1", "--output=size,used,avail", mount_point])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "df failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|field| field.parse().unwrap())
        .collect();
    DfSpace {
        size: fields[0],
        used: fields[1],
        available: fields[2],
    }
}

/// Returns whether `/proc/mounts` lists a filesystem mounted at `mount_point`.
pub fn is_mounted(mount_point: &str) -> bool {
    let text = fs::read_to_string("/proc/mounts").unwrap();
    text.lines()
        .any(|line| line.split_whitespace().nth(1) == Some(mount_point))
}
