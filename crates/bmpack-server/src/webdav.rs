//! The few WebDAV requests `check` makes, authenticated with HTTP Basic, redirects not followed
//! (a redirect on WebDAV means the address is not the final one: the connector would fail).
//! The password goes to one origin only, the one the user gave: a request for any other URL
//! (another scheme, host or port) is refused before anything is sent. Every request has a total
//! time limit, and none is sent once the current phase's deadline (all steps, then clean-up) has
//! passed.

use std::cell::{Cell, RefCell};
use std::io::Cursor;
use std::time::{Duration, Instant};

use bmpack::console::printable;
use ureq::http::{Method, Request, Response};
use ureq::{Agent, AsSendBody, Body, SendBody};

use crate::exit::{ExitClass, Failure};
use crate::http::{Attempt, body_bytes, transport_failure};
use crate::url::{Origin, Url};

pub struct Client {
    agent: Agent,
    authorization: String,
    origin: Origin,
    /// No request starts after it, and none runs past it.
    deadline: Cell<Instant>,
    /// What the current phase is called in messages, and its length: `all steps` (100 s).
    phase: Cell<(&'static str, Duration)>,
    /// The first `Server` header seen (how the server names itself: Apache, nginx…), escaped.
    server: RefCell<Option<String>>,
}

/// What came back: status, `Location` (for redirects, escaped) and the body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// How the probe body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    ContentLength,
    Chunked,
}

impl Framing {
    pub fn label(self) -> &'static str {
        match self {
            Framing::ContentLength => "Content-Length",
            Framing::Chunked => "Transfer-Encoding: chunked",
        }
    }
}

const PROPFIND_BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/></d:prop></d:propfind>"#;

/// One request: what it does (for messages), how long it may take, what had answered before.
pub struct Step<'a> {
    pub doing: &'a str,
    pub limit: Duration,
    pub answered: Option<&'a str>,
}

impl Client {
    /// A client that sends the password to `origin_of` 's origin only.
    pub fn new(
        agent: Agent,
        user: &str,
        password: &str,
        origin_of: &Url,
        phase: (&'static str, Duration),
    ) -> Result<Self, Failure> {
        let origin = origin_of.origin().ok_or_else(|| {
            Failure::new(
                ExitClass::Usage,
                format!("`{}` has no host and port to log in to", printable(&origin_of.to_string())),
            )
        })?;
        let authorization = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        Ok(Client {
            agent,
            authorization,
            origin,
            deadline: Cell::new(Instant::now() + phase.1),
            phase: Cell::new(phase),
            server: RefCell::new(None),
        })
    }

    /// Starts another phase (the clean-up) with its own budget from now.
    pub fn start_phase(&self, name: &'static str, length: Duration) {
        self.phase.set((name, length));
        self.deadline.set(Instant::now() + length);
    }

    /// The `Server` header of the first answer that had one.
    pub fn server(&self) -> Option<String> {
        self.server.borrow().clone()
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        depth: Option<&str>,
        body: impl AsSendBody,
        body_limit: u64,
        step: &Step,
    ) -> Result<Answer, Failure> {
        match Url::parse(url).and_then(|u| u.origin()) {
            Some(origin) if origin == self.origin => {}
            _ => {
                return Err(Failure::new(
                    ExitClass::Other,
                    format!(
                        "not sent: {} is not on {}, the origin given, and the password goes nowhere else",
                        printable(url),
                        self.origin
                    ),
                ));
            }
        }
        let remaining = self.deadline.get().saturating_duration_since(Instant::now());
        let (phase, length) = self.phase.get();
        if remaining.is_zero() {
            return Err(Failure::new(
                ExitClass::Network,
                format!("{}: not sent: the time for {phase} ({} s) is over", printable(url), length.as_secs_f64()),
            )
            .with_fix("the server answers too slowly: look at its load, then run the check again"));
        }
        let limit = step.limit.min(remaining);
        let attempt = Attempt { url, doing: step.doing, answered: step.answered, limit };
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("static method names"))
            .uri(url)
            .header("Authorization", &self.authorization);
        if let Some(depth) = depth {
            builder = builder.header("Depth", depth).header("Content-Type", "application/xml; charset=utf-8");
        }
        let request = builder.body(body).map_err(|e| transport_failure(&attempt, e.into()))?;
        let request = self.agent.configure_request(request).timeout_per_call(Some(limit)).build();
        let mut response: Response<Body> = self.agent.run(request).map_err(|e| transport_failure(&attempt, e))?;
        let status = response.status().as_u16();
        let header =
            |name: &str| response.headers().get(name).map(|v| printable(&String::from_utf8_lossy(v.as_bytes())));
        let location = header("location");
        if let Some(server) = header("server").filter(|s| !s.trim().is_empty()) {
            self.server.borrow_mut().get_or_insert(server);
        }
        let body = body_bytes(&mut response, body_limit).map_err(|e| transport_failure(&attempt, e))?;
        Ok(Answer { status, location, body })
    }

