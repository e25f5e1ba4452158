//! Signed apt and yum repositories, updated release after release (`cargo xtask publish`).
//!
//! A repository directory holds, for each suite (`stable`, `testing`, …):
//!
//! ```text
//! pool/<suite>/main/<package>/[epoch-<N>/]<package>_<version>_<arch>.deb
//! dists/<suite>/{Release,InRelease,Release.gpg}, dists/<suite>/main/binary-{all,amd64}/Packages{,.gz,.xz}
//! rpm/<suite>/[epoch-<N>/]<package>-<version>-<release>.<arch>.rpm (signed), rpm/<suite>/repodata/ (+ repomd.xml.asc)
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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

pub mod apt;
mod by_hash;
pub mod client;
pub mod gpg;
mod index;
pub mod interrupt;
pub mod layout;
pub mod pool;
mod rpm_keys;
pub mod staging;
mod tools;
pub mod yum;

pub use gpg::KeySource;
use pool::{Format, PackageFile};
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
/// leaves it untouched when it already holds them. On any error, and when interrupted by
/// SIGINT, SIGTERM or SIGHUP before the swap, the repository is as it was.
pub fn publish(request: &PublishRequest) -> anyhow::Result<PublishReport> {
    // Declared first, dropped last: a signal during the cleanup below cannot cut it short.
    let _signals = interrupt::catch();
    check_suite(&request.suite)?;
    if request.prune == Some(0) {
        bail!("--prune 0 would remove every package: give the number of versions to keep (1 or more)");
    }
    let base_url = request.base_url.trim_end_matches('/').to_string();
    if base_url.is_empty() {
        bail!(
            "--base-url is empty: give the URL the repository will be served at (e.g. https://repo.example.com/bmpack)"
        );
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
    let suite = request.suite.as_str();

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

    // What to do, decided on the live tree, which nothing below changes before the swap.
    let debs = Plan::make(&repo_dir, suite, Format::Deb, &incoming, request.prune)?;
    let rpms = Plan::make(&repo_dir, suite, Format::Rpm, &incoming, request.prune)?;
    let client_files = [
        (client::APT_KEYRING.to_string(), signer.export_public(false)?),
        (client::RPM_KEY.to_string(), rpm_key_file(&repo_dir, &rpms, &signer)?),
        (client::sources_file_name(suite), client::sources_file(&base_url, suite).into_bytes()),
        (client::repo_file_name(suite), client::repo_file(&base_url, suite).into_bytes()),
    ];
    let changed_files: Vec<&(String, Vec<u8>)> = client_files
        .iter()
        .filter(|(name, bytes)| std::fs::read(repo_dir.join(name)).ok().as_deref() != Some(bytes.as_slice()))
        .collect();
    let signed = |files: &[PathBuf]| files.iter().all(|f| repo_dir.join(f).is_file());
    let apt_resign = debs.changed() || keys_changed || !signed(&layout::apt_signed_files(suite));
    let yum_resign = rpms.changed() || keys_changed || !signed(&layout::yum_signed_files(suite));

    let mut report = PublishReport {
        changed: apt_resign || yum_resign || !changed_files.is_empty(),
        added: Vec::new(),
        pruned: Vec::new(),
        already_present: Vec::new(),
        fingerprints: signer.fingerprints().to_vec(),
        instructions: client::instructions(&base_url, suite, signer.fingerprints()),
    };
    for plan in [&debs, &rpms] {
        let text = |p: &PathBuf| p.to_string_lossy().into_owned();
        report.added.extend(plan.add.iter().map(|(_, target)| text(target)));
        report.pruned.extend(plan.prune.iter().chain(&plan.pruned_at_once).map(text));
        report.already_present.extend(plan.already.iter().map(text));
    }
    if !report.changed {
        // Nothing to stage: the repository stays byte-identical (no new Release date).
        return Ok(report);
    }

    interrupt::check()?;
    let written = [
        PathBuf::from(layout::POOL),
        PathBuf::from(layout::DISTS),
        PathBuf::from(layout::RPMS),
        PathBuf::from(client::APT_KEYRING),
        PathBuf::from(client::RPM_KEY),
        PathBuf::from(client::sources_file_name(suite)),
        PathBuf::from(client::repo_file_name(suite)),
    ];
    let stage = Staging::begin(&repo_dir, &lock, &written)?;
    let root = stage.path().to_path_buf();

    // The apt side (pool/, dists/) and the yum side (rpm/) are prepared side by side in the
    // staging tree (they share nothing but the signer's agent); nothing reaches the live tree
    // until `commit`.
    debs.apply(&root)?;
    rpms.apply(&root)?;
    let apt_side = || -> anyhow::Result<()> {
        if apt_resign {
            let mut stanzas = debs.kept_stanzas();
            stanzas.extend(apt::stanzas_for(&root, &debs.add.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>())?);
            apt::index(&root, suite, ORIGIN, &signer, &stanzas)?;
        }
        Ok(())
    };
    let yum_side = || -> anyhow::Result<()> {
        let new_rpms: Vec<PathBuf> = rpms.add.iter().map(|(_, target)| root.join(target)).collect();
        yum::sign(&new_rpms, &signer)?;
        if yum_resign {
            yum::index(&root, suite, &signer)?;
        }
        Ok(())
    };
    let (apt_done, yum_done) = std::thread::scope(|scope| {
        let yum = scope.spawn(yum_side);
        (apt_side(), yum.join().expect("the yum side does not panic"))
    });
    apt_done?;
    yum_done?;
    for (name, bytes) in changed_files {
        write_file(&root.join(name), bytes)?;
    }
    interrupt::check()?;
    stage.commit()?;
    Ok(report)
}

/// What a publish does to the packages of one kind, decided on the live repository from the
/// suite's index: no package file is read but the incoming ones (and, for an incoming package
/// already published, the published file).
struct Plan {
    kind: Format,
    /// The folder of the suite's packages (`pool/<suite>/main`, `rpm/<suite>`).
    dir: PathBuf,
    published: Vec<index::Published>,
    /// Incoming packages to copy in, and where (relative to the repository).
    add: Vec<(PackageFile, PathBuf)>,
    /// Published files `--prune` removes.
    prune: Vec<PathBuf>,
    /// Incoming packages `--prune` leaves out at once (older than what it keeps).
    pruned_at_once: Vec<PathBuf>,
    /// Incoming packages already published with the same content.
    already: Vec<PathBuf>,
}

impl Plan {
    fn make(
        live: &Path,
        suite: &str,
        kind: Format,
        incoming: &[PackageFile],
        prune: Option<usize>,
    ) -> anyhow::Result<Plan> {
        let published = index::published(live, suite, kind)?;
        check_published_files(live, suite, kind, &published)?;
        let dir = match kind {
            Format::Deb => layout::pool_dir(suite),
            Format::Rpm => layout::rpm_dir(suite),
        };
        let mut plan = Plan {
            kind,
            dir,
            published,
            add: Vec::new(),
            prune: Vec::new(),
            pruned_at_once: Vec::new(),
            already: Vec::new(),
        };
        let mut seen = BTreeSet::new();
        for new in incoming.iter().filter(|p| p.kind == kind) {
            let target = new.place(suite);
            if !seen.insert(target.clone()) {
                bail!(
                    "two incoming files are the same package {} {} ({}): keep one",
                    new.name,
                    new.version,
                    new.path.display()
                );
            }
            let same_package =
                plan.published.iter().find(|p| p.name == new.name && p.version == new.version && p.arch == new.arch);
            if let Some(old) = same_package {
                let same = match kind {
                    Format::Deb => old.sha256.eq_ignore_ascii_case(&hex(&Sha256::digest(std::fs::read(&new.path)?))),
                    Format::Rpm => pool::content_digest(kind, &live.join(&old.path))? == new.content_digest()?,
                };
                if !same {
                    bail!(
                        "{} {} ({}) is already in the repository as {} with different content: a repository must never \
                         serve two different files under one name. Publish it with a new revision (`cargo xtask package --revision N`)",
                        new.name,
                        new.version,
                        new.path.display(),
                        old.path.display()
                    );
                }
                plan.already.push(old.path.clone());
                continue;
            }
            if let Some(other) = plan.published.iter().find(|p| p.path == target) {
                bail!(
                    "{} {} would be written at {}, where {} {} is published: a published file is never overwritten",
                    new.name,
                    new.version,
                    target.display(),
                    other.name,
                    other.version
                );
            }
            new.verify()?;
            plan.add.push((new.clone(), target));
        }
        if let Some(keep) = prune {
            let versioned = |name: &str, arch: &str, version: &str, path: &Path| pool::Versioned {
                name: name.to_string(),
                arch: arch.to_string(),
                version: version.to_string(),
                path: path.to_path_buf(),
            };
            let all: Vec<pool::Versioned> = plan
                .published
                .iter()
                .map(|p| versioned(&p.name, &p.arch, &p.version, &p.path))
                .chain(plan.add.iter().map(|(p, target)| versioned(&p.name, &p.arch, &p.version, target)))
                .collect();
            for path in pool::prune_plan(kind, &all, keep) {
                if plan.add.iter().any(|(_, target)| *target == path) {
                    plan.add.retain(|(_, target)| *target != path);
                    plan.pruned_at_once.push(path);
                } else {
                    plan.prune.push(path);
                }
            }
        }
        Ok(plan)
    }

    fn changed(&self) -> bool {
        !self.add.is_empty() || !self.prune.is_empty()
    }

    /// Removes the pruned files and copies the new ones into the staging tree at `root`.
    fn apply(&self, root: &Path) -> anyhow::Result<()> {
        for relative in &self.prune {
            let path = root.join(relative);
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            // The package's and epoch's folders, once empty; never the suite's.
            for folder in relative.ancestors().skip(1).take_while(|f| *f != self.dir && f.starts_with(&self.dir)) {
                let _ = std::fs::remove_dir(root.join(folder)); // only succeeds when empty
            }
        }
        for (new, relative) in &self.add {
            interrupt::check()?;
            let target = root.join(relative);
            let mut tmp = target.clone().into_os_string();
            tmp.push(".tmp");
            std::fs::create_dir_all(target.parent().expect("a package path has a parent"))?;
            std::fs::copy(&new.path, &tmp)
                .with_context(|| format!("copying {} into the repository", new.path.display()))?;
            std::fs::rename(&tmp, &target).with_context(|| format!("renaming into {}", target.display()))?;
        }
        Ok(())
    }

    /// The apt stanzas of the published packages that stay.
    fn kept_stanzas(&self) -> Vec<String> {
        debug_assert_eq!(self.kind, Format::Deb);
        self.published.iter().filter(|p| !self.prune.contains(&p.path)).map(|p| p.stanza.clone()).collect()
    }
}

/// Every package file of the suite must be one its index lists, as it was published: a file
/// that no publish put there (copied by hand, left by another tool) would otherwise be indexed
/// and signed without ever being checked.
fn check_published_files(live: &Path, suite: &str, kind: Format, published: &[index::Published]) -> anyhow::Result<()> {
    let (dir, index_file) = match kind {
        Format::Deb => (layout::pool_dir(suite), layout::deb_index(suite)),
        Format::Rpm => (layout::rpm_dir(suite), layout::rpm_dir(suite).join("repodata/repomd.xml")),
    };
    let listed: BTreeMap<&Path, &index::Published> = published.iter().map(|p| (p.path.as_path(), p)).collect();
    let mut strays = Vec::new();
    for file in pool::find_files(&live.join(&dir), kind.as_str())? {
        let relative = file.strip_prefix(live).expect("found under the repository");
        match listed.get(relative) {
            None => strays.push(file.display().to_string()),
            Some(p) if std::fs::metadata(&file)?.len() != p.size => bail!(
                "{} is not the file that was published ({} bytes listed in {}, {} on disk): restore it from a backup, \
                 or from the output of the `cargo xtask package` run that built it",
                file.display(),
                p.size,
                live.join(&index_file).display(),
                std::fs::metadata(&file)?.len()
            ),
            Some(_) => {}
        }
    }
    if !strays.is_empty() {
        bail!(
            "{} in the repository but listed in no index ({}), so no publish put {} there: remove {}, or publish \
             through `cargo xtask publish --from DIR` what should be published (publish never signs a file it did not check)",
            strays.join(", "),
            live.join(&index_file).display(),
            if strays.len() == 1 { "it" } else { "them" },
            if strays.len() == 1 { "it" } else { "them" },
        );
    }
    if let Some(missing) = published.iter().find(|p| !live.join(&p.path).is_file()) {
        bail!(
            "{} lists {}, which is missing: restore it from a backup, or from the output of the `cargo xtask package` \
             run that built it",
            live.join(&index_file).display(),
            live.join(&missing.path).display()
        );
    }
    Ok(())
}

/// `RPM-GPG-KEY-…`: the signing keys, and any other key of the live file that still signs an rpm
/// the suite keeps (rpm verifies each package with the key that signed it; after a key
/// rotation, the packages published before it keep their signature). The rpms' signatures are
/// read only when the live file holds such a key.
fn rpm_key_file(live: &Path, rpms: &Plan, signer: &gpg::Signer) -> anyhow::Result<Vec<u8>> {
    let mut armored = signer.export_public(true)?;
    let previous = std::fs::read_to_string(live.join(client::RPM_KEY)).unwrap_or_default();
    if previous.as_bytes() == armored.as_slice() {
        return Ok(armored);
    }
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
                for p in rpms.published.iter().filter(|p| !rpms.prune.contains(&p.path)) {
                    ids.extend(rpm_keys::signing_key_ids(&live.join(&p.path))?);
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
    for kind in [Format::Deb, Format::Rpm] {
        let dir = from.join(kind.as_str());
        if dir.is_dir() {
            for path in pool::find_files(&dir, kind.as_str())? {
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
    let sums = from.join(crate::package_format::CHECKSUMS_FILE);
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
