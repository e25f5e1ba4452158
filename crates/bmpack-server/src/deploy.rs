//! `bmpack deploy` / `undeploy`: the vendor's manual procedure for BlueMind before 4.2, automated.
//!
//! Jars are chosen and checked by the same catalog as `cargo xtask package`, written beside their
//! final name and renamed into `/usr/share/bm-core/extensions` or `/usr/share/bm-webserver/extensions`;
//! older versions of the same bundles are moved to a backup first. Then each service is settled
//! by the packages' own shell function (`bm_settle_service`, run by services.rs): a running one
//! restarted once on an emptied cache, a stopped one only gets its cache emptied, and so on. If a
//! copy fails, or a service that ran is not running on the new jars afterwards (refused, masked,
//! failed), the previous jars are put back and the services settled again on them. Links are
//! never followed: entries of the extensions folders are renamed or unlinked themselves, and a
//! folder that is itself a link is refused.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bmpack::bundle::BundleSet;
use bmpack::catalog::{Catalog, ResolveOptions};
use bmpack::model::FileSource;
use bmpack::model::Target;
use bmpack::nextcloud::NextcloudRelease;

use crate::exit::{ExitClass, Failure};
use crate::lock::DeployLock;
use crate::services::{ServiceManager, Settled};

const NEXTCLOUD_GROUP: &str = "nextcloud";
const BACKUPS: &str = "var/backups/bmpack";

pub struct DeployOptions {
    pub root: PathBuf,
    pub dry_run: bool,
    /// Act even where bm-core 4.2 or later is installed.
    pub force: bool,
    /// `--service-tools DIR`: how to drive the services of another root.
    pub service_tools: Option<PathBuf>,
}

/// One deploy/undeploy at a time, from before the plan is made until the services are back: a
/// plan made while another run changes the folders would be stale. A dry run creates nothing,
/// but is refused the same way while another run holds the lock.
fn lock(options: &DeployOptions) -> Result<Option<DeployLock>, Failure> {
    if options.dry_run {
        crate::lock::check_free(&options.root)?;
        return Ok(None);
    }
    crate::lock::acquire(&options.root).map(Some)
}

/// One extensions folder and what happens in it.
struct TargetPlan {
    /// `core`, `webserver`.
    key: String,
    extensions: PathBuf,
    service: String,
    cache: PathBuf,
    installs: Vec<Install>,
    /// Entries (files or links, never followed) moved to the backup: older versions, and files
    /// of the same name as a new jar.
    removals: Vec<PathBuf>,
}

struct Install {
    name: String,
    source: PathBuf,
    origin: String,
}

impl TargetPlan {
    fn changes(&self) -> bool {
        !self.installs.is_empty() || !self.removals.is_empty()
    }
}

