//! Reading `--bundles` (a folder of jars or a marketplace archive) and the sample jars, checked with
//! real tools (`unzip -t`, Python's `zipfile`, Java's own `JarFile`) where a tool can say more than
//! our own reader.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use bmpack::bundle::{BundleError, BundleSet};
use bmpack::manifest::Manifest;
use bmpack::nextcloud::NextcloudMatrix;
use bmpack::samples::{SampleSpec, pack_tar_gz, pack_zip, write_sample_bundles};

const VERSION: &str = "4.8.2";

/// The bundle names the package declarations ask for: packaging/bmpack.toml and the connectors of
/// packaging/nextcloud.toml.
fn declared_bundle_names() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/bmpack.toml");
    let text = fs::read_to_string(&path).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    let mut names = Vec::new();
    for package in value["package"].as_array().unwrap() {
        // Packages without bundles (bm-plugin-reload, …) have a fixed `version` instead.
        for bundle in package.get("bundles").and_then(|b| b.as_array()).into_iter().flatten() {
            names.push(bundle["name"].as_str().unwrap().to_string());
        }
    }
    let matrix = NextcloudMatrix::builtin();
    names.extend(matrix.majors.iter().map(|&m| matrix.bundle_for(m)));
    assert!(names.len() >= 6, "bmpack.toml and nextcloud.toml declare the bundles: {names:?}");
    names
}

