//! Calendar dates from seconds since 1970 (UTC), the few ways bmpack writes them: in a Debian
//! changelog, in packaging/fixed-versions.toml, in a backup folder's name. No time zone, no
//! clock: the caller gives the seconds.

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// (year, month, day, hour, minute, second).
fn fields(epoch: u64) -> (i64, u32, u32, u64, u64, u64) {
    let (y, m, d) = civil_from_days((epoch / 86_400) as i64);
    let secs = epoch % 86_400;
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// `2026-12-01`.
pub fn iso_date(epoch: u64) -> String {
    let (y, m, d, ..) = fields(epoch);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `20261201T054500Z`: sorts as it reads, fits in a file name.
pub fn compact_utc(epoch: u64) -> String {
    let (y, m, d, h, min, s) = fields(epoch);
    format!("{y:04}{m:02}{d:02}T{h:02}{min:02}{s:02}Z")
}

/// `Thu, 01 Jan 1970 00:00:00 +0000`, as `date -R -u` writes it (Debian changelogs).
pub fn rfc2822(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, m, d, h, min, s) = fields(epoch);
    let weekday = DAYS[((epoch / 86_400) % 7) as usize];
    format!("{weekday}, {d:02} {} {y} {h:02}:{min:02}:{s:02} +0000", MONTHS[(m - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_date_writes_them() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2024-02-29 12:34:56 UTC, a leap day (`date -R -u -d @1709210096`).
        assert_eq!(rfc2822(1_709_210_096), "Thu, 29 Feb 2024 12:34:56 +0000");
        assert_eq!(rfc2822(1_795_430_918), "Mon, 23 Nov 2026 10:48:38 +0000");
        assert_eq!(iso_date(1_709_210_096), "2024-02-29");
        assert_eq!(compact_utc(1_709_210_096), "20240229T123456Z");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
