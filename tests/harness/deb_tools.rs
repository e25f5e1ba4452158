//! Helpers for the `.deb` tests: a realistic package built by hand, the real Debian tools
//! (dpkg-deb, dpkg, lintian) run with clear failures when they are missing.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use bmpack::format::deb::DebPackager;
use bmpack::format::{Compression, Packager, WriteOptions};
use bmpack::model::{
    Arch, DebScripts, FileKind, FileMode, FileSource, MaintainerScripts, Op, Package, PayloadFile, Relation, Relations,
    VersionRef,
};
use bmpack::version::PackageVersion;

pub use crate::tools::require_tool;

/// 2024-02-29 12:34:56 UTC: a date no test machine's clock shows, so a leak of "now" shows.
pub const SOURCE_DATE_EPOCH: u64 = 1_709_210_096;

pub const CORE_JAR: &str = "/usr/share/bm-core/extensions/net.bluemind.filehosting.nextcloud_4.8.2.jar";
/// Over 100 bytes once prefixed with `./`: exercises tar's GNU long names, as real bundle
/// file names with a build qualifier do.
pub const WEBSERVER_JAR: &str =
    "/usr/share/bm-webserver/extensions/net.bluemind.ui.adminconsole.nextcloud.settings_4.8.2.v20240229-1234.jar";

pub const POSTINST: &str = r#"#!/bin/sh
# Empties the OSGi caches and restarts BlueMind once the bundles are in place; in the tests
# (dpkg --force-script-chrootless into a throwaway root) it only leaves a marker under DPKG_ROOT.
set -e

case "$1" in
    configure|triggered)
        mkdir -p "${DPKG_ROOT:-}/var/lib/bm-nextcloud-common"
        echo "$1" >> "${DPKG_ROOT:-}/var/lib/bm-nextcloud-common/postinst-ran"
        ;;
esac

exit 0
"#;

pub const TRIGGERS: &str =
    "interest-noawait /usr/share/bm-core/extensions\ninterest-noawait /usr/share/bm-webserver/extensions\n";

/// What a fake bundle holds besides its manifest.
pub enum JarPayload {
    /// One class file of this class-file major version (55 = Java 11, 65 = Java 21).
    Class(u8),
    /// Web resources only, as BlueMind's GWT admin-console bundles are.
    WebResources,
}

