//! The exit codes: one per class of failure, so that scripts can react without parsing text.

use std::fmt;

/// Why a command failed. The discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitClass {
    /// Something unexpected (a local file unreadable, a bug): the message says what.
    Other = 1,
    /// The command line is wrong: a missing or contradictory option, a malformed URL or version.
    Usage = 2,
    /// The server could not be reached: DNS, connection refused, timeout, TLS.
    Network = 3,
    /// The server answers but cannot serve the connector: not Nextcloud, not installed,
    /// maintenance, pending upgrade, too old, untrusted domain.
    ServerNotUsable = 4,
    /// The server refused the user name and password.
    Authentication = 5,
    /// An uploaded file was stored short, empty or different from what was sent.
    UploadsLoseData = 6,
    /// Any other WebDAV failure: wrong address, refused method, no write permission, quota.
    WebDav = 7,
    /// `deploy`/`undeploy` failed; the previous jars were put back.
    DeployFailed = 8,
    /// Another `deploy`/`undeploy` holds the lock.
    Locked = 9,
}

impl ExitClass {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Short name used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            ExitClass::Other => "other",
            ExitClass::Usage => "usage",
            ExitClass::Network => "network",
            ExitClass::ServerNotUsable => "server-not-usable",
            ExitClass::Authentication => "authentication",
            ExitClass::UploadsLoseData => "uploads-lose-data",
            ExitClass::WebDav => "webdav",
            ExitClass::DeployFailed => "deploy-failed",
            ExitClass::Locked => "locked",
        }
    }
}

impl ExitClass {
    pub const ALL: [ExitClass; 9] = [
        ExitClass::Other,
        ExitClass::Usage,
        ExitClass::Network,
        ExitClass::ServerNotUsable,
        ExitClass::Authentication,
        ExitClass::UploadsLoseData,
        ExitClass::WebDav,
        ExitClass::DeployFailed,
        ExitClass::Locked,
    ];

    /// Its line in `--help`: the one place that says which failure gets which code.
    pub fn help(self) -> &'static str {
        match self {
            ExitClass::Other => "other failure (unreadable local file, unexpected error)",
            ExitClass::Usage => "usage: wrong or missing option, malformed URL or version, no password",
            ExitClass::Network => {
                "network or TLS: host not found, connection refused, timeout, connection cut,\n     certificate not trusted"
            }
            ExitClass::ServerNotUsable => {
                "server not usable: not Nextcloud (e.g. ownCloud), not installed, in maintenance,\n     upgrade pending, version too old, untrusted domain"
            }
            ExitClass::Authentication => "authentication: user or password refused (an app password may be needed)",
            ExitClass::UploadsLoseData => {
                "uploads lose data: a file was stored short or empty (chunked uploads to PHP-FPM through\n     Apache mod_proxy_fcgi, or nginx with fastcgi_request_buffering off)"
            }
            ExitClass::WebDav => {
                "wrong address (no status.php or no WebDAV folder there) or another WebDAV failure:\n     method refused, no write permission, quota"
            }
            ExitClass::DeployFailed => "deploy/undeploy failed (previous jars put back)",
            ExitClass::Locked => "another deploy/undeploy is running (lock held)",
        }
    }
}

/// An exit-code table for `--help`: 0 with `success`, then `classes` with their lines.
pub fn exit_codes_help(success: &str, classes: &[ExitClass]) -> String {
    let mut out = format!("Exit codes:\n  0  {success}");
    for class in classes {
        out.push_str(&format!("\n  {}  {}", class.code(), class.help()));
    }
    out
}

/// The table of `bmpack --help`: every class (doctor's codes are severities, in its own help).
pub fn all_exit_codes_help() -> String {
    format!(
        "{}\n`bmpack doctor` exits by the severity of its findings instead: see `bmpack doctor --help`.",
        exit_codes_help("success (warnings may have been printed)", &ExitClass::ALL)
    )
}

/// A failure with its class, message and, when known, the fix.
#[derive(Debug)]
pub struct Failure {
    pub class: ExitClass,
    pub message: String,
    pub fix: Option<String>,
}

impl Failure {
    pub fn new(class: ExitClass, message: impl Into<String>) -> Self {
        Failure { class, message: message.into(), fix: None }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}
