//! `cargo xtask bench --publish`: one release after another into one repository, timed at
//! 1, 10, 50 and 100 releases, then a republish that changes nothing and a `--prune 3`; the same
//! packages are given to aptly and reprepro (the apt side) and to createrepo_c `--update` plus a
//! gpg signature (the yum side) in the same run, where installed. Figures only: nothing here
//! passes or fails on time.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bmpack::build::{BuildOptions, Silent, build_all_dated};
use bmpack::bundle::BundleSet;
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::fixed_versions::FixedVersions;
use bmpack::format::{Compression, Format, WriteOptions};
use bmpack::repo::{KeySource, PublishRequest, publish};

use crate::package::human_size;

/// The release counts the table reports.
const CHECKPOINTS: [usize; 4] = [1, 10, 50, 100];
/// Each figure is the median of this many runs (at a checkpoint: the publishes of the releases
/// just before it and of it), so that a build running beside the bench moves it less.
const SAMPLES: usize = 5;
/// Each sample jar: small, so that 100 releases for four tools stay within a few hundred MB.
const JAR_BYTES: u64 = 100_000;

/// How a tool publishes a release folder (`deb/`, `rpm/`) into its repository.
type PublishRelease = Box<dyn FnMut(&Path) -> anyhow::Result<()>>;

/// One competitor: the name printed, and its way of publishing.
struct Competitor {
    name: &'static str,
    publish: PublishRelease,
}

pub fn run(releases: usize, verbose: bool) -> anyhow::Result<()> {
    if releases == 0 {
        bail!("--releases must be at least 1");
    }
    let root = crate::project_root();
    let work = root.join("target/bmpack-bench/publish");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot clear {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let key = BenchKey::generate(&work.join("gnupg"))?;

    errln!("building {releases} releases of the package set (sample jars of {})", human_size(JAR_BYTES));
    let built = build_releases(&root, &work.join("releases"), releases)?;
    let files_per_release = fs::read_dir(built[0].join(Format::Deb.as_str()))?.count()
        + fs::read_dir(built[0].join(Format::Rpm.as_str()))?.count();

    let mut competitors = vec![bmpack_competitor(&work, &key)];
    for (program, make) in [
        ("aptly", aptly_competitor as fn(&Path, &BenchKey) -> anyhow::Result<Competitor>),
        ("reprepro", reprepro_competitor),
        ("createrepo_c", createrepo_competitor),
    ] {
        if which(program) {
            competitors.push(make(&work, &key)?);
        } else {
            errln!(
                "note: {program} is not installed (apt-get install {}): left out",
                if program == "createrepo_c" { "createrepo-c" } else { program }
            );
        }
    }

    // times[competitor][release index]
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); competitors.len()];
    for (i, release) in built.iter().enumerate() {
        for (c, competitor) in competitors.iter_mut().enumerate() {
            let started = Instant::now();
            (competitor.publish)(release)
                .with_context(|| format!("{} publishing release {}", competitor.name, i + 1))?;
            times[c].push(started.elapsed());
            if verbose {
                errln!("  release {:>3} {:<14} {:.3}s", i + 1, competitor.name, started.elapsed().as_secs_f64());
            }
        }
    }
    // The last release again: nothing to add.
    let last = built.last().expect("at least one release");
    let mut again = Vec::new();
    for competitor in &mut competitors {
        let mut runs = Vec::new();
        for _ in 0..SAMPLES {
            let started = Instant::now();
            (competitor.publish)(last)?;
            runs.push(started.elapsed());
        }
        again.push(median(runs));
    }
    // bmpack's --prune 3 over the whole history, on copies of the repository.
    let mut prunes = Vec::new();
    let mut removed = 0;
    for i in 0..SAMPLES {
        let copy = work.join(format!("bmpack-prune-{i}"));
        check(Command::new("cp").arg("-a").arg(work.join("bmpack")).arg(&copy))?;
        let started = Instant::now();
        let report =
            publish(&PublishRequest { prune: Some(3), repo: copy.clone(), ..bmpack_request(&work, &key, last) })?;
        prunes.push(started.elapsed());
        removed = report.pruned.len();
        fs::remove_dir_all(&copy)?;
    }
    let prune = median(prunes);
    // At release n: the median of the publishes of releases n-4 … n.
    let at = |t: &Vec<Duration>, n: usize| median(t[n.saturating_sub(SAMPLES)..n].to_vec());

    let names: Vec<&str> = competitors.iter().map(|c| c.name).collect();
    let width = 46;
    outln!(
        "{:<width$}  {}",
        "releases in the repository",
        names.iter().map(|n| format!("{n:>14}")).collect::<String>()
    );
    for &n in CHECKPOINTS.iter().filter(|&&n| n <= releases) {
        outln!(
            "{:<width$}  {}",
            n,
            times.iter().map(|t| format!("{:>13.3}s", at(t, n).as_secs_f64())).collect::<String>()
        );
    }
    if !CHECKPOINTS.contains(&releases) {
        outln!(
            "{:<width$}  {}",
            releases,
            times.iter().map(|t| format!("{:>13.3}s", at(t, releases).as_secs_f64())).collect::<String>()
        );
    }
    outln!(
        "{:<width$}  {}",
        format!("republishing release {releases}, nothing changed"),
        again.iter().map(|t| format!("{:>13.3}s", t.as_secs_f64())).collect::<String>()
    );
    outln!(
        "{:<width$}  {:>13.3}s  ({removed} files removed)",
        format!("bmpack --prune 3 at {releases} releases"),
        prune.as_secs_f64()
    );
    outln!(
        "\n{files_per_release} package files per release (the default set, .deb and .rpm; aptly and reprepro get the .deb \
         files, createrepo_c the .rpm files); each figure is one publish of that release into the repository holding \
         the releases before it, the median of the publishes of that release and the {} before it (no-op and \
         prune: median of {SAMPLES} runs). bmpack does both sides and also signs each new rpm; createrepo_c's figure is \
         `createrepo_c --update` and a detached signature of repomd.xml.",
        SAMPLES - 1
    );
    Ok(())
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Releases 4.9.1, 4.9.2, …: the catalog's default set from sample jars, the fixed-version
/// packages dated by their record (so they are the same file in every release, as in real use).
fn build_releases(root: &Path, dir: &Path, count: usize) -> anyhow::Result<Vec<PathBuf>> {
    let catalog = Catalog::load(root)?;
    let mut fixed = FixedVersions::load(root)?;
    let mut releases = Vec::new();
    for i in 1..=count {
        let version = format!("4.9.{i}");
        let jars = dir.join(format!("jars-{i}"));
        let mut spec = bmpack::samples::SampleSpec::new(catalog.declared_bundles(), &version);
        spec.jar_bytes = JAR_BYTES;
        spec.seed = i as u64;
        bmpack::samples::write_sample_bundles(&jars, &spec)?;
        let bundles = BundleSet::load(&jars)?;
        let packages = catalog.resolve(&bundles, &ResolveOptions::default(), Some(root))?.packages;
        let dates = fixed.check(&catalog, &packages, None)?.dates;
        let out = dir.join(&version);
        let options = BuildOptions {
            out: out.clone(),
            formats: Format::ALL.to_vec(),
            jobs: 0,
            write: WriteOptions {
                compression: Compression::Default,
                source_date_epoch: 1_700_000_000 + i as u64 * 86_400,
            },
        };
        build_all_dated(&packages, &dates, &options, &Silent)?;
        fs::remove_dir_all(&jars)?;
        releases.push(out);
    }
    Ok(releases)
}

