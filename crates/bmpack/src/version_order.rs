//! How dpkg and rpm order package versions, in Rust: `--prune` keeps the newest, `doctor` and
//! `select` check an installed BlueMind against a plug-in's range, without a process per
//! comparison. `tests/version_order.rs` holds them to `dpkg --compare-versions` and rpm's own
//! `rpm.vercmp` over a generated table.

use std::cmp::Ordering;

use crate::package_format::Format;

/// A relation's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    /// `<<`, `<=`, `=`, `>=`, `>>`
    pub fn deb(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
    /// `<`, `<=`, `=`, `>=`, `>`
    pub fn rpm(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    /// Whether `order` (a version compared with the relation's) satisfies this operator.
    pub fn holds(self, order: Ordering) -> bool {
        match self {
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
            Op::Eq => order == Ordering::Equal,
            Op::Ge => order != Ordering::Less,
            Op::Gt => order == Ordering::Greater,
        }
    }
}

/// Whether the installed Debian version `installed` satisfies `op version` (`>= 4.5.3`,
/// `< 5~`). rpm orders the versions BlueMind and bmpack use (`4.9.0`, `4.9.0-1`, `5~`) the
/// same way.
pub fn satisfies(installed: &str, op: Op, version: &str) -> bool {
    op.holds(compare_versions(Format::Deb, installed.trim(), version.trim()))
}

/// `epoch:rest` → (epoch, rest); no epoch is 0.
pub(crate) fn split_epoch(version: &str) -> (u64, &str) {
    match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, version),
    }
}

/// Compares two versions as the format's own tool does (`dpkg --compare-versions`, rpm's
/// `rpmvercmp` on epoch, version and release); `tests/version_order.rs` checks it against both.
pub fn compare_versions(format: Format, a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a);
    let (eb, rb) = split_epoch(b);
    // Upstream version and revision (Debian) or release (rpm): split at the last `-`.
    let split = |v: &str| -> (String, String) {
        match v.rsplit_once('-') {
            Some((u, r)) => (u.to_string(), r.to_string()),
            None => (v.to_string(), String::new()),
        }
    };
    let ((ua, va), (ub, vb)) = (split(ra), split(rb));
    let part = match format {
        Format::Deb => dpkg_verrevcmp,
        Format::Rpm => rpmvercmp,
    };
    ea.cmp(&eb).then_with(|| part(&ua, &ub)).then_with(|| part(&va, &vb))
}

/// dpkg's `verrevcmp` (lib/dpkg/version.c): non-digit runs compared by [`dpkg_order`], digit
/// runs as numbers.
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ac, bc) = (dpkg_order(a.get(i).copied()), dpkg_order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// dpkg's character order: `~` before the end, the end before letters, letters before the rest.
fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// rpm's `rpmvercmp` (rpmio/rpmvercmp.c, rpm 4.10 and later: `~` sorts before the end, `^`
/// after it and before anything else).
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = first.is_ascii_digit();
        let run = |s: &[u8], mut k: usize| {
            while k < s.len() && (if numeric { s[k].is_ascii_digit() } else { s[k].is_ascii_alphabetic() }) {
                k += 1;
            }
            k
        };
        let (ei, ej) = (run(a, i), run(b, j));
        if ej == j {
            // The segments are of different kinds: a number is newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut sa, mut sb) = (&a[i..ei], &b[j..ej]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                longer => return longer,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = ei;
        j = ej;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_versions_compare_as_dpkg_does() {
        use std::cmp::Ordering::*;
        for (a, b, expected) in [
            ("4.9.0-1", "5~", Less),
            ("5.0.0-1", "5~", Greater),
            ("5~beta1", "5~", Greater),
            ("4.5.3", "4.5.3-1", Less),
            ("4.5.10-1", "4.5.9-1", Greater),
            ("1:4.0", "5.0", Greater),
            ("4.8.2~snapshot-1", "4.8.2-1", Less),
            ("4.8.2+v2024-1", "4.8.2-1", Greater),
            ("4.2", "4.2.0", Less),
            ("4.9.0", "4.9.0", Equal),
        ] {
            assert_eq!(compare_versions(Format::Deb, a, b), expected, "{a} vs {b}");
        }
        assert!(satisfies("4.9.0-1", Op::Lt, "5~"));
        assert!(!satisfies("5.1.0-1", Op::Lt, "5~"));
        assert!(satisfies("4.5.3-1", Op::Ge, "4.5.3"));
    }

    #[test]
    fn versions_order_as_dpkg_and_rpm_order_them() {
        use Ordering::*;
        for (a, b, deb) in [
            ("1.0-1", "1.0-1", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0+v1-1", "1.0-1", Greater),
            ("1:0.9-1", "2.0-1", Greater),
            ("1.10-1", "1.9-1", Greater),
            ("1.0a-1", "1.0-1", Greater),
            ("1.001-1", "1.1-1", Equal),
        ] {
            assert_eq!(compare_versions(Format::Deb, a, b), deb, "dpkg: {a} vs {b}");
        }
        for (a, b, rpm) in [
            ("0:1.0-1", "0:1.0-1", Equal),
            ("0:1.0~rc1-1", "0:1.0-1", Less),
            ("0:1.0^post-1", "0:1.0-1", Greater),
            ("0:1.0^post-1", "0:1.0.1-1", Less),
            ("1:0.9-1", "0:2.0-1", Greater),
            ("0:1.0a-1", "0:1.0.1-1", Less),
            ("0:2.0-10", "0:2.0-9", Greater),
        ] {
            assert_eq!(compare_versions(Format::Rpm, a, b), rpm, "rpm: {a} vs {b}");
        }
    }
}
