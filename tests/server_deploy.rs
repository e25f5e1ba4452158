//! `bmpack deploy` / `undeploy` (BlueMind before 4.2) in a throwaway root, with a `systemctl` shim
//! that logs every call and answers from a state folder. The reload policy itself, case by case
//! and against the package's scripts, is in reload_policy.rs.

#[path = "server_support/mod.rs"]
mod server_support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bmpack::samples::{SampleSpec, write_sample_bundles};
use bmpack_tests::tools::closed_pipe;
use server_support::{Run, bmpack_binary};

const COMMON: &str = "net.bluemind.filehosting.nextcloud";
const SETTINGS: &str = "net.bluemind.ui.adminconsole.nextcloud.settings";
const NC11: &str = "net.bluemind.filehosting.nextcloud11";
const NC12: &str = "net.bluemind.filehosting.nextcloud12";
const STARLEAF_CORE: &str = "net.bluemind.videoconferencing.starleaf";
const STARLEAF_ADMIN: &str = "net.bluemind.ui.adminconsole.videoconferencing.starleaf";
const CORE_EXT: &str = "usr/share/bm-core/extensions";
const WEB_EXT: &str = "usr/share/bm-webserver/extensions";
/// What the shim records when each running service is reloaded once, bm-core first (by the
/// packages' shell function, without their drop-in: stop, cache emptied, start).
const RELOADED_ONCE: [&str; 4] = [
    "systemctl stop bm-core.service",
    "systemctl start bm-core.service",
    "systemctl stop bm-webserver.service",
    "systemctl start bm-webserver.service",
];
/// A jar of BlueMind itself: never touched.
const FOREIGN: &str = "net.bluemind.core.rest-4.1.51.jar";

struct Machine {
    dir: tempfile::TempDir,
    shims: PathBuf,
    state: PathBuf,
    log: PathBuf,
}

impl Machine {
    /// A BlueMind 4.1 root: both services running, an older common jar deployed by hand, caches full.
    fn new(systemd: bool) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for sub in [CORE_EXT, WEB_EXT, "var/lib/bm-core/org.eclipse.osgi", "var/lib/bm-webserver/cache"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join(CORE_EXT).join(FOREIGN), b"BlueMind's own jar").unwrap();
        std::fs::write(root.join(CORE_EXT).join(format!("{COMMON}-4.0.2.jar")), b"old common jar").unwrap();
        std::fs::write(root.join("var/lib/bm-core/org.eclipse.osgi/bundles.dat"), b"cache").unwrap();
        std::fs::write(root.join("var/lib/bm-webserver/cache/x"), b"cache").unwrap();
        if systemd {
            std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        }
        let shims = dir.path().join("shims");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&shims).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        let log = dir.path().join("service-calls.log");
        std::fs::write(&log, "").unwrap();
        write_shim(
            &shims.join("systemctl"),
            r#"echo "systemctl $*" >> "$SHIM_LOG"
[ "$1" = --quiet ] && shift
verb=$1
shift
case "$verb" in
  is-active) [ -e "$SHIM_STATE/${1%.service}.running" ] ;;
  show) case "$2" in LoadState) echo loaded ;; NeedDaemonReload) echo no ;; *) echo ;; esac ;;
  stop) [ ! -e "$SHIM_STATE/${1%.service}.fail-stop" ] || { echo "Job for $1 canceled." >&2; exit 1; }
        rm -f "$SHIM_STATE/${1%.service}.running" ;;
  start) [ ! -e "$SHIM_STATE/${1%.service}.fail-start" ] || { echo "Job for $1 failed." >&2; exit 1; }
         touch "$SHIM_STATE/${1%.service}.running" ;;
  *) exit 0 ;;
