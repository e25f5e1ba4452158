//! Reading OSGi bundles (jars): identity from `META-INF/MANIFEST.MF`, never from the file name.
//! (Interface settled; implementation in progress.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// Reads a folder of jars (recursively) or a `.zip` / `.tar.gz` marketplace archive.
    pub fn load(path: &Path) -> anyhow::Result<BundleSet> {
        anyhow::bail!("reading bundles from {} is not implemented yet", path.display())
    }

    pub fn get(&self, symbolic_name: &str) -> Option<&Bundle> {
        self.bundles.get(symbolic_name)
    }
}
