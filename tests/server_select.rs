//! `bmpack select` on real-looking `status.php` answers (served over HTTP) and `occ status`
//! outputs across Nextcloud 9 to 34 and ownCloud, kept in tests/fixtures/nextcloud/.

#[path = "server_support/mod.rs"]
mod server_support;

use std::process::{Command, Stdio};

use bmpack_tests::tools::closed_pipe;
use server_support::{bmpack_binary, fixtures, free_port, run_bmpack, serve_status_fixtures};

const APT_12: &str = "apt install bm-nextcloud-common bm-nextcloud12";
const APT_11: &str = "apt install bm-nextcloud-common bm-nextcloud11";

/// What a case must give: the package, or the exit code and a phrase of the error.
enum Expect {
    Package { package: &'static str, version: &'static str, warning: Option<&'static str> },
    Refused { code: i32, says: &'static str },
}
use Expect::*;

fn check_case(args: &[&str], stdin: Option<&[u8]>, expect: &Expect) {
    let mut text_args = args.to_vec();
    text_args.extend(["--package-manager", "apt"]);
    let text = run_bmpack(&text_args, stdin, &[]);
    let mut json_args = text_args.clone();
    json_args.push("--json");
    let json_run = run_bmpack(&json_args, stdin, &[]);
    let json = json_run.json();
    match expect {
        Package { package, version, warning } => {
            assert_eq!(text.code, 0, "{}", text.all());
            let apt = format!("apt install bm-nextcloud-common {package}");
            assert!(
                text.stdout.lines().any(|l| l == apt),
                "the exact install line `{apt}` is missing:\n{}",
                text.all()
            );
            assert!(text.stdout.contains(version), "version {version} not shown:\n{}", text.all());
            assert_eq!(json_run.code, 0, "{}", json_run.all());
            assert_eq!(json["package"], *package, "{}", json_run.all());
            assert_eq!(json["install_command"], apt.as_str(), "{}", json_run.all());
            assert_eq!(json["nextcloud_version"], *version, "{}", json_run.all());
            let warnings = json["warnings"].as_array().unwrap();
            match warning {
                Some(phrase) => {
                    assert!(text.stderr.contains(phrase), "warning `{phrase}` missing:\n{}", text.all());
                    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains(phrase)), "{}", json_run.all());
                }
                None => assert!(warnings.is_empty(), "unexpected warnings:\n{}", json_run.all()),
            }
        }
        Refused { code, says } => {
            assert_eq!(text.code, *code, "{}", text.all());
            assert!(text.stderr.contains(says), "the error must say `{says}`:\n{}", text.all());
            assert!(!text.stdout.contains("install"), "no install line on failure:\n{}", text.all());
            assert_eq!(json_run.code, *code, "{}", json_run.all());
            assert_eq!(json["result"], "FAIL");
            assert_eq!(json["exit_code"], *code);
            assert!(json["error"].as_str().unwrap().contains(says), "{}", json_run.all());
        }
    }
}

#[test]
fn version_given_by_hand() {
    let cases = [
        ("25.0.3", Package { package: "bm-nextcloud12", version: "25.0.3", warning: None }),
        ("11.0.8", Package { package: "bm-nextcloud11", version: "11.0.8", warning: None }),
        ("12", Package { package: "bm-nextcloud12", version: "12", warning: None }),
        ("34.0.0.5", Package { package: "bm-nextcloud12", version: "34.0.0.5", warning: None }),
        ("10.0.6", Refused { code: 4, says: "supported are Nextcloud 11, 12 and later" }),
        ("latest", Refused { code: 2, says: "is not a Nextcloud version" }),
        ("25.0.x", Refused { code: 2, says: "is not a Nextcloud version" }),
    ];
    for (version, expect) in &cases {
        check_case(&["select", "--nextcloud-version", version], None, expect);
    }
}

