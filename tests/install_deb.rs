//! What the administrator of a Debian/Ubuntu BlueMind server sees when installing, upgrading,
//! switching and removing our plug-ins with apt or dpkg: each scenario of issue 3 runs in a
//! fresh throwaway root (tests/harness/debroot.rs) with stand-in bm-core and bm-webserver
//! services whose `systemctl` logs every start, stop and restart (tests/harness/shim.rs).
//!
//! "Restarts" below counts starts and restarts of a service in the transaction under test;
//! every one of them must find the service's cache empty (the new bundles get loaded).

use bmpack_tests::debroot::DebRoot;
use bmpack_tests::fixtures::{CORE_PLAIN, CORE_SELF_RELOADING, FILEHOSTING, FOUR_PLUGINS, NEW, OLD, WEBSERVER};
use bmpack_tests::shim;

const CORE_EXT: &str = "/usr/share/bm-core/extensions";
const WEB_EXT: &str = "/usr/share/bm-webserver/extensions";

struct Server {
    root: DebRoot,
}

impl Server {
    /// A running BlueMind server: bm-core (the given release) and bm-webserver, both started.
    fn new(core_version: &str) -> Server {
        let root = DebRoot::new();
        root.ok(&format!("apt-get install -y -q bm-core={core_version}-1 bm-webserver={}-1", WEBSERVER[0]));
        // The administrator keeps BlueMind itself at its release; `apt-get upgrade` moves the plug-ins.
        root.ok("apt-mark hold bm-core bm-webserver >/dev/null");
        assert!(shim::is_running(root.path(), "bm-core") && shim::is_running(root.path(), "bm-webserver"));
        shim::clear(root.path());
        Server { root }
    }

    fn plain() -> Server {
        Server::new(CORE_PLAIN[0])
    }

    /// A step that prepares the scenario: it must succeed, and its restarts are not counted.
    fn given(&self, script: &str) {
        self.root.ok(script);
        shim::clear(self.root.path());
    }

    /// The transaction under test, which must succeed; returns its output.
    fn when(&self, script: &str) -> String {
        self.root.ok(script)
    }

    fn restarts(&self, service: &str) -> usize {
        shim::restarts(&shim::events(self.root.path()), service)
    }

    /// Checks the restart counts, that every start found an empty cache, and that the output
    /// says what was done for each service restarted by bm-plugin-reload.
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
        for (service, n) in [("bm-core", core), ("bm-webserver", webserver)] {
            let line = format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied, service restarted");
            assert_eq!(output.matches(&line).count(), n.min(1), "expected `{line}` {n} time(s) in:\n{output}");
        }
    }

    /// After a purge: no jar, no package dpkg knows, no documentation, state or dpkg file of ours.
    fn assert_nothing_of_ours_left(&self) {
        assert!(self.jars(CORE_EXT).is_empty() && self.jars(WEB_EXT).is_empty(), "{:?} {:?}", self.jars(CORE_EXT), self.jars(WEB_EXT));
        for ours in FOUR_PLUGINS.iter().chain(&["bm-plugin-reload"]) {
            assert_eq!(self.root.status(ours), "", "{ours} is still known to dpkg");
            assert!(!self.root.join(&format!("/usr/share/doc/{ours}")).exists(), "{ours}'s documentation is left");
        }
        assert!(!self.root.join("/var/lib/bm-plugin-reload").exists(), "bm-plugin-reload's state is left");
        let left = self.root.ok("ls /var/lib/dpkg/info | grep -e bm-plugin -e nextcloud || true");
        assert!(left.trim().is_empty(), "dpkg still has files of ours: {left}");
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

fn four_at(version: &str) -> String {
    FOUR_PLUGINS.iter().map(|p| format!("{p}={version}-1")).collect::<Vec<_>>().join(" ")
}

fn four() -> String {
    FOUR_PLUGINS.join(" ")
}

#[test]
fn apt_fresh_install_of_the_four_plugins_restarts_each_service_once() {
    let s = Server::plain();
    let out = s.when(&format!("apt-get install -y {}", four()));
    s.expect(&out, 1, 1);
    // The per-transaction key: the package manager's pid and its start time (from /proc).
    let key = std::fs::read_to_string(s.root.join("/var/lib/bm-plugin-reload/bm-core.transaction")).unwrap();
    let (pid, start) = key.trim().split_once('.').expect("`pid.start` key");
    assert!(pid.parse::<u32>().is_ok() && start.parse::<u64>().is_ok(), "transaction key `{}`", key.trim());
    assert!(s.jars(CORE_EXT).iter().any(|j| j.starts_with("net.bluemind.filehosting.nextcloud12-")), "{:?}", s.jars(CORE_EXT));
    assert!(s.jars(WEB_EXT).iter().any(|j| j.starts_with("net.bluemind.ui.adminconsole.videoconferencing.starleaf-")));
    assert!(out.contains("bm-plugin-reload"), "{out}");
}

#[test]
fn apt_one_plugin_alone_restarts_only_its_service() {
    let s = Server::plain();
    let out = s.when("apt-get install -y bm-plugin-core-videoconferencing-starleaf");
    s.expect(&out, 1, 0);
}

#[test]
fn apt_upgrade_of_all_plugins_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(OLD)));
    let out = s.when("apt-get upgrade -y");
    s.expect(&out, 1, 1);
    let jars = s.jars(CORE_EXT);
    assert!(jars.iter().all(|j| j.contains(NEW)) && !jars.is_empty(), "old jars left: {jars:?}");
}

