//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

pub mod rpm_tools;
pub mod tools;

pub mod debroot;
pub mod fixtures;
pub mod shim;
pub mod rpmroot;
