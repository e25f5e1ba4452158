//! The `.deb` writer.
//!
//! A `.deb` is an `ar` archive of three members, in this order (deb(5)):
//! `debian-binary` (`2.0\n`), `control.tar.<ext>` (control, md5sums, conffiles, triggers,
//! maintainer scripts) and `data.tar.<ext>` (the files, under `./`). Both tars are written the
//! way dpkg-deb writes them (see `tarball.rs`), with every timestamp set to
//! `SOURCE_DATE_EPOCH`, so that two writes of one package are byte-identical.
//!
//! Besides the model's files, the payload gets what Debian policy asks of every package
//! (`policy_files.rs`): `/usr/share/doc/<package>/copyright`, `changelog.Debian.gz`, and the
//! package's lintian overrides.
//!
//! Names, paths and modes come checked from the model (`model/values.rs`); what is checked
//! here is what only the whole payload shows: a path installed twice, a file under a file.

mod compress;
mod control;
mod parallel_gzip;
mod policy_files;
mod tarball;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{Context, bail};
use md5::{Digest, Md5};

use super::{Format, Packager, WriteOptions};
use crate::model::{FileKind, FileSource, Package, PayloadFile};
use compress::DebCompression;
use tarball::TarWriter;

pub struct DebPackager;

impl Packager for DebPackager {
    fn format(&self) -> Format {
        Format::Deb
    }

    fn file_name(&self, pkg: &Package) -> String {
        format!("{}_{}_{}.deb", pkg.name, pkg.version.deb(), pkg.arch.deb())
    }

    fn write(&self, pkg: &Package, opts: &WriteOptions, out: &mut dyn Write) -> anyhow::Result<()> {
        let compression = DebCompression::resolve(opts.compression);
        let mtime = opts.source_date_epoch;

        let mut files: Vec<PayloadFile> = pkg.files.clone();
        files.extend(policy_files::policy_files(pkg, mtime).context("compressing the Debian changelog")?);
        let tree = PayloadTree::new(&pkg.name, &files)?;

        let data = write_data_tar(pkg, &tree, compression, mtime)?;
        let control_tar = write_control_tar(pkg, &tree, &data, compression, mtime)?;

        let ext = compression.extension();
        let mut ar = ar::Builder::new(out);
        let members: [(String, &[u8]); 3] = [
            ("debian-binary".to_string(), b"2.0\n"),
            (format!("control.tar{ext}"), &control_tar),
            (format!("data.tar{ext}"), &data.bytes),
        ];
        for (name, bytes) in members {
            let mut h = ar::Header::new(name.clone().into_bytes(), bytes.len() as u64);
            h.set_mtime(mtime);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mode(0o100644);
            ar.append(&h, bytes).with_context(|| format!("writing the `{name}` member of {}", self.file_name(pkg)))?;
        }
        Ok(())
    }
}

/// The payload as dpkg will see it: every file once, every parent directory, checked.
struct PayloadTree<'a> {
    /// Absolute destination → file, sorted.
    files: BTreeMap<&'a str, &'a PayloadFile>,
    /// Every directory that holds a file, from `/` down, with a trailing `/` (`/usr/`).
    directories: BTreeSet<String>,
}

impl<'a> PayloadTree<'a> {
    fn new(pkg: &str, files: &'a [PayloadFile]) -> anyhow::Result<Self> {
        let mut by_dest = BTreeMap::new();
        let mut directories = BTreeSet::from(["/".to_string()]);
        for f in files {
            if by_dest.insert(f.dest.as_str(), f).is_some() {
                bail!(
                    "package `{pkg}`: `{}` is installed twice (the .deb writer adds the copyright file, changelog.Debian.gz and the lintian overrides itself): keep one",
                    f.dest
                );
            }
            let mut end = 0;
            while let Some(i) = f.dest[end + 1..].find('/') {
                end += 1 + i;
                directories.insert(format!("{}/", &f.dest[..end]));
            }
        }
        for d in &directories {
            if let Some(f) = by_dest.get(d.trim_end_matches('/')) {
                bail!("package `{pkg}`: `{}` is a file, but other files are installed under it", f.dest);
            }
        }
        Ok(PayloadTree { files: by_dest, directories })
    }
}

