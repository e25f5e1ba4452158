//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

use std::path::PathBuf;

pub mod rpm_tools;
pub mod tools;

/// The top of the repository (where `debian/`, `rpm/` and `packaging/` are).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}
