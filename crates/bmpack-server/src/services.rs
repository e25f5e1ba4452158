//! BlueMind's services: how `doctor` reads them, and how `deploy` settles them after placing jars.
//!
//! `deploy` has no policy of its own: it runs `bm_settle_service` from the packages' shell
//! functions (maintscripts/bm-plugin-reload.sh, compiled in) through `/bin/sh`, after the prelude
//! that bmpack generates from `[targets]` (`bmpack::scripts::prelude`), so that a disabled,
//! stopped, absent, masked, refused or failing service is handled as the package's scripts
//! handle it, with the same words; [`Outcome`] is what the function says it did.
//!
//! Whose services: the running system's when the root is `/`; with another `--root`, only
//! through the `systemctl` (and `invoke-rc.d`) programs of `--service-tools DIR` (wrappers around
//! `systemctl -M MACHINE`, or a test's stand-ins), put first on PATH. Without them the services of
//! another root are never touched, as the packages do in a chroot: caches are emptied and a
//! restart is due.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bmpack::model::Target;

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

/// The script set whose shell functions settle the services (`bm-plugin-reload`).
const RELOAD_SET: &str = "bm-plugin-reload";
/// Its shell functions, as the packages carry them.
const RELOAD_FUNCTIONS: &str = include_str!("../../../maintscripts/bm-plugin-reload.sh");
/// The line the script prints after each service: `bmpack-outcome SERVICE OUTCOME`.
const OUTCOME_MARK: &str = "bmpack-outcome ";

/// What `bm_settle_service` did to one service (its `bm_outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `/etc/bm/<service>.disabled`: left alone.
    Disabled,
    /// No running init system, or services out of reach: cache emptied, a restart is due.
    RestartDue,
    /// Down, though it ran before: started again on an emptied cache.
    StartedAgain,
    /// Down, though it ran before, and it could not be started again.
    Down,
    /// Not running: cache emptied, left stopped.
    Stopped,
    /// No such unit: cache emptied.
    Absent,
    /// Already started on the current bundles.
    Current,
    /// Masked while it runs: left running on the old bundles.
    Masked,
    /// Restarted once on an emptied cache.
    Restarted,
    /// policy-rc.d refused the restart: still runs the old bundles.
    Refused,
    /// The restart failed and it still runs the old bundles.
    NotRestarted,
    /// Stopped for the restart, and it failed to start again.
    Failed,
}

impl Outcome {
    fn parse(word: &str) -> Option<Outcome> {
        Some(match word {
            "disabled" => Outcome::Disabled,
            "restart-due" => Outcome::RestartDue,
            "started-again" => Outcome::StartedAgain,
            "down" => Outcome::Down,
            "stopped" => Outcome::Stopped,
            "absent" => Outcome::Absent,
            "current" => Outcome::Current,
            "masked" => Outcome::Masked,
            "restarted" => Outcome::Restarted,
            "refused" => Outcome::Refused,
            "not-restarted" => Outcome::NotRestarted,
            "failed" => Outcome::Failed,
            _ => return None,
        })
    }

    /// A service that ran and now is not on the new jars (still on the old ones, or down):
    /// `deploy` puts the previous jars back.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Down | Outcome::Masked | Outcome::Refused | Outcome::NotRestarted | Outcome::Failed)
    }

    /// Started on the new jars, or stopped to be: to be settled again when they are taken back.
    pub fn touched_new_jars(self) -> bool {
        matches!(self, Outcome::StartedAgain | Outcome::Current | Outcome::Restarted | Outcome::Down | Outcome::Failed)
    }

    /// Ran before, and is down now.
    pub fn is_down(self) -> bool {
        matches!(self, Outcome::Down | Outcome::Failed)
    }
}

/// One service settled: what the functions did and said.
#[derive(Debug, Clone)]
pub struct Settled {
    pub service: String,
    pub outcome: Outcome,
    /// Their lines about it, without the `bm-plugin-reload: ` prefix.
    pub said: Vec<String>,
}

/// Runs the packages' `bm_settle_service` for the services of one root.
pub struct Settler {
    /// Prelude, functions and the settings for this root.
    head: String,
    /// PATH for the shell: `--service-tools DIR` first.
    path: Option<OsString>,
}

