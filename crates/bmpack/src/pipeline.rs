//! `cargo xtask package` as one library call, so that the tests run exactly what users run:
//! declarations → bundles (given, or generated samples) → resolved packages → files.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

use crate::build::{BuildOptions, BuiltFile, Progress, build_all_dated};
use crate::bundle::BundleSet;
use crate::catalog::{Catalog, ResolveOptions};
use crate::fixed_versions::FixedVersions;

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
    /// `--record-fixed-versions`: record the versions of fixed-version packages that
    /// packaging/fixed-versions.toml does not list yet (see fixed_versions.rs).
    pub record_fixed_versions: bool,
}

#[derive(Debug)]
pub struct PackageOutcome {
    pub files: Vec<BuiltFile>,
    /// Set when the packages were built from generated samples (callers must say so).
    pub samples: Option<PathBuf>,
    /// Jars found under `--bundles` that no selected package declares.
    pub unused_bundles: Vec<String>,
    /// `package version` of each fixed version this run recorded.
    pub recorded: Vec<String>,
}

/// Everything is read and checked before the first byte is written: bad input leaves the
/// output folder untouched.
pub fn package(req: &PackageRequest, progress: &dyn Progress) -> anyhow::Result<PackageOutcome> {
    let catalog = Catalog::load(&req.root)?;
    // Packages without jars (the server tool, bm-plugin-reload) need no bundles, real or sample;
    // the selection is the catalog's own, with the packages ours depend on.
    let needs_bundles = catalog.select(&req.resolve, None)?.iter().any(|d| !d.bundles.is_empty());
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
    let resolved = catalog.resolve(&bundles, &req.resolve, Some(&req.root))?;
    let mut fixed = FixedVersions::load(&req.root)?;
    let record_date = req.record_fixed_versions.then_some(req.build.write.source_date_epoch);
    let checked = fixed.check(&catalog, &resolved.packages, record_date)?;
    let files = build_all_dated(&resolved.packages, &checked.dates, &req.build, progress)?;
    if !checked.recorded.is_empty() {
        fixed.save(&req.root)?;
    }
    Ok(PackageOutcome { files, samples, unused_bundles: resolved.unused_bundles, recorded: checked.recorded })
}

/// The default build date (`SOURCE_DATE_EPOCH` of the packages): the date of the last commit
/// of the project at `root`, so that the same sources give the same bytes.
pub fn last_commit_date(root: &Path) -> anyhow::Result<u64> {
    let out =
        std::process::Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root).output().context(
            "running `git log` for the default build date: install git, or give the date with --source-date-epoch",
        )?;
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
        anyhow!(
            "cannot read the last commit's date in {} (`git log` said: {}): give the build date with --source-date-epoch",
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}