#[test]
fn status_php_across_releases_and_products() {
    let port = serve_status_fixtures(fixtures("nextcloud/status-php"));
    let cases = [
        ("nc09", Refused { code: 4, says: "supported are Nextcloud 11, 12 and later" }),
        ("nc10-internal-9-1", Refused { code: 4, says: "Nextcloud 10.0.1 is too old" }),
        ("nc11", Package { package: "bm-nextcloud11", version: "11.0.8", warning: None }),
        ("nc12", Package { package: "bm-nextcloud12", version: "12.0.13", warning: None }),
        ("nc15", Package { package: "bm-nextcloud12", version: "15.0.14", warning: None }),
        ("nc18", Package { package: "bm-nextcloud12", version: "18.0.14", warning: None }),
        ("nc20", Package { package: "bm-nextcloud12", version: "20.0.14", warning: None }),
        ("nc25", Package { package: "bm-nextcloud12", version: "25.0.3", warning: None }),
        (
            "nc26-maintenance",
            Package { package: "bm-nextcloud12", version: "26.0.13", warning: Some("maintenance mode") },
        ),
        ("nc27-themed", Package { package: "bm-nextcloud12", version: "27.1.11", warning: None }),
        ("nc28", Package { package: "bm-nextcloud12", version: "28.0.14", warning: None }),
        (
            "nc29-upgrade-pending",
            Package { package: "bm-nextcloud12", version: "29.0.16", warning: Some("occ upgrade") },
        ),
        (
            "nc30-not-installed",
            Package { package: "bm-nextcloud12", version: "30.0.17", warning: Some("not installed") },
        ),
        ("nc31-rc", Package { package: "bm-nextcloud12", version: "31.0.0 RC3", warning: None }),
        ("nc32", Package { package: "bm-nextcloud12", version: "32.0.2", warning: None }),
        ("nc33-extended-support-unknown-keys", Package { package: "bm-nextcloud12", version: "33.0.1", warning: None }),
        ("nc34-strings", Package { package: "bm-nextcloud12", version: "34.0.0", warning: None }),
        ("owncloud10", Refused { code: 4, says: "ownCloud 10.13.4, a different product" }),
        ("owncloud8", Refused { code: 4, says: "a different product" }),
        ("untrusted-domain", Refused { code: 4, says: "untrusted domain" }),
        ("portal-login", Refused { code: 4, says: "not a Nextcloud status" }),
        ("no-such-case", Refused { code: 7, says: "HTTP 404" }),
    ];
    for (case, expect) in &cases {
        // Both WebDAV forms lead to the same status.php.
        for form in ["remote.php/webdav/", "remote.php/dav/files/jane"] {
            let url = format!("http://127.0.0.1:{port}/{case}/{form}");
            check_case(&["select", "--url", &url], None, expect);
        }
    }
    let untrusted = run_bmpack(
        &["select", "--url", &format!("http://127.0.0.1:{port}/untrusted-domain/remote.php/webdav")],
        None,
        &[],
    );
    assert!(
        untrusted.stderr.contains("trusted_domains") && untrusted.stderr.contains("--value=127.0.0.1"),
        "{}",
        untrusted.all()
    );
}

#[test]
fn occ_status_outputs() {
    let dir = fixtures("nextcloud/occ-status");
    let cases = [
        ("nc12.json", Package { package: "bm-nextcloud12", version: "12.0.13", warning: None }),
        ("nc25.json", Package { package: "bm-nextcloud12", version: "25.0.3", warning: None }),
        ("nc28-trailing-text.txt", Package { package: "bm-nextcloud12", version: "28.0.14", warning: None }),
        ("nc30-pretty.json", Package { package: "bm-nextcloud12", version: "30.0.17", warning: None }),
        (
            "nc31-upgrade-pending.txt",
            Package { package: "bm-nextcloud12", version: "31.0.9", warning: Some("occ upgrade") },
        ),
        ("nc32-plain.txt", Package { package: "bm-nextcloud12", version: "32.0.2", warning: None }),
        ("owncloud10.json", Refused { code: 4, says: "a different product" }),
        ("wrong-user.txt", Refused { code: 2, says: "Console has to be executed with the user" }),
    ];
    for (file, expect) in &cases {
        let path = dir.join(file);
        check_case(&["select", "--occ-status", path.to_str().unwrap()], None, expect);
        let bytes = std::fs::read(&path).unwrap();
        check_case(&["select", "--occ-status", "-"], Some(&bytes), expect);
    }
    let missing = run_bmpack(&["select", "--occ-status", "/nonexistent/status.json"], None, &[]);
    assert_eq!(missing.code, 2, "{}", missing.all());
    assert!(missing.stderr.contains("/nonexistent/status.json"), "{}", missing.all());
}

#[test]
fn install_line_follows_os_release() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    let os_release = root.path().join("etc/os-release");
    let run_with = |text: &str| {
        std::fs::write(&os_release, text).unwrap();
        run_bmpack(&["select", "--nextcloud-version", "11.0.8", "--root", root.path().to_str().unwrap()], None, &[])
    };
    let debian = run_with("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n");
    assert!(debian.stdout.lines().any(|l| l == APT_11), "{}", debian.all());
    let ubuntu = run_with("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n");
    assert!(ubuntu.stdout.lines().any(|l| l == APT_11), "{}", ubuntu.all());
    let rocky = run_with("NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n");
    assert!(rocky.stdout.lines().any(|l| l == "yum install bm-nextcloud-common bm-nextcloud11"), "{}", rocky.all());
    assert!(!rocky.stdout.contains("apt install"), "{}", rocky.all());
    let centos7 = run_with("NAME=\"CentOS Linux\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\n");
    assert!(centos7.stdout.contains("yum install bm-nextcloud-common bm-nextcloud11"), "{}", centos7.all());
    let unknown = run_with("ID=arch\n");
    assert_eq!(unknown.code, 0, "{}", unknown.all());
    assert!(
        unknown.stdout.contains("apt install") && unknown.stdout.contains("yum install"),
        "both lines when unknown:\n{}",
        unknown.all()
    );
    // The override wins over os-release.
    std::fs::write(&os_release, "ID=debian\n").unwrap();
    let forced = run_bmpack(
        &[
            "select",
            "--nextcloud-version",
            "26.0.1",
            "--root",
            root.path().to_str().unwrap(),
            "--package-manager",
            "yum",
            "--json",
        ],
        None,
        &[],
    );
    assert_eq!(forced.json()["install_command"], "yum install bm-nextcloud-common bm-nextcloud12", "{}", forced.all());
    let _ = APT_12;
}

