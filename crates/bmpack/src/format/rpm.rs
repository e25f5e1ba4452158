//! The `.rpm` writer, on the `rpm` crate.
//!
//! What it writes, beyond the obvious tags:
//! * Every file is owned by root:root with its declared mode and `SOURCE_DATE_EPOCH` as mtime;
//!   the build time is that date too and the build host is the fixed `bmpack`, so two writes of
//!   one `Package` are byte-identical.
//! * `Package::copyright` becomes `/usr/share/doc/<package>/copyright` (`%doc`), as in the .deb.
//! * Directories are owned only when they are ours: a directory is ours when one of its path
//!   components is the package name (`/usr/share/doc/<package>`). `/usr/share/bm-core/extensions`
//!   and the like belong to the BlueMind packages and are only referenced, never owned, so that
//!   removing a plug-in never removes them nor fights over their mode. A systemd drop-in
//!   folder holding `<package>.conf` is owned too (shared with any other package that owns it).
//! * Scriptlets and transaction file triggers run with `/bin/sh`; each trigger watches one
//!   folder (`FileTrigger`), so rpm runs it once per transaction that touched that folder.
//! * No signature: repositories are signed afterwards with `rpmsign`, in the space the signature
//!   header reserves for it.

use std::collections::BTreeSet;
use std::io::Write;

use ::rpm::{BuildConfig, CompressionWithLevel, Dependency, FileMode, FileOptions, PackageBuilder, Scriptlet};
use anyhow::{Context, bail};

use super::{Compression, Format, Packager, WriteOptions};
use crate::model::{FileKind, FileSource, Op, Package, Relation, RpmScriptlet};

pub struct RpmPackager;

/// The interpreter of every scriptlet and trigger.
const SHELL: &str = "/bin/sh";

/// `rpm -qi`'s Build Host: a fixed name, so that the package does not depend on the machine.
const BUILD_HOST: &str = "bmpack";

impl Packager for RpmPackager {
    fn format(&self) -> Format {
        Format::Rpm
    }

    fn file_name(&self, pkg: &Package) -> String {
        format!("{}-{}.{}.rpm", pkg.name, pkg.version.rpm_evr(), pkg.arch.rpm())
    }

    fn write(&self, pkg: &Package, opts: &WriteOptions, out: &mut dyn Write) -> anyhow::Result<()> {
        let rpm = build(pkg, opts).with_context(|| format!("writing the .rpm of `{}`", pkg.name))?;
        rpm.write(&mut &mut *out).with_context(|| format!("writing the .rpm of `{}`", pkg.name))?;
        Ok(())
    }
}

/// The payload compression and level for `Compression`: each codec's own default level.
///
/// The payload is mostly jars, already deflated. Measured on a 50 MB sample jar: gzip -6 and -9
/// differ by 0.01%; zstd -3 is 0.2% smaller than gzip -6 in a ninth of the time; zstd -19 saves
/// 0.3% over zstd -3 for ~100 times the time; xz below -6 compresses jars worse than gzip.
/// `Default` is zstd -3: every rpm BlueMind runs on reads it (rpm 4.14 of RHEL 8 and later; the
/// crate declares `rpmlib(PayloadIsZstd)` so that an older rpm refuses it before unpacking).
/// `--compression gzip` is there for rpm 4.11 (RHEL 7).
fn compression(c: Compression) -> CompressionWithLevel {
    match c {
        Compression::Default | Compression::Zstd => CompressionWithLevel::Zstd(3),
        Compression::Gzip => CompressionWithLevel::Gzip(6),
        Compression::None => CompressionWithLevel::None,
        Compression::Xz => CompressionWithLevel::Xz(6),
    }
}

fn build(pkg: &Package, opts: &WriteOptions) -> anyhow::Result<::rpm::Package> {
    let source_date = u32::try_from(opts.source_date_epoch).map_err(|_| {
        anyhow::anyhow!(
            "SOURCE_DATE_EPOCH {} is past what an RPM header can hold (2106-02-07): \
             set SOURCE_DATE_EPOCH to a real date",
            opts.source_date_epoch
        )
    })?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if opts.source_date_epoch > now {
        // The crate would stamp such a package with the current time: not reproducible.
        bail!(
            "SOURCE_DATE_EPOCH {} is in the future: the .rpm build time would fall back to the \
             clock and two builds would differ; set SOURCE_DATE_EPOCH to a past date (e.g. the \
             last commit's: `git log -1 --format=%ct`)",
            opts.source_date_epoch
        );
    }
    let compression = compression(opts.compression);
    let config = BuildConfig::v4().source_date(source_date).compression(compression);

    let mut b = PackageBuilder::new(&pkg.name, &pkg.version.rpm_version(), &pkg.license, pkg.arch.rpm(), &pkg.summary);
    b.using_config(config)
        .release(pkg.version.rpm_release())
        .description(description(&pkg.description))
        .url(&pkg.homepage)
        .vendor(&pkg.vendor)
        .packager(&pkg.maintainer)
        .group(&pkg.rpm_group)
        .build_host(BUILD_HOST);

    add_relations(&mut b, pkg);
    if matches!(compression, CompressionWithLevel::Xz(_)) {
        // What rpmbuild declares for an xz payload, so that an rpm that cannot read it says so
        // before unpacking instead of failing half-way.
        b.requires(Dependency::rpmlib("PayloadIsXz", "5.2-1"));
    }
    add_files(&mut b, pkg, source_date)?;
    add_scripts(&mut b, pkg);
    add_changelog(&mut b, pkg, source_date);

    Ok(b.build()?)
}

