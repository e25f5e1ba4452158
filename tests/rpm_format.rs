//! The `.rpm` writer, read back with the real rpm tools: what `rpm -qpi`, `-qpl`, `--requires`,
//! `--scripts`, `--filetriggers` and `rpm -K` show, what an install into a throwaway root
//! leaves on disk and runs, rpmlint with the repository's configuration, every compression,
//! and byte-identical output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bmpack::format::rpm::RpmPackager;
use bmpack::format::{Compression, Packager, WriteOptions};
use bmpack::model::{
    Arch, FileKind, FileMode, FileSource, FileTrigger, MaintainerScripts, Op, Package, PayloadFile, Relation,
    Relations, RpmScripts, VersionRef,
};
use bmpack::version::PackageVersion;
use bmpack_tests::rpm_tools::{Rpm, RpmRoot, describe, rpmlint, run, run_ok};
use bmpack_tests::tools::project_root;
use tempfile::TempDir;

/// 2024-01-02 03:04:05 UTC.
const SOURCE_DATE: u64 = 1_704_164_645;

const CORE_EXT: &str = "/usr/share/bm-core/extensions";
const WEBSERVER_EXT: &str = "/usr/share/bm-webserver/extensions";
const CORE_JAR: &str = "/usr/share/bm-core/extensions/net.bluemind.filehosting.nextcloud12-4.8.2.v20240101-1200.jar";
const WEBSERVER_JAR: &str =
    "/usr/share/bm-webserver/extensions/net.bluemind.ui.adminconsole.nextcloud12-4.8.2.v20240101-1200.jar";
const COPYRIGHT: &str = "/usr/share/doc/bm-nextcloud12/copyright";
const COPYRIGHT_TEXT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
                              Upstream-Name: BlueMind\n\nFiles: *\nCopyright: BlueMind SAS\nLicense: AGPL-3.0-only\n";
const CONFIG: &str = "/etc/bm-nextcloud12/connector.properties";
const TOOL: &str = "/usr/share/bm-nextcloud12/bin/check-connector";

/// Where the scriptlets of the sample package write, inside the root.
const LOG: &str = "/scriptlets.log";

