//! The files Debian policy asks of every binary package, which the package model does not
//! carry as files because they are Debian conventions: the copyright file, the Debian
//! changelog and the lintian overrides (`Package::deb_lintian_overrides`).

use std::sync::Arc;

use crate::model::{FileKind, FileMode, FileSource, InstallPath, Package, PayloadFile};

use super::compress::gzip_best;

/// The files to add to `pkg`'s payload: copyright, changelog.Debian.gz and the lintian
/// overrides.
pub(super) fn policy_files(pkg: &Package, source_date_epoch: u64) -> std::io::Result<Vec<PayloadFile>> {
    let path = |p: String| InstallPath::new(p).expect("a package name is a path component");
    let doc = format!("/usr/share/doc/{}", pkg.name);
    let file = |dest: String, content: Vec<u8>, kind: FileKind| PayloadFile {
        dest: path(dest),
        source: FileSource::Bytes(Arc::from(content)),
        mode: FileMode::READABLE,
        kind,
    };
    let mut files = vec![
        file(format!("{doc}/copyright"), pkg.copyright.clone().into_bytes(), FileKind::Doc),
        file(
            format!("{doc}/changelog.Debian.gz"),
            gzip_best(changelog(pkg, source_date_epoch).as_bytes())?,
            FileKind::Doc,
        ),
    ];
    if let Some(overrides) = &pkg.deb_lintian_overrides {
        let dest = format!("/usr/share/lintian/overrides/{}", pkg.name);
        files.push(file(dest, overrides.clone().into_bytes(), FileKind::Regular));
    }
    Ok(files)
}

/// A one-entry Debian changelog for this version, dated `source_date_epoch`.
fn changelog(pkg: &Package, source_date_epoch: u64) -> String {
    format!(
        "{name} ({version}) unstable; urgency=medium\n\
         \n  * Package of BlueMind {upstream}, built by bmpack.\n\
         \n -- {maintainer}  {date}\n",
        name = pkg.name,
        version = pkg.version.deb(),
        upstream = pkg.version,
        maintainer = pkg.maintainer,
        date = crate::dates::rfc2822(source_date_epoch),
    )
}
