//! `bmpack doctor` against throwaway roots that each hold one of the states it must find: a dpkg
//! database with our packages and BlueMind's, jars in the extensions folders, BlueMind's list of
//! core bundles, and a `systemctl` stand-in (given with --service-tools) that answers
//! `systemctl show` as systemd would for a running, failed, start-limited or stale service.

#[path = "server_support/mod.rs"]
mod server_support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use server_support::{Run, fixtures, run_bmpack, serve_status_fixtures};

const COMMON: &str = "net.bluemind.filehosting.nextcloud";
const SETTINGS: &str = "net.bluemind.ui.adminconsole.nextcloud.settings";
const NC11: &str = "net.bluemind.filehosting.nextcloud11";
const NC12: &str = "net.bluemind.filehosting.nextcloud12";
const STARLEAF: &str = "net.bluemind.videoconferencing.starleaf";
const CORE_EXT: &str = "/usr/share/bm-core/extensions";
const WEB_EXT: &str = "/usr/share/bm-webserver/extensions";
const CORE_BUNDLES: &str =
    "/usr/share/bm-core/configuration/org.eclipse.equinox.simpleconfigurator/bundles.info.installed";
/// bm-webserver's, as rewritten by the startup: the extensions listed after the core's bundles.
const WEB_BUNDLES: &str = "/usr/share/bm-webserver/configuration/org.eclipse.equinox.simpleconfigurator/bundles.info";
/// The fix for a stale bm-core: stop, empty the cache, start.
const RESTART_CORE: &str =
    "systemctl stop bm-core && find /var/lib/bm-core -mindepth 1 -delete && systemctl start bm-core";

/// CLOCK_MONOTONIC now, in microseconds: what systemd's `…TimestampMonotonic` values count.
fn monotonic_us() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec it is given.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) }, 0);
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1000
}

/// A BlueMind server's files under a throwaway root.
struct Seeded {
    dir: tempfile::TempDir,
    /// (package, version, files) recorded in the dpkg database.
    packages: Vec<(String, String, Vec<String>)>,
}

impl Seeded {
    /// BlueMind `bluemind` (bm-core and bm-webserver), systemd running, no plug-in, both
    /// services running since just now, the core's bundle list present.
    fn new(bluemind: &str) -> Seeded {
        let dir = tempfile::tempdir().unwrap();
        let mut seeded = Seeded { dir, packages: Vec::new() };
        for folder in [
            CORE_EXT,
            WEB_EXT,
            "/run/systemd/system",
            "/var/lib/bm-core/org.eclipse.osgi",
            "/var/lib/bm-webserver",
            "/tools",
            "/state",
        ] {
            std::fs::create_dir_all(seeded.path(folder)).unwrap();
        }
        seeded.file(CORE_BUNDLES, b"#version=1\norg.eclipse.osgi,3.18.0,plugins/org.eclipse.osgi.jar,-1,true\nnet.bluemind.core.rest,5.0.0,plugins/net.bluemind.core.rest.jar,4,true\n");
        seeded.file(
            WEB_BUNDLES,
            b"#version=1\nnet.bluemind.webmodules,5.0.0,plugins/net.bluemind.webmodules.jar,4,true\nnet.bluemind.ui.adminconsole.nextcloud.settings,4.9.0,extensions/net.bluemind.ui.adminconsole.nextcloud.settings-4.9.0.jar,4,false\n",
        );
        seeded.package("bm-core", bluemind, &[]);
        seeded.package("bm-webserver", bluemind, &[]);
        let tool = seeded.path("/tools/systemctl");
        std::fs::write(&tool, "#!/bin/sh\n# systemctl show -p … SERVICE: the state the test wrote for SERVICE.\nfor last; do :; done\ncase \"$1\" in\n  show) cat \"$STATE/$last.show\" ;;\n  is-active) grep -qx ActiveState=active \"$STATE/$last.show\" ;;\n  *) exit 1 ;;\nesac\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for service in ["bm-core", "bm-webserver"] {
            seeded.service(service, "active", "running", "success", Duration::ZERO);
        }
        seeded
    }

    fn path(&self, absolute: &str) -> PathBuf {
        self.dir.path().join("root").join(absolute.trim_start_matches('/'))
    }

