//! What the administrator of a BlueMind server sees when installing, upgrading, switching and
//! removing our plug-ins, under real systemd as PID 1 (tests/harness/booted.rs), against
//! stand-ins that behave like BlueMind's own packages in three generations
//! (tests/harness/bluemind.rs), with the package managers of Debian 11, 12 and 13: apt and dpkg,
//! and rpm and dnf (rpm 4.16, 4.18, 4.20).
//!
//! Each scenario runs in a freshly booted system. Starts are counted from the stand-in daemons'
//! own records and cross-checked with systemd's journal; "the new bundles are loaded" means the
//! service's last start found its cache empty and loaded the jars now in its extensions folder.
//! Each test runs the whole matrix of one package manager on one release and reports every
//! failing scenario, with the time each took.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use bmpack_tests::bluemind::{self, FILEHOSTING, Generation, SERVICES};
use bmpack_tests::booted::Release;
use bmpack_tests::fixtures::{NEW, OLD};
use bmpack_tests::server::{Family, Server};

/// How a scenario drives the package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Apt,
    Dpkg,
    Dnf,
    Rpm,
}

impl Tool {
    fn family(self) -> Family {
        match self {
            Tool::Apt | Tool::Dpkg => Family::Deb,
            Tool::Dnf | Tool::Rpm => Family::Rpm,
        }
    }
}

/// The plug-ins of a server of `generation`: StarLeaf only where BlueMind supports it.
fn plugins(generation: Generation) -> Vec<&'static str> {
    let mut p = vec!["bm-nextcloud-common", "bm-nextcloud12"];
    if generation.has_starleaf() {
        p.extend(["bm-plugin-core-videoconferencing-starleaf", "bm-plugin-admin-console-videoconferencing-starleaf"]);
    }
    p
}

struct Case<'a> {
    s: &'a Server,
    tool: Tool,
}

