//! Stand-ins for BlueMind's own `bm-core` and `bm-webserver` packages, in the three generations
//! a server may run, copied from BlueMind's packaging (`../shared/bluemind-packaging-facts.md`,
//! read from `packaging/bm-core/` and `packaging/bm-webserver/` of BlueMind's public source):
//!
//! * [`Generation::NoTriggers`] (older 4.x): no trigger of any kind;
//! * [`Generation::InterestOnly`] (4.x): on Debian both declare `interest` in their extensions
//!   folder and do nothing when triggered; on RPM bm-webserver has `%triggerin` on a fixed list
//!   of BlueMind's own packages (ours are not in it);
//! * [`Generation::BlueMind5`]: as 4.x, but Debian's bm-webserver runs
//!   `systemctl restart bm-webserver` when triggered (without emptying its cache), and RPM's
//!   bm-core Conflicts with and Obsoletes the StarLeaf core plug-in.
//!
//! They are built with the distributions' own tools (`dpkg-deb --build`, `rpmbuild`), not by
//! bmpack: they are somebody else's packages. Their units copy the real ones (`Type=notify`,
//! `ConditionPathExists=!/etc/bm/<service>.disabled`, `StartLimitIntervalSec=30`,
//! `StartLimitBurst=2`, `PartOf=bluemind.target`, `Restart=on-failure`), and their daemon (a
//! small Perl program, since `perl-base` is on every Debian system) records each start and
//! whether the OSGi cache was empty then, loads the jars of its extensions folder into the
//! cache as Equinox does, and signals readiness from its main process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use tempfile::TempDir;

use crate::booted::Booted;
use crate::rpm_tools::run_ok;
use crate::tools::require_tool;

pub const SERVICES: [&str; 2] = ["bm-core", "bm-webserver"];
pub const FILEHOSTING: &str = "bm-plugin-core-filehosting-filesystem";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    NoTriggers,
    InterestOnly,
    BlueMind5,
}

impl Generation {
    pub const ALL: [Generation; 3] = [Generation::NoTriggers, Generation::InterestOnly, Generation::BlueMind5];

    /// The two releases of bm-core and bm-webserver built in this generation (the second for
    /// "BlueMind upgraded together with the plug-ins").
    pub fn versions(self) -> [&'static str; 2] {
        match self {
            Generation::NoTriggers => ["4.6.0", "4.6.1"],
            Generation::InterestOnly => ["4.9.0", "4.9.1"],
            Generation::BlueMind5 => ["5.0.0", "5.1.0"],
        }
    }

    /// StarLeaf exists for BlueMind 4.5.3 up to 4.x only.
    pub fn has_starleaf(self) -> bool {
        self != Generation::BlueMind5
    }

    /// Whether Debian's bm-webserver restarts itself when its extensions change (BlueMind 5).
    pub fn deb_webserver_restarts_itself(self) -> bool {
        self == Generation::BlueMind5
    }
}

/// The daemon of both services: `/usr/share/<service>/<service> <pidfile>`, as `ExecStart`.
const DAEMON: &str = r#"#!/usr/bin/perl
# Stand-in for a BlueMind Java service (bmpack install tests). Records this start in
# /var/log/bm-standin/<service>.starts with whether the OSGi cache was empty, fails when
# /etc/bm-standin/<service>.fail exists, loads the jars of the extensions folder into the cache
# (as Equinox does), tells systemd it is ready (Type=notify, from the main process), and runs
# until stopped.
use strict;
use warnings;
use Socket;

my ($service) = $0 =~ m{/usr/share/([^/]+)/[^/]+$} or die "unexpected path $0\n";
my $cache = "/var/lib/$service";
my $extensions = "/usr/share/$service/extensions";

sub entries {
    my ($dir) = @_;
    opendir(my $h, $dir) or return ();
    my @e = sort grep { $_ ne '.' && $_ ne '..' } readdir($h);
    closedir($h);
    return @e;
}

