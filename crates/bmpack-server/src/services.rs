//! Restarting BlueMind's services after their jars changed: `systemctl` where systemd runs (as
//! `sd_booted` tells: /run/systemd/system exists), else `service`. A stopped service is never
//! started: it loads the new jars whenever the administrator starts it.

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

    pub fn restart_command(self, service: &str) -> String {
        match self {
            Manager::Systemd => format!("systemctl restart {service}"),
            Manager::SysV => format!("service {service} restart"),
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

    /// Restarts; the error carries what the command printed.
    pub fn restart(self, service: &str) -> Result<(), String> {
        let output = match self {
            Manager::Systemd => Command::new("systemctl").args(["restart", service]).output(),
            Manager::SysV => Command::new("service").args([service, "restart"]).output(),
        };
        match output {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "`{}` failed ({}): {}{}",
                self.restart_command(service),
                o.status,
                String::from_utf8_lossy(&o.stdout).trim(),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Err(format!("`{}` could not run: {e}", self.restart_command(service))),
        }
    }
}
