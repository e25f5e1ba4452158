//! URLs as RFC 3986 reads them, for what a server sends back: the hrefs of a WebDAV listing are
//! references resolved against the request's URL (§5.2), not text glued onto the origin, and the
//! password goes only to the origin (scheme, host, port) the user gave.

use std::fmt;

/// An absolute `http`/`https` URL, split into its parts (no fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Lower case: `http` or `https`.
    pub scheme: String,
    /// As written (`host`, `host:8080`, `[::1]:8443`, possibly `user@host`).
    pub authority: String,
    /// Starts with `/` (an empty path is written `/`).
    pub path: String,
    pub query: Option<String>,
}

/// Scheme, host and port: who may receive the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl Url {
    /// An absolute http(s) URL; `None` for anything else.
    pub fn parse(text: &str) -> Option<Url> {
        let (scheme, rest) = text.split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let rest = rest.strip_prefix("//")?;
        let rest = rest.split('#').next().unwrap_or_default();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = rest[..authority_end].to_string();
        if authority.is_empty() {
            return None;
        }
        let (path, query) = split_query(&rest[authority_end..]);
        let path = if path.is_empty() { "/".to_string() } else { remove_dot_segments(&normalize_percent(path)) };
        Some(Url { scheme, authority, path, query })
    }

    /// Resolves a reference found in a server's answer against this URL (RFC 3986 §5.2.2).
    pub fn resolve(&self, reference: &str) -> Option<Url> {
        let reference = reference.trim();
        let reference = reference.split('#').next().unwrap_or_default();
        if let Some((scheme, _)) = reference.split_once(':')
            && !scheme.is_empty()
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && scheme.as_bytes()[0].is_ascii_alphabetic()
        {
            return Url::parse(reference);
        }
        if reference.starts_with("//") {
            return Url::parse(&format!("{}:{reference}", self.scheme));
        }
        let (path, query) = split_query(reference);
        let path = normalize_percent(path);
        let (path, query) = if path.is_empty() {
            (self.path.clone(), query.or_else(|| self.query.clone()))
        } else if path.starts_with('/') {
            (remove_dot_segments(&path), query)
        } else {
            // Merge (§5.2.3): the base's path up to its last `/`, then the reference.
            let directory = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            (remove_dot_segments(&format!("{directory}{path}")), query)
        };
        Some(Url { scheme: self.scheme.clone(), authority: self.authority.clone(), path, query })
    }

    /// Scheme, host and port; `None` when the authority carries user information or a bad port
    /// (nothing we would send a password to).
    pub fn origin(&self) -> Option<Origin> {
        if self.authority.contains('@') {
            return None;
        }
        let (host, port) = if let Some(rest) = self.authority.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            (format!("[{}]", host.to_ascii_lowercase()), after.strip_prefix(':'))
        } else {
            match self.authority.rsplit_once(':') {
                Some((host, port)) => (host.to_ascii_lowercase(), Some(port)),
                None => (self.authority.to_ascii_lowercase(), None),
            }
        };
        let default = if self.scheme == "https" { 443 } else { 80 };
        let port = match port {
            None | Some("") => default,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        if host.is_empty() {
            return None;
        }
        Some(Origin { scheme: self.scheme.clone(), host, port })
    }

    /// The one path segment after `folder` (a path ending with `/`), if this URL is directly in
    /// that folder on the same origin: `…/trash/x.d1` in `…/trash/` gives `x.d1`. Percent-encoded
    /// slashes and empty names do not count.
    pub fn child_of<'a>(&'a self, folder: &Url) -> Option<&'a str> {
        if self.origin()? != folder.origin()? || self.query.is_some() {
            return None;
        }
        let name = self.path.strip_prefix(&folder.path)?;
        let name = name.strip_suffix('/').unwrap_or(name);
        let encoded_slash = name.to_ascii_lowercase().contains("%2f") || name.to_ascii_lowercase().contains("%5c");
        (!name.is_empty() && !name.contains('/') && !encoded_slash).then_some(name)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

