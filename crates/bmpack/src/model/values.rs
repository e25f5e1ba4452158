//! The values of the model that have rules: a package name, an install path, a file mode.
//! Each is checked once, where it is made (the catalog, from TOML), and trusted after: the
//! writers take them as they are, with no check of their own.

use std::fmt;

/// A package name that dpkg and rpm both accept (Debian policy §5.6.1, stricter than rpm):
/// lower-case letters, digits, `+`, `-`, `.`; two characters or more, starting with a letter
/// or a digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

impl PackageName {
    pub fn new(name: impl Into<String>) -> Result<PackageName, String> {
        let name = name.into();
        let valid = name.len() >= 2
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
        if !valid {
            return Err(format!(
                "`{}` is not a package name: use lower-case letters, digits, `+`, `-` and `.`, starting with a \
                 letter or digit (e.g. `bm-nextcloud12`)",
                name.escape_debug()
            ));
        }
        Ok(PackageName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute path on the target system that dpkg and rpm unpack to exactly that place: it
/// starts with `/`, has no empty, `.` or `..` component, no trailing `/` and no control
/// character. `/` itself is not one (no package installs the root).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstallPath(String);

impl InstallPath {
    pub fn new(path: impl Into<String>) -> Result<InstallPath, String> {
        let path = path.into();
        let why = if !path.starts_with('/') {
            Some("is not absolute")
        } else if path.len() == 1 || path.ends_with('/') {
            Some("ends with `/`")
        } else if path[1..].split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            Some("has an empty, `.` or `..` component")
        } else if path.contains(|c: char| c.is_control()) {
            Some("contains a control character")
        } else {
            None
        };
        match why {
            Some(why) => Err(format!(
                "`{}` {why}: write an absolute path like /usr/share/bm-core/extensions",
                path.escape_debug()
            )),
            None => Ok(InstallPath(path)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self/name`, for a file name (one component, checked like the rest).
    pub fn join(&self, name: &str) -> Result<InstallPath, String> {
        if name.contains('/') {
            return Err(format!("`{}` is not a file name: it contains `/`", name.escape_debug()));
        }
        InstallPath::new(format!("{}/{name}", self.0))
    }

    /// The folders that hold it, from the top (`/usr`, `/usr/share`, …), without `/`.
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').skip(1).map(|(i, _)| &self.0[..i])
    }

    /// The path relative to `/` (`usr/share/…`), as it is written in archives and md5sums.
    pub fn relative(&self) -> &str {
        &self.0[1..]
    }
}

/// A systemd service (unit name without `.service`), as the maintainer scripts name it in shell
/// words and unit paths: letters, digits, `-`, `_`, `.`, `@`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceName(String);

impl ServiceName {
    pub fn new(name: impl Into<String>) -> Result<ServiceName, String> {
        let name = name.into();
        let valid = name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
            && !name.ends_with(".service");
        if !valid {
            return Err(format!(
                "`{}` is not a service name: give the unit's name without `.service`, in letters, digits, `-`, `_`, \
                 `.` and `@` (e.g. `bm-core`)",
                name.escape_debug()
            ));
        }
        Ok(ServiceName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Permission bits of an installed file (`0o644`, `0o755`): never more than `0o7777`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileMode(u32);

impl FileMode {
    /// A file anyone reads: jars, documentation, drop-ins.
    pub const READABLE: FileMode = FileMode(0o644);
    /// A program.
    pub const EXECUTABLE: FileMode = FileMode(0o755);

    /// From its octal spelling, as written in packaging/bmpack.toml: `"0644"`.
    pub fn from_octal(text: &str) -> Result<FileMode, String> {
        u32::from_str_radix(text, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(FileMode)
            .ok_or_else(|| format!("`{text}` is not an octal file mode: write it like \"0644\" or \"0755\""))
    }

    pub fn bits(self) -> u32 {
        self.0
    }
}

macro_rules! text_value {
    ($($t:ty),*) => {$(
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl AsRef<std::path::Path> for $t {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }
        impl AsRef<std::ffi::OsStr> for $t {
            fn as_ref(&self) -> &std::ffi::OsStr {
                std::ffi::OsStr::new(&self.0)
            }
        }
        impl PartialEq<$t> for String {
            fn eq(&self, other: &$t) -> bool {
                *self == other.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$t>::new(s)
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )*};
}
text_value!(PackageName, InstallPath, ServiceName);

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_debian_policy() {
        for good in ["bm-nextcloud12", "b2", "lib+x.y-z"] {
            assert_eq!(PackageName::new(good).unwrap(), good);
        }
        for bad in ["", "x", "Bm-core", "-bm", "bm core", "bm_core", "bm,core", "bm(1)", "bm\ncore"] {
            let e = PackageName::new(bad).unwrap_err();
            assert!(e.contains("not a package name"), "{bad}: {e}");
        }
    }

    #[test]
    fn install_paths_are_where_the_package_managers_unpack() {
        let p = InstallPath::new("/usr/share/bm-core/extensions").unwrap();
        assert_eq!(p.join("x.jar").unwrap(), "/usr/share/bm-core/extensions/x.jar");
        assert_eq!(p.ancestors().collect::<Vec<_>>(), ["/usr", "/usr/share", "/usr/share/bm-core"]);
        assert_eq!(p.relative(), "usr/share/bm-core/extensions");
        for (bad, why) in [
            ("usr/x", "not absolute"),
            ("/", "ends with"),
            ("/usr/", "ends with"),
            ("/usr//x", "empty"),
            ("/usr/./x", "`.`"),
            ("/usr/../etc/x", "`..`"),
            ("/usr/x\n", "control"),
        ] {
            let e = InstallPath::new(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(p.join("a/b").is_err());
        assert!(p.join("..").is_err());
    }

    #[test]
    fn service_names_are_unit_names() {
        assert_eq!(ServiceName::new("bm-core").unwrap(), "bm-core");
        for bad in ["", "bm core", "bm-core.service", "bm'core", "-x", "a/b"] {
            assert!(ServiceName::new(bad).unwrap_err().contains("not a service name"), "{bad}");
        }
    }

    #[test]
    fn modes_are_permission_bits_in_octal() {
        assert_eq!(FileMode::from_octal("0644").unwrap(), FileMode::READABLE);
        assert_eq!(FileMode::from_octal("755").unwrap().bits(), 0o755);
        assert_eq!(FileMode::EXECUTABLE.to_string(), "0755");
        for bad in ["", "0o644", "0888", "10000", "rw-r--r--"] {
            assert!(FileMode::from_octal(bad).unwrap_err().contains("octal file mode"), "{bad}");
        }
    }
}