my $state = entries($cache) ? 'full' : 'empty';
my @jars = grep { /\.jar$/ } entries($extensions);
my $fail = -e "/etc/bm-standin/$service.fail";
mkdir '/var/log/bm-standin';
open(my $log, '>>', "/var/log/bm-standin/$service.starts") or die "log: $!\n";
printf $log "start cache=%s result=%s jars=%s\n", $state, ($fail ? 'failed' : 'ok'), join(',', @jars);
close($log);
if ($fail) {
    print STDERR "$service: cannot start (stand-in told to fail)\n";
    exit 1;
}
mkdir $cache;
mkdir "$cache/org.eclipse.osgi";
open(my $info, '>', "$cache/org.eclipse.osgi/bundles.info") or die "cache: $!\n";
print $info map { "$_\n" } @jars;
close($info);
if (@ARGV && open(my $pid, '>', $ARGV[0])) {
    print $pid "$$\n";
    close($pid);
}
if (my $path = $ENV{NOTIFY_SOCKET}) {
    $path =~ s/^@/\0/;
    socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
    send($s, "READY=1\nMAINPID=$$\n", 0, pack_sockaddr_un($path)) or die "notify: $!\n";
}
$SIG{TERM} = sub { exit 0 };
sleep 3600 while 1;
"#;

fn unit(service: &str) -> String {
    let (description, timeout) = match service {
        "bm-core" => ("BlueMind Core Server", "300s"),
        _ => ("BlueMind WEB Server", "90s"),
    };
    format!(
        "[Unit]\nDescription={description}\nConditionPathExists=!/etc/bm/{service}.disabled\n\
         StartLimitIntervalSec=30\nStartLimitBurst=2\nPartOf=bluemind.target\n\n\
         [Service]\nType=notify\nRestart=on-failure\nWorkingDirectory=/var/log\nTimeoutStartSec={timeout}\n\
         GuessMainPID=no\nRemainAfterExit=no\nSuccessExitStatus=129 143\n\
         ExecStart=/usr/share/{service}/{service} /var/run/{service}.pid\n\n\
         [Install]\nWantedBy=bluemind.target\n"
    )
}

const TARGET: &str = "[Unit]\nDescription=BlueMind\nWants=bm-core.service bm-webserver.service\n\n[Install]\nWantedBy=multi-user.target\n";

/// What debhelper (`dh_installsystemd`, compat 10 and later) adds to a service package's
/// scripts in place of `#DEBHELPER#`: enable, then start on install and restart on upgrade.
fn debhelper_postinst(service: &str) -> String {
    format!(
        r#"if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if deb-systemd-helper --quiet was-enabled '{service}.service'; then
		deb-systemd-helper enable '{service}.service' >/dev/null || true
	else
		deb-systemd-helper update-state '{service}.service' >/dev/null || true
	fi
fi
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action '{service}.service' >/dev/null || true
	fi
fi
"#
    )
}

fn debhelper_prerm(service: &str) -> String {
    format!(
        "#!/bin/bash\nset -e\nif [ -d /run/systemd/system ] && [ \"$1\" = remove ]; then\n\
         \tdeb-systemd-invoke stop '{service}.service' >/dev/null || true\nfi\n"
    )
}

fn debhelper_postrm(service: &str) -> String {
    format!(
        "#!/bin/bash\nset -e\nif [ -d /run/systemd/system ]; then\n\tsystemctl --system daemon-reload >/dev/null || true\nfi\n\
         if [ \"$1\" = \"purge\" ]; then\n\tdeb-systemd-helper purge '{service}.service' >/dev/null || true\nfi\n"
    )
}