esac"#,
        );
        for service in ["bm-core", "bm-webserver"] {
            std::fs::write(state.join(format!("{service}.running")), "").unwrap();
        }
        Machine { dir, shims, state, log }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn set(&self, flag: &str) {
        std::fs::write(self.state.join(flag), "").unwrap();
    }

    fn unset(&self, flag: &str) {
        std::fs::remove_file(self.state.join(flag)).unwrap();
    }

    fn bmpack(&self, args: &[&str]) -> Run {
        self.bmpack_printing_to(args, Stdio::piped())
    }

    fn bmpack_printing_to(&self, args: &[&str], stdout: Stdio) -> Run {
        let mut with_tools: Vec<&str> = args.to_vec();
        let shims = self.shims.to_string_lossy().into_owned();
        with_tools.extend(["--service-tools", &shims]);
        self.bmpack_raw(&with_tools, stdout, &[])
    }

    /// `bmpack ARGS --root ROOT` with the shims first on PATH (as if they were the host's
    /// `systemctl` and `service`) and `env`.
    fn bmpack_raw(&self, args: &[&str], stdout: Stdio, env: &[(&str, &Path)]) -> Run {
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        full.extend(["--root".into(), self.root().to_string_lossy().into_owned()]);
        let path = format!("{}:{}", self.shims.display(), std::env::var("PATH").unwrap_or_default());
        let output = Command::new(bmpack_binary())
            .args(&full)
            .env("PATH", path)
            .env("SHIM_LOG", &self.log)
            .env("SHIM_STATE", &self.state)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        Run {
            command: format!("bmpack {}", full.join(" ")),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Neither the root nor a service changed since `before` was taken (bmpack's own lock file,
    /// taken before the plan that led to the refusal, aside).
    fn assert_untouched_since(&self, before: &BTreeMap<String, String>, what: &str) {
        let mut now = snapshot(&self.root());
        now.retain(|path, _| !path.starts_with("var/lib/bmpack"));
        let mut before = before.clone();
        before.retain(|path, _| !path.starts_with("var/lib/bmpack"));
        assert_eq!(now, before, "{what} changed the root");
        assert!(self.actions().is_empty(), "{what} touched a service: {:?}", self.calls());
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap().lines().map(str::to_string).collect()
    }

    /// The calls that change something: stop, start, restart (not the queries, nor the reset of
    /// systemd's start counter before a restart).
    fn actions(&self) -> Vec<String> {
        let query = |c: &str| ["is-active", "systemctl show", "reset-failed"].iter().any(|q| c.contains(q));
        self.calls().into_iter().filter(|c| !query(c)).collect()
    }

    fn clear_calls(&self) {
        std::fs::write(&self.log, "").unwrap();
    }

    fn jars(&self, ext: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root().join(ext))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn is_empty(&self, rel: &str) -> bool {
        std::fs::read_dir(self.root().join(rel)).unwrap().next().is_none()
    }
}

fn write_shim(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Sample jars of every plug-in bundle at `version`, as a folder.
fn bundles(dir: &Path, version: &str, names: &[&str]) -> PathBuf {
    let out = dir.join(format!("bundles-{version}"));
    let mut spec = SampleSpec::new(names.iter().copied(), version);
    spec.jar_bytes = 64 << 10;
    write_sample_bundles(&out, &spec).unwrap();
    out
}

const ALL: &[&str] = &[COMMON, SETTINGS, NC11, NC12, STARLEAF_CORE, STARLEAF_ADMIN];

/// Every entry under `dir`: path → content (files), target (links), or a folder mark.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let what = if e.path_is_symlink() {
                format!("link -> {}", std::fs::read_link(e.path()).unwrap().display())
            } else if e.file_type().is_dir() {
                "dir".to_string()
            } else {
                format!("{} bytes {:x}", e.metadata().unwrap().len(), simple_hash(&std::fs::read(e.path()).unwrap()))
            };
            (rel, what)
        })
        .collect()
}

fn simple_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}

fn extensions_snapshot(m: &Machine) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    (snapshot(&m.root().join(CORE_EXT)), snapshot(&m.root().join(WEB_EXT)))
}

