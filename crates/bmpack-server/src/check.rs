//! `bmpack check`: is this Nextcloud server ready for BlueMind's connector?
//!
//! Steps: the address's form, `status.php`, an authenticated PROPFIND, then the upload probe:
//! the same 1 MiB of random bytes PUT once with `Content-Length` and once with
//! `Transfer-Encoding: chunked`, read back (size by PROPFIND, content by GET and SHA-256), then
//! deleted whatever happened. Apache's `mod_proxy_fcgi` passes a chunked body to PHP-FPM without
//! `CONTENT_LENGTH`, so PHP reads nothing and Nextcloud stores 0 bytes without an error
//! (https://bz.apache.org/bugzilla/show_bug.cgi?id=57087); BlueMind's connector then loses every
//! attachment. Apache buffers up to 16 KiB, so a small chunked body can survive on a broken
//! server: the probe is far larger.

use std::time::{Duration, Instant};

use bmpack::console::printable;
use bmpack::nextcloud::{NextcloudMatrix, NextcloudRelease, select_connector_package};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::exit::{ExitClass, Failure};
use crate::http::{self, Limits, TlsOptions};
use crate::report::Report;
use crate::url::Url;
use crate::webdav::{Client, Framing, Step, content_length, hrefs};
use crate::webdav_address::{Form, WebdavAddress, percent_encode};

pub const PROBE_SIZE: usize = 1 << 20;
const MINIMUM_MAJOR: u32 = 11;
/// What had answered when the probes start, for advice after a failure.
const ANSWERED_BEFORE_UPLOADS: &str = "status.php and PROPFIND";

pub struct CheckOptions {
    pub url: String,
    pub user: String,
    pub tls: TlsOptions,
    pub json: bool,
    pub limits: Limits,
}

/// Runs every step and returns the exit code. `password` is asked for only once the address is
/// known to be well formed; the time limits run from the first request.
pub fn run(options: &CheckOptions, password: impl FnOnce() -> Result<String, Failure>) -> i32 {
    let mut report = Report::new(options.json);
    let subject = json!({"url": options.url, "user": options.user});
    let finish = |report: Report| report.finish(subject.clone());
    let limits = &options.limits;

    let Some(address) = url_step(&mut report, options) else { return finish(report) };
    let password = match password() {
        Ok(p) => p,
        Err(failure) => {
            report.fail("password", failure);
            return finish(report);
        }
    };
    if options.tls.insecure {
        report.warn(
            "tls",
            "--insecure: the server's certificate is not verified; anyone on the path could read the password",
            Some("give the private CA with --ca-file instead".into()),
        );
    }
    let (status_agent, dav_agent) =
        match (http::agent(&options.tls, true, limits), http::agent(&options.tls, false, limits)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(failure), _) | (_, Err(failure)) => {
                report.fail("tls", failure);
                return finish(report);
            }
        };
    let started = Instant::now();
    let Some(status_server) = status_step(&mut report, &status_agent, &address, limits.request.min(limits.steps))
    else {
        return finish(report);
    };
    let origin = Url::parse(&address.base).expect("a parsed address is a URL");
    let client = match Client::new(
        dav_agent,
        &options.user,
        &password,
        &origin,
        ("all steps", limits.steps.saturating_sub(started.elapsed())),
    ) {
        Ok(c) => c,
        Err(failure) => {
            report.fail("address", failure);
            return finish(report);
        }
    };
    let collection = address.collection_for(&options.user);
    if !propfind_step(&mut report, &client, &collection, &options.user, limits) {
        return finish(report);
    }
    upload_probe(&mut report, &client, &collection, &address, &options.user, limits, status_server);
    finish(report)
}

