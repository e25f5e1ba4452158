//! Debian systems booted with real systemd as PID 1, for the install tests: a
//! `mmdebstrap --variant=minbase` root of Debian 11, 12 or 13 with systemd, rpm and dnf (each
//! release's own), booted with `systemd-nspawn --boot` on a throwaway overlay. dpkg, apt, rpm
//! and dnf run inside it through `nsenter`, so maintainer scripts talk to the real systemd.
//!
//! The root of each release is made once from the mirror of the host's apt sources (no host
//! name is written in the repository) and cached as a tarball and an unpacked folder under
//! `/var/cache/bmpack-tests/` (`BMPACK_TEST_CACHE` overrides it), shared by checkouts and CI
//! runs on one machine; it is rebuilt when absent. Booting an overlay of it takes about a second.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::debroot::host_suite_and_mirror;
use crate::rpm_tools::{describe, run, run_ok};
use crate::tools::{ProcMount, require_tool};

/// The Debian releases administrators run, each with its own dpkg/apt and rpm/dnf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    /// Debian 11: dpkg 1.20, apt 2.2, rpm 4.16 (RHEL 9's major release), systemd 247.
    Bullseye,
    /// Debian 12: dpkg 1.21, apt 2.6, rpm 4.18, systemd 252.
    Bookworm,
    /// Debian 13: dpkg 1.22, apt 3.0, rpm 4.20, systemd 257.
    Trixie,
}

impl Release {
    pub const ALL: [Release; 3] = [Release::Bullseye, Release::Bookworm, Release::Trixie];

    pub fn suite(self) -> &'static str {
        match self {
            Release::Bullseye => "bullseye",
            Release::Bookworm => "bookworm",
            Release::Trixie => "trixie",
        }
    }
}

/// What the root holds besides minbase: the init system a server boots with, and the RPM tools
/// of that release (rpm's database is the root's own, `/var/lib/rpm`).
const INCLUDE: &str = "systemd,systemd-sysv,rpm,dnf";
/// Raised when the preparation below changes, so that cached roots are made again.
const ROOT_LAYOUT: u32 = 1;

/// Where bootstrapped roots are kept between runs (`BMPACK_TEST_CACHE` overrides it).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("BMPACK_TEST_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/cache/bmpack-tests"))
}

/// What a booted system's root holds besides [`INCLUDE`]: nothing for the install tests, more
/// for tests that reach the system as a remote host (sshd, python3). Each base is its own
/// cached root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Base {
    /// The cached root's name (`<suite>-<name>-v<layout>.root`).
    pub name: &'static str,
    /// More packages, comma separated (empty: none).
    pub extra: &'static str,
}

impl Base {
    /// The root of the install tests.
    pub const MINIMAL: Base = Base { name: "booted", extra: "" };
}

/// How a booted system reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A network namespace of its own, with only a loopback: the install tests need no network.
    Private,
    /// The host's: its services listen on the host's 127.0.0.1 (each on its own port) and it
    /// reaches the servers the test starts there (a repository, a Nextcloud).
    Host,
}

/// The unpacked, prepared root of `release` with systemd: made on first use, then kept.
pub fn image(release: Release) -> PathBuf {
    image_of(release, Base::MINIMAL)
}

/// The same, for `base`.
pub fn image_of(release: Release, base: Base) -> PathBuf {
    static IMAGES: Mutex<BTreeMap<(Release, Base), PathBuf>> = Mutex::new(BTreeMap::new());
    let mut images = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = images.get(&(release, base)) {
        return p.clone();
    }
    require_tool("systemd-nspawn", "systemd-container");
    let include = if base.extra.is_empty() { INCLUDE.to_string() } else { format!("{INCLUDE},{}", base.extra) };
    let root = cached_root(release, &format!("{}-v{ROOT_LAYOUT}", base.name), &include, prepare);
    images.insert((release, base), root.clone());
    root
}

