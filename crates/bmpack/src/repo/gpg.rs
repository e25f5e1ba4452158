//! The signing keys: found by fingerprint in the user's keyring, or imported from key files into
//! a temporary keyring that is deleted afterwards. Everything that signs goes through `Signer`.
//!
//! Several keys sign at once while keys are rotated: each index signature (`InRelease`,
//! `Release.gpg`, `repomd.xml.asc`) then carries one signature per key, and apt (gpgv, sqv) and
//! dnf accept it when any of them is by a key they trust. A package can carry one signature
//! only for the rpm that BlueMind's systems run (rpm 4 refuses a package if any of its
//! signatures is by a key it lacks), so packages are signed by the first key.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::tools::Tool;

/// Where the secret key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A fingerprint (or anything gpg accepts as a user ID) of a secret key in the user's
    /// keyring (`$GNUPGHOME`, or `~/.gnupg`).
    Fingerprint(String),
    /// A file holding the secret key (`gpg --export-secret-keys --armor`), without passphrase:
    /// it is imported into a temporary keyring where nobody can type one.
    File(PathBuf),
}

pub struct Signer {
    /// `None`: the user's own keyring.
    homedir: Option<PathBuf>,
    /// Keeps the temporary keyring alive; removed on drop.
    temp: Option<TempKeyring>,
    /// The primary keys' fingerprints, in the order given; the first signs the packages.
    fingerprints: Vec<String>,
}

impl Signer {
    /// The keys of `sources`, all from the user's keyring or all from key files.
    pub fn open_all(sources: &[KeySource]) -> anyhow::Result<Self> {
        let Some(first) = sources.first() else {
            bail!("no signing key: give one with --key FINGERPRINT or --key-file FILE")
        };
        let mut signer = Signer::open(first)?;
        for source in &sources[1..] {
            let fingerprint = match (source, &signer.homedir) {
                (KeySource::Fingerprint(id), None) => signer.find_secret(id)?,
                (KeySource::File(path), Some(_)) => signer.import(path)?,
                _ => bail!("give every signing key the same way: all with --key (your keyring) or all with --key-file"),
            };
            if signer.fingerprints.contains(&fingerprint) {
                bail!("the key {fingerprint} is given twice: give each signing key once");
            }
            signer.fingerprints.push(fingerprint);
        }
        Ok(signer)
    }

    pub fn open(source: &KeySource) -> anyhow::Result<Self> {
        match source {
            KeySource::Fingerprint(id) => {
                let mut signer = Signer { homedir: None, temp: None, fingerprints: Vec::new() };
                let fingerprint = signer.find_secret(id)?;
                signer.fingerprints.push(fingerprint);
                Ok(signer)
            }
            KeySource::File(path) => {
                let temp = TempKeyring::new()?;
                let mut signer =
                    Signer { homedir: Some(temp.dir.path().to_path_buf()), temp: Some(temp), fingerprints: Vec::new() };
                let fingerprint = signer.import(path)?;
                signer.fingerprints.push(fingerprint);
                Ok(signer)
            }
        }
    }

    /// The one secret key `id` names in the user's keyring.
    fn find_secret(&self, id: &str) -> anyhow::Result<String> {
        let found = self.secret_keys(Some(id))?;
        Ok(match found.as_slice() {
            [one] => one.clone(),
            [] => bail!(
                "no secret key `{id}` in your gpg keyring ({}): list yours with `gpg --list-secret-keys`, \
                         or give the key as a file with --key-file",
                std::env::var("GNUPGHOME").unwrap_or_else(|_| "~/.gnupg".into())
            ),
            many => {
                bail!("`{id}` names {} secret keys ({}): give the full fingerprint of one", many.len(), many.join(", "))
            }
        })
    }