/// One changelog entry for the build, so that `rpm -q --changelog` says which bundle version
/// a package carries (and rpmlint has the changelog it requires).
fn add_changelog(b: &mut PackageBuilder, pkg: &Package, source_date: u32) {
    b.add_changelog_entry(
        format!("{} - {}", pkg.maintainer, pkg.version.rpm_evr()),
        format!("- Packaged by bmpack from the bundles of version {}", pkg.version),
        source_date,
    );
}

/// The description as `rpm -qi` shows it: the paragraphs as written, lines over 79 columns
/// refilled (rpmlint's `description-line-too-long`).
fn description(text: &str) -> String {
    const WIDTH: usize = 79;
    let mut paragraphs = Vec::new();
    for paragraph in text.trim().split("\n\n") {
        let lines: Vec<&str> = paragraph.lines().map(str::trim_end).collect();
        if lines.iter().all(|l| l.chars().count() <= WIDTH) {
            paragraphs.push(lines.join("\n"));
            continue;
        }
        let mut filled = String::new();
        let mut column = 0;
        for word in paragraph.split_whitespace() {
            let len = word.chars().count();
            if column > 0 && column + 1 + len > WIDTH {
                filled.push('\n');
                column = 0;
            } else if column > 0 {
                filled.push(' ');
                column += 1;
            }
            filled.push_str(word);
            column += len;
        }
        paragraphs.push(filled);
    }
    paragraphs.retain(|p| !p.trim().is_empty());
    paragraphs.join("\n\n")
}

fn dependency(r: &Relation) -> Dependency {
    match &r.constraint {
        None => Dependency::any(r.name.as_str()),
        Some((op, version)) => {
            let v = version.rpm();
            match op {
                Op::Lt => Dependency::less(r.name.as_str(), v),
                Op::Le => Dependency::less_eq(r.name.as_str(), v),
                Op::Eq => Dependency::eq(r.name.as_str(), v),
                Op::Ge => Dependency::greater_eq(r.name.as_str(), v),
                Op::Gt => Dependency::greater(r.name.as_str(), v),
            }
        }
    }
}

/// Requires, Provides, Conflicts, Obsoletes. The crate adds `name = version-release` to the
/// Provides itself (as rpmbuild does), and the `rpmlib(...)` and `/bin/sh` requirements.
fn add_relations(b: &mut PackageBuilder, pkg: &Package) {
    let r = &pkg.relations;
    // `deb_replaces` and `deb_pre_depends` are Debian's alone (the model says so by name).
    for d in &r.depends {
        b.requires(dependency(d));
    }
    for d in &r.provides {
        b.provides(dependency(d));
    }
    for d in &r.conflicts {
        b.conflicts(dependency(d));
    }
    for d in &r.rpm_obsoletes {
        b.obsoletes(dependency(d));
    }
}

fn add_files(b: &mut PackageBuilder, pkg: &Package, source_date: u32) -> anyhow::Result<()> {
    let mut ours = BTreeSet::new();
    for f in &pkg.files {
        let permissions = u16::try_from(f.mode.bits()).expect("a FileMode is at most 0o7777");
        let mut options = FileOptions::new(f.dest.as_str())
            .mode(FileMode::regular(permissions))
            .user("root")
            .group("root")
            .modified_at(source_date.into());
        options = match f.kind {
            FileKind::Regular => options,
            FileKind::Doc => options.doc(),
            FileKind::Config => options.config().noreplace(),
        };
        let added = match &f.source {
            FileSource::Path(path) => b
                .with_file(path, options)
                .with_context(|| format!("package `{}`: adding {} as `{}`", pkg.name, path.display(), f.dest)),
            FileSource::Bytes(bytes) => b
                .with_file_contents(bytes.to_vec(), options)
                .with_context(|| format!("package `{}`: adding `{}`", pkg.name, f.dest)),
        };
        added?;
        ours.extend(our_directories(&pkg.name, &f.dest));
    }
    // The copyright file, where Debian has it, so that an administrator finds it in the same
    // place on both (the catalog may also list it as a file: then that one is used).
    let copyright = format!("/usr/share/doc/{}/copyright", pkg.name);
    if !pkg.copyright.trim().is_empty() && !pkg.files.iter().any(|f| f.dest == copyright) {
        let options = FileOptions::new(&copyright)
            .mode(FileMode::regular(0o644))
            .user("root")
            .group("root")
            .modified_at(source_date.into())
            .doc();
        b.with_file_contents(pkg.copyright.as_bytes().to_vec(), options)
            .with_context(|| format!("package `{}`: adding `{copyright}`", pkg.name))?;
        ours.extend(our_directories(&pkg.name, &copyright));
    }
    for dir in ours {
        b.with_dir_entry(
            FileOptions::dir(&dir).permissions(0o755).user("root").group("root").modified_at(source_date.into()),
        )
        .with_context(|| format!("package `{}`: adding the directory `{dir}`", pkg.name))?;
    }
    Ok(())
}

