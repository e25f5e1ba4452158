//! A misbehaving Nextcloud look-alike on 127.0.0.1 (hostile_nextcloud.py beside this file), for
//! the time limits, the password's origin and the diagnoses of `bmpack check`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Daemon, Run, bmpack_binary, free_port, require_program, wait_for_port};

/// The network limits are divided by this in the hostile tests (`BMPACK_TEST_TIME_DIVISOR`):
/// the documented bound of 120 s becomes 12 s.
pub const TIME_DIVISOR: u32 = 10;
/// `bmpack check`'s documented bound (`bmpack check --help`), divided as above.
pub const BOUND: Duration = Duration::from_secs(120 / TIME_DIVISOR as u64);
/// What starting the process and a debug build's TLS set-up may add on a busy machine.
pub const SLACK: Duration = Duration::from_secs(3);

pub struct Hostile {
    pub port: u16,
    pub log: PathBuf,
    _daemon: Daemon,
    pub dir: tempfile::TempDir,
}

pub struct Options<'a> {
    pub mode: &'a str,
    pub server_header: &'a str,
    pub trash_hrefs: Vec<String>,
    /// (certificate, key): TLS, plain HTTP still answered on the same port.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub drip: Duration,
    pub status: Option<&'a str>,
    /// PROPFIND of the folder answers 301 to this.
    pub propfind_location: Option<&'a str>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            mode: "healthy",
            server_header: "Apache/2.4.62 (Debian)",
            trash_hrefs: Vec::new(),
            tls: None,
            drip: Duration::from_millis(300),
            status: None,
            propfind_location: None,
        }
    }
}

pub fn start(options: Options) -> Hostile {
    start_on(free_port(), options)
}

/// [`start`] on a given port (for answers that name the server's own port).
pub fn start_on(port: u16, options: Options) -> Hostile {
    let python = require_program("python3", "apt-get install python3");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("server_support/hostile_nextcloud.py");
    let dir = tempfile::Builder::new().prefix("bmpack-hostile-").tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(["--port", &port.to_string(), "--mode", options.mode, "--server-header", options.server_header])
        .arg("--log")
        .arg(&log)
        .args(["--trash-hrefs", &serde_json::to_string(&options.trash_hrefs).unwrap()])
        .args(["--drip", &options.drip.as_secs_f64().to_string()]);
    if let Some(status) = options.status {
        command.args(["--status", status]);
    }
    if let Some(location) = options.propfind_location {
        command.args(["--propfind-location", location]);
    }
    if let Some((cert, key)) = &options.tls {
        command.arg("--tls").arg(cert).arg(key);
    }
    let stderr = dir.path().join("stderr");
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(&stderr).unwrap());
    let mut daemon = Daemon::start("hostile_nextcloud.py", &mut command);
    wait_for_port(port, &mut daemon, &stderr);
    Hostile { port, log, _daemon: daemon, dir }
}

impl Hostile {
    pub fn base(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn webdav_url(&self, scheme: &str) -> String {
        format!("{}/remote.php/webdav/", self.base(scheme))
    }

    /// Every request it received, in order.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs `bmpack ARGS` with `env`, without a terminal, the network limits divided by
/// [`TIME_DIVISOR`]; kills it and fails the test if it runs past `BOUND` + 10 s (on code without
/// total time limits it would hang for minutes). Gives what it printed and how long it took.
pub fn run_bounded(args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
    let setsid = require_program("setsid", "apt-get install util-linux");
    let mut command = Command::new(setsid);
    command.arg("-w").arg(bmpack_binary()).args(args).env_remove("BMPACK_NEXTCLOUD_PASSWORD");
    command.env("BMPACK_TEST_TIME_DIVISOR", TIME_DIVISOR.to_string());
    for (k, v) in env {
        command.env(k, v);
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let kill_at = BOUND + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > kill_at {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let run = Run {
        command: format!("bmpack {}", args.join(" ")),
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    assert!(status.is_some(), "still running after {elapsed:?} (bound {BOUND:?}), killed:\n{}", run.all());
    (run, elapsed)
}
