//! Unpacking a marketplace archive (`.zip`, `.tar.gz`/`.tgz`, `.tar`) into a temporary folder.
//!
//! Every entry is checked before anything of it is written: a name with `..`, an absolute name
//! (`/x`, `C:\x`), a symbolic or hard link, a device or a name given twice (also after `./` and
//! `\` are normalised) refuses the whole archive, naming the entry. Only regular files named
//! `*.jar` are written (READMEs and the like are checked but not extracted), and only as regular
//! files created new under the target folder, so nothing can land outside it.
//!
//! A marketplace archive holds a few jars of a few MB, so [`ArchiveLimits`] bound what one may
//! unpack to: the number of entries, the total unpacked size, and the compression ratio (a zip
//! or tar bomb would otherwise fill the temporary folder, as root when `bmpack deploy` runs).
//! Zip entries are checked against their declared sizes before anything is written, and every
//! archive's bytes are counted again while they are unpacked, since declared sizes can lie.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::bundle_error::BundleError;
use crate::console::printable;

/// What an archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Entries of every kind (folders included).
    pub max_entries: u64,
    /// Bytes of all entries together, unpacked (those not extracted included: they are read).
    pub max_total_bytes: u64,
    /// Unpacked bytes per packed byte, for a zip entry or a whole tar.gz stream of more than
    /// [`RATIO_FLOOR`] bytes (jars are already compressed: a real archive is close to 1).
    pub max_ratio: u64,
}

/// Below this many unpacked bytes the ratio is not checked: small text files compress well.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits { max_entries: 10_000, max_total_bytes: 1 << 30, max_ratio: 100 }
    }
}

impl ArchiveLimits {
    /// `at most 10000 entries, 1024 MiB unpacked and a compression ratio of 100:1`
    pub fn describe(&self) -> String {
        format!(
            "at most {} entries, {} unpacked and a compression ratio of {}:1",
            self.max_entries,
            mib(self.max_total_bytes),
            self.max_ratio
        )
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

/// The archive types `--bundles` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    TarGz,
    Tar,
}

impl ArchiveKind {
    /// The kind of an archive, from its file name; `None` for anything else.
    pub fn of(path: &Path) -> Option<ArchiveKind> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(ArchiveKind::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(ArchiveKind::TarGz)
        } else if name.ends_with(".tar") {
            Some(ArchiveKind::Tar)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            ArchiveKind::Zip => "zip",
            ArchiveKind::TarGz => "gzip-compressed tar",
            ArchiveKind::Tar => "tar",
        }
    }
}

/// Writes the `*.jar` members of `archive` under `into` (an empty folder), keeping their folders.
/// Returns each jar's path on disk and its origin (`archive.zip!/dir/x.jar`), in archive order.
/// On error, files already written under `into` are left for the caller to remove with it.
pub fn extract_jars(
    archive: &Path,
    kind: ArchiveKind,
    into: &Path,
    limits: &ArchiveLimits,
) -> Result<Vec<(PathBuf, String)>, BundleError> {
    let shown = archive.display().to_string();
    let file = File::open(archive).map_err(|e| BundleError::Io { path: shown.clone(), source: e })?;
    let mut extractor = Extractor {
        archive: shown,
        kind,
        into,
        limits: *limits,
        jars: Vec::new(),
        files: HashMap::new(),
        exceeded: Rc::new(Cell::new(None)),
    };
    match kind {
        ArchiveKind::Zip => extractor.zip(archive, BufReader::new(file)),
        ArchiveKind::TarGz | ArchiveKind::Tar => {
            let packed = Rc::new(Cell::new(0));
            let counted = BufReader::new(Counting { inner: file, count: packed.clone() });
            let stream: Box<dyn Read> = match kind {
                ArchiveKind::TarGz => Box::new(flate2::read::MultiGzDecoder::new(counted)),
                _ => Box::new(counted),
            };
            let guarded = extractor.guard(stream, kind == ArchiveKind::TarGz, packed, None);
            extractor.tar(guarded)
        }
    }?;
    Ok(extractor.jars)
}

