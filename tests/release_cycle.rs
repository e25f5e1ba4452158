//! Release after release, as a release engineer works: `cargo xtask package` with default
//! settings (the build date is the last commit's), a commit, `--version 4.8.3`, publish into the
//! same repository, served by nginx running as www-data; then servers of three Debian
//! generations (apt 2.2, 2.6, 3.0 with sqv) and dnf, set up from the published `.sources` and
//! `.repo` files, install release 1 and upgrade to release 2 with their usual commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bmpack::build::{BuildOptions, Silent, build_all};
use bmpack::catalog::ResolveOptions;
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::pipeline::{PackageOutcome, PackageRequest, last_commit_date};
use bmpack::repo::{KeySource, PublishReport, PublishRequest, publish};
use bmpack_tests::apt_root::describe;
use bmpack_tests::dnf_root::DnfRoot;
use bmpack_tests::release_roots::{AptClient, Release};
use bmpack_tests::repo_tools::{StandIn, TestKey, build_packages, require, run};
use bmpack_tests::tools::project_root;
use bmpack_tests::web_server::{WebServer, public_tempdir};
use tempfile::TempDir;

/// The four plug-ins of a Nextcloud 12 + StarLeaf server.
const PLUGINS: [&str; 4] = [
    "bm-nextcloud-common",
    "bm-nextcloud12",
    "bm-plugin-core-videoconferencing-starleaf",
    "bm-plugin-admin-console-videoconferencing-starleaf",
];

/// The project's packaging sources (`packaging/`, `debian/`, `rpm/`, `maintscripts/`) in a
/// throwaway git repository, so that a test commits between releases and the build date comes
/// from those commits, as it does by default.
struct Project {
    dir: TempDir,
}

impl Project {
    fn copy() -> Project {
        require("git", "git");
        let dir = tempfile::Builder::new().prefix("bmpack-project-").tempdir().unwrap();
        for folder in ["packaging", "debian", "rpm", "maintscripts"] {
            run(Command::new("cp").arg("-a").arg(project_root().join(folder)).arg(dir.path()));
        }
        let project = Project { dir };
        project.git(&["init", "-q"]);
        project
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        run(Command::new("git")
            .args(["-c", "user.name=Release Engineer", "-c", "user.email=release@example.invalid"])
            .args(args)
            .current_dir(self.root()))
    }

    /// Commits everything at `date` (seconds since 1970).
    fn commit(&self, message: &str, date: u64) {
        self.git(&["add", "-A"]);
        let when = format!("@{date} +0000");
        run(Command::new("git")
            .args(["-c", "user.name=Release Engineer", "-c", "user.email=release@example.invalid"])
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_DATE", &when)
            .env("GIT_COMMITTER_DATE", &when)
            .current_dir(self.root()));
    }

    /// `cargo xtask package [--version V] --out OUT`, with default settings: sample jars, the
    /// last commit's date.
    fn package(&self, out: &Path, version: Option<&str>) -> anyhow::Result<PackageOutcome> {
        self.package_recording(out, version, false)
    }

    /// The same, `--record-fixed-versions` when `record`.
    fn package_recording(&self, out: &Path, version: Option<&str>, record: bool) -> anyhow::Result<PackageOutcome> {
        let request = PackageRequest {
            root: self.root().to_path_buf(),
            bundles: None,
            samples_dir: self.root().join("target/bmpack-samples"),
            resolve: ResolveOptions { version: version.map(str::to_string), ..ResolveOptions::default() },
            build: BuildOptions {
                out: out.to_path_buf(),
                formats: Format::ALL.to_vec(),
                jobs: 2,
                write: WriteOptions {
                    compression: Compression::Default,
                    source_date_epoch: last_commit_date(self.root())?,
                },
            },
            record_fixed_versions: record,
        };
        bmpack::pipeline::package(&request, &Silent)
    }
}

/// Each built file's SHA-256, by file name.
fn digests(outcome: &PackageOutcome) -> BTreeMap<String, String> {
    outcome
        .files
        .iter()
        .map(|f| (f.path.file_name().unwrap().to_string_lossy().into_owned(), f.sha256.clone()))
        .collect()
}

