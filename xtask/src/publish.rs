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
    /// Fingerprint of the signing key in your gpg keyring. Twice while rotating keys: the
    /// repository's current key first, then the new one (see docs/publishing.md).
    #[arg(long, value_name = "FINGERPRINT")]
    pub key: Vec<String>,
    /// A file holding the signing key (`gpg --export-secret-keys --armor`), imported into a
    /// temporary keyring. Twice while rotating keys, the current key first.
    #[arg(long, value_name = "FILE")]
    pub key_file: Vec<PathBuf>,
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
    /// The Ansible collection's tarball (`cargo xtask ansible`), placed beside the repository
    /// as `DIR/ansible/<file>` after the publish.
    #[arg(long, value_name = "FILE")]
    pub ansible_collection: Option<PathBuf>,
}

pub fn publish(opts: &PublishOptions) -> anyhow::Result<()> {
    let keys: Vec<KeySource> = match (opts.key.is_empty(), opts.key_file.is_empty()) {
        (false, true) => opts.key.iter().cloned().map(KeySource::Fingerprint).collect(),
        (true, false) => opts.key_file.iter().cloned().map(KeySource::File).collect(),
        _ => anyhow::bail!("give the signing keys either all with --key FINGERPRINT or all with --key-file FILE"),
    };
    let request = PublishRequest {
        repo: opts.repo.clone(),
        from: opts.from.clone().unwrap_or_else(crate::default_out),
        keys,
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
        outln!("{}: re-indexed and signed (suite {})", opts.repo.display(), opts.suite);
    } else {
        outln!("{}: already up to date, left untouched", opts.repo.display());
    }
    if let Some(tarball) = &opts.ansible_collection {
        let placed = crate::ansible::place_beside(&opts.repo, tarball)?;
        outln!("placed     {}", placed.strip_prefix(&opts.repo).unwrap_or(&placed).display());
    }
    outln!("\n{}", report.instructions);
    Ok(())
}