fn url_step(report: &mut Report, options: &CheckOptions) -> Option<WebdavAddress> {
    let address = match WebdavAddress::parse(&options.url) {
        Ok(a) => a,
        Err(failure) => {
            report.fail("address", failure);
            return None;
        }
    };
    let form = match &address.form {
        Form::DavFiles { user: Some(user) } if user != &options.user => {
            report.warn(
                "address",
                format!(
                    "the address names the user `{user}` but the check logs in as `{}`; the probe uses {}",
                    options.user,
                    address.collection_for(&options.user)
                ),
                Some(format!("give BlueMind the address without a user: {}/remote.php/dav/files", address.base)),
            );
            None
        }
        Form::DavFiles { .. } => Some("…/remote.php/dav/files/USER"),
        Form::LegacyWebdav => Some("…/remote.php/webdav/ (the older form, still served by Nextcloud)"),
        Form::DavRoot => {
            report.warn(
                "address",
                "…/remote.php/dav is Nextcloud's DAV root, not the files tree",
                Some(format!("give {}/remote.php/dav/files/USER", address.base)),
            );
            None
        }
    };
    if let Some(form) = form {
        report.ok("address", format!("{form}; Nextcloud's root is {}", address.base));
    }
    if !address.https {
        report.warn(
            "address",
            "http:// sends the password and the files in clear",
            Some(format!("use https://{}", address.given.split_once("://").map_or("", |(_, r)| r))),
        );
    }
    Some(address)
}

/// status.php: is this a usable Nextcloud? Gives how the server names itself (its `Server`
/// header) when it is, `None` when the check stops here.
fn status_step(
    report: &mut Report,
    agent: &ureq::Agent,
    address: &WebdavAddress,
    limit: Duration,
) -> Option<Option<String>> {
    let fetched = match crate::status_php::fetch(agent, address, limit) {
        Ok(f) => f,
        Err(failure) => {
            report.fail("status.php", failure);
            return None;
        }
    };
    let status = fetched.status;
    let url = address.status_url();
    if let Err(failure) = crate::select::check_product(&status, &url) {
        report.fail("status.php", failure);
        return None;
    }
    let version = status.display_version().to_string();
    let not_usable = |message: String, fix: &str| Failure::new(ExitClass::ServerNotUsable, message).with_fix(fix);
    let problem = if !status.installed {
        Some(not_usable(
            format!("{url}: Nextcloud {version} is not installed (installed: false)"),
            "finish the installation (web installer or `occ maintenance:install`)",
        ))
    } else if status.maintenance {
        Some(not_usable(
            format!("{url}: Nextcloud {version} is in maintenance mode: it refuses WebDAV"),
            "when the maintenance is over: `sudo -u www-data php occ maintenance:mode --off`",
        ))
    } else if status.needs_db_upgrade {
        Some(not_usable(
            format!("{url}: Nextcloud {version} has an upgrade pending: it refuses WebDAV until it is done"),
            "`sudo -u www-data php occ upgrade` (or the web updater)",
        ))
    } else {
        None
    };
    if let Some(failure) = problem {
        report.fail("status.php", failure);
        return None;
    }
    let matrix = NextcloudMatrix::builtin();
    let release = match NextcloudRelease::parse(status.numeric_version()) {
        Ok(r) => r,
        Err(e) => {
            report.fail("status.php", Failure::new(ExitClass::ServerNotUsable, format!("{url}: {e}")));
            return None;
        }
    };
    if release.major < MINIMUM_MAJOR {
        report.fail(
            "status.php",
            not_usable(
                format!("{url}: Nextcloud {version} is too old: BlueMind's connector needs {MINIMUM_MAJOR} or later"),
                "upgrade Nextcloud",
            ),
        );
        return None;
    }
    match select_connector_package(&matrix, &release) {
        Ok(choice) => report.ok(
            "status.php",
            format!(
                "{} {version}, installed, not in maintenance, no upgrade pending; connector: {}",
                status.product_name(),
                choice.package
            ),
        ),
        Err(e) => {
            report.fail("status.php", Failure::new(ExitClass::ServerNotUsable, format!("{url}: {e}")));
            return None;
        }
    }
    Some(fetched.server)
}

