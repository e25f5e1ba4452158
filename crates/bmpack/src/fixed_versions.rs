//! Packages whose version is fixed in `packaging/bmpack.toml` (`bm-plugin-reload`,
//! `bm-nextcloud-replaces-filehosting`) are built again at every release. A repository accepts
//! one file per name and version, forever, so such a package must come out byte-identical
//! while its content is unchanged, and must get a new version when its content changes.
//!
//! `packaging/fixed-versions.toml` records, for each of their versions, a digest of what the
//! package holds and declares ([`content_digest`]: fields, relations, scripts, files; not the
//! packaging revision, not time stamps) and the date that version was recorded. At each build:
//!
//! * the package's time stamps are its version's recorded date, not the build's, so its bytes
//!   depend on its content only, and a second release publishes it as "unchanged";
//! * a version whose content no longer matches its record is refused before anything is
//!   written, with the fix: raise the version, then record it
//!   (`cargo xtask package --record-fixed-versions`, which adds versions not recorded yet and
//!   never changes a recorded one).
//!
//! A package can opt out with `record_content = false` (the server tool, whose content is this
//! workspace's build and whose version follows its crate).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::model::{
    DebScripts, FileTrigger, MaintainerScripts, Package, PayloadFile, Relation, Relations, RpmScripts, VersionRef,
};

/// Relative to the project root.
pub const RECORD_FILE: &str = "packaging/fixed-versions.toml";
const CATALOG_FILE: &str = "packaging/bmpack.toml";
/// The command that records versions, named in every error.
pub const RECORD_COMMAND: &str = "cargo xtask package --record-fixed-versions";

/// One recorded version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// [`content_digest`], hex.
    pub content: String,
    /// Seconds since 1970: every time stamp in this version's packages.
    pub date: u64,
}

/// `packaging/fixed-versions.toml`: package → version (upstream, as in bmpack.toml) → record.
#[derive(Debug, Clone, Default)]
pub struct FixedVersions {
    versions: BTreeMap<String, BTreeMap<String, Recorded>>,
}

/// What [`FixedVersions::check`] found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The time stamp of each fixed-version package of this build.
    pub dates: BTreeMap<String, u64>,
    /// Versions recorded by this build (`--record-fixed-versions`): `package version`.
    pub recorded: Vec<String>,
}

impl FixedVersions {
    /// Reads the record under the project root (none yet: empty).
    pub fn load(root: &Path) -> anyhow::Result<FixedVersions> {
        let path = root.join(RECORD_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FixedVersions::default());
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let versions = toml::from_str(&text).map_err(|e| {
            anyhow!(
                "{RECORD_FILE}: {e}\n(this file is written by `{RECORD_COMMAND}`: take it back from version control)"
            )
        })?;
        Ok(FixedVersions { versions })
    }

    /// Checks each fixed-version package of `packages` against its record. With `record_date`,
    /// versions not recorded yet are recorded with that date (a recorded one is never changed).
    pub fn check(
        &mut self,
        catalog: &Catalog,
        packages: &[Package],
        record_date: Option<u64>,
    ) -> anyhow::Result<Checked> {
        let mut checked = Checked::default();
        for pkg in packages {
            let Some(declaration) = catalog.declarations.iter().find(|d| d.name == pkg.name) else {
                continue;
            };
            let Some(version) = declaration.fixed_version().filter(|_| declaration.record_content) else {
                continue;
            };
            let digest = content_digest(pkg)?;
            let entry = self.versions.entry(pkg.name.to_string()).or_default();
            match (entry.get(version), record_date) {
                (Some(recorded), _) if recorded.content == digest => {
                    checked.dates.insert(pkg.name.to_string(), recorded.date);
                }
                (Some(_), _) => bail!(
                    "{CATALOG_FILE}: package `{name}`, field `version`: {name} {version} now holds something else than \
                     when {version} was recorded in {RECORD_FILE} (its scripts, files or fields changed), and a repository \
                     that has {version} refuses another file under that name. Raise its `version` (e.g. to {next}), then run \
                     `{RECORD_COMMAND}` and commit both files. (Only if {version} was never published: delete its entry in \
                     {RECORD_FILE} and record it again.)",
                    name = pkg.name,
                    next = next_version(version),
                ),
                (None, Some(date)) => {
                    entry.insert(version.to_string(), Recorded { content: digest, date });
                    checked.dates.insert(pkg.name.to_string(), date);
                    checked.recorded.push(format!("{} {version}", pkg.name));
                }
                (None, None) => bail!(
                    "{RECORD_FILE}: no entry for {name} {version} (its `version` in {CATALOG_FILE}): a package with a fixed \
                     version must come out the same at every release, so what each of its versions holds is recorded. \
                     Record this one with `{RECORD_COMMAND}` and commit {RECORD_FILE}",
                    name = pkg.name,
                ),
            }
        }
        Ok(checked)
    }