    fn file(&self, absolute: &str, content: &[u8]) {
        let path = self.path(absolute);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A jar whose manifest says `symbolic` `version`, at `absolute`.
    fn jar(&self, absolute: &str, symbolic: &str, version: &str) {
        self.jar_with_manifest(absolute, &format!("Manifest-Version: 1.0\r\nBundle-SymbolicName: {symbolic};singleton:=true\r\nBundle-Version: {version}\r\n\r\n"));
    }

    fn jar_with_manifest(&self, absolute: &str, manifest: &str) {
        let path = self.path(absolute);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        zip.start_file("META-INF/MANIFEST.MF", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(manifest.as_bytes()).unwrap();
        zip.finish().unwrap();
    }

    /// A package installed with these files, and its jars written.
    fn package(&mut self, name: &str, version: &str, jars: &[(&str, &str)]) {
        let mut files = Vec::new();
        for (folder, symbolic) in jars {
            let path = format!("{folder}/{symbolic}-{}.jar", version.split('-').next().unwrap());
            self.jar(&path, symbolic, version.split('-').next().unwrap());
            files.push(path);
        }
        self.packages.push((name.to_string(), version.to_string(), files));
        self.write_database();
    }

    fn write_database(&self) {
        let db = self.path("/var/lib/dpkg");
        std::fs::create_dir_all(db.join("info")).unwrap();
        let mut status = String::new();
        for (name, version, files) in &self.packages {
            status += &format!(
                "Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: misc\n\
                 Maintainer: t <t@t>\nArchitecture: all\nVersion: {version}\nDescription: {name}\n\n"
            );
            let mut list = String::new();
            for f in files {
                list += &format!("{f}\n");
            }
            std::fs::write(db.join("info").join(format!("{name}.list")), list).unwrap();
        }
        std::fs::write(db.join("status"), status).unwrap();
    }

    /// What `systemctl show` says of `service`: started `ago` before now, `Restart=no`.
    fn service(&self, service: &str, active: &str, sub: &str, result: &str, ago: Duration) {
        self.service_restarting(service, active, sub, result, ago, "no");
    }

    fn service_restarting(&self, service: &str, active: &str, sub: &str, result: &str, ago: Duration, restart: &str) {
        let started = monotonic_us().saturating_sub(ago.as_micros() as u64);
        std::fs::write(
            self.dir.path().join("root/state").join(format!("{service}.show")),
            format!(
                "LoadState=loaded\nActiveState={active}\nSubState={sub}\nResult={result}\nExecMainStartTimestampMonotonic={started}\n\
                 ConditionResult=yes\nRestart={restart}\nNRestarts=1\nStartLimitBurst=2\nStartLimitIntervalUSec=30s\n"
            ),
        )
        .unwrap();
    }

    fn doctor(&self, extra: &[&str]) -> Run {
        let root = self.dir.path().join("root");
        let tools = self.path("/tools");
        let mut args = vec!["doctor", "--root", root.to_str().unwrap(), "--service-tools", tools.to_str().unwrap()];
        args.extend(extra);
        run_bmpack(&args, None, &[("STATE", self.path("/state").to_str().unwrap())])
    }
}

/// The healthy Nextcloud set of BlueMind 4.9: common, connector 12 and the reload package.
fn nextcloud_4_9() -> Seeded {
    let mut s = Seeded::new("4.9.0-1");
    s.package("bm-plugin-reload", "2.0.0-1", &[]);
    s.package("bm-nextcloud-common", "4.9.0-1", &[(CORE_EXT, COMMON), (WEB_EXT, SETTINGS)]);
    s.package("bm-nextcloud12", "4.9.0-1", &[(CORE_EXT, NC12)]);
    // The services started after the jars were installed.
    std::thread::sleep(Duration::from_millis(20));
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    s.service("bm-webserver", "active", "running", "success", Duration::ZERO);
    s
}

fn assert_line(run: &Run, line: &str, fix: Option<&str>) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines.iter().position(|l| l.contains(line)).unwrap_or_else(|| panic!("`{line}` missing:\n{}", run.all()));
    if let Some(fix) = fix {
        let next = lines.get(at + 1).copied().unwrap_or_default();
        assert!(
            next.trim_start().starts_with("fix:") && next.contains(fix),
            "the fix `{fix}` must follow `{line}`, got `{next}`:\n{}",
            run.all()
        );
    }
}

#[test]
fn a_healthy_server_is_ok() {
    let s = nextcloud_4_9();
    let run = s.doctor(&[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_line(
        &run,
        "ok    bluemind: bm-core 4.9.0-1, bm-webserver 4.9.0-1 (dpkg-query); the plug-ins are packages",
        None,
    );
    assert_line(&run, "ok    package: bm-nextcloud12 4.9.0-1: meant for bm-core >= 4.2, bm-webserver >= 4.2", None);
    assert_line(
        &run,
        &format!("ok    extensions: {CORE_EXT}/{NC12}-4.9.0.jar: {NC12} 4.9.0 (package bm-nextcloud12)"),
        None,
    );
    assert_line(&run, "ok    service bm-core: running since ", None);
    assert!(run.stdout.contains(" s ago, after its extensions last changed"), "{}", run.all());
    assert!(!run.stdout.contains("warn") && !run.stdout.contains("FAIL"), "{}", run.all());
    let json = s.doctor(&["--json"]);
    assert_eq!(json.code, 0, "{}", json.all());
    let report = json.json();
    assert_eq!(report["result"], "ok");
    assert_eq!(report["bluemind"]["bm-core"], "4.9.0-1");
    assert_eq!(report["services"][0]["restart_due"], false, "{}", json.all());
    assert!(
        report["jars"].as_array().unwrap().iter().any(|j| j["owner"] == "bm-nextcloud12" && j["symbolic_name"] == NC12),
        "{}",
        json.all()
    );
}

/// A jar copied by hand before 4.2 beside the packaged one: no package owns it, and one
/// symbolic name has two jars (BlueMind keeps one of them, which one is not defined).
#[test]
fn a_jar_left_over_from_a_manual_install_and_two_jars_for_one_bundle() {
    let s = nextcloud_4_9();
    let leftover = format!("{CORE_EXT}/{COMMON}-4.0.2.jar");
    s.jar(&leftover, COMMON, "4.0.2");
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        &format!("warn  extensions: {leftover}: {COMMON} 4.0.2: no package owns it (left over from a manual install?)"),
        Some(&format!("package bm-nextcloud-common provides this bundle now: rm {leftover} && {RESTART_CORE}")),
    );
    assert_line(
        &run,
        &format!("FAIL  extensions: 2 jars for bundle {COMMON} in bm-core: "),
        Some(&format!("remove the jars no package owns: rm {leftover} && {RESTART_CORE}")),
    );
    assert!(
        run.stdout.contains("(package bm-nextcloud-common)") && run.stdout.contains("which one is not defined"),
        "{}",
        run.all()
    );
}

/// An extension named like one of the core's bundles is skipped by BlueMind without a word.
#[test]
fn an_extension_shadowed_by_a_core_bundle() {
    let s = nextcloud_4_9();
    let shadow = format!("{CORE_EXT}/rest-override.jar");
    s.jar(&shadow, "net.bluemind.core.rest", "4.9.1");
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        &format!(
            "FAIL  extensions: {shadow}: net.bluemind.core.rest is a core bundle of bm-core ({CORE_BUNDLES}): BlueMind skips this extension silently"
        ),
        Some(&format!("rm {shadow} && {RESTART_CORE}")),
    );
}

/// A jar whose manifest Java refuses: BlueMind's startup skips it.
#[test]
fn an_unreadable_jar() {
    let s = nextcloud_4_9();
    let broken = format!("{CORE_EXT}/broken.jar");
    s.jar_with_manifest(&broken, "Manifest-Version: 1.0\r\nBundle-SymbolicName:net.x\r\nBundle-Version: 1\r\n");
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        &format!("FAIL  extensions: {broken}: BlueMind cannot read this jar and skips it"),
        Some(&format!("rm {broken} && {RESTART_CORE}")),
    );
    assert!(run.stdout.contains("no space after its `:`"), "{}", run.all());
}

