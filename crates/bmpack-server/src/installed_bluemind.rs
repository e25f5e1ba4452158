//! What the package database says: which BlueMind release a system runs (`deploy` is the manual
//! procedure for BlueMind before 4.2; from 4.2 on the plug-ins are packages, which jars copied
//! by hand would shadow or be overwritten by), and which package owns a jar (a file of a package
//! is never moved by hand, whatever `--force` says: the database would lie about it after).

use std::path::Path;
use std::process::Command;

/// The first BlueMind release whose plug-ins are installed as packages.
pub const PACKAGED_FROM: (u32, u32) = (4, 2);

/// The installed `bm-core` version under `root`, and the tool that said so, or `None` when no
/// package database under `root` knows bm-core (or its tool is missing).
pub fn bm_core_version(root: &Path) -> Option<(String, &'static str)> {
    let dpkg_db = root.join("var/lib/dpkg");
    if dpkg_db.join("status").is_file() {
        let out = Command::new("dpkg-query")
            .arg(format!("--admindir={}", dpkg_db.display()))
            .args(["-W", "-f=${db:Status-Status} ${Version}", "bm-core"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        return text.strip_prefix("installed ").map(|v| (v.trim().to_string(), "dpkg-query"));
    }
    if root.join("var/lib/rpm").is_dir() {
        let out = Command::new("rpm")
            .arg("--root")
            .arg(root)
            .args(["--dbpath", "/var/lib/rpm", "-q", "--qf", "%{VERSION}", "bm-core"])
            .output()
            .ok()?;
        if out.status.success() {
            return Some((String::from_utf8_lossy(&out.stdout).trim().to_string(), "rpm"));
        }
    }
    None
}

/// The package that owns `absolute` (a path as the system under `root` sees it) and the tool
/// that said so, or `None` when no package database under `root` lists it.
pub fn owning_package(root: &Path, absolute: &Path) -> Option<(String, &'static str)> {
    let dpkg_db = root.join("var/lib/dpkg");
    if dpkg_db.join("status").is_file() {
        // `dpkg-query -S` takes a pattern: a name with glob characters would match others.
        let path = absolute.to_str().filter(|p| !p.contains(['*', '?', '[', ']', '\\']))?;
        let out = Command::new("dpkg-query").arg(format!("--admindir={}", dpkg_db.display())).args(["-S", path]).output().ok()?;
        // `bm-nextcloud12: /usr/share/…`; `diversion by …` lines name no owner.
        return String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("diversion "))
            .find_map(|l| l.split_once(": ").filter(|(_, p)| *p == path).map(|(owners, _)| owners.split(", ").next().unwrap_or(owners).to_string()))
            .map(|owner| (owner, "dpkg-query"));
    }
    if root.join("var/lib/rpm").is_dir() {
        let out = Command::new("rpm")
            .arg("--root")
            .arg(root)
            .args(["--dbpath", "/var/lib/rpm", "-q", "--qf", "%{NAME}\\n", "-f"])
            .arg(absolute)
            .output()
            .ok()?;
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).lines().next().map(|name| (name.to_string(), "rpm"));
        }
    }
    None
}

/// `major.minor` of a Debian or RPM version (`4.1.51-1`, `1:4.3.0.v2021`), if it starts with one.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_minor_of_package_versions() {
        assert_eq!(major_minor("4.1.51-1"), Some((4, 1)));
        assert_eq!(major_minor("1:4.3.0.v2021-2"), Some((4, 3)));
        assert_eq!(major_minor("5"), Some((5, 0)));
        assert_eq!(major_minor("x4"), None);
        assert!(major_minor("4.2.0-1").unwrap() >= PACKAGED_FROM);
    }
}
