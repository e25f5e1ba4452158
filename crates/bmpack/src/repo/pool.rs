//! Package files in a repository: what each one is (name, version, architecture, read from its
//! control file or header here, without a process per package), whether it is whole, where it goes, whether a file
//! already there has the same content, and which versions `--prune` keeps (ordered as dpkg and
//! rpm order them, compared here too).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

pub use crate::package_format::Format;
use crate::version_order::{compare_versions, split_epoch};

/// One package file and what it holds.
#[derive(Debug, Clone)]
pub struct PackageFile {
    pub kind: Format,
    pub path: PathBuf,
    pub name: String,
    /// The full version, as the format's tools compare it: dpkg's `Version` without a zero
    /// epoch (`4.8.2-1`, `1:4.8.2-1`), rpm's `epoch:version-release` (`0:4.8.2-1`).
    pub version: String,
    pub arch: String,
}

/// Characters dpkg and rpm allow in names, versions and architectures; anything else would be
/// unsafe in a file name.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.~:_^".contains(&b))
}

/// dpkg's `Version`, with `0:` (the same as no epoch) left out, so that versions compare as text.
pub fn deb_version(version: &str) -> String {
    version.strip_prefix("0:").unwrap_or(version).to_string()
}

impl PackageFile {
    /// Reads a package's identity (its control file or header).
    pub fn read(kind: Format, path: &Path) -> anyhow::Result<Self> {
        let context = || format!("{} is not a usable .{} package", path.display(), kind.as_str());
        let (name, version, arch) = match kind {
            Format::Deb => {
                let control = deb_control(path).with_context(context)?;
                let field = |f: &str| -> anyhow::Result<String> {
                    control
                        .lines()
                        .find_map(|l| l.strip_prefix(f).and_then(|r| r.strip_prefix(':')))
                        .map(|v| v.trim().to_string())
                        .with_context(|| format!("{}: the control file has no {f} field", path.display()))
                };
                (field("Package")?, deb_version(&field("Version")?), field("Architecture")?)
            }
            Format::Rpm => {
                let meta = rpm::PackageMetadata::open(path).with_context(context)?;
                let text = |r: Result<&str, rpm::Error>, what: &str| -> anyhow::Result<String> {
                    r.map(str::to_string).with_context(|| format!("{}: the rpm header has no {what}", path.display()))
                };
                let epoch = meta.get_epoch().unwrap_or(0);
                let version = format!(
                    "{epoch}:{}-{}",
                    text(meta.get_version(), "version")?,
                    text(meta.get_release(), "release")?
                );
                (text(meta.get_name(), "name")?, version, text(meta.get_arch(), "architecture")?)
            }
        };
        for (what, value) in [("name", &name), ("version", &version), ("architecture", &arch)] {
            if !plain(value) {
                bail!("{}: the package {what} `{value}` has characters dpkg and rpm do not allow", path.display());
            }
        }
        Ok(PackageFile { kind, path: path.to_path_buf(), name, version, arch })
    }

    /// Where the package goes in the repository, relative to its root. A package with an epoch
    /// goes into an `epoch-N/` folder: its file name (`name_version_arch.deb`,
    /// `name-version-release.arch.rpm`, as dpkg and rpm name them) leaves the epoch out, and
    /// `1:2.0-1` must not land on the file of `2.0-1`.
    pub fn place(&self, suite: &str) -> PathBuf {
        let (epoch, rest) = split_epoch(&self.version);
        let (dir, file) = match self.kind {
            Format::Deb => {
                (super::layout::pool_dir(suite).join(&self.name), format!("{}_{rest}_{}.deb", self.name, self.arch))
            }
            Format::Rpm => (super::layout::rpm_dir(suite), format!("{}-{rest}.{}.rpm", self.name, self.arch)),
        };
        match epoch {
            0 => dir.join(file),
            n => dir.join(format!("epoch-{n}")).join(file),
        }
    }

    /// Reads the whole package, so that a truncated or corrupted file is refused here rather
    /// than by the servers: a `.deb` through the end of its members (gzip, xz and zstd check
    /// their own integrity), an rpm against the header and payload digests its header carries.
    pub fn verify(&self) -> anyhow::Result<()> {
        let context = || format!("{} is not a usable .{} package", self.path.display(), self.kind.as_str());
        match self.kind {
            Format::Deb => verify_deb(&self.path).with_context(context),
            Format::Rpm => rpm::Package::open(&self.path)
                .and_then(|p| p.verify_digests())
                .map_err(anyhow::Error::from)
                .with_context(context),
        }
    }

