//! What the administrator of a RHEL/Rocky/Alma BlueMind server sees when installing, upgrading,
//! switching and removing our plug-ins with rpm or dnf: each scenario of issue 3 runs in a fresh
//! throwaway root (tests/harness/rpmroot.rs) with stand-in bm-core and bm-webserver services
//! whose `systemctl` logs every start, stop and restart (tests/harness/shim.rs).
//!
//! "Restarts" counts starts and restarts of a service in the transaction under test; every one
//! of them must find the service's cache empty.

use bmpack_tests::fixtures::{CORE_PLAIN, CORE_SELF_RELOADING, FILEHOSTING, FOUR_PLUGINS, NEW, OLD, WEBSERVER};
use bmpack_tests::rpmroot::RpmRoot;
use bmpack_tests::shim;

const CORE_EXT: &str = "/usr/share/bm-core/extensions";
const WEB_EXT: &str = "/usr/share/bm-webserver/extensions";
const RELOAD: &str = "bm-plugin-reload";

struct Server {
    root: RpmRoot,
}

impl Server {
    /// A running BlueMind server: bm-core and bm-webserver installed and started.
    fn new() -> Server {
        Server::with_core(CORE_PLAIN[0])
    }

    /// The same with the stand-in bm-core of `core_version` (`CORE_SELF_RELOADING` has its own
    /// file triggers on its extensions folder).
    fn with_core(core_version: &str) -> Server {
        let root = RpmRoot::new();
        let core = root.rpm_file("bm-core", core_version);
        let web = root.rpm_file("bm-webserver", WEBSERVER[0]);
        root.rpm_ok(&["-i", &core, &web]);
        assert!(shim::is_running(root.path(), "bm-core") && shim::is_running(root.path(), "bm-webserver"));
        shim::clear(root.path());
        Server { root }
    }

    fn files(&self, packages: &[&str], version: &str) -> Vec<String> {
        packages.iter().map(|p| self.root.rpm_file(p, version)).collect()
    }