/// A small but real jar: a zip with an OSGi manifest and `payload`.
pub fn fake_jar(symbolic_name: &str, version: &str, payload: JarPayload) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let manifest = format!(
        "Manifest-Version: 1.0\r\nBundle-ManifestVersion: 2\r\nBundle-SymbolicName: {symbolic_name};singleton:=true\r\nBundle-Version: {version}\r\n\r\n"
    );
    zip.start_file("META-INF/MANIFEST.MF", opts).unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    let filler = (0..3000u32).map(|i| (i * 7 % 251) as u8);
    match payload {
        JarPayload::Class(major) => {
            zip.start_file(format!("{}/Activator.class", symbolic_name.replace('.', "/")), opts).unwrap();
            // Class file magic, minor 0, then the major version lintian reads.
            let mut class = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, major];
            class.extend(filler);
            zip.write_all(&class).unwrap();
        }
        JarPayload::WebResources => {
            zip.start_file("web-resources/settings.nocache.js", opts).unwrap();
            zip.write_all(&filler.collect::<Vec<u8>>()).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// The core jar of the sample package: Java 21 bytecode, newer than Debian 12's default JVM
/// (Java 17), which lintian flags and our overrides answer.
pub fn core_jar() -> Vec<u8> {
    fake_jar("net.bluemind.filehosting.nextcloud", "4.8.2", JarPayload::Class(65))
}

/// The admin-console jar of the sample package: a GWT bundle, no classes.
pub fn webserver_jar() -> Vec<u8> {
    fake_jar("net.bluemind.ui.adminconsole.nextcloud.settings", "4.8.2", JarPayload::WebResources)
}

/// `bm-nextcloud-common` as the catalog would declare it, its jars written under `dir`.
pub fn sample_package(dir: &Path) -> Package {
    let core = dir.join("core.jar");
    std::fs::write(&core, core_jar()).unwrap();
    let webserver = dir.join("webserver.jar");
    std::fs::write(&webserver, webserver_jar()).unwrap();
    let version = PackageVersion::parse("4.8.2", 1).unwrap();
    Package {
        name: "bm-nextcloud-common".parse().unwrap(),
        version: version.clone(),
        arch: Arch::All,
        summary: "BlueMind file hosting on Nextcloud: common bundles".into(),
        description: "Lets BlueMind users keep the files they attach to their mail in their own\n\
                      Nextcloud space instead of BlueMind's internal store.\n\
                      \n\
                      This package carries the file hosting bundle for bm-core and the Nextcloud\n\
                      settings page of the admin console.\n"
            .into(),
        maintainer: "bmpack maintainers <bmpack@bluemind.net>".into(),
        license: "AGPL-3.0-only".into(),
        copyright: std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/copyright"))
            .expect("packaging/copyright is readable"),
        homepage: "https://www.bluemind.net/".into(),
        vendor: "BlueMind".into(),
        section: "misc".into(),
        rpm_group: "Applications/Internet".into(),
        files: vec![
            PayloadFile {
                dest: CORE_JAR.parse().unwrap(),
                source: FileSource::Path(core),
                mode: FileMode::READABLE,
                kind: FileKind::Regular,
            },
            PayloadFile {
                dest: WEBSERVER_JAR.parse().unwrap(),
                source: FileSource::Path(webserver),
                mode: FileMode::READABLE,
                kind: FileKind::Regular,
            },
        ],
        relations: Relations {
            depends: vec![
                Relation::with("bm-core".parse().unwrap(), Op::Ge, VersionRef::Literal("4.2".into())),
                Relation::with("bm-webserver".parse().unwrap(), Op::Ge, VersionRef::Literal("4.2".into())),
            ],
            provides: vec![Relation::any("bm-nextcloud-api".parse().unwrap())],
            conflicts: vec![Relation::with(
                "bm-nextcloud-legacy".parse().unwrap(),
                Op::Lt,
                VersionRef::Package(version.clone()),
            )],
            deb_replaces: vec![Relation::with(
                "bm-nextcloud-legacy".parse().unwrap(),
                Op::Lt,
                VersionRef::Package(version),
            )],
            ..Relations::default()
        },
        scripts: MaintainerScripts {
            deb: DebScripts {
                scripts: [(bmpack::model::DebScript::Postinst, POSTINST.to_string())].into(),
                triggers: Some(TRIGGERS.into()),
            },
            ..MaintainerScripts::default()
        },
        // What the catalog gives a package with jars.
        deb_lintian_overrides: Some(
            [
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../debian/lintian-overrides")),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../debian/jars.lintian-overrides")),
            ]
            .join("\n"),
        ),
    }
}

/// A package that only stands in for `name` (bm-core, bm-webserver) so that dependencies
/// are met in a throwaway root: no payload, no scripts.
pub fn stub_package(dir: &Path, name: &str, version: &str) -> Package {
    let mut pkg = sample_package(dir);
    pkg.name = name.parse().unwrap();
    pkg.version = PackageVersion::parse(version, 1).unwrap();
    pkg.summary = format!("Stand-in for {name} in tests");
    pkg.files.clear();
    pkg.relations = Relations::default();
    pkg.scripts = MaintainerScripts::default();
    pkg
}

/// A file made in memory, for tests that add one to the sample package.
pub fn bytes_file(dest: &str, content: &str, kind: FileKind) -> PayloadFile {
    PayloadFile {
        dest: dest.parse().unwrap(),
        source: FileSource::Bytes(Arc::from(content.as_bytes())),
        mode: FileMode::READABLE,
        kind,
    }
}

pub fn options(compression: Compression) -> WriteOptions {
    WriteOptions { compression, source_date_epoch: SOURCE_DATE_EPOCH }
}

/// Writes `pkg` with the .deb writer into `dir` under its conventional name.
pub fn write_deb(pkg: &Package, opts: &WriteOptions, dir: &Path) -> PathBuf {
    let path = dir.join(DebPackager.file_name(pkg));
    let mut bytes = Vec::new();
    DebPackager.write(pkg, opts, &mut bytes).expect("the .deb writer succeeds");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `cmd`, failing the test with its output if it does not succeed.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("tool output is UTF-8")
}

/// `dpkg-deb --field deb field`.
pub fn deb_field(deb: &Path, field: &str) -> String {
    stdout(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field)).trim_end().to_string()
}

/// An empty dpkg database under `root` (`var/lib/dpkg`), for `dpkg --root` style installs.
pub fn empty_dpkg_root(root: &Path) -> PathBuf {
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    admin
}

/// `dpkg` acting on the throwaway root: its own database, maintainer scripts run without
/// chroot (the root has no shell) with DPKG_ROOT set, missing dependencies allowed.
pub fn dpkg_in(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()))
        .arg("--force-script-chrootless")
        .arg("--force-not-root")
        .arg("--force-depends")
        .arg("--log=/dev/null");
    cmd
}
