//! The layering that ARCHITECTURE.md states, checked against the code: the `text` block of its
//! "Invariants" section lists the library's modules by layer, and every `crate::<module>` path
//! in `crates/bmpack/src` must respect it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use bmpack_tests::tools::project_root;

/// `module → layer`, and the modules that use nothing of their own layer.
fn declared_layers(architecture: &str) -> (BTreeMap<String, u32>, BTreeSet<String>) {
    let section = architecture.split("## Invariants").nth(1).expect("ARCHITECTURE.md has an `## Invariants` section");
    let block = section.split("```text").nth(1).and_then(|b| b.split("```").next()).expect("a ```text block");
    let mut layers = BTreeMap::new();
    let mut apart = BTreeSet::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (head, modules) = line.split_once(':').unwrap_or_else(|| panic!("`{line}`: expected `layer N: modules`"));
        if head == "apart from their layer" {
            apart.extend(modules.split_whitespace().map(str::to_string));
            continue;
        }
        let layer: u32 = head.strip_prefix("layer ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("`{line}`"));
        for m in modules.split_whitespace() {
            assert!(layers.insert(m.to_string(), layer).is_none(), "`{m}` is in two layers");
        }
    }
    (layers, apart)
}

/// `module → modules it uses`, from every `crate::<name>` in its files (a folder module's files
/// are one module).
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") || path.file_name().is_some_and(|n| n == "lib.rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let used = out.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            // `$crate::` in a macro is the crate itself, not a module path.
            if text[..i].ends_with('$') {
                continue;
            }
            let name: String =
                text[i + "crate::".len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != module {
                used.insert(name);
            }
        }
    }
    out
}

/// What breaks the layers: a use of a higher layer, of its own layer by a module that stands
/// apart, of a module no layer lists; a circle.
fn violations(
    layers: &BTreeMap<String, u32>,
    apart: &BTreeSet<String>,
    graph: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut broken = Vec::new();
    for (module, used) in graph {
        let own = layers.get(module).copied().unwrap_or(0);
        for other in used {
            let Some(&theirs) = layers.get(other) else {
                broken.push(format!("{module} uses `crate::{other}`, which no layer lists"));
                continue;
            };
            if theirs > own {
                broken.push(format!("{module} (layer {own}) uses {other} (layer {theirs}), a higher layer"));
            }
            if theirs == own && apart.contains(module) {
                broken.push(format!("{module} uses {other} of its own layer {own}, but stands apart from it"));
            }
        }
    }
    // No circle: repeatedly take out the modules that use nothing left.
    let mut left: BTreeMap<&String, BTreeSet<&String>> =
        graph.iter().map(|(m, u)| (m, u.iter().filter(|o| graph.contains_key(*o)).collect())).collect();
    while let Some(free) = left.iter().find(|(_, u)| u.is_empty()).map(|(m, _)| *m) {
        left.remove(free);
        for u in left.values_mut() {
            u.remove(free);
        }
    }
    if !left.is_empty() {
        broken.push(format!("these modules use each other in a circle: {:?}", left.keys().collect::<Vec<_>>()));
    }
    broken
}

#[test]
fn the_library_keeps_the_layers_architecture_md_states() {
    let root = project_root();
    let (layers, apart) = declared_layers(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
    let src = root.join("crates/bmpack/src");
    let graph = uses(&src);

    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|m| m.trim_end_matches(';').split_whitespace().next().unwrap().trim_end_matches(';').to_string())
        .collect();
    let declared: BTreeSet<String> = layers.keys().cloned().collect();
    assert_eq!(modules, declared, "lib.rs's modules and ARCHITECTURE.md's layers differ");

    let broken = violations(&layers, &apart, &graph);
    assert!(broken.is_empty(), "ARCHITECTURE.md's invariants are broken:\n{}", broken.join("\n"));
}

/// The check sees a violation: a model that reached up into the catalog would be reported.
#[test]
fn a_module_using_a_higher_layer_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.rs"), "use crate::catalog::Catalog;\n").unwrap();
    std::fs::write(dir.path().join("catalog.rs"), "use crate::model::Package;\n").unwrap();
    let graph = uses(dir.path());
    let (layers, apart) = declared_layers("## Invariants\n```text\nlayer 2: catalog\nlayer 1: model\n```\n");
    let broken = violations(&layers, &apart, &graph);
    assert!(broken.iter().any(|b| b == "model (layer 1) uses catalog (layer 2), a higher layer"), "{broken:?}");
    assert!(broken.iter().any(|b| b.contains("circle")), "{broken:?}");
}
