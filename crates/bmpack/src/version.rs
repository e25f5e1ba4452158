//! One plug-in version, written as Debian and RPM version strings that order exactly as OSGi does.
//!
//! Input is what BlueMind's build puts in `Bundle-Version` (OSGi:
//! `major[.minor[.micro[.qualifier]]]`) or what a release engineer types (`4.8.2`,
//! `4.8.2-SNAPSHOT`). OSGi (`org.osgi.framework.Version`) compares the three numbers as numbers,
//! then the qualifier as a plain string (`String.compareTo`; for its alphabet `[0-9A-Za-z_-]`,
//! byte order), no qualifier first. Maven's snapshot marker (`-SNAPSHOT`, or `.SNAPSHOT` as bnd
//! writes `4.8.2-SNAPSHOT` in a `Bundle-Version`) makes a pre-release that sorts right before the
//! same version without it, after every older one.
//!
//! | input                              | Debian                                | RPM Version (Release `1`)     |
//! |------------------------------------|---------------------------------------|-------------------------------|
//! | `4.8.2`                            | `4.8.2-1`                             | `4.8.2`                       |
//! | `4.8.2.rc1`                        | `4.8.2+rcN1-1`                        | `4.8.2+rcN1`                  |
//! | `4.8.2.v20240101-1200`             | `4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-1`  | `4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0` |
//! | `4.8.2-SNAPSHOT`, `4.8.2.SNAPSHOT` | `4.8.2~snapshot-1`                    | `4.8.2~snapshot`              |
//! | `4.8.2.rc1-SNAPSHOT`               | `4.8.2+rcN1~snapshot-1`               | `4.8.2+rcN1~snapshot`         |
//!
//! Why the qualifier is spelled out character by character: dpkg and rpm cut a version into runs
//! of digits and of other characters and compare digit runs as numbers (`01` = `1`, `9` < `10`),
//! where OSGi compares characters (`10` < `9`). They also disagree with each other: rpm ranks a
//! number above letters and skips `.`, `-` and `_` (`rc1` = `rc-1`), dpkg ranks digits below
//! letters and letters below other characters. No spelling that keeps digit runs whole can follow
//! OSGi, so each qualifier character becomes one token:
//!
//! | OSGi character | token       |
//! |----------------|-------------|
//! | `-`            | `H`         |
//! | `0` … `9`      | `N0` … `N9` |
//! | `A` … `Z`      | `Ua` … `Uz` |
//! | `_`            | `Z`         |
//! | `a` … `z`      | `a` … `z`   |
//!
//! Why both tools then order as OSGi does (`tests/version_order.rs` asks the real dpkg and rpm
//! over a generated table, the unit tests below check properties 1 and 4 over every qualifier of
//! up to two characters):
//! 1. Tokens increase with their characters' byte order (`-` < digits < capitals < `_` < small
//!    letters, as `H` < `N` < `U` < `Z` < `a`…`z`, then by their second character), and no token
//!    begins another (no one-letter token is `N` or `U`). So two encodings first differ inside
//!    their first differing tokens, at the same offset, in the qualifiers' order; or one encoding
//!    is the beginning of the other, as its qualifier is of the other's.
//! 2. Every token starts with a letter and a digit only follows `N`: digit runs are one digit long,
//!    and two encodings never meet digit against letter, nor digit against their end. Where they
//!    first differ, both tools compare letter with letter (dpkg: ASCII; rpm: `strcmp` of letter
//!    runs), or one digit with one digit after the same `N` (both: as numbers, which for single
//!    digits is their order), or a letter with what follows the shorter encoding: its end or
//!    `~snapshot`, which both put first (dpkg ranks the end and `~` below letters; rpm ranks a
//!    letter run below one it begins, the end below anything left, and `~` below everything).
//! 3. The qualifier follows `+`, which both put after the end (`4.8.2` < `4.8.2+…`); a snapshot
//!    ends in `~snapshot`, which both put before the end and before `+` (`4.8.2~snapshot` <
//!    `4.8.2` < `4.8.2+…`, `4.8.2+a~snapshot` < `4.8.2+a`). The numbers have no leading zeros.
//! 4. No token begins another, so an encoding decodes one way: two different versions never share
//!    a package version. (`4.8.2-SNAPSHOT` and `4.8.2.SNAPSHOT` are one version, spelled by Maven
//!    and by bnd; so are `4.2` and `4.2.0`, as in OSGi.)
//!
//! The revision (`--revision`, default 1) is the Debian revision and the RPM Release.

use std::fmt;

/// The longest qualifier packaged: its package form takes up to two characters per character,
/// and a package's file name (name, version, architecture) must fit in a file name's 255 bytes.
const MAX_QUALIFIER: usize = 64;

