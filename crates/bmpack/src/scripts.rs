//! Maintainer scripts from their templates: `debian/<set>.<script>` and `rpm/<set>.<scriptlet>`.
//!
//! A *script set* is a name such as `bm-plugin-reload`; a package declares it in
//! `packaging/bmpack.toml` (`scripts = "bm-plugin-reload"`). Its templates are plain POSIX sh
//! files, checked by shellcheck (`tests/shellcheck.rs`), with two placeholders:
//!
//! * a line that is exactly `@FUNCTIONS@` is replaced by the text of `maintscripts/<set>.sh`,
//!   the shell functions shared by the Debian and RPM scripts. Copying them into each script
//!   keeps every script self-contained: a Debian postrm or an RPM %postun runs after the
//!   package's files are gone and could not source them from the package.
//! * in the RPM file-trigger templates (`.transfiletriggerin`, `.transfiletriggerpostun`), one
//!   trigger is made per extensions folder of `[targets]` in packaging/bmpack.toml, with
//!   `@WATCHED_PATH@` replaced by that folder: rpm gives `%transfiletriggerpostun` no list of
//!   files, so each trigger has to know its folder by itself.
//!
//! Any other `@NAME@` left in a script is an error, as is a file `debian/<set>.<x>` or
//! `rpm/<set>.<x>` whose `<x>` is not a script this module knows (a typo would otherwise be a
//! script silently missing from the package).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::catalog::Target;
use crate::model::{DebScripts, FileTrigger, MaintainerScripts, RpmScripts};

/// The folders, relative to the project root.
pub const DEBIAN_DIR: &str = "debian";
pub const RPM_DIR: &str = "rpm";
pub const FUNCTIONS_DIR: &str = "maintscripts";

const FUNCTIONS_LINE: &str = "@FUNCTIONS@";
const WATCHED_PATH: &str = "@WATCHED_PATH@";

const DEB_SCRIPTS: [&str; 5] = ["preinst", "postinst", "prerm", "postrm", "triggers"];
const RPM_SCRIPTS: [&str; 8] = [
    "pre",
    "post",
    "preun",
    "postun",
    "pretrans",
    "posttrans",
    "transfiletriggerin",
    "transfiletriggerpostun",
];

#[derive(Debug, thiserror::Error)]
pub enum ScriptsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "script set `{set}` has no template: expected at least one of {debian}/{set}.postinst, \
         {rpm}/{set}.post, … (fix the `scripts` field in packaging/bmpack.toml or add the templates)",
        debian = DEBIAN_DIR,
        rpm = RPM_DIR
    )]
    NoTemplate { set: String },
    #[error(
        "{path}: `{suffix}` is not a script bmpack knows; use one of {known} (rename the file)"
    )]
    UnknownScript { path: PathBuf, suffix: String, known: String },
    #[error("{path}: uses @FUNCTIONS@ but {functions} does not exist (create it or remove the line)")]
    MissingFunctions { path: PathBuf, functions: PathBuf },
    #[error("{path}: line {line}: unknown placeholder `{placeholder}` (only @FUNCTIONS@ and, in file triggers, @WATCHED_PATH@)")]
    UnknownPlaceholder { path: PathBuf, line: usize, placeholder: String },
    #[error("{path}: a file trigger watches the extensions folders of [targets], but packaging/bmpack.toml declares none")]
    NoWatchedPath { path: PathBuf },
    #[error("{path}: `{watched}` (a target's `extensions`) is not an absolute path: fix it in packaging/bmpack.toml")]
    RelativeWatchedPath { path: PathBuf, watched: String },
}

