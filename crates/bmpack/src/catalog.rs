//! `packaging/*.toml` + a set of bundles → resolved `Package`s.
//!
//! The declarations are data (see packaging/bmpack.toml and packaging/nextcloud.toml); this file
//! checks them, expands the Nextcloud matrix into one connector package per major, matches each
//! declared bundle to exactly one jar, settles every package's version, and fills the model.
//! Every error names the file and field (or the jar) and says what to do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;

use crate::bundle::BundleSet;
use crate::model::{Arch, FileKind, FileSource, Op, Package, PayloadFile, Relation, Relations, VersionRef};
use crate::nextcloud::{NextcloudMatrix, NextcloudRelease, select_connector_package};
use crate::version::PackageVersion;

const CATALOG_FILE: &str = "packaging/bmpack.toml";
const MATRIX_FILE: &str = "packaging/nextcloud.toml";
/// Packages in this group form the Nextcloud family that `--nextcloud-version` narrows to.
const NEXTCLOUD_GROUP: &str = "nextcloud";

/// `packaging/bmpack.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    defaults: Defaults,
    targets: BTreeMap<String, Target>,
    #[serde(rename = "package", default)]
    packages: Vec<PackageDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    maintainer: String,
    vendor: String,
    license: String,
    homepage: String,
    section: String,
    rpm_group: String,
    /// Relative to `packaging/`.
    copyright_file: String,
}