/// Jars changed after the service started: what they bring is not in effect until a restart.
#[test]
fn a_restart_is_due() {
    let s = nextcloud_4_9();
    s.service("bm-core", "active", "running", "success", Duration::from_secs(600));
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        "FAIL  service bm-core: a restart is due: it started 10 min ago, before its extensions last changed (",
        Some(RESTART_CORE),
    );
    assert!(run.stdout.contains("ok    service bm-webserver: running since"), "{}", run.all());
    assert_eq!(s.doctor(&["--json"]).json()["services"][0]["restart_due"], true);
}

#[test]
fn failed_services_and_the_start_limit() {
    let s = nextcloud_4_9();
    s.service("bm-core", "failed", "failed", "start-limit-hit", Duration::from_secs(60));
    s.service("bm-webserver", "failed", "failed", "exit-code", Duration::from_secs(60));
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        "FAIL  service bm-core: held by systemd's start limit (2 starts in 30s; Result=start-limit-hit)",
        Some("systemctl reset-failed bm-core && systemctl start bm-core"),
    );
    assert_line(
        &run,
        "FAIL  service bm-webserver: failed (Result=exit-code)",
        Some("journalctl -u bm-webserver -n 200`, then: systemctl restart bm-webserver"),
    );
    // With Restart=on-failure, systemd keeps the first failure's result when its start limit
    // stops the restarts (systemd 252: "Start request repeated too quickly", Result=exit-code):
    // a failed unit that is no longer restarted is held by the limit.
    s.service_restarting("bm-core", "failed", "failed", "exit-code", Duration::from_secs(60), "on-failure");
    let run = s.doctor(&[]);
    assert_line(
        &run,
        "FAIL  service bm-core: held by systemd's start limit (2 starts in 30s; Result=exit-code)",
        Some("systemctl reset-failed bm-core && systemctl start bm-core"),
    );
}

