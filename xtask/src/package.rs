//! `cargo xtask package`: flags, progress display and summary around `bmpack::pipeline`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, anyhow};
use bmpack::build::{BuildOptions, BuiltFile, Progress};
use bmpack::catalog::ResolveOptions;
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::nextcloud::NextcloudRelease;
use bmpack::pipeline::{PackageOutcome, PackageRequest};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug, Clone)]
pub struct PackageArgs {
    /// Folder of jars (searched recursively) or marketplace archive (.zip, .tar.gz).
    /// Without it, sample bundles are generated and packaged.
    #[arg(long, value_name = "PATH")]
    pub bundles: Option<PathBuf>,
    /// Package version (OSGi or Maven style: 4.8.2, 4.8.2.v20240101, 4.8.2-SNAPSHOT).
    /// Default: each package's jars' Bundle-Version.
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Packaging revision: Debian revision and RPM Release.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub revision: u32,
    /// Build bm-nextcloud-common and only the bm-nextcloudXX this Nextcloud release needs.
    #[arg(long, value_name = "VERSION")]
    pub nextcloud_version: Option<String>,
    /// Build only this package (and the packages of ours it depends on); repeatable.
    #[arg(long = "package", value_name = "NAME")]
    pub packages: Vec<String>,
    /// Formats to write (repeatable): deb, rpm. Default: both.
    #[arg(long = "format", value_name = "FORMAT")]
    pub formats: Vec<Format>,
    /// Payload compression: default (gzip for .deb, zstd for .rpm), none, gzip, xz, zstd.
    #[arg(long, value_name = "KIND", default_value = "default")]
    pub compression: Compression,
    /// Packages written in parallel (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Output folder (gets deb/, rpm/ and SHA256SUMS).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The build date, in seconds since 1970: every time stamp in the packages. Default:
    /// $SOURCE_DATE_EPOCH, else the date of the last commit. (This flag, unlike the variable,
    /// does not reach cargo, whose C build scripts would rebuild the tools for a new value.)
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<u64>,
    /// Record what the new versions of fixed-version packages hold (bm-plugin-reload, …) in
    /// packaging/fixed-versions.toml; a version already recorded is never changed.
    #[arg(long)]
    pub record_fixed_versions: bool,
    /// No progress display and no summary table.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: &PackageArgs) -> anyhow::Result<PackageOutcome> {
    let root = crate::project_root();
    let out = args.out.clone().unwrap_or_else(crate::default_out);
    let nextcloud = args
        .nextcloud_version
        .as_deref()
        .map(NextcloudRelease::parse)
        .transpose()
        .map_err(|e| anyhow!("--nextcloud-version: {e}"))?;
    let epoch = build_date(&root, args.source_date_epoch)?;
    let request = PackageRequest {
        root: root.clone(),
        bundles: args.bundles.clone(),
        samples_dir: root.join("target").join("bmpack-samples"),
        resolve: ResolveOptions {
            version: args.version.clone(),
            revision: Some(args.revision),
            nextcloud,
            only: args.packages.clone(),
            ..ResolveOptions::default()
        },
        build: BuildOptions {
            out,
            formats: if args.formats.is_empty() { Format::ALL.to_vec() } else { args.formats.clone() },
            jobs: args.jobs,
            write: WriteOptions { compression: args.compression, source_date_epoch: epoch },
        },
        record_fixed_versions: args.record_fixed_versions,
    };
    if args.packages.iter().any(|p| p == TOOL_PACKAGE) {
        prepare_server_tool(&root, epoch)?;
    }
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}").expect("valid template"));
    bar.set_message("reading bundles");
    let outcome = bmpack::pipeline::package(&request, &Bar(&bar));
    bar.finish_and_clear();
    let outcome = outcome?;
    for recorded in &outcome.recorded {
        errln!("recorded {recorded} in {}", bmpack::fixed_versions::RECORD_FILE);
    }
    for unused in &outcome.unused_bundles {
        errln!("note: jar not declared by any selected package, left out: {unused}");
    }
    if let Some(dir) = &outcome.samples {
        errln!(
            "note: no --bundles given: these packages hold generated SAMPLE bundles (valid jars with \
             made-up content, not BlueMind's plug-ins), in {}. Pass --bundles PATH to package the real jars.",
            dir.display()
        );
    }
    if !args.quiet {
        print_summary(&outcome.files);
        outln!("\nwritten to {} (checksums in SHA256SUMS)", request.build.out.display());
    }
    Ok(outcome)
}

/// The package of the server tool (declared in packaging/bmpack.toml, outside the default set).
const TOOL_PACKAGE: &str = "bmpack";

