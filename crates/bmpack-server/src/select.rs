//! `bmpack select`: which `bm-nextcloudXX` the Nextcloud server needs, and the line that installs it.

use std::io::Read;
use std::path::Path;

use bmpack::nextcloud::{NextcloudMatrix, NextcloudRelease, SelectError, select_connector_package};
use serde_json::json;

use crate::exit::{ExitClass, Failure};
use crate::http::{self, TlsOptions};
use crate::package_manager::{self, PackageManager};
use crate::status::{Product, ServerStatus};
use crate::webdav_address::WebdavAddress;

/// Where the Nextcloud version comes from.
pub enum Source {
    Version(String),
    Url(String),
    /// A file, or `-` for standard input.
    OccStatus(String),
}

pub struct SelectOptions<'a> {
    pub source: Source,
    pub tls: TlsOptions,
    pub root: &'a Path,
    pub package_manager: Option<PackageManager>,
}

pub struct Selection {
    pub release: String,
    /// Where the version was read.
    pub origin: String,
    pub product: String,
    pub package: String,
    pub packages: Vec<String>,
    pub manager: Option<PackageManager>,
    pub os_description: String,
    pub warnings: Vec<String>,
    /// What the server said of its state (not for a version typed by hand).
    pub server: Option<ServerStatus>,
    /// Every plug-in of the catalog and whether the installed BlueMind can take it, for
    /// configuration management (`--json`): which names form StarLeaf, which are connectors.
    pub plugins: Vec<PluginFit>,
}

/// A plug-in of the catalog against the BlueMind installed under the root.
pub struct PluginFit {
    pub name: String,
    pub group: Option<String>,
    pub connector: bool,
    pub conflicts: Vec<String>,
    /// Its relations on bm-core and bm-webserver, as `bm-core >= 4.5.3`.
    pub bluemind_range: Vec<String>,
    /// `None` when no package database under the root knows bm-core.
    pub fits_installed_bluemind: Option<bool>,
}

impl Selection {
    pub fn install_commands(&self) -> Vec<(PackageManager, String)> {
        let managers = match self.manager {
            Some(m) => vec![m],
            None => vec![PackageManager::Apt, PackageManager::Yum],
        };
        managers.into_iter().map(|m| (m, m.install_command(&self.packages))).collect()
    }

    pub fn print_text(&self) {
        for warning in &self.warnings {
            errln!("warning: {warning}");
        }
        outln!("{} {} ({}) needs {}", self.product, self.release, self.origin, self.package);
        match self.manager {
            Some(_) => {
                for (_, command) in self.install_commands() {
                    outln!("{command}");
                }
            }
            None => {
                errln!(
                    "note: this system is neither Debian- nor Red Hat-like ({}); both commands follow",
                    self.os_description
                );
                for (m, command) in self.install_commands() {
                    let family = if m == PackageManager::Apt { "Debian/Ubuntu" } else { "Red Hat/CentOS" };
                    outln!("{command}    # {family}");
                }
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "result": "ok",
            "exit_code": 0,
            "product": self.product,
            "nextcloud_version": self.release,
            "source": self.origin,
            "package": self.package,
            "packages": self.packages,
            "package_manager": self.manager.map(PackageManager::name),
            "install_command": self.manager.map(|m| m.install_command(&self.packages)),
            "install_commands": self.install_commands().into_iter()
                .map(|(m, c)| (m.name().to_string(), serde_json::Value::String(c)))
                .collect::<serde_json::Map<_, _>>(),
            "warnings": self.warnings,
            // The state that `occ status -e` turns into its exit code (1 maintenance, 2 upgrade pending).
            "server": self.server.as_ref().map(|s| json!({
                "installed": s.installed,
                "maintenance": s.maintenance,
                "needs_db_upgrade": s.needs_db_upgrade,
                "version": s.version,
                "versionstring": s.version_string,
            })),
            "plugins": self.plugins.iter().map(|p| json!({
                "name": p.name,
                "group": p.group,
                "connector": p.connector,
                "conflicts": p.conflicts,
                "bluemind_range": p.bluemind_range,
                "fits_installed_bluemind": p.fits_installed_bluemind,
            })).collect::<Vec<_>>(),
        })
    }
}

pub fn run(options: &SelectOptions) -> Result<Selection, Failure> {
    let matrix = NextcloudMatrix::builtin();
    let (version_text, origin, status) = match &options.source {
        Source::Version(v) => (v.clone(), "--nextcloud-version".to_string(), None),
        Source::Url(url) => {
            let address = WebdavAddress::parse(url)?;
            let limits = http::Limits::from_env();
            let agent = http::agent(&options.tls, true, &limits)?;
            let status = crate::status_php::fetch(&agent, &address, limits.request)?.status;
            (status.numeric_version().to_string(), address.status_url(), Some(status))
        }
        Source::OccStatus(file) => {
            let (text, origin) = read_input(file)?;
            let status = crate::status::from_occ_output(&text, &origin)?;
            (status.numeric_version().to_string(), origin, Some(status))
        }
    };
    let mut warnings = Vec::new();
    let mut product = "Nextcloud".to_string();
    let mut shown_version = version_text.clone();
    if let Some(status) = &status {
        check_product(status, &origin)?;
        product = status.product_name();
        shown_version = status.display_version().to_string();
        warnings.extend(status_warnings(status));
    }
    let release = NextcloudRelease::parse(&version_text).map_err(|e| select_failure(e, status.is_some()))?;
    let choice = select_connector_package(&matrix, &release).map_err(|e| select_failure(e, status.is_some()))?;
    let packages = vec![matrix.connector.requires.clone(), choice.package.clone()];
    warnings.extend(bluemind_range_warnings(options.root, &packages));
    let detected = package_manager::detect(options.root);
    Ok(Selection {
        release: shown_version,
        origin,
        product,
        package: choice.package,
        packages,
        manager: options.package_manager.or(detected.manager),
        os_description: detected.description,
        warnings,
        server: status,
        plugins: plugin_fits(options.root),
    })
}

