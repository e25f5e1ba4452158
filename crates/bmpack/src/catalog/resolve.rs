//! Declarations + jars → packages: each declared bundle matched to exactly one jar, every
//! package's version settled, the model filled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};

use super::{Catalog, Declaration, ResolveOptions};
use crate::bundle::BundleSet;
use crate::model::{FileMode, FileSource, Op, Package, PayloadFile, Relation, VersionRef};
use crate::scripts::ScriptSet;
use crate::version::PackageVersion;

/// The outcome of resolving: packages in declaration order, and jars that no package claimed.
#[derive(Debug)]
pub struct Resolved {
    pub packages: Vec<Package>,
    pub unused_bundles: Vec<String>,
}

impl Catalog {
    /// Matches bundles to the selected declarations and builds the packages. With `project`
    /// (the project root), packages get their maintainer scripts and declared files from its
    /// tree; without, they get their jars only (the server tool, which places jars itself and
    /// does what the scripts do).
    pub fn resolve(
        &self,
        bundles: &BundleSet,
        opts: &ResolveOptions,
        project: Option<&Path>,
    ) -> anyhow::Result<Resolved> {
        let revision = opts.revision.unwrap_or(1);
        let forced = match &opts.version {
            Some(v) => Some(PackageVersion::parse(v, revision).map_err(|e| anyhow!("--version: {e}"))?),
            None => None,
        };
        let selected = self.select(opts, Some(bundles))?;
        let source = bundles.source.display().to_string();

        let mut versions: BTreeMap<&str, PackageVersion> = BTreeMap::new();
        let mut payloads: BTreeMap<&str, Vec<PayloadFile>> = BTreeMap::new();
        let mut claimed = BTreeSet::new();
        for d in &selected {
            let mut version: Option<(PackageVersion, String)> = match (&forced, &d.fixed_version) {
                (_, Some(fixed)) => Some((
                    fixed.version.with_revision(revision),
                    format!("field `version` of `{}` in {}", d.name, d.origin),
                )),
                (Some(v), None) => Some((v.clone(), "--version".to_string())),
                (None, None) => None,
            };
            let mut files = Vec::new();
            for declared in &d.bundles {
                let name = &declared.symbolic_name;
                let bundle = bundles.get(name).ok_or_else(|| {
                    anyhow!(
                        "package `{}` needs bundle `{name}` (declared in {}), but no jar in {source} has \
                         `Bundle-SymbolicName: {name}`: add that jar to {source}, or build without this \
                         package (--package / --nextcloud-version)",
                        d.name,
                        d.origin
                    )
                })?;
                claimed.insert(name.clone());
                let bundle_version = PackageVersion::parse(&bundle.version, revision)
                    .map_err(|e| anyhow!("{}: field `Bundle-Version` in META-INF/MANIFEST.MF: {e}", bundle.origin))?;
                match &version {
                    Some((v, from)) if !v.same_upstream(&bundle_version) => bail!(
                        "{}: `Bundle-Version: {}` disagrees with version {v} of package `{}` (from {from}): \
                         use jars of one release, or pass the jars' version with --version {}",
                        bundle.origin,
                        bundle.version,
                        d.name,
                        bundle_version
                    ),
                    Some(_) => {}
                    None => version = Some((bundle_version, format!("the Bundle-Version of {}", bundle.origin))),
                }
                let dest = declared
                    .target
                    .extensions
                    .join(&bundle.install_name())
                    .map_err(|e| anyhow!("{}: the jar's name in the extensions folder: {e}", bundle.origin))?;
                files.push(PayloadFile {
                    dest,
                    source: FileSource::Path(bundle.path.clone()),
                    mode: FileMode::READABLE,
                    kind: crate::model::FileKind::Regular,
                });
            }
            if let Some(root) = project {
                files.extend(declared_files(d, root)?);
            }
            let (version, _) = version.expect("a package has bundles or a fixed version (checked at parse)");
            versions.insert(&d.name, version);
            payloads.insert(&d.name, files);
        }

        let mut packages = Vec::new();
        for d in &selected {
            let version = versions[d.name.as_str()].clone();
            let mut relations = d.relations.clone();
            if let Some((major, common)) = &d.connector {
                let common_version = versions.get(common.as_str()).ok_or_else(|| {
                    anyhow!("package `{}` needs `{common}`: select it too (--package {common})", d.name)
                })?;
                if !common_version.same_upstream(&version) {
                    bail!(
                        "`{}` (Nextcloud {major} connector) is version {version} but `{common}` is {common_version}: \
                         the connector needs {common} of exactly its version; use jars of one release",
                        d.name
                    );
                }
                relations
                    .depends
                    .insert(0, Relation::with(common.clone(), Op::Eq, VersionRef::Package(version.clone())));
            }
            let set = match project {
                Some(root) => self.script_set_of(d, root)?,
                None => ScriptSet::default(),
            };
            let deb_lintian_overrides = match project {
                Some(root) => {
                    Some(lintian_overrides(root, !d.bundles.is_empty(), set.deb_lintian_overrides.as_deref())?)
                }
                None => None,
            };
            let defaults = &self.defaults;
            packages.push(Package {
                name: d.name.clone(),
                version,
                arch: d.arch,
                summary: d.summary.clone(),
                description: d.description.trim().to_string(),
                maintainer: defaults.maintainer.clone(),
                license: defaults.license.clone(),
                copyright: self.copyright.clone(),
                homepage: defaults.homepage.clone(),
                vendor: defaults.vendor.clone(),
                section: defaults.section.clone(),
                rpm_group: defaults.rpm_group.clone(),
                files: payloads.remove(d.name.as_str()).unwrap_or_default().into_iter().chain(set.files).collect(),
                relations,
                scripts: set.scripts,
                deb_lintian_overrides,
            });
        }
        let unused_bundles = bundles
            .bundles
            .values()
            .filter(|b| !claimed.contains(&b.symbolic_name))
            .map(|b| format!("{} ({})", b.symbolic_name, b.origin))
            .collect();
        Ok(Resolved { packages, unused_bundles })
    }