fn request(repo: &Path, from: &Path, key: &TestKey, base_url: &str) -> PublishRequest {
    PublishRequest {
        repo: repo.to_path_buf(),
        from: from.to_path_buf(),
        keys: vec![KeySource::File(key.secret_file.clone())],
        suite: "stable".into(),
        prune: None,
        base_url: base_url.into(),
    }
}

fn publish_ok(req: &PublishRequest) -> PublishReport {
    publish(req).unwrap_or_else(|e| panic!("publish failed: {e:#}"))
}

/// What the plug-ins depend on and BlueMind ships: bm-core and bm-webserver stand-ins (both
/// formats), and for the dnf root, which starts empty, a `/bin/sh` for the scriptlets.
fn services(dir: &Path) -> Vec<PathBuf> {
    let (both, rpm_only) = (dir.join("services"), dir.join("base"));
    build_packages(
        &both,
        &[
            StandIn { name: "bm-core", version: "4.9.0", depends: &[] }.package(),
            StandIn { name: "bm-webserver", version: "4.9.0", depends: &[] }.package(),
        ],
    );
    let options = BuildOptions {
        out: rpm_only.clone(),
        formats: vec![Format::Rpm],
        jobs: 1,
        write: WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 },
    };
    build_all(&[bmpack_tests::rpmroot::busybox_base()], &options, &Silent).unwrap();
    vec![both, rpm_only]
}

