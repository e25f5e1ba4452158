//! `cargo xtask publish` (`bmpack::repo::publish`): signed apt and yum repositories that stock
//! apt and dnf install from, checked with apt-get and dnf against the repository served over
//! HTTP on 127.0.0.1, and publishes that are incremental and leave the repository as it was
//! when they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bmpack::repo::gpg::Signer;
use bmpack::repo::{KeySource, PublishReport, PublishRequest, publish, yum};
use bmpack_tests::apt_root::{AptRoot, describe};
use bmpack_tests::dnf_root::DnfRoot;
use bmpack_tests::repo_tools::{
    StandIn, TestKey, build_catalog_release, build_packages, build_release, build_rpm, copy_tree, require, run,
    tree_hash,
};
use bmpack_tests::web_server::{WebServer, public_tempdir};

/// The four plug-ins, as stand-ins depending on stand-ins of the BlueMind services.
const PLUGINS: [&str; 4] = [
    "bm-nextcloud-common",
    "bm-nextcloud12",
    "bm-plugin-core-videoconferencing-starleaf",
    "bm-plugin-admin-console-videoconferencing-starleaf",
];

fn release(out: &Path, version: &str) {
    let mut packages = vec![
        StandIn { name: "bm-core", version: "4.9.0", depends: &[] },
        StandIn { name: "bm-webserver", version: "4.9.0", depends: &[] },
    ];
    for name in PLUGINS {
        let depends: &[&str] = if name.contains("admin-console") { &["bm-webserver"] } else { &["bm-core"] };
        packages.push(StandIn { name, version, depends });
    }
    build_release(out, &packages);
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

fn siblings_left(repo: &Path) -> Vec<String> {
    let base = repo.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(repo.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{base}.")))
        .collect()
}

fn packages_index(repo: &Path) -> String {
    std::fs::read_to_string(repo.join("dists/stable/main/binary-all/Packages")).unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn publishing_is_incremental_refuses_conflicts_and_failures_leave_the_repository_as_it_was() {
    for (tool, package) in [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("rpmsign", "rpm")] {
        require(tool, package);
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let other_key = TestKey::generate(tmp.path(), "other");
    let repo = tmp.path().join("www/repo");
    let r1 = tmp.path().join("r1");
    let r2 = tmp.path().join("r2");
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");

    let first = publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo"));
    assert!(first.changed);
    assert_eq!(first.added.len(), 12, "6 .deb and 6 .rpm added: {:?}", first.added);
    let after_r1 = tree_hash(&repo);

    // The same packages again: nothing changes, not even the Release date or a signature.
    let again = publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo"));
    assert!(!again.changed, "{again:?}");
    assert_eq!(again.already_present.len(), 12);
    assert_eq!(tree_hash(&repo), after_r1, "publishing the same packages again changed the repository");

    // A different file under a name already published is refused.
    let conflicting = tmp.path().join("conflicting");
    build_release(
        &conflicting,
        &[StandIn { name: "bm-nextcloud12", version: "1.0.0", depends: &["bm-core", "bm-webserver"] }],
    );
    let err = publish(&request(&repo, &conflicting, &key, "http://example.invalid/repo")).unwrap_err();
    assert!(format!("{err:#}").contains("with different content"), "{err:#}");
    assert!(format!("{err:#}").contains("bm-nextcloud12"), "{err:#}");

    // A missing key, a key file without a secret key, another key than the repository's, a
    // damaged rpm (found when it is copied in, after the apt side was re-indexed and signed in
    // the staging tree).
    let missing = KeySource::File(tmp.path().join("no-such-key.asc"));
    let err = publish(&PublishRequest { keys: vec![missing], ..request(&repo, &r2, &key, "http://x") }).unwrap_err();
    assert!(format!("{err:#}").contains("no-such-key.asc"), "{err:#}");
    let public_only = KeySource::File(key.public_armored.clone());
    let err =
        publish(&PublishRequest { keys: vec![public_only], ..request(&repo, &r2, &key, "http://x") }).unwrap_err();
    assert!(format!("{err:#}").contains("no secret key"), "{err:#}");
    let err = publish(&request(&repo, &r2, &other_key, "http://x")).unwrap_err();
    assert!(format!("{err:#}").contains("another key"), "{err:#}");
    let damaged = tmp.path().join("damaged");
    copy_tree(&r2, &damaged);
    let victim = damaged.join("rpm/bm-nextcloud12-1.1.0-1.noarch.rpm");
    std::fs::remove_file(damaged.join("SHA256SUMS")).unwrap(); // else the checksum check finds it first
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 100]).unwrap();
    let err = publish(&request(&repo, &damaged, &key, "http://x")).unwrap_err();
    assert!(format!("{err:#}").contains("bm-nextcloud12-1.1.0-1.noarch.rpm is not a usable .rpm package"), "{err:#}");
    std::fs::write(&victim, &bytes).unwrap();
    let deb = damaged.join("deb/bm-nextcloud12_1.1.0-1_all.deb");
    let deb_bytes = std::fs::read(&deb).unwrap();
    std::fs::write(&deb, &deb_bytes[..deb_bytes.len() - 100]).unwrap();
    let err = publish(&request(&repo, &damaged, &key, "http://x")).unwrap_err();
    assert!(format!("{err:#}").contains("bm-nextcloud12_1.1.0-1_all.deb is not a usable .deb package"), "{err:#}");

    // A package changed after the build no longer matches SHA256SUMS.
    let changed_after_build = tmp.path().join("changed");
    copy_tree(&r2, &changed_after_build);
    let deb = changed_after_build.join("deb/bm-nextcloud12_1.1.0-1_all.deb");
    std::fs::copy(r1.join("deb/bm-nextcloud12_1.0.0-1_all.deb"), &deb).unwrap();
    let err = publish(&request(&repo, &changed_after_build, &key, "http://x")).unwrap_err();
    assert!(format!("{err:#}").contains("does not match"), "{err:#}");

    assert_eq!(tree_hash(&repo), after_r1, "a failed publish changed the repository");
    assert_eq!(siblings_left(&repo), Vec::<String>::new(), "a failed publish left its staging tree");

    // A publish killed while preparing leaves `repo.new-<pid>`; one killed between the two
    // renames of the swap leaves only `repo.old-<pid>`. The next publish cleans up or puts the
    // earlier tree back. (The pid is above any pid_max, so no live process has it.)
    let dead_pid = 99_999_999;
    let stale = repo.with_file_name(format!("repo.new-{dead_pid}"));
    std::fs::create_dir_all(stale.join("pool")).unwrap();
    std::fs::write(stale.join("pool/half-written.deb"), b"junk").unwrap();
    assert!(!publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo")).changed);
    assert_eq!(siblings_left(&repo), Vec::<String>::new(), "the stale staging tree is still there");
    std::fs::rename(&repo, repo.with_file_name(format!("repo.old-{dead_pid}"))).unwrap();
    assert!(!publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo")).changed);
    assert_eq!(tree_hash(&repo), after_r1, "the earlier tree was not put back");
    assert_eq!(siblings_left(&repo), Vec::<String>::new());

    // Release 2 keeps release 1 (administrators can downgrade), re-indexes and re-signs.
    // Published through a symbolic link to the repository, which stays a link.
    let link = tmp.path().join("www/current");
    std::os::unix::fs::symlink(&repo, &link).unwrap();
    let second = publish_ok(&request(&link, &r2, &key, "http://example.invalid/repo"));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(second.added.len(), 8, "4 plug-ins × 2 formats: {:?}", second.added);
    let index = packages_index(&repo);
    assert_eq!(count(&index, "Package: bm-nextcloud12\n"), 2, "{index}");
    assert!(index.contains("Version: 1.0.0-1") && index.contains("Version: 1.1.0-1"));
    for v in ["1.0.0", "1.1.0"] {
        assert!(repo.join(format!("rpm/stable/bm-nextcloud12-{v}-1.noarch.rpm")).is_file());
    }
    let release_file = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    assert_ne!(tree_hash(&repo).get("dists/stable/InRelease"), after_r1.get("dists/stable/InRelease"));
    assert!(release_file.contains("Architectures: all amd64"), "{release_file}");
    for kept in after_r1.keys().filter(|p| p.starts_with("pool/") || p.ends_with(".rpm")) {
        assert_eq!(tree_hash(&repo).get(kept), after_r1.get(kept), "{kept} changed when release 2 was published");
    }

    // --prune 1 keeps the newest version of each package only.
    let pruned =
        publish_ok(&PublishRequest { prune: Some(1), ..request(&repo, &r2, &key, "http://example.invalid/repo") });
    assert_eq!(pruned.pruned.len(), 8, "{:?}", pruned.pruned);
    assert!(pruned.pruned.iter().all(|p| p.contains("1.0.0-1")), "{:?}", pruned.pruned);
    let index = packages_index(&repo);
    assert_eq!(count(&index, "Package: bm-nextcloud12\n"), 1, "{index}");
    assert!(!index.contains("Version: 1.0.0-1"), "{index}");
    assert_eq!(count(&index, "Version: 4.9.0-1"), 2, "bm-core and bm-webserver, only versions, stay: {index}");
    assert!(!repo.join("rpm/stable/bm-nextcloud12-1.0.0-1.noarch.rpm").exists());
    let primary = run(Command::new("sh").arg("-c").arg(format!(
        "cd {}/rpm/stable && zcat \"$(sed -n 's|.*href=\"\\(repodata/[^\"]*-primary.xml.gz\\)\".*|\\1|p' repodata/repomd.xml)\"",
        repo.display()
    )));
    assert_eq!(count(&primary, "<name>bm-nextcloud12</name>"), 1, "{primary}");

    // The signatures check out with the exported public key, and only with it.
    let gpgv = |keyring: &Path, sig: &str, data: Option<&str>| {
        let mut c = Command::new("gpgv");
        c.arg("--keyring").arg(keyring).arg(repo.join(sig));
        if let Some(d) = data {
            c.arg(repo.join(d));
        }
        c.output().unwrap().status.success()
    };
    let exported = repo.join("bmpack-archive-keyring.gpg");
    assert!(gpgv(&exported, "dists/stable/InRelease", None));
    assert!(gpgv(&exported, "dists/stable/Release.gpg", Some("dists/stable/Release")));
    assert!(gpgv(&exported, "rpm/stable/repodata/repomd.xml.asc", Some("rpm/stable/repodata/repomd.xml")));
    assert!(!gpgv(&other_key.public_keyring, "dists/stable/InRelease", None));
    assert_eq!(std::fs::read(&exported).unwrap(), std::fs::read(&key.public_keyring).unwrap());

    // The same key with a later expiry date (routine maintenance) is the same key: accepted,
    // and the exported keys are brought up to date.
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .arg("--homedir")
            .arg(&key.home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args))
    };
    gpg(&["--quick-set-expire", &key.fingerprint, "3y"]);
    let renewed = tmp.path().join("renewed.secret.asc");
    std::fs::write(&renewed, gpg(&["--armor", "--export-secret-keys", &key.fingerprint])).unwrap();
    let before = std::fs::read(&exported).unwrap();
    let report = publish_ok(&PublishRequest {
        keys: vec![KeySource::File(renewed)],
        ..request(&repo, &r2, &key, "http://example.invalid/repo")
    });
    assert!(report.changed && report.added.is_empty(), "{report:?}");
    assert_ne!(std::fs::read(&exported).unwrap(), before, "the exported key was not updated");
    assert!(gpgv(&exported, "dists/stable/InRelease", None));

    // Indexes stay servable by hash for the last three publishes (for mirrors one publish
    // behind), and no longer: a fourth publish drops the first one's.
    let r3 = tmp.path().join("r3");
    release(&r3, "1.2.0");
    publish_ok(&request(&repo, &r3, &key, "http://example.invalid/repo"));
    let release_file = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    assert!(release_file.contains("Acquire-By-Hash: yes"), "{release_file}");
    for arch in ["all", "amd64"] {
        for hash in ["SHA256", "SHA512"] {
            let dir = repo.join(format!("dists/stable/main/binary-{arch}/by-hash/{hash}"));
            let kept = std::fs::read_dir(&dir).unwrap().count();
            assert_eq!(
                kept,
                3 * 3,
                "Packages, .gz and .xz of three publishes in {}: {}",
                dir.display(),
                run(Command::new("ls").arg("-la").arg("--time-style=full-iso").arg(&dir))
            );
        }
    }
    let generations = std::fs::read_dir(repo.join("rpm/stable/repodata"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("-primary.xml.gz"))
        .count();
    assert_eq!(generations, 3, "primary.xml.gz of three publishes");
}

/// The `.sources` file publish wrote, pointed at `uri` and at `keyring` copied into the root.
fn apt_client(dir: &Path, repo: &Path, uri: &str, keyring: &Path) -> AptRoot {
    let written = std::fs::read_to_string(repo.join("bmpack-stable.sources")).unwrap();
    assert!(written.contains("Signed-By: /etc/apt/keyrings/bmpack-archive-keyring.gpg\n"), "{written}");
    let base = written.lines().find_map(|l| l.strip_prefix("URIs: ")).unwrap().to_string();
    let in_root = dir.join("etc/apt/keyrings/bmpack-archive-keyring.gpg");
    let sources = written
        .replace(&format!("URIs: {base}"), &format!("URIs: {uri}"))
        .replace("/etc/apt/keyrings/bmpack-archive-keyring.gpg", &in_root.to_string_lossy());
    let apt = AptRoot::new(dir, &sources);
    std::fs::copy(keyring, &in_root).unwrap();
    apt
}

fn plugins_at(version: &str) -> Vec<String> {
    let mut v: Vec<String> = ["bm-core 4.9.0-1".to_string(), "bm-webserver 4.9.0-1".to_string()].into();
    v.extend(PLUGINS.iter().map(|p| format!("{p} {version}-1")));
    v.sort();
    v
}

/// The signed index files of one publish, kept to play a mirror or proxy that still serves them.
struct SignedFiles(Vec<(PathBuf, Vec<u8>)>);

impl SignedFiles {
    fn read(repo: &Path, paths: &[&str]) -> SignedFiles {
        SignedFiles(paths.iter().map(|p| (PathBuf::from(p), std::fs::read(repo.join(p)).unwrap())).collect())
    }

    /// Writes at `to` the repository as it is now but with these older signed files: a mirror
    /// one publish behind on its indexes.
    fn mirror_behind(&self, repo: &Path, to: &Path) {
        copy_tree(repo, to);
        for (path, bytes) in &self.0 {
            std::fs::write(to.join(path), bytes).unwrap();
        }
    }
}

fn succeeded(out: &Output) -> bool {
    out.status.success()
}

#[test]
fn apt_installs_from_the_signed_repository_upgrades_and_refuses_tampering() {
    for (tool, package) in [("apt-ftparchive", "apt-utils"), ("apt-get", "apt"), ("xz", "xz-utils")] {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let other_key = TestKey::generate(tmp.path(), "other");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let base = format!("{}/repo", server.url);
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, &base));
    let keyring = repo.join("bmpack-archive-keyring.gpg");
    let release_1 =
        SignedFiles::read(&repo, &["dists/stable/InRelease", "dists/stable/Release", "dists/stable/Release.gpg"]);

    // Install the four plug-ins, signatures checked (apt refuses unsigned sources by default).
    let apt = apt_client(&tmp.path().join("server"), &repo, &base, &keyring);
    let out = apt.apt_get(&["update"]);
    assert!(succeeded(&out) && !String::from_utf8_lossy(&out.stderr).contains("W:"), "{}", describe(&out));
    let mut install = vec!["install", "-y"];
    install.extend(PLUGINS);
    let out = apt.apt_get(&install);
    assert!(succeeded(&out), "{}", describe(&out));
    assert_eq!(apt.installed(), plugins_at("1.0.0"));
    let installed_file = apt.root.join("usr/share/bm-nextcloud12/version");
    assert_eq!(std::fs::read_to_string(&installed_file).unwrap(), "1.0.0\n");

    // Release 2: `apt-get upgrade` picks it up; release 1 stays installable (downgrade).
    publish_ok(&request(&repo, &r2, &key, &base));
    let out = apt.apt_get(&["update"]);
    assert!(succeeded(&out), "{}", describe(&out));
    let out = apt.apt_get(&["upgrade", "-y"]);
    assert!(succeeded(&out), "{}", describe(&out));
    assert_eq!(apt.installed(), plugins_at("1.1.0"));
    assert_eq!(std::fs::read_to_string(&installed_file).unwrap(), "1.1.0\n");
    let out = apt.apt_get(&["install", "-s", "--allow-downgrades", "bm-nextcloud12=1.0.0-1"]);
    assert!(succeeded(&out), "release 1 is no longer installable: {}", describe(&out));

    // A mirror or proxy that still serves release 1's InRelease beside release 2's files: apt
    // fetches the indexes that InRelease names by their hash, and they are still there.
    release_1.mirror_behind(&repo, &www.join("stale"));
    let behind = apt_client(&tmp.path().join("c-stale"), &repo, &format!("{}/stale", server.url), &keyring);
    let out = behind.apt_get(&["update"]);
    assert!(
        succeeded(&out) && !describe(&out).contains("Hash Sum mismatch"),
        "a mirror one publish behind broke apt-get update: {}",
        describe(&out)
    );
    let out = behind.apt_get(&["install", "-y", "bm-nextcloud12"]);
    assert!(succeeded(&out), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(behind.root.join("usr/share/bm-nextcloud12/version")).unwrap(), "1.0.0\n");

    // A tampered Packages index (all three compressions, as an attacker would).
    let tampered = www.join("tampered");
    copy_tree(&repo, &tampered);
    for arch in ["all", "amd64"] {
        let dir = tampered.join(format!("dists/stable/main/binary-{arch}"));
        let text = std::fs::read_to_string(dir.join("Packages")).unwrap();
        let evil = text.replacen("Version: 1.1.0-1", "Version: 9.9.9-1", 1);
        assert_ne!(text, evil);
        std::fs::write(dir.join("Packages"), &evil).unwrap();
        run(Command::new("sh")
            .arg("-c")
            .arg("gzip -9nc Packages > Packages.gz && xz -c Packages > Packages.xz")
            .current_dir(&dir));
        // The copies apt fetches by hash, each replaced by the tampered file of its kind.
        for copy in walkdir::WalkDir::new(dir.join("by-hash")).into_iter().flatten().filter(|e| e.file_type().is_file())
        {
            let magic = std::fs::read(copy.path()).unwrap();
            let kind = match magic.get(..2) {
                Some([0x1f, 0x8b]) => "Packages.gz",
                Some([0xfd, b'7']) => "Packages.xz",
                _ => "Packages",
            };
            std::fs::copy(dir.join(kind), copy.path()).unwrap();
        }
    }
    // A repository without signatures.
    let unsigned = www.join("unsigned");
    copy_tree(&repo, &unsigned);
    for f in ["InRelease", "Release.gpg"] {
        std::fs::remove_file(unsigned.join("dists/stable").join(f)).unwrap();
    }
    let refused = [
        (
            "tampered",
            &["Hash Sum mismatch", "File has unexpected size"][..],
            apt_client(&tmp.path().join("c-tampered"), &repo, &format!("{}/tampered", server.url), &keyring),
        ),
        (
            "unsigned",
            &["is not signed"][..],
            apt_client(&tmp.path().join("c-unsigned"), &repo, &format!("{}/unsigned", server.url), &keyring),
        ),
        (
            "wrong key",
            &["NO_PUBKEY"][..],
            apt_client(&tmp.path().join("c-wrong-key"), &repo, &base, &other_key.public_keyring),
        ),
    ];
    for (what, expected, client) in refused {
        let out = client.apt_get(&["update"]);
        assert!(!succeeded(&out), "apt-get update accepted the {what} repository: {}", describe(&out));
        let said = describe(&out);
        assert!(
            expected.iter().any(|e| said.contains(e)),
            "the {what} repository was refused for another reason than {expected:?}: {said}"
        );
        let out = client.apt_get(&["install", "-y", "bm-nextcloud12"]);
        assert!(!succeeded(&out), "apt-get installed from the {what} repository: {}", describe(&out));
        assert!(!client.root.join("usr/share/bm-nextcloud12").exists(), "{what}");
    }
}

#[test]
fn dnf_installs_from_the_signed_repository_upgrades_and_refuses_tampering() {
    for (tool, package) in [("createrepo_c", "createrepo-c"), ("rpmsign", "rpm"), ("dnf", "dnf")] {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let other_key = TestKey::generate(tmp.path(), "other");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let base = format!("{}/repo", server.url);
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, &base));
    let armored = repo.join("RPM-GPG-KEY-bmpack");
    let repomd_1 = SignedFiles::read(&repo, &["rpm/stable/repodata/repomd.xml", "rpm/stable/repodata/repomd.xml.asc"]);

    // Install the four plug-ins with gpgcheck=1 and repo_gpgcheck=1.
    let dnf = DnfRoot::for_repository(&tmp.path().join("server"), &repo, &base, &armored);
    let mut install = vec!["install"];
    install.extend(PLUGINS);
    let out = dnf.dnf(&install);
    assert!(succeeded(&out), "{}", describe(&out));
    assert_eq!(dnf.installed(), plugins_at("1.0.0"));
    let installed_file = dnf.root.join("usr/share/bm-nextcloud12/version");
    assert_eq!(std::fs::read_to_string(&installed_file).unwrap(), "1.0.0\n");

    // Release 2: `dnf upgrade` picks it up; release 1 stays available (downgrade).
    publish_ok(&request(&repo, &r2, &key, &base));
    // dnf counts its cache's age in whole seconds and refreshes only when the age is above
    // metadata_expire (0): a run in the same second as the previous one keeps the cache. An
    // administrator's `dnf upgrade` is never within a second of the install; start the next one.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    std::thread::sleep(std::time::Duration::from_nanos(1_000_000_000 - u64::from(now.subsec_nanos()) + 1_000_000));
    let out = dnf.dnf(&["upgrade"]);
    assert!(succeeded(&out), "{}", describe(&out));
    assert_eq!(dnf.installed(), plugins_at("1.1.0"), "{}", describe(&out));
    assert_eq!(std::fs::read_to_string(&installed_file).unwrap(), "1.1.0\n");
    let out = dnf.dnf(&["list", "--showduplicates", "bm-nextcloud12"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("1.0.0-1") && listed.contains("1.1.0-1"), "{}", describe(&out));

    // A mirror or proxy that still serves release 1's repomd.xml beside release 2's files: the
    // metadata it names are still there (createrepo_c keeps the previous generations).
    repomd_1.mirror_behind(&repo, &www.join("stale"));
    let behind =
        DnfRoot::for_repository(&tmp.path().join("c-stale"), &repo, &format!("{}/stale", server.url), &armored);
    let out = behind.dnf(&["install", "bm-nextcloud12"]);
    assert!(succeeded(&out), "a mirror one publish behind broke dnf: {}", describe(&out));
    assert_eq!(std::fs::read_to_string(behind.root.join("usr/share/bm-nextcloud12/version")).unwrap(), "1.0.0\n");

    // A tampered repomd.xml (its signature no longer matches).
    let tampered = www.join("tampered");
    copy_tree(&repo, &tampered);
    let repomd = tampered.join("rpm/stable/repodata/repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    let evil = text.replacen("<revision>", "<revision>1", 1);
    assert_ne!(text, evil);
    std::fs::write(&repomd, evil).unwrap();

    // Consistent, signed metadata listing an unsigned rpm and an rpm signed by another key.
    let foreign = www.join("foreign");
    copy_tree(&repo, &foreign);
    let extra = tmp.path().join("extra");
    let unsigned_rpm = build_rpm(&extra, &StandIn { name: "bm-extra-unsigned", version: "1.0.0", depends: &[] });
    let foreign_rpm = build_rpm(&extra, &StandIn { name: "bm-extra-foreign", version: "1.0.0", depends: &[] });
    let other_signer = Signer::open(&KeySource::File(other_key.secret_file.clone())).unwrap();
    yum::sign(std::slice::from_ref(&foreign_rpm), &other_signer).unwrap();
    for f in [&unsigned_rpm, &foreign_rpm] {
        std::fs::copy(f, foreign.join("rpm/stable").join(f.file_name().unwrap())).unwrap();
    }
    let archive_signer = Signer::open(&KeySource::File(key.secret_file.clone())).unwrap();
    yum::index(&foreign, "stable", &archive_signer).unwrap();

    let refused = [
        (
            "tampered repomd.xml",
            "bm-nextcloud12",
            &["repomd.xml GPG signature verification error"][..],
            format!("{}/tampered", server.url),
        ),
        (
            "unsigned rpm",
            "bm-extra-unsigned",
            &["bm-extra-unsigned-1.0.0-1.noarch.rpm is not signed"][..],
            format!("{}/foreign", server.url),
        ),
        (
            "foreign-signed rpm",
            "bm-extra-foreign",
            &["Public key for bm-extra-foreign-1.0.0-1.noarch.rpm is not installed", "GPG check FAILED"][..],
            format!("{}/foreign", server.url),
        ),
    ];
    for (what, package, expected, url) in refused {
        let client =
            DnfRoot::for_repository(&tmp.path().join(format!("c-{package}-{}", what.len())), &repo, &url, &armored);
        let out = client.dnf(&["install", package]);
        let said = describe(&out);
        assert!(!succeeded(&out), "dnf installed from a repository with a {what}: {said}");
        assert!(
            expected.iter().any(|e| said.contains(e)),
            "the {what} was refused for another reason than {expected:?}: {said}"
        );
        assert!(!client.root.join("usr/share").join(package).exists(), "{what}");
    }
}

#[test]
fn the_catalogs_own_packages_are_published_and_fetched_by_apt_and_dnf_with_signatures_checked() {
    for (tool, package) in [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("dnf", "dnf")] {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let www = tmp.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let server = WebServer::serve(&www);
    let repo = www.join("repo");
    let base = format!("{}/repo", server.url);
    // The BlueMind services the plug-ins depend on, then two releases of the plug-ins.
    let services = tmp.path().join("services");
    // The plug-ins' scriptlets need /bin/sh, which a server has and an empty dnf root does not.
    let mut shell = StandIn { name: "sh-stand-in", version: "1.0.0", depends: &[] }.package();
    shell.files.push(bmpack::model::PayloadFile {
        dest: "/bin/sh".parse().unwrap(),
        source: bmpack::model::FileSource::Bytes(std::sync::Arc::from(&b"#!/bin/false\n"[..])),
        mode: bmpack::model::FileMode::EXECUTABLE,
        kind: bmpack::model::FileKind::Regular,
    });
    let core = StandIn { name: "bm-core", version: "4.9.0", depends: &[] }.package();
    let webserver = StandIn { name: "bm-webserver", version: "4.9.0", depends: &[] }.package();
    build_packages(&services, &[core, webserver, shell]);
    for (dir, version) in
        [(&services, None), (&tmp.path().join("r1"), Some("4.8.2")), (&tmp.path().join("r2"), Some("4.8.3"))]
    {
        if let Some(v) = version {
            build_catalog_release(dir, v);
        }
        publish_ok(&request(&repo, dir, &key, &base));
    }

    // apt: resolves the four plug-ins to the newest release and downloads them, every file
    // checked against the signed index.
    let apt = apt_client(&tmp.path().join("apt"), &repo, &base, &repo.join("bmpack-archive-keyring.gpg"));
    let out = apt.apt_get(&["update"]);
    assert!(succeeded(&out), "{}", describe(&out));
    let mut download = vec!["install", "-y", "--download-only"];
    download.extend(PLUGINS);
    let out = apt.apt_get(&download);
    assert!(succeeded(&out), "{}", describe(&out));
    for p in PLUGINS {
        let deb = apt.root.join(format!("var/cache/apt/archives/{p}_4.8.3-1_all.deb"));
        assert!(deb.is_file(), "{} was not downloaded: {}", deb.display(), describe(&out));
    }

    // dnf: the same, then each downloaded rpm carries a signature rpm accepts with the key.
    let dnf = DnfRoot::for_repository(&tmp.path().join("dnf"), &repo, &base, &repo.join("RPM-GPG-KEY-bmpack"));
    let downloads = tmp.path().join("downloads");
    let destdir = format!("--destdir={}", downloads.display());
    let mut download = vec!["install", "--downloadonly", destdir.as_str()];
    download.extend(PLUGINS);
    let out = dnf.dnf(&download);
    assert!(succeeded(&out), "{}", describe(&out));
    let rpmdb = tmp.path().join("rpmdb");
    std::fs::create_dir_all(&rpmdb).unwrap();
    let root = format!("--root={}", rpmdb.display());
    run(Command::new("rpm").arg(&root).arg("--import").arg(repo.join("RPM-GPG-KEY-bmpack")));
    for p in PLUGINS {
        let file = downloads.join(format!("{p}-4.8.3-1.noarch.rpm"));
        assert!(file.is_file(), "{} was not downloaded: {}", file.display(), describe(&out));
        let checked = run(Command::new("rpm").arg(&root).arg("--checksig").arg(&file));
        assert!(checked.trim_end().ends_with("digests signatures OK"), "{checked}");
    }
}

#[test]
fn a_second_publish_is_refused_while_one_runs_and_the_repository_is_left_as_it_was() {
    for (tool, package) in [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("flock", "util-linux")]
    {
        require(tool, package);
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo"));
    let before = tree_hash(&repo);

    // Another publish holds the lock (flock(1) takes the same flock(2) lock as bmpack).
    let lock = tmp.path().join("www/.repo.lock");
    // --no-fork: flock execs sleep itself, so killing it releases the lock.
    let mut holder = Command::new("flock").arg("--no-fork").arg(&lock).args(["sleep", "30"]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while Command::new("flock").args(["--nonblock"]).arg(&lock).arg("true").status().unwrap().success() {
        assert!(std::time::Instant::now() < deadline, "flock did not take the lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let err = publish(&request(&repo, &r2, &key, "http://example.invalid/repo")).unwrap_err();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(format!("{err:#}").contains("another publish into"), "{err:#}");
    assert_eq!(tree_hash(&repo), before, "a refused publish changed the repository");

    // Once it is released, the next publish goes through.
    let report = publish_ok(&request(&repo, &r2, &key, "http://example.invalid/repo"));
    assert!(report.changed && !report.added.is_empty(), "{report:?}");
}

/// `cargo xtask publish` run as users run it, in a child process with the given umask.
fn xtask_publish(umask: &str, args: &[&std::ffi::OsStr]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("umask {umask} && exec \"$@\""))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_xtask-publish"))
        .args(args);
    cmd
}

fn publish_args<'a>(repo: &'a Path, from: &'a Path, key: &'a TestKey, base_url: &'a str) -> Vec<&'a std::ffi::OsStr> {
    [
        "--repo".as_ref(),
        repo.as_os_str(),
        "--from".as_ref(),
        from.as_os_str(),
        "--key-file".as_ref(),
        key.secret_file.as_os_str(),
        "--base-url".as_ref(),
        base_url.as_ref(),
    ]
    .into()
}

/// Every file of `repo` fetched through nginx, whose workers run as www-data: what apt and dnf
/// would get. Returns the paths that were not served as they are on disk.
fn not_served(server: &WebServer, www: &Path, repo: &Path) -> Vec<String> {
    let mut refused = Vec::new();
    for entry in walkdir::WalkDir::new(repo).into_iter().map(Result::unwrap).filter(|e| e.file_type().is_file()) {
        let url_path = format!("/{}", entry.path().strip_prefix(www).unwrap().display());
        let (status, body) = server.get(&url_path);
        if status != 200 || body != std::fs::read(entry.path()).unwrap() {
            refused.push(format!("{url_path}: {status}"));
        }
    }
    refused
}

#[test]
fn a_repository_published_under_umask_077_is_served_by_nginx_as_www_data_and_keeps_its_folders_owners_and_modes() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for (tool, package) in [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("rpmsign", "rpm")] {
        require(tool, package);
    }
    let tmp = public_tempdir();
    let key = TestKey::generate(tmp.path(), "archive");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    for built in walkdir::WalkDir::new(&r1).into_iter().map(Result::unwrap).filter(|e| e.file_type().is_file()) {
        let mode = built.metadata().unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o644, "{} was built with mode {mode:o}", built.path().display());
    }

    // The folder an administrator prepared: owned by a release user, group www-data, setgid so
    // that what is created in it stays in the group.
    let www = tmp.path().join("www");
    let repo = www.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let (release_uid, web_gid) = (1234, 33);
    std::os::unix::fs::chown(&repo, Some(release_uid), Some(web_gid)).unwrap();
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o2775)).unwrap();
    let owner_and_mode = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o7777)
    };

    let out = run(&mut xtask_publish("077", &publish_args(&repo, &r1, &key, "http://example.invalid/repo")));
    assert!(out.contains("re-indexed and signed"), "{out}");
    assert_eq!(owner_and_mode(&repo), (release_uid, web_gid, 0o2775), "the repository folder lost its owner or mode");
    for entry in walkdir::WalkDir::new(&repo).into_iter().map(Result::unwrap) {
        let (_, gid, mode) = owner_and_mode(entry.path());
        if entry.file_type().is_dir() {
            assert_eq!(
                mode & 0o755,
                0o755,
                "{} is a folder not searchable by all (mode {mode:o})",
                entry.path().display()
            );
            assert_eq!(
                (gid, mode & 0o2000),
                (web_gid, 0o2000),
                "{} did not inherit the setgid group",
                entry.path().display()
            );
        } else {
            assert_eq!(mode & 0o644, 0o644, "{} is not readable by all (mode {mode:o})", entry.path().display());
        }
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(!bytes.windows(11).any(|w| w == b"PRIVATE KEY"), "{} holds a private key", entry.path().display());
        }
    }

    // The administrator tightens a subfolder's owner; release 2 keeps it, as it keeps the top.
    let pool = repo.join("pool");
    std::os::unix::fs::chown(&pool, Some(release_uid), Some(web_gid)).unwrap();
    std::fs::set_permissions(&pool, std::fs::Permissions::from_mode(0o2775)).unwrap();
    run(&mut xtask_publish("077", &publish_args(&repo, &r2, &key, "http://example.invalid/repo")));
    assert_eq!(owner_and_mode(&repo), (release_uid, web_gid, 0o2775));
    assert_eq!(owner_and_mode(&pool), (release_uid, web_gid, 0o2775), "pool/ lost its owner or mode");

    // nginx, its workers running as www-data, serves every file of the repository.
    let server = WebServer::serve(&www);
    assert_eq!(not_served(&server, &www, &repo), Vec::<String>::new(), "{}", server.error_log());
    // And the test would see it if not: a file readable by its owner only is refused.
    let private = repo.join("private.txt");
    std::fs::write(&private, "x").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(server.get("/repo/private.txt").0, 403);
}