struct DataTar {
    bytes: Vec<u8>,
    file_sizes: Vec<u64>,
    /// `(destination, md5 hex)` of every file that is not a conffile, sorted.
    md5sums: Vec<(String, String)>,
}

fn write_data_tar(
    pkg: &Package,
    tree: &PayloadTree,
    compression: DebCompression,
    mtime: u64,
) -> anyhow::Result<DataTar> {
    // Directories and files in one sorted walk: a directory's name is a prefix of its
    // contents', so it always comes first.
    enum Entry<'a> {
        Dir,
        File(&'a PayloadFile),
    }
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for d in &tree.directories {
        entries.insert(format!(".{d}"), Entry::Dir);
    }
    for (dest, f) in &tree.files {
        entries.insert(format!(".{dest}"), Entry::File(f));
    }

    let write_err = || format!("package `{}`: compressing data.tar", pkg.name);
    let mut tar = TarWriter::new(compression.encoder(Vec::new()).with_context(write_err)?, mtime);
    let mut file_sizes = Vec::with_capacity(tree.files.len());
    let mut md5sums = Vec::with_capacity(tree.files.len());
    for (name, entry) in &entries {
        match entry {
            Entry::Dir => tar.directory(name).with_context(write_err)?,
            Entry::File(f) => {
                let content = f.source.read().with_context(|| match &f.source {
                    FileSource::Path(p) => {
                        format!("package `{}`: reading `{}`, the content of `{}`", pkg.name, p.display(), f.dest)
                    }
                    FileSource::Bytes(_) => {
                        format!("package `{}`: reading the content of `{}`", pkg.name, f.dest)
                    }
                })?;
                tar.file(name, f.mode.bits(), &content).with_context(write_err)?;
                file_sizes.push(content.len() as u64);
                if f.kind != FileKind::Config {
                    md5sums.push((f.dest.to_string(), hex::encode(Md5::digest(&content))));
                }
            }
        }
    }
    let bytes = tar.finish().and_then(|e| e.finish()).with_context(write_err)?;
    Ok(DataTar { bytes, file_sizes, md5sums })
}

fn write_control_tar(
    pkg: &Package,
    tree: &PayloadTree,
    data: &DataTar,
    compression: DebCompression,
    mtime: u64,
) -> anyhow::Result<Vec<u8>> {
    // name → (mode, content); sorted by name as dpkg-deb writes them.
    let mut members: BTreeMap<&str, (u32, String)> = BTreeMap::new();
    let conffiles: String =
        tree.files.values().filter(|f| f.kind == FileKind::Config).map(|f| format!("{}\n", f.dest)).collect();
    if !conffiles.is_empty() {
        members.insert("conffiles", (0o644, conffiles));
    }
    let s = &pkg.scripts.deb;
    for (slot, text) in &s.scripts {
        control::check_script(&pkg.name, slot.name(), text)?;
        members.insert(slot.name(), (0o755, text.clone()));
    }
    if let Some(triggers) = &s.triggers {
        members.insert("triggers", (0o644, triggers.clone()));
    }

    // dpkg-gencontrol measures the package tree once the scripts, triggers and conffiles are in
    // DEBIAN/ and before control and md5sums are: count the same, DEBIAN/ itself included.
    let installed_size = control::installed_size_kib(
        data.file_sizes.iter().copied().chain(members.values().map(|(_, text)| text.len() as u64)),
        tree.directories.len() + 1,
    );
    members.insert("control", (0o644, control::control_file(pkg, installed_size)?));
    members.insert("md5sums", (0o644, control::md5sums(data.md5sums.iter().map(|(p, h)| (p.as_str(), h.as_str())))));

    let write_err = || format!("package `{}`: compressing control.tar", pkg.name);
    let mut tar = TarWriter::new(compression.encoder(Vec::new()).with_context(write_err)?, mtime);
    tar.directory("./").with_context(write_err)?;
    for (name, (mode, text)) in &members {
        tar.file(&format!("./{name}"), *mode, text.as_bytes()).with_context(write_err)?;
    }
    tar.finish().and_then(|e| e.finish()).with_context(write_err)
}
