//! `bmpack doctor`: are the plug-ins on this server really in effect?
//!
//! What no package manager reports, checked from the package database, the extensions folders,
//! BlueMind's own list of core bundles and systemd:
//!
//! * the BlueMind release and our plug-in packages, each against the releases it is meant for
//!   (derived from its `depends` on bm-core/bm-webserver in packaging/bmpack.toml: StarLeaf is
//!   for 4.5.3 up to 4.x, Nextcloud for 4.2 and later);
//! * every jar in the extensions folders, read as BlueMind's startup reads it
//!   (`net.bluemind.startup.dropins`: every `*.jar` under the folder, its `Bundle-SymbolicName`
//!   by `java.util.jar.Manifest`), with the package that owns it or none (left over from a
//!   manual install);
//! * two jars with one symbolic name (BlueMind keeps one, which one is not defined), and an
//!   extension whose symbolic name is a core bundle's (BlueMind skips it silently; the core's
//!   bundles are listed in `configuration/org.eclipse.equinox.simpleconfigurator/bundles.info`,
//!   the original kept as `bundles.info.installed` once the startup has rewritten it);
//! * each service: running, stopped, disabled by `/etc/bm/<service>.disabled`, failed, or held
//!   by systemd's start limit (`Result=start-limit-hit`), and whether it started after its
//!   extensions last changed (the folder's mtime, each jar's ctime, against
//!   `ExecMainStartTimestampMonotonic`): if not, a restart is due;
//! * with `--url`, whether the installed `bm-nextcloudXX` is the one that Nextcloud needs.
//!
//! Each finding is ok, warn or FAIL with the command that fixes it; the exit code is the worst
//! one (0, 1, 2), 3 when doctor cannot run.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bmpack::catalog::Catalog;
use bmpack::console::printable;
use bmpack::model::Op;
use bmpack::nextcloud::{NextcloudRelease, select_connector_package};
use bmpack::version_order::satisfies;
use serde_json::{Value, json};

use crate::http::{self, Limits, TlsOptions};
use crate::installed_bluemind::{PACKAGED_FROM, PackageDatabase, installed_versions, major_minor, owning_package};
use crate::package_manager::PackageManager;
use crate::report::{Level, Report};
use crate::services::{Init, ServiceManager, is_disabled};
use crate::webdav_address::WebdavAddress;

/// Doctor could not run at all (usage, no catalog): documented in `--help`.
pub const CANNOT_RUN: i32 = 3;

/// Where BlueMind's startup lists the core bundles, under `/usr/share/<product>`.
const BUNDLES_INFO: &str = "configuration/org.eclipse.equinox.simpleconfigurator/bundles.info";

pub fn help() -> String {
    format!(
        "Reads the package database (dpkg or rpm), the extensions folders, BlueMind's list of core bundles\n\
         and systemd (`systemctl show`); changes nothing. With --url it also reads Nextcloud's status.php\n\
         (no login). With --root, the system under DIR is read; its services only through --service-tools.\n\n\
         Exit codes (by the worst finding, as Nagios/Icinga plug-ins do):\n  \
         0  ok: every plug-in is in effect\n  \
         1  warn: something to look at, nothing broken (a jar no package owns, a service disabled or\n     \
            stopped, a state that cannot be read)\n  \
         2  FAIL: a plug-in is not in effect or at risk (two jars for one bundle, an extension shadowed by\n     \
            a core bundle, an unreadable jar, a restart due, a failed service or one held by systemd's start\n     \
            limit, a package not meant for this BlueMind, the wrong Nextcloud connector, no BlueMind)\n  \
         {CANNOT_RUN}  doctor could not run (wrong option or malformed --url)"
    )
}

pub struct DoctorOptions {
    pub root: PathBuf,
    pub url: Option<String>,
    pub tls: TlsOptions,
    pub json: bool,
    pub service_tools: Option<PathBuf>,
}

/// One jar in an extensions folder.
struct Jar {
    service: String,
    /// As the system sees it: `/usr/share/bm-core/extensions/x.jar`.
    path: String,
    /// Symbolic name and version, or why BlueMind cannot read it.
    identity: Result<(String, String), String>,
    owner: Option<String>,
}

