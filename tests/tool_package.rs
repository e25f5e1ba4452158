//! The server tool's own package, built here as a release engineer builds it (`cargo xtask
//! package --package bmpack`, which needs cargo-zigbuild: `pip install ziglang cargo-zigbuild`).
//! It must install with dpkg and run on the oldest glibc it declares, so that it serves BlueMind
//! servers on Debian 10 and RHEL 8.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use bmpack_tests::debroot::DebRoot;
use bmpack_tests::rpm_tools::run_ok as stdout;
use bmpack_tests::tools::{project_root, require_tool};

/// The tool's package of `format`, built once per test process into target/bmpack-tool-out.
fn tool_package(format: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let out = BUILT.get_or_init(|| {
        let out = project_root().join("target/bmpack-tool-out");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(project_root())
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "xtask",
                "--",
                "package",
                "--quiet",
                "--package",
                "bmpack",
                "--out",
            ])
            .arg(&out)
            .status()
            .expect("running cargo xtask package --package bmpack");
        assert!(
            status.success(),
            "cargo xtask package --package bmpack failed (it needs `pip install ziglang cargo-zigbuild`)"
        );
        out
    });
    std::fs::read_dir(out.join(format))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bmpack")))
        .unwrap_or_else(|| panic!("no {format} package of the tool in {}", out.display()))
}

#[test]
fn the_tool_needs_no_newer_glibc_than_its_package_declares() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("objdump", "binutils");
    let deb = tool_package("deb");
    assert_eq!(stdout(Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg("Depends")).trim(), "libc6 (>= 2.28)");
    assert_eq!(stdout(Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg("Architecture")).trim(), "amd64");
    let dir = tempfile::tempdir().unwrap();
    stdout(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir.path()));
    let symbols = stdout(Command::new("objdump").arg("-T").arg(dir.path().join("usr/bin/bmpack")));
    let newest = symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| v.split_once('.').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))))
        .max()
        .expect("the tool links glibc dynamically");
    assert!(newest <= (2, 28), "the tool needs GLIBC_{}.{}, newer than Debian 10 and RHEL 8 have", newest.0, newest.1);
}

#[test]
fn dpkg_installs_the_tool_and_it_answers_on_the_server() {
    let deb = tool_package("deb");
    let root = DebRoot::new();
    std::fs::copy(&deb, root.join("/tmp/bmpack.deb")).unwrap();
    root.ok("dpkg -i /tmp/bmpack.deb");
    assert_eq!(root.ok("bmpack select --nextcloud-version 11.0.8 --json >/dev/null && bmpack select --nextcloud-version 25.0.3 | head -n 1").trim(), "Nextcloud 25.0.3 (--nextcloud-version) needs bm-nextcloud12");
    assert!(root.join("/usr/share/man/man1/bmpack.1.gz").is_file(), "the manual page is missing");
    root.ok("dpkg -r bmpack");
    assert!(!root.join("/usr/bin/bmpack").exists());
}

#[test]
fn rpm_lists_the_tool_for_x86_64_with_its_manual_page() {
    require_tool("rpm", "rpm");
    let rpm = tool_package("rpm");
    let query =
        |fmt: &str| stdout(Command::new("rpm").env("HOME", "/nonexistent").args(["-qp", "--qf", fmt]).arg(&rpm));
    assert_eq!(query("%{ARCH}"), "x86_64");
    let files = query("[%{FILEMODES:perms} %{FILENAMES}\n]");
    assert!(files.contains("-rwxr-xr-x /usr/bin/bmpack"), "{files}");
    assert!(files.contains("/usr/share/man/man1/bmpack.1.gz"), "{files}");
}
