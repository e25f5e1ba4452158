//! `bmpack`, the tool administrators run on a BlueMind server: tell whether the plug-ins are in
//! effect (doctor), pick the Nextcloud connector package, check the Nextcloud server, deploy the
//! plug-ins by hand before BlueMind 4.2.

#[macro_use]
extern crate bmpack; // outln!/errln! (bmpack::console) in every module
mod check;
mod deploy;
mod doctor;
mod exit;
mod http;
mod installed_bluemind;
mod lock;
mod package_manager;
mod password;
mod report;
mod select;
mod services;
mod status;
mod status_php;
mod url;
mod webdav;
mod webdav_address;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use exit::{ExitClass, Failure};
use package_manager::PackageManager;

#[derive(Parser)]
#[command(name = "bmpack", version, about = "BlueMind plug-ins on a BlueMind server: tell whether they are in effect, pick the Nextcloud connector, check the Nextcloud server, deploy by hand before BlueMind 4.2", after_help = exit::all_exit_codes_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the bm-nextcloudXX package the Nextcloud server needs, and the command that installs it.
    #[command(after_help = select_help())]
    Select(SelectArgs),
    /// Check that the Nextcloud server can serve BlueMind's connector, step by step, with the fix for
    /// each problem: address, status.php, login (PROPFIND), and an upload probe that catches servers
    /// storing uploads as 0 bytes (Apache mod_proxy_fcgi + PHP-FPM).
    #[command(after_help = check_help())]
    Check(CheckArgs),
    /// BlueMind before 4.2: put the plug-in jars into the extensions folders, empty the OSGi caches
    /// and restart the services that run (the vendor's manual procedure). From 4.2 on, install the packages.
    #[command(after_help = deploy_help())]
    Deploy(DeployArgs),
    /// Tell whether the plug-ins on this server are really in effect: BlueMind's release and the
    /// plug-in packages meant for it, every jar in the extensions folders and who owns it, two jars
    /// for one bundle, extensions shadowed by core bundles, each service's state and whether a
    /// restart is due, and with --url the Nextcloud connector; each finding with the command that fixes it.
    #[command(after_help = doctor::help())]
    Doctor(DoctorArgs),
    /// BlueMind before 4.2: take bmpack's plug-in jars (Nextcloud, StarLeaf) out of the extensions
    /// folders again, empty the caches and restart the services that run.
    #[command(after_help = deploy_help())]
    Undeploy(UndeployArgs),
}

fn deploy_help() -> String {
    format!(
        "The lock (/var/lib/bmpack/deploy.lock under the root) is taken before the plan is made.
Replaced jars are moved to /var/backups/bmpack/<time>-<command>/ first. Then each service is settled
by the same shell function as the bm-plugin-reload package's scripts: a running service is restarted
once on an emptied cache (/var/lib/bm-core, /var/lib/bm-webserver), through invoke-rc.d where there is
one (policy-rc.d counts), else systemctl; a stopped or absent one only gets its cache emptied;
/etc/bm/<service>.disabled leaves it alone; without a running systemd no service is touched and a
restart is said to be due. If a copy fails, or a service that ran is not running on the new jars
afterwards (refused, masked, could not be stopped, failed to start), the previous jars are put back
and the services settled again. With --root other than /, the host's services are never touched
(see --service-tools). Links are never followed out of the
extensions folders. An archive is refused when an entry name repeats, and unless it has
{limits}.

Exit codes:
  0  done (or nothing to do)
  1  other failure (an extensions folder is a link, unreadable folder)
  2  usage: wrong option, unreadable or invalid bundles, version without a connector,
     BlueMind 4.2 or later installed (use the packages instead, or --force),
     a jar to replace or remove belongs to an installed package (even with --force)
  8  failed; the previous jars were put back (the message says whether that worked)
  9  another deploy/undeploy is running",
        limits = bmpack::archive::ArchiveLimits::default().describe()
    )
}

#[derive(Args)]
struct DeployArgs {
    /// The marketplace archive (.zip, .tar.gz) or a folder of jars.
    #[arg(long, value_name = "ARCHIVE|DIR")]
    bundles: PathBuf,
    /// The Nextcloud version (see `bmpack select`): deploys bm-nextcloud-common's jars and the
    /// matching connector. Without it, only the StarLeaf jars (when present) are deployed.
    #[arg(long, value_name = "V")]
    nextcloud_version: Option<String>,
    #[command(flatten)]
    common: DeployCommon,
}

#[derive(Args)]
struct UndeployArgs {
    #[command(flatten)]
    common: DeployCommon,
}

#[derive(Args)]
struct DeployCommon {
    /// Act on the system under this folder instead of / (the extensions folders, caches, backups and lock are under it).
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// With --root: drive the services of that system with DIR/systemctl (and DIR/invoke-rc.d when
    /// there is one), e.g. wrappers around `systemctl -M MACHINE`. Without it, the services of a
    /// root other than / are never touched: their caches are emptied and a restart is said to be due.
    #[arg(long, value_name = "DIR")]
    service_tools: Option<PathBuf>,
    /// Act even though the installed bm-core is 4.2 or later, where the plug-ins are packages
    /// (`apt install` / `yum install`, see `bmpack select`).
    #[arg(long)]
    force: bool,
}

impl DeployCommon {
    fn options(&self) -> deploy::DeployOptions {
        deploy::DeployOptions {
            root: self.root.clone(),
            dry_run: self.dry_run,
            force: self.force,
            service_tools: self.service_tools.clone(),
        }
    }
}

