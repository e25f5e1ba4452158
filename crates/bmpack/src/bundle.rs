//! Reading OSGi bundles (jars): identity from `META-INF/MANIFEST.MF`, never from the file name.
//!
//! `--bundles PATH` is a folder of jars (searched recursively, in file-name order) or a
//! marketplace archive (`.zip`, `.tar.gz`/`.tgz`, `.tar`) with a folder per bundle. Archives are
//! unpacked into a temporary folder by [`crate::archive`], which refuses the whole archive if an
//! entry could land outside it. Files other than `*.jar` (READMEs…) are ignored; every jar must be
//! an OSGi bundle with a `Bundle-SymbolicName` and a `Bundle-Version`, and a bundle must come from
//! one jar only. Each problem is a [`BundleError`] naming the file as the user knows it
//! (`archive.zip!/dir/x.jar` for archive members) and what to do.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::archive::{self, ArchiveKind, ArchiveLimits, has_extension};
use crate::console::printable;
use crate::manifest::{self, MANIFEST_PATH, Manifest};

pub use crate::bundle_error::BundleError;

/// A manifest larger than this is not a manifest (real ones are a few KB).
const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// One jar, identified by its manifest.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `Bundle-SymbolicName` without its attributes (`;singleton:=true`).
    pub symbolic_name: String,
    /// `Bundle-Version` as written in the manifest.
    pub version: String,
    /// Where the jar is on disk (inside a temporary folder when it came from an archive).
    pub path: PathBuf,
    /// Where the jar was found, as the user would recognise it (`archive.zip!/dir/x.jar`).
    pub origin: String,
}

impl Bundle {
    /// The name the jar is installed under: `<symbolic name>-<version>.jar`, the vendor's pattern.
    pub fn install_name(&self) -> String {
        format!("{}-{}.jar", self.symbolic_name, self.version)
    }

    /// Reads the identity of one jar. `origin` is how errors name it.
    pub fn read(jar: &Path, origin: &str) -> Result<Bundle, BundleError> {
        let bytes = read_manifest_bytes(jar, origin)?;
        let manifest = Manifest::parse(&bytes)
            .map_err(|e| BundleError::BadManifest { file: origin.to_string(), reason: e.to_string() })?;
        let file = || origin.to_string();
        // A header on an unterminated last line does not exist for Java: say so when it is missing.
        let ignored = || {
            manifest::unterminated_last_line(&bytes).map_or(String::new(), |line| {
                format!(" (its last line, `{line}`, has no line break, and Java ignores such a line: end the manifest with a line break)")
            })
        };
        let Some(name_value) = manifest.get("Bundle-SymbolicName") else {
            return Err(BundleError::NoSymbolicName { file: file(), ignored: ignored() });
        };
        let Some(symbolic_name) = manifest::symbolic_name_of(name_value) else {
            return Err(BundleError::BadSymbolicName { file: file(), value: printable(name_value) });
        };
        let version = manifest.get("Bundle-Version").map(str::trim).unwrap_or("");
        if version.is_empty() {
            return Err(BundleError::NoVersion { file: file(), name: symbolic_name.to_string(), ignored: ignored() });
        }
        Ok(Bundle {
            symbolic_name: symbolic_name.to_string(),
            version: version.to_string(),
            path: jar.to_path_buf(),
            origin: file(),
        })
    }
}

/// The main section of a jar's `META-INF/MANIFEST.MF`. `origin` is how errors name the jar.
pub fn read_manifest(jar: &Path, origin: &str) -> Result<Manifest, BundleError> {
    let bytes = read_manifest_bytes(jar, origin)?;
    Manifest::parse(&bytes).map_err(|e| BundleError::BadManifest { file: origin.to_string(), reason: e.to_string() })
}

/// The bytes of `META-INF/MANIFEST.MF`, found by its exact name as BlueMind's startup looks for
/// it (a zip file system path, case-sensitive; `JarFile` would also take another case).
fn read_manifest_bytes(jar: &Path, origin: &str) -> Result<Vec<u8>, BundleError> {
    let file = File::open(jar).map_err(|e| BundleError::Io { path: origin.to_string(), source: e })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| BundleError::NotAZip { file: origin.to_string(), reason: e.to_string() })?;
    let Some(index) = zip.index_for_name(MANIFEST_PATH) else {
        let other_case = (0..zip.len())
            .filter_map(|i| zip.name_for_index(i).and_then(Result::ok).map(|n| n.to_string()))
            .find(|n| n.eq_ignore_ascii_case(MANIFEST_PATH));
        return Err(match other_case {
            Some(found) => BundleError::BadManifest {
                file: origin.to_string(),
                reason: format!(
                    "it is stored as `{}`; BlueMind's startup reads the exact name {MANIFEST_PATH} and skips this jar \
                     (bmpack is as strict; java.util.jar.JarFile alone would take it)",
                    printable(&found)
                ),
            },
            None => BundleError::NoManifest { file: origin.to_string() },
        });
    };
    let bad = |reason: String| BundleError::BadManifest { file: origin.to_string(), reason };
    let entry = zip.by_index(index).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::new();
    entry.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes).map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(bad(format!(
            "it is larger than {MAX_MANIFEST_BYTES} bytes; real manifests are a few KB, and bmpack refuses larger ones (Java would read it)"
        )));
    }
    Ok(bytes)
}

