//! Debian 11, 12 and 13 as the clients of a published repository: apt 2.2 and 2.6 (signatures
//! checked by gpgv) and apt 3.0 (checked by sqv, with its stricter policy on keys and digests),
//! each in a `mmdebstrap --variant=minbase` root of that release, used through `chroot` on a
//! throwaway overlay. No systemd runs (none is needed to install packages), `/proc` is mounted
//! as on a server.
//!
//! Each root is made once from the mirror of the host's apt sources (no host name is written in
//! the repository) and kept under `/var/cache/bmpack-tests/` (`BMPACK_TEST_CACHE` overrides it),
//! named by release and package list, so that checkouts and CI runs on one machine share it; it
//! is made again when absent (about a minute per release).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub use crate::booted::Release;
use crate::booted::cached_root;
use crate::rpm_tools::{describe, run, run_ok};
use crate::tools::{ProcMount, require_tool};

/// What a client root holds besides minbase (apt, dpkg, the shell, gpgv): `invoke-rc.d`, which
/// maintainer scripts call; on Debian 13, apt's own verifier `sqv` (checked below).
fn include(release: Release) -> &'static [&'static str] {
    match release {
        Release::Trixie => &["init-system-helpers", "sqv"],
        _ => &["init-system-helpers"],
    }
}

/// The unpacked root of `release`, made on first use, then kept (tests/harness/booted.rs).
pub fn image(release: Release) -> PathBuf {
    static IMAGES: Mutex<BTreeMap<Release, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut images = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = images.get(&release) {
        return p.clone();
    }
    let packages = include(release).join(",");
    let key = &hex(&Sha256::digest(packages.as_bytes()))[..12];
    let root = cached_root(release, &format!("apt-client-{key}"), &packages, offline);
    images.insert(release, root.clone());
    root
}

/// Offline: the only source a client gets is the one a test gives it.
fn offline(root: &Path) {
    let _ = std::fs::remove_file(root.join("etc/apt/sources.list"));
    let _ = std::fs::remove_dir_all(root.join("etc/apt/sources.list.d"));
    std::fs::create_dir_all(root.join("etc/apt/sources.list.d")).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mounting is serialised: two clients starting together on 2 cores gain nothing.
static MOUNT: Mutex<()> = Mutex::new(());

/// A fresh Debian client: an overlay of the release's root (lower, shared, never written) and
/// a folder of its own.
pub struct AptClient {
    pub release: Release,
    merged: PathBuf,
    proc: Option<ProcMount>,
    /// Holds the upper layer and the mount point; removed after the unmount in `drop`.
    _dir: TempDir,
}

impl AptClient {
    pub fn new(release: Release) -> AptClient {
        require_tool("chroot", "coreutils");
        let lower = image(release);
        let dir = TempDir::new().unwrap();
        let (upper, work, merged) = (dir.path().join("upper"), dir.path().join("work"), dir.path().join("root"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir(d).unwrap();
        }
        {
            let _one_at_a_time = MOUNT.lock().unwrap_or_else(|e| e.into_inner());
            let options =
                format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
            run_ok(Command::new("mount").args(["-t", "overlay", "overlay", "-o", &options]).arg(&merged));
        }
        let mut client = AptClient { release, merged, proc: None, _dir: dir };
        client.proc = Some(ProcMount::new(&client.merged));
        client
    }

    /// `<root>/<absolute path>`.
    pub fn join(&self, absolute: &str) -> PathBuf {
        self.merged.join(absolute.trim_start_matches('/'))
    }

    /// A shell command inside the root, as an administrator runs it; its output whatever the
    /// exit status.
    pub fn sh(&self, script: &str) -> Output {
        run(&mut self.command(script))
    }

    /// A shell command inside the root, which must succeed; returns stdout and stderr.
    pub fn ok(&self, script: &str) -> String {
        let mut cmd = self.command(script);
        let out = run(&mut cmd);
        assert!(out.status.success(), "Debian {:?}: {}", self.release, describe(&cmd, &out));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    fn command(&self, script: &str) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.merged)
            .args(["/bin/sh", "-c", script])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// Sets the server up as docs/publishing.md says: `keyring` at the path the `.sources` file
    /// names, the `.sources` file in `sources.list.d`, no other source.
    pub fn add_source(&self, sources: &str, keyring: &Path) {
        let signed_by = sources.lines().find_map(|l| l.strip_prefix("Signed-By: ")).expect("a Signed-By field").trim();
        let in_root = self.join(signed_by);
        std::fs::create_dir_all(in_root.parent().unwrap()).unwrap();
        std::fs::copy(keyring, &in_root).unwrap();
        std::fs::write(self.join("/etc/apt/sources.list.d/bmpack.sources"), sources).unwrap();
    }

    /// `dpkg-query`'s version of an installed package, or `None`.
    pub fn installed_version(&self, package: &str) -> Option<String> {
        let out = self.sh(&format!("dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' {package} 2>/dev/null"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.strip_prefix("installed ").map(str::to_string)
    }
}

impl Drop for AptClient {
    fn drop(&mut self) {
        drop(self.proc.take());
        let out = Command::new("umount").arg(&self.merged).output();
        if !out.is_ok_and(|o| o.status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.merged).output();
        }
    }
}