/// Each plug-in of the default set against the bm-core and bm-webserver installed under `root`
/// (the ranges are the packages' `depends` in packaging/bmpack.toml, as apt and yum read them).
fn plugin_fits(root: &Path) -> Vec<PluginFit> {
    let catalog = bmpack::catalog::Catalog::builtin();
    let installed = crate::installed_bluemind::PackageDatabase::under(root)
        .map(|db| crate::installed_bluemind::installed_versions(root, db, &["bm-core", "bm-webserver"]))
        .filter(|versions| versions.contains_key("bm-core"));
    catalog
        .declarations
        .iter()
        .filter(|d| d.in_default_set)
        .map(|d| {
            let mut range = Vec::new();
            let mut fits = installed.as_ref().map(|_| true);
            for service in ["bm-core", "bm-webserver"] {
                for (op, v) in catalog.constraints_on(&d.name, service) {
                    range.push(format!("{service} {} {v}", op.rpm()));
                    if let (Some(versions), Some(ok)) = (&installed, fits.as_mut())
                        && let Some(have) = versions.get(service)
                    {
                        *ok &= bmpack::version_order::satisfies(have, op, &v);
                    }
                }
            }
            PluginFit {
                name: d.name.to_string(),
                group: d.group.clone(),
                connector: d.is_connector(),
                conflicts: d.conflict_names().into_iter().map(str::to_string).collect(),
                bluemind_range: range,
                fits_installed_bluemind: fits,
            }
        })
        .collect()
}

/// Where the package database under `root` knows bm-core: one warning per package of
/// `packages` that is not meant for that BlueMind (the ranges are the packages' `depends` on
/// bm-core in packaging/bmpack.toml), since apt and yum would refuse it.
fn bluemind_range_warnings(root: &Path, packages: &[String]) -> Vec<String> {
    let Some((installed, _)) = crate::installed_bluemind::bm_core_version(root) else {
        return Vec::new();
    };
    let catalog = bmpack::catalog::Catalog::builtin();
    let mut out = Vec::new();
    for package in packages {
        let constraints = catalog.constraints_on(package, "bm-core");
        if constraints.iter().any(|(op, v)| !bmpack::version_order::satisfies(&installed, *op, v)) {
            let range: Vec<String> = constraints.iter().map(|(op, v)| format!("{} {v}", op.rpm())).collect();
            out.push(format!(
                "{package} is for BlueMind {} and this server runs BlueMind {installed}: apt and yum will refuse it{}",
                range.join(", "),
                if constraints.iter().any(|(op, _)| *op == bmpack::model::Op::Ge) {
                    " (before 4.2, `bmpack deploy` does the vendor's manual procedure)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}

fn select_failure(error: SelectError, from_server: bool) -> Failure {
    match error {
        // A version typed by hand is a usage error; one sent by a server means the server is odd.
        SelectError::NotAVersion(_) if !from_server => Failure::new(ExitClass::Usage, error.to_string()),
        SelectError::NotAVersion(_) => Failure::new(ExitClass::ServerNotUsable, format!("the server reports {error}")),
        SelectError::TooOld { .. } => Failure::new(ExitClass::ServerNotUsable, error.to_string())
            .with_fix("upgrade Nextcloud to a supported release first"),
        SelectError::NotDeclared { .. } => Failure::new(ExitClass::ServerNotUsable, error.to_string()),
    }
}

/// ownCloud answers like Nextcloud (same origin) but BlueMind's connector is for Nextcloud only.
pub fn check_product(status: &ServerStatus, origin: &str) -> Result<(), Failure> {
    // Nextcloud's first release is 9: an unnamed server below it is ownCloud 8 or older.
    let unnamed_before_nextcloud = status.product == Product::Unnamed(None)
        && NextcloudRelease::parse(status.numeric_version()).is_ok_and(|r| r.major < 9);
    if status.product == Product::OwnCloud || unnamed_before_nextcloud {
        return Err(Failure::new(
            ExitClass::ServerNotUsable,
            format!(
                "{origin}: this server is ownCloud {}, a different product: BlueMind's connector (bm-nextcloudXX) is for Nextcloud only",
                status.display_version()
            ),
        )
        .with_fix("connect BlueMind to a Nextcloud server (ownCloud can be migrated to Nextcloud), or keep BlueMind's own file store"));
    }
    Ok(())
}

/// What does not change the choice but stops the connector from working today.
pub fn status_warnings(status: &ServerStatus) -> Vec<String> {
    let mut out = Vec::new();
    if !status.installed {
        out.push(
            "Nextcloud is not installed yet (installed: false): finish its installation before connecting BlueMind"
                .into(),
        );
    }
    if status.maintenance {
        out.push("Nextcloud is in maintenance mode: it refuses WebDAV until `occ maintenance:mode --off`".into());
    }
    if status.needs_db_upgrade {
        out.push("Nextcloud has an upgrade pending: run `occ upgrade`; after it, check the version again".into());
    }
    out
}

fn read_input(file: &str) -> Result<(String, String), Failure> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::new(ExitClass::Other, format!("reading occ status from standard input: {e}")))?;
        Ok((text, "occ status (standard input)".into()))
    } else {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Failure::new(ExitClass::Usage, format!("--occ-status {file}: {e}"))
                .with_fix("give the file written by `occ status --output=json > FILE`, or - to read standard input")
        })?;
        Ok((text, file.to_string()))
    }
}