/// A real jar: a deflated zip with an OSGi manifest and a class-like payload.
fn write_jar(path: &Path, symbolic_name: &str) {
    use zip::write::SimpleFileOptions;
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut jar = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    jar.start_file("META-INF/MANIFEST.MF", options).unwrap();
    write!(
        jar,
        "Manifest-Version: 1.0\r\nBundle-ManifestVersion: 2\r\n\
         Bundle-SymbolicName: {symbolic_name};singleton:=true\r\n\
         Bundle-Version: 4.8.2.v20240101-1200\r\n\r\n"
    )
    .unwrap();
    jar.start_file(format!("{}/Activator.class", symbolic_name.replace('.', "/")), options).unwrap();
    let class: Vec<u8> = (0u32..20_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    jar.write_all(&[0xCA, 0xFE, 0xBA, 0xBE]).unwrap();
    jar.write_all(&class).unwrap();
    jar.finish().unwrap();
}

/// Counts the files rpm passes on stdin, so the log says how often the trigger of `folder` ran
/// and on how many files.
fn trigger_in(folder: &str) -> String {
    format!(
        "n=0\nwhile read -r _file; do\n    n=$((n + 1))\ndone\necho \"transfiletriggerin {folder} $n\" >> /scriptlets.log\n"
    )
}

fn trigger_postun(folder: &str) -> String {
    format!("echo \"transfiletriggerpostun {folder}\" >> /scriptlets.log\n")
}

/// The lines of the scriptlet log, sorted: rpm runs the triggers of one transaction in an order
/// of its own.
fn log_lines(log: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort_unstable();
    lines
}

const POST: &str = "echo \"post $1\" >> /scriptlets.log\n";

/// A Nextcloud connector as the catalog would declare it, jars in both extensions folders.
fn sample_package(jars: &Path) -> Package {
    let core = jars.join("core.jar");
    let webserver = jars.join("webserver.jar");
    write_jar(&core, "net.bluemind.filehosting.nextcloud12");
    write_jar(&webserver, "net.bluemind.ui.adminconsole.nextcloud12");
    let version = PackageVersion::parse("4.8.2.v20240101-1200", 2).unwrap();
    let file = |dest: &str, source: FileSource, mode: u32, kind: FileKind| PayloadFile {
        dest: dest.parse().unwrap(),
        source,
        mode: FileMode::from_octal(&format!("{mode:o}")).unwrap(),
        kind,
    };
    Package {
        name: "bm-nextcloud12".parse().unwrap(),
        version: version.clone(),
        arch: Arch::All,
        summary: "BlueMind file hosting on Nextcloud: connector for Nextcloud 12 and later".into(),
        description: "Connects BlueMind's file hosting to Nextcloud 12 and later.\n\n\
                      Only one bm-nextcloudXX connector can be installed at a time; installing\n\
                      this one replaces the others."
            .into(),
        maintainer: "bmpack maintainers <bmpack@bluemind.net>".into(),
        license: "AGPL-3.0-only".into(),
        // The writer installs it as /usr/share/doc/<package>/copyright.
        copyright: COPYRIGHT_TEXT.into(),
        homepage: "https://www.bluemind.net/".into(),
        vendor: "BlueMind".into(),
        section: "misc".into(),
        rpm_group: "Applications/Internet".into(),
        files: vec![
            file(CORE_JAR, FileSource::Path(core), 0o644, FileKind::Regular),
            file(WEBSERVER_JAR, FileSource::Path(webserver), 0o644, FileKind::Regular),
            file(
                CONFIG,
                FileSource::Bytes(Arc::from(&b"# Nextcloud connector settings\ntimeout=30\n"[..])),
                0o644,
                FileKind::Config,
            ),
            file(TOOL, FileSource::Bytes(Arc::from(&b"#!/bin/sh\necho connector ok\n"[..])), 0o755, FileKind::Regular),
        ],
        relations: Relations {
            depends: vec![
                Relation::with("bm-core".parse().unwrap(), Op::Ge, VersionRef::Literal("4.2".into())),
                Relation::with("bm-nextcloud-common".parse().unwrap(), Op::Eq, VersionRef::Package(version)),
            ],
            provides: vec![
                Relation::any("bm-nextcloud-connector".parse().unwrap()),
                // What replaces an obsoleted package provides it (rpmlint: obsolete-not-provided).
                Relation::with("bm-nextcloud-legacy".parse().unwrap(), Op::Eq, VersionRef::Literal("4.0".into())),
            ],
            conflicts: vec![Relation::any("bm-nextcloud-connector".parse().unwrap())],
            rpm_obsoletes: vec![Relation::with(
                "bm-nextcloud-legacy".parse().unwrap(),
                Op::Lt,
                VersionRef::Literal("4.0".into()),
            )],
            ..Relations::default()
        },
        scripts: MaintainerScripts {
            rpm: RpmScripts {
                scriptlets: [(bmpack::model::RpmScriptlet::Post, POST.to_string())].into(),
                trans_file_trigger_in: [CORE_EXT, WEBSERVER_EXT]
                    .map(|folder| FileTrigger { path: folder.parse().unwrap(), script: trigger_in(folder) })
                    .to_vec(),
                trans_file_trigger_postun: [CORE_EXT, WEBSERVER_EXT]
                    .map(|folder| FileTrigger { path: folder.parse().unwrap(), script: trigger_postun(folder) })
                    .to_vec(),
            },
            ..MaintainerScripts::default()
        },
        deb_lintian_overrides: None,
    }
}

/// A folder holding the sample package's jars and the .rpm files written from it.
struct Fixture {
    dir: TempDir,
    package: Package,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = TempDir::new().unwrap();
        let package = sample_package(dir.path());
        Fixture { dir, package }
    }

    /// Writes the package with `compression` under its conventional name in its own folder.
    fn write(&self, compression: Compression, folder: &str) -> PathBuf {
        let out = self.dir.path().join(folder);
        std::fs::create_dir_all(&out).unwrap();
        let path = out.join(RpmPackager.file_name(&self.package));
        let mut bytes = Vec::new();
        let opts = WriteOptions { compression, source_date_epoch: SOURCE_DATE };
        RpmPackager.write(&self.package, &opts, &mut bytes).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn rpm(&self) -> PathBuf {
        self.write(Compression::Default, "default")
    }
}

/// `Tag : value` lines of `rpm -qpi`, as a user reads them.
fn info_field<'a>(info: &'a str, field: &str) -> &'a str {
    info.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim_end() == field).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("`rpm -qpi` shows no `{field}` field:\n{info}"))
}