/// `bmpack select … | head -n 1` keeps the first line; the tool must not then die with a panic
/// on the next one (exit 101 and a backtrace hint on the terminal).
#[test]
fn a_reader_that_goes_away_early_is_no_error() {
    for (args, code) in [
        (&["select", "--nextcloud-version", "25.0.3", "--package-manager", "apt"][..], 0),
        (&["select", "--nextcloud-version", "25.0.3", "--json"][..], 0),
        (&["select", "--nextcloud-version", "latest", "--json"][..], 2),
    ] {
        let out = Command::new(bmpack_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "bmpack {} into a closed pipe:\n{stderr}", args.join(" "));
        assert!(!stderr.contains("panicked"), "bmpack {} into a closed pipe:\n{stderr}", args.join(" "));
    }
}

#[test]
fn unreachable_server_and_bad_addresses() {
    let port = free_port();
    let refused = run_bmpack(&["select", "--url", &format!("http://127.0.0.1:{port}/remote.php/webdav/")], None, &[]);
    assert_eq!(refused.code, 3, "{}", refused.all());
    assert!(refused.stderr.contains(&format!("127.0.0.1:{port}/status.php")), "{}", refused.all());
    for bad in ["cloud.example.com/remote.php/webdav", "https://cloud.example.com/nextcloud/index.php/apps/files"] {
        let run = run_bmpack(&["select", "--url", bad], None, &[]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("remote.php/dav/files/USER"), "the fix shows the expected form:\n{}", run.all());
    }
    let neither = run_bmpack(&["select"], None, &[]);
    assert_eq!(neither.code, 2, "{}", neither.all());
}

