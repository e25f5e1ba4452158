//! The real rpm tools, isolated from the host: every `rpm` call gets its own `--dbpath`
//! (Debian's rpm keeps its database under `~/.rpmdb` unless told otherwise, and the tests must
//! never read or write the host's), installs go into a throwaway root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::tools::require_tool;

/// Where `tool` is on PATH; fails the test, naming the Debian package, when it is not.
pub fn tool_path(tool: &str, apt_package: &str) -> PathBuf {
    require_tool(tool, apt_package);
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths).map(|d| d.join(tool)).find(|p| p.is_file()).expect("found above")
}

/// Runs `cmd`, failing the test with its full output when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{}", describe(cmd, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `cmd` and returns whatever happened (for commands expected to fail).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// The command and its output, for assertion messages.
pub fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `rpm` for reading package files, with an empty database of its own.
pub struct Rpm {
    db: TempDir,
}

impl Rpm {
    pub fn new() -> Rpm {
        require_tool("rpm", "rpm");
        Rpm { db: TempDir::new().expect("temporary rpm database") }
    }

    /// `rpm` with the isolated database; add the rest.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("rpm");
        cmd.arg("--dbpath").arg(self.db.path());
        cmd
    }

    /// `rpm -qp <args> <package>`, which must succeed.
    pub fn query(&self, package: &Path, args: &[&str]) -> String {
        run_ok(self.command().arg("-qp").args(args).arg(package))
    }

    /// One header tag, as `rpm -qp --qf '%{TAG}'` prints it.
    pub fn tag(&self, package: &Path, tag: &str) -> String {
        self.query(package, &["--qf", &format!("%{{{tag}}}")])
    }

    /// `rpm -K` (digests; no signature is expected), which must succeed.
    pub fn check_digests(&self, package: &Path) -> String {
        run_ok(self.command().arg("-K").arg(package))
    }
}

impl Default for Rpm {
    fn default() -> Self {
        Rpm::new()
    }
}

/// A throwaway installation root with its own rpm database in `<root>/var/lib/rpm`.
pub struct RpmRoot {
    dir: TempDir,
}

impl RpmRoot {
    pub fn new() -> RpmRoot {
        require_tool("rpm", "rpm");
        RpmRoot { dir: TempDir::new().expect("temporary root") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<root>/<absolute path>`.
    pub fn join(&self, absolute: &str) -> PathBuf {
        self.dir.path().join(absolute.trim_start_matches('/'))
    }

    /// Puts a statically linked busybox at `/bin/sh` so that scriptlets can run in the root
    /// (rpm runs them chrooted). Busybox runs its own applets, so `sh` needs nothing else.
    pub fn with_busybox_shell(self) -> RpmRoot {
        let busybox = tool_path("busybox", "busybox-static");
        let bin = self.join("/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(&busybox, bin.join("busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", bin.join("sh")).unwrap();
        // The dynamically linked `busybox` package would not run inside the root.
        let mut check = Command::new("chroot");
        check.arg(self.path()).args(["/bin/sh", "-c", "echo shell-ok"]);
        let out = run(&mut check);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("shell-ok"),
            "{} does not run inside a bare root (is it busybox-static?): {}",
            busybox.display(),
            describe(&check, &out)
        );
        self
    }

    /// `rpm --root <root> --dbpath /var/lib/rpm` (rpm reads the dbpath inside the root); add the
    /// rest.
    pub fn rpm(&self) -> Command {
        let mut cmd = Command::new("rpm");
        cmd.arg("--root").arg(self.path()).args(["--dbpath", "/var/lib/rpm"]);
        cmd
    }

    /// The database the root's rpm uses, to check it is the one inside the root.
    pub fn database(&self) -> PathBuf {
        self.join("/var/lib/rpm")
    }
}

impl Default for RpmRoot {
    fn default() -> Self {
        RpmRoot::new()
    }
}

/// `rpmlint -c <config> <packages>`: (success, the full report).
pub fn rpmlint(config: &Path, packages: &[&Path]) -> (bool, String) {
    require_tool("rpmlint", "rpmlint");
    assert!(config.is_file(), "the rpmlint configuration {} is missing", config.display());
    // rpmlint reads rpm's default database, which Debian's rpm puts at `~/.rpmdb` (%_dbpath is
    // `echo ~/.rpmdb`): a HOME of its own keeps it off the host's, and off any user config.
    let home = TempDir::new().expect("temporary HOME for rpmlint");
    let mut cmd = Command::new("rpmlint");
    cmd.env("HOME", home.path()).env("XDG_CONFIG_HOME", home.path().join(".config"));
    cmd.arg("-c").arg(config).args(packages);
    let out = run(&mut cmd);
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}