/// The processes whose command line mentions `text` (a gpg-agent started for a keyring under it).
fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(text) {
                found.push(format!("{}: {cmdline}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// Waits (a few seconds at most) for every process mentioning `text` to end.
fn no_process_mentions(text: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = processes_mentioning(text);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn restore(backup: &Path, repo: &Path) {
    std::fs::remove_dir_all(repo).unwrap();
    run(Command::new("cp").arg("-a").arg(backup).arg(repo));
}

#[test]
fn a_publish_interrupted_at_any_point_by_sigint_or_sigterm_leaves_the_repository_as_it_was_with_no_key_and_no_agent_left()
 {
    use std::os::unix::process::CommandExt;
    for (tool, package) in
        [("apt-ftparchive", "apt-utils"), ("createrepo_c", "createrepo-c"), ("rpmsign", "rpm"), ("gpgv", "gpgv")]
    {
        require(tool, package);
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, "http://example.invalid/repo"));
    let before = tree_hash(&repo);
    let backup = tmp.path().join("backup");
    run(Command::new("cp").arg("-a").arg(&repo).arg(&backup));
    let args = publish_args(&repo, &r2, &key, "http://example.invalid/repo");

    // How long an uninterrupted publish of release 2 takes here.
    let started = std::time::Instant::now();
    run(&mut xtask_publish("022", &args));
    let full = started.elapsed();
    restore(&backup, &repo);

    // Signals spread over that time: SIGTERM to the process (a cancelled CI job), SIGINT to its
    // process group (Ctrl-C in a terminal).
    let points = 12;
    let mut interrupted = 0;
    for i in 0..points {
        let child_tmp = tmp.path().join(format!("tmp-{i}"));
        std::fs::create_dir(&child_tmp).unwrap();
        let child = xtask_publish("022", &args)
            .env("TMPDIR", &child_tmp)
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(full * i / points);
        // SAFETY: kill(2) on the child this test started, or on its process group.
        let (pid, signal) = (child.id() as libc::pid_t, if i % 2 == 0 { libc::SIGTERM } else { libc::SIGINT });
        unsafe { libc::kill(if signal == libc::SIGINT { -pid } else { pid }, signal) };
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        let delay = full * i / points;
        match out.status.code() {
            // Killed before the program caught signals: it had not started anything.
            None if std::os::unix::process::ExitStatusExt::signal(&out.status).is_some() => {
                assert_eq!(tree_hash(&repo), before, "a publish killed after {delay:?} changed the repository");
            }
            Some(130) | Some(143) => {
                interrupted += 1;
                assert!(said.contains("interrupted by SIG"), "{said}");
                assert_eq!(
                    tree_hash(&repo),
                    before,
                    "a publish interrupted after {:?} changed the repository",
                    full * i / points
                );
            }
            Some(0) => {
                // The signal came after the swap: the publish is whole.
                assert!(packages_index(&repo).contains("Version: 1.1.0-1"));
                assert!(
                    Command::new("gpgv")
                        .arg("--keyring")
                        .arg(repo.join("bmpack-archive-keyring.gpg"))
                        .arg(repo.join("dists/stable/InRelease"))
                        .output()
                        .unwrap()
                        .status
                        .success()
                );
                restore(&backup, &repo);
            }
            other => panic!("publish interrupted after {:?} exited with {other:?}: {said}", full * i / points),
        }
        assert_eq!(siblings_left(&repo), Vec::<String>::new(), "a staging tree was left after {:?}", full * i / points);
        let left: Vec<_> = std::fs::read_dir(&child_tmp).unwrap().flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "the temporary keyring (with the private key) was left: {left:?}");
        let agents = no_process_mentions(&child_tmp.to_string_lossy());
        assert!(agents.is_empty(), "left running: {agents:?}");
    }
    assert!(
        interrupted >= points / 2,
        "only {interrupted} of {points} signals came before the swap: the test no longer interrupts publishes"
    );
}

#[test]
fn a_keyring_left_by_a_publish_killed_outright_is_removed_with_its_agent_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    let child_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&child_tmp).unwrap();
    // SIGKILL cannot be caught: the keyring stays, with the private key and maybe an agent.
    let mut child =
        xtask_publish("022", &publish_args(&repo, &r1, &key, "http://x")).env("TMPDIR", &child_tmp).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_dir(&child_tmp).unwrap().flatten().any(|e| e.path().join("private-keys-v1.d").exists()) {
        assert!(std::time::Instant::now() < deadline, "the publish never imported its key");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_dir(&child_tmp).unwrap().count(), 1);

    let out =
        xtask_publish("022", &publish_args(&repo, &r2, &key, "http://x")).env("TMPDIR", &child_tmp).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let left: Vec<_> = std::fs::read_dir(&child_tmp).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(no_process_mentions(&child_tmp.to_string_lossy()), Vec::<String>::new());
}

