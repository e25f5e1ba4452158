//! The package versions bmpack writes order as OSGi orders the versions they come from, in the real
//! `dpkg --compare-versions` and in rpm's own `rpm.vercmp`: every pair of a generated table of
//! versions and qualifiers, against an OSGi comparison written here from the specification (not
//! bmpack's code). The same pairs check bmpack's own dpkg and rpm orders in Rust.

use bmpack::version::PackageVersion;
use bmpack_tests::tools::{require_tool, run_ok};
use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

/// `org.osgi.framework.Version` (OSGi Core, section "Version"): `major[.minor[.micro[.qualifier]]]`,
/// a missing number is 0 and a missing qualifier is empty. Plus the Maven snapshot the README
/// documents: `-SNAPSHOT` at the end, or bnd's `.SNAPSHOT` as the whole qualifier, marks the
/// pre-release that comes right before the same version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Osgi {
    numbers: [u64; 3],
    qualifier: String,
    snapshot: bool,
}

fn osgi(text: &str) -> Osgi {
    let (text, mut snapshot) = match text.strip_suffix("-SNAPSHOT") {
        Some(text) => (text, true),
        None => (text, false),
    };
    let mut tokens = text.split('.');
    let mut numbers = [0; 3];
    for n in &mut numbers {
        if let Some(t) = tokens.next() {
            *n = t.parse().unwrap_or_else(|_| panic!("{text}: `{t}` is not a number"));
        }
    }
    let mut qualifier = tokens.next().unwrap_or("").to_string();
    assert!(tokens.next().is_none(), "{text}: more than 4 parts");
    if qualifier == "SNAPSHOT" && !snapshot {
        snapshot = true;
        qualifier.clear();
    }
    Osgi { numbers, qualifier, snapshot }
}

/// `Version.compareTo`: the numbers as numbers, then the qualifiers with `String.compareTo` (UTF-16
/// code units, a prefix first); then the snapshot before its release.
fn osgi_cmp(a: &Osgi, b: &Osgi) -> Ordering {
    a.numbers
        .cmp(&b.numbers)
        .then_with(|| a.qualifier.encode_utf16().cmp(b.qualifier.encode_utf16()))
        .then_with(|| b.snapshot.cmp(&a.snapshot))
}

/// Every character OSGi allows in a qualifier.
const ALPHABET: &str = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Issue 10's pairs, each of which dpkg or rpm ordered against OSGi, or mapped to one string.
const ISSUE_PAIRS: &[(&str, &str)] =
    &[("1", "a"), ("20240101", "v20240101"), ("a-1", "ab"), ("rc-1", "rc1"), ("a-1", "a_1")];

struct Row {
    input: String,
    revision: u32,
    osgi: Osgi,
    deb: String,
    rpm: String,
}

/// The table: issue 10's qualifiers, every character alone (so every token), every pair from the
/// first and last character of each class, digit runs (leading zeros, lengths, numbers against
/// words), separators, case, prefixes of each other, snapshots in both spellings, numbers, and
/// revisions. Inputs that OSGi calls equal (`4.8.02`, `4.8.2`) are there on purpose.
fn table() -> Vec<Row> {
    let mut inputs: Vec<(String, u32)> = Vec::new();
    let mut qualifier = |q: &str| inputs.push((format!("4.8.2.{q}"), 1));
    for (a, b) in ISSUE_PAIRS {
        qualifier(a);
        qualifier(b);
    }
    qualifier("v20240101-1200");
    for c in ALPHABET.chars() {
        qualifier(&c.to_string());
    }
    const ENDS: &str = "-09AZ_az";
    for a in ENDS.chars() {
        for b in ENDS.chars() {
            qualifier(&format!("{a}{b}"));
        }
    }
    for q in [
        "001",
        "010",
        "100",
        "2",
        "20",
        "v3",
        "v20",
        "rc",
        "rc10",
        "rc2",
        "RC1",
        "rC1",
        "rc_1",
        "rc-1-1",
        "rc-",
        "rc_",
        "a--b",
        "a-_",
        "aAb",
        "a00",
        "beta",
        "beta1",
        "v20240101-1200-1",
        "SNAPSHOT-1",
        "aSNAPSHOT",
        "Final",
    ] {
        qualifier(q);
    }
    for (input, revision) in [
        ("4.8.2", 1),
        ("4.8.2", 2),
        ("4.8.2", 10),
        ("4.8.02", 1),
        ("4.8.2.a", 2),
        ("4.8.2-SNAPSHOT", 1),
        ("4.8.2.SNAPSHOT", 1),
        ("4.8.2-SNAPSHOT", 2),
        ("4.8.2.rc1-SNAPSHOT", 1),
        ("4.8.2.rc1-SNAPSHOT", 2),
        ("4.8.2.rc-SNAPSHOT", 1),
        ("4.8.2.a-SNAPSHOT", 1),
        ("4.8.2.a_1-SNAPSHOT", 1),
        ("4.8.2.a-1-SNAPSHOT", 1),
        ("4.8.2.1-SNAPSHOT", 1),
        ("4.8.2.-_-SNAPSHOT", 1),
        ("4.8.2.zz-SNAPSHOT", 1),
        ("4.8", 1),
        ("4.8.0", 1),
        ("4.8.1", 1),
        ("4.8.1.z-SNAPSHOT", 1),
        ("4.8.10", 1),
        ("4.8.10.a", 1),
        ("4.9-SNAPSHOT", 1),
        ("4.10", 1),
        ("5", 1),
    ] {
        inputs.push((input.to_string(), revision));
    }
    let mut seen = std::collections::BTreeSet::new();
    inputs.retain(|i| seen.insert(i.clone()));
    inputs
        .into_iter()
        .map(|(input, revision)| {
            let version = PackageVersion::parse(&input, revision).unwrap_or_else(|e| panic!("{e}"));
            Row { osgi: osgi(&input), deb: version.deb(), rpm: version.rpm_evr(), input, revision }
        })
        .collect()
}

