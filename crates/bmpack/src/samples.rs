//! Sample bundles: real jars the project generates itself, so that `cargo xtask package` works on a
//! fresh clone and the benchmark has inputs of chosen sizes.
//!
//! Each jar is a valid zip laid out like a bundle from BlueMind's build: `META-INF/MANIFEST.MF`
//! (OSGi headers, CRLF, long headers wrapped at 72 bytes), `plugin.xml`, and class files
//! (`net/bluemind/…/*.class`, starting with `0xCAFEBABE`) whose bytes come from a seeded generator
//! that imitates bytecode (constant pool strings, opcodes), so the jar deflates like a real one
//! (to about 40%) rather than like zeros or noise. The folder is laid out like the vendor's
//! marketplace archive: `<dir>/<symbolic name>/<symbolic name>-<version>.jar`.
//!
//! Deterministic: the same [`SampleSpec`] gives byte-identical jars (fixed zip timestamps, fixed
//! entry order, fixed compression level), because packages built from them must be reproducible.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rayon::prelude::*;
use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::manifest::Manifest;

/// Default size of each sample jar on disk: a few MB, like the vendor's bigger bundles.
pub const DEFAULT_JAR_BYTES: u64 = 2 << 20;

/// The deflate level of sample jars: 6, as `jar` and Maven write them. Level 1 would write them
/// twice as fast but leaves about 8% for gzip/zstd to gain on the jar, which would mislead the
/// choice of package compression (measured on the generated classes: level 6 leaves about 4%,
/// mostly the file names in the zip headers, like a real jar).
const DEFLATE_LEVEL: i64 = 6;

/// Compressed size / class bytes for the generated classes at [`DEFLATE_LEVEL`], measured; used
/// to aim at the requested jar size (checked by `jar_sizes_follow_the_spec`).
const DEFLATE_RATIO: f64 = 0.38;

/// Which sample jars to write. Build it with [`SampleSpec::new`] and change what differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSpec {
    /// One jar per bundle symbolic name.
    pub names: Vec<String>,
    /// `Bundle-Version` of every jar (e.g. `4.8.2`).
    pub version: String,
    /// Approximate size of each jar on disk, in bytes.
    pub jar_bytes: u64,
    /// Sizes for some bundles that replace `jar_bytes` (the benchmark's 50 MB jar).
    pub jar_bytes_for: BTreeMap<String, u64>,
    /// Seed of the class bytes: same seed, same bytes; another seed, other bytes.
    pub seed: u64,
}

impl SampleSpec {
    /// Jars of [`DEFAULT_JAR_BYTES`] for these bundles, at this version, seed 0.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>, version: &str) -> SampleSpec {
        SampleSpec {
            names: names.into_iter().map(Into::into).collect(),
            version: version.to_string(),
            jar_bytes: DEFAULT_JAR_BYTES,
            jar_bytes_for: BTreeMap::new(),
            seed: 0,
        }
    }

    /// The size asked for one bundle's jar.
    pub fn jar_bytes_of(&self, symbolic_name: &str) -> u64 {
        self.jar_bytes_for.get(symbolic_name).copied().unwrap_or(self.jar_bytes)
    }
}

