//! What a package is, independent of its format.
//!
//! The catalog (`catalog.rs`) resolves `packaging/*.toml` plus a set of bundles into these
//! values; the format writers (`format/`) turn one `Package` into one file. Nothing here knows
//! about TOML, jars, `.deb` or `.rpm`.

mod values;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::version_order::Op;
pub use values::{FileMode, InstallPath, PackageName, ServiceName};

use crate::version::PackageVersion;

/// One binary package, as both formats need it.
#[derive(Debug, Clone)]
pub struct Package {
    /// `bm-nextcloud-common`, `bm-nextcloud12`, …
    pub name: PackageName,
    pub version: PackageVersion,
    pub arch: Arch,
    /// One line, no trailing period (`apt show`'s first line, `rpm -qi`'s Summary).
    pub summary: String,
    /// Paragraphs separated by blank lines; each writer folds it into its own syntax.
    pub description: String,
    /// `Name <address>`.
    pub maintainer: String,
    /// An SPDX expression (`rpm -qi` License; the Debian copyright file names it too).
    pub license: String,
    /// The full text for `/usr/share/doc/<package>/copyright` (Debian's machine-readable format).
    pub copyright: String,
    pub homepage: String,
    pub vendor: String,
    /// Debian section (`misc`, `admin`, …).
    pub section: String,
    /// RPM group, kept for RHEL 7/8 tools that still show it.
    pub rpm_group: String,
    pub files: Vec<PayloadFile>,
    pub relations: Relations,
    pub scripts: MaintainerScripts,
    /// The text of `/usr/share/lintian/overrides/<package>` in the .deb, each override with
    /// its reason; `None`: no file.
    pub deb_lintian_overrides: Option<String>,
}

/// `all`/`noarch` for the plug-ins (jars run anywhere); `amd64`/`x86_64` for the server tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    All,
    Amd64,
}

impl Arch {
    pub fn deb(self) -> &'static str {
        match self {
            Arch::All => "all",
            Arch::Amd64 => "amd64",
        }
    }
    pub fn rpm(self) -> &'static str {
        match self {
            Arch::All => "noarch",
            Arch::Amd64 => "x86_64",
        }
    }
}

/// One file the package installs. Directories are derived from the paths by each writer.
#[derive(Debug, Clone)]
pub struct PayloadFile {
    /// Absolute path on the target system, e.g. `/usr/share/bm-core/extensions/x.jar`.
    pub dest: InstallPath,
    pub source: FileSource,
    /// 0644 for jars and docs, 0755 for programs.
    pub mode: FileMode,
    pub kind: FileKind,
}

#[derive(Debug, Clone)]
pub enum FileSource {
    /// A file on disk, read when the package is written (jars can be large).
    Path(PathBuf),
    /// Content made in memory (documentation, generated files).
    Bytes(Arc<[u8]>),
}

