//! The reload policy, one table of cases run through both of its entry points:
//!
//! * the package's scripts: the Debian postinst `triggered` (through invoke-rc.d, so policy-rc.d
//!   counts) and the RPM `%transfiletriggerin` (systemctl), exactly as bmpack generates them from
//!   `debian/`, `rpm/` and `maintscripts/`, in dash and busybox sh;
//! * `bmpack deploy` (BlueMind before 4.2), which runs the same shell function, `--root` and
//!   `--service-tools` pointing at the same world.
//!
//! There is one implementation (`bm_settle_service` in maintscripts/bm-plugin-reload.sh); this
//! table holds both entry points to it, and says where deploy goes further (it has the previous
//! jars: a service that ran and is not on the new jars afterwards gets them back).
//!
//! The world is a throwaway root with fake `systemctl` and `invoke-rc.d`: each service's state is
//! a few files, each start is recorded with whether its OSGi cache was empty, and a started
//! service fills its cache again. The same cases under real systemd are in install_systemd.rs.

#[path = "server_support/mod.rs"]
mod server_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bmpack::samples::{SampleSpec, write_sample_bundles};
use bmpack_tests::tools::{project_root, require_tool};

const SERVICES: [&str; 2] = ["bm-core", "bm-webserver"];
const COMMON: &str = "net.bluemind.filehosting.nextcloud";
const NC12: &str = "net.bluemind.filehosting.nextcloud12";
const OLD_JAR: &str = "net.bluemind.filehosting.nextcloud-4.0.2.jar";
const NEW_JAR: &str = "net.bluemind.filehosting.nextcloud12-4.1.0.jar";
/// What is in each cache before: the bundles the service runs now.
const STALE: &str = "stale-bundles";

/// What deploy does beyond the package's scripts.
#[derive(Debug, Clone, Copy)]
enum Deploy {
    /// As the package's scripts; the new jars stay, exit 0.
    Keeps,
    /// A service that ran is not on the new jars: exit 8, the previous jars are put back, and the
    /// services that started on the new ones (or went down for them) are settled again.
    PutsBack {
        /// What the second settle says (`@` is the service), or that there was none.
        says_after: &'static str,
        starts: usize,
        running_after: bool,
    },
}

struct Case {
    name: &'static str,
    /// The state of both services (see `World::new`).
    setup: &'static [&'static str],
    /// The line each entry point prints for each service, after `<service>: ` (`@` is the service).
    says: &'static str,
    /// Whether the cache's old content is gone.
    cache_emptied: bool,
    /// Starts per service (each must be on an empty cache).
    starts: usize,
    running_after: bool,
    deploy: Deploy,
    /// Whether the case exists with the RPM scripts (no policy-rc.d there).
    rpm: bool,
}

const RESTARTED: &str = "cache /var/lib/@ emptied, service restarted";
const NOTHING_STARTED_ON_NEW: &str = "no service had started on the new jars";

