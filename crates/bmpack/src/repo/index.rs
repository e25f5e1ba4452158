//! What a suite has published, read from its own indexes (the apt `Packages` file and the
//! createrepo_c `primary.xml.gz` that the last publish signed): the record of every package file
//! a publish put there, with its identity, size and checksum. A publish reads this rather than
//! every package file (its cost does not grow with the history), and a package file that no
//! index lists was not put there by a publish.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use super::layout::{deb_index, rpm_dir};
use super::pool::{Format, deb_version};

/// One published package file.
#[derive(Debug, Clone)]
pub struct Published {
    pub name: String,
    /// As [`super::pool::PackageFile::version`].
    pub version: String,
    pub arch: String,
    /// Relative to the repository root.
    pub path: PathBuf,
    pub size: u64,
    /// The SHA-256 of the file as published (an rpm: signed).
    pub sha256: String,
    /// The apt index's stanza, kept as written (empty for an rpm).
    pub stanza: String,
}

/// The packages of `kind` the suite's index lists (none before the first publish).
pub fn published(root: &Path, suite: &str, kind: Format) -> anyhow::Result<Vec<Published>> {
    match kind {
        Format::Deb => debs(root, suite),
        Format::Rpm => rpms(root, suite),
    }
}

fn debs(root: &Path, suite: &str) -> anyhow::Result<Vec<Published>> {
    let path = root.join(deb_index(suite));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    split_stanzas(&text)
        .map(|stanza| {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                    .map(|v| v.trim().to_string())
                    .ok_or_else(|| anyhow!("{}: a stanza has no {name} field", path.display()))
            };
            Ok(Published {
                name: field("Package")?,
                version: deb_version(&field("Version")?),
                arch: field("Architecture")?,
                path: PathBuf::from(field("Filename")?),
                size: field("Size")?.parse().with_context(|| format!("{}: a Size is not a number", path.display()))?,
                sha256: field("SHA256")?,
                stanza,
            })
        })
        .collect()
}

/// The stanzas of a `Packages` file, each ending with one newline.
pub fn split_stanzas(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\n\n").map(str::trim).filter(|s| !s.is_empty()).map(|s| format!("{s}\n"))
}

fn rpms(root: &Path, suite: &str) -> anyhow::Result<Vec<Published>> {
    let dir = root.join(rpm_dir(suite));
    let repomd_path = dir.join("repodata/repomd.xml");
    let repomd = match std::fs::read_to_string(&repomd_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", repomd_path.display())),
    };
    let primary_href = repomd
        .split("<data ")
        .find(|d| d.starts_with("type=\"primary\""))
        .and_then(|d| attribute(d, "location", "href"))
        .ok_or_else(|| anyhow!("{} names no primary metadata", repomd_path.display()))?;
    let primary_path = dir.join(&primary_href);
    let mut xml = String::new();
    let file = std::fs::File::open(&primary_path).with_context(|| format!("reading {}", primary_path.display()))?;
    flate2::read::MultiGzDecoder::new(file)
        .read_to_string(&mut xml)
        .with_context(|| format!("reading {}", primary_path.display()))?;
    xml.split("<package ")
        .skip(1)
        .map(|package| {
            let bad = || anyhow!("{}: a package entry is not as createrepo_c writes it", primary_path.display());
            let element = |tag: &str| -> anyhow::Result<String> {
                let open = format!("<{tag}>");
                let start = package.find(&open).ok_or_else(bad)? + open.len();
                let end = package[start..].find('<').ok_or_else(bad)? + start;
                Ok(unescape(&package[start..end]))
            };
            let checksum_start = package.find("<checksum ").ok_or_else(bad)?;
            let checksum = &package[checksum_start..];
            if !checksum.starts_with("<checksum type=\"sha256\"") {
                bail!("{}: a checksum is not SHA-256", primary_path.display());
            }
            let sha256 = checksum
                [checksum.find('>').ok_or_else(bad)? + 1..checksum.find("</checksum>").ok_or_else(bad)?]
                .to_string();
            let version = format!(
                "{}:{}-{}",
                attribute(package, "version", "epoch").ok_or_else(bad)?,
                attribute(package, "version", "ver").ok_or_else(bad)?,
                attribute(package, "version", "rel").ok_or_else(bad)?
            );
            let href = attribute(package, "location", "href").ok_or_else(bad)?;
            Ok(Published {
                name: element("name")?,
                version,
                arch: element("arch")?,
                path: rpm_dir(suite).join(href),
                size: attribute(package, "size", "package").ok_or_else(bad)?.parse()?,
                sha256,
                stanza: String::new(),
            })
        })
        .collect()
}

/// The value of `name="…"` in the first `<element …>` of `xml`.
fn attribute(xml: &str, element: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{element} "))?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {name}=\"");
    let value_start = tag.find(&key)? + key.len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape(&tag[value_start..value_end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_read_and_unescaped() {
        let xml = r#"<package type="rpm"><version epoch="1" ver="2.0" rel="3"/><location href="a&amp;b.rpm"/>"#;
        assert_eq!(attribute(xml, "version", "ver").as_deref(), Some("2.0"));
        assert_eq!(attribute(xml, "location", "href").as_deref(), Some("a&b.rpm"));
        assert_eq!(attribute(xml, "size", "package"), None);
    }
}
