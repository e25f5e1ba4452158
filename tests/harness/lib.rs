//! Shared helpers for the acceptance tests.

pub mod apt_root;
pub mod dnf_root;
pub mod repo_tools;