/// Writes one jar per symbolic name under `dir` (created if needed) as
/// `<dir>/<name>/<name>-<version>.jar`, plus a `README.txt` saying they are samples, and returns
/// the jars' paths in the order of `spec.names`. Each jar is written to a temporary name
/// and renamed. Other files already in `dir` are left alone.
pub fn write_sample_bundles(dir: &Path, spec: &SampleSpec) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(!spec.names.is_empty(), "no bundle names to write sample jars for");
    let unique: BTreeSet<&String> = spec.names.iter().collect();
    anyhow::ensure!(unique.len() == spec.names.len(), "a bundle name is given twice: {:?}", spec.names);
    anyhow::ensure!(!spec.version.trim().is_empty(), "the sample bundles' version is empty");
    for name in &spec.names {
        anyhow::ensure!(
            crate::manifest::symbolic_name_of(name) == Some(name.as_str()),
            "`{name}` is not a bundle symbolic name (expected e.g. `net.bluemind.filehosting.nextcloud`)"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomically(&dir.join("README.txt"), |out| {
        out.write_all(README.as_bytes())?;
        Ok(())
    })?;
    // The jars are independent, and each one's bytes do not depend on the schedule.
    spec.names.par_iter().map(|name| write_sample_jar(dir, spec, name)).collect()
}

fn write_sample_jar(dir: &Path, spec: &SampleSpec, name: &str) -> anyhow::Result<PathBuf> {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let jar = folder.join(format!("{name}-{}.jar", spec.version));
    let seed = spec.seed ^ fnv1a(name.as_bytes());
    let manifest = sample_manifest(name, &spec.version);
    write_atomically(&jar, |out| write_jar(out, name, &manifest.to_bytes(), spec.jar_bytes_of(name), seed))?;
    Ok(jar)
}

const README: &str = "These jars were generated by bmpack as samples (`bmpack::samples`).\n\
They are NOT BlueMind's bundles: their classes are random bytes shaped like bytecode.\n\
Build real packages with the vendor's jars: `cargo xtask package --bundles PATH`.\n";

/// The manifest of a sample bundle: the headers BlueMind's bundles have, with `Import-Package` and
/// `Export-Package` long enough to need continuation lines.
pub fn sample_manifest(symbolic_name: &str, version: &str) -> Manifest {
    let exports: Vec<String> =
        packages_of(symbolic_name).iter().map(|p| format!("{};version=\"{version}\"", p.replace('/', "."))).collect();
    let imports = [
        "net.bluemind.core.api;version=\"[4.1.0,6.0.0)\"",
        "net.bluemind.core.container.model;version=\"[4.1.0,6.0.0)\"",
        "net.bluemind.core.rest;version=\"[4.1.0,6.0.0)\"",
        "net.bluemind.core.rest.http;version=\"[4.1.0,6.0.0)\"",
        "net.bluemind.config;version=\"[4.1.0,6.0.0)\"",
        "net.bluemind.system.api;version=\"[4.1.0,6.0.0)\"",
        "io.vertx.core;version=\"[3.9.0,4.0.0)\"",
        "io.vertx.core.buffer;version=\"[3.9.0,4.0.0)\"",
        "io.vertx.core.http;version=\"[3.9.0,4.0.0)\"",
        "io.vertx.core.json;version=\"[3.9.0,4.0.0)\"",
        "com.fasterxml.jackson.databind;version=\"[2.10.0,3.0.0)\"",
        "org.osgi.framework;version=\"[1.8.0,2.0.0)\"",
        "org.slf4j;version=\"[1.7.0,2.0.0)\"",
    ];
    let header = |name: &str, value: String| (name.to_string(), value);
    Manifest {
        headers: vec![
            header("Manifest-Version", "1.0".into()),
            header("Bundle-ManifestVersion", "2".into()),
            header("Bundle-Name", format!("{} (bmpack sample)", title_of(symbolic_name))),
            header("Bundle-SymbolicName", format!("{symbolic_name};singleton:=true")),
            header("Bundle-Version", version.to_string()),
            header("Bundle-Vendor", "bmpack samples, not a BlueMind build".into()),
            header("Bundle-RequiredExecutionEnvironment", "JavaSE-11".into()),
            header("Bundle-ActivationPolicy", "lazy".into()),
            header("Created-By", "bmpack".into()),
            header("Export-Package", exports.join(",")),
            header("Import-Package", imports.join(",")),
        ],
    }
}

/// `net.bluemind.filehosting.nextcloud12` → `Filehosting Nextcloud12`.
fn title_of(symbolic_name: &str) -> String {
    symbolic_name
        .split('.')
        .filter(|p| *p != "net" && *p != "bluemind")
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Java packages of a sample bundle: its name as a path, and a few sub-packages.
fn packages_of(symbolic_name: &str) -> Vec<String> {
    let base = symbolic_name.replace('.', "/");
    ["", "/api", "/internal", "/impl", "/util"].iter().map(|sub| format!("{base}{sub}")).collect()
}

/// Writes the zip: META-INF/, the manifest, plugin.xml, then each package folder and its classes.
fn write_jar<W: Write + Seek>(
    out: W,
    symbolic_name: &str,
    manifest: &[u8],
    jar_bytes: u64,
    seed: u64,
) -> anyhow::Result<()> {
    // A fixed date: the zip's own timestamps must not make two runs differ.
    let when = DateTime::from_date_and_time(2020, 1, 1, 0, 0, 0).expect("a valid date");
    let file = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(when)
        .unix_permissions(0o644);
    let folder = SimpleFileOptions::default().last_modified_time(when).unix_permissions(0o755);
    let mut zip = ZipWriter::new(out);
    zip.add_directory("META-INF/", folder)?;
    zip.start_file("META-INF/MANIFEST.MF", file)?;
    zip.write_all(manifest)?;

    let mut rng = Rng::new(seed);
    let packages = packages_of(symbolic_name);
    // Class sizes first, so the classes can be written package by package as a build would.
    let class_bytes_wanted = (jar_bytes as f64 / DEFLATE_RATIO) as u64;
    // (package, class name) → (size, seed of its bytes)
    let mut classes: BTreeMap<(usize, String), (usize, u64)> = BTreeMap::new();
    let mut total = 0u64;
    let mut counter = 0u32;
    while total < class_bytes_wanted {
        let size = 1024 + rng.below(15 * 1024) as usize;
        let package = rng.below(packages.len() as u64) as usize;
        counter += 1;
        let mut name = format!("{}{}", pick(&mut rng, CLASS_WORDS), pick(&mut rng, CLASS_WORDS));
        if rng.below(4) == 0 {
            name.push_str(&format!("${}", 1 + rng.below(5)));
        }
        if classes.contains_key(&(package, name.clone())) {
            name.push_str(&counter.to_string());
        }
        classes.insert((package, name), (size, rng.next()));
        total += size as u64;
    }

    let first_class = classes.keys().next().map(|(p, n)| format!("{}/{n}", packages[*p]));
    zip.start_file("plugin.xml", file)?;
    zip.write_all(plugin_xml(symbolic_name, first_class.as_deref().unwrap_or("Activator")).as_bytes())?;

    // Classes are generated and deflated in parallel, a batch at a time (bounded memory), and
    // appended in their fixed order: the jar does not depend on the schedule.
    let classes: Vec<((usize, String), (usize, u64))> = classes.into_iter().collect();
    let mut folders_written = BTreeSet::new();
    for batch in classes.chunks(CLASSES_PER_BATCH) {
        let prepared: Vec<PreparedZipFile> = batch
            .par_iter()
            .map(|((package, name), (size, class_seed))| {
                let package_path = &packages[*package];
                let mut bytes = Vec::with_capacity(*size);
                class_like_bytes(&mut Rng::new(*class_seed), package_path, *size, &mut bytes);
                PreparedZipFile::from_data(format!("{package_path}/{name}.class"), file, &bytes)
            })
            .collect::<Result<_, _>>()?;
        for (((package, _), _), class) in batch.iter().zip(prepared) {
            // Each folder of the path once, parents first, as `jar` writes them.
            let mut prefix = String::new();
            for part in packages[*package].split('/') {
                prefix.push_str(part);
                prefix.push('/');
                if folders_written.insert(prefix.clone()) {
                    zip.add_directory(prefix.as_str(), folder)?;
                }
            }
            zip.add_prepared_file(class)?;
        }
    }
    zip.finish()?.flush()?;
    Ok(())
}

fn plugin_xml(symbolic_name: &str, class: &str) -> String {
    let class = class.replace('/', ".");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?eclipse version=\"3.4\"?>\n<plugin>\n   \
         <!-- bmpack sample bundle {symbolic_name}: not a BlueMind build -->\n   \
         <extension point=\"net.bluemind.core.rest.apiEndpoint\">\n      \
         <endpoint api=\"{class}\" impl=\"{class}\"/>\n   </extension>\n</plugin>\n"
    )
}

const CLASS_WORDS: &[&str] = &[
    "Nextcloud",
    "FileHosting",
    "Service",
    "Factory",
    "Settings",
    "Handler",
    "Client",
    "Config",
    "Provider",
    "Request",
    "Response",
    "Webdav",
    "Share",
    "Link",
    "Storage",
    "Account",
    "Meeting",
    "Conference",
    "Room",
    "Panel",
    "Editor",
    "Model",
    "Helper",
    "Adapter",
    "Activator",
    "Starleaf",
    "Endpoint",
    "Validator",
    "Sanitizer",
    "Hook",
    "Listener",
    "Cache",
    "Token",
    "Session",
];

const MEMBER_WORDS: &[&str] = &[
    "get", "set", "create", "update", "delete", "list", "find", "store", "share", "link", "url", "name", "value",
    "path", "size", "owner", "token", "session", "server", "account", "meeting", "room", "settings", "handle",
    "validate", "sanitize", "toString", "hashCode", "equals", "init",
];

const JAVA_TYPES: &[&str] = &[
    "Ljava/lang/String;",
    "Ljava/lang/Object;",
    "Ljava/util/List;",
    "Ljava/util/Map;",
    "I",
    "J",
    "Z",
    "Lio/vertx/core/json/JsonObject;",
    "Lnet/bluemind/core/api/fault/ServerFault;",
    "Lorg/slf4j/Logger;",
    "Ljava/util/concurrent/CompletableFuture;",
    "[B",
];

/// Common JVM opcodes, weighted by repetition, and how many operand bytes follow each.
const OPCODES: &[(u8, u8)] = &[
    (0x2a, 0),
    (0x2a, 0),
    (0x2a, 0),
    (0x2b, 0),
    (0x2c, 0),
    (0xb6, 2),
    (0xb6, 2),
    (0xb6, 2),
    (0xb7, 2),
    (0xb8, 2),
    (0xb9, 4),
    (0xb4, 2),
    (0xb4, 2),
    (0xb5, 2),
    (0xb2, 2),
    (0x12, 1),
    (0x13, 2),
    (0xbb, 2),
    (0x59, 0),
    (0x57, 0),
    (0xb0, 0),
    (0xb1, 0),
    (0xac, 0),
    (0x03, 0),
    (0x04, 0),
    (0x1b, 0),
    (0x3c, 0),
    (0x4c, 0),
    (0x4d, 0),
    (0x99, 2),
    (0x9a, 2),
    (0xa7, 2),
    (0xc6, 2),
    (0xc7, 2),
    (0xc0, 2),
    (0x10, 1),
    (0x84, 2),
    (0xbf, 0),
];

/// Classes generated and deflated in parallel at a time.
const CLASSES_PER_BATCH: usize = 256;

const SNIPPETS_PER_CLASS: u64 = 96;
const UNIQUE_BYTE_ONE_IN: u64 = 2;

/// A class-file-shaped byte string of exactly `size` bytes: magic, version, a constant pool of
/// identifiers and descriptors, then method bodies of weighted opcodes with small operands.
fn class_like_bytes(rng: &mut Rng, package: &str, size: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xCA, 0xFE, 0xBA, 0xBE, 0x00, 0x00, 0x00, 0x37]); // Java 11
    let pool_entries = 20 + rng.below(60) as u16;
    out.extend_from_slice(&pool_entries.to_be_bytes());
    let pool_end = size * 2 / 5;
    let mut entries = 1u16;
    while out.len() < pool_end && entries < pool_entries {
        entries += 1;
        let parts: [&[u8]; 4] = match rng.below(4) {
            0 => [package.as_bytes(), b"/", pick(rng, CLASS_WORDS).as_bytes(), b""],
            1 => [b"(", pick(rng, JAVA_TYPES).as_bytes(), b")", pick(rng, JAVA_TYPES).as_bytes()],
            2 => [pick(rng, MEMBER_WORDS).as_bytes(), pick(rng, CLASS_WORDS).as_bytes(), b"", b""],
            _ => {
                // a method reference or a name-and-type: tag and two pool indexes
                out.push(if rng.below(2) == 0 { 10 } else { 12 });
                out.extend_from_slice(&(rng.below(entries as u64) as u16).to_be_bytes());
                out.extend_from_slice(&(rng.below(entries as u64) as u16).to_be_bytes());
                continue;
            }
        };
        let length: usize = parts.iter().map(|p| p.len()).sum();
        out.push(1); // CONSTANT_Utf8
        out.extend_from_slice(&(length as u16).to_be_bytes());
        for part in parts {
            out.extend_from_slice(part);
        }
    }
    out.extend_from_slice(&[0x00, 0x21]); // ACC_PUBLIC | ACC_SUPER
    // Method bodies repeat short instruction sequences (load, get field, invoke…), which is what
    // makes real bytecode deflate to about half: build a few per class and reuse them.
    let snippets: Vec<Vec<u8>> = (0..SNIPPETS_PER_CLASS)
        .map(|_| {
            let mut snippet = Vec::new();
            for _ in 0..2 + rng.below(5) {
                let (opcode, operands) = OPCODES[rng.below(OPCODES.len() as u64) as usize];
                snippet.push(opcode);
                for _ in 0..operands {
                    snippet.push(rng.below(pool_entries as u64) as u8);
                }
            }
            snippet
        })
        .collect();
    while out.len() < size {
        // Skewed: the first snippets are the common ones.
        let common = rng.below(SNIPPETS_PER_CLASS) + 1;
        let index = rng.below(common) as usize;
        out.extend_from_slice(&snippets[index]);
        if rng.below(UNIQUE_BYTE_ONE_IN) == 0 {
            out.push(rng.next() as u8);
        }
    }
    out.truncate(size);
}