/// `deploy --bundles SOURCE [--nextcloud-version V]`.
pub fn deploy(options: &DeployOptions, bundles_path: &Path, nextcloud_version: Option<&str>) -> Result<(), Failure> {
    refuse_packaged_bluemind(options, "deploy")?;
    let bundles = BundleSet::load(bundles_path)
        .map_err(|e| Failure::new(ExitClass::Usage, format!("--bundles {}: {e:#}", bundles_path.display())))?;
    let catalog = Catalog::builtin();
    let nextcloud = nextcloud_version
        .map(|v| {
            NextcloudRelease::parse(v).map_err(|e| Failure::new(ExitClass::Usage, format!("--nextcloud-version: {e}")))
        })
        .transpose()?;
    let nextcloud_jars_present = catalog
        .declarations
        .iter()
        .filter(|d| d.group.as_deref() == Some(NEXTCLOUD_GROUP))
        .any(|d| d.bundles.iter().any(|b| bundles.get(&b.symbolic_name).is_some()));
    if nextcloud.is_none() && nextcloud_jars_present {
        errln!(
            "note: Nextcloud bundles are in {} but --nextcloud-version is not given: they are not deployed",
            bundles_path.display()
        );
    }
    // The Nextcloud family of that release, and every other plug-in whose jars are all there
    // (StarLeaf); the catalog's own selection, as for `cargo xtask package`.
    let selection = ResolveOptions { nextcloud, plugins_with_jars: true, ..ResolveOptions::default() };
    let selected =
        catalog.select(&selection, Some(&bundles)).map_err(|e| Failure::new(ExitClass::Usage, format!("{e:#}")))?;
    if selected.is_empty() {
        return Err(Failure::new(ExitClass::Usage, format!("nothing to deploy from {}", bundles_path.display()))
            .with_fix("give --nextcloud-version V (see `bmpack select`) for the Nextcloud connector; StarLeaf is deployed when its jars are there"));
    }
    // Jars only: deploy does itself what the packages' scripts do.
    let resolved =
        catalog.resolve(&bundles, &selection, None).map_err(|e| Failure::new(ExitClass::Usage, format!("{e:#}")))?;

    let _lock = lock(options)?;
    let mut plans = target_plans(&catalog, &options.root)?;
    for package in &resolved.packages {
        for file in &package.files {
            let dest = Path::new(&file.dest);
            let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else { continue };
            let Some(plan) = plans.iter_mut().find(|p| p.extensions == under(&options.root, dir)) else {
                return Err(Failure::new(
                    ExitClass::Other,
                    format!("{}: not in an extensions folder of packaging/bmpack.toml", file.dest),
                ));
            };
            let FileSource::Path(source) = &file.source else { continue };
            let name = name.to_string_lossy().into_owned();
            let origin = bundles
                .bundles
                .values()
                .find(|b| b.install_name() == name)
                .map_or_else(|| source.display().to_string(), |b| b.origin.clone());
            plan.installs.push(Install { name, source: source.clone(), origin });
        }
    }
    // One connector at a time: deploying for a Nextcloud release takes the other connectors out.
    let deployed: Vec<&str> = resolved.packages.iter().map(|p| p.name.as_str()).collect();
    let superseded: Vec<String> = if nextcloud_version.is_some() {
        catalog
            .declarations
            .iter()
            .filter(|d| d.group.as_deref() == Some(NEXTCLOUD_GROUP) && !deployed.contains(&d.name.as_str()))
            .flat_map(|d| d.bundles.iter().map(|b| b.symbolic_name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    // Older versions of the bundles being installed, and files the new jars replace.
    let symbolic_names: Vec<String> = bundles.bundles.keys().cloned().collect();
    for plan in &mut plans {
        let installing: Vec<(&str, &str)> = plan
            .installs
            .iter()
            .filter_map(|i| {
                symbolic_names.iter().find(|s| is_jar_of(&i.name, s)).map(|s| (s.as_str(), i.name.as_str()))
            })
            .collect();
        plan.removals = entries(&plan.extensions)?
            .into_iter()
            .filter(|name| {
                installing.iter().any(|(symbolic, new)| is_jar_of(name, symbolic) || name == new)
                    || superseded.iter().any(|symbolic| is_jar_of(name, symbolic))
            })
            .map(|name| plan.extensions.join(name))
            .collect();
    }
    execute(options, &catalog.targets, plans, "deploy")
}

/// From BlueMind 4.2 on the plug-ins are packages: jars copied by hand beside them would be
/// loaded twice or overwritten by the next upgrade, and jars taken out by hand would leave the
/// package database wrong, so `deploy` and `undeploy` say what to do with the packages instead.
fn refuse_packaged_bluemind(options: &DeployOptions, verb: &str) -> Result<(), Failure> {
    use crate::installed_bluemind::{PACKAGED_FROM, bm_core_version, major_minor};
    let Some((version, db)) = bm_core_version(&options.root) else { return Ok(()) };
    let tool = db.tool();
    if major_minor(&version).is_none_or(|v| v < PACKAGED_FROM) {
        return Ok(());
    }
    if options.force {
        errln!(
            "warning: bm-core {version} ({tool}) installs these plug-ins as packages; {verb} by hand anyway (--force)"
        );
        return Ok(());
    }
    let fix = if verb == "deploy" {
        "install them with the package manager: `bmpack select --nextcloud-version V` prints the exact \
         `apt install`/`yum install` line (bm-plugin-core-videoconferencing-starleaf and \
         bm-plugin-admin-console-videoconferencing-starleaf for StarLeaf); --force deploys by hand anyway"
    } else {
        "remove the plug-in packages with `apt remove` / `yum remove` (bm-nextcloud-common, \
         bm-nextcloudXX, the StarLeaf packages); --force takes the jars out by hand anyway"
    };
    Err(Failure::new(
        ExitClass::Usage,
        format!("bm-core {version} is installed ({tool}): from BlueMind 4.2 on the plug-ins are packages, not jars handled by hand"),
    )
    .with_fix(fix))
}

/// A jar that a package installed is the package manager's to replace or remove, even with
/// `--force`: moved by hand, it would come back at the next upgrade or be missing where
/// `dpkg -V`/`rpm -V` expects it, and one bundle would be loaded in two versions.
fn refuse_package_files(options: &DeployOptions, plans: &[&TargetPlan]) -> Result<(), Failure> {
    use crate::installed_bluemind::{PackageDatabase, owning_package};
    let Some(db) = PackageDatabase::under(&options.root) else { return Ok(()) };
    let owned: Vec<(String, String)> = plans
        .iter()
        .flat_map(|p| &p.removals)
        .filter_map(|path| {
            let absolute = Path::new("/").join(path.strip_prefix(&options.root).ok()?);
            let owner = owning_package(&options.root, db, &absolute)?;
            Some((absolute.display().to_string(), owner))
        })
        .collect();
    if owned.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = owned.iter().map(|(path, owner)| format!("{path} (package {owner})")).collect();
    let mut packages: Vec<&str> = owned.iter().map(|(_, owner)| owner.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    Err(Failure::new(
        ExitClass::Usage,
        format!("these jars belong to installed packages ({}): {}", db.tool(), listed.join(", ")),
    )
    .with_fix(format!(
        "leave them to the package manager, or first `{}`, then run the command again",
        db.manager().remove_command(&packages)
    )))
}

/// `undeploy`: takes every jar of bmpack's plug-ins out of the extensions folders.
pub fn undeploy(options: &DeployOptions) -> Result<(), Failure> {
    refuse_packaged_bluemind(options, "undeploy")?;
    let catalog = Catalog::builtin();
    let declared = catalog.declared_bundles();
    let _lock = lock(options)?;
    let mut plans = target_plans(&catalog, &options.root)?;
    for plan in &mut plans {
        plan.removals = entries(&plan.extensions)?
            .into_iter()
            .filter(|name| declared.iter().any(|s| is_jar_of(name, s)))
            .map(|name| plan.extensions.join(name))
            .collect();
    }
    if plans.iter().all(|p| !p.changes()) {
        outln!(
            "nothing to undeploy: no jar of bm-nextcloud-*, bm-nextcloudXX or the StarLeaf plug-ins in the extensions folders"
        );
        return Ok(());
    }
    execute(options, &catalog.targets, plans, "undeploy")
}

fn target_plans(catalog: &Catalog, root: &Path) -> Result<Vec<TargetPlan>, Failure> {
    let mut plans = Vec::new();
    for (key, target) in &catalog.targets {
        let extensions = under(root, Path::new(&target.extensions));
        refuse_link(&extensions)?;
        plans.push(TargetPlan {
            key: key.clone(),
            extensions,
            service: target.service.to_string(),
            cache: under(root, Path::new(&target.cache)),
            installs: Vec::new(),
            removals: Vec::new(),
        });
    }
    // bm-core first, as the vendor's procedure does.
    plans.sort_by_key(|p| p.key != "core");
    Ok(plans)
}

/// `root` + an absolute path.
fn under(root: &Path, absolute: &Path) -> PathBuf {
    root.join(absolute.strip_prefix("/").unwrap_or(absolute))
}

fn refuse_link(path: &Path) -> Result<(), Failure> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            let to = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            return Err(Failure::new(
                ExitClass::Other,
                format!(
                    "{} is a symbolic link to {to}: bmpack does not follow links out of the extensions folders",
                    path.display()
                ),
            )
            .with_fix("replace the link by a real folder (move the jars into it), then run the command again"));
        }
        if !meta.is_dir() {
            return Err(Failure::new(ExitClass::Other, format!("{} is not a folder", path.display())));
        }
    }
    Ok(())
}

/// Names in a folder (none if it does not exist yet).
fn entries(dir: &Path) -> Result<Vec<String>, Failure> {
    match std::fs::read_dir(dir) {
        Ok(list) => Ok(list.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::new(ExitClass::Other, format!("cannot read {}: {e}", dir.display()))),
    }
}

/// `net.x.y-1.2.3.jar`, `net.x.y_1.2.3.jar` or `net.x.y.jar` belong to bundle `net.x.y`
/// (`net.x.y12-1.0.jar` does not).
pub fn is_jar_of(file_name: &str, symbolic: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".jar") else { return false };
    match stem.strip_prefix(symbolic) {
        Some("") => true,
        Some(rest) => {
            let mut chars = rest.chars();
            matches!(chars.next(), Some('-' | '_')) && chars.next().is_some_and(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// What was done, to undo it.
#[derive(Default)]
struct Journal {
    /// (where it was, where it is in the backup)
    moved: Vec<(PathBuf, PathBuf)>,
    placed: Vec<PathBuf>,
}

/// Applies the plans, then settles each touched service by the packages' rules; the caller holds
/// the lock.
fn execute(
    options: &DeployOptions,
    targets: &BTreeMap<String, Target>,
    plans: Vec<TargetPlan>,
    verb: &str,
) -> Result<(), Failure> {
    let manager = ServiceManager::for_root(&options.root, options.service_tools.as_deref());
    let settler = manager
        .settler(&options.root, targets)
        .map_err(|e| Failure::new(ExitClass::Usage, e).with_fix("fix --service-tools, then run the command again"))?;
    let touched: Vec<&TargetPlan> = plans.iter().filter(|p| p.changes()).collect();
    refuse_package_files(options, &touched)?;
    print_plan(&touched, &manager, options.dry_run);
    if options.dry_run {
        outln!("dry run: nothing changed");
        return Ok(());
    }
    let stamp = timestamp();
    let backup = options.root.join(BACKUPS).join(format!("{stamp}-{verb}"));
    let mut journal = Journal::default();
    if let Err(message) = apply_files(&touched, &backup, &mut journal) {
        let undo = rollback(&journal);
        return Err(Failure::new(ExitClass::DeployFailed, format!("{verb} failed: {message}; {undo}"))
            .with_fix("fix the cause above (disk space, permissions), then run the command again"));
    }
    // The packages' policy, run once per touched service (bm-core first): see services.rs.
    let services: Vec<&str> = touched.iter().map(|p| p.service.as_str()).collect();
    let settled = match settler.settle(&services, &[]) {
        Ok(settled) => settled,
        Err(error) => {
            let undo = rollback(&journal);
            return Err(Failure::new(ExitClass::DeployFailed, format!("{verb} failed: {error}; {undo}"))
                .with_fix(look_at(services.first().copied().unwrap_or("bm-core"))));
        }
    };
    for line in settled.iter().flat_map(|s| &s.said) {
        outln!("{line}");
    }
    let failed: Vec<&Settled> = settled.iter().filter(|s| s.outcome.is_failure()).collect();
    if let Some(first) = failed.first() {
        // A service that ran is not on the new jars: the previous jars go back, and the services
        // that started on the new jars, or went down for them, are settled again on the old ones.
        let undo = rollback(&journal);
        let again: Vec<&str> =
            settled.iter().filter(|s| s.outcome.touched_new_jars()).map(|s| s.service.as_str()).collect();
        let down: Vec<&str> = settled.iter().filter(|s| s.outcome.is_down()).map(|s| s.service.as_str()).collect();
        let after = if again.is_empty() {
            "no service had started on the new jars".to_string()
        } else {
            match settler.settle(&again, &down) {
                Ok(back) => back.iter().flat_map(|s| s.said.iter().cloned()).collect::<Vec<_>>().join("; "),
                Err(error) => error,
            }
        };
        let names: Vec<&str> = failed.iter().map(|s| s.service.as_str()).collect();
        return Err(Failure::new(
            ExitClass::DeployFailed,
            format!(
                "{verb} failed: {} not running on the new jars (see above); {undo}; with the previous jars: {after}",
                names.join(" and ")
            ),
        )
        .with_fix(look_at(&first.service)));
    }
    if journal.moved.is_empty() {
        let _ = std::fs::remove_dir_all(&backup);
    } else {
        outln!("previous jars kept in {}", backup.display());
    }
    outln!("{verb} done");
    Ok(())
}

fn look_at(service: &str) -> String {
    format!(
        "look at `systemctl status {service}` and `journalctl -u {service}` (or /var/log/{service}/), then run the \
         command again"
    )
}

fn print_plan(touched: &[&TargetPlan], manager: &ServiceManager, dry_run: bool) {
    if touched.is_empty() {
        outln!("nothing to change");
        return;
    }
    outln!("{}", if dry_run { "plan (dry run):" } else { "plan:" });
    for plan in touched {
        for removal in &plan.removals {
            outln!("  remove  {} (kept in the backup)", removal.display());
        }
        for install in &plan.installs {
            outln!("  install {} (from {})", plan.extensions.join(&install.name).display(), install.origin);
        }
        if manager.drives_services() {
            outln!(
                "  settle  {} as its packages do: if it runs, restarted once on an emptied cache {}; if it is \
                 stopped, cache {} emptied and left stopped",
                plan.service,
                plan.cache.display(),
                plan.cache.display()
            );
        } else {
            outln!(
                "  empty   {}; a restart of {} is due in that system (its services are not touched from here)",
                plan.cache.display(),
                plan.service
            );
        }
    }
}

fn apply_files(touched: &[&TargetPlan], backup: &Path, journal: &mut Journal) -> Result<(), String> {
    for plan in touched {
        let saved_to = backup.join(&plan.key);
        for old in &plan.removals {
            std::fs::create_dir_all(&saved_to).map_err(|e| format!("cannot create {}: {e}", saved_to.display()))?;
            let kept = saved_to.join(old.file_name().expect("entries have names"));
            move_entry(old, &kept).map_err(|e| format!("cannot move {} to {}: {e}", old.display(), kept.display()))?;
            journal.moved.push((old.clone(), kept));
            outln!("removed {}", old.display());
        }
        if !plan.installs.is_empty() {
            std::fs::create_dir_all(&plan.extensions)
                .map_err(|e| format!("cannot create {}: {e}", plan.extensions.display()))?;
        }
        for install in &plan.installs {
            let dest = plan.extensions.join(&install.name);
            place(&install.source, &dest, journal).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
            outln!("installed {}", dest.display());
        }
    }
    Ok(())
}

/// Copies to a temporary name in the same folder (created exclusively: never through a link),
/// flushes, then renames over the final name.
fn place(source: &Path, dest: &Path, journal: &mut Journal) -> std::io::Result<()> {
    let name = dest.file_name().expect("jar names").to_string_lossy();
    let temp = dest.with_file_name(format!(".{name}.bmpack-tmp"));
    let result = (|| {
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        let mut input = std::fs::File::open(source)?;
        std::io::copy(&mut input, &mut out)?;
        out.flush()?;
        out.sync_all()?;
        std::fs::rename(&temp, dest)
    })();
    if result.is_err() {
        // Only a regular file we created: never remove what was there.
        if std::fs::symlink_metadata(&temp).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&temp);
        }
        return result;
    }
    journal.placed.push(dest.to_path_buf());
    Ok(())
}

/// Renames an entry (a link stays a link); across file systems copies it, then removes it.
fn move_entry(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let meta = std::fs::symlink_metadata(from)?;
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(from)?, to)?;
            } else {
                std::fs::copy(from, to)?;
            }
            std::fs::remove_file(from)
        }
        Err(e) => Err(e),
    }
}

