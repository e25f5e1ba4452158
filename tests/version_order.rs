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
    let pairs: Vec<String> = vs
        .windows(2)
        .map(|p| format!("print(rpm.vercmp('{}', '{}'))", p[0].rpm_evr(), p[1].rpm_evr()))
        .collect();
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
    let out = run_ok("rpm", &["--eval", &format!("%{{lua: print(rpm.vercmp('{}', '{}'))}}", last.rpm_evr(), first.rpm_evr())]);
    assert_eq!(out.trim(), "1");
}