#[test]
fn apt_reinstall_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four()));
    let out = s.when(&format!("apt-get install -y --reinstall {}", four()));
    s.expect(&out, 1, 1);
}

#[test]
fn apt_downgrade_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(NEW)));
    let out = s.when(&format!("apt-get install -y --allow-downgrades {}", four_at(OLD)));
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(OLD)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn apt_switch_from_nextcloud11_to_12_is_one_transaction_with_one_restart() {
    let s = Server::plain();
    s.given("apt-get install -y bm-nextcloud-common bm-nextcloud11");
    let out = s.when("apt-get install -y bm-nextcloud12");
    s.expect(&out, 1, 0);
    assert_eq!(s.root.status("bm-nextcloud12"), "installed");
    assert_ne!(s.root.status("bm-nextcloud11"), "installed");
    let jars = s.jars(CORE_EXT);
    assert!(!jars.iter().any(|j| j.starts_with("net.bluemind.filehosting.nextcloud11")), "{jars:?}");
}

#[test]
fn apt_remove_of_two_plugins_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four()));
    let out = s.when(
        "apt-get remove -y bm-plugin-core-videoconferencing-starleaf bm-plugin-admin-console-videoconferencing-starleaf",
    );
    s.expect(&out, 1, 1);
    assert!(!s.jars(CORE_EXT).iter().any(|j| j.contains("starleaf")));
    assert!(!s.jars(WEB_EXT).iter().any(|j| j.contains("starleaf")));
}

#[test]
fn apt_purge_of_everything_restarts_once_and_leaves_no_file_of_ours() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four()));
    let out = s.when(&format!("apt-get purge -y {} bm-plugin-reload", four()));
    s.expect(&out, 1, 1);
    s.assert_nothing_of_ours_left();
}

#[test]
fn apt_with_a_stopped_service_empties_its_cache_and_leaves_it_stopped() {
    let s = Server::plain();
    // The administrator stopped bm-core; its cache has a particular owner and mode.
    shim::set_running(s.root.path(), "bm-core", false);
    s.root.ok("chown 12:34 /var/lib/bm-core && chmod 0750 /var/lib/bm-core");
    let out = s.when(&format!("apt-get install -y {}", four()));
    s.expect(&out, 0, 1);
    assert!(!shim::is_running(s.root.path(), "bm-core"), "bm-core was started");
    assert!(s.cache_is_empty("bm-core"), "bm-core's cache was not emptied");
    assert_eq!(s.root.ok("stat -c '%u:%g %a' /var/lib/bm-core").trim(), "12:34 750", "the cache folder lost its owner or mode");
    assert!(out.contains("bm-plugin-reload: bm-core: not running, cache /var/lib/bm-core emptied, left stopped"), "{out}");
}

