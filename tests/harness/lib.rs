//! Shared helpers for the acceptance tests.

pub mod deb_tools;