/// Small samples of every declared bundle (small: the tests run unoptimised).
fn small_samples(dir: &Path) -> Vec<PathBuf> {
    let mut spec = SampleSpec::new(declared_bundle_names(), VERSION);
    spec.jar_bytes = 48 * 1024;
    write_sample_bundles(dir, &spec).unwrap()
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs a system tool; a missing tool fails the test with what to install.
fn run(program: &str, args: &[&str], package: &str) -> std::process::Output {
    match Command::new(program).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{program}` is not installed; this test needs it: apt-get install {package}")
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

fn assert_tool_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The error of loading `path`, as the user sees it, with its type.
fn load_error(path: &Path, scratch: &Path) -> (BundleError, String) {
    match BundleSet::load_checked(path, Some(scratch)) {
        Ok(set) => panic!("{} loaded, but it should be refused: {:?}", path.display(), set.bundles.keys()),
        Err(e) => {
            let text = e.to_string();
            (e, text)
        }
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "the message should mention `{part}`:\n{message}");
    }
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "nothing should be left in {}: {left:?}", dir.display());
}

/// A jar with exactly these entries (name, content), deflated.
fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
}

fn write_jar_with_manifest(path: &Path, manifest: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_zip(path, &[("META-INF/MANIFEST.MF", manifest.as_bytes()), ("a/B.class", &[0xCA, 0xFE, 0xBA, 0xBE])]);
}

// ---------------------------------------------------------------------------------------------
// Sample jars

#[test]
fn sample_jars_pass_unzip_and_python_zipfile_tests() {
    let dir = temp();
    let jars = small_samples(dir.path());
    assert_eq!(jars.len(), declared_bundle_names().len());
    for jar in &jars {
        let jar = jar.to_str().unwrap();
        assert_tool_ok(&run("unzip", &["-tq", jar], "unzip"), &format!("unzip -t {jar}"));
        assert_tool_ok(
            &run("python3", &["-m", "zipfile", "-t", jar], "python3"),
            &format!("python3 -m zipfile -t {jar}"),
        );
    }
}

#[test]
fn sample_jars_are_laid_out_like_the_vendor_archive_and_carry_class_files() {
    let dir = temp();
    let names = declared_bundle_names();
    let jars = small_samples(dir.path());
    for (name, jar) in names.iter().zip(&jars) {
        assert_eq!(jar, &dir.path().join(name).join(format!("{name}-{VERSION}.jar")));
        let listing = run("unzip", &["-Z1", jar.to_str().unwrap()], "unzip");
        assert_tool_ok(&listing, "unzip -Z1");
        let entries: Vec<String> = String::from_utf8(listing.stdout).unwrap().lines().map(String::from).collect();
        assert_eq!(entries[..2], ["META-INF/", "META-INF/MANIFEST.MF"], "the manifest comes first, as `jar` writes it");
        assert!(entries.contains(&"plugin.xml".to_string()));
        let package = format!("{}/", name.replace('.', "/"));
        let classes: Vec<&String> = entries.iter().filter(|e| e.ends_with(".class")).collect();
        assert!(classes.len() >= 3, "{}: a few classes: {classes:?}", jar.display());
        for class in classes {
            assert!(class.starts_with(&package), "{class} is in the bundle's packages ({package})");
            let bytes = run("unzip", &["-p", jar.to_str().unwrap(), class], "unzip").stdout;
            assert_eq!(bytes[..4], [0xCA, 0xFE, 0xBA, 0xBE], "{class} starts with the class file magic");
        }
    }
}

#[test]
fn sample_manifests_are_wrapped_at_72_bytes_with_crlf() {
    let dir = temp();
    let jars = small_samples(dir.path());
    let manifest = run("unzip", &["-p", jars[0].to_str().unwrap(), "META-INF/MANIFEST.MF"], "unzip").stdout;
    let text = String::from_utf8(manifest).unwrap();
    assert!(text.ends_with("\r\n\r\n"), "CRLF lines and a blank line ending the main section");
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines.iter().all(|l| l.len() <= 72), "no line over 72 bytes:\n{text}");
    assert!(lines.iter().filter(|l| l.starts_with(' ')).count() >= 5, "long headers use continuation lines:\n{text}");
    assert!(text.contains(";singleton:=true"), "{text}");
    for header in ["Manifest-Version: 1.0", "Bundle-ManifestVersion: 2", "Bundle-Name: ", "Bundle-Version: 4.8.2"] {
        assert!(lines.iter().any(|l| l.starts_with(header)), "`{header}` in\n{text}");
    }
}

/// Java's own manifest reader (what Equinox uses) sees the same symbolic name and version.
#[test]
fn java_reads_the_sample_manifests_as_we_do() {
    let dir = temp();
    let jars = small_samples(dir.path());
    let program = dir.path().join("ReadManifest.java");
    fs::write(
        &program,
        "public class ReadManifest { public static void main(String[] a) throws Exception {\n\
         for (String p : a) { var m = new java.util.jar.JarFile(p).getManifest().getMainAttributes();\n\
         System.out.println(m.getValue(\"Bundle-SymbolicName\") + \" \" + m.getValue(\"Bundle-Version\")\n\
         + \" \" + m.getValue(\"Import-Package\").length()); } } }\n",
    )
    .unwrap();
    let mut args = vec![program.to_str().unwrap()];
    args.extend(jars.iter().map(|j| j.to_str().unwrap()));
    let output = run("java", &args, "default-jdk-headless");
    assert_tool_ok(&output, "java ReadManifest.java");
    let java_lines: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(String::from).collect();
    let ours: Vec<String> = jars
        .iter()
        .map(|jar| {
            let bytes = run("unzip", &["-p", jar.to_str().unwrap(), "META-INF/MANIFEST.MF"], "unzip").stdout;
            let m = Manifest::parse(&bytes).unwrap();
            format!(
                "{} {} {}",
                m.get("Bundle-SymbolicName").unwrap(),
                m.get("Bundle-Version").unwrap(),
                m.get("Import-Package").unwrap().len()
            )
        })
        .collect();
    assert_eq!(java_lines, ours);
}

#[test]
fn same_spec_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (temp(), temp(), temp());
    let mut spec =
        SampleSpec::new(["net.bluemind.filehosting.nextcloud", "net.bluemind.filehosting.nextcloud12"], VERSION);
    spec.jar_bytes = 64 * 1024;
    let first = write_sample_bundles(a.path(), &spec).unwrap();
    let second = write_sample_bundles(b.path(), &spec).unwrap();
    spec.seed = 1;
    let reseeded = write_sample_bundles(c.path(), &spec).unwrap();
    for ((x, y), z) in first.iter().zip(&second).zip(&reseeded) {
        assert!(fs::read(x).unwrap() == fs::read(y).unwrap(), "{} and {} differ", x.display(), y.display());
        assert!(fs::read(x).unwrap() != fs::read(z).unwrap(), "the seed changes {}", z.display());
    }
    assert!(fs::read(&first[0]).unwrap() != fs::read(&first[1]).unwrap(), "each bundle has its own bytes");
}

/// The jars come out near the asked size and deflate like bytecode (to about 40%), not like zeros
/// (to almost nothing) nor like noise (not at all).
#[test]
fn jar_sizes_follow_the_spec() {
    let dir = temp();
    let mut spec =
        SampleSpec::new(["net.bluemind.filehosting.nextcloud", "net.bluemind.videoconferencing.starleaf"], VERSION);
    spec.jar_bytes = 300 * 1024;
    spec.jar_bytes_for.insert("net.bluemind.videoconferencing.starleaf".into(), 900 * 1024);
    let jars = write_sample_bundles(dir.path(), &spec).unwrap();
    for (jar, asked) in jars.iter().zip([300 * 1024, 900 * 1024]) {
        let size = fs::metadata(jar).unwrap().len() as f64;
        assert!((size / asked as f64 - 1.0).abs() < 0.15, "{}: {size} bytes for {asked} asked", jar.display());
        let mut archive = zip::ZipArchive::new(fs::File::open(jar).unwrap()).unwrap();
        let uncompressed: u64 = (0..archive.len()).map(|i| archive.by_index(i).unwrap().size()).sum();
        let ratio = size / uncompressed as f64;
        assert!((0.25..0.6).contains(&ratio), "{}: deflates to {ratio:.2} of its contents", jar.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Loading good input

fn assert_is_the_sample_set(set: &BundleSet, samples: &Path) {
    let names = declared_bundle_names();
    assert_eq!(set.bundles.keys().cloned().collect::<BTreeSet<_>>(), names.iter().cloned().collect::<BTreeSet<_>>());
    for name in &names {
        let bundle = set.get(name).unwrap();
        assert_eq!(bundle.symbolic_name, *name);
        assert_eq!(bundle.version, VERSION);
        assert_eq!(bundle.install_name(), format!("{name}-{VERSION}.jar"));
        let original = samples.join(name).join(bundle.install_name());
        assert!(
            fs::read(&bundle.path).unwrap() == fs::read(&original).unwrap(),
            "{} is the sample jar",
            bundle.path.display()
        );
    }
    assert!(set.missing(names.iter().map(String::as_str)).is_empty());
    assert_eq!(set.missing(["net.bluemind.filehosting.nextcloud10"]), ["net.bluemind.filehosting.nextcloud10"]);
    assert!(set.undeclared(names.iter().map(String::as_str)).is_empty());
}

#[test]
fn loads_a_folder_of_jars_ignoring_other_files() {
    let dir = temp();
    small_samples(dir.path());
    fs::write(dir.path().join("net.bluemind.filehosting.nextcloud/NOTES.md"), "not a jar").unwrap();
    let set = BundleSet::load(dir.path()).unwrap();
    assert_is_the_sample_set(&set, dir.path());
    assert!(set._extracted.is_none());
    let bundle = set.get("net.bluemind.filehosting.nextcloud12").unwrap();
    assert_eq!(
        bundle.origin,
        dir.path()
            .join("net.bluemind.filehosting.nextcloud12/net.bluemind.filehosting.nextcloud12-4.8.2.jar")
            .display()
            .to_string()
    );
}

#[test]
fn identity_comes_from_the_manifest_not_the_file_name() {
    let dir = temp();
    write_jar_with_manifest(
        &dir.path().join("whatever/connector.JAR"),
        "Manifest-Version: 1.0\nBundle-SymbolicName: net.bluemind.filehosting.nextcl\n oud12;singleton:=true\nBundle-Version: 4.8.2.v20240101-1200\n",
    );
    let set = BundleSet::load(dir.path()).unwrap();
    let bundle = set.get("net.bluemind.filehosting.nextcloud12").expect("found by its manifest");
    assert_eq!(bundle.version, "4.8.2.v20240101-1200");
    assert_eq!(bundle.install_name(), "net.bluemind.filehosting.nextcloud12-4.8.2.v20240101-1200.jar");
}

#[test]
fn loads_a_marketplace_zip_and_tar_gz() {
    let samples = temp();
    small_samples(samples.path());
    let archives = temp();
    let zip_path = archives.path().join("bluemind-plugins.zip");
    let tgz_path = archives.path().join("bluemind-plugins.tar.gz");
    pack_zip(samples.path(), &zip_path).unwrap();
    pack_tar_gz(samples.path(), &tgz_path).unwrap();
    // The archives themselves are valid for the real tools.
    assert_tool_ok(&run("unzip", &["-tq", zip_path.to_str().unwrap()], "unzip"), "unzip -t");
    assert_tool_ok(&run("tar", &["-tzf", tgz_path.to_str().unwrap()], "tar"), "tar -tzf");

    for archive in [&zip_path, &tgz_path] {
        let scratch = temp();
        let set = BundleSet::load_in(archive, scratch.path()).unwrap();
        assert_is_the_sample_set(&set, samples.path());
        let bundle = set.get("net.bluemind.filehosting.nextcloud12").unwrap();
        assert_eq!(
            bundle.origin,
            format!(
                "{}!/net.bluemind.filehosting.nextcloud12/net.bluemind.filehosting.nextcloud12-4.8.2.jar",
                archive.display()
            )
        );
        assert!(bundle.path.starts_with(scratch.path()), "extracted under the scratch folder");
        drop(set);
        assert_empty(scratch.path());
    }
}

/// The vendor's archive may put everything under one top folder and add non-jar files.
#[test]
fn loads_an_archive_with_a_top_folder_and_a_readme() {
    let root = temp();
    let top = root.path().join("bluemind-plugins-4.8.2");
    small_samples(&top);
    fs::write(top.join("LISEZMOI.txt"), "Installer avec apt ou yum.").unwrap();
    let out = temp();
    let archive = out.path().join("bluemind-plugins.tgz");
    pack_tar_gz(root.path(), &archive).unwrap();
    let scratch = temp();
    let set = BundleSet::load_in(&archive, scratch.path()).unwrap();
    assert_is_the_sample_set(&set, &top);
    let bundle = set.get("net.bluemind.videoconferencing.starleaf").unwrap();
    assert_eq!(
        bundle.origin,
        format!(
            "{}!/bluemind-plugins-4.8.2/net.bluemind.videoconferencing.starleaf/net.bluemind.videoconferencing.starleaf-4.8.2.jar",
            archive.display()
        )
    );
}

#[test]
fn an_archive_without_jars_is_refused() {
    let dir = temp();
    let content = dir.path().join("content");
    fs::create_dir_all(content.join("docs")).unwrap();
    fs::write(content.join("docs/README.txt"), "no jars here").unwrap();
    for name in ["empty.zip", "empty.tar.gz"] {
        let archive = dir.path().join(name);
        if name.ends_with(".zip") {
            pack_zip(&content, &archive).unwrap()
        } else {
            pack_tar_gz(&content, &archive).unwrap()
        }
        let scratch = temp();
        let (error, message) = load_error(&archive, scratch.path());
        assert!(matches!(error, BundleError::NoJars { .. }), "{message}");
        assert_mentions(&message, &[archive.to_str().unwrap(), "no .jar file"]);
        assert_empty(scratch.path());
    }
}

#[test]
fn packing_is_deterministic() {
    let samples = temp();
    small_samples(samples.path());
    let out = temp();
    for (pack, name) in [(pack_zip as fn(&Path, &Path) -> anyhow::Result<()>, "a.zip"), (pack_tar_gz, "a.tar.gz")] {
        let (first, second) = (out.path().join(format!("1{name}")), out.path().join(format!("2{name}")));
        pack(samples.path(), &first).unwrap();
        pack(samples.path(), &second).unwrap();
        assert!(fs::read(&first).unwrap() == fs::read(&second).unwrap(), "{name} twice is the same bytes");
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: one clear error each, naming the file and the fix; nothing left behind.

#[test]
fn a_missing_path_is_named() {
    let dir = temp();
    let missing = dir.path().join("no-such-bundles");
    let (error, message) = load_error(&missing, dir.path());
    assert!(matches!(error, BundleError::NotFound { .. }), "{message}");
    assert_mentions(&message, &[missing.to_str().unwrap(), "no such file or folder", "give the folder"]);
}

#[test]
fn a_folder_without_jars_is_refused() {
    let dir = temp();
    let bundles = dir.path().join("bundles");
    fs::create_dir_all(bundles.join("net.bluemind.filehosting.nextcloud")).unwrap();
    let (error, message) = load_error(&bundles, dir.path());
    assert!(matches!(error, BundleError::NoJars { .. }), "{message}");
    assert_mentions(&message, &[bundles.to_str().unwrap(), "no .jar file", "give the folder"]);
    // Only a README: still no jar.
    fs::write(bundles.join("README.txt"), "hello").unwrap();
    let (error, _) = load_error(&bundles, dir.path());
    assert!(matches!(error, BundleError::NoJars { .. }));
}

#[test]
fn two_jars_for_one_bundle_name_both_files() {
    let dir = temp();
    small_samples(dir.path());
    let original =
        dir.path().join("net.bluemind.filehosting.nextcloud12/net.bluemind.filehosting.nextcloud12-4.8.2.jar");
    let copy = dir.path().join("old/nextcloud-connector.jar");
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    fs::copy(&original, &copy).unwrap();
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::Duplicate { .. }), "{message}");
    assert_mentions(
        &message,
        &[
            "two jars for bundle `net.bluemind.filehosting.nextcloud12`",
            original.to_str().unwrap(),
            copy.to_str().unwrap(),
            "keep only one",
        ],
    );
}

#[test]
fn a_jar_that_is_not_a_zip_is_named() {
    let dir = temp();
    small_samples(dir.path());
    let fake = dir.path().join("net.bluemind.filehosting.nextcloud/download-error.jar");
    fs::write(&fake, "<html>404 Not Found</html>").unwrap();
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::NotAZip { .. }), "{message}");
    assert_mentions(&message, &[fake.to_str().unwrap(), "not a zip file", "replace it with the bundle's jar"]);
}

#[test]
fn a_jar_without_manifest_is_not_a_bundle() {
    let dir = temp();
    let jar = dir.path().join("lib/plain.jar");
    fs::create_dir_all(jar.parent().unwrap()).unwrap();
    write_zip(&jar, &[("a/B.class", &[0xCA, 0xFE, 0xBA, 0xBE])]);
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::NoManifest { .. }), "{message}");
    assert_mentions(
        &message,
        &[jar.to_str().unwrap(), "not an OSGi bundle", "META-INF/MANIFEST.MF", "remove this file"],
    );
}

#[test]
fn a_jar_without_symbolic_name_is_not_a_bundle() {
    let dir = temp();
    let jar = dir.path().join("lib/library.jar");
    write_jar_with_manifest(&jar, "Manifest-Version: 1.0\r\nCreated-By: Maven\r\nImplementation-Version: 2.1\r\n");
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::NoSymbolicName { .. }), "{message}");
    assert_mentions(
        &message,
        &[jar.to_str().unwrap(), "not an OSGi bundle", "Bundle-SymbolicName", "remove this file"],
    );
}

#[test]
fn a_bundle_without_version_is_refused() {
    let dir = temp();
    let jar = dir.path().join("net.bluemind.videoconferencing.starleaf/starleaf.jar");
    write_jar_with_manifest(
        &jar,
        "Manifest-Version: 1.0\r\nBundle-ManifestVersion: 2\r\nBundle-SymbolicName: net.bluemind.videoconferencing.starleaf;singleton:=true\r\n",
    );
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::NoVersion { .. }), "{message}");
    assert_mentions(
        &message,
        &[
            jar.to_str().unwrap(),
            "net.bluemind.videoconferencing.starleaf",
            "no Bundle-Version",
            "Bundle-Version: 4.8.2",
        ],
    );
}

#[test]
fn a_malformed_manifest_is_named_with_its_line() {
    let dir = temp();
    let jar = dir.path().join("x/broken.jar");
    write_jar_with_manifest(&jar, "Manifest-Version: 1.0\nthis line has no colon\n");
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::BadManifest { .. }), "{message}");
    assert_mentions(&message, &[jar.to_str().unwrap(), "line 2", "MANIFEST.MF"]);
}

#[test]
fn a_bad_jar_inside_an_archive_is_named_by_its_place_in_the_archive() {
    let samples = temp();
    small_samples(samples.path());
    fs::write(samples.path().join("net.bluemind.filehosting.nextcloud/broken.jar"), "not a zip").unwrap();
    let out = temp();
    let archive = out.path().join("market.zip");
    pack_zip(samples.path(), &archive).unwrap();
    let scratch = temp();
    let (error, message) = load_error(&archive, scratch.path());
    assert!(matches!(error, BundleError::NotAZip { .. }), "{message}");
    assert_mentions(&message, &[&format!("{}!/net.bluemind.filehosting.nextcloud/broken.jar", archive.display())]);
    assert_empty(scratch.path());
}

#[test]
fn unsupported_archives_and_single_jars_are_refused() {
    let dir = temp();
    for name in ["plugins.tar.xz", "plugins.rar", "plugins.7z"] {
        let path = dir.path().join(name);
        fs::write(&path, "whatever").unwrap();
        let (error, message) = load_error(&path, dir.path());
        assert!(matches!(error, BundleError::UnsupportedArchive { .. }), "{message}");
        assert_mentions(
            &message,
            &[path.to_str().unwrap(), "unsupported archive type", ".zip", ".tar.gz", "give the folder"],
        );
    }
    let jar = dir.path().join("one.jar");
    write_jar_with_manifest(&jar, "Bundle-SymbolicName: a.b\nBundle-Version: 1\n");
    let (error, message) = load_error(&jar, dir.path());
    assert!(matches!(error, BundleError::SingleJar { .. }), "{message}");
    assert_mentions(&message, &[jar.to_str().unwrap(), "give the folder that holds it"]);
}

#[test]
fn an_archive_that_is_not_what_its_name_says_is_refused() {
    let dir = temp();
    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    for name in ["plugins.zip", "plugins.tar.gz", "plugins.tgz"] {
        let path = dir.path().join(name);
        fs::write(&path, "<html>login required</html>").unwrap();
        let (error, message) = load_error(&path, &scratch);
        assert!(matches!(error, BundleError::BadArchive { .. }), "{message}");
        assert_mentions(&message, &[path.to_str().unwrap(), "not a readable", "download it again"]);
        assert_empty(&scratch);
    }
}

// Archives with entries that would land outside the extraction folder.

/// A zip with a good sample jar first, then `bad` (written by `add`).
fn zip_with(path: &Path, add: impl FnOnce(&mut zip::ZipWriter<fs::File>)) {
    let samples = temp();
    let jar = small_samples(samples.path()).remove(0);
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("net.bluemind.filehosting.nextcloud/net.bluemind.filehosting.nextcloud-4.8.2.jar", options).unwrap();
    zip.write_all(&fs::read(jar).unwrap()).unwrap();
    add(&mut zip);
    zip.finish().unwrap();
}

fn assert_unsafe(archive: &Path, entry: &str, reason: &str) {
    let scratch = temp();
    let (error, message) = load_error(archive, scratch.path());
    assert!(matches!(error, BundleError::UnsafeEntry { .. }), "{message}");
    assert_mentions(
        &message,
        &[
            archive.to_str().unwrap(),
            &format!("entry `{entry}`"),
            reason,
            "whole archive is refused",
            "unpack and inspect it yourself",
        ],
    );
    assert_empty(scratch.path());
}

#[test]
fn zip_entries_escaping_the_folder_refuse_the_whole_archive() {
    let dir = temp();
    let jar_bytes = fs::read(small_samples(&dir.path().join("s")).remove(0)).unwrap();
    let file = zip::write::SimpleFileOptions::default();
    for (name, reason) in [
        ("../evil.jar", "escapes the archive's folder"),
        ("net.x/../../evil.jar", "escapes the archive's folder"),
        ("/usr/share/bm-core/extensions/evil.jar", "absolute path"),
        ("C:\\evil.jar", "absolute"),
    ] {
        let archive = dir.path().join("bad.zip");
        zip_with(&archive, |zip| {
            zip.start_file(name, file).unwrap();
            zip.write_all(&jar_bytes).unwrap();
        });
        assert_unsafe(&archive, name, reason);
    }
    let archive = dir.path().join("link.zip");
    zip_with(&archive, |zip| zip.add_symlink("net.x/evil.jar", "/etc/passwd", file).unwrap());
    assert_unsafe(&archive, "net.x/evil.jar", "symbolic link");
    // A symlinked folder, even when the entry is not a jar.
    let archive = dir.path().join("dirlink.zip");
    zip_with(&archive, |zip| zip.add_symlink("net.y", "/usr/share/bm-core", file).unwrap());
    assert_unsafe(&archive, "net.y", "symbolic link");
}

/// A tar.gz with a good sample jar first, then an entry of `kind` named `name` (written raw, since
/// the tar crate refuses to write such names).
fn tar_gz_with(path: &Path, name: &str, kind: tar::EntryType, link: Option<&str>) {
    let samples = temp();
    let jar = small_samples(samples.path()).remove(0);
    let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_path_with_name(&jar, "net.bluemind.filehosting.nextcloud/net.bluemind.filehosting.nextcloud-4.8.2.jar")
        .unwrap();
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    let content: &[u8] = if kind == tar::EntryType::Regular { b"PK\x05\x06" } else { b"" };
    header.set_size(content.len() as u64);
    header.set_cksum();
    tar.append(&header, content).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn tar_entries_escaping_the_folder_refuse_the_whole_archive() {
    let dir = temp();
    let archive = dir.path().join("bad.tar.gz");
    use tar::EntryType::{Link, Regular, Symlink};
    for (name, kind, link, reason) in [
        ("../evil.jar", Regular, None, "escapes the archive's folder"),
        ("./net.x/../../evil.jar", Regular, None, "escapes the archive's folder"),
        ("/usr/share/bm-core/extensions/evil.jar", Regular, None, "absolute path"),
        ("net.x/evil.jar", Symlink, Some("/etc/passwd"), "symbolic link (to `/etc/passwd`)"),
        ("net.x", Symlink, Some("/usr/share/bm-core"), "symbolic link"),
        ("net.x/evil.jar", Link, Some("../../etc/passwd"), "hard link"),
    ] {
        tar_gz_with(&archive, name, kind, link);
        assert_unsafe(&archive, name, reason);
    }
}

// ---------------------------------------------------------------------------------------------
// Manifests read as java.util.jar.Manifest reads them (BlueMind's startup uses it to find each
// extension's Bundle-SymbolicName), compared case by case with Java itself.

/// Manifests where a loose reader and Java disagree, each compared with `java.util.jar.Manifest`.
const MANIFEST_CASES: &[(&str, &[u8])] = &[
    ("header repeated in another case: Java keeps the last", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: net.first\r\nbundle-symbolicname: net.second\r\nBundle-Version: 1.0.0\r\n\r\n"),
    ("no space after the colon", b"Manifest-Version: 1.0\r\nBundle-SymbolicName:net.x\r\nBundle-Version: 1.0.0\r\n"),
    ("a tab after the colon", b"Manifest-Version: 1.0\r\nBundle-SymbolicName:\tnet.x\r\nBundle-Version: 1.0.0\r\n"),
    ("a colon ending the line", b"Manifest-Version: 1.0\r\nBundle-SymbolicName:\r\nBundle-Version: 1.0.0\r\n"),
    ("an empty value", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: \r\nBundle-Version: 1.0.0\r\n"),
    ("the last line without a line break", b"Manifest-Version: 1.0\r\nBundle-Version: 1.0.0\r\nBundle-SymbolicName: net.x"),
    ("a byte order mark", b"\xEF\xBB\xBFManifest-Version: 1.0\r\nBundle-SymbolicName: net.x\r\nBundle-Version: 1.0.0\r\n"),
    ("a name of 71 characters", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: net.x\r\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX: y\r\n"),
    ("a continuation line first", b" Manifest-Version: 1.0\r\nBundle-SymbolicName: net.x\r\n"),
    ("CR line breaks and a continuation", b"Manifest-Version: 1.0\rBundle-SymbolicName: net.bluemind.filehosting.nextc\r loud12;singleton:=true\rBundle-Version: 4.1.0\r"),
    ("invalid UTF-8 in a value", b"Manifest-Version: 1.0\nBundle-SymbolicName: net.x\nBundle-Version: 1.0.\xff\n"),
    ("a section after a blank line", b"Manifest-Version: 1.0\n\nName: a/b\nBundle-SymbolicName: net.x\n"),
];

/// `OK <hex of Bundle-SymbolicName or -> <hex of Bundle-Version or ->` or `ERR`, as Java or we read it.
fn manifest_outcome(result: Result<(Option<String>, Option<String>), ()>) -> String {
    let hex = |v: Option<String>| v.map_or("-".to_string(), |v| v.bytes().map(|b| format!("{b:02x}")).collect());
    match result {
        Ok((name, version)) => format!("OK {} {}", hex(name), hex(version)),
        Err(()) => "ERR".to_string(),
    }
}

#[test]
fn manifests_are_read_as_java_util_jar_reads_them() {
    let dir = temp();
    let program = dir.path().join("JavaManifest.java");
    fs::write(
        &program,
        "import java.nio.charset.StandardCharsets;\n\
         public class JavaManifest { static String hex(String v) { if (v == null) return \"-\";\n\
         StringBuilder b = new StringBuilder(); for (byte x : v.getBytes(StandardCharsets.UTF_8)) b.append(String.format(\"%02x\", x)); return b.toString(); }\n\
         public static void main(String[] a) throws Exception { for (String p : a) { try (var in = new java.io.FileInputStream(p)) {\n\
         var m = new java.util.jar.Manifest(in).getMainAttributes();\n\
         System.out.println(\"OK \" + hex(m.getValue(\"Bundle-SymbolicName\")) + \" \" + hex(m.getValue(\"Bundle-Version\")));\n\
         } catch (java.io.IOException e) { System.out.println(\"ERR\"); } } } }\n",
    )
    .unwrap();
    let mut args = vec![program.to_str().unwrap().to_string()];
    for (i, (_, bytes)) in MANIFEST_CASES.iter().enumerate() {
        let file = dir.path().join(format!("case{i}.mf"));
        fs::write(&file, bytes).unwrap();
        args.push(file.to_str().unwrap().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run("java", &args, "default-jdk-headless");
    assert_tool_ok(&output, "java JavaManifest.java");
    let java: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(java.len(), MANIFEST_CASES.len());
    for ((label, bytes), java) in MANIFEST_CASES.iter().zip(&java) {
        let ours = manifest_outcome(
            Manifest::parse(bytes)
                .map(|m| (m.get("Bundle-SymbolicName").map(String::from), m.get("Bundle-Version").map(String::from)))
                .map_err(|_| ()),
        );
        assert_eq!(&ours, java, "{label}: bmpack and java.util.jar.Manifest disagree");
    }
}

#[test]
fn manifest_errors_say_what_java_does() {
    let dir = temp();
    let jar = dir.path().join("x/no-space.jar");
    write_jar_with_manifest(&jar, "Manifest-Version: 1.0\r\nBundle-SymbolicName:net.x\r\nBundle-Version: 1.0.0\r\n");
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::BadManifest { .. }), "{message}");
    assert_mentions(
        &message,
        &[
            jar.to_str().unwrap(),
            "line 2",
            "no space after its `:`",
            "java.util.jar refuses it",
            "Bundle-SymbolicName: value",
        ],
    );

    let dir = temp();
    let jar = dir.path().join("x/unterminated.jar");
    write_jar_with_manifest(&jar, "Manifest-Version: 1.0\r\nBundle-Version: 1.0.0\r\nBundle-SymbolicName: net.x");
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::NoSymbolicName { .. }), "{message}");
    assert_mentions(&message, &["`Bundle-SymbolicName: net.x`, has no line break", "Java ignores such a line"]);

    // The name BlueMind's startup opens is exact: another case is skipped there.
    let dir = temp();
    let jar = dir.path().join("x/lower.jar");
    fs::create_dir_all(jar.parent().unwrap()).unwrap();
    write_zip(
        &jar,
        &[("meta-inf/manifest.mf", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: net.x\r\nBundle-Version: 1\r\n")],
    );
    let (error, message) = load_error(dir.path(), dir.path());
    assert!(matches!(error, BundleError::BadManifest { .. }), "{message}");
    assert_mentions(&message, &["`meta-inf/manifest.mf`", "exact name META-INF/MANIFEST.MF", "bmpack is as strict"]);
}

// ---------------------------------------------------------------------------------------------
// Duplicate entries and archive bombs: refused with the limits named, nothing left in scratch.

#[test]
fn a_zip_with_an_entry_name_given_twice_is_refused() {
    let dir = temp();
    let jar_bytes = fs::read(small_samples(&dir.path().join("s")).remove(0)).unwrap();
    let archive = dir.path().join("twice.zip");
    // The zip crate's writer refuses a second entry of one name: write two archives and join
    // their central directories by hand would be long; Python's zipfile writes it as asked.
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    for (second, what) in [("net.x/a.jar", "the same jar twice"), ("README.txt", "a README twice")] {
        let script = format!(
            "import zipfile, warnings\nwarnings.simplefilter('ignore')\nz = zipfile.ZipFile({archive:?}, 'w')\n\
             z.writestr('net.x/a.jar', open({jar:?}, 'rb').read())\nz.writestr('README.txt', b'first')\n\
             z.writestr({second:?}, b'second copy')\nz.close()\n",
            archive = archive.display().to_string(),
            jar = dir.path().join("jar").display().to_string(),
        );
        fs::write(dir.path().join("jar"), &jar_bytes).unwrap();
        assert_tool_ok(&run(&python, &["-c", &script], "python3"), "python3 zipfile");
        let scratch = temp();
        let (error, message) = load_error(&archive, scratch.path());
        assert!(matches!(error, BundleError::UnsafeEntry { .. }), "{what}: {message}");
        assert_mentions(
            &message,
            &[archive.to_str().unwrap(), &format!("entry `{second}`"), "appears twice", "whole archive is refused"],
        );
        assert_empty(scratch.path());
    }
    // Two names for one file: `./a/b.txt` and `a\b.txt`.
    let archive = dir.path().join("aliases.zip");
    write_zip(&archive, &[("a/b.txt", b"one"), ("./a\\b.txt", b"two")]);
    let scratch = temp();
    let (_, message) = load_error(&archive, scratch.path());
    assert_mentions(&message, &["entry `./a\\b.txt`", "names the same file as entry `a/b.txt`"]);
    assert_empty(scratch.path());
}

#[test]
fn a_tar_with_a_file_given_twice_is_refused() {
    let dir = temp();
    let archive = dir.path().join("twice.tar.gz");
    let gz = flate2::write::GzEncoder::new(fs::File::create(&archive).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for content in [&b"first"[..], b"second"] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "docs/README.txt", content).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let scratch = temp();
    let (error, message) = load_error(&archive, scratch.path());
    assert!(matches!(error, BundleError::UnsafeEntry { .. }), "{message}");
    assert_mentions(&message, &["entry `docs/README.txt`", "appears twice"]);
    assert_empty(scratch.path());
}

fn assert_too_large(archive: &Path, parts: &[&str]) {
    let scratch = temp();
    let (error, message) = load_error(archive, scratch.path());
    assert!(matches!(error, BundleError::TooLarge { .. }), "{message}");
    assert_mentions(
        &message,
        &[
            archive.to_str().unwrap(),
            "over bmpack's limit",
            "at most 10000 entries, 1024 MiB unpacked and a compression ratio of 100:1",
            "nothing is kept",
        ],
    );
    assert_mentions(&message, parts);
    assert_empty(scratch.path());
}

#[test]
fn zip_bombs_are_refused_with_the_limits_in_the_message() {
    let dir = temp();
    // Too many entries.
    let many = dir.path().join("many.zip");
    let names: Vec<String> = (0..10_001).map(|i| format!("d/{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    write_zip(&many, &entries);
    assert_too_large(&many, &["10001 entries", "limit of 10000 entries"]);
    // One entry that inflates a thousandfold: 64 MiB of zeros.
    let ratio = dir.path().join("ratio.zip");
    write_zip(&ratio, &[("net.x/bomb.jar", &vec![0u8; 64 << 20])]);
    assert_too_large(&ratio, &["entry `net.x/bomb.jar` unpacks to 67108864 bytes", "limit of a ratio of 100:1"]);
    // Declared sizes past the total: a stored entry whose central directory claims 600 MiB, twice.
    let lying = dir.path().join("lying.zip");
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new(fs::File::create(&lying).unwrap());
    for name in ["a/one.jar", "a/two.jar"] {
        zip.start_file(name, stored).unwrap();
        zip.write_all(b"0123456789").unwrap();
    }
    zip.finish().unwrap();
    let mut bytes = fs::read(&lying).unwrap();
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let entry = at + found;
        for field in [20, 24] {
            bytes[entry + field..entry + field + 4].copy_from_slice(&(600u32 << 20).to_le_bytes());
        }
        at = entry + 4;
    }
    fs::write(&lying, &bytes).unwrap();
    assert_too_large(&lying, &["unpack to more than 1024 MiB", "limit of 1024 MiB unpacked"]);
}

#[test]
fn tar_gz_bombs_are_refused_with_the_limits_in_the_message() {
    let dir = temp();
    let bomb = dir.path().join("bomb.tar.gz");
    let gz = flate2::write::GzEncoder::new(fs::File::create(&bomb).unwrap(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    let content = vec![0u8; 32 << 20];
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "net.x/bomb.jar", &content[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    assert_too_large(&bomb, &["the archive unpacks to more than", "limit of a ratio of 100:1"]);
}