#[test]
fn apt_without_an_init_system_succeeds_and_says_a_restart_is_due() {
    let s = Server::plain();
    std::fs::remove_dir_all(s.root.join("/run/systemd/system")).unwrap();
    let out = s.when(&format!("apt-get install -y {}", four()));
    s.expect(&out, 0, 0);
    for service in ["bm-core", "bm-webserver"] {
        assert!(s.cache_is_empty(service), "{service}'s cache was not emptied");
        assert!(out.contains(&format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied; no running init system, so a restart is due")), "{out}");
    }
}

#[test]
fn apt_leaves_a_service_disabled_in_etc_bm_alone() {
    let s = Server::plain();
    s.root.ok("mkdir -p /etc/bm && touch /etc/bm/bm-webserver.disabled");
    let out = s.when(&format!("apt-get install -y {}", four()));
    s.expect(&out, 1, 0);
    assert!(!shim::events(s.root.path()).iter().any(|e| e.service == "bm-webserver"), "bm-webserver was touched");
    assert!(out.contains("bm-plugin-reload: bm-webserver: disabled by /etc/bm/bm-webserver.disabled, left alone"), "{out}");
}

#[test]
fn apt_succeeds_when_a_restart_fails_and_says_what_to_look_at() {
    let s = Server::plain();
    shim::make_starts_fail(s.root.path(), "bm-core");
    let out = s.when(&format!("apt-get install -y {}", four()));
    assert!(out.contains("systemctl status bm-core") && out.contains("journalctl -u bm-core"), "{out}");
    assert_eq!(s.restarts("bm-core"), 1, "one attempt");
    assert_eq!(s.restarts("bm-webserver"), 1);
    for p in FOUR_PLUGINS.iter().chain(&["bm-plugin-reload"]) {
        assert_eq!(s.root.status(p), "installed", "{p} is not fully installed:\n{out}");
    }
    s.root.ok("dpkg --audit");
}

#[test]
fn apt_upgrade_of_bm_core_together_with_the_plugins_restarts_it_at_most_twice() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(OLD)));
    let out = s.when(&format!("apt-get install -y --allow-change-held-packages bm-core={}-1 {}", CORE_PLAIN[1], four_at(NEW)));
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1);
    let events = shim::events(s.root.path());
    assert!(shim::started_with_empty_cache(&events, "bm-core"), "{events:?}");
}

#[test]
fn apt_replacement_mode_removes_the_builtin_store_in_the_same_transaction() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {FILEHOSTING}"));
    let out = s.when("apt-get install -y bm-nextcloud-replaces-filehosting bm-nextcloud12");
    s.expect(&out, 1, 1);
    assert_ne!(s.root.status(FILEHOSTING), "installed");
    assert!(!s.jars(CORE_EXT).iter().any(|j| j.contains("filehosting.filesystem")), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn apt_replacement_mode_on_a_server_with_nextcloud_restarts_bm_core_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {FILEHOSTING} bm-nextcloud-common bm-nextcloud12"));
    let out = s.when("apt-get install -y bm-nextcloud-replaces-filehosting");
    s.expect(&out, 1, 0);
    assert_ne!(s.root.status(FILEHOSTING), "installed");
}

#[test]
fn dpkg_one_run_of_several_packages_restarts_each_service_once() {
    let s = Server::plain();
    // The plug-ins before the package they depend on: dpkg unpacks them before it knows of
    // bm-plugin-reload's triggers.
    let mut debs = s.root.deb_paths(&[
        ("bm-nextcloud-common", NEW),
        ("bm-nextcloud12", NEW),
        ("bm-plugin-core-videoconferencing-starleaf", NEW),
        ("bm-plugin-admin-console-videoconferencing-starleaf", NEW),
    ]);
    debs.extend(s.root.deb_paths(&[("bm-plugin-reload", "1.0.0")]));
    let out = s.when(&format!("dpkg -i {}", debs.join(" ")));
    s.expect(&out, 1, 1);
}

#[test]
fn dpkg_one_run_upgrading_several_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(OLD)));
    let debs = s.root.deb_paths(&FOUR_PLUGINS.map(|p| (p, NEW)));
    let out = s.when(&format!("dpkg -i {}", debs.join(" ")));
    s.expect(&out, 1, 1);
}

#[test]
fn dpkg_remove_of_two_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four()));
    let out = s.when("dpkg -r bm-plugin-core-videoconferencing-starleaf bm-plugin-admin-console-videoconferencing-starleaf");
    s.expect(&out, 1, 1);
}

