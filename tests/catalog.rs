//! The package set as declared in packaging/: what gets built from which jars, and the clear
//! errors for declarations and jars that do not fit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bmpack::bundle::{Bundle, BundleSet};
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::model::{Arch, Op, VersionRef};
use bmpack::nextcloud::NextcloudRelease;
use bmpack_tests::tools::project_root;

fn jar(name: &str, version: &str) -> Bundle {
    Bundle {
        symbolic_name: name.to_string(),
        version: version.to_string(),
        path: PathBuf::from(format!("/nonexistent/{name}.jar")),
        origin: format!("bundles/{name}/{name}-{version}.jar"),
    }
}

fn set(jars: &[(&str, &str)]) -> BundleSet {
    let bundles: BTreeMap<String, Bundle> = jars.iter().map(|(n, v)| (n.to_string(), jar(n, v))).collect();
    BundleSet { bundles, source: PathBuf::from("bundles"), _extracted: None }
}

fn all_jars(version: &str) -> BundleSet {
    let catalog = Catalog::load(&project_root()).unwrap();
    let names = catalog.declared_bundles();
    set(&names.iter().map(|n| (n.as_str(), version)).collect::<Vec<_>>())
}

fn names(opts: &ResolveOptions) -> Vec<String> {
    let catalog = Catalog::load(&project_root()).unwrap();
    let resolved = catalog.resolve(&all_jars("4.8.2"), opts, Some(&project_root())).unwrap();
    resolved.packages.iter().map(|p| p.name.to_string()).collect()
}

#[test]
fn the_declared_set_holds_the_plugins_and_one_connector_per_matrix_entry() {
    let got = names(&ResolveOptions::default());
    for expected in [
        "bm-nextcloud-common",
        "bm-nextcloud11",
        "bm-nextcloud12",
        "bm-plugin-core-videoconferencing-starleaf",
        "bm-plugin-admin-console-videoconferencing-starleaf",
    ] {
        assert!(got.contains(&expected.to_string()), "{expected} missing from {got:?}");
    }
}

#[test]
fn plugins_are_architecture_independent_and_land_in_the_extension_folders() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let resolved = catalog.resolve(&all_jars("4.8.2"), &ResolveOptions::default(), Some(&project_root())).unwrap();
    let common = resolved.packages.iter().find(|p| p.name == "bm-nextcloud-common").unwrap();
    assert_eq!(common.arch, Arch::All);
    let dests: Vec<&str> = common.files.iter().map(|f| f.dest.as_str()).collect();
    assert!(dests.contains(&"/usr/share/bm-core/extensions/net.bluemind.filehosting.nextcloud-4.8.2.jar"), "{dests:?}");
    assert!(
        dests.contains(&"/usr/share/bm-webserver/extensions/net.bluemind.ui.adminconsole.nextcloud.settings-4.8.2.jar"),
        "{dests:?}"
    );
    let bm_core = common.relations.depends.iter().find(|r| r.name == "bm-core").unwrap();
    assert_eq!(bm_core.constraint, Some((Op::Ge, VersionRef::Literal("4.2".into()))));
}

#[test]
fn a_connector_needs_common_at_exactly_its_version_and_excludes_the_other_connectors() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let resolved = catalog.resolve(&all_jars("4.8.2"), &ResolveOptions::default(), Some(&project_root())).unwrap();
    let c12 = resolved.packages.iter().find(|p| p.name == "bm-nextcloud12").unwrap();
    let dep = c12.relations.depends.iter().find(|r| r.name == "bm-nextcloud-common").unwrap();
    let (op, v) = dep.constraint.clone().unwrap();
    assert_eq!(op, Op::Eq);
    assert_eq!(v.deb(), "4.8.2-1");
    assert_eq!(v.rpm(), "4.8.2-1");
    for rels in [&c12.relations.provides, &c12.relations.conflicts, &c12.relations.deb_replaces] {
        assert!(rels.iter().any(|r| r.name == "bm-nextcloud-connector"), "{rels:?}");
    }
}

#[test]
fn nextcloud_version_builds_common_and_only_the_connector_it_needs() {
    let opts = |v: &str| ResolveOptions { nextcloud: Some(NextcloudRelease::parse(v).unwrap()), ..Default::default() };
    let got = names(&opts("25.0.3"));
    assert!(got.contains(&"bm-nextcloud-common".to_string()) && got.contains(&"bm-nextcloud12".to_string()), "{got:?}");
    assert!(!got.contains(&"bm-nextcloud11".to_string()), "{got:?}");
    assert!(!got.iter().any(|n| n.contains("starleaf")), "{got:?}");
    let got = names(&opts("11.0.8"));
    assert!(got.contains(&"bm-nextcloud11".to_string()) && !got.contains(&"bm-nextcloud12".to_string()), "{got:?}");

    let catalog = Catalog::load(&project_root()).unwrap();
    let err = catalog.resolve(&all_jars("4.8.2"), &opts("10.0.2"), Some(&project_root())).unwrap_err().to_string();
    assert!(err.contains("--nextcloud-version") && err.contains("11, 12 and later"), "{err}");
}

