//! One `deploy`/`undeploy` at a time: an exclusive `flock` on a file under the root, through
//! std's `File::try_lock`, as the build's and the publish's locks. The kernel releases it when
//! the process ends, so a crash leaves no stale lock.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::exit::{ExitClass, Failure};

pub struct DeployLock {
    _file: File,
}

pub const LOCK_FILE: &str = "var/lib/bmpack/deploy.lock";

fn held(path: &Path) -> Failure {
    let holder = std::fs::read_to_string(path).unwrap_or_default();
    Failure::new(
        ExitClass::Locked,
        format!(
            "another bmpack deploy/undeploy is running (lock {} held{})",
            path.display(),
            if holder.trim().is_empty() { String::new() } else { format!(" by process {}", holder.trim()) }
        ),
    )
    .with_fix("wait for it to finish, then run the command again")
}

/// For a dry run: refuses while another run holds the lock, and creates nothing.
pub fn check_free(root: &Path) -> Result<(), Failure> {
    let path = root.join(LOCK_FILE);
    let Ok(file) = std::fs::File::open(&path) else { return Ok(()) };
    match file.try_lock_shared() {
        // Closing `file` releases the shared lock at once.
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(held(&path)),
        Err(TryLockError::Error(e)) => Err(Failure::new(ExitClass::Other, format!("lock {}: {e}", path.display()))),
    }
}

pub fn acquire(root: &Path) -> Result<DeployLock, Failure> {
    let path = root.join(LOCK_FILE);
    let other = |e: std::io::Error| Failure::new(ExitClass::Other, format!("lock {}: {e}", path.display()));
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(other)?;
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(other)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(held(&path)),
        Err(TryLockError::Error(e)) => return Err(other(e)),
    }
    let _ = file.set_len(0);
    let _ = std::io::Write::write_all(&mut &file, format!("{}\n", std::process::id()).as_bytes());
    Ok(DeployLock { _file: file })
}