/// `dpkg -i` in one run of our packages at the given versions, bm-plugin-reload last (dpkg then
/// unpacks the plug-ins before it knows of its triggers).
fn dpkg_i(s: &Server, packages: &[(&str, &str)]) -> String {
    let mut debs = s.root.deb_paths(packages);
    debs.extend(s.root.deb_paths(&[("bm-plugin-reload", "1.0.0")]));
    s.when(&format!("dpkg -i {}", debs.join(" ")))
}

fn four_debs_at(version: &str) -> Vec<(&'static str, &str)> {
    FOUR_PLUGINS.iter().map(|p| (*p, version)).collect()
}

#[test]
fn dpkg_one_plugin_alone_restarts_only_its_service() {
    let s = Server::plain();
    let out = dpkg_i(&s, &[("bm-plugin-admin-console-videoconferencing-starleaf", NEW)]);
    s.expect(&out, 0, 1);
}

#[test]
fn dpkg_reinstall_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(NEW)));
    let out = dpkg_i(&s, &four_debs_at(NEW));
    s.expect(&out, 1, 1);
}

#[test]
fn dpkg_downgrade_restarts_each_service_once() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(NEW)));
    let out = dpkg_i(&s, &four_debs_at(OLD));
    s.expect(&out, 1, 1);
    assert!(s.jars(CORE_EXT).iter().all(|j| j.contains(OLD)), "{:?}", s.jars(CORE_EXT));
}

#[test]
fn dpkg_switch_from_nextcloud11_to_12_removes_11_in_the_same_run_with_one_restart() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y bm-nextcloud-common={NEW}-1 bm-nextcloud11={NEW}-1"));
    let debs = s.root.deb_paths(&[("bm-nextcloud12", NEW)]);
    let out = s.when(&format!("dpkg -i {}", debs.join(" ")));
    s.expect(&out, 1, 0);
    assert_eq!(s.root.status("bm-nextcloud12"), "installed");
    assert_ne!(s.root.status("bm-nextcloud11"), "installed", "{out}");
    assert!(!s.jars(CORE_EXT).iter().any(|j| j.starts_with("net.bluemind.filehosting.nextcloud11")));
}

#[test]
fn dpkg_purge_of_everything_restarts_once_and_leaves_no_file_of_ours() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four()));
    let out = s.when(&format!("dpkg --purge {} bm-plugin-reload", four()));
    s.expect(&out, 1, 1);
    s.assert_nothing_of_ours_left();
}

#[test]
fn dpkg_with_a_stopped_service_empties_its_cache_and_leaves_it_stopped() {
    let s = Server::plain();
    shim::set_running(s.root.path(), "bm-core", false);
    let out = dpkg_i(&s, &four_debs_at(NEW));
    s.expect(&out, 0, 1);
    assert!(!shim::is_running(s.root.path(), "bm-core"), "bm-core was started");
    assert!(s.cache_is_empty("bm-core"));
    assert!(out.contains("bm-plugin-reload: bm-core: not running, cache /var/lib/bm-core emptied, left stopped"), "{out}");
}

#[test]
fn dpkg_without_an_init_system_succeeds_and_says_a_restart_is_due() {
    let s = Server::plain();
    std::fs::remove_dir_all(s.root.join("/run/systemd/system")).unwrap();
    let out = dpkg_i(&s, &four_debs_at(NEW));
    s.expect(&out, 0, 0);
    for service in ["bm-core", "bm-webserver"] {
        assert!(s.cache_is_empty(service));
        assert!(out.contains(&format!("bm-plugin-reload: {service}: cache /var/lib/{service} emptied; no running init system, so a restart is due")), "{out}");
    }
}

#[test]
fn dpkg_leaves_a_service_disabled_in_etc_bm_alone() {
    let s = Server::plain();
    s.root.ok("mkdir -p /etc/bm && touch /etc/bm/bm-webserver.disabled");
    let out = dpkg_i(&s, &four_debs_at(NEW));
    s.expect(&out, 1, 0);
    assert!(!shim::events(s.root.path()).iter().any(|e| e.service == "bm-webserver"), "bm-webserver was touched");
}

