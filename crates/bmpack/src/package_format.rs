//! The two package formats, as every layer names them: the writers (`format/`), the version
//! orders (`version_order.rs`) and the repository (`repo/`); and the layout of a build's
//! output that `publish` reads: `<out>/deb/*.deb`, `<out>/rpm/*.rpm`, `<out>/SHA256SUMS`.

/// The checksums of a build's output, in `sha256sum -c` form, beside the format folders.
pub const CHECKSUMS_FILE: &str = "SHA256SUMS";

/// The output formats bmpack writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Deb,
    Rpm,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Deb, Format::Rpm];

    /// The folder under the output directory (`deb/`, `rpm/`) and the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Deb => "deb",
            Format::Rpm => "rpm",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| format!("unknown format `{s}`: use deb or rpm"))
    }
}