/// Every bundle found under `--bundles`, by symbolic name.
#[derive(Debug)]
pub struct BundleSet {
    pub bundles: BTreeMap<String, Bundle>,
    /// Where the source was (folder or archive), for error messages.
    pub source: PathBuf,
    /// Keeps an archive's extracted files alive as long as the set.
    pub _extracted: Option<tempfile::TempDir>,
}

impl BundleSet {
    /// No jars at all: what packages without jars (the server tool, bm-plugin-reload) resolve
    /// against. `source` is named in messages.
    pub fn empty(source: &Path) -> BundleSet {
        BundleSet { bundles: BTreeMap::new(), source: source.to_path_buf(), _extracted: None }
    }

    /// Reads a folder of jars (recursively) or a `.zip` / `.tar.gz` marketplace archive.
    /// Errors are [`BundleError`]s (`err.downcast_ref::<BundleError>()`).
    /// An archive is unpacked into a new folder of the system's temporary folder.
    pub fn load(path: &Path) -> anyhow::Result<BundleSet> {
        Ok(Self::load_checked(path, None)?)
    }

    /// [`BundleSet::load`], unpacking an archive into a new folder inside `scratch` (e.g. under
    /// `target/`), removed when the set is dropped or loading fails.
    pub fn load_in(path: &Path, scratch: &Path) -> anyhow::Result<BundleSet> {
        Ok(Self::load_checked(path, Some(scratch))?)
    }

    /// [`BundleSet::load`] / [`BundleSet::load_in`] with the error's type kept.
    pub fn load_checked(path: &Path, scratch: Option<&Path>) -> Result<BundleSet, BundleError> {
        Self::load_limited(path, scratch, &ArchiveLimits::default())
    }

    /// [`BundleSet::load_checked`] with other limits on what an archive may unpack to.
    pub fn load_limited(path: &Path, scratch: Option<&Path>, limits: &ArchiveLimits) -> Result<BundleSet, BundleError> {
        let shown = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BundleError::NotFound { path: shown.clone() },
            _ => BundleError::Io { path: shown.clone(), source: e },
        })?;
        let (jars, extracted) = if metadata.is_dir() {
            (jars_in_folder(path)?, None)
        } else {
            match ArchiveKind::of(path) {
                Some(kind) => {
                    let mut builder = tempfile::Builder::new();
                    builder.prefix("bmpack-bundles-");
                    let temp = match scratch {
                        Some(scratch) => builder.tempdir_in(scratch),
                        None => builder.tempdir(),
                    };
                    let temp = temp.map_err(|e| BundleError::Io {
                        path: format!("a temporary folder in {}", scratch.unwrap_or(&std::env::temp_dir()).display()),
                        source: e,
                    })?;
                    let jars = archive::extract_jars(path, kind, temp.path(), limits)?;
                    (jars, Some(temp))
                }
                None if has_extension(path, "jar") => return Err(BundleError::SingleJar { path: shown }),
                None => return Err(BundleError::UnsupportedArchive { path: shown }),
            }
        };
        if jars.is_empty() {
            return Err(BundleError::NoJars { path: shown });
        }
        let mut bundles: BTreeMap<String, Bundle> = BTreeMap::new();
        for (jar, origin) in jars {
            let bundle = Bundle::read(&jar, &origin)?;
            if let Some(first) = bundles.get(&bundle.symbolic_name) {
                return Err(BundleError::Duplicate {
                    name: bundle.symbolic_name,
                    first: first.origin.clone(),
                    first_version: first.version.clone(),
                    second: bundle.origin,
                    second_version: bundle.version,
                });
            }
            bundles.insert(bundle.symbolic_name.clone(), bundle);
        }
        Ok(BundleSet { bundles, source: path.to_path_buf(), _extracted: extracted })
    }

    pub fn get(&self, symbolic_name: &str) -> Option<&Bundle> {
        self.bundles.get(symbolic_name)
    }

    /// The bundles, by symbolic name.
    pub fn iter(&self) -> impl Iterator<Item = &Bundle> {
        self.bundles.values()
    }

    /// The declared names that no jar provides, in the order given.
    pub fn missing<'a>(&self, declared: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        declared.into_iter().filter(|name| !self.bundles.contains_key(*name)).collect()
    }

    /// The bundles whose names are not among the declared ones (extra jars).
    pub fn undeclared<'a>(&self, declared: impl IntoIterator<Item = &'a str>) -> Vec<&Bundle> {
        let declared: std::collections::BTreeSet<&str> = declared.into_iter().collect();
        self.bundles.values().filter(|b| !declared.contains(b.symbolic_name.as_str())).collect()
    }
}

/// `*.jar` under `folder`, recursively, in file-name order; each with its path as its origin.
fn jars_in_folder(folder: &Path) -> Result<Vec<(PathBuf, String)>, BundleError> {
    let mut jars = Vec::new();
    // Links are followed: a folder of links to build outputs is a folder of jars.
    for entry in walkdir::WalkDir::new(folder).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(folder).display().to_string();
            BundleError::Io { path, source: e.into() }
        })?;
        if entry.file_type().is_file() && has_extension(entry.path(), "jar") {
            let origin = entry.path().display().to_string();
            jars.push((entry.into_path(), origin));
        }
    }
    Ok(jars)
}
