//! The text of `packaging/bmpack.toml` and `packaging/nextcloud.toml` → checked declarations.
//!
//! Each field is parsed here once, into the model's values (`PackageName`, `InstallPath`,
//! `FileMode`, `Relation`, `PackageVersion`, `Target`), and every error names the file, the
//! package and the field, and says what to write instead. What is built from them trusts them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail};
use serde::Deserialize;

use super::{CATALOG_FILE, Declaration, DeclaredBundle, DeclaredFile, MATRIX_FILE};
use super::{FixedVersion, NEXTCLOUD_GROUP};
use crate::model::{
    Arch, FileKind, FileMode, InstallPath, Op, PackageName, Relation, Relations, ServiceName, Target, VersionRef,
};
use crate::nextcloud::NextcloudMatrix;
use crate::version::PackageVersion;

/// `packaging/bmpack.toml`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogFile {
    pub(super) defaults: Defaults,
    targets: BTreeMap<String, TargetDecl>,
    #[serde(rename = "package", default)]
    packages: Vec<PackageDecl>,
}

/// `[defaults]`: the fields every package takes, free text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Defaults {
    pub(super) maintainer: String,
    pub(super) vendor: String,
    pub(super) license: String,
    pub(super) homepage: String,
    pub(super) section: String,
    pub(super) rpm_group: String,
    /// Relative to `packaging/`.
    pub(super) copyright_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetDecl {
    extensions: String,
    service: String,
    cache: String,
}

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleDecl {
    /// Bundle-SymbolicName.
    name: String,
    /// A key of `[targets]`.
    target: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationDecl {
    name: String,
    /// `>= 4.2`, `= 1.0.0`, … (omitted: any version).
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDecl {
    source: String,
    dest: String,
    /// Octal, as a string: `"0644"`.
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    config: bool,
    /// Documentation (manual pages): `%doc` in RPM.
    #[serde(default)]
    doc: bool,
}

fn yes() -> bool {
    true
}

impl CatalogFile {
    pub(super) fn parse(text: &str) -> anyhow::Result<CatalogFile> {
        toml::from_str(text).map_err(|e| anyhow!("{CATALOG_FILE}: {e}"))
    }

    /// The checked targets, defaults and declarations (the connectors of `matrix` included).
    pub(super) fn check(
        self,
        matrix: &NextcloudMatrix,
    ) -> anyhow::Result<(BTreeMap<String, Target>, Defaults, Vec<Declaration>)> {
        let targets = self
            .targets
            .into_iter()
            .map(|(key, t)| {
                let field = |name: &str, e: String| anyhow!("{CATALOG_FILE}: field `targets.{key}.{name}`: {e}");
                let target = Target {
                    extensions: InstallPath::new(t.extensions).map_err(|e| field("extensions", e))?,
                    service: ServiceName::new(t.service).map_err(|e| field("service", e))?,
                    cache: InstallPath::new(t.cache).map_err(|e| field("cache", e))?,
                };
                Ok((key, target))
            })
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        let defaults = self.defaults;
        let mut declarations =
            self.packages.into_iter().map(|p| declaration(p, &targets)).collect::<anyhow::Result<Vec<_>>>()?;
        for &major in &matrix.majors {
            declarations.push(connector_declaration(matrix, major, &targets)?);
        }
        check_together(&declarations)?;
        Ok((targets, defaults, declarations))
    }
}

fn declaration(p: PackageDecl, targets: &BTreeMap<String, Target>) -> anyhow::Result<Declaration> {
    let name = PackageName::new(p.name.clone()).map_err(|e| anyhow!("{CATALOG_FILE}: package `{}`: {e}", p.name))?;
    let field = |field: &str, e: String| anyhow!("{CATALOG_FILE}: package `{name}`, field `{field}`: {e}");
    let arch = match p.arch.as_deref() {
        None | Some("all") => Arch::All,
        Some("amd64") => Arch::Amd64,
        Some(other) => return Err(field("arch", format!("`{other}`: use `all` or `amd64`"))),
    };
    let bundles = p
        .bundles
        .into_iter()
        .map(|b| bundle(b.name, b.target, targets).map_err(|e| field("bundles", e)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if bundles.is_empty() && p.version.is_none() {
        return Err(field(
            "version",
            "the package has no bundles, so its version cannot come from jars: add `version = \"1.0.0\"`".into(),
        ));
    }
    let fixed_version = p
        .version
        .map(|text| match PackageVersion::parse(&text, 1) {
            Ok(version) => Ok(FixedVersion { text, version }),
            Err(e) => Err(field("version", e.to_string())),
        })
        .transpose()?;
    let relations_of = |name: &str, decls: Vec<RelationDecl>| {
        decls.into_iter().map(|r| relation(r).map_err(|e| field(name, e))).collect::<anyhow::Result<Vec<_>>>()
    };
    let relations = Relations {
        depends: relations_of("depends", p.depends)?,
        deb_depends: relations_of("deb_depends", p.deb_depends)?,
        conflicts: relations_of("conflicts", p.conflicts)?,
        provides: relations_of("provides", p.provides)?,
        deb_replaces: relations_of("replaces", p.replaces)?,
        ..Relations::default()
    };
    let files = p
        .files
        .into_iter()
        .map(|f| {
            let dest = InstallPath::new(f.dest).map_err(|e| field("files.dest", e))?;
            let mode = match f.mode {
                None => FileMode::READABLE,
                Some(text) => FileMode::from_octal(&text).map_err(|e| field(&format!("files.mode of {dest}"), e))?,
            };
            let kind = match (f.config, f.doc) {
                (true, true) => {
                    return Err(field(&format!("files of {dest}"), "`config` and `doc` exclude each other".into()));
                }
                (true, false) => FileKind::Config,
                (false, true) => FileKind::Doc,
                (false, false) => FileKind::Regular,
            };
            Ok(DeclaredFile { source: f.source, dest, mode, kind })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scripts = p.scripts.map(|set| PackageName::new(set).map_err(|e| field("scripts", e))).transpose()?;
    Ok(Declaration {
        name,
        summary: p.summary,
        description: p.description,
        group: p.group,
        bundles,
        arch,
        in_default_set: p.in_default_set,
        fixed_version,
        record_content: p.record_content,
        relations,
        scripts,
        files,
        connector: None,
        origin: CATALOG_FILE,
    })
}

fn bundle(symbolic_name: String, target: String, targets: &BTreeMap<String, Target>) -> Result<DeclaredBundle, String> {
    match targets.get(&target) {
        Some(t) => Ok(DeclaredBundle { symbolic_name, target: t.clone() }),
        None => Err(format!(
            "bundle `{symbolic_name}`: unknown target `{target}`: use one of {}",
            targets.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
}

fn relation(r: RelationDecl) -> Result<Relation, String> {
    let name = PackageName::new(r.name.clone())?;
    let Some(text) = r.version.as_deref().map(str::trim) else { return Ok(Relation::any(name)) };
    let (op, rest) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt), ("=", Op::Eq)]
        .iter()
        .find_map(|(p, op)| text.strip_prefix(p).map(|rest| (*op, rest.trim())))
        .ok_or_else(|| {
            format!("relation on `{name}`: `version = \"{text}\"` must start with >=, <=, >, < or =, e.g. `>= 4.2`")
        })?;
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || ".+~-".contains(c)) {
        return Err(format!("relation on `{name}`: `version = \"{text}\"`: `{rest}` is not a version, e.g. `>= 4.2`"));
    }
    Ok(Relation::with(name, op, VersionRef::Literal(rest.to_string())))
}

/// One `bm-nextcloudXX` from the matrix's template. It provides and conflicts with the virtual
/// connector package: one connector at a time, switched in one transaction. On Debian it also
/// replaces the virtual package and each other connector by name: apt switches through the
/// virtual conflict, but `dpkg -i` removes an installed package in favour of a new one only
/// when the new one replaces it by its own name.
fn connector_declaration(
    matrix: &NextcloudMatrix,
    major: u32,
    targets: &BTreeMap<String, Target>,
) -> anyhow::Result<Declaration> {
    let c = &matrix.connector;
    let field = |name: &str, e: String| anyhow!("{MATRIX_FILE}: field `connector.{name}`: {e}");
    let name_of = |text: String, of: &str| PackageName::new(text).map_err(|e| field(of, e));
    let m = major.to_string();
    let virtual_package = name_of(c.virtual_package.clone(), "virtual")?;
    let mut replaces = vec![Relation::any(virtual_package.clone())];
    for &other in matrix.majors.iter().filter(|&&other| other != major) {
        replaces.push(Relation::any(name_of(matrix.package_for(other), "package")?));
    }
    Ok(Declaration {
        name: name_of(matrix.package_for(major), "package")?,
        summary: c.summary.replace("{major}", &m),
        description: c.description.replace("{major}", &m),
        group: Some(NEXTCLOUD_GROUP.to_string()),
        bundles: vec![bundle(matrix.bundle_for(major), c.target.clone(), targets).map_err(|e| field("target", e))?],
        arch: Arch::All,
        in_default_set: true,
        fixed_version: None,
        record_content: false,
        relations: Relations {
            conflicts: vec![Relation::any(virtual_package.clone())],
            provides: vec![Relation::any(virtual_package)],
            deb_replaces: replaces,
            ..Relations::default()
        },
        scripts: None,
        files: Vec::new(),
        connector: Some((major, name_of(c.requires.clone(), "requires")?)),
        origin: MATRIX_FILE,
    })
}

/// What only the whole set can tell: a name declared once, a bundle in one package.
fn check_together(declarations: &[Declaration]) -> anyhow::Result<()> {
    let mut names = BTreeSet::new();
    let mut bundles = BTreeMap::new();
    for d in declarations {
        if !names.insert(&d.name) {
            bail!("{}: package `{}` is declared twice: keep one declaration", d.origin, d.name);
        }
        for b in &d.bundles {
            if let Some(other) = bundles.insert(&b.symbolic_name, &d.name) {
                bail!(
                    "{}: bundle `{}` is declared by both `{other}` and `{}`: a jar belongs to one package",
                    d.origin,
                    b.symbolic_name,
                    d.name
                );
            }
        }
    }
    Ok(())
}