const CASES: &[Case] = &[
    Case {
        name: "running: restarted once on an emptied cache",
        setup: &["running"],
        says: RESTARTED,
        cache_emptied: true,
        starts: 1,
        running_after: true,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "stopped: cache emptied, left stopped",
        setup: &[],
        says: "not running, cache /var/lib/@ emptied, left stopped",
        cache_emptied: true,
        starts: 0,
        running_after: false,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "/etc/bm/<service>.disabled: left alone",
        setup: &["running", "etc-bm-disabled"],
        says: "disabled by /etc/bm/@.disabled, left alone",
        cache_emptied: false,
        starts: 0,
        running_after: true,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "`systemctl disable`d but running: restarted",
        setup: &["running", "unit-disabled"],
        says: RESTARTED,
        cache_emptied: true,
        starts: 1,
        running_after: true,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "no running init system: cache emptied, a restart is due",
        setup: &["running", "no-init"],
        says: "cache /var/lib/@ emptied; no running init system, so a restart is due: run 'systemctl restart @' \
            once the system is up",
        cache_emptied: true,
        starts: 0,
        running_after: true,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "refused by policy-rc.d: left running, cache kept",
        setup: &["running", "policy-refuses"],
        says: "the local policy (policy-rc.d) refused to restart it, so it still runs the old bundles: when \
            allowed, run 'systemctl stop @', empty /var/lib/@, then 'systemctl start @'",
        cache_emptied: false,
        starts: 0,
        running_after: true,
        deploy: Deploy::PutsBack { says_after: NOTHING_STARTED_ON_NEW, starts: 0, running_after: true },
        rpm: false,
    },
    Case {
        name: "fails to start: said truthfully",
        setup: &["running", "fail-start"],
        says: "cache /var/lib/@ emptied, but it failed to start again: see 'systemctl status @' and 'journalctl -u @'",
        cache_emptied: true,
        starts: 0,
        running_after: false,
        deploy: Deploy::PutsBack {
            says_after: "@: a restart during this transaction had left it down, and it could not be started again: \
                see 'systemctl status @'",
            starts: 0,
            running_after: false,
        },
        rpm: true,
    },
    Case {
        name: "fails to start on the new bundles only",
        setup: &["running", "fail-start-once"],
        says: "cache /var/lib/@ emptied, but it failed to start again: see 'systemctl status @' and 'journalctl -u @'",
        cache_emptied: true,
        starts: 0,
        running_after: false,
        deploy: Deploy::PutsBack {
            says_after: "@: a restart during this transaction had left it down; cache /var/lib/@ emptied, service \
                started again",
            starts: 1,
            running_after: true,
        },
        rpm: true,
    },
    Case {
        name: "cannot be stopped: still runs the old bundles, cache kept",
        setup: &["running", "fail-stop"],
        says: "could not be restarted and still runs the old bundles: see 'systemctl status @' and 'journalctl -u @'",
        cache_emptied: false,
        starts: 0,
        running_after: true,
        deploy: Deploy::PutsBack { says_after: NOTHING_STARTED_ON_NEW, starts: 0, running_after: true },
        rpm: true,
    },
    Case {
        name: "masked while it runs: left running, cache kept",
        setup: &["running", "masked"],
        says: "masked while it runs, so it could not be started again: left running on the old bundles; a restart \
            is due: run 'systemctl unmask @' then 'systemctl restart @'",
        cache_emptied: false,
        starts: 0,
        running_after: true,
        deploy: Deploy::PutsBack { says_after: NOTHING_STARTED_ON_NEW, starts: 0, running_after: true },
        rpm: true,
    },
    Case {
        name: "absent: cache emptied",
        setup: &["absent"],
        says: "no such service here, cache /var/lib/@ emptied",
        cache_emptied: true,
        starts: 0,
        running_after: false,
        deploy: Deploy::Keeps,
        rpm: true,
    },
    Case {
        name: "left down by systemd's start limit: started again",
        setup: &["start-limit-hit"],
        says: "a restart during this transaction had left it down; cache /var/lib/@ emptied, service started again",
        cache_emptied: true,
        starts: 1,
        running_after: true,
        deploy: Deploy::Keeps,
        rpm: true,
    },
];

/// `systemctl` as the shell functions and deploy call it, answering from `$FAKE_STATE`.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >>"$FAKE_STATE/calls"
S=$FAKE_STATE
[ "$1" = --quiet ] && shift
verb=$1
shift
case $verb in
    show)
        svc=${4%.service}
        case $2 in
            LoadState)
                if [ -e "$S/$svc.absent" ]; then echo not-found
                elif [ -e "$S/$svc.masked" ]; then echo masked
                else echo loaded; fi ;;
            Result) if [ -e "$S/$svc.start-limit-hit" ]; then echo start-limit-hit; else echo success; fi ;;
            NeedDaemonReload) echo no ;;
            *) echo ;;
        esac ;;
    is-active) [ -e "$S/${1%.service}.running" ] ;;
    is-enabled)
        if [ -e "$S/${1%.service}.unit-disabled" ]; then echo disabled; exit 1; fi
        echo enabled ;;
    reset-failed) rm -f "$S/${1%.service}.start-limit-hit" ;;
    daemon-reload) ;;
    stop | start | restart)
        svc=${1%.service}
        [ ! -e "$S/$svc.absent" ] || { echo "Unit $1 not found." >&2; exit 5; }
        [ ! -e "$S/$svc.masked" ] || { echo "Unit $1 is masked." >&2; exit 1; }
        if [ "$verb" != start ]; then
            [ ! -e "$S/$svc.fail-stop" ] || { echo "Job for $1 canceled." >&2; exit 1; }
            rm -f "$S/$svc.running"
        fi
        [ "$verb" != stop ] || exit 0
        [ ! -e "$S/$svc.fail-start" ] || { echo "Job for $1 failed." >&2; exit 1; }
        if [ -e "$S/$svc.fail-start-once" ]; then
            rm -f "$S/$svc.fail-start-once"
            echo "Job for $1 failed." >&2
            exit 1
        fi
        cache=$FAKE_ROOT/var/lib/$svc
        if [ -n "$(ls -A "$cache" 2>/dev/null)" ]; then state=stale; else state=empty; fi
        echo "$svc started on an $state cache" >>"$S/starts"
        mkdir -p "$cache" && : >"$cache/loaded"
        : >"$S/$svc.running" ;;
    *) echo "fake systemctl: $verb not expected" >&2; exit 1 ;;