#[test]
fn staging_never_writes_through_a_symbolic_link_into_the_live_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, "http://x"));
    // An administrator moved the suite's pool to another disk and linked it back; the yum
    // side's folder is linked elsewhere too.
    for (inside, outside) in [("pool/stable", "other-disk/pool-stable"), ("rpm/stable/repodata", "other-disk/repodata")]
    {
        let target = tmp.path().join(outside);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::rename(repo.join(inside), &target).unwrap();
        std::os::unix::fs::symlink(&target, repo.join(inside)).unwrap();
        let (before_repo, before_outside) = (tree_hash(&repo), tree_hash(&target));
        let err = format!("{:#}", publish(&request(&repo, &r2, &key, "http://x")).unwrap_err());
        assert!(
            err.contains(&format!("{} is a symbolic link", repo.join(inside).display()))
                && err.contains("Replace the link"),
            "{err}"
        );
        assert_eq!(tree_hash(&target), before_outside, "publish wrote through {inside}");
        assert_eq!(tree_hash(&repo), before_repo);
        std::fs::remove_file(repo.join(inside)).unwrap();
        std::fs::rename(&target, repo.join(inside)).unwrap();
    }
    assert_eq!(siblings_left(&repo), Vec::<String>::new());
    publish_ok(&request(&repo, &r2, &key, "http://x"));
}