/// Debian postinst of a generation: BlueMind's own text, then debhelper's.
fn deb_postinst(generation: Generation, service: &str) -> String {
    let own = if service == "bm-webserver" && generation.deb_webserver_restarts_itself() {
        // packaging/bm-webserver/debian/bm-webserver.postinst, BlueMind 5.
        "case \"$1\" in\n\ttriggered)\n\t\t[ -d /run/systemd/system ] && (systemctl restart bm-webserver || true)\n\t\texit $?\n\t\t;;\nesac\n"
    } else {
        // packaging/bm-core/debian/bm-core.postinst: no `triggered` case at all.
        ""
    };
    format!(
        "#!/bin/bash\n{own}\nupdate-rc.d -f {service} remove > /dev/null 2>&1\n\n{}\nexit 0\n",
        debhelper_postinst(service)
    )
}

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The files of a service package, laid out under `tree`.
fn service_tree(tree: &Path, service: &str, unit_dir: &str, with_target: bool) {
    write(&tree.join(format!("usr/share/{service}/{service}")), DAEMON, 0o755);
    std::fs::create_dir_all(tree.join(format!("usr/share/{service}/extensions"))).unwrap();
    std::fs::create_dir_all(tree.join(format!("var/lib/{service}"))).unwrap();
    write(&tree.join(format!("{unit_dir}/{service}.service")), &unit(service), 0o644);
    if with_target {
        // BlueMind ships bluemind.target in another package; the stand-in bm-core carries it.
        write(&tree.join(format!("{unit_dir}/bluemind.target")), TARGET, 0o644);
    }
}

fn deb_standin(dir: &Path, generation: Generation, service: &str, version: &str) -> PathBuf {
    let tree = TempDir::new().unwrap();
    let t = tree.path();
    service_tree(t, service, "lib/systemd/system", service == "bm-core");
    write(
        &t.join("DEBIAN/control"),
        &format!(
            "Package: {service}\nVersion: {version}-1\nArchitecture: all\nMaintainer: bmpack tests <tests@example.org>\n\
             Section: misc\nPriority: optional\nDescription: stand-in for BlueMind's {service} ({generation:?})\n"
        ),
        0o644,
    );
    write(&t.join("DEBIAN/postinst"), &deb_postinst(generation, service), 0o755);
    write(&t.join("DEBIAN/prerm"), &debhelper_prerm(service), 0o755);
    write(&t.join("DEBIAN/postrm"), &debhelper_postrm(service), 0o755);
    if generation != Generation::NoTriggers {
        write(&t.join("DEBIAN/triggers"), &format!("interest /usr/share/{service}/extensions\n"), 0o644);
    }
    let out = dir.join(format!("{service}_{version}-1_all.deb"));
    run_ok(Command::new("dpkg-deb").args(["--root-owner-group", "-Zgzip", "--build"]).arg(t).arg(&out));
    out
}

/// BlueMind's own file store plug-in: one jar for bm-core, depending on bm-core of its version.
fn deb_filehosting(dir: &Path, core_version: &str) -> PathBuf {
    let tree = TempDir::new().unwrap();
    let t = tree.path();
    write(
        &t.join(format!("usr/share/bm-core/extensions/net.bluemind.filehosting.filesystem-{core_version}.jar")),
        "jar\n",
        0o644,
    );
    write(
        &t.join("DEBIAN/control"),
        &format!(
            "Package: {FILEHOSTING}\nVersion: {core_version}-1\nArchitecture: all\nMaintainer: bmpack tests <tests@example.org>\n\
             Depends: bm-core (= {core_version}-1)\nSection: misc\nPriority: optional\nDescription: stand-in for BlueMind's file store\n"
        ),
        0o644,
    );
    let out = dir.join(format!("{FILEHOSTING}_{core_version}-1_all.deb"));
    run_ok(Command::new("dpkg-deb").args(["--root-owner-group", "--build"]).arg(t).arg(&out));
    out
}

/// The Debian stand-ins of a generation: bm-core and bm-webserver at both versions, and the
/// file store at the first.
pub fn debs(generation: Generation) -> Vec<PathBuf> {
    static BUILT: Mutex<Vec<(Generation, TempDir, Vec<PathBuf>)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, debs)) = built.iter().find(|(g, _, _)| *g == generation) {
        return debs.clone();
    }
    require_tool("dpkg-deb", "dpkg");
    let dir = TempDir::new().unwrap();
    let mut debs = Vec::new();
    for version in generation.versions() {
        for service in SERVICES {
            debs.push(deb_standin(dir.path(), generation, service, version));
        }
    }
    debs.push(deb_filehosting(dir.path(), generation.versions()[0]));
    built.push((generation, dir, debs.clone()));
    debs
}

