//! Which install command fits the machine: `apt` on Debian and its derivatives, `yum` on Red Hat
//! and its derivatives, read from `/etc/os-release` (`ID`, then `ID_LIKE`).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Apt,
    Yum,
}

impl PackageManager {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "apt" => Some(PackageManager::Apt),
            "yum" => Some(PackageManager::Yum),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PackageManager::Apt => "apt",
            PackageManager::Yum => "yum",
        }
    }

    pub fn install_command(self, packages: &[String]) -> String {
        format!("{} install {}", self.name(), packages.join(" "))
    }

    pub fn remove_command(self, packages: &[&str]) -> String {
        format!("{} remove {}", self.name(), packages.join(" "))
    }
}

/// What the machine under `root` is, as far as installing packages goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub manager: Option<PackageManager>,
    /// `ID` and `ID_LIKE` as read, or why nothing was read; for messages.
    pub description: String,
}

pub fn detect(root: &Path) -> Detected {
    for candidate in ["etc/os-release", "usr/lib/os-release"] {
        let path = root.join(candidate);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let id = field(&text, "ID").unwrap_or_default();
            let id_like = field(&text, "ID_LIKE").unwrap_or_default();
            let mut description = format!("{}: ID={id}", path.display());
            if !id_like.is_empty() {
                description.push_str(&format!(" ID_LIKE=\"{id_like}\""));
            }
            let words: Vec<String> = std::iter::once(id.clone())
                .chain(id_like.split_whitespace().map(str::to_string))
                .map(|w| w.to_ascii_lowercase())
                .collect();
            return Detected { manager: from_ids(&words), description };
        }
    }
    Detected { manager: None, description: format!("no os-release under {}", root.display()) }
}

/// The first word that names a known family decides (`ID` comes before `ID_LIKE`).
fn from_ids(words: &[String]) -> Option<PackageManager> {
    words.iter().find_map(|w| match w.as_str() {
        "debian" | "ubuntu" | "linuxmint" | "raspbian" | "devuan" => Some(PackageManager::Apt),
        "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amzn" | "scientific" => {
            Some(PackageManager::Yum)
        }
        _ => None,
    })
}

/// `KEY=value`, `KEY="value"` or `KEY='value'` from an os-release file.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(key)?.strip_prefix('=')?;
        Some(value.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let ids = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(from_ids(&ids("debian")), Some(PackageManager::Apt));
        assert_eq!(from_ids(&ids("pop ubuntu debian")), Some(PackageManager::Apt));
        assert_eq!(from_ids(&ids("rocky rhel centos fedora")), Some(PackageManager::Yum));
        assert_eq!(from_ids(&ids("arch")), None);
        assert_eq!(
            field("NAME=\"Rocky\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"", "ID").as_deref(),
            Some("rocky")
        );
    }
}