/// A `mmdebstrap --variant=minbase` root of `release` with the packages of `include` (comma
/// separated), from the mirror of the host's apt sources, unpacked and passed to `prepare`
/// once, then kept in [`cache_dir`] as `<suite>-<name>.root` (about a minute to make). A lock
/// file serialises test processes that make the same root.
pub fn cached_root(release: Release, name: &str, include: &str, prepare: fn(&Path)) -> PathBuf {
    require_tool("mmdebstrap", "mmdebstrap");
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("{}-{name}", release.suite());
    let lock = File::create(dir.join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    let root = dir.join(format!("{name}.root"));
    if !root.join("usr/lib/os-release").exists() {
        let tarball = dir.join(format!("{name}.tar"));
        if !tarball.exists() {
            let (_, mirror) = host_suite_and_mirror();
            let partial = dir.join(format!("{name}.tar.partial"));
            run_ok(
                Command::new("mmdebstrap")
                    .args(["--variant=minbase", "--mode=root", "--format=tar", "--quiet"])
                    .arg(format!("--include={include}"))
                    .arg(release.suite())
                    .arg(&partial)
                    .arg(&mirror),
            );
            std::fs::rename(&partial, &tarball).unwrap();
        }
        let partial = dir.join(format!("{name}.root.partial"));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).unwrap();
        run_ok(Command::new("tar").arg("-xf").arg(&tarball).arg("-C").arg(&partial));
        prepare(&partial);
        std::fs::rename(&partial, &root).unwrap();
    }
    root
}

/// Makes the root quiet and offline: no getty on the console, no timers that would run apt or
/// fstrim in the middle of a test, no Debian sources (packages come from `/srv/repo`).
fn prepare(root: &Path) {
    let masked = root.join("etc/systemd/system");
    std::fs::create_dir_all(&masked).unwrap();
    for unit in [
        "console-getty.service",
        "container-getty@.service",
        "getty@.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
        "dpkg-db-backup.timer",
        "e2scrub_all.timer",
        "fstrim.timer",
        "systemd-tmpfiles-clean.timer",
        "systemd-networkd.service",
        "systemd-resolved.service",
    ] {
        let _ = std::os::unix::fs::symlink("/dev/null", masked.join(unit));
    }
    let _ = std::fs::remove_file(root.join("etc/apt/sources.list"));
    let _ = std::fs::remove_dir_all(root.join("etc/apt/sources.list.d"));
    std::fs::create_dir_all(root.join("etc/apt/sources.list.d")).unwrap();
    // Debian's rpm keeps its database in ~/.rpmdb unless told otherwise; a server keeps it here.
    std::fs::create_dir_all(root.join("etc/rpm")).unwrap();
    std::fs::write(root.join("etc/rpm/macros"), "%_dbpath /var/lib/rpm\n").unwrap();
    std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    // No system-release package names the release for dnf.
    std::fs::create_dir_all(root.join("etc/dnf/vars")).unwrap();
    std::fs::write(root.join("etc/dnf/vars/releasever"), "9\n").unwrap();
    std::fs::write(root.join("etc/hostname"), "bluemind\n").unwrap();
}

/// Mounting and booting are serialised; the scenarios themselves run side by side.
static BOOT: Mutex<()> = Mutex::new(());

/// One booted system on a throwaway overlay of a release's root. Dropping it powers it off
/// (kills its PID namespace) and removes the overlay.
pub struct Booted {
    pub release: Release,
    /// Holds the upper layer, the work folder, the mount point and the console log; `None`
    /// once [`Booted::freeze`] took it.
    dir: Option<TempDir>,
    merged: PathBuf,
    nspawn: Option<Child>,
    /// The container's init on the host; 0 for an unbooted root.
    leader: u32,
    /// `/proc` of an unbooted root.
    proc: Option<ProcMount>,
    /// The container's own cgroups (one per mounted hierarchy that tracks processes), removed
    /// after it stops.
    cgroups: Vec<PathBuf>,
    network: Network,
}

impl Booted {
    /// A fresh overlay of `release`'s root; `prepare` writes into it (host paths) before boot.
    pub fn boot(release: Release, prepare: impl FnOnce(&Path)) -> Booted {
        Self::boot_on(release, None, prepare)
    }

    /// The same, on top of a layer that [`Booted::freeze`] made.
    pub fn boot_on(release: Release, layer: Option<&Path>, prepare: impl FnOnce(&Path)) -> Booted {
        Self::boot_with(release, Base::MINIMAL, layer, Network::Private, prepare)
    }

    /// The same, on the root of `base`, with `network`.
    pub fn boot_with(
        release: Release,
        base: Base,
        layer: Option<&Path>,
        network: Network,
        prepare: impl FnOnce(&Path),
    ) -> Booted {
        let mut booted = Self::mount(release, base, layer);
        booted.network = network;
        prepare(&booted.merged);
        booted.start();
        booted
    }

    /// The same root, not booted: commands run in it with `chroot`, as in an image build or a
    /// container without an init system.
    pub fn unbooted(release: Release, layer: Option<&Path>, prepare: impl FnOnce(&Path)) -> Booted {
        let mut root = Self::mount(release, Base::MINIMAL, layer);
        prepare(&root.merged);
        root.proc = Some(ProcMount::new(&root.merged));
        root
    }

