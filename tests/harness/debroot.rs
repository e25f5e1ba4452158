//! A throwaway Debian server: a `mmdebstrap --variant=minbase` root of the host's own suite,
//! built once from the mirror in the host's apt sources and cached as a tarball under
//! `target/tmp/`, unpacked once per test process and given to each scenario as a fresh overlay. dpkg and apt run inside it with `chroot`
//! (the tests run as root). Our packages and the stand-ins are served to its apt from a local
//! `file:` repository; the root's own Debian sources are removed, so it works offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use bmpack::format::Format;
use tempfile::TempDir;

use crate::rpm_tools::{describe, run, run_ok};
use crate::tools::{ProcMount, require_tool};
use crate::{fixtures, shim};

/// The suite and mirror of the host, read from its apt sources (deb822 `.sources` or
/// `sources.list`). No host name is written in the repository.
pub fn host_suite_and_mirror() -> (String, String) {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = os_release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|s| s.trim_matches('"').to_string())
        .expect("/etc/os-release has no VERSION_CODENAME: these tests need a Debian host");
    let mut candidates: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "sources") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                for stanza in text.split("\n\n") {
                    let field = |name: &str| -> Vec<String> {
                        stanza
                            .lines()
                            .find_map(|l| l.strip_prefix(&format!("{name}:")))
                            .map(|v| v.split_whitespace().map(str::to_string).collect())
                            .unwrap_or_default()
                    };
                    if field("Types").iter().any(|t| t == "deb") {
                        candidates.push((field("URIs"), field("Suites")));
                    }
                }
            }
        }
    }
    for file in ["/etc/apt/sources.list".to_string()] {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("deb ") {
                let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with('[')).collect();
                if words.len() >= 2 {
                    candidates.push((vec![words[0].to_string()], vec![words[1].to_string()]));
                }
            }
        }
    }
    let mirror = candidates
        .iter()
        .find(|(_, suites)| suites.contains(&codename))
        .and_then(|(uris, _)| uris.first().cloned())
        .unwrap_or_else(|| panic!("no apt source of the host serves suite `{codename}`: cannot bootstrap a test root"));
    (codename, mirror)
}

/// The cached minbase tarball, made on first use (about 40 s), kept in `target/tmp/debroot/`
/// between runs (`cargo clean` removes it).
fn cached_minbase() -> PathBuf {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            require_tool("mmdebstrap", "mmdebstrap");
            let (suite, mirror) = host_suite_and_mirror();
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::tools::project_root().join("target"));
            let dir = target.join("tmp/debroot");
            std::fs::create_dir_all(&dir).unwrap();
            let tarball = dir.join(format!("{suite}-minbase.tar"));
            if !tarball.exists() {
                let partial = dir.join(format!("{suite}-minbase.tar.partial-{}", std::process::id()));
                run_ok(
                    Command::new("mmdebstrap")
                        .args([
                            "--variant=minbase",
                            "--mode=root",
                            "--format=tar",
                            "--include=init-system-helpers",
                            "--quiet",
                        ])
                        .arg(&suite)
                        .arg(&partial)
                        .arg(&mirror),
                );
                std::fs::rename(&partial, &tarball).unwrap();
            }
            tarball
        })
        .clone()
}

/// The test packages as .deb, written once per test process by bmpack's writer.
pub fn debs() -> &'static [PathBuf] {
    static DEBS: OnceLock<(TempDir, Vec<PathBuf>)> = OnceLock::new();
    &DEBS
        .get_or_init(|| {
            let dir = TempDir::new().unwrap();
            let debs = fixtures::write_all(Format::Deb, dir.path());
            (dir, debs)
        })
        .1
}

/// The cached minbase root, unpacked beside its tarball (once, then kept): the read-only lower
/// layer of every scenario's overlay.
fn unpacked_minbase() -> &'static Path {
    static UNPACKED: OnceLock<PathBuf> = OnceLock::new();
    UNPACKED.get_or_init(|| {
        let tarball = cached_minbase();
        let dir = tarball.with_extension("root");
        if !dir.is_dir() {
            let partial = tarball.with_extension(format!("root.partial-{}", std::process::id()));
            std::fs::create_dir_all(&partial).unwrap();
            run_ok(Command::new("tar").arg("-xf").arg(&tarball).arg("-C").arg(&partial));
            std::fs::rename(&partial, &dir).unwrap();
        }
        dir
    })
}