/// What the package database says.
struct Installed {
    db: Option<PackageDatabase>,
    versions: BTreeMap<String, String>,
}

impl Installed {
    fn manager(&self) -> PackageManager {
        self.db.map_or(PackageManager::Apt, PackageDatabase::manager)
    }

    fn bm_core(&self) -> Option<&str> {
        self.versions.get("bm-core").map(String::as_str)
    }

    /// Jars handled by hand are the rule before BlueMind 4.2.
    fn before_packaged_plugins(&self) -> bool {
        self.bm_core().and_then(major_minor).is_some_and(|v| v < PACKAGED_FROM)
    }
}

pub fn run(options: &DoctorOptions) -> i32 {
    let address = match options.url.as_deref().map(WebdavAddress::parse).transpose() {
        Ok(a) => a,
        Err(failure) => {
            errln!("error: {failure}");
            return CANNOT_RUN;
        }
    };
    let catalog = Catalog::builtin();
    let root = &options.root;
    let mut report = Report::new(options.json);
    let plugins: Vec<&str> =
        catalog.declarations.iter().filter(|d| d.in_default_set).map(|d| d.name.as_str()).collect();
    let installed = bluemind_step(&mut report, root, &plugins);
    let jars = scan_jars(&catalog, root, installed.db);
    packages_step(&mut report, &catalog, &installed, &plugins, &jars);
    let manager = ServiceManager::for_root(root, options.service_tools.as_deref());
    jars_step(&mut report, &catalog, &installed, &jars, root, &manager);
    let services = services_step(&mut report, &catalog, root, &manager);
    let mut nextcloud = Value::Null;
    if let Some(address) = &address {
        nextcloud = nextcloud_step(&mut report, &catalog, &installed, address, &options.tls);
    }
    let facts = json!({
        "root": root.display().to_string(),
        "package_database": installed.db.map(PackageDatabase::tool),
        "bluemind": {"bm-core": installed.versions.get("bm-core"), "bm-webserver": installed.versions.get("bm-webserver")},
        "packages": plugins.iter().filter_map(|p| installed.versions.get(*p).map(|v| json!({"name": p, "version": v}))).collect::<Vec<_>>(),
        "jars": jars.iter().map(|j| json!({
            "service": j.service,
            "path": printable(&j.path),
            "symbolic_name": j.identity.as_ref().ok().map(|i| &i.0),
            "version": j.identity.as_ref().ok().map(|i| &i.1),
            "error": j.identity.as_ref().err(),
            "owner": j.owner,
        })).collect::<Vec<_>>(),
        "services": services,
        "nextcloud": nextcloud,
    });
    report.finish_by_severity(facts)
}

fn bluemind_step(report: &mut Report, root: &Path, plugins: &[&str]) -> Installed {
    let Some(db) = PackageDatabase::under(root) else {
        report.line(
            Level::Fail,
            "bluemind",
            format!(
                "no package database (dpkg or rpm) under {}: not a BlueMind server, or the wrong --root",
                root.display()
            ),
            None,
        );
        return Installed { db: None, versions: BTreeMap::new() };
    };
    let mut names = vec!["bm-core", "bm-webserver"];
    names.extend(plugins);
    let versions = installed_versions(root, db, &names);
    let installed = Installed { db: Some(db), versions };
    match installed.bm_core() {
        None => report.line(
            Level::Fail,
            "bluemind",
            format!("bm-core is not installed ({}): this is not a BlueMind server", db.tool()),
            None,
        ),
        Some(core) => {
            let webserver = installed.versions.get("bm-webserver").map_or("not installed".to_string(), |v| v.clone());
            let era = if installed.before_packaged_plugins() {
                "; before 4.2 the plug-ins are jars deployed by hand (`bmpack deploy`)"
            } else {
                "; the plug-ins are packages"
            };
            report.ok("bluemind", format!("bm-core {core}, bm-webserver {webserver} ({}){era}", db.tool()));
        }
    }
    installed
}

