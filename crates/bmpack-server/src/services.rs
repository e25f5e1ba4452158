//! BlueMind's services, by the rules of the packages' maintainer scripts
//! (maintscripts/bm-plugin-reload.sh): a service with `/etc/bm/<service>.disabled` is left alone;
//! a stopped service only gets its cache emptied and is never started; a running one is stopped,
//! its cache emptied, and started again, once. `systemctl` where systemd runs
//! (`/run/systemd/system` exists, as `sd_booted` checks), else `service`.
//!
//! Whose services: the running system's when the root is `/`; with another `--root`, only
//! through the `systemctl`/`service` programs of `--service-tools DIR` (wrappers around
//! `systemctl -M MACHINE`, or a test's stand-ins). Without them the services of another root
//! are never touched, as the packages do in a chroot: caches are emptied and a restart is due.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    SysV,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tools {
    /// `systemctl`/`service` from PATH: the running system (root `/`).
    Host,
    /// `DIR/systemctl`, `DIR/service`: `--service-tools DIR`.
    Dir(PathBuf),
    /// Another root without `--service-tools`: nothing is ever run.
    Untouchable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceManager {
    pub init: Init,
    tools: Tools,
}

impl ServiceManager {
    pub fn for_root(root: &Path, service_tools: Option<&Path>) -> ServiceManager {
        let init = if root.join("run/systemd/system").is_dir() { Init::Systemd } else { Init::SysV };
        let tools = match service_tools {
            Some(dir) => Tools::Dir(dir.to_path_buf()),
            None if is_running_system(root) => Tools::Host,
            None => Tools::Untouchable,
        };
        ServiceManager { init, tools }
    }

    /// Whether services can be queried and driven at all (not for another root without tools).
    pub fn drives_services(&self) -> bool {
        self.tools != Tools::Untouchable
    }

    /// The command an administrator would type: `systemctl stop bm-core`, `service bm-core stop`.
    pub fn command(&self, service: &str, action: &str) -> String {
        match self.init {
            Init::Systemd => format!("systemctl {action} {service}"),
            Init::SysV => format!("service {service} {action}"),
        }
    }

    fn program(&self, name: &str) -> Option<PathBuf> {
        match &self.tools {
            Tools::Host => Some(PathBuf::from(name)),
            Tools::Dir(dir) => Some(dir.join(name)),
            Tools::Untouchable => None,
        }
    }

    /// The process for `action` on `service` (`None` when services are not to be touched).
    fn process(&self, service: &str, args: &[&str]) -> Option<Command> {
        let mut command = match self.init {
            Init::Systemd => {
                let mut c = Command::new(self.program("systemctl")?);
                c.args(args).arg(service);
                c
            }
            Init::SysV => {
                let mut c = Command::new(self.program("service")?);
                c.arg(service).args(args);
                c
            }
        };
        // Timestamps in `systemctl show` are then in UTC, whatever the local zone.
        command.env("TZ", "UTC");
        Some(command)
    }

    /// Whether the service runs now. Anything but a clear "running" counts as stopped.
    pub fn is_running(&self, service: &str) -> bool {
        let args: &[&str] = match self.init {
            Init::Systemd => &["is-active", "--quiet"],
            Init::SysV => &["status"],
        };
        self.process(service, args).and_then(|mut c| c.output().ok()).is_some_and(|o| o.status.success())
    }

    pub fn stop(&self, service: &str) -> Result<(), String> {
        self.act(service, "stop")
    }

    pub fn start(&self, service: &str) -> Result<(), String> {
        self.act(service, "start")
    }

    /// Runs one action; the error carries the command and what it printed.
    fn act(&self, service: &str, action: &str) -> Result<(), String> {
        let shown = self.command(service, action);
        let Some(mut command) = self.process(service, &[action]) else {
            return Err(format!("`{shown}` not run: the services of another root are not touched"));
        };
        match command.output() {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "`{shown}` failed ({}) {}{}",
                o.status,
                bmpack::console::printable(String::from_utf8_lossy(&o.stdout).trim()),
                bmpack::console::printable(String::from_utf8_lossy(&o.stderr).trim())
            )),
            Err(e) => Err(format!("`{shown}` could not run: {e}")),
        }
    }

    /// `systemctl show -p P1 -p P2 … SERVICE` as a map (systemd only).
    pub fn show(&self, service: &str, properties: &[&str]) -> Result<BTreeMap<String, String>, String> {
        if self.init != Init::Systemd {
            return Err("systemd does not run this system".into());
        }
        let mut args = vec!["show"];
        for p in properties {
            args.extend(["-p", p]);
        }
        let Some(mut command) = self.process(service, &args) else {
            return Err("the services of another root are not queried (give --service-tools)".into());
        };
        let output = command.output().map_err(|e| format!("`systemctl show {service}` could not run: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`systemctl show {service}` failed ({}): {}",
                output.status,
                bmpack::console::printable(String::from_utf8_lossy(&output.stderr).trim())
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect())
    }
}

/// Whether `root` is the running system's `/`.
pub fn is_running_system(root: &Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|p| p == Path::new("/"))
}

/// `/etc/bm/<service>.disabled`: the administrator runs the service elsewhere or not at all.
pub fn is_disabled(root: &Path, service: &str) -> bool {
    root.join("etc/bm").join(format!("{service}.disabled")).exists()
}
