//! The WebDAV address an administrator gives BlueMind, and what follows from it.
//!
//! Nextcloud shows two forms, depending on the release: `https://host/nextcloud/remote.php/dav/files/USER`
//! (the system address may stop at `/dav/files`) and the older `https://host/remote.php/webdav/`.
//! Nextcloud's own root is the part before `/remote.php/`; `status.php` is there.

use crate::exit::{ExitClass, Failure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `/remote.php/dav/files/USER` (the user may be missing: the system-wide address).
    DavFiles { user: Option<String> },
    /// `/remote.php/webdav/`.
    LegacyWebdav,
    /// `/remote.php/dav` without `files/`: Nextcloud answers it, but it is not the files tree.
    DavRoot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebdavAddress {
    /// As given.
    pub given: String,
    pub https: bool,
    /// Nextcloud's root without the trailing slash: `https://host/nextcloud`.
    pub base: String,
    pub form: Form,
}

impl WebdavAddress {
    pub fn parse(url: &str) -> Result<Self, Failure> {
        let given = url.trim().to_string();
        let usage = |why: &str| {
            Failure::new(ExitClass::Usage, format!("`{given}` is not a Nextcloud WebDAV address: {why}")).with_fix(
                "give the address shown in Nextcloud (Files > Settings > WebDAV), e.g. \
                 https://cloud.example.com/remote.php/dav/files/USER or https://cloud.example.com/remote.php/webdav/",
            )
        };
        let (https, rest) = if let Some(r) = strip_prefix_ignore_case(&given, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ignore_case(&given, "http://") {
            (false, r)
        } else {
            return Err(usage("it must start with https:// (or http://)"));
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let host_end = rest.find('/').unwrap_or(rest.len());
        if host_end == 0 || rest[..host_end].contains('@') {
            return Err(usage(if host_end == 0 {
                "it has no host"
            } else {
                "put the user in --user, not in the address"
            }));
        }
        let Some(cut) = rest.find("/remote.php/").or_else(|| rest.strip_suffix("/remote.php").map(str::len)) else {
            return Err(usage("it has no /remote.php/ part"));
        };
        let scheme = if https { "https://" } else { "http://" };
        let base = format!("{scheme}{}", &rest[..cut]);
        let after: Vec<&str> =
            rest[cut..].trim_start_matches("/remote.php").split('/').filter(|s| !s.is_empty()).collect();
        let form = match after.as_slice() {
            ["webdav", ..] => Form::LegacyWebdav,
            ["dav", "files"] => Form::DavFiles { user: None },
            ["dav", "files", user, ..] => Form::DavFiles { user: Some(percent_decode(user)) },
            ["dav"] => Form::DavRoot,
            _ => return Err(usage("after /remote.php/ Nextcloud expects dav/files/USER or webdav")),
        };
        Ok(WebdavAddress { given, https, base, form })
    }

    pub fn status_url(&self) -> String {
        format!("{}/status.php", self.base)
    }

    /// The folder the probe writes into: the user's own files root.
    pub fn collection_for(&self, user: &str) -> String {
        match self.form {
            Form::LegacyWebdav => format!("{}/remote.php/webdav/", self.base),
            Form::DavFiles { .. } | Form::DavRoot => {
                format!("{}/remote.php/dav/files/{}/", self.base, percent_encode(user))
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Encodes a user name as one path segment (user names may hold `@`, spaces, `+`).
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@+".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_the_base() {
        let a = WebdavAddress::parse("https://host.example/nextcloud/remote.php/dav/files/jane%40corp/").unwrap();
        assert_eq!(a.base, "https://host.example/nextcloud");
        assert_eq!(a.status_url(), "https://host.example/nextcloud/status.php");
        assert_eq!(a.form, Form::DavFiles { user: Some("jane@corp".into()) });
        assert_eq!(a.collection_for("jane@corp"), "https://host.example/nextcloud/remote.php/dav/files/jane@corp/");
        let b = WebdavAddress::parse("http://10.0.0.5:8080/remote.php/webdav").unwrap();
        assert_eq!(b.base, "http://10.0.0.5:8080");
        assert!(!b.https);
        assert_eq!(b.collection_for("x y"), "http://10.0.0.5:8080/remote.php/webdav/");
        assert_eq!(WebdavAddress::parse("https://h/remote.php/dav/files").unwrap().form, Form::DavFiles { user: None });
    }

    #[test]
    fn wrong_forms_are_usage_errors() {
        for bad in [
            "host/remote.php/webdav",
            "ftp://h/remote.php/webdav",
            "https://h/nextcloud/",
            "https://h/remote.php/caldav/",
            "https:///remote.php/webdav",
        ] {
            let e = WebdavAddress::parse(bad).unwrap_err();
            assert_eq!(e.class, ExitClass::Usage, "{bad}: {e}");
        }
    }
}
