//! `cargo xtask ansible`: builds the Ansible collection in `ansible/` (the roles and the
//! playbook that roll the plug-ins out to a fleet) into a tarball that
//! `ansible-galaxy collection install` takes, with ansible-galaxy itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

#[derive(Debug, clap::Args)]
pub struct AnsibleArgs {
    /// Where the tarball goes [default: target/bmpack/ansible].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &AnsibleArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| crate::default_out().join("ansible"));
    let tarball = build_collection(&out)?;
    outln!("{}", tarball.display());
    outln!("install it with: ansible-galaxy collection install {}", tarball.display());
    Ok(())
}

/// `ansible-galaxy`: on the PATH, else in `target/ci-venv` where `cargo xtask test` installs it.
pub fn ansible_tool(name: &str) -> PathBuf {
    let venv = crate::project_root().join("target/ci-venv/bin").join(name);
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()))
        .unwrap_or_default();
    on_path.unwrap_or(venv)
}

/// Builds `ansible/` into `out` and returns the tarball's path
/// (`<namespace>-<name>-<version>.tar.gz`, named by `galaxy.yml`).
pub fn build_collection(out: &Path) -> anyhow::Result<PathBuf> {
    let source = crate::project_root().join("ansible");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let galaxy = ansible_tool("ansible-galaxy");
    let output = Command::new(&galaxy)
        .args(["collection", "build", "--force", "--output-path"])
        .arg(out)
        .current_dir(&source)
        .output()
        .with_context(|| {
            format!(
                "running {}: install ansible-core (`cargo xtask test --deps-only`, or pip install ansible-core)",
                galaxy.display()
            )
        })?;
    if !output.status.success() {
        bail!(
            "ansible-galaxy collection build in {} failed:\n{}{}",
            source.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // "Created collection for bmpack.bluemind at /…/bmpack-bluemind-0.1.0.tar.gz"
    let text = String::from_utf8_lossy(&output.stdout);
    let tarball = text
        .lines()
        .find_map(|l| l.split_once(" at ").map(|(_, p)| PathBuf::from(p.trim())))
        .filter(|p| p.is_file())
        .with_context(|| format!("ansible-galaxy did not say where it wrote the collection:\n{text}"))?;
    Ok(tarball)
}

/// Places the collection's tarball beside a published repository, as `<repo>/ansible/<file>`
/// (written beside, then renamed: a reader never sees half of it), under the publish lock.
pub fn place_beside(repo: &Path, tarball: &Path) -> anyhow::Result<PathBuf> {
    let name =
        tarball.file_name().with_context(|| format!("--ansible-collection {}: not a file", tarball.display()))?;
    let bytes = std::fs::read(tarball)
        .with_context(|| format!("--ansible-collection {}: build it with `cargo xtask ansible`", tarball.display()))?;
    let _lock = bmpack::repo::staging::RepoLock::acquire(repo)?;
    let dir = repo.join("ansible");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dest = dir.join(name);
    bmpack::build::write_atomically(&dest, &bytes)?;
    std::fs::set_permissions(&dest, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(dest)
}