#[test]
fn leftover_staging_is_recognised_by_the_lock_whatever_process_id_its_name_carries() {
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2) = (tmp.path().join("r1"), tmp.path().join("r2"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    publish_ok(&request(&repo, &r1, &key, "http://x"));
    let after_r1 = tree_hash(&repo);
    // In a container, a new process can get the pid of the killed one: here, this test's own
    // (alive) pid and pid 1.
    let alive = std::process::id();
    std::fs::create_dir_all(repo.with_file_name(format!("repo.new-{alive}")).join("pool")).unwrap();
    std::fs::create_dir_all(repo.with_file_name("repo.new-1")).unwrap();
    assert!(!publish_ok(&request(&repo, &r1, &key, "http://x")).changed);
    assert_eq!(siblings_left(&repo), Vec::<String>::new(), "a leftover staging tree with a live pid was kept");
    // Killed between the two renames of the swap: only `repo.old-<pid>` is there; put back.
    std::fs::rename(&repo, repo.with_file_name(format!("repo.old-{alive}"))).unwrap();
    assert!(!publish_ok(&request(&repo, &r1, &key, "http://x")).changed);
    assert_eq!(tree_hash(&repo), after_r1);

    // The same for a build's output folder.
    let stale = r2.join(format!(".staging-{alive}"));
    std::fs::create_dir_all(stale.join("deb")).unwrap();
    release(&r2, "1.1.0");
    assert!(!stale.exists(), "a build kept a leftover staging folder with a live pid");
}

#[test]
fn a_package_file_that_no_publish_put_in_the_repository_is_refused_and_never_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (r1, r2, extra) = (tmp.path().join("r1"), tmp.path().join("r2"), tmp.path().join("extra"));
    release(&r1, "1.0.0");
    release(&r2, "1.1.0");
    build_release(&extra, &[StandIn { name: "bm-sneaked-in", version: "6.6.6", depends: &[] }]);
    publish_ok(&request(&repo, &r1, &key, "http://x"));
    for (dropped, folder) in [
        ("deb/bm-sneaked-in_6.6.6-1_all.deb", "pool/stable/main/bm-sneaked-in"),
        ("rpm/bm-sneaked-in-6.6.6-1.noarch.rpm", "rpm/stable"),
    ] {
        let stray = repo.join(folder).join(Path::new(dropped).file_name().unwrap());
        std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
        std::fs::copy(extra.join(dropped), &stray).unwrap();
        let before = tree_hash(&repo);
        let err = format!("{:#}", publish(&request(&repo, &r2, &key, "http://x")).unwrap_err());
        assert!(err.contains(&stray.display().to_string()) && err.contains("listed in no index"), "{err}");
        assert_eq!(tree_hash(&repo), before);
        assert!(!packages_index(&repo).contains("bm-sneaked-in"));
        std::fs::remove_file(&stray).unwrap();
        let _ = std::fs::remove_dir(stray.parent().unwrap());
    }
    // A published file replaced by another of another size is refused too.
    let published = repo.join("pool/stable/main/bm-nextcloud12/bm-nextcloud12_1.0.0-1_all.deb");
    let original = std::fs::read(&published).unwrap();
    std::fs::write(&published, [&original[..], b"junk"].concat()).unwrap();
    let err = format!("{:#}", publish(&request(&repo, &r2, &key, "http://x")).unwrap_err());
    assert!(err.contains("is not the file that was published"), "{err}");
    std::fs::write(&published, original).unwrap();
    publish_ok(&request(&repo, &r2, &key, "http://x"));
}

