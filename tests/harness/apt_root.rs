//! A throwaway apt/dpkg root driven by the host's apt-get (`-o Dir=<root>`): its own sources,
//! lists, cache and dpkg database, packages unpacked under the root by `dpkg --root`. Enough
//! for packages without maintainer scripts (the stand-ins of the repository tests).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::repo_tools::{require, run};

pub struct AptRoot {
    pub root: PathBuf,
}

impl AptRoot {
    /// A root whose only source is `sources` (a deb822 `.sources` file).
    pub fn new(root: &Path, sources: &str) -> AptRoot {
        require("apt-get", "apt");
        for dir in [
            "etc/apt/sources.list.d",
            "etc/apt/apt.conf.d",
            "etc/apt/preferences.d",
            "etc/apt/keyrings",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/lib/dpkg/info",
            "var/lib/dpkg/updates",
            "var/log/apt",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
        std::fs::write(root.join("etc/apt/sources.list.d/bmpack.sources"), sources).unwrap();
        AptRoot { root: root.to_path_buf() }
    }

    /// Runs apt-get in the root; returns the output whatever the exit status.
    pub fn apt_get(&self, args: &[&str]) -> Output {
        let r = self.root.display();
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["-o", &format!("Dir={r}")])
            .args(["-o", &format!("Dir::State::status={r}/var/lib/dpkg/status")])
            .args(["-o", &format!("Dir::Etc::sourcelist={r}/etc/apt/sources.list")])
            .args(["-o", &format!("Dir::Etc::sourceparts={r}/etc/apt/sources.list.d")])
            .args(["-o", "APT::Sandbox::User=root"])
            .args(["-o", &format!("DPkg::Options::=--root={r}")])
            .args(["-o", "Acquire::Retries=0"])
            .args(args)
            .output()
            .expect("running apt-get")
    }

    /// `Package Version` of every installed package.
    pub fn installed(&self) -> Vec<String> {
        let text = run(Command::new("dpkg-query")
            .arg(format!("--admindir={}/var/lib/dpkg", self.root.display()))
            .args(["-W", "-f", "${Package} ${Version} ${Status}\\n"]));
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.ends_with(" installed"))
            .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect();
        v.sort();
        v
    }
}

pub fn describe(out: &Output) -> String {
    format!("{}\n{}\n{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
