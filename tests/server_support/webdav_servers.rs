//! Real WebDAV servers on 127.0.0.1 for the `check` tests, installed when missing and started by
//! the test itself on free ports; every process is stopped when the returned value is dropped.
//!
//! - wsgidav (PyPI, in a virtualenv under target/) for login, PROPFIND, PUT and DELETE;
//! - SabreDAV (Debian's php-sabre-dav) behind PHP-FPM, fronted either by Apache httpd with
//!   mod_proxy_fcgi (the stack that stores chunked uploads as 0 bytes) or by nginx.
//!
//! Both serve a `status.php` beside `remote.php`, like Nextcloud.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::{Daemon, free_port, require_program, wait_for_port, workspace_root};

/// The Debian packages the PHP stacks need (CI installs them; the tests install them when missing).
pub const APT_PACKAGES: &[&str] = &["apache2", "nginx", "php-fpm", "php-sabre-dav"];
/// The PyPI packages of the wsgidav server (installed by the tests into target/wsgidav-venv).
pub const PIP_PACKAGES: &[&str] = &["wsgidav", "cheroot"];

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

/// A status.php answer of a healthy Nextcloud 28.
pub const STATUS_JSON: &str = r#"{"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"28.0.14.1","versionstring":"28.0.14","edition":"","productname":"Nextcloud","extendedSupport":false}"#;

pub struct DavServer {
    /// `http://127.0.0.1:PORT`, Nextcloud's root.
    pub base: String,
    /// Where uploaded files land, to look for probes left behind.
    pub storage: PathBuf,
    /// Logs, to show when an assertion fails.
    pub logs: Vec<PathBuf>,
    /// With TLS: the throwaway CA that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// wsgidav: the folder served as Nextcloud's trash bin, `/remote.php/dav/trashbin/alice/trash/`.
    pub trash: Option<PathBuf>,
    // Dropped first: stop the processes before removing their folder.
    _daemons: Vec<Daemon>,
    _dir: tempfile::TempDir,
}

impl DavServer {
    pub fn webdav_url(&self) -> String {
        format!("{}/remote.php/webdav/", self.base)
    }

    /// Files in the storage, for "no probe left behind".
    pub fn stored_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.storage)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    pub fn logs_text(&self) -> String {
        self.logs
            .iter()
            .map(|p| format!("--- {}\n{}", p.display(), std::fs::read_to_string(p).unwrap_or_default()))
            .collect()
    }
}

static INSTALL: Mutex<()> = Mutex::new(());

/// Installs the Debian packages that provide missing programs (as root with apt-get), or fails
/// the test naming them.
pub fn ensure_apt_packages() {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let needed = [("apache2", "apache2"), ("nginx", "nginx"), ("php-fpm8.2", "php-fpm")];
    let sabre = Path::new("/usr/share/php/Sabre/autoload.php");
    let missing_program = needed.iter().any(|(p, _)| find_program(p).is_none());
    if !missing_program && sabre.is_file() {
        return;
    }
    let command = format!("apt-get install -y --no-install-recommends {}", APT_PACKAGES.join(" "));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("DEBIAN_FRONTEND=noninteractive {command} -o DPkg::Lock::Timeout=600"))
        .status();
    if !matches!(status, Ok(s) if s.success()) || !sabre.is_file() {
        panic!(
            "the PHP WebDAV stacks need Debian packages that are missing and could not be installed; run `{command}` as root (see tests/server_support/README.md)"
        );
    }
    for (program, package) in needed {
        require_program(program, &format!("apt-get install {package}"));
    }
}

fn find_program(program: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().map(|d| Path::new(d).join(program)).find(|p| p.is_file())
}

/// A folder the web server's user (www-data) can enter: TempDir makes them 0700.
fn open_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn chown_www_data(path: &Path) {
    let status = Command::new("chown").args(["-R", "www-data:www-data"]).arg(path).status().unwrap();
    assert!(status.success(), "chown www-data {}", path.display());
}