/// Every `*.jar` under each extensions folder, as BlueMind's startup finds them (recursively,
/// regular files, links to files followed), with its identity and owner.
fn scan_jars(catalog: &Catalog, root: &Path, db: Option<PackageDatabase>) -> Vec<Jar> {
    let mut jars = Vec::new();
    for target in catalog.targets.values() {
        let folder = under(root, &target.extensions);
        for entry in walkdir(&folder) {
            let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if !name.ends_with(".jar") || !entry.is_file() {
                continue;
            }
            let absolute = Path::new("/").join(entry.strip_prefix(root).unwrap_or(&entry));
            let shown = absolute.display().to_string();
            let identity = bmpack::bundle::Bundle::read(&entry, &shown)
                .map(|b| (b.symbolic_name, b.version))
                .map_err(|e| e.to_string());
            let owner = db.and_then(|db| owning_package(root, db, &absolute));
            jars.push(Jar { service: target.service.to_string(), path: shown, identity, owner });
        }
    }
    jars
}

/// Files and folders under `folder` (not following links to folders, as `Files.walk`), sorted.
fn walkdir(folder: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `root` + an absolute path of the system.
fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

fn constraint_text(name: &str, constraints: &[(Op, String)]) -> Vec<String> {
    constraints.iter().map(|(op, v)| format!("{name} {} {v}", op.rpm())).collect()
}

fn packages_step(report: &mut Report, catalog: &Catalog, installed: &Installed, plugins: &[&str], jars: &[Jar]) {
    for name in plugins {
        let Some(version) = installed.versions.get(*name) else {
            continue;
        };
        let mut needs = Vec::new();
        let mut unmet = Vec::new();
        for bluemind in ["bm-core", "bm-webserver"] {
            let constraints = catalog.constraints_on(name, bluemind);
            needs.extend(constraint_text(bluemind, &constraints));
            for (op, wanted) in &constraints {
                let met = installed.versions.get(bluemind).is_some_and(|have| satisfies(have, *op, wanted));
                if !met {
                    let have = installed.versions.get(bluemind).map_or("not installed".to_string(), |v| v.clone());
                    unmet.push(format!("{bluemind} {} {wanted} (installed: {have})", op.rpm()));
                }
            }
        }
        let meant = if needs.is_empty() { String::new() } else { format!(": meant for {}", needs.join(", ")) };
        if unmet.is_empty() {
            report.ok("package", format!("{name} {version}{meant}"));
            continue;
        }
        let owns_jar = jars.iter().any(|j| j.owner.as_deref() == Some(*name));
        let message = format!("{name} {version} is not meant for this BlueMind: it needs {}", unmet.join(", "));
        if owns_jar {
            report.line(
                Level::Fail,
                "package",
                format!("{message}; its jars are loaded by a BlueMind they were not made for"),
                Some(installed.manager().remove_command(&[name])),
            );
        } else {
            report.line(
                Level::Warn,
                "package",
                format!(
                    "{message}; it installs no jar (an empty transitional package, as BlueMind 5 ships for StarLeaf)"
                ),
                Some(installed.manager().remove_command(&[name])),
            );
        }
    }
}

/// The package that carries `bundle`, from the declarations.
fn package_of_bundle<'a>(catalog: &'a Catalog, bundle: &str) -> Option<&'a str> {
    catalog.declarations.iter().find(|d| d.carries(bundle)).map(|d| d.name.as_str())
}

/// Stop, empty the cache (the folder stays, with its owner), start: the packages' way.
fn restart_command(catalog: &Catalog, manager: &ServiceManager, service: &str) -> String {
    let cache =
        catalog.targets.values().find(|t| t.service == service).map(|t| t.cache.to_string()).unwrap_or_default();
    format!(
        "{} && find {cache} -mindepth 1 -delete && {}",
        manager.command(service, "stop"),
        manager.command(service, "start")
    )
}