    /// The digest of what the package holds. For an rpm this leaves out the signature header,
    /// which signing rewrites: the unsigned build and the signed copy in the repository are
    /// the same package.
    pub fn content_digest(&self) -> anyhow::Result<[u8; 32]> {
        content_digest(self.kind, &self.path)
    }
}

/// See [`PackageFile::content_digest`].
pub fn content_digest(kind: Format, path: &Path) -> anyhow::Result<[u8; 32]> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let start = match kind {
        Format::Deb => 0,
        Format::Rpm => rpm_header_offset(&bytes).with_context(|| format!("{} is not an rpm file", path.display()))?,
    };
    Ok(Sha256::digest(&bytes[start..]).into())
}

/// Reads every member of a `.deb` to its end, and every file of its `control.tar` and
/// `data.tar`.
fn verify_deb(path: &Path) -> anyhow::Result<()> {
    let mut archive = ar::Archive::new(std::fs::File::open(path)?);
    let mut seen = Vec::new();
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        if name == "debian-binary" {
            let mut format = String::new();
            entry.read_to_string(&mut format)?;
            if !format.starts_with("2.") {
                bail!("debian-binary says `{}`, not a format dpkg reads", format.trim());
            }
        } else if let Some((kind, compression)) = name.split_once(".tar") {
            let reader = decompressed(Box::new(entry), compression)?;
            for file in tar::Archive::new(reader).entries()? {
                std::io::copy(&mut file?, &mut std::io::sink())?;
            }
            seen.push(kind.to_string());
            continue;
        }
        seen.push(name);
    }
    for needed in ["debian-binary", "control", "data"] {
        if !seen.iter().any(|s| s == needed) {
            bail!("it has no {needed} member");
        }
    }
    Ok(())
}

/// A `.tar` member's reader, decompressed by its suffix (`""`, `.gz`, `.xz`, `.zst`).
fn decompressed<'a>(member: Box<dyn Read + 'a>, compression: &str) -> anyhow::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        "" => member,
        ".gz" => Box::new(flate2::read::MultiGzDecoder::new(member)),
        ".xz" => Box::new(liblzma::read::XzDecoder::new(member)),
        ".zst" => Box::new(zstd::stream::read::Decoder::new(member)?),
        other => bail!("unknown member compression `{other}`"),
    })
}

/// The `control` file of a `.deb` (ar archive; `control.tar` uncompressed, gzip, xz or zstd).
fn deb_control(path: &Path) -> anyhow::Result<String> {
    let mut archive = ar::Archive::new(std::fs::File::open(path)?);
    while let Some(entry) = archive.next_entry() {
        let entry = entry?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let Some(compression) = name.strip_prefix("control.tar") else {
            continue;
        };
        let mut tar = tar::Archive::new(decompressed(Box::new(entry), compression)?);
        for file in tar.entries()? {
            let mut file = file?;
            if file.path()?.to_string_lossy().trim_start_matches("./") == "control" {
                let mut text = String::new();
                file.read_to_string(&mut text)?;
                return Ok(text);
            }
        }
        bail!("its {name} has no control file");
    }
    bail!("no control.tar member: not a .deb")
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

/// One version of a package, where it is (for `--prune`).
#[derive(Debug, Clone)]
pub struct Versioned {
    pub name: String,
    pub arch: String,
    pub version: String,
    pub path: PathBuf,
}

/// The paths `--prune KEEP` removes: all but the newest `keep` versions of each package and
/// architecture.
pub fn prune_plan(kind: Format, files: &[Versioned], keep: usize) -> Vec<PathBuf> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Versioned>> = BTreeMap::new();
    for f in files {
        groups.entry((&f.name, &f.arch)).or_default().push(f);
    }
    let mut removed = Vec::new();
    for (_, mut versions) in groups {
        versions.sort_by(|x, y| compare_versions(kind, &y.version, &x.version).then_with(|| x.path.cmp(&y.path)));
        removed.extend(versions.into_iter().skip(keep).map(|f| f.path.clone()));
    }
    removed
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