fn pick<'a>(rng: &mut Rng, words: &[&'a str]) -> &'a str {
    words[rng.below(words.len() as u64) as usize]
}

/// SplitMix64: small, fast, and the same sequence on every platform for a seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        ((self.next() as u128 * bound as u128) >> 64) as u64
    }
}

/// FNV-1a: a stable hash of a bundle name, so each bundle gets its own class bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Writes `path` through a temporary file in the same folder, renamed into place once complete.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".bmpack-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .with_context(|| format!("creating a temporary file in {}", folder.display()))?;
    {
        let mut out = BufWriter::new(temp.as_file());
        write(&mut out).with_context(|| format!("writing {}", path.display()))?;
        out.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // A temporary file is 0600; a jar is an ordinary readable file.
        temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Packs a folder (e.g. of sample bundles) into a marketplace-style `.zip`: one entry per file and
/// folder under it, relative to it, in name order; jars stored (they are already deflated), other
/// files deflated; fixed timestamps.
pub fn pack_zip(folder: &Path, archive: &Path) -> anyhow::Result<()> {
    let when = DateTime::from_date_and_time(2020, 1, 1, 0, 0, 0).expect("a valid date");
    let files = folder_entries(folder)?;
    write_atomically(archive, |out| {
        let mut zip = ZipWriter::new(out);
        for (relative, path, is_dir) in files {
            if is_dir {
                let options = SimpleFileOptions::default().last_modified_time(when).unix_permissions(0o755);
                zip.add_directory(format!("{relative}/"), options)?;
                continue;
            }
            let method =
                if relative.ends_with(".jar") { CompressionMethod::Stored } else { CompressionMethod::Deflated };
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .last_modified_time(when)
                .unix_permissions(0o644)
                .large_file(std::fs::metadata(&path)?.len() >= u32::MAX as u64);
            zip.start_file(relative, options)?;
            std::io::copy(&mut File::open(&path)?, &mut zip)?;
        }
        zip.finish()?;
        Ok(())
    })
}

/// Packs a folder into a marketplace-style `.tar.gz`: same entries as [`pack_zip`], deterministic
/// headers (owner root, fixed time).
pub fn pack_tar_gz(folder: &Path, archive: &Path) -> anyhow::Result<()> {
    let files = folder_entries(folder)?;
    write_atomically(archive, |out| {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        for (relative, path, _) in files {
            tar.append_path_with_name(&path, &relative)?;
        }
        tar.into_inner()?.finish()?;
        Ok(())
    })
}

/// (path relative to `folder` with `/`, path on disk, is a folder), in name order, folder itself
/// excluded.
fn folder_entries(folder: &Path) -> anyhow::Result<Vec<(String, PathBuf, bool)>> {
    let mut entries = Vec::new();
    for entry in walkdir::WalkDir::new(folder).min_depth(1).sort_by_file_name() {
        let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
        let relative = entry.path().strip_prefix(folder)?;
        let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let is_dir = entry.file_type().is_dir();
        entries.push((relative, entry.into_path(), is_dir));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_bytes_start_with_the_magic_and_have_the_asked_size() {
        let mut rng = Rng::new(7);
        let mut out = Vec::new();
        class_like_bytes(&mut rng, "net/bluemind/x", 5000, &mut out);
        assert_eq!(&out[..4], &[0xCA, 0xFE, 0xBA, 0xBE]);
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn the_generator_depends_on_the_seed_only() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut out = Vec::new();
            class_like_bytes(&mut rng, "net/bluemind/x", 3000, &mut out);
            out
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn titles() {
        assert_eq!(title_of("net.bluemind.filehosting.nextcloud12"), "Filehosting Nextcloud12");
    }
}
