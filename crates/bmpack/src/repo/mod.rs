//! Signed apt and yum repositories, updated release after release (`cargo xtask publish`).
//!
//! A repository directory holds, for each suite (`stable`, `testing`, …):
//!
//! ```text
//! pool/<suite>/main/<package>/<package>_<version>_<arch>.deb
//! dists/<suite>/{Release,InRelease,Release.gpg}, dists/<suite>/main/binary-{all,amd64}/Packages{,.gz,.xz}
//! rpm/<suite>/<package>-<version>-<release>.<arch>.rpm (signed), rpm/<suite>/repodata/ (+ repomd.xml.asc)
//! bmpack-archive-keyring.gpg, RPM-GPG-KEY-bmpack, bmpack-<suite>.sources, bmpack-<suite>.repo
//! ```
//!
//! Each suite has its own pool so that publishing to `testing` never shows up in `stable`.
//! Index formats are written by the distributions' own tools (`apt-ftparchive`,
//! `createrepo_c`), signatures by `gpg` and `rpmsign`.
//!
//! Mirrors and caching proxies copy a repository file by file, and a client can read the signed
//! file (`InRelease`, `repomd.xml`) of one publish and the indexes after the next one. So the
//! indexes of the last [`INDEX_GENERATIONS_KEPT`] publishes stay servable under names that carry
//! their hash: apt's `by-hash/` (`Acquire-By-Hash: yes`) and createrepo_c's hash-named repodata.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

pub mod apt;
mod by_hash;
pub mod client;
pub mod gpg;
pub mod pool;
mod rpm_keys;
pub mod staging;
mod tools;
pub mod yum;

pub use gpg::KeySource;
use pool::{Kind, PackageFile};
use staging::{Staging, write_file};

/// How many publishes' indexes stay servable (the current one included), see above.
pub const INDEX_GENERATIONS_KEPT: usize = 3;

/// What `publish` does.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The repository directory (created if missing).
    pub repo: PathBuf,
    /// Where `cargo xtask package` wrote `deb/*.deb`, `rpm/*.rpm` and `SHA256SUMS`.
    pub from: PathBuf,
    /// The signing keys, all from the user's keyring or all from files. Several while keys are
    /// rotated: the first must be one the repository is signed with already, and signs the
    /// packages; every key signs the indexes, and the client files carry every key.
    pub keys: Vec<KeySource>,
    pub suite: String,
    /// Keep only the newest N versions of each package.
    pub prune: Option<usize>,
    /// The URL the repository will be served at, written into the client configuration.
    pub base_url: String,
}

/// What a publish changed.
#[derive(Debug, Clone)]
pub struct PublishReport {
    /// False when the repository already held exactly this (it was left untouched).
    pub changed: bool,
    /// Package files added (repository-relative paths).
    pub added: Vec<String>,
    /// Package files removed by `--prune`.
    pub pruned: Vec<String>,
    /// Incoming package files already in the repository with the same content.
    pub already_present: Vec<String>,
    /// The signing keys' fingerprints.
    pub fingerprints: Vec<String>,
    /// Ready-to-paste instructions and configuration for servers.
    pub instructions: String,
}

const ORIGIN: &str = "bmpack";

fn check_suite(suite: &str) -> anyhow::Result<()> {
    let ok = !suite.is_empty()
        && !suite.starts_with('.')
        && suite.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !ok {
        bail!("the suite name `{suite}` is not usable: use letters, digits, `-`, `.` and `_` (e.g. `stable`)");
    }
    Ok(())
}

