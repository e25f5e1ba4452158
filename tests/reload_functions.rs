//! The shared shell functions of bm-plugin-reload, run by dash (Debian's /bin/sh) and by busybox
//! sh (the RPM test root's): the per-transaction key and the once-per-transaction mark. The
//! throwaway roots of the install tests have no /proc, so this is where the key's start-time
//! part is checked.

use std::process::Command;

use bmpack_tests::tools::{project_root, require_tool};

/// Runs `script` after sourcing the functions, with `sh` = `shell` (a list: program and args).
fn run(shell: &[&str], script: &str) -> String {
    let root = project_root();
    let functions = root.join("maintscripts/bm-plugin-reload.sh");
    // The prelude bmpack writes before the functions: bm_targets, from [targets].
    let catalog = bmpack::catalog::Catalog::load(&root).unwrap();
    let prelude = bmpack::scripts::prelude(&"bm-plugin-reload".parse().unwrap(), &catalog.targets);
    let full = format!("{prelude}. '{}'\n{script}", functions.display());
    let out = Command::new(shell[0]).args(&shell[1..]).arg("-c").arg(full).output().unwrap();
    assert!(out.status.success(), "{shell:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn shells() -> Vec<Vec<&'static str>> {
    require_tool("dash", "dash");
    require_tool("busybox", "busybox-static");
    vec![vec!["dash"], vec!["busybox", "sh"]]
}

#[test]
fn the_transaction_key_is_the_parent_pid_and_its_start_time() {
    for shell in shells() {
        let out = run(&shell, "bm_transaction_key; echo \"$PPID\"; cut -d' ' -f22 /proc/$PPID/stat");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0], format!("{}.{}", lines[1], lines[2]), "{shell:?}");
    }
}

#[test]
fn a_service_is_handled_once_per_transaction() {
    for shell in shells() {
        let state = tempfile::tempdir().unwrap();
        let script = format!(
            "BM_RELOAD_STATE_DIR='{}'\n\
             bm_first_time_in_transaction bm-core && echo first\n\
             bm_first_time_in_transaction bm-core || echo again\n\
             bm_first_time_in_transaction bm-webserver && echo other\n\
             echo stale > \"$BM_RELOAD_STATE_DIR/bm-core.transaction\"\n\
             bm_first_time_in_transaction bm-core && echo new-transaction\n",
            state.path().display()
        );
        assert_eq!(run(&shell, &script), "first\nagain\nother\nnew-transaction", "{shell:?}");
    }
}

#[test]
fn extensions_folders_map_to_their_service() {
    for shell in shells() {
        let out = run(
            &shell,
            "bm_service_of_path /usr/share/bm-core/extensions/x.jar; bm_service_of_path /usr/share/bm-webserver/extensions; \
             bm_service_of_path /usr/share/other; bm_cache_of bm-core",
        );
        assert_eq!(out, "bm-core\nbm-webserver\n/var/lib/bm-core", "{shell:?}");
    }
}
