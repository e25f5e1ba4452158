//! The package catalog: `packaging/bmpack.toml` and `packaging/nextcloud.toml`, parsed once
//! into checked declarations, and everything the rest of bmpack asks of them.
//!
//! * [`Catalog::parse`] turns the texts into values (`declared.rs`); it touches no disk, so the
//!   server tool parses the copy compiled into it ([`Catalog::builtin`]) and `cargo xtask`
//!   reads the files ([`Catalog::load`]).
//! * [`Catalog::select`] is the one choice of packages: `--package`, `--nextcloud-version`,
//!   the default set, the plug-ins whose jars are there (`bmpack deploy`), closed over the
//!   packages of ours they depend on.
//! * [`Catalog::resolve`] matches declared bundles to jars, settles versions and fills the
//!   model (`resolve.rs`).

mod declared;
mod resolve;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::bundle::BundleSet;
use crate::model::{Arch, FileKind, FileMode, InstallPath, Op, PackageName, Relations, Target, VersionRef};
use crate::nextcloud::{NextcloudMatrix, NextcloudRelease, select_connector_package};
use crate::version::PackageVersion;
pub use resolve::Resolved;

pub const CATALOG_FILE: &str = "packaging/bmpack.toml";
pub const MATRIX_FILE: &str = "packaging/nextcloud.toml";
/// Packages in this group form the Nextcloud family that `--nextcloud-version` narrows to.
pub const NEXTCLOUD_GROUP: &str = "nextcloud";

/// The texts a catalog is made of.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// `packaging/bmpack.toml`.
    pub catalog: &'a str,
    /// `packaging/nextcloud.toml`.
    pub matrix: &'a str,
    /// The file `defaults.copyright_file` names, given the name: the text of
    /// `/usr/share/doc/<package>/copyright`.
    pub copyright: &'a dyn Fn(&str) -> anyhow::Result<String>,
}

/// A package as declared, checked, before bundles are matched.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub name: PackageName,
    pub summary: String,
    pub description: String,
    pub group: Option<String>,
    pub bundles: Vec<DeclaredBundle>,
    pub arch: Arch,
    /// Built when no `--package` narrows the set.
    pub in_default_set: bool,
    fixed_version: Option<FixedVersion>,
    /// With a fixed version: its content is recorded per version (packaging/fixed-versions.toml).
    pub record_content: bool,
    /// As declared; the connectors' exact dependency on their common package is added at
    /// resolve time, when its version is known.
    pub relations: Relations,
    /// A maintainer-script set (`scripts.rs`), named like a package: it names the set's paths.
    pub scripts: Option<PackageName>,
    pub files: Vec<DeclaredFile>,
    /// For a Nextcloud connector: its major and the package it needs at the same version.
    connector: Option<(u32, PackageName)>,
    /// Where it was declared, for error messages.
    pub origin: &'static str,
}

/// A jar a package carries: its `Bundle-SymbolicName` and where it is installed.
#[derive(Debug, Clone)]
pub struct DeclaredBundle {
    pub symbolic_name: String,
    pub target: Target,
}

/// A file a package carries besides jars, read from the project tree at build time.
#[derive(Debug, Clone)]
pub struct DeclaredFile {
    /// Relative to the project root.
    pub source: String,
    pub dest: InstallPath,
    pub mode: FileMode,
    pub kind: FileKind,
}

#[derive(Debug, Clone)]
struct FixedVersion {
    /// As written in packaging/bmpack.toml: the key of packaging/fixed-versions.toml.
    text: String,
    version: PackageVersion,
}

impl Declaration {
    /// The version given in the declaration (`version = "2.0.0"`), for packages without jars.
    pub fn fixed_version(&self) -> Option<&str> {
        self.fixed_version.as_ref().map(|v| v.text.as_str())
    }

    /// The version constraint of a Debian-only dependency as declared, e.g. `>= 2.28` for
    /// `libc6` (the server tool's build reads the glibc it must link against from it).
    pub fn deb_depends_version(&self, name: &str) -> Option<(Op, &str)> {
        self.relations.deb_depends.iter().find(|r| r.name == name).and_then(|r| match &r.constraint {
            Some((op, VersionRef::Literal(v))) => Some((*op, v.as_str())),
            _ => None,
        })
    }

    /// Whether this is a Nextcloud connector (`bm-nextcloudXX`, from the matrix).
    pub fn is_connector(&self) -> bool {
        self.connector.is_some()
    }

    /// The names of the packages it conflicts with (what installing it removes).
    pub fn conflict_names(&self) -> Vec<&str> {
        self.relations.conflicts.iter().map(|r| r.name.as_str()).collect()
    }