/// Reads the templates of script set `set` under the project root `root` and fills them in;
/// the RPM file triggers watch the `extensions` folder of each of `targets`.
/// Scripts without a template are `None` (or no trigger).
pub fn load(root: &Path, set: &str, targets: &BTreeMap<String, Target>) -> Result<MaintainerScripts, ScriptsError> {
    let watched: Vec<String> = targets.values().map(|t| t.extensions.clone()).collect();
    check_no_unknown_files(root, DEBIAN_DIR, set, &DEB_SCRIPTS)?;
    check_no_unknown_files(root, RPM_DIR, set, &RPM_SCRIPTS)?;
    let functions_path = root.join(FUNCTIONS_DIR).join(format!("{set}.sh"));
    let mut found = false;
    let mut read = |dir: &str, suffix: &str| -> Result<Option<(PathBuf, String)>, ScriptsError> {
        let path = root.join(dir).join(format!("{set}.{suffix}"));
        match fs::read_to_string(&path) {
            Ok(text) => {
                found = true;
                let filled = fill_functions(&path, &text, &functions_path)?;
                Ok(Some((path, filled)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ScriptsError::Read { path, source }),
        }
    };
    let mut script = |dir: &str, suffix: &str| -> Result<Option<String>, ScriptsError> {
        match read(dir, suffix)? {
            Some((path, text)) => {
                check_placeholders(&path, &text, &[])?;
                Ok(Some(text))
            }
            None => Ok(None),
        }
    };
    let deb = DebScripts {
        preinst: script(DEBIAN_DIR, "preinst")?,
        postinst: script(DEBIAN_DIR, "postinst")?,
        prerm: script(DEBIAN_DIR, "prerm")?,
        postrm: script(DEBIAN_DIR, "postrm")?,
        triggers: script(DEBIAN_DIR, "triggers")?,
    };
    let mut rpm = RpmScripts {
        pre: script(RPM_DIR, "pre")?,
        post: script(RPM_DIR, "post")?,
        preun: script(RPM_DIR, "preun")?,
        postun: script(RPM_DIR, "postun")?,
        pretrans: script(RPM_DIR, "pretrans")?,
        posttrans: script(RPM_DIR, "posttrans")?,
        ..RpmScripts::default()
    };
    if let Some((path, text)) = read(RPM_DIR, "transfiletriggerin")? {
        rpm.trans_file_trigger_in = file_triggers(&path, &text, &watched)?;
    }
    if let Some((path, text)) = read(RPM_DIR, "transfiletriggerpostun")? {
        rpm.trans_file_trigger_postun = file_triggers(&path, &text, &watched)?;
    }
    if !found {
        return Err(ScriptsError::NoTemplate { set: set.to_string() });
    }
    Ok(MaintainerScripts { deb, rpm })
}

/// The text of the shared functions file of a set, for tools that check it on its own.
pub fn functions_path(root: &Path, set: &str) -> PathBuf {
    root.join(FUNCTIONS_DIR).join(format!("{set}.sh"))
}

fn check_no_unknown_files(root: &Path, dir: &str, set: &str, known: &[&str]) -> Result<(), ScriptsError> {
    let folder = root.join(dir);
    let entries = match fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(ScriptsError::Read { path: folder, source }),
    };
    let prefix = format!("{set}.");
    for entry in entries {
        let entry = entry.map_err(|source| ScriptsError::Read { path: folder.clone(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(suffix) = name.strip_prefix(&prefix)
            && !known.contains(&suffix)
        {
            return Err(ScriptsError::UnknownScript {
                path: entry.path(),
                suffix: suffix.to_string(),
                known: known.join(", "),
            });
        }
    }
    Ok(())
}

fn fill_functions(path: &Path, text: &str, functions_path: &Path) -> Result<String, ScriptsError> {
    if !text.lines().any(|l| l.trim() == FUNCTIONS_LINE) {
        return Ok(text.to_string());
    }
    let functions = match fs::read_to_string(functions_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ScriptsError::MissingFunctions {
                path: path.to_path_buf(),
                functions: functions_path.to_path_buf(),
            });
        }
        Err(source) => return Err(ScriptsError::Read { path: functions_path.to_path_buf(), source }),
    };
    // The functions file's own shellcheck directive would be misplaced in the middle of a script.
    let functions: String = functions
        .lines()
        .filter(|l| !l.starts_with("# shellcheck shell="))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut out = String::with_capacity(text.len() + functions.len());
    for line in text.lines() {
        if line.trim() == FUNCTIONS_LINE {
            out.push_str(functions.trim_matches('\n'));
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

fn check_placeholders(path: &Path, text: &str, allowed: &[&str]) -> Result<(), ScriptsError> {
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find('@') {
            let after = &rest[start + 1..];
            let Some(len) = after.find('@') else { break };
            let name = &after[..len];
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                let placeholder = format!("@{name}@");
                if !allowed.contains(&placeholder.as_str()) {
                    return Err(ScriptsError::UnknownPlaceholder {
                        path: path.to_path_buf(),
                        line: i + 1,
                        placeholder,
                    });
                }
                rest = &after[len + 1..];
            } else {
                rest = after;
            }
        }
    }
    Ok(())
}

fn file_triggers(path: &Path, text: &str, watched: &[String]) -> Result<Vec<FileTrigger>, ScriptsError> {
    check_placeholders(path, text, &[WATCHED_PATH])?;
    if watched.is_empty() {
        return Err(ScriptsError::NoWatchedPath { path: path.to_path_buf() });
    }
    watched
        .iter()
        .map(|folder| {
            if !folder.starts_with('/') {
                return Err(ScriptsError::RelativeWatchedPath { path: path.to_path_buf(), watched: folder.clone() });
            }
            Ok(FileTrigger { script: text.replace(WATCHED_PATH, folder), paths: vec![folder.clone()] })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(folders: &[&str]) -> BTreeMap<String, Target> {
        folders
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let t = Target { extensions: f.to_string(), service: format!("s{i}"), cache: format!("/var/lib/s{i}") };
                (format!("t{i}"), t)
            })
            .collect()
    }

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn fills_functions_and_makes_one_trigger_per_watched_folder() {
        let dir = project(&[
            ("debian/x.postinst", "#!/bin/sh\nA=1\n@FUNCTIONS@\nrun\n"),
            ("debian/x.triggers", "interest-noawait /a\n"),
            ("maintscripts/x.sh", "# shellcheck shell=sh\nrun() { :; }\n"),
            ("rpm/x.postun", "@FUNCTIONS@\n"),
            ("rpm/x.transfiletriggerpostun", "@FUNCTIONS@\nreload @WATCHED_PATH@\n"),
        ]);
        let s = load(dir.path(), "x", &targets(&["/a", "/b"])).unwrap();
        assert_eq!(s.deb.postinst.as_deref(), Some("#!/bin/sh\nA=1\nrun() { :; }\nrun\n"));
        assert_eq!(s.deb.triggers.as_deref(), Some("interest-noawait /a\n"));
        assert!(s.deb.prerm.is_none());
        assert_eq!(s.rpm.postun.as_deref(), Some("run() { :; }\n"));
        let t = &s.rpm.trans_file_trigger_postun;
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].paths, vec!["/a".to_string()]);
        assert!(t[0].script.ends_with("reload /a\n"), "{}", t[0].script);
        assert!(t[1].script.ends_with("reload /b\n"));
        assert!(s.rpm.trans_file_trigger_in.is_empty());
    }

    #[test]
    fn names_the_file_and_the_fix() {
        let typo = project(&[("debian/x.postinstall", "")]);
        let e = load(typo.path(), "x", &targets(&["/a"])).unwrap_err().to_string();
        assert!(e.contains("x.postinstall") && e.contains("postinst"), "{e}");

        let none = project(&[]);
        let e = load(none.path(), "x", &targets(&["/a"])).unwrap_err().to_string();
        assert!(e.contains("no template") && e.contains("bmpack.toml"), "{e}");

        let no_functions = project(&[("debian/x.postinst", "@FUNCTIONS@\n")]);
        let e = load(no_functions.path(), "x", &targets(&["/a"])).unwrap_err().to_string();
        assert!(e.contains("maintscripts/x.sh"), "{e}");

        let unknown = project(&[("debian/x.postinst", "echo @SERVICE@\n")]);
        let e = load(unknown.path(), "x", &targets(&["/a"])).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("@SERVICE@"), "{e}");

        let unwatched = project(&[("rpm/x.transfiletriggerin", "echo\n")]);
        let e = load(unwatched.path(), "x", &targets(&[])).unwrap_err().to_string();
        assert!(e.contains("x.transfiletriggerin") && e.contains("[targets]"), "{e}");
    }

    /// The templates of this repository load.
    #[test]
    fn the_project_templates_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let targets = targets(&["/usr/share/bm-core/extensions", "/usr/share/bm-webserver/extensions"]);
        let s = load(&root, "bm-plugin-reload", &targets).unwrap();
        assert!(s.deb.postinst.as_deref().unwrap().contains("bm_reload_services"));
        assert!(s.deb.triggers.as_deref().unwrap().contains("interest-noawait /usr/share/bm-core/extensions"));
        let watched: Vec<_> = s.rpm.trans_file_trigger_in.iter().flat_map(|t| t.paths.clone()).collect();
        assert_eq!(watched, ["/usr/share/bm-core/extensions", "/usr/share/bm-webserver/extensions"]);
    }
}
