# shellcheck shell=sh
#
# Shell functions shared by the bm-plugin-reload maintainer scripts (debian/), scriptlets (rpm/)
# and its helper program (/usr/lib/bm-plugin-reload/bm-plugin-reload). bmpack copies this file
# into each of them in place of the functions placeholder line, after a generated function,
# bm_targets, that prints one line per extensions folder of [targets] in packaging/bmpack.toml:
# `<service> <extensions folder> <cache folder>`. Every script is self-contained: the Debian
# postrm and the RPM %postun run after the package's own files are gone. (See
# crates/bmpack/src/scripts.rs.)
#
# Before the functions, each script sets BM_INIT_HELPER: `invoke-rc.d` on Debian (so that
# policy-rc.d is honoured) or `systemctl` on RPM.
#
# How the new bundles get loaded, whoever restarts the service:
#   * bm-plugin-reload installs a systemd drop-in for each service, whose ExecStartPre runs
#     `bm-plugin-reload prestart <service>`: when the extensions folder is not what it was at
#     the service's last start (its fingerprint: names, inodes, sizes, times of its entries), the
#     cache is emptied before the service starts, and the new fingerprint is kept in
#     /var/lib/bm-plugin-reload/<service>.loaded. So a restart by BlueMind's own package (BlueMind
#     5's bm-webserver restarts itself when triggered), by bmctl or by a reboot loads the new
#     bundles too;
#   * at the end of a transaction, each service whose extensions changed is settled once
#     (bm_settle_service): a running service that has not been started on the current bundles
#     yet is restarted, once; if its own package did it already, nothing more is done.
#
# What settling a service does, the one place where the policy is decided:
#   * /etc/bm/<service>.disabled exists: nothing (the administrator runs it elsewhere or not at all);
#   * no running systemd (chroot, container, image build): the cache is emptied, a restart is due;
#   * the service is stopped: the cache is emptied, the service stays stopped;
#   * the service ran before the transaction and a restart during it left it down (BlueMind 5's
#     bm-webserver restarts itself when triggered, and StartLimitBurst may refuse that): it is
#     started again;
#   * the service runs on the current bundles already: nothing;
#   * the unit is masked while it runs: it could not be started again, so it is not touched and
#     the output says a restart is due;
#   * otherwise: one restart (`invoke-rc.d restart` / `systemctl restart`), with systemd's start
#     counter reset first, so that BlueMind's StartLimitBurst=2 in 30 s, meant for crash loops,
#     never refuses this single deliberate restart;
#   * a refusal by policy-rc.d or a failure is printed with what to do, and never fails the
#     package operation.
# Each case leaves its name in bm_outcome (see bm_settle_service). `bmpack deploy`, the manual
# install for BlueMind before 4.2, runs this same function after placing the jars (see
# bm_use_root), and reads bm_outcome to decide whether to put the previous jars back.

BM_RELOAD_STATE_DIR=/var/lib/bm-plugin-reload
# The system whose services are settled: empty, the running one, in the package's scripts.
BM_ROOT=
# Why the services cannot be reached from here, when they cannot (`bmpack deploy --root DIR`
# without --service-tools): then none is queried or touched. Empty in the package's scripts.
BM_UNREACHABLE=
BM_HELPER=/usr/lib/bm-plugin-reload/bm-plugin-reload
BM_DROPIN_NAME=bm-plugin-reload.conf

# `bmpack deploy --root DIR`: the files read and written are those under DIR (the paths of
# bm_targets and the messages stay the system's own), and the services are driven by the
# systemctl and invoke-rc.d first on PATH (deploy puts those of --service-tools there). The
# package's scripts never call it.
bm_use_root() {
    BM_ROOT=$1
    BM_RELOAD_STATE_DIR=$1$BM_RELOAD_STATE_DIR
}

bm_say() {
    printf 'bm-plugin-reload: %s\n' "$*"
}

# The services of [targets], in their stable order.
bm_services() {
    bm_targets | while read -r bm_s _ _; do echo "$bm_s"; done
}

