//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

pub mod deb_tools;
pub mod rpm_tools;
pub mod tools;

pub mod apt_root;
pub mod dnf_root;
pub mod repo_tools;

pub mod debroot;
pub mod fixtures;
pub mod shim;
pub mod rpmroot;
