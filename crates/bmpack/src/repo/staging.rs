//! The new state of a repository is prepared beside the old one and swapped in: readers and
//! a failed publish never see a half-written repository.
//!
//! `DIR.new-<pid>` starts as a copy of `DIR` in which package files (large, never changed in
//! place) are hard links and everything else (small indexes and signatures, which the tools
//! rewrite) is copied with its modification time, so nothing done in the staging tree can alter
//! the live one, and the tools that keep "the newest N" old indexes see their true ages. The swap is
//! `DIR` → `DIR.old-<pid>`, `DIR.new-<pid>` → `DIR`, then `DIR.old-<pid>` is deleted.
//!
//! Only the holder of the publish lock ([`RepoLock`]) creates these folders, so any of them found
//! by the lock's holder is left over from a publish that was killed: it is removed, or, for an
//! `old` one whose swap was cut between its two renames, put back. No process ID is trusted (in a
//! container the same one comes back); the pid in the name only keeps names apart.
//!
//! A repository is public by nature: whatever the publisher's umask, its folders come out
//! readable and searchable by all, and its files readable by all. The folders it replaces keep
//! their owner, group and extra mode bits (a group-writable, setgid tree stays one).
//!
//! Nothing is ever written through a symbolic link: the folders publish writes into (and the
//! files it writes at the top) are refused when they are links, since a link in the staging copy
//! would point into the live tree, or elsewhere.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Mode bits every repository folder has at least (`rwxr-xr-x`).
const DIR_READABLE: u32 = 0o755;
/// Mode bits every repository file has at least (`rw-r--r--`).
const FILE_READABLE: u32 = 0o644;

/// Two publishes into one repository would each prepare a new state from the same old one, and
/// the second swap would drop the first one's packages: the second is refused while the first
/// runs. The lock is `.<name>.lock` beside the repository folder (the folder itself is swapped),
/// held with flock(2) until dropped, and released by the kernel if the process dies.
pub struct RepoLock {
    _file: fs::File,
}

/// How long a busy publish lock is tried again (see [`RepoLock::acquire`]).
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl RepoLock {
    /// Takes the lock of `repo_dir`, or says which publish holds it; then removes what an
    /// interrupted publish left beside the repository (see [`recover`]), so that the holder
    /// reads the repository as the last complete publish left it.
    ///
    /// A lock just released can look held for a moment: a child that another thread of the
    /// same program is starting holds a copy of every descriptor from fork until exec
    /// (close-on-exec closes it only then), and the flock lives as long as any copy. So a busy
    /// lock is tried again for [`LOCK_GRACE`] before the publish is refused.
    pub fn acquire(repo_dir: &Path) -> anyhow::Result<RepoLock> {
        let path = beside(repo_dir, "lock")?;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the publish lock {}", path.display()))?;
        let started = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    let lock = RepoLock { _file: file };
                    recover(repo_dir, &lock)?;
                    return Ok(lock);
                }
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_GRACE => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => bail!(
                    "another publish into {} is running (it holds {}): wait for it to finish, then publish again",
                    repo_dir.display(),
                    path.display()
                ),
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
    }
}

/// `.<name>.<what>` beside the repository folder (its parent is created if missing).
pub fn beside(repo_dir: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let name =
        repo_dir.file_name().ok_or_else(|| anyhow::anyhow!("--repo {} has no folder name", repo_dir.display()))?;
    let parent = repo_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    Ok(parent.join(format!(".{}.{what}", name.to_string_lossy())))
}

pub struct Staging {
    live: PathBuf,
    path: PathBuf,
    done: bool,
}

fn sibling(live: &Path, tag: &str) -> PathBuf {
    let mut name = live.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{tag}-{}", std::process::id()));
    live.with_file_name(name)
}

/// Removes what a killed publish left beside `live`, and puts the old tree back if one was
/// killed between the two renames of the swap. Only the lock's holder may call this.
fn recover(live: &Path, _lock: &RepoLock) -> anyhow::Result<()> {
    let (Some(parent), Some(base)) = (live.parent(), live.file_name()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let base = base.to_string_lossy().into_owned();
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let mut left: Vec<(bool, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&base)?;
            let old = if rest.starts_with(".old-") {
                true
            } else if rest.starts_with(".new-") {
                false
            } else {
                return None;
            };
            entry.file_type().ok()?.is_dir().then(|| (old, entry.path()))
        })
        .collect();
    left.sort();
    for (old, path) in left {
        if old && !live.exists() {
            errln!("publish: restoring {} from an interrupted publish ({})", live.display(), path.display());
            fs::rename(&path, live).with_context(|| format!("restoring {} to {}", path.display(), live.display()))?;
        } else {
            fs::remove_dir_all(&path)
                .with_context(|| format!("removing {} left by an interrupted publish", path.display()))?;
        }
    }
    Ok(())
}