/// A throwaway signing key without passphrase, in its own keyring (`GNUPGHOME` of the tools).
#[derive(Clone)]
struct BenchKey {
    home: PathBuf,
    fingerprint: String,
    secret_file: PathBuf,
}

impl BenchKey {
    fn generate(home: &Path) -> anyhow::Result<BenchKey> {
        fs::create_dir_all(home)?;
        fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let gpg = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
            let out = Command::new("gpg")
                .arg("--homedir")
                .arg(home)
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .output()?;
            if !out.status.success() {
                bail!("gpg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(out.stdout)
        };
        gpg(&["--quick-gen-key", "bmpack bench <bench@example.invalid>", "rsa3072", "sign", "never"])?;
        let colons = String::from_utf8(gpg(&["--with-colons", "--list-secret-keys"])?)?;
        let fingerprint = colons
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .context("gpg made no key")?
            .trim_matches(':')
            .to_string();
        let secret_file = home.join("secret.asc");
        fs::write(&secret_file, gpg(&["--armor", "--export-secret-keys", &fingerprint])?)?;
        Ok(BenchKey { home: home.to_path_buf(), fingerprint, secret_file })
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("GNUPGHOME", &self.home);
        c
    }
}

fn bmpack_request(work: &Path, key: &BenchKey, release: &Path) -> PublishRequest {
    PublishRequest {
        repo: work.join("bmpack"),
        from: release.to_path_buf(),
        keys: vec![KeySource::File(key.secret_file.clone())],
        suite: "stable".into(),
        prune: None,
        base_url: "http://localhost/bmpack".into(),
    }
}

fn bmpack_competitor(work: &Path, key: &BenchKey) -> Competitor {
    let (work, key) = (work.to_path_buf(), key.clone());
    Competitor {
        name: "bmpack",
        publish: Box::new(move |release| {
            publish(&bmpack_request(&work, &key, release))?;
            Ok(())
        }),
    }
}

fn check(command: &mut Command) -> anyhow::Result<()> {
    let out = command.output().with_context(|| format!("running {command:?}"))?;
    if !out.status.success() {
        bail!("{command:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// aptly: a local repository, `repo add` then `publish repo` (the first time) or
/// `publish update`, signed with the same key.
fn aptly_competitor(work: &Path, key: &BenchKey) -> anyhow::Result<Competitor> {
    let dir = work.join("aptly");
    fs::create_dir_all(&dir)?;
    let config = dir.join("aptly.conf");
    fs::write(&config, format!("{{\"rootDir\": \"{}\", \"gpgProvider\": \"gpg\"}}\n", dir.join("root").display()))?;
    let fingerprint = key.fingerprint.clone();
    let key = key.clone();
    let aptly = move |args: &[&str]| {
        let mut c = key.command("aptly");
        c.arg(format!("-config={}", config.display())).args(args);
        c
    };
    check(&mut aptly(&["repo", "create", "-distribution=stable", "-component=main", "bench"]))?;
    let mut published = false;
    Ok(Competitor {
        name: "aptly",
        publish: Box::new(move |release| {
            check(aptly(&["repo", "add", "bench"]).arg(release.join(Format::Deb.as_str())))?;
            let gpg_key = format!("-gpg-key={fingerprint}");
            if published {
                check(&mut aptly(&["publish", "update", "-batch", &gpg_key, "stable"]))?;
            } else {
                check(&mut aptly(&["publish", "repo", "-batch", &gpg_key, "-architectures=all,amd64", "bench"]))?;
                published = true;
            }
            Ok(())
        }),
    })
}

/// reprepro: `includedeb` of the release's .deb files, signed with the same key.
fn reprepro_competitor(work: &Path, key: &BenchKey) -> anyhow::Result<Competitor> {
    let dir = work.join("reprepro");
    fs::create_dir_all(dir.join("conf"))?;
    fs::write(
        dir.join("conf/distributions"),
        format!("Codename: stable\nArchitectures: amd64\nComponents: main\nSignWith: {}\n", key.fingerprint),
    )?;
    let key = key.clone();
    Ok(Competitor {
        name: "reprepro",
        publish: Box::new(move |release| {
            let mut debs: Vec<PathBuf> =
                fs::read_dir(release.join(Format::Deb.as_str()))?.flatten().map(|e| e.path()).collect();
            debs.sort();
            // A package already there with the same version is skipped, as bmpack does.
            check(
                key.command("reprepro")
                    .args(["--silent", "-b"])
                    .arg(&dir)
                    .args(["--ignore=wrongdistribution", "includedeb", "stable"])
                    .args(&debs),
            )
        }),
    })
}

/// createrepo_c: the release's .rpm files copied in, `createrepo_c --update`, `repomd.xml`
/// signed with gpg.
fn createrepo_competitor(work: &Path, key: &BenchKey) -> anyhow::Result<Competitor> {
    let dir = work.join("createrepo");
    fs::create_dir_all(&dir)?;
    let key = key.clone();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    Ok(Competitor {
        name: "createrepo_c",
        publish: Box::new(move |release| {
            for rpm in fs::read_dir(release.join(Format::Rpm.as_str()))?.flatten() {
                let name = rpm.file_name().to_string_lossy().into_owned();
                if seen.insert(name.clone(), ()).is_none() {
                    fs::copy(rpm.path(), dir.join(&name))?;
                }
            }
            let mut createrepo = Command::new("createrepo_c");
            // As bmpack runs it: SHA-256, no sqlite databases.
            createrepo.args(["--quiet", "--no-database", "--checksum", "sha256"]);
            if dir.join("repodata/repomd.xml").exists() {
                createrepo.arg("--update");
            }
            check(createrepo.arg(&dir))?;
            let _ = fs::remove_file(dir.join("repodata/repomd.xml.asc"));
            check(
                key.command("gpg")
                    .args(["--batch", "--yes", "--armor", "--detach-sign", "--local-user", &key.fingerprint])
                    .arg(dir.join("repodata/repomd.xml")),
            )
        }),
    })
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}
