//! `META-INF/MANIFEST.MF`, read as `java.util.jar.Manifest` reads it (OpenJDK's
//! `Manifest.read` and `Attributes.read`, which BlueMind's startup uses to find each extension's
//! `Bundle-SymbolicName`) and written as the JAR File Specification says.
//!
//! Reading, as Java does:
//! * Lines end with CRLF, LF or CR. A last line without a line break is ignored (Java's
//!   `readLine` drops it), so a header there does not exist.
//! * A line, with its line break, is at most 512 bytes (Java's line buffer); a longer one makes
//!   Java refuse the manifest ("line too long").
//! * A header is `Name: value`: the first `:` ends the name and must be followed by exactly one
//!   space. A name is 1 to 70 of `A-Z a-z 0-9 _ -` and is case-insensitive; anything else (a
//!   byte order mark included) makes Java refuse the manifest.
//! * A line that begins with one space continues the previous value (the space is dropped,
//!   nothing else is trimmed: the split may fall in the middle of a word).
//! * A header given twice, in any case, keeps the last value (Java's map `put`).
//! * Values are UTF-8; Java replaces invalid bytes with U+FFFD, and so do we.
//! * The main section ends at the first blank line; per-entry sections follow and are not needed
//!   to identify a bundle, so they are not read.
//!
//! Writing: lines of at most 72 bytes, CRLF, as the `jar` tool writes them.

use std::fmt::Write as _;

use crate::console::printable;

/// Where the manifest is in a jar.
pub const MANIFEST_PATH: &str = "META-INF/MANIFEST.MF";

/// The maximum length of a manifest line in bytes, line ending excluded, when writing.
pub const MAX_LINE_BYTES: usize = 72;

/// Java's line buffer: a line and its line break must fit in it.
pub const JAVA_MAX_LINE_BYTES: usize = 512;

/// Java's limit on a header name.
pub const JAVA_MAX_NAME_CHARS: usize = 70;

/// The main section of a manifest, headers in file order (a repeated header keeps its first
/// place and its last value, as Java's map does).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    pub headers: Vec<(String, String)>,
}

/// Why a manifest could not be read; `line` is 1-based. Each message says what Java does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "line {line} is a continuation line (it begins with a space) but no header precedes it; java.util.jar refuses it too (\"misplaced continuation line\")"
    )]
    ContinuationFirst { line: usize },
    #[error(
        "line {line} is not a `Name: value` header (no `:`): `{text}`; java.util.jar refuses it too (\"invalid header field\")"
    )]
    NotAHeader { line: usize, text: String },
    #[error(
        "line {line}: the header `{name}` has no space after its `:`; java.util.jar refuses it (\"invalid header field\"): write `{name}: value`"
    )]
    NoSpaceAfterColon { line: usize, name: String },
    #[error(
        "line {line}: `{name}` is not a header name (1 to 70 of A-Z, a-z, 0-9, `_`, `-`); java.util.jar refuses it too (\"invalid header field name\")"
    )]
    BadName { line: usize, name: String },
    #[error(
        "it begins with a UTF-8 byte order mark; java.util.jar reads it as part of the first header's name and refuses the manifest: save it without the mark"
    )]
    ByteOrderMark,
    #[error(
        "line {line} is {bytes} bytes long with its line break; java.util.jar reads at most 512 and refuses it (\"line too long\"): wrap it on continuation lines"
    )]
    LineTooLong { line: usize, bytes: usize },
    #[error(
        "line {line} is 511 bytes long and ends with CRLF; java.util.jar would read the LF as a blank line that ends the main section, bmpack refuses it instead: wrap it on continuation lines"
    )]
    CrLfSplit { line: usize },
}

impl Manifest {
    /// Parses the main section of a manifest as `java.util.jar.Manifest` does.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(ManifestError::ByteOrderMark);
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        // The header being read: its name and the bytes of its value so far.
        let mut current: Option<(String, Vec<u8>)> = None;
        for (index, line) in java_lines(bytes).enumerate() {
            let number = index + 1;
            let JavaLine { content, ending } = line;
            let Some(ending) = ending else { break }; // Java ignores an unterminated last line
            let total = content.len() + ending;
            if total > JAVA_MAX_LINE_BYTES {
                return Err(if content.len() == JAVA_MAX_LINE_BYTES - 1 && ending == 2 {
                    ManifestError::CrLfSplit { line: number }
                } else {
                    ManifestError::LineTooLong { line: number, bytes: total }
                });
            }
            if content.is_empty() {
                break; // end of the main section
            }
            if let Some(rest) = content.strip_prefix(b" ") {
                match current.as_mut() {
                    Some((_, value)) => value.extend_from_slice(rest),
                    None => return Err(ManifestError::ContinuationFirst { line: number }),
                }
                continue;
            }
            if let Some((name, value)) = current.take() {
                put(&mut headers, name, &value);
            }
            let Some(colon) = content.iter().position(|&b| b == b':') else {
                return Err(ManifestError::NotAHeader {
                    line: number,
                    text: printable(&String::from_utf8_lossy(content)),
                });
            };
            let name = String::from_utf8_lossy(&content[..colon]).into_owned();
            if content.get(colon + 1) != Some(&b' ') {
                return Err(ManifestError::NoSpaceAfterColon { line: number, name: printable(&name) });
            }
            if !is_valid_name(&name) {
                return Err(ManifestError::BadName { line: number, name: printable(&name) });
            }
            current = Some((name, content[colon + 2..].to_vec()));
        }
        if let Some((name, value)) = current.take() {
            put(&mut headers, name, &value);
        }
        Ok(Manifest { headers })
    }

    /// The value of header `name` (case-insensitive).
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

