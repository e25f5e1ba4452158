//! `META-INF/MANIFEST.MF`, read and written as the JAR File Specification says.
//!
//! * A header is `Name: value`. Names are case-insensitive.
//! * A line is at most 72 bytes (line ending excluded); a longer value goes on continuation lines
//!   that begin with exactly one space, which is not part of the value. The split may fall in the
//!   middle of a word, so continuation lines are joined without trimming anything else.
//! * Lines end with CRLF, LF or CR.
//! * The main section ends at the first blank line; per-entry sections follow and are not needed
//!   to identify a bundle, so they are not read.

use std::fmt::Write as _;

/// The maximum length of a manifest line in bytes, line ending excluded.
pub const MAX_LINE_BYTES: usize = 72;

/// The main section of a manifest, headers in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    pub headers: Vec<(String, String)>,
}

/// Why a manifest could not be read; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("it is not UTF-8 text")]
    NotUtf8,
    #[error("line {line} is a continuation line (it begins with a space) but no header precedes it")]
    ContinuationFirst { line: usize },
    #[error("line {line} is not a `Name: value` header: `{text}`")]
    NotAHeader { line: usize, text: String },
}

impl Manifest {
    /// Parses the main section of a manifest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::NotUtf8)?;
        // A UTF-8 byte order mark is not allowed by the spec but some tools write one.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut headers: Vec<(String, String)> = Vec::new();
        for (index, line) in split_lines(text).enumerate() {
            let number = index + 1;
            if line.is_empty() {
                break; // end of the main section
            }
            if let Some(rest) = line.strip_prefix(' ') {
                match headers.last_mut() {
                    Some((_, value)) => value.push_str(rest),
                    None => return Err(ManifestError::ContinuationFirst { line: number }),
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(ManifestError::NotAHeader { line: number, text: line.to_string() });
            };
            // The spec puts exactly one space after the colon; tolerate none (seen in the wild).
            let value = value.strip_prefix(' ').unwrap_or(value);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(ManifestError::NotAHeader { line: number, text: line.to_string() });
            }
            headers.push((name.to_string(), value.to_string()));
        }
        Ok(Manifest { headers })
    }

    /// The value of header `name` (case-insensitive), the first one if it is repeated.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The manifest as the `jar` tool writes it: CRLF line endings, lines wrapped at 72 bytes,
    /// a blank line ending the main section.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (name, value) in &self.headers {
            write_wrapped(&mut out, &format!("{name}: {value}"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// Splits on CRLF, LF or CR, as the spec allows.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\r', '\n']) {
            Some(i) => {
                let line = &rest[..i];
                let ending = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + ending..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// Writes one header line, wrapped: the first line takes 72 bytes, each continuation line a space
/// and 71 bytes. Never splits a UTF-8 character.
fn write_wrapped(out: &mut String, header: &str) {
    let mut rest = header;
    let mut budget = MAX_LINE_BYTES;
    let mut first = true;
    while !rest.is_empty() {
        let mut cut = rest.len().min(budget);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push(' ');
        }
        let _ = write!(out, "{}\r\n", &rest[..cut]);
        rest = &rest[cut..];
        budget = MAX_LINE_BYTES - 1;
        first = false;
    }
}

/// The symbolic name in a `Bundle-SymbolicName` value: what precedes the first `;`
/// (`net.x.y;singleton:=true` → `net.x.y`). `None` if that is not a dotted name.
pub fn symbolic_name_of(value: &str) -> Option<&str> {
    let name = value.split(';').next().unwrap_or("").trim();
    let valid = !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuation_lines_without_trimming_and_reads_crlf() {
        let text = "Manifest-Version: 1.0\r\nBundle-SymbolicName: net.bluemind.filehosting.nextc\r\n loud12;singleton:=true\r\nImport-Package: a.b,\r\n  c.d\r\n\r\nName: x\r\nBundle-Version: 9\r\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.get("bundle-symbolicname"), Some("net.bluemind.filehosting.nextcloud12;singleton:=true"));
        // The continuation's one leading space is removed, the second one is the value's.
        assert_eq!(m.get("Import-Package"), Some("a.b, c.d"));
        // Per-entry sections after the blank line are not the main section.
        assert_eq!(m.get("Bundle-Version"), None);
    }

    #[test]
    fn reads_lf_and_cr_endings_and_a_last_line_without_ending() {
        for ending in ["\n", "\r"] {
            let text = format!("Manifest-Version: 1.0{ending}Bundle-Version: 4.8.{ending} 2{ending}Bundle-Name: N");
            let m = Manifest::parse(text.as_bytes()).unwrap();
            assert_eq!(m.get("Bundle-Version"), Some("4.8.2"), "ending {ending:?}");
            assert_eq!(m.get("Bundle-Name"), Some("N"));
        }
    }

    #[test]
    fn rejects_what_is_not_a_manifest() {
        assert_eq!(Manifest::parse(b" leading: space\n"), Err(ManifestError::ContinuationFirst { line: 1 }));
        assert!(matches!(Manifest::parse(b"A: b\nno colon here\n"), Err(ManifestError::NotAHeader { line: 2, .. })));
        assert_eq!(Manifest::parse(b"A: \xff\n"), Err(ManifestError::NotUtf8));
    }

    #[test]
    fn writes_lines_of_at_most_72_bytes_that_read_back() {
        let long: String = (0..40).map(|i| format!("net.bluemind.package{i};version=\"4.8.2\"")).collect::<Vec<_>>().join(",");
        let m = Manifest { headers: vec![("Manifest-Version".into(), "1.0".into()), ("Export-Package".into(), long.clone())] };
        let bytes = m.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.ends_with("\r\n\r\n"));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines.len() > 20, "the long header is wrapped");
        for line in &lines {
            assert!(line.len() <= MAX_LINE_BYTES, "line of {} bytes: {line}", line.len());
        }
        assert_eq!(lines[2].len(), MAX_LINE_BYTES, "a full continuation line is 72 bytes");
        assert_eq!(Manifest::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn symbolic_name_keeps_only_the_name() {
        assert_eq!(symbolic_name_of("net.x.y;singleton:=true"), Some("net.x.y"));
        assert_eq!(symbolic_name_of(" net.x.y ; singleton:=true;fragment-attachment:=never"), Some("net.x.y"));
        assert_eq!(symbolic_name_of("net.x.y"), Some("net.x.y"));
        assert_eq!(symbolic_name_of(";singleton:=true"), None);
        assert_eq!(symbolic_name_of("net..y"), None);
        assert_eq!(symbolic_name_of("net x"), None);
    }
}
