//! Runs the distributions' own linters over a build: `lintian` on every .deb, `rpmlint` on
//! every .rpm. Overrides live with the packages (lintian: `/usr/share/lintian/overrides/<pkg>`,
//! shipped from `debian/lintian-overrides`) and in `rpm/rpmlintrc` (rpmlint), each with a reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::package_format::Format;

/// Where the rpmlint filters are, relative to the project root.
pub const RPMLINT_CONFIG: &str = "rpm/rpmlintrc";

#[derive(Debug, Default)]
pub struct LintReport {
    /// What the linters printed, prefixed with the tool's name.
    pub text: String,
    /// Errors plus warnings, both linters together.
    pub problems: usize,
    pub files: usize,
}

/// Lints every package of a build folder (`deb/*.deb`, `rpm/*.rpm`).
pub fn lint_build(root: &Path, out: &Path) -> anyhow::Result<LintReport> {
    let [debs, rpms] = [Format::Deb, Format::Rpm].map(|f| files_with_extension(&out.join(f.as_str()), f.as_str()));
    let (debs, rpms) = (debs?, rpms?);
    if debs.is_empty() && rpms.is_empty() {
        bail!("no .deb or .rpm in {}: run `cargo xtask package` first", out.display());
    }
    let mut report = LintReport { files: debs.len() + rpms.len(), ..LintReport::default() };
    if !debs.is_empty() {
        let output = run_tool(
            Command::new("lintian").args(["--no-tag-display-limit", "--allow-root"]).args(&debs),
            "lintian",
            "apt-get install lintian",
        )?;
        for line in output.lines() {
            // Severity letters: E error, W warning, I info, P pedantic, X experimental, O overridden.
            if line.starts_with("E: ") || line.starts_with("W: ") {
                report.problems += 1;
            }
            report.text.push_str(&format!("lintian: {line}\n"));
        }
    }
    if !rpms.is_empty() {
        let config = root.join(RPMLINT_CONFIG);
        // rpmlint opens rpm's default database, which Debian's rpm keeps under `~/.rpmdb`: a HOME
        // of its own keeps it off the user's, and off any personal rpmlint configuration.
        let home = tempfile::tempdir()?;
        let mut cmd = Command::new("rpmlint");
        cmd.env("HOME", home.path()).env("XDG_CONFIG_HOME", home.path().join(".config"));
        cmd.arg("-c").arg(&config);
        let output = run_tool(cmd.args(&rpms), "rpmlint", "apt-get install rpmlint")?;
        for line in output.lines() {
            if line.contains(": E: ") || line.contains(": W: ") {
                report.problems += 1;
            }
            report.text.push_str(&format!("rpmlint: {line}\n"));
        }
    }
    Ok(report)
}

fn run_tool(cmd: &mut Command, name: &str, install: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run `{name}`: is it installed? ({install})"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    // Both exit non-zero when they find problems; counting the tags is what decides. A crash
    // without any tag output still fails the lint.
    if !out.status.success() && !text.contains(": E: ") && !text.contains("E: ") && !text.contains(": W: ") {
        bail!("`{name}` failed ({}): {}", out.status, text.trim());
    }
    Ok(text)
}

fn files_with_extension(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}
