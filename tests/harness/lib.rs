//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

pub mod deb_tools;
pub mod rpm_tools;
pub mod tools;
pub mod debroot;
pub mod fixtures;
pub mod rpmroot;
pub mod shim;
