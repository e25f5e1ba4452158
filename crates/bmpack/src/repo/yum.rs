//! The yum/dnf side of a repository: `rpm/<suite>/*.rpm` signed with `rpmsign`, indexed by
//! `createrepo_c` into `rpm/<suite>/repodata/`, and `repomd.xml` signed (`repomd.xml.asc`,
//! checked by dnf with `repo_gpgcheck=1`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::gpg::Signer;
use super::layout::{rpm_dir, yum_signed_files};
use super::staging::remove_if_exists;
use super::tools::Tool;

/// The full path of a program found in `PATH` (rpmsign runs `%__gpg` without searching).
fn which(program: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .with_context(|| format!("`{program}` is not installed: install it with `apt-get install gnupg`"))
}

/// Signs rpm files in place (they must be private copies, not links into a live repository).
pub fn sign(files: &[PathBuf], signer: &Signer) -> anyhow::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let gpg = which("gpg")?;
    let mut t = Tool::new("rpmsign")
        .arg("--addsign")
        .args(["--define", &format!("_gpg_name {}", signer.fingerprint())])
        .arg("--define")
        .arg(format!("__gpg {}", gpg.display()))
        .args(["--define", "_gpg_sign_cmd_extra_args --batch --no-tty"]);
    if let Some(home) = signer.homedir() {
        t = t.arg("--define").arg(format!("_gpg_path {}", home.display()));
    }
    t.args(files).run().context("signing the rpm packages")?;
    Ok(())
}

/// Re-indexes the suite's rpm directory and signs the new `repomd.xml`.
pub fn index(root: &Path, suite: &str, signer: &Signer) -> anyhow::Result<()> {
    let dir = root.join(rpm_dir(suite));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // No sqlite databases: dnf reads the XML metadata (yum on RHEL 7 makes its own cache).
    let mut t = Tool::new("createrepo_c").args([
        "--quiet",
        "--no-database",
        "--checksum",
        "sha256",
        "--general-compress-type",
        "gz",
    ]);
    if dir.join("repodata/repomd.xml").exists() {
        // The previous generations' hash-named metadata stay, the newest by mtime (which the
        // staging copy preserves); `--compatibility` makes the number a count, not "all".
        let old = (super::INDEX_GENERATIONS_KEPT - 1).to_string();
        t = t.args(["--update", "--compatibility", "--retain-old-md", &old]);
    }
    t.arg(&dir).run()?;
    let [repomd, asc] = yum_signed_files(suite).map(|p| root.join(p));
    if !repomd.is_file() {
        bail!("createrepo_c wrote no {}", repomd.display());
    }
    remove_if_exists(&asc)?;
    signer.detach_sign(&repomd, &asc)?;
    Ok(())
}
