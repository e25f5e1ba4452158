//! One plug-in version, written as Debian and RPM version strings that both order the same way.
//!
//! Input is what BlueMind's build puts in `Bundle-Version` (OSGi: `major.minor.micro.qualifier`)
//! or what a release engineer types (`4.8.2`, `4.8.2-SNAPSHOT`). The mapping:
//!
//! | input                     | Debian                     | RPM Version / Release        |
//! |---------------------------|----------------------------|------------------------------|
//! | `4.8.2`                   | `4.8.2-1`                  | `4.8.2` / `1`                |
//! | `4.8.2.v20240101-1200`    | `4.8.2+v20240101.1200-1`   | `4.8.2+v20240101.1200` / `1` |
//! | `4.8.2-SNAPSHOT`, `4.8.2.SNAPSHOT` | `4.8.2~snapshot-1` | `4.8.2~snapshot` / `1`       |
//!
//! * A qualifier follows `+`: in both dpkg and rpm a version with more after the common part
//!   is newer, so `4.8.2 < 4.8.2+anything < 4.8.3`, as in OSGi.
//! * A snapshot is a pre-release: `~` sorts before everything, including the end of the string,
//!   in dpkg and in rpm >= 4.10 (RHEL 7 and later), so `4.8.2~snapshot < 4.8.2`.
//! * `-` and `_` in a qualifier become `.`: RPM forbids `-` in Version and both tools treat `.`
//!   as a plain separator.
//! * The revision (`--revision`, default 1) is the Debian revision and the RPM Release.
//!
//! `tests/version_order.rs` checks a table of these with `dpkg --compare-versions` and rpm's
//! own `rpm.vercmp`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageVersion {
    major: u64,
    minor: u64,
    micro: u64,
    /// OSGi qualifier as given (without a snapshot marker), if any.
    qualifier: Option<String>,
    snapshot: bool,
    revision: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` is not a version: {reason} (expected e.g. `4.8.2`, `4.8.2.v20240101` or `4.8.2-SNAPSHOT`)")]
pub struct VersionError {
    pub input: String,
    pub reason: String,
}

impl PackageVersion {
    /// Parses an OSGi or Maven-style version. `revision` is the packaging revision (>= 1).
    pub fn parse(input: &str, revision: u32) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError { input: input.to_string(), reason: reason.to_string() };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if revision == 0 {
            return Err(err("the revision must be 1 or more"));
        }
        let (s, mut snapshot) = match strip_suffix_ignore_case(s, "-SNAPSHOT") {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        let mut parts = s.splitn(4, '.');
        let mut number = |name: &str, required: bool| -> Result<u64, VersionError> {
            match parts.next() {
                None if !required => Ok(0),
                None => Err(err(&format!("the {name} number is missing"))),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| err(&format!("the {name} number is too large")))
                }
                Some(p) => Err(err(&format!("the {name} part `{p}` is not a number"))),
            }
        };
        let major = number("major", true)?;
        let minor = number("minor", false)?;
        let micro = number("micro", false)?;
        let qualifier = match parts.next() {
            None => None,
            Some("") => return Err(err("the qualifier after the last `.` is empty")),
            Some(q) if !q.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                return Err(err("an OSGi qualifier may only hold letters, digits, `-` and `_`"));
            }
            Some(q) if q.eq_ignore_ascii_case("SNAPSHOT") => {
                snapshot = true;
                None
            }
            Some(q) => match strip_suffix_ignore_case(q, "-SNAPSHOT") {
                Some(rest) => {
                    snapshot = true;
                    Some(rest.to_string())
                }
                None => Some(q.to_string()),
            },
        };
        Ok(PackageVersion { major, minor, micro, qualifier, snapshot, revision })
    }

    /// The same version with another packaging revision.
    pub fn with_revision(&self, revision: u32) -> Self {
        PackageVersion { revision, ..self.clone() }
    }

    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// True when a bundle's `Bundle-Version` denotes this version (`4.2` equals `4.2.0`;
    /// `4.2.0.SNAPSHOT` equals `4.2.0-SNAPSHOT`). The revision is ours and is not compared.
    pub fn same_upstream(&self, other: &PackageVersion) -> bool {
        (self.major, self.minor, self.micro, &self.qualifier, self.snapshot)
            == (other.major, other.minor, other.micro, &other.qualifier, other.snapshot)
    }

    /// The upstream part shared by both formats (`4.8.2+v20240101~snapshot`).
    fn upstream(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.micro);
        if let Some(q) = &self.qualifier {
            s.push('+');
            s.extend(q.chars().map(|c| if c == '-' || c == '_' { '.' } else { c }));
        }
        if self.snapshot {
            s.push_str("~snapshot");
        }
        s
    }

    /// Debian `Version:` (upstream-revision).
    pub fn deb(&self) -> String {
        format!("{}-{}", self.upstream(), self.revision)
    }

    /// RPM `Version:`.
    pub fn rpm_version(&self) -> String {
        self.upstream()
    }

    /// RPM `Release:`.
    pub fn rpm_release(&self) -> String {
        self.revision.to_string()
    }

    /// `version-release`, as RPM relations and file names use it.
    pub fn rpm_evr(&self) -> String {
        format!("{}-{}", self.rpm_version(), self.rpm_release())
    }
}

impl fmt::Display for PackageVersion {
    /// The OSGi form, as a release engineer would type it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)?;
        if let Some(q) = &self.qualifier {
            write!(f, ".{q}")?;
        }
        if self.snapshot {
            write!(f, "-SNAPSHOT")?;
        }
        Ok(())
    }
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

/// Orders two installed package versions as dpkg does (`[epoch:]upstream[-revision]`, `~`
/// before everything, letters before other characters, digit runs as numbers). rpm orders the
/// versions BlueMind and bmpack use (`4.9.0`, `4.9.0-1`, `5~`) the same way.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) && !e.is_empty() => (e.parse().unwrap_or(0), rest),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((upstream, revision)) => (epoch, upstream, revision),
            None => (epoch, rest, ""),
        }
    }
    let (ea, ua, ra) = split(a.trim());
    let (eb, ub, rb) = split(b.trim());
    ea.cmp(&eb).then_with(|| compare_part(ua, ub)).then_with(|| compare_part(ra, rb))
}

/// dpkg's `verrevcmp`.
fn compare_part(a: &str, b: &str) -> std::cmp::Ordering {
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ca, cb) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ca != cb {
                return ca.cmp(&cb);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = std::cmp::Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == std::cmp::Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return std::cmp::Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return std::cmp::Ordering::Less;
        }
        if first_diff != std::cmp::Ordering::Equal {
            return first_diff;
        }
    }
    std::cmp::Ordering::Equal
}

/// Whether `installed` satisfies `op version` (`>= 4.5.3`, `< 5~`).
pub fn satisfies(installed: &str, op: crate::model::Op, version: &str) -> bool {
    use crate::model::Op;
    use std::cmp::Ordering::*;
    let order = compare_versions(installed, version);
    match op {
        Op::Lt => order == Less,
        Op::Le => order != Greater,
        Op::Eq => order == Equal,
        Op::Ge => order != Less,
        Op::Gt => order == Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackageVersion {
        PackageVersion::parse(s, 1).unwrap()
    }

    #[test]
    fn maps_to_both_formats() {
        let cases = [
            ("4.8.2", "4.8.2-1", "4.8.2"),
            ("4.2", "4.2.0-1", "4.2.0"),
            ("4.8.2.v20240101-1200", "4.8.2+v20240101.1200-1", "4.8.2+v20240101.1200"),
            ("4.8.2-SNAPSHOT", "4.8.2~snapshot-1", "4.8.2~snapshot"),
            ("4.8.2.SNAPSHOT", "4.8.2~snapshot-1", "4.8.2~snapshot"),
            ("4.8.2.b_1-SNAPSHOT", "4.8.2+b.1~snapshot-1", "4.8.2+b.1~snapshot"),
        ];
        for (input, deb, rpm) in cases {
            assert_eq!(v(input).deb(), deb, "{input}");
            assert_eq!(v(input).rpm_version(), rpm, "{input}");
            assert_eq!(v(input).rpm_release(), "1");
        }
        assert_eq!(PackageVersion::parse("4.8.2", 3).unwrap().deb(), "4.8.2-3");
    }

    #[test]
    fn bundle_versions_compare_by_meaning() {
        assert!(v("4.2").same_upstream(&v("4.2.0")));
        assert!(v("4.2.0-SNAPSHOT").same_upstream(&v("4.2.0.SNAPSHOT")));
        assert!(!v("4.2.0").same_upstream(&v("4.2.0.v1")));
        assert!(!v("4.2.0").same_upstream(&v("4.2.1")));
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in ["", "four", "4..2", "4.2.x", "4.2.3.", "4.2.3.a+b", "v4.2"] {
            let e = PackageVersion::parse(bad, 1).unwrap_err();
            assert!(e.to_string().contains("is not a version"), "{bad}: {e}");
        }
        assert!(PackageVersion::parse("4.2", 0).is_err());
    }

    #[test]
    fn installed_versions_compare_as_dpkg_does() {
        use std::cmp::Ordering::*;
        for (a, b, expected) in [
            ("4.9.0-1", "5~", Less),
            ("5.0.0-1", "5~", Greater),
            ("5~beta1", "5~", Greater),
            ("4.5.3", "4.5.3-1", Less),
            ("4.5.10-1", "4.5.9-1", Greater),
            ("1:4.0", "5.0", Greater),
            ("4.8.2~snapshot-1", "4.8.2-1", Less),
            ("4.8.2+v2024-1", "4.8.2-1", Greater),
            ("4.2", "4.2.0", Less),
            ("4.9.0", "4.9.0", Equal),
        ] {
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
        }
        assert!(satisfies("4.9.0-1", crate::model::Op::Lt, "5~"));
        assert!(!satisfies("5.1.0-1", crate::model::Op::Lt, "5~"));
        assert!(satisfies("4.5.3-1", crate::model::Op::Ge, "4.5.3"));
    }
}