/// The fixed-version packages of the catalog (their names, from the build).
fn helper_files(outcome: &PackageOutcome, catalog: &bmpack::catalog::Catalog) -> Vec<String> {
    let fixed: Vec<&str> =
        catalog.declarations.iter().filter(|d| d.fixed_version().is_some()).map(|d| d.name.as_str()).collect();
    let mut names: Vec<String> = outcome
        .files
        .iter()
        .filter(|f| fixed.contains(&f.package.as_str()))
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn release_1_then_release_2_after_a_commit_publish_cleanly_and_upgrade_debian_11_12_13_and_dnf_servers() {
    for (tool, package) in
        [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("rpmsign", "rpm"), ("dnf", "dnf")]
    {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let base = format!("{}/repo", server.url);

    // Release 1: `cargo xtask package`, default settings, at the date of the last commit.
    let project = Project::copy();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    project.commit("Release 4.8.2", now - 7 * 86_400);
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    let first = project.package(&r1, None).unwrap_or_else(|e| panic!("{e:#}"));
    // A week of work later: a commit, then release 2 with `--version 4.8.3`.
    std::fs::write(project.root().join("CHANGES"), "4.8.3: fixes\n").unwrap();
    project.commit("Release 4.8.3", now - 86_400);
    let second = project.package(&r2, Some("4.8.3")).unwrap_or_else(|e| panic!("{e:#}"));

    // The helper packages did not change: same names, same bytes; everything else is new.
    let catalog = bmpack::catalog::Catalog::load(project.root()).unwrap();
    let helpers = helper_files(&first, &catalog);
    assert!(!helpers.is_empty());
    assert_eq!(helper_files(&second, &catalog), helpers);
    let (d1, d2) = (digests(&first), digests(&second));
    for name in &helpers {
        assert_eq!(d1[name], d2[name], "{name} changed between two releases although its content did not");
    }
    for p in PLUGINS {
        assert!(d2.keys().any(|n| n.starts_with(&format!("{p}_4.8.3-1_"))), "{p} 4.8.3 was not built: {d2:?}");
    }

    for dir in services(tmp.path()) {
        publish_ok(&request(&repo, &dir, &key, &base));
    }
    let report = publish_ok(&request(&repo, &r1, &key, &base));
    assert_eq!(report.added.len(), first.files.len(), "{report:?}");

    // Servers set up from what publish wrote (the .sources and .repo files name the test
    // server, the published base URL), each installing release 1.
    let sources = std::fs::read_to_string(repo.join("bmpack-stable.sources")).unwrap();
    let clients: Vec<AptClient> = Release::ALL.into_iter().map(AptClient::new).collect();
    for client in &clients {
        client.add_source(&sources, &repo.join("bmpack-archive-keyring.gpg"));
        let update = client.ok("apt-get update 2>&1");
        assert!(!update.contains("W:") && !update.contains("E:"), "Debian {:?}: {update}", client.release);
        client.ok(&format!("apt-get install -y {} 2>&1", PLUGINS.join(" ")));
        for p in PLUGINS {
            assert_eq!(client.installed_version(p).as_deref(), Some("4.8.2-1"), "Debian {:?}: {p}", client.release);
        }
    }
    assert!(clients[2].join("/usr/bin/sqv").exists(), "Debian 13's apt checks signatures with sqv");
    let dnf = DnfRoot::for_repository(&tmp.path().join("dnf"), &repo, &base, &repo.join("RPM-GPG-KEY-bmpack"));
    let mut install = vec!["install", "busybox-base"];
    install.extend(PLUGINS);
    let out = dnf.dnf(&install);
    assert!(out.status.success(), "{}", describe(&out));
    let at = |version: &str| {
        let mut v: Vec<String> = PLUGINS.iter().map(|p| format!("{p} {version}-1")).collect();
        v.sort();
        v
    };
    let installed_plugins = |dnf: &DnfRoot| {
        dnf.installed()
            .into_iter()
            .filter(|l| PLUGINS.iter().any(|p| l.starts_with(&format!("{p} "))))
            .collect::<Vec<_>>()
    };
    assert_eq!(installed_plugins(&dnf), at("4.8.2"));

    // Release 2 is accepted, the helpers published as unchanged.
    let report = publish_ok(&request(&repo, &r2, &key, &base));
    for name in &helpers {
        assert!(
            report.already_present.iter().any(|p| p.ends_with(name.as_str())),
            "{name} not reported unchanged: {report:?}"
        );
    }
    assert_eq!(report.added.len(), second.files.len() - helpers.len(), "{report:?}");

    // The usual commands bring 4.8.3: `apt-get update && apt-get upgrade`, `dnf upgrade`
    // (no --refresh: the .repo file's metadata lifetime makes dnf see the new publish).
    for client in &clients {
        client.ok("apt-get update 2>&1");
        let upgrade = client.ok("apt-get upgrade -y 2>&1");
        for p in PLUGINS {
            assert_eq!(
                client.installed_version(p).as_deref(),
                Some("4.8.3-1"),
                "Debian {:?}: {p} not upgraded: {upgrade}",
                client.release
            );
        }
    }
    let out = dnf.dnf(&["upgrade"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(installed_plugins(&dnf), at("4.8.3"), "dnf upgrade did not bring 4.8.3: {}", describe(&out));
}

#[test]
fn a_helper_package_changed_without_a_new_version_is_refused_at_package_time_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let project = Project::copy();
    project.commit("Release 4.8.2", 1_750_000_000);
    let out = tmp.path().join("out");
    project.package(&out, None).unwrap_or_else(|e| panic!("{e:#}"));
    let before: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(&out)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();

    // bm-plugin-reload's Debian script changes; its version in bmpack.toml does not.
    let catalog = bmpack::catalog::Catalog::load(project.root()).unwrap();
    let reload = catalog.declarations.iter().find(|d| d.name == "bm-plugin-reload").unwrap();
    let version = reload.fixed_version().unwrap().to_string();
    let script = project.root().join("debian/bm-plugin-reload.postinst");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("# a change\n");
    std::fs::write(&script, text).unwrap();
    project.commit("Change the reload script", 1_750_086_400);
    let err = format!("{:#}", project.package(&out, None).unwrap_err());
    for needed in [
        "packaging/bmpack.toml",
        "`bm-plugin-reload`",
        "field `version`",
        &format!("bm-plugin-reload {version}"),
        "Raise its `version`",
        "cargo xtask package --record-fixed-versions",
    ] {
        assert!(err.contains(needed), "the error does not say `{needed}`: {err}");
    }
    let after: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(&out)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    assert!(before == after, "the refused build changed its output folder");

    // The fix the error gives: raise the version, record it; the next release builds.
    let toml = project.root().join("packaging/bmpack.toml");
    let declared = std::fs::read_to_string(&toml).unwrap();
    let entry = declared.find("name = \"bm-plugin-reload\"").unwrap();
    let line = format!("version = \"{version}\"");
    let at = entry + declared[entry..].find(&line).unwrap();
    let (head, last) = version.rsplit_once('.').unwrap();
    let next = format!("{head}.{}", last.parse::<u32>().unwrap() + 1);
    std::fs::write(&toml, format!("{}version = \"{next}\"{}", &declared[..at], &declared[at + line.len()..])).unwrap();
    let recorded = project.package_recording(&out, None, true).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(recorded.recorded, vec![format!("bm-plugin-reload {next}")]);
    let record = std::fs::read_to_string(project.root().join("packaging/fixed-versions.toml")).unwrap();
    assert!(record.contains(&format!("\"{version}\" = ")) && record.contains(&format!("\"{next}\" = ")), "{record}");
    assert!(out.join(format!("deb/bm-plugin-reload_{next}-1_all.deb")).is_file());
    project.package(&out, None).unwrap_or_else(|e| panic!("once recorded, the build goes through: {e:#}"));
}

/// A copy of the published repository at `www/<name>`, changed by `damage` (a mirror or a man in
/// the middle serving something else than what was signed).
fn variant(www: &Path, repo: &Path, name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let copy = www.join(name);
    bmpack_tests::repo_tools::copy_tree(repo, &copy);
    damage(&copy);
    copy
}

/// Signs `file` with `key` into `output`: clearsigned, or an armored detached signature.
fn sign_with(key: &TestKey, file: &Path, output: &Path, clearsign: bool) {
    let _ = std::fs::remove_file(output);
    run(Command::new("gpg")
        .arg("--homedir")
        .arg(&key.home)
        .args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--digest-algo",
            "SHA512",
            "--local-user",
            &key.fingerprint,
        ])
        .args(if clearsign { &["--clearsign"][..] } else { &["--armor", "--detach-sign"][..] })
        .arg("--output")
        .arg(output)
        .arg(file));
}

#[test]
fn tampered_foreign_signed_and_unsigned_repositories_are_refused_by_apt_of_debian_11_12_13_and_by_dnf() {
    for (tool, package) in [
        ("apt-ftparchive", "apt-utils"),
        ("createrepo_c", "createrepo-c"),
        ("rpmsign", "rpm"),
        ("dnf", "dnf"),
        ("xz", "xz-utils"),
    ] {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let foreign = TestKey::generate(tmp.path(), "foreign");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let release = tmp.path().join("release");
    build_packages(
        &release,
        &[
            StandIn { name: "bm-core", version: "4.9.0", depends: &[] }.package(),
            StandIn { name: "bm-nextcloud12", version: "4.8.2", depends: &["bm-core"] }.package(),
        ],
    );
    publish_ok(&request(&repo, &release, &key, &format!("{}/repo", server.url)));

    let suite = repo.join("dists/stable");
    let apt_variants = [
        (
            "apt-tampered",
            variant(&www, &repo, "apt-tampered", |copy| {
                for arch in ["all", "amd64"] {
                    let dir = copy.join(format!("dists/stable/main/binary-{arch}"));
                    let text = std::fs::read_to_string(dir.join("Packages")).unwrap();
                    let evil = text.replacen("Version: 4.8.2-1", "Version: 9.9.9-1", 1);
                    assert_ne!(text, evil);
                    std::fs::write(dir.join("Packages"), &evil).unwrap();
                    run(Command::new("sh")
                        .arg("-c")
                        .arg("gzip -9nc Packages > Packages.gz && xz -c Packages > Packages.xz")
                        .current_dir(&dir));
                    for copy in walkdir::WalkDir::new(dir.join("by-hash"))
                        .into_iter()
                        .flatten()
                        .filter(|e| e.file_type().is_file())
                    {
                        let kind = match std::fs::read(copy.path()).unwrap().get(..2) {
                            Some([0x1f, 0x8b]) => "Packages.gz",
                            Some([0xfd, b'7']) => "Packages.xz",
                            _ => "Packages",
                        };
                        std::fs::copy(dir.join(kind), copy.path()).unwrap();
                    }
                }
            }),
        ),
        (
            "apt-foreign",
            variant(&www, &repo, "apt-foreign", |copy| {
                let d = copy.join("dists/stable");
                sign_with(&foreign, &suite.join("Release"), &d.join("InRelease"), true);
                sign_with(&foreign, &suite.join("Release"), &d.join("Release.gpg"), false);
            }),
        ),
        (
            "apt-unsigned",
            variant(&www, &repo, "apt-unsigned", |copy| {
                std::fs::remove_file(copy.join("dists/stable/InRelease")).unwrap();
                std::fs::remove_file(copy.join("dists/stable/Release.gpg")).unwrap();
            }),
        ),
    ];
    // What each apt says: apt 2.2 and 2.6 through gpgv, apt 3.0 through sqv.
    let foreign_id = &foreign.fingerprint[foreign.fingerprint.len() - 16..];
    let expected = |name: &str, release: Release| -> Vec<String> {
        match (name, release) {
            ("apt-tampered", _) => vec!["File has unexpected size".into(), "Hash Sum mismatch".into()],
            ("apt-foreign", Release::Trixie) => {
                vec![format!("sqv returned an error code (1), error message is: Missing key {}", foreign.fingerprint)]
            }
            ("apt-foreign", _) => vec![format!("NO_PUBKEY {foreign_id}")],
            _ => vec!["is not signed".into()],
        }
    };
    let sources = std::fs::read_to_string(repo.join("bmpack-stable.sources")).unwrap();
    for release in Release::ALL {
        for (name, _) in &apt_variants {
            let client = AptClient::new(release);
            let uri = format!("URIs: {}/{name}", server.url);
            client.add_source(
                &sources.replace(&format!("URIs: {}/repo", server.url), &uri),
                &repo.join("bmpack-archive-keyring.gpg"),
            );
            let update = client.sh("apt-get update 2>&1");
            let said = String::from_utf8_lossy(&update.stdout).into_owned();
            assert!(!update.status.success(), "Debian {release:?}: apt-get update accepted {name}: {said}");
            let wanted = expected(name, release);
            assert!(
                wanted.iter().any(|w| said.contains(w.as_str())),
                "Debian {release:?} refused {name} for another reason than {wanted:?}: {said}"
            );
            let install = client.sh("apt-get install -y bm-nextcloud12 2>&1");
            assert!(
                !install.status.success(),
                "Debian {release:?} installed from {name}: {}",
                String::from_utf8_lossy(&install.stdout)
            );
            assert_eq!(client.installed_version("bm-nextcloud12"), None);
        }
    }

    // dnf, gpgcheck=1 and repo_gpgcheck=1 as the published .repo file sets them.
    let repodata = repo.join("rpm/stable/repodata");
    let dnf_variants = [
        (
            "dnf-tampered",
            variant(&www, &repo, "dnf-tampered", |copy| {
                let repomd = copy.join("rpm/stable/repodata/repomd.xml");
                let text = std::fs::read_to_string(&repomd).unwrap();
                let evil = text.replacen("<revision>", "<revision>1", 1);
                assert_ne!(text, evil);
                std::fs::write(&repomd, evil).unwrap();
            }),
        ),
        (
            "dnf-foreign",
            variant(&www, &repo, "dnf-foreign", |copy| {
                sign_with(
                    &foreign,
                    &repodata.join("repomd.xml"),
                    &copy.join("rpm/stable/repodata/repomd.xml.asc"),
                    false,
                );
            }),
        ),
        (
            "dnf-unsigned",
            variant(&www, &repo, "dnf-unsigned", |copy| {
                std::fs::remove_file(copy.join("rpm/stable/repodata/repomd.xml.asc")).unwrap();
            }),
        ),
    ];
    for (name, _) in &dnf_variants {
        let wanted = match *name {
            "dnf-unsigned" => "GPG verification is enabled, but GPG signature is not available",
            _ => "repomd.xml GPG signature verification error: Bad GPG signature",
        };
        let client = DnfRoot::for_repository(
            &tmp.path().join(format!("client-{name}")),
            &repo,
            &format!("{}/{name}", server.url),
            &repo.join("RPM-GPG-KEY-bmpack"),
        );
        let out = client.dnf(&["install", "bm-nextcloud12"]);
        let said = describe(&out);
        assert!(!out.status.success(), "dnf installed from {name}: {said}");
        assert!(said.contains(wanted), "dnf refused {name} for another reason than `{wanted}`: {said}");
        assert!(client.installed().is_empty(), "{name}: {:?}", client.installed());
    }
}

/// A release of two stand-ins: bm-core 4.9.0 (unchanged from one release to the next, as
/// bm-plugin-reload is) and bm-nextcloud12 at `version`.
fn standin_release(dir: &Path, version: &str) {
    build_packages(
        dir,
        &[
            StandIn { name: "bm-core", version: "4.9.0", depends: &[] }.package(),
            StandIn { name: "bm-nextcloud12", version, depends: &["bm-core"] }.package(),
        ],
    );
}

fn keys(keys: &[&TestKey]) -> Vec<KeySource> {
    keys.iter().map(|k| KeySource::File(k.secret_file.clone())).collect()
}

/// The primary fingerprints of the keys in a key file.
fn fingerprints_in(file: &Path) -> Vec<String> {
    let colons = run(Command::new("gpg").args(["--batch", "--with-colons", "--show-keys"]).arg(file));
    let mut fingerprints = Vec::new();
    let mut after_pub = false;
    for line in colons.lines() {
        if line.starts_with("pub:") {
            after_pub = true;
        } else if let Some(rest) = line.strip_prefix("fpr:").filter(|_| after_pub) {
            fingerprints.push(rest.trim_matches(':').to_string());
            after_pub = false;
        }
    }
    fingerprints.sort();
    fingerprints
}

#[test]
fn keys_rotate_without_a_flag_day_for_apt_of_debian_11_12_13_and_dnf() {
    for (tool, package) in
        [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("rpmsign", "rpm"), ("dnf", "dnf")]
    {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let (old, new) = (TestKey::generate(tmp.path(), "old"), TestKey::generate(tmp.path(), "new"));
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let base = format!("{}/repo", server.url);
    let releases: Vec<PathBuf> = ["4.8.2", "4.8.3", "4.8.4"]
        .iter()
        .map(|v| {
            let dir = tmp.path().join(v);
            standin_release(&dir, v);
            dir
        })
        .collect();
    let with_keys = |from: &Path, signing: &[&TestKey]| PublishRequest {
        keys: keys(signing),
        ..request(&repo, from, signing[0], &base)
    };
    publish_ok(&with_keys(&releases[0], &[&old]));
    let sources = std::fs::read_to_string(repo.join("bmpack-stable.sources")).unwrap();
    let version = |c: &AptClient| c.installed_version("bm-nextcloud12");
    let dnf_version =
        |d: &DnfRoot| d.installed().into_iter().find_map(|l| l.strip_prefix("bm-nextcloud12 ").map(str::to_string));

    // Servers that trust the old key only, installed before the rotation.
    let old_apt: Vec<AptClient> = Release::ALL.into_iter().map(AptClient::new).collect();
    for client in &old_apt {
        client.add_source(&sources, &old.public_keyring);
        client.ok("apt-get update 2>&1 && apt-get install -y bm-nextcloud12 2>&1");
        assert_eq!(version(client).as_deref(), Some("4.8.2-1"));
    }
    let old_dnf = DnfRoot::for_repository(&tmp.path().join("dnf-old"), &repo, &base, &old.public_armored);
    let out = old_dnf.dnf(&["install", "bm-nextcloud12"]);
    assert!(out.status.success(), "{}", describe(&out));

    // Changing keys at once is refused: every server would stop trusting the repository.
    let err = format!("{:#}", publish(&with_keys(&releases[1], &[&new])).unwrap_err());
    assert!(err.contains("another key") && err.contains("--key-file CURRENT --key-file NEW"), "{err}");

    // The transition: both keys sign, the client files carry both.
    let report = publish_ok(&with_keys(&releases[1], &[&old, &new]));
    assert!(report.changed, "{report:?}");
    let mut both = vec![old.fingerprint.clone(), new.fingerprint.clone()];
    both.sort();
    assert_eq!(fingerprints_in(&repo.join("bmpack-archive-keyring.gpg")), both);
    assert_eq!(fingerprints_in(&repo.join("RPM-GPG-KEY-bmpack")), both);
    // Servers of the old key keep working...
    for client in &old_apt {
        let update = client.ok("apt-get update 2>&1");
        assert!(!update.contains("E:") && !update.contains("W:"), "Debian {:?}: {update}", client.release);
        client.ok("apt-get upgrade -y 2>&1");
        assert_eq!(version(client).as_deref(), Some("4.8.3-1"), "Debian {:?}", client.release);
    }
    let out = old_dnf.dnf(&["upgrade"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(dnf_version(&old_dnf).as_deref(), Some("4.8.3-1"), "{}", describe(&out));
    // ...and servers given the new key only work from the start.
    let new_apt: Vec<AptClient> = Release::ALL.into_iter().map(AptClient::new).collect();
    for client in &new_apt {
        client.add_source(&sources, &new.public_keyring);
        let update = client.ok("apt-get update 2>&1");
        assert!(!update.contains("E:") && !update.contains("W:"), "Debian {:?}: {update}", client.release);
        client.ok("apt-get install -y bm-nextcloud12 2>&1");
        assert_eq!(version(client).as_deref(), Some("4.8.3-1"), "Debian {:?}", client.release);
    }
    // dnf of a server given the new key only accepts the metadata (repomd.xml.asc carries both
    // signatures), but rpm 4 reads one signature per package: the packages are signed by the
    // current key until it is dropped (docs/publishing.md, "Changing keys").
    let new_dnf = DnfRoot::for_repository(&tmp.path().join("dnf-new"), &repo, &base, &new.public_armored);
    let out = new_dnf.dnf(&["makecache"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = new_dnf.dnf(&["install", "bm-nextcloud12"]);
    assert!(!out.status.success() && describe(&out).contains("Public key for bm-"), "{}", describe(&out));

    // Later, the old key is dropped: the new one signs everything from now on.
    publish_ok(&with_keys(&releases[2], &[&new]));
    assert_eq!(fingerprints_in(&repo.join("bmpack-archive-keyring.gpg")), vec![new.fingerprint.clone()]);
    // The rpms published before keep their signature, so dnf keeps the old key for them.
    assert_eq!(fingerprints_in(&repo.join("RPM-GPG-KEY-bmpack")), both);
    for client in &new_apt {
        client.ok("apt-get update 2>&1 && apt-get upgrade -y 2>&1");
        assert_eq!(version(client).as_deref(), Some("4.8.4-1"), "Debian {:?}", client.release);
    }
    // A server set up now, from the published files, installs release 3 and bm-core (signed
    // before the rotation).
    let fresh_dnf =
        DnfRoot::for_repository(&tmp.path().join("dnf-fresh"), &repo, &base, &repo.join("RPM-GPG-KEY-bmpack"));
    let out = fresh_dnf.dnf(&["install", "bm-nextcloud12"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(dnf_version(&fresh_dnf).as_deref(), Some("4.8.4-1"));
    // Servers that never took the new key are refused, with apt's and dnf's own words.
    for client in &old_apt {
        let update = client.sh("apt-get update 2>&1");
        let said = String::from_utf8_lossy(&update.stdout).into_owned();
        let why = match client.release {
            Release::Trixie => format!("Missing key {}", new.fingerprint),
            _ => format!("NO_PUBKEY {}", &new.fingerprint[new.fingerprint.len() - 16..]),
        };
        // With the lists of earlier updates at hand, apt warns and keeps them.
        assert!(
            said.contains(&why) && said.contains("The repository is not updated"),
            "Debian {:?}: {said}",
            client.release
        );
        client.ok("apt-get upgrade -y 2>&1");
        assert_eq!(version(client).as_deref(), Some("4.8.3-1"), "Debian {:?}", client.release);
    }
    // dnf says why, and fails: the published .repo sets skip_if_unavailable=False.
    let out = old_dnf.dnf(&["upgrade"]);
    assert!(describe(&out).contains("repomd.xml GPG signature verification error"), "{}", describe(&out));
    assert!(!out.status.success(), "dnf went on without the repository: {}", describe(&out));
    assert_eq!(dnf_version(&old_dnf).as_deref(), Some("4.8.3-1"));
}