fn jars_step(
    report: &mut Report,
    catalog: &Catalog,
    installed: &Installed,
    jars: &[Jar],
    root: &Path,
    services: &ServiceManager,
) {
    let manager = installed.manager();
    for jar in jars {
        let restart = restart_command(catalog, services, &jar.service);
        let (symbolic, version) = match &jar.identity {
            Ok(identity) => identity,
            Err(why) => {
                let fix = match &jar.owner {
                    Some(owner) => format!("{} (reinstall the package)", reinstall_command(manager, owner)),
                    None => format!("rm {} && {restart}", shell_word(&jar.path)),
                };
                report.line(
                    Level::Fail,
                    "extensions",
                    format!("{}: BlueMind cannot read this jar and skips it: {why}", printable(&jar.path)),
                    Some(fix),
                );
                continue;
            }
        };
        match &jar.owner {
            Some(owner) => {
                report.ok("extensions", format!("{}: {symbolic} {version} (package {owner})", printable(&jar.path)))
            }
            None if installed.before_packaged_plugins() => report.ok(
                "extensions",
                format!("{}: {symbolic} {version} (deployed by hand, as before BlueMind 4.2)", printable(&jar.path)),
            ),
            None => {
                let fix = match package_of_bundle(catalog, symbolic) {
                    Some(package) if installed.versions.contains_key(package) => {
                        format!("package {package} provides this bundle now: rm {} && {restart}", shell_word(&jar.path))
                    }
                    Some(package) => format!(
                        "install the package instead, then remove the jar: {} && rm {} && {restart}",
                        manager.install_command(&[package.to_string()]),
                        shell_word(&jar.path)
                    ),
                    None => format!(
                        "if it was copied by hand and is no longer wanted: rm {} && {restart}",
                        shell_word(&jar.path)
                    ),
                };
                report.line(
                    Level::Warn,
                    "extensions",
                    format!(
                        "{}: {symbolic} {version}: no package owns it (left over from a manual install?)",
                        printable(&jar.path)
                    ),
                    Some(fix),
                );
            }
        }
    }
    // Two jars, one symbolic name, in one service: BlueMind keeps one of them, which one is not defined.
    let mut by_name: BTreeMap<(&str, &str), Vec<&Jar>> = BTreeMap::new();
    for jar in jars {
        if let Ok((symbolic, _)) = &jar.identity {
            by_name.entry((jar.service.as_str(), symbolic.as_str())).or_default().push(jar);
        }
    }
    for ((service, symbolic), group) in by_name.iter().filter(|(_, g)| g.len() > 1) {
        let listed: Vec<String> = group
            .iter()
            .map(|j| {
                format!(
                    "{} ({})",
                    printable(&j.path),
                    j.owner.as_ref().map_or("no package".to_string(), |o| format!("package {o}"))
                )
            })
            .collect();
        let unowned: Vec<String> = group.iter().filter(|j| j.owner.is_none()).map(|j| shell_word(&j.path)).collect();
        let restart = restart_command(catalog, services, service);
        let fix = if !unowned.is_empty() && unowned.len() < group.len() {
            format!("remove the jars no package owns: rm {} && {restart}", unowned.join(" "))
        } else if unowned.is_empty() {
            let owners: BTreeSet<&str> = group.iter().filter_map(|j| j.owner.as_deref()).collect();
            format!(
                "keep one of the packages: {}",
                manager.remove_command(&owners.into_iter().skip(1).collect::<Vec<_>>())
            )
        } else {
            format!("keep only one of them: rm {} && {restart}", unowned[1..].join(" "))
        };
        report.line(
            Level::Fail,
            "extensions",
            format!("{} jars for bundle {symbolic} in {service}: {}; BlueMind loads one of them, and which one is not defined", group.len(), listed.join(", ")),
            Some(fix),
        );
    }
    // An extension named like a core bundle: BlueMind skips it silently.
    for target in catalog.targets.values() {
        let product = Path::new(&target.extensions).parent().map(|p| p.display().to_string()).unwrap_or_default();
        let Some((core, source)) = core_bundles(root, &product) else {
            if jars.iter().any(|j| j.service == target.service) {
                report.line(
                    Level::Warn,
                    "extensions",
                    format!("{product}/{BUNDLES_INFO} cannot be read: not checked whether an extension of {} shadows a core bundle", target.service),
                    None,
                );
            }
            continue;
        };
        for jar in jars.iter().filter(|j| j.service == target.service) {
            let Ok((symbolic, _)) = &jar.identity else {
                continue;
            };
            if core.contains(symbolic) {
                let fix = match &jar.owner {
                    Some(owner) => manager.remove_command(&[owner.as_str()]),
                    None => format!(
                        "rm {} && {}",
                        shell_word(&jar.path),
                        restart_command(catalog, services, &target.service)
                    ),
                };
                report.line(
                    Level::Fail,
                    "extensions",
                    format!(
                        "{}: {symbolic} is a core bundle of {} ({source}): BlueMind skips this extension silently",
                        printable(&jar.path),
                        target.service
                    ),
                    Some(fix),
                );
            }
        }
    }
}