    /// Declares the jar with this `Bundle-SymbolicName`.
    pub fn carries(&self, symbolic_name: &str) -> bool {
        self.bundles.iter().any(|b| b.symbolic_name == symbolic_name)
    }
}

/// The checked declarations.
#[derive(Debug, Clone)]
pub struct Catalog {
    defaults: declared::Defaults,
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
    /// `bmpack deploy`: besides the Nextcloud family of `nextcloud`, every other plug-in of
    /// the default set whose jars are all in the bundle set (StarLeaf when its jars are there).
    pub plugins_with_jars: bool,
}

impl Catalog {
    /// The catalog compiled into the program (the server tool answers without the repository).
    pub fn builtin() -> Catalog {
        const CATALOG: &str = include_str!("../../../../packaging/bmpack.toml");
        const COPYRIGHT: &str = include_str!("../../../../packaging/copyright");
        let copyright = |name: &str| match name {
            "copyright" => Ok(COPYRIGHT.to_string()),
            other => bail!("packaging/{other} is not compiled in: name packaging/copyright in `copyright_file`"),
        };
        let sources =
            Sources { catalog: CATALOG, matrix: crate::nextcloud::BUILTIN_MATRIX_TOML, copyright: &copyright };
        Catalog::parse(&sources).expect("the compiled-in catalog is checked by its tests")
    }

    /// Reads `packaging/bmpack.toml`, `packaging/nextcloud.toml` and the copyright file under
    /// the project root.
    pub fn load(root: &Path) -> anyhow::Result<Catalog> {
        let read = |rel: &str| {
            std::fs::read_to_string(root.join(rel)).with_context(|| format!("cannot read {}", root.join(rel).display()))
        };
        let copyright = |name: &str| {
            read(&format!("packaging/{name}"))
                .with_context(|| format!("{CATALOG_FILE}: field `defaults.copyright_file`"))
        };
        Catalog::parse(&Sources { catalog: &read(CATALOG_FILE)?, matrix: &read(MATRIX_FILE)?, copyright: &copyright })
    }

    /// The texts → checked declarations. Touches no disk.
    pub fn parse(sources: &Sources) -> anyhow::Result<Catalog> {
        let file = declared::CatalogFile::parse(sources.catalog)?;
        let matrix = NextcloudMatrix::from_toml(sources.matrix, MATRIX_FILE)?;
        let copyright = (sources.copyright)(&file.defaults.copyright_file)?;
        let (targets, defaults, declarations) = file.check(&matrix)?;
        Ok(Catalog { defaults, copyright, targets, matrix, declarations })
    }

    /// Every bundle some package declares.
    pub fn declared_bundles(&self) -> Vec<String> {
        self.declarations.iter().flat_map(|d| d.bundles.iter().map(|b| b.symbolic_name.clone())).collect()
    }

    /// The declaration of a package.
    pub fn declaration(&self, name: &str) -> Option<&Declaration> {
        self.declarations.iter().find(|d| d.name == name)
    }

