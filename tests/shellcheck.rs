//! Every maintainer script and scriptlet, as it goes into the packages (templates filled in by
//! `bmpack::scripts::load`), passes `shellcheck` as POSIX sh, and so does the shared functions file.

use std::path::Path;
use std::process::Command;

use bmpack_tests::tools::project_root;

fn shellcheck(name: &str, text: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style", "--external-sources"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run shellcheck ({e}): install it with `apt-get install shellcheck`"));
    (!out.status.success()).then(|| format!("{name}:\n{}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn maintainer_scripts_pass_shellcheck() {
    let root = project_root();
    let set = &"bm-plugin-reload".parse().unwrap();
    let catalog = bmpack::catalog::Catalog::load(&root).unwrap();
    let loaded = bmpack::scripts::load(&root, set, &catalog.targets).unwrap();
    let scripts = &loaded.scripts;
    let mut checked = Vec::new();
    for (slot, text) in &scripts.deb.scripts {
        checked.push((format!("debian-{}", slot.name()), text.clone()));
    }
    let r = &scripts.rpm;
    for (slot, text) in &r.scriptlets {
        // rpm runs scriptlets with /bin/sh; they carry no #! line.
        checked.push((format!("rpm-{}", slot.name()), format!("#!/bin/sh\n{text}")));
    }
    for (kind, triggers) in
        [("transfiletriggerin", &r.trans_file_trigger_in), ("transfiletriggerpostun", &r.trans_file_trigger_postun)]
    {
        for (i, t) in triggers.iter().enumerate() {
            checked.push((format!("rpm-{kind}-{i}"), format!("#!/bin/sh\n{}", t.script)));
        }
    }
    // The helper program the package installs (a shell script with the same functions).
    for f in loaded.files.iter().filter(|f| f.mode.bits() & 0o111 != 0) {
        let text = String::from_utf8(f.source.read().unwrap().to_vec()).unwrap();
        checked.push((f.dest.trim_start_matches('/').replace('/', "-"), text));
    }
    let functions = bmpack::scripts::functions_path(&root, set);
    checked.push(("functions.sh".into(), std::fs::read_to_string(&functions).unwrap()));
    assert!(checked.len() >= 8, "expected the Debian and RPM scripts of {set}, found {}", checked.len());
    let failures: Vec<String> = checked.iter().filter_map(|(n, t)| shellcheck(n, t)).collect();
    assert!(failures.is_empty(), "shellcheck found problems:\n{}", failures.join("\n"));
}

#[test]
fn shellcheck_catches_a_bad_script() {
    // The check above can fail: a script with an unquoted variable is reported.
    assert!(shellcheck("bad", "#!/bin/sh\nrm -rf $1/x\n").is_some());
    let _ = Path::new("");
}
