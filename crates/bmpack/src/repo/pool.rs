//! Package files in a repository: what each one is (name, version, architecture, read with
//! dpkg-deb / rpm), where it goes, whether a file already there has the same content, and
//! which versions `--prune` keeps.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::tools::Tool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deb,
    Rpm,
}

impl Kind {
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Deb => "deb",
            Kind::Rpm => "rpm",
        }
    }
}

/// One package file and what it holds.
#[derive(Debug, Clone)]
pub struct PackageFile {
    pub kind: Kind,
    pub path: PathBuf,
    pub name: String,
    /// The full version as the format's tools compare it (`4.8.2-1`, `0:4.8.2-1`).
    pub version: String,
    pub arch: String,
    /// The canonical file name (`name_version_arch.deb`, `name-version-release.arch.rpm`).
    pub file_name: String,
}

/// Characters dpkg and rpm allow in names, versions and architectures; anything else would be
/// unsafe in a file name or in the rpm Lua expression that compares versions.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.~:_".contains(&b))
}

impl PackageFile {
    /// Reads a package's identity (its header or control file).
    pub fn read(kind: Kind, path: &Path) -> anyhow::Result<Self> {
        let context = || format!("{} is not a usable .{} package", path.display(), kind.extension());
        let (name, version, arch, file_name) = match kind {
            Kind::Deb => {
                let text = Tool::new("dpkg-deb")
                    .arg("--field")
                    .arg(path)
                    .args(["Package", "Version", "Architecture"])
                    .run_text()
                    .with_context(context)?;
                let field = |f: &str| -> anyhow::Result<String> {
                    text.lines()
                        .find_map(|l| l.strip_prefix(f).and_then(|r| r.strip_prefix(':')))
                        .map(|v| v.trim().to_string())
                        .with_context(|| format!("{}: the control file has no {f} field", path.display()))
                };
                let (name, version, arch) = (field("Package")?, field("Version")?, field("Architecture")?);
                let upstream = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
                let file_name = format!("{name}_{upstream}_{arch}.deb");
                (name, version, arch, file_name)
            }
            Kind::Rpm => {
                let text = Tool::new("rpm")
                    .args(["--query", "--package", "--nosignature", "--queryformat"])
                    .arg("%{NAME}\\n%{EPOCHNUM}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n")
                    .arg(path)
                    .run_text()
                    .with_context(context)?;
                let lines: Vec<&str> = text.lines().collect();
                let [name, epoch, version, release, arch] = lines.as_slice() else {
                    bail!("{}: rpm printed an unexpected header summary:\n{text}", path.display());
                };
                let file_name = format!("{name}-{version}-{release}.{arch}.rpm");
                (name.to_string(), format!("{epoch}:{version}-{release}"), arch.to_string(), file_name)
            }
        };
        for (what, value) in [("name", &name), ("version", &version), ("architecture", &arch)] {
            if !plain(value) {
                bail!("{}: the package {what} `{value}` has characters dpkg and rpm do not allow", path.display());
            }
        }
        Ok(PackageFile { kind, path: path.to_path_buf(), name, version, arch, file_name })
    }

    /// Reads the whole package, so that a truncated or corrupted file is refused here rather
    /// than by the servers.
    pub fn verify(&self) -> anyhow::Result<()> {
        let context = || format!("{} is not a usable .{} package", self.path.display(), self.kind.extension());
        match self.kind {
            Kind::Deb => Tool::new("dpkg-deb").arg("--contents").arg(&self.path).run().with_context(context)?,
            // Checks the header and payload digests; signatures are ours to add.
            Kind::Rpm => Tool::new("rpm").args(["--checksig", "--nosignature"]).arg(&self.path).run().with_context(context)?,
        };
        Ok(())
    }

    /// The digest of what the package holds. For an rpm this leaves out the signature header,
    /// which signing rewrites: the unsigned build and the signed copy in the repository are
    /// the same package.
    pub fn content_digest(&self) -> anyhow::Result<[u8; 32]> {
        let bytes = std::fs::read(&self.path).with_context(|| format!("reading {}", self.path.display()))?;
        let start = match self.kind {
            Kind::Deb => 0,
            Kind::Rpm => rpm_header_offset(&bytes).with_context(|| format!("{} is not an rpm file", self.path.display()))?,
        };
        Ok(Sha256::digest(&bytes[start..]).into())
    }
}

