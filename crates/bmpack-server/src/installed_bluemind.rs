//! What the package database says: which BlueMind release a system runs (`deploy` is the manual
//! procedure for BlueMind before 4.2; from 4.2 on the plug-ins are packages, which jars copied
//! by hand would shadow or be overwritten by), and which package owns a jar (a file of a package
//! is never moved by hand, whatever `--force` says: the database would lie about it after).

use std::path::Path;
use std::process::{Command, Output};

use crate::package_manager::PackageManager;

/// The first BlueMind release whose plug-ins are installed as packages.
pub const PACKAGED_FROM: (u32, u32) = (4, 2);

/// The package database of the system under a root: dpkg's when it has one, else rpm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageDatabase {
    Dpkg,
    Rpm,
}

impl PackageDatabase {
    pub fn under(root: &Path) -> Option<Self> {
        if root.join("var/lib/dpkg/status").is_file() {
            Some(PackageDatabase::Dpkg)
        } else if root.join("var/lib/rpm").is_dir() {
            Some(PackageDatabase::Rpm)
        } else {
            None
        }
    }

    /// The tool that reads it, for messages.
    pub fn tool(self) -> &'static str {
        match self {
            PackageDatabase::Dpkg => "dpkg-query",
            PackageDatabase::Rpm => "rpm",
        }
    }

    /// What the administrator installs and removes packages with on that system.
    pub fn manager(self) -> PackageManager {
        match self {
            PackageDatabase::Dpkg => PackageManager::Apt,
            PackageDatabase::Rpm => PackageManager::Yum,
        }
    }

    /// Runs the tool on the database under `root` with `args`; `None` if it cannot run.
    fn query(self, root: &Path, args: &[&str]) -> Option<Output> {
        let mut command = Command::new(self.tool());
        match self {
            PackageDatabase::Dpkg => command.arg(format!("--admindir={}", root.join("var/lib/dpkg").display())),
            PackageDatabase::Rpm => command.arg("--root").arg(root).args(["--dbpath", "/var/lib/rpm"]),
        };
        command.args(args).output().ok()
    }
}

/// The installed `bm-core` version under `root`, and the database that said so, or `None` when
/// no package database under `root` knows bm-core (or its tool is missing).
pub fn bm_core_version(root: &Path) -> Option<(String, PackageDatabase)> {
    let db = PackageDatabase::under(root)?;
    let version = installed_versions(root, db, &["bm-core"]).remove("bm-core")?;
    Some((version, db))
}

/// The installed version of each of `names` that is installed (dpkg: `4.9.0-1`, rpm: the
/// version without the release, `4.9.0`, as BlueMind's relations are written).
pub fn installed_versions(
    root: &Path,
    db: PackageDatabase,
    names: &[&str],
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if names.is_empty() {
        return out;
    }
    let (format, prefix): (&str, &str) = match db {
        PackageDatabase::Dpkg => ("-f=${Package} ${db:Status-Status} ${Version}\n", "installed"),
        PackageDatabase::Rpm => ("%{NAME} installed %{VERSION}\n", "installed"),
    };
    let mut args: Vec<&str> = match db {
        PackageDatabase::Dpkg => vec!["-W", format],
        PackageDatabase::Rpm => vec!["-q", "--qf", format],
    };
    args.extend(names);
    // Both tools print what they know and fail for the rest: the output is read either way.
    let Some(output) = db.query(root, &args) else { return out };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(state), Some(version)) = (words.next(), words.next(), words.next())
            && state == prefix
            && names.contains(&name)
        {
            out.insert(name.to_string(), version.to_string());
        }
    }
    out
}

/// The package that owns `absolute` (a path as the system under `root` sees it) according to
/// `db`, or `None` when no package lists it.
pub fn owning_package(root: &Path, db: PackageDatabase, absolute: &Path) -> Option<String> {
    let path = absolute.to_str()?;
    match db {
        PackageDatabase::Dpkg => {
            // `dpkg-query -S` takes a pattern: a name with glob characters would match others.
            if path.contains(['*', '?', '[', ']', '\\']) {
                return None;
            }
            let out = db.query(root, &["-S", path])?;
            // `bm-nextcloud12: /usr/share/…`; `diversion by …` lines name no owner.
            String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with("diversion ")).find_map(|l| {
                l.split_once(": ")
                    .filter(|(_, p)| *p == path)
                    .map(|(owners, _)| owners.split(", ").next().unwrap_or(owners).to_string())
            })
        }
        PackageDatabase::Rpm => {
            let out = db.query(root, &["-q", "--qf", "%{NAME}\\n", "-f", path]).filter(|o| o.status.success())?;
            String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
        }
    }
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
