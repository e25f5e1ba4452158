//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

pub mod ansible_fleet;
pub mod apt_root;
pub mod bluemind;
pub mod booted;
pub mod deb_tools;
pub mod debroot;
pub mod dnf_root;
pub mod fixtures;
pub mod release_roots;
pub mod repo_tools;
pub mod rpm_tools;
pub mod rpmroot;
pub mod server;
pub mod shim;
pub mod tools;
pub mod web_server;