/// Real answers that a reader of `version` alone gets wrong, and `occ status` before and after it
/// gained `maintenance`/`needsDbUpgrade` (2021), with the exit code `occ status -e` gives for each
/// (0 normal, 1 maintenance, 2 upgrade pending; Nextcloud 26 and later).
#[test]
fn the_table_of_real_status_outputs() {
    struct Row {
        source: &'static str,
        /// The package, the version shown, the product shown; or a refusal.
        expect: Expect,
        product: &'static str,
        /// What `occ status -e` exits with on that server.
        occ_exit: i32,
    }
    let row = |source, expect, product, occ_exit| Row { source, expect, product, occ_exit };
    let port = serve_status_fixtures(fixtures("nextcloud/status-php"));
    let occ = fixtures("nextcloud/occ-status");
    let rows = [
        // Nextcloud 10 reports its internal version 9.1.x: the release is 10, too old, not 9.
        row("status.php nc10-internal-9-1", Refused { code: 4, says: "Nextcloud 10.0.1 is too old" }, "", 0),
        row("occ nc10-plain-before-2021.txt", Refused { code: 4, says: "Nextcloud 10.0.1 is too old" }, "", 0),
        // The first 11 alphas report 9.2.x: they need the connector for 11.
        row(
            "status.php nc11-alpha-internal-9-2",
            Package { package: "bm-nextcloud11", version: "11.0 alpha", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "status.php nc21-enterprise",
            Package { package: "bm-nextcloud12", version: "21.0.3 Enterprise", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "status.php nc27-themed",
            Package { package: "bm-nextcloud12", version: "27.1.11", warning: None },
            "Cloud de la Mairie",
            0,
        ),
        row(
            "occ nc20-before-2021.json",
            Package { package: "bm-nextcloud12", version: "20.0.7", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "occ nc20-plain-before-2021.txt",
            Package { package: "bm-nextcloud12", version: "20.0.7", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "occ nc23-after-2021.json",
            Package { package: "bm-nextcloud12", version: "23.0.0", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "occ nc26-e-exit0.json",
            Package { package: "bm-nextcloud12", version: "26.0.13", warning: None },
            "Nextcloud",
            0,
        ),
        row(
            "occ nc26-e-exit1-maintenance.txt",
            Package { package: "bm-nextcloud12", version: "26.0.13", warning: Some("maintenance mode") },
            "Nextcloud",
            1,
        ),
        row(
            "occ nc27-e-exit2-upgrade.txt",
            Package { package: "bm-nextcloud12", version: "27.1.4", warning: Some("occ upgrade") },
            "Nextcloud",
            2,
        ),
    ];
    for row in &rows {
        let (kind, name) = row.source.split_once(' ').unwrap();
        let args: Vec<String> = match kind {
            "status.php" => {
                vec!["select".into(), "--url".into(), format!("http://127.0.0.1:{port}/{name}/remote.php/webdav/")]
            }
            _ => vec!["select".into(), "--occ-status".into(), occ.join(name).to_string_lossy().into_owned()],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check_case(&args, None, &row.expect);
        if let Package { .. } = row.expect {
            let mut json_args = args.clone();
            json_args.push("--json");
            let run = run_bmpack(&json_args, None, &[]);
            let json = run.json();
            assert_eq!(json["product"], row.product, "{}: {}", row.source, run.all());
            let server = &json["server"];
            let occ_exit = if server["maintenance"] == true {
                1
            } else if server["needs_db_upgrade"] == true {
                2
            } else {
                0
            };
            assert_eq!(occ_exit, row.occ_exit, "{}: the state `occ status -e` reports:\n{}", row.source, run.all());
        }
    }
}

/// BlueMind before 4.2 (from the package database under --root): select still names the
/// connector, and warns that the packages are for BlueMind 4.2 and later, with the way out.
#[test]
fn select_says_when_the_packages_are_not_for_the_installed_bluemind() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    let status = |version: &str| {
        format!(
            "Package: bm-core\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\nDescription: BlueMind core\n\n"
        )
    };
    std::fs::write(root.path().join("var/lib/dpkg/status"), status("4.1.3-1")).unwrap();
    let old =
        run_bmpack(&["select", "--nextcloud-version", "25.0.3", "--root", root.path().to_str().unwrap()], None, &[]);
    assert_eq!(old.code, 0, "{}", old.all());
    assert!(
        old.stderr.contains("bm-nextcloud-common is for BlueMind >= 4.2 and this server runs BlueMind 4.1.3")
            && old.stderr.contains("bmpack deploy"),
        "{}",
        old.all()
    );
    std::fs::write(root.path().join("var/lib/dpkg/status"), status("4.8.2-1")).unwrap();
    let current =
        run_bmpack(&["select", "--nextcloud-version", "25.0.3", "--root", root.path().to_str().unwrap()], None, &[]);
    assert!(!current.stderr.contains("is for BlueMind"), "{}", current.all());
}

/// `--json` lists each plug-in of the catalog with its group and whether the BlueMind under
/// --root takes it (its relations on bm-core and bm-webserver), for configuration management:
/// StarLeaf on BlueMind 4.x but not 5; nothing judged without bm-core.
#[test]
fn select_json_says_which_plugins_the_installed_bluemind_takes() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    let plugins = |bluemind: Option<&str>| {
        let status = bluemind.map_or(String::new(), |v| {
            ["bm-core", "bm-webserver"]
                .iter()
                .map(|p| format!("Package: {p}\nStatus: install ok installed\nVersion: {v}\nArchitecture: all\n\n"))
                .collect()
        });
        std::fs::write(root.path().join("var/lib/dpkg/status"), status).unwrap();
        let run = run_bmpack(
            &["select", "--nextcloud-version", "25.0.3", "--json", "--root", root.path().to_str().unwrap()],
            None,
            &[],
        );
        assert_eq!(run.code, 0, "{}", run.all());
        let json = run.json();
        json["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (p["name"].as_str().unwrap().to_string(), (p["group"].clone(), p["fits_installed_bluemind"].clone()))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let on_4 = plugins(Some("4.9.0-1"));
    let starleaf = "bm-plugin-core-videoconferencing-starleaf";
    assert_eq!(on_4[starleaf], (serde_json::json!("starleaf"), serde_json::json!(true)), "{on_4:?}");
    assert_eq!(on_4["bm-nextcloud12"].1, serde_json::json!(true), "{on_4:?}");
    let on_5 = plugins(Some("5.0.0-1"));
    assert_eq!(on_5[starleaf].1, serde_json::json!(false), "{on_5:?}");
    assert_eq!(on_5["bm-plugin-admin-console-videoconferencing-starleaf"].1, serde_json::json!(false), "{on_5:?}");
    assert_eq!(on_5["bm-nextcloud-common"].1, serde_json::json!(true), "{on_5:?}");
    let none = plugins(None);
    assert_eq!(none[starleaf].1, serde_json::Value::Null, "{none:?}");
}
