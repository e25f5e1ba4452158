//! `cargo xtask package` end to end (through the same library call), checked with the real
//! tools: file set, checksums, byte-identical rebuilds, lint, and nothing written on bad input.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bmpack::build::{BuildOptions, Silent, build_all};
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::model::FileSource;
use bmpack::pipeline::{PackageRequest, package};
use bmpack_tests::tools::{closed_pipe, project_root, require_tool, run_ok};

const EPOCH: u64 = 1_700_000_000;

fn request(out: &Path, samples: &Path) -> PackageRequest {
    PackageRequest {
        root: project_root(),
        bundles: None,
        samples_dir: samples.to_path_buf(),
        resolve: ResolveOptions::default(),
        build: BuildOptions {
            out: out.to_path_buf(),
            formats: Format::ALL.to_vec(),
            jobs: 2,
            write: WriteOptions { compression: Compression::Default, source_date_epoch: EPOCH },
        },
        record_fixed_versions: false,
    }
}

/// Every file under `dir` with its bytes, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            files.insert(e.path().strip_prefix(dir).unwrap().to_path_buf(), fs::read(e.path()).unwrap());
        }
    }
    files
}

fn declared_packages() -> Vec<String> {
    Catalog::load(&project_root())
        .unwrap()
        .declarations
        .iter()
        .filter(|d| d.in_default_set)
        .map(|d| d.name.to_string())
        .collect()
}

#[test]
fn a_fresh_build_writes_one_deb_and_one_rpm_per_declared_package_with_checksums() {
    require_tool("sha256sum", "coreutils");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let outcome = package(&request(&out, &tmp.path().join("samples")), &Silent).unwrap();
    assert!(outcome.samples.is_some(), "built without --bundles, so from samples");
    let names = declared_packages();
    assert_eq!(outcome.files.len(), names.len() * 2);
    for name in &names {
        let debs: Vec<_> = fs::read_dir(out.join("deb"))
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.starts_with(&format!("{name}_")).then_some(n)
            })
            .collect();
        assert_eq!(debs.len(), 1, "{name}: {debs:?}");
        assert!(debs[0].ends_with("_all.deb"), "{debs:?}");
        let rpms: Vec<_> = fs::read_dir(out.join("rpm"))
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                (n.starts_with(&format!("{name}-"))
                    && n.ends_with(".noarch.rpm")
                    && !n[name.len() + 1..].starts_with(|c: char| c.is_ascii_alphabetic()))
                .then_some(n)
            })
            .collect();
        assert_eq!(rpms.len(), 1, "{name}: {rpms:?}");
    }
    // The checksum file is what a release engineer verifies with.
    let check = std::process::Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    assert_eq!(String::from_utf8_lossy(&check.stdout).matches(": OK").count(), names.len() * 2);
    // No temporary or staging leftovers.
    for e in walkdir::WalkDir::new(&out) {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.starts_with(".partial") && !n.starts_with(".staging"), "leftover {n}");
    }
}

#[test]
fn two_builds_of_the_same_input_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = tmp.path().join("samples");
    package(&request(&tmp.path().join("a"), &samples), &Silent).unwrap();
    // Regenerate the samples too: they must be deterministic as well.
    fs::remove_dir_all(&samples).unwrap();
    package(&request(&tmp.path().join("b"), &samples), &Silent).unwrap();
    let (a, b) = (tree(&tmp.path().join("a")), tree(&tmp.path().join("b")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between two builds", path.display());
    }
}

#[test]
fn the_packages_read_back_with_dpkg_deb_and_rpm() {
    require_tool("dpkg-deb", "dpkg");
    require_tool("rpm", "rpm");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let outcome = package(&request(&out, &tmp.path().join("samples")), &Silent).unwrap();
    for f in &outcome.files {
        let path = f.path.to_str().unwrap();
        match f.format {
            Format::Deb => {
                let fields = run_ok("dpkg-deb", &["-f", path, "Package", "Version", "Architecture"]);
                assert!(fields.contains(&format!("Package: {}", f.package)), "{fields}");
                assert!(fields.contains(&format!("Version: {}", f.version)), "{fields}");
                assert!(fields.contains("Architecture: all"), "{fields}");
            }
            Format::Rpm => {
                let q = run_ok("rpm", &["-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}", path]);
                assert_eq!(q, format!("{} {} noarch", f.package, f.version));
                let k = run_ok("rpm", &["-K", "--nosignature", path]);
                assert!(k.contains("digests OK"), "{k}");
            }
        }
    }
}