fn reinstall_command(manager: PackageManager, package: &str) -> String {
    match manager {
        PackageManager::Apt => format!("apt install --reinstall {package}"),
        PackageManager::Yum => format!("yum reinstall {package}"),
    }
}

/// A path as one shell word (quoted when it needs to be).
fn shell_word(path: &str) -> String {
    if path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b)) {
        path.to_string()
    } else {
        format!("'{}'", printable(&path.replace('\'', "'\\''")))
    }
}

/// The symbolic names of the core's bundles: `bundles.info.installed` (the list as installed,
/// kept once the startup rewrote `bundles.info`), else `bundles.info` without its extensions.
fn core_bundles(root: &Path, product: &str) -> Option<(BTreeSet<String>, String)> {
    let base = format!("{product}/{BUNDLES_INFO}");
    for (path, skip_extensions) in [(format!("{base}.installed"), false), (base, true)] {
        let Ok(text) = std::fs::read_to_string(under(root, &path)) else {
            continue;
        };
        let names = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut fields = l.split(',');
                let name = fields.next()?.trim().to_string();
                let location = fields.nth(1).unwrap_or_default();
                (!(skip_extensions && location.starts_with("extensions/"))).then_some(name)
            })
            .collect();
        return Some((names, path));
    }
    None
}

/// The newest change in a service's extensions: the folders' mtimes (a jar added or removed)
/// and each jar's ctime (written, replaced, renamed), with what changed.
fn newest_change(catalog: &Catalog, root: &Path, service: &str) -> Option<(SystemTime, String)> {
    let mut newest: Option<(SystemTime, String)> = None;
    for target in catalog.targets.values().filter(|t| t.service == service) {
        let folder = under(root, &target.extensions);
        let mut consider = |path: &Path, use_ctime: bool| {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                return;
            };
            let (secs, nanos) =
                if use_ctime { (meta.ctime(), meta.ctime_nsec()) } else { (meta.mtime(), meta.mtime_nsec()) };
            let Ok(secs) = u64::try_from(secs) else {
                return;
            };
            let when = UNIX_EPOCH + Duration::new(secs, nanos.clamp(0, 999_999_999) as u32);
            if newest.as_ref().is_none_or(|(t, _)| when > *t) {
                let shown = Path::new("/").join(path.strip_prefix(root).unwrap_or(path)).display().to_string();
                newest = Some((when, shown));
            }
        };
        consider(&folder, false);
        for entry in walkdir(&folder) {
            if entry.is_dir() {
                consider(&entry, false);
            } else if entry.to_string_lossy().ends_with(".jar") {
                consider(&entry, true);
            }
        }
    }
    newest
}