#[test]
fn a_missing_declared_bundle_names_the_bundle_and_the_fix() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let mut jars = all_jars("4.8.2");
    jars.bundles.remove("net.bluemind.filehosting.nextcloud12");
    let err = catalog.resolve(&jars, &ResolveOptions::default(), Some(&project_root())).unwrap_err().to_string();
    assert!(err.contains("bm-nextcloud12"), "{err}");
    assert!(err.contains("Bundle-SymbolicName: net.bluemind.filehosting.nextcloud12"), "{err}");
    assert!(err.contains("packaging/nextcloud.toml"), "{err}");
    assert!(err.contains("add that jar"), "{err}");
}

#[test]
fn a_jar_whose_version_disagrees_with_the_package_version_is_named() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let mut jars = all_jars("4.8.2");
    jars.bundles.get_mut("net.bluemind.ui.adminconsole.nextcloud.settings").unwrap().version = "4.8.1".into();
    let err = catalog.resolve(&jars, &ResolveOptions::default(), Some(&project_root())).unwrap_err().to_string();
    assert!(err.contains("net.bluemind.ui.adminconsole.nextcloud.settings-4.8.2.jar"), "{err}");
    assert!(err.contains("Bundle-Version: 4.8.1") && err.contains("4.8.2"), "{err}");

    let forced = ResolveOptions { version: Some("4.9.0".into()), ..Default::default() };
    let err = catalog.resolve(&all_jars("4.8.2"), &forced, Some(&project_root())).unwrap_err().to_string();
    assert!(err.contains("--version"), "{err}");
}

#[test]
fn a_connector_and_common_of_different_releases_are_refused() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let mut jars = all_jars("4.8.2");
    jars.bundles.get_mut("net.bluemind.filehosting.nextcloud12").unwrap().version = "4.8.3".into();
    let err = catalog.resolve(&jars, &ResolveOptions::default(), Some(&project_root())).unwrap_err().to_string();
    assert!(err.contains("bm-nextcloud12") && err.contains("exactly its version"), "{err}");
}

#[test]
fn versions_come_from_the_jars_or_from_the_command_line() {
    let catalog = Catalog::load(&project_root()).unwrap();
    let resolved =
        catalog.resolve(&all_jars("4.8.2.v20240101-1200"), &ResolveOptions::default(), Some(&project_root())).unwrap();
    let p = resolved.packages.iter().find(|p| p.name == "bm-nextcloud11").unwrap();
    assert_eq!(p.version.deb(), "4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-1");
    let opts = ResolveOptions { version: Some("4.8.2.v20240101-1200".into()), revision: Some(3), ..Default::default() };
    let resolved = catalog.resolve(&all_jars("4.8.2.v20240101-1200"), &opts, Some(&project_root())).unwrap();
    assert_eq!(resolved.packages[0].version.rpm_evr(), "4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-3");
}

#[test]
fn a_bad_declaration_names_the_file_and_the_field() {
    let root = tempfile_root(|toml| toml.replace("target = \"webserver\"", "target = \"webservr\""));
    let err = Catalog::load(root.path()).unwrap_err().to_string();
    assert!(err.contains("packaging/bmpack.toml") && err.contains("unknown target `webservr`"), "{err}");

    let root = tempfile_root(|toml| toml.replace("version = \">= 4.2\"", "version = \"4.2+\""));
    let err = Catalog::load(root.path()).unwrap_err().to_string();
    assert!(
        err.contains("packaging/bmpack.toml: package `bm-nextcloud-common`, field `depends`")
            && err.contains("`version = \"4.2+\"` must start with >="),
        "{err}"
    );

    let root = tempfile_root(|toml| toml.replace("summary =", "sumary ="));
    let err = format!("{:#}", Catalog::load(root.path()).unwrap_err());
    assert!(err.contains("packaging/bmpack.toml") && err.contains("sumary"), "{err}");
}

/// A copy of the project's declarations with `packaging/bmpack.toml` edited.
fn tempfile_root(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = project_root();
    for sub in ["packaging", "debian", "rpm"] {
        copy_dir(&src.join(sub), &dir.join(sub));
    }
    let path = dir.join("packaging/bmpack.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    tmp
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_server_tool_package_is_built_only_when_asked_and_carries_the_crate_version() {
    assert!(!names(&ResolveOptions::default()).contains(&"bmpack".to_string()));
    let catalog = Catalog::load(&project_root()).unwrap();
    let tool = catalog.declarations.iter().find(|d| d.name == "bmpack").expect("declared");
    assert_eq!(tool.arch, Arch::Amd64);
    let cargo = std::fs::read_to_string(project_root().join("crates/bmpack-server/Cargo.toml")).unwrap();
    let crate_version = cargo.lines().find_map(|l| l.strip_prefix("version = ")).unwrap().trim_matches('"');
    let toml = std::fs::read_to_string(project_root().join("packaging/bmpack.toml")).unwrap();
    let declared =
        toml.split("name = \"bmpack\"").nth(1).unwrap().lines().find_map(|l| l.strip_prefix("version = ")).unwrap();
    assert_eq!(
        declared.trim_matches('"'),
        crate_version,
        "packaging/bmpack.toml: the tool's `version` must follow its Cargo.toml"
    );
}
