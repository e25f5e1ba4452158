//! A logging stand-in for `systemctl`, installed at `/usr/bin/systemctl` in a throwaway root
//! (with `/run/systemd/system`, which is how scripts and invoke-rc.d tell that systemd runs).
//!
//! It knows two services, `bm-core` and `bm-webserver`. Each `start`, `stop`, `restart` and
//! `try-restart` is appended to `/var/log/bm-shim.log` as `<action> <service> cache=<empty|full>`
//! (was `/var/lib/<service>` empty at that moment). A running service fills its cache, as the
//! real OSGi framework does. `/var/lib/bm-shim/<service>` holds `active` or `inactive`;
//! `/var/lib/bm-shim/<service>.fail` makes starts fail.

use std::path::Path;

pub const SYSTEMCTL: &str = r#"#!/bin/sh
# systemctl stand-in of the bmpack install tests (see tests/harness/shim.rs).
state=/var/lib/bm-shim
log=/var/log/bm-shim.log
quiet=
property=
while [ $# -gt 0 ]; do
    case $1 in
        --quiet | -q) quiet=1; shift ;;
        -p) property=$2; shift 2 ;;
        --property=*) property=${1#--property=}; shift ;;
        --*) shift ;;
        *) break ;;
    esac
done
action=${1:-}
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
unit=${1:-}
service=${unit%.service}
case $service in
    bm-core | bm-webserver) ;;
    sysinit.target) exit 0 ;;
    *) exit 0 ;;
esac
cache=/var/lib/$service
mkdir -p "$state"
cache_state() {
    if [ -n "$(ls -A "$cache" 2>/dev/null)" ]; then echo full; else echo empty; fi
}
is_active() {
    [ "$(cat "$state/$service" 2>/dev/null)" = active ]
}
run() {
    echo "$1 $service cache=$(cache_state)" >>"$log"
    if [ -e "$state/$service.fail" ]; then
        echo inactive >"$state/$service"
        echo "Job for $service.service failed because the control process exited with error code." >&2
        exit 1
    fi
    echo active >"$state/$service"
    mkdir -p "$cache/org.eclipse.osgi"
    echo "bundles loaded" >"$cache/org.eclipse.osgi/framework.info"
}
case $action in
    is-active)
        if is_active; then [ -n "$quiet" ] || echo active; exit 0; fi
        [ -n "$quiet" ] || echo inactive
        exit 3
        ;;
    is-enabled) [ -n "$quiet" ] || echo enabled; exit 0 ;;
    show)
        case $property in
            LoadState) echo LoadState=loaded ;;
            CanReload) echo CanReload=no ;;
            SourcePath) echo "" ;;
            *) echo "$property=" ;;
        esac
        ;;
    start | restart) run "$action" ;;
    try-restart) if is_active; then run "$action"; fi ;;
    stop)
        echo "stop $service cache=$(cache_state)" >>"$log"
        echo inactive >"$state/$service"
        ;;
    status) if is_active; then echo "$service active"; exit 0; fi; echo "$service inactive"; exit 3 ;;
    *) exit 0 ;;
esac
exit 0
"#;

/// Installs the shim into the root at `root` (a path on the host): the script, the marker of a
/// running systemd, and the state folder.
pub fn install(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("systemctl");
    std::fs::write(&shim, SYSTEMCTL).unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
    // invoke-rc.d blocks every action when there is no /sbin/init (and no policy-rc.d), as
    // in a bare chroot; a server has one.
    let init = root.join("sbin/init");
    if !init.exists() {
        std::fs::create_dir_all(root.join("sbin")).unwrap();
        std::fs::write(&init, "#!/bin/sh\n# stands for systemd in the bmpack install tests\nexit 0\n").unwrap();
        std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(root.join("var/lib/bm-shim")).unwrap();
    std::fs::create_dir_all(root.join("var/log")).unwrap();
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub action: String,
    pub service: String,
    pub cache_empty: bool,
}

/// Reads the log of the root at `root`.
pub fn events(root: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(root.join("var/log/bm-shim.log")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(Event {
                action: w.next()?.to_string(),
                service: w.next()?.to_string(),
                cache_empty: w.next()? == "cache=empty",
            })
        })
        .collect()
}

/// Forgets the log (after the server was set up).
pub fn clear(root: &Path) {
    let _ = std::fs::remove_file(root.join("var/log/bm-shim.log"));
}

/// How many times `service` was (re)started: `start`, `restart` and an effective `try-restart`.
pub fn restarts(events: &[Event], service: &str) -> usize {
    events.iter().filter(|e| e.service == service && e.action != "stop").count()
}

/// Every (re)start of `service` found its cache empty: the new bundles were loaded.
pub fn started_with_empty_cache(events: &[Event], service: &str) -> bool {
    events.iter().filter(|e| e.service == service && e.action != "stop").all(|e| e.cache_empty)
}

pub fn set_running(root: &Path, service: &str, running: bool) {
    std::fs::write(root.join("var/lib/bm-shim").join(service), if running { "active\n" } else { "inactive\n" })
        .unwrap();
}

pub fn make_starts_fail(root: &Path, service: &str) {
    std::fs::write(root.join("var/lib/bm-shim").join(format!("{service}.fail")), "").unwrap();
}

pub fn is_running(root: &Path, service: &str) -> bool {
    std::fs::read_to_string(root.join("var/lib/bm-shim").join(service)).map(|s| s.trim() == "active").unwrap_or(false)
}