/// The parent directories of `dest` that this package owns: those at or below a path
/// component named after the package (`/usr/share/doc/bm-nextcloud12`), and the `.d` folder
/// of a drop-in named after it (`/usr/lib/systemd/system/bm-core.service.d/<package>.conf`),
/// which rpm removes once no package that owns it is left. The others belong to the system or
/// to BlueMind's own packages.
fn our_directories(name: &str, dest: &str) -> Vec<String> {
    let components: Vec<&str> = dest.split('/').filter(|c| !c.is_empty()).collect();
    if let [parents @ .., dir, file] = components.as_slice()
        && dir.ends_with(".d")
        && file.strip_suffix(".conf") == Some(name)
        && !parents.contains(&name)
    {
        return vec![format!("/{}/{dir}", parents.join("/"))];
    }
    let Some(first) = components.iter().position(|c| *c == name) else {
        return Vec::new();
    };
    // Up to, not including, the file itself.
    (first..components.len() - 1).map(|last| format!("/{}", components[..=last].join("/"))).collect()
}

fn scriptlet(body: &str) -> Scriptlet {
    Scriptlet::new(body).prog(vec![SHELL])
}

fn add_scripts(b: &mut PackageBuilder, pkg: &Package) {
    let s = &pkg.scripts.rpm;
    for (slot, body) in &s.scriptlets {
        let scriptlet = scriptlet(body);
        match slot {
            RpmScriptlet::Pre => b.pre_install_script(scriptlet),
            RpmScriptlet::Post => b.post_install_script(scriptlet),
            RpmScriptlet::Preun => b.pre_uninstall_script(scriptlet),
            RpmScriptlet::Postun => b.post_uninstall_script(scriptlet),
            RpmScriptlet::Pretrans => b.pre_trans_script(scriptlet),
            RpmScriptlet::Posttrans => b.post_trans_script(scriptlet),
        };
    }
    for t in &s.trans_file_trigger_in {
        b.trans_file_trigger_in(&t.path, None, scriptlet(&t.script));
    }
    for t in &s.trans_file_trigger_postun {
        b.trans_file_trigger_postun(&t.path, None, scriptlet(&t.script));
    }
    if !(s.trans_file_trigger_in.is_empty() && s.trans_file_trigger_postun.is_empty()) {
        // What rpmbuild requires for trigger scripts (they run with /bin/sh).
        b.requires(Dependency::interp(SHELL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_only_the_directories_named_after_the_package() {
        assert_eq!(our_directories("bm-x", "/usr/share/doc/bm-x/copyright"), vec!["/usr/share/doc/bm-x".to_string()]);
        assert_eq!(
            our_directories("bm-x", "/usr/lib/bm-x/a/b.jar"),
            vec!["/usr/lib/bm-x".to_string(), "/usr/lib/bm-x/a".to_string()]
        );
        assert!(our_directories("bm-x", "/usr/share/bm-core/extensions/bm-x.jar").is_empty());
        assert_eq!(
            our_directories("bm-x", "/usr/lib/systemd/system/bm-core.service.d/bm-x.conf"),
            ["/usr/lib/systemd/system/bm-core.service.d"]
        );
        assert!(our_directories("bm-x", "/usr/share/doc/bm-xy/copyright").is_empty());
    }

    #[test]
    fn description_keeps_paragraphs_and_refills_long_lines() {
        let long = "word ".repeat(30);
        let text = format!("First line\nsecond line.\n\n{long}\n");
        let d = description(&text);
        let paragraphs: Vec<&str> = d.split("\n\n").collect();
        assert_eq!(paragraphs[0], "First line\nsecond line.");
        assert_eq!(paragraphs.len(), 2);
        assert!(d.lines().all(|l| l.len() <= 79), "{d}");
        assert_eq!(paragraphs[1].split_whitespace().count(), 30);
    }
}