/// The RPM scriptlets of BlueMind's specs (`packaging/<service>/redhat/<service>.spec`).
fn rpm_spec(generation: Generation, service: &str, version: &str, root: &Path) -> String {
    let mut spec = format!(
        "Name: {service}\nVersion: {version}\nRelease: 1\nSummary: stand-in for BlueMind's {service} ({generation:?})\n\
         License: AGPL-3.0-only\nBuildArch: noarch\nAutoReqProv: no\n\
         Requires(post): systemd systemd-sysv /bin/bash\n"
    );
    if service == "bm-core" && generation == Generation::BlueMind5 {
        spec.push_str(
            "Conflicts: bm-plugin-core-videoconferencing-starleaf\nObsoletes: bm-plugin-core-videoconferencing-starleaf\n",
        );
    }
    spec.push_str(&format!(
        "\n%description\nstand-in\n\n%define __os_install_post %{{nil}}\n\n%install\ncp -a {}/. %{{buildroot}}/\n\n\
         %files\n/usr/share/{service}\n/var/lib/{service}\n/usr/lib/systemd/system/{service}.service\n",
        root.display()
    ));
    if service == "bm-core" {
        spec.push_str("/usr/lib/systemd/system/bluemind.target\n");
    }
    let cache_clean = if service == "bm-webserver" {
        "\nif [ -d /var/lib/bm-webserver ]; then\n    rm -fr /var/lib/bm-webserver/*\nfi\n"
    } else {
        ""
    };
    spec.push_str(&format!(
        "\n%pre\nif [ $1 -gt 1 ]; then\n    [ -d /run/systemd/system ] && systemctl stop {service}\nfi\n\
         \n%post -p /bin/bash\nsystemctl enable {service}{cache_clean}\nif [ -d /run/systemd/system ]; then\n    systemctl daemon-reload\n    if [ $1 -eq 1 ]; then\n        systemctl start {service}\n    fi\nfi\n\
         \n%preun\nif [ $1 -eq 0 ]; then\n    [ -d /run/systemd/system ] && systemctl stop {service}\nfi\nexit 0\n\
         \n%postun\nif [ $1 -eq 1 ]; then\n    [ -d /run/systemd/system ] && systemctl start {service}\nfi\nexit 0\n"
    ));
    if service == "bm-webserver" && generation != Generation::NoTriggers {
        // A fixed list of BlueMind's own packages; ours are not in it.
        let list = "bm-admin-console, bm-settings, bm-webmail, bm-plugin-webserver-filehosting";
        spec.push_str(&format!(
            "\n%triggerin -p /bin/bash -- {list}\n[ $1 -ne 1 ] && exit 0\nif [ $2 -eq 1 ]; then\n    if [ -d /var/lib/bm-webserver ]; then\n        rm -fr /var/lib/bm-webserver/*\n    fi\n    systemctl restart bm-webserver\nfi\n\
             \n%triggerpostun -p /bin/bash -- {list}\n[ $1 -ne 1 ] && exit 0\nif [ $2 -eq 0 ]; then\n    systemctl restart bm-webserver\nfi\n"
        ));
    }
    spec
}

fn rpmbuild(dir: &Path, spec_text: &str, name: &str) -> PathBuf {
    let top = TempDir::new().unwrap();
    let spec = top.path().join(format!("{name}.spec"));
    std::fs::write(&spec, spec_text).unwrap();
    run_ok(
        Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.path().display()))
            .arg("--define")
            .arg(format!("_rpmdir {}", dir.display()))
            .args(["--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm", "--quiet", "-bb"])
            .arg(&spec),
    );
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}-")))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .expect("rpmbuild wrote a package")
}

