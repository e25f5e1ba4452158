//! Where each file of a repository lives, relative to its root: the one map that the apt and
//! yum writers, the index reader and the pool all follow.
//!
//! ```text
//! pool/<suite>/main/<package>/*.deb                  dists/<suite>/{Release,InRelease,Release.gpg}
//! dists/<suite>/main/binary-{all,amd64}/Packages…    rpm/<suite>/*.rpm, rpm/<suite>/repodata/
//! ```

use std::path::{Path, PathBuf};

/// The folders at the top of a repository, besides the client files (`client.rs`).
pub const POOL: &str = "pool";
pub const DISTS: &str = "dists";
pub const RPMS: &str = "rpm";

/// The architectures a suite announces: `all` for the plug-ins, `amd64` for the server tool.
/// `binary-amd64` also lists the `all` packages, for apt versions that ignore `binary-all`.
pub const ARCHITECTURES: [&str; 2] = ["all", "amd64"];
/// The one component of every suite.
pub const COMPONENT: &str = "main";

/// `pool/<suite>/main`, as `Filename:` fields are written.
pub fn pool_dir(suite: &str) -> PathBuf {
    Path::new(POOL).join(suite).join(COMPONENT)
}

/// `dists/<suite>`.
pub fn suite_dir(suite: &str) -> PathBuf {
    Path::new(DISTS).join(suite)
}

/// The files apt checks a suite's signature with; present when a suite was published.
pub fn apt_signed_files(suite: &str) -> [PathBuf; 3] {
    let d = suite_dir(suite);
    [d.join("Release"), d.join("InRelease"), d.join("Release.gpg")]
}

/// The `Packages` index that lists every package of a suite (`binary-amd64` lists the `all`
/// ones too).
pub fn deb_index(suite: &str) -> PathBuf {
    suite_dir(suite).join(COMPONENT).join("binary-amd64/Packages")
}

/// `rpm/<suite>`: the rpms and their `repodata/`.
pub fn rpm_dir(suite: &str) -> PathBuf {
    Path::new(RPMS).join(suite)
}

/// The files dnf checks a suite's signature with (`repo_gpgcheck=1`).
pub fn yum_signed_files(suite: &str) -> [PathBuf; 2] {
    let d = rpm_dir(suite).join("repodata");
    [d.join("repomd.xml"), d.join("repomd.xml.asc")]
}