    /// Imports the one secret key of a key file into the temporary keyring.
    fn import(&self, path: &Path) -> anyhow::Result<String> {
        if !path.is_file() {
            bail!(
                "the key file {} does not exist: give the file written by `gpg --export-secret-keys --armor FINGERPRINT`",
                path.display()
            );
        }
        let before = self.secret_keys(None)?;
        self.gpg()
            .arg("--import")
            .arg(path)
            .run()
            .with_context(|| format!("importing the key file {}", path.display()))?;
        let new: Vec<String> = self.secret_keys(None)?.into_iter().filter(|f| !before.contains(f)).collect();
        match new.as_slice() {
            [one] => Ok(one.clone()),
            [] if !before.is_empty() && self.fingerprints_in(path)?.iter().any(|f| before.contains(f)) => {
                bail!("the key file {} holds a key given already: give each signing key once", path.display())
            }
            [] => bail!(
                "the key file {} holds no secret key: export one with `gpg --export-secret-keys --armor FINGERPRINT > FILE`",
                path.display()
            ),
            many => bail!(
                "the key file {} holds {} secret keys ({}): export only the signing one",
                path.display(),
                many.len(),
                many.join(", ")
            ),
        }
    }

    /// The first key's fingerprint: the one that signs the packages.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprints[0]
    }

    /// Every signing key's fingerprint, the first first.
    pub fn fingerprints(&self) -> &[String] {
        &self.fingerprints
    }

    /// The keyring directory to hand to other programs (rpmsign's `%_gpg_path`); `None` for the
    /// user's default keyring.
    pub fn homedir(&self) -> Option<&Path> {
        self.homedir.as_deref()
    }

    fn gpg(&self) -> Tool {
        let mut t = Tool::new("gpg");
        if let Some(h) = &self.homedir {
            t = t.arg("--homedir").arg(h);
        }
        t.args(["--batch", "--no-tty", "--yes"])
    }

    fn secret_keys(&self, id: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut t = self.gpg().args(["--with-colons", "--list-secret-keys"]);
        if let Some(id) = id {
            t = t.arg("--").arg(id);
        }
        let out = t.output()?;
        // gpg exits 2 when nothing matches: that is "no key", not a failure.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fingerprints = Vec::new();
        let mut after_sec = false;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.first() {
                Some(&"sec") => after_sec = true,
                Some(&"fpr") if after_sec => {
                    fingerprints.push(fields.get(9).unwrap_or(&"").to_string());
                    after_sec = false;
                }
                Some(&"ssb") | Some(&"pub") | Some(&"sub") => after_sec = false,
                _ => {}
            }
        }
        Ok(fingerprints)
    }

    fn signing(&self) -> Tool {
        let mut t = self.gpg();
        for fingerprint in &self.fingerprints {
            t = t.args(["--local-user", fingerprint]);
        }
        let t = t.args(["--digest-algo", "SHA512"]);
        if self.temp.is_some() {
            // Nobody can type a passphrase for a key file's temporary keyring: fail, don't wait.
            t.args(["--pinentry-mode", "error"])
        } else {
            t
        }
    }

    /// A clearsigned copy of `input` (apt's `InRelease`).
    pub fn clearsign(&self, input: &Path, output: &Path) -> anyhow::Result<()> {
        self.signing()
            .arg("--clearsign")
            .arg("--output")
            .arg(output)
            .arg(input)
            .run()
            .with_context(|| self.cannot_sign())?;
        Ok(())
    }

    /// An armored detached signature of `input` (`Release.gpg`, `repomd.xml.asc`).
    pub fn detach_sign(&self, input: &Path, output: &Path) -> anyhow::Result<()> {
        self.signing()
            .args(["--armor", "--detach-sign", "--output"])
            .arg(output)
            .arg(input)
            .run()
            .with_context(|| self.cannot_sign())?;
        Ok(())
    }

    fn cannot_sign(&self) -> String {
        let keys = self.fingerprints.join(", ");
        if self.temp.is_some() {
            format!(
                "the key {keys} cannot sign: a --key-file key must have no passphrase (or use --key with your own keyring, whose agent can ask for it)"
            )
        } else {
            format!("the key {keys} cannot sign (is it expired, or is its passphrase refused?)")
        }
    }

    /// The primary-key fingerprints of the keys in a key file (binary or armored).
    pub fn fingerprints_in(&self, path: &Path) -> anyhow::Result<Vec<String>> {
        let text = self.gpg().args(["--with-colons", "--show-keys"]).arg(path).run_text()?;
        let mut fingerprints = Vec::new();
        let mut after_pub = false;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.first() {
                Some(&"pub") | Some(&"sec") => after_pub = true,
                Some(&"fpr") if after_pub => {
                    fingerprints.push(fields.get(9).unwrap_or(&"").to_string());
                    after_pub = false;
                }
                Some(&"sub") | Some(&"uid") => after_pub = false,
                _ => {}
            }
        }
        Ok(fingerprints)
    }

    /// The public keys, binary (apt's `Signed-By` keyring: the keys one after the other) or
    /// armored (`RPM-GPG-KEY-…`: one armored block per key, which `rpm --import` and dnf read).
    pub fn export_public(&self, armored: bool) -> anyhow::Result<Vec<u8>> {
        let mut all = Vec::new();
        for fingerprint in &self.fingerprints {
            let mut t = self.gpg().args(["--export-options", "export-minimal", "--export"]);
            if armored {
                t = t.arg("--armor");
            }
            let key = t.arg(fingerprint).run()?;
            if key.is_empty() {
                bail!("gpg exported nothing for the key {fingerprint}");
            }
            all.extend(key);
        }
        Ok(all)
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            stop_agent(t.dir.path());
        }
    }
}