/// The wsgidav command, installing it into target/wsgidav-venv on first use.
fn wsgidav_program() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = workspace_root().join("target/wsgidav-venv");
    let program = venv.join("bin/wsgidav");
    if program.is_file() {
        return program;
    }
    let python = require_program("python3", "apt-get install python3 python3-venv");
    let created = Command::new(&python).args(["-m", "venv"]).arg(&venv).status().unwrap();
    assert!(
        created.success(),
        "`python3 -m venv {}` failed: install python3-venv (apt-get install python3-venv)",
        venv.display()
    );
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PIP_PACKAGES)
        .status()
        .unwrap();
    assert!(
        installed.success() && program.is_file(),
        "`pip install {}` into {} failed (PyPI must be reachable)",
        PIP_PACKAGES.join(" "),
        venv.display()
    );
    program
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem).
pub fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require_program("openssl", "apt-get install openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).current_dir(dir).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=bmpack test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// wsgidav serving `/remote.php/webdav/` and `/remote.php/dav/files/alice/` (Basic auth) and an
/// anonymous, read-only `/status.php` with `status_json`; over HTTPS with a throwaway CA if `tls`.
pub fn start_wsgidav(status_json: &str, tls: bool) -> DavServer {
    let program = wsgidav_program();
    let dir = open_dir("bmpack-wsgidav-");
    let (ca_file, tls_config) = if tls {
        let (ca, cert, key) = make_certificates(dir.path());
        (
            Some(ca),
            format!(
                "ssl_certificate: \"{}\"\nssl_private_key: \"{}\"\nssl_adapter: builtin\n",
                cert.display(),
                key.display()
            ),
        )
    } else {
        (None, String::new())
    };
    let root = dir.path().join("root");
    let storage = dir.path().join("files");
    let trash = dir.path().join("trash");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&storage).unwrap();
    std::fs::create_dir_all(&trash).unwrap();
    std::fs::write(root.join("status.php"), status_json).unwrap();
    let port = free_port();
    let config = dir.path().join("wsgidav.yaml");
    std::fs::write(
        &config,
        format!(
            r#"host: 127.0.0.1
port: {port}
verbose: 3
{tls_config}
provider_mapping:
  "/": {{root: "{root}", readonly: true}}
  "/remote.php/webdav": "{storage}"
  "/remote.php/dav/files/{USER}": "{storage}"
  "/remote.php/dav/trashbin/{USER}/trash": "{trash}"
http_authenticator:
  accept_basic: true
  accept_digest: false
  default_to_digest: false
simple_dc:
  user_mapping:
    "/": true
    "/remote.php/webdav":
      {USER}: {{password: "{PASSWORD}"}}
    "/remote.php/dav/files/{USER}":
      {USER}: {{password: "{PASSWORD}"}}
    "/remote.php/dav/trashbin/{USER}/trash":
      {USER}: {{password: "{PASSWORD}"}}
"#,
            root = root.display(),
            storage = storage.display(),
            trash = trash.display(),
        ),
    )
    .unwrap();
    let log = dir.path().join("wsgidav.log");
    let mut daemon = Daemon::start(
        "wsgidav",
        Command::new(program)
            .arg("--config")
            .arg(&config)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("wsgidav.err")).unwrap())
            .stdin(Stdio::null()),
    );
    wait_for_port(port, &mut daemon, &dir.path().join("wsgidav.err"));
    DavServer {
        base: format!("{}://127.0.0.1:{port}", if tls { "https" } else { "http" }),
        storage,
        ca_file,
        trash: Some(trash),
        logs: vec![log, dir.path().join("wsgidav.err")],
        _daemons: vec![daemon],
        _dir: dir,
    }
}

/// Which web server passes requests to PHP-FPM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// Apache httpd + mod_proxy_fcgi, as Debian's php8.2-fpm configuration sets it up.
    ApacheProxyFcgi,
    /// The same, with the fix the check recommends: `SetEnvIf Transfer-Encoding "chunked" proxy-sendcl=1`.
    ApacheProxyFcgiWithSendCl,
    /// nginx with its default `fastcgi_request_buffering on`.
    Nginx,
    /// nginx with `fastcgi_request_buffering off`: chunked bodies reach PHP-FPM without a length.
    NginxUnbuffered,
}

