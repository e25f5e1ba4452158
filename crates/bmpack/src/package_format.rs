//! The two package formats, as every layer names them: the writers (`format/`), the version
//! orders (`version_order.rs`) and the repository (`repo/`).

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
