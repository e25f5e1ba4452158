//! The HTTP client: rustls, certificates verified against the system's trust store (plus
//! `--ca-file`), no redirect followed silently on WebDAV requests, transport errors classified.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

pub fn agent(tls: &TlsOptions, follow_redirects: bool) -> Result<Agent, Failure> {
    let mut certificates = Vec::new();
    if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        // A broken system bundle is not fatal: Mozilla's roots (built in) take over.
        certificates.extend(read_pem_certificates(bundle).unwrap_or_default());
    }
    if let Some(ca_file) = &tls.ca_file {
        let extra = read_pem_certificates(ca_file)?;
        if extra.is_empty() {
            return Err(Failure::new(ExitClass::Usage, format!("--ca-file {}: no PEM certificate in it", ca_file.display()))
                .with_fix("give the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)"));
        }
        certificates.extend(extra);
    }
    let roots = if certificates.is_empty() { RootCerts::WebPki } else { RootCerts::new_with_certs(&certificates) };
    let tls_config = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots)
        .disable_verification(tls.insecure)
        .build();
    Ok(Agent::config_builder()
        .tls_config(tls_config)
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .max_redirects(if follow_redirects { 5 } else { 0 })
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(180)))
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

/// Turns a transport error into a message naming the URL, with the fix.
pub fn transport_failure(url: &str, error: ureq::Error) -> Failure {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    let tls_words = ["certificate", "tls", "handshake", "unknownissuer", "notvalidforname", "expired"];
    if matches!(error, ureq::Error::Tls(_) | ureq::Error::Rustls(_)) || tls_words.iter().any(|w| lower.contains(w)) {
        return Failure::new(ExitClass::Network, format!("{url}: TLS failed: {text}")).with_fix(
            "if the server uses a private CA, give its certificate with --ca-file CA.pem; check that the \
             certificate names this host and has not expired (--insecure skips the check: for tests only)",
        );
    }
    let fix = match error {
        ureq::Error::HostNotFound => "check the host name (DNS) in the address",
        ureq::Error::ConnectionFailed => "check the host and port, and that a firewall lets this server reach it",
        ureq::Error::Timeout(_) => "the server did not answer in time: check the network path and the server's load",
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the server redirects in a loop: check its URL rewriting and overwrite.cli.url / overwriteprotocol"
        }
        _ if lower.contains("refused") => "nothing listens there: check the host and port in the address",
        _ => "check that the address is reachable from this server (e.g. with curl -I)",
    };
    Failure::new(ExitClass::Network, format!("{url}: {text}")).with_fix(fix)
}

/// Reads a response body as bytes, up to `limit`.
pub fn body_bytes(response: &mut ureq::http::Response<ureq::Body>, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    response.body_mut().with_config().limit(limit).read_to_vec()
}
