//! The HTTP client: rustls, certificates verified against the system's trust store (plus
//! `--ca-file`), no redirect followed silently on WebDAV requests, every request bounded in total
//! time ([`Limits`]), transport errors classified with advice that fits what already worked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bmpack::console::printable;

use ureq::Agent;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::exit::{ExitClass, Failure};

/// The TLS options every command that talks HTTP takes.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
}

/// Trust stores of the families BlueMind runs on; the first that exists is read.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
];

/// How long the network steps may take. Each request is bounded in total (connection, sending,
/// waiting, receiving: a server that never answers, stops reading or drips a byte at a time
/// runs into it), all of `check`'s steps together too, and the deletion of the probe files has
/// its own budget after them, so that `check` always ends within [`Limits::bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect: Duration,
    /// One request with a small body (status.php, PROPFIND, DELETE), in all.
    pub request: Duration,
    /// One upload or download of the 1 MiB probe, in all.
    pub transfer: Duration,
    /// All of `check`'s steps before the clean-up.
    pub steps: Duration,
    /// Deleting the probe files (and probes in the trash bin) after the steps.
    pub cleanup: Duration,
}

/// Divides every limit, for tests only: the hostile-server tests run the real code in seconds.
pub const TEST_TIME_DIVISOR_ENV: &str = "BMPACK_TEST_TIME_DIVISOR";

impl Limits {
    pub const DEFAULT: Limits = Limits {
        connect: Duration::from_secs(10),
        request: Duration::from_secs(20),
        transfer: Duration::from_secs(40),
        steps: Duration::from_secs(100),
        cleanup: Duration::from_secs(20),
    };

    /// The defaults, divided by `BMPACK_TEST_TIME_DIVISOR` when it is set.
    pub fn from_env() -> Limits {
        let divisor = std::env::var(TEST_TIME_DIVISOR_ENV).ok().and_then(|v| v.parse::<u32>().ok()).filter(|d| *d > 0);
        match divisor {
            Some(d) => {
                let l = Limits::DEFAULT;
                Limits {
                    connect: l.connect / d,
                    request: l.request / d,
                    transfer: l.transfer / d,
                    steps: l.steps / d,
                    cleanup: l.cleanup / d,
                }
            }
            None => Limits::DEFAULT,
        }
    }

    /// The most `check` takes, whatever the server does.
    pub const fn bound(&self) -> Duration {
        self.steps.saturating_add(self.cleanup)
    }

    /// The paragraph of `--help` that documents them.
    pub fn help(&self) -> String {
        let s = |d: Duration| d.as_secs();
        format!(
            "Time limits: connecting {} s; each request {} s in all, the 1 MiB uploads and downloads {} s in all\n\
             (a server that never answers, stops reading or sends a byte now and then runs into them); all steps\n\
             together {} s, then {} s to delete the probe files: check ends within {} s ({} minutes) whatever the\n\
             server does. After a network failure (timeout, connection reset) no further probe is sent.",
            s(self.connect),
            s(self.request),
            s(self.transfer),
            s(self.steps),
            s(self.cleanup),
            s(self.bound()),
            s(self.bound()).div_ceil(60)
        )
    }
}

pub fn agent(tls: &TlsOptions, follow_redirects: bool, limits: &Limits) -> Result<Agent, Failure> {
    let mut certificates = Vec::new();
    if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        // A broken system bundle is not fatal: Mozilla's roots (built in) take over.
        certificates.extend(read_pem_certificates(bundle).unwrap_or_default());
    }
    if let Some(ca_file) = &tls.ca_file {
        let extra = read_pem_certificates(ca_file)?;
        if extra.is_empty() {
            return Err(Failure::new(
                ExitClass::Usage,
                format!("--ca-file {}: no PEM certificate in it", ca_file.display()),
            )
            .with_fix("give the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)"));
        }
        certificates.extend(extra);
    }
    let roots = if certificates.is_empty() { RootCerts::WebPki } else { RootCerts::new_with_certs(&certificates) };
    let tls_config =
        TlsConfig::builder().provider(TlsProvider::Rustls).root_certs(roots).disable_verification(tls.insecure).build();
    Ok(Agent::config_builder()
        .tls_config(tls_config)
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .max_redirects(if follow_redirects { 5 } else { 0 })
        .timeout_connect(Some(limits.connect))
        .timeout_per_call(Some(limits.request))
        .user_agent(concat!("bmpack/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent())
}

fn read_pem_certificates(path: &Path) -> Result<Vec<Certificate<'static>>, Failure> {
    let pem = std::fs::read(path)
        .map_err(|e| Failure::new(ExitClass::Usage, format!("cannot read {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => out.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Failure::new(ExitClass::Usage, format!("{}: not valid PEM: {e}", path.display())));
            }
        }
    }
    Ok(out)
}

/// One request, as failure messages describe it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub url: &'a str,
    /// What the request was doing: `reading status.php`, `the upload with Content-Length`.
    pub doing: &'a str,
    /// What had answered at this address before (`status.php and PROPFIND`), if anything: the
    /// advice then is not "check that the address is reachable".
    pub answered: Option<&'a str>,
    /// The time the request had.
    pub limit: Duration,
}