impl ServiceManager {
    /// How to settle the services of `root`, whose extensions, services and caches are `targets`.
    pub fn settler(&self, root: &Path, targets: &BTreeMap<String, Target>) -> Result<Settler, String> {
        let set = RELOAD_SET.parse().expect("a package name");
        let mut head = bmpack::scripts::prelude(&set, targets);
        head.push_str(RELOAD_FUNCTIONS);
        head.push('\n');
        let (invoke_rc_d, path) = match &self.tools {
            Tools::Host => (on_path("invoke-rc.d"), None),
            Tools::Dir(dir) => {
                // Never the host's systemctl for another system's services.
                if !dir.join("systemctl").is_file() {
                    return Err(format!(
                        "--service-tools {}: no systemctl there (give the folder that holds that system's systemctl, \
                         e.g. a wrapper around `systemctl -M MACHINE`)",
                        dir.display()
                    ));
                }
                let mut dirs = vec![dir.clone()];
                dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
                let path = std::env::join_paths(dirs).map_err(|e| format!("--service-tools {}: {e}", dir.display()))?;
                (dir.join("invoke-rc.d").is_file(), Some(path))
            }
            Tools::Untouchable => (false, None),
        };
        // As the package's scripts: invoke-rc.d where there is one (Debian: policy-rc.d is
        // honoured), else systemctl.
        head.push_str(&format!("BM_INIT_HELPER={}\n", if invoke_rc_d { "invoke-rc.d" } else { "systemctl" }));
        if !is_running_system(root) {
            head.push_str(&format!("bm_use_root {}\n", quoted(&root.to_string_lossy())));
        }
        if self.tools == Tools::Untouchable {
            let why = format!("{} is not the running system, so its services are not touched", root.display());
            head.push_str(&format!("BM_UNREACHABLE={}\n", quoted(&why)));
        }
        Ok(Settler { head, path })
    }
}

impl Settler {
    /// Settles `services` in this order. `running_before`: the services that ran before, should
    /// they be found down (`BM_RUNNING_BEFORE`).
    pub fn settle(&self, services: &[&str], running_before: &[&str]) -> Result<Vec<Settled>, String> {
        let mut script = self.head.clone();
        script.push_str(&format!("BM_RUNNING_BEFORE={}\n", quoted(&running_before.join(" "))));
        for service in services {
            let service = quoted(service);
            script.push_str(&format!(
                "bm_outcome=\nbm_settle_service {service}\nprintf '{OUTCOME_MARK}%s %s\\n' {service} \"$bm_outcome\"\n"
            ));
        }
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(script).stdin(Stdio::null()).stderr(Stdio::inherit());
        if let Some(path) = &self.path {
            command.env("PATH", path);
        }
        let output = command.output().map_err(|e| format!("cannot run /bin/sh: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut settled = Vec::new();
        let mut said = Vec::new();
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix(OUTCOME_MARK) {
                let (service, word) = rest.split_once(' ').unwrap_or((rest, ""));
                let Some(outcome) = Outcome::parse(word) else {
                    return Err(format!("settling {service}: the shell functions said no known outcome ({word:?})"));
                };
                settled.push(Settled { service: service.to_string(), outcome, said: std::mem::take(&mut said) });
            } else {
                let line = line.strip_prefix("bm-plugin-reload: ").unwrap_or(line);
                said.push(line.to_string());
            }
        }
        if settled.len() != services.len() {
            return Err(format!(
                "settling {} stopped half-way ({}): {}",
                services.join(", "),
                output.status,
                said.join("; ")
            ));
        }
        Ok(settled)
    }
}

/// A word for sh, single-quoted.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn on_path(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| dir.join(program).is_file())
}

#[cfg(test)]
mod tests {
    /// The compiled-in functions are those of the script set the catalog gives bm-plugin-reload:
    /// the set's name is written here only because `include_str!` needs a literal path.
    #[test]
    fn the_settling_functions_are_the_catalog_s_script_set() {
        let catalog = bmpack::catalog::Catalog::builtin();
        let sets: Vec<String> =
            catalog.declarations.iter().filter_map(|d| d.scripts.as_ref().map(|s| s.to_string())).collect();
        assert_eq!(sets, [super::RELOAD_SET]);
        assert!(super::RELOAD_FUNCTIONS.contains("bm_settle_service()"));
    }
}