#[test]
fn file_name_is_name_version_release_arch() {
    let f = Fixture::new();
    assert_eq!(RpmPackager.file_name(&f.package), "bm-nextcloud12-4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-2.noarch.rpm");
}

#[test]
fn rpm_qpi_shows_the_declared_fields() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let info = rpm.query(&f.rpm(), &["-i"]);
    assert_eq!(info_field(&info, "Name"), "bm-nextcloud12");
    assert_eq!(info_field(&info, "Version"), "4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0");
    assert_eq!(info_field(&info, "Release"), "2");
    assert_eq!(info_field(&info, "Architecture"), "noarch");
    assert_eq!(info_field(&info, "Group"), "Applications/Internet");
    assert_eq!(info_field(&info, "License"), "AGPL-3.0-only");
    assert_eq!(info_field(&info, "Build Host"), "bmpack");
    assert_eq!(info_field(&info, "Packager"), "bmpack maintainers <bmpack@bluemind.net>");
    assert_eq!(info_field(&info, "Vendor"), "BlueMind");
    assert_eq!(info_field(&info, "URL"), "https://www.bluemind.net/");
    assert_eq!(info_field(&info, "Source RPM"), "(none)");
    assert_eq!(info_field(&info, "Signature"), "(none)");
    assert_eq!(
        info_field(&info, "Summary"),
        "BlueMind file hosting on Nextcloud: connector for Nextcloud 12 and later"
    );
    let description = info.split_once("Description :\n").expect("a Description").1;
    assert_eq!(
        description.trim_end(),
        "Connects BlueMind's file hosting to Nextcloud 12 and later.\n\n\
         Only one bm-nextcloudXX connector can be installed at a time; installing\n\
         this one replaces the others."
    );
    assert_eq!(rpm.tag(&f.rpm(), "BUILDTIME"), SOURCE_DATE.to_string());
}

#[test]
fn files_have_their_mode_root_owner_date_and_flags() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let path = f.rpm();
    let listing = rpm.query(
        &path,
        &[
            "--qf",
            "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMTIMES} %{FILEFLAGS:fflags}\n]",
        ],
    );
    let mut lines: Vec<&str> = listing.lines().map(str::trim_end).collect();
    lines.sort();
    let expected = [
        format!("/etc/bm-nextcloud12 drwxr-xr-x root:root {SOURCE_DATE} "),
        format!("{CONFIG} -rw-r--r-- root:root {SOURCE_DATE} cn"),
        format!(
            "/usr/share/bm-core/extensions/net.bluemind.filehosting.nextcloud12-4.8.2.v20240101-1200.jar -rw-r--r-- root:root {SOURCE_DATE} "
        ),
        format!(
            "/usr/share/bm-webserver/extensions/net.bluemind.ui.adminconsole.nextcloud12-4.8.2.v20240101-1200.jar -rw-r--r-- root:root {SOURCE_DATE} "
        ),
        format!("/usr/share/bm-nextcloud12 drwxr-xr-x root:root {SOURCE_DATE} "),
        format!("/usr/share/bm-nextcloud12/bin drwxr-xr-x root:root {SOURCE_DATE} "),
        format!("{TOOL} -rwxr-xr-x root:root {SOURCE_DATE} "),
        format!("/usr/share/doc/bm-nextcloud12 drwxr-xr-x root:root {SOURCE_DATE} "),
        format!("{COPYRIGHT} -rw-r--r-- root:root {SOURCE_DATE} d"),
    ];
    let mut expected: Vec<&str> = expected.iter().map(|s| s.trim_end()).collect();
    expected.sort();
    assert_eq!(lines, expected, "{listing}");

    // What a user sees: the same, and no directory of bm-core's or bm-webserver's.
    let verbose = rpm.query(&path, &["-l", "-v"]);
    for dir in [CORE_EXT, WEBSERVER_EXT, "/usr/share/doc", "/etc"] {
        assert!(
            !verbose.lines().any(|l| l.ends_with(&format!(" {dir}"))),
            "the package must not own {dir}:\n{verbose}"
        );
    }
    assert!(
        verbose.lines().any(|l| l.starts_with("-rw-r--r--") && l.contains(" root ") && l.ends_with(CORE_JAR)),
        "{verbose}"
    );
    assert_eq!(rpm.query(&path, &["-c"]).trim(), CONFIG);
    assert_eq!(rpm.query(&path, &["-d"]).trim(), COPYRIGHT);
}

