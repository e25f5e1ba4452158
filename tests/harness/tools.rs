//! Running system tools from tests: a missing tool fails the test with the package to install,
//! never skips it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository's top folder.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// Panics with the Debian package to install when `tool` is not on PATH.
pub fn require_tool(tool: &str, debian_package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "`{tool}` is needed by this test: apt-get install {debian_package} (.ci/run installs it)");
}

/// Runs a command, panics with its output unless it succeeds, returns its stdout.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `/proc` mounted inside a throwaway root, as on a real server: the reload scripts read the
/// start time of the package manager's process there (their per-transaction key). Unmounted
/// when dropped, before the root itself goes away.
pub struct ProcMount {
    path: PathBuf,
}

impl ProcMount {
    pub fn new(root: &Path) -> ProcMount {
        let path = root.join("proc");
        std::fs::create_dir_all(&path).unwrap();
        run_ok("mount", &["-t", "proc", "proc", path.to_str().unwrap()]);
        ProcMount { path }
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        let out = Command::new("umount").arg(&self.path).output();
        if !out.is_ok_and(|o| o.status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.path).output();
        }
    }
}

/// Stdout for a child whose reader has gone already, as in `… | head -n 1` once `head` has read
/// its line: every write fails with EPIPE.
pub fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("making a pipe");
    drop(reader);
    Stdio::from(writer)
}