fn check_help() -> String {
    use ExitClass::*;
    format!(
        "The password is read from --password-file, else from the environment variable {},\n\
         else asked on the terminal; never from the command line. It is sent only to the scheme, host and port\n\
         of the address given (redirects are not followed, other hosts in the server's answers are refused).\n\
         The upload probe writes two files of 1 MiB named .bmpack-probe-*.bin in the user's folder and deletes them.\n\n\
         {}\n\n{}",
        password::PASSWORD_ENV,
        http::Limits::DEFAULT.help(),
        exit::exit_codes_help(
            "ready (warnings may have been printed)",
            &[Other, Usage, Network, ServerNotUsable, Authentication, UploadsLoseData, WebDav]
        )
    )
}

fn select_help() -> String {
    use ExitClass::*;
    exit::exit_codes_help(
        "the package was chosen (warnings may have been printed)",
        &[Other, Usage, Network, ServerNotUsable, WebDav],
    )
}

#[derive(Args)]
struct CheckArgs {
    /// The Nextcloud WebDAV address given to BlueMind (…/remote.php/dav/files[/USER] or …/remote.php/webdav/).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The Nextcloud user to log in as (the login's user ID).
    #[arg(long, value_name = "U")]
    user: String,
    /// Read the password (or app password) from the first line of this file.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Print one JSON object with every step instead of text lines.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DoctorArgs {
    /// The Nextcloud WebDAV address given to BlueMind: check that the installed bm-nextcloudXX is the
    /// one that server needs (status.php is read, no login).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Read the system under this folder instead of / (its services only with --service-tools).
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Query the services of the system under --root with DIR/systemctl (or DIR/service).
    #[arg(long, value_name = "DIR")]
    service_tools: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Print one JSON object (every finding, the jars, the services) for scripts and fleet tools.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
struct SelectArgs {
    /// The Nextcloud version, as on its admin page or in `occ status` (e.g. 25.0.3).
    #[arg(long, value_name = "V", group = "source")]
    nextcloud_version: Option<String>,
    /// The Nextcloud WebDAV address (…/remote.php/dav/files/USER or …/remote.php/webdav/):
    /// the version is read from status.php next to it, without logging in.
    #[arg(long, value_name = "URL", group = "source")]
    url: Option<String>,
    /// The output of `occ status --output=json` run on the Nextcloud host (a file, or - for standard input).
    #[arg(long, value_name = "FILE|-", group = "source")]
    occ_status: Option<String>,
    /// The install command for this package manager instead of the one detected from /etc/os-release.
    #[arg(long, value_name = "apt|yum", value_parser = ["apt", "yum"])]
    package_manager: Option<String>,
    /// Read /etc/os-release under this root instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    #[command(flatten)]
    tls: TlsArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct TlsArgs {
    /// Also trust the CA certificates in this PEM file (a private CA).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate (tests only: the password could be intercepted).
    #[arg(long)]
    insecure: bool,
}

impl TlsArgs {
    fn options(&self) -> http::TlsOptions {
        http::TlsOptions { ca_file: self.ca_file.clone(), insecure: self.insecure }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // `doctor`'s codes 1 and 2 are severities: its usage errors have their own code.
            let code = match (error.use_stderr(), std::env::args().nth(1).as_deref()) {
                (false, _) => 0,
                (true, Some("doctor")) => doctor::CANNOT_RUN,
                (true, _) => ExitClass::Usage.code(),
            };
            return ExitCode::from(code as u8);
        }
    };
    match cli.command {
        Command::Doctor(args) => ExitCode::from(doctor::run(&doctor::DoctorOptions {
            root: args.root,
            url: args.url,
            tls: args.tls.options(),
            json: args.json,
            service_tools: args.service_tools,
        }) as u8),
        Command::Select(args) => run_select(args),
        Command::Check(args) => run_check(args),
        Command::Deploy(args) => {
            finish(deploy::deploy(&args.common.options(), &args.bundles, args.nextcloud_version.as_deref()))
        }
        Command::Undeploy(args) => finish(deploy::undeploy(&args.common.options())),
    }
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure, false),
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    let options = check::CheckOptions {
        url: args.url,
        user: args.user,
        tls: args.tls.options(),
        json: args.json,
        limits: http::Limits::from_env(),
    };
    let password_file = args.password_file;
    let user = options.user.clone();
    let code = check::run(&options, || password::obtain(password_file.as_deref(), &user));
    ExitCode::from(code as u8)
}

fn run_select(args: SelectArgs) -> ExitCode {
    let source = match (args.nextcloud_version, args.url, args.occ_status) {
        (Some(v), _, _) => select::Source::Version(v),
        (_, Some(u), _) => select::Source::Url(u),
        (_, _, Some(f)) => select::Source::OccStatus(f),
        _ => unreachable!("clap requires one source"),
    };
    if args.tls.insecure && !args.json {
        errln!("warning: --insecure: the server's certificate is not verified");
    }
    let options = select::SelectOptions {
        source,
        tls: args.tls.options(),
        root: &args.root,
        package_manager: args.package_manager.as_deref().and_then(PackageManager::parse),
    };
    match select::run(&options) {
        Ok(selection) => {
            if args.json {
                outln!("{}", selection.to_json());
            } else {
                selection.print_text();
            }
            ExitCode::SUCCESS
        }
        Err(failure) => fail(&failure, args.json),
    }
}

/// Prints a failure (text on stderr, or a JSON object on stdout) and returns its exit code.
fn fail(failure: &Failure, as_json: bool) -> ExitCode {
    if as_json {
        outln!(
            "{}",
            json!({
                "result": "FAIL",
                "exit_code": failure.class.code(),
                "class": failure.class.name(),
                "error": failure.message,
                "fix": failure.fix,
            })
        );
    } else {
        errln!("error: {failure}");
    }
    exit_code(failure.class)
}

fn exit_code(class: ExitClass) -> ExitCode {
    ExitCode::from(class.code() as u8)
}
