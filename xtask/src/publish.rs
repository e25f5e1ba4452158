//! `cargo xtask publish`: adds the packages built by `cargo xtask package` to a signed apt and
//! yum repository (the work is done by `bmpack::repo`).

use std::path::PathBuf;

use bmpack::repo::{KeySource, PublishRequest};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("signing_key").required(true).args(["key", "key_file"])))]
pub struct PublishOptions {
    /// The repository directory (created if missing; served as is by any static web server).
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// Fingerprint of the signing key in your gpg keyring.
    #[arg(long, value_name = "FINGERPRINT")]
    pub key: Option<String>,
    /// A file holding the signing key (`gpg --export-secret-keys --armor`), imported into a
    /// temporary keyring.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The apt suite and yum repository name.
    #[arg(long, value_name = "NAME", default_value = "stable")]
    pub suite: String,
    /// Keep only the newest KEEP versions of each package.
    #[arg(long, value_name = "KEEP")]
    pub prune: Option<usize>,
    /// Where `cargo xtask package` wrote deb/, rpm/ and SHA256SUMS [default: target/bmpack].
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// The URL servers will reach the repository at (written into the .sources/.repo files).
    #[arg(long, value_name = "URL", default_value = "http://localhost/bmpack")]
    pub base_url: String,
}

pub fn publish(opts: &PublishOptions) -> anyhow::Result<()> {
    let key = match (&opts.key, &opts.key_file) {
        (Some(fingerprint), None) => KeySource::Fingerprint(fingerprint.clone()),
        (None, Some(file)) => KeySource::File(file.clone()),
        _ => anyhow::bail!("give the signing key with either --key FINGERPRINT or --key-file FILE"),
    };
    let request = PublishRequest {
        repo: opts.repo.clone(),
        from: opts.from.clone().unwrap_or_else(crate::default_out),
        key,
        suite: opts.suite.clone(),
        prune: opts.prune,
        base_url: opts.base_url.clone(),
    };
    let report = bmpack::repo::publish(&request)?;
    for f in &report.added {
        outln!("added      {f}");
    }
    for f in &report.already_present {
        outln!("unchanged  {f}");
    }
    for f in &report.pruned {
        outln!("pruned     {f}");
    }
    if report.changed {
        outln!(
            "{}: re-indexed and signed (suite {})",
            opts.repo.display(),
            opts.suite
        );
    } else {
        outln!(
            "{}: already up to date, left untouched",
            opts.repo.display()
        );
    }
    outln!("\n{}", report.instructions);
    Ok(())
}