/// Where the main header starts: after the 96-byte lead and the signature header, which is
/// padded to a multiple of 8 bytes (rpm's file format, "Signature" section).
fn rpm_header_offset(bytes: &[u8]) -> anyhow::Result<usize> {
    const LEAD: usize = 96;
    if bytes.len() < LEAD + 16 || bytes[..4] != [0xed, 0xab, 0xee, 0xdb] {
        bail!("no rpm lead");
    }
    let sig = &bytes[LEAD..];
    if sig[..3] != [0x8e, 0xad, 0xe8] {
        bail!("no signature header after the lead");
    }
    let count = u32::from_be_bytes(sig[8..12].try_into().unwrap()) as usize;
    let store = u32::from_be_bytes(sig[12..16].try_into().unwrap()) as usize;
    let size = 16 + 16 * count + store;
    let offset = LEAD + size.div_ceil(8) * 8;
    if offset > bytes.len() {
        bail!("the signature header runs past the end of the file");
    }
    Ok(offset)
}

/// Compares two versions the way the format's own tool does.
pub fn compare_versions(kind: Kind, a: &str, b: &str) -> anyhow::Result<Ordering> {
    if a == b {
        return Ok(Ordering::Equal);
    }
    match kind {
        Kind::Deb => {
            if Tool::new("dpkg").args(["--compare-versions", a, "eq", b]).test()? {
                Ok(Ordering::Equal)
            } else if Tool::new("dpkg").args(["--compare-versions", a, "gt", b]).test()? {
                Ok(Ordering::Greater)
            } else {
                Ok(Ordering::Less)
            }
        }
        Kind::Rpm => {
            let out = Tool::new("rpm").arg("--eval").arg(format!("%{{lua:print(rpm.vercmp(\"{a}\", \"{b}\"))}}")).run_text()?;
            match out.trim() {
                "-1" => Ok(Ordering::Less),
                "0" => Ok(Ordering::Equal),
                "1" => Ok(Ordering::Greater),
                other => bail!("rpm.vercmp(\"{a}\", \"{b}\") printed `{other}`"),
            }
        }
    }
}

/// The package files `--prune KEEP` removes: all but the newest `keep` versions of each
/// package (per architecture).
pub fn prune_plan(files: &[PackageFile], keep: usize) -> anyhow::Result<Vec<PackageFile>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&PackageFile>> = BTreeMap::new();
    for f in files {
        groups.entry((&f.name, &f.arch)).or_default().push(f);
    }
    let mut removed = Vec::new();
    for (_, mut versions) in groups {
        // Insertion sort, newest first: the comparison runs a tool and can fail.
        let mut sorted: Vec<&PackageFile> = Vec::with_capacity(versions.len());
        for f in versions.drain(..) {
            let mut at = sorted.len();
            for (i, g) in sorted.iter().enumerate() {
                if compare_versions(f.kind, &f.version, &g.version)? == Ordering::Greater {
                    at = i;
                    break;
                }
            }
            sorted.insert(at, f);
        }
        removed.extend(sorted.into_iter().skip(keep).cloned());
    }
    Ok(removed)
}

/// Every `.ext` file under `dir`, recursively, sorted by path.
pub fn find_files(dir: &Path, extension: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == extension) {
            found.push(entry.into_path());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_header_offset_skips_the_padded_signature_header() {
        let mut bytes = vec![0u8; 96];
        bytes[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
        // 1 index entry (16 bytes) + 5 bytes of store: 37 bytes, padded to 40.
        bytes.extend_from_slice(&[0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5]);
        bytes.extend_from_slice(&[0u8; 21]);
        bytes.extend_from_slice(&[0u8; 3]);
        bytes.extend_from_slice(b"HEADER");
        assert_eq!(&bytes[rpm_header_offset(&bytes).unwrap()..], b"HEADER");
        assert!(rpm_header_offset(b"not an rpm").is_err());
    }
}
