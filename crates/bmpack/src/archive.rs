//! Unpacking a marketplace archive (`.zip`, `.tar.gz`/`.tgz`, `.tar`) into a temporary folder.
//!
//! Every entry is checked before anything of it is written: a name with `..`, an absolute name
//! (`/x`, `C:\x`), a symbolic or hard link, a device or a name given twice refuses the whole
//! archive, naming the entry. Only regular files named `*.jar` are written (READMEs and the like
//! are checked but not extracted), and only as regular files created new under the target folder,
//! so nothing can land outside it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::bundle::{BundleError, has_extension};

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
pub fn extract_jars(archive: &Path, kind: ArchiveKind, into: &Path) -> Result<Vec<(PathBuf, String)>, BundleError> {
    let shown = archive.display().to_string();
    let file = File::open(archive).map_err(|e| BundleError::Io { path: shown.clone(), source: e })?;
    let reader = BufReader::new(file);
    let mut extractor = Extractor { archive: shown, kind, into, jars: Vec::new() };
    match kind {
        ArchiveKind::Zip => extractor.zip(reader)?,
        ArchiveKind::TarGz => extractor.tar(flate2::read::MultiGzDecoder::new(reader))?,
        ArchiveKind::Tar => extractor.tar(reader)?,
    }
    Ok(extractor.jars)
}

struct Extractor<'a> {
    archive: String,
    kind: ArchiveKind,
    into: &'a Path,
    jars: Vec<(PathBuf, String)>,
}

impl Extractor<'_> {
    fn unsafe_entry(&self, entry: &str, reason: impl Into<String>) -> BundleError {
        BundleError::UnsafeEntry { archive: self.archive.clone(), entry: entry.to_string(), reason: reason.into() }
    }

    fn unreadable(&self, reason: impl ToString) -> BundleError {
        BundleError::BadArchive { path: self.archive.clone(), kind: self.kind.label(), reason: reason.to_string() }
    }

    /// Zip: the central directory is checked whole before any member is written.
    fn zip(&mut self, reader: BufReader<File>) -> Result<(), BundleError> {
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| self.unreadable(e))?;
        let mut wanted = Vec::new();
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
            if !entry.is_dir() && has_extension(&relative, "jar") {
                wanted.push((index, name, relative));
            }
        }
        for (index, name, relative) in wanted {
            let mut entry = zip.by_index(index).map_err(|e| self.unreadable(e))?;
            self.write_jar(&name, &relative, &mut entry)?;
        }
        Ok(())
    }

    /// Tar: a stream, so each entry is checked just before it is written.
    fn tar(&mut self, reader: impl Read) -> Result<(), BundleError> {
        use tar::EntryType;
        let mut tar = tar::Archive::new(reader);
        let entries = tar.entries().map_err(|e| self.unreadable(e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.unreadable(e))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let entry_type = entry.header().entry_type();
            if entry_type == EntryType::XGlobalHeader {
                continue; // pax metadata, no file
            }
            let relative = safe_relative_path(&name).map_err(|reason| self.unsafe_entry(&name, reason))?;
            let target = || {
                entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default()
            };
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
        // create_new: a name given twice would silently replace the first jar.
        let file = match OpenOptions::new().write(true).create_new(true).open(&destination) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(self.unsafe_entry(name, "appears twice in the archive"));
            }
            Err(e) => return Err(io_error(e)),
        };
        let mut out = BufWriter::new(file);
        io::copy(content, &mut out).map_err(|e| self.unreadable(format!("entry `{name}`: {e}")))?;
        out.flush().map_err(io_error)?;
        let origin = format!("{}!/{}", self.archive, portable(relative));
        self.jars.push((destination, origin));
        Ok(())
    }
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
