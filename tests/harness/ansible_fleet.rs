//! A fleet of BlueMind servers that Ansible reaches as it reaches real ones: each a booted
//! server of `tests/harness/server.rs` (real systemd, the stand-ins of BlueMind installed) on a
//! root that also holds sshd and python3, sharing the host's network so that its sshd listens
//! on a port of its own on 127.0.0.1 (key-based, with a throwaway key), and that it reaches the
//! repository and the Nextcloud servers the test starts there. Ansible (ansible-core from PyPI)
//! runs on the host as an administrator's controller, with an inventory written here.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::bluemind::Generation;
use crate::booted::{Base, Network, Release};
use crate::rpm_tools::run_ok;
use crate::server::{Family, Server};

/// The root of a host that Ansible manages: sshd, and python3 for Ansible's modules
/// (python3-apt for its apt module; its dnf module uses python3-dnf, which dnf brings).
pub const ANSIBLE_HOST: Base = Base { name: "ansible-host", extra: "openssh-server,python3,python3-apt" };

/// The Debian release every host of the fleet runs (its dpkg/apt, or its rpm/dnf).
pub const RELEASE: Release = Release::Bookworm;

/// The controller's throwaway ssh key.
pub struct SshKey {
    _dir: TempDir,
    pub private: PathBuf,
    pub public: String,
}

impl SshKey {
    pub fn generate() -> SshKey {
        let dir = TempDir::new().unwrap();
        let private = dir.path().join("id_ed25519");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "ansible-controller", "-f"])
                .arg(&private),
        );
        let public = std::fs::read_to_string(private.with_extension("pub")).unwrap();
        SshKey { _dir: dir, private, public }
    }
}

/// A free TCP port on 127.0.0.1 (released at once; sshd binds it a moment later).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One managed host.
pub struct Host {
    pub name: String,
    pub port: u16,
    pub server: Server,
}

impl Host {
    /// Boots a server of `family` and `generation` whose sshd listens on 127.0.0.1:`port` and
    /// lets `key` in as root; then takes away the unsigned local repository the install tests
    /// use (`/srv/repo`, `/srv/rpms`), so that packages can come from the signed one only.
    pub fn boot(name: &str, family: Family, generation: Generation, key: &SshKey) -> Host {
        let port = free_port();
        let server = Server::booted_with(family, RELEASE, generation, ANSIBLE_HOST, Network::Host, |root| {
            let conf = root.join("etc/ssh/sshd_config.d");
            std::fs::create_dir_all(&conf).unwrap();
            std::fs::write(
                conf.join("ansible-test.conf"),
                format!(
                    "ListenAddress 127.0.0.1:{port}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                ),
            )
            .unwrap();
            let ssh = root.join("root/.ssh");
            std::fs::create_dir_all(&ssh).unwrap();
            std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            std::fs::write(ssh.join("authorized_keys"), &key.public).unwrap();
            std::fs::write(root.join("etc/hostname"), format!("{name}\n")).unwrap();
        });
        Host { name: name.to_string(), port, server }
    }

    /// Installs BlueMind's own file store from the local repository (before it is taken away).
    pub fn with_bluemind_file_store(&self) {
        let v = self.server.generation.versions()[0];
        match self.server.family {
            Family::Deb => self.server.given(&format!("apt-get install -y -q {}={v}-1", crate::bluemind::FILEHOSTING)),
            Family::Rpm => self.server.given(&Server::dnf(&format!("install {}", crate::bluemind::FILEHOSTING))),
        };
    }

    /// Only the signed repository that the roles add remains. An RPM server has rpm's package
    /// database only: the Debian root underneath keeps dpkg's aside, so that bmpack (which reads
    /// dpkg's where there is one) sees what a RHEL server shows.
    pub fn signed_sources_only(&self) {
        match self.server.family {
            Family::Deb => self.server.given(
                "rm -rf /srv/repo /etc/apt/sources.list.d/bmpack-tests.list && apt-get update -qq && apt-get clean",
            ),
            Family::Rpm => self.server.given(
                "rm -rf /srv/rpms /etc/yum.repos.d/bmpack-tests.repo && dnf clean all -q \
                 && mv /var/lib/dpkg/status /var/lib/dpkg/status.debian-base",
            ),
        };
    }

    /// What the package database holds: `name version` lines, sorted.
    pub fn packages(&self) -> String {
        let query = match self.server.family {
            Family::Deb => {
                "dpkg-query -W -f='${db:Status-Status} ${Package} ${Version}\\n' | sed -n 's/^installed //p' | sort"
            }
            Family::Rpm => "rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' | sort",
        };
        self.server.system.ok(query)
    }

    pub fn installed(&self, package: &str) -> bool {
        self.server.installed(package)
    }

    /// How many times the stand-in `service` started since the last [`Host::forget_starts`].
    pub fn starts(&self, service: &str) -> usize {
        self.server.starts(service).len()
    }

    pub fn forget_starts(&self) {
        crate::bluemind::forget_starts(&self.server.system);
    }
}

/// The controller: a folder with `ansible.cfg`, the inventory and the installed collection.
pub struct Controller {
    pub dir: TempDir,
    pub bin: PathBuf,
}

/// What `ansible-playbook` did: its exit status, output, and the recap per host.
pub struct PlaybookRun {
    pub output: Output,
    pub recap: BTreeMap<String, BTreeMap<String, u32>>,
}

impl PlaybookRun {
    pub fn text(&self) -> String {
        format!("{}{}", String::from_utf8_lossy(&self.output.stdout), String::from_utf8_lossy(&self.output.stderr))
    }

