//! A BlueMind server for the install tests: a booted Debian system (tests/harness/booted.rs)
//! with the stand-in bm-core and bm-webserver of one generation (tests/harness/bluemind.rs)
//! installed and running, and our packages at two releases in a local repository: an apt one
//! (`/srv/repo`) for a Debian server, or a dnf one (`/srv/rpms`, rpm's database in the root)
//! for an RPM server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use bmpack::format::Format;
use tempfile::TempDir;

use crate::bluemind::{self, Generation, SERVICES, Start};
use crate::booted::{Base, Booted, Network, Release};
use crate::fixtures;
use crate::rpm_tools::run_ok;
use crate::tools::require_tool;

/// The package family a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Deb,
    Rpm,
}

fn ours(format: Format) -> &'static [PathBuf] {
    static DEB: OnceLock<(TempDir, Vec<PathBuf>)> = OnceLock::new();
    static RPM: OnceLock<(TempDir, Vec<PathBuf>)> = OnceLock::new();
    let cell = match format {
        Format::Deb => &DEB,
        Format::Rpm => &RPM,
    };
    &cell
        .get_or_init(|| {
            let dir = TempDir::new().unwrap();
            let files = fixtures::write_ours(format, dir.path());
            (dir, files)
        })
        .1
}

fn copy_into(files: &[PathBuf], folder: &Path) {
    std::fs::create_dir_all(folder).unwrap();
    for f in files {
        std::fs::copy(f, folder.join(f.file_name().unwrap())).unwrap();
    }
}

pub struct Server {
    pub system: Booted,
    pub generation: Generation,
    pub family: Family,
    /// The journal's cursor when the transaction under test began.
    since: std::cell::RefCell<String>,
}

impl Server {
    /// A running Debian server of `generation`'s BlueMind on `release`.
    pub fn debian(release: Release, generation: Generation) -> Server {
        Self::debian_with(release, generation, true)
    }

    /// The same, unbooted when `boot` is false: dpkg and apt run with `chroot`, as in an image
    /// build, and no init system runs.
    pub fn debian_with(release: Release, generation: Generation, boot: bool) -> Server {
        Self::on_layer(Family::Deb, release, generation, boot)
    }

    /// A running RPM server of `generation`'s BlueMind: rpm and dnf of `release` in a booted
    /// Debian system, with a database of their own.
    pub fn rpm(release: Release, generation: Generation) -> Server {
        Self::rpm_with(release, generation, true)
    }

    pub fn rpm_with(release: Release, generation: Generation, boot: bool) -> Server {
        Self::on_layer(Family::Rpm, release, generation, boot)
    }

    fn on_layer(family: Family, release: Release, generation: Generation, boot: bool) -> Server {
        if boot {
            return Self::booted_with(family, release, generation, Base::MINIMAL, Network::Private, |_| {});
        }
        let layer = layer(family, release, generation, Base::MINIMAL);
        let system = Booted::unbooted(release, Some(&layer), |_| {});
        let server = Server { system, generation, family, since: String::new().into() };
        server.settled();
        server
    }

    /// A running server on the root of `base`, with `network`; `prepare` writes into its
    /// overlay (host paths) before it boots (e.g. its sshd's port and keys).
    pub fn booted_with(
        family: Family,
        release: Release,
        generation: Generation,
        base: Base,
        network: Network,
        prepare: impl FnOnce(&Path),
    ) -> Server {
        let layer = layer(family, release, generation, base);
        let system = Booted::boot_with(release, base, Some(&layer), network, prepare);
        let server = Server { system, generation, family, since: String::new().into() };
        server.settled();
        server
    }

    /// `dnf` as an administrator runs it, on the local repository only.
    pub fn dnf(args: &str) -> String {
        format!("dnf -y --disablerepo='*' --enablerepo=bmpack-tests --setopt=install_weak_deps=False {args}")
    }

    /// The services started by the setup are up; their starts are forgotten.
    fn settled(&self) {
        if self.system.booted() {
            for s in SERVICES {
                assert!(
                    self.system.is_active(s),
                    "{s} did not start:\n{}",
                    self.system.ok(&format!("systemctl status {s} || true"))
                );
            }
        }
        bluemind::forget_starts(&self.system);
        self.mark_time();
    }

    fn mark_time(&self) {
        if !self.system.booted() {
            return;
        }
        let out = self.system.ok("journalctl --sync 2>/dev/null; journalctl -q -n 0 --show-cursor || true");
        let cursor = out.lines().find_map(|l| l.strip_prefix("-- cursor: ")).unwrap_or_default();
        *self.since.borrow_mut() = cursor.trim().to_string();
    }

    /// A step that prepares the scenario: it must succeed, and its starts are not counted.
    pub fn given(&self, script: &str) -> String {
        let out = self.system.ok(script);
        bluemind::forget_starts(&self.system);
        self.mark_time();
        out
    }

    /// The transaction under test, which must succeed; returns its output.
    pub fn when(&self, script: &str) -> String {
        self.system.ok(script)
    }