/// The prefix of temporary keyrings in the temporary folder.
const TEMP_KEYRING_PREFIX: &str = "bmpack-gpg-";
/// The file a temporary keyring's owner holds locked (flock) while it uses the keyring.
const IN_USE: &str = ".in-use";

/// A temporary keyring for key files: `bmpack-gpg-XXXX` in the temporary folder (mode 0700),
/// holding the imported private keys while a publish runs, deleted when dropped. A publish
/// killed outright (SIGKILL, a power cut) leaves it behind: it is recognised by its `.in-use`
/// file, which nobody holds locked any more (no process ID is trusted), and the next publish
/// stops its agent and deletes it.
struct TempKeyring {
    dir: tempfile::TempDir,
    _in_use: std::fs::File,
}

impl TempKeyring {
    fn new() -> anyhow::Result<TempKeyring> {
        remove_stale_keyrings();
        let dir = tempfile::Builder::new()
            .prefix(TEMP_KEYRING_PREFIX)
            .tempdir()
            .context("creating a temporary gpg keyring")?;
        // Locked before it appears under its name: another publish that looks for stale
        // keyrings between the two steps would otherwise find it unlocked and delete it.
        let unnamed = dir.path().join(format!("{IN_USE}.new"));
        let in_use = std::fs::File::create(&unnamed).context("creating a temporary gpg keyring")?;
        in_use.lock().context("locking the temporary gpg keyring")?;
        std::fs::rename(&unnamed, dir.path().join(IN_USE)).context("creating a temporary gpg keyring")?;
        Ok(TempKeyring { dir, _in_use: in_use })
    }
}

/// Deletes the temporary keyrings of publishes that were killed (see [`TempKeyring`]).
fn remove_stale_keyrings() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(TEMP_KEYRING_PREFIX) || !path.is_dir() {
            continue;
        }
        // One being created right now has no lock file yet: left alone unless it is old.
        let stale = match std::fs::File::open(path.join(IN_USE)) {
            Ok(file) => file.try_lock().is_ok(),
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(60))),
        };
        if stale {
            stop_agent(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Stops the gpg-agent of a temporary keyring, which would otherwise outlive it (holding the
/// private key in memory), and removes its socket folder. Run directly, not through `Tool`: it
/// is cleanup, and must run even when the publish is being interrupted.
fn stop_agent(home: &Path) {
    for what in ["--kill", "--remove-socketdir"] {
        let mut gpgconf = std::process::Command::new("gpgconf");
        gpgconf.arg("--homedir").arg(home).arg(what);
        if what == "--kill" {
            gpgconf.arg("all");
        }
        let _ = gpgconf
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
