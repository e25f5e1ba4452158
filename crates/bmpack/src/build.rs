//! All packages × formats, in parallel, written so that the output appears whole or not at all.
//!
//! Everything is written under `<out>/.staging-<pid>/` first (each file through a temporary
//! name), `SHA256SUMS` last; only when every package is written are `deb/`, `rpm/` and
//! `SHA256SUMS` swapped in. A failed or interrupted run leaves the previous output as it was
//! (an interrupted run also leaves a hidden staging folder, removed by the next run: a build
//! holds `<out>/.lock` while it runs, so any staging folder found by the holder is left over,
//! whatever process ID its name carries).
//!
//! The output folder is replaced in part, so a folder that holds anything else (a published
//! repository given as `--out` by mistake) is refused before anything is written.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};

use crate::format::{Format, WriteOptions};
use crate::model::Package;

pub use crate::package_format::CHECKSUMS_FILE;
/// Held (flock) by the build writing into an output folder.
const LOCK_FILE: &str = ".lock";
const STAGING_PREFIX: &str = ".staging-";

/// Package files and the checksum file are read by whoever publishes or serves them: readable by
/// all, whatever the umask (`tempfile` creates files 0600, and a rename keeps the mode).
pub const FILE_MODE: u32 = 0o644;
/// The `deb/` and `rpm/` folders, for the same reason.
pub const DIR_MODE: u32 = 0o755;

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `target/bmpack` by default.
    pub out: PathBuf,
    pub formats: Vec<Format>,
    /// Worker threads (`--jobs`); 0 means one per core.
    pub jobs: usize,
    pub write: WriteOptions,
}

/// One written package file.
#[derive(Debug, Clone)]
pub struct BuiltFile {
    pub package: String,
    pub version: String,
    pub format: Format,
    /// Final path (under `out`).
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// What a progress display hears (from worker threads).
pub trait Progress: Sync {
    fn planned(&self, _files: usize) {}
    fn written(&self, _file: &BuiltFile) {}
}

/// No display.
pub struct Silent;
impl Progress for Silent {}

/// Builds every package in every format. Returns the files sorted by format then name.
pub fn build_all(packages: &[Package], opts: &BuildOptions, progress: &dyn Progress) -> anyhow::Result<Vec<BuiltFile>> {
    build_all_dated(packages, &BTreeMap::new(), opts, progress)
}

/// [`build_all`], where the packages named in `dates` carry that time stamp instead of the
/// build's (`opts.write.source_date_epoch`): the recorded date of a fixed version.
pub fn build_all_dated(
    packages: &[Package],
    dates: &BTreeMap<String, u64>,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<BuiltFile>> {
    fs::create_dir_all(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    check_output_folder(&opts.out)?;
    let _lock = lock_output(&opts.out)?;
    remove_stale_staging(&opts.out);
    let staging = opts.out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
    let result = build_into(packages, dates, opts, &staging, progress).and_then(|files| {
        swap_in(&opts.out, &staging, &opts.formats)?;
        Ok(files)
    });
    if staging.exists() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn build_into(
    packages: &[Package],
    dates: &BTreeMap<String, u64>,
    opts: &BuildOptions,
    staging: &Path,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<BuiltFile>> {
    for format in &opts.formats {
        let dir = staging.join(format.as_str());
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(DIR_MODE))
            .with_context(|| format!("cannot make {} readable", dir.display()))?;
    }
    let mut jobs: Vec<(&Package, Format)> =
        opts.formats.iter().flat_map(|&f| packages.iter().map(move |p| (p, f))).collect();
    // Largest first, and of one package the .rpm before the .deb: the .rpm of a 50 MB jar is one
    // long task on one core, while the .deb compresses its blocks on whichever cores are free.
    jobs.sort_by_key(|&(p, f)| (std::cmp::Reverse(payload_bytes(p)), f != Format::Rpm));
    progress.planned(jobs.len());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build()?;
    // A queue that each worker takes the next job from, in that order: rayon's own splitting of
    // the list could leave the two largest jobs to one worker, one after the other.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let done: Mutex<Vec<(usize, anyhow::Result<BuiltFile>)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    pool.scope(|scope| {
        for _ in 0..pool.current_num_threads() {
            scope.spawn(|_| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(pkg, format)) = jobs.get(i) else { break };
                    let date = dates.get(pkg.name.as_str()).copied().unwrap_or(opts.write.source_date_epoch);
                    let write = WriteOptions { source_date_epoch: date, ..opts.write };
                    let built = write_one(pkg, format, &write, staging, &opts.out)
                        .with_context(|| format!("writing the {} package of `{}`", format.as_str(), pkg.name));
                    match &built {
                        Ok(file) => progress.written(file),
                        // The others stop taking jobs: the run fails anyway.
                        Err(_) => failed.store(true, Ordering::Relaxed),
                    }
                    done.lock().expect("no worker panics while holding the lock").push((i, built));
                }
            });
        }
    });
    let mut done = done.into_inner().expect("no worker panicked while holding the lock");
    done.sort_by_key(|(i, _)| *i);
    let mut files = done.into_iter().map(|(_, built)| built).collect::<anyhow::Result<Vec<BuiltFile>>>()?;
    files.sort_by(|a, b| (a.format, &a.package).cmp(&(b.format, &b.package)));
    let mut sums = String::new();
    for f in &files {
        let rel = f.path.strip_prefix(&opts.out).expect("under out");
        sums.push_str(&format!("{}  {}\n", f.sha256, rel.display()));
    }
    write_atomically(&staging.join(CHECKSUMS_FILE), sums.as_bytes())?;
    Ok(files)
}

