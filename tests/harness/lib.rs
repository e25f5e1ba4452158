//! Shared helpers for the acceptance tests.

use std::path::PathBuf;

/// The top of the repository (where `debian/`, `rpm/` and `packaging/` are).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}
pub mod rpm_tools;