    /// The declarations `opts` selects, in declaration order. `bundles` is the set the jars
    /// come from, which `opts.plugins_with_jars` needs.
    pub fn select(&self, opts: &ResolveOptions, bundles: Option<&BundleSet>) -> anyhow::Result<Vec<&Declaration>> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for name in &opts.only {
            let Some(d) = self.declaration(name) else {
                bail!(
                    "--package {name}: no such package in {CATALOG_FILE} or {MATRIX_FILE}: declared are {}",
                    self.declarations.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
                );
            };
            wanted.insert(&d.name);
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
        if opts.plugins_with_jars {
            let bundles = bundles.ok_or_else(|| anyhow!("internal error: selecting by jars without jars"))?;
            for d in &self.declarations {
                let complete =
                    !d.bundles.is_empty() && d.bundles.iter().all(|b| bundles.get(&b.symbolic_name).is_some());
                if complete && d.in_default_set && d.group.as_deref() != Some(NEXTCLOUD_GROUP) {
                    wanted.insert(&d.name);
                }
            }
            if wanted.is_empty() {
                return Ok(Vec::new());
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
                    for r in &d.relations.depends {
                        if let Some(dep) = self.declaration(&r.name) {
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
            let Some(d) = self.declaration(&current) else { continue };
            for r in &d.relations.depends {
                match &r.constraint {
                    _ if r.name != name => queue.push(r.name.to_string()),
                    Some((op, VersionRef::Literal(v))) => out.push((*op, v.clone())),
                    _ => {}
                }
            }
            if let Some((_, common)) = &d.connector {
                queue.push(common.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(catalog: &str) -> anyhow::Result<Catalog> {
        let copyright = |_: &str| Ok("c".to_string());
        Catalog::parse(&Sources { catalog, matrix: crate::nextcloud::BUILTIN_MATRIX_TOML, copyright: &copyright })
    }

    const HEAD: &str = r#"
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
"#;

    /// StarLeaf for BlueMind 4.5.3 up to 4.x (two relations on one name), Nextcloud for 4.2
    /// and later, the connectors through bm-nextcloud-common.
    #[test]
    fn the_bluemind_range_comes_from_the_relations() {
        let catalog = parse(&format!(
            r#"{HEAD}
[[package]]
name = "bm-nextcloud-common"
group = "nextcloud"
summary = "s"
description = "d"
bundles = [{{ name = "net.bluemind.filehosting.nextcloud", target = "core" }}]
depends = [{{ name = "bm-core", version = ">= 4.2" }}]

[[package]]
name = "bm-plugin-core-videoconferencing-starleaf"
summary = "s"
description = "d"
bundles = [{{ name = "net.bluemind.videoconferencing.starleaf", target = "core" }}]
depends = [{{ name = "bm-core", version = ">= 4.5.3" }}, {{ name = "bm-core", version = "< 5~" }}]
"#
        ))
        .unwrap();
        assert_eq!(
            catalog.constraints_on("bm-plugin-core-videoconferencing-starleaf", "bm-core"),
            [(Op::Ge, "4.5.3".to_string()), (Op::Lt, "5~".to_string())]
        );
        assert_eq!(catalog.constraints_on("bm-nextcloud12", "bm-core"), [(Op::Ge, "4.2".to_string())]);
        assert!(catalog.constraints_on("bm-nextcloud12", "bm-webserver").is_empty());
    }

    /// Each bad value is refused where it is declared, naming the file, the package, the field.
    #[test]
    fn bad_values_name_the_file_the_package_and_the_field() {
        let package = |body: &str| format!("{HEAD}\n[[package]]\nsummary = \"s\"\ndescription = \"d\"\n{body}\n");
        for (body, expected) in [
            ("name = \"Bad\"\nversion = \"1\"", "package `Bad`: `Bad` is not a package name"),
            ("name = \"bm-x\"", "package `bm-x`, field `version`: the package has no bundles"),
            ("name = \"bm-x\"\nversion = \"x.y\"", "package `bm-x`, field `version`"),
            (
                "name = \"bm-x\"\nversion = \"1\"\nfiles = [{ source = \"a\", dest = \"usr/a\" }]",
                "package `bm-x`, field `files.dest`: `usr/a` is not absolute",
            ),
            (
                "name = \"bm-x\"\nversion = \"1\"\nfiles = [{ source = \"a\", dest = \"/usr/a\", mode = \"888\" }]",
                "package `bm-x`, field `files.mode of /usr/a`: `888` is not an octal file mode",
            ),
            (
                "name = \"bm-x\"\nversion = \"1\"\ndepends = [{ name = \"bm core\" }]",
                "package `bm-x`, field `depends`: `bm core` is not a package name",
            ),
            (
                "name = \"bm-x\"\nversion = \"1\"\ndepends = [{ name = \"bm-core\", version = \"4.2\" }]",
                "package `bm-x`, field `depends`: relation on `bm-core`: `version = \"4.2\"` must start with",
            ),
            (
                "name = \"bm-x\"\nbundles = [{ name = \"b\", target = \"nowhere\" }]",
                "package `bm-x`, field `bundles`: bundle `b`: unknown target `nowhere`: use one of core",
            ),
            ("name = \"bm-nextcloud12\"\nversion = \"1\"", "`bm-nextcloud12` is declared twice"),
        ] {
            let e = format!("{:#}", parse(&package(body)).unwrap_err());
            assert!(e.starts_with(CATALOG_FILE) || e.contains(MATRIX_FILE), "{body}: {e}");
            assert!(e.contains(expected), "{body}:\n{e}\nshould contain:\n{expected}");
        }
        let e = parse(&HEAD.replace("/var/lib/bm-core", "var/lib")).unwrap_err().to_string();
        assert!(e.contains("field `targets.core.cache`: `var/lib` is not absolute"), "{e}");
        let e = parse(&HEAD.replace("\"bm-core\"", "\"bm-core.service\"")).unwrap_err().to_string();
        assert!(e.contains("field `targets.core.service`"), "{e}");
    }

    #[test]
    fn the_compiled_in_catalog_is_the_project_s() {
        let builtin = Catalog::builtin();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let loaded = Catalog::load(&root).unwrap();
        let names = |c: &Catalog| c.declarations.iter().map(|d| d.name.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&builtin), names(&loaded));
        assert!(builtin.declared_bundles().iter().any(|b| b == "net.bluemind.filehosting.nextcloud"));
        assert_eq!(builtin.copyright, loaded.copyright);
    }
}
