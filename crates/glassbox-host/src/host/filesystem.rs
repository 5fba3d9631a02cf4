//! Filesystem space per mount point.
//!
//! sysinfo lists the mounts, leaving out pseudo filesystems, tmpfs, and network filesystems
//! (whose `statvfs` can hang). On Unix the space comes from our own `statvfs` call, because sysinfo
//! reports only the size and the space available to unprivileged users, and so cannot tell
//! used space from the blocks reserved for root.

use glassbox_model::MetricPoint;
use serde_json::json;
use sysinfo::{Disk, DiskRefreshKind, Disks};

use crate::names;
use crate::point::{PointFactory, unit};

/// Space of one filesystem in bytes. `used + free + reserved` is the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilesystemSpace {
    pub(crate) size: u64,
    pub(crate) used: u64,
    /// Space available to unprivileged users.
    pub(crate) free: u64,
    /// Space only root may use, where known.
    pub(crate) reserved: Option<u64>,
}

impl FilesystemSpace {
    /// Computes the space from `statvfs` block counts: `blocks` in total, `blocks_free` free
    /// for root, `blocks_available` free for other users, each `fragment_size` bytes.
    pub(crate) fn from_blocks(
        fragment_size: u64,
        blocks: u64,
        blocks_free: u64,
        blocks_available: u64,
    ) -> Self {
        let blocks_free = blocks_free.min(blocks);
        let blocks_available = blocks_available.min(blocks_free);

        FilesystemSpace {
            size: blocks.saturating_mul(fragment_size),
            used: (blocks - blocks_free).saturating_mul(fragment_size),
            free: blocks_available.saturating_mul(fragment_size),
            reserved: Some((blocks_free - blocks_available).saturating_mul(fragment_size)),
        }
    }

    /// Computes the space from sysinfo's size and available space, counting reserved blocks
    /// as used.
    #[cfg(not(unix))]
    fn from_sysinfo(disk: &Disk) -> Self {
        let size = disk.total_space();
        let free = disk.available_space().min(size);

        FilesystemSpace {
            size,
            used: size - free,
            free,
            reserved: None,
        }
    }
}

/// Refreshes the mount list (and, off Unix, the space figures).
pub(super) fn refresh(disks: &mut Disks) {
    let kind = if cfg!(unix) {
        DiskRefreshKind::nothing()
    } else {
        DiskRefreshKind::nothing().with_storage()
    };
    disks.refresh_specifics(true, kind);
}

/// Appends `system.filesystem.usage` by state and `system.filesystem.limit` for each mount.
pub(super) fn push_points(
    disks: &Disks,
    factory: &PointFactory<'_>,
    points: &mut Vec<MetricPoint>,
) {
    for disk in disks.iter() {
        let Some(space) = space_of(disk) else {
            continue;
        };
        if space.size == 0 {
            continue;
        }

        let mount_labels = [
            (names::SYSTEM_DEVICE, json!(disk.name().to_string_lossy())),
            (
                names::SYSTEM_FILESYSTEM_MOUNTPOINT,
                json!(disk.mount_point().to_string_lossy()),
            ),
            (
                names::SYSTEM_FILESYSTEM_TYPE,
                json!(disk.file_system().to_string_lossy()),
            ),
        ];
        let states = [
            ("used", Some(space.used)),
            ("free", Some(space.free)),
            ("reserved", space.reserved),
        ];
        for (state, bytes) in states {
            let Some(bytes) = bytes else {
                continue;
            };
            let mut labels = mount_labels.to_vec();
            labels.push((names::SYSTEM_FILESYSTEM_STATE, json!(state)));
            points.push(factory.gauge(
                names::SYSTEM_FILESYSTEM_USAGE,
                unit::BYTES,
                bytes as f64,
                &labels,
            ));
        }
        points.push(factory.gauge(
            names::SYSTEM_FILESYSTEM_LIMIT,
            unit::BYTES,
            space.size as f64,
            &mount_labels,
        ));
    }
}

#[cfg(unix)]
fn space_of(disk: &Disk) -> Option<FilesystemSpace> {
    statvfs_space(disk.mount_point())
}

#[cfg(not(unix))]
fn space_of(disk: &Disk) -> Option<FilesystemSpace> {
    Some(FilesystemSpace::from_sysinfo(disk))
}

/// Reads the space of the filesystem mounted at `mount_point`, or `None` (logged at debug
/// level) when `statvfs` fails, for example on a mount the process may not read.
#[cfg(unix)]
fn statvfs_space(mount_point: &std::path::Path) -> Option<FilesystemSpace> {
    match rustix::fs::statvfs(mount_point) {
        Ok(stat) => Some(FilesystemSpace::from_blocks(
            stat.f_frsize,
            stat.f_blocks,
            stat.f_bfree,
            stat.f_bavail,
        )),
        Err(error) => {
            tracing::debug!(mount_point = %mount_point.display(), %error, "statvfs failed, filesystem skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_into_used_free_reserved() {
        let space = FilesystemSpace::from_blocks(4096, 1_000, 300, 250);

        assert_eq!(space.size, 4_096_000);
        assert_eq!(space.used, 700 * 4096);
        assert_eq!(space.free, 250 * 4096);
        assert_eq!(space.reserved, Some(50 * 4096));
        assert_eq!(
            space.used + space.free + space.reserved.unwrap_or(0),
            space.size
        );
    }

    #[test]
    fn inconsistent_blocks_never_underflow() {
        let space = FilesystemSpace::from_blocks(512, 10, 20, 30);

        assert_eq!(space.size, 5_120);
        assert_eq!(space.used, 0);
        assert_eq!(space.free, 5_120);
        assert_eq!(space.reserved, Some(0));
    }
}
