//! The .deb writer, checked with the real Debian tools: dpkg-deb reads what a user reads,
//! dpkg installs it into a throwaway root, lintian finds nothing to complain about, and two
//! writes are byte-identical.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use bmpack::format::deb::DebPackager;
use bmpack::format::{Compression, Packager};
use bmpack::model::FileKind;
use bmpack_tests::deb_tools::*;

fn sample_deb(dir: &Path, compression: Compression) -> std::path::PathBuf {
    let pkg = sample_package(dir);
    write_deb(&pkg, &options(compression), dir)
}

#[test]
fn file_name_is_name_version_arch() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = sample_package(dir.path());
    assert_eq!(DebPackager.file_name(&pkg), "bm-nextcloud-common_4.8.2-1_all.deb");
}

#[test]
fn dpkg_deb_shows_the_control_fields_as_declared() {
    require_tool("dpkg-deb", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);

    assert_eq!(deb_field(&deb, "Package"), "bm-nextcloud-common");
    assert_eq!(deb_field(&deb, "Version"), "4.8.2-1");
    assert_eq!(deb_field(&deb, "Architecture"), "all");
    assert_eq!(deb_field(&deb, "Maintainer"), "bmpack maintainers <bmpack@bluemind.net>");
    assert_eq!(deb_field(&deb, "Depends"), "bm-core (>= 4.2), bm-webserver (>= 4.2)");
    assert_eq!(deb_field(&deb, "Provides"), "bm-nextcloud-api");
    assert_eq!(deb_field(&deb, "Conflicts"), "bm-nextcloud-legacy (<< 4.8.2-1)");
    assert_eq!(deb_field(&deb, "Replaces"), "bm-nextcloud-legacy (<< 4.8.2-1)");
    assert_eq!(deb_field(&deb, "Section"), "misc");
    assert_eq!(deb_field(&deb, "Priority"), "optional");
    assert_eq!(deb_field(&deb, "Homepage"), "https://www.bluemind.net/");
    assert_eq!(
        deb_field(&deb, "Description"),
        "BlueMind file hosting on Nextcloud: common bundles\n \
         Lets BlueMind users keep the files they attach to their mail in their own\n \
         Nextcloud space instead of BlueMind's internal store.\n \
         .\n \
         This package carries the file hosting bundle for bm-core and the Nextcloud\n \
         settings page of the admin console."
    );
    let installed_size: u64 = deb_field(&deb, "Installed-Size").parse().expect("Installed-Size is a number");
    assert!(installed_size > 0);

    // The control members a user sees in `dpkg-deb -I`, with the scripts executable.
    let info = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb));
    let members: BTreeMap<&str, &str> = info
        .lines()
        .filter(|l| l.contains(" bytes,"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // ` 1234 bytes,    12 lines   *  postinst   #!/bin/sh`
            let star = words.contains(&"*");
            let name = words[if star { 5 } else { 4 }];
            (name, if star { "executable" } else { "plain" })
        })
        .collect();
    assert_eq!(
        members,
        BTreeMap::from(
            [("control", "plain"), ("md5sums", "plain"), ("postinst", "executable"), ("triggers", "plain"),]
        ),
        "dpkg-deb --info:\n{info}"
    );
    assert!(!info.contains("conffiles"), "no conffiles member without config files:\n{info}");
    let triggers = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("triggers"));
    assert_eq!(triggers, TRIGGERS);
    let postinst = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("postinst"));
    assert_eq!(postinst, POSTINST);
}

