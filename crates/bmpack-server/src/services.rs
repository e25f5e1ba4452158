//! Reloading BlueMind's services after their jars changed, by the rules of the packages'
//! maintainer scripts (maintscripts/bm-plugin-reload.sh): a service with `/etc/bm/<service>.disabled`
//! is left alone; a stopped service only gets its cache emptied and is never started; a running
//! one is stopped, its cache emptied, and started again, once. `systemctl` where systemd runs
//! (`/run/systemd/system` exists, as `sd_booted` checks), else `service`.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    SysV,
}

impl Manager {
    pub fn detect(root: &Path) -> Manager {
        if root.join("run/systemd/system").is_dir() { Manager::Systemd } else { Manager::SysV }
    }

    pub fn command(self, service: &str, action: &str) -> String {
        match self {
            Manager::Systemd => format!("systemctl {action} {service}"),
            Manager::SysV => format!("service {service} {action}"),
        }
    }

    /// Whether the service runs now. Anything but a clear "running" counts as stopped.
    pub fn is_running(self, service: &str) -> bool {
        let status = match self {
            Manager::Systemd => Command::new("systemctl").args(["is-active", "--quiet", service]).status(),
            Manager::SysV => Command::new("service").args([service, "status"]).output().map(|o| o.status),
        };
        matches!(status, Ok(s) if s.success())
    }

    pub fn stop(self, service: &str) -> Result<(), String> {
        self.act(service, "stop")
    }

    pub fn start(self, service: &str) -> Result<(), String> {
        self.act(service, "start")
    }

    /// Runs one action; the error carries the command and what it printed.
    fn act(self, service: &str, action: &str) -> Result<(), String> {
        let output = match self {
            Manager::Systemd => Command::new("systemctl").args([action, service]).output(),
            Manager::SysV => Command::new("service").args([service, action]).output(),
        };
        match output {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "`{}` failed ({}) {}{}",
                self.command(service, action),
                o.status,
                String::from_utf8_lossy(&o.stdout).trim(),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Err(format!("`{}` could not run: {e}", self.command(service, action))),
        }
    }
}

/// `/etc/bm/<service>.disabled`: the administrator runs the service elsewhere or not at all.
pub fn is_disabled(root: &Path, service: &str) -> bool {
    root.join("etc/bm").join(format!("{service}.disabled")).exists()
}