/// Only warnings: exit 1.
#[test]
fn a_disabled_service_and_a_stopped_one_are_warnings() {
    let s = nextcloud_4_9();
    s.file("/etc/bm/bm-webserver.disabled", b"");
    s.service("bm-core", "inactive", "dead", "success", Duration::from_secs(60));
    let run = s.doctor(&[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_line(
        &run,
        "warn  service bm-webserver: disabled by /etc/bm/bm-webserver.disabled",
        Some("rm /etc/bm/bm-webserver.disabled && systemctl start bm-webserver"),
    );
    assert_line(&run, "warn  service bm-core: stopped (inactive, dead)", Some("systemctl start bm-core"));
    assert_eq!(s.doctor(&["--json"]).json()["result"], "warn");
}

/// StarLeaf is for BlueMind 4.5.3 up to 4.x: on BlueMind 5 its jars are loaded by a BlueMind they
/// were not made for (the range comes from the packages' relations on bm-core and bm-webserver).
#[test]
fn starleaf_on_bluemind_5() {
    let mut s = Seeded::new("5.0.0-1");
    s.package("bm-plugin-reload", "2.0.0-1", &[]);
    s.package("bm-plugin-core-videoconferencing-starleaf", "4.1.0-1", &[(CORE_EXT, STARLEAF)]);
    std::thread::sleep(Duration::from_millis(20));
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    let run = s.doctor(&[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        "FAIL  package: bm-plugin-core-videoconferencing-starleaf 4.1.0-1 is not meant for this BlueMind: it needs bm-core < 5~ (installed: 5.0.0-1)",
        Some("apt remove bm-plugin-core-videoconferencing-starleaf"),
    );
}

/// With --url: the installed connector against the one the Nextcloud server needs.
#[test]
fn the_nextcloud_connector_against_the_server() {
    let port = serve_status_fixtures(fixtures("nextcloud/status-php"));
    let url = |case: &str| format!("http://127.0.0.1:{port}/{case}/remote.php/webdav/");
    let mut s = Seeded::new("4.9.0-1");
    s.package("bm-nextcloud-common", "4.9.0-1", &[(CORE_EXT, COMMON)]);
    s.package("bm-nextcloud11", "4.9.0-1", &[(CORE_EXT, NC11)]);
    std::thread::sleep(Duration::from_millis(20));
    s.service("bm-core", "active", "running", "success", Duration::ZERO);
    let run = s.doctor(&["--url", &url("nc25")]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_line(
        &run,
        "FAIL  nextcloud: Nextcloud 25.0.3 needs bm-nextcloud12, but bm-nextcloud11 is installed",
        Some("apt install bm-nextcloud-common bm-nextcloud12"),
    );
    let fine = s.doctor(&["--url", &url("nc11")]);
    assert_line(&fine, "ok    nextcloud: Nextcloud 11.0.8 needs bm-nextcloud11, which is installed", None);
    let gone = s.doctor(&["--url", &format!("http://127.0.0.1:{}/remote.php/webdav/", server_support::free_port())]);
    assert_eq!(gone.code, 2, "{}", gone.all());
    assert!(gone.stdout.contains("FAIL  nextcloud:"), "{}", gone.all());
}

#[test]
fn help_and_usage_errors() {
    let help = run_bmpack(&["doctor", "--help"], None, &[]);
    assert_eq!(help.code, 0);
    for row in ["0  ok", "1  warn", "2  FAIL", "3  doctor could not run", "--json", "--url"] {
        assert!(help.stdout.contains(row), "`{row}` missing from doctor --help:\n{}", help.stdout);
    }
    assert_eq!(run_bmpack(&["doctor", "--no-such-option"], None, &[]).code, 3);
    assert_eq!(run_bmpack(&["doctor", "--url", "ftp://x/"], None, &[]).code, 3);
    // Not a BlueMind server at all.
    let empty = tempfile::tempdir().unwrap();
    let run = run_bmpack(&["doctor", "--root", empty.path().to_str().unwrap()], None, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.contains("FAIL  bluemind: no package database"), "{}", run.all());
    assert!(
        run.stdout.contains("not queried"),
        "another root's services are not queried without --service-tools:\n{}",
        run.all()
    );
    let _ = Path::new("/");
}

/// The same findings on a booted Debian 12 with real systemd as PID 1 (tests/harness/booted.rs)
/// and the install tests' BlueMind stand-ins, the plug-ins installed with apt: doctor runs
/// inside, as an administrator runs it, and reads the real `systemctl show`.
#[test]
fn doctor_on_a_booted_bluemind_server_with_real_systemd() {
    use bmpack_tests::bluemind::{Generation, make_starts_fail};
    use bmpack_tests::booted::Release;
    use bmpack_tests::server::Server;
    let server = Server::debian(Release::Bookworm, Generation::InterestOnly);
    let system = &server.system;
    system.ok("apt-get install -y -q bm-nextcloud-common bm-nextcloud12 >/dev/null");
    // The install tests' packages carry placeholder jars: give them real manifests, as the
    // vendor's jars have, then restart both services the packages' way.
    for jar in system.ok("dpkg -L bm-nextcloud-common bm-nextcloud12 | grep '\\.jar$'").lines() {
        let (name, version) = jar.rsplit('/').next().unwrap().trim_end_matches(".jar").rsplit_once('-').unwrap();
        let path = system.join(jar);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        zip.start_file("META-INF/MANIFEST.MF", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(
            format!("Manifest-Version: 1.0\r\nBundle-SymbolicName: {name}\r\nBundle-Version: {version}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        zip.finish().unwrap();
    }
    // (reset-failed clears systemd's start counter: this test starts bm-core faster than an
    // administrator would, and StartLimitBurst=2 in 30 s would refuse the third start.)
    system.ok(&format!("systemctl reset-failed bm-core bm-webserver && {RESTART_CORE} && systemctl stop bm-webserver && find /var/lib/bm-webserver -mindepth 1 -delete && systemctl start bm-webserver"));
    std::fs::copy(server_support::bmpack_binary(), system.join("/usr/local/bin/bmpack")).unwrap();
    let doctor = || {
        let out = system.sh("bmpack doctor --json");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: serde_json::Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), json)
    };
    let line = |json: &serde_json::Value, step: &str, says: &str| -> Option<serde_json::Value> {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["step"] == step && c["message"].as_str().unwrap().contains(says))
            .cloned()
    };
    // Installed and restarted: nothing is due (the stand-ins have no bundles.info: a warning).
    let (code, json) = doctor();
    assert!(code <= 1, "no FAIL expected after apt install: {json:#}");
    for service in ["bm-core", "bm-webserver"] {
        assert!(line(&json, &format!("service {service}"), "after its extensions last changed").is_some(), "{json:#}");
    }
    assert!(line(&json, "extensions", "(package bm-nextcloud12)").is_some(), "{json:#}");
    // A jar copied by hand afterwards: no package owns it, and bm-core has not seen it.
    system.ok(&format!("cp {CORE_EXT}/{NC12}-*.jar /tmp/copy.jar && mv /tmp/copy.jar {CORE_EXT}/{NC12}-4.0.0.jar"));
    let (code, json) = doctor();
    assert_eq!(code, 2, "{json:#}");
    assert!(line(&json, "extensions", "no package owns it").is_some(), "{json:#}");
    assert!(line(&json, "extensions", &format!("2 jars for bundle {NC12}")).is_some(), "{json:#}");
    let due = line(&json, "service bm-core", "a restart is due").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(due["fix"], RESTART_CORE);
    system.ok(&format!("rm {CORE_EXT}/{NC12}-4.0.0.jar && systemctl reset-failed bm-core && {RESTART_CORE}"));
    let (code, json) = doctor();
    assert!(code <= 1, "{json:#}");
    // bm-core fails to start, again and again: systemd's start limit holds it.
    make_starts_fail(system, "bm-core");
    // One start fails; Restart=on-failure tries again until systemd's limit refuses (a few seconds).
    let _ = system.sh("systemctl restart bm-core; for i in $(seq 50); do \
         [ \"$(systemctl show -p Result --value bm-core)\" = start-limit-hit ] && break; sleep 0.2; done");
    let (code, json) = doctor();
    assert_eq!(code, 2, "{json:#}");
    let held = line(&json, "service bm-core", "start limit").unwrap_or_else(|| panic!("{json:#}"));
    assert!(held["fix"].as_str().unwrap().contains("systemctl reset-failed bm-core"), "{json:#}");
}