/// Mounting is serialised: two scenarios starting together on 2 cores gain nothing.
static MOUNT: Mutex<()> = Mutex::new(());

/// A scenario's root: an overlay of the unpacked minbase (lower, shared, never written) and a
/// folder of its own (upper), so that a fresh root costs a mount instead of a 170 MB copy.
pub struct DebRoot {
    /// Holds the upper layer and the mount point; removed after the unmount in `drop`.
    _dir: TempDir,
    merged: PathBuf,
    /// `/proc` inside, unmounted first.
    proc: Option<ProcMount>,
}

impl Drop for DebRoot {
    fn drop(&mut self) {
        drop(self.proc.take());
        let out = Command::new("umount").arg(&self.merged).output();
        if !out.is_ok_and(|o| o.status.success()) {
            // Something inside still holds a file: detach it, the kernel unmounts it when done.
            let _ = Command::new("umount").arg("-l").arg(&self.merged).output();
        }
    }
}

impl DebRoot {
    /// A fresh copy of the cached minbase root with the shim and the local repository.
    pub fn new() -> DebRoot {
        require_tool("chroot", "coreutils");
        require_tool("apt-ftparchive", "apt-utils");
        let debs = debs();
        let dir = TempDir::new().unwrap();
        let (upper, work, merged) = (dir.path().join("upper"), dir.path().join("work"), dir.path().join("root"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir(d).unwrap();
        }
        {
            let lower = unpacked_minbase();
            let _one_at_a_time = MOUNT.lock().unwrap_or_else(|e| e.into_inner());
            let options =
                format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
            run_ok(Command::new("mount").args(["-t", "overlay", "overlay", "-o", &options]).arg(&merged));
        }
        let mut root = DebRoot { _dir: dir, merged, proc: None };
        root.proc = Some(ProcMount::new(root.path()));
        shim::install(root.path());
        let repo = root.path().join("srv/repo");
        std::fs::create_dir_all(&repo).unwrap();
        for deb in debs {
            std::fs::copy(deb, repo.join(deb.file_name().unwrap())).unwrap();
        }
        let packages = run_ok(Command::new("apt-ftparchive").arg("packages").arg(".").current_dir(&repo));
        std::fs::write(repo.join("Packages"), packages).unwrap();
        let _ = std::fs::remove_file(root.path().join("etc/apt/sources.list"));
        let _ = std::fs::remove_dir_all(root.path().join("etc/apt/sources.list.d"));
        std::fs::create_dir_all(root.path().join("etc/apt/sources.list.d")).unwrap();
        std::fs::write(
            root.path().join("etc/apt/sources.list.d/bmpack-tests.list"),
            "deb [trusted=yes] file:/srv/repo ./\n",
        )
        .unwrap();
        root.ok("apt-get update -qq");
        root
    }

    pub fn path(&self) -> &Path {
        &self.merged
    }

    /// `<root>/<absolute path>`.
    pub fn join(&self, absolute: &str) -> PathBuf {
        self.merged.join(absolute.trim_start_matches('/'))
    }

    /// Runs a shell command inside the root, as apt would run dpkg: noninteractive, with the
    /// PATH apt gives maintainer scripts.
    pub fn sh(&self, script: &str) -> Output {
        run(&mut self.command(script))
    }

    fn command(&self, script: &str) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(self.path())
            .args(["/bin/sh", "-c", script])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// Runs a shell command inside the root, which must succeed; returns stdout and stderr.
    pub fn ok(&self, script: &str) -> String {
        let mut cmd = self.command(script);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", describe(&cmd, &out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// The `.deb` files of the given `name=version` packages, as paths inside the root.
    pub fn deb_paths(&self, wanted: &[(&str, &str)]) -> Vec<String> {
        wanted
            .iter()
            .map(|(name, version)| {
                let prefix = format!("{name}_{version}-");
                let file = debs()
                    .iter()
                    .filter_map(|d| d.file_name()?.to_str())
                    .find(|f| f.starts_with(&prefix))
                    .unwrap_or_else(|| panic!("no test package {name} {version}"));
                format!("/srv/repo/{file}")
            })
            .collect()
    }

    /// `dpkg -s` status word of a package (`installed`, `config-files`, or empty if unknown).
    pub fn status(&self, package: &str) -> String {
        let out = self.sh(&format!("dpkg-query -W -f='${{db:Status-Status}}' {package} 2>/dev/null"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Default for DebRoot {
    fn default() -> Self {
        DebRoot::new()
    }
}
