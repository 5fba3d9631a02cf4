//! Metric names and label keys, from the OpenTelemetry system, process and hardware semantic
//! conventions.
//!
//! The conventions mark these names as in development, so they may still change upstream.
//! Collectors, tests and readers use these constants so that all of them spell a name the same
//! way.

/// Fraction of CPU time spent not idle, in `[0, 1]`: whole machine, or one logical CPU when
/// the point has [`CPU_LOGICAL_NUMBER`].
pub const SYSTEM_CPU_UTILIZATION: &str = "system.cpu.utilization";
/// Number of logical CPUs.
pub const SYSTEM_CPU_LOGICAL_COUNT: &str = "system.cpu.logical.count";
/// Load average over one minute.
pub const SYSTEM_CPU_LOAD_AVERAGE_1M: &str = "system.cpu.load_average.1m";
/// Load average over five minutes.
pub const SYSTEM_CPU_LOAD_AVERAGE_5M: &str = "system.cpu.load_average.5m";
/// Load average over fifteen minutes.
pub const SYSTEM_CPU_LOAD_AVERAGE_15M: &str = "system.cpu.load_average.15m";
/// Memory in bytes, by [`SYSTEM_MEMORY_STATE`].
pub const SYSTEM_MEMORY_USAGE: &str = "system.memory.usage";
/// Total memory in bytes.
pub const SYSTEM_MEMORY_LIMIT: &str = "system.memory.limit";
/// Used memory divided by total memory.
pub const SYSTEM_MEMORY_UTILIZATION: &str = "system.memory.utilization";
/// Swap space in bytes, by [`SYSTEM_PAGING_STATE`].
pub const SYSTEM_PAGING_USAGE: &str = "system.paging.usage";
/// Filesystem space in bytes, by [`SYSTEM_FILESYSTEM_STATE`].
pub const SYSTEM_FILESYSTEM_USAGE: &str = "system.filesystem.usage";
/// Filesystem size in bytes.
pub const SYSTEM_FILESYSTEM_LIMIT: &str = "system.filesystem.limit";
/// Bytes received or sent on a network interface since it came up.
pub const SYSTEM_NETWORK_IO: &str = "system.network.io";
/// Seconds since the machine booted.
pub const SYSTEM_UPTIME: &str = "system.uptime";

/// CPU time of one process over the last interval, divided by the interval and by the number
/// of logical CPUs, in `[0, 1]`.
pub const PROCESS_CPU_UTILIZATION: &str = "process.cpu.utilization";
/// Resident set size of one process in bytes.
pub const PROCESS_MEMORY_USAGE: &str = "process.memory.usage";

/// Fraction of the last sample period in which a kernel ran on the GPU.
pub const HW_GPU_UTILIZATION: &str = "hw.gpu.utilization";
/// GPU memory used divided by GPU memory size.
pub const HW_GPU_MEMORY_UTILIZATION: &str = "hw.gpu.memory.utilization";
/// Fraction of the last sample period in which device memory was read or written.
///
/// NOTE: no semantic convention covers this NVML value yet, so the name is our own.
pub const HW_GPU_MEMORY_CONTROLLER_UTILIZATION: &str = "hw.gpu.memory.controller.utilization";
/// GPU memory used, in bytes.
pub const HW_GPU_MEMORY_USAGE: &str = "hw.gpu.memory.usage";
/// GPU memory size, in bytes.
pub const HW_GPU_MEMORY_LIMIT: &str = "hw.gpu.memory.limit";
/// Temperature in degrees Celsius.
pub const HW_TEMPERATURE: &str = "hw.temperature";
/// Power draw in watts.
pub const HW_POWER: &str = "hw.power";
/// Energy used since the driver was loaded, in joules.
pub const HW_ENERGY: &str = "hw.energy";
/// Streaming multiprocessor clock in MHz.
pub const HW_GPU_CLOCK_SM: &str = "hw.gpu.clock.sm";
/// Memory clock in MHz.
pub const HW_GPU_CLOCK_MEMORY: &str = "hw.gpu.clock.memory";
/// `1` for each reason that currently holds the GPU clocks down, labeled with [`REASON`].
pub const HW_GPU_THROTTLE_REASONS: &str = "hw.gpu.throttle_reasons";
/// GPU memory used by one process, in bytes.
pub const HW_GPU_PROCESS_MEMORY_USAGE: &str = "hw.gpu.process.memory.usage";

/// Host name of the machine, on every point.
pub const HOST_NAME: &str = "host.name";
/// Index of a logical CPU, as the operating system numbers them.
pub const CPU_LOGICAL_NUMBER: &str = "cpu.logical_number";
/// `used` or `free`.
pub const SYSTEM_MEMORY_STATE: &str = "system.memory.state";
/// `used` or `free`.
pub const SYSTEM_PAGING_STATE: &str = "system.paging.state";
/// Device a filesystem is mounted from, such as `/dev/sda1`.
pub const SYSTEM_DEVICE: &str = "system.device";
/// Mount point of a filesystem.
pub const SYSTEM_FILESYSTEM_MOUNTPOINT: &str = "system.filesystem.mountpoint";
/// Filesystem type, such as `ext4`.
pub const SYSTEM_FILESYSTEM_TYPE: &str = "system.filesystem.type";
/// `used`, `free` or `reserved`.
pub const SYSTEM_FILESYSTEM_STATE: &str = "system.filesystem.state";
/// Network interface name, such as `eth0`.
pub const NETWORK_INTERFACE_NAME: &str = "network.interface.name";
/// `receive` or `transmit`.
pub const NETWORK_IO_DIRECTION: &str = "network.io.direction";
/// Process id.
pub const PROCESS_PID: &str = "process.pid";
/// Base name of the process executable.
pub const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
/// Hardware identifier: the GPU UUID.
pub const HW_ID: &str = "hw.id";
/// Hardware product name, such as `NVIDIA A100-SXM4-80GB`.
pub const HW_NAME: &str = "hw.name";
/// Hardware type: `gpu` on every GPU point.
pub const HW_TYPE: &str = "hw.type";
/// GPU task that a utilization refers to: `general` for NVML's kernel utilization.
pub const HW_GPU_TASK: &str = "hw.gpu.task";
/// NVML index of a GPU on this machine.
pub const GPU_INDEX: &str = "gpu.index";
/// Throttle reason, such as `sw_power_cap`.
pub const REASON: &str = "reason";