#[test]
fn dpkg_succeeds_when_a_restart_fails_and_says_what_to_look_at() {
    let s = Server::plain();
    shim::make_starts_fail(s.root.path(), "bm-core");
    let out = dpkg_i(&s, &four_debs_at(NEW));
    assert!(out.contains("systemctl status bm-core") && out.contains("journalctl -u bm-core"), "{out}");
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 1));
    for p in FOUR_PLUGINS.iter().chain(&["bm-plugin-reload"]) {
        assert_eq!(s.root.status(p), "installed", "{p} is not fully installed:\n{out}");
    }
    s.root.ok("dpkg --audit");
}

#[test]
fn dpkg_upgrade_of_bm_core_together_with_the_plugins_restarts_it_at_most_twice() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {}", four_at(OLD)));
    let mut debs = s.root.deb_paths(&[("bm-core", CORE_PLAIN[1])]);
    debs.extend(s.root.deb_paths(&four_debs_at(NEW)));
    let out = s.when(&format!("dpkg -i {}", debs.join(" ")));
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1, "{out}");
    assert!(shim::started_with_empty_cache(&shim::events(s.root.path()), "bm-core"));
}

#[test]
fn dpkg_replacement_mode_removes_the_builtin_store_in_the_same_run() {
    let s = Server::plain();
    s.given(&format!("apt-get install -y {FILEHOSTING} bm-nextcloud-common bm-nextcloud12"));
    let debs = s.root.deb_paths(&[("bm-nextcloud-replaces-filehosting", "1.0.0")]);
    let out = s.when(&format!("dpkg -i {}", debs.join(" ")));
    s.expect(&out, 1, 0);
    assert_ne!(s.root.status(FILEHOSTING), "installed", "{out}");
    assert!(!s.jars(CORE_EXT).iter().any(|j| j.contains("filehosting.filesystem")), "{:?}", s.jars(CORE_EXT));
}

/// A bm-core that declares its own trigger on its extensions folder reloads itself; bm-plugin-reload
/// leaves it that job, so it still restarts once.
#[test]
fn with_a_self_reloading_bm_core_install_upgrade_and_remove_restart_once() {
    let s = Server::new(CORE_SELF_RELOADING[0]);
    let line = "bm-plugin-reload: bm-core: its own package reloads it";
    let out = s.when(&format!("apt-get install -y {}", four_at(OLD)));
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 1), "install:\n{out}");
    assert!(out.contains(line), "{out}");
    shim::clear(s.root.path());
    let out = s.when("apt-get upgrade -y");
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 1), "upgrade:\n{out}");
    shim::clear(s.root.path());
    let out = s.when("apt-get remove -y bm-plugin-core-videoconferencing-starleaf");
    assert_eq!((s.restarts("bm-core"), s.restarts("bm-webserver")), (1, 0), "remove:\n{out}");
    let events = shim::events(s.root.path());
    assert!(shim::started_with_empty_cache(&events, "bm-core"), "{events:?}");
}

#[test]
fn with_a_self_reloading_bm_core_upgraded_together_with_the_plugins_restarts_at_most_twice() {
    let s = Server::new(CORE_SELF_RELOADING[0]);
    s.given(&format!("apt-get install -y {}", four_at(OLD)));
    let out = s.when(&format!(
        "apt-get install -y --allow-change-held-packages bm-core={}-1 {}",
        CORE_SELF_RELOADING[1],
        four_at(NEW)
    ));
    let core = s.restarts("bm-core");
    assert!((1..=2).contains(&core), "bm-core restarted {core} times:\n{out}");
    assert_eq!(s.restarts("bm-webserver"), 1, "{out}");
}

#[test]
fn apt_honours_a_policy_rc_d_that_forbids_service_actions() {
    let s = Server::plain();
    s.root.ok("printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d");
    let out = s.when(&format!("apt-get install -y {}", four()));
    assert!(shim::events(s.root.path()).is_empty(), "a service was touched: {:?}", shim::events(s.root.path()));
    for service in ["bm-core", "bm-webserver"] {
        assert!(out.contains(&format!("bm-plugin-reload: {service}: the local policy (policy-rc.d) refused to stop it: a restart is due")), "{out}");
    }
}
