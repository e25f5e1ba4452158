//! The `control` file: the fields `dpkg-deb -I` and `apt show` print.

use std::fmt::Write as _;

use anyhow::bail;

use crate::model::{Package, Relation};

/// The text of `control` for `pkg`, which takes `installed_size_kib` KiB once installed.
pub(super) fn control_file(pkg: &Package, installed_size_kib: u64) -> anyhow::Result<String> {
    for (field, value) in [("maintainer", &pkg.maintainer), ("summary", &pkg.summary)] {
        if value.trim().is_empty() {
            bail!(
                "package `{}`: `{field}` is empty; dpkg needs it in the control file: set it in packaging/",
                pkg.name
            );
        }
    }
    let field = |name: &str, value: &str| -> anyhow::Result<String> {
        single_line(&pkg.name, name, value)?;
        Ok(value.to_string())
    };
    let mut c = String::new();
    let mut put = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(c, "{name}: {value}");
        }
    };
    put("Package", pkg.name.to_string());
    put("Version", pkg.version.deb());
    put("Architecture", pkg.arch.deb().to_string());
    put("Maintainer", field("maintainer", &pkg.maintainer)?);
    put("Installed-Size", installed_size_kib.to_string());
    let r = &pkg.relations;
    put("Pre-Depends", relation_list(&pkg.name, "deb_pre_depends", &r.deb_pre_depends)?);
    let depends: Vec<_> = r.depends.iter().chain(&r.deb_depends).cloned().collect();
    put("Depends", relation_list(&pkg.name, "depends", &depends)?);
    put("Conflicts", relation_list(&pkg.name, "conflicts", &r.conflicts)?);
    put("Replaces", relation_list(&pkg.name, "deb_replaces", &r.deb_replaces)?);
    put("Provides", relation_list(&pkg.name, "provides", &r.provides)?);
    put("Section", field("section", &pkg.section)?);
    put("Priority", "optional".to_string());
    put("Homepage", field("homepage", &pkg.homepage)?);
    put("Description", description(pkg)?);
    Ok(c)
}

/// `name (op version), …` with Debian's operators.
fn relation_list(pkg: &str, field: &str, relations: &[Relation]) -> anyhow::Result<String> {
    let mut out = Vec::with_capacity(relations.len());
    for r in relations {
        out.push(match &r.constraint {
            None => r.name.to_string(),
            Some((op, v)) => {
                let v = v.deb();
                single_line(pkg, field, &v)?;
                format!("{} ({} {})", r.name, op.deb(), v)
            }
        });
    }
    Ok(out.join(", "))
}

/// The summary, then the extended description folded the Debian way: every line indented by
/// one space, an empty line written ` .`.
fn description(pkg: &Package) -> anyhow::Result<String> {
    single_line(&pkg.name, "summary", &pkg.summary)?;
    let mut d = pkg.summary.trim().to_string();
    let body = pkg.description.trim_matches('\n');
    for line in body.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            d.push_str("\n .");
        } else if line.trim() == "." {
            // A line of just "." would read as a paragraph break.
            d.push_str("\n ..");
        } else {
            d.push_str("\n ");
            d.push_str(line);
        }
    }
    Ok(d)
}

fn single_line(pkg: &str, field: &str, value: &str) -> anyhow::Result<()> {
    if value.contains(['\n', '\r']) {
        bail!(
            "package `{pkg}`: `{field}` spans several lines (`{}`); a Debian control field needs it on one line",
            value.escape_debug()
        );
    }
    Ok(())
}

/// Installed-Size as dpkg-gencontrol computes it: each regular file counts its size rounded up
/// to whole KiB, and every other object (each directory, the root included) counts 1 KiB.
pub(super) fn installed_size_kib(file_sizes: impl IntoIterator<Item = u64>, directories: usize) -> u64 {
    file_sizes.into_iter().map(|s| s.div_ceil(1024)).sum::<u64>() + directories as u64
}

/// `md5sums`: one `<hex>  <path without leading />` line per file, sorted by path.
pub(super) fn md5sums<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::new();
    for (path, hex) in entries {
        let _ = writeln!(s, "{hex}  {}", path.trim_start_matches('/'));
    }
    s
}

/// Checks a maintainer script or control file before it goes in the package.
pub(super) fn check_script(pkg: &str, name: &str, text: &str) -> anyhow::Result<()> {
    if !text.starts_with("#!") {
        bail!(
            "package `{pkg}`: the Debian {name} script does not start with `#!` (dpkg runs it directly): start it with `#!/bin/sh`"
        );
    }
    if text.contains('\r') {
        bail!(
            "package `{pkg}`: the Debian {name} script has CR (Windows) line endings, which /bin/sh reads as part of each command: save its template with LF line endings"
        );
    }
    Ok(())
}