#[test]
fn dpkg_deb_lists_every_parent_directory_and_file_root_owned_with_their_modes() {
    require_tool("dpkg-deb", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let listing = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));

    // `-rw-r--r-- root/root      3110 2024-02-29 12:34 ./usr/share/…`
    let mut entries = BTreeMap::new();
    for line in listing.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(w.len(), 6, "unexpected dpkg-deb -c line: {line}");
        assert_eq!(w[1], "root/root", "owner of {}", w[5]);
        entries.insert(w[5].to_string(), w[0].to_string());
    }
    let dir_mode = "drwxr-xr-x".to_string();
    let file_mode = "-rw-r--r--".to_string();
    let expected: BTreeMap<String, String> = [
        ("./", &dir_mode),
        ("./usr/", &dir_mode),
        ("./usr/share/", &dir_mode),
        ("./usr/share/bm-core/", &dir_mode),
        ("./usr/share/bm-core/extensions/", &dir_mode),
        (&format!(".{CORE_JAR}"), &file_mode),
        ("./usr/share/bm-webserver/", &dir_mode),
        ("./usr/share/bm-webserver/extensions/", &dir_mode),
        (&format!(".{WEBSERVER_JAR}"), &file_mode),
        ("./usr/share/doc/", &dir_mode),
        ("./usr/share/doc/bm-nextcloud-common/", &dir_mode),
        ("./usr/share/doc/bm-nextcloud-common/changelog.Debian.gz", &file_mode),
        ("./usr/share/doc/bm-nextcloud-common/copyright", &file_mode),
        ("./usr/share/lintian/", &dir_mode),
        ("./usr/share/lintian/overrides/", &dir_mode),
        ("./usr/share/lintian/overrides/bm-nextcloud-common", &file_mode),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_string(), m.clone()))
    .collect();
    assert_eq!(entries, expected, "dpkg-deb -c:\n{listing}");
    // Parents come before what they hold, as dpkg expects when it unpacks in order.
    let names: Vec<&str> = listing.lines().map(|l| l.split_whitespace().last().unwrap()).collect();
    for (i, name) in names.iter().enumerate() {
        let parent = match name.trim_end_matches('/').rfind('/') {
            Some(cut) => &name[..=cut],
            None => continue,
        };
        assert!(names[..i].contains(&parent), "{name} is listed before its directory {parent}");
    }
}

#[test]
fn files_carry_the_source_date_epoch_as_mtime() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("tar", "tar");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let tarfile = run(Command::new("dpkg-deb").arg("--fsys-tarfile").arg(&deb)).stdout;
    let tar_path = dir.path().join("data.tar");
    std::fs::write(&tar_path, tarfile).unwrap();
    // GNU tar prints the raw numeric owner and the mtime in UTC with --full-time and TZ=UTC.
    let listing = stdout(
        Command::new("tar")
            .env("TZ", "UTC")
            .args(["--list", "--verbose", "--full-time", "--numeric-owner", "--file"])
            .arg(&tar_path),
    );
    assert!(!listing.is_empty());
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "uid/gid 0: {line}");
        assert!(line.contains("2024-02-29 12:34:56"), "mtime is SOURCE_DATE_EPOCH: {line}");
    }
}

#[test]
fn ar_members_control_entries_and_gzip_headers_carry_no_time_but_the_source_date_epoch() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("ar", "binutils");
    require_tool("tar", "tar");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);

    // `rw-r--r-- 0/0   1042 Feb 29 12:34 2024 control.tar.gz`
    let members = stdout(Command::new("ar").env("TZ", "UTC").arg("tv").arg(&deb));
    assert_eq!(members.lines().count(), 3, "{members}");
    for line in members.lines() {
        assert!(line.starts_with("rw-r--r-- 0/0 "), "ar member mode and owner: {line}");
        assert!(line.contains(" Feb 29 12:34 2024 "), "ar member mtime: {line}");
    }

    let control_tar = run(Command::new("dpkg-deb").arg("--ctrl-tarfile").arg(&deb)).stdout;
    let control_tar_path = dir.path().join("control.tar");
    std::fs::write(&control_tar_path, control_tar).unwrap();
    let listing = stdout(
        Command::new("tar")
            .env("TZ", "UTC")
            .args(["--list", "--verbose", "--full-time", "--numeric-owner", "--file"])
            .arg(&control_tar_path),
    );
    let names: Vec<&str> = listing.lines().map(|l| l.split_whitespace().last().unwrap()).collect();
    assert_eq!(names, ["./", "./control", "./md5sums", "./postinst", "./triggers"]);
    for line in listing.lines() {
        assert!(line.contains(" 0/0 ") && line.contains("2024-02-29 12:34:56"), "{line}");
    }

    // gzip members as `gzip -n` writes them: no file name flag, mtime 0.
    for member in ["control.tar.gz", "data.tar.gz"] {
        let bytes = run(Command::new("ar").arg("p").arg(&deb).arg(member)).stdout;
        assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8], "{member} is gzip");
        assert_eq!(bytes[3], 0, "{member}: no FNAME/FCOMMENT/FEXTRA flags");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "{member}: gzip mtime 0");
    }
}

