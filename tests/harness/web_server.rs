//! The repository served as in production: nginx started by the test, its master as root and
//! its workers as `www-data`, so that a file or folder that is not readable by all is refused
//! (403) to apt and dnf exactly as on a real web server. Static files only, listings off, the
//! index files marked `Cache-Control: no-cache` as docs/publishing.md advises.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::repo_tools::require;

/// The user nginx's workers run as (Debian's web server user).
pub const WEB_USER: &str = "www-data";

/// A temporary folder that the web server's user may traverse (`tempfile` makes them 0700), as
/// `/srv` is: what the tests publish into and serve goes under it.
pub fn public_tempdir() -> TempDir {
    let dir = tempfile::Builder::new().prefix("bmpack-www-").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub struct WebServer {
    master: Child,
    /// `http://127.0.0.1:<port>`, serving the folder given to [`WebServer::serve`] at `/`.
    pub url: String,
    dir: TempDir,
}

impl WebServer {
    /// nginx serving `root` on a free port of 127.0.0.1.
    pub fn serve(root: &Path) -> WebServer {
        require("nginx", "nginx");
        for ancestor in root.ancestors() {
            let mode = std::fs::metadata(ancestor).unwrap().permissions().mode();
            assert!(
                mode & 0o001 != 0,
                "{} is not searchable by {WEB_USER} (mode {mode:o}): serve a folder under public_tempdir()",
                ancestor.display()
            );
        }
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            match Self::start(root, port) {
                Ok(server) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    fn start(root: &Path, port: u16) -> Result<WebServer, String> {
        let dir = tempfile::Builder::new().prefix("bmpack-nginx-").tempdir().unwrap();
        let d = dir.path();
        let temp = d.join("temp");
        std::fs::create_dir(&temp).unwrap();
        let conf = d.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                r#"user {WEB_USER};
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        autoindex off;
        location ~ /(InRelease|Release|Release\.gpg|repomd\.xml|repomd\.xml\.asc)$ {{
            add_header Cache-Control "no-cache";
        }}
    }}
}}
"#,
                d = d.display(),
                temp = temp.display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let mut master = Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(d)
            .arg("-e")
            .arg(d.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("stderr")).unwrap())
            .spawn()
            .expect("starting nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = master.try_wait().unwrap() {
                let said = std::fs::read_to_string(d.join("stderr")).unwrap_or_default()
                    + &std::fs::read_to_string(d.join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {said}"));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = master.kill();
                return Err("nginx did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let server = WebServer { master, url: format!("http://127.0.0.1:{port}"), dir };
        // The master listens before it starts its worker, which is root for a moment after the
        // fork, until it switches to its user.
        let mut users = server.worker_users();
        while (users.is_empty() || users.iter().any(|u| u != WEB_USER)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            users = server.worker_users();
        }
        assert!(
            !users.is_empty() && users.iter().all(|u| u == WEB_USER),
            "nginx workers run as {users:?}, not {WEB_USER}"
        );
        Ok(server)
    }

    /// The users nginx's worker processes run as (read from `/proc`).
    pub fn worker_users(&self) -> Vec<String> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let user_of = |uid: &str| {
            passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2) == Some(&uid)).then(|| f[0].to_string())
            })
        };
        let mut users = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
                continue;
            };
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            };
            if field("PPid:").as_deref() == Some(self.master.id().to_string().as_str())
                && let Some(uid) = field("Uid:")
            {
                users.push(user_of(&uid).unwrap_or(uid));
            }
        }
        users
    }

    /// `GET path` (from `/`): the status code and the body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let port = self.url.rsplit(':').next().unwrap();
        let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
        let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {head}"));
        (status, response[head_end + 4..].to_vec())
    }

    /// nginx's error log (why a request was refused).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        // SIGQUIT: graceful stop; the master waits for its workers.
        // SAFETY: kill(2) on the nginx master this harness started.
        unsafe { libc::kill(self.master.id() as libc::pid_t, libc::SIGQUIT) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.master.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}
