//! Helpers for the repository tests: throwaway gpg keys, small stand-in packages written by
//! bmpack's own .deb and .rpm writers, and tree hashes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;

use bmpack::build::{BuildOptions, Silent, build_all};
use bmpack::bundle::BundleSet;
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::model::{
    Arch, FileKind, FileMode, FileSource, MaintainerScripts, Package, PayloadFile, Relation, Relations,
};
use bmpack::samples::{SampleSpec, write_sample_bundles};
use bmpack::version::PackageVersion;
use sha2::{Digest, Sha256};

/// Fails the test with a clear message when a system tool is missing (never skips).
pub fn require(program: &str, debian_package: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join(program).is_file());
    assert!(found, "`{program}` is needed by this test: install it with `apt-get install {debian_package}`");
}

/// Runs a command; panics with its output when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A throwaway signing key (RSA 3072, no passphrase) in its own keyring.
pub struct TestKey {
    pub home: PathBuf,
    pub fingerprint: String,
    /// The secret key, armored, as `--key-file` takes it.
    pub secret_file: PathBuf,
    /// The public key, binary (an apt `Signed-By` keyring).
    pub public_keyring: PathBuf,
    /// The public key, armored (`RPM-GPG-KEY-…`).
    pub public_armored: PathBuf,
}

impl TestKey {
    pub fn generate(dir: &Path, name: &str) -> TestKey {
        Self::generate_with_passphrase(dir, name, "")
    }

    /// A key whose secret part needs `passphrase` (a key file publish cannot use unattended).
    pub fn generate_with_passphrase(dir: &Path, name: &str, passphrase: &str) -> TestKey {
        require("gpg", "gnupg");
        let home = dir.join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let gpg = || {
            let mut c = Command::new("gpg");
            c.arg("--homedir").arg(&home).args(["--batch", "--no-tty"]);
            c
        };
        run(gpg().args([
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--quick-gen-key",
            &format!("{name} <{name}@example.invalid>"),
            "rsa3072",
            "sign",
            "never",
        ]));
        let colons = run(gpg().args(["--with-colons", "--list-secret-keys"]));
        let fingerprint =
            colons.lines().find_map(|l| l.strip_prefix("fpr:")).expect("a fingerprint").trim_matches(':').to_string();
        let secret_file = dir.join(format!("{name}.secret.asc"));
        let public_keyring = dir.join(format!("{name}.gpg"));
        let public_armored = dir.join(format!("{name}.asc"));
        let export = [
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            passphrase,
            "--armor",
            "--export-secret-keys",
            &fingerprint,
        ];
        std::fs::write(&secret_file, run(gpg().args(export))).unwrap();
        let binary = gpg().args(["--export", &fingerprint]).output().unwrap().stdout;
        std::fs::write(&public_keyring, binary).unwrap();
        std::fs::write(&public_armored, run(gpg().args(["--armor", "--export", &fingerprint]))).unwrap();
        TestKey { home, fingerprint, secret_file, public_keyring, public_armored }
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").arg("--homedir").arg(&self.home).args(["--kill", "all"]).output();
    }
}

/// A stand-in package: name, version (upstream, e.g. `1.0.0`), dependencies (names), and the
/// file it installs (`/usr/share/<name>/version`, holding the version). No maintainer scripts:
/// the throwaway apt and dnf roots have no shell to run them.
pub struct StandIn<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub depends: &'a [&'a str],
}

impl StandIn<'_> {
    pub fn package(&self) -> Package {
        Package {
            name: self.name.parse().unwrap(),
            version: PackageVersion::parse(self.version, 1).unwrap(),
            arch: Arch::All,
            summary: format!("Stand-in for {}", self.name),
            description: format!("A test package standing in for {}.", self.name),
            maintainer: "bmpack tests <tests@example.invalid>".into(),
            license: "AGPL-3.0-only".into(),
            copyright: "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n".into(),
            homepage: "https://www.bluemind.net/".into(),
            vendor: "BlueMind".into(),
            section: "misc".into(),
            rpm_group: "Applications/Internet".into(),
            files: vec![PayloadFile {
                dest: format!("/usr/share/{}/version", self.name).parse().unwrap(),
                source: FileSource::Bytes(Arc::from(format!("{}\n", self.version).into_bytes())),
                mode: FileMode::READABLE,
                kind: FileKind::Regular,
            }],
            relations: Relations {
                depends: self.depends.iter().map(|d| Relation::any(d.parse().unwrap())).collect(),
                ..Relations::default()
            },
            scripts: MaintainerScripts::default(),
            deb_lintian_overrides: None,
        }
    }
}

/// Writes each stand-in as .deb and .rpm into `out` with bmpack's own writers and build
/// (`deb/`, `rpm/`, `SHA256SUMS`: what `cargo xtask package` leaves for `publish`).
pub fn build_release(out: &Path, packages: &[StandIn]) {
    build_packages(out, &packages.iter().map(StandIn::package).collect::<Vec<_>>());
}

/// Writes packages as .deb and .rpm into `out` with bmpack's build (`deb/`, `rpm/`, `SHA256SUMS`).
pub fn build_packages(out: &Path, packages: &[Package]) {
    let options = BuildOptions {
        out: out.to_path_buf(),
        formats: Format::ALL.to_vec(),
        jobs: 1,
        write: WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 },
    };
    build_all(packages, &options, &Silent).unwrap_or_else(|e| panic!("building the stand-ins: {e:#}"));
}

/// The catalog's own packages (`packaging/*.toml`) at `version`, from small sample jars,
/// written into `out` as `cargo xtask package` does.
pub fn build_catalog_release(out: &Path, version: &str) {
    let catalog = Catalog::load(&crate::tools::project_root()).unwrap();
    let jars = tempfile::tempdir().unwrap();
    let mut spec = SampleSpec::new(catalog.declared_bundles(), version);
    spec.jar_bytes = 20_000;
    write_sample_bundles(jars.path(), &spec).unwrap();
    let bundles = BundleSet::load(jars.path()).unwrap();
    let packages =
        catalog.resolve(&bundles, &ResolveOptions::default(), Some(&crate::tools::project_root())).unwrap().packages;
    let options = BuildOptions {
        out: out.to_path_buf(),
        formats: Format::ALL.to_vec(),
        jobs: 2,
        write: WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 },
    };
    build_all(&packages, &options, &Silent).unwrap_or_else(|e| panic!("building the catalog's packages: {e:#}"));
}

/// One stand-in written as an (unsigned) .rpm into `dir`.
pub fn build_rpm(dir: &Path, p: &StandIn) -> PathBuf {
    let pkg = p.package();
    let writer = Format::Rpm.packager();
    let path = dir.join(writer.file_name(&pkg));
    let mut bytes = Vec::new();
    writer
        .write(&pkg, &WriteOptions { compression: Compression::Default, source_date_epoch: 1_700_000_000 }, &mut bytes)
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every file and link under `dir` with the SHA-256 of its content (or link target).
pub fn tree_hash(dir: &Path) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        let ty = entry.file_type();
        let digest = if ty.is_file() {
            hex(&Sha256::digest(std::fs::read(entry.path()).unwrap()))
        } else if ty.is_symlink() {
            format!("-> {}", std::fs::read_link(entry.path()).unwrap().display())
        } else {
            "dir".to_string()
        };
        map.insert(rel, digest);
    }
    map
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies a tree (for variants of a repository that a test tampers with).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}
