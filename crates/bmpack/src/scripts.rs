//! Maintainer scripts from the templates in `debian/` and `rpm/` (placeholder version; the
//! install-behaviour work replaces it).

use std::collections::BTreeMap;
use std::path::Path;

use crate::catalog::Target;
use crate::model::{FileTrigger, MaintainerScripts};

pub fn load(root: &Path, set: &str, targets: &BTreeMap<String, Target>) -> anyhow::Result<MaintainerScripts> {
    let read = |dir: &str, ext: &str| -> anyhow::Result<Option<String>> {
        let p = root.join(dir).join(format!("{set}.{ext}"));
        match std::fs::read_to_string(&p) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", p.display())),
        }
    };
    let paths: Vec<String> = targets.values().map(|t| t.extensions.clone()).collect();
    let mut s = MaintainerScripts::default();
    s.deb.preinst = read("debian", "preinst")?;
    s.deb.postinst = read("debian", "postinst")?;
    s.deb.prerm = read("debian", "prerm")?;
    s.deb.postrm = read("debian", "postrm")?;
    s.deb.triggers = read("debian", "triggers")?;
    s.rpm.pre = read("rpm", "pre")?;
    s.rpm.post = read("rpm", "post")?;
    s.rpm.preun = read("rpm", "preun")?;
    s.rpm.postun = read("rpm", "postun")?;
    s.rpm.pretrans = read("rpm", "pretrans")?;
    s.rpm.posttrans = read("rpm", "posttrans")?;
    if let Some(script) = read("rpm", "transfiletriggerin")? {
        s.rpm.trans_file_trigger_in.push(FileTrigger { paths: paths.clone(), script });
    }
    if let Some(script) = read("rpm", "transfiletriggerpostun")? {
        s.rpm.trans_file_trigger_postun.push(FileTrigger { paths, script });
    }
    Ok(s)
}