#[test]
fn lintian_and_rpmlint_find_no_errors_and_no_warnings() {
    require_tool("lintian", "lintian");
    require_tool("rpmlint", "rpmlint");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    package(&request(&out, &tmp.path().join("samples")), &Silent).unwrap();
    let report = bmpack::lint::lint_build(&project_root(), &out).unwrap();
    assert_eq!(report.files, declared_packages().len() * 2);
    assert_eq!(report.problems, 0, "lint problems:\n{}", report.text);
}

#[test]
fn bad_input_leaves_the_previous_output_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let samples = tmp.path().join("samples");
    let outcome = package(&request(&out, &samples), &Silent).unwrap();
    let before = tree(&out);

    // A declared bundle missing from --bundles.
    let bundles = outcome.samples.unwrap();
    let partial = tmp.path().join("partial");
    copy_tree(&bundles, &partial);
    fs::remove_dir_all(partial.join("net.bluemind.filehosting.nextcloud12")).unwrap();
    let mut req = request(&out, &samples);
    req.bundles = Some(partial);
    let err = package(&req, &Silent).unwrap_err().to_string();
    assert!(err.contains("net.bluemind.filehosting.nextcloud12"), "{err}");
    assert_eq!(tree(&out), before, "a refused input must not change the output");

    // A jar that disappears while packages are being written: the build fails part-way,
    // yet nothing of it shows in the output.
    let catalog = Catalog::load(&project_root()).unwrap();
    let set = bmpack::bundle::BundleSet::load(&bundles).unwrap();
    let mut packages = catalog.resolve(&set, &ResolveOptions::default(), Some(&project_root())).unwrap().packages;
    let last = packages.last_mut().unwrap();
    let jar = last.files.iter_mut().find(|f| matches!(f.source, FileSource::Path(_))).expect("a jar");
    jar.source = FileSource::Path(tmp.path().join("vanished.jar"));
    let err = build_all(&packages, &request(&out, &samples).build, &Silent).unwrap_err();
    assert!(format!("{err:#}").contains("vanished.jar"), "{err:#}");
    assert_eq!(tree(&out), before, "a failed build must leave the previous output whole");
    let names: Vec<String> =
        fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with(".staging")), "{names:?}");
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// `cargo xtask package | head` (a release engineer glancing at the first lines): the command
/// itself, with nobody reading its table, still writes the whole set and exits 0, rather than
/// stopping with a panic at its first line of output.
#[test]
fn cargo_xtask_package_finishes_when_nobody_reads_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = std::process::Command::new(cargo)
        .current_dir(project_root())
        .args(["run", "--release", "--quiet", "-p", "xtask", "--", "package", "--out"])
        .arg(&out)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success() && !stderr.contains("panicked"),
        "cargo xtask package into a closed pipe: {}\n{stderr}",
        run.status
    );
    let check = std::process::Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

/// `--package` with a package that has no jars of its own but depends on one that has: the
/// sample jars are made for what the selection pulls in (the catalog's one selection).
#[test]
fn one_package_without_jars_that_needs_a_package_with_jars_builds_from_samples() {
    let out = tempfile::tempdir().unwrap();
    let samples = tempfile::tempdir().unwrap();
    let mut req = request(out.path(), samples.path());
    req.resolve.only = vec!["bm-nextcloud-replaces-filehosting".to_string()];
    let outcome = package(&req, &Silent).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(outcome.samples.is_some(), "no sample jars were made");
    let names: Vec<String> =
        outcome.files.iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for wanted in ["bm-nextcloud-replaces-filehosting_", "bm-nextcloud-common_", "bm-plugin-reload_"] {
        assert!(names.iter().any(|n| n.starts_with(wanted)), "{wanted}… missing from {names:?}");
    }
}