/// A package with an epoch, built with the distributions' own tools (bmpack's versions have
/// none, but a repository takes packages from elsewhere too).
fn epoch_packages(dir: &Path, name: &str, epoch: u32, version: &str) {
    let deb_dir = dir.join("deb");
    let rpm_dir = dir.join("rpm");
    std::fs::create_dir_all(&deb_dir).unwrap();
    std::fs::create_dir_all(&rpm_dir).unwrap();
    let full = if epoch == 0 { format!("{version}-1") } else { format!("{epoch}:{version}-1") };
    let tree = tmp_tree(dir, &format!("{name}-{epoch}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::write(tree.join("DEBIAN/control"), format!("Package: {name}\nVersion: {full}\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: epoch {epoch}\n")).unwrap();
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(deb_dir.join(format!("{name}-{epoch}.deb"))));
    let top = dir.join(format!("rpmbuild-{epoch}"));
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = top.join("SPECS/p.spec");
    std::fs::write(&spec, format!("Name: {name}\nEpoch: {epoch}\nVersion: {version}\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%description\nepoch {epoch}\n%files\n")).unwrap();
    run(Command::new("rpmbuild").arg("-bb").arg("--define").arg(format!("_topdir {}", top.display())).arg(&spec));
    for rpm in walkdir::WalkDir::new(top.join("RPMS")).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        std::fs::copy(rpm.path(), rpm_dir.join(rpm.file_name())).unwrap();
    }
}