#[test]
fn extracted_files_match_md5sums_and_the_copyright_and_changelog_are_valid() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("md5sum", "coreutils");
    require_tool("gzip", "gzip");
    require_tool("dpkg-parsechangelog", "dpkg-dev");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let root = dir.path().join("extracted");
    run(Command::new("dpkg-deb").arg("--raw-extract").arg(&deb).arg(&root));

    // md5sums lists every file, and md5sum agrees with it.
    let md5sums = std::fs::read_to_string(root.join("DEBIAN/md5sums")).unwrap();
    let listed: Vec<&str> = md5sums.lines().map(|l| l.split_once("  ").expect("`md5  path` lines").1).collect();
    assert_eq!(
        listed,
        [
            &CORE_JAR[1..],
            &WEBSERVER_JAR[1..],
            "usr/share/doc/bm-nextcloud-common/changelog.Debian.gz",
            "usr/share/doc/bm-nextcloud-common/copyright",
            "usr/share/lintian/overrides/bm-nextcloud-common",
        ]
    );
    run(Command::new("md5sum").arg("--check").arg("--strict").arg("DEBIAN/md5sums").current_dir(&root));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("DEBIAN/postinst")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "postinst mode");

    let doc = root.join("usr/share/doc/bm-nextcloud-common");
    let copyright = std::fs::read_to_string(doc.join("copyright")).unwrap();
    assert_eq!(
        copyright,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/copyright")).unwrap()
    );

    // The changelog parses, names this version and is dated SOURCE_DATE_EPOCH.
    let debian = dir.path().join("src/debian");
    std::fs::create_dir_all(&debian).unwrap();
    let gz = std::fs::read(doc.join("changelog.Debian.gz")).unwrap();
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip header mtime is 0 (gzip -n)");
    let text = stdout(Command::new("gzip").arg("-dc").arg(doc.join("changelog.Debian.gz")));
    std::fs::write(debian.join("changelog"), &text).unwrap();
    let parsed = stdout(Command::new("dpkg-parsechangelog").arg("-l").arg(debian.join("changelog")));
    assert!(parsed.contains("Source: bm-nextcloud-common\n"), "{parsed}");
    assert!(parsed.contains("Version: 4.8.2-1\n"), "{parsed}");
    assert!(parsed.contains("Timestamp: 1709210096\n"), "{parsed}");
}

#[test]
fn installed_size_is_what_dpkg_gencontrol_computes() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("dpkg-gencontrol", "dpkg-dev");
    require_tool("gzip", "gzip");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let tree = dir.path().join("tree");
    run(Command::new("dpkg-deb").arg("--raw-extract").arg(&deb).arg(&tree));
    // In a debhelper build dpkg-gencontrol runs after the scripts and triggers are in DEBIAN/
    // and before control (its own output) and md5sums (dh_md5sums runs after it) exist.
    std::fs::remove_file(tree.join("DEBIAN/control")).unwrap();
    std::fs::remove_file(tree.join("DEBIAN/md5sums")).unwrap();

    // A minimal source tree around the extracted files, for dpkg-gencontrol to measure them.
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("debian")).unwrap();
    std::fs::write(
        src.join("debian/control"),
        "Source: bm-nextcloud-common\nMaintainer: Test <test@example.org>\n\n\
         Package: bm-nextcloud-common\nArchitecture: all\nDescription: test\n test\n",
    )
    .unwrap();
    let changelog =
        run(Command::new("gzip").arg("-dc").arg(tree.join("usr/share/doc/bm-nextcloud-common/changelog.Debian.gz")))
            .stdout;
    std::fs::write(src.join("debian/changelog"), changelog).unwrap();
    let generated = stdout(
        Command::new("dpkg-gencontrol")
            .arg("-pbm-nextcloud-common")
            .arg(format!("-P{}", tree.display()))
            .arg("-O")
            .current_dir(&src),
    );
    let expected = generated
        .lines()
        .find_map(|l| l.strip_prefix("Installed-Size: "))
        .unwrap_or_else(|| panic!("no Installed-Size in dpkg-gencontrol output:\n{generated}"));
    assert_eq!(deb_field(&deb, "Installed-Size"), expected);
}