fn propfind_step(report: &mut Report, client: &Client, collection: &str, user: &str, limits: &Limits) -> bool {
    let step = Step { doing: "the login (PROPFIND)", limit: limits.request, answered: Some("status.php") };
    let answer = match client.propfind(collection, &step) {
        Ok(a) => a,
        Err(failure) => {
            report.fail("propfind", failure);
            return false;
        }
    };
    let failure = match answer.status {
        207 => {
            report.ok("propfind", format!("{collection}: 207 Multi-Status, logged in as {user}"));
            return true;
        }
        401 => Failure::new(ExitClass::Authentication, format!("{collection}: 401: the server refuses user `{user}` with this password"))
            .with_fix("check the user and password; with two-factor authentication or SSO, create an app password in Nextcloud (Settings > Security > Devices & sessions) and use it"),
        403 => Failure::new(ExitClass::Authentication, format!("{collection}: 403: user `{user}` may not open this folder"))
            .with_fix("the address must be the user's own files folder (…/remote.php/dav/files/USER with the same user), or the account is disabled"),
        404 | 405 => Failure::new(ExitClass::WebDav, format!("{collection}: {}: no WebDAV folder at this address", answer.status))
            .with_fix("wrong address: copy it from Nextcloud (Files > Settings > WebDAV); the user name in …/dav/files/USER must be the login's user ID"),
        300..=399 => Failure::new(
            ExitClass::WebDav,
            format!("{collection}: {} redirect to {}", answer.status, answer.location.as_deref().unwrap_or("(no Location)")),
        )
        .with_fix("give the final address (often https:// instead of http://, or a different path): WebDAV clients do not follow redirects with the password"),
        503 => Failure::new(ExitClass::ServerNotUsable, format!("{collection}: 503: Nextcloud is unavailable (maintenance or upgrade)"))
            .with_fix("`sudo -u www-data php occ status` on the Nextcloud host"),
        other => Failure::new(ExitClass::WebDav, format!("{collection}: PROPFIND answered {other}, expected 207"))
            .with_fix("look at Nextcloud's log (data/nextcloud.log) and the web server's error log"),
    };
    report.fail("propfind", failure);
    false
}

/// What one probe upload left on the server.
struct ProbeResult {
    framing: Framing,
    /// The PUT's failure, when it did not succeed.
    put_failure: Option<Failure>,
    stored_size: Option<u64>,
    /// Size and SHA-256 of what GET returned.
    read_back: Option<(usize, bool)>,
    /// A network failure while reading the probe back.
    read_failure: Option<Failure>,
}

impl ProbeResult {
    fn intact(&self) -> bool {
        self.put_failure.is_none()
            && self.read_failure.is_none()
            && self.stored_size == Some(PROBE_SIZE as u64)
            && self.read_back == Some((PROBE_SIZE, true))
    }

    /// After a network failure no other probe is sent: the server or the path is in trouble,
    /// and each further request would only add its time limit.
    fn network_failure(&self) -> bool {
        [&self.put_failure, &self.read_failure].into_iter().flatten().any(|f| f.class == ExitClass::Network)
    }

    fn describe(&self) -> String {
        let stored = self.stored_size.map_or("size unknown".to_string(), |n| format!("stored {n} bytes"));
        let read = match self.read_back {
            Some((n, true)) => format!("read back {n} bytes, same SHA-256"),
            Some((n, false)) => format!("read back {n} bytes, different content"),
            None => "could not be read back".to_string(),
        };
        format!("PUT {PROBE_SIZE} bytes with {}: {stored}, {read}", self.framing.label())
    }
}

fn upload_probe(
    report: &mut Report,
    client: &Client,
    collection: &str,
    address: &WebdavAddress,
    user: &str,
    limits: &Limits,
    status_server: Option<String>,
) {
    let mut data = vec![0u8; PROBE_SIZE];
    if let Err(e) = getrandom::fill(&mut data) {
        report.fail("upload", Failure::new(ExitClass::Other, format!("no random bytes for the probe: {e}")));
        return;
    }
    let digest = Sha256::digest(&data);
    let tag = hex::encode(&digest[..6]);
    let probes: Vec<(Framing, String)> = [(Framing::ContentLength, "length"), (Framing::Chunked, "chunked")]
        .into_iter()
        .map(|(framing, kind)| {
            (framing, format!("{collection}{}", percent_encode(&format!(".bmpack-probe-{tag}-{kind}.bin"))))
        })
        .collect();

    let mut results: Vec<ProbeResult> = Vec::new();
    for (framing, url) in &probes {
        let result = probe_once(client, url, *framing, &data, &digest, user, limits);
        let stop = result.network_failure();
        results.push(result);
        if stop {
            break;
        }
    }
    for result in &results {
        let step = match result.framing {
            Framing::ContentLength => "upload (Content-Length)",
            Framing::Chunked => "upload (chunked)",
        };
        if let Some(failure) = result.put_failure.as_ref().or(result.read_failure.as_ref()) {
            report.fail(
                step,
                Failure { class: failure.class, message: failure.message.clone(), fix: failure.fix.clone() },
            );
        } else if result.intact() {
            report.ok(step, result.describe());
        } else {
            // The diagnosis and the fix follow in the `upload` line.
            report.fail(step, Failure::new(ExitClass::UploadsLoseData, result.describe()));
        }
    }
    let network_failed = results.iter().any(ProbeResult::network_failure);
    if network_failed && results.len() < probes.len() {
        report.warn("upload", "the other upload was not tried after the network failure above", None);
    } else {
        let server = client.server().or(status_server);
        conclude(report, &results, server.as_deref());
    }
    // Always, even after a failure: a probe left behind would sit in the user's files.
    let sent: Vec<&str> = probes.iter().take(results.len()).map(|(_, url)| url.as_str()).collect();
    cleanup(report, client, &sent, address, user, limits, network_failed);
}