    fn script_set_of(&self, d: &Declaration, root: &Path) -> anyhow::Result<ScriptSet> {
        match &d.scripts {
            None => Ok(ScriptSet::default()),
            Some(set) => crate::scripts::load(root, set, &self.targets)
                .with_context(|| format!("{}: package `{}`, field `scripts`", d.origin, d.name)),
        }
    }
}

/// Lintian overrides of every package, relative to the project root.
pub const LINTIAN_OVERRIDES: &str = "debian/lintian-overrides";
/// Lintian overrides of the packages that ship jars.
pub const JAR_LINTIAN_OVERRIDES: &str = "debian/jars.lintian-overrides";

/// A package's lintian overrides: those of every package, of packages with jars when it ships
/// some, and those of its script set. An override is shipped only where its reason holds:
/// lintian reports an override that matches nothing.
fn lintian_overrides(root: &Path, ships_jars: bool, of_script_set: Option<&str>) -> anyhow::Result<String> {
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).with_context(|| format!("cannot read {}", root.join(rel).display()))
    };
    let mut text = read(LINTIAN_OVERRIDES)?;
    if ships_jars {
        text.push('\n');
        text.push_str(&read(JAR_LINTIAN_OVERRIDES)?);
    }
    if let Some(set) = of_script_set {
        text.push('\n');
        text.push_str(set);
    }
    Ok(text)
}

/// The files a declaration lists besides jars, read from the project tree.
fn declared_files(d: &Declaration, root: &Path) -> anyhow::Result<Vec<PayloadFile>> {
    d.files
        .iter()
        .map(|f| {
            let path = root.join(&f.source);
            let bytes = std::fs::read(&path).with_context(|| {
                format!("{}: package `{}`, file `{}`: cannot read source {}", d.origin, d.name, f.dest, path.display())
            })?;
            Ok(PayloadFile {
                dest: f.dest.clone(),
                source: FileSource::Bytes(Arc::from(bytes)),
                mode: f.mode,
                kind: f.kind,
            })
        })
        .collect()
}