#[test]
fn deploy_places_the_chosen_jars_and_restarts_each_service_once() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        m.jars(CORE_EXT),
        vec![
            format!("{FOREIGN}"),
            format!("{COMMON}-4.1.0.jar"),
            format!("{NC12}-4.1.0.jar"),
            format!("{STARLEAF_CORE}-4.1.0.jar")
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
        "{}",
        run.all()
    );
    assert_eq!(
        m.jars(WEB_EXT),
        vec![format!("{SETTINGS}-4.1.0.jar"), format!("{STARLEAF_ADMIN}-4.1.0.jar")],
        "{}",
        run.all()
    );
    let placed = std::fs::read(m.root().join(CORE_EXT).join(format!("{NC12}-4.1.0.jar"))).unwrap();
    let original = std::fs::read(source.join(NC12).join(format!("{NC12}-4.1.0.jar"))).unwrap();
    assert!(placed == original, "the jar must be copied byte for byte");
    assert!(
        m.is_empty("var/lib/bm-core") && m.is_empty("var/lib/bm-webserver"),
        "caches must be emptied\n{}",
        run.all()
    );
    // Each running service reloaded once: stopped, cache emptied, started.
    assert_eq!(m.actions(), RELOADED_ONCE, "{}", run.all());
    // The older common jar is kept in a backup.
    let backups = m.root().join("var/backups/bmpack");
    let kept: Vec<_> = walkdir::WalkDir::new(&backups)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy() == format!("{COMMON}-4.0.2.jar"))
        .collect();
    assert_eq!(kept.len(), 1, "{}", run.all());
    assert!(!run.stdout.contains("bmpack-tmp"));
    // A later Nextcloud 11 deploy swaps the connector.
    m.clear_calls();
    let eleven = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "11.0.8"]);
    assert_eq!(eleven.code, 0, "{}", eleven.all());
    assert!(
        m.jars(CORE_EXT).contains(&format!("{NC11}-4.1.0.jar"))
            && !m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")),
        "{}",
        eleven.all()
    );
}

#[test]
fn dry_run_changes_nothing() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let before = snapshot(&m.root());
    let run =
        m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "12.0.13", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains(&format!("install {}", m.root().join(CORE_EXT).join(format!("{NC12}-4.1.0.jar")).display())),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains(&format!("remove  {}", m.root().join(CORE_EXT).join(format!("{COMMON}-4.0.2.jar")).display())),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("settle  bm-core as its packages do: if it runs, restarted once on an emptied cache"),
        "{}",
        run.all()
    );
    assert_eq!(snapshot(&m.root()), before, "--dry-run changed the root:\n{}", run.all());
    assert!(m.actions().is_empty(), "{:?}", m.calls());
}

#[test]
fn stopped_services_are_not_started() {
    let m = Machine::new(true);
    m.unset("bm-webserver.running");
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "30.0.1"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(m.actions(), ["systemctl stop bm-core.service", "systemctl start bm-core.service"], "{}", run.all());
    assert!(
        run.stdout.contains("bm-webserver: not running, cache /var/lib/bm-webserver emptied, left stopped"),
        "{}",
        run.all()
    );
    assert!(m.is_empty("var/lib/bm-webserver"), "the cache of a stopped service is emptied too");
}

/// Without a running systemd (a chroot, an image build) deploy does what the packages do there:
/// caches emptied, no service touched, a restart said to be due.
#[test]
fn without_systemd_no_service_is_touched_and_a_restart_is_due() {
    let m = Machine::new(false);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "30.0.1"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(m.actions().is_empty(), "{:?}", m.calls());
    assert!(
        run.stdout.contains("bm-core: cache /var/lib/bm-core emptied; no running init system, so a restart is due"),
        "{}",
        run.all()
    );
    assert!(m.is_empty("var/lib/bm-core") && m.is_empty("var/lib/bm-webserver"), "{}", run.all());
}