#[test]
fn dpkg_installs_the_package_into_a_throwaway_root_and_runs_its_postinst() {
    require_tool("dpkg", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let root = dir.path().join("root");
    empty_dpkg_root(&root);

    run(dpkg_in(&root).arg("--install").arg(&deb));

    for file in [CORE_JAR, WEBSERVER_JAR, "/usr/share/doc/bm-nextcloud-common/copyright"] {
        let on_disk = root.join(&file[1..]);
        assert!(on_disk.is_file(), "{file} is installed");
    }
    assert_eq!(std::fs::read(root.join(&CORE_JAR[1..])).unwrap(), core_jar(), "the installed jar is the packaged one");
    let status =
        stdout(Command::new("dpkg-query").arg(format!("--admindir={}", root.join("var/lib/dpkg").display())).args([
            "--show",
            "--showformat=${Status} ${Version}",
            "bm-nextcloud-common",
        ]));
    assert_eq!(status, "install ok installed 4.8.2-1");
    let ran = std::fs::read_to_string(root.join("var/lib/bm-nextcloud-common/postinst-ran"))
        .expect("postinst ran with DPKG_ROOT pointing at the throwaway root");
    assert!(ran.lines().any(|l| l == "configure"), "postinst configure ran: {ran:?}");

    // Removal takes every file away again.
    run(dpkg_in(&root).arg("--purge").arg("bm-nextcloud-common"));
    assert!(!root.join(&CORE_JAR[1..]).exists(), "{CORE_JAR} is removed with the package");
}

#[test]
fn another_package_adding_a_core_extension_triggers_the_postinst() {
    require_tool("dpkg", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    // dpkg defers trigger processing while dependencies are missing: give the root stand-ins
    // for bm-core and bm-webserver, written by the same writer.
    let stubs: Vec<_> = ["bm-core", "bm-webserver"]
        .into_iter()
        .map(|name| write_deb(&stub_package(dir.path(), name, "4.8.2"), &options(Compression::Default), dir.path()))
        .collect();
    // A second plug-in dropping a jar into bm-core's extensions.
    let mut other = sample_package(dir.path());
    other.name = "bm-plugin-other".parse().unwrap();
    other.files.retain(|f| f.dest == CORE_JAR);
    other.files[0].dest = "/usr/share/bm-core/extensions/net.bluemind.other_4.8.2.jar".parse().unwrap();
    other.relations = Default::default();
    other.scripts = Default::default();
    let other_deb = write_deb(&other, &options(Compression::Default), dir.path());
    let root = dir.path().join("root");
    empty_dpkg_root(&root);
    let marker = root.join("var/lib/bm-nextcloud-common/postinst-ran");

    run(dpkg_in(&root).arg("--install").args(&stubs).arg(&deb));
    std::fs::remove_file(&marker).unwrap();
    let output = stdout(dpkg_in(&root).arg("--install").arg(&other_deb));

    assert!(output.contains("Processing triggers for bm-nextcloud-common"), "dpkg -i output:\n{output}");
    let ran = std::fs::read_to_string(&marker).expect("the trigger ran bm-nextcloud-common's postinst");
    assert_eq!(ran, "triggered\n", "postinst was called once, with `triggered`");
}

#[test]
fn config_files_are_declared_as_conffiles_and_left_out_of_md5sums() {
    require_tool("dpkg", "dpkg");
    let dir = tempfile::tempdir().unwrap();
    let mut pkg = sample_package(dir.path());
    pkg.files.push(bytes_file(
        "/etc/bm-nextcloud/nextcloud.properties",
        "url=https://cloud.example.org\n",
        FileKind::Config,
    ));
    let deb = write_deb(&pkg, &options(Compression::Default), dir.path());

    let conffiles = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("conffiles"));
    assert_eq!(conffiles, "/etc/bm-nextcloud/nextcloud.properties\n");
    let md5sums = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("md5sums"));
    assert!(!md5sums.contains("etc/"), "conffiles are hashed by dpkg itself:\n{md5sums}");

    let root = dir.path().join("root");
    empty_dpkg_root(&root);
    run(dpkg_in(&root).arg("--install").arg(&deb));
    let registered =
        stdout(Command::new("dpkg-query").arg(format!("--admindir={}", root.join("var/lib/dpkg").display())).args([
            "--show",
            "--showformat=${Conffiles}",
            "bm-nextcloud-common",
        ]));
    assert!(
        registered.contains("/etc/bm-nextcloud/nextcloud.properties "),
        "dpkg registers the conffile: {registered:?}"
    );
}

#[test]
fn lintian_reports_no_errors_and_no_warnings() {
    require_tool("lintian", "lintian");
    let dir = tempfile::tempdir().unwrap();
    let deb = sample_deb(dir.path(), Compression::Default);
    let out = Command::new("lintian")
        // Not --show-overrides: lintian 2.116 then counts overridden tags for --fail-on.
        .args(["--fail-on", "error,warning", "--info"])
        .arg(&deb)
        .output()
        .expect("lintian runs");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("lintian:\n{report}{}", String::from_utf8_lossy(&out.stderr));
    let complaints: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
    assert!(complaints.is_empty(), "lintian errors/warnings:\n{}", complaints.join("\n"));
    assert!(out.status.success(), "lintian failed ({}):\n{report}", out.status);
}