/// Removes what was placed and moves the backups back; says how it went.
fn rollback(journal: &Journal) -> String {
    let mut problems = Vec::new();
    for placed in journal.placed.iter().rev() {
        if let Err(e) = std::fs::remove_file(placed) {
            problems.push(format!("cannot remove {}: {e}", placed.display()));
        }
    }
    for (original, kept) in journal.moved.iter().rev() {
        if let Err(e) = move_entry(kept, original) {
            problems.push(format!("cannot put {} back from {}: {e}", original.display(), kept.display()));
        }
    }
    if problems.is_empty() {
        "the previous jars were put back".to_string()
    } else {
        format!("putting the previous jars back failed: {}", problems.join("; "))
    }
}

/// UTC `YYYYMMDDTHHMMSSZ-<pid>`, for backup folder names.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}-{}", bmpack::dates::compact_utc(secs), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_names_of_a_bundle() {
        let s = "net.bluemind.filehosting.nextcloud";
        assert!(is_jar_of("net.bluemind.filehosting.nextcloud-4.1.0.jar", s));
        assert!(is_jar_of("net.bluemind.filehosting.nextcloud_4.1.0.202001.jar", s));
        assert!(is_jar_of("net.bluemind.filehosting.nextcloud.jar", s));
        assert!(!is_jar_of("net.bluemind.filehosting.nextcloud12-4.1.0.jar", s));
        assert!(!is_jar_of("net.bluemind.filehosting.nextcloud-4.1.0.jar.orig", s));
        assert!(!is_jar_of("net.bluemind.filehosting.nextcloud-extra-1.jar", s));
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(&t[8..9], "T", "{t}");
        assert!(t[..8].parse::<u32>().unwrap() > 20_200_000, "{t}");
    }
}