    pub fn succeeded(&self) -> bool {
        self.output.status.success()
    }

    /// `changed=` (or another counter) of `host` in the recap; `None` when Ansible never
    /// touched the host.
    pub fn count(&self, host: &str, counter: &str) -> Option<u32> {
        self.recap.get(host).map(|c| c.get(counter).copied().unwrap_or(0))
    }
}

/// The recap's lines: `host : ok=12 changed=3 unreachable=0 failed=0 …`.
pub fn parse_recap(text: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let mut out = BTreeMap::new();
    let Some((_, recap)) = text.split_once("PLAY RECAP") else { return out };
    for line in recap.lines() {
        let Some((host, counters)) = line.split_once(" : ") else { continue };
        let counts: BTreeMap<String, u32> = counters
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
            .collect();
        if !counts.is_empty() {
            out.insert(host.trim().to_string(), counts);
        }
    }
    out
}

impl Controller {
    /// A controller whose Ansible is the one in `bin` (ansible-core from PyPI), with the
    /// collection installed from `collection` (a tarball's path or URL) by ansible-galaxy.
    pub fn new(bin: &Path, collection: &str, key: &SshKey) -> Controller {
        let dir = TempDir::new().unwrap();
        let d = dir.path();
        let collections = d.join("collections");
        std::fs::write(
            d.join("ansible.cfg"),
            format!(
                "[defaults]\n\
                 inventory = {inventory}\n\
                 collections_path = {collections}\n\
                 private_key_file = {key}\n\
                 remote_user = root\n\
                 host_key_checking = False\n\
                 interpreter_python = /usr/bin/python3\n\
                 forks = 5\n\
                 nocolor = True\n\
                 retry_files_enabled = False\n\
                 [ssh_connection]\n\
                 pipelining = True\n\
                 ssh_args = -o ControlMaster=auto -o ControlPersist=30s -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes\n\
                 control_path_dir = {control}\n",
                inventory = d.join("inventory.yml").display(),
                collections = collections.display(),
                key = key.private.display(),
                control = d.join("cp").display(),
            ),
        )
        .unwrap();
        let controller = Controller { dir, bin: bin.to_path_buf() };
        let out = controller
            .command("ansible-galaxy")
            .args(["collection", "install", "-p"])
            .arg(&collections)
            .arg(collection)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ansible-galaxy collection install {collection} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        controller
    }

    /// An Ansible command with this controller's configuration.
    pub fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.current_dir(self.dir.path())
            .env("ANSIBLE_CONFIG", self.dir.path().join("ansible.cfg"))
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_STDOUT_CALLBACK", "default")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// Writes the inventory: every host in `bluemind` (with its port and `vars`), the first one
    /// also in `bmpack_canary`, and `all_vars` for all.
    pub fn inventory(&self, hosts: &[(&Host, serde_json::Value)], all_vars: serde_json::Value) {
        let mut bluemind = serde_json::Map::new();
        for (host, vars) in hosts {
            let mut vars = vars.clone();
            vars["ansible_host"] = "127.0.0.1".into();
            vars["ansible_port"] = host.port.into();
            bluemind.insert(host.name.clone(), vars);
        }
        let canary = hosts[0].0.name.clone();
        let inventory = serde_json::json!({
            "all": {
                "vars": all_vars,
                "children": {
                    "bluemind": {"hosts": bluemind},
                    "bmpack_canary": {"hosts": {canary: {}}},
                },
            },
        });
        // YAML is a superset of JSON.
        std::fs::write(self.dir.path().join("inventory.yml"), serde_json::to_string_pretty(&inventory).unwrap())
            .unwrap();
    }

    /// `ansible-playbook bmpack.bluemind.rollout` with `args`.
    pub fn rollout(&self, args: &[&str]) -> PlaybookRun {
        let output = self.command("ansible-playbook").arg("bmpack.bluemind.rollout").args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        PlaybookRun { recap: parse_recap(&text), output }
    }
}
