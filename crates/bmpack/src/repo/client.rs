//! What a server needs to use the repository: the public key in the two forms apt and dnf
//! read, and ready-to-paste source definitions (deb822 `.sources`, dnf `.repo`).

/// apt's keyring (binary OpenPGP), referenced by `Signed-By`.
pub const APT_KEYRING: &str = "bmpack-archive-keyring.gpg";
/// dnf's armored key, referenced by `gpgkey=`.
pub const RPM_KEY: &str = "RPM-GPG-KEY-bmpack";
/// Where the `.sources` file tells apt to find the keyring on the server.
pub const APT_KEYRING_ON_SERVER: &str = "/etc/apt/keyrings/bmpack-archive-keyring.gpg";
/// Where the `.repo` file points dnf for the key on the server.
pub const RPM_KEY_ON_SERVER: &str = "/etc/pki/rpm-gpg/RPM-GPG-KEY-bmpack";

pub fn sources_file_name(suite: &str) -> String {
    format!("bmpack-{suite}.sources")
}

/// dnf's `metadata_expire` for our repository: 0, dnf checks `repomd.xml` (a few KB, and its
/// signature; only changed indexes are downloaded) at each run, as `apt-get update` checks
/// `InRelease`. dnf's default, 48 hours, would have `dnf upgrade` say "Nothing to do" for two
/// days after a release; any lifetime would for that long after a check.
pub const METADATA_EXPIRE: &str = "0";

pub fn repo_file_name(suite: &str) -> String {
    format!("bmpack-{suite}.repo")
}

/// `/etc/apt/sources.list.d/bmpack-<suite>.sources`.
pub fn sources_file(base_url: &str, suite: &str) -> String {
    format!(
        "# BlueMind plug-ins built by bmpack (suite {suite}).\n\
         # Install as /etc/apt/sources.list.d/{file}, with the key at {APT_KEYRING_ON_SERVER}.\n\
         Types: deb\n\
         URIs: {base_url}\n\
         Suites: {suite}\n\
         Components: main\n\
         Signed-By: {APT_KEYRING_ON_SERVER}\n",
        file = sources_file_name(suite),
    )
}

/// `/etc/yum.repos.d/bmpack-<suite>.repo`: packages and repository metadata both checked, and
/// the metadata checked for a new publish at each run ([`METADATA_EXPIRE`]). A repository that
/// fails its checks fails the dnf run (`skip_if_unavailable=False`, RHEL's default, which
/// Debian's dnf.conf turns around): otherwise dnf would say why, keep its old copy and exit 0,
/// and an administrator or a rollout would read "nothing to do" from a tampered repository.
pub fn repo_file(base_url: &str, suite: &str) -> String {
    format!(
        "# BlueMind plug-ins built by bmpack (suite {suite}).\n\
         # Install as /etc/yum.repos.d/{file}, with the key at {RPM_KEY_ON_SERVER}.\n\
         [bmpack-{suite}]\n\
         name=BlueMind plug-ins (bmpack, {suite})\n\
         baseurl={base_url}/rpm/{suite}\n\
         enabled=1\n\
         gpgcheck=1\n\
         repo_gpgcheck=1\n\
         metadata_expire={METADATA_EXPIRE}\n\
         skip_if_unavailable=False\n\
         gpgkey=file://{RPM_KEY_ON_SERVER}\n",
        file = repo_file_name(suite),
    )
}

/// The commands an administrator runs on a server, printed after a publish.
pub fn instructions(base_url: &str, suite: &str, fingerprints: &[String]) -> String {
    format!(
        "Signing key{plural}: {fingerprints}\n\
         (check {these} on a server before trusting the key{plural} it downloads)\n\
         \n\
         Debian/Ubuntu server:\n\
         \x20 install -d -m 0755 /etc/apt/keyrings\n\
         \x20 curl -fsSL -o {APT_KEYRING_ON_SERVER} {base_url}/{APT_KEYRING}\n\
         \x20 gpg --show-keys {APT_KEYRING_ON_SERVER}\n\
         \x20 curl -fsSL -o /etc/apt/sources.list.d/{sources} {base_url}/{sources}\n\
         \x20 apt-get update\n\
         \n\
         RHEL/Rocky/Alma server:\n\
         \x20 curl -fsSL -o {RPM_KEY_ON_SERVER} {base_url}/{RPM_KEY}\n\
         \x20 gpg --show-keys {RPM_KEY_ON_SERVER}\n\
         \x20 curl -fsSL -o /etc/yum.repos.d/{repo} {base_url}/{repo}\n\
         \x20 dnf makecache\n\
         \n\
         --- /etc/apt/sources.list.d/{sources} ---\n{sources_text}\
         --- /etc/yum.repos.d/{repo} ---\n{repo_text}",
        plural = if fingerprints.len() > 1 { "s" } else { "" },
        these = if fingerprints.len() > 1 { "these fingerprints" } else { "this fingerprint" },
        fingerprints = fingerprints.join(", "),
        sources = sources_file_name(suite),
        repo = repo_file_name(suite),
        sources_text = sources_file(base_url, suite),
        repo_text = repo_file(base_url, suite),
    )
}