fn split_query(text: &str) -> (&str, Option<String>) {
    match text.split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (text, None),
    }
}

/// Decodes percent-encoded unreserved characters (RFC 3986 §6.2.2.2): `%2E%2E` is `..`, and is
/// then removed as a dot segment like `..` itself.
fn normalize_percent(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(value) = path.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
            && (value.is_ascii_alphanumeric() || b"-._~".contains(&value))
        {
            out.push(value as char);
            i += 3;
            continue;
        }
        let c = path[i..].chars().next().expect("inside the string");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// RFC 3986 §5.2.4, step by step.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path.to_string();
    let mut output = String::new();
    let pop = |output: &mut String| match output.rfind('/') {
        Some(i) => output.truncate(i),
        None => output.clear(),
    };
    while !input.is_empty() {
        if input.starts_with("../") {
            input.drain(..3);
        } else if input.starts_with("./") {
            input.drain(..2);
        } else if input.starts_with("/./") {
            input.replace_range(..3, "/");
        } else if input == "/." {
            input = "/".into();
        } else if input.starts_with("/../") {
            input.replace_range(..4, "/");
            pop(&mut output);
        } else if input == "/.." {
            input = "/".into();
            pop(&mut output);
        } else if input == "." || input == ".." {
            input.clear();
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input.drain(..end);
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 §5.4: the normal and abnormal examples.
    #[test]
    fn resolves_the_rfc_examples() {
        let base = Url::parse("http://a/b/c/d;p?q").unwrap();
        for (reference, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("https://other:8443/x", "https://other:8443/x"),
        ] {
            assert_eq!(base.resolve(reference).unwrap().to_string(), expected, "reference `{reference}`");
        }
    }

    #[test]
    fn origins_and_children() {
        let trash = Url::parse("https://Cloud.example:443/nc/remote.php/dav/trashbin/j/trash/").unwrap();
        let origin = trash.origin().unwrap();
        assert_eq!(origin, Origin { scheme: "https".into(), host: "cloud.example".into(), port: 443 });
        let child = |href: &str| trash.resolve(href).and_then(|u| u.child_of(&trash).map(str::to_string));
        assert_eq!(
            child("/nc/remote.php/dav/trashbin/j/trash/.bmpack-probe-x.d1").as_deref(),
            Some(".bmpack-probe-x.d1")
        );
        assert_eq!(child("./%2Ebmpack-probe-x.d1").as_deref(), Some(".bmpack-probe-x.d1"));
        assert_eq!(child("https://cloud.example/nc/remote.php/dav/trashbin/j/trash/a").as_deref(), Some("a"));
        // Another scheme, host, port or user information; outside the folder; the folder itself.
        for href in [
            "http://cloud.example/nc/remote.php/dav/trashbin/j/trash/a",
            "https://evil.example/nc/remote.php/dav/trashbin/j/trash/a",
            "https://cloud.example:8443/nc/remote.php/dav/trashbin/j/trash/a",
            "https://x@cloud.example/nc/remote.php/dav/trashbin/j/trash/a",
            "//evil.example/nc/remote.php/dav/trashbin/j/trash/a",
            "/nc/remote.php/dav/files/j/precious.txt",
            "/nc/remote.php/dav/trashbin/j/trash/%2E%2E/%2e%2e/files/j/precious.txt",
            "../../files/j/precious.txt",
            "/nc/remote.php/dav/trashbin/j/trash/",
            "/nc/remote.php/dav/trashbin/j/trash/a%2Fb",
            "/nc/remote.php/dav/trashbin/j/trash/sub/a",
            "/nc/remote.php/dav/trashbin/j/trash/a?x=1",
        ] {
            assert_eq!(child(href), None, "href `{href}` must be refused");
        }
        assert_eq!(Url::parse("http://[::1]:8080/x").unwrap().origin().unwrap().to_string(), "http://[::1]:8080");
        assert!(Url::parse("ftp://a/x").is_none());
        assert!(Url::parse("http://127.0.0.1:8080.evil.net/x").unwrap().origin().is_none());
    }
}
