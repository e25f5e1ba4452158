//! Helpers of the server-tool tests: the `bmpack` binary, fixtures, free ports, processes
//! stopped on drop, and a small HTTP server that replays fixture files.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

pub mod hostile;
pub mod webdav_servers;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

pub fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(sub)
}

/// Builds the server tool (a debug build, already up to date in most runs) and returns its path.
pub fn bmpack_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .current_dir(workspace_root())
                .args(["build", "--quiet", "-p", "bmpack-server", "--bin", "bmpack", "--message-format=json"])
                .stderr(Stdio::inherit())
                .output()
                .expect("running cargo build -p bmpack-server");
            assert!(out.status.success(), "cargo build -p bmpack-server failed");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v.get("executable").and_then(|e| e.as_str()).map(PathBuf::from))
                .next_back()
                .expect("cargo build reported no executable for bmpack")
        })
        .clone()
}

/// Runs `bmpack ARGS` with `stdin` fed in, and returns what it printed and its exit code.
pub fn run_bmpack(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(bmpack_binary());
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.env_remove("BMPACK_NEXTCLOUD_PASSWORD");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("starting bmpack");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    Run::from(args, output)
}

#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(args: &[&str], output: Output) -> Run {
        Run {
            command: format!("bmpack {}", args.join(" ")),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: stdout is not one JSON object ({e}):\n{}", self.command, self.stdout))
    }

    /// Everything printed, for assertion messages.
    pub fn all(&self) -> String {
        format!("$ {}\nexit {}\n--- stdout\n{}--- stderr\n{}", self.command, self.code, self.stdout, self.stderr)
    }
}

/// A TCP port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Answers `GET /CASE/status.php` with the fixture `CASE.EXT` (HTTP 200) or `CASE.CODE.EXT`
/// from `dir`, like a Nextcloud server per case; 404 for anything else. Runs until the test ends.
pub fn serve_status_fixtures(dir: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || answer_fixture(stream, &dir));
        }
    });
    port
}

fn answer_fixture(mut stream: TcpStream, dir: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let case = path.trim_start_matches('/').strip_suffix("/status.php").unwrap_or("");
    let found = (!case.is_empty() && !case.contains('/'))
        .then(|| std::fs::read_dir(dir).ok())
        .flatten()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|name| name.strip_prefix(case).is_some_and(|rest| rest.starts_with('.')));
    let (code, body, kind) = match found {
        Some(name) => {
            let parts: Vec<&str> = name.rsplitn(3, '.').collect();
            let code = if parts.len() == 3 { parts[1].parse().unwrap_or(200) } else { 200 };
            let kind =
                if name.ends_with(".html") { "text/html; charset=UTF-8" } else { "application/json; charset=utf-8" };
            (code, std::fs::read(dir.join(&name)).unwrap(), kind)
        }
        None => (404, b"<html><body><h1>Not Found</h1></body></html>".to_vec(), "text/html"),
    };
    let head = format!(
        "HTTP/1.1 {code} Fixture\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
}

/// A process stopped (SIGTERM, then SIGKILL) when the test ends, even when it fails.
pub struct Daemon {
    pub name: String,
    child: Child,
}

impl Daemon {
    pub fn start(name: &str, command: &mut Command) -> Daemon {
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {name} ({command:?}): {e}"));
        Daemon { name: name.into(), child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails the test when the process has already exited (a bad configuration, a port taken).
    pub fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{} exited ({status}) right after starting; {}:\n{text}", self.name, log.display());
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        unsafe_kill(self.child.id(), "TERM");
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status();
}

/// Waits until `port` on 127.0.0.1 accepts connections; fails the test with `log` otherwise.
/// Polls for readiness, it measures nothing: the long bound only stops a hung start.
pub fn wait_for_port(port: u16, daemon: &mut Daemon, log: &Path) {
    for _ in 0..600 {
        daemon.assert_running(log);
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{} did not listen on 127.0.0.1:{port} within 60 s; {}:\n{text}", daemon.name, log.display());
}

/// Fails the test, naming the package to install, when a program is missing.
pub fn require_program(program: &str, install_hint: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("`{program}` is missing: this test needs it; install it with `{install_hint}` (see tests/server_support/README.md)"))
}