/// SabreDAV (`remote.php`, base `/remote.php/webdav/`, Basic auth) and `status.php` served by
/// PHP-FPM behind `front`.
pub fn start_php_stack(front: Front, status_json: &str) -> DavServer {
    ensure_apt_packages();
    let dir = open_dir("bmpack-phpdav-");
    let d = dir.path();
    let www = d.join("www");
    let storage = d.join("files");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&storage).unwrap();
    std::fs::write(
        www.join("status.php"),
        format!("<?php\nheader('Content-Type: application/json');\necho '{status_json}';\n"),
    )
    .unwrap();
    std::fs::write(
        www.join("remote.php"),
        format!(
            r#"<?php
// A WebDAV endpoint like Nextcloud's remote.php/webdav, on Debian's SabreDAV.
require_once 'Sabre/autoload.php';
class FixtureUsers extends \Sabre\DAV\Auth\Backend\AbstractBasic {{
    protected function validateUserPass($username, $password) {{
        return $username === '{USER}' && $password === '{PASSWORD}';
    }}
}}
$server = new \Sabre\DAV\Server(new \Sabre\DAV\FS\Directory('{storage}'));
$server->setBaseUri('/remote.php/webdav/');
$server->addPlugin(new \Sabre\DAV\Auth\Plugin(new FixtureUsers(), 'Nextcloud'));
$server->exec();
"#,
            storage = storage.display()
        ),
    )
    .unwrap();
    chown_www_data(&storage);

    let socket = d.join("php-fpm.sock");
    let fpm_conf = d.join("php-fpm.conf");
    std::fs::write(
        &fpm_conf,
        format!(
            "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/php-fpm.log\ndaemonize = no\n\n\
             [dav]\nuser = www-data\ngroup = www-data\nlisten = {socket}\nlisten.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n\
             pm = static\npm.max_children = 2\ncatch_workers_output = yes\n\
             php_admin_value[display_errors] = Off\nphp_admin_flag[log_errors] = on\nphp_admin_value[error_log] = {d}/php-errors.log\n",
            d = d.display(),
            socket = socket.display()
        ),
    )
    .unwrap();
    let mut fpm = Daemon::start(
        "php-fpm",
        Command::new("/usr/sbin/php-fpm8.2")
            .arg("--fpm-config")
            .arg(&fpm_conf)
            .arg("--nodaemonize")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("php-fpm.stderr")).unwrap()),
    );
    for _ in 0..600 {
        fpm.assert_running(&d.join("php-fpm.stderr"));
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(socket.exists(), "php-fpm did not create {}", socket.display());

    let port = free_port();
    let (front_daemon, front_logs) = match front {
        Front::ApacheProxyFcgi | Front::ApacheProxyFcgiWithSendCl => {
            start_apache(d, &www, &socket, port, front == Front::ApacheProxyFcgiWithSendCl)
        }
        Front::Nginx => start_nginx(d, &www, &socket, port, true),
        Front::NginxUnbuffered => start_nginx(d, &www, &socket, port, false),
    };
    let mut logs = front_logs;
    logs.extend([d.join("php-fpm.log"), d.join("php-errors.log")]);
    DavServer {
        base: format!("http://127.0.0.1:{port}"),
        storage,
        ca_file: None,
        trash: None,
        logs,
        // The front first, then PHP-FPM.
        _daemons: vec![front_daemon, fpm],
        _dir: dir,
    }
}

fn start_apache(d: &Path, www: &Path, socket: &Path, port: u16, send_content_length: bool) -> (Daemon, Vec<PathBuf>) {
    let modules = "/usr/lib/apache2/modules";
    let fix = if send_content_length { "SetEnvIf Transfer-Encoding \"chunked\" proxy-sendcl=1\n" } else { "" };
    let conf = d.join("httpd.conf");
    std::fs::write(
        &conf,
        format!(
            r#"ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{d}/httpd.pid"
ErrorLog "{d}/httpd-error.log"
LogLevel warn
Mutex file:{d}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule setenvif_module {modules}/mod_setenvif.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_fcgi_module {modules}/mod_proxy_fcgi.so
User www-data
Group www-data
TypesConfig /etc/mime.types
DocumentRoot "{www}"
{fix}<Directory "{www}">
    Require all granted
    CGIPassAuth On
</Directory>
# As in Debian's php8.2-fpm.conf for Apache.
<FilesMatch ".+\.php$">
    SetHandler "proxy:unix:{socket}|fcgi://localhost"
</FilesMatch>
"#,
            d = d.display(),
            www = www.display(),
            socket = socket.display(),
        ),
    )
    .unwrap();
    let stderr = d.join("httpd.stderr");
    let mut daemon = Daemon::start(
        "apache2",
        Command::new("/usr/sbin/apache2")
            .arg("-f")
            .arg(&conf)
            .arg("-DFOREGROUND")
            .env("APACHE_RUN_DIR", d)
            .env("APACHE_LOCK_DIR", d)
            .env("APACHE_LOG_DIR", d)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap()),
    );
    wait_for_port(port, &mut daemon, &stderr);
    (daemon, vec![stderr, d.join("httpd-error.log")])
}

fn start_nginx(d: &Path, www: &Path, socket: &Path, port: u16, buffering: bool) -> (Daemon, Vec<PathBuf>) {
    let buffering = if buffering { "on" } else { "off" };
    let conf = d.join("nginx.conf");
    let temp = d.join("nginx-temp");
    std::fs::create_dir_all(&temp).unwrap();
    chown_www_data(&temp);
    std::fs::write(
        &conf,
        format!(
            r#"user www-data;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    fastcgi_temp_path {temp}/fastcgi;
    proxy_temp_path {temp}/proxy;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 64m;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        # As in Nextcloud's nginx example: PATH_INFO after the script name.
        location ~ ^/(status|remote)\.php(/|$) {{
            fastcgi_split_path_info ^(.+?\.php)(/.*)$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_request_buffering {buffering};
            fastcgi_pass unix:{socket};
        }}
    }}
}}
"#,
            d = d.display(),
            temp = temp.display(),
            www = www.display(),
            socket = socket.display(),
        ),
    )
    .unwrap();
    let stderr = d.join("nginx.stderr");
    let mut daemon = Daemon::start(
        "nginx",
        Command::new("/usr/sbin/nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("nginx-error.log"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap()),
    );
    wait_for_port(port, &mut daemon, &stderr);
    (daemon, vec![stderr, d.join("nginx-error.log")])
}
