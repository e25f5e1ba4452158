//! A throwaway RPM server: `rpm --root` with its own database inside the root, and
//! `dnf --installroot` from a `createrepo_c` repository of the test packages, offline, with an
//! explicit `--releasever`. Its first package is a base built by bmpack's rpm writer from the
//! host's `busybox-static`: `/bin/sh` and the applets the scriptlets call. The stand-in
//! `systemctl` (tests/harness/shim.rs) is the service manager.
//!
//! Debian's rpm keeps its database under `~/.rpmdb` unless `%_dbpath` says otherwise: every rpm
//! and dnf call here runs with HOME set to a folder whose `.rpmmacros` sets `%_dbpath` to
//! `/var/lib/rpm`, which rpm and dnf take inside the root. The host's database is never opened.
//!
//! As on a real server, `rpm` itself is in the root (the host's binary and the libraries it
//! links, with `/etc/rpm/macros` naming the root's database): scriptlets query it, e.g. to learn
//! whether bm-core declares its own file triggers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::model::{Arch, FileKind, FileMode, FileSource, MaintainerScripts, Package, PayloadFile, Relations};
use bmpack::version::PackageVersion;
use tempfile::TempDir;

use crate::rpm_tools::{describe, run, run_ok};
use crate::tools::require_tool;
use crate::{fixtures, shim};

/// The base package: busybox as /bin/busybox and /bin/sh, its applets linked in /bin by %post.
/// Busybox's `rpm` applet is removed: it is not rpm.
pub fn busybox_base() -> Package {
    require_tool("busybox", "busybox-static");
    let busybox = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("busybox"))
        .find(|p| p.is_file())
        .expect("busybox is on PATH");
    let file = |dest: &str| PayloadFile {
        dest: dest.parse().unwrap(),
        source: FileSource::Path(busybox.clone()),
        mode: FileMode::EXECUTABLE,
        kind: FileKind::Regular,
    };
    let mut scripts = MaintainerScripts::default();
    scripts.rpm.scriptlets.insert(
        bmpack::model::RpmScriptlet::Post,
        "/bin/busybox --install -s /bin\nrm -f /bin/rpm /bin/rpm2cpio /usr/bin/rpm /usr/bin/rpm2cpio\nexit 0\n"
            .to_string(),
    );
    Package {
        name: "busybox-base".parse().unwrap(),
        version: PackageVersion::parse("1.0.0", 1).unwrap(),
        arch: Arch::Amd64,
        summary: "test base system: busybox as /bin/sh".to_string(),
        description: "The smallest system the bmpack install tests can run scriptlets in.".to_string(),
        maintainer: "bmpack tests <tests@example.org>".to_string(),
        license: "GPL-2.0-only".to_string(),
        copyright: String::new(),
        homepage: "https://busybox.net/".to_string(),
        vendor: "tests".to_string(),
        section: "misc".to_string(),
        rpm_group: "System Environment/Base".to_string(),
        files: vec![file("/bin/busybox"), file("/bin/sh")],
        relations: Relations::default(),
        scripts,
        deb_lintian_overrides: None,
    }
}

/// The test packages as .rpm (plus the base), written once per test process by bmpack's writer,
/// and a createrepo_c repository of them.
pub struct RpmRepo {
    pub dir: TempDir,
    pub packages: Vec<PathBuf>,
    pub base: PathBuf,
}

pub fn repo() -> &'static RpmRepo {
    static REPO: OnceLock<RpmRepo> = OnceLock::new();
    REPO.get_or_init(|| {
        require_tool("createrepo_c", "createrepo-c");
        let dir = TempDir::new().unwrap();
        let packages = fixtures::write_all(Format::Rpm, dir.path());
        let base_pkg = busybox_base();
        let packager = Format::Rpm.packager();
        let base = dir.path().join(packager.file_name(&base_pkg));
        let opts = WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 };
        packager.write(&base_pkg, &opts, &mut std::fs::File::create(&base).unwrap()).unwrap();
        run_ok(Command::new("createrepo_c").arg("--quiet").arg(dir.path()));
        RpmRepo { dir, packages, base }
    })
}

pub struct RpmRoot {
    dir: TempDir,
    /// HOME for rpm and dnf: `.rpmmacros` (the database path) and nothing else.
    home: TempDir,
}