/// What the order of two rows must be: OSGi's, then the packaging revision.
fn expected(a: &Row, b: &Row) -> Ordering {
    osgi_cmp(&a.osgi, &b.osgi).then(a.revision.cmp(&b.revision))
}

/// Every pair of rows once, with its expected order.
fn pairs(rows: &[Row]) -> Vec<(&Row, &Row, Ordering)> {
    let mut out = Vec::new();
    for (i, a) in rows.iter().enumerate() {
        out.extend(rows[i + 1..].iter().map(|b| (a, b, expected(a, b))));
    }
    out
}

/// `dpkg --compare-versions a OP b` for every `(a, OP, b)`; returns those dpkg denies. One dpkg
/// per check (it compares one pair), but a shell loop per half of the list rather than a process
/// per check from here, the two halves in parallel. The loop counts what it checked, so that a
/// loop that stopped early fails rather than passes.
fn dpkg_denies(checks: &[(String, &'static str, String)]) -> Vec<String> {
    const LOOP: &str = r#"n=0
while read -r a op b; do
  n=$((n+1))
  dpkg --compare-versions "$a" "$op" "$b" || echo "$a $op $b"
done
echo "checked $n""#;
    let children: Vec<_> = checks
        .chunks(checks.len().div_ceil(2).max(1))
        .map(|chunk| {
            let mut child =
                Command::new("sh").args(["-c", LOOP]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sh");
            let input: String = chunk.iter().map(|(a, op, b)| format!("{a} {op} {b}\n")).collect();
            let mut stdin = child.stdin.take().unwrap();
            // Written from a thread: the child's output could fill its pipe while we write.
            let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
            (child, writer, chunk.len())
        })
        .collect();
    let mut denied = Vec::new();
    for (child, writer, len) in children {
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success(), "the dpkg loop failed: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.pop(), Some(format!("checked {len}").as_str()), "the dpkg loop stopped early:\n{text}");
        denied.extend(lines.into_iter().map(String::from));
    }
    denied
}

/// rpm's `rpm.vercmp` (epoch:version-release, as rpm orders packages) for every `(a, b,
/// expected)`, in one rpm process: a Lua script reads the pairs from a file. Returns the pairs
/// rpm orders otherwise, with its answer; counts what it checked, as above.
fn rpm_denies(checks: &[(String, String, i32)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("pairs");
    let text: String = checks.iter().map(|(a, b, want)| format!("{a} {b} {want}\n")).collect();
    std::fs::write(&list, text).unwrap();
    let script = dir.path().join("check.lua");
    std::fs::write(
        &script,
        format!(
            "local n = 0\n\
             for line in io.lines('{}') do\n\
               local a, b, want = line:match('^(%S+) (%S+) (%S+)$')\n\
               n = n + 1\n\
               local got = rpm.vercmp(a, b)\n\
               if tostring(got) ~= want then print(line .. ' but rpm says ' .. got .. '\\n') end\n\
             end\n\
             print('checked ' .. n .. '\\n')\n",
            list.display()
        ),
    )
    .unwrap();
    let out = run_ok("rpm", &["--eval", &format!("%{{lua: dofile('{}')}}", script.display())]);
    let mut lines: Vec<&str> = out.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.pop(), Some(format!("checked {}", checks.len()).as_str()), "rpm stopped early:\n{out}");
    lines.into_iter().map(String::from).collect()
}

fn dpkg_op(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

fn rpm_result(o: Ordering) -> i32 {
    o as i32
}

#[test]
fn dpkg_rpm_and_osgi_order_every_pair_of_the_table_alike() {
    require_tool("dpkg", "dpkg");
    require_tool("rpm", "rpm");
    let rows = table();
    let pairs = pairs(&rows);
    let deb_checks: Vec<_> = pairs.iter().map(|(a, b, o)| (a.deb.clone(), dpkg_op(*o), b.deb.clone())).collect();
    let rpm_checks: Vec<_> = pairs.iter().map(|(a, b, o)| (a.rpm.clone(), b.rpm.clone(), rpm_result(*o))).collect();
    let dpkg = dpkg_denies(&deb_checks);
    let rpm = rpm_denies(&rpm_checks);
    assert!(
        dpkg.is_empty() && rpm.is_empty(),
        "{} rows, {} pairs; dpkg denies {}:\n{}\nrpm denies {}:\n{}",
        rows.len(),
        pairs.len(),
        dpkg.len(),
        dpkg.join("\n"),
        rpm.len(),
        rpm.join("\n")
    );
    eprintln!("{} rows, {} pairs: dpkg, rpm and OSGi agree on every one", rows.len(), pairs.len());
}

/// Two different versions never share a package version, and two spellings of one version share
/// it (`4.8.2.SNAPSHOT` and `4.8.2-SNAPSHOT`, `4.8` and `4.8.0`): the tools' `eq` above would
/// also say so, this names the rows.
#[test]
fn distinct_versions_never_share_a_package_version() {
    let rows = table();
    let mut equal_pairs = 0;
    for (a, b, o) in pairs(&rows) {
        let same = o == Ordering::Equal;
        equal_pairs += usize::from(same);
        assert_eq!(
            a.deb == b.deb,
            same,
            "{} ({}) and {} ({}): {} / {}",
            a.input,
            a.revision,
            b.input,
            b.revision,
            a.deb,
            b.deb
        );
        assert_eq!(a.rpm == b.rpm, same, "{} and {}: {} / {}", a.input, b.input, a.rpm, b.rpm);
    }
    // The table holds equal spellings, so that this test also sees equality.
    assert!(equal_pairs >= 3, "{equal_pairs}");
}

/// The checks above can fail: the mapping bmpack used before (`-` and `_` as `.`, the qualifier
/// as it is) is caught on each of issue 10's pairs by dpkg, rpm, or both.
#[test]
fn the_old_mapping_fails_these_checks() {
    require_tool("dpkg", "dpkg");
    require_tool("rpm", "rpm");
    let old = |q: &str| format!("4.8.2+{}", q.replace(['-', '_'], "."));
    // OSGi puts each first qualifier before the second (by byte order).
    for (a, b) in ISSUE_PAIRS {
        assert_eq!(osgi_cmp(&osgi(&format!("4.8.2.{a}")), &osgi(&format!("4.8.2.{b}"))), Ordering::Less, "{a} {b}");
    }
    let deb: Vec<_> =
        ISSUE_PAIRS.iter().map(|(a, b)| (format!("{}-1", old(a)), "lt", format!("{}-1", old(b)))).collect();
    let rpm: Vec<_> = ISSUE_PAIRS.iter().map(|(a, b)| (format!("{}-1", old(a)), format!("{}-1", old(b)), -1)).collect();
    let (dpkg, rpm) = (dpkg_denies(&deb), rpm_denies(&rpm));
    for (a, b) in ISSUE_PAIRS {
        let (a, b) = (old(a), old(b));
        let caught = dpkg.iter().chain(&rpm).any(|line| line.starts_with(&format!("{a}-1 ")) && line.contains(&b));
        assert!(caught, "{a} vs {b} passes with the old mapping:\ndpkg: {dpkg:?}\nrpm: {rpm:?}");
    }
}

/// bmpack's own orders in Rust (`version_order::compare_versions`, for dpkg and rpm) on every
/// pair of the table: the test above proves the tools give the expected order, so these agree
/// with the tools.
#[test]
fn bmpacks_own_orders_agree_on_the_table() {
    use bmpack::package_format::Format;
    use bmpack::version_order::compare_versions;
    for (a, b, o) in pairs(&table()) {
        assert_eq!(compare_versions(Format::Deb, &a.deb, &b.deb), o, "dpkg order: {} vs {}", a.deb, b.deb);
        assert_eq!(compare_versions(Format::Rpm, &a.rpm, &b.rpm), o, "rpm order: {} vs {}", a.rpm, b.rpm);
    }
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
    use bmpack::package_format::Format;
    use bmpack::version_order::compare_versions;
    require_tool("dpkg", "dpkg");
    for (a, b) in TRICKY {
        let dpkg = |op: &str| Command::new("dpkg").args(["--compare-versions", a, op, b]).status().unwrap().success();
        let expected = if dpkg("lt") {
            Ordering::Less
        } else if dpkg("eq") {
            Ordering::Equal
        } else {
            Ordering::Greater
        };
        assert_eq!(compare_versions(Format::Deb, a, b), expected, "{a} vs {b}");
    }
}

#[test]
fn bmpacks_own_version_comparison_agrees_with_rpm() {
    use bmpack::package_format::Format;
    use bmpack::version_order::compare_versions;
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
        assert_eq!(compare_versions(Format::Rpm, a, b), expected, "{a} vs {b}");
    }
}