    pub fn starts(&self, service: &str) -> Vec<Start> {
        bluemind::starts(&self.system, service)
    }

    /// How many times systemd says it started `service` since the transaction began.
    pub fn journal_starts(&self, service: &str) -> usize {
        let since = self.since.borrow();
        let after = if since.is_empty() { String::new() } else { format!("'--after-cursor={since}'") };
        let out = self.system.ok(&format!(
            "journalctl --sync 2>/dev/null; journalctl -q -o cat --no-pager -u {service}.service {after} || true"
        ));
        out.lines().filter(|l| l.starts_with("Started ")).count()
    }

    /// The jars in a service's extensions folder now.
    pub fn jars(&self, service: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.system.join(&format!("/usr/share/{service}/extensions")))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.retain(|n| n.ends_with(".jar"));
        names.sort();
        names
    }

    pub fn cache_is_empty(&self, service: &str) -> bool {
        let dir = self.system.join(&format!("/var/lib/{service}"));
        dir.is_dir() && std::fs::read_dir(dir).unwrap().next().is_none()
    }

    /// Whether a package is installed, for the family's package manager.
    pub fn installed(&self, package: &str) -> bool {
        match self.family {
            Family::Deb => {
                let out = self.system.sh(&format!("dpkg-query -W -f='${{db:Status-Status}}' {package} 2>/dev/null"));
                String::from_utf8_lossy(&out.stdout).trim() == "installed"
            }
            Family::Rpm => self.system.sh(&format!("rpm -q {package} >/dev/null")).status.success(),
        }
    }
}

/// A server's installed base, made once per test process and family, release and generation,
/// and kept as an overlay layer that every scenario boots on: the repository of our packages and
/// the stand-ins, and bm-core and bm-webserver installed and enabled, so that they start at boot
/// as on a real server.
fn layer(family: Family, release: Release, generation: Generation, root_base: Base) -> PathBuf {
    type Layers = Vec<((Family, Release, Generation, Base), TempDir)>;
    static LAYERS: Mutex<Layers> = Mutex::new(Vec::new());
    let mut layers = LAYERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, dir)) = layers.iter().find(|(k, _)| *k == (family, release, generation, root_base)) {
        return dir.path().join("upper");
    }
    let v = generation.versions()[0];
    let system = match family {
        Family::Deb => {
            require_tool("apt-ftparchive", "apt-utils");
            let system = Booted::boot_with(release, root_base, None, Network::Private, |root| {
                let repo = root.join("srv/repo");
                copy_into(ours(Format::Deb), &repo);
                copy_into(&bluemind::debs(generation), &repo);
                let packages = run_ok(Command::new("apt-ftparchive").arg("packages").arg(".").current_dir(&repo));
                std::fs::write(repo.join("Packages"), packages).unwrap();
                std::fs::write(
                    root.join("etc/apt/sources.list.d/bmpack-tests.list"),
                    "deb [trusted=yes] file:/srv/repo ./\n",
                )
                .unwrap();
            });
            system.ok("apt-get update -qq");
            system.ok(&format!("apt-get install -y -q bm-core={v}-1 bm-webserver={v}-1"));
            // The administrator keeps BlueMind itself at its release; `apt-get upgrade` moves the plug-ins.
            system.ok("apt-mark hold bm-core bm-webserver >/dev/null");
            system
        }
        Family::Rpm => {
            require_tool("createrepo_c", "createrepo-c");
            let (base, standins) = bluemind::rpms(generation);
            let system = Booted::boot_with(release, root_base, None, Network::Private, |root| {
                let repo = root.join("srv/rpms");
                copy_into(ours(Format::Rpm), &repo);
                copy_into(&standins, &repo);
                copy_into(std::slice::from_ref(&base), &root.join("srv"));
                run_ok(Command::new("createrepo_c").arg("--quiet").arg(&repo));
                std::fs::create_dir_all(root.join("etc/yum.repos.d")).unwrap();
                std::fs::write(
                    root.join("etc/yum.repos.d/bmpack-tests.repo"),
                    "[bmpack-tests]\nname=bmpack tests\nbaseurl=file:///srv/rpms\ngpgcheck=0\nmetadata_expire=0\n",
                )
                .unwrap();
            });
            let base_name = base.file_name().unwrap().to_string_lossy().into_owned();
            system.ok(&format!("rpm --initdb && rpm -i --quiet /srv/{base_name}"));
            system
                .ok(&format!("cd /srv/rpms && rpm -i --quiet bm-core-{v}-1.noarch.rpm bm-webserver-{v}-1.noarch.rpm"));
            // Fill dnf's cache of the repository once.
            system.ok(&Server::dnf("makecache"));
            system
        }
    };
    system.ok("systemctl enable --quiet bluemind.target");
    let dir = system.freeze();
    let upper = dir.path().join("upper");
    layers.push(((family, release, generation, root_base), dir));
    upper
}