    pub fn booted(&self) -> bool {
        self.leader != 0
    }

    fn mount(release: Release, base: Base, layer: Option<&Path>) -> Booted {
        let image = image_of(release, base);
        let lower = match layer {
            Some(layer) => format!("{}:{}", layer.display(), image.display()),
            None => image.display().to_string(),
        };
        let dir = TempDir::new_in(cache_dir()).unwrap();
        let (upper, work, merged) = (dir.path().join("upper"), dir.path().join("work"), dir.path().join("root"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir(d).unwrap();
        }
        let _one_at_a_time = BOOT.lock().unwrap_or_else(|e| e.into_inner());
        let options = format!("lowerdir={lower},upperdir={},workdir={}", upper.display(), work.display());
        run_ok(Command::new("mount").args(["-t", "overlay", "overlay", "-o", &options]).arg(&merged));
        Booted {
            release,
            dir: Some(dir),
            merged,
            nspawn: None,
            leader: 0,
            proc: None,
            cgroups: Vec::new(),
            network: Network::Private,
        }
    }

    fn start(&mut self) {
        let booted = self;
        let _one_at_a_time = BOOT.lock().unwrap_or_else(|e| e.into_inner());
        let dir = booted.dir.as_ref().unwrap().path();
        let machine = format!("bm{}", dir.file_name().unwrap().to_string_lossy().replace(['.', '_'], ""));
        let log = File::create(dir.join("console.log")).unwrap();
        // Without systemd on the host, nspawn (--keep-unit) runs the container in the cgroup it
        // was started from: each container gets one of its own, or two booted at once would
        // manage the same units' cgroups (seen: a unit failing with 219/CGROUP).
        booted.cgroups = own_cgroups(&machine);
        let procs: Vec<String> = booted.cgroups.iter().map(|d| d.join("cgroup.procs").display().to_string()).collect();
        let child = Command::new("sh")
            .args([
                "-c",
                r#"for procs in $BMPACK_CGROUP_PROCS; do echo $$ > "$procs" 2>/dev/null || true; done; exec "$@""#,
            ])
            .args(["sh", "systemd-nspawn"])
            .env("BMPACK_CGROUP_PROCS", procs.join(" "))
            .args(["--quiet", "--boot", "--register=no", "--keep-unit", "--console=pipe"])
            .args(if booted.network == Network::Private { &["--private-network"][..] } else { &[] })
            .arg(format!("--machine={}", &machine[..machine.len().min(60)]))
            .arg("--directory")
            .arg(&booted.merged)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting systemd-nspawn");
        let nspawn_pid = child.id();
        booted.nspawn = Some(child);
        booted.leader = booted.wait_for_leader(nspawn_pid);
        booted.wait_until_up();
    }

    /// The host pid of the container's PID 1 (systemd): a descendant of nspawn whose pid is 1 in
    /// its own namespace.
    fn wait_for_leader(&mut self, nspawn_pid: u32) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(pid) = container_init(nspawn_pid) {
                return pid;
            }
            if let Some(status) = self.nspawn.as_mut().unwrap().try_wait().unwrap() {
                panic!("systemd-nspawn exited with {status} before booting:\n{}", self.console());
            }
            assert!(Instant::now() < deadline, "no container init after 30 s:\n{}", self.console());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.sh("systemctl is-system-running --wait 2>/dev/null");
            let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
            match state.as_str() {
                "running" => return,
                "degraded" => {
                    let failed = self.sh("systemctl --failed --no-legend --plain");
                    panic!("{:?} booted degraded:\n{}", self.release, String::from_utf8_lossy(&failed.stdout));
                }
                _ => {}
            }
            assert!(Instant::now() < deadline, "not up after 60 s ({state}):\n{}", self.console());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn console(&self) -> String {
        self.dir.as_ref().and_then(|d| std::fs::read_to_string(d.path().join("console.log")).ok()).unwrap_or_default()
    }

    /// The root as seen from the host.
    pub fn path(&self) -> &Path {
        &self.merged
    }

    /// `<root>/<absolute path>` on the host.
    pub fn join(&self, absolute: &str) -> PathBuf {
        self.merged.join(absolute.trim_start_matches('/'))
    }

    fn command(&self, script: &str) -> Command {
        let mut cmd;
        if self.booted() {
            cmd = Command::new("nsenter");
            cmd.arg(format!("--target={}", self.leader))
                .args(["--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd=/", "--"]);
        } else {
            cmd = Command::new("chroot");
            cmd.arg(&self.merged);
        }
        // env starts the shell in the root's /: the test's own folder does not exist in there.
        cmd.args(["/usr/bin/env", "--chdir=/", "/bin/sh", "-c", script])
            .current_dir("/")
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", "/root");
        cmd
    }

    /// Runs a shell command inside the booted system; returns whatever happened.
    pub fn sh(&self, script: &str) -> Output {
        run(&mut self.command(script))
    }

    /// Runs a shell command inside, which must succeed; returns stdout and stderr together.
    pub fn ok(&self, script: &str) -> String {
        let mut cmd = self.command(script);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", describe(&cmd, &out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Runs a shell command inside that must fail; returns stdout and stderr together.
    pub fn fails(&self, script: &str) -> String {
        let mut cmd = self.command(script);
        let out = run(&mut cmd);
        assert!(!out.status.success(), "expected a failure: {}", describe(&cmd, &out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// `systemctl show -p <property> --value <unit>`.
    pub fn unit_property(&self, unit: &str, property: &str) -> String {
        self.ok(&format!("systemctl show -p {property} --value {unit}")).trim().to_string()
    }

    pub fn is_active(&self, unit: &str) -> bool {
        self.sh(&format!("systemctl --quiet is-active {unit}")).status.success()
    }
}

impl Booted {
    /// Stops the system and keeps what it changed as a layer to boot others on
    /// ([`Booted::boot_on`]): the folder returned holds it as `upper/`.
    pub fn freeze(mut self) -> TempDir {
        self.sh("sync");
        self.shut_down();
        self.dir.take().unwrap()
    }

    fn shut_down(&mut self) {
        if self.leader != 0 {
            // SIGKILL to a PID namespace's init ends every process in it at once.
            unsafe_kill(self.leader);
        }
        if let Some(mut child) = self.nspawn.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.leader = 0;
        for cgroup in std::mem::take(&mut self.cgroups) {
            remove_cgroup_tree(&cgroup);
        }
        drop(self.proc.take());
        if self.dir.is_some() {
            let out = Command::new("umount").arg(&self.merged).output();
            if !out.is_ok_and(|o| o.status.success()) {
                let _ = Command::new("umount").arg("-l").arg(&self.merged).output();
            }
        }
    }
}

impl Drop for Booted {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A new cgroup named `name` under this process's own, in the cgroup v2 hierarchy and in v1's
/// `name=systemd` one (a hybrid host), wherever they are mounted.
fn own_cgroups(name: &str) -> Vec<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let path_in = |hierarchy: &str| {
        own.lines()
            .find_map(|l| l.split_once(':').and_then(|(_, rest)| rest.strip_prefix(hierarchy)))
            .map(|p| p.to_string())
    };
    let mut candidates = Vec::new();
    if let Some(p) = path_in("name=systemd:") {
        candidates.push(PathBuf::from("/sys/fs/cgroup/systemd").join(p.trim_start_matches('/')));
    }
    if let Some(p) = path_in(":") {
        for base in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            if Path::new(base).join("cgroup.controllers").exists() {
                candidates.push(PathBuf::from(base).join(p.trim_start_matches('/')));
                break;
            }
        }
    }
    candidates
        .into_iter()
        .map(|parent| parent.join(format!("bmpack-{name}")))
        .filter(|dir| std::fs::create_dir(dir).is_ok())
        .collect()
}

/// Removes a cgroup and the ones its container made under it, deepest first (a cgroup is
/// removed with rmdir once it has no process and no child).
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
}

/// The pid (on the host) of the init of nspawn's container: the descendant of `nspawn_pid`
/// whose innermost namespace pid is 1.
fn container_init(nspawn_pid: u32) -> Option<u32> {
    let mut parents: BTreeMap<u32, u32> = BTreeMap::new();
    let mut inits = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
        if let Some(ppid) = field("PPid:").and_then(|v| v.parse().ok()) {
            parents.insert(pid, ppid);
        }
        let nspid = field("NSpid:").unwrap_or_default();
        let levels: Vec<&str> = nspid.split_whitespace().collect();
        if levels.len() > 1 && levels.last() == Some(&"1") {
            inits.push(pid);
        }
    }
    inits.into_iter().find(|&pid| {
        let mut p = pid;
        for _ in 0..8 {
            match parents.get(&p) {
                Some(&parent) if parent == nspawn_pid => return true,
                Some(&parent) if parent > 1 => p = parent,
                _ => return false,
            }
        }
        false
    })
}
