//! Debian and RPM order our version strings the same way, and the way a release engineer means:
//! checked with the real `dpkg --compare-versions` and rpm's own `rpm.vercmp`.

use bmpack::version::PackageVersion;
use bmpack_tests::tools::{require_tool, run_ok};

/// Each row is strictly older than the next one.
const ASCENDING: &[(&str, u32)] = &[
    ("4.1.9", 1),
    ("4.2.0-SNAPSHOT", 1),
    ("4.2.0.SNAPSHOT", 2),
    ("4.2.0", 1),
    ("4.2.0", 2),
    ("4.2.0", 10),
    ("4.2.0.v20200101", 1),
    ("4.2.0.v20200101-1200", 1),
    ("4.2.0.v20200102", 1),
    ("4.2.0.v20210101", 1),
    ("4.2.1-SNAPSHOT", 1),
    ("4.2.1", 1),
    ("4.2.10", 1),
    ("4.5.3", 1),
    ("4.10.0", 1),
    ("5.0.0", 1),
    // An OSGi qualifier is newer than the bare version, its snapshot in between.
    ("5.0.0.rc1-SNAPSHOT", 1),
    ("5.0.0.rc1", 1),
];

fn versions() -> Vec<PackageVersion> {
    ASCENDING.iter().map(|(v, r)| PackageVersion::parse(v, *r).unwrap()).collect()
}

#[test]
fn dpkg_orders_debian_versions_as_declared() {
    require_tool("dpkg", "dpkg");
    let vs = versions();
    for pair in vs.windows(2) {
        let (a, b) = (pair[0].deb(), pair[1].deb());
        run_ok("dpkg", &["--compare-versions", &a, "lt", &b]);
        run_ok("dpkg", &["--compare-versions", &b, "gt", &a]);
    }
}

#[test]
fn rpm_orders_rpm_versions_as_declared() {
    require_tool("rpm", "rpm");
    let vs = versions();
    // One rpm process for the whole table: rpm.vercmp over every adjacent pair, as rpm itself
    // compares Version-Release.
    let pairs: Vec<String> =
        vs.windows(2).map(|p| format!("print(rpm.vercmp('{}', '{}'))", p[0].rpm_evr(), p[1].rpm_evr())).collect();
    let lua = format!("%{{lua: {} }}", pairs.join(" print(' ') "));
    let out = run_ok("rpm", &["--eval", &lua]);
    let results: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(results.len(), pairs.len(), "rpm printed {out:?}");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(*r, "-1", "rpm orders {} before {}? it says {r}", vs[i].rpm_evr(), vs[i + 1].rpm_evr());
    }
}

#[test]
fn both_tools_agree_on_every_pair_not_just_neighbours() {
    require_tool("dpkg", "dpkg");
    require_tool("rpm", "rpm");
    let vs = versions();
    let (first, last) = (&vs[0], vs.last().unwrap());
    run_ok("dpkg", &["--compare-versions", &first.deb(), "lt", &last.deb()]);
    let out = run_ok(
        "rpm",
        &["--eval", &format!("%{{lua: print(rpm.vercmp('{}', '{}'))}}", last.rpm_evr(), first.rpm_evr())],
    );
    assert_eq!(out.trim(), "1");
}

/// Pairs that exercise every rule of both comparisons: epochs, `~`, `^`, letters against
/// digits, leading zeros, missing revisions.
const TRICKY: &[(&str, &str)] = &[
    ("1.0-1", "1.0-1"),
    ("1.0-1", "1.0-2"),
    ("1.0~rc1-1", "1.0-1"),
    ("1.0~rc1-1", "1.0~rc2-1"),
    ("1.0~~-1", "1.0~-1"),
    ("1.0+v1-1", "1.0-1"),
    ("1.0a-1", "1.0-1"),
    ("1.0a-1", "1.0.1-1"),
    ("1.10-1", "1.9-1"),
    ("1.001-1", "1.1-1"),
    ("2:0.1-1", "1:9.9-1"),
    ("1:2.0-1", "2.0-1"),
    ("4.8.2+v20240101.1200-1", "4.8.2-1"),
    ("4.8.2~snapshot-1", "4.8.2-1"),
    ("1.0-1.1", "1.0-1"),
    ("1.0.0-1", "1.0-1"),
];

#[test]
fn bmpacks_own_version_comparison_agrees_with_dpkg() {
    use bmpack::repo::pool::{Kind, compare_versions};
    use std::cmp::Ordering;
    require_tool("dpkg", "dpkg");
    for (a, b) in TRICKY {
        let dpkg = |op: &str| {
            std::process::Command::new("dpkg").args(["--compare-versions", a, op, b]).status().unwrap().success()
        };
        let expected = if dpkg("lt") {
            Ordering::Less
        } else if dpkg("eq") {
            Ordering::Equal
        } else {
            Ordering::Greater
        };
        assert_eq!(compare_versions(Kind::Deb, a, b), expected, "{a} vs {b}");
    }
}

#[test]
fn bmpacks_own_version_comparison_agrees_with_rpm() {
    use bmpack::repo::pool::{Kind, compare_versions};
    use std::cmp::Ordering;
    require_tool("rpm", "rpm");
    // rpm's own `rpm.vercmp` over epoch:version-release, with `^` too; one process.
    let rpm_form = |v: &str| if v.contains(':') { v.to_string() } else { format!("0:{v}") };
    let mut pairs: Vec<(String, String)> = TRICKY.iter().map(|(a, b)| (rpm_form(a), rpm_form(b))).collect();
    pairs.extend(
        [("0:1.0^post1-1", "0:1.0-1"), ("0:1.0^post1-1", "0:1.0.1-1"), ("0:1.0~rc1^git1-1", "0:1.0~rc1-1")]
            .map(|(a, b)| (a.to_string(), b.to_string())),
    );
    let lua =
        pairs.iter().map(|(a, b)| format!("print(rpm.vercmp('{a}', '{b}'))")).collect::<Vec<_>>().join(" print(' ') ");
    let out = run_ok("rpm", &["--eval", &format!("%{{lua: {lua} }}")]);
    let results: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(results.len(), pairs.len(), "rpm printed {out:?}");
    for ((a, b), r) in pairs.iter().zip(results) {
        let expected = match r {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            _ => Ordering::Greater,
        };
        assert_eq!(compare_versions(Kind::Rpm, a, b), expected, "{a} vs {b}");
    }
}