# The service that loads the bundles of an extensions folder (or of a file in it).
bm_service_of_path() {
    bm_targets | while read -r bm_s bm_e _; do
        case $1 in
            "$bm_e" | "$bm_e"/*) echo "$bm_s" ;;
        esac
    done
}

bm_extensions_of() {
    bm_targets | while read -r bm_s bm_e _; do
        if [ "$bm_s" = "$1" ]; then echo "$bm_e"; fi
    done
}

# The OSGi cache of a service: what must be emptied when its bundles change.
bm_cache_of() {
    bm_targets | while read -r bm_s _ bm_c; do
        if [ "$bm_s" = "$1" ]; then echo "$bm_c"; fi
    done
}

# Removes everything inside the cache folder but keeps the folder (its owner and mode).
bm_empty_cache() {
    bm_cache=$1
    case $bm_cache in
        /var/lib/?*) ;;
        *)
            bm_say "refusing to empty '$bm_cache': a cache is a folder under /var/lib"
            return 1
            ;;
    esac
    [ -d "$BM_ROOT$bm_cache" ] || return 0
    # find prints paths that start with "$BM_ROOT$bm_cache/", never an empty one. -H follows the
    # folder itself when the administrator made it a link to another disk.
    find -H "$BM_ROOT$bm_cache" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
}

# What the extensions folder of a service holds now, as one line: its entries' names, inodes,
# sizes and modification times (a reinstalled jar has a new inode), or "absent".
bm_fingerprint() {
    bm_ext=$(bm_extensions_of "$1")
    if [ -d "$BM_ROOT$bm_ext" ]; then
        find -H "$BM_ROOT$bm_ext" -mindepth 1 -maxdepth 1 -printf '%f %i %s %T@\n' 2>/dev/null | LC_ALL=C sort | cksum
    else
        echo absent
    fi
}

# The fingerprint of the extensions the service last started with (kept by bm_prestart).
bm_loaded_fingerprint() {
    cat "$BM_RELOAD_STATE_DIR/$1.loaded" 2>/dev/null || true
}

# Run by the drop-in's ExecStartPre, just before the service starts: empties the cache when the
# extensions changed since the last start.
bm_prestart() {
    bm_now=$(bm_fingerprint "$1")
    if [ "$bm_now" != "$(bm_loaded_fingerprint "$1")" ]; then
        bm_cache=$(bm_cache_of "$1")
        if bm_empty_cache "$bm_cache"; then
            bm_say "$1: its extensions changed since it last started: cache $bm_cache emptied"
        fi
        mkdir -p "$BM_RELOAD_STATE_DIR"
        printf '%s\n' "$bm_now" >"$BM_RELOAD_STATE_DIR/$1.loaded"
    fi
    return 0
}

# The services whose extensions folder is not what they last started with.
bm_stale_services() {
    for bm_service in $(bm_services); do
        if [ "$(bm_fingerprint "$bm_service")" != "$(bm_loaded_fingerprint "$bm_service")" ]; then
            echo "$bm_service"
        fi
    done
}

# A process as "<pid>.<start time>": names one process even after its pid is reused.
bm_process_key() {
    bm_pid=$1
    bm_start=
    if [ -r "/proc/$bm_pid/stat" ]; then
        bm_stat=$(cat "/proc/$bm_pid/stat" 2>/dev/null) || bm_stat=
        # The command name (field 2) may hold spaces: keep what follows its closing parenthesis;
        # the start time is field 22, the 20th after it.
        bm_stat=${bm_stat##*) }
        # shellcheck disable=SC2086 # split into fields on purpose
        set -- $bm_stat
        if [ $# -ge 20 ]; then eval "bm_start=\${20}"; fi
    fi
    echo "$bm_pid.$bm_start"
}

# The package manager process running this script (dpkg, rpm, or dnf, which runs rpm in its own
# process): its key names one transaction.
bm_transaction_key() {
    bm_process_key "$PPID"
}

# Succeeds the first time it is called for a service in a transaction, fails afterwards.
# rpm runs %transfiletriggerin and %transfiletriggerpostun both on an upgrade: this keeps the
# second from printing the first one's news again.
bm_first_time_in_transaction() {
    bm_key=$(bm_transaction_key)
    bm_mark="$BM_RELOAD_STATE_DIR/$1.transaction"
    if [ -f "$bm_mark" ] && [ "$(cat "$bm_mark" 2>/dev/null)" = "$bm_key" ]; then
        return 1
    fi
    mkdir -p "$BM_RELOAD_STATE_DIR" 2>/dev/null || true
    printf '%s\n' "$bm_key" >"$bm_mark" 2>/dev/null || true
    return 0
}

bm_forget_state() {
    for bm_service in $(bm_services); do
        rm -f "$BM_RELOAD_STATE_DIR/$bm_service.transaction" "$BM_RELOAD_STATE_DIR/$bm_service.loaded"
    done
    rm -f "$BM_RELOAD_STATE_DIR/due" "$BM_RELOAD_STATE_DIR/hooked" "$BM_RELOAD_STATE_DIR/running"
    rmdir "$BM_RELOAD_STATE_DIR" 2>/dev/null || true
}

bm_systemd_runs() {
    [ -d "$BM_ROOT/run/systemd/system" ] && command -v systemctl >/dev/null 2>&1
}

# Runs one service action through the platform's helper: invoke-rc.d on Debian (it asks
# policy-rc.d first; init-system-helpers, which ships it, is on every Debian and Ubuntu system),
# systemctl on RPM. Exit status: 0 done, 101 refused by the local policy, anything else failed.
bm_service_action() {
    case $BM_INIT_HELPER in
        invoke-rc.d) invoke-rc.d --disclose-deny "$1" "$2" ;;
        *) systemctl "$2" "$1.service" ;;
    esac
}

bm_look_at() {
    echo "see 'systemctl status $1' and 'journalctl -u $1'"
}

# Whether the drop-in that empties the cache at start is what systemd will run (after a
# daemon-reload when unit files changed on disk: when this package was installed or removed).
bm_dropin_active() {
    if [ "$(systemctl show -p NeedDaemonReload --value "$1.service" 2>/dev/null)" = yes ]; then
        systemctl daemon-reload >/dev/null 2>&1 || true
    fi
    [ -x "$BM_ROOT$BM_HELPER" ] || return 1
    case $(systemctl show -p DropInPaths --value "$1.service" 2>/dev/null) in
        *"/$1.service.d/$BM_DROPIN_NAME"*) return 0 ;;
    esac
    return 1
}

# The running service started after its extensions last changed: it loaded the current bundles.
bm_runs_current_bundles() {
    systemctl --quiet is-active "$1.service" 2>/dev/null &&
        [ "$(bm_fingerprint "$1")" = "$(bm_loaded_fingerprint "$1")" ]
}

# Restarts a running service so that it starts on an emptied cache. Exit status as
# bm_service_action.
bm_restart() {
    bm_service=$1
    # One deliberate restart of a healthy service is not a crash loop: clear the start counter
    # that StartLimitBurst counts, so that systemd does not refuse it.
    systemctl reset-failed "$bm_service.service" >/dev/null 2>&1 || true
    if bm_dropin_active "$bm_service"; then
        # One restart job: the service is never left stopped by a start that is refused.
        bm_service_action "$bm_service" restart
        return
    fi
    # Without the drop-in (this package is being removed, or `bmpack deploy` before BlueMind 4.2):
    # stop, empty, start.
    bm_status=0
    bm_service_action "$bm_service" stop || bm_status=$?
    [ "$bm_status" = 0 ] || return "$bm_status"
    bm_start_fresh "$bm_service"
}

# Starts a stopped service on an emptied cache: the drop-in empties it when it is active; without
# it, the cache is emptied here and what the service starts with is noted. Exit status as
# bm_service_action.
bm_start_fresh() {
    if ! bm_dropin_active "$1"; then
        bm_empty_cache "$(bm_cache_of "$1")" || true
        mkdir -p "$BM_RELOAD_STATE_DIR" && bm_fingerprint "$1" >"$BM_RELOAD_STATE_DIR/$1.loaded"
    fi
    bm_service_action "$1" start
}

# A service that is down now but ran before the transaction: it hit systemd's start limit, or
# the dpkg run's pre-invoke hook saw it running (BM_RUNNING_BEFORE, set by the post-invoke hook).
bm_left_down() {
    [ "$(systemctl show -p Result --value "$1.service" 2>/dev/null)" = start-limit-hit ] && return 0
    for bm_ran in ${BM_RUNNING_BEFORE:-}; do
        [ "$bm_ran" = "$1" ] && return 0
    done
    return 1
}

# Makes a service run on the current bundles, or says why it does not (see the top of this file).
# Always returns 0; bm_outcome names the case: disabled, restart-due (no running init system, or
# services out of reach), started-again, down (left down and could not be started again), stopped,
# absent, current, masked, restarted, refused (policy-rc.d), not-restarted (still runs the old
# bundles), failed (stopped and could not be started again).
# shellcheck disable=SC2034 # bm_outcome is read by bmpack deploy
bm_settle_service() {
    bm_service=$1
    bm_cache=$(bm_cache_of "$bm_service")
    if [ -e "$BM_ROOT/etc/bm/$bm_service.disabled" ]; then
        bm_outcome=disabled
        bm_say "$bm_service: disabled by /etc/bm/$bm_service.disabled, left alone"
        return 0
    fi
    if [ -n "$BM_UNREACHABLE" ]; then
        bm_outcome=restart-due
        bm_empty_cache "$bm_cache" || true
        bm_say "$bm_service: cache $bm_cache emptied; $BM_UNREACHABLE: a restart is due there ('systemctl restart $bm_service')"
        return 0
    fi
    if ! bm_systemd_runs; then
        bm_outcome=restart-due
        bm_empty_cache "$bm_cache" || true
        bm_say "$bm_service: cache $bm_cache emptied; no running init system, so a restart is due: run 'systemctl restart $bm_service' once the system is up"
        return 0
    fi
    bm_load=$(systemctl show -p LoadState --value "$bm_service.service" 2>/dev/null) || bm_load=
    if ! systemctl --quiet is-active "$bm_service.service" 2>/dev/null && bm_left_down "$bm_service"; then
        # It ran, and a restart during the transaction (BlueMind 5's bm-webserver restarts itself
        # when triggered) failed: a third start within 30 s is refused by StartLimitBurst=2.
        systemctl reset-failed "$bm_service.service" >/dev/null 2>&1 || true
        bm_status=0
        bm_start_fresh "$bm_service" || bm_status=$?
        if [ "$bm_status" = 0 ] && bm_runs_current_bundles "$bm_service"; then
            bm_outcome=started-again
            bm_say "$bm_service: a restart during this transaction had left it down; cache $bm_cache emptied, service started again"
        else
            bm_outcome=down
            bm_say "$bm_service: a restart during this transaction had left it down, and it could not be started again: $(bm_look_at "$bm_service")"
        fi
        return 0
    fi
    if ! systemctl --quiet is-active "$bm_service.service" 2>/dev/null; then
        bm_empty_cache "$bm_cache" || true
        if [ "$bm_load" = not-found ]; then
            bm_outcome=absent
            bm_say "$bm_service: no such service here, cache $bm_cache emptied"
        else
            bm_outcome=stopped
            bm_say "$bm_service: not running, cache $bm_cache emptied, left stopped"
        fi
        return 0
    fi
    if bm_runs_current_bundles "$bm_service"; then
        bm_outcome=current
        bm_say "$bm_service: already restarted on the new bundles (by its own package), nothing more to do"
        return 0
    fi
    if [ "$bm_load" = masked ]; then
        bm_outcome=masked
        bm_say "$bm_service: masked while it runs, so it could not be started again: left running on the old bundles; a restart is due: run 'systemctl unmask $bm_service' then 'systemctl restart $bm_service'"
        return 0
    fi
    bm_status=0
    bm_restart "$bm_service" || bm_status=$?
    if [ "$bm_status" = 0 ] && bm_runs_current_bundles "$bm_service"; then
        bm_outcome=restarted
        bm_say "$bm_service: cache $bm_cache emptied, service restarted"
    elif [ "$bm_status" = 101 ]; then
        bm_outcome=refused
        if bm_dropin_active "$bm_service"; then
            bm_when="run 'systemctl restart $bm_service' when allowed (its cache is emptied when it starts)"
        else
            bm_when="when allowed, run 'systemctl stop $bm_service', empty $bm_cache, then 'systemctl start $bm_service'"
        fi
        bm_say "$bm_service: the local policy (policy-rc.d) refused to restart it, so it still runs the old bundles: $bm_when"
    elif systemctl --quiet is-active "$bm_service.service" 2>/dev/null; then
        bm_outcome=not-restarted
        bm_say "$bm_service: could not be restarted and still runs the old bundles: $(bm_look_at "$bm_service")"
    else
        bm_outcome=failed
        bm_say "$bm_service: cache $bm_cache emptied, but it failed to start again: $(bm_look_at "$bm_service")"
    fi
    return 0
}

# Settles each named service once in this transaction, in the stable order of [targets].
bm_settle_services() {
    for bm_wanted in $(bm_services); do
        for bm_named in "$@"; do
            if [ "$bm_named" = "$bm_wanted" ]; then
                if bm_first_time_in_transaction "$bm_wanted"; then
                    bm_settle_service "$bm_wanted"
                fi
                break
            fi
        done
    done
}

# Debian: the dpkg hooks that call `bm-plugin-reload post-invoke` at the end of every dpkg run.
# shellcheck disable=SC2034 # used by the Debian postinst and postrm
BM_DPKG_HOOKS=/etc/dpkg/dpkg.cfg.d/bm-plugin-reload

# Whether the dpkg run of this maintainer script calls the post-invoke hook at its end: its
# pre-invoke hook ran (dpkg reads its configuration when it starts, so not in the run that
# installed this package).
bm_hooked_run() {
    [ -f "$BM_RELOAD_STATE_DIR/hooked" ] && [ "$(cat "$BM_RELOAD_STATE_DIR/hooked" 2>/dev/null)" = "$(bm_transaction_key)" ]
}

# Notes services to settle at the end of this dpkg run.
bm_mark_due() {
    mkdir -p "$BM_RELOAD_STATE_DIR"
    for bm_service in "$@"; do
        printf '%s\n' "$bm_service" >>"$BM_RELOAD_STATE_DIR/due"
    done
}

# Settles the services noted in this dpkg run, but for one whose own package still has
# triggers to process (apt runs those in a later dpkg run): that one waits for the run after.
bm_settle_due() {
    [ -s "$BM_RELOAD_STATE_DIR/due" ] || return 0
    bm_now=
    bm_later=
    # shellcheck disable=SC2013 # one service name per line, no spaces
    for bm_service in $(LC_ALL=C sort -u "$BM_RELOAD_STATE_DIR/due"); do
        case $(dpkg-query -W -f='${db:Status-Status}' "$bm_service" 2>/dev/null) in
            triggers-pending | triggers-awaited) bm_later="$bm_later $bm_service" ;;
            *) bm_now="$bm_now $bm_service" ;;
        esac
    done
    if [ -n "$bm_later" ]; then
        # shellcheck disable=SC2086 # one word per service
        printf '%s\n' $bm_later >"$BM_RELOAD_STATE_DIR/due"
    else
        rm -f "$BM_RELOAD_STATE_DIR/due"
    fi
    # shellcheck disable=SC2086 # one word per service
    bm_settle_services $bm_now
}
