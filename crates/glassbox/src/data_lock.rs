//! The lock that keeps a second server off a data directory in use.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};

/// Name of the lock file in the data directory.
const LOCK_FILE: &str = "glassbox.lock";

/// Takes the data directory for this process, creating it when missing. The returned file
/// holds the lock until it is dropped or the process ends, however it ends, and contains the
/// process id of its holder.
pub(crate) fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("failed to create the data directory {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    // Not truncated on open: while another server holds the lock, the file names its process.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("failed to open the lock file {}", path.display()))?;

    match file.try_lock() {
        Ok(()) => {
            write_holder(&mut file);
            Ok(file)
        }
        Err(TryLockError::WouldBlock) => bail!(
            "another Glassbox server{} is using the data directory {}; stop it, or give this \
             one another --data-dir",
            holder(&mut file).map_or_else(String::new, |pid| format!(" (process {pid})")),
            data_dir.display()
        ),
        Err(TryLockError::Error(error)) => {
            // Some network file systems do not support locks. Starting without one is better
            // than not starting.
            tracing::warn!(%error, path = %path.display(), "failed to lock the data directory; make sure no other server uses it");
            Ok(file)
        }
    }
}

/// Writes this process's id into the lock file. The id only helps a person find the holder, so
/// a failure is ignored.
fn write_holder(file: &mut File) {
    let _ = file.set_len(0);
    let _ = write!(file, "{}", std::process::id());
}

/// Reads the process id of the lock's holder.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let _lock = lock_data_dir(dir.path()).unwrap();

        let error = lock_data_dir(dir.path()).unwrap_err();

        let message = format!("{error:#}");
        assert!(message.contains("another Glassbox server"), "{message}");
        let own_process = format!("(process {})", std::process::id());
        assert!(message.contains(&own_process), "{message}");
        assert!(message.contains("--data-dir"), "{message}");
    }

    #[test]
    fn lock_is_free_again_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        drop(lock_data_dir(dir.path()).unwrap());

        assert!(lock_data_dir(dir.path()).is_ok());
    }

    #[test]
    fn creates_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("new").join("data");

        let _lock = lock_data_dir(&data_dir).unwrap();

        assert!(data_dir.join(LOCK_FILE).is_file());
    }
}
