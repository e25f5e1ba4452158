//! The new state of a repository is prepared beside the old one and swapped in: readers and
//! a failed publish never see a half-written repository.
//!
//! `DIR.new-<pid>` starts as a copy of `DIR` in which package files (large, never changed in
//! place) are hard links and everything else (small indexes and signatures, which the tools
//! rewrite) is copied with its modification time, so nothing done in the staging tree can alter
//! the live one, and the tools that keep "the newest N" old indexes see their true ages. The swap is
//! `DIR` → `DIR.old-<pid>`, `DIR.new-<pid>` → `DIR`, then `DIR.old-<pid>` is deleted. A publish
//! killed in between leaves `DIR.old-<pid>`, which the next publish renames back.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub struct Staging {
    live: PathBuf,
    path: PathBuf,
    done: bool,
}

fn sibling(live: &Path, tag: &str, pid: u32) -> PathBuf {
    let mut name = live.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{tag}-{pid}"));
    live.with_file_name(name)
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes what a killed publish left beside `live`, and puts the old tree back if one was
/// killed between the two renames of the swap.
fn recover(live: &Path) -> anyhow::Result<()> {
    let (Some(parent), Some(base)) = (live.parent(), live.file_name()) else { return Ok(()) };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let base = base.to_string_lossy().into_owned();
    let Ok(entries) = fs::read_dir(parent) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&base) else { continue };
        let (tag, pid) = match rest.strip_prefix(".new-").map(|p| ("new", p)).or_else(|| rest.strip_prefix(".old-").map(|p| ("old", p))) {
            Some((tag, pid)) => (tag, pid),
            None => continue,
        };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if tag == "old" && !live.exists() {
            errln!("publish: restoring {} from an interrupted publish ({})", live.display(), path.display());
            fs::rename(&path, live).with_context(|| format!("restoring {} to {}", path.display(), live.display()))?;
        } else {
            fs::remove_dir_all(&path).with_context(|| format!("removing {} left by an interrupted publish", path.display()))?;
        }
    }
    Ok(())
}

impl Staging {
    /// Starts the new state of `live` (which may not exist yet).
    pub fn begin(live: &Path) -> anyhow::Result<Self> {
        if live.exists() && !live.is_dir() {
            bail!("{} exists and is not a directory: give --repo a directory", live.display());
        }
        recover(live)?;
        let path = sibling(live, "new", std::process::id());
        if let Some(parent) = live.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let staging = Staging { live: live.to_path_buf(), path, done: false };
        fs::create_dir(&staging.path).with_context(|| format!("creating {}", staging.path.display()))?;
        if live.exists() {
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

    /// Puts the new state in place of the live tree.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.done = true;
        if self.live.exists() {
            let old = sibling(&self.live, "old", std::process::id());
            fs::rename(&self.live, &old).with_context(|| format!("renaming {} to {}", self.live.display(), old.display()))?;
            if let Err(e) = fs::rename(&self.path, &self.live) {
                let _ = fs::rename(&old, &self.live);
                return Err(e).with_context(|| format!("renaming {} to {}", self.path.display(), self.live.display()));
            }
            fs::remove_dir_all(&old).with_context(|| format!("removing the previous state {}", old.display()))?;
        } else {
            fs::rename(&self.path, &self.live).with_context(|| format!("renaming {} to {}", self.path.display(), self.live.display()))?;
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

fn is_package(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "deb" || e == "rpm")
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let dest = to.join(entry.path().strip_prefix(from).expect("walkdir stays under its root"));
        let ty = entry.file_type();
        if ty.is_dir() {
            fs::create_dir(&dest).with_context(|| format!("creating {}", dest.display()))?;
        } else if ty.is_file() {
            let linked = is_package(entry.path()) && fs::hard_link(entry.path(), &dest).is_ok();
            if !linked {
                fs::copy(entry.path(), &dest).with_context(|| format!("copying {} to {}", entry.path().display(), dest.display()))?;
                if let Some(modified) = entry.metadata().ok().and_then(|m| m.modified().ok()) {
                    set_modified(&dest, modified)?;
                }
            }
        } else if ty.is_symlink() {
            let target = fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(&target, &dest).with_context(|| format!("creating the link {}", dest.display()))?;
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
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| format!("removing {}", path.display())),
        _ => Ok(()),
    }
}