/// Builds what the tool's package carries: the release binary, linked against the oldest glibc
/// the package declares (`libc6 (>= 2.28)`: Debian 10, RHEL 8, the oldest systems BlueMind runs
/// on) with cargo-zigbuild, and its manual page, made by help2man from `--help` so that it never
/// disagrees with the program. Both land in `target/bmpack-tool/`, where packaging/ takes them.
fn prepare_server_tool(root: &std::path::Path, epoch: u64) -> anyhow::Result<()> {
    let glibc = declared_glibc(root)?;
    let target = format!("x86_64-unknown-linux-gnu.{glibc}");
    errln!("building the server tool for glibc {glibc} (cargo zigbuild --release -p bmpack-server --target {target})");
    let status = cargo_for_tools()
        .args(["zigbuild", "--release", "--quiet", "-p", "bmpack-server", "--target", &target])
        .current_dir(root)
        .status()
        .context("running cargo zigbuild")?;
    anyhow::ensure!(
        status.success(),
        "building the server tool with `cargo zigbuild` failed: it links the tool against glibc {glibc} so \
         that it runs on every system BlueMind runs on; install it with `pip install ziglang cargo-zigbuild`"
    );
    let built = root.join("target/x86_64-unknown-linux-gnu/release/bmpack");
    let newest = newest_glibc_symbol(&built)?;
    anyhow::ensure!(
        newest <= parse_glibc(&glibc)?,
        "{} needs glibc {}.{} but packaging/bmpack.toml declares libc6 (>= {glibc})",
        built.display(),
        newest.0,
        newest.1
    );
    let dir = root.join("target").join("bmpack-tool");
    std::fs::create_dir_all(&dir)?;
    let binary = dir.join("bmpack");
    let bytes = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    bmpack::build::write_atomically(&binary, &bytes)?;
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let man = Command::new("help2man")
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args(["--no-info", "--section=1", "--source=BlueMind", "--name"])
        .arg("BlueMind plug-in helper on a BlueMind server")
        .arg(&binary)
        .output()
        .context("running help2man for the manual page: apt-get install help2man")?;
    anyhow::ensure!(man.status.success(), "help2man failed: {}", String::from_utf8_lossy(&man.stderr));
    // gzip -9n: no name, no time stamp in the header, so the package stays reproducible.
    let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &man.stdout)?;
    bmpack::build::write_atomically(&dir.join("bmpack.1.gz"), &gz.finish()?)?;
    Ok(())
}

/// cargo, to build a tool. The build date is for the packages, not the tools: the C build
/// scripts of libdeflate-sys, liblzma-sys and zstd-sys watch `SOURCE_DATE_EPOCH`, and a new
/// value would rebuild them (and the workspace after them).
fn cargo_for_tools() -> Command {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.env_remove("SOURCE_DATE_EPOCH");
    cargo
}

/// The glibc version of the tool package's `libc6 (>= X.Y)` in packaging/bmpack.toml.
fn declared_glibc(root: &std::path::Path) -> anyhow::Result<String> {
    let catalog = bmpack::catalog::Catalog::load(root)?;
    let fix =
        "declare `deb_depends = [{ name = \"libc6\", version = \">= 2.28\" }]`, the oldest glibc the tool must run on";
    let decl = catalog
        .declaration(TOOL_PACKAGE)
        .ok_or_else(|| anyhow!("packaging/bmpack.toml: no package `{TOOL_PACKAGE}`"))?;
    let version = decl
        .deb_depends_version("libc6")
        .and_then(|(op, v)| (op == bmpack::model::Op::Ge).then(|| v.to_string()))
        .ok_or_else(|| anyhow!("packaging/bmpack.toml: package `{TOOL_PACKAGE}`, field `deb_depends`: {fix}"))?;
    parse_glibc(&version).with_context(|| format!("packaging/bmpack.toml: package `{TOOL_PACKAGE}`: {fix}"))?;
    Ok(version)
}

fn parse_glibc(version: &str) -> anyhow::Result<(u32, u32)> {
    let (major, minor) =
        version.split_once('.').ok_or_else(|| anyhow!("`{version}` is not a glibc version such as 2.28"))?;
    Ok((major.parse()?, minor.parse()?))
}

/// The newest `GLIBC_X.Y` symbol version the binary needs, as `objdump -T` lists them.
fn newest_glibc_symbol(binary: &std::path::Path) -> anyhow::Result<(u32, u32)> {
    let out =
        Command::new("objdump").arg("-T").arg(binary).output().context("running objdump: apt-get install binutils")?;
    anyhow::ensure!(out.status.success(), "objdump -T {} failed", binary.display());
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| parse_glibc(v).ok())
        .max()
        .ok_or_else(|| {
            anyhow!("{} lists no GLIBC_ symbol version: not a dynamically linked glibc binary", binary.display())
        })
}

fn print_summary(files: &[BuiltFile]) {
    let w_pkg = files.iter().map(|f| f.package.len()).max().unwrap_or(7).max(7);
    let w_ver = files.iter().map(|f| f.version.len()).max().unwrap_or(7).max(7);
    outln!("{:<w_pkg$}  {:<w_ver$}  {:<6}  {:>10}  sha256", "package", "version", "format", "size");
    for f in files {
        outln!(
            "{:<w_pkg$}  {:<w_ver$}  {:<6}  {:>10}  {}",
            f.package,
            f.version,
            f.format.as_str(),
            human_size(f.size),
            f.sha256
        );
    }
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// `--source-date-epoch`, else `SOURCE_DATE_EPOCH`, else the date of the last commit: the same
/// sources give the same bytes.
pub fn build_date(root: &std::path::Path, flag: Option<u64>) -> anyhow::Result<u64> {
    if let Some(epoch) = flag {
        return Ok(epoch);
    }
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH=`{v}` is not a number of seconds since 1970: unset it, or give --source-date-epoch 1700000000")
        });
    }
    bmpack::pipeline::last_commit_date(root)
}

/// The progress display: one tick per package file written.
struct Bar<'a>(&'a ProgressBar);

impl Progress for Bar<'_> {
    fn planned(&self, files: usize) {
        self.0.set_length(files as u64);
        self.0.set_message("writing packages");
    }
    fn written(&self, file: &BuiltFile) {
        self.0.inc(1);
        self.0.set_message(file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_build_date_never_reaches_cargo() {
        let cargo = super::cargo_for_tools();
        assert!(cargo.get_envs().any(|(name, value)| name == "SOURCE_DATE_EPOCH" && value.is_none()), "{cargo:?}");
    }
}
