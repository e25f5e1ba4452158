//! The packages the install tests put on a throwaway server, all written by bmpack's own
//! writers (`Format::packager().write`) from `model::Package` values:
//!
//! * our packages, from the real catalog (`packaging/*.toml` + the script templates) with tiny
//!   stand-in jars, at two releases (1.0.0 and 2.0.0) for upgrades and downgrades;
//! * stand-ins for what BlueMind ships: `bm-core` and `bm-webserver` (two releases each, and a
//!   `bm-core` that declares its own trigger on its extensions folder, as newer ones do), and
//!   `bm-plugin-core-filehosting-filesystem` (BlueMind's own file store, for replacement mode).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bmpack::bundle::{Bundle, BundleSet};
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::model::{
    Arch, FileKind, FileMode, FileSource, FileTrigger, MaintainerScripts, Package, PayloadFile, Relation, Relations,
};
use bmpack::version::PackageVersion;

use crate::tools::project_root;

/// Plug-in releases built for the tests.
pub const OLD: &str = "1.0.0";
pub const NEW: &str = "2.0.0";

/// The four plug-ins of the main scenario (Nextcloud 12 flavour).
pub const FOUR_PLUGINS: [&str; 4] = [
    "bm-nextcloud-common",
    "bm-nextcloud12",
    "bm-plugin-core-videoconferencing-starleaf",
    "bm-plugin-admin-console-videoconferencing-starleaf",
];

/// Stand-in BlueMind releases for the repository and server-tool tests (4.x, where every plug-in
/// installs). The install tests use the faithful stand-ins of tests/harness/bluemind.rs.
pub const CORE_PLAIN: [&str; 2] = ["4.8.0", "4.9.0"];
pub const WEBSERVER: [&str; 2] = ["4.8.0", "4.9.0"];
pub const FILEHOSTING: &str = "bm-plugin-core-filehosting-filesystem";

/// Writes our packages at both releases in `format` into `dir`; returns their paths.
pub fn write_ours(format: Format, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let mut packages: Vec<Package> = Vec::new();
    for release in [OLD, NEW] {
        for p in our_packages(release) {
            // The fixed-version packages (bm-plugin-reload, …) come out the same for both.
            if !packages.iter().any(|q| q.name == p.name && q.version == p.version) {
                packages.push(p);
            }
        }
    }
    packages.iter().map(|p| write_package(format, p, dir)).collect()
}

/// Writes every test package in `format` into `dir` (ours, and the stand-ins for BlueMind's
/// packages made with bmpack's writer); returns their paths.
pub fn write_all(format: Format, dir: &Path) -> Vec<PathBuf> {
    let mut paths = write_ours(format, dir);
    let mut packages = Vec::new();
    for v in CORE_PLAIN {
        packages.push(service_standin(format, "bm-core", v, false));
    }
    for v in WEBSERVER {
        packages.push(service_standin(format, "bm-webserver", v, false));
    }
    packages.push(filehosting_standin());
    paths.extend(packages.iter().map(|p| write_package(format, p, dir)));
    paths
}

/// Writes one package with bmpack's own `format` writer into `dir`; returns its path.
pub fn write_package(format: Format, p: &Package, dir: &Path) -> PathBuf {
    let opts = WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 };
    let packager = format.packager();
    let path = dir.join(packager.file_name(p));
    let mut out = std::fs::File::create(&path).unwrap();
    packager
        .write(p, &opts, &mut out)
        .unwrap_or_else(|e| panic!("bmpack's {} writer failed on {}: {e:#}", format.as_str(), p.name));
    path
}

/// Our packages at one release, resolved by the real catalog against stand-in jars.
pub fn our_packages(release: &str) -> Vec<Package> {
    let root = project_root();
    let catalog = Catalog::load(&root).unwrap_or_else(|e| panic!("{e:#}"));
    let jars = tempfile::tempdir().unwrap();
    let mut bundles = BTreeMap::new();
    for name in catalog.declared_bundles() {
        let path = jars.path().join(format!("{name}.jar"));
        // Content differs per release, as real jars do.
        std::fs::write(&path, format!("stand-in jar {name} {release}\n")).unwrap();
        let bundle = Bundle {
            symbolic_name: name.clone(),
            version: release.to_string(),
            origin: path.display().to_string(),
            path,
        };
        bundles.insert(name, bundle);
    }
    let set = BundleSet { bundles, source: jars.path().to_path_buf(), _extracted: None };
    let opts = ResolveOptions { version: Some(release.to_string()), ..ResolveOptions::default() };
    let resolved = catalog.resolve(&set, &opts, Some(&project_root())).unwrap_or_else(|e| panic!("{e:#}"));
    // The jar bytes are read when the package is written: keep them in memory instead of in a
    // folder that goes away with this function.
    resolved
        .packages
        .into_iter()
        .map(|mut p| {
            for f in &mut p.files {
                f.source = FileSource::Bytes(f.source.read().unwrap());
            }
            p
        })
        .collect()
}

