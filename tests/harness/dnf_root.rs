//! A throwaway rpm root driven by the host's dnf (`--installroot`), with its own repository
//! definitions and cache: signature checks on, plug-ins off.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::repo_tools::{require, run};

pub struct DnfRoot {
    pub root: PathBuf,
}

impl DnfRoot {
    /// A root whose only repository is `repo_file` (a dnf `.repo` file).
    pub fn new(root: &Path, repo_file: &str) -> DnfRoot {
        require("dnf", "dnf");
        std::fs::create_dir_all(root.join("etc/yum.repos.d")).unwrap();
        std::fs::write(root.join("etc/yum.repos.d/bmpack.repo"), repo_file).unwrap();
        DnfRoot { root: root.to_path_buf() }
    }

    /// A root set up as docs/publishing.md says, from the `.repo` file publish wrote into
    /// `repo`, pointed at `base_url` and at `key` (copied into the root), checks kept as written.
    pub fn for_repository(root: &Path, repo: &Path, base_url: &str, key: &Path) -> DnfRoot {
        let written = std::fs::read_to_string(repo.join("bmpack-stable.repo")).unwrap();
        for line in ["gpgcheck=1\n", "repo_gpgcheck=1\n", "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-bmpack\n"] {
            assert!(written.contains(line), "{line} missing from {written}");
        }
        let old_base = written
            .lines()
            .find_map(|l| l.strip_prefix("baseurl="))
            .unwrap()
            .trim_end_matches("/rpm/stable")
            .to_string();
        // dnf reads a file:// key from the host even with --installroot: the key goes where
        // the rewritten line says.
        let in_root = root.join("keys/RPM-GPG-KEY-bmpack");
        std::fs::create_dir_all(in_root.parent().unwrap()).unwrap();
        std::fs::copy(key, &in_root).unwrap();
        let repo_file = written
            .replace(&format!("baseurl={old_base}/"), &format!("baseurl={base_url}/"))
            .replace("/etc/pki/rpm-gpg/RPM-GPG-KEY-bmpack", &in_root.to_string_lossy());
        DnfRoot::new(root, &repo_file)
    }

    pub fn dnf(&self, args: &[&str]) -> Output {
        let r = self.root.display();
        Command::new("dnf")
            .args(["-y", "--releasever=9", "--disableplugin=*", "--setopt=install_weak_deps=0"])
            .arg(format!("--installroot={r}"))
            .arg(format!("--setopt=reposdir={r}/etc/yum.repos.d"))
            .arg(format!("--setopt=cachedir={r}/var/cache/dnf"))
            .args(args)
            .output()
            .expect("running dnf")
    }

    /// `name version-release` of every installed package except gpg-pubkey.
    pub fn installed(&self) -> Vec<String> {
        let text = run(Command::new("rpm").arg(format!("--root={}", self.root.display())).args([
            "-qa",
            "--qf",
            "%{NAME} %{VERSION}-%{RELEASE}\\n",
        ]));
        let mut v: Vec<String> = text.lines().filter(|l| !l.starts_with("gpg-pubkey ")).map(String::from).collect();
        v.sort();
        v
    }
}