fn payload_bytes(pkg: &Package) -> u64 {
    pkg.files
        .iter()
        .map(|f| match &f.source {
            crate::model::FileSource::Path(p) => fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            crate::model::FileSource::Bytes(b) => b.len() as u64,
        })
        .sum()
}

fn write_one(
    pkg: &Package,
    format: Format,
    write_opts: &WriteOptions,
    staging: &Path,
    out: &Path,
) -> anyhow::Result<BuiltFile> {
    let packager = format.packager();
    let name = packager.file_name(pkg);
    let dir = staging.join(format.as_str());
    let mut tmp = tempfile::Builder::new().prefix(".partial-").tempfile_in(&dir)?;
    let (sha256, size) = {
        let file = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut hashing = HashingWriter { inner: file, hash: Sha256::new(), len: 0 };
        packager.write(pkg, write_opts, &mut hashing)?;
        hashing.flush()?;
        (hex::encode(hashing.hash.finalize()), hashing.len)
    };
    tmp.as_file().set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    tmp.persist(dir.join(&name)).map_err(|e| anyhow!("cannot rename into {}: {}", dir.display(), e.error))?;
    Ok(BuiltFile {
        package: pkg.name.to_string(),
        version: match format {
            Format::Deb => pkg.version.deb(),
            Format::Rpm => pkg.version.rpm_evr(),
        },
        format,
        path: out.join(format.as_str()).join(name),
        size,
        sha256,
    })
}

/// Replaces `out/deb`, `out/rpm` and `out/SHA256SUMS` by the staged ones. A format not built
/// this run is removed, so that the output is exactly this run and SHA256SUMS covers it.
fn swap_in(out: &Path, staging: &Path, formats: &[Format]) -> anyhow::Result<()> {
    let trash = staging.join(".old");
    fs::create_dir_all(&trash)?;
    let mut entries: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    entries.push(CHECKSUMS_FILE);
    for entry in &entries {
        let current = out.join(entry);
        if current.exists() {
            fs::rename(&current, trash.join(entry))
                .with_context(|| format!("cannot move {} aside", current.display()))?;
        }
        let staged = staging.join(entry);
        let built = *entry == CHECKSUMS_FILE || formats.iter().any(|f| f.as_str() == *entry);
        if built {
            fs::rename(&staged, &current).with_context(|| format!("cannot move {} into place", current.display()))?;
        }
    }
    Ok(())
}

/// Refuses an output folder that holds anything but what a build writes there: `deb/` with
/// `.deb` files, `rpm/` with `.rpm` files, `SHA256SUMS`, the lock and staging folders.
fn check_output_folder(out: &Path) -> anyhow::Result<()> {
    let mut foreign = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = match name.as_str() {
            CHECKSUMS_FILE | LOCK_FILE => entry.file_type()?.is_file(),
            n if n.starts_with(STAGING_PREFIX) => entry.file_type()?.is_dir(),
            n if Format::ALL.iter().any(|f| f.as_str() == n) => {
                let extension = format!(".{n}");
                entry.file_type()?.is_dir()
                    && fs::read_dir(entry.path())?.flatten().all(|f| {
                        let file = f.file_name().to_string_lossy().into_owned();
                        f.file_type().is_ok_and(|t| t.is_file())
                            && (file.ends_with(&extension) || file.starts_with(".partial-"))
                    })
            }
            _ => false,
        };
        if !ours {
            foreign.push(name);
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        anyhow::bail!(
            "{} is not a package output: it holds {} (a package output holds only deb/*.deb, rpm/*.rpm and \
             SHA256SUMS, which each build replaces). Give --out an empty or new folder, or the folder of an earlier \
             `cargo xtask package`",
            out.display(),
            foreign.join(", ")
        );
    }
    Ok(())
}

/// Takes `<out>/.lock`, or says that another build writes into `out`.
fn lock_output(out: &Path) -> anyhow::Result<fs::File> {
    let path = out.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(anyhow!(
            "another `cargo xtask package` is writing into {} (it holds {}): wait for it to finish, or give another --out",
            out.display(),
            path.display()
        )),
        Err(fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// Removes the staging folders of interrupted builds: only the lock's holder calls this, so
/// every one found is left over.
fn remove_stale_staging(out: &Path) {
    if let Ok(entries) = fs::read_dir(out) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename; the file is
/// readable by all ([`FILE_MODE`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().ok_or_else(|| anyhow!("{} has no parent folder", path.display()))?;
    let mut tmp = tempfile::Builder::new().prefix(".partial-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| anyhow!("cannot rename into {}: {}", path.display(), e.error))?;
    Ok(())
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