    /// Writes the record under the project root (through a temporary file).
    pub fn save(&self, root: &Path) -> anyhow::Result<()> {
        let mut text = String::from(
            "# What each version of the packages with a fixed `version` in bmpack.toml holds (a digest of its\n\
             # fields, relations, scripts and files; not the revision, not time stamps), and the date its\n\
             # files carry, so that an unchanged package is byte-identical at every release.\n\
             # Written by `cargo xtask package --record-fixed-versions`, which adds the versions not recorded\n\
             # yet: when a package's content changes, raise its version in bmpack.toml and record it. Never\n\
             # change a recorded entry by hand (delete one only if that version was never published).\n",
        );
        for (name, versions) in &self.versions {
            if versions.is_empty() {
                continue;
            }
            text.push_str(&format!("\n[{name}]\n"));
            for (version, r) in versions {
                text.push_str(&format!(
                    "\"{version}\" = {{ content = \"{}\", date = {} }} # {}\n",
                    r.content,
                    r.date,
                    crate::dates::iso_date(r.date)
                ));
            }
        }
        crate::build::write_atomically(&root.join(RECORD_FILE), text.as_bytes())
    }
}

/// `1.2.3` → `1.2.4`: a suggestion for the error message.
fn next_version(version: &str) -> String {
    match version.rsplit_once('.') {
        Some((head, last)) if last.bytes().all(|b| b.is_ascii_digit()) && !last.is_empty() => {
            format!("{head}.{}", last.parse::<u64>().map_or(0, |n| n + 1))
        }
        _ => format!("a version after {version}"),
    }
}

/// A digest of everything a package holds and declares, except its version (the record's key),
/// its packaging revision and time stamps. The destructuring below names every field, so that
/// a field added to the model does not compile until it is either hashed or left out here.
pub fn content_digest(pkg: &Package) -> anyhow::Result<String> {
    let Package {
        name,
        version: _,
        arch,
        summary,
        description,
        maintainer,
        license,
        copyright,
        homepage,
        vendor,
        section,
        rpm_group,
        files,
        relations,
        scripts,
        deb_lintian_overrides,
    } = pkg;
    let mut h = Fields(Sha256::new());
    for (field, value) in [
        ("name", name.as_str()),
        ("arch", arch.deb()),
        ("summary", summary),
        ("description", description),
        ("maintainer", maintainer),
        ("license", license),
        ("copyright", copyright),
        ("homepage", homepage),
        ("vendor", vendor),
        ("section", section),
        ("rpm_group", rpm_group),
    ] {
        h.text(field, value);
    }
    if let Some(overrides) = deb_lintian_overrides {
        h.text("deb_lintian_overrides", overrides);
    }
    for file in files {
        let PayloadFile { dest, source, mode, kind } = file;
        let bytes = source.read().with_context(|| format!("reading the file {dest} of {name}"))?;
        h.text("file", dest);
        h.text("mode", &format!("{:o}", mode.bits()));
        h.text("kind", &format!("{kind:?}"));
        h.bytes("content", &bytes);
    }
    let Relations { depends, provides, conflicts, deb_depends, deb_replaces, deb_pre_depends, rpm_obsoletes } =
        relations;
    for (field, list) in [
        ("depends", depends),
        ("provides", provides),
        ("conflicts", conflicts),
        ("deb_depends", deb_depends),
        ("deb_replaces", deb_replaces),
        ("deb_pre_depends", deb_pre_depends),
        ("rpm_obsoletes", rpm_obsoletes),
    ] {
        for Relation { name, constraint } in list {
            let constraint = match constraint {
                None => String::new(),
                Some((op, VersionRef::Literal(v))) => format!("{} {v}", op.deb()),
                Some((op, VersionRef::Package(v))) => {
                    format!("{} {} / {}", op.deb(), v.deb(), v.rpm_evr())
                }
            };
            h.text(field, &format!("{name} {constraint}"));
        }
    }
    let MaintainerScripts { deb, rpm } = scripts;
    let DebScripts { scripts: deb_scripts, triggers } = deb;
    let RpmScripts { scriptlets, trans_file_trigger_in, trans_file_trigger_postun } = rpm;
    // In the order the fields had when each slot was a field of its own, so that digests
    // recorded then still match.
    for (slot, text) in deb_scripts {
        h.text(slot.name(), text);
    }
    if let Some(text) = triggers {
        h.text("triggers", text);
    }
    for (slot, text) in scriptlets {
        h.text(slot.name(), text);
    }
    for (field, triggers) in
        [("transfiletriggerin", trans_file_trigger_in), ("transfiletriggerpostun", trans_file_trigger_postun)]
    {
        for FileTrigger { path, script } in triggers {
            h.text(field, path);
            h.text(field, script);
        }
    }
    Ok(hex::encode(h.0.finalize()))
}

/// Named, length-prefixed fields, so that no two contents hash alike by shifting bytes
/// from one field to the next.
struct Fields(Sha256);

impl Fields {
    fn bytes(&mut self, field: &str, value: &[u8]) {
        self.0.update(field.as_bytes());
        self.0.update([0]);
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
    }
    fn text(&mut self, field: &str, value: &str) {
        self.bytes(field, value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_version_raises_the_last_number() {
        assert_eq!(next_version("2.0.0"), "2.0.1");
        assert_eq!(next_version("1.9"), "1.10");
        assert_eq!(next_version("1.0.0.rc"), "a version after 1.0.0.rc");
    }
}
