//! Shared helpers for the acceptance tests.

pub mod repo_tools;
