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
        let text = run(Command::new("rpm")
            .arg(format!("--root={}", self.root.display()))
            .args(["-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n"]));
        let mut v: Vec<String> = text.lines().filter(|l| !l.starts_with("gpg-pubkey ")).map(String::from).collect();
        v.sort();
        v
    }
}