fn tmp_tree(dir: &Path, name: &str) -> PathBuf {
    let tree = dir.join("trees").join(name);
    std::fs::create_dir_all(&tree).unwrap();
    tree
}

#[test]
fn no_published_file_is_ever_overwritten_a_package_with_an_epoch_gets_a_folder_of_its_own() {
    for (tool, package) in [("dpkg-deb", "dpkg"), ("rpmbuild", "rpm")] {
        require(tool, package);
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let (plain, with_epoch) = (tmp.path().join("plain"), tmp.path().join("epoch"));
    epoch_packages(&plain, "bm-tool", 0, "2.0");
    epoch_packages(&with_epoch, "bm-tool", 1, "2.0");
    publish_ok(&request(&repo, &plain, &key, "http://x"));
    let first = tree_hash(&repo);
    let report = publish_ok(&request(&repo, &with_epoch, &key, "http://x"));
    assert_eq!(report.added.len(), 2, "{report:?}");
    // 2.0-1 and 1:2.0-1 share a file name; the one with the epoch goes into `epoch-1/`.
    for published in ["pool/stable/main/bm-tool/bm-tool_2.0-1_all.deb", "rpm/stable/bm-tool-2.0-1.noarch.rpm"] {
        assert_eq!(tree_hash(&repo).get(published), first.get(published), "{published} was overwritten");
    }
    assert!(repo.join("pool/stable/main/bm-tool/epoch-1/bm-tool_2.0-1_all.deb").is_file(), "{report:?}");
    assert!(repo.join("rpm/stable/epoch-1/bm-tool-2.0-1.noarch.rpm").is_file(), "{report:?}");
    let index = packages_index(&repo);
    assert!(index.contains("Version: 2.0-1\n") && index.contains("Version: 1:2.0-1\n"), "{index}");
    // --prune 1 keeps the newest, which is the one with the epoch, and removes its folder-less twin.
    let pruned = publish_ok(&PublishRequest { prune: Some(1), ..request(&repo, &with_epoch, &key, "http://x") });
    assert_eq!(
        pruned.pruned,
        vec![
            "pool/stable/main/bm-tool/bm-tool_2.0-1_all.deb".to_string(),
            "rpm/stable/bm-tool-2.0-1.noarch.rpm".to_string()
        ]
    );
}

#[test]
fn out_refuses_a_folder_that_is_not_a_package_output() {
    let tmp = tempfile::tempdir().unwrap();
    let key = TestKey::generate(tmp.path(), "archive");
    let repo = tmp.path().join("www/repo");
    let r1 = tmp.path().join("r1");
    release(&r1, "1.0.0");
    publish_ok(&request(&repo, &r1, &key, "http://x"));
    let before = tree_hash(&repo);
    let options = bmpack::build::BuildOptions {
        out: repo.clone(),
        formats: bmpack::format::Format::ALL.to_vec(),
        jobs: 1,
        write: bmpack::format::WriteOptions {
            compression: bmpack::format::Compression::Default,
            source_date_epoch: 1_700_000_000,
        },
    };
    let package = StandIn { name: "bm-core", version: "5.0.0", depends: &[] }.package();
    let err = format!("{:#}", bmpack::build::build_all(&[package], &options, &bmpack::build::Silent).unwrap_err());
    assert!(
        err.contains(&format!("{} is not a package output", repo.display()))
            && err.contains("dists")
            && err.contains("Give --out an empty or new folder"),
        "{err}"
    );
    assert_eq!(tree_hash(&repo), before, "the refused build changed the repository");
}