#[test]
fn a_failed_restart_puts_the_previous_jars_back() {
    let m = Machine::new(true);
    m.set("bm-webserver.fail-start");
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let before = extensions_snapshot(&m);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 8, "{}", run.all());
    assert!(run.stderr.contains("the previous jars were put back"), "{}", run.all());
    assert!(run.stderr.contains("Job for bm-webserver.service failed."), "systemctl's words are shown:\n{}", run.all());
    assert!(
        run.stdout.contains("bm-webserver: cache /var/lib/bm-webserver emptied, but it failed to start again"),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.contains(
            "with the previous jars: bm-core: cache /var/lib/bm-core emptied, service restarted; \
             bm-webserver: a restart during this transaction had left it down, and it could not be started again"
        ),
        "{}",
        run.all()
    );
    assert_eq!(extensions_snapshot(&m), before, "extensions folders must be as before:\n{}", run.all());
    // bm-core was reloaded on the new jars, so it is reloaded again on the old ones; bm-webserver,
    // down, is started again on them.
    assert_eq!(
        m.actions(),
        [
            "systemctl stop bm-core.service",
            "systemctl start bm-core.service",
            "systemctl stop bm-webserver.service",
            "systemctl start bm-webserver.service",
            "systemctl stop bm-core.service",
            "systemctl start bm-core.service",
            "systemctl start bm-webserver.service",
        ],
        "{}",
        run.all()
    );
}

#[test]
fn a_failed_copy_puts_the_previous_jars_back() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    // The temporary name of the last jar is taken by a folder: writing it fails after the
    // bm-core jars are already in place.
    let blocker = m.root().join(WEB_EXT).join(format!(".{STARLEAF_ADMIN}-4.1.0.jar.bmpack-tmp"));
    std::fs::create_dir_all(&blocker).unwrap();
    let before = extensions_snapshot(&m);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 8, "{}", run.all());
    assert!(run.stderr.contains("the previous jars were put back"), "{}", run.all());
    assert_eq!(extensions_snapshot(&m), before, "{}", run.all());
    assert!(m.actions().is_empty(), "no restart after a failed copy: {:?}", m.calls());
    assert!(!m.is_empty("var/lib/bm-core"), "caches are only emptied once the jars are in place");
}

#[test]
fn links_are_never_followed_out_of_the_extensions_folders() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let outside = m.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious.jar"), b"not ours").unwrap();
    // An old version that is a link to a file outside: the link goes, the file stays.
    std::os::unix::fs::symlink(outside.join("precious.jar"), m.root().join(CORE_EXT).join(format!("{NC12}-4.0.0.jar")))
        .unwrap();
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!m.jars(CORE_EXT).contains(&format!("{NC12}-4.0.0.jar")), "{}", run.all());
    assert_eq!(std::fs::read(outside.join("precious.jar")).unwrap(), b"not ours");

    // An extensions folder that is itself a link: refused, nothing written through it.
    let m2 = Machine::new(true);
    let web = m2.root().join(WEB_EXT);
    std::fs::remove_dir_all(&web).unwrap();
    std::os::unix::fs::symlink(&outside, &web).unwrap();
    let before = snapshot(&outside);
    let refused = m2.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("symbolic link") && refused.stderr.contains("does not follow links"),
        "{}",
        refused.all()
    );
    assert_eq!(snapshot(&outside), before);
    assert!(m2.jars(CORE_EXT).iter().all(|j| !j.contains("4.1.0")), "nothing deployed:\n{}", refused.all());
}

