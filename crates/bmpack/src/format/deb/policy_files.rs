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
        date = rfc2822(source_date_epoch),
    )
}

/// `Thu, 01 Jan 1970 00:00:00 +0000`, as `date -R -u` writes it.
fn rfc2822(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::rfc2822;

    #[test]
    fn dates_read_as_date_r_writes_them() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2024-02-29 12:34:56 UTC, a leap day (`date -R -u -d @1709210096`).
        assert_eq!(rfc2822(1_709_210_096), "Thu, 29 Feb 2024 12:34:56 +0000");
        assert_eq!(rfc2822(1_795_430_918), "Mon, 23 Nov 2026 10:48:38 +0000");
    }
}