struct Extractor<'a> {
    archive: String,
    kind: ArchiveKind,
    into: &'a Path,
    limits: ArchiveLimits,
    jars: Vec<(PathBuf, String)>,
    /// Regular files seen so far, by their normalised path, with their name in the archive.
    files: HashMap<PathBuf, String>,
    /// Set by a [`Guard`] when unpacking goes over a limit (the read error that follows is
    /// reported as this).
    exceeded: Rc<Cell<Option<(String, String)>>>,
}

impl Extractor<'_> {
    fn unsafe_entry(&self, entry: &str, reason: impl Into<String>) -> BundleError {
        BundleError::UnsafeEntry { archive: self.archive.clone(), entry: printable(entry), reason: reason.into() }
    }

    /// A read error, unless a limit was hit first.
    fn unreadable(&self, reason: impl ToString) -> BundleError {
        if let Some((what, limit)) = self.exceeded.take() {
            return self.too_large(what, limit);
        }
        BundleError::BadArchive { path: self.archive.clone(), kind: self.kind.label(), reason: reason.to_string() }
    }

    fn too_large(&self, what: String, limit: String) -> BundleError {
        BundleError::TooLarge { archive: self.archive.clone(), what, limit, limits: self.limits.describe() }
    }

    fn check_entry_count(&self, count: u64) -> Result<(), BundleError> {
        if count > self.limits.max_entries {
            return Err(self
                .too_large(format!("it has {count} entries or more"), format!("{} entries", self.limits.max_entries)));
        }
        Ok(())
    }

    fn check_total(&self, total: u64) -> Result<(), BundleError> {
        if total > self.limits.max_total_bytes {
            return Err(self.too_large(
                format!("its entries unpack to more than {}", mib(self.limits.max_total_bytes)),
                format!("{} unpacked", mib(self.limits.max_total_bytes)),
            ));
        }
        Ok(())
    }

    /// A regular file's normalised path must not repeat: the second would replace the first.
    fn check_new_file(&mut self, name: &str, relative: &Path) -> Result<(), BundleError> {
        if let Some(first) = self.files.get(relative) {
            let reason = if first == name {
                "appears twice in the archive (the last copy would silently replace the first)".to_string()
            } else {
                format!(
                    "names the same file as entry `{}` (the last would silently replace the first)",
                    printable(first)
                )
            };
            return Err(self.unsafe_entry(name, reason));
        }
        self.files.insert(relative.to_path_buf(), name.to_string());
        Ok(())
    }

    /// Counts what `inner` unpacks and stops it at the limits (`packed` counts the bytes it
    /// consumed; `ratio` tells whether the ratio applies to it).
    fn guard<R: Read>(&self, inner: R, ratio: bool, packed: Rc<Cell<u64>>, entry: Option<&str>) -> Guard<R> {
        Guard {
            inner,
            unpacked: 0,
            packed,
            ratio,
            limits: self.limits,
            // Tar headers and padding come on top of the entries' sizes.
            total_limit: self.limits.max_total_bytes.saturating_add(self.limits.max_entries.saturating_mul(1024)),
            entry: entry.map(printable),
            exceeded: self.exceeded.clone(),
        }
    }

    /// Zip: the central directory is checked whole, names, types and declared sizes, before any
    /// member is written.
    fn zip(&mut self, path: &Path, reader: BufReader<File>) -> Result<(), BundleError> {
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| self.unreadable(e))?;
        if zip.has_duplicate_names() {
            let name = first_repeated_zip_name(path).unwrap_or_else(|| "(name unreadable)".to_string());
            return Err(self
                .unsafe_entry(&name, "appears twice in the archive (the last copy would silently replace the first)"));
        }
        self.check_entry_count(zip.len() as u64)?;
        let mut wanted = Vec::new();
        let mut total: u64 = 0;
        for index in 0..zip.len() {
            let entry = zip.by_index_raw(index).map_err(|e| self.unreadable(e))?;
            let name = entry.name().map_err(|e| self.unreadable(e))?.into_owned();
            let relative = safe_relative_path(&name).map_err(|reason| self.unsafe_entry(&name, reason))?;
            let file_type = (entry.external_attributes() >> 16) & 0o170000;
            if file_type == 0o120000 || entry.is_symlink() {
                return Err(self.unsafe_entry(&name, "is a symbolic link"));
            }
            let unix = entry.system() == zip::System::Unix;
            if unix && ![0, 0o100000, 0o040000].contains(&file_type) {
                return Err(self.unsafe_entry(&name, "is not a regular file or folder"));
            }
            let (size, packed) = (entry.size(), entry.compressed_size());
            total = total.saturating_add(size);
            self.check_total(total)?;
            if size > RATIO_FLOOR && size / packed.max(1) > self.limits.max_ratio {
                return Err(self.too_large(
                    format!(
                        "entry `{}` unpacks to {} bytes from {packed}, a ratio of {}:1",
                        printable(&name),
                        size,
                        size / packed.max(1)
                    ),
                    format!("a ratio of {}:1", self.limits.max_ratio),
                ));
            }
            if entry.is_dir() {
                continue;
            }
            self.check_new_file(&name, &relative)?;
            if has_extension(&relative, "jar") {
                wanted.push((index, name, relative, packed));
            }
        }
        for (index, name, relative, packed) in wanted {
            let entry = zip.by_index(index).map_err(|e| self.unreadable(e))?;
            // Declared sizes can lie: the bytes are counted again as they come.
            let mut guarded = self.guard(entry, true, Rc::new(Cell::new(packed)), Some(&name));
            self.write_jar(&name, &relative, &mut guarded)?;
        }
        Ok(())
    }

    /// Tar: a stream, so each entry is checked just before it is written.
    fn tar(&mut self, reader: impl Read) -> Result<(), BundleError> {
        use tar::EntryType;
        let mut tar = tar::Archive::new(reader);
        let entries = tar.entries().map_err(|e| self.unreadable(e))?;
        let (mut count, mut total) = (0u64, 0u64);
        for entry in entries {
            let mut entry = entry.map_err(|e| self.unreadable(e))?;
            count += 1;
            self.check_entry_count(count)?;
            total = total.saturating_add(entry.header().size().unwrap_or(0));
            self.check_total(total)?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let entry_type = entry.header().entry_type();
            if entry_type == EntryType::XGlobalHeader {
                continue; // pax metadata, no file
            }
            let relative = safe_relative_path(&name).map_err(|reason| self.unsafe_entry(&name, reason))?;
            let target =
                || entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
            match entry_type {
                EntryType::Regular | EntryType::Continuous => {}
                EntryType::Directory => continue,
                EntryType::Symlink => {
                    return Err(self.unsafe_entry(&name, format!("is a symbolic link (to `{}`)", target())));
                }
                EntryType::Link => {
                    return Err(self.unsafe_entry(&name, format!("is a hard link (to `{}`)", target())));
                }
                other => {
                    return Err(self.unsafe_entry(&name, format!("is not a regular file or folder ({other:?})")));
                }
            }
            self.check_new_file(&name, &relative)?;
            if has_extension(&relative, "jar") {
                self.write_jar(&name, &relative, &mut entry)?;
            }
        }
        Ok(())
    }

    fn write_jar(&mut self, name: &str, relative: &Path, content: &mut impl Read) -> Result<(), BundleError> {
        let destination = self.into.join(relative);
        let io_error = |e: io::Error| BundleError::Io { path: destination.display().to_string(), source: e };
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        // create_new: never through anything that is already there.
        let file = match OpenOptions::new().write(true).create_new(true).open(&destination) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(self.unsafe_entry(
                    name,
                    "appears twice in the archive (the last copy would silently replace the first)",
                ));
            }
            Err(e) => return Err(io_error(e)),
        };
        let mut out = BufWriter::new(file);
        io::copy(content, &mut out).map_err(|e| self.unreadable(format!("entry `{}`: {e}", printable(name))))?;
        out.flush().map_err(io_error)?;
        let origin = format!("{}!/{}", self.archive, portable(relative));
        self.jars.push((destination, origin));
        Ok(())
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Fails a read once what was unpacked goes over the total or, past [`RATIO_FLOOR`], over the
/// ratio to what was packed; says which in `exceeded`.
struct Guard<R> {
    inner: R,
    unpacked: u64,
    packed: Rc<Cell<u64>>,
    ratio: bool,
    limits: ArchiveLimits,
    total_limit: u64,
    entry: Option<String>,
    exceeded: Rc<Cell<Option<(String, String)>>>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unpacked += n as u64;
        let packed = self.packed.get().max(1);
        let subject = self.entry.as_ref().map_or("the archive".to_string(), |e| format!("entry `{e}`"));
        let exceeded = if self.unpacked > self.total_limit {
            Some((
                format!("{subject} unpacks to more than {}", mib(self.limits.max_total_bytes)),
                format!("{} unpacked", mib(self.limits.max_total_bytes)),
            ))
        } else if self.ratio && self.unpacked > RATIO_FLOOR && self.unpacked / packed > self.limits.max_ratio {
            Some((
                format!(
                    "{subject} unpacks to more than {} bytes from {packed}, a ratio over {}:1",
                    self.unpacked,
                    self.unpacked / packed
                ),
                format!("a ratio of {}:1", self.limits.max_ratio),
            ))
        } else {
            None
        };
        if let Some(exceeded) = exceeded {
            self.exceeded.set(Some(exceeded));
            return Err(io::Error::other("over bmpack's archive limits"));
        }
        Ok(n)
    }
}

