//! apt's by-hash layout (`Acquire-By-Hash: yes` in `Release`): each index also stored as
//! `binary-<arch>/by-hash/SHA256/<sha256>` and `…/SHA512/<sha512>`, so that a client holding an
//! `InRelease` from an earlier publish (a mirror or proxy one step behind) still finds the
//! indexes it names. The copies of the last few publishes are kept.
//!
//! Written here rather than by `apt-ftparchive -o APT::FTPArchive::DoByHash=true`: its cleanup
//! in apt 2.6 never prunes the first `binary-*` folder of a suite (so `binary-all` grows
//! forever) and counts the others wrong when a `Release` file is present.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use sha2::{Digest, Sha256, Sha512};

use super::hex;
use super::staging::{set_modified, write_file};

/// The hashes apt may fetch by: it uses the strongest one `Release` lists (SHA512 from apt 1.x on).
type HexDigest = fn(&[u8]) -> String;
const ALGORITHMS: [(&str, HexDigest); 2] =
    [("SHA256", |b| hex(&Sha256::digest(b))), ("SHA512", |b| hex(&Sha512::digest(b)))];

/// Stores the current indexes of `index_dir` (Packages, .gz, .xz) under `by-hash/`, and keeps
/// the copies of the `generations - 1` previous publishes: the newest by modification time (a
/// current copy that already existed is touched, so it counts as new).
pub fn store(index_dir: &Path, current: &[&[u8]], generations: usize) -> anyhow::Result<()> {
    for (algorithm, digest) in ALGORITHMS {
        let dir = index_dir.join("by-hash").join(algorithm);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let names: Vec<String> = current.iter().map(|bytes| digest(bytes)).collect();
        for (name, bytes) in names.iter().zip(current) {
            let path = dir.join(name);
            if path.is_file() {
                set_modified(&path, SystemTime::now())?;
            } else {
                write_file(&path, bytes)?;
            }
        }
        let mut earlier: Vec<(SystemTime, std::path::PathBuf)> = fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .filter(|e| !names.iter().any(|n| e.file_name().to_str() == Some(n.as_str())))
            .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH), e.path()))
            .collect();
        earlier.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, old) in earlier.iter().skip(generations.saturating_sub(1) * current.len()) {
            fs::remove_file(old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    Ok(())
}
