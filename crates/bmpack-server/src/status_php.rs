//! Reading `status.php` over HTTP, without logging in, and explaining what is not a status.

use std::time::Duration;

use bmpack::console::printable;
use ureq::Agent;

use crate::exit::{ExitClass, Failure};
use crate::http::{Attempt, body_bytes, transport_failure};
use crate::status::{ServerStatus, first_json_object, from_json_object};
use crate::webdav_address::WebdavAddress;

/// What status.php said, and how the server names itself (its `Server` header, escaped).
pub struct Fetched {
    pub status: ServerStatus,
    pub server: Option<String>,
}

/// GET status.php, within `limit` in all.
pub fn fetch(agent: &Agent, address: &WebdavAddress, limit: Duration) -> Result<Fetched, Failure> {
    let url = address.status_url();
    let attempt = Attempt { url: &url, doing: "reading status.php", answered: None, limit };
    let mut response = agent
        .get(&url)
        .header("Accept", "application/json")
        .config()
        .timeout_per_call(Some(limit))
        .build()
        .call()
        .map_err(|e| transport_failure(&attempt, e))?;
    let code = response.status().as_u16();
    let server = response
        .headers()
        .get("server")
        .map(|v| printable(&String::from_utf8_lossy(v.as_bytes())))
        .filter(|s| !s.trim().is_empty());
    let body = body_bytes(&mut response, 1 << 20).map_err(|e| transport_failure(&attempt, e))?;
    let text = String::from_utf8_lossy(&body);
    let host = address.base.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let host_name = host
        .rsplit_once(':')
        .filter(|(h, p)| !h.ends_with(']') && p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    if text.contains("untrusted domain") || text.contains("trusted_domains") {
        return Err(Failure::new(
            ExitClass::ServerNotUsable,
            format!("{url}: HTTP {code}, Nextcloud refuses the host name `{host_name}` (access through untrusted domain)"),
        )
        .with_fix(format!(
            "add it to trusted_domains on the Nextcloud host, e.g. `sudo -u www-data php occ config:system:set trusted_domains 5 --value={host_name}` \
             (use an index not yet taken: `occ config:system:get trusted_domains`)"
        )));
    }
    if let Some(object) = first_json_object(&text)
        && ((200..300).contains(&code) || object.contains_key("installed"))
    {
        return from_json_object(&object, &url).map(|status| Fetched { status, server });
    }
    if code == 404 {
        return Err(Failure::new(ExitClass::WebDav, format!("{url}: HTTP 404: no status.php there: wrong address"))
            .with_fix("the part of the address before /remote.php/ must be Nextcloud's root (e.g. https://host/nextcloud if Nextcloud is installed under /nextcloud)"));
    }
    let (message, fix) = match code {
        401 | 403 => (
            format!("HTTP {code}: status.php needs no login on Nextcloud; something in front of it asks for one"),
            "let status.php through the reverse proxy or SSO gateway without authentication".to_string(),
        ),
        500..=599 => (
            format!("HTTP {code}: the server fails"),
            "look at Nextcloud's log (data/nextcloud.log) and the web server's error log".to_string(),
        ),
        _ => (
            format!("HTTP {code}, not a Nextcloud status (starts with `{}`)", snippet(&text)),
            "check that the address is Nextcloud's (a reverse proxy or portal may answer instead)".to_string(),
        ),
    };
    Err(Failure::new(ExitClass::ServerNotUsable, format!("{url}: {message}")).with_fix(fix))
}

/// The beginning of a body, on one line and escaped, for messages.
pub fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(80).collect();
    if one_line.chars().count() > 80 {
        cut.push('…');
    }
    printable(&cut)
}