/// Where a bundle of one kind goes, which service loads it, which cache it leaves stale.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub extensions: String,
    pub service: String,
    pub cache: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageDecl {
    name: String,
    summary: String,
    description: String,
    /// `nextcloud` for the packages `--nextcloud-version` keeps.
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    bundles: Vec<BundleDecl>,
    /// A fixed version, for packages that carry no bundle (their version cannot come from jars).
    #[serde(default)]
    version: Option<String>,
    /// `false` for a fixed-version package whose content is not recorded in
    /// packaging/fixed-versions.toml (see fixed_versions.rs).
    #[serde(default = "yes")]
    record_content: bool,
    /// `all` (default: jars run anywhere) or `amd64` (the server tool's binary).
    #[serde(default)]
    arch: Option<String>,
    /// `false` for packages built only when asked for with `--package` (the server tool).
    #[serde(default = "yes")]
    in_default_set: bool,
    #[serde(default)]
    depends: Vec<RelationDecl>,
    /// Dependencies whose names exist only on Debian (`libc6`).
    #[serde(default)]
    deb_depends: Vec<RelationDecl>,
    #[serde(default)]
    conflicts: Vec<RelationDecl>,
    #[serde(default)]
    provides: Vec<RelationDecl>,
    /// Debian `Replaces:`; on RPM the conflict alone lets dnf swap the packages.
    #[serde(default)]
    replaces: Vec<RelationDecl>,
    /// Name of a maintainer-script set: templates `debian/<name>.*` and `rpm/<name>.*`.
    #[serde(default)]
    scripts: Option<String>,
    /// Extra files, sources relative to the project root.
    #[serde(default)]
    files: Vec<FileDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleDecl {
    /// Bundle-SymbolicName.
    name: String,
    /// A key of `[targets]`.
    target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationDecl {
    name: String,
    /// `>= 4.2`, `= 1.0.0`, … (omitted: any version).
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDecl {
    source: String,
    dest: String,
    /// Octal, as a string: `"0644"`.
    #[serde(default = "default_mode")]
    mode: String,
    #[serde(default)]
    config: bool,
    /// Documentation (manual pages): `%doc` in RPM.
    #[serde(default)]
    doc: bool,
}

fn yes() -> bool {
    true
}

fn default_mode() -> String {
    "0644".to_string()
}

/// A package as declared, before bundles are matched: the expanded form of both files.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub name: String,
    pub summary: String,
    pub description: String,
    pub group: Option<String>,
    pub bundles: Vec<(String, String)>,
    pub arch: Arch,
    /// Built when no `--package` narrows the set.
    pub in_default_set: bool,
    fixed_version: Option<String>,
    /// With a fixed version: its content is recorded per version (packaging/fixed-versions.toml).
    pub record_content: bool,
    depends: Vec<RelationDecl>,
    deb_depends: Vec<RelationDecl>,
    conflicts: Vec<RelationDecl>,
    provides: Vec<RelationDecl>,
    replaces: Vec<RelationDecl>,
    scripts: Option<String>,
    files: Vec<FileDecl>,
    /// For a Nextcloud connector: its major and the package it needs at the same version.
    connector: Option<(u32, String)>,
    /// Where it was declared, for error messages.
    origin: &'static str,
}

impl Declaration {
    /// The version given in the declaration (`version = "2.0.0"`), for packages without jars.
    pub fn fixed_version(&self) -> Option<&str> {
        self.fixed_version.as_deref()
    }

    /// Whether this is a Nextcloud connector (`bm-nextcloudXX`, from the matrix).
    pub fn is_connector(&self) -> bool {
        self.connector.is_some()
    }

    /// The names of the packages it conflicts with (what installing it removes).
    pub fn conflict_names(&self) -> Vec<&str> {
        self.conflicts.iter().map(|r| r.name.as_str()).collect()
    }

    /// The version constraint of a Debian-only dependency as declared, e.g. `>= 2.28` for
    /// `libc6` (the server tool's build reads the glibc it must link against from it).
    pub fn deb_depends_version(&self, name: &str) -> Option<&str> {
        self.deb_depends.iter().find(|r| r.name == name).and_then(|r| r.version.as_deref())
    }
}

/// The loaded, checked declarations.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
    defaults: Defaults,
    copyright: String,
    pub targets: BTreeMap<String, Target>,
    pub matrix: NextcloudMatrix,
    pub declarations: Vec<Declaration>,
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// `--version`: every package gets this version and every jar must carry it.
    pub version: Option<String>,
    /// `--revision` (default 1).
    pub revision: Option<u32>,
    /// `--nextcloud-version`: keep the Nextcloud family with only the connector it needs.
    pub nextcloud: Option<NextcloudRelease>,
    /// `--package`: only these (and the packages of ours they depend on).
    pub only: Vec<String>,
}

/// The outcome of resolving: packages in declaration order, and jars that no package claimed.
#[derive(Debug)]
pub struct Resolved {
    pub packages: Vec<Package>,
    pub unused_bundles: Vec<String>,
}

impl Catalog {
    /// Reads `packaging/bmpack.toml` and `packaging/nextcloud.toml` under the project root.
    pub fn load(root: &Path) -> anyhow::Result<Catalog> {
        let read = |rel: &str| {
            std::fs::read_to_string(root.join(rel)).with_context(|| format!("cannot read {}", root.join(rel).display()))
        };
        let file: CatalogFile = toml::from_str(&read(CATALOG_FILE)?).map_err(|e| anyhow!("{CATALOG_FILE}: {e}"))?;
        let matrix = NextcloudMatrix::from_toml(&read(MATRIX_FILE)?, MATRIX_FILE)?;
        let copyright = read(&format!("packaging/{}", file.defaults.copyright_file))
            .with_context(|| format!("{CATALOG_FILE}: field `defaults.copyright_file`"))?;

        let mut declarations: Vec<Declaration> = file
            .packages
            .into_iter()
            .map(|p| {
                let arch = match p.arch.as_deref() {
                    None | Some("all") => Arch::All,
                    Some("amd64") => Arch::Amd64,
                    Some(other) => {
                        bail!("{CATALOG_FILE}: package `{}`, field `arch` = `{other}`: use `all` or `amd64`", p.name)
                    }
                };
                Ok(Declaration {
                    bundles: p.bundles.into_iter().map(|b| (b.name, b.target)).collect(),
                    name: p.name,
                    summary: p.summary,
                    description: p.description,
                    group: p.group,
                    arch,
                    in_default_set: p.in_default_set,
                    fixed_version: p.version,
                    record_content: p.record_content,
                    depends: p.depends,
                    deb_depends: p.deb_depends,
                    conflicts: p.conflicts,
                    provides: p.provides,
                    replaces: p.replaces,
                    scripts: p.scripts,
                    files: p.files,
                    connector: None,
                    origin: CATALOG_FILE,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        for &major in &matrix.majors {
            declarations.push(connector_declaration(&matrix, major));
        }

        let catalog = Catalog {
            root: root.to_path_buf(),
            defaults: file.defaults,
            copyright,
            targets: file.targets,
            matrix,
            declarations,
        };
        catalog.check()?;
        Ok(catalog)
    }

    /// Checks that need the whole picture: unique names, known targets, parsable relations.
    fn check(&self) -> anyhow::Result<()> {
        let mut names = BTreeSet::new();
        let mut bundles = BTreeMap::new();
        for d in &self.declarations {
            if !names.insert(d.name.as_str()) {
                bail!("{}: package `{}` is declared twice: keep one declaration", d.origin, d.name);
            }
            if !is_valid_package_name(&d.name) {
                bail!(
                    "{}: package name `{}` is not valid: use lower-case letters, digits, `-`, `+` and `.`",
                    d.origin,
                    d.name
                );
            }
            for (bundle, target) in &d.bundles {
                if !self.targets.contains_key(target) {
                    bail!(
                        "{}: package `{}`, bundle `{bundle}`: unknown target `{target}`: use one of {}",
                        d.origin,
                        d.name,
                        self.targets.keys().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
                if let Some(other) = bundles.insert(bundle.clone(), d.name.clone()) {
                    bail!(
                        "{}: bundle `{bundle}` is declared by both `{other}` and `{}`: a jar belongs to one package",
                        d.origin,
                        d.name
                    );
                }
            }
            if d.bundles.is_empty() && d.fixed_version.is_none() {
                bail!(
                    "{}: package `{}` has no bundles, so its version cannot come from jars: add `version = \"1.0.0\"`",
                    d.origin,
                    d.name
                );
            }
            if let Some(v) = &d.fixed_version {
                PackageVersion::parse(v, 1)
                    .map_err(|e| anyhow!("{}: package `{}`, field `version`: {e}", d.origin, d.name))?;
            }
            for r in d.depends.iter().chain(&d.deb_depends).chain(&d.conflicts).chain(&d.provides).chain(&d.replaces) {
                parse_constraint(r)
                    .map_err(|e| anyhow!("{}: package `{}`, relation on `{}`: {e}", d.origin, d.name, r.name))?;
            }
            for f in &d.files {
                parse_mode(&f.mode)
                    .map_err(|e| anyhow!("{}: package `{}`, file `{}`, field `mode`: {e}", d.origin, d.name, f.dest))?;
                if !f.dest.starts_with('/') {
                    bail!(
                        "{}: package `{}`, file `{}`: field `dest` must be an absolute path",
                        d.origin,
                        d.name,
                        f.dest
                    );
                }
            }
        }
        Ok(())
    }

    /// Every bundle some package declares, with its target (for generating samples).
    pub fn declared_bundles(&self) -> Vec<String> {
        self.declarations.iter().flat_map(|d| d.bundles.iter().map(|(b, _)| b.clone())).collect()
    }

    /// The declarations `opts` selects, in declaration order.
    pub fn select(&self, opts: &ResolveOptions) -> anyhow::Result<Vec<&Declaration>> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for name in &opts.only {
            if !self.declarations.iter().any(|d| &d.name == name) {
                bail!(
                    "--package {name}: no such package in {CATALOG_FILE} or {MATRIX_FILE}: declared are {}",
                    self.declarations.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            wanted.insert(name);
        }
        if let Some(release) = &opts.nextcloud {
            let choice =
                select_connector_package(&self.matrix, release).map_err(|e| anyhow!("--nextcloud-version: {e}"))?;
            for d in &self.declarations {
                let keep = match &d.connector {
                    Some((major, _)) => *major == choice.major,
                    None => d.group.as_deref() == Some(NEXTCLOUD_GROUP),
                };
                if keep {
                    wanted.insert(&d.name);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(self.declarations.iter().filter(|d| d.in_default_set).collect());
        }
        // Close over our own dependencies: a package is useless without them.
        loop {
            let before = wanted.len();
            for d in &self.declarations {
                if wanted.contains(d.name.as_str()) {
                    for r in &d.depends {
                        if let Some(dep) = self.declarations.iter().find(|x| x.name == r.name) {
                            wanted.insert(&dep.name);
                        }
                    }
                }
            }
            if wanted.len() == before {
                break;
            }
        }
        Ok(self.declarations.iter().filter(|d| wanted.contains(d.name.as_str())).collect())
    }

    /// The version constraints `package` puts on `name` (bm-core, bm-webserver…), its own and
    /// those of the packages of ours it needs (a connector needs bm-nextcloud-common), as
    /// declared in `depends`: `bm-core >= 4.5.3` and `bm-core < 5~` give two. The BlueMind
    /// releases a plug-in is meant for are derived from these, never declared twice.
    pub fn constraints_on(&self, package: &str, name: &str) -> Vec<(Op, String)> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue = vec![package.to_string()];
        while let Some(current) = queue.pop() {
            if !seen.insert(current.clone()) {
                continue;
            }
            let Some(d) = self.declarations.iter().find(|d| d.name == current) else { continue };
            for r in &d.depends {
                if r.name == name {
                    out.extend(parse_constraint(r).ok().flatten());
                } else {
                    queue.push(r.name.clone());
                }
            }
            if let Some((_, common)) = &d.connector {
                queue.push(common.clone());
            }
        }
        out
    }

    /// Matches bundles to the selected declarations and builds the packages.
    pub fn resolve(&self, bundles: &BundleSet, opts: &ResolveOptions) -> anyhow::Result<Resolved> {
        let revision = opts.revision.unwrap_or(1);
        let forced = match &opts.version {
            Some(v) => Some(PackageVersion::parse(v, revision).map_err(|e| anyhow!("--version: {e}"))?),
            None => None,
        };
        let selected = self.select(opts)?;
        let source = bundles.source.display().to_string();

        let mut versions: BTreeMap<String, PackageVersion> = BTreeMap::new();
        let mut payloads: BTreeMap<String, Vec<PayloadFile>> = BTreeMap::new();
        let mut claimed = BTreeSet::new();
        for d in &selected {
            let mut version: Option<(PackageVersion, String)> = match (&forced, &d.fixed_version) {
                (_, Some(fixed)) => Some((
                    PackageVersion::parse(fixed, revision).expect("checked at load"),
                    format!("field `version` of `{}` in {}", d.name, d.origin),
                )),
                (Some(v), None) => Some((v.clone(), "--version".to_string())),
                (None, None) => None,
            };
            let mut files = Vec::new();
            for (name, target) in &d.bundles {
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
                let t = &self.targets[target];
                files.push(PayloadFile {
                    dest: format!("{}/{}", t.extensions.trim_end_matches('/'), bundle.install_name()),
                    source: FileSource::Path(bundle.path.clone()),
                    mode: 0o644,
                    kind: FileKind::Regular,
                });
            }
            for f in &d.files {
                let path = self.root.join(&f.source);
                let bytes = std::fs::read(&path).with_context(|| {
                    format!(
                        "{}: package `{}`, file `{}`: cannot read source {}",
                        d.origin,
                        d.name,
                        f.dest,
                        path.display()
                    )
                })?;
                files.push(PayloadFile {
                    dest: f.dest.clone(),
                    source: FileSource::Bytes(Arc::from(bytes)),
                    mode: parse_mode(&f.mode).expect("checked at load"),
                    kind: match (f.config, f.doc) {
                        (true, _) => FileKind::Config,
                        (false, true) => FileKind::Doc,
                        (false, false) => FileKind::Regular,
                    },
                });
            }
            let (version, _) = version.expect("a package has bundles or a fixed version (checked at load)");
            versions.insert(d.name.clone(), version);
            payloads.insert(d.name.clone(), files);
        }

        let mut packages = Vec::new();
        for d in &selected {
            let version = versions[&d.name].clone();
            let mut relations = Relations {
                depends: rels(&d.depends),
                deb_depends: rels(&d.deb_depends),
                conflicts: rels(&d.conflicts),
                provides: rels(&d.provides),
                deb_replaces: rels(&d.replaces),
                ..Relations::default()
            };
            if let Some((major, common)) = &d.connector {
                let common_version = versions.get(common).ok_or_else(|| {
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
            let set = self.script_set_of(d)?;
            packages.push(Package {
                name: d.name.clone(),
                version,
                arch: d.arch,
                summary: d.summary.clone(),
                description: d.description.trim().to_string(),
                maintainer: self.defaults.maintainer.clone(),
                license: self.defaults.license.clone(),
                copyright: self.copyright.clone(),
                homepage: self.defaults.homepage.clone(),
                vendor: self.defaults.vendor.clone(),
                section: self.defaults.section.clone(),
                rpm_group: self.defaults.rpm_group.clone(),
                files: payloads.remove(&d.name).unwrap_or_default().into_iter().chain(set.files).collect(),
                relations,
                scripts: set.scripts,
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

    fn script_set_of(&self, d: &Declaration) -> anyhow::Result<crate::scripts::ScriptSet> {
        match &d.scripts {
            None => Ok(crate::scripts::ScriptSet::default()),
            Some(set) => crate::scripts::load(&self.root, set, &self.targets)
                .with_context(|| format!("{}: package `{}`, field `scripts`", d.origin, d.name)),
        }
    }
}

/// One `bm-nextcloudXX` from the matrix's template. It provides and conflicts with the virtual
/// connector package: one connector at a time, switched in one transaction. On Debian it also
/// replaces the virtual package and each other connector by name: apt switches through the
/// virtual conflict, but `dpkg -i` removes an installed package in favour of a new one only
/// when the new one replaces it by its own name.
fn connector_declaration(matrix: &NextcloudMatrix, major: u32) -> Declaration {
    let c = &matrix.connector;
    let m = major.to_string();
    let virtual_rel = || vec![RelationDecl { name: c.virtual_package.clone(), version: None }];
    let mut replaces = virtual_rel();
    replaces.extend(
        matrix
            .majors
            .iter()
            .filter(|&&other| other != major)
            .map(|&other| RelationDecl { name: matrix.package_for(other), version: None }),
    );
    Declaration {
        name: matrix.package_for(major),
        summary: c.summary.replace("{major}", &m),
        description: c.description.replace("{major}", &m),
        group: Some(NEXTCLOUD_GROUP.to_string()),
        bundles: vec![(matrix.bundle_for(major), c.target.clone())],
        arch: Arch::All,
        in_default_set: true,
        fixed_version: None,
        record_content: false,
        depends: Vec::new(),
        deb_depends: Vec::new(),
        conflicts: virtual_rel(),
        provides: virtual_rel(),
        replaces,
        scripts: None,
        files: Vec::new(),
        connector: Some((major, c.requires.clone())),
        origin: MATRIX_FILE,
    }
}

fn rels(decls: &[RelationDecl]) -> Vec<Relation> {
    decls
        .iter()
        .map(|r| match parse_constraint(r).expect("checked at load") {
            None => Relation::any(r.name.clone()),
            Some((op, v)) => Relation::with(r.name.clone(), op, VersionRef::Literal(v)),
        })
        .collect()
}

fn parse_constraint(r: &RelationDecl) -> anyhow::Result<Option<(Op, String)>> {
    let Some(text) = r.version.as_deref().map(str::trim) else { return Ok(None) };
    let (op, rest) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt), ("=", Op::Eq)]
        .iter()
        .find_map(|(p, op)| text.strip_prefix(p).map(|rest| (*op, rest.trim())))
        .ok_or_else(|| anyhow!("field `version` = `{text}` must start with >=, <=, >, < or =, e.g. `>= 4.2`"))?;
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || ".+~-".contains(c)) {
        bail!("field `version` = `{text}`: `{rest}` is not a version, e.g. `>= 4.2`");
    }
    Ok(Some((op, rest.to_string())))
}

fn parse_mode(text: &str) -> anyhow::Result<u32> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| anyhow!("`{text}` is not an octal file mode: write it like \"0644\" or \"0755\""))
}

/// Debian policy §5.6.1 (which also suits RPM): lower case, digits, `+ - .`, at least two chars.
fn is_valid_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog of our own: StarLeaf for BlueMind 4.5.3 up to 4.x (two relations on one
    /// name), Nextcloud for 4.2 and later, the connectors through bm-nextcloud-common.
    #[test]
    fn the_bluemind_range_comes_from_the_relations() {
        let dir = tempfile::tempdir().unwrap();
        let packaging = dir.path().join("packaging");
        std::fs::create_dir_all(&packaging).unwrap();
        std::fs::write(packaging.join("copyright"), "c").unwrap();
        std::fs::write(packaging.join("nextcloud.toml"), crate::nextcloud::BUILTIN_MATRIX_TOML).unwrap();
        std::fs::write(
            packaging.join("bmpack.toml"),
            r#"
[defaults]
maintainer = "m <m@x>"
vendor = "v"
license = "l"
homepage = "h"
section = "misc"
rpm_group = "g"
copyright_file = "copyright"

[targets.core]
extensions = "/usr/share/bm-core/extensions"
service = "bm-core"
cache = "/var/lib/bm-core"

[[package]]
name = "bm-nextcloud-common"
group = "nextcloud"
summary = "s"
description = "d"
bundles = [{ name = "net.bluemind.filehosting.nextcloud", target = "core" }]
depends = [{ name = "bm-core", version = ">= 4.2" }]

[[package]]
name = "bm-plugin-core-videoconferencing-starleaf"
summary = "s"
description = "d"
bundles = [{ name = "net.bluemind.videoconferencing.starleaf", target = "core" }]
depends = [{ name = "bm-core", version = ">= 4.5.3" }, { name = "bm-core", version = "< 5~" }]
"#,
        )
        .unwrap();
        let catalog = Catalog::load(dir.path()).unwrap();
        assert_eq!(
            catalog.constraints_on("bm-plugin-core-videoconferencing-starleaf", "bm-core"),
            [(Op::Ge, "4.5.3".to_string()), (Op::Lt, "5~".to_string())]
        );
        assert_eq!(catalog.constraints_on("bm-nextcloud12", "bm-core"), [(Op::Ge, "4.2".to_string())]);
        assert!(catalog.constraints_on("bm-nextcloud12", "bm-webserver").is_empty());
    }
}