#[test]
fn relations_read_back_as_declared() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let path = f.rpm();
    let requires = rpm.query(&path, &["--requires"]);
    for expected in ["bm-core >= 4.2", "bm-nextcloud-common = 4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-2"] {
        assert!(requires.lines().any(|l| l == expected), "no `{expected}` in:\n{requires}");
    }
    let provides = rpm.query(&path, &["--provides"]);
    let mut provides: Vec<&str> = provides.lines().collect();
    provides.sort();
    assert_eq!(
        provides,
        [
            "bm-nextcloud-connector",
            "bm-nextcloud-legacy = 4.0",
            // rpm resolves upgrades and `= version` requirements through this one.
            "bm-nextcloud12 = 4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-2",
            // %config files make rpmbuild provide this; rpm's own packages do the same.
            "config(bm-nextcloud12) = 4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-2",
        ]
    );
    assert_eq!(rpm.query(&path, &["--conflicts"]).trim(), "bm-nextcloud-connector");
    assert_eq!(rpm.query(&path, &["--obsoletes"]).trim(), "bm-nextcloud-legacy < 4.0");
}

#[test]
fn scriptlets_and_file_triggers_read_back_as_declared() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let path = f.rpm();
    let scripts = rpm.query(&path, &["--scripts"]);
    // rpm prints each script followed by a newline.
    assert_eq!(scripts, format!("postinstall scriptlet (using /bin/sh):\n{POST}\n"));
    let triggers = rpm.query(&path, &["--filetriggers"]);
    // As rpmbuild prints `%transfiletriggerin -- /a`: one script per watched folder.
    let expected: String = [CORE_EXT, WEBSERVER_EXT]
        .iter()
        .map(|folder| format!("transfiletriggerin scriptlet (using /bin/sh) -- {folder}\n{}\n", trigger_in(folder)))
        .chain([CORE_EXT, WEBSERVER_EXT].iter().map(|folder| {
            format!("transfiletriggerpostun scriptlet (using /bin/sh) -- {folder}\n{}\n", trigger_postun(folder))
        }))
        .collect();
    assert_eq!(triggers, expected);
}

#[test]
fn rpm_k_finds_the_digests_intact() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let path = f.rpm();
    let report = rpm.check_digests(&path);
    assert_eq!(report.trim(), format!("{}: digests OK", path.display()));
}