/// What a malformed version gets told: the forms bmpack packages.
const FORMS: &str = "write it as OSGi's `major.minor.micro.qualifier` (e.g. `4.8.2`, `4.8.2.v20240101-1200`) or \
                     as `4.8.2-SNAPSHOT` for a snapshot";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageVersion {
    major: u64,
    minor: u64,
    micro: u64,
    /// OSGi qualifier as given (without a snapshot marker), if any; never empty.
    qualifier: Option<String>,
    snapshot: bool,
    revision: u32,
}

/// A version bmpack refuses to package: the input, what is wrong with it, and what to write.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` cannot be a package version: {reason}; {fix}")]
pub struct VersionError {
    pub input: String,
    pub reason: String,
    pub fix: String,
}

impl PackageVersion {
    /// Parses an OSGi or Maven-style version. `revision` is the packaging revision (>= 1).
    pub fn parse(input: &str, revision: u32) -> Result<Self, VersionError> {
        let err = |reason: String, fix: &str| VersionError { input: input.to_string(), reason, fix: fix.to_string() };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty".into(), FORMS));
        }
        if revision == 0 {
            return Err(err("the packaging revision is 0".into(), "pass a revision of 1 or more (`--revision 1`)"));
        }
        // Maven recognises its marker in capitals only. Another case is refused, not guessed:
        // read as a marker it sorts before the release, read as OSGi's qualifier after it, and
        // `4.8.2.snapshot` would share `4.8.2.SNAPSHOT`'s package version.
        if let Some(rest) = strip_suffix_ignore_case(s, "SNAPSHOT") {
            let marker = &s[rest.len()..];
            if marker != "SNAPSHOT" && (rest.ends_with('-') || rest.ends_with('.')) {
                return Err(err(
                    format!(
                        "`{marker}` is Maven's snapshot marker in another case, and OSGi would read it as a \
                         qualifier after the release"
                    ),
                    "write `SNAPSHOT` in capitals for a snapshot (before the release), or another qualifier",
                ));
            }
        }
        let (body, mut snapshot) = match s.strip_suffix("-SNAPSHOT") {
            Some(body) => (body, true),
            None => (s, false),
        };
        let mut parts = body.splitn(4, '.');
        let mut number = |name: &str| -> Result<u64, VersionError> {
            match parts.next() {
                None => Ok(0),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| err(format!("the {name} number `{p}` is larger than {}", u64::MAX), FORMS))
                }
                // Maven's `4.8.2-rc1` is OSGi's `4.8.2.rc1`.
                Some(p) if p.contains('-') => Err(err(
                    format!("the {name} part `{p}` is not a number"),
                    "write the qualifier after a `.`, as OSGi does (`4.8.2.rc1`, not Maven's `4.8.2-rc1`)",
                )),
                Some(p) => Err(err(format!("the {name} part `{p}` is not a number"), FORMS)),
            }
        };
        let major = number("major")?;
        let minor = number("minor")?;
        let micro = number("micro")?;
        let qualifier = match parts.next() {
            None => None,
            // bnd's spelling of `4.8.2-SNAPSHOT`.
            Some("SNAPSHOT") if !snapshot => {
                snapshot = true;
                None
            }
            // `-SNAPSHOT` was cut from the end of the input above: this is a second marker.
            Some(q) if q == "SNAPSHOT" || q.ends_with("-SNAPSHOT") => {
                return Err(err("it is marked as a snapshot twice".into(), "keep one `SNAPSHOT`"));
            }
            Some(q) => Some(check_qualifier(q).map_err(|(reason, fix)| err(reason, fix))?.to_string()),
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

    /// The upstream part shared by both formats (`4.8.2+rcN1~snapshot`).
    fn upstream(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.micro);
        if let Some(q) = &self.qualifier {
            s.push('+');
            for c in q.chars() {
                s.push_str(&token(c));
            }
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

/// One qualifier character's token (the module documentation says why, and why it keeps OSGi's
/// order in dpkg and rpm).
fn token(c: char) -> String {
    match c {
        '-' => "H".to_string(),
        '0'..='9' => format!("N{c}"),
        'A'..='Z' => format!("U{}", c.to_ascii_lowercase()),
        '_' => "Z".to_string(),
        'a'..='z' => c.to_string(),
        _ => unreachable!("qualifier characters are checked by check_qualifier"),
    }
}

/// OSGi's qualifier rule (`[0-9A-Za-z_-]+`), and a length that fits in a file name. Err: what is
/// wrong, and the fix.
fn check_qualifier(q: &str) -> Result<&str, (String, &'static str)> {
    if q.is_empty() {
        return Err((
            "the qualifier after the last `.` is empty".into(),
            "remove the last `.`, or write a qualifier after it",
        ));
    }
    if let Some(c) = q.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err((
            format!("the qualifier `{q}` holds `{}`, which OSGi does not allow in a qualifier", c.escape_debug()),
            "use only letters, digits, `-` and `_` in the qualifier",
        ));
    }
    if q.len() > MAX_QUALIFIER {
        return Err((
            format!(
                "the qualifier has {} characters, more than {MAX_QUALIFIER}: its package form (up to two characters \
                 each) would make package file names too long for the file system",
                q.len()
            ),
            "use a shorter qualifier",
        ));
    }
    Ok(q)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackageVersion {
        PackageVersion::parse(s, 1).unwrap()
    }

    /// Every character OSGi allows in a qualifier, in byte (`String.compareTo`) order.
    const ALPHABET: &str = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    /// The tokens read back, written here from the module's table rather than from `token`:
    /// `None` when the text is not a sequence of tokens.
    fn decode(encoded: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = encoded.chars();
        while let Some(c) = chars.next() {
            out.push(match c {
                'H' => '-',
                'Z' => '_',
                'N' => chars.next().filter(char::is_ascii_digit)?,
                'U' => chars.next().filter(char::is_ascii_lowercase)?.to_ascii_uppercase(),
                c if c.is_ascii_lowercase() => c,
                _ => return None,
            });
        }
        Some(out)
    }

    /// Every qualifier of one or two characters.
    fn short_qualifiers() -> Vec<String> {
        let mut all: Vec<String> = ALPHABET.chars().map(String::from).collect();
        for a in ALPHABET.chars() {
            all.extend(ALPHABET.chars().map(|b| format!("{a}{b}")));
        }
        all
    }

    #[test]
    fn maps_to_both_formats() {
        let cases = [
            ("4.8.2", "4.8.2-1", "4.8.2"),
            ("4.2", "4.2.0-1", "4.2.0"),
            ("04.008.2", "4.8.2-1", "4.8.2"),
            ("4.8.2.rc1", "4.8.2+rcN1-1", "4.8.2+rcN1"),
            ("4.8.2.v20240101-1200", "4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0-1", "4.8.2+vN2N0N2N4N0N1N0N1HN1N2N0N0"),
            ("4.8.2.Final_2", "4.8.2+UfinalZN2-1", "4.8.2+UfinalZN2"),
            ("4.8.2-SNAPSHOT", "4.8.2~snapshot-1", "4.8.2~snapshot"),
            ("4.8.2.SNAPSHOT", "4.8.2~snapshot-1", "4.8.2~snapshot"),
            ("4.8.2.b_1-SNAPSHOT", "4.8.2+bZN1~snapshot-1", "4.8.2+bZN1~snapshot"),
            ("4.8.2.SNAPSHOT-1", "4.8.2+UsUnUaUpUsUhUoUtHN1-1", "4.8.2+UsUnUaUpUsUhUoUtHN1"),
        ];
        for (input, deb, rpm) in cases {
            assert_eq!(v(input).deb(), deb, "{input}");
            assert_eq!(v(input).rpm_version(), rpm, "{input}");
            assert_eq!(v(input).rpm_release(), "1");
        }
        assert_eq!(PackageVersion::parse("4.8.2", 3).unwrap().deb(), "4.8.2-3");
    }

    /// Property 1 of the module documentation, for every pair of characters: tokens in the
    /// characters' order, none the beginning of another. Property 2's shape: a letter first, a
    /// digit only after `N`.
    #[test]
    fn tokens_keep_the_character_order_and_none_begins_another() {
        let chars: Vec<char> = ALPHABET.chars().collect();
        assert!(chars.windows(2).all(|w| w[0] < w[1]), "ALPHABET is in byte order");
        for (i, &a) in chars.iter().enumerate() {
            let ta = token(a);
            assert!(ta.starts_with(|c: char| c.is_ascii_alphabetic()), "{a}: {ta}");
            assert!(ta.chars().skip(1).all(|c| !c.is_ascii_digit()) || ta.starts_with('N'), "{a}: {ta}");
            for &b in &chars[i + 1..] {
                let tb = token(b);
                assert!(ta < tb, "{a} < {b} but {ta} >= {tb}");
                assert!(!tb.starts_with(&ta) && !ta.starts_with(&tb), "{ta} and {tb}");
            }
        }
    }

    /// Property 4 (one decoding, so no two versions share a package version) and the order of
    /// whole encodings, over every qualifier of up to two characters, with and without a snapshot.
    #[test]
    fn encodings_decode_one_way_and_sort_as_the_qualifiers() {
        let mut seen = std::collections::HashMap::new();
        let mut versions = Vec::new();
        for q in short_qualifiers() {
            for snapshot in ["", "-SNAPSHOT"] {
                let version = v(&format!("4.8.2.{q}{snapshot}"));
                let encoded = version.rpm_version();
                let body = encoded.strip_prefix("4.8.2+").unwrap();
                let body = body.strip_suffix("~snapshot").unwrap_or(body);
                assert_eq!(decode(body).as_deref(), Some(q.as_str()), "{encoded}");
                if let Some(other) = seen.insert(version.deb(), version.to_string()) {
                    panic!("{other} and {version} share {}", version.deb());
                }
                versions.push((q.clone(), snapshot.is_empty(), encoded));
            }
        }
        // Byte order of the qualifiers (a snapshot first) against byte order of the encodings:
        // the order dpkg and rpm see once property 2 holds (tests/version_order.rs asks them).
        let mut by_qualifier = versions.clone();
        by_qualifier.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let encodings = |vs: &[(String, bool, String)]| vs.iter().map(|v| v.2.clone()).collect::<Vec<_>>();
        let mut sorted = encodings(&versions);
        sorted.sort_by(|a, b| {
            let body = |s: &'_ str| s.strip_prefix("4.8.2+").unwrap().replace("~snapshot", "").to_string();
            body(a).cmp(&body(b)).then_with(|| b.ends_with("~snapshot").cmp(&a.ends_with("~snapshot")))
        });
        assert_eq!(sorted, encodings(&by_qualifier));
    }

    #[test]
    fn bundle_versions_compare_by_meaning() {
        assert!(v("4.2").same_upstream(&v("4.2.0")));
        assert!(v("4.2.0-SNAPSHOT").same_upstream(&v("4.2.0.SNAPSHOT")));
        assert!(!v("4.2.0").same_upstream(&v("4.2.0.v1")));
        assert!(!v("4.2.0").same_upstream(&v("4.2.1")));
        assert!(!v("4.2.0.a-1").same_upstream(&v("4.2.0.a_1")));
    }

    /// Each refusal names the input, what is wrong and the fix.
    #[test]
    fn refuses_what_cannot_be_mapped_with_the_reason_and_the_fix() {
        let long = format!("4.2.3.{}", "a".repeat(MAX_QUALIFIER + 1));
        let cases: &[(&str, &str, &str)] = &[
            ("", "it is empty", "major.minor.micro.qualifier"),
            ("four", "the major part `four` is not a number", "major.minor.micro.qualifier"),
            ("v4.2", "the major part `v4` is not a number", "4.8.2.v20240101-1200"),
            ("4..2", "the minor part `` is not a number", "4.8.2-SNAPSHOT"),
            ("4.2.x", "the micro part `x` is not a number", "major.minor"),
            ("4.2.3-rc1", "the micro part `3-rc1` is not a number", "not Maven's `4.8.2-rc1`"),
            ("4.2.3.", "the qualifier after the last `.` is empty", "remove the last `.`"),
            ("4.2.3.-SNAPSHOT", "the qualifier after the last `.` is empty", "remove the last `.`"),
            ("4.2.3.a+b", "holds `+`, which OSGi does not allow", "letters, digits, `-` and `_`"),
            ("4.2.3.a.b", "holds `.`, which OSGi does not allow", "letters, digits, `-` and `_`"),
            ("4.2.3.\u{e9}t\u{e9}", "holds `\u{e9}`", "letters, digits, `-` and `_`"),
            ("4.2.3-snapshot", "`snapshot` is Maven's snapshot marker in another case", "`SNAPSHOT` in capitals"),
            ("4.2.3.Snapshot", "`Snapshot` is Maven's snapshot marker", "`SNAPSHOT` in capitals"),
            ("4.2.3.SNAPSHOT-SNAPSHOT", "marked as a snapshot twice", "keep one `SNAPSHOT`"),
            ("4.2.3.a-SNAPSHOT-SNAPSHOT", "marked as a snapshot twice", "keep one `SNAPSHOT`"),
            ("99999999999999999999999.0", "larger than", "major.minor"),
            (&long, "more than 64: its package form", "use a shorter qualifier"),
        ];
        for (input, reason, fix) in cases {
            let e = PackageVersion::parse(input, 1).unwrap_err().to_string();
            assert!(e.starts_with(&format!("`{input}` cannot be a package version: ")), "{input}: {e}");
            assert!(e.contains(reason) && e.contains(fix), "{input}: {e}");
        }
        let e = PackageVersion::parse("4.2", 0).unwrap_err().to_string();
        assert!(e.contains("revision is 0") && e.contains("--revision 1"), "{e}");
        // The longest accepted qualifier, and `snapshot` inside a word, are fine.
        PackageVersion::parse(&format!("4.2.3.{}", "a".repeat(MAX_QUALIFIER)), 1).unwrap();
        assert_eq!(v("4.2.3.xsnapshot").deb(), "4.2.3+xsnapshot-1");
    }
}