fn probe_once(
    client: &Client,
    url: &str,
    framing: Framing,
    data: &[u8],
    digest: &[u8],
    user: &str,
    limits: &Limits,
) -> ProbeResult {
    let mut result = ProbeResult { framing, put_failure: None, stored_size: None, read_back: None, read_failure: None };
    let doing = match framing {
        Framing::ContentLength => "the upload of 1 MiB with Content-Length",
        Framing::Chunked => "the upload of 1 MiB with Transfer-Encoding: chunked",
    };
    let step = Step { doing, limit: limits.transfer, answered: Some(ANSWERED_BEFORE_UPLOADS) };
    match client.put(url, data, framing, &step) {
        Ok(answer) if (200..300).contains(&answer.status) => {}
        Ok(answer) => {
            result.put_failure = Some(put_failure(url, answer.status, framing, user));
            return result;
        }
        Err(failure) => {
            result.put_failure = Some(failure);
            return result;
        }
    }
    let reading = Step {
        doing: "reading the uploaded probe back (PROPFIND)",
        limit: limits.request,
        answered: Some(ANSWERED_BEFORE_UPLOADS),
    };
    match client.propfind(url, &reading) {
        Ok(answer) if answer.status == 207 => {
            result.stored_size = content_length(&String::from_utf8_lossy(&answer.body))
        }
        Ok(_) => {}
        Err(failure) if failure.class == ExitClass::Network => {
            result.read_failure = Some(failure);
            return result;
        }
        Err(_) => {}
    }
    let reading = Step {
        doing: "reading the uploaded probe back (GET)",
        limit: limits.transfer,
        answered: Some(ANSWERED_BEFORE_UPLOADS),
    };
    match client.get(url, 4 * PROBE_SIZE as u64, &reading) {
        Ok(answer) if answer.status == 200 => {
            result.read_back = Some((answer.body.len(), Sha256::digest(&answer.body).as_slice() == digest))
        }
        Ok(_) => {}
        Err(failure) if failure.class == ExitClass::Network => result.read_failure = Some(failure),
        Err(_) => {}
    }
    result
}

fn put_failure(url: &str, status: u16, framing: Framing, user: &str) -> Failure {
    let label = framing.label();
    match status {
        401 => Failure::new(ExitClass::Authentication, format!("{url}: PUT with {label} answered 401 although PROPFIND was accepted"))
            .with_fix("a proxy or an app (e.g. brute-force protection) rejects uploads; check the web server's error log"),
        403 => Failure::new(ExitClass::WebDav, format!("{url}: PUT answered 403: `{user}` may not write here"))
            .with_fix("check the user's permissions, and apps that block uploads (File access control, antivirus)"),
        411 => Failure::new(ExitClass::WebDav, format!("{url}: PUT with {label} answered 411 Length Required: the server refuses chunked uploads"))
            .with_fix("the connector sends chunked uploads: on nginx keep `fastcgi_request_buffering on` (the default), and update a proxy that refuses Transfer-Encoding: chunked"),
        413 => Failure::new(ExitClass::WebDav, format!("{url}: PUT of 1 MiB answered 413: the body is too large for the server"))
            .with_fix("raise the limit: nginx `client_max_body_size`, Apache `LimitRequestBody`, PHP `upload_max_filesize`/`post_max_size`"),
        507 => Failure::new(ExitClass::WebDav, format!("{url}: PUT answered 507: `{user}` has no space left (quota or disk)"))
            .with_fix("raise the user's quota or free disk space on the Nextcloud host"),
        other => Failure::new(ExitClass::WebDav, format!("{url}: PUT with {label} answered {other}"))
            .with_fix("look at Nextcloud's log (data/nextcloud.log) and the web server's error log"),
    }
}

