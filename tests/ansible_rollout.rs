//! The Ansible collection (`ansible/`) rolling the plug-ins out to a fleet, as an administrator
//! runs it: ansible-core from PyPI on the host, over ssh to three booted BlueMind servers with
//! real systemd (two Debian ones driven by apt, one RPM one driven by dnf), from a repository
//! built by `cargo xtask package`, published with a throwaway key and served by nginx as
//! www-data, each server using its own Nextcloud (status.php on 127.0.0.1).
//!
//! One fleet goes through the scenarios in turn, each checked as an administrator checks it: the
//! package databases, the restarts the stand-in services record, Ansible's recap.

#[path = "server_support/mod.rs"]
mod server_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use bmpack_tests::ansible_fleet::{Controller, Host, SshKey};
use bmpack_tests::bluemind::{FILEHOSTING, Generation, make_starts_fail};
use bmpack_tests::repo_tools::{TestKey, require};
use bmpack_tests::server::Family;
use bmpack_tests::tools::project_root;
use bmpack_tests::web_server::{WebServer, public_tempdir};
use serde_json::json;
use server_support::{fixtures, serve_status_fixtures};
use xtask::publish::PublishOptions;

/// Where ansible-core and ansible-lint are: on the PATH (`cargo xtask test` puts
/// `target/ci-venv/bin` first), else in `target/ci-venv`.
fn ansible_bin() -> PathBuf {
    let playbook = xtask::ansible::ansible_tool("ansible-playbook");
    assert!(
        playbook.is_file(),
        "ansible-playbook not found: `cargo xtask test --deps-only` installs ansible-core and ansible-lint"
    );
    playbook.parent().unwrap().to_path_buf()
}