/// What a Debian system provides that an RPM package may require (rpm's database in a Debian
/// root starts empty): the shells and systemd, by name and by path.
fn rpm_system_provides(dir: &Path) -> PathBuf {
    let spec = "Name: debian-system\nVersion: 1\nRelease: 1\nSummary: what the Debian system provides, for rpm\n\
                License: MIT\nBuildArch: noarch\nAutoReqProv: no\n\
                Provides: /bin/sh /bin/bash /usr/bin/sh systemd systemd-sysv initscripts coreutils findutils\n\
                \n%description\nThe Debian system underneath, as rpm sees it.\n\n%files\n";
    rpmbuild(dir, spec, "debian-system")
}

/// The RPM stand-ins of a generation (bm-core and bm-webserver at both versions, the file
/// store at the first) and the package that tells rpm what the Debian system provides.
pub fn rpms(generation: Generation) -> (PathBuf, Vec<PathBuf>) {
    /// Per generation: the folder, the system package and the stand-ins.
    type Built = (Generation, TempDir, PathBuf, Vec<PathBuf>);
    static BUILT: Mutex<Vec<Built>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, base, rpms)) = built.iter().find(|(g, _, _, _)| *g == generation) {
        return (base.clone(), rpms.clone());
    }
    require_tool("rpmbuild", "rpm");
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("rpms");
    std::fs::create_dir_all(&out).unwrap();
    let base = rpm_system_provides(&out);
    let mut rpms = Vec::new();
    for version in generation.versions() {
        for service in SERVICES {
            let tree = dir.path().join(format!("tree-{service}-{version}"));
            service_tree(&tree, service, "usr/lib/systemd/system", service == "bm-core");
            rpms.push(rpmbuild(&out, &rpm_spec(generation, service, version, &tree), service));
        }
    }
    let core = generation.versions()[0];
    let tree = dir.path().join("tree-filehosting");
    write(
        &tree.join(format!("usr/share/bm-core/extensions/net.bluemind.filehosting.filesystem-{core}.jar")),
        "jar\n",
        0o644,
    );
    let spec = format!(
        "Name: {FILEHOSTING}\nVersion: {core}\nRelease: 1\nSummary: stand-in for BlueMind's file store\nLicense: AGPL-3.0-only\n\
         BuildArch: noarch\nAutoReqProv: no\nRequires: bm-core = {core}-1\n\n%description\nstand-in\n\n\
         %define __os_install_post %{{nil}}\n\n%install\ncp -a {}/. %{{buildroot}}/\n\n%files\n/usr/share/bm-core/extensions/*\n",
        tree.display()
    );
    rpms.push(rpmbuild(&out, &spec, FILEHOSTING));
    built.push((generation, dir, base.clone(), rpms.clone()));
    (base, rpms)
}

/// One start of a stand-in service, from its own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub cache_was_empty: bool,
    pub failed: bool,
    /// The jars it loaded.
    pub jars: Vec<String>,
}

/// Every start of `service` since the last [`forget_starts`].
pub fn starts(system: &Booted, service: &str) -> Vec<Start> {
    let text =
        std::fs::read_to_string(system.join(&format!("/var/log/bm-standin/{service}.starts"))).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next()? == "start").then_some(())?;
            let cache = fields.next()?.strip_prefix("cache=")?;
            let result = fields.next()?.strip_prefix("result=")?;
            let jars = fields.next().and_then(|j| j.strip_prefix("jars=")).unwrap_or("");
            Some(Start {
                cache_was_empty: cache == "empty",
                failed: result == "failed",
                jars: jars.split(',').filter(|j| !j.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

pub fn forget_starts(system: &Booted) {
    for service in SERVICES {
        let _ = std::fs::remove_file(system.join(&format!("/var/log/bm-standin/{service}.starts")));
    }
}

/// Makes every later start of `service` fail.
pub fn make_starts_fail(system: &Booted, service: &str) {
    write(&system.join(&format!("/etc/bm-standin/{service}.fail")), "", 0o644);
}