/// The web server in front of PHP, as the server names itself (`Server:` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    Apache,
    Nginx,
    Unknown,
}

impl Stack {
    fn of(server: Option<&str>) -> Stack {
        let lower = server.unwrap_or_default().to_ascii_lowercase();
        if lower.contains("nginx") {
            Stack::Nginx
        } else if lower.contains("apache") {
            Stack::Apache
        } else {
            Stack::Unknown
        }
    }
}

const APACHE_FIX: &str = "Apache 2.4.48 or later: add `SetEnvIf Transfer-Encoding \"chunked\" proxy-sendcl=1` to the Nextcloud vhost, then reload Apache (`apachectl -t && systemctl reload apache2`)\n\
                          older Apache: run Nextcloud with mod_php instead of PHP-FPM, or serve it with nginx + PHP-FPM";
const NGINX_FIX: &str = "in the PHP location of the Nextcloud server block, set `fastcgi_request_buffering on;` (nginx's default: remove `fastcgi_request_buffering off`), then reload nginx (`nginx -t && systemctl reload nginx`)";

fn conclude(report: &mut Report, results: &[ProbeResult], server: Option<&str>) {
    let [length, chunked] = results else { return };
    if length.put_failure.is_some() || chunked.put_failure.is_some() {
        return; // already reported with its own class
    }
    match (length.intact(), chunked.intact()) {
        (true, true) => report.ok("upload", "both uploads stored intact: attachments will not be lost"),
        (true, false) => {
            let stored = chunked.stored_size.map_or("size unknown".to_string(), |n| format!("{n} of {PROBE_SIZE} bytes stored"));
            let says = server.map_or("the server does not say which web server it is (no Server header)".to_string(), |s| format!("the server says `Server: {s}`"));
            let (cause, fix) = match Stack::of(server) {
                Stack::Nginx => (
                    format!(
                        "{says}: nginx with `fastcgi_request_buffering off` passes a chunked body to PHP-FPM without \
                         CONTENT_LENGTH, so PHP reads nothing and Nextcloud stores the file short or empty, with no error anywhere"
                    ),
                    format!("{NGINX_FIX}\nif this nginx is a proxy in front of Apache + PHP-FPM, the Apache fix applies there:\n{APACHE_FIX}"),
                ),
                Stack::Apache => (
                    format!(
                        "{says}: this is the Apache mod_proxy_fcgi + PHP-FPM problem BlueMind warns about (Apache bug 57087): \
                         PHP receives no body and Nextcloud stores the file short or empty, with no error anywhere"
                    ),
                    format!("{APACHE_FIX}\nwith nginx + PHP-FPM, keep `fastcgi_request_buffering on` (the default)"),
                ),
                Stack::Unknown => (
                    format!(
                        "{says}: the web server passes a chunked body to PHP-FPM without CONTENT_LENGTH (Apache mod_proxy_fcgi, \
                         Apache bug 57087, or nginx with `fastcgi_request_buffering off`), so PHP reads nothing and Nextcloud \
                         stores the file short or empty, with no error anywhere"
                    ),
                    format!("on Apache:\n{APACHE_FIX}\non nginx: {NGINX_FIX}"),
                ),
            };
            report.fail(
                "upload",
                Failure::new(
                    ExitClass::UploadsLoseData,
                    format!("chunked uploads lose data ({stored}) while uploads with Content-Length are intact; {cause}"),
                )
                .with_fix(fix),
            );
        }
        _ => report.fail(
            "upload",
            Failure::new(ExitClass::UploadsLoseData, "uploads lose data even with Content-Length: the server stores something else than it receives")
                .with_fix("check free disk space and quotas on the Nextcloud host, antivirus or encryption apps, and any proxy between BlueMind and Nextcloud"),
        ),
    }
}