    /// `rpm -Uvh` of the four plug-ins (and bm-plugin-reload) at `version`, plus `extra` options.
    fn rpm_four(&self, version: &str, extra: &[&str]) -> String {
        let mut args: Vec<String> = vec!["-Uvh".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(self.files(&FOUR_PLUGINS, version));
        args.push(self.root.rpm_file(RELOAD, "1.0.0"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.root.rpm_ok(&args)
    }

    /// `rpm -Uvh` of the four plug-ins at `version` after `first` (more package files), without
    /// bm-plugin-reload: the upgrade of plug-ins already installed.
    fn rpm_upgrade_four(&self, version: &str, first: &[String]) -> String {
        let mut args: Vec<String> = vec!["-Uvh".into()];
        args.extend(first.iter().cloned());
        args.extend(self.files(&FOUR_PLUGINS, version));
        self.root.rpm_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `dnf VERB [FIRST…]` of the four plug-ins, as `name-VERSION` when a version is given;
    /// returns dnf's output.
    fn dnf_four(&self, verb: &str, version: Option<&str>, first: &[String]) -> String {
        let mut args: Vec<String> = vec![verb.into()];
        args.extend(first.iter().cloned());
        args.extend(FOUR_PLUGINS.iter().map(|p| version.map_or_else(|| p.to_string(), |v| format!("{p}-{v}"))));
        self.root.dnf_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn forget_restarts(&self) {
        shim::clear(self.root.path());
    }

    fn restarts(&self, service: &str) -> usize {
        shim::restarts(&shim::events(self.root.path()), service)
    }

    fn expect(&self, output: &str, core: usize, webserver: usize) {
        let events = shim::events(self.root.path());
        assert_eq!(
            (shim::restarts(&events, "bm-core"), shim::restarts(&events, "bm-webserver")),
            (core, webserver),
            "restarts of (bm-core, bm-webserver); events: {events:?}\noutput:\n{output}"
        );
        for service in ["bm-core", "bm-webserver"] {
            assert!(shim::started_with_empty_cache(&events, service), "{service} started on a stale cache: {events:?}");
        }
    }

    /// The scriptlets' output reaches the terminal (rpm and dnf): one line per restarted service.
    fn expect_lines(&self, output: &str, core: usize, webserver: usize) {
        for (service, n) in [("bm-core", core), ("bm-webserver", webserver)] {
            let line = format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied, service restarted");
            assert_eq!(output.matches(&line).count(), n.min(1), "expected `{line}` {n} time(s) in:\n{output}");
        }
    }

    fn jars(&self, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join(folder))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn cache_is_empty(&self, service: &str) -> bool {
        let dir = self.root.join(&format!("/var/lib/{service}"));
        dir.is_dir() && std::fs::read_dir(dir).unwrap().next().is_none()
    }
}

// ---- rpm -Uvh / rpm -e ------------------------------------------------------------------------

#[test]
fn rpm_install_of_several_restarts_each_service_once() {
    let s = Server::new();
    let out = s.rpm_four(NEW, &[]);
    s.expect(&out, 1, 1);
    s.expect_lines(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().any(|j| j.starts_with("net.bluemind.filehosting.nextcloud12-")));
    assert!(s.jars(WEB_EXT).iter().any(|j| j.contains("starleaf")));
}

#[test]
fn rpm_one_plugin_alone_restarts_only_its_service() {
    let s = Server::new();
    let plugin = s.root.rpm_file("bm-plugin-core-videoconferencing-starleaf", NEW);
    let out = s.root.rpm_ok(&["-Uvh", &plugin, &s.root.rpm_file(RELOAD, "1.0.0")]);
    s.expect(&out, 1, 0);
    s.expect_lines(&out, 1, 0);
}

#[test]
fn rpm_upgrade_of_several_restarts_each_service_once() {
    let s = Server::new();
    s.rpm_four(OLD, &[]);
    s.forget_restarts();
    let out = s.rpm_upgrade_four(NEW, &[]);
    s.expect(&out, 1, 1);
    s.expect_lines(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(NEW)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn rpm_reinstall_restarts_each_service_once() {
    let s = Server::new();
    s.rpm_four(NEW, &[]);
    s.forget_restarts();
    let out = s.rpm_four(NEW, &["--replacepkgs"]);
    s.expect(&out, 1, 1);
}

#[test]
fn rpm_downgrade_restarts_each_service_once() {
    let s = Server::new();
    s.rpm_four(NEW, &[]);
    s.forget_restarts();
    let out = s.rpm_four(OLD, &["--oldpackage", "--replacepkgs"]);
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(OLD)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn rpm_erase_of_two_restarts_each_service_once() {
    let s = Server::new();
    s.rpm_four(NEW, &[]);
    s.forget_restarts();
    let out = s.root.rpm_ok(&[
        "-e",
        "bm-plugin-core-videoconferencing-starleaf",
        "bm-plugin-admin-console-videoconferencing-starleaf",
    ]);
    s.expect(&out, 1, 1);
    assert!(!s.jars(CORE_EXT).iter().chain(s.jars(WEB_EXT).iter()).any(|j| j.contains("starleaf")));
}

#[test]
fn rpm_erase_of_everything_restarts_once_and_leaves_no_file_of_ours() {
    let s = Server::new();
    s.rpm_four(NEW, &[]);
    s.forget_restarts();
    let mut args = vec!["-e"];
    args.extend(FOUR_PLUGINS);
    args.push(RELOAD);
    let out = s.root.rpm_ok(&args);
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).is_empty() && s.jars(WEB_EXT).is_empty());
    assert!(!s.root.join("/var/lib/bm-plugin-reload").exists(), "bm-plugin-reload's state is left");
    for p in FOUR_PLUGINS.iter().chain(&[RELOAD]) {
        assert!(!s.root.installed(p));
        assert!(!s.root.join(&format!("/usr/share/doc/{p}")).exists(), "{p}'s documentation is left");
    }
}

#[test]
fn rpm_with_a_stopped_service_empties_its_cache_and_leaves_it_stopped() {
    let s = Server::new();
    shim::set_running(s.root.path(), "bm-core", false);
    s.root.sh("chown 12:34 /var/lib/bm-core && chmod 0750 /var/lib/bm-core");
    let out = s.rpm_four(NEW, &[]);
    s.expect(&out, 0, 1);
    assert!(!shim::is_running(s.root.path(), "bm-core"));
    assert!(s.cache_is_empty("bm-core"));
    assert_eq!(s.root.sh("stat -c '%u:%g %a' /var/lib/bm-core").trim(), "12:34 750");
    assert!(out.contains("bm-plugin-reload: bm-core: not running, cache /var/lib/bm-core emptied, left stopped"), "{out}");
}

#[test]
fn rpm_without_an_init_system_succeeds_and_says_a_restart_is_due() {
    let s = Server::new();
    std::fs::remove_dir_all(s.root.join("/run/systemd/system")).unwrap();
    let out = s.rpm_four(NEW, &[]);
    s.expect(&out, 0, 0);
    for service in ["bm-core", "bm-webserver"] {
        assert!(s.cache_is_empty(service));
        assert!(out.contains(&format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied; no running init system, so a restart is due")), "{out}");
    }
}

#[test]
fn rpm_leaves_a_service_disabled_in_etc_bm_alone() {
    let s = Server::new();
    s.root.sh("mkdir -p /etc/bm && touch /etc/bm/bm-webserver.disabled");
    let out = s.rpm_four(NEW, &[]);
    s.expect(&out, 1, 0);
    assert!(!shim::events(s.root.path()).iter().any(|e| e.service == "bm-webserver"));
    assert!(out.contains("bm-plugin-reload: bm-webserver: disabled by /etc/bm/bm-webserver.disabled, left alone"), "{out}");
}

#[test]
fn rpm_succeeds_when_a_restart_fails_and_says_what_to_look_at() {
    let s = Server::new();
    shim::make_starts_fail(s.root.path(), "bm-core");
    let out = s.rpm_four(NEW, &[]);
    assert!(out.contains("systemctl status bm-core") && out.contains("journalctl -u bm-core"), "{out}");
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 1));
    for p in FOUR_PLUGINS.iter().chain(&[RELOAD]) {
        assert!(s.root.installed(p), "{p}");
    }
    s.root.rpm_ok(&["-Va", "--nofiledigest", "--nomtime"]);
}

#[test]
fn rpm_upgrade_of_bm_core_together_with_the_plugins_restarts_it_at_most_twice() {
    let s = Server::new();
    s.rpm_four(OLD, &[]);
    s.forget_restarts();
    let out = s.rpm_upgrade_four(NEW, &[s.root.rpm_file("bm-core", CORE_PLAIN[1])]);
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1);
    assert!(shim::started_with_empty_cache(&shim::events(s.root.path()), "bm-core"));
}

// ---- a bm-core with its own file triggers ----------------------------------------------------

const ITS_OWN: &str = "bm-plugin-reload: bm-core: its own package reloads it";

/// A bm-core that watches its own extensions folder reloads itself; bm-plugin-reload sees that
/// (with the rpm of the server) and leaves it that job, so bm-core still restarts once.
#[test]
fn rpm_with_a_self_reloading_bm_core_install_upgrade_and_erase_restart_once() {
    let s = Server::with_core(CORE_SELF_RELOADING[0]);
    let out = s.rpm_four(OLD, &[]);
    s.expect(&out, 1, 1);
    assert!(out.contains(ITS_OWN), "{out}");
    s.forget_restarts();
    let out = s.rpm_upgrade_four(NEW, &[]);
    s.expect(&out, 1, 1);
    s.forget_restarts();
    let out = s.root.rpm_ok(&["-e", "bm-plugin-core-videoconferencing-starleaf"]);
    s.expect(&out, 1, 0);
}

#[test]
fn dnf_with_a_self_reloading_bm_core_install_upgrade_and_remove_restart_once() {
    let s = Server::with_core(CORE_SELF_RELOADING[0]);
    let out = s.dnf_four("install", Some(OLD), &[]);
    s.expect(&out, 1, 1);
    assert!(out.contains(ITS_OWN), "{out}");
    s.forget_restarts();
    let out = s.dnf_four("upgrade", None, &[]);
    s.expect(&out, 1, 1);
    s.forget_restarts();
    let out = s.root.dnf_ok(&["remove", "bm-plugin-core-videoconferencing-starleaf"]);
    s.expect(&out, 1, 0);
}

#[test]
fn dnf_upgrade_of_a_self_reloading_bm_core_together_with_the_plugins_restarts_it_at_most_twice() {
    let s = Server::with_core(CORE_SELF_RELOADING[0]);
    s.dnf_four("install", Some(OLD), &[]);
    s.forget_restarts();
    let out = s.dnf_four("upgrade", None, &[format!("bm-core-{}", CORE_SELF_RELOADING[1])]);
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1, "{out}");
    assert!(shim::started_with_empty_cache(&shim::events(s.root.path()), "bm-core"));
}

// ---- dnf --------------------------------------------------------------------------------------

#[test]
fn dnf_with_a_stopped_service_empties_its_cache_and_leaves_it_stopped() {
    let s = Server::new();
    shim::set_running(s.root.path(), "bm-core", false);
    s.root.sh("chown 12:34 /var/lib/bm-core && chmod 0750 /var/lib/bm-core");
    let out = s.dnf_four("install", None, &[]);
    s.expect(&out, 0, 1);
    assert!(!shim::is_running(s.root.path(), "bm-core"));
    assert!(s.cache_is_empty("bm-core"));
    assert_eq!(s.root.sh("stat -c '%u:%g %a' /var/lib/bm-core").trim(), "12:34 750");
    assert!(out.contains("bm-plugin-reload: bm-core: not running, cache /var/lib/bm-core emptied, left stopped"), "{out}");
}

#[test]
fn dnf_without_an_init_system_succeeds_and_says_a_restart_is_due() {
    let s = Server::new();
    std::fs::remove_dir_all(s.root.join("/run/systemd/system")).unwrap();
    let out = s.dnf_four("install", None, &[]);
    s.expect(&out, 0, 0);
    for service in ["bm-core", "bm-webserver"] {
        assert!(s.cache_is_empty(service));
        assert!(out.contains(&format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied; no running init system, so a restart is due")), "{out}");
    }
}

#[test]
fn dnf_leaves_a_service_disabled_in_etc_bm_alone() {
    let s = Server::new();
    s.root.sh("mkdir -p /etc/bm && touch /etc/bm/bm-webserver.disabled");
    let out = s.dnf_four("install", None, &[]);
    s.expect(&out, 1, 0);
    assert!(!shim::events(s.root.path()).iter().any(|e| e.service == "bm-webserver"));
    assert!(out.contains("bm-plugin-reload: bm-webserver: disabled by /etc/bm/bm-webserver.disabled, left alone"), "{out}");
}

#[test]
fn dnf_succeeds_when_a_restart_fails_and_says_what_to_look_at() {
    let s = Server::new();
    shim::make_starts_fail(s.root.path(), "bm-core");
    let out = s.dnf_four("install", None, &[]);
    assert!(out.contains("systemctl status bm-core") && out.contains("journalctl -u bm-core"), "{out}");
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 1));
    for p in FOUR_PLUGINS.iter().chain(&[RELOAD]) {
        assert!(s.root.installed(p), "{p}");
    }
    s.root.rpm_ok(&["-Va", "--nofiledigest", "--nomtime"]);
}

#[test]
fn dnf_upgrade_of_bm_core_together_with_the_plugins_restarts_it_at_most_twice() {
    let s = Server::new();
    s.dnf_four("install", Some(OLD), &[]);
    s.forget_restarts();
    let out = s.dnf_four("upgrade", None, &[format!("bm-core-{}", CORE_PLAIN[1])]);
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1, "{out}");
    assert!(shim::started_with_empty_cache(&shim::events(s.root.path()), "bm-core"));
}

#[test]
fn dnf_install_of_the_four_plugins_restarts_each_service_once() {
    let s = Server::new();
    let out = s.dnf_four("install", None, &[]);
    s.expect(&out, 1, 1);
    s.expect_lines(&out, 1, 1);
    assert!(s.root.installed(RELOAD));
}

#[test]
fn dnf_one_plugin_alone_restarts_only_its_service() {
    let s = Server::new();
    let out = s.root.dnf_ok(&["install", "bm-plugin-admin-console-videoconferencing-starleaf"]);
    s.expect(&out, 0, 1);
}

#[test]
fn dnf_upgrade_restarts_each_service_once() {
    let s = Server::new();
    s.dnf_four("install", Some(OLD), &[]);
    s.forget_restarts();
    let out = s.dnf_four("upgrade", None, &[]);
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(NEW)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn dnf_reinstall_restarts_each_service_once() {
    let s = Server::new();
    s.dnf_four("install", None, &[]);
    s.forget_restarts();
    let out = s.dnf_four("reinstall", None, &[]);
    s.expect(&out, 1, 1);
}

#[test]
fn dnf_downgrade_restarts_each_service_once() {
    let s = Server::new();
    s.dnf_four("install", None, &[]);
    s.forget_restarts();
    let out = s.dnf_four("downgrade", Some(OLD), &[]);
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(OLD)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn dnf_swap_from_nextcloud11_to_12_is_one_transaction_with_one_restart() {
    let s = Server::new();
    s.root.dnf_ok(&["install", "bm-nextcloud-common", "bm-nextcloud11"]);
    s.forget_restarts();
    let out = s.root.dnf_ok(&["swap", "bm-nextcloud11", "bm-nextcloud12"]);
    s.expect(&out, 1, 0);
    assert!(s.root.installed("bm-nextcloud12") && !s.root.installed("bm-nextcloud11"));
}

#[test]
fn dnf_install_allowerasing_switches_nextcloud_majors_with_one_restart() {
    let s = Server::new();
    s.root.dnf_ok(&["install", "bm-nextcloud-common", "bm-nextcloud11"]);
    s.forget_restarts();
    let out = s.root.dnf_ok(&["install", "--allowerasing", "bm-nextcloud12"]);
    s.expect(&out, 1, 0);
    assert!(s.root.installed("bm-nextcloud12") && !s.root.installed("bm-nextcloud11"));
}

#[test]
fn dnf_remove_of_two_restarts_each_service_once() {
    let s = Server::new();
    s.dnf_four("install", None, &[]);
    s.forget_restarts();
    let out = s.root.dnf_ok(&[
        "remove",
        "bm-plugin-core-videoconferencing-starleaf",
        "bm-plugin-admin-console-videoconferencing-starleaf",
    ]);
    s.expect(&out, 1, 1);
}

#[test]
fn dnf_remove_of_everything_restarts_once_and_leaves_no_file_of_ours() {
    let s = Server::new();
    s.dnf_four("install", None, &[]);
    s.forget_restarts();
    let out = s.dnf_four("remove", None, &[]);
    s.expect(&out, 1, 1);
    assert!(!s.root.installed(RELOAD), "dnf left bm-plugin-reload, which nothing needs any more");
    assert!(!s.root.join("/var/lib/bm-plugin-reload").exists());
    assert!(s.jars(CORE_EXT).is_empty() && s.jars(WEB_EXT).is_empty());
}

#[test]
fn dnf_replacement_mode_removes_the_builtin_store_in_the_same_transaction() {
    let s = Server::new();
    s.root.dnf_ok(&["install", FILEHOSTING]);
    s.forget_restarts();
    let out = s.root.dnf_ok(&["install", "--allowerasing", "bm-nextcloud-replaces-filehosting", "bm-nextcloud12"]);
    s.expect(&out, 1, 1);
    assert!(!s.root.installed(FILEHOSTING));
    assert!(!s.jars(CORE_EXT).iter().any(|j| j.contains("filehosting.filesystem")));
}