impl Staging {
    /// Starts the new state of `live` (which may not exist yet). `written` are the paths,
    /// relative to the repository, that publish writes into: none of them, nor any folder
    /// below them, may be a symbolic link.
    pub fn begin(live: &Path, _lock: &RepoLock, written: &[PathBuf]) -> anyhow::Result<Self> {
        if live.exists() && !live.is_dir() {
            bail!("{} exists and is not a directory: give --repo a directory", live.display());
        }
        if live.exists() {
            refuse_links(live, written)?;
        }
        let path = sibling(live, "new");
        let staging = Staging { live: live.to_path_buf(), path, done: false };
        fs::create_dir(&staging.path).with_context(|| format!("creating {}", staging.path.display()))?;
        if live.exists() {
            keep_folder(&fs::metadata(live)?, &staging.path)?;
            copy_tree(live, &staging.path)?;
        }
        Ok(staging)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Throws the new state away; the live tree was never touched.
    pub fn discard(mut self) -> anyhow::Result<()> {
        self.done = true;
        fs::remove_dir_all(&self.path).with_context(|| format!("removing {}", self.path.display()))
    }

    /// Makes the new state readable by all, then puts it in place of the live tree.
    pub fn commit(mut self) -> anyhow::Result<()> {
        make_readable(&self.path)?;
        self.done = true;
        if self.live.exists() {
            let old = sibling(&self.live, "old");
            fs::rename(&self.live, &old)
                .with_context(|| format!("renaming {} to {}", self.live.display(), old.display()))?;
            if let Err(e) = fs::rename(&self.path, &self.live) {
                let _ = fs::rename(&old, &self.live);
                return Err(e).with_context(|| format!("renaming {} to {}", self.path.display(), self.live.display()));
            }
            fs::remove_dir_all(&old).with_context(|| format!("removing the previous state {}", old.display()))?;
        } else {
            fs::rename(&self.path, &self.live)
                .with_context(|| format!("renaming {} to {}", self.path.display(), self.live.display()))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A publish that failed (an error returned through `?`) leaves nothing behind.
        if !self.done {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Refuses a symbolic link at or below any of `written` (relative to `live`).
fn refuse_links(live: &Path, written: &[PathBuf]) -> anyhow::Result<()> {
    for relative in written {
        let top = live.join(relative);
        let Ok(meta) = fs::symlink_metadata(&top) else {
            continue;
        };
        let links: Vec<PathBuf> = if meta.file_type().is_symlink() {
            vec![top]
        } else if meta.is_dir() {
            walkdir::WalkDir::new(&top)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.path_is_symlink())
                .map(walkdir::DirEntry::into_path)
                .collect()
        } else {
            Vec::new()
        };
        if let Some(link) = links.first() {
            let target = fs::read_link(link).map(|t| t.display().to_string()).unwrap_or_default();
            bail!(
                "{} is a symbolic link (to {target}): publish writes there, and would write through the link into \
                 what it points to before the new state is swapped in. Replace the link with the folder or file it \
                 points to (or point --repo at the real repository folder)",
                link.display()
            );
        }
    }
    Ok(())
}

fn is_package(path: &Path) -> bool {
    path.extension().is_some_and(|e| crate::package_format::Format::ALL.iter().any(|f| e == f.as_str()))
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let dest = to.join(entry.path().strip_prefix(from).expect("walkdir stays under its root"));
        let ty = entry.file_type();
        let meta = entry.metadata().with_context(|| format!("reading {}", entry.path().display()))?;
        if ty.is_dir() {
            fs::create_dir(&dest).with_context(|| format!("creating {}", dest.display()))?;
            keep_folder(&meta, &dest)?;
        } else if ty.is_file() {
            // A package already readable by all is shared; one that is not (published under a
            // restrictive umask by an earlier bmpack) is copied, so that making it readable
            // does not touch the live file.
            let shared = is_package(entry.path()) && meta.mode() & FILE_READABLE == FILE_READABLE;
            let linked = shared && fs::hard_link(entry.path(), &dest).is_ok();
            if !linked {
                fs::copy(entry.path(), &dest)
                    .with_context(|| format!("copying {} to {}", entry.path().display(), dest.display()))?;
                set_modified(&dest, meta.modified()?)?;
            }
        } else if ty.is_symlink() {
            let target = fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(&target, &dest)
                .with_context(|| format!("creating the link {}", dest.display()))?;
        }
    }
    Ok(())
}

/// Gives `dest` the owner, group and mode of the folder `source` it replaces, readable by all.
fn keep_folder(source: &fs::Metadata, dest: &Path) -> anyhow::Result<()> {
    let current = fs::metadata(dest).with_context(|| format!("reading {}", dest.display()))?;
    if (current.uid(), current.gid()) != (source.uid(), source.gid()) {
        std::os::unix::fs::chown(dest, Some(source.uid()), Some(source.gid())).map_err(|e| {
            anyhow::anyhow!(
                "cannot give {} the owner and group of the folder it replaces (uid {}, gid {}): {e}. Publish as that \
                 user (or as root), so that the repository keeps its owners",
                dest.display(),
                source.uid(),
                source.gid()
            )
        })?;
    }
    let mode = (source.mode() & 0o7777) | DIR_READABLE;
    fs::set_permissions(dest, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", dest.display()))
}

/// Every folder `rwxr-xr-x` at least and every file `rw-r--r--` at least, whatever the umask
/// they were made under (folders keep their other bits: setgid, group write).
fn make_readable(root: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.with_context(|| format!("reading {}", root.display()))?;
        let wanted = if entry.file_type().is_dir() {
            DIR_READABLE
        } else if entry.file_type().is_file() {
            FILE_READABLE
        } else {
            continue;
        };
        let mode = entry.metadata()?.mode() & 0o7777;
        if mode & wanted != wanted {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode | wanted))
                .with_context(|| format!("making {} readable", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary name, so the file is never seen half-written
/// and a hard-linked file is replaced rather than changed.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Sets the modification time of the file at `path`.
pub fn set_modified(path: &Path, time: std::time::SystemTime) -> anyhow::Result<()> {
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(time))
        .with_context(|| format!("setting the modification time of {}", path.display()))
}

/// Removes `path` if it exists (before a tool writes a new file there).
pub fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
