# shellcheck shell=sh
#
# Shell functions shared by the bm-plugin-reload maintainer scripts (debian/) and scriptlets
# (rpm/). bmpack copies this file into each script in place of its functions placeholder line, so every
# script is self-contained: the Debian postrm and the RPM %postun run after the package's own
# files are gone and could not source a file from it. (See crates/bmpack/src/scripts.rs.)
#
# Before the functions, each script sets BM_INIT_HELPER: `invoke-rc.d` on Debian (so that
# policy-rc.d is honoured) or `systemctl` on RPM.
#
# What one reload of a service does, whatever the package manager:
#   * /etc/bm/<service>.disabled exists: nothing (the administrator runs it elsewhere or not at all);
#   * no running systemd (chroot, container, image build): the cache is emptied, a restart is due;
#   * the service is stopped: the cache is emptied, the service stays stopped;
#   * the service runs: it is stopped, its cache emptied, and it is started again;
#   * at most once per service and transaction (see bm_first_time_in_transaction);
#   * a failure is printed with what to look at, and never fails the package operation.

BM_RELOAD_STATE_DIR=/var/lib/bm-plugin-reload

bm_say() {
    printf 'bm-plugin-reload: %s\n' "$*"
}

# The service that loads the bundles of an extensions folder (or of a file in it).
bm_service_of_path() {
    case $1 in
        /usr/share/bm-core/extensions | /usr/share/bm-core/extensions/*) echo bm-core ;;
        /usr/share/bm-webserver/extensions | /usr/share/bm-webserver/extensions/*) echo bm-webserver ;;
    esac
}

bm_extensions_of() {
    echo "/usr/share/$1/extensions"
}

# The OSGi cache of a service: what must be emptied when its bundles change.
bm_cache_of() {
    echo "/var/lib/$1"
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
    [ -d "$bm_cache" ] || return 0
    # find prints paths that start with "$bm_cache/", never an empty one. -H follows the folder
    # itself when the administrator made it a link to another disk.
    find -H "$bm_cache" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
}

# The package manager process running this script (dpkg, rpm, or dnf, which runs rpm in its own
# process): its pid plus its start time names one transaction, even after the pid is reused.
bm_transaction_key() {
    bm_start=
    if [ -r "/proc/$PPID/stat" ]; then
        bm_stat=$(cat "/proc/$PPID/stat" 2>/dev/null) || bm_stat=
        # The command name (field 2) may hold spaces: keep what follows its closing parenthesis;
        # the start time is field 22, the 20th after it.
        bm_stat=${bm_stat##*) }
        # shellcheck disable=SC2086 # split into fields on purpose
        set -- $bm_stat
        [ $# -ge 20 ] && eval "bm_start=\${20}"
    fi
    echo "$PPID.$bm_start"
}

# Succeeds the first time it is called for a service in a transaction, fails afterwards.
# rpm runs %transfiletriggerin and %transfiletriggerpostun both on an upgrade, and the
# package's own scripts may act too: this is what makes the restart happen once.
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

bm_forget_transactions() {
    for bm_service in bm-core bm-webserver; do
        rm -f "$BM_RELOAD_STATE_DIR/$bm_service.transaction"
    done
    rmdir "$BM_RELOAD_STATE_DIR" 2>/dev/null || true
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

# Empties the cache of one service and restarts it if it runs (see the top of this file).
bm_reload_service() {
    bm_service=$1
    bm_cache=$(bm_cache_of "$bm_service")
    if [ -e "/etc/bm/$bm_service.disabled" ]; then
        bm_say "$bm_service: disabled by /etc/bm/$bm_service.disabled, left alone"
        return 0
    fi
    if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then
        bm_empty_cache "$bm_cache" || true
        bm_say "$bm_service: cache $bm_cache emptied; no running init system, so a restart is due: run 'systemctl restart $bm_service' once the system is up"
        return 0
    fi
    if ! systemctl --quiet is-active "$bm_service.service" 2>/dev/null; then
        bm_empty_cache "$bm_cache" || true
        bm_say "$bm_service: not running, cache $bm_cache emptied, left stopped"
        return 0
    fi
    bm_status=0
    bm_service_action "$bm_service" stop || bm_status=$?
    if [ "$bm_status" = 101 ]; then
        bm_say "$bm_service: the local policy (policy-rc.d) refused to stop it: a restart is due; empty $bm_cache and run 'systemctl restart $bm_service' when allowed"
        return 0
    elif [ "$bm_status" != 0 ]; then
        bm_say "$bm_service: could not be stopped, cache $bm_cache left as is: $(bm_look_at "$bm_service")"
        return 0
    fi
    if ! bm_empty_cache "$bm_cache"; then
        bm_say "$bm_service: could not empty $bm_cache; starting it anyway"
    fi
    bm_status=0
    bm_service_action "$bm_service" start || bm_status=$?
    if [ "$bm_status" = 0 ]; then
        bm_say "$bm_service: cache $bm_cache emptied, service restarted"
    elif [ "$bm_status" = 101 ]; then
        bm_say "$bm_service: stopped and cache $bm_cache emptied, but the local policy (policy-rc.d) refused to start it: run 'systemctl start $bm_service' when allowed"
    else
        bm_say "$bm_service: cache $bm_cache emptied, but it failed to start again: $(bm_look_at "$bm_service")"
    fi
    return 0
}

# Succeeds when $1 was modified after $2, to the nanosecond: a removal can follow a restart
# within the second. `stat -c %y` (coreutils and busybox alike) prints an ISO date with
# nanoseconds, which sorts as text.
bm_newer() {
    bm_a=$(stat -c %y "$1" 2>/dev/null) || return 1
    bm_b=$(stat -c %y "$2" 2>/dev/null) || return 1
    [ "$bm_a" != "$bm_b" ] && [ "$(printf '%s\n%s\n' "$bm_a" "$bm_b" | sort | tail -n 1)" = "$bm_a" ]
}

# The services whose extensions folder changed after their cache was last filled: the cache
# folder gets its entries when the service starts on an emptied cache, the extensions folder
# changes when a jar is added or removed, and disappears with the last package that ships it.
# Used where the package manager no longer says what changed: when bm-plugin-reload itself is
# removed, after the last plug-ins in the same run.
bm_stale_services() {
    for bm_service in bm-core bm-webserver; do
        bm_extensions=$(bm_extensions_of "$bm_service")
        bm_cache=$(bm_cache_of "$bm_service")
        [ -d "$bm_cache" ] || continue
        if [ -d "$bm_extensions" ]; then
            if bm_newer "$bm_extensions" "$bm_cache"; then
                echo "$bm_service"
            fi
        elif [ -n "$(ls -A "$bm_cache" 2>/dev/null)" ]; then
            echo "$bm_service"
        fi
    done
}

# Newer bm-core packages declare a trigger on their own extensions folder and restart themselves
# when it changes: then the reload is theirs, and doing it here too would restart twice.
bm_package_reloads_itself() {
    bm_folder=$(bm_extensions_of "$1")
    if [ "$BM_INIT_HELPER" = invoke-rc.d ]; then
        bm_triggers=$(dpkg-query --control-path "$1" triggers 2>/dev/null) || return 1
        [ -n "$bm_triggers" ] && [ -f "$bm_triggers" ] &&
            grep -Eq "^[[:space:]]*interest(-await|-noawait)?[[:space:]]+$bm_folder/?[[:space:]]*\$" "$bm_triggers"
    else
        command -v rpm >/dev/null 2>&1 &&
            rpm -q --qf '[%{TRANSFILETRIGGERNAME}\n][%{FILETRIGGERNAME}\n]' "$1" 2>/dev/null |
            grep -Eq "^$bm_folder/?\$"
    fi
}

# Reloads each named service once in this transaction, in a stable order, each at most once.
bm_reload_services() {
    for bm_wanted in bm-core bm-webserver; do
        for bm_named in "$@"; do
            if [ "$bm_named" = "$bm_wanted" ]; then
                if ! bm_first_time_in_transaction "$bm_wanted"; then
                    : # done earlier in this transaction
                elif bm_package_reloads_itself "$bm_wanted"; then
                    bm_say "$bm_wanted: its own package reloads it when $(bm_extensions_of "$bm_wanted") changes, nothing more to do"
                else
                    bm_reload_service "$bm_wanted"
                fi
                break
            fi
        done
    done
}
