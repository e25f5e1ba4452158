//! Which `bm-nextcloudXX` a Nextcloud server needs.
//!
//! The vendor's rule: up to Nextcloud 11 the connector of the exact major; for 12 and every later
//! version, `bm-nextcloud12`. Generalised over the declared matrix (`packaging/nextcloud.toml`):
//! the highest declared major serves every later major, a major below it must be declared itself.
//! `cargo xtask package --nextcloud-version` and the server tool's `select` both call
//! [`select_connector_package`], on the same matrix.

use std::fmt;

use serde::Deserialize;

/// The matrix file, compiled into the server tool so that it answers without the repository.
pub const BUILTIN_MATRIX_TOML: &str = include_str!("../../../packaging/nextcloud.toml");

/// `packaging/nextcloud.toml`: the declared Nextcloud majors and how a connector is named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextcloudMatrix {
    /// Majors that have their own connector bundle, e.g. `[11, 12]`.
    pub majors: Vec<u32>,
    pub connector: ConnectorTemplate,
}

/// How one matrix entry becomes a package; `{major}` is replaced by the entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorTemplate {
    /// `bm-nextcloud{major}`
    pub package: String,
    /// `net.bluemind.filehosting.nextcloud{major}`
    pub bundle: String,
    /// Extension target (`core` or `webserver`), see `packaging/bmpack.toml`.
    pub target: String,
    /// Virtual package every connector provides and conflicts with: only one at a time.
    #[serde(rename = "virtual")]
    pub virtual_package: String,
    /// The package every connector needs, at exactly the same version.
    pub requires: String,
    pub summary: String,
    pub description: String,
}

impl NextcloudMatrix {
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN_MATRIX_TOML, "packaging/nextcloud.toml")
            .expect("packaging/nextcloud.toml is checked by the tests")
    }

    /// Parses and checks a matrix; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> anyhow::Result<Self> {
        let mut m: NextcloudMatrix = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        if m.majors.is_empty() {
            anyhow::bail!(
                "{origin}: field `majors` is empty: declare at least one Nextcloud major, e.g. `majors = [11, 12]`"
            );
        }
        m.majors.sort_unstable();
        m.majors.dedup();
        for (field, value) in [("package", &m.connector.package), ("bundle", &m.connector.bundle)] {
            if !value.contains("{major}") {
                anyhow::bail!("{origin}: field `connector.{field}` = `{value}` must contain `{{major}}`");
            }
        }
        Ok(m)
    }

    pub fn lowest(&self) -> u32 {
        self.majors[0]
    }

    pub fn highest(&self) -> u32 {
        *self.majors.last().expect("checked non-empty")
    }

    pub fn package_for(&self, major: u32) -> String {
        self.connector.package.replace("{major}", &major.to_string())
    }

    pub fn bundle_for(&self, major: u32) -> String {
        self.connector.bundle.replace("{major}", &major.to_string())
    }

    /// "11, 12 and later"
    pub fn supported_text(&self) -> String {
        let list: Vec<String> = self.majors.iter().map(u32::to_string).collect();
        format!("Nextcloud {} and later", list.join(", "))
    }
}

/// A Nextcloud server version (`25.0.3`, `11.0.8.1`, `12`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NextcloudRelease {
    pub major: u32,
    /// The remaining numeric parts as given (`[0, 3]` for `25.0.3`).
    pub rest: Vec<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error(
        "`{0}` is not a Nextcloud version: give the server's version, e.g. `25.0.3` (see the admin page or `occ status`)"
    )]
    NotAVersion(String),
    #[error("Nextcloud {release} is too old for BlueMind's connector: supported are {supported}")]
    TooOld { release: String, supported: String },
    #[error(
        "Nextcloud {release} has no connector declared: supported are {supported}; add {major} to `majors` in packaging/nextcloud.toml if a connector bundle exists for it"
    )]
    NotDeclared { release: String, major: u32, supported: String },
}

impl NextcloudRelease {
    pub fn parse(text: &str) -> Result<Self, SelectError> {
        let t = text.trim();
        let bad = || SelectError::NotAVersion(text.to_string());
        let mut numbers = t.split('.').map(|p| {
            if !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse::<u32>().map_err(|_| bad())
            } else {
                Err(bad())
            }
        });
        let major = numbers.next().ok_or_else(bad)??;
        let rest = numbers.collect::<Result<Vec<_>, _>>()?;
        if rest.len() > 3 {
            return Err(bad());
        }
        Ok(NextcloudRelease { major, rest })
    }
}

impl fmt::Display for NextcloudRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major)?;
        for n in &self.rest {
            write!(f, ".{n}")?;
        }
        Ok(())
    }
}

/// The connector a release needs: the package to install and the bundle it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorChoice {
    pub major: u32,
    pub package: String,
    pub bundle: String,
}

/// The vendor's rule over the declared matrix.
pub fn select_connector_package(
    matrix: &NextcloudMatrix,
    release: &NextcloudRelease,
) -> Result<ConnectorChoice, SelectError> {
    let major = if release.major >= matrix.highest() {
        matrix.highest()
    } else if release.major < matrix.lowest() {
        return Err(SelectError::TooOld { release: release.to_string(), supported: matrix.supported_text() });
    } else if matrix.majors.contains(&release.major) {
        release.major
    } else {
        return Err(SelectError::NotDeclared {
            release: release.to_string(),
            major: release.major,
            supported: matrix.supported_text(),
        });
    };
    Ok(ConnectorChoice { major, package: matrix.package_for(major), bundle: matrix.bundle_for(major) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(m: &NextcloudMatrix, v: &str) -> Result<String, SelectError> {
        select_connector_package(m, &NextcloudRelease::parse(v)?).map(|c| c.package)
    }

    #[test]
    fn vendor_rule_on_the_shipped_matrix() {
        let m = NextcloudMatrix::builtin();
        assert_eq!(pick(&m, "11.0.8").unwrap(), "bm-nextcloud11");
        assert_eq!(pick(&m, "12").unwrap(), "bm-nextcloud12");
        assert_eq!(pick(&m, "25.0.3").unwrap(), "bm-nextcloud12");
        assert_eq!(pick(&m, "34.0.0.1").unwrap(), "bm-nextcloud12");
        let e = pick(&m, "10.0.1").unwrap_err();
        assert!(e.to_string().contains("11, 12 and later"), "{e}");
        assert!(matches!(pick(&m, "latest"), Err(SelectError::NotAVersion(_))));
        assert!(matches!(pick(&m, "25.0.x"), Err(SelectError::NotAVersion(_))));
        assert!(matches!(pick(&m, ""), Err(SelectError::NotAVersion(_))));
    }

    #[test]
    fn adding_a_major_is_one_line_of_data() {
        let text = BUILTIN_MATRIX_TOML.replace("majors = [11, 12]", "majors = [10, 11, 12]");
        assert_ne!(text, BUILTIN_MATRIX_TOML, "the shipped matrix must declare `majors = [11, 12]`");
        let m = NextcloudMatrix::from_toml(&text, "test").unwrap();
        assert_eq!(pick(&m, "10.0.4").unwrap(), "bm-nextcloud10");
        assert!(pick(&m, "9.1").is_err());
    }

    #[test]
    fn a_gap_in_the_matrix_is_named() {
        let text = BUILTIN_MATRIX_TOML.replace("majors = [11, 12]", "majors = [9, 12]");
        let m = NextcloudMatrix::from_toml(&text, "test").unwrap();
        let e = pick(&m, "11.0.1").unwrap_err();
        assert!(matches!(e, SelectError::NotDeclared { major: 11, .. }), "{e}");
    }
}
