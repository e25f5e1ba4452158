//! The apt side of a repository: `pool/<suite>/main/<package>/*.deb`, indexed into
//! `dists/<suite>/main/binary-{all,amd64}/Packages{,.gz,.xz}`, and the suite's `Release` signed
//! twice (`InRelease` clearsigned, `Release.gpg` detached) because apt reads either. Each index
//! is also kept by hash (see by_hash.rs).
//!
//! `apt-ftparchive` writes the stanza of each package once, when it is added; the stanzas of the
//! packages already published are taken from the index as it was signed (index.rs), so that a
//! publish hashes what it adds, not the whole history.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::by_hash;
use super::gpg::Signer;
use super::layout::{ARCHITECTURES, COMPONENT, apt_signed_files, suite_dir};
use super::staging::{remove_if_exists, write_file};
use super::tools::Tool;

/// The index stanzas of the `.deb` files at `added` (relative to `root`), written by
/// `apt-ftparchive` over a folder holding links to those files only, at the same paths.
pub fn stanzas_for(root: &Path, added: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    if added.is_empty() {
        return Ok(Vec::new());
    }
    let scratch = tempfile::Builder::new()
        .prefix(".bmpack-new-")
        .tempdir_in(root)
        .context("creating a folder for the new packages")?;
    for relative in added {
        let link = scratch.path().join(relative);
        std::fs::create_dir_all(link.parent().expect("a package path has a parent"))?;
        std::fs::hard_link(root.join(relative), &link).with_context(|| format!("linking {}", relative.display()))?;
    }
    let listing = Tool::new("apt-ftparchive").arg("packages").arg("pool").dir(scratch.path()).run_text()?;
    Ok(super::index::split_stanzas(&listing).collect())
}

/// Writes the suite's indexes from `stanzas` (every package of the suite) and signs the new
/// `Release`.
pub fn index(root: &Path, suite: &str, origin: &str, signer: &Signer, stanzas: &[String]) -> anyhow::Result<()> {
    // Sorted by package, version and file, whatever order they were added in.
    let mut stanzas: Vec<(String, String)> = stanzas
        .iter()
        .map(|s| {
            let arch = s.lines().find_map(|l| l.strip_prefix("Architecture:")).unwrap_or("").trim().to_string();
            (arch, s.clone())
        })
        .collect();
    stanzas.sort_by(|a, b| a.1.cmp(&b.1));

    let suite_root = root.join(suite_dir(suite));
    for arch in ARCHITECTURES {
        let text: Vec<&str> =
            stanzas.iter().filter(|(a, _)| a == arch || a == "all").map(|(_, s)| s.as_str()).collect();
        let text = text.join("\n");
        let dir = suite_root.join(COMPONENT).join(format!("binary-{arch}"));
        let indexes = [
            ("Packages", text.as_bytes().to_vec()),
            ("Packages.gz", gzip(text.as_bytes())?),
            ("Packages.xz", xz(text.as_bytes())?),
        ];
        for (name, bytes) in &indexes {
            write_file(&dir.join(name), bytes)?;
        }
        let current: Vec<&[u8]> = indexes.iter().map(|(_, bytes)| bytes.as_slice()).collect();
        by_hash::store(&dir, &current, super::INDEX_GENERATIONS_KEPT)?;
    }

    for f in apt_signed_files(suite) {
        remove_if_exists(&root.join(f))?;
    }
    let field = |name: &str, value: &str| format!("APT::FTPArchive::Release::{name}={value}");
    let release = Tool::new("apt-ftparchive")
        .args(["-o", &field("Origin", origin), "-o", &field("Label", origin)])
        .args(["-o", &field("Suite", suite), "-o", &field("Codename", suite)])
        .args(["-o", &field("Architectures", &ARCHITECTURES.join(" ")), "-o", &field("Components", COMPONENT)])
        .args(["-o", &field("Description", &format!("{origin} packages ({suite})"))])
        .args(["-o", &field("Acquire-By-Hash", "yes")])
        .args(["release", "."])
        .dir(&suite_root)
        .run()?;
    let release_path = suite_root.join("Release");
    write_file(&release_path, &release)?;
    signer.clearsign(&release_path, &suite_root.join("InRelease"))?;
    signer.detach_sign(&release_path, &suite_root.join("Release.gpg"))?;
    Ok(())
}

/// gzip without a name or time in the header, so the same index compresses to the same bytes.
fn gzip(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

fn xz(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(data)?;
    Ok(enc.finish()?)
}
