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

use bmpack::nextcloud::{NextcloudMatrix, NextcloudRelease, select_connector_package};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::exit::{ExitClass, Failure};
use crate::http::{self, TlsOptions};
use crate::report::Report;
use crate::webdav::{Client, Framing, content_length, hrefs};
use crate::webdav_address::{Form, WebdavAddress, percent_encode};

pub const PROBE_SIZE: usize = 1 << 20;
const MINIMUM_MAJOR: u32 = 11;

pub struct CheckOptions {
    pub url: String,
    pub user: String,
    pub tls: TlsOptions,
    pub json: bool,
}

/// Runs every step and returns the exit code. `password` is asked for only once the address is
/// known to be well formed.
pub fn run(options: &CheckOptions, password: impl FnOnce() -> Result<String, Failure>) -> i32 {
    let mut report = Report::new(options.json);
    let subject = json!({"url": options.url, "user": options.user});
    let finish = |report: Report| report.finish(subject.clone());

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
    let status_agent = match http::agent(&options.tls, true) {
        Ok(a) => a,
        Err(failure) => {
            report.fail("tls", failure);
            return finish(report);
        }
    };
    if !status_step(&mut report, &status_agent, &address) {
        return finish(report);
    }
    let dav_agent = match http::agent(&options.tls, false) {
        Ok(a) => a,
        Err(failure) => {
            report.fail("tls", failure);
            return finish(report);
        }
    };
    let client = Client::new(dav_agent, &options.user, &password);
    let collection = address.collection_for(&options.user);
    if !propfind_step(&mut report, &client, &collection, &options.user) {
        return finish(report);
    }
    upload_probe(&mut report, &client, &collection, &address, &options.user);
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
                format!("the address names the user `{user}` but the check logs in as `{}`; the probe uses {}", options.user, address.collection_for(&options.user)),
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

fn status_step(report: &mut Report, agent: &ureq::Agent, address: &WebdavAddress) -> bool {
    let status = match crate::status_php::fetch(agent, address) {
        Ok(s) => s,
        Err(failure) => {
            report.fail("status.php", failure);
            return false;
        }
    };
    let url = address.status_url();
    if let Err(failure) = crate::select::check_product(&status, &url) {
        report.fail("status.php", failure);
        return false;
    }
    let version = status.display_version().to_string();
    let not_usable = |message: String, fix: &str| Failure::new(ExitClass::ServerNotUsable, message).with_fix(fix);
    let problem = if !status.installed {
        Some(not_usable(format!("{url}: Nextcloud {version} is not installed (installed: false)"), "finish the installation (web installer or `occ maintenance:install`)"))
    } else if status.maintenance {
        Some(not_usable(format!("{url}: Nextcloud {version} is in maintenance mode: it refuses WebDAV"), "when the maintenance is over: `sudo -u www-data php occ maintenance:mode --off`"))
    } else if status.needs_db_upgrade {
        Some(not_usable(format!("{url}: Nextcloud {version} has an upgrade pending: it refuses WebDAV until it is done"), "`sudo -u www-data php occ upgrade` (or the web updater)"))
    } else {
        None
    };
    if let Some(failure) = problem {
        report.fail("status.php", failure);
        return false;
    }
    let matrix = NextcloudMatrix::builtin();
    let release = match NextcloudRelease::parse(status.numeric_version()) {
        Ok(r) => r,
        Err(e) => {
            report.fail("status.php", Failure::new(ExitClass::ServerNotUsable, format!("{url}: {e}")));
            return false;
        }
    };
    if release.major < MINIMUM_MAJOR {
        report.fail(
            "status.php",
            not_usable(format!("{url}: Nextcloud {version} is too old: BlueMind's connector needs {MINIMUM_MAJOR} or later"), "upgrade Nextcloud"),
        );
        return false;
    }
    match select_connector_package(&matrix, &release) {
        Ok(choice) => report.ok(
            "status.php",
            format!("{} {version}, installed, not in maintenance, no upgrade pending; connector: {}", status.product_name(), choice.package),
        ),
        Err(e) => {
            report.fail("status.php", Failure::new(ExitClass::ServerNotUsable, format!("{url}: {e}")));
            return false;
        }
    }
    true
}

fn propfind_step(report: &mut Report, client: &Client, collection: &str, user: &str) -> bool {
    let answer = match client.propfind(collection) {
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
}

impl ProbeResult {
    fn intact(&self) -> bool {
        self.put_failure.is_none()
            && self.stored_size == Some(PROBE_SIZE as u64)
            && self.read_back == Some((PROBE_SIZE, true))
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

fn upload_probe(report: &mut Report, client: &Client, collection: &str, address: &WebdavAddress, user: &str) {
    let mut data = vec![0u8; PROBE_SIZE];
    if let Err(e) = getrandom::fill(&mut data) {
        report.fail("upload", Failure::new(ExitClass::Other, format!("no random bytes for the probe: {e}")));
        return;
    }
    let digest = Sha256::digest(&data);
    let tag = hex::encode(&digest[..6]);
    let probes: Vec<(Framing, String)> = [(Framing::ContentLength, "length"), (Framing::Chunked, "chunked")]
        .into_iter()
        .map(|(framing, kind)| (framing, format!("{collection}{}", percent_encode(&format!(".bmpack-probe-{tag}-{kind}.bin")))))
        .collect();

    let results: Vec<ProbeResult> = probes.iter().map(|(framing, url)| probe_once(client, url, *framing, &data, &digest, user)).collect();

    for result in &results {
        let step = match result.framing {
            Framing::ContentLength => "upload (Content-Length)",
            Framing::Chunked => "upload (chunked)",
        };
        if let Some(failure) = &result.put_failure {
            report.fail(step, Failure { class: failure.class, message: failure.message.clone(), fix: failure.fix.clone() });
        } else if result.intact() {
            report.ok(step, result.describe());
        } else {
            // The diagnosis and the fix follow in the `upload` line.
            report.fail(step, Failure::new(ExitClass::UploadsLoseData, result.describe()));
        }
    }
    conclude(report, &results);
    // Always, even after a failure: a probe left behind would sit in the user's files.
    cleanup(report, client, &probes, address, user);
}

fn probe_once(client: &Client, url: &str, framing: Framing, data: &[u8], digest: &[u8], user: &str) -> ProbeResult {
    let mut result = ProbeResult { framing, put_failure: None, stored_size: None, read_back: None };
    match client.put(url, data, framing) {
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
    if let Ok(answer) = client.propfind(url)
        && answer.status == 207 {
            result.stored_size = content_length(&String::from_utf8_lossy(&answer.body));
        }
    if let Ok(answer) = client.get(url, 4 * PROBE_SIZE as u64)
        && answer.status == 200 {
            result.read_back = Some((answer.body.len(), Sha256::digest(&answer.body).as_slice() == digest));
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

fn conclude(report: &mut Report, results: &[ProbeResult]) {
    let (length, chunked) = (&results[0], &results[1]);
    if length.put_failure.is_some() || chunked.put_failure.is_some() {
        return; // already reported with its own class
    }
    match (length.intact(), chunked.intact()) {
        (true, true) => report.ok("upload", "both uploads stored intact: attachments will not be lost"),
        (true, false) => report.fail(
            "upload",
            Failure::new(
                ExitClass::UploadsLoseData,
                format!(
                    "chunked uploads lose data ({}) while uploads with Content-Length are intact: this is the Apache \
                     mod_proxy_fcgi + PHP-FPM problem BlueMind warns about (Apache bug 57087): PHP receives no \
                     body and Nextcloud stores the file short or empty, with no error anywhere",
                    chunked.stored_size.map_or("size unknown".to_string(), |n| format!("{n} of {PROBE_SIZE} bytes stored"))
                ),
            )
            .with_fix(
                "Apache 2.4.48 or later: add `SetEnvIf Transfer-Encoding \"chunked\" proxy-sendcl=1` to the Nextcloud vhost, then reload Apache\n\
                 older Apache: run Nextcloud with mod_php instead of PHP-FPM, or serve it with nginx + PHP-FPM\n\
                 on nginx: keep `fastcgi_request_buffering on` (the default) in the PHP location",
            ),
        ),
        _ => report.fail(
            "upload",
            Failure::new(ExitClass::UploadsLoseData, "uploads lose data even with Content-Length: the server stores something else than it receives")
                .with_fix("check free disk space and quotas on the Nextcloud host, antivirus or encryption apps, and any proxy between BlueMind and Nextcloud"),
        ),
    }
}

fn cleanup(report: &mut Report, client: &Client, probes: &[(Framing, String)], address: &WebdavAddress, user: &str) {
    let mut left = Vec::new();
    for (_, url) in probes {
        match client.delete(url) {
            // 404: that probe was never created.
            Ok(answer) if (200..300).contains(&answer.status) || answer.status == 404 => {}
            Ok(answer) => left.push(format!("{url} (DELETE answered {})", answer.status)),
            Err(failure) => left.push(format!("{url} ({})", failure.message)),
        }
    }
    // Nextcloud moves deleted files to the user's trash bin (14 and later list it over WebDAV):
    // probes of this run, or of an interrupted one, are deleted from there too.
    let trashed = purge_trash(client, address, user, &mut left);
    if left.is_empty() {
        match trashed {
            0 => report.ok("cleanup", "probe files deleted"),
            n => report.ok("cleanup", format!("probe files deleted, and {n} from the trash bin")),
        }
    } else {
        report.warn("cleanup", format!("could not delete {}", left.join(", ")), Some("delete these files by hand in the user's Nextcloud files".into()));
    }
}

/// Deletes `.bmpack-probe-*` items from the user's Nextcloud trash bin; returns how many. A server
/// without a WebDAV trash bin (older Nextcloud, app disabled) is not an error.
fn purge_trash(client: &Client, address: &WebdavAddress, user: &str, left: &mut Vec<String>) -> usize {
    let trash = format!("{}/remote.php/dav/trashbin/{}/trash/", address.base, percent_encode(user));
    let Ok(listing) = client.propfind_children(&trash) else { return 0 };
    if listing.status != 207 {
        return 0;
    }
    let origin = origin_of(&address.base);
    let mut purged = 0;
    for href in hrefs(&String::from_utf8_lossy(&listing.body)) {
        let last = href.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        if !last.starts_with(".bmpack-probe-") && !last.starts_with("%2Ebmpack-probe-") {
            continue;
        }
        let url = if href.starts_with("http://") || href.starts_with("https://") { href.clone() } else { format!("{origin}{href}") };
        match client.delete(&url) {
            Ok(answer) if (200..300).contains(&answer.status) || answer.status == 404 => purged += 1,
            Ok(answer) => left.push(format!("{url} (DELETE answered {})", answer.status)),
            Err(failure) => left.push(format!("{url} ({})", failure.message)),
        }
    }
    purged
}

/// `https://host:port` of `https://host:port/nextcloud`.
fn origin_of(base: &str) -> String {
    match base.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()),
        None => base.to_string(),
    }
}
