//! Shared helpers for the acceptance tests: running the real tools, throwaway roots, shims.

pub mod tools;
