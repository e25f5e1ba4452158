//! `bmpack check` against real servers on 127.0.0.1 started by the test: wsgidav (login,
//! PROPFIND, PUT, DELETE, TLS), and SabreDAV on PHP-FPM behind Apache mod_proxy_fcgi (stores
//! chunked uploads as 0 bytes: exit 6) or behind nginx (passes).

#[path = "server_support/mod.rs"]
mod server_support;

use std::time::Duration;

use server_support::hostile::{self, BOUND, SLACK, run_bounded};
use server_support::webdav_servers::{
    DavServer, Front, PASSWORD, STATUS_JSON, USER, make_certificates, start_php_stack, start_wsgidav,
};
use server_support::{Run, bmpack_binary, free_port};

const ENV: &str = "BMPACK_NEXTCLOUD_PASSWORD";

/// Runs `bmpack ARGS` without a controlling terminal (setsid), so that a missing password can
/// never turn into a prompt that waits forever.
fn check(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut full = vec![bmpack_binary().to_string_lossy().into_owned()];
    full.extend(args.iter().map(|s| s.to_string()));
    let mut command =
        std::process::Command::new(server_support::require_program("setsid", "apt-get install util-linux"));
    command.arg("-w").args(&full).env_remove(ENV).stdin(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    Run {
        command: format!("bmpack {}", args.join(" ")),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn check_with_password(url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--url", url, "--user", USER];
    args.extend(extra);
    check(&args, &[(ENV, PASSWORD)])
}

fn line<'a>(json: &'a serde_json::Value, step: &str) -> Vec<&'a serde_json::Value> {
    json["lines"].as_array().unwrap().iter().filter(|l| l["step"] == step).collect()
}

fn assert_no_probe_left(server: &DavServer, run: &Run) {
    let left: Vec<String> = server.stored_files().into_iter().filter(|f| f.contains("bmpack-probe")).collect();
    assert!(left.is_empty(), "probe files left behind: {left:?}\n{}", run.all());
}

#[test]
fn healthy_webdav_server_passes_in_both_address_forms() {
    let server = start_wsgidav(STATUS_JSON, false);
    for url in [
        server.webdav_url(),
        format!("{}/remote.php/dav/files/{USER}", server.base),
        format!("{}/remote.php/dav/files/", server.base),
    ] {
        let run = check_with_password(&url, &[]);
        assert_eq!(run.code, 0, "{}\n{}", run.all(), server.logs_text());
        assert!(
            run.stdout.contains(
                "ok    upload (chunked): PUT 1048576 bytes with Transfer-Encoding: chunked: stored 1048576 bytes"
            ),
            "{}",
            run.all()
        );
        assert!(run.stdout.contains("ok    upload (Content-Length)"), "{}", run.all());
        assert!(run.stdout.contains("ok    cleanup: probe files deleted"), "{}", run.all());
        // Plain http: a warning, not a failure.
        assert!(run.stdout.contains("warn  address: http:// sends the password"), "{}", run.all());
        assert_no_probe_left(&server, &run);
        let json = check_with_password(&url, &["--json"]);
        assert_eq!(json.code, 0, "{}", json.all());
        let report = json.json();
        assert_eq!(report["result"], "warn");
        assert_eq!(report["exit_code"], 0);
        assert_eq!(line(&report, "propfind")[0]["result"], "ok", "{}", json.all());
        assert_eq!(line(&report, "upload")[0]["result"], "ok", "{}", json.all());
        assert_no_probe_left(&server, &json);
    }
}

#[test]
fn password_sources_and_refusals() {
    let server = start_wsgidav(STATUS_JSON, false);
    let url = server.webdav_url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let from_file = check(&["check", "--url", &url, "--user", USER, "--password-file", file.to_str().unwrap()], &[]);
    assert_eq!(from_file.code, 0, "{}", from_file.all());

    let wrong = check(&["check", "--url", &url, "--user", USER, "--json"], &[(ENV, "not the password")]);
    assert_eq!(wrong.code, 5, "{}", wrong.all());
    let report = wrong.json();
    assert_eq!(report["class"], "authentication");
    let propfind = line(&report, "propfind");
    assert_eq!(propfind[0]["result"], "FAIL");
    assert!(propfind[0]["fix"].as_str().unwrap().contains("app password"), "{}", wrong.all());
    assert!(line(&report, "upload (chunked)").is_empty(), "no upload after a refused login:\n{}", wrong.all());

    // No password anywhere and no terminal: a usage error, never a hang.
    let none = check(&["check", "--url", &url, "--user", USER], &[]);
    assert_eq!(none.code, 2, "{}", none.all());
    assert!(none.stdout.contains("--password-file") && none.stdout.contains(ENV), "{}", none.all());
    // The password is never an option.
    let on_command_line = check(&["check", "--url", &url, "--user", USER, "--password", PASSWORD], &[]);
    assert_eq!(on_command_line.code, 2, "{}", on_command_line.all());
    assert_no_probe_left(&server, &wrong);
}

#[test]
fn wrong_address_and_unusable_servers() {
    let server = start_wsgidav(STATUS_JSON, false);
    // A wrong Nextcloud root is a wrong address, exit 7 as --help files it (not "server not usable").
    let wrong_root = check_with_password(&format!("{}/nextcloud-elsewhere/remote.php/webdav/", server.base), &[]);
    assert_eq!(wrong_root.code, 7, "no status.php under a wrong root:\n{}", wrong_root.all());
    assert!(
        wrong_root.stdout.contains("HTTP 404") && wrong_root.stdout.contains("wrong address"),
        "{}",
        wrong_root.all()
    );
    // No WebDAV folder for this user: PROPFIND 404 → wrong address.
    let wrong_user = check(
        &["check", "--url", &format!("{}/remote.php/dav/files/bob", server.base), "--user", "bob"],
        &[(ENV, PASSWORD)],
    );
    assert_eq!(wrong_user.code, 7, "{}", wrong_user.all());
    assert!(
        wrong_user.stdout.contains("FAIL  propfind") && wrong_user.stdout.contains("wrong address"),
        "{}",
        wrong_user.all()
    );
    let malformed = check_with_password(&format!("{}/index.php/apps/files/", server.base), &[]);
    assert_eq!(malformed.code, 2, "{}", malformed.all());
    assert!(malformed.stdout.contains("FAIL  address"), "{}", malformed.all());

    for (status, code, says) in [
        (
            r#"{"installed":true,"maintenance":true,"needsDbUpgrade":false,"version":"28.0.14.1","versionstring":"28.0.14","productname":"Nextcloud"}"#,
            4,
            "maintenance:mode --off",
        ),
        (
            r#"{"installed":true,"maintenance":false,"needsDbUpgrade":true,"version":"29.0.1.1","versionstring":"29.0.1","productname":"Nextcloud"}"#,
            4,
            "occ upgrade",
        ),
        (
            r#"{"installed":false,"maintenance":false,"needsDbUpgrade":false,"version":"28.0.14.1","versionstring":"28.0.14","productname":"Nextcloud"}"#,
            4,
            "not installed",
        ),
        (
            r#"{"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"10.0.6.1","versionstring":"10.0.6","productname":"Nextcloud"}"#,
            4,
            "too old",
        ),
        (
            r#"{"installed":"true","maintenance":"false","needsDbUpgrade":"false","version":"10.13.4.1","versionstring":"10.13.4","productname":"ownCloud","product":"ownCloud"}"#,
            4,
            "a different product",
        ),
    ] {
        let unusable = start_wsgidav(status, false);
        let run = check_with_password(&unusable.webdav_url(), &[]);
        assert_eq!(run.code, code, "{status}\n{}", run.all());
        assert!(run.stdout.contains(says), "`{says}` missing:\n{}", run.all());
        assert!(!run.stdout.contains("upload"), "no upload on an unusable server:\n{}", run.all());
        assert!(unusable.stored_files().is_empty(), "{}", run.all());
    }

    let refused = check_with_password(&format!("http://127.0.0.1:{}/remote.php/webdav/", free_port()), &["--json"]);
    assert_eq!(refused.code, 3, "{}", refused.all());
    assert_eq!(refused.json()["class"], "network");
}

#[test]
fn tls_is_verified_unless_told_otherwise() {
    let server = start_wsgidav(STATUS_JSON, true);
    let url = server.webdav_url();
    assert!(url.starts_with("https://"));
    let untrusted = check_with_password(&url, &[]);
    assert_eq!(untrusted.code, 3, "a private CA is not trusted by default:\n{}", untrusted.all());
    assert!(untrusted.stdout.contains("--ca-file"), "{}", untrusted.all());

    let ca = server.ca_file.as_ref().unwrap().to_str().unwrap().to_string();
    let trusted = check_with_password(&url, &["--ca-file", &ca]);
    assert_eq!(trusted.code, 0, "{}\n{}", trusted.all(), server.logs_text());
    assert!(!trusted.stdout.contains("warn"), "https with a trusted CA: no warning expected:\n{}", trusted.all());
    assert!(trusted.stdout.contains("ok    upload: both uploads stored intact"), "{}", trusted.all());

    let insecure = check_with_password(&url, &["--insecure"]);
    assert_eq!(insecure.code, 0, "{}", insecure.all());
    assert!(insecure.stdout.contains("warn  tls: --insecure"), "{}", insecure.all());
    assert_no_probe_left(&server, &insecure);
}

#[test]
fn apache_proxy_fcgi_with_php_fpm_loses_chunked_uploads() {
    let server = start_php_stack(Front::ApacheProxyFcgi, STATUS_JSON);
    let run = check_with_password(&server.webdav_url(), &[]);
    assert_eq!(run.code, 6, "{}\n{}", run.all(), server.logs_text());
    assert!(run.stdout.contains("ok    upload (Content-Length)"), "{}", run.all());
    assert!(
        run.stdout.contains("upload (chunked): PUT 1048576 bytes with Transfer-Encoding: chunked: stored 0 bytes"),
        "{}",
        run.all()
    );
    for phrase in [
        "mod_proxy_fcgi + PHP-FPM",
        "SetEnvIf Transfer-Encoding \"chunked\" proxy-sendcl=1",
        "2.4.48",
        "mod_php",
        "nginx",
        "fastcgi_request_buffering on",
    ] {
        assert!(run.stdout.contains(phrase), "the diagnosis must mention `{phrase}`:\n{}", run.all());
    }
    assert!(run.stdout.contains("ok    cleanup: probe files deleted"), "{}", run.all());
    assert_no_probe_left(&server, &run);
    let json = check_with_password(&server.webdav_url(), &["--json"]);
    assert_eq!(json.code, 6, "{}", json.all());
    let report = json.json();
    assert_eq!(report["class"], "uploads-lose-data");
    assert_eq!(line(&report, "upload")[0]["result"], "FAIL");
    assert_no_probe_left(&server, &json);
}

#[test]
fn the_recommended_apache_fix_works() {
    let server = start_php_stack(Front::ApacheProxyFcgiWithSendCl, STATUS_JSON);
    let run = check_with_password(&server.webdav_url(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.all(), server.logs_text());
    assert!(run.stdout.contains("ok    upload (chunked)"), "{}", run.all());
    assert_no_probe_left(&server, &run);
}

#[test]
fn nginx_with_php_fpm_passes() {
    let server = start_php_stack(Front::Nginx, STATUS_JSON);
    let run = check_with_password(&server.webdav_url(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.all(), server.logs_text());
    assert!(run.stdout.contains("ok    upload: both uploads stored intact"), "{}", run.all());
    assert_no_probe_left(&server, &run);
}

#[test]
fn help_documents_the_exit_codes() {
    let run = check(&["check", "--help"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    for row in [
        "2  usage",
        "3  network or TLS",
        "4  server not usable",
        "5  authentication",
        "6  uploads lose data",
        "7  wrong address",
        ENV,
        "check ends within 120 s (2 minutes)",
    ] {
        assert!(run.stdout.contains(row), "`{row}` missing from check --help:\n{}", run.stdout);
    }
}

#[test]
fn probes_in_the_nextcloud_trash_bin_are_deleted_too() {
    let server = start_wsgidav(STATUS_JSON, false);
    let trash = server.trash.as_ref().unwrap();
    // Nextcloud keeps deleted files as NAME.d<time>: one probe of an earlier run, one file of the user's.
    std::fs::write(trash.join(".bmpack-probe-0a1b2c3d4e5f-chunked.bin.d1700000000"), b"old probe").unwrap();
    std::fs::write(trash.join("holiday.jpg.d1700000001"), b"the user's").unwrap();
    let run = check_with_password(&server.webdav_url(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.all(), server.logs_text());
    assert!(run.stdout.contains("ok    cleanup: probe files deleted, and 1 from the trash bin"), "{}", run.all());
    let left: Vec<String> =
        std::fs::read_dir(trash).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["holiday.jpg.d1700000001"], "{}", run.all());
}

#[test]
fn the_password_prompt_does_not_echo() {
    use std::io::{Read, Write};
    let server = start_wsgidav(STATUS_JSON, false);
    // `script` gives bmpack a terminal (a pty) that reads our standard input.
    let script = server_support::require_program("script", "apt-get install bsdutils");
    let command = format!("{} check --url {} --user {USER}", bmpack_binary().display(), server.webdav_url());
    let mut child = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env_remove(ENV)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    // Wait for the question before answering, so the answer cannot reach the terminal while echo is still on.
    while !String::from_utf8_lossy(&seen).contains(&format!("Nextcloud password for {USER}: ")) {
        match receiver.recv() {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!("bmpack ended without asking for the password:\n{}", String::from_utf8_lossy(&seen)),
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    while let Ok(chunk) = receiver.recv() {
        seen.extend(chunk);
    }
    let output = String::from_utf8_lossy(&seen);
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("ok    propfind"), "{output}");
    assert!(!output.contains(PASSWORD), "the password was echoed:\n{output}");
}

// ---------------------------------------------------------------------------------------------
// Hostile or broken servers (tests/server_support/hostile_nextcloud.py).

fn check_bounded(url: &str, extra: &[&str]) -> (Run, Duration) {
    let mut args = vec!["check", "--url", url, "--user", USER];
    args.extend(extra);
    run_bounded(&args, &[(ENV, PASSWORD)])
}

/// The trash listing may name anything: only items directly in the user's trash folder, on the
/// origin and scheme the user gave, are deleted, and the password goes nowhere else.
#[test]
fn the_password_goes_only_to_the_origin_and_scheme_given() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(certs.path());
    let recorder = hostile::start(hostile::Options { mode: "record", ..Default::default() });
    let port = server_support::free_port();
    let trash = "/remote.php/dav/trashbin/alice/trash";
    let r = recorder.port;
    let hrefs = vec![
        format!("http://127.0.0.1:{port}{trash}/.bmpack-probe-downgraded.d1"),
        format!("http://127.0.0.1:{r}{trash}/.bmpack-probe-elsewhere.d1"),
        format!("@127.0.0.1:{r}{trash}/.bmpack-probe-glued.d1"),
        format!("//127.0.0.1:{r}{trash}/.bmpack-probe-scheme-relative.d1"),
        "/remote.php/dav/files/alice/.bmpack-probe-users-own-file.bin".to_string(),
        format!("{trash}/%2E%2E/%2E%2E/files/alice/.bmpack-probe-dot-dot.bin"),
        format!("{trash}/.bmpack-probe-old.d1"),
        ".bmpack-probe-relative.d2".to_string(),
    ];
    // The hostile server must listen on the port its hrefs name: start it there.
    let server =
        hostile::start_on(port, hostile::Options { tls: Some((cert, key)), trash_hrefs: hrefs, ..Default::default() });
    let (run, _) = check_bounded(&server.webdav_url("https"), &["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    let plain: Vec<_> = server.requests().into_iter().filter(|r| r["tls"] == false).collect();
    assert!(plain.is_empty(), "requests downgraded to http://: {plain:?}\n{}", run.all());
    assert!(recorder.requests().is_empty(), "another origin was contacted: {:?}\n{}", recorder.requests(), run.all());
    let deleted: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "DELETE")
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    for outside in [
        "/remote.php/dav/files/alice/.bmpack-probe-users-own-file.bin",
        "/remote.php/dav/files/alice/.bmpack-probe-dot-dot.bin",
    ] {
        assert!(
            !deleted.iter().any(|d| d.contains(outside) || d.contains("%2E%2E")),
            "{outside} deleted: {deleted:?}\n{}",
            run.all()
        );
    }
    // Resolved as URLs: the absolute path and the relative reference both name trash items.
    for inside in [format!("{trash}/.bmpack-probe-old.d1"), format!("{trash}/.bmpack-probe-relative.d2")] {
        assert!(deleted.contains(&inside), "{inside} not deleted: {deleted:?}\n{}", run.all());
    }
    assert!(run.stdout.contains("warn  cleanup: the trash bin listing named items outside"), "{}", run.all());
    assert!(run.stdout.contains(".bmpack-probe-elsewhere.d1"), "the refused hrefs are named:\n{}", run.all());
}

/// A server that never answers, one that accepts an upload and never answers it, one that stops
/// reading the upload and one that answers a byte at a time: each ends with the network exit
/// code within the documented bound, and no further probe is sent after the network failure.
#[test]
fn every_network_step_has_a_total_time_limit() {
    for (mode, puts) in [("never-answers", 0), ("hang-put", 1), ("stop-reading", 1), ("drip-put", 1)] {
        let server = hostile::start(hostile::Options { mode, ..Default::default() });
        let (run, elapsed) = check_bounded(&server.webdav_url("http"), &["--json"]);
        assert_eq!(run.code, 3, "{mode}: {}", run.all());
        assert_eq!(run.json()["class"], "network", "{mode}: {}", run.all());
        assert!(
            elapsed <= BOUND + SLACK,
            "{mode}: took {elapsed:?}, over the documented bound ({BOUND:?} with the test's divisor)\n{}",
            run.all()
        );
        let sent = server.requests().iter().filter(|r| r["method"] == "PUT").count();
        assert_eq!(sent, puts, "{mode}: after a network failure no other probe is sent\n{}", run.all());
    }
}

/// A reset in the middle of the upload, right after status.php and PROPFIND worked: the advice
/// is about what cuts uploads, not about reaching the address.
#[test]
fn a_connection_cut_during_the_upload_gets_advice_that_fits() {
    let server = hostile::start(hostile::Options { mode: "reset-put", ..Default::default() });
    let (run, _) = check_bounded(&server.webdav_url("http"), &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(!run.stdout.contains("check that the address is reachable"), "{}", run.all());
    for phrase in [
        "the connection was closed during the upload",
        "answered status.php and PROPFIND at this address",
        "client_max_body_size",
        "LimitRequestBody",
        "upload_max_filesize",
    ] {
        assert!(run.stdout.contains(phrase), "`{phrase}` missing:\n{}", run.all());
    }
    assert_eq!(server.requests().iter().filter(|r| r["method"] == "PUT").count(), 1, "{}", run.all());
}

/// nginx with `fastcgi_request_buffering off` loses chunked uploads as Apache's mod_proxy_fcgi
/// does; the server says `Server: nginx`, so the diagnosis names nginx and gives its fix first.
#[test]
fn nginx_without_request_buffering_is_diagnosed_as_nginx() {
    let server = start_php_stack(Front::NginxUnbuffered, STATUS_JSON);
    let run = check_with_password(&server.webdav_url(), &[]);
    assert_eq!(run.code, 6, "{}\n{}", run.all(), server.logs_text());
    assert!(run.stdout.contains("the server says `Server: nginx"), "{}", run.all());
    assert!(!run.stdout.contains("Apache bug 57087"), "not the Apache problem:\n{}", run.all());
    let first_fix = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("FAIL  upload:"))
        .find(|l| l.trim_start().starts_with("fix:"))
        .unwrap_or_default();
    assert!(
        first_fix.contains("fastcgi_request_buffering on;"),
        "nginx's fix comes first: `{first_fix}`\n{}",
        run.all()
    );
    assert_no_probe_left(&server, &run);
}

/// What the server says about itself (productname, versionstring, Location) reaches the
/// terminal escaped: no escape sequence, no forged line.
#[test]
fn server_text_is_printed_escaped() {
    let status = r#"{"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"28.0.14.1","versionstring":"28.0.14\r\nok    upload: forged","edition":"","productname":"Evil\u001b[31mCloud\u001b]0;owned\u0007"}"#;
    let server = hostile::start(hostile::Options {
        status: Some(status),
        propfind_location: Some("http://127.0.0.1:1/\u{9b}2J\u{202e}"),
        ..Default::default()
    });
    let (run, _) = check_bounded(&server.webdav_url("http"), &[]);
    assert_eq!(run.code, 7, "the redirect is refused:\n{}", run.all());
    let select = server_support::run_bmpack(&["select", "--url", &server.webdav_url("http")], None, &[]);
    for (what, output) in [("check", &run.stdout), ("select", &select.stdout), ("select", &select.stderr)] {
        assert!(
            !output.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
            "{what} printed raw control characters:\n{output:?}"
        );
        assert!(
            !output.lines().any(|l| l.starts_with("ok    upload: forged")),
            "{what} printed a forged line:\n{output}"
        );
    }
    assert!(run.stdout.contains("Evil\\u{1b}[31mCloud"), "{}", run.all());
    assert!(run.stdout.contains("\\u{9b}2J\\u{202e}"), "the Location is shown, escaped:\n{}", run.all());
}