/// Turns a transport error into a message naming the URL, with the fix that fits what had
/// already worked.
pub fn transport_failure(attempt: &Attempt, error: ureq::Error) -> Failure {
    let url = printable(attempt.url);
    let text = printable(&error.to_string());
    let lower = text.to_ascii_lowercase();
    let tls_words = ["certificate", "tls", "handshake", "unknownissuer", "notvalidforname", "expired"];
    if matches!(error, ureq::Error::Tls(_) | ureq::Error::Rustls(_)) || tls_words.iter().any(|w| lower.contains(w)) {
        return Failure::new(ExitClass::Network, format!("{url}: TLS failed: {text}")).with_fix(
            "if the server uses a private CA, give its certificate with --ca-file CA.pem; check that the \
             certificate names this host and has not expired (--insecure skips the check: for tests only)",
        );
    }
    let doing = attempt.doing;
    let seconds = attempt.limit.as_secs_f64();
    let cut = matches!(&error, ureq::Error::Io(e) if matches!(e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof))
        || lower.contains("reset")
        || lower.contains("broken pipe")
        || lower.contains("unexpected eof");
    if matches!(
        error,
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) | ureq::Error::BodyExceedsLimit(_)
    ) {
        return Failure::new(
            ExitClass::Network,
            format!("{url}: the answer to {doing} is not valid HTTP or is too large ({text})"),
        )
        .with_fix(
            "a proxy or the web server sends malformed answers (control characters or oversized headers, a body larger \
             than asked for): look at what is in front of Nextcloud, and at the web server's error log",
        );
    }
    if let Some(answered) = attempt.answered {
        // The address works: advice about reachability would send the administrator the wrong way.
        let (message, fix) = if matches!(error, ureq::Error::Timeout(_)) {
            (
                format!("{url}: no complete answer within {seconds} s during {doing} ({text})"),
                format!(
                    "the server answered {answered} at this address, then stopped answering during {doing}: look at the web \
                     server's and PHP-FPM's error logs and the server's load (a PHP worker stuck on the request, a full \
                     worker pool), and at any proxy between BlueMind and Nextcloud that holds or buffers requests"
                ),
            )
        } else if cut {
            (
                format!("{url}: the connection was closed during {doing} ({text})"),
                format!(
                    "the server answered {answered} at this address, so it is reachable: something cuts {doing}: a limit on \
                     the request body or its duration in the web server (nginx `client_max_body_size`, `client_body_timeout`; \
                     Apache `LimitRequestBody`, `Timeout`), in PHP (`upload_max_filesize`, `post_max_size`, `max_input_time`) \
                     or in a proxy in between; the web server's error log says which"
                ),
            )
        } else {
            (
                format!("{url}: {text} during {doing}"),
                format!(
                    "the server answered {answered} at this address a moment ago: it may have restarted or be refusing \
                     connections under load; run the check again, and look at the web server's error log"
                ),
            )
        };
        return Failure::new(ExitClass::Network, message).with_fix(fix);
    }
    let fix = match error {
        ureq::Error::HostNotFound => "check the host name (DNS) in the address".to_string(),
        ureq::Error::ConnectionFailed => {
            "check the host and port, and that a firewall lets this server reach it".to_string()
        }
        ureq::Error::Timeout(_) => format!(
            "the server did not answer within {seconds} s: check the network path (a firewall that drops packets), and that \
             the address is the Nextcloud server's"
        ),
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the server redirects in a loop: check its URL rewriting and overwrite.cli.url / overwriteprotocol"
                .to_string()
        }
        _ if lower.contains("refused") => "nothing listens there: check the host and port in the address".to_string(),
        _ => "check that the address is reachable from this server (e.g. with curl -I)".to_string(),
    };
    Failure::new(ExitClass::Network, format!("{url}: {text} during {doing}")).with_fix(fix)
}

/// Reads a response body as bytes, up to `limit`.
pub fn body_bytes(response: &mut ureq::http::Response<ureq::Body>, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    response.body_mut().with_config().limit(limit).read_to_vec()
}