/// Adds the packages in `request.from` to the repository, re-indexes and re-signs it, or
/// leaves it untouched when it already holds them. On any error the repository is as it was.
pub fn publish(request: &PublishRequest) -> anyhow::Result<PublishReport> {
    check_suite(&request.suite)?;
    if request.prune == Some(0) {
        bail!("--prune 0 would remove every package: give the number of versions to keep (1 or more)");
    }
    let base_url = request.base_url.trim_end_matches('/').to_string();
    if base_url.is_empty() {
        bail!("--base-url is empty: give the URL the repository will be served at (e.g. https://repo.example.com/bmpack)");
    }
    // A repository reached through a symbolic link (`/srv/bmpack` → `/data/bmpack`) is
    // updated where it lives; the link stays a link.
    let repo_dir = match std::fs::symlink_metadata(&request.repo) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&request.repo)
            .with_context(|| format!("{} is a symbolic link to nowhere", request.repo.display()))?,
        _ => request.repo.clone(),
    };
    let lock = staging::RepoLock::acquire(&repo_dir)?;
    let incoming = incoming_packages(&request.from)?;
    let signer = gpg::Signer::open_all(&request.keys)?;
    let keyring = signer.export_public(false)?;
    let armored_key = signer.export_public(true)?;

    // The keys servers trust now, compared by fingerprint: the same key with a new expiry date
    // or user ID exports other bytes, and the files are then simply rewritten.
    let existing_keyring = repo_dir.join(client::APT_KEYRING);
    let trusted = if existing_keyring.is_file() { signer.fingerprints_in(&existing_keyring)? } else { Vec::new() };
    if !trusted.is_empty() && !trusted.iter().any(|f| f == signer.fingerprint()) {
        bail!(
            "{} is signed with another key than {} (servers trust {}, see {}): publishing with a key they do not \
             have would break them all at once. Publish with the repository's key; to change keys, give the current \
             key first and the new one after it (--key-file CURRENT --key-file NEW), and once servers have the new \
             key, publish with the new key alone",
            repo_dir.display(),
            signer.fingerprint(),
            trusted.join(", "),
            existing_keyring.display()
        );
    }
    let keys_changed = {
        let (mut before, mut now) = (trusted.clone(), signer.fingerprints().to_vec());
        before.sort();
        now.sort();
        before != now
    };

    let written = [
        PathBuf::from("pool"),
        PathBuf::from("dists"),
        PathBuf::from("rpm"),
        PathBuf::from(client::APT_KEYRING),
        PathBuf::from(client::RPM_KEY),
        PathBuf::from(client::sources_file_name(&request.suite)),
        PathBuf::from(client::repo_file_name(&request.suite)),
    ];
    let stage = Staging::begin(&repo_dir, &lock, &written)?;
    let root = stage.path().to_path_buf();
    let mut report = PublishReport {
        changed: false,
        added: Vec::new(),
        pruned: Vec::new(),
        already_present: Vec::new(),
        fingerprints: signer.fingerprints().to_vec(),
        instructions: client::instructions(&base_url, &request.suite, signer.fingerprints()),
    };

    // apt first, then yum: each part is fully indexed and signed in the staging tree before
    // the next starts; nothing reaches the live tree until `commit`.
    let apt_changed = merge(&root, &apt::pool_dir(&request.suite), Kind::Deb, &incoming, request.prune, &mut report, |p| {
        Path::new(&p.name).join(&p.file_name)
    })?;
    let apt_signed = apt::signed_files(&request.suite).iter().all(|f| root.join(f).is_file());
    if apt_changed || !apt_signed || keys_changed {
        apt::index(&root, &request.suite, ORIGIN, &signer)?;
    }

    let added_before = report.added.len();
    let yum_changed = merge(&root, &yum::repo_dir(&request.suite), Kind::Rpm, &incoming, request.prune, &mut report, |p| {
        PathBuf::from(&p.file_name)
    })?;
    let new_rpms: Vec<PathBuf> = report.added[added_before..].iter().map(|p| root.join(p)).collect();
    yum::sign(&new_rpms, &signer)?;
    let yum_signed = yum::signed_files(&request.suite).iter().all(|f| root.join(f).is_file());
    if yum_changed || !yum_signed || keys_changed {
        yum::index(&root, &request.suite, &signer)?;
    }

    let mut files_changed = false;
    let rpm_key = rpm_key_file(&root, &request.suite, &signer, armored_key)?;
    let client_files = [
        (client::APT_KEYRING.to_string(), keyring),
        (client::RPM_KEY.to_string(), rpm_key),
        (client::sources_file_name(&request.suite), client::sources_file(&base_url, &request.suite).into_bytes()),
        (client::repo_file_name(&request.suite), client::repo_file(&base_url, &request.suite).into_bytes()),
    ];
    for (name, bytes) in client_files {
        let path = root.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            write_file(&path, &bytes)?;
            files_changed = true;
        }
    }

    report.changed = apt_changed || !apt_signed || yum_changed || !yum_signed || keys_changed || files_changed;
    if report.changed {
        stage.commit()?;
    } else {
        stage.discard()?;
    }
    Ok(report)
}

/// `RPM-GPG-KEY-…`: the signing keys, and any other key of the previous file that still signs
/// an rpm of the suite (rpm verifies each package with the key that signed it; after a key
/// rotation, the packages published before it keep their signature). The rpms' signatures are
/// read only when the previous file holds such a key.
fn rpm_key_file(root: &Path, suite: &str, signer: &gpg::Signer, mut armored: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let previous = std::fs::read_to_string(root.join(client::RPM_KEY)).unwrap_or_default();
    let mut used: Option<BTreeSet<String>> = None;
    for block in rpm_keys::armored_blocks(&previous) {
        let file = tempfile::NamedTempFile::new().context("writing a temporary key file")?;
        std::fs::write(file.path(), &block)?;
        let fingerprints = signer.fingerprints_in(file.path())?;
        if fingerprints.iter().all(|f| signer.fingerprints().contains(f)) {
            continue;
        }
        let used = match &mut used {
            Some(used) => used,
            None => {
                let mut ids = BTreeSet::new();
                for rpm in pool::find_files(&root.join(yum::repo_dir(suite)), "rpm")? {
                    ids.extend(rpm_keys::signing_key_ids(&rpm)?);
                }
                used.insert(ids)
            }
        };
        if fingerprints.iter().any(|f| f.len() >= 16 && used.contains(&f[f.len() - 16..].to_ascii_uppercase())) {
            armored.extend(block.into_bytes());
        }
    }
    Ok(armored)
}