/// CLOCK_REALTIME − CLOCK_MONOTONIC now: what turns systemd's monotonic timestamps into times
/// comparable with file times.
fn boot_time() -> Option<SystemTime> {
    let read = |clock| {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime fills the timespec it is given.
        (unsafe { libc::clock_gettime(clock, &mut t) } == 0).then(|| Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    };
    let (real, monotonic) = (read(libc::CLOCK_REALTIME)?, read(libc::CLOCK_MONOTONIC)?);
    Some(UNIX_EPOCH + real.checked_sub(monotonic)?)
}

fn ago(when: SystemTime) -> String {
    let seconds = SystemTime::now().duration_since(when).map_or(0, |d| d.as_secs());
    match seconds {
        0..=119 => format!("{seconds} s ago"),
        120..=7199 => format!("{} min ago", seconds / 60),
        7200..=172_799 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

const SHOW: &[&str] = &[
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "ExecMainStartTimestampMonotonic",
    "ConditionResult",
    "Restart",
    "StartLimitBurst",
    "StartLimitIntervalUSec",
];

fn services_step(report: &mut Report, catalog: &Catalog, root: &Path, manager: &ServiceManager) -> Vec<Value> {
    let services: BTreeSet<&str> = catalog.targets.values().map(|t| t.service.as_str()).collect();
    let mut out = Vec::new();
    for service in services {
        let area = format!("service {service}");
        let restart = restart_command(catalog, manager, service);
        let mut facts = json!({"service": service});
        if is_disabled(root, service) {
            facts["state"] = json!("disabled");
            report.line(
                Level::Warn,
                area,
                format!("disabled by /etc/bm/{service}.disabled: it does not run on this server, nor do its plug-ins"),
                Some(format!(
                    "if this server should run it: rm /etc/bm/{service}.disabled && systemctl start {service}"
                )),
            );
            out.push(facts);
            continue;
        }
        if !manager.drives_services() {
            facts["state"] = json!("unknown");
            report.line(
                Level::Warn,
                area,
                format!(
                    "not queried: {} is not the running system (give --service-tools DIR to query its service manager)",
                    root.display()
                ),
                None,
            );
            out.push(facts);
            continue;
        }
        if manager.init == Init::SysV {
            let running = manager.is_running(service);
            facts["state"] = json!(if running { "running" } else { "stopped" });
            if running {
                report.line(
                    Level::Warn,
                    area,
                    "running (no systemd: whether it started after its extensions changed cannot be told)",
                    None,
                );
            } else {
                report.line(
                    Level::Warn,
                    area,
                    "stopped: its plug-ins are not in effect until it starts",
                    Some(manager.command(service, "start")),
                );
            }
            out.push(facts);
            continue;
        }
        let state = match manager.show(service, SHOW) {
            Ok(s) => s,
            Err(e) => {
                facts["state"] = json!("unknown");
                facts["error"] = json!(e);
                report.line(Level::Warn, area, format!("its state cannot be read: {e}"), None);
                out.push(facts);
                continue;
            }
        };
        let get = |k: &str| state.get(k).map(String::as_str).unwrap_or_default();
        let (active, sub, result) = (get("ActiveState"), get("SubState"), get("Result"));
        facts["state"] = json!(active);
        facts["sub_state"] = json!(sub);
        facts["result"] = json!(result);
        // Held by the start limit: `Result=start-limit-hit` when a start was refused outright; a
        // unit that restarts on failure keeps its first failure's result when the limit stops the
        // restarts ("Start request repeated too quickly"), and stays failed: nothing else stops
        // those restarts.
        let restarts = !matches!(get("Restart"), "" | "no");
        if get("LoadState") == "not-found" {
            report.line(Level::Fail, area, format!("there is no {service} unit: {service} is not installed"), None);
        } else if result == "start-limit-hit" || (active == "failed" && restarts) {
            facts["start_limit_hit"] = json!(true);
            report.line(
                Level::Fail,
                area,
                format!(
                    "held by systemd's start limit ({} starts in {}; Result={result}): it failed to start too often in a short time, and systemd refuses to start it again",
                    get("StartLimitBurst"),
                    get("StartLimitIntervalUSec")
                ),
                Some(format!("see why with `journalctl -u {service} -n 200`, then: systemctl reset-failed {service} && systemctl start {service}")),
            );
        } else if active == "failed" {
            report.line(
                Level::Fail,
                area,
                format!("failed (Result={result}): it does not run, nor do its plug-ins"),
                Some(format!("see why with `journalctl -u {service} -n 200`, then: systemctl restart {service}")),
            );
        } else if active == "active" || active == "reloading" {
            let started = get("ExecMainStartTimestampMonotonic").parse::<u64>().ok().filter(|m| *m > 0);
            let started = started.zip(boot_time()).map(|(m, boot)| boot + Duration::from_micros(m));
            let changed = newest_change(catalog, root, service);
            facts["started"] = json!(started.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()));
            facts["extensions_changed"] =
                json!(changed.as_ref().and_then(|(t, _)| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()));
            match (started, changed) {
                (Some(started), Some((changed, what))) if changed > started => {
                    facts["restart_due"] = json!(true);
                    report.line(
                        Level::Fail,
                        area,
                        format!(
                            "a restart is due: it started {}, before its extensions last changed ({}, {}): what was installed or removed since is not in effect",
                            ago(started),
                            printable(&what),
                            ago(changed)
                        ),
                        Some(restart),
                    );
                }
                (Some(started), _) => {
                    facts["restart_due"] = json!(false);
                    report.ok(area, format!("running since {}, after its extensions last changed", ago(started)));
                }
                (None, _) => {
                    report.line(
                        Level::Warn,
                        area,
                        format!(
                            "running ({sub}), but its start time is unknown: whether a restart is due cannot be told"
                        ),
                        None,
                    );
                }
            }
        } else if active == "activating" || active == "deactivating" {
            report.line(
                Level::Warn,
                area,
                format!("{active} ({sub}) right now: run doctor again when it has settled"),
                None,
            );
        } else if get("ConditionResult") == "no" {
            report.line(
                Level::Warn,
                area,
                format!("not started: a start condition of its unit failed ({active}, {sub})"),
                Some(format!("`systemctl status {service}` names the condition")),
            );
        } else {
            report.line(
                Level::Warn,
                area,
                format!("stopped ({active}, {sub}): its plug-ins are not in effect until it starts"),
                Some(format!("systemctl start {service}")),
            );
        }
        out.push(facts);
    }
    out
}

fn nextcloud_step(
    report: &mut Report,
    catalog: &Catalog,
    installed: &Installed,
    address: &WebdavAddress,
    tls: &TlsOptions,
) -> Value {
    let limits = Limits::from_env();
    let status =
        http::agent(tls, true, &limits).and_then(|agent| crate::status_php::fetch(&agent, address, limits.request));
    let status =
        match status.and_then(|f| crate::select::check_product(&f.status, &address.status_url()).map(|()| f.status)) {
            Ok(s) => s,
            Err(failure) => {
                report.line(Level::Fail, "nextcloud", failure.message, failure.fix);
                return json!({"url": address.given, "error": true});
            }
        };
    let matrix = &catalog.matrix;
    let needed = NextcloudRelease::parse(status.numeric_version())
        .map_err(|e| e.to_string())
        .and_then(|r| select_connector_package(matrix, &r).map_err(|e| e.to_string()));
    let connectors: Vec<String> = matrix.majors.iter().map(|m| matrix.package_for(*m)).collect();
    let have: Vec<&String> = connectors.iter().filter(|c| installed.versions.contains_key(*c)).collect();
    let shown = format!("{} {}", status.product_name(), status.display_version());
    let needed = match needed {
        Ok(choice) => choice.package,
        Err(e) => {
            report.line(Level::Fail, "nextcloud", format!("{shown}: {e}"), None);
            return json!({"url": address.given, "version": status.display_version()});
        }
    };
    let manager = installed.manager();
    let install = manager.install_command(&[matrix.connector.requires.clone(), needed.clone()]);
    match have.as_slice() {
        [one] if **one == needed => report.ok("nextcloud", format!("{shown} needs {needed}, which is installed")),
        [] => report.line(
            Level::Fail,
            "nextcloud",
            format!("{shown} needs {needed}, and no Nextcloud connector is installed"),
            Some(install),
        ),
        others => {
            let listed: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            let fix = match (manager, listed.as_slice()) {
                (PackageManager::Yum, [old]) if *old != needed => {
                    format!("yum swap {old} {needed}")
                }
                _ => install,
            };
            report.line(
                Level::Fail,
                "nextcloud",
                format!("{shown} needs {needed}, but {} is installed", listed.join(" and ")),
                Some(fix),
            );
        }
    }
    json!({"url": address.given, "version": status.display_version(), "needs": needed, "installed": have})
}