esac
"#;

/// `invoke-rc.d --disclose-deny SERVICE ACTION`: policy-rc.d's answer, then systemctl.
const FAKE_INVOKE_RC_D: &str = r#"#!/bin/sh
echo "invoke-rc.d $*" >>"$FAKE_STATE/calls"
[ "$1" = --disclose-deny ] && shift
if [ -e "$FAKE_STATE/policy-refuses" ]; then
    echo "invoke-rc.d: policy-rc.d denied execution of $2." >&2
    exit 101
fi
exec systemctl "$2" "$1.service"
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// invoke-rc.d among the tools: the Debian postinst, deploy through invoke-rc.d.
    Debian,
    /// systemctl only: the RPM file trigger, deploy through systemctl.
    Rpm,
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new(case: &Case, flavour: Flavour) -> World {
        let dir = tempfile::tempdir().unwrap();
        let world = World { dir };
        let root = world.root();
        std::fs::create_dir_all(world.tools()).unwrap();
        std::fs::create_dir_all(world.state()).unwrap();
        tool(&world.tools().join("systemctl"), FAKE_SYSTEMCTL);
        if flavour == Flavour::Debian {
            tool(&world.tools().join("invoke-rc.d"), FAKE_INVOKE_RC_D);
        }
        for ext in ["usr/share/bm-core/extensions", "usr/share/bm-webserver/extensions"] {
            std::fs::create_dir_all(root.join(ext)).unwrap();
        }
        std::fs::write(root.join("usr/share/bm-core/extensions").join(OLD_JAR), b"old common jar").unwrap();
        if !case.setup.contains(&"no-init") {
            std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        }
        for service in SERVICES {
            std::fs::create_dir_all(root.join("var/lib").join(service)).unwrap();
            std::fs::write(root.join("var/lib").join(service).join(STALE), b"").unwrap();
            for flag in case.setup {
                match *flag {
                    "no-init" => {}
                    "policy-refuses" => std::fs::write(world.state().join("policy-refuses"), b"").unwrap(),
                    "etc-bm-disabled" => {
                        std::fs::create_dir_all(root.join("etc/bm")).unwrap();
                        std::fs::write(root.join(format!("etc/bm/{service}.disabled")), b"").unwrap();
                    }
                    flag => std::fs::write(world.state().join(format!("{service}.{flag}")), b"").unwrap(),
                }
            }
        }
        world
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn tools(&self) -> PathBuf {
        self.dir.path().join("tools")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("FAKE_STATE", self.state())
            .env("FAKE_ROOT", self.root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn starts(&self, service: &str) -> Vec<String> {
        let all = std::fs::read_to_string(self.state().join("starts")).unwrap_or_default();
        all.lines().filter(|l| l.starts_with(&format!("{service} "))).map(str::to_string).collect()
    }

    fn running(&self, service: &str) -> bool {
        self.state().join(format!("{service}.running")).exists()
    }

    fn cache_emptied(&self, service: &str) -> bool {
        !self.root().join("var/lib").join(service).join(STALE).exists()
    }

    fn has_jar(&self, name: &str) -> bool {
        self.root().join("usr/share/bm-core/extensions").join(name).exists()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.state().join("calls")).unwrap_or_default()
    }
}

fn tool(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The package's script for this flavour as bmpack generates it, and the arguments dpkg or rpm
/// give it: the Debian postinst `triggered` with both folders, the RPM file trigger of each
/// folder. The one line added sets the root of the world (`bm_use_root`), after the functions.
fn package_scripts(flavour: Flavour, root: &Path) -> Vec<(String, Vec<String>)> {
    let project = project_root();
    let catalog = bmpack::catalog::Catalog::load(&project).unwrap();
    let set = bmpack::scripts::load(&project, &"bm-plugin-reload".parse().unwrap(), &catalog.targets).unwrap();
    let functions = std::fs::read_to_string(bmpack::scripts::functions_path(&project, "bm-plugin-reload")).unwrap();
    let last_line = functions.trim_end().lines().last().unwrap().to_string();
    let functions_end = functions.trim_end().lines().rev().nth(1).unwrap().to_string() + "\n" + &last_line + "\n";
    let with_root = |script: &str| {
        let at = script.find(&functions_end).expect("the shared functions are in the script") + functions_end.len();
        format!("{}bm_use_root '{}'\n{}", &script[..at], root.display(), &script[at..])
    };
    let folders: Vec<String> = catalog.targets.values().map(|t| t.extensions.to_string()).collect();
    match flavour {
        Flavour::Debian => {
            let postinst = set.scripts.deb.scripts[&bmpack::model::DebScript::Postinst].as_str();
            vec![(with_root(postinst), vec!["triggered".into(), folders.join(" ")])]
        }
        Flavour::Rpm => {
            set.scripts.rpm.trans_file_trigger_in.iter().map(|t| (with_root(&t.script), Vec::new())).collect()
        }
    }
}

fn says(template: &str, service: &str) -> String {
    template.replace('@', service)
}

/// Every start recorded in the world was on an emptied cache.
fn assert_fresh_starts(world: &World, what: &str) {
    for service in SERVICES {
        for start in world.starts(service) {
            assert!(start.ends_with("on an empty cache"), "{what}: {start}\ncalls:\n{}", world.calls());
        }
    }
}

fn flavours(case: &Case) -> Vec<Flavour> {
    if case.rpm { vec![Flavour::Debian, Flavour::Rpm] } else { vec![Flavour::Debian] }
}

#[test]
fn the_package_scripts_follow_the_table() {
    require_tool("dash", "dash");
    require_tool("busybox", "busybox-static");
    for case in CASES {
        for flavour in flavours(case) {
            for shell in [&["dash"][..], &["busybox", "sh"][..]] {
                let world = World::new(case, flavour);
                let what = format!("{} ({flavour:?}, {shell:?})", case.name);
                let mut out = String::new();
                for (n, (script, args)) in package_scripts(flavour, &world.root()).into_iter().enumerate() {
                    let file = world.dir.path().join(format!("script-{n}"));
                    std::fs::write(&file, script).unwrap();
                    let path = format!("{}:{}", world.tools().display(), std::env::var("PATH").unwrap_or_default());
                    let run =
                        world.command(shell[0]).args(&shell[1..]).arg(&file).args(&args).env("PATH", path).output();
                    let run = run.unwrap();
                    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
                    assert!(
                        run.status.success(),
                        "{what}: the package script failed ({})\n{stdout}{}",
                        run.status,
                        String::from_utf8_lossy(&run.stderr)
                    );
                    out += &stdout;
                }
                for service in SERVICES {
                    let line = format!("bm-plugin-reload: {service}: {}", says(case.says, service));
                    assert_eq!(out.lines().filter(|l| *l == line).count(), 1, "{what}: expected once: {line}\n{out}");
                    assert_eq!(world.starts(service).len(), case.starts, "{what}: starts of {service}\n{out}");
                    assert_eq!(world.running(service), case.running_after, "{what}: {service} running?\n{out}");
                    assert_eq!(world.cache_emptied(service), case.cache_emptied, "{what}: {service} cache\n{out}");
                }
                assert_fresh_starts(&world, &what);
            }
        }
    }
}

/// Sample jars of the Nextcloud plug-ins (bm-core and bm-webserver bundles).
fn bundles(dir: &Path) -> PathBuf {
    let out = dir.join("bundles");
    let names = [COMMON, "net.bluemind.ui.adminconsole.nextcloud.settings", NC12];
    let mut spec = SampleSpec::new(names, "4.1.0");
    spec.jar_bytes = 16 << 10;
    write_sample_bundles(&out, &spec).unwrap();
    out
}

/// `bmpack deploy` of the Nextcloud 25 jars in `source` into `world`, its services driven by the
/// world's tools.
fn deploy(world: &World, source: &Path) -> std::process::Output {
    world
        .command(server_support::bmpack_binary())
        .args(["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"])
        .arg("--root")
        .arg(world.root())
        .arg("--service-tools")
        .arg(world.tools())
        .output()
        .unwrap()
}

#[test]
fn deploy_follows_the_table() {
    let scratch = tempfile::tempdir().unwrap();
    let source = bundles(scratch.path());
    for case in CASES {
        for flavour in flavours(case) {
            let world = World::new(case, flavour);
            let what = format!("{} (deploy, {flavour:?})", case.name);
            let run = deploy(&world, &source);
            let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
            let all = format!("{stdout}{stderr}calls:\n{}", world.calls());
            for service in SERVICES {
                let line = format!("{service}: {}", says(case.says, service));
                assert_eq!(stdout.lines().filter(|l| *l == line).count(), 1, "{what}: expected once: {line}\n{all}");
                assert_eq!(world.cache_emptied(service), case.cache_emptied, "{what}: {service} cache\n{all}");
            }
            match case.deploy {
                Deploy::Keeps => {
                    assert_eq!(run.status.code(), Some(0), "{what}\n{all}");
                    assert!(world.has_jar(NEW_JAR) && !world.has_jar(OLD_JAR), "{what}: new jars in place\n{all}");
                    for service in SERVICES {
                        assert_eq!(world.starts(service).len(), case.starts, "{what}: starts of {service}\n{all}");
                        assert_eq!(world.running(service), case.running_after, "{what}: {service} running?\n{all}");
                    }
                }
                Deploy::PutsBack { says_after, starts, running_after } => {
                    assert_eq!(run.status.code(), Some(8), "{what}\n{all}");
                    assert!(world.has_jar(OLD_JAR) && !world.has_jar(NEW_JAR), "{what}: previous jars back\n{all}");
                    assert!(stderr.contains("the previous jars were put back"), "{what}\n{all}");
                    for service in SERVICES {
                        let after = format!("with the previous jars: {}", says(says_after, "bm-core"));
                        assert!(stderr.contains(&after), "{what}: expected {after}\n{all}");
                        if says_after != NOTHING_STARTED_ON_NEW {
                            assert!(stderr.contains(&says(says_after, service)), "{what}: {service}\n{all}");
                        }
                        assert_eq!(world.starts(service).len(), starts, "{what}: starts of {service}\n{all}");
                        assert_eq!(world.running(service), running_after, "{what}: {service} running?\n{all}");
                    }
                }
            }
            let helper_used = world.calls().contains("invoke-rc.d ");
            let restart_tried = world.calls().lines().any(|c| c.contains(" stop ") || c.contains("restart"));
            if restart_tried {
                assert_eq!(
                    helper_used,
                    flavour == Flavour::Debian,
                    "{what}: invoke-rc.d only where there is one\n{all}"
                );
            }
            assert_fresh_starts(&world, &what);
        }
    }
}

/// `--service-tools` without a systemctl is refused before anything changes: the host's own
/// systemctl must never stand in for another system's.
#[test]
fn deploy_refuses_service_tools_without_systemctl() {
    let case = &CASES[0];
    let world = World::new(case, Flavour::Rpm);
    std::fs::remove_file(world.tools().join("systemctl")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let source = bundles(scratch.path());
    let run = deploy(&world, &source);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--service-tools") && stderr.contains("no systemctl there"), "{stderr}");
    assert!(world.has_jar(OLD_JAR) && !world.has_jar(NEW_JAR), "nothing deployed: {stderr}");
    assert!(!world.cache_emptied("bm-core"), "{stderr}");
}