#[test]
fn installs_into_a_root_and_runs_the_scriptlets_once() {
    let f = Fixture::new();
    let path = f.rpm();
    let root = RpmRoot::new().with_busybox_shell();
    // --nodeps: the root has no bm-core; the scriptlets do run.
    run_ok(root.rpm().args(["--nodeps", "-i"]).arg(&path));

    assert!(root.database().is_dir(), "rpm did not use the database inside the root");
    let installed = run_ok(root.rpm().args(["-q", "bm-nextcloud12"]));
    assert_eq!(installed.trim(), "bm-nextcloud12-4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-2.noarch");
    for (dest, source) in [(CORE_JAR, "core.jar"), (WEBSERVER_JAR, "webserver.jar")] {
        assert_eq!(
            std::fs::read(root.join(dest)).unwrap(),
            std::fs::read(f.dir.path().join(source)).unwrap(),
            "{dest}"
        );
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tool = std::fs::metadata(root.join(TOOL)).unwrap();
    assert_eq!(tool.permissions().mode() & 0o7777, 0o755);
    assert_eq!(tool.mtime() as u64, SOURCE_DATE);
    assert!(root.join(CONFIG).is_file());
    assert_eq!(std::fs::read_to_string(root.join(COPYRIGHT)).unwrap(), COPYRIGHT_TEXT);

    // %post once, and the trigger of each folder once, with its jar on its stdin.
    let log = std::fs::read_to_string(root.join(LOG)).unwrap();
    let core_in = format!("transfiletriggerin {CORE_EXT} 1");
    let webserver_in = format!("transfiletriggerin {WEBSERVER_EXT} 1");
    assert_eq!(log_lines(&log), ["post 1", &core_in, &webserver_in], "{log}");

    let verify = run(root.rpm().args(["-V", "--nodeps", "bm-nextcloud12"]));
    assert!(verify.status.success(), "rpm -V: {}", String::from_utf8_lossy(&verify.stdout));

    // Another plug-in coming and going: each folder's triggers run once each time.
    let other = bare_package(&f, "bm-plugin-other", false);
    run_ok(root.rpm().arg("-i").arg(&other));
    run_ok(root.rpm().args(["-e", "bm-plugin-other"]));
    let log = std::fs::read_to_string(root.join(LOG)).unwrap();
    let core_postun = format!("transfiletriggerpostun {CORE_EXT}");
    let webserver_postun = format!("transfiletriggerpostun {WEBSERVER_EXT}");
    assert_eq!(
        log_lines(&log),
        ["post 1", &core_in, &core_in, &webserver_in, &webserver_in, &core_postun, &webserver_postun],
        "{log}"
    );

    // Removal takes our files and our directories, not bm-core's folders.
    run_ok(root.rpm().args(["--nodeps", "-e", "bm-nextcloud12"]));
    assert!(!root.join(CORE_JAR).exists());
    assert!(!root.join("/usr/share/doc/bm-nextcloud12").exists());
    assert!(!root.join("/usr/share/bm-nextcloud12").exists());
    assert!(root.join(CORE_EXT).is_dir(), "removal must leave bm-core's extensions folder");
}

#[test]
fn every_compression_installs_and_says_what_it_is() {
    let f = Fixture::new();
    let rpm = Rpm::new();
    let cases = [
        (Compression::Default, "zstd"),
        (Compression::Gzip, "gzip"),
        (Compression::Xz, "xz"),
        (Compression::Zstd, "zstd"),
        // No compressor tag at all: rpm prints `(none)`.
        (Compression::None, "(none)"),
    ];
    for (compression, expected) in cases {
        let path = f.write(compression, &format!("{compression:?}"));
        assert_eq!(rpm.tag(&path, "PAYLOADCOMPRESSOR"), expected, "{compression:?}");
        rpm.check_digests(&path);
        let root = RpmRoot::new();
        let mut install = root.rpm();
        install.args(["--nodeps", "--noscripts", "-i"]).arg(&path);
        let out = run(&mut install);
        assert!(out.status.success(), "{compression:?}: {}", describe(&install, &out));
        assert_eq!(
            std::fs::read(root.join(WEBSERVER_JAR)).unwrap(),
            std::fs::read(f.dir.path().join("webserver.jar")).unwrap(),
            "{compression:?}"
        );
    }
}

#[test]
fn two_writes_are_byte_identical() {
    let f = Fixture::new();
    // Another fixture: same content, jars read from another temporary folder.
    let g = Fixture::new();
    for compression in [Compression::Gzip, Compression::Xz, Compression::Zstd, Compression::None] {
        let first = std::fs::read(f.write(compression, "first")).unwrap();
        let second = std::fs::read(f.write(compression, "second")).unwrap();
        assert!(first == second, "{compression:?}: two writes of one package differ");
        let elsewhere = std::fs::read(g.write(compression, "elsewhere")).unwrap();
        assert!(first == elsewhere, "{compression:?}: where the jars were read from changes the package");
    }
    // The date is what the options say, not the clock: another date, other bytes.
    let mut other = Vec::new();
    let opts = WriteOptions { compression: Compression::Gzip, source_date_epoch: SOURCE_DATE + 1 };
    RpmPackager.write(&f.package, &opts, &mut other).unwrap();
    assert_ne!(other, std::fs::read(f.write(Compression::Gzip, "first")).unwrap());
}

#[test]
fn rpmlint_is_clean_with_the_repository_configuration() {
    let f = Fixture::new();
    let path = f.rpm();
    let config = project_root().join(bmpack::lint::RPMLINT_CONFIG);
    // The sample, and a package of jars alone (the usual plug-in).
    let bare = bare_package(&f, "bm-plugin-other", false);
    let (ok, report) = rpmlint(&config, &[&path, &bare]);
    assert!(ok, "rpmlint failed:\n{report}");
    assert!(report.contains(" 0 errors, 0 warnings"), "rpmlint:\n{report}");
}

/// The sample's jars as another bare package `name`: no requirements, no scriptlets, so that rpm
/// installs it without `--nodeps` (which would skip the Conflicts too). `connector`: it keeps
/// the sample's Provides and Conflicts of the virtual connector package.
fn bare_package(f: &Fixture, name: &str, connector: bool) -> PathBuf {
    let mut p = f.package.clone();
    p.name = name.parse().unwrap();
    p.relations = Relations::default();
    if connector {
        p.relations.provides = vec![Relation::any("bm-nextcloud-connector".parse().unwrap())];
        p.relations.conflicts = vec![Relation::any("bm-nextcloud-connector".parse().unwrap())];
    }
    p.scripts = MaintainerScripts::default();
    p.files.retain(|file| file.dest.ends_with(".jar"));
    for file in &mut p.files {
        file.dest = file.dest.replace("nextcloud12", name).parse().unwrap();
    }
    let path = f.dir.path().join(RpmPackager.file_name(&p));
    let mut bytes = Vec::new();
    let opts = WriteOptions { compression: Compression::Default, source_date_epoch: SOURCE_DATE };
    RpmPackager.write(&p, &opts, &mut bytes).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_connector_conflicts_with_another_but_not_with_itself() {
    let f = Fixture::new();
    let eleven = bare_package(&f, "bm-nextcloud11", true);
    let twelve = bare_package(&f, "bm-nextcloud12", true);
    let root = RpmRoot::new();
    // Provides and Conflicts the same virtual package: rpm must not see a self-conflict.
    run_ok(root.rpm().arg("-i").arg(&eleven));
    let mut second = root.rpm();
    second.args(["-i", "--test"]).arg(&twelve);
    let out = run(&mut second);
    assert!(!out.status.success(), "two connectors installed together: {}", describe(&second, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bm-nextcloud-connector conflicts with (installed) bm-nextcloud11"),
        "{}",
        describe(&second, &out)
    );
    // Upgrading one connector to itself is no conflict either.
    run_ok(root.rpm().args(["-U", "--replacepkgs"]).arg(&eleven));
}

#[test]
fn bad_input_gets_an_error_naming_it_and_nothing_written() {
    let f = Fixture::new();
    let write = |package: &Package, source_date_epoch: u64| {
        let mut bytes = Vec::new();
        let opts = WriteOptions { compression: Compression::Default, source_date_epoch };
        let err = RpmPackager.write(package, &opts, &mut bytes).unwrap_err();
        assert!(bytes.is_empty(), "bytes written despite the error `{err:#}`");
        format!("{err:#}")
    };

    // A relative or `..` path cannot reach the writer: `InstallPath` refuses it where it is made.
    let mut missing = f.package.clone();
    missing.files[0].source = FileSource::Path(f.dir.path().join("missing.jar"));
    let err = write(&missing, SOURCE_DATE);
    assert!(err.contains("missing.jar") && err.contains(CORE_JAR), "{err}");

    let err = write(&f.package, 4_000_000_000);
    assert!(err.contains("SOURCE_DATE_EPOCH 4000000000 is in the future"), "{err}");
}

/// Two writes within one second would hide a leaked clock, so look for it: the uncompressed
/// package must hold neither the time of the write (as a header integer or as a cpio hex field)
/// nor the machine's name.
#[test]
fn neither_the_clock_nor_the_host_leaks_into_the_package() {
    let f = Fixture::new();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let before = now();
    let bytes = std::fs::read(f.write(Compression::None, "plain")).unwrap();
    let after = now();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for t in before - 1..=after + 1 {
        let t = t as u32;
        assert!(!contains(&t.to_be_bytes()), "the package holds the current time {t}");
        for hex in [format!("{t:08x}"), format!("{t:08X}")] {
            assert!(!contains(hex.as_bytes()), "the payload holds the current time {t}");
        }
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    assert!(!host.is_empty() && host != "bmpack");
    assert!(!contains(host.as_bytes()), "the package holds the host name `{host}`");
    // What would show them: the header tags that carry a time, and the cookie.
    let rpm = Rpm::new();
    let path = f.write(Compression::None, "plain");
    assert_eq!(rpm.tag(&path, "CHANGELOGTIME"), SOURCE_DATE.to_string());
    assert_eq!(rpm.tag(&path, "COOKIE"), "(none)");
}