/// Deletes the probes that were sent, within the clean-up's own time budget. After a network
/// failure it stops at the first request that fails the same way, and leaves the trash bin alone.
fn cleanup(
    report: &mut Report,
    client: &Client,
    sent: &[&str],
    address: &WebdavAddress,
    user: &str,
    limits: &Limits,
    network_failed: bool,
) {
    client.start_phase("deleting the probe files", limits.cleanup);
    let step = Step { doing: "deleting a probe file", limit: limits.request, answered: Some(ANSWERED_BEFORE_UPLOADS) };
    let mut left = Vec::new();
    let mut unreachable = false;
    for url in sent {
        if unreachable {
            left.push(format!("{url} (not tried: the server does not answer)"));
            continue;
        }
        match client.delete(url, &step) {
            // 404: that probe was never created.
            Ok(answer) if (200..300).contains(&answer.status) || answer.status == 404 => {}
            Ok(answer) => left.push(format!("{url} (DELETE answered {})", answer.status)),
            Err(failure) => {
                unreachable = failure.class == ExitClass::Network;
                left.push(format!("{url} ({})", failure.message));
            }
        }
    }
    // Nextcloud moves deleted files to the user's trash bin (14 and later list it over WebDAV):
    // probes of this run, or of an interrupted one, are deleted from there too.
    let (trashed, refused) = if network_failed || unreachable {
        (0, Vec::new())
    } else {
        purge_trash(client, address, user, limits, &mut left)
    };
    if !refused.is_empty() {
        report.warn(
            "cleanup",
            format!(
                "the trash bin listing named items outside the user's trash folder or on another origin; not followed, no password sent there: {}",
                refused.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
            ),
            Some("a proxy or an app rewrites WebDAV answers: look at what is in front of Nextcloud".into()),
        );
    }
    if left.is_empty() {
        match trashed {
            0 => report.ok("cleanup", "probe files deleted"),
            n => report.ok("cleanup", format!("probe files deleted, and {n} from the trash bin")),
        }
    } else {
        report.warn(
            "cleanup",
            format!("could not delete {}", left.join(", ")),
            Some("delete these files by hand in the user's Nextcloud files".into()),
        );
    }
}

/// Deletes `.bmpack-probe-*` items from the user's Nextcloud trash bin; gives how many, and the
/// hrefs refused (escaped). Each href is resolved against the listing's URL (RFC 3986) and
/// followed only when it names an item directly in that trash folder, on the origin the user
/// gave. A server without a WebDAV trash bin (older Nextcloud, app disabled) is not an error.
fn purge_trash(
    client: &Client,
    address: &WebdavAddress,
    user: &str,
    limits: &Limits,
    left: &mut Vec<String>,
) -> (usize, Vec<String>) {
    let trash_text = format!("{}/remote.php/dav/trashbin/{}/trash/", address.base, percent_encode(user));
    let Some(trash) = Url::parse(&trash_text) else { return (0, Vec::new()) };
    let listing_step =
        Step { doing: "listing the trash bin", limit: limits.request, answered: Some(ANSWERED_BEFORE_UPLOADS) };
    let Ok(listing) = client.propfind_children(&trash_text, &listing_step) else { return (0, Vec::new()) };
    if listing.status != 207 {
        return (0, Vec::new());
    }
    let step = Step {
        doing: "deleting a probe from the trash bin",
        limit: limits.request,
        answered: Some(ANSWERED_BEFORE_UPLOADS),
    };
    let (mut purged, mut refused) = (0, Vec::new());
    for href in hrefs(&String::from_utf8_lossy(&listing.body)) {
        let Some(target) = trash.resolve(&href) else {
            refused.push(printable(&href));
            continue;
        };
        if target.path == trash.path && target.origin() == trash.origin() {
            continue; // the folder itself
        }
        let Some(name) = target.child_of(&trash) else {
            refused.push(printable(&href));
            continue;
        };
        if !name.starts_with(".bmpack-probe-") {
            continue;
        }
        let url = target.to_string();
        match client.delete(&url, &step) {
            Ok(answer) if (200..300).contains(&answer.status) || answer.status == 404 => purged += 1,
            Ok(answer) => left.push(format!("{} (DELETE answered {})", printable(&url), answer.status)),
            Err(failure) => {
                left.push(format!("{} ({})", printable(&url), failure.message));
                if failure.class == ExitClass::Network {
                    break;
                }
            }
        }
    }
    (purged, refused)
}