/// A header given again (in any case) replaces the value and keeps the first place and spelling.
fn put(headers: &mut Vec<(String, String)>, name: String, value: &[u8]) {
    let value = String::from_utf8_lossy(value).into_owned();
    match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
        Some(existing) => existing.1 = value,
        None => headers.push((name, value)),
    }
}

/// `Attributes.Name`'s rule.
fn is_valid_name(name: &str) -> bool {
    (1..=JAVA_MAX_NAME_CHARS).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One line as Java's `FastInputStream.readLine` cuts it: the bytes, and the length of its line
/// break (`None` for a last line without one).
struct JavaLine<'a> {
    content: &'a [u8],
    ending: Option<usize>,
}

/// Splits on CRLF, LF or CR.
fn java_lines(bytes: &[u8]) -> impl Iterator<Item = JavaLine<'_>> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(i) => {
                let ending = if rest[i..].starts_with(b"\r\n") { 2 } else { 1 };
                let line = JavaLine { content: &rest[..i], ending: Some(ending) };
                rest = &rest[i + ending..];
                Some(line)
            }
            None => {
                let line = JavaLine { content: rest, ending: None };
                rest = &[];
                Some(line)
            }
        }
    })
}

/// The last line of the main section when it has no line break (Java ignores it), for messages
/// that explain why a header is missing.
pub fn unterminated_last_line(bytes: &[u8]) -> Option<String> {
    for line in java_lines(bytes) {
        match line.ending {
            None if !line.content.is_empty() => return Some(printable(&String::from_utf8_lossy(line.content))),
            Some(_) if line.content.is_empty() => return None,
            _ => {}
        }
    }
    None
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
        && name
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
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
    fn reads_lf_and_cr_endings_and_ignores_a_last_line_without_ending_as_java_does() {
        for ending in ["\n", "\r"] {
            let text = format!("Manifest-Version: 1.0{ending}Bundle-Version: 4.8.{ending} 2{ending}Bundle-Name: N");
            let m = Manifest::parse(text.as_bytes()).unwrap();
            assert_eq!(m.get("Bundle-Version"), Some("4.8.2"), "ending {ending:?}");
            assert_eq!(m.get("Bundle-Name"), None, "Java drops an unterminated last line");
            assert_eq!(unterminated_last_line(text.as_bytes()).as_deref(), Some("Bundle-Name: N"));
        }
        assert_eq!(unterminated_last_line(b"A: b\n\nName: x"), None, "after the main section");
    }

    #[test]
    fn a_repeated_header_keeps_the_last_value_in_any_case() {
        let m = Manifest::parse(b"Bundle-SymbolicName: first\nbundle-symbolicname: second\n").unwrap();
        assert_eq!(m.get("Bundle-SymbolicName"), Some("second"));
        assert_eq!(m.headers.len(), 1);
    }

    #[test]
    fn refuses_what_java_refuses() {
        assert_eq!(Manifest::parse(b" leading: space\n"), Err(ManifestError::ContinuationFirst { line: 1 }));
        assert!(matches!(Manifest::parse(b"A: b\nno colon here\n"), Err(ManifestError::NotAHeader { line: 2, .. })));
        assert!(matches!(Manifest::parse(b"A: b\nB:c\n"), Err(ManifestError::NoSpaceAfterColon { line: 2, .. })));
        assert!(matches!(Manifest::parse(b"A: b\nB:\n"), Err(ManifestError::NoSpaceAfterColon { line: 2, .. })));
        assert!(matches!(Manifest::parse(b"A b: c\n"), Err(ManifestError::BadName { line: 1, .. })));
        let long_name = format!("{}: x\n", "N".repeat(71));
        assert!(matches!(Manifest::parse(long_name.as_bytes()), Err(ManifestError::BadName { line: 1, .. })));
        assert_eq!(Manifest::parse(b"\xEF\xBB\xBFManifest-Version: 1.0\n"), Err(ManifestError::ByteOrderMark));
        let long = format!("A: {}\n", "x".repeat(508)); // 512 bytes with LF: Java's limit
        assert!(Manifest::parse(long.as_bytes()).is_ok());
        let longer = format!("A: {}\n", "x".repeat(509));
        assert_eq!(Manifest::parse(longer.as_bytes()), Err(ManifestError::LineTooLong { line: 1, bytes: 513 }));
        let split = format!("A: {}\r\n", "x".repeat(508));
        assert_eq!(Manifest::parse(split.as_bytes()), Err(ManifestError::CrLfSplit { line: 1 }));
        // Invalid UTF-8 in a value is replaced, as Java's decoder does.
        assert_eq!(Manifest::parse(b"A: \xff\n").unwrap().get("A"), Some("\u{fffd}"));
    }

    #[test]
    fn writes_lines_of_at_most_72_bytes_that_read_back() {
        let long: String =
            (0..40).map(|i| format!("net.bluemind.package{i};version=\"4.8.2\"")).collect::<Vec<_>>().join(",");
        let m = Manifest {
            headers: vec![("Manifest-Version".into(), "1.0".into()), ("Export-Package".into(), long.clone())],
        };
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