/// The first name given twice in a zip's central directory, for the message (the zip crate keeps
/// one entry per name). Reads the end-of-central-directory record and walks the directory;
/// `None` where that is not simple (ZIP64, a prefix before the archive).
fn first_repeated_zip_name(path: &Path) -> Option<String> {
    if fs::metadata(path).ok()?.len() > 256 << 20 {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize);
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize);
    let end =
        (0..bytes.len().saturating_sub(21)).rev().take(1 << 16).find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))?;
    let (count, mut at) = (u16_at(end + 10)?, u32_at(end + 16)?);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..count {
        if !bytes.get(at..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (name_len, extra_len, comment_len) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        let name = String::from_utf8_lossy(bytes.get(at + 46..at + 46 + name_len)?).into_owned();
        if !seen.insert(name.clone()) {
            return Some(name);
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}

/// The entry's path relative to the archive's top, or why it is unsafe.
/// `/` and `\` both separate; `.` and empty parts are dropped; `..` is refused even where it
/// would stay inside, since no real marketplace archive has one.
pub fn safe_relative_path(name: &str) -> Result<PathBuf, &'static str> {
    if name.contains('\0') {
        return Err("has a NUL byte in its name");
    }
    if name.starts_with(['/', '\\']) {
        return Err("has an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("has an absolute (drive letter) path");
    }
    let mut path = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("escapes the archive's folder (`..`)"),
            part => path.push(part),
        }
    }
    Ok(path)
}

