//! `cargo xtask package` as one library call, so that the tests run exactly what users run:
//! declarations → bundles (given, or generated samples) → resolved packages → files.

use std::path::PathBuf;

use crate::build::{BuildOptions, BuiltFile, Progress, build_all};
use crate::bundle::BundleSet;
use crate::catalog::{Catalog, ResolveOptions};

/// The version sample bundles carry when `--version` does not say.
pub const SAMPLE_VERSION: &str = "4.8.2";
/// Size of each generated sample jar: "a few MB", as BlueMind's plug-in jars are.
pub const SAMPLE_JAR_BYTES: u64 = 1_500_000;

#[derive(Debug, Clone)]
pub struct PackageRequest {
    /// The repository's top folder (holds `packaging/`, `debian/`, `rpm/`).
    pub root: PathBuf,
    /// `--bundles`: a folder of jars or a marketplace archive. `None`: generate samples.
    pub bundles: Option<PathBuf>,
    /// Where samples are generated when `bundles` is `None`.
    pub samples_dir: PathBuf,
    pub resolve: ResolveOptions,
    pub build: BuildOptions,
}

#[derive(Debug)]
pub struct PackageOutcome {
    pub files: Vec<BuiltFile>,
    /// Set when the packages were built from generated samples (callers must say so).
    pub samples: Option<PathBuf>,
    /// Jars found under `--bundles` that no selected package declares.
    pub unused_bundles: Vec<String>,
}

/// Everything is read and checked before the first byte is written: bad input leaves the
/// output folder untouched.
pub fn package(req: &PackageRequest, progress: &dyn Progress) -> anyhow::Result<PackageOutcome> {
    let catalog = Catalog::load(&req.root)?;
    // Packages without jars (the server tool, bm-plugin-reload) need no bundles, real or sample.
    let needs_bundles = catalog
        .declarations
        .iter()
        .filter(|d| req.resolve.only.is_empty() || req.resolve.only.contains(&d.name))
        .any(|d| !d.bundles.is_empty());
    let (bundles, samples) = match &req.bundles {
        Some(path) => (BundleSet::load(path)?, None),
        None if !needs_bundles => (BundleSet::empty(&req.root), None),
        None => {
            let version = req.resolve.version.as_deref().unwrap_or(SAMPLE_VERSION);
            let mut spec = crate::samples::SampleSpec::new(catalog.declared_bundles(), version);
            spec.jar_bytes = SAMPLE_JAR_BYTES;
            let dir = req.samples_dir.join(version);
            crate::samples::write_sample_bundles(&dir, &spec)?;
            (BundleSet::load(&dir)?, Some(dir))
        }
    };
    let resolved = catalog.resolve(&bundles, &req.resolve)?;
    let files = build_all(&resolved.packages, &req.build, progress)?;
    Ok(PackageOutcome { files, samples, unused_bundles: resolved.unused_bundles })
}