/// Incoming package files, identified and checked against `SHA256SUMS` if present (their
/// payloads are verified when they are copied into the repository).
fn incoming_packages(from: &Path) -> anyhow::Result<Vec<PackageFile>> {
    let mut files = Vec::new();
    for kind in [Kind::Deb, Kind::Rpm] {
        let dir = from.join(kind.extension());
        if dir.is_dir() {
            for path in pool::find_files(&dir, kind.extension())? {
                files.push(PackageFile::read(kind, &path)?);
            }
        }
    }
    if files.is_empty() {
        bail!(
            "no packages in {} (expected deb/*.deb and rpm/*.rpm): run `cargo xtask package` first, or give its output directory with --from",
            from.display()
        );
    }
    let sums = from.join("SHA256SUMS");
    if sums.is_file() {
        let text = std::fs::read_to_string(&sums).with_context(|| format!("reading {}", sums.display()))?;
        for f in &files {
            let relative = f.path.strip_prefix(from).unwrap_or(&f.path).to_string_lossy().into_owned();
            let listed = text.lines().find_map(|l| {
                let (hash, name) = l.split_once(char::is_whitespace)?;
                let name = name.trim_start().trim_start_matches('*');
                (name == relative || name == format!("./{relative}")).then_some(hash)
            });
            if let Some(hash) = listed {
                let actual = hex(&Sha256::digest(std::fs::read(&f.path)?));
                if !hash.eq_ignore_ascii_case(&actual) {
                    bail!(
                        "{} does not match {} (listed {hash}, file has {actual}): the package was changed or damaged after it was built; rebuild it with `cargo xtask package`",
                        f.path.display(),
                        sums.display()
                    );
                }
            }
        }
    }
    Ok(files)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies the incoming packages of `kind` into `dir` (relative to `root`), refuses a file that
/// would replace a different one, and prunes. Returns whether the set of packages changed.
fn merge(
    root: &Path,
    dir: &Path,
    kind: Kind,
    incoming: &[PackageFile],
    prune: Option<usize>,
    report: &mut PublishReport,
    place: impl Fn(&PackageFile) -> PathBuf,
) -> anyhow::Result<bool> {
    let abs_dir = root.join(dir);
    let existing: Vec<PackageFile> = pool::find_files(&abs_dir, kind.extension())?
        .iter()
        .map(|p| PackageFile::read(kind, p))
        .collect::<anyhow::Result<_>>()?;
    let mut changed = false;
    let mut seen = BTreeSet::new();
    for new in incoming.iter().filter(|p| p.kind == kind) {
        let relative = dir.join(place(new));
        if !seen.insert(relative.clone()) {
            bail!("two incoming files are the same package {} ({}): keep one", new.file_name, new.path.display());
        }
        let same_package = existing
            .iter()
            .find(|e| e.name == new.name && e.version == new.version && e.arch == new.arch);
        if let Some(old) = same_package {
            if old.content_digest()? != new.content_digest()? {
                bail!(
                    "{} {} ({}) is already in the repository as {} with different content: a repository must never \
                     serve two different files under one name. Publish it with a new revision (`cargo xtask package --revision N`)",
                    new.name,
                    new.version,
                    new.path.display(),
                    old.path.strip_prefix(root).unwrap_or(&old.path).display()
                );
            }
            report.already_present.push(relative.to_string_lossy().into_owned());
            continue;
        }
        new.verify()?;
        let target = root.join(&relative);
        let mut tmp = target.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::create_dir_all(target.parent().expect("a package path has a parent"))?;
        std::fs::copy(&new.path, &tmp).with_context(|| format!("copying {} into the repository", new.path.display()))?;
        std::fs::rename(&tmp, &target).with_context(|| format!("renaming into {}", target.display()))?;
        report.added.push(relative.to_string_lossy().into_owned());
        changed = true;
    }
    if let Some(keep) = prune {
        let all: Vec<PackageFile> = pool::find_files(&abs_dir, kind.extension())?
            .iter()
            .map(|p| PackageFile::read(kind, p))
            .collect::<anyhow::Result<_>>()?;
        for old in pool::prune_plan(&all, keep)? {
            std::fs::remove_file(&old.path).with_context(|| format!("removing {}", old.path.display()))?;
            if let Some(parent) = old.path.parent()
                && parent != abs_dir
            {
                let _ = std::fs::remove_dir(parent); // only succeeds when empty
            }
            let relative = old.path.strip_prefix(root).unwrap_or(&old.path).to_string_lossy().into_owned();
            report.added.retain(|a| *a != relative);
            report.pruned.push(relative);
            changed = true;
        }
    }
    Ok(changed)
}