/// `cargo xtask package` as a release engineer runs it: the plug-ins (default set, sample jars)
/// into `plugins`, the server tool (`--package bmpack`, cargo-zigbuild) into `tool`.
fn cargo_xtask_package(plugins: &Path, tool: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (out, extra) in [(plugins, &[][..]), (tool, &["--package", "bmpack"][..])] {
        let status = Command::new(&cargo)
            .current_dir(project_root())
            .args(["run", "--quiet", "-p", "xtask", "--", "package", "--quiet"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .status()
            .expect("running cargo xtask package");
        assert!(
            status.success(),
            "cargo xtask package {extra:?} failed (the tool needs `pip install ziglang cargo-zigbuild`)"
        );
    }
}

/// Makes the repository's signed indexes say something their signatures do not cover, as a
/// compromised mirror would; returns the original bytes, to put back.
fn tamper(repo: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let files = [repo.join("dists/stable/InRelease"), repo.join("rpm/stable/repodata/repomd.xml")];
    files
        .iter()
        .map(|f| {
            let original = std::fs::read(f).unwrap();
            let text = String::from_utf8(original.clone()).unwrap();
            // One digit of the first SHA-256 checksum changed: the text still parses, its
            // signature no longer matches.
            let digit = (0..text.len().saturating_sub(64))
                .find(|&i| text.as_bytes()[i..i + 64].iter().all(u8::is_ascii_hexdigit))
                .unwrap_or_else(|| panic!("no checksum in {}", f.display()));
            let mut bytes = original.clone();
            bytes[digit] = if bytes[digit] == b'0' { b'1' } else { b'0' };
            std::fs::write(f, &bytes).unwrap();
            (f.clone(), original)
        })
        .collect()
}

fn snapshot(hosts: &[&Host]) -> Vec<String> {
    hosts.iter().map(|h| h.packages()).collect()
}

#[test]
fn a_fleet_rolls_out_canary_first_gated_by_doctor_from_the_signed_repository() {
    for (tool, package) in [
        ("apt-ftparchive", "apt-utils"),
        ("createrepo_c", "createrepo-c"),
        ("rpmsign", "rpm"),
        ("ssh-keygen", "openssh-client"),
        ("nginx", "nginx"),
    ] {
        require(tool, package);
    }
    let bin = ansible_bin();
    let tmp = public_tempdir();
    let key = SshKey::generate();

    // The fleet boots while the repository is built: a BlueMind 4.9 canary that can take
    // StarLeaf, a BlueMind 5 server that cannot (and keeps Nextcloud as its only file store),
    // and an RPM server driven by dnf.
    let (hosts, (signing, www, server)) = std::thread::scope(|s| {
        let canary = s.spawn(|| Host::boot("canary", Family::Deb, Generation::InterestOnly, &key));
        let bm5 = s.spawn(|| Host::boot("bm5", Family::Deb, Generation::BlueMind5, &key));
        let rpm = s.spawn(|| Host::boot("rpm", Family::Rpm, Generation::InterestOnly, &key));
        let repository = s.spawn(|| {
            let signing = TestKey::generate(tmp.path(), "archive");
            let (plugins, tool) = (tmp.path().join("plugins"), tmp.path().join("tool"));
            cargo_xtask_package(&plugins, &tool);
            let www = tmp.path().join("www");
            std::fs::create_dir_all(&www).unwrap();
            let server = WebServer::serve(&www);
            // `cargo xtask ansible`, then `cargo xtask publish` of the plug-ins and of the tool
            // with `--ansible-collection`, which places the tarball beside the repository.
            let tarball = xtask::ansible::build_collection(&tmp.path().join("collection")).unwrap();
            for (from, collection) in [(&plugins, None), (&tool, Some(tarball))] {
                let options = PublishOptions {
                    repo: www.join("repo"),
                    key: Vec::new(),
                    key_file: vec![signing.secret_file.clone()],
                    suite: "stable".into(),
                    prune: None,
                    from: Some(from.clone()),
                    base_url: format!("{}/repo", server.url),
                    ansible_collection: collection,
                };
                xtask::publish::publish(&options).unwrap_or_else(|e| panic!("publish failed: {e:#}"));
            }
            (signing, www, server)
        });
        let hosts = [canary.join().unwrap(), bm5.join().unwrap(), rpm.join().unwrap()];
        (hosts, repository.join().unwrap())
    });
    let [canary, bm5, rpm] = &hosts;
    bm5.with_bluemind_file_store();
    for h in &hosts {
        h.signed_sources_only();
    }
    let all = [canary, bm5, rpm];

    // The administrator installs the collection from the tarball served beside the repository.
    let collection = format!("{}/repo/ansible/bmpack-bluemind-0.1.0.tar.gz", server.url);
    let controller = Controller::new(&bin, &collection, &key);
    let nextcloud = serve_status_fixtures(fixtures("nextcloud/status-php"));
    let nextcloud_url = |major: u32| format!("http://127.0.0.1:{nextcloud}/nc{major}/remote.php/webdav/");
    let fleet_vars = json!({
        "bmpack_repo_url": format!("{}/repo", server.url),
        "bmpack_repo_key_fingerprints": [signing.fingerprint],
    });
    let inventory = |bm5_nextcloud: u32, rpm_nextcloud: u32, all_vars: &serde_json::Value| {
        controller.inventory(
            &[
                (canary, json!({"bmpack_plugins_nextcloud_url": nextcloud_url(25), "bmpack_plugins_starleaf": true})),
                (
                    bm5,
                    json!({
                        "bmpack_plugins_nextcloud_url": nextcloud_url(bm5_nextcloud),
                        "bmpack_plugins_starleaf": true,
                        "bmpack_plugins_replace_filehosting": true,
                    }),
                ),
                // Its facts say Debian (a Debian root where rpm and dnf hold the packages): the
                // family and dnf's generation are told, as they would be read on RHEL.
                (
                    rpm,
                    json!({
                        "bmpack_plugins_nextcloud_url": nextcloud_url(rpm_nextcloud),
                        "bmpack_package_manager": "dnf",
                        "bmpack_plugins_dnf_backend": "dnf4",
                    }),
                ),
            ],
            all_vars.clone(),
        )
    };
    let untouched = snapshot(&all);

    // An inventory without the repository's address: refused, naming the variable, nothing done.
    inventory(11, 11, &json!({"bmpack_repo_key_fingerprints": [signing.fingerprint]}));
    let run = controller.rollout(&[]);
    assert!(!run.succeeded(), "{}", run.text());
    assert!(run.text().contains("bmpack_repo_url"), "the error does not name the variable:\n{}", run.text());
    assert_eq!(snapshot(&all), untouched);

    // 1. Fresh rollout: each server gets the connector its Nextcloud needs, StarLeaf where its
    //    BlueMind takes it, Nextcloud instead of the file store where asked; one restart each.
    inventory(11, 11, &fleet_vars);
    let run = controller.rollout(&[]);
    assert!(run.succeeded(), "{}", run.text());
    for h in all {
        assert_eq!(run.count(&h.name, "failed"), Some(0), "{}", run.text());
        assert!(run.count(&h.name, "changed").unwrap() > 0, "{}: nothing changed:\n{}", h.name, run.text());
        assert!(h.installed("bmpack") && h.installed("bm-nextcloud-common"), "{}:\n{}", h.name, h.packages());
        assert_eq!(h.starts("bm-core"), 1, "{}: bm-core should restart once on the new plug-ins", h.name);
    }
    assert!(canary.installed("bm-nextcloud12") && !canary.installed("bm-nextcloud11"));
    assert!(canary.installed("bm-plugin-core-videoconferencing-starleaf"));
    assert!(canary.installed("bm-plugin-admin-console-videoconferencing-starleaf"));
    assert!(bm5.installed("bm-nextcloud11") && !bm5.installed("bm-nextcloud12"));
    assert!(bm5.installed("bm-nextcloud-replaces-filehosting") && !bm5.installed(FILEHOSTING), "{}", bm5.packages());
    assert!(!bm5.installed("bm-plugin-core-videoconferencing-starleaf"), "StarLeaf on BlueMind 5");
    assert!(run.text().contains("StarLeaf is for bm-core >= 4.5.3"), "the skip is not said:\n{}", run.text());
    assert!(rpm.installed("bm-nextcloud11") && !rpm.installed("bm-plugin-core-videoconferencing-starleaf"));
    let sources =
        std::fs::read_to_string(canary.server.system.join("/etc/apt/sources.list.d/bmpack-stable.sources")).unwrap();
    assert!(sources.contains("Signed-By: /etc/apt/keyrings/bmpack-archive-keyring.gpg"), "{sources}");
    let repo_file = std::fs::read_to_string(rpm.server.system.join("/etc/yum.repos.d/bmpack-stable.repo")).unwrap();
    assert!(repo_file.contains("\ngpgcheck=1\n") && repo_file.contains("\nrepo_gpgcheck=1\n"), "{repo_file}");

    // 2. A second run changes nothing, and says so.
    for h in all {
        h.forget_starts();
    }
    let after_first = snapshot(&all);
    let run = controller.rollout(&[]);
    assert!(run.succeeded(), "{}", run.text());
    for h in all {
        assert_eq!(
            run.count(&h.name, "changed"),
            Some(0),
            "{}: the second run changed something:\n{}",
            h.name,
            run.text()
        );
        assert_eq!(h.starts("bm-core"), 0, "{}", h.name);
    }
    assert_eq!(snapshot(&all), after_first);

    // 3. bm5's Nextcloud is upgraded from 11 to 25: --check says what would change, only there,
    //    and changes nothing.
    inventory(25, 11, &fleet_vars);
    let run = controller.rollout(&["--check"]);
    assert!(run.succeeded(), "{}", run.text());
    assert_eq!(run.count("bm5", "changed"), Some(1), "{}", run.text());
    assert_eq!(run.count("canary", "changed"), Some(0), "{}", run.text());
    assert_eq!(run.count("rpm", "changed"), Some(0), "{}", run.text());
    assert!(
        run.text().contains("would install bm-nextcloud12 and remove bm-nextcloud11, in one transaction"),
        "{}",
        run.text()
    );
    assert_eq!(snapshot(&all), after_first, "--check changed a package");

    // 4. The canary is unhealthy (bm-core fails to start): doctor fails it, and the rollout stops
    //    before the other servers are touched, although bm5 has a change waiting.
    make_starts_fail(&canary.server.system, "bm-core");
    canary.server.system.sh("systemctl restart bm-core");
    let run = controller.rollout(&[]);
    assert!(!run.succeeded(), "{}", run.text());
    assert_eq!(run.count("canary", "failed"), Some(1), "{}", run.text());
    assert!(run.text().contains("bmpack doctor exited 2"), "{}", run.text());
    assert_eq!(run.count("bm5", "ok"), None, "bm5 was touched:\n{}", run.text());
    assert_eq!(run.count("rpm", "ok"), None, "rpm was touched:\n{}", run.text());
    assert_eq!(snapshot(&all), after_first);
    assert!(bm5.installed("bm-nextcloud11"));
    canary.server.given("rm /etc/bm-standin/bm-core.fail && systemctl reset-failed bm-core && systemctl start bm-core");

    // 5. A tampered repository: the canary's apt refuses the indexes and the rollout stops;
    //    the RPM server alone (`--limit rpm`) has dnf refuse them too. Nothing is installed.
    let originals = tamper(&www.join("repo"));
    let run = controller.rollout(&[]);
    assert!(!run.succeeded(), "{}", run.text());
    assert_eq!(run.count("canary", "failed"), Some(1), "{}", run.text());
    assert_eq!(run.count("bm5", "ok"), None, "{}", run.text());
    assert!(run.text().contains("BADSIG"), "apt did not refuse the signature:\n{}", run.text());
    let run = controller.rollout(&["--limit", "rpm"]);
    assert!(!run.succeeded(), "{}", run.text());
    assert_eq!(run.count("rpm", "failed"), Some(1), "{}", run.text());
    assert!(
        run.text().contains("GPG signature verification error"),
        "dnf did not refuse the signature:\n{}",
        run.text()
    );
    assert_eq!(snapshot(&all), after_first, "a server changed from a tampered repository");
    for (file, bytes) in originals {
        std::fs::write(file, bytes).unwrap();
    }

    // 6. The repository is sound again: bm5 swaps its connector in one transaction, the others
    //    stay as they are.
    for h in all {
        h.forget_starts();
    }
    let run = controller.rollout(&[]);
    assert!(run.succeeded(), "{}", run.text());
    assert!(run.count("bm5", "changed").unwrap() > 0, "{}", run.text());
    assert_eq!(run.count("canary", "changed"), Some(0), "{}", run.text());
    assert_eq!(run.count("rpm", "changed"), Some(0), "{}", run.text());
    assert!(bm5.installed("bm-nextcloud12") && !bm5.installed("bm-nextcloud11"), "{}", bm5.packages());
    assert_eq!((bm5.starts("bm-core"), canary.starts("bm-core"), rpm.starts("bm-core")), (1, 0, 0));
    let history = bm5.server.system.ok("cat /var/log/apt/history.log");
    let last = history.rsplit("Start-Date:").next().unwrap();
    assert!(
        last.contains("Install: bm-nextcloud12") && last.contains("Remove: bm-nextcloud11"),
        "not one apt transaction:\n{last}"
    );
    assert_eq!(canary.packages(), after_first[0]);
    assert_eq!(rpm.packages(), after_first[2]);

    // 7. The RPM server's Nextcloud is upgraded too: dnf swaps its connector in one transaction.
    inventory(25, 25, &fleet_vars);
    for h in all {
        h.forget_starts();
    }
    let run = controller.rollout(&[]);
    assert!(run.succeeded(), "{}", run.text());
    assert!(run.count("rpm", "changed").unwrap() > 0, "{}", run.text());
    assert_eq!((run.count("canary", "changed"), run.count("bm5", "changed")), (Some(0), Some(0)), "{}", run.text());
    assert!(rpm.installed("bm-nextcloud12") && !rpm.installed("bm-nextcloud11"), "{}", rpm.packages());
    assert_eq!((rpm.starts("bm-core"), canary.starts("bm-core"), bm5.starts("bm-core")), (1, 0, 0));
    let last = rpm.server.system.ok("dnf history info last");
    assert!(last.contains("bm-nextcloud12") && last.contains("bm-nextcloud11"), "not one dnf transaction:\n{last}");
}

/// ansible-lint (production profile) finds nothing in the collection.
#[test]
fn the_collection_is_ansible_lint_clean() {
    let bin = ansible_bin();
    let tmp = tempfile::tempdir().unwrap();
    let tarball = xtask::ansible::build_collection(&tmp.path().join("built")).unwrap();
    let collections = tmp.path().join("collections");
    let out = Command::new(bin.join("ansible-galaxy"))
        .args(["collection", "install", "-p"])
        .arg(&collections)
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(bin.join("ansible-lint"))
        .args(["--profile", "production", "--nocolor"])
        .current_dir(project_root().join("ansible"))
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "ansible-lint:\n{text}");
}