#[test]
fn a_second_deploy_is_refused_while_another_holds_the_lock() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let lock = m.root().join("var/lib/bmpack/deploy.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    // Another deploy holding the lock: `flock` keeps it until its standard input closes.
    let flock = server_support::require_program("flock", "apt-get install util-linux");
    let mut holder = Command::new(flock)
        .arg(&lock)
        .args(["-c", "echo held; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()), &mut first_line)
        .unwrap();
    assert_eq!(first_line.trim(), "held");
    let before = extensions_snapshot(&m);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    drop(holder.stdin.take());
    holder.wait().unwrap();
    assert_eq!(run.code, 9, "{}", run.all());
    assert!(run.stderr.contains("another bmpack deploy/undeploy is running"), "{}", run.all());
    assert_eq!(extensions_snapshot(&m), before);
    // Released: the next one runs.
    let again = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(again.code, 0, "{}", again.all());
}

#[test]
fn undeploy_takes_the_plugins_out_again() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let archive = m.dir.path().join("marketplace.zip");
    bmpack::samples::pack_zip(&source, &archive).unwrap();
    let run = m.bmpack(&["deploy", "--bundles", archive.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 0, "deploy from the marketplace archive:\n{}", run.all());
    std::fs::write(m.root().join("var/lib/bm-core/again"), b"cache").unwrap();
    m.clear_calls();
    let dry = m.bmpack(&["undeploy", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(m.jars(CORE_EXT).len() > 1, "dry run removed jars");
    let undo = m.bmpack(&["undeploy"]);
    assert_eq!(undo.code, 0, "{}", undo.all());
    assert_eq!(m.jars(CORE_EXT), vec![FOREIGN.to_string()], "only BlueMind's own jar stays:\n{}", undo.all());
    assert!(m.jars(WEB_EXT).is_empty(), "{}", undo.all());
    assert!(m.is_empty("var/lib/bm-core"), "{}", undo.all());
    assert_eq!(m.actions(), RELOADED_ONCE, "{}", undo.all());
    let nothing = m.bmpack(&["undeploy"]);
    assert_eq!(nothing.code, 0, "{}", nothing.all());
    assert!(nothing.stdout.contains("nothing to undeploy"), "{}", nothing.all());
}

#[test]
fn jars_are_checked_as_package_checks_them() {
    let m = Machine::new(true);
    let before = snapshot(&m.root());
    // The connector of another release than the common jar.
    let mixed = m.dir.path().join("mixed");
    write_sample_bundles(&mixed, &SampleSpec::new([COMMON, SETTINGS], "4.1.0")).unwrap();
    write_sample_bundles(&mixed, &SampleSpec::new([NC12], "4.2.1")).unwrap();
    let run = m.bmpack(&["deploy", "--bundles", mixed.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("4.2.1") && run.stderr.contains("4.1.0"), "{}", run.all());
    // No connector for this Nextcloud in the archive.
    let no_connector = bundles(m.dir.path(), "4.1.0", &[COMMON, SETTINGS, NC11]);
    let missing = m.bmpack(&["deploy", "--bundles", no_connector.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(missing.code, 2, "{}", missing.all());
    assert!(missing.stderr.contains(NC12), "the missing bundle is named:\n{}", missing.all());
    let too_old = m.bmpack(&["deploy", "--bundles", no_connector.to_str().unwrap(), "--nextcloud-version", "10.0.6"]);
    assert_eq!(too_old.code, 2, "{}", too_old.all());
    assert_eq!(snapshot(&m.root()), before, "failed checks must change nothing");
}

#[test]
fn archive_entries_that_escape_are_refused() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let archive = m.dir.path().join("evil.zip");
    let jar = source.join(NC12).join(format!("{NC12}-4.1.0.jar"));
    // Python's zipfile writes the `../` name as given, as a hostile archive would.
    let python = server_support::require_program("python3", "apt-get install python3");
    let script = format!(
        "import zipfile\nz = zipfile.ZipFile({:?}, 'w')\nz.write({:?}, '../../escaped-{NC12}.jar')\nz.close()\n",
        archive.display().to_string(),
        jar.display().to_string()
    );
    let status = Command::new(python).arg("-c").arg(script).status().unwrap();
    assert!(status.success());
    let before = snapshot(m.dir.path());
    let run = m.bmpack(&["deploy", "--bundles", archive.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("evil.zip"), "the archive is named:\n{}", run.all());
    assert_eq!(snapshot(m.dir.path()), before, "nothing written anywhere:\n{}", run.all());
}

#[test]
fn a_disabled_service_is_left_alone() {
    let m = Machine::new(true);
    std::fs::create_dir_all(m.root().join("etc/bm")).unwrap();
    std::fs::write(m.root().join("etc/bm/bm-webserver.disabled"), "").unwrap();
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(m.actions(), ["systemctl stop bm-core.service", "systemctl start bm-core.service"], "{}", run.all());
    assert!(!m.is_empty("var/lib/bm-webserver"), "a disabled service's cache is not touched");
    assert!(run.stdout.contains("bm-webserver: disabled by /etc/bm/bm-webserver.disabled"), "{}", run.all());
}

/// Records bm-core `version` as installed in the root's dpkg database, as on a Debian BlueMind.
fn install_bm_core_record(m: &Machine, version: &str) {
    install_dpkg_records(m, &[("bm-core", version, &[])]);
}

/// Records packages (name, version, files) as installed in the root's dpkg database, with the
/// file lists `dpkg-query -S` reads.
fn install_dpkg_records(m: &Machine, packages: &[(&str, &str, &[&str])]) {
    let db = m.root().join("var/lib/dpkg");
    std::fs::create_dir_all(db.join("info")).unwrap();
    let mut status = String::new();
    for (name, version, files) in packages {
        status += &format!(
            "Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: misc\n\
             Maintainer: BlueMind <packages@bluemind.net>\nArchitecture: all\nVersion: {version}\n\
             Description: {name}\n\n"
        );
        let mut list = String::new();
        for file in *files {
            list += &format!("{file}\n");
        }
        std::fs::write(db.join("info").join(format!("{name}.list")), list).unwrap();
    }
    std::fs::write(db.join("status"), status).unwrap();
}

#[test]
fn deploy_and_undeploy_refuse_bluemind_4_2_and_later_and_name_the_packages_unless_forced() {
    require_dpkg_query();
    let m = Machine::new(true);
    install_bm_core_record(&m, "4.3.2-1");
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let before = snapshot(&m.root());
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("bm-core 4.3.2-1 is installed"), "{}", run.all());
    assert!(run.stderr.contains("bmpack select --nextcloud-version"), "{}", run.all());
    m.assert_untouched_since(&before, "a refused deploy");

    let forced =
        m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(forced.stderr.contains("deploy by hand anyway (--force)"), "{}", forced.all());
    assert!(m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")), "{}", forced.all());

    // Taking them out by hand is refused the same way.
    m.clear_calls();
    let before = snapshot(&m.root());
    let run = m.bmpack(&["undeploy"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("apt remove"), "{}", run.all());
    m.assert_untouched_since(&before, "a refused undeploy");
    let forced = m.bmpack(&["undeploy", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(!m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")), "{}", forced.all());
}

#[test]
fn deploy_goes_ahead_on_bluemind_before_4_2() {
    require_dpkg_query();
    let m = Machine::new(true);
    install_bm_core_record(&m, "4.1.51-1");
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")), "{}", run.all());
}

/// `bmpack deploy … | head` or a closed terminal: the deploy still finishes, services included,
/// rather than stopping between the jars and the restarts.
#[test]
fn deploy_finishes_when_nobody_reads_its_output() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack_printing_to(
        &["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"],
        closed_pipe(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("panicked"), "{}", run.all());
    assert!(m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")), "{}", run.all());
    assert!(m.is_empty("var/lib/bm-core") && m.is_empty("var/lib/bm-webserver"), "{}", run.all());
    assert_eq!(m.actions(), RELOADED_ONCE, "{}", run.all());
}

/// A Debian BlueMind 4.3 whose Nextcloud connector came as a package: even `--force` does not
/// move the package's jar (the next upgrade would bring it back, `dpkg -V` would miss it).
#[test]
fn jars_of_installed_packages_stay_with_the_package_manager_even_forced() {
    require_dpkg_query();
    let m = Machine::new(true);
    let packaged_jar = format!("/{CORE_EXT}/{NC12}-4.3.0.jar");
    std::fs::write(m.root().join(packaged_jar.trim_start_matches('/')), b"the package's jar").unwrap();
    install_dpkg_records(
        &m,
        &[("bm-core", "4.3.2-1", &[]), ("bm-nextcloud12", "4.3.0-1", &["/usr", "/usr/share", &packaged_jar])],
    );
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let before = snapshot(&m.root());
    for args in [
        &["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3", "--force"][..],
        &["undeploy", "--force"][..],
    ] {
        let run = m.bmpack(args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains(&format!("{packaged_jar} (package bm-nextcloud12)")), "{}", run.all());
        assert!(run.stderr.contains("apt remove bm-nextcloud12"), "{}", run.all());
        m.assert_untouched_since(&before, &format!("a refused {}", args[0]));
    }
}

/// The same on a Red Hat BlueMind: bm-core and the connector recorded in a real rpm database
/// (packages written by bmpack, installed with `rpm --justdb`).
#[test]
fn an_rpm_database_says_which_bluemind_runs_and_which_jars_are_packaged() {
    use bmpack::format::Format;
    use bmpack_tests::fixtures::{our_packages, service_standin, write_package};
    let m = Machine::new(true);
    let rpms = m.dir.path().join("rpms");
    std::fs::create_dir_all(&rpms).unwrap();
    let core = write_package(Format::Rpm, &service_standin(Format::Rpm, "bm-core", "4.3.2", false), &rpms);
    let rpm = |args: &[&str]| {
        let out = Command::new("rpm")
            .env("HOME", "/nonexistent")
            .arg("--root")
            .arg(m.root())
            .args(["--dbpath", "/var/lib/rpm"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "rpm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    rpm(&["--initdb"]);
    rpm(&["-i", "--justdb", "--nodeps", "--noscripts", core.to_str().unwrap()]);

    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let refused = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(refused.stderr.contains("bm-core 4.3.2 is installed (rpm)"), "{}", refused.all());

    let connector = our_packages("4.3.0").into_iter().find(|p| p.name == "bm-nextcloud12").unwrap();
    let connector = write_package(Format::Rpm, &connector, &rpms);
    rpm(&["-i", "--justdb", "--nodeps", "--noscripts", "--notriggers", connector.to_str().unwrap()]);
    let packaged_jar =
        rpm(&["-qlp", connector.to_str().unwrap()]).lines().find(|l| l.ends_with(".jar")).unwrap().to_string();
    std::fs::write(m.root().join(packaged_jar.trim_start_matches('/')), b"the package's jar").unwrap();
    let before = snapshot(&m.root());
    let forced =
        m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3", "--force"]);
    assert_eq!(forced.code, 2, "{}", forced.all());
    assert!(forced.stderr.contains(&format!("{packaged_jar} (package bm-nextcloud12)")), "{}", forced.all());
    assert!(forced.stderr.contains("yum remove bm-nextcloud12"), "{}", forced.all());
    m.assert_untouched_since(&before, "a refused deploy");
}

fn require_dpkg_query() {
    let found =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("dpkg-query").is_file());
    assert!(found, "dpkg-query is needed: apt-get install dpkg");
}

/// Holds the deploy lock from another process until dropped (`flock` keeps it while its input is open).
struct LockHolder(std::process::Child);

impl LockHolder {
    fn new(m: &Machine) -> LockHolder {
        let lock = m.root().join("var/lib/bmpack/deploy.lock");
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        std::fs::write(&lock, "").unwrap();
        let flock = server_support::require_program("flock", "apt-get install util-linux");
        let mut holder = Command::new(flock)
            .arg(&lock)
            .args(["-c", "echo held; cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()), &mut first_line)
            .unwrap();
        assert_eq!(first_line.trim(), "held");
        LockHolder(holder)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// The plan is made under the lock: while another run holds it, nothing is planned or printed
/// as a plan (it could be stale by the time the lock is free), and a dry run is refused too.
#[test]
fn the_lock_is_taken_before_the_plan() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let holder = LockHolder::new(&m);
    let before = snapshot(&m.root());
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"];
        args.extend(extra);
        let run = m.bmpack(&args);
        assert_eq!(run.code, 9, "{}", run.all());
        assert!(!run.stdout.contains("plan"), "no plan is made without the lock:\n{}", run.all());
        assert_eq!(snapshot(&m.root()), before, "{}", run.all());
    }
    let undeploy = m.bmpack(&["undeploy"]);
    assert_eq!(undeploy.code, 9, "{}", undeploy.all());
    assert!(m.actions().is_empty(), "{:?}", m.calls());
    drop(holder);
}

/// A service whose stop fails is still running: its cache is never emptied under it, it is not
/// started, and no restart is claimed for it, on the way in or on the way back.
#[test]
fn a_service_that_cannot_be_stopped_keeps_its_cache_and_no_restart_is_claimed() {
    let m = Machine::new(true);
    m.set("bm-webserver.fail-stop");
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let before = extensions_snapshot(&m);
    let run = m.bmpack(&["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"]);
    assert_eq!(run.code, 8, "{}", run.all());
    assert!(run.stderr.contains("Job for bm-webserver.service canceled."), "{}", run.all());
    assert!(
        run.stdout.contains("bm-webserver: could not be restarted and still runs the old bundles"),
        "{}",
        run.all()
    );
    assert!(
        !run.all().contains("bm-webserver: cache /var/lib/bm-webserver emptied, service restarted"),
        "no restart claimed:\n{}",
        run.all()
    );
    assert!(
        m.root().join("var/lib/bm-webserver/cache/x").exists(),
        "the cache of a running service is never emptied:\n{}",
        run.all()
    );
    assert!(!m.calls().contains(&"systemctl start bm-webserver.service".to_string()), "{:?}", m.calls());
    assert_eq!(extensions_snapshot(&m), before, "{}", run.all());
    // bm-core was reloaded on the new jars, and again on the old ones.
    assert!(
        run.stderr.contains("with the previous jars: bm-core: cache /var/lib/bm-core emptied, service restarted"),
        "{}",
        run.all()
    );
}

/// With --root the system under it is not the running one: the host's `systemctl` and `service`
/// (here the shims, first on PATH) are never run; caches are emptied and a restart is due.
#[test]
fn another_root_never_touches_the_hosts_services() {
    let m = Machine::new(true);
    let source = bundles(m.dir.path(), "4.1.0", ALL);
    let run = m.bmpack_raw(
        &["deploy", "--bundles", source.to_str().unwrap(), "--nextcloud-version", "25.0.3"],
        Stdio::piped(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(m.calls().is_empty(), "the host's service manager was run: {:?}\n{}", m.calls(), run.all());
    assert!(run.stdout.contains("is not the running system, so its services are not touched: a restart is due there ('systemctl restart bm-core')"), "{}", run.all());
    assert!(m.is_empty("var/lib/bm-core") && m.is_empty("var/lib/bm-webserver"), "{}", run.all());
    assert!(m.jars(CORE_EXT).contains(&format!("{NC12}-4.1.0.jar")), "{}", run.all());
    let undo = m.bmpack_raw(&["undeploy"], Stdio::piped(), &[]);
    assert_eq!(undo.code, 0, "{}", undo.all());
    assert!(m.calls().is_empty(), "{:?}", m.calls());
}

/// A zip bomb given to deploy (which runs as root) is refused with the limits, and leaves nothing
/// in the temporary folder.
#[test]
fn an_archive_bomb_is_refused_and_leaves_nothing_in_scratch() {
    use std::io::Write;
    let m = Machine::new(true);
    let scratch = m.dir.path().join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let bomb = m.dir.path().join("marketplace.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
    zip.start_file(format!("{NC12}/{NC12}-4.1.0.jar"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&vec![0u8; 48 << 20]).unwrap();
    zip.finish().unwrap();
    let before = snapshot(&m.root());
    let run = m.bmpack_raw(
        &["deploy", "--bundles", bomb.to_str().unwrap(), "--nextcloud-version", "25.0.3"],
        Stdio::piped(),
        &[("TMPDIR", &scratch)],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("marketplace.zip")
            && run.stderr.contains("a ratio of 100:1")
            && run.stderr.contains("1024 MiB unpacked"),
        "the limits are in the message:\n{}",
        run.all()
    );
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left in the temporary folder: {left:?}");
    assert_eq!(snapshot(&m.root()), before);
}