impl Case<'_> {
    fn generation(&self) -> Generation {
        self.s.generation
    }

    fn all(&self) -> String {
        plugins(self.generation()).join(" ")
    }

    fn at(&self, version: &str) -> String {
        let names = plugins(self.generation());
        match self.tool.family() {
            Family::Deb => names.iter().map(|p| format!("{p}={version}-1")).collect::<Vec<_>>().join(" "),
            Family::Rpm => names.iter().map(|p| format!("{p}-{version}")).collect::<Vec<_>>().join(" "),
        }
    }

    /// The package files of `names` at `version` (bm-plugin-reload at its own), for dpkg and rpm.
    fn files(&self, names: &str, version: &str) -> String {
        names
            .split_whitespace()
            .map(|n| {
                let v = if n == "bm-plugin-reload" { "*" } else { version };
                match self.tool.family() {
                    Family::Deb => format!("/srv/repo/{n}_{v}-1_all.deb"),
                    Family::Rpm => format!("/srv/rpms/{n}-{v}-1.noarch.rpm"),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The command that installs `names` (at the newest release unless `version` says).
    fn install(&self, names: &str, version: Option<&str>) -> String {
        let version = version.unwrap_or(NEW);
        match self.tool {
            Tool::Apt => {
                let pinned: Vec<String> = names.split_whitespace().map(|n| format!("{n}={version}-1")).collect();
                format!("apt-get install -y {}", pinned.join(" "))
            }
            Tool::Dpkg => format!("dpkg -i {}", self.files(&format!("bm-plugin-reload {names}"), version)),
            Tool::Dnf => {
                let pinned: Vec<String> = names.split_whitespace().map(|n| format!("{n}-{version}")).collect();
                Server::dnf(&format!("install {}", pinned.join(" ")))
            }
            Tool::Rpm => {
                let reload = if self.s.installed("bm-plugin-reload") {
                    String::new()
                } else {
                    self.files("bm-plugin-reload", "")
                };
                format!("rpm -i {reload} {}", self.files(names, version))
            }
        }
    }

    fn remove(&self, names: &str) -> String {
        match self.tool {
            Tool::Apt => format!("apt-get remove -y {names}"),
            Tool::Dpkg => format!("dpkg -r {names}"),
            Tool::Dnf => Server::dnf(&format!("remove {names}")),
            Tool::Rpm => format!("rpm -e {names}"),
        }
    }

    /// Checks that each service was started `n` times by the transaction (journal and the
    /// daemon's records agree), that a service started at all ended on the new bundles, and
    /// that the output says so.
    fn expect(&self, out: &str, core: usize, webserver: usize) {
        for (service, n) in [("bm-core", core), ("bm-webserver", webserver)] {
            self.expect_starts(out, service, n..=n);
            if n > 0 {
                let line = format!("bm-plugin-reload: {service}: ");
                assert!(out.contains(&line), "no line of ours about {service}:\n{out}");
            }
        }
    }

    fn expect_starts(&self, out: &str, service: &str, n: std::ops::RangeInclusive<usize>) {
        let starts = self.s.starts(service);
        assert!(
            n.contains(&starts.len()),
            "{service} started {} times, expected {n:?}: {starts:?}\noutput:\n{out}",
            starts.len()
        );
        assert_eq!(self.s.journal_starts(service), starts.len(), "journal and daemon disagree on {service}'s starts");
        if let Some(last) = starts.last() {
            // Started at least once after the change on an emptied cache, and runs the bundles
            // now installed.
            let jars = self.s.jars(service);
            assert!(
                starts.iter().any(|s| s.cache_was_empty && s.jars == jars),
                "{service} never started on an emptied cache with the new bundles: {starts:?}\noutput:\n{out}"
            );
            assert_eq!(last.jars, jars, "{service} does not run the bundles now installed");
            assert!(self.s.system.is_active(service), "{service} is not running:\n{out}");
        }
    }

    fn assert_nothing_of_ours_left(&self) {
        for service in SERVICES {
            assert!(self.s.jars(service).is_empty(), "{service}: jars left: {:?}", self.s.jars(service));
            let dropin = self.s.system.join(&format!("/usr/lib/systemd/system/{service}.service.d"));
            assert!(!dropin.exists(), "{} is left", dropin.display());
        }
        for p in plugins(self.generation()).iter().chain(&["bm-plugin-reload"]) {
            assert!(!self.s.installed(p), "{p} is still installed");
        }
        for left in ["/var/lib/bm-plugin-reload", "/etc/dpkg/dpkg.cfg.d/bm-plugin-reload", "/usr/lib/bm-plugin-reload"]
        {
            assert!(!self.s.system.join(left).exists(), "{left} is left");
        }
        if self.tool.family() == Family::Deb {
            let left = self.s.system.ok("ls /var/lib/dpkg/info | grep -e bm-plugin -e nextcloud || true");
            assert!(left.trim().is_empty(), "dpkg still has files of ours: {left}");
        }
    }
}

type Scenario = fn(&Case);

/// The scenarios, by name; which ones apply depends on the package manager.
fn scenarios(tool: Tool) -> Vec<(&'static str, Scenario)> {
    let mut all: Vec<(&'static str, Scenario)> = vec![
        ("install", |c| {
            let out = c.s.when(&c.install(&c.all(), None));
            c.expect(&out, 1, 1);
        }),
        ("upgrade", |c| {
            c.s.given(&c.install(&c.all(), Some(OLD)));
            let out = c.s.when(&match c.tool {
                Tool::Apt => "apt-get upgrade -y".to_string(),
                Tool::Dpkg => format!("dpkg -i {}", c.files(&c.all(), NEW)),
                Tool::Dnf => Server::dnf(&format!("upgrade {}", c.all())),
                Tool::Rpm => format!("rpm -U {}", c.files(&c.all(), NEW)),
            });
            c.expect(&out, 1, 1);
            assert!(c.s.jars("bm-core").iter().all(|j| j.contains(NEW)), "{:?}", c.s.jars("bm-core"));
        }),
        ("reinstall", |c| {
            c.s.given(&c.install(&c.all(), None));
            let out = c.s.when(&match c.tool {
                Tool::Apt => format!("apt-get install -y --reinstall {}", c.all()),
                Tool::Dpkg => format!("dpkg -i {}", c.files(&c.all(), NEW)),
                Tool::Dnf => Server::dnf(&format!("reinstall {}", c.all())),
                Tool::Rpm => format!("rpm -U --replacepkgs {}", c.files(&c.all(), NEW)),
            });
            c.expect(&out, 1, 1);
        }),
        ("downgrade", |c| {
            c.s.given(&c.install(&c.all(), None));
            let out = c.s.when(&match c.tool {
                Tool::Apt => format!("apt-get install -y --allow-downgrades {}", c.at(OLD)),
                Tool::Dpkg => format!("dpkg -i {}", c.files(&c.all(), OLD)),
                Tool::Dnf => Server::dnf(&format!("downgrade {}", c.at(OLD))),
                Tool::Rpm => format!("rpm -U --oldpackage {}", c.files(&c.all(), OLD)),
            });
            c.expect(&out, 1, 1);
            assert!(c.s.jars("bm-core").iter().all(|j| j.contains(OLD)), "{:?}", c.s.jars("bm-core"));
        }),
        ("remove everything", |c| {
            c.s.given(&c.install(&c.all(), None));
            let everything = format!("{} bm-plugin-reload", c.all());
            let out = c.s.when(&match c.tool {
                Tool::Apt => format!("apt-get purge -y {everything}"),
                Tool::Dpkg => format!("dpkg -P {everything}"),
                Tool::Dnf => Server::dnf(&format!("remove {everything}")),
                Tool::Rpm => format!("rpm -e {everything}"),
            });
            c.expect_starts(&out, "bm-core", 1..=1);
            // Debian, BlueMind 5: dpkg processes bm-webserver's trigger after our package is
            // gone, and bm-webserver restarts itself once more (on the cache of our restart).
            let webserver =
                if c.tool.family() == Family::Deb && c.generation().deb_webserver_restarts_itself() { 2 } else { 1 };
            c.expect_starts(&out, "bm-webserver", 1..=webserver);
            c.assert_nothing_of_ours_left();
        }),
        ("a stopped service", |c| {
            c.s.given("systemctl stop bm-core && chown 12:34 /var/lib/bm-core && chmod 0750 /var/lib/bm-core");
            let out = c.s.when(&c.install(&c.all(), None));
            c.expect(&out, 0, 1);
            assert!(!c.s.system.is_active("bm-core"), "bm-core was started");
            assert!(c.s.cache_is_empty("bm-core"), "bm-core's cache was not emptied");
            assert_eq!(
                c.s.system.ok("stat -c '%u:%g %a' /var/lib/bm-core").trim(),
                "12:34 750",
                "the cache lost its owner or mode"
            );
            assert!(
                out.contains("bm-plugin-reload: bm-core: not running, cache /var/lib/bm-core emptied, left stopped"),
                "{out}"
            );
        }),
        ("bm-core upgraded together", |c| {
            c.s.given(&c.install(&c.all(), Some(OLD)));
            let v = c.generation().versions()[1];
            let out = c.s.when(&match c.tool {
                Tool::Apt => format!(
                    "apt-get install -y --allow-change-held-packages bm-core={v}-1 bm-webserver={v}-1 {}",
                    c.at(NEW)
                ),
                Tool::Dpkg => format!(
                    "dpkg -i /srv/repo/bm-core_{v}-1_all.deb /srv/repo/bm-webserver_{v}-1_all.deb {}",
                    c.files(&c.all(), NEW)
                ),
                Tool::Dnf => Server::dnf(&format!("upgrade bm-core bm-webserver {}", c.all())),
                Tool::Rpm => format!(
                    "rpm -U /srv/rpms/bm-core-{v}-1.noarch.rpm /srv/rpms/bm-webserver-{v}-1.noarch.rpm {}",
                    c.files(&c.all(), NEW)
                ),
            });
            // BlueMind's own packages restart their service when upgraded; ours adds at most one.
            for service in SERVICES {
                c.expect_starts(&out, service, 1..=2);
            }
        }),
    ];
    if tool == Tool::Rpm || tool == Tool::Dpkg {
        return all;
    }
    all.extend::<Vec<(&'static str, Scenario)>>(vec![
        ("one plug-in alone, or refused outside its BlueMind versions", |c| {
            let name = "bm-plugin-core-videoconferencing-starleaf";
            if c.generation().has_starleaf() {
                let out = c.s.when(&c.install(name, None));
                c.expect(&out, 1, 0);
            } else {
                let out = c.s.system.fails(&c.install(name, None));
                assert!(out.contains("bm-core"), "the refusal does not name bm-core:\n{out}");
                assert!(!c.s.installed(name), "{name} was installed on BlueMind 5");
                c.expect(&out, 0, 0);
            }
        }),
        ("switch Nextcloud 11 to 12", |c| {
            c.s.given(&c.install("bm-nextcloud-common bm-nextcloud11", None));
            let out = c.s.when(&match c.tool {
                Tool::Dnf => Server::dnf("swap bm-nextcloud11 bm-nextcloud12"),
                _ => c.install("bm-nextcloud12", None),
            });
            c.expect(&out, 1, 0);
            assert!(c.s.installed("bm-nextcloud12") && !c.s.installed("bm-nextcloud11"));
            assert!(!c.s.jars("bm-core").iter().any(|j| j.contains("nextcloud11")), "{:?}", c.s.jars("bm-core"));
        }),
        ("remove two plug-ins", |c| {
            c.s.given(&c.install(&c.all(), None));
            let two = if c.generation().has_starleaf() {
                "bm-plugin-core-videoconferencing-starleaf bm-plugin-admin-console-videoconferencing-starleaf"
            } else {
                "bm-nextcloud12 bm-nextcloud-common"
            };
            let out = c.s.when(&c.remove(two));
            c.expect(&out, 1, 1);
        }),
        ("a service disabled in /etc/bm", |c| {
            c.s.given("mkdir -p /etc/bm && touch /etc/bm/bm-core.disabled");
            let out = c.s.when(&c.install(&c.all(), None));
            c.expect(&out, 0, 1);
            assert!(c.s.system.is_active("bm-core"), "bm-core was stopped");
            assert!(
                out.contains("bm-plugin-reload: bm-core: disabled by /etc/bm/bm-core.disabled, left alone"),
                "{out}"
            );
        }),
        ("a unit disabled while it runs", |c| {
            c.s.given("systemctl disable bm-core.service");
            let out = c.s.when(&c.install(&c.all(), None));
            c.expect(&out, 1, 1);
        }),
        ("a unit masked while it runs", |c| {
            c.s.given("systemctl mask bm-core.service");
            let out = c.s.when(&c.install(&c.all(), None));
            c.expect(&out, 0, 1);
            assert!(c.s.system.is_active("bm-core"), "the masked bm-core was stopped:\n{out}");
            assert!(
                out.contains("bm-plugin-reload: bm-core: masked while it runs")
                    && out.contains("systemctl unmask bm-core"),
                "{out}"
            );
        }),
        ("a start that fails", |c| {
            bluemind::make_starts_fail(&c.s.system, "bm-core");
            let out = c.s.when(&c.install(&c.all(), None));
            assert!(out.contains("systemctl status bm-core") && out.contains("journalctl -u bm-core"), "{out}");
            assert!(c.s.starts("bm-core").iter().all(|s| s.failed && s.cache_was_empty), "{:?}", c.s.starts("bm-core"));
            for p in plugins(c.generation()).iter().chain(&["bm-plugin-reload"]) {
                assert!(c.s.installed(p), "{p} is not installed:\n{out}");
            }
            if c.tool == Tool::Apt {
                c.s.system.ok("dpkg --audit");
            }
        }),
        ("replacement mode", |c| {
            c.s.given(&match c.tool {
                Tool::Dnf => Server::dnf(&format!("install {FILEHOSTING}")),
                _ => format!("apt-get install -y {FILEHOSTING}"),
            });
            let out = c.s.when(&match c.tool {
                Tool::Dnf => Server::dnf("install --allowerasing bm-nextcloud-replaces-filehosting bm-nextcloud12"),
                _ => "apt-get install -y bm-nextcloud-replaces-filehosting bm-nextcloud12".to_string(),
            });
            c.expect(&out, 1, 1);
            assert!(!c.s.installed(FILEHOSTING), "the built-in store is still installed");
            assert!(!c.s.jars("bm-core").iter().any(|j| j.contains("filesystem")), "{:?}", c.s.jars("bm-core"));
        }),
        ("two transactions within 30 s", |c| {
            let out = c.s.when(&c.install("bm-nextcloud-common bm-nextcloud11", None));
            let out2 = c.s.when(&match c.tool {
                Tool::Dnf => Server::dnf("swap bm-nextcloud11 bm-nextcloud12"),
                _ => c.install("bm-nextcloud12", None),
            });
            let out = format!("{out}{out2}");
            c.expect_starts(&out, "bm-core", 2..=2);
            assert_ne!(c.s.system.unit_property("bm-core", "Result"), "start-limit-hit", "{out}");
        }),
    ]);
    if tool == Tool::Apt {
        all.push(("a refusal by policy-rc.d", |c| {
            c.s.given("printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d");
            let out = c.s.when(&c.install(&c.all(), None));
            // BlueMind 5's bm-webserver restarts itself with systemctl, which policy-rc.d does not govern.
            let own = c.generation().deb_webserver_restarts_itself();
            c.expect_starts(&out, "bm-core", 0..=0);
            c.expect_starts(&out, "bm-webserver", usize::from(own)..=usize::from(own));
            for service in SERVICES {
                assert!(c.s.system.is_active(service), "{service} was stopped");
                if !(own && service == "bm-webserver") {
                    assert!(
                        out.contains(&format!("bm-plugin-reload: {service}: the local policy (policy-rc.d) refused")),
                        "{out}"
                    );
                }
            }
        }));
    }
    all
}

/// Without an init system (an image build, a container): the caches are emptied and the output
/// says a restart is due.
fn without_init_system(c: &Case) {
    let out = c.s.system.sh(&c.install(&c.all(), None));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if c.tool == Tool::Apt && c.generation().deb_webserver_restarts_itself() {
        // BlueMind 5's bm-webserver postinst ends with `[ -d /run/systemd/system ] && …; exit $?`:
        // without systemd it fails, and apt with it. Ours are installed all the same.
        assert!(text.contains("bm-webserver"), "{text}");
    } else {
        assert!(out.status.success(), "{text}");
    }
    for p in plugins(c.generation()).iter().chain(&["bm-plugin-reload"]) {
        assert!(c.s.installed(p), "{p} is not installed:\n{text}");
    }
    for service in SERVICES {
        assert!(c.s.starts(service).is_empty(), "{service} was started");
        assert!(c.s.cache_is_empty(service), "{service}'s cache was not emptied");
        let line = format!(
            "bm-plugin-reload: {service}: cache /var/lib/{service} emptied; no running init system, so a restart is due"
        );
        assert!(text.contains(&line), "{text}");
    }
}

fn server(tool: Tool, release: Release, generation: Generation, boot: bool) -> Server {
    match tool.family() {
        Family::Deb => Server::debian_with(release, generation, boot),
        Family::Rpm => Server::rpm_with(release, generation, boot),
    }
}

/// Runs every scenario of `tool` on `release` for each generation; fails with the list of the
/// scenarios that failed.
fn matrix(tool: Tool, release: Release) {
    let mut failures = Vec::new();
    let started = Instant::now();
    for generation in Generation::ALL {
        let mut cases: Vec<(&'static str, Scenario, bool)> =
            scenarios(tool).into_iter().map(|(n, f)| (n, f, true)).collect();
        if tool != Tool::Dpkg {
            cases.push(("no init system", without_init_system, false));
        }
        for (name, scenario, boot) in cases {
            let t = Instant::now();
            let mut measured = String::new();
            let result = catch_unwind(AssertUnwindSafe(|| {
                let s = server(tool, release, generation, boot);
                scenario(&Case { s: &s, tool });
                measured = SERVICES.map(|service| format!("{service} {}", s.starts(service).len())).join(", ");
            }));
            let verdict = if result.is_ok() { "ok" } else { "FAILED" };
            eprintln!(
                "{tool:?} {release:?} {generation:?} {name}: {verdict} in {:.1} s ({measured})",
                t.elapsed().as_secs_f64()
            );
            if let Err(e) = result {
                let msg =
                    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
                failures.push(format!("{generation:?} / {name}: {}", msg.unwrap_or_default()));
            }
        }
    }
    eprintln!("{tool:?} on {release:?}: {:.0} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} scenario(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn apt_on_debian_11() {
    matrix(Tool::Apt, Release::Bullseye);
}

#[test]
fn apt_on_debian_12() {
    matrix(Tool::Apt, Release::Bookworm);
}

#[test]
fn apt_on_debian_13() {
    matrix(Tool::Apt, Release::Trixie);
}

#[test]
fn dpkg_alone_on_debian_12() {
    matrix(Tool::Dpkg, Release::Bookworm);
}

#[test]
fn dnf_with_rpm_4_16() {
    matrix(Tool::Dnf, Release::Bullseye);
}

#[test]
fn dnf_with_rpm_4_18() {
    matrix(Tool::Dnf, Release::Bookworm);
}

#[test]
fn dnf_with_rpm_4_20() {
    matrix(Tool::Dnf, Release::Trixie);
}

#[test]
fn rpm_4_16() {
    matrix(Tool::Rpm, Release::Bullseye);
}

#[test]
fn rpm_4_18() {
    matrix(Tool::Rpm, Release::Bookworm);
}

#[test]
fn rpm_4_20() {
    matrix(Tool::Rpm, Release::Trixie);
}