fn portable(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

pub(crate) fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_kind_from_name() {
        assert_eq!(ArchiveKind::of(Path::new("a/Market.ZIP")), Some(ArchiveKind::Zip));
        assert_eq!(ArchiveKind::of(Path::new("x.tar.gz")), Some(ArchiveKind::TarGz));
        assert_eq!(ArchiveKind::of(Path::new("x.tgz")), Some(ArchiveKind::TarGz));
        assert_eq!(ArchiveKind::of(Path::new("x.tar")), Some(ArchiveKind::Tar));
        assert_eq!(ArchiveKind::of(Path::new("x.tar.xz")), None);
        assert_eq!(ArchiveKind::of(Path::new("x.7z")), None);
    }

    #[test]
    fn safe_paths() {
        assert_eq!(safe_relative_path("./net.x/net.x-1.jar").unwrap(), Path::new("net.x/net.x-1.jar"));
        assert_eq!(safe_relative_path("net.x\\a.jar").unwrap(), Path::new("net.x/a.jar"));
        assert!(safe_relative_path("../a.jar").is_err());
        assert!(safe_relative_path("net.x/../../a.jar").is_err());
        assert!(safe_relative_path("/etc/a.jar").is_err());
        assert!(safe_relative_path("\\a.jar").is_err());
        assert!(safe_relative_path("C:\\a.jar").is_err());
        assert!(safe_relative_path("a\0.jar").is_err());
    }
}