impl RpmRoot {
    /// A root with the base system, the shim, and nothing else.
    pub fn new() -> RpmRoot {
        require_tool("rpm", "rpm");
        require_tool("dnf", "dnf");
        require_tool("chroot", "coreutils");
        let repo = repo();
        // No /proc inside: with it, busybox's sh runs its own `rpm` applet instead of rpm. The
        // reload scripts' transaction key then has no start time; the Debian root has /proc.
        let root = RpmRoot { dir: TempDir::new().unwrap(), home: TempDir::new().unwrap() };
        std::fs::write(root.home.path().join(".rpmmacros"), "%_dbpath /var/lib/rpm\n").unwrap();
        // A system has /dev/null; scriptlets redirect to it.
        std::fs::create_dir_all(root.join("/dev")).unwrap();
        run_ok(Command::new("mknod").args(["-m", "666"]).arg(root.join("/dev/null")).args(["c", "1", "3"]));
        root.rpm_ok(&["--initdb"]);
        root.rpm_ok(&["-i", repo.base.to_str().unwrap()]);
        assert!(root.join("/bin/cat").exists(), "the busybox base did not link its applets");
        root.install_host_rpm();
        shim::install(root.path());
        root
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies the host's `rpm`, the shared libraries `ldd` lists for it and its configuration
    /// into the root, and points it at the root's database.
    fn install_host_rpm(&self) {
        let rpm = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join("rpm"))
            .find(|p| p.is_file())
            .expect("rpm is on PATH");
        let ldd = run_ok(Command::new("ldd").arg(&rpm));
        let mut files: Vec<PathBuf> = vec![rpm.clone()];
        // `libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`.
        files.extend(ldd.split_whitespace().filter(|w| w.starts_with('/')).map(PathBuf::from));
        files.extend(["/usr/lib/rpm/rpmrc", "/usr/lib/rpm/macros"].map(PathBuf::from));
        for file in files {
            let target = self.join(file.to_str().unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            // Busybox may have linked an applet of that name: replace the link, not busybox.
            if std::fs::symlink_metadata(&target).is_ok() {
                std::fs::remove_file(&target).unwrap();
            }
            std::fs::copy(&file, &target).unwrap_or_else(|e| panic!("copying {} into the root: {e}", file.display()));
        }
        std::fs::create_dir_all(self.join("/etc/rpm")).unwrap();
        std::fs::write(self.join("/etc/rpm/macros"), "%_dbpath /var/lib/rpm\n").unwrap();
        let inside = self.sh("rpm -q busybox-base");
        assert!(inside.starts_with("busybox-base-"), "rpm inside the root cannot read its database: {inside}");
    }

    pub fn join(&self, absolute: &str) -> PathBuf {
        self.dir.path().join(absolute.trim_start_matches('/'))
    }

    fn isolated(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// `rpm --root <root> --dbpath /var/lib/rpm <args>`.
    pub fn rpm(&self, args: &[&str]) -> Output {
        let mut cmd = self.isolated("rpm");
        cmd.arg("--root").arg(self.path()).args(["--dbpath", "/var/lib/rpm"]).args(args);
        run(&mut cmd)
    }

    pub fn rpm_ok(&self, args: &[&str]) -> String {
        let out = self.rpm(args);
        assert!(
            out.status.success(),
            "rpm {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// `dnf --installroot <root>` on the test repository only, offline.
    pub fn dnf_ok(&self, args: &[&str]) -> String {
        let repo = repo();
        let conf = self.home.path().join("dnf.conf");
        let repos = self.home.path().join("repos.d");
        std::fs::create_dir_all(&repos).unwrap();
        std::fs::write(
            &conf,
            format!(
                "[main]\ngpgcheck=0\ninstall_weak_deps=False\nkeepcache=False\n\
                 cachedir={}/cache\nreposdir={}\nlogdir={}/log\n\n\
                 [bmpack-tests]\nname=bmpack tests\nbaseurl=file://{}\ngpgcheck=0\nmetadata_expire=0\n",
                self.home.path().display(),
                repos.display(),
                self.home.path().display(),
                repo.dir.path().display()
            ),
        )
        .unwrap();
        let mut cmd = self.isolated("dnf");
        cmd.arg("--config")
            .arg(&conf)
            .arg("--installroot")
            .arg(self.path())
            .args(["--releasever=1", "--assumeyes", "--setopt=tsflags=", "--noplugins"])
            .args(args);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", describe(&cmd, &out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// The repository's .rpm of `name` at `version`.
    pub fn rpm_file(&self, name: &str, version: &str) -> String {
        let prefix = format!("{name}-{version}-");
        repo()
            .packages
            .iter()
            .find(|p| p.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with(&prefix)))
            .unwrap_or_else(|| panic!("no test package {name} {version}"))
            .display()
            .to_string()
    }

    /// Whether rpm has `name` installed in the root.
    pub fn installed(&self, name: &str) -> bool {
        self.rpm(&["-q", name]).status.success()
    }

    /// Runs a command inside the root with its shell.
    pub fn sh(&self, script: &str) -> String {
        let mut cmd = self.isolated("chroot");
        cmd.arg(self.path()).args(["/bin/sh", "-c", script]);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", describe(&cmd, &out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Default for RpmRoot {
    fn default() -> Self {
        RpmRoot::new()
    }
}