impl FileSource {
    /// The content; an error names the file.
    pub fn read(&self) -> std::io::Result<Arc<[u8]>> {
        match self {
            FileSource::Path(p) => std::fs::read(p)
                .map(Arc::from)
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {}: {e}", p.display()))),
            FileSource::Bytes(b) => Ok(b.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    /// Marked `%doc` in RPM.
    Doc,
    /// A configuration file: `conffiles` in Debian, `%config(noreplace)` in RPM.
    Config,
}

/// Relations between packages. Debian-only or RPM-only fields say so in their name.
#[derive(Debug, Clone, Default)]
pub struct Relations {
    pub depends: Vec<Relation>,
    pub provides: Vec<Relation>,
    pub conflicts: Vec<Relation>,
    /// Debian-only `Depends:` (names that exist only on Debian, e.g. `libc6` for the server tool).
    pub deb_depends: Vec<Relation>,
    /// Debian `Replaces:` (lets dpkg hand files over when switching between conflicting packages).
    pub deb_replaces: Vec<Relation>,
    /// Debian `Pre-Depends:`.
    pub deb_pre_depends: Vec<Relation>,
    /// RPM `Obsoletes:`.
    pub rpm_obsoletes: Vec<Relation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: PackageName,
    pub constraint: Option<(Op, VersionRef)>,
}

impl Relation {
    pub fn any(name: PackageName) -> Self {
        Relation { name, constraint: None }
    }
    pub fn with(name: PackageName, op: Op, version: VersionRef) -> Self {
        Relation { name, constraint: Some((op, version)) }
    }
}

/// The version side of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// A version of a package we do not build (`bm-core >= 4.2`): the same text in both formats.
    Literal(String),
    /// A version of a package we build: each format writes its own full string
    /// (`4.2.3-1` for Debian, `4.2.3-1` as version-release for RPM; they can differ).
    Package(PackageVersion),
}

impl VersionRef {
    pub fn deb(&self) -> String {
        match self {
            VersionRef::Literal(s) => s.clone(),
            VersionRef::Package(v) => v.deb(),
        }
    }
    pub fn rpm(&self) -> String {
        match self {
            VersionRef::Literal(s) => s.clone(),
            VersionRef::Package(v) => v.rpm_evr(),
        }
    }
}

/// Maintainer scripts, already filled from the templates in `debian/` and `rpm/`.
/// `None` means the package has no such script.
#[derive(Debug, Clone, Default)]
pub struct MaintainerScripts {
    pub deb: DebScripts,
    pub rpm: RpmScripts,
}

#[derive(Debug, Clone, Default)]
pub struct DebScripts {
    pub scripts: BTreeMap<DebScript, String>,
    /// The `triggers` control file (`interest-noawait /usr/share/bm-core/extensions`, …).
    pub triggers: Option<String>,
}

/// The Debian maintainer scripts, in the order dpkg runs them on an install and a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DebScript {
    Preinst,
    Postinst,
    Prerm,
    Postrm,
}

impl DebScript {
    pub const ALL: [DebScript; 4] = [DebScript::Preinst, DebScript::Postinst, DebScript::Prerm, DebScript::Postrm];

    /// Its name in the control archive, and its template's suffix (`debian/<set>.postinst`).
    pub fn name(self) -> &'static str {
        match self {
            DebScript::Preinst => "preinst",
            DebScript::Postinst => "postinst",
            DebScript::Prerm => "prerm",
            DebScript::Postrm => "postrm",
        }
    }
}

/// The RPM scriptlets (file triggers apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpmScriptlet {
    Pre,
    Post,
    Preun,
    Postun,
    Pretrans,
    Posttrans,
}

impl RpmScriptlet {
    pub const ALL: [RpmScriptlet; 6] = [
        RpmScriptlet::Pre,
        RpmScriptlet::Post,
        RpmScriptlet::Preun,
        RpmScriptlet::Postun,
        RpmScriptlet::Pretrans,
        RpmScriptlet::Posttrans,
    ];

    /// Its name in a spec file without the `%`, and its template's suffix (`rpm/<set>.post`).
    pub fn name(self) -> &'static str {
        match self {
            RpmScriptlet::Pre => "pre",
            RpmScriptlet::Post => "post",
            RpmScriptlet::Preun => "preun",
            RpmScriptlet::Postun => "postun",
            RpmScriptlet::Pretrans => "pretrans",
            RpmScriptlet::Posttrans => "posttrans",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RpmScripts {
    pub scriptlets: BTreeMap<RpmScriptlet, String>,
    /// `%transfiletriggerin` scripts, each with the folder it watches.
    pub trans_file_trigger_in: Vec<FileTrigger>,
    /// `%transfiletriggerpostun` scripts.
    pub trans_file_trigger_postun: Vec<FileTrigger>,
}

/// One transaction file trigger: one folder, one script. rpm gives `%transfiletriggerpostun`
/// no list of files, so each script knows its folder by itself, and rpm runs it once per
/// transaction that touched that folder.
#[derive(Debug, Clone)]
pub struct FileTrigger {
    pub path: InstallPath,
    pub script: String,
}

/// Where a bundle of one kind goes (`[targets]` in packaging/bmpack.toml), which service loads
/// it, and which OSGi cache its change leaves stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub extensions: InstallPath,
    pub service: ServiceName,
    pub cache: InstallPath,
}