    pub fn propfind(&self, url: &str, step: &Step) -> Result<Answer, Failure> {
        self.send("PROPFIND", url, Some("0"), PROPFIND_BODY, 1 << 20, step)
    }

    /// PROPFIND of a folder and its direct children.
    pub fn propfind_children(&self, url: &str, step: &Step) -> Result<Answer, Failure> {
        self.send("PROPFIND", url, Some("1"), PROPFIND_BODY, 16 << 20, step)
    }

    pub fn put(&self, url: &str, data: &[u8], framing: Framing, step: &Step) -> Result<Answer, Failure> {
        match framing {
            // A byte slice: ureq sends Content-Length.
            Framing::ContentLength => self.send("PUT", url, None, data, 1 << 20, step),
            // A reader of unknown length: ureq sends Transfer-Encoding: chunked.
            Framing::Chunked => {
                self.send("PUT", url, None, SendBody::from_owned_reader(Cursor::new(data.to_vec())), 1 << 20, step)
            }
        }
    }

    pub fn get(&self, url: &str, limit: u64, step: &Step) -> Result<Answer, Failure> {
        self.send("GET", url, None, (), limit, step)
    }

    pub fn delete(&self, url: &str, step: &Step) -> Result<Answer, Failure> {
        self.send("DELETE", url, None, (), 1 << 20, step)
    }
}

/// The first `getcontentlength` value in a PROPFIND answer, whatever the namespace prefix.
/// `None` when it is missing or empty (e.g. reported in a 404 propstat).
pub fn content_length(multistatus: &str) -> Option<u64> {
    let mut rest = multistatus;
    while let Some(at) = rest.find("getcontentlength") {
        let before = &rest[..at];
        let after = &rest[at + "getcontentlength".len()..];
        rest = after;
        // An opening tag: `<getcontentlength>` or `<prefix:getcontentlength ...>`, not `</…` nor `…/>`.
        let tag_start = before.rfind('<')?;
        let name = &before[tag_start + 1..];
        if name.starts_with('/') || name.contains(char::is_whitespace) {
            continue;
        }
        let close = after.find('>')?;
        if after[..close].ends_with('/') {
            continue;
        }
        let text = &after[close + 1..];
        let value = text[..text.find('<').unwrap_or(text.len())].trim();
        if let Ok(n) = value.parse() {
            return Some(n);
        }
    }
    None
}

/// Every `href` in a PROPFIND answer (paths as the server wrote them, still percent-encoded).
pub fn hrefs(multistatus: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = multistatus;
    while let Some(at) = rest.find("href>") {
        let before = &rest[..at];
        rest = &rest[at + "href>".len()..];
        // An opening tag (`<d:href>`, `<href>`), not a closing one.
        let Some(tag_start) = before.rfind('<') else { continue };
        if before[tag_start + 1..].starts_with('/') {
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        out.push(rest[..end].trim().to_string());
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"jane:s3cr\xc3\xa9t"), "amFuZTpzM2Nyw6l0");
    }

    #[test]
    fn hrefs_of_a_listing() {
        let listing = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/remote.php/dav/trashbin/j/trash/</d:href></d:response><d:response><d:href>/remote.php/dav/trashbin/j/trash/a%20b.d1700</d:href></d:response></d:multistatus>"#;
        assert_eq!(
            hrefs(listing),
            ["/remote.php/dav/trashbin/j/trash/", "/remote.php/dav/trashbin/j/trash/a%20b.d1700"]
        );
    }

    #[test]
    fn content_length_in_any_namespace_style() {
        let nextcloud = r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/remote.php/dav/files/j/p.bin</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>1048576</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        assert_eq!(content_length(nextcloud), Some(1048576));
        let wsgidav = r#"<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:propstat><ns0:prop><ns0:getcontentlength>0</ns0:getcontentlength></ns0:prop></ns0:propstat></ns0:response></ns0:multistatus>"#;
        assert_eq!(content_length(wsgidav), Some(0));
        let default_ns = r#"<multistatus xmlns="DAV:"><response><propstat><prop><getcontentlength/></prop><status>HTTP/1.1 404</status></propstat></response></multistatus>"#;
        assert_eq!(content_length(default_ns), None);
    }
}
