//! The package writers: one `Packager` per output format, each turning one `Package` into
//! the bytes of one file. They know nothing of jars, TOML or the file system layout of the
//! output; `build.rs` decides where the bytes go and writes them atomically.

use std::io::Write;

use crate::model::Package;

pub mod deb;
pub mod rpm;

pub use crate::package_format::Format;

impl Format {
    pub fn packager(self) -> &'static dyn Packager {
        match self {
            Format::Deb => &deb::DebPackager,
            Format::Rpm => &rpm::RpmPackager,
        }
    }
}

/// Payload compression. `Default` is chosen per format for what BlueMind's distributions read:
/// see `Compression::resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// The format's default: gzip for .deb, zstd for .rpm (see README, "Compression").
    Default,
    None,
    Gzip,
    Xz,
    Zstd,
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(Compression::Default),
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "xz" => Ok(Compression::Xz),
            "zstd" | "zst" => Ok(Compression::Zstd),
            other => Err(format!("unknown compression `{other}`: use one of default, none, gzip, xz, zstd")),
        }
    }
}

/// What every writer needs besides the package.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub compression: Compression,
    /// Every timestamp in the package (file mtimes, build time) is this, so that two builds
    /// of the same inputs are byte-identical (`SOURCE_DATE_EPOCH`).
    pub source_date_epoch: u64,
}

/// A package writer: `nFPM`'s `Packager`, in Rust.
pub trait Packager: Sync {
    fn format(&self) -> Format;

    /// The conventional file name: `name_version_arch.deb`, `name-version-release.arch.rpm`.
    fn file_name(&self, pkg: &Package) -> String;

    /// Writes the whole package to `out`.
    fn write(&self, pkg: &Package, opts: &WriteOptions, out: &mut dyn Write) -> anyhow::Result<()>;
}
