//! The parts of `cargo xtask` that the acceptance tests run as a command of their own
//! (`tests/harness/xtask_publish.rs`): the tests run `publish` in a child process, as users do,
//! with its own umask, and interrupt it with signals.

#[macro_use]
extern crate bmpack; // outln!/errln! (bmpack::console)

use std::path::{Path, PathBuf};

pub mod publish;

/// The repository's top folder (xtask lives in `<root>/xtask`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// `target/bmpack`, the default output folder.
pub fn default_out() -> PathBuf {
    project_root().join("target").join("bmpack")
}

/// Ends a command: on error, prints it and exits non-zero.
pub fn finish(result: anyhow::Result<()>) -> ! {
    if let Err(e) = result {
        errln!("error: {e:#}");
        std::process::exit(1);
    }
    std::process::exit(0)
}