#[test]
fn every_compression_gives_the_member_names_dpkg_expects_and_dpkg_deb_reads_it() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("ar", "binutils");
    let dir = tempfile::tempdir().unwrap();
    let reference = stdout(Command::new("dpkg-deb").arg("--contents").arg(sample_deb(dir.path(), Compression::None)));
    for (compression, ext) in [
        (Compression::Default, ".gz"),
        (Compression::Gzip, ".gz"),
        (Compression::Xz, ".xz"),
        (Compression::Zstd, ".zst"),
        (Compression::None, ""),
    ] {
        let sub = dir.path().join(format!("{compression:?}"));
        std::fs::create_dir(&sub).unwrap();
        let deb = sample_deb(&sub, compression);
        let members = stdout(Command::new("ar").arg("t").arg(&deb));
        assert_eq!(members, format!("debian-binary\ncontrol.tar{ext}\ndata.tar{ext}\n"), "{compression:?}");
        assert_eq!(deb_field(&deb, "Package"), "bm-nextcloud-common", "{compression:?}");
        let contents = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
        assert_eq!(contents, reference, "{compression:?}: same files whatever the compression");
        let extracted = sub.join("x");
        run(Command::new("dpkg-deb").arg("--extract").arg(&deb).arg(&extracted));
        assert!(extracted.join(&WEBSERVER_JAR[1..]).is_file(), "{compression:?}: long-named jar extracts");
    }
}

#[test]
fn two_writes_of_the_same_package_are_byte_identical() {
    // Jars at different paths on the build machine, same content: only the content counts.
    let first_dir = tempfile::tempdir().unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    for compression in [Compression::Gzip, Compression::Xz, Compression::Zstd, Compression::None] {
        let first = std::fs::read(sample_deb(first_dir.path(), compression)).unwrap();
        let second = std::fs::read(sample_deb(second_dir.path(), compression)).unwrap();
        assert!(first == second, "{compression:?}: two writes differ");
    }
}

#[test]
fn a_file_installed_twice_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut pkg = sample_package(dir.path());
    pkg.files.push(bytes_file("/usr/share/doc/bm-nextcloud-common/copyright", "x", FileKind::Doc));
    let err = DebPackager.write(&pkg, &options(Compression::Default), &mut Vec::new()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("/usr/share/doc/bm-nextcloud-common/copyright") && msg.contains("twice"), "{msg}");
}

#[test]
fn a_data_member_of_several_gzip_members_reads_back_whole_with_gzip_and_dpkg_deb() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("gzip", "gzip");
    require_tool("ar", "binutils");
    let dir = tempfile::tempdir().unwrap();
    let mut pkg = sample_package(dir.path());
    // A 3.5 MB "jar": more than three of the writer's 1 MiB gzip members.
    let big = dir.path().join("big.jar");
    let mut bytes = Vec::new();
    let mut x = 1u64;
    while bytes.len() < 3_500_000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        bytes.extend_from_slice(format!("net/bluemind/C{}.class {:x}\n", x % 997, x >> 40).as_bytes());
    }
    std::fs::write(&big, &bytes).unwrap();
    pkg.files[0].source = bmpack::model::FileSource::Path(big.clone());
    let deb = write_deb(&pkg, &options(Compression::Default), dir.path());

    let data = run(Command::new("ar").arg("p").arg(&deb).arg("data.tar.gz")).stdout;
    let gz = dir.path().join("data.tar.gz");
    std::fs::write(&gz, &data).unwrap();
    let members = data.windows(10).filter(|w| w[..8] == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).count();
    assert!(members >= 4, "expected several gzip members, found {members}");
    run(Command::new("gzip").arg("-t").arg(&gz));
    let by_gzip = run(Command::new("gzip").arg("-dc").arg(&gz)).stdout;
    let by_dpkg = run(Command::new("dpkg-deb").arg("--fsys-tarfile").arg(&deb)).stdout;
    assert!(by_gzip == by_dpkg, "gzip -dc and dpkg-deb --fsys-tarfile disagree");

    let root = dir.path().join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let extracted = std::fs::read(root.join(&CORE_JAR[1..])).unwrap();
    assert!(extracted == bytes, "the extracted jar differs from the one packaged");
}
