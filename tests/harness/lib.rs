//! Shared helpers for the acceptance tests.
pub mod rpm_tools;