fn base(name: &str, version: &str, summary: &str) -> Package {
    Package {
        name: name.parse().unwrap(),
        version: PackageVersion::parse(version, 1).unwrap(),
        arch: Arch::All,
        summary: summary.to_string(),
        description: "A stand-in made by the bmpack install tests.".to_string(),
        maintainer: "bmpack tests <tests@example.org>".to_string(),
        license: "AGPL-3.0-only".to_string(),
        copyright: "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: none\nLicense: AGPL-3.0-only\n".to_string(),
        homepage: "https://www.bluemind.net/".to_string(),
        vendor: "tests".to_string(),
        section: "misc".to_string(),
        rpm_group: "Applications/Internet".to_string(),
        files: Vec::new(),
        relations: Relations::default(),
        scripts: MaintainerScripts::default(),
        deb_lintian_overrides: None,
    }
}

fn bytes_file(dest: &str, text: &str) -> PayloadFile {
    PayloadFile {
        dest: dest.parse().unwrap(),
        source: FileSource::Bytes(Arc::from(text.as_bytes())),
        mode: FileMode::READABLE,
        kind: FileKind::Regular,
    }
}

/// A stand-in for a BlueMind service package (`bm-core`, `bm-webserver`). Like the real ones it
/// starts its service when installed and, when upgraded, stops it, empties its cache and starts it
/// again. With `self_reloading` it also watches its own extensions folder (Debian `interest`,
/// RPM `%transfiletriggerin`/`%transfiletriggerpostun`) and reloads itself when it changes.
pub fn service_standin(format: Format, service: &str, version: &str, self_reloading: bool) -> Package {
    let mut p = base(service, version, &format!("stand-in for BlueMind's {service}"));
    p.files.push(bytes_file(&format!("/usr/share/{service}/{service}-{version}.jar"), version));
    let cache = format!("/var/lib/{service}");
    let extensions = format!("/usr/share/{service}/extensions");
    let reload = format!(
        "systemctl stop {service}.service\nfind {cache} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} +\nsystemctl start {service}.service\n"
    );
    match format {
        Format::Deb => {
            p.scripts.deb.scripts.insert(
                bmpack::model::DebScript::Postinst,
                format!(
                    "#!/bin/sh\nset -e\nmkdir -p {extensions} {cache}\ncase \"$1\" in\n\
                 configure)\n  if [ -z \"$2\" ]; then systemctl start {service}.service; else\n{reload}  fi ;;\n\
                 triggered)\n{reload} ;;\nesac\nexit 0\n"
                ),
            );
            if self_reloading {
                p.scripts.deb.triggers = Some(format!("interest {extensions}\n"));
            }
        }
        Format::Rpm => {
            p.scripts.rpm.scriptlets.insert(bmpack::model::RpmScriptlet::Post, format!(
                "mkdir -p {extensions} {cache}\nif [ \"$1\" = 1 ]; then systemctl start {service}.service; else\n{reload}fi\nexit 0\n"
            ));
            if self_reloading {
                // Both triggers run on an upgrade of a plug-in; a well-made bm-core restarts once
                // per transaction (the rpm process, $PPID of every scriptlet of the transaction).
                let once = format!(
                    "mark=/var/lib/{service}-standin.reloaded\n\
                     if [ \"$(cat $mark 2>/dev/null)\" != \"$PPID\" ]; then\necho \"$PPID\" > $mark\n{reload}fi\n"
                );
                let t = FileTrigger { path: extensions.parse().unwrap(), script: format!("cat >/dev/null\n{once}") };
                p.scripts.rpm.trans_file_trigger_in.push(t);
                let t = FileTrigger { path: extensions.parse().unwrap(), script: once };
                p.scripts.rpm.trans_file_trigger_postun.push(t);
            }
        }
    }
    p
}

/// A stand-in for BlueMind's own file store plug-in: one jar in the core extensions folder.
pub fn filehosting_standin() -> Package {
    let mut p = base(FILEHOSTING, "4.9.0", "stand-in for BlueMind's internal file store");
    p.files.push(bytes_file("/usr/share/bm-core/extensions/net.bluemind.filehosting.filesystem-4.9.0.jar", "jar"));
    p.relations.depends.push(Relation::any("bm-core".parse().unwrap()));
    p
}
