//! The package declarations (`packaging/`), compiled into the tool so that `deploy` chooses and
//! checks jars exactly as `cargo xtask package` does, on a server without the repository.

use bmpack::catalog::Catalog;

/// The files `Catalog::load` reads, relative to a project root.
const FILES: &[(&str, &str)] = &[
    ("packaging/bmpack.toml", include_str!("../../../packaging/bmpack.toml")),
    ("packaging/nextcloud.toml", include_str!("../../../packaging/nextcloud.toml")),
    ("packaging/copyright", include_str!("../../../packaging/copyright")),
];

/// The catalog, read from a private temporary copy of the compiled-in files. The folder must
/// live as long as the catalog's packages are used (scripts and extra files are read lazily).
pub fn load() -> anyhow::Result<(Catalog, tempfile::TempDir)> {
    let root = tempfile::Builder::new().prefix("bmpack-catalog-").tempdir()?;
    for (path, text) in FILES {
        let file = root.path().join(path);
        std::fs::create_dir_all(file.parent().expect("relative paths have a parent"))?;
        std::fs::write(&file, without_scripts(text))?;
    }
    let catalog = Catalog::load(root.path())?;
    Ok((catalog, root))
}

/// The declarations without their `scripts = "…"` fields: `deploy` does by itself what the
/// maintainer scripts do, and their templates (debian/, rpm/, maintscripts/) are not compiled in.
fn without_scripts(text: &str) -> String {
    text.lines()
        .filter(|line| {
            !line.trim_start().strip_prefix("scripts").is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_compiled_in_catalog_loads() {
        let (catalog, _dir) = super::load().unwrap();
        assert!(catalog.declared_bundles().iter().any(|b| b == "net.bluemind.filehosting.nextcloud"));
        assert_eq!(super::without_scripts("a = 1\nscripts = \"x\"\nscripts_dir = 2\n"), "a = 1\nscripts_dir = 2\n");
    }
}
